#include "core/read_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "base/clock.h"
#include "core/barrier.h"
#include "storage/inmem.h"

namespace arca::core {
namespace {

TEST(ReadCacheTest, HitsMissesAndNegativeEntries) {
  ReadCache c(100, 1 << 20, 1024);
  EXPECT_FALSE(c.Lookup("a").has_value());
  auto t = c.BeginMiss("a");
  c.Insert("a", std::string("1"), "sealed-1", t);
  auto hit = c.Lookup("a");
  ASSERT_TRUE(hit.has_value());
  ASSERT_TRUE(hit->plain.has_value());
  EXPECT_EQ(*hit->plain, "1");
  EXPECT_EQ(hit->sealed, "sealed-1");

  auto t2 = c.BeginMiss("missing");
  c.Insert("missing", std::nullopt, "", t2);
  auto neg = c.Lookup("missing");
  ASSERT_TRUE(neg.has_value());
  EXPECT_FALSE(neg->plain.has_value());
}

TEST(ReadCacheTest, NarrowLookupsCopyOnlyWhatIsAskedFor) {
  ReadCache c(100, 1 << 20, 1024);
  EXPECT_FALSE(c.LookupPlain("a").has_value());
  EXPECT_FALSE(c.SealedIfPlainIs("a", "1").has_value());
  c.Insert("a", std::string("1"), "sealed-1", c.BeginMiss("a"));
  c.Insert("gone", std::nullopt, "", c.BeginMiss("gone"));
  auto plain = c.LookupPlain("a");
  ASSERT_TRUE(plain.has_value() && plain->has_value());
  EXPECT_EQ(**plain, "1");
  auto gone = c.LookupPlain("gone");
  ASSERT_TRUE(gone.has_value());
  EXPECT_FALSE(gone->has_value());  // known missing
  EXPECT_EQ(c.SealedIfPlainIs("a", "1"), std::optional<std::string>("sealed-1"));
  EXPECT_FALSE(c.SealedIfPlainIs("a", "2").has_value());
  EXPECT_FALSE(c.SealedIfPlainIs("a", "11").has_value());
  EXPECT_FALSE(c.SealedIfPlainIs("gone", "").has_value());
}

TEST(ReadCacheTest, InsertAfterConcurrentWriteIsDropped) {
  ReadCache c(100, 1 << 20, 1024);
  auto t = c.BeginMiss("k");  // a reader starts its storage read
  c.Invalidate("k");          // a writer runs meanwhile
  c.Insert("k", std::string("old"), "s", t);
  EXPECT_FALSE(c.Lookup("k").has_value());
}

TEST(ReadCacheTest, WritesToOtherKeysDoNotDropAnInsertOrAWrite) {
  ReadCache c(1000, 1 << 20, 1024);
  auto miss = c.BeginMiss("k");
  auto w = c.BeginWrite("w");
  // 64 keys: many share a shard with "k" or "w" (16 shards).
  for (int i = 0; i < 64; ++i) {
    const std::string other = "other" + std::to_string(i);
    auto t = c.BeginWrite(other);
    c.FinishWrite(other, ReadCache::Cached{std::string("x"), "sx"}, t);
    c.Invalidate("gone" + std::to_string(i));
  }
  c.Insert("k", std::nullopt, "", miss);
  c.FinishWrite("w", ReadCache::Cached{std::string("v"), "sv"}, w);
  ASSERT_TRUE(c.Lookup("k").has_value());
  EXPECT_FALSE(c.Lookup("k")->plain.has_value());
  ASSERT_TRUE(c.Lookup("w").has_value());
  EXPECT_EQ(*c.Lookup("w")->plain, "v");
}

TEST(ReadCacheTest, TicketsOlderThanTheWriteLogOrAClearAreVoid) {
  ReadCache c(1000, 1 << 20, 1024);
  auto miss = c.BeginMiss("k");
  auto w = c.BeginWrite("w");
  for (int i = 0; i < 16 * 1000; ++i) c.Invalidate("other" + std::to_string(i));
  c.Insert("k", std::string("old"), "s", miss);
  c.FinishWrite("w", ReadCache::Cached{std::string("v"), "sv"}, w);
  EXPECT_FALSE(c.Lookup("k").has_value());
  EXPECT_FALSE(c.Lookup("w").has_value());

  auto before = c.BeginMiss("k");
  auto write = c.BeginWrite("w");
  c.Clear();
  c.Insert("k", std::string("old"), "s", before);
  c.FinishWrite("w", ReadCache::Cached{std::string("v"), "sv"}, write);
  EXPECT_FALSE(c.Lookup("k").has_value());
  EXPECT_FALSE(c.Lookup("w").has_value());
  c.Insert("k", std::string("new"), "s", c.BeginMiss("k"));  // after the Clear: kept
  EXPECT_TRUE(c.Lookup("k").has_value());
}

TEST(ReadCacheTest, InvalidateRemovesAndBoundsHold) {
  ReadCache c(16 * 4, 1 << 20, 8);  // 4 entries per shard, values up to 8 bytes
  for (int i = 0; i < 1000; ++i) {
    std::string k = "key" + std::to_string(i);
    c.Insert(k, std::string("v"), "s", c.BeginMiss(k));
  }
  EXPECT_LE(c.size(), 16u * 4);
  c.Insert("big", std::string(100, 'x'), "s", c.BeginMiss("big"));
  EXPECT_FALSE(c.Lookup("big").has_value());
  c.Insert("x", std::string("1"), "s", c.BeginMiss("x"));
  c.Invalidate("x");
  EXPECT_FALSE(c.Lookup("x").has_value());
  c.Clear();
  EXPECT_EQ(c.size(), 0u);
}

TEST(ReadCacheTest, WritesCacheTheirValueOnlyWhenAlone) {
  ReadCache c(100, 1 << 20, 1024);
  auto t = c.BeginWrite("k");
  c.FinishWrite("k", ReadCache::Cached{std::string("v1"), "s1"}, t);
  ASSERT_TRUE(c.Lookup("k").has_value());
  EXPECT_EQ(*c.Lookup("k")->plain, "v1");

  // Two overlapping writers: neither may leave its value behind, whatever
  // order their physical writes landed in.
  auto a = c.BeginWrite("k");
  auto b = c.BeginWrite("k");
  c.FinishWrite("k", ReadCache::Cached{std::string("b"), "sb"}, b);
  c.FinishWrite("k", ReadCache::Cached{std::string("a"), "sa"}, a);
  EXPECT_FALSE(c.Lookup("k").has_value());

  // A failed write drops the key.
  c.Insert("k", std::string("x"), "sx", c.BeginMiss("k"));
  auto f = c.BeginWrite("k");
  c.FinishWrite("k", std::nullopt, f);
  EXPECT_FALSE(c.Lookup("k").has_value());

  // A reader that started during a write cannot insert the old value after it.
  auto w = c.BeginWrite("r");
  auto miss = c.BeginMiss("r");
  c.FinishWrite("r", ReadCache::Cached{std::string("new"), "sn"}, w);
  c.Insert("r", std::string("old"), "so", miss);
  EXPECT_EQ(*c.Lookup("r")->plain, "new");
}

TEST(ReadCacheTest, DisabledCacheNeverHits) {
  ReadCache c(0, 0, 0);
  c.Insert("a", std::string("1"), "s", c.BeginMiss("a"));
  EXPECT_FALSE(c.Lookup("a").has_value());
}

class BarrierCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = RandomBytes(32);
    ASSERT_TRUE(barrier_.Initialize(key_).ok());
    ASSERT_TRUE(barrier_.Unseal(key_).ok());
  }
  storage::InMemBackend physical_;
  Barrier barrier_{physical_, RealClock()};
  SecureBytes key_;
};

