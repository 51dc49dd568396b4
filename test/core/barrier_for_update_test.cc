// Barrier reads for update: GetForUpdate (cache hit as is, miss read with
// the physical GetForUpdate and never cached) and Txn's kEquals resolved
// from a read for update, which never changes a Txn's outcome.
//
// LaggingBackend stands for an etcd member behind the leader: its
// GetForUpdate returns, for keys Lag() froze, the bytes they held then.
#include <gtest/gtest.h>

#include <map>
#include <mutex>

#include "core/barrier.h"
#include "storage/inmem.h"

namespace arca::core {
namespace {

using storage::Condition;
using storage::Op;

class LaggingBackend final : public storage::Backend {
 public:
  // From now on GetForUpdate(key) returns what `key` holds now.
  void Lag(const std::string& key) {
    auto v = inner_.Get(key);
    ASSERT_TRUE(v.ok());
    std::lock_guard g(mu_);
    frozen_[key] = *v;
  }
  void CatchUp() {
    std::lock_guard g(mu_);
    frozen_.clear();
  }
  int gets() const {
    std::lock_guard g(mu_);
    return gets_;
  }
  int for_update() const {
    std::lock_guard g(mu_);
    return for_update_;
  }
  int txns() const {
    std::lock_guard g(mu_);
    return txns_;
  }

  StatusOr<std::optional<std::string>> Get(std::string_view key) override {
    Count(gets_);
    return inner_.Get(key);
  }
  StatusOr<std::optional<std::string>> GetForUpdate(std::string_view key) override {
    {
      std::lock_guard g(mu_);
      ++for_update_;
      auto it = frozen_.find(std::string(key));
      if (it != frozen_.end()) return it->second;
    }
    return inner_.Get(key);
  }
  Status Put(std::string_view key, std::string_view value) override {
    return inner_.Put(key, value);
  }
  Status Delete(std::string_view key) override { return inner_.Delete(key); }
  StatusOr<std::vector<std::string>> List(std::string_view prefix) override {
    return inner_.List(prefix);
  }
  Status Txn(const std::vector<Condition>& c, const std::vector<Op>& o) override {
    Count(txns_);
    return inner_.Txn(c, o);
  }

 private:
  void Count(int& n) {
    std::lock_guard g(mu_);
    ++n;
  }
  storage::InMemBackend inner_;
  mutable std::mutex mu_;
  std::map<std::string, std::optional<std::string>> frozen_;
  int gets_ = 0;
  int for_update_ = 0;
  int txns_ = 0;
};

class BarrierForUpdateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = RandomBytes(32);
    ASSERT_TRUE(barrier_.Initialize(root_).ok());
    ASSERT_TRUE(barrier_.Unseal(root_).ok());
    ASSERT_TRUE(other_.Unseal(root_).ok());
  }
  // `key` holds `old` at the lagging member and `now` in truth; the
  // barrier's cache is empty.
  void StaleAt(const std::string& key, const std::string& old, const std::string& now) {
    ASSERT_TRUE(barrier_.Put(key, old).ok());
    physical_.Lag(key);
    ASSERT_TRUE(other_.Put(key, now).ok());
    barrier_.ClearCache();
  }

  LaggingBackend physical_;
  Barrier barrier_{physical_, RealClock()};
  Barrier other_{physical_, RealClock()};  // another writer on the same storage
  SecureBytes root_;
};

TEST_F(BarrierForUpdateTest, AHitIsServedFromTheCacheWithoutARead) {
  ASSERT_TRUE(barrier_.Put("k", "1").ok());  // cached by the write
  const int gets = physical_.gets();
  auto v = barrier_.GetForUpdate("k");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, std::optional<std::string>("1"));
  EXPECT_EQ(physical_.for_update(), 0);
  EXPECT_EQ(physical_.gets(), gets);
}

TEST_F(BarrierForUpdateTest, AMissReadsForUpdateAndIsNeverCached) {
  ASSERT_TRUE(barrier_.Put("k", "1").ok());
  barrier_.ClearCache();
  auto v = barrier_.GetForUpdate("k");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, std::optional<std::string>("1"));
  EXPECT_EQ(physical_.for_update(), 1);
  EXPECT_EQ(barrier_.CachedEntries(), 0u);
  auto missing = barrier_.GetForUpdate("none");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(*missing, std::nullopt);
  EXPECT_EQ(barrier_.CachedEntries(), 0u);
  EXPECT_EQ(barrier_.GetForUpdate(kKeyringPath).status().code(), Code::kInvalidArgument);
  barrier_.Seal();
  EXPECT_EQ(barrier_.GetForUpdate("k").status().code(), Code::kSealed);
}

TEST_F(BarrierForUpdateTest, AStaleValueReadForUpdateNeverReachesGet) {
  StaleAt("k", "old", "new");
  EXPECT_EQ(*barrier_.GetForUpdate("k"), std::optional<std::string>("old"));
  const int gets = physical_.gets();
  EXPECT_EQ(*barrier_.Get("k"), std::optional<std::string>("new"));
  EXPECT_EQ(physical_.gets(), gets + 1);  // it was not cached: Get read storage
}

