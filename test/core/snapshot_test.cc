#include "core/snapshot.h"

#include <gtest/gtest.h>

namespace arca::core {
namespace {

TEST(SnapshotTest, RoundTrip) {
  SnapshotEntries in = {{"core/keyring", std::string("\x00\x01\xff", 3)}, {"sys/x", ""},
                        {"logical/abc/def", std::string(70000, 'z')}};
  auto out = DecodeSnapshot(EncodeSnapshot(in));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, in);
  auto empty = DecodeSnapshot(EncodeSnapshot({}));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(SnapshotTest, RejectsDamage) {
  std::string good = EncodeSnapshot({{"a", "1"}, {"b", "2"}});
  EXPECT_FALSE(DecodeSnapshot("").ok());
  EXPECT_FALSE(DecodeSnapshot("not a snapshot at all, certainly not one").ok());
  std::string flipped = good;
  flipped[20] ^= 1;
  EXPECT_EQ(DecodeSnapshot(flipped).status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(DecodeSnapshot(good.substr(0, good.size() - 1)).ok());
  EXPECT_FALSE(DecodeSnapshot(good + "x").ok());
  for (std::size_t cut = 0; cut < good.size(); ++cut)
    EXPECT_FALSE(DecodeSnapshot(good.substr(0, cut)).ok()) << cut;
}

TEST(SnapshotTest, EphemeralKeys) {
  EXPECT_TRUE(IsEphemeralKey("core/lock"));
  EXPECT_TRUE(IsEphemeralKey("core/nodes/node1"));
  EXPECT_FALSE(IsEphemeralKey("core/keyring"));
  EXPECT_FALSE(IsEphemeralKey("core/lockx"));
}

}  // namespace
}  // namespace arca::core
