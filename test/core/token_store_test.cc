#include "core/token_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "base/encoding.h"
#include "storage/inmem.h"
#include "support/error_backend.h"
#include "support/fake_clock.h"

namespace arca::core {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

constexpr int64_t kHour = 3600;

class TokenStoreTest : public ::testing::Test {
 protected:
  TokenStoreTest() : store_(mem_, clock_) {
    store_.SetRevokeHook([this](const TokenEntry& e) {
      std::lock_guard lock(hook_mu_);
      revoked_.push_back(e.hash);
    });
  }

  TokenEntry Root() {
    TokenEntry e;
    e.policies = {"root"};
    e.display_name = "root";
    e.path = "auth/token/root";
    e.renewable = false;
    auto r = store_.Create(std::move(e));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return *r;
  }

  TokenEntry Child(const TokenEntry* parent, int64_t ttl = kHour, int64_t num_uses = 0) {
    TokenEntry e;
    e.policies = {"default"};
    e.display_name = "token";
    e.path = "auth/token/create";
    e.parent_hash = parent ? parent->hash : "";
    e.ttl = e.creation_ttl = ttl;
    e.num_uses = num_uses;
    auto r = store_.Create(std::move(e));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return *r;
  }

  bool Alive(const TokenEntry& e) {
    auto r = store_.Lookup(e.id);
    EXPECT_TRUE(r.ok());
    return r.ok() && r->has_value();
  }

  size_t RevokedCount() {
    std::lock_guard lock(hook_mu_);
    return revoked_.size();
  }

  storage::InMemBackend mem_;
  testing::FakeClock clock_;
  TokenStore store_;
  std::mutex hook_mu_;
  std::vector<std::string> revoked_;
};

TEST_F(TokenStoreTest, CreateMintsTokenAndAccessor) {
  TokenEntry t = Child(nullptr);
  EXPECT_EQ(t.id.substr(0, 4), "hvs.");
  EXPECT_EQ(t.id.size(), 28u);
  EXPECT_EQ(t.accessor.size(), 24u);
  EXPECT_EQ(t.hash, Sha256Hex(t.id));
  EXPECT_EQ(t.creation_time, clock_.UnixNow());
  EXPECT_TRUE(t.orphan);

  auto got = store_.Lookup(t.id);
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->id, t.id);
  EXPECT_EQ((*got)->accessor, t.accessor);
  EXPECT_EQ((*got)->policies, std::vector<std::string>{"default"});

  auto by_acc = store_.LookupByAccessor(t.accessor);
  ASSERT_TRUE(by_acc.ok());
  ASSERT_TRUE(by_acc->has_value());
  EXPECT_EQ((*by_acc)->hash, t.hash);
  EXPECT_TRUE((*by_acc)->id.empty());
}

TEST_F(TokenStoreTest, RawTokenNeverStored) {
  TokenEntry t = Child(nullptr);
  auto keys = storage::ListRecursive(mem_, "");
  ASSERT_TRUE(keys.ok());
  for (const auto& k : *keys) {
    EXPECT_EQ(k.find(t.id), std::string::npos) << k;
    auto v = mem_.Get(k);
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(v->value_or("").find(t.id), std::string::npos) << k;
  }
  auto raw = mem_.Get("id/" + t.hash);
  ASSERT_TRUE(raw.ok() && raw->has_value());
  auto acc = mem_.Get("accessor/" + t.accessor);
  ASSERT_TRUE(acc.ok() && acc->has_value());
  EXPECT_EQ(**acc, t.hash);
}

TEST_F(TokenStoreTest, CustomIdVerbatimAndDuplicateRejected) {
  TokenEntry e;
  e.id = "my-custom-token";
  e.policies = {"root"};
  auto t = store_.Create(e);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->id, "my-custom-token");
  auto dup = store_.Create(e);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(dup.status().message(), "cannot create a token with a duplicate ID");
}

TEST_F(TokenStoreTest, UnknownTokensAreMissing) {
  for (std::string_view t : {"", "hvs.nope", "x"}) {
    auto r = store_.Lookup(t);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->has_value());
  }
  auto acc = store_.LookupByAccessor("../../etc");
  ASSERT_TRUE(acc.ok());
  EXPECT_FALSE(acc->has_value());
  auto h = store_.LookupByHash("not-a-hash");
  ASSERT_TRUE(h.ok());
  EXPECT_FALSE(h->has_value());
}

