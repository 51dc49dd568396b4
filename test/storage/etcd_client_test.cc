// etcd::Client against a real etcd on loopback (test/support/etcd_process.h).
#include "storage/etcd/client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "storage_test_util.h"
#include "support/etcd_process.h"

namespace arca::storage::etcd {
namespace {

using ::arca::storage::test::IsOk;
using ::arca::storage::test::StatusIs;
using ::arca::testing::EtcdProcess;
using ::arca::testing::EtcdProcessOptions;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

// A loopback port with nothing listening on it.
std::string DeadEndpoint() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(s);
  return "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
}

std::unique_ptr<Client> MustCreate(const ClientOptions& o) {
  auto c = Client::Create(o);
  EXPECT_THAT(c, IsOk());
  return c.ok() ? std::move(c).value() : nullptr;
}

std::vector<std::string> Keys(const RangeResult& r) {
  std::vector<std::string> out;
  for (const auto& kv : r.kvs) out.push_back(kv.key);
  return out;
}

class EtcdClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(etcd_.Start(), IsOk());
    client_ = MustCreate(etcd_.client_options());
    ASSERT_NE(client_, nullptr);
  }

  EtcdProcess etcd_;
  std::unique_ptr<Client> client_;
};

TEST_F(EtcdClientTest, PutRangeDelete) {
  ASSERT_THAT(client_->Put("a/1", "one"), IsOk());
  ASSERT_THAT(client_->Put("a/2", "two"), IsOk());
  ASSERT_THAT(client_->Put("b", "bee"), IsOk());

  auto one = client_->Range("a/1", {});
  ASSERT_THAT(one, IsOk());
  ASSERT_THAT(one->kvs, SizeIs(1));
  EXPECT_EQ(one->kvs[0].value, "one");
  EXPECT_EQ(one->kvs[0].version, 1);
  EXPECT_GT(one->kvs[0].create_revision, 0);
  EXPECT_GE(one->revision, one->kvs[0].mod_revision);

  RangeOptions prefix;
  prefix.range_end = PrefixEnd("a/");
  auto all = client_->Range("a/", prefix);
  ASSERT_THAT(all, IsOk());
  EXPECT_THAT(Keys(*all), ElementsAre("a/1", "a/2"));

  RangeOptions limited = prefix;
  limited.limit = 1;
  limited.keys_only = true;
  auto page = client_->Range("a/", limited);
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(Keys(*page), ElementsAre("a/1"));
  EXPECT_TRUE(page->more);
  EXPECT_EQ(page->count, 2);
  EXPECT_EQ(page->kvs[0].value, "");

  RangeOptions from_start;
  from_start.range_end = std::string(1, '\0');
  from_start.count_only = true;
  auto count = client_->Range("a", from_start);
  ASSERT_THAT(count, IsOk());
  EXPECT_EQ(count->count, 3);
  EXPECT_TRUE(count->kvs.empty());

  auto deleted = client_->DeleteRange("a/", PrefixEnd("a/"));
  ASSERT_THAT(deleted, IsOk());
  EXPECT_EQ(*deleted, 2);
  auto gone = client_->Range("a/1", {});
  ASSERT_THAT(gone, IsOk());
  EXPECT_TRUE(gone->kvs.empty());
  auto none = client_->DeleteRange("nothing", {});
  ASSERT_THAT(none, IsOk());
  EXPECT_EQ(*none, 0);
}

TEST_F(EtcdClientTest, RangeAtOldRevision) {
  ASSERT_THAT(client_->Put("k", "v1"), IsOk());
  auto r1 = client_->Range("k", {});
  ASSERT_THAT(r1, IsOk());
  ASSERT_THAT(client_->Put("k", "v2"), IsOk());
  RangeOptions at;
  at.revision = r1->revision;
  auto old = client_->Range("k", at);
  ASSERT_THAT(old, IsOk());
  ASSERT_THAT(old->kvs, SizeIs(1));
  EXPECT_EQ(old->kvs[0].value, "v1");
  at.serializable = true;
  at.revision = 0;
  auto now = client_->Range("k", at);
  ASSERT_THAT(now, IsOk());
  ASSERT_THAT(now->kvs, SizeIs(1));
  EXPECT_EQ(now->kvs[0].value, "v2");
}