TEST_F(BarrierCacheTest, ReadsFollowWritesDeletesAndTxns) {
  ASSERT_TRUE(barrier_.Put("a", "1").ok());
  EXPECT_EQ(**barrier_.Get("a"), "1");
  EXPECT_EQ(barrier_.CachedEntries(), 1u);
  ASSERT_TRUE(barrier_.Put("a", "2").ok());
  EXPECT_EQ(**barrier_.Get("a"), "2");
  ASSERT_TRUE(barrier_.Txn({}, {storage::Op::Put("a", "3"), storage::Op::Put("b", "x")}).ok());
  EXPECT_EQ(**barrier_.Get("a"), "3");
  EXPECT_EQ(**barrier_.Get("b"), "x");
  ASSERT_TRUE(barrier_.Delete("a").ok());
  EXPECT_FALSE(barrier_.Get("a")->has_value());
  ASSERT_TRUE(barrier_.Put("a", "4").ok());  // a cached "missing" is dropped too
  EXPECT_EQ(**barrier_.Get("a"), "4");
}

TEST_F(BarrierCacheTest, ClearCacheSeesWritesOfAnotherWriter) {
  ASSERT_TRUE(barrier_.Put("k", "mine").ok());
  EXPECT_EQ(**barrier_.Get("k"), "mine");
  // Another node writes below us (same keys, same physical storage).
  Barrier other(physical_, RealClock());
  ASSERT_TRUE(other.Unseal(key_).ok());
  ASSERT_TRUE(other.Put("k", "theirs").ok());
  EXPECT_EQ(**barrier_.Get("k"), "mine");  // stale until cleared, by design
  barrier_.ClearCache();
  EXPECT_EQ(**barrier_.Get("k"), "theirs");
}

