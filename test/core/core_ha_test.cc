// Core's active/standby states, driven by a fake coordinator over one
// shared in-memory physical backend (the real election is tested in
// test/ha with etcd).
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "core/core.h"
#include "core/snapshot.h"
#include "engines/engines.h"
#include "storage/inmem.h"

namespace arca::core {
namespace {

using logical::Json;
using logical::Operation;
using logical::Request;

class FakeHa final : public HaCoordinator {
 public:
  explicit FakeHa(storage::Backend& physical) : physical_(physical) {}
  std::atomic<bool> lease{true};
  std::atomic<int> step_downs{0};
  std::string leader = "https://other:8200";

  HaState State() override {
    HaState s;
    s.leader_api_addr = leader;
    return s;
  }
  bool HoldsLease() override { return lease.load(); }
  Status StepDown() override {
    step_downs.fetch_add(1);
    return OkStatus();
  }
  StatusOr<std::vector<HaNode>> Nodes() override {
    HaNode n;
    n.hostname = "node1";
    n.api_address = "https://a:8200";
    n.active_node = true;
    return std::vector<HaNode>{n};
  }
  StatusOr<nlohmann::json> RaftConfiguration() override {
    return nlohmann::json{{"index", 7}, {"servers", nlohmann::json::array()}};
  }
  StatusOr<nlohmann::json> AutopilotState() override {
    return nlohmann::json{{"healthy", true}};
  }
  StatusOr<std::vector<std::pair<std::string, std::string>>> ReadAll() override {
    std::vector<std::pair<std::string, std::string>> out;
    ARCA_ASSIGN_OR_RETURN(auto keys, storage::ListRecursive(physical_, ""));
    for (const auto& k : keys) {
      ARCA_ASSIGN_OR_RETURN(auto v, physical_.Get(k));
      if (v) out.emplace_back(k, *v);
    }
    return out;
  }
  Status ReplaceAll(const std::vector<std::pair<std::string, std::string>>& entries) override {
    ARCA_RETURN_IF_ERROR(storage::DeletePrefix(physical_, ""));
    for (const auto& [k, v] : entries) ARCA_RETURN_IF_ERROR(physical_.Put(k, v));
    return OkStatus();
  }

 private:
  storage::Backend& physical_;
};

CoreConfig HaConfig(storage::Backend& physical) {
  CoreConfig c;
  c.physical = &physical;
  c.clock = &RealClock();
  c.ha_enabled = true;
  c.api_addr = "https://self:8200";
  c.engines = {{"kv", engines::KvFactory()}, {"cubbyhole", engines::CubbyholeFactory()}};
  return c;
}

StatusOr<logical::Response> Call(Core& core, Operation op, std::string path, Json data,
                                 const std::string& token, std::string raw = "") {
  Request r;
  r.operation = op;
  r.path = std::move(path);
  r.data = std::move(data);
  r.client_token = token;
  r.raw_body = std::move(raw);
  return core.HandleRequest(r);
}

class CoreHaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_.AttachHa(&ha_a_);
    b_.AttachHa(&ha_b_);
    InitParams p;
    p.secret_shares = 1;
    p.secret_threshold = 1;
    auto init = a_.Init(p);
    ASSERT_TRUE(init.ok()) << init.status().ToString();
    key_ = init->keys_hex.front();
    root_ = init->root_token;
  }
  void TearDown() override {
    a_.Shutdown();
    b_.Shutdown();
  }

  storage::InMemBackend physical_;
  FakeHa ha_a_{physical_}, ha_b_{physical_};
  Core a_{HaConfig(physical_)};
  Core b_{HaConfig(physical_)};
  std::string key_, root_;
};

TEST_F(CoreHaTest, UnsealedNodeIsAStandbyUntilActive) {
  ASSERT_TRUE(a_.SubmitUnsealKey(key_).ok());
  EXPECT_FALSE(a_.Sealed());
  EXPECT_TRUE(a_.Standby());
  EXPECT_FALSE(a_.Active());
  EXPECT_TRUE(a_.Health().standby);
  auto r = Call(a_, Operation::kRead, "sys/mounts", nullptr, root_);
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  auto leader = a_.Leader();
  ASSERT_TRUE(leader.ok());
  EXPECT_TRUE(leader->ha_enabled);
  EXPECT_FALSE(leader->is_self);
  EXPECT_EQ(leader->leader_address, "https://other:8200");
  EXPECT_TRUE(a_.ForwardingKey().has_value());

  ASSERT_TRUE(a_.BecomeActive().ok());
  EXPECT_TRUE(a_.Active());
  EXPECT_FALSE(a_.Health().standby);
  EXPECT_TRUE(Call(a_, Operation::kRead, "sys/mounts", nullptr, root_).ok());
  leader = a_.Leader();
  EXPECT_TRUE(leader->is_self);
  EXPECT_EQ(leader->leader_address, "https://self:8200");
}