TEST_F(EtcdClientTest, TxnComparesPickTheBranch) {
  auto first = client_->Txn({Compare::KeyMissing("lock")}, {TxnOp::Put("lock", "me")},
                            {TxnOp::Get("lock")});
  ASSERT_THAT(first, IsOk());
  EXPECT_TRUE(first->succeeded);
  ASSERT_THAT(first->results, SizeIs(1));
  EXPECT_EQ(first->results[0].kind, TxnOp::Kind::kPut);

  auto second = client_->Txn({Compare::KeyMissing("lock")}, {TxnOp::Put("lock", "you")},
                             {TxnOp::Get("lock")});
  ASSERT_THAT(second, IsOk());
  EXPECT_FALSE(second->succeeded);
  ASSERT_THAT(second->results, SizeIs(1));
  ASSERT_EQ(second->results[0].kind, TxnOp::Kind::kRange);
  ASSERT_THAT(second->results[0].range.kvs, SizeIs(1));
  EXPECT_EQ(second->results[0].range.kvs[0].value, "me");
  const int64_t created = second->results[0].range.kvs[0].create_revision;

  auto exists = client_->Txn({Compare::KeyExists("lock"), Compare::ValueIs("lock", "me"),
                              Compare::CreateRevisionIs("lock", created)},
                             {TxnOp::Delete("lock")}, {});
  ASSERT_THAT(exists, IsOk());
  EXPECT_TRUE(exists->succeeded);
  ASSERT_THAT(exists->results, SizeIs(1));
  EXPECT_EQ(exists->results[0].deleted, 1);
  auto value_on_missing = client_->Txn({Compare::ValueIs("lock", "")}, {}, {});
  ASSERT_THAT(value_on_missing, IsOk());
  EXPECT_FALSE(value_on_missing->succeeded);
}

TEST_F(EtcdClientTest, NestedTxnReportsTheInnerOutcome) {
  ASSERT_THAT(client_->Put("fence", "x"), IsOk());
  auto f = client_->Range("fence", {});
  ASSERT_THAT(f, IsOk());
  const int64_t rev = f->kvs.at(0).create_revision;
  auto inner_fails = client_->Txn(
      {Compare::CreateRevisionIs("fence", rev)},
      {TxnOp::Nested({Compare::KeyExists("nope")}, {TxnOp::Put("w", "1")}, {TxnOp::Get("fence")})},
      {});
  ASSERT_THAT(inner_fails, IsOk());
  EXPECT_TRUE(inner_fails->succeeded);
  ASSERT_THAT(inner_fails->results, SizeIs(1));
  ASSERT_EQ(inner_fails->results[0].kind, TxnOp::Kind::kTxn);
  EXPECT_FALSE(inner_fails->results[0].nested_succeeded);
  ASSERT_THAT(inner_fails->results[0].nested, SizeIs(1));
  EXPECT_EQ(inner_fails->results[0].nested[0].range.kvs.at(0).value, "x");

  auto inner_ok = client_->Txn(
      {Compare::CreateRevisionIs("fence", rev)},
      {TxnOp::Nested({Compare::KeyMissing("w")}, {TxnOp::Put("w", "1")}, {})}, {});
  ASSERT_THAT(inner_ok, IsOk());
  EXPECT_TRUE(inner_ok->results.at(0).nested_succeeded);
  auto w = client_->Range("w", {});
  ASSERT_THAT(w, IsOk());
  EXPECT_EQ(w->kvs.at(0).value, "1");
}

TEST_F(EtcdClientTest, TooManyOpsIsInvalidArgument) {
  std::vector<TxnOp> ops;
  for (int i = 0; i < 200; ++i) ops.push_back(TxnOp::Put("k" + std::to_string(i), "v"));
  EXPECT_THAT(client_->Txn({}, ops, {}), StatusIs(Code::kInvalidArgument));
  std::vector<TxnOp> dup = {TxnOp::Put("same", "1"), TxnOp::Put("same", "2")};
  EXPECT_THAT(client_->Txn({}, dup, {}), StatusIs(Code::kInvalidArgument));
}

