// EtcdBackend against a real etcd on loopback: the Backend conformance
// suite, then prefixing, paging, fencing, ReadAll and ReplaceAll.
#include "storage/etcd/backend.h"

#include <algorithm>
#include <atomic>
#include <map>

#include "backend_conformance.h"
#include "support/etcd_process.h"

namespace arca::storage::etcd {
namespace {

using ::arca::storage::test::BackendConformanceTest;
using ::arca::storage::test::BackendParam;
using ::arca::storage::test::BackendParamName;
using ::arca::storage::test::IsOk;
using ::arca::storage::test::StatusIs;
using ::arca::testing::EtcdProcess;
using ::arca::testing::EtcdProcessOptions;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;
using ::testing::SizeIs;

// ---- the conformance suite ----

// One etcd and one client for the whole process, started on first use.
// The suite puts 20k ops in one Txn, so etcd's --max-txn-ops is raised.
struct SharedEtcd {
  SharedEtcd() : etcd(Options()) {
    start = etcd.Start();
    if (!start.ok()) return;
    auto c = Client::Create(etcd.client_options());
    if (c.ok()) {
      client = std::move(c).value();
    } else {
      start = c.status();
    }
  }
  static EtcdProcessOptions Options() {
    EtcdProcessOptions o;
    o.extra_args = {"--max-txn-ops=30000"};
    return o;
  }
  EtcdProcess etcd;
  Status start;
  std::unique_ptr<Client> client;
};

SharedEtcd& Shared() {
  static SharedEtcd shared;
  return shared;
}

// Owns nothing: the shared client outlives every backend.
StatusOr<std::unique_ptr<Backend>> OpenEtcd(const std::string& dir) {
  SharedEtcd& s = Shared();
  ARCA_RETURN_IF_ERROR(s.start);
  // Each test has its own temp dir, hence its own key space.
  return std::unique_ptr<Backend>(std::make_unique<EtcdBackend>(*s.client, "/conf" + dir + "/"));
}

INSTANTIATE_TEST_SUITE_P(Etcd, BackendConformanceTest,
                         ::testing::Values(BackendParam{"Etcd", OpenEtcd}), BackendParamName);

// ---- EtcdBackend specifics ----

class EtcdBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(etcd_.Start(), IsOk());
    auto c = Client::Create(etcd_.client_options());
    ASSERT_THAT(c, IsOk());
    client_ = std::move(c).value();
    backend_ = std::make_unique<EtcdBackend>(*client_, "/vault/");
  }

  // Puts `lock` on a fresh lease (as ha::Manager does) and fences the
  // backend with it. Returns the lease id.
  int64_t HoldLockAndFence() {
    auto lease = client_->GrantLease(30);
    EXPECT_THAT(lease, IsOk());
    if (!lease.ok()) return 0;
    auto won = client_->Txn({Compare::KeyMissing(kLock)}, {TxnOp::Put(kLock, "{}", lease->id)},
                            {});
    EXPECT_THAT(won, IsOk());
    auto kv = client_->Range(kLock, {});
    EXPECT_THAT(kv, IsOk());
    if (!kv.ok() || kv->kvs.empty()) return 0;
    backend_->SetFence(Fence{kLock, kv->kvs[0].create_revision});
    return lease->id;
  }

  std::optional<std::string> Raw(const std::string& key) {
    auto r = client_->Range(key, {});
    EXPECT_THAT(r, IsOk());
    if (!r.ok() || r->kvs.empty()) return std::nullopt;
    return r->kvs[0].value;
  }

  static constexpr const char* kLock = "/vault/core/lock";
  EtcdProcess etcd_;
  std::unique_ptr<Client> client_;
  std::unique_ptr<EtcdBackend> backend_;
};