TEST_F(TokenStoreTest, ChildOfMissingParentRejected) {
  TokenEntry e;
  e.parent_hash = Sha256Hex("gone");
  auto r = store_.Create(e);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "parent token not found");
}

TEST_F(TokenStoreTest, RevokeTreeRevokesDescendantsNotOrphans) {
  TokenEntry root = Root();
  TokenEntry a = Child(&root);
  TokenEntry a1 = Child(&a);
  TokenEntry a11 = Child(&a1);
  TokenEntry b = Child(&root);
  TokenEntry orphan = Child(nullptr);

  ASSERT_TRUE(store_.RevokeTree(a).ok());
  EXPECT_FALSE(Alive(a));
  EXPECT_FALSE(Alive(a1));
  EXPECT_FALSE(Alive(a11));
  EXPECT_TRUE(Alive(b));
  EXPECT_TRUE(Alive(root));
  EXPECT_TRUE(Alive(orphan));
  EXPECT_EQ(RevokedCount(), 3u);

  // Nothing of the revoked tokens stays in storage.
  for (const auto* t : {&a, &a1, &a11}) {
    EXPECT_FALSE(mem_.Get("id/" + t->hash)->has_value());
    EXPECT_FALSE(mem_.Get("accessor/" + t->accessor)->has_value());
  }
  auto links = storage::ListRecursive(mem_, "parent/");
  ASSERT_TRUE(links.ok());
  EXPECT_EQ(*links, std::vector<std::string>{root.hash + "/" + b.hash});

  // Revoking again is a no-op and does not run the hook twice.
  ASSERT_TRUE(store_.RevokeTree(a).ok());
  EXPECT_EQ(RevokedCount(), 3u);
}

TEST_F(TokenStoreTest, RevokedParentAcceptsNoChildren) {
  TokenEntry p = Child(nullptr);
  ASSERT_TRUE(store_.RevokeTree(p).ok());
  TokenEntry e;
  e.parent_hash = p.hash;
  auto r = store_.Create(e);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "parent token not found");
}

TEST_F(TokenStoreTest, RevokeOrphanKeepsChildren) {
  TokenEntry p = Child(nullptr);
  TokenEntry c = Child(&p);
  TokenEntry gc = Child(&c);
  ASSERT_TRUE(store_.RevokeOrphan(p).ok());
  EXPECT_FALSE(Alive(p));
  ASSERT_TRUE(Alive(c));
  auto got = store_.Lookup(c.id);
  EXPECT_TRUE((*got)->orphan);
  EXPECT_TRUE((*got)->parent_hash.empty());
  // The grandchild still hangs off the child.
  ASSERT_TRUE(store_.RevokeTree(c).ok());
  EXPECT_FALSE(Alive(gc));
}

TEST_F(TokenStoreTest, ListAccessorsSorted) {
  TokenEntry a = Child(nullptr), b = Child(nullptr), c = Child(nullptr);
  auto list = store_.ListAccessors();
  ASSERT_TRUE(list.ok());
  std::vector<std::string> want{a.accessor, b.accessor, c.accessor};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(*list, want);
  ASSERT_TRUE(store_.RevokeTree(b).ok());
  list = store_.ListAccessors();
  EXPECT_EQ(list->size(), 2u);
}

TEST_F(TokenStoreTest, UseTokenCountsDown) {
  TokenEntry t = Child(nullptr, kHour, 2);
  auto left = store_.UseToken(t);
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(*left, 1);
  EXPECT_EQ((*store_.Lookup(t.id))->num_uses, 1);
  left = store_.UseToken(t);
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(*left, 0);
  // Last use consumed: gone for lookups, visible to the request in flight.
  EXPECT_FALSE(Alive(t));
  auto in_flight = store_.LookupForRequest(t.id);
  ASSERT_TRUE(in_flight.ok());
  ASSERT_TRUE(in_flight->has_value());
  // A third use is refused.
  left = store_.UseToken(t);
  ASSERT_FALSE(left.ok());
  EXPECT_EQ(left.status().code(), Code::kPermissionDenied);
  ASSERT_TRUE(store_.RevokeTree(t).ok());
  EXPECT_FALSE(store_.LookupForRequest(t.id)->has_value());
}

