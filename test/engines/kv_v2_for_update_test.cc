// KV v2 writes read the key's metadata for update on their first attempt
// (possibly stale, as from a lagging etcd member) and linearizably on
// retries: a stale read costs a retry, never a wrong outcome (CAS, create
// only, delete, patch).
#include <gtest/gtest.h>

#include "map_backend.h"

namespace arca::engines::test {
namespace {

using logical::Json;
using logical::Operation;
using logical::Response;

bool IsMeta(std::string_view key) { return key.rfind("_kv2/meta/", 0) == 0; }

// GetForUpdate answers from a snapshot taken by Lag() (a member that
// stopped applying writes then); Get is always current.
class LaggingMapBackend final : public MapBackend {
 public:
  void Lag() {
    std::lock_guard g(mu_);
    frozen_ = Snapshot();
    lagging_ = true;
  }
  int meta_for_update() const {
    std::lock_guard g(mu_);
    return meta_for_update_;
  }
  int meta_gets() const {
    std::lock_guard g(mu_);
    return meta_gets_;
  }

  StatusOr<std::optional<std::string>> Get(std::string_view key) override {
    if (IsMeta(key)) {
      std::lock_guard g(mu_);
      ++meta_gets_;
    }
    return MapBackend::Get(key);
  }
  StatusOr<std::optional<std::string>> GetForUpdate(std::string_view key) override {
    std::lock_guard g(mu_);
    if (IsMeta(key)) ++meta_for_update_;
    if (!lagging_) return MapBackend::Get(key);
    auto it = frozen_.find(std::string(key));
    if (it == frozen_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }

 private:
  mutable std::mutex mu_;
  bool lagging_ = false;
  std::map<std::string, std::string> frozen_;
  int meta_for_update_ = 0;
  int meta_gets_ = 0;
};

class KvV2ForUpdateTest : public KvV2Over<LaggingMapBackend> {
 protected:
  uint64_t CurrentVersion(const std::string& key) {
    auto r = Do(Operation::kRead, "metadata/" + key);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->data["current_version"].get<uint64_t>() : 0;
  }
};

TEST_F(KvV2ForUpdateTest, AWriteReadsTheMetadataOnceForUpdate) {
  ASSERT_OK_AND_ASSIGN(auto w, Put("foo", Json{{"a", 1}}));
  EXPECT_EQ(w.data["version"], 1);
  ASSERT_OK_AND_ASSIGN(auto w2, Put("foo", Json{{"a", 2}}));
  EXPECT_EQ(w2.data["version"], 2);
  EXPECT_EQ(storage_.meta_for_update(), 2);
  EXPECT_EQ(storage_.meta_gets(), 0);
  EXPECT_EQ(storage_.Txns(), 2);
}

TEST_F(KvV2ForUpdateTest, AWriteAfterAStaleReadSucceedsThroughTheRetry) {
  ASSERT_TRUE(Put("foo", Json{{"v", 1}}).ok());
  storage_.Lag();
  ASSERT_TRUE(Put("foo", Json{{"v", 2}}).ok());  // the stale read was still current
  const int txns = storage_.Txns();
  ASSERT_OK_AND_ASSIGN(auto w, Put("foo", Json{{"v", 3}}));  // stale: aborted, retried
  EXPECT_EQ(w.data["version"], 3);
  EXPECT_EQ(storage_.Txns(), txns + 2);
  EXPECT_EQ(storage_.meta_gets(), 1);
  ASSERT_OK_AND_ASSIGN(auto r, Do(Operation::kRead, "data/foo"));
  EXPECT_EQ(r.data["data"], (Json{{"v", 3}}));
  EXPECT_EQ(CurrentVersion("foo"), 3u);
}

TEST_F(KvV2ForUpdateTest, CasSemanticsAreUnchangedByAStaleRead) {
  ASSERT_TRUE(Put("foo", Json{{"v", 1}}).ok());
  storage_.Lag();  // the lagging member sees version 1 from now on
  ASSERT_TRUE(Put("foo", Json{{"v", 2}}).ok());
  // cas=1 matches the stale metadata, not the real one: refused.
  auto stale_match = Put("foo", Json{{"v", "x"}}, Json{{"cas", 1}});
  EXPECT_CODE(stale_match, Code::kInvalidArgument);
  EXPECT_EQ(stale_match.status().message(),
            "check-and-set parameter did not match the current version");
  // cas=2 matches the real metadata, not the stale one: accepted.
  ASSERT_OK_AND_ASSIGN(auto w, Put("foo", Json{{"v", 3}}, Json{{"cas", 2}}));
  EXPECT_EQ(w.data["version"], 3);
  EXPECT_EQ(CurrentVersion("foo"), 3u);
}

TEST_F(KvV2ForUpdateTest, CreateOnlyOfAKeyTheLaggingMemberHasNotSeenIsRefused) {
  storage_.Lag();
  ASSERT_TRUE(Put("late", Json{{"v", 1}}).ok());
  auto again = Put("late", Json{{"v", 2}}, Json{{"cas", 0}});
  EXPECT_CODE(again, Code::kInvalidArgument);
  EXPECT_EQ(CurrentVersion("late"), 1u);
}

TEST_F(KvV2ForUpdateTest, NothingIsDecidedWithoutAWriteOnAStaleRead) {
  storage_.Lag();
  ASSERT_TRUE(Put("late", Json{{"a", 1}}).ok());  // missing at the lagging member
  // Patch of a key the stale read says is missing: it is there, so it patches.
  ASSERT_OK_AND_ASSIGN(auto p, Do(Operation::kPatch, "data/late", Json{{"data", {{"b", 2}}}}));
  EXPECT_EQ(p.data["version"], 2);
  // Delete of the latest version: the stale read says there is nothing to
  // delete; there is.
  ASSERT_TRUE(Do(Operation::kDelete, "data/late").ok());
  auto r = Do(Operation::kRead, "data/late");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->http_status, 404);
  EXPECT_NE(r->data["metadata"]["deletion_time"], "");
}

// GuessForUpdate answers "missing" for every key (the barrier over etcd
// guesses so on a cache miss): the worst guesser, for existing keys.
class GuessingMapBackend final : public MapBackend {
 public:
  int guesses() const {
    std::lock_guard g(mu_);
    return guesses_;
  }
  int meta_reads() const {
    std::lock_guard g(mu_);
    return meta_reads_;
  }
  StatusOr<std::optional<std::string>> Get(std::string_view key) override {
    if (IsMeta(key)) {
      std::lock_guard g(mu_);
      ++meta_reads_;
    }
    return MapBackend::Get(key);
  }
  StatusOr<std::optional<std::string>> GetForUpdate(std::string_view key) override {
    return Get(key);
  }
  StatusOr<std::optional<std::string>> GuessForUpdate(std::string_view key) override {
    std::lock_guard g(mu_);
    if (IsMeta(key)) ++guesses_;
    return std::optional<std::string>();
  }