TEST_F(EtcdBackendTest, KeysLiveBelowThePrefix) {
  ASSERT_THAT(backend_->Put("sys/token/id/ab", "cipher"), IsOk());
  EXPECT_THAT(Raw("/vault/sys/token/id/ab"), Optional(std::string("cipher")));
  ASSERT_THAT(client_->Put("/other/x", "1"), IsOk());
  ASSERT_THAT(client_->Put("/vaultx", "1"), IsOk());
  auto l = backend_->List("");
  ASSERT_THAT(l, IsOk());
  EXPECT_THAT(*l, ElementsAre("sys/"));
  auto g = backend_->Get("x");
  ASSERT_THAT(g, IsOk());
  EXPECT_EQ(*g, std::nullopt);
  ASSERT_THAT(backend_->Delete("sys/token/id/ab"), IsOk());
  EXPECT_EQ(Raw("/vault/sys/token/id/ab"), std::nullopt);
  EXPECT_EQ(backend_->prefix(), "/vault/");
}

TEST_F(EtcdBackendTest, ListFoldsAcrossPages) {
  // 1500 direct keys, then a 1500-key folder, then one key: three pages
  // of 1000, one of which ends inside the folder.
  std::vector<Op> ops;
  auto flush = [&] {
    ASSERT_THAT(backend_->Txn({}, ops), IsOk());
    ops.clear();
  };
  std::vector<std::string> want;
  for (int i = 0; i < 1500; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "k%04d", i);
    want.push_back(name);
    ops.push_back(Op::Put(std::string("p/") + name, "v"));
    if (ops.size() == 100) flush();
  }
  for (int i = 0; i < 1500; ++i) {
    ops.push_back(Op::Put("p/l/" + std::to_string(i), "v"));
    if (ops.size() == 100) flush();
  }
  ops.push_back(Op::Put("p/z", "v"));
  flush();
  want.push_back("l/");
  want.push_back("z");
  auto l = backend_->List("p/");
  ASSERT_THAT(l, IsOk());
  EXPECT_EQ(*l, want);
  auto sub = backend_->List("p/l/");
  ASSERT_THAT(sub, IsOk());
  EXPECT_THAT(*sub, SizeIs(1500));
}

TEST_F(EtcdBackendTest, TxnWritingAKeyTwiceKeepsTheLastOp) {
  ASSERT_THAT(backend_->Txn({Condition::Absent("k")},
                            {Op::Put("k", "1"), Op::Put("j", "x"), Op::Put("k", "2")}),
              IsOk());
  EXPECT_THAT(Raw("/vault/k"), Optional(std::string("2")));
  ASSERT_THAT(backend_->Txn({}, {Op::Put("k", "3"), Op::Delete("k")}), IsOk());
  EXPECT_EQ(Raw("/vault/k"), std::nullopt);
  EXPECT_THAT(Raw("/vault/j"), Optional(std::string("x")));
}

TEST_F(EtcdBackendTest, FencedWritesSucceedWhileTheLockIsHeld) {
  HoldLockAndFence();
  ASSERT_TRUE(backend_->fence().has_value());
  EXPECT_EQ(backend_->fence()->key, kLock);
  int fenced = 0;
  backend_->SetOnFenced([&] { ++fenced; });
  ASSERT_THAT(backend_->Put("a", "1"), IsOk());
  ASSERT_THAT(backend_->Txn({}, {Op::Put("b", "2"), Op::Delete("a")}), IsOk());
  ASSERT_THAT(backend_->Delete("b"), IsOk());
  EXPECT_EQ(Raw("/vault/a"), std::nullopt);
  EXPECT_EQ(Raw("/vault/b"), std::nullopt);
  EXPECT_EQ(fenced, 0);
}

TEST_F(EtcdBackendTest, FencedTxnWithConditionsUsesTheNestedResult) {
  HoldLockAndFence();
  int fenced = 0;
  backend_->SetOnFenced([&] { ++fenced; });
  ASSERT_THAT(backend_->Put("eq", "val"), IsOk());
  EXPECT_THAT(backend_->Txn({Condition::Equals("eq", "other")}, {Op::Put("w", "1")}),
              StatusIs(Code::kAborted));
  EXPECT_THAT(backend_->Txn({Condition::Exists("missing")}, {Op::Put("w", "1")}),
              StatusIs(Code::kAborted));
  EXPECT_EQ(Raw("/vault/w"), std::nullopt);
  ASSERT_THAT(backend_->Txn({Condition::Equals("eq", "val"), Condition::Absent("w")},
                            {Op::Put("w", "1"), Op::Delete("eq")}),
              IsOk());
  EXPECT_THAT(Raw("/vault/w"), Optional(std::string("1")));
  EXPECT_EQ(Raw("/vault/eq"), std::nullopt);
  EXPECT_EQ(fenced, 0);
}

