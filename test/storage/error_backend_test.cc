#include "support/error_backend.h"

#include "storage/inmem.h"
#include "storage_test_util.h"

namespace arca::storage::test {
namespace {

using arca::testing::ErrorBackend;
using ::testing::Optional;

TEST(ErrorBackendTest, ForwardsWhenNoRule) {
  InMemBackend mem;
  ErrorBackend b(mem);
  ASSERT_THAT(b.Put("k", "v"), IsOk());
  EXPECT_THAT(*mem.Get("k"), Optional(std::string("v")));
  EXPECT_THAT(*b.Get("k"), Optional(std::string("v")));
  EXPECT_EQ(b.Calls(ErrorBackend::Method::kPut), 1);
  EXPECT_EQ(b.Injected(), 0);
}

TEST(ErrorBackendTest, FailNextFailsCountedCallsWithoutReachingTarget) {
  InMemBackend mem;
  ErrorBackend b(mem);
  b.FailNext(ErrorBackend::Method::kPut, Unavailable("disk on fire"), 2);
  EXPECT_THAT(b.Put("a", "1"), StatusIs(Code::kUnavailable));
  EXPECT_THAT(b.Put("b", "1"), StatusIs(Code::kUnavailable));
  EXPECT_THAT(b.Put("c", "1"), IsOk());
  EXPECT_EQ(*mem.Get("a"), std::nullopt);
  EXPECT_TRUE(mem.Get("c")->has_value());
  EXPECT_EQ(b.Injected(), 2);
  EXPECT_THAT(b.Get("c"), IsOk());
}

TEST(ErrorBackendTest, KeyPrefixSelectsCalls) {
  InMemBackend mem;
  ErrorBackend b(mem);
  b.FailNext(ErrorBackend::Method::kTxn, Internal("boom"), -1, "core/");
  EXPECT_THAT(b.Txn({}, {Op::Put("data/x", "1")}), IsOk());
  EXPECT_THAT(b.Txn({Condition::Absent("core/keyring")}, {Op::Put("x", "1")}),
              StatusIs(Code::kInternal));
  EXPECT_THAT(b.Txn({}, {Op::Put("core/a", "1")}), StatusIs(Code::kInternal));
  b.Clear();
  EXPECT_THAT(b.Txn({}, {Op::Put("core/a", "1")}), IsOk());
}

TEST(ErrorBackendTest, FailAllCoversEveryMethod) {
  InMemBackend mem;
  ErrorBackend b(mem);
  b.FailAll(Unavailable("down"));
  EXPECT_THAT(b.Get("k"), StatusIs(Code::kUnavailable));
  EXPECT_THAT(b.Put("k", "v"), StatusIs(Code::kUnavailable));
  EXPECT_THAT(b.Delete("k"), StatusIs(Code::kUnavailable));
  EXPECT_THAT(b.List(""), StatusIs(Code::kUnavailable));
  EXPECT_THAT(b.Txn({}, {}), StatusIs(Code::kUnavailable));
  EXPECT_EQ(b.Injected(), 5);
}

}  // namespace
}  // namespace arca::storage::test