 private:
  mutable std::mutex mu_;
  int guesses_ = 0;
  int meta_reads_ = 0;
};

class KvV2GuessTest : public KvV2Over<GuessingMapBackend> {};

TEST_F(KvV2GuessTest, AWriteToANewKeyReadsNoMetadata) {
  ASSERT_OK_AND_ASSIGN(auto w, Put("new", Json{{"a", 1}}));
  EXPECT_EQ(w.data["version"], 1);
  EXPECT_EQ(storage_.guesses(), 1);
  EXPECT_EQ(storage_.meta_reads(), 0);
  EXPECT_EQ(storage_.Txns(), 1);
}

TEST_F(KvV2GuessTest, AWrongGuessCostsOneAbortedTxnAndARead) {
  ASSERT_TRUE(Put("k", Json{{"v", 1}}).ok());
  const int txns = storage_.Txns();
  ASSERT_OK_AND_ASSIGN(auto w, Put("k", Json{{"v", 2}}));
  EXPECT_EQ(w.data["version"], 2);
  EXPECT_EQ(storage_.Txns(), txns + 2);
  EXPECT_EQ(storage_.meta_reads(), 1);
  ASSERT_OK_AND_ASSIGN(auto r, Do(Operation::kRead, "data/k"));
  EXPECT_EQ(r.data["data"], (Json{{"v", 2}}));
  EXPECT_EQ(r.data["metadata"]["version"], 2);
}

TEST_F(KvV2GuessTest, CasIsDecidedOnTheRealMetadata) {
  ASSERT_TRUE(Put("k", Json{{"v", 1}}).ok());
  // The guess says missing, where cas=1 could not match: decided again.
  ASSERT_OK_AND_ASSIGN(auto w, Put("k", Json{{"v", 2}}, Json{{"cas", 1}}));
  EXPECT_EQ(w.data["version"], 2);
  // cas=0 (create only) matches the guess, but the key exists: refused.
  auto again = Put("k", Json{{"v", 3}}, Json{{"cas", 0}});
  EXPECT_CODE(again, Code::kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(auto r, Do(Operation::kRead, "data/k"));
  EXPECT_EQ(r.data["data"], (Json{{"v", 2}}));
}

TEST_F(KvV2GuessTest, PatchAndDeleteOfAnExistingKeyAreNotFooledByTheGuess) {
  ASSERT_TRUE(Put("k", Json{{"a", 1}}).ok());
  ASSERT_OK_AND_ASSIGN(auto p, Do(Operation::kPatch, "data/k", Json{{"data", {{"b", 2}}}}));
  EXPECT_EQ(p.data["version"], 2);
  ASSERT_TRUE(Do(Operation::kDelete, "data/k").ok());
  auto r = Do(Operation::kRead, "data/k");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->http_status, 404);
  EXPECT_NE(r->data["metadata"]["deletion_time"], "");
  EXPECT_EQ(r->data["metadata"]["version"], 2);
}

}  // namespace
}  // namespace arca::engines::test