TEST_F(EtcdBackendTest, WritesAfterTheLeaseIsRevokedAreFenced) {
  int64_t lease = HoldLockAndFence();
  ASSERT_NE(lease, 0);
  std::atomic<int> fenced{0};
  backend_->SetOnFenced([&] { ++fenced; });
  ASSERT_THAT(backend_->Put("before", "1"), IsOk());
  ASSERT_THAT(client_->RevokeLease(lease), IsOk());
  EXPECT_EQ(Raw(kLock), std::nullopt);

  Status put = backend_->Put("after", "1");
  EXPECT_THAT(put, StatusIs(Code::kFailedPrecondition));
  EXPECT_THAT(put.message(), HasSubstr("fenced"));
  EXPECT_EQ(fenced.load(), 1);
  EXPECT_THAT(backend_->Delete("before"), StatusIs(Code::kFailedPrecondition));
  EXPECT_THAT(backend_->Txn({Condition::Absent("x")}, {Op::Put("x", "1")}),
              StatusIs(Code::kFailedPrecondition));
  EXPECT_THAT(backend_->Txn({}, {Op::Put("y", "1")}), StatusIs(Code::kFailedPrecondition));
  EXPECT_EQ(fenced.load(), 4);
  // Nothing was written, nothing deleted; reads still work.
  EXPECT_EQ(Raw("/vault/after"), std::nullopt);
  EXPECT_EQ(Raw("/vault/x"), std::nullopt);
  EXPECT_EQ(Raw("/vault/y"), std::nullopt);
  auto before = backend_->Get("before");
  ASSERT_THAT(before, IsOk());
  EXPECT_THAT(*before, Optional(std::string("1")));

  backend_->SetFence(std::nullopt);
  EXPECT_THAT(backend_->Put("after", "1"), IsOk());
  EXPECT_EQ(fenced.load(), 4);
}

TEST_F(EtcdBackendTest, ANewLockHolderFencesTheOldOne) {
  int64_t lease = HoldLockAndFence();
  ASSERT_NE(lease, 0);
  int fenced = 0;
  backend_->SetOnFenced([&] { ++fenced; });
  // The lock expires and another node takes it: same key, newer revision.
  ASSERT_THAT(client_->RevokeLease(lease), IsOk());
  auto other = client_->GrantLease(30);
  ASSERT_THAT(other, IsOk());
  ASSERT_THAT(client_->Put(kLock, "{\"node_id\":\"b\"}", other->id), IsOk());
  EXPECT_THAT(backend_->Put("stale", "1"), StatusIs(Code::kFailedPrecondition));
  EXPECT_EQ(fenced, 1);
  EXPECT_EQ(Raw("/vault/stale"), std::nullopt);
}

TEST_F(EtcdBackendTest, ReadAllIsOneSortedSnapshot) {
  std::map<std::string, std::string> want;
  std::vector<Op> ops;
  for (int i = 0; i < 2500; ++i) {
    std::string k = "d/" + std::to_string(i);
    want[k] = "v" + std::to_string(i);
    ops.push_back(Op::Put(k, want[k]));
    if (ops.size() == 100) {
      ASSERT_THAT(backend_->Txn({}, ops), IsOk());
      ops.clear();
    }
  }
  ASSERT_THAT(backend_->Put("a", std::string("\0bin", 4)), IsOk());
  want["a"] = std::string("\0bin", 4);
  ASSERT_THAT(client_->Put("/elsewhere", "no"), IsOk());

  auto all = backend_->ReadAll();
  ASSERT_THAT(all, IsOk());
  ASSERT_EQ(all->size(), want.size());
  std::size_t i = 0;
  for (const auto& [k, v] : want) {
    EXPECT_EQ((*all)[i].first, k);
    EXPECT_EQ((*all)[i].second, v);
    ++i;
  }
  EXPECT_THAT(backend_->ReadAll(2500), StatusIs(Code::kResourceExhausted));
  auto exact = backend_->ReadAll(2501);
  EXPECT_THAT(exact, IsOk());
}

