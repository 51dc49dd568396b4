#include "engines/internal/kv_v2_memo.h"

#include <gtest/gtest.h>

namespace arca::engines::internal {
namespace {

std::string Encoded(uint64_t current) {
  KeyMetadata m;
  m.key = "app/db";
  m.current_version = current;
  m.oldest_version = 1;
  for (uint64_t v = 1; v <= current; ++v) m.versions[v] = VersionMeta{int64_t(v) * 1000, {}, false};
  return EncodeMetadata(m);
}

TEST(MetadataMemoTest, SameBytesShareOneDecoding) {
  MetadataMemo memo;
  const std::string raw = Encoded(2);
  auto a = memo.Decode("app/db", raw);
  auto b = memo.Decode("app/db", raw);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->get(), b->get());
  EXPECT_EQ((*a)->meta.current_version, 2u);
  EXPECT_EQ((*a)->VersionPrefix() + "2", VersionKey("app/db", 2));
  const KeyMetadata& m = (*a)->meta;
  EXPECT_EQ((*a)->CurrentVersionJson(), VersionJson(2, m.versions.at(2), m));
}

TEST(MetadataMemoTest, RememberedBytesAreAHitWithTheGivenMetadata) {
  MetadataMemo memo;
  KeyMetadata m;
  m.key = "app/db";
  m.current_version = 1;
  m.versions[1] = VersionMeta{1000, {}, false};
  m.inline_data[1] = R"({"password":"x"})";
  const std::string raw = EncodeMetadata(m);
  memo.Remember("app/db", raw, m);
  auto a = memo.Decode("app/db", raw);
  auto b = memo.Decode("app/db", raw);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->get(), b->get());
  EXPECT_EQ((*a)->meta.inline_data, m.inline_data);
  EXPECT_EQ((*a)->CurrentVersionJson(), VersionJson(1, m.versions.at(1), m));
  // Other bytes for the path are decoded from the bytes, not taken from it.
  auto c = memo.Decode("app/db", Encoded(3));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)->meta.current_version, 3u);
  EXPECT_TRUE((*c)->meta.inline_data.empty());
}

TEST(MetadataMemoTest, NewBytesAreDecodedAgain) {
  MetadataMemo memo;
  auto a = memo.Decode("app/db", Encoded(2));
  auto b = memo.Decode("app/db", Encoded(3));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->get(), b->get());
  EXPECT_EQ((*a)->meta.current_version, 2u);  // a holder keeps what it read
  EXPECT_EQ((*b)->meta.current_version, 3u);
  EXPECT_EQ(memo.size(), 1u);
}

TEST(MetadataMemoTest, PathsAreKeptApart) {
  MetadataMemo memo;
  const std::string raw = Encoded(1);
  auto a = memo.Decode("a", raw);
  auto b = memo.Decode("b", raw);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)->VersionPrefix() + "1", VersionKey("a", 1));
  EXPECT_EQ((*b)->VersionPrefix() + "1", VersionKey("b", 1));
}

TEST(MetadataMemoTest, BoundedByEntriesAndSize) {
  MetadataMemo memo(/*max_entries=*/4, /*max_bytes=*/4096);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(memo.Decode("k" + std::to_string(i), Encoded(1)).ok());
  EXPECT_LE(memo.size(), 4u);
  const std::size_t one = Encoded(1).size();
  MetadataMemo budget(/*max_entries=*/100, /*max_bytes=*/4096, /*max_total_bytes=*/3 * one);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(budget.Decode("k" + std::to_string(i), Encoded(1)).ok());
  EXPECT_LE(budget.size(), 3u);
  MetadataMemo small(4, /*max_bytes=*/8);
  ASSERT_TRUE(small.Decode("k", Encoded(1)).ok());
  EXPECT_EQ(small.size(), 0u);
}

TEST(MetadataMemoTest, CorruptBytesAreAnErrorAndNotKept) {
  MetadataMemo memo;
  auto r = memo.Decode("k", "{not json");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(memo.size(), 0u);
}

}  // namespace
}  // namespace arca::engines::internal
