// Concurrency tests for KV v2: concurrent writers of one key get unique,
// consecutive versions, within one backend and across backend instances.
#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <thread>

#include "engines/engines.h"
#include "map_backend.h"

namespace arca::engines::test {
namespace {

using logical::Json;
using logical::Operation;

class KvV2ConcurrencyTest : public EngineFixture {
 protected:
  // Writes `n` versions of `key` through `kv`, retrying on Unavailable
  // (contention), and records every version number returned.
  void Writer(logical::Backend& kv, const std::string& key, int n) {
    for (int i = 0; i < n; ++i) {
      for (;;) {
        auto r = Do(kv, Operation::kUpdate, "data/" + key, Json{{"data", {{"i", i}}}});
        if (!r.ok() && r.status().code() == Code::kUnavailable) continue;
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        std::lock_guard l(mu_);
        versions_.push_back(r->data["version"].get<uint64_t>());
        break;
      }
    }
  }
  void ExpectConsecutive(uint64_t total) {
    std::set<uint64_t> unique(versions_.begin(), versions_.end());
    EXPECT_EQ(unique.size(), versions_.size()) << "duplicate version numbers";
    ASSERT_EQ(versions_.size(), total);
    EXPECT_EQ(*unique.begin(), 1u);
    EXPECT_EQ(*unique.rbegin(), total);
  }

  std::mutex mu_;
  std::vector<uint64_t> versions_;
};

TEST_F(KvV2ConcurrencyTest, ThreadsWritingOneKeyGetConsecutiveVersions) {
  auto kv = MakeKv(storage_, clock_, "2");
  ASSERT_TRUE(Do(*kv, Operation::kUpdate, "config", Json{{"max_versions", 1000}}).ok());
  constexpr int kThreads = 8, kWrites = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back([&] { Writer(*kv, "hot", kWrites); });
  for (auto& t : threads) t.join();
  ExpectConsecutive(kThreads * kWrites);
  ASSERT_OK_AND_ASSIGN(auto meta, Do(*kv, Operation::kRead, "metadata/hot"));
  EXPECT_EQ(meta.data["current_version"], kThreads * kWrites);
  EXPECT_EQ(meta.data["versions"].size(), std::size_t(kThreads * kWrites));
}

TEST_F(KvV2ConcurrencyTest, TwoInstancesOnOneStorageNeverLoseAVersion) {
  // Separate instances do not share locks: only the Txn conditions protect.
  auto a = MakeKv(storage_, clock_, "2");
  auto b = MakeKv(storage_, clock_, "2");
  ASSERT_TRUE(Do(*a, Operation::kUpdate, "config", Json{{"max_versions", 1000}}).ok());
  constexpr int kWrites = 40;
  std::vector<std::thread> threads;
  for (auto* kv : {a.get(), b.get(), a.get(), b.get()}) {
    threads.emplace_back([this, kv] { Writer(*kv, "hot", kWrites); });
  }
  for (auto& t : threads) t.join();
  ExpectConsecutive(4 * kWrites);
  ASSERT_OK_AND_ASSIGN(auto meta, Do(*a, Operation::kRead, "metadata/hot"));
  EXPECT_EQ(meta.data["versions"].size(), std::size_t(4 * kWrites));
}

TEST_F(KvV2ConcurrencyTest, CommitRetriesWhenMetadataChangesUnderneath) {
  auto kv = MakeKv(storage_, clock_, "2");
  ASSERT_TRUE(Do(*kv, Operation::kUpdate, "data/k", Json{{"data", {{"v", 1}}}}).ok());
  int txns = storage_.Txns();
  storage_.InterfereWith("_kv2/meta/k", 3);
  ASSERT_OK_AND_ASSIGN(auto w, Do(*kv, Operation::kUpdate, "data/k", Json{{"data", {{"v", 2}}}}));
  EXPECT_EQ(w.data["version"], 2);
  EXPECT_EQ(storage_.Txns() - txns, 4);  // three aborted, one committed

  storage_.InterfereWith("_kv2/meta/k", 1000);
  auto busy = Do(*kv, Operation::kUpdate, "data/k", Json{{"data", {{"v", 3}}}});
  EXPECT_CODE(busy, Code::kUnavailable);
  storage_.InterfereWith("", 0);
  ASSERT_OK_AND_ASSIGN(auto meta, Do(*kv, Operation::kRead, "metadata/k"));
  EXPECT_EQ(meta.data["current_version"], 2);
}

TEST_F(KvV2ConcurrencyTest, ConcurrentReadersAndWritersOnManyKeys) {
  auto kv = MakeKv(storage_, clock_, "2");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 30; ++i) {
        std::string key = "k" + std::to_string((t + i) % 5);
        auto w = Do(*kv, Operation::kUpdate, "data/" + key, Json{{"data", {{"i", i}}}});
        ASSERT_TRUE(w.ok() || w.status().code() == Code::kUnavailable);
        auto r = Do(*kv, Operation::kRead, "data/" + key);
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        EXPECT_TRUE(r->data["data"].is_object());
      }
    });
  }
  for (auto& t : threads) t.join();
  uint64_t total = 0;
  for (int k = 0; k < 5; ++k) {
    ASSERT_OK_AND_ASSIGN(auto meta, Do(*kv, Operation::kRead, "metadata/k" + std::to_string(k)));
    total += meta.data["current_version"].get<uint64_t>();
  }
  EXPECT_EQ(total, 120u);
}

}  // namespace
}  // namespace arca::engines::test