TEST_F(EtcdClientTest, LeaseGrantKeepAliveRevoke) {
  auto lease = client_->GrantLease(10);
  ASSERT_THAT(lease, IsOk());
  EXPECT_NE(lease->id, 0);
  EXPECT_EQ(lease->ttl_seconds, 10);
  ASSERT_THAT(client_->Put("leased", "v", lease->id), IsOk());
  auto kv = client_->Range("leased", {});
  ASSERT_THAT(kv, IsOk());
  EXPECT_EQ(kv->kvs.at(0).lease, lease->id);

  auto ttl = client_->KeepAliveOnce(lease->id);
  ASSERT_THAT(ttl, IsOk());
  EXPECT_EQ(*ttl, 10);
  auto again = client_->KeepAliveOnce(lease->id);
  ASSERT_THAT(again, IsOk());

  ASSERT_THAT(client_->RevokeLease(lease->id), IsOk());
  auto gone = client_->Range("leased", {});
  ASSERT_THAT(gone, IsOk());
  EXPECT_TRUE(gone->kvs.empty());
  EXPECT_THAT(client_->KeepAliveOnce(lease->id), StatusIs(Code::kNotFound));
  EXPECT_THAT(client_->RevokeLease(lease->id), StatusIs(Code::kNotFound));
  EXPECT_THAT(client_->KeepAliveOnce(12345), StatusIs(Code::kNotFound));
  EXPECT_THAT(client_->GrantLease(0), StatusIs(Code::kInvalidArgument));
}

TEST_F(EtcdClientTest, MemberListAndStatusAll) {
  auto members = client_->MemberList();
  ASSERT_THAT(members, IsOk());
  ASSERT_THAT(*members, SizeIs(1));
  const Member& m = (*members)[0];
  EXPECT_EQ(m.name, "arca-test");
  EXPECT_THAT(m.peer_urls, ElementsAre(etcd_.peer_url()));
  EXPECT_THAT(m.client_urls, ElementsAre(etcd_.client_url()));
  EXPECT_FALSE(m.is_learner);

  ClientOptions o = etcd_.client_options();
  const std::string dead = DeadEndpoint();
  o.endpoints.push_back(dead);
  auto both = MustCreate(o);
  ASSERT_NE(both, nullptr);
  auto statuses = both->StatusAll();
  ASSERT_THAT(statuses, SizeIs(2));
  EXPECT_EQ(statuses[0].endpoint, etcd_.client_url());
  EXPECT_TRUE(statuses[0].reachable);
  EXPECT_EQ(statuses[0].version, "3.4.23");
  EXPECT_EQ(statuses[0].member_id, m.id);
  EXPECT_EQ(statuses[0].leader, m.id);
  EXPECT_GT(statuses[0].raft_index, 0u);
  EXPECT_GT(statuses[0].raft_term, 0u);
  EXPECT_GT(statuses[0].db_size, 0);
  EXPECT_EQ(statuses[1].endpoint, dead);
  EXPECT_FALSE(statuses[1].reachable);
  EXPECT_FALSE(statuses[1].error.empty());
}

TEST_F(EtcdClientTest, FailsOverFromADeadEndpoint) {
  ClientOptions o = etcd_.client_options();
  o.endpoints.insert(o.endpoints.begin(), DeadEndpoint());
  auto c = MustCreate(o);
  ASSERT_NE(c, nullptr);
  // A write may move on too: it was never sent to the dead endpoint.
  ASSERT_THAT(c->Put("f", "1"), IsOk());
  auto r = c->Range("f", {});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->kvs.at(0).value, "1");
  auto lease = c->GrantLease(5);
  ASSERT_THAT(lease, IsOk());
  EXPECT_THAT(c->KeepAliveOnce(lease->id), IsOk());
  EXPECT_THAT(c->MemberList(), IsOk());
}