TEST_F(EtcdBackendTest, ReplaceAllKeepsTheElectionKeys) {
  int64_t lease = HoldLockAndFence();
  ASSERT_NE(lease, 0);
  ASSERT_THAT(client_->Put("/vault/core/nodes/n1", "node1", lease), IsOk());
  ASSERT_THAT(backend_->Put("core/mounts", "old"), IsOk());
  ASSERT_THAT(backend_->Put("core/lock2", "old"), IsOk());
  ASSERT_THAT(backend_->Put("old/key", "old"), IsOk());
  ASSERT_THAT(backend_->Put("zzz", "old"), IsOk());
  ASSERT_THAT(client_->Put("/outside", "kept"), IsOk());

  std::vector<std::pair<std::string, std::string>> entries;
  for (int i = 0; i < 250; ++i) entries.emplace_back("new/" + std::to_string(i), "n");
  entries.emplace_back("core/mounts", "restored");
  entries.emplace_back("core/lock", "from-the-snapshot");     // ignored
  entries.emplace_back("core/nodes/n9", "from-the-snapshot");  // ignored
  ASSERT_THAT(backend_->ReplaceAll(entries), IsOk());

  auto all = backend_->ReadAll();
  ASSERT_THAT(all, IsOk());
  std::map<std::string, std::string> got(all->begin(), all->end());
  EXPECT_EQ(got.size(), 250u + 3u);  // new/*, core/mounts, core/lock, core/nodes/n1
  EXPECT_EQ(got["core/mounts"], "restored");
  EXPECT_EQ(got["core/lock"], "{}");
  EXPECT_EQ(got["core/nodes/n1"], "node1");
  EXPECT_EQ(got.count("core/nodes/n9"), 0u);
  EXPECT_EQ(got.count("core/lock2"), 0u);
  EXPECT_EQ(got.count("old/key"), 0u);
  EXPECT_EQ(got.count("zzz"), 0u);
  EXPECT_EQ(got["new/42"], "n");
  EXPECT_THAT(Raw("/outside"), Optional(std::string("kept")));

  // Fenced like every write once the lock is gone.
  ASSERT_THAT(client_->RevokeLease(lease), IsOk());
  EXPECT_THAT(backend_->ReplaceAll({{"x", "1"}}), StatusIs(Code::kFailedPrecondition));
  EXPECT_EQ(Raw("/vault/x"), std::nullopt);
  EXPECT_THAT(Raw("/vault/core/mounts"), Optional(std::string("restored")));
}

TEST_F(EtcdBackendTest, ReplaceAllWithoutFenceAndEmptyEntries) {
  ASSERT_THAT(backend_->Put("a", "1"), IsOk());
  ASSERT_THAT(backend_->ReplaceAll({}), IsOk());
  auto all = backend_->ReadAll();
  ASSERT_THAT(all, IsOk());
  EXPECT_THAT(*all, IsEmpty());
}

TEST_F(EtcdBackendTest, EtcdDownIsUnavailable) {
  ClientOptions o = etcd_.client_options();
  o.dial_timeout = std::chrono::milliseconds(200);
  auto c = Client::Create(o);
  ASSERT_THAT(c, IsOk());
  EtcdBackend b(**c, "/vault/");
  ASSERT_THAT(b.Put("a", "1"), IsOk());
  etcd_.Kill();
  EXPECT_THAT(b.Get("a"), StatusIs(Code::kUnavailable));
  EXPECT_THAT(b.Put("a", "1"), StatusIs(Code::kUnavailable));
  EXPECT_THAT(b.List(""), StatusIs(Code::kUnavailable));
  EXPECT_THAT(b.Txn({}, {Op::Put("a", "1")}), StatusIs(Code::kUnavailable));
  EXPECT_THAT(b.ReadAll(), StatusIs(Code::kUnavailable));
}

}  // namespace
}  // namespace arca::storage::etcd