TEST_F(TokenStoreTest, UseTokenUnlimitedDoesNotWrite) {
  TokenEntry t = Child(nullptr);
  testing::ErrorBackend errors(mem_);
  TokenStore store(errors, clock_);
  auto left = store.UseToken(t);
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(*left, -1);
  EXPECT_EQ(errors.Calls(testing::ErrorBackend::Method::kTxn), 0);
  EXPECT_EQ(errors.Calls(testing::ErrorBackend::Method::kPut), 0);
}

TEST_F(TokenStoreTest, ConcurrentUsesOfOneUseTokenOnlyOneWins) {
  for (int round = 0; round < 20; ++round) {
    TokenEntry t = Child(nullptr, kHour, 1);
    std::atomic<int> ok{0}, denied{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
      threads.emplace_back([&] {
        auto r = store_.UseToken(t);
        if (r.ok())
          ++ok;
        else if (r.status().code() == Code::kPermissionDenied)
          ++denied;
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(ok.load(), 1);
    EXPECT_EQ(denied.load(), 7);
  }
}

TEST_F(TokenStoreTest, ConcurrentUsesConsumeExactlyTheBudget) {
  TokenEntry t = Child(nullptr, kHour, 50);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 20; ++j)
        if (store_.UseToken(t).ok()) ++ok;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 50);
}

TEST_F(TokenStoreTest, LookupRacingRevokeNeverResurrects) {
  for (int round = 0; round < 50; ++round) {
    TokenEntry t = Child(nullptr);
    std::atomic<bool> stop{false};
    std::thread reader([&] {
      while (!stop.load()) (void)store_.Lookup(t.id);
    });
    ASSERT_TRUE(store_.RevokeTree(t).ok());
    stop = true;
    reader.join();
    EXPECT_FALSE(Alive(t));
  }
}

TEST_F(TokenStoreTest, ChildrenCreatedDuringRevocationDoNotSurvive) {
  TokenEntry p = Child(nullptr);
  std::atomic<bool> stop{false};
  std::atomic<int> made_count{0};
  std::mutex mu;
  std::vector<std::string> made;
  std::thread creator([&] {
    while (!stop.load()) {
      TokenEntry e;
      e.parent_hash = p.hash;
      e.ttl = kHour;
      auto r = store_.Create(e);
      if (r.ok()) {
        std::lock_guard lock(mu);
        made.push_back(r->id);
        ++made_count;
      }
    }
  });
  while (made_count.load() < 5) std::this_thread::yield();
  ASSERT_TRUE(store_.RevokeTree(p).ok());
  stop = true;
  creator.join();
  for (const auto& id : made) EXPECT_FALSE(store_.Lookup(id)->has_value());
  auto links = storage::ListRecursive(mem_, "parent/");
  ASSERT_TRUE(links.ok());
  EXPECT_TRUE(links->empty());
}

TEST_F(TokenStoreTest, ExpiredTokenIsMissingThenRevokedByExpireDue) {
  TokenEntry parent = Child(nullptr, kHour);
  TokenEntry child = Child(&parent, 10 * kHour);
  TokenEntry other = Child(nullptr, 2 * kHour);
  clock_.Advance(seconds(kHour));
  EXPECT_TRUE(Alive(parent));  // lives through the second its TTL ends in
  clock_.Advance(seconds(1));
  EXPECT_FALSE(Alive(parent));
  EXPECT_TRUE(Alive(child));  // until the parent's revocation runs

  auto n = store_.ExpireDue();
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 2);  // parent and its child
  EXPECT_FALSE(Alive(child));
  EXPECT_TRUE(Alive(other));
  EXPECT_FALSE(mem_.Get("id/" + parent.hash)->has_value());
  EXPECT_EQ(RevokedCount(), 2u);

  n = store_.ExpireDue();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0);
  clock_.Advance(hours(1));
  n = store_.ExpireDue();
  EXPECT_EQ(*n, 1);
}

TEST_F(TokenStoreTest, ExpireDueLoadsIndexFromStorage) {
  TokenEntry t = Child(nullptr, kHour);
  TokenEntry forever = Root();
  // A fresh store over the same storage (a restart) knows nothing in memory.
  TokenStore fresh(mem_, clock_);
  int hook_calls = 0;
  fresh.SetRevokeHook([&](const TokenEntry&) { ++hook_calls; });
  clock_.Advance(hours(2));
  auto n = fresh.ExpireDue();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(hook_calls, 1);
  EXPECT_FALSE(mem_.Get("id/" + t.hash)->has_value());
  EXPECT_TRUE(Alive(forever));
}