TEST_F(CoreHaTest, LapsedLeaseStopsServingAtOnce) {
  ASSERT_TRUE(a_.SubmitUnsealKey(key_).ok());
  ASSERT_TRUE(a_.BecomeActive().ok());
  ha_a_.lease = false;
  EXPECT_TRUE(a_.Standby());
  EXPECT_EQ(Call(a_, Operation::kRead, "sys/mounts", nullptr, root_).status().code(),
            Code::kUnavailable);
  a_.BecomeStandby();
  ha_a_.lease = true;
  EXPECT_TRUE(a_.Standby());  // unloaded: the lease alone does not make it active
}

TEST_F(CoreHaTest, NewActiveSeesTheOldActivesWrites) {
  ASSERT_TRUE(a_.SubmitUnsealKey(key_).ok());
  ASSERT_TRUE(b_.SubmitUnsealKey(key_).ok());
  ASSERT_TRUE(a_.BecomeActive().ok());
  ASSERT_TRUE(Call(a_, Operation::kUpdate, "sys/mounts/kv", Json{{"type", "kv"}}, root_).ok());
  ASSERT_TRUE(Call(a_, Operation::kUpdate, "kv/x", Json{{"v", "1"}}, root_).ok());
  ASSERT_TRUE(Call(a_, Operation::kUpdate, "sys/policies/acl/p",
                   Json{{"policy", "path \"kv/*\" { capabilities = [\"read\"] }"}}, root_)
                  .ok());
  // b was a standby while a wrote; it loads everything when it takes over.
  a_.BecomeStandby();
  ASSERT_TRUE(b_.BecomeActive().ok());
  auto r = Call(b_, Operation::kRead, "kv/x", nullptr, root_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->data["v"], "1");
  ASSERT_TRUE(Call(b_, Operation::kUpdate, "kv/x", Json{{"v", "2"}}, root_).ok());
  // and back: a must not answer from what it cached before.
  b_.BecomeStandby();
  ASSERT_TRUE(a_.BecomeActive().ok());
  r = Call(a_, Operation::kRead, "kv/x", nullptr, root_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->data["v"], "2");
}

TEST_F(CoreHaTest, KeyRotationByAnotherNodeIsPickedUp) {
  ASSERT_TRUE(a_.SubmitUnsealKey(key_).ok());
  ASSERT_TRUE(b_.SubmitUnsealKey(key_).ok());
  ASSERT_TRUE(a_.BecomeActive().ok());
  ASSERT_TRUE(Call(a_, Operation::kUpdate, "sys/rotate", Json::object(), root_).ok());
  ASSERT_TRUE(Call(a_, Operation::kUpdate, "sys/mounts/kv", Json{{"type", "kv"}}, root_).ok());
  ASSERT_TRUE(Call(a_, Operation::kUpdate, "kv/y", Json{{"v", "new-term"}}, root_).ok());
  a_.BecomeStandby();
  ASSERT_TRUE(b_.BecomeActive().ok());
  auto r = Call(b_, Operation::kRead, "kv/y", nullptr, root_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->data["v"], "new-term");
}

TEST_F(CoreHaTest, ClusterEndpoints) {
  ASSERT_TRUE(a_.SubmitUnsealKey(key_).ok());
  ASSERT_TRUE(a_.BecomeActive().ok());
  auto st = Call(a_, Operation::kRead, "sys/ha-status", nullptr, root_);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->data["nodes"][0]["hostname"], "node1");
  EXPECT_TRUE(st->data["nodes"][0]["last_echo"].is_null());
  auto cfg = Call(a_, Operation::kRead, "sys/storage/raft/configuration", nullptr, root_);
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ(cfg->data["config"]["index"], 7);
  ASSERT_TRUE(Call(a_, Operation::kUpdate, "sys/step-down", Json::object(), root_).ok());
  EXPECT_EQ(ha_a_.step_downs.load(), 1);
}