TEST_F(BarrierCacheTest, StaleCacheNeverCommitsATxn) {
  ASSERT_TRUE(barrier_.Put("m", "v1").ok());
  ASSERT_TRUE(barrier_.Get("m").ok());  // cached
  Barrier other(physical_, RealClock());
  ASSERT_TRUE(other.Unseal(key_).ok());
  ASSERT_TRUE(other.Put("m", "v2").ok());
  // Our cache still says v1: the condition must still fail on storage.
  Status st = barrier_.Txn({storage::Condition::Equals("m", "v1")}, {storage::Op::Put("m", "v3")});
  EXPECT_EQ(st.code(), Code::kAborted);
  EXPECT_EQ(**barrier_.Get("m"), "v2");  // dropped from the cache after the abort
  EXPECT_TRUE(
      barrier_.Txn({storage::Condition::Equals("m", "v2")}, {storage::Op::Put("m", "v3")}).ok());
  other.ClearCache();
  EXPECT_EQ(**other.Get("m"), "v3");
}

TEST_F(BarrierCacheTest, SealClearsCache) {
  ASSERT_TRUE(barrier_.Put("k", "v").ok());
  ASSERT_TRUE(barrier_.Get("k").ok());
  barrier_.Seal();
  EXPECT_EQ(barrier_.CachedEntries(), 0u);
  EXPECT_EQ(barrier_.Get("k").status().code(), Code::kSealed);
}

TEST_F(BarrierCacheTest, ConcurrentReadersNeverSeeAnOlderValueAfterAWrite) {
  ASSERT_TRUE(barrier_.Put("c", "0").ok());
  std::atomic<int> last_written{0};
  std::atomic<bool> stop{false};
  std::atomic<int> violations{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        int floor = last_written.load();
        auto v = barrier_.Get("c");
        if (!v.ok() || !v->has_value() || std::stoi(**v) < floor) violations.fetch_add(1);
      }
    });
  }
  for (int i = 1; i <= 2000; ++i) {
    ASSERT_TRUE(barrier_.Put("c", std::to_string(i)).ok());
    last_written.store(i);
  }
  stop.store(true);
  for (auto& t : readers) t.join();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_EQ(**barrier_.Get("c"), "2000");
}

TEST_F(BarrierCacheTest, DeriveKeyIsStableAndLabelled) {
  auto a = barrier_.DeriveKey("x");
  auto b = barrier_.DeriveKey("x");
  auto c = barrier_.DeriveKey("y");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
  EXPECT_EQ(a->size(), 32u);
  ASSERT_TRUE(barrier_.VerifyKeyringBlob(**physical_.Get(kKeyringPath)).ok());
  EXPECT_FALSE(barrier_.VerifyKeyringBlob("garbage").ok());
}

}  // namespace
}  // namespace arca::core