TEST_F(EtcdClientTest, NoReachableEndpointIsUnavailable) {
  ClientOptions o;
  o.endpoints = {DeadEndpoint(), DeadEndpoint()};
  o.dial_timeout = std::chrono::milliseconds(300);
  o.request_timeout = std::chrono::milliseconds(300);
  auto c = MustCreate(o);
  ASSERT_NE(c, nullptr);
  EXPECT_THAT(c->Range("k", {}), StatusIs(Code::kUnavailable));
  EXPECT_THAT(c->Put("k", "v"), StatusIs(Code::kUnavailable));
  EXPECT_THAT(c->KeepAliveOnce(1), StatusIs(Code::kUnavailable));
}

TEST_F(EtcdClientTest, PausedMemberHitsTheDeadline) {
  ClientOptions o = etcd_.client_options();
  o.request_timeout = std::chrono::milliseconds(300);
  auto c = MustCreate(o);
  ASSERT_NE(c, nullptr);
  ASSERT_THAT(c->Put("p", "1"), IsOk());  // connected
  ASSERT_THAT(etcd_.Pause(), IsOk());
  Status put = c->Put("p", "2");
  auto get = c->Range("p", {});
  ASSERT_THAT(etcd_.Resume(), IsOk());
  EXPECT_THAT(put, StatusIs(Code::kUnavailable));
  EXPECT_THAT(put.message(), HasSubstr("outcome unknown"));
  EXPECT_THAT(get, StatusIs(Code::kUnavailable));
  auto after = c->Range("p", {});
  ASSERT_THAT(after, IsOk());
}

// Two unrelated single-member etcds stand in for two members: the first is
// paused after the client connected to it. A read times out there and is
// answered by the second; a write that timed out is not resent.
TEST_F(EtcdClientTest, ReadsMoveOnFromAPausedMemberWritesDoNot) {
  EtcdProcess second;
  ASSERT_THAT(second.Start(), IsOk());
  auto direct = MustCreate(second.client_options());
  ASSERT_NE(direct, nullptr);
  ASSERT_THAT(direct->Put("where", "second"), IsOk());

  ClientOptions o = etcd_.client_options();
  o.endpoints.push_back(second.client_url());
  o.request_timeout = std::chrono::milliseconds(300);
  auto c = MustCreate(o);
  ASSERT_NE(c, nullptr);
  ASSERT_THAT(c->Put("where", "first"), IsOk());  // connected to the first
  ASSERT_THAT(etcd_.Pause(), IsOk());
  Status put = c->Put("w", "1");
  auto read = c->Range("where", {});
  ASSERT_THAT(etcd_.Resume(), IsOk());
  EXPECT_THAT(put, StatusIs(Code::kUnavailable));
  auto w = direct->Range("w", {});
  ASSERT_THAT(w, IsOk());
  EXPECT_TRUE(w->kvs.empty());  // not resent to the second
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(read->kvs.at(0).value, "second");
}

TEST_F(EtcdClientTest, ReconnectsAfterRestart) {
  ASSERT_THAT(client_->Put("r", "1"), IsOk());
  etcd_.Kill();
  EXPECT_THAT(client_->Range("r", {}), StatusIs(Code::kUnavailable));
  ASSERT_THAT(etcd_.Start(), IsOk());
  auto r = client_->Range("r", {});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->kvs.at(0).value, "1");
}