// The scan behind the expiry index loads tokens in parallel chunks: every
// token of a store larger than a chunk is indexed, a corrupt one skipped.
TEST_F(TokenStoreTest, ExpiryIndexCoversEveryTokenAcrossChunksAndSkipsCorruptOnes) {
  constexpr int kTokens = 1100;  // more than two chunks of the scan
  std::vector<TokenEntry> short_lived;
  for (int i = 0; i < kTokens; ++i) short_lived.push_back(Child(nullptr, kHour));
  TokenEntry lasting = Child(nullptr, 10 * kHour);
  ASSERT_TRUE(mem_.Put("id/" + short_lived[600].hash, "{not json").ok());
  TokenStore fresh(mem_, clock_);
  std::atomic<int> hook_calls{0};
  fresh.SetRevokeHook([&](const TokenEntry&) { ++hook_calls; });
  clock_.Advance(hours(2));
  auto n = fresh.ExpireDue();
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, kTokens - 1);
  EXPECT_EQ(hook_calls.load(), kTokens - 1);
  for (int i : {0, 511, 512, 1023, 1024, kTokens - 1}) {
    EXPECT_FALSE(mem_.Get("id/" + short_lived[i].hash)->has_value()) << i;
  }
  EXPECT_TRUE(mem_.Get("id/" + short_lived[600].hash)->has_value());  // corrupt: left alone
  EXPECT_TRUE(mem_.Get("id/" + lasting.hash)->has_value());
}

TEST_F(TokenStoreTest, ExpireDueOnlyReadsDueTokens) {
  for (int i = 0; i < 20; ++i) Child(nullptr, 10 * kHour);
  TokenEntry soon = Child(nullptr, kHour);
  testing::ErrorBackend errors(mem_);
  TokenStore store(errors, clock_);
  ASSERT_TRUE(store.ExpireDue().ok());  // loads the index once
  int gets = errors.Calls(testing::ErrorBackend::Method::kGet);
  clock_.Advance(hours(2));
  auto n = store.ExpireDue();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  // One read of the due token, one inside its revocation.
  EXPECT_LE(errors.Calls(testing::ErrorBackend::Method::kGet) - gets, 2);
  (void)soon;
}

TEST_F(TokenStoreTest, RenewExtendsAndIsCappedFromCreation) {
  TokenEntry t = Child(nullptr, kHour);
  clock_.Advance(hours(30 * 24));  // 720h later... expired: renew must fail
  auto late = store_.Renew(t, 0, 768 * kHour, nullptr);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().message(), "lease expired");

  TokenEntry u = Child(nullptr, kHour);
  clock_.Advance(seconds(1800));
  std::vector<std::string> warnings;
  auto r = store_.Renew(u, 24 * kHour, 768 * kHour, &warnings);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->ttl, 24 * kHour);
  EXPECT_EQ(r->last_renewal_time, clock_.UnixNow());
  EXPECT_EQ(r->creation_ttl, kHour);
  EXPECT_EQ(r->ExpireTime(), clock_.UnixNow() + 24 * kHour);
  EXPECT_TRUE(warnings.empty());
  // The renewed lifetime survives a cache drop (it is in storage).
  store_.ClearCache();
  EXPECT_EQ((*store_.Lookup(u.id))->ExpireTime(), clock_.UnixNow() + 24 * kHour);

  // Without an increment the last granted TTL is reused.
  clock_.Advance(hours(1));
  r = store_.Renew(u, 0, 768 * kHour, nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ttl, 24 * kHour);

  // The mount max counts from creation.
  r = store_.Renew(u, 2000 * kHour, 30 * kHour, &warnings);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ttl, 30 * kHour - 1800 - kHour);
  ASSERT_EQ(warnings.size(), 1u);
}

TEST_F(TokenStoreTest, RenewErrors) {
  TokenEntry root = Root();
  auto r = store_.Renew(root, kHour, 768 * kHour, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "invalid lease ID");

  TokenEntry e;
  e.policies = {"default"};
  e.ttl = e.creation_ttl = kHour;
  e.renewable = false;
  auto fixed = store_.Create(e);
  ASSERT_TRUE(fixed.ok());
  r = store_.Renew(*fixed, kHour, 768 * kHour, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "lease is not renewable");
}