TEST_F(BarrierForUpdateTest, AWriteBuiltOnAStaleReadIsAbortedAndTheRetrySucceeds) {
  StaleAt("ctr", "1", "2");
  // The caller's read-modify-write: first for update, then linearizable.
  auto first = barrier_.GetForUpdate("ctr");
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(*first, std::optional<std::string>("1"));
  EXPECT_EQ(barrier_.Txn({Condition::Equals("ctr", **first)}, {Op::Put("ctr", "2")}).code(),
            Code::kAborted);
  auto second = barrier_.Get("ctr");
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(*second, std::optional<std::string>("2"));
  EXPECT_TRUE(barrier_.Txn({Condition::Equals("ctr", **second)}, {Op::Put("ctr", "3")}).ok());
  other_.ClearCache();
  EXPECT_EQ(*other_.Get("ctr"), std::optional<std::string>("3"));
}

TEST_F(BarrierForUpdateTest, TxnEqualsOnACurrentReadForUpdateNeedsNoLinearizableRead) {
  ASSERT_TRUE(other_.Put("k", "v").ok());  // not in barrier_'s cache
  const int gets = physical_.gets();
  const int txns = physical_.txns();
  EXPECT_TRUE(barrier_.Txn({Condition::Equals("k", "v")}, {Op::Put("k", "w")}).ok());
  EXPECT_EQ(physical_.for_update(), 1);
  EXPECT_EQ(physical_.gets(), gets);
  EXPECT_EQ(physical_.txns(), txns + 1);
  EXPECT_EQ(*barrier_.Get("k"), std::optional<std::string>("w"));
}

TEST_F(BarrierForUpdateTest, TxnEqualsNeverFailsOnAStaleReadThatDiffers) {
  StaleAt("k", "old", "new");
  const int txns = physical_.txns();
  // The stale value does not match: the linearizable read decides, and it does.
  EXPECT_TRUE(barrier_.Txn({Condition::Equals("k", "new")}, {Op::Put("k", "newer")}).ok());
  EXPECT_EQ(physical_.txns(), txns + 1);
  EXPECT_EQ(*barrier_.Get("k"), std::optional<std::string>("newer"));
}

TEST_F(BarrierForUpdateTest, TxnEqualsNeverFailsOnAStaleReadThatMatchesAnEqualRewrite) {
  // Storage holds the same plaintext under a newer ciphertext: the stale
  // ciphertext fails the physical compare, the Txn is resolved again
  // linearizably and applies.
  StaleAt("k", "same", "same");
  const int txns = physical_.txns();
  EXPECT_TRUE(barrier_.Txn({Condition::Equals("k", "same")}, {Op::Put("k", "next")}).ok());
  EXPECT_EQ(physical_.txns(), txns + 2);
  EXPECT_EQ(*barrier_.Get("k"), std::optional<std::string>("next"));
}

TEST_F(BarrierForUpdateTest, TxnEqualsNeverHoldsOnAStaleReadThatMatches) {
  StaleAt("k", "old", "new");
  const int txns = physical_.txns();
  EXPECT_EQ(barrier_.Txn({Condition::Equals("k", "old")}, {Op::Put("k", "bad")}).code(),
            Code::kAborted);
  EXPECT_EQ(physical_.txns(), txns + 1);  // the second resolution refuses before sending
  EXPECT_EQ(*barrier_.Get("k"), std::optional<std::string>("new"));
  // A key gone in truth but present at the lagging member.
  ASSERT_TRUE(barrier_.Put("gone", "x").ok());
  physical_.Lag("gone");
  ASSERT_TRUE(other_.Delete("gone").ok());
  barrier_.ClearCache();
  EXPECT_EQ(barrier_.Txn({Condition::Equals("gone", "x")}, {Op::Put("gone", "y")}).code(),
            Code::kAborted);
  EXPECT_EQ(*barrier_.Get("gone"), std::nullopt);
}

TEST_F(BarrierForUpdateTest, GuessForUpdateIsGetForUpdateUnlessGuessingIsOn) {
  ASSERT_TRUE(barrier_.Put("k", "1").ok());
  barrier_.ClearCache();
  auto v = barrier_.GuessForUpdate("k");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, std::optional<std::string>("1"));
  EXPECT_EQ(physical_.for_update(), 1);
}

TEST_F(BarrierForUpdateTest, AGuessOnAMissIsMissingWithoutARead) {
  barrier_.SetGuessMissing(true);
  ASSERT_TRUE(barrier_.Put("k", "1").ok());
  barrier_.ClearCache();
  const int gets = physical_.gets();
  auto v = barrier_.GuessForUpdate("k");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, std::nullopt);  // a wrong guess: the key exists
  EXPECT_EQ(physical_.for_update(), 0);
  EXPECT_EQ(physical_.gets(), gets);
  // A Txn built on the guess does not hold, and nothing is written.
  EXPECT_EQ(barrier_.Txn({Condition::Absent("k")}, {Op::Put("k", "2")}).code(), Code::kAborted);
  auto now = barrier_.Get("k");
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(*now, std::optional<std::string>("1"));
  // Cached now (by that Get): the guess is the value.
  auto hit = barrier_.GuessForUpdate("k");
  ASSERT_TRUE(hit.ok());
  EXPECT_EQ(*hit, std::optional<std::string>("1"));
  EXPECT_EQ(physical_.for_update(), 0);
}

TEST_F(BarrierForUpdateTest, AGuessWhileSealedIsSealed) {
  barrier_.SetGuessMissing(true);
  barrier_.Seal();
  EXPECT_EQ(barrier_.GuessForUpdate("k").status().code(), Code::kSealed);
}

}  // namespace
}  // namespace arca::core