TEST_F(CoreHaTest, SnapshotSaveAndRestore) {
  ASSERT_TRUE(a_.SubmitUnsealKey(key_).ok());
  ASSERT_TRUE(a_.BecomeActive().ok());
  ASSERT_TRUE(Call(a_, Operation::kUpdate, "sys/mounts/kv", Json{{"type", "kv"}}, root_).ok());
  ASSERT_TRUE(Call(a_, Operation::kUpdate, "kv/keep", Json{{"v", "before"}}, root_).ok());
  auto snap = Call(a_, Operation::kRead, "sys/storage/raft/snapshot", nullptr, root_);
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  ASSERT_TRUE(snap->raw_body.has_value());
  std::string file = *snap->raw_body;
  EXPECT_EQ(file.substr(0, 8), "ARCASNAP");

  ASSERT_TRUE(Call(a_, Operation::kUpdate, "kv/keep", Json{{"v", "after"}}, root_).ok());
  ASSERT_TRUE(Call(a_, Operation::kUpdate, "kv/later", Json{{"v", "x"}}, root_).ok());

  auto bad = Call(a_, Operation::kUpdate, "sys/storage/raft/snapshot", nullptr, root_, "junk");
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  auto ok = Call(a_, Operation::kUpdate, "sys/storage/raft/snapshot", nullptr, root_, file);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ha_a_.step_downs.load(), 1);
  // The coordinator would now step down and re-elect; do it by hand.
  a_.BecomeStandby();
  ASSERT_TRUE(a_.BecomeActive().ok());
  auto r = Call(a_, Operation::kRead, "kv/keep", nullptr, root_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->data["v"], "before");
  EXPECT_EQ(Call(a_, Operation::kRead, "kv/later", nullptr, root_).status().code(),
            Code::kNotFound);
}

TEST_F(CoreHaTest, SnapshotOfAnotherClusterNeedsForce) {
  // A second, unrelated cluster's snapshot.
  storage::InMemBackend other_physical;
  FakeHa other_ha(other_physical);
  Core other(HaConfig(other_physical));
  other.AttachHa(&other_ha);
  InitParams p;
  p.secret_shares = 1;
  p.secret_threshold = 1;
  auto init = other.Init(p);
  ASSERT_TRUE(init.ok());
  ASSERT_TRUE(other.SubmitUnsealKey(init->keys_hex.front()).ok());
  ASSERT_TRUE(other.BecomeActive().ok());
  auto snap = Call(other, Operation::kRead, "sys/storage/raft/snapshot", nullptr,
                   init->root_token);
  ASSERT_TRUE(snap.ok());
  other.Shutdown();

  ASSERT_TRUE(a_.SubmitUnsealKey(key_).ok());
  ASSERT_TRUE(a_.BecomeActive().ok());
  auto refused =
      Call(a_, Operation::kUpdate, "sys/storage/raft/snapshot", nullptr, root_, *snap->raw_body);
  ASSERT_EQ(refused.status().code(), Code::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("snapshot-force"), std::string::npos);
  auto forced = Call(a_, Operation::kUpdate, "sys/storage/raft/snapshot-force", nullptr, root_,
                     *snap->raw_body);
  ASSERT_TRUE(forced.ok()) << forced.status().ToString();
  // Our key no longer opens the keyring: becoming active again seals.
  a_.BecomeStandby();
  EXPECT_FALSE(a_.BecomeActive().ok());
  EXPECT_TRUE(a_.Sealed());
  EXPECT_TRUE(a_.SubmitUnsealKey(init->keys_hex.front()).ok());
  EXPECT_FALSE(a_.Sealed());
}

TEST(CoreNoHaTest, ClusterEndpointsWithoutHa) {
  storage::InMemBackend physical;
  CoreConfig c;
  c.physical = &physical;
  c.clock = &RealClock();
  c.engines = {{"kv", engines::KvFactory()}, {"cubbyhole", engines::CubbyholeFactory()}};
  Core core(c);
  auto dev = core.SetupDev("");
  ASSERT_TRUE(dev.ok());
  EXPECT_FALSE(core.Standby());
  EXPECT_FALSE(core.Health().standby);
  EXPECT_TRUE(Call(core, Operation::kUpdate, "sys/step-down", Json::object(), dev->root_token).ok());
  EXPECT_EQ(Call(core, Operation::kRead, "sys/storage/raft/configuration", nullptr,
                 dev->root_token)
                .status()
                .message(),
            "raft storage is not in use");
  EXPECT_EQ(Call(core, Operation::kRead, "sys/ha-status", nullptr, dev->root_token)
                .status()
                .code(),
            Code::kInvalidArgument);
  core.Shutdown();
}

}  // namespace
}  // namespace arca::core