TEST_F(TokenStoreTest, RenewedTokenSurvivesExpiryScan) {
  TokenEntry t = Child(nullptr, kHour);
  ASSERT_TRUE(store_.ExpireDue().ok());
  clock_.Advance(seconds(1800));
  ASSERT_TRUE(store_.Renew(t, 2 * kHour, 768 * kHour, nullptr).ok());
  clock_.Advance(hours(1));
  auto n = store_.ExpireDue();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0);
  EXPECT_TRUE(Alive(t));
  clock_.Advance(hours(1) + seconds(1));
  EXPECT_EQ(*store_.ExpireDue(), 1);
}

TEST_F(TokenStoreTest, CacheServesLookupsAndIsInvalidated) {
  TokenEntry t = Child(nullptr);
  testing::ErrorBackend errors(mem_);
  TokenStore store(errors, clock_);
  ASSERT_TRUE(store.Lookup(t.id)->has_value());
  int gets = errors.Calls(testing::ErrorBackend::Method::kGet);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store.Lookup(t.id)->has_value());
  EXPECT_EQ(errors.Calls(testing::ErrorBackend::Method::kGet), gets);
  ASSERT_TRUE(store.RevokeTree(t).ok());
  EXPECT_FALSE(store.Lookup(t.id)->has_value());
}

TEST_F(TokenStoreTest, StorageErrorsPropagate) {
  TokenEntry t = Child(nullptr);
  testing::ErrorBackend errors(mem_);
  TokenStore store(errors, clock_);
  errors.FailAll(Unavailable("storage down"));
  auto r = store.Lookup(t.id);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_EQ(store.RevokeTree(t).code(), Code::kUnavailable);
  EXPECT_EQ(store.Create(TokenEntry{}).status().code(), Code::kUnavailable);
  errors.Clear();
  EXPECT_TRUE(store.Lookup(t.id)->has_value());
}

TEST_F(TokenStoreTest, CorruptEntryIsDataLoss) {
  TokenEntry t = Child(nullptr);
  ASSERT_TRUE(mem_.Put("id/" + t.hash, "{not json").ok());
  TokenStore fresh(mem_, clock_);
  auto r = fresh.Lookup(t.id);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kDataLoss);
  ASSERT_TRUE(mem_.Put("id/" + t.hash, R"({"policies": 5})").ok());
  r = fresh.Lookup(t.id);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kDataLoss);
}

TEST_F(TokenStoreTest, StorageJsonRoundTrips) {
  TokenEntry e;
  e.accessor = "acc";
  e.parent_hash = Sha256Hex("p");
  e.policies = {"a", "b"};
  e.meta = {{"k", "v"}};
  e.display_name = "token-x";
  e.path = "auth/token/create/r";
  e.entity_id = "ent";
  e.role = "r";
  e.creation_time = 10;
  e.last_renewal_time = 20;
  e.creation_ttl = 30;
  e.ttl = 40;
  e.explicit_max_ttl = 50;
  e.period = 60;
  e.max_ttl = 70;
  e.num_uses = 3;
  e.renewable = false;
  e.orphan = false;
  e.id = "secret";
  logical::Json j = e.ToStorageJson();
  EXPECT_EQ(j.dump().find("secret"), std::string::npos);
  auto back = TokenEntry::FromStorageJson(j);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->ToStorageJson(), j);
  EXPECT_TRUE(back->id.empty());
}

TEST_F(TokenStoreTest, TidyRepairsInterruptedRevocation) {
  TokenEntry p = Child(nullptr);
  TokenEntry c = Child(&p);
  TokenEntry gc = Child(&c);
  TokenEntry keep = Child(nullptr);
  // Simulate a revocation that died after deleting the parent's records.
  ASSERT_TRUE(mem_.Delete("id/" + p.hash).ok());
  // And an accessor left behind, and a link to a vanished child.
  ASSERT_TRUE(mem_.Put("accessor/Dangling0000000000000000", Sha256Hex("x")).ok());
  ASSERT_TRUE(mem_.Put("parent/" + keep.hash + "/" + Sha256Hex("y"), "").ok());
  store_.ClearCache();

  auto r = store_.Tidy();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->orphaned_children, 2);
  EXPECT_EQ(r->dangling_accessors, 2);  // p's and the planted one
  EXPECT_EQ(r->dangling_parent_links, 1);
  EXPECT_FALSE(Alive(c));
  EXPECT_FALSE(Alive(gc));
  EXPECT_TRUE(Alive(keep));
  auto links = storage::ListRecursive(mem_, "parent/");
  ASSERT_TRUE(links.ok());
  EXPECT_TRUE(links->empty());
}

}  // namespace
}  // namespace arca::core