TEST(EtcdClientCreateTest, RejectsBadOptions) {
  ClientOptions o;
  EXPECT_THAT(Client::Create(o), StatusIs(Code::kInvalidArgument));
  for (const char* bad : {"ftp://127.0.0.1:2379", "127.0.0.1:2379", "http://", "http://h:1/path",
                          "https://user@h:1"}) {
    o.endpoints = {bad};
    EXPECT_THAT(Client::Create(o), StatusIs(Code::kInvalidArgument)) << bad;
  }
  o.endpoints = {"http://127.0.0.1:2379", "http://127.0.0.1:2379/"};
  EXPECT_THAT(Client::Create(o), StatusIs(Code::kInvalidArgument));
  o.endpoints = {"https://127.0.0.1:2379"};
  o.tls_ca_file = "/nonexistent/ca.pem";
  EXPECT_THAT(Client::Create(o), StatusIs(Code::kInvalidArgument));
  o.tls_ca_file.clear();
  o.tls_cert_file = "/etc/hostname";
  EXPECT_THAT(Client::Create(o), StatusIs(Code::kInvalidArgument));  // no key
  o.tls_cert_file.clear();
  o.request_timeout = std::chrono::milliseconds(0);
  EXPECT_THAT(Client::Create(o), StatusIs(Code::kInvalidArgument));
  o.request_timeout = std::chrono::milliseconds(100);
  o.endpoints = {"http://localhost", "https://[::1]:2379"};
  EXPECT_THAT(Client::Create(o), IsOk());
}

TEST(EtcdClientPrefixEndTest, IncrementsTheLastByte) {
  EXPECT_EQ(PrefixEnd("a/"), "a0");
  EXPECT_EQ(PrefixEnd("a\xff"), "b");
  EXPECT_EQ(PrefixEnd(""), std::string(1, '\0'));
  EXPECT_EQ(PrefixEnd("\xff\xff"), std::string(1, '\0'));
}

class EtcdClientTlsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_THAT(etcd_.Start(), IsOk()); }

  static EtcdProcessOptions Tls() {
    EtcdProcessOptions o;
    o.tls = true;
    return o;
  }

  EtcdProcess etcd_{Tls()};
};

TEST_F(EtcdClientTlsTest, MutualTlsConnects) {
  auto c = MustCreate(etcd_.client_options());
  ASSERT_NE(c, nullptr);
  ASSERT_THAT(c->Put("tls", "yes"), IsOk());
  auto r = c->Range("tls", {});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->kvs.at(0).value, "yes");
  auto s = c->StatusAll();
  ASSERT_THAT(s, SizeIs(1));
  EXPECT_TRUE(s[0].reachable);
}

TEST_F(EtcdClientTlsTest, RefusedWithoutClientCert) {
  ClientOptions o = etcd_.client_options();
  o.tls_cert_file.clear();
  o.tls_key_file.clear();
  o.dial_timeout = std::chrono::milliseconds(300);
  auto c = MustCreate(o);
  ASSERT_NE(c, nullptr);
  EXPECT_THAT(c->Range("tls", {}), StatusIs(Code::kUnavailable));
  EXPECT_THAT(c->Put("tls", "no"), StatusIs(Code::kUnavailable));
}

TEST_F(EtcdClientTlsTest, ServerNameIsChecked) {
  ClientOptions o = etcd_.client_options();
  o.dial_timeout = std::chrono::milliseconds(300);
  o.tls_server_name = "localhost";  // in the certificate's SANs
  auto ok = MustCreate(o);
  ASSERT_NE(ok, nullptr);
  EXPECT_THAT(ok->Range("k", {}), IsOk());

  o.tls_server_name = "not-etcd.example";
  auto wrong = MustCreate(o);
  ASSERT_NE(wrong, nullptr);
  EXPECT_THAT(wrong->Range("k", {}), StatusIs(Code::kUnavailable));

  o.tls_server_name.clear();
  o.tls_ca_file.clear();  // system roots do not know the test CA
  auto untrusted = MustCreate(o);
  ASSERT_NE(untrusted, nullptr);
  EXPECT_THAT(untrusted->Range("k", {}), StatusIs(Code::kUnavailable));
}

TEST_F(EtcdClientTlsTest, PlainHttpToTlsPortFails) {
  ClientOptions o = etcd_.client_options();
  o.endpoints = {"http://127.0.0.1:" + std::to_string(etcd_.client_port())};
  o.dial_timeout = std::chrono::milliseconds(300);
  auto c = MustCreate(o);
  ASSERT_NE(c, nullptr);
  EXPECT_THAT(c->Range("k", {}), StatusIs(Code::kUnavailable));
}

}  // namespace
}  // namespace arca::storage::etcd
