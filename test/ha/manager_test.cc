// ha::Manager on a real etcd: three Cores (etcd storage, ha_enabled) share
// one single-member etcd and elect one active node between them.
//
// These tests run on real time: leases live in etcd, and etcd's clock is
// the real one. Every wait is a bounded poll; the bounds are generous and
// the only timing the tests assert.
#include "ha/manager.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "base/time.h"
#include "engines/engines.h"
#include "ha/eventually.h"
#include "support/etcd_process.h"

namespace arca::ha {
namespace {

namespace etcd = storage::etcd;
using logical::Json;
using logical::Operation;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr milliseconds kElectionBound{3000};
constexpr milliseconds kStepDownBound{1000};
// Lease TTL (2 s, etcd may round it up) + poll + activation, with slack.
constexpr milliseconds kTakeOverBound{10000};

using testing::Eventually;

struct Node {
  std::string id;
  std::string api_addr;
  std::unique_ptr<etcd::Client> client;
  std::unique_ptr<etcd::EtcdBackend> backend;
  std::unique_ptr<core::Core> core;
  std::unique_ptr<Manager> manager;

  bool Active() const { return manager->State().active && core->Active(); }

  ~Node() {
    if (manager) manager->Stop();
    if (core) {
      core->AttachHa(nullptr);
      core->Shutdown();
    }
    manager.reset();
    core.reset();
  }
};

class ManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status st = etcd_.Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  Node& AddNode() {
    auto n = std::make_unique<Node>();
    int i = static_cast<int>(nodes_.size()) + 1;
    n->id = "node" + std::to_string(i);
    n->api_addr = "https://127.0.0.1:" + std::to_string(8200 + 10 * i);
    auto client = etcd::Client::Create(etcd_.client_options());
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    n->client = std::move(*client);
    n->backend = std::make_unique<etcd::EtcdBackend>(*n->client, "/arca-test/");

    core::CoreConfig cfg;
    cfg.physical = n->backend.get();
    cfg.clock = &RealClock();
    cfg.storage_type = "etcd";
    cfg.api_addr = n->api_addr;
    cfg.cluster_addr = "https://127.0.0.1:" + std::to_string(8201 + 10 * i);
    cfg.ha_enabled = true;
    cfg.engines["kv"] = engines::KvFactory();
    cfg.engines["cubbyhole"] = engines::CubbyholeFactory();
    n->core = std::make_unique<core::Core>(std::move(cfg));

    ManagerOptions o;
    o.node_id = n->id;
    o.api_addr = n->api_addr;
    o.cluster_addr = "https://127.0.0.1:" + std::to_string(8201 + 10 * i);
    o.lock_ttl = milliseconds(2000);
    o.version = "0.1.0-test";
    n->manager = std::make_unique<Manager>(*n->core, *n->client, *n->backend, o, RealClock());
    n->core->AttachHa(n->manager.get());
    n->manager->Start();
    nodes_.push_back(std::move(n));
    return *nodes_.back();
  }

  // Inits through the first node, unseals every node.
  void InitAndUnseal() {
    ASSERT_FALSE(nodes_.empty());
    core::InitParams p;
    p.secret_shares = 1;
    p.secret_threshold = 1;
    auto init = nodes_.front()->core->Init(p);
    ASSERT_TRUE(init.ok()) << init.status().ToString();
    root_token_ = init->root_token;
    for (auto& n : nodes_) {
      auto st = n->core->SubmitUnsealKey(init->keys_hex.front());
      ASSERT_TRUE(st.ok()) << st.status().ToString();
      ASSERT_FALSE(st->sealed);
    }
  }

  void StartCluster(int n) {
    for (int i = 0; i < n; ++i) AddNode();
    InitAndUnseal();
  }

  int CountActive() const {
    int c = 0;
    for (const auto& n : nodes_) c += n->Active() ? 1 : 0;
    return c;
  }

  // The one active node, waiting up to `bound`; nullptr if none, or more
  // than one (which the callers assert against).
  Node* WaitForActive(milliseconds bound, const Node* except = nullptr) {
    Node* found = nullptr;
    Eventually(
        [&] {
          found = nullptr;
          for (auto& n : nodes_)
            if (n.get() != except && n->Active()) found = n.get();
          return found != nullptr;
        },
        bound);
    return found;
  }

  StatusOr<logical::Response> Call(Node& n, Operation op, std::string path, Json data = nullptr) {
    logical::Request r;
    r.operation = op;
    r.path = std::move(path);
    r.data = std::move(data);
    r.client_token = root_token_;
    r.remote_address = "127.0.0.1";
    return n.core->HandleRequest(r);
  }

  arca::testing::EtcdProcess etcd_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::string root_token_;
};

TEST_F(ManagerTest, ExactlyOneNodeBecomesActive) {
  StartCluster(3);
  Node* active = WaitForActive(kElectionBound);
  ASSERT_NE(active, nullptr);
  EXPECT_EQ(CountActive(), 1);
  EXPECT_TRUE(active->manager->HoldsLease());
  EXPECT_NE(active->manager->State().active_since, SystemTime{});
  // The standbys learn who leads from the lock record.
  for (auto& n : nodes_) {
    if (n.get() == active) continue;
    EXPECT_FALSE(n->manager->HoldsLease());
    EXPECT_TRUE(n->core->Standby());
    EXPECT_TRUE(Eventually([&] { return n->manager->State().leader_api_addr == active->api_addr; },
                           kElectionBound))
        << n->id;
    EXPECT_FALSE(n->manager->State().active);
  }
  // Still exactly one a while later (several keep-alive rounds).
  EXPECT_FALSE(Eventually([&] { return CountActive() != 1; }, milliseconds(1500)));
  EXPECT_TRUE(active->Active());
}

TEST_F(ManagerTest, StepDownMovesTheActiveToAnotherNode) {
  StartCluster(3);
  Node* first = WaitForActive(kElectionBound);
  ASSERT_NE(first, nullptr);
  // State written by the first active survives the hand-over.
  ASSERT_TRUE(Call(*first, Operation::kUpdate, "sys/mounts/secret", Json{{"type", "kv"}}).ok());
  ASSERT_TRUE(Call(*first, Operation::kUpdate, "secret/app", Json{{"v", "1"}}).ok());

  ASSERT_TRUE(first->manager->StepDown().ok());
  EXPECT_FALSE(first->manager->HoldsLease());  // at once, before the thread acts
  Node* second = WaitForActive(kStepDownBound, first);
  ASSERT_NE(second, nullptr);
  EXPECT_NE(second, first);
  EXPECT_FALSE(first->Active());
  EXPECT_EQ(CountActive(), 1);

  auto read = Call(*second, Operation::kRead, "secret/app");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->data["v"], "1");
  EXPECT_TRUE(Eventually([&] { return first->manager->State().leader_api_addr == second->api_addr; },
                         kElectionBound));
}

TEST_F(ManagerTest, StepDownOnAStandbyIsANoOp) {
  StartCluster(2);
  Node* active = WaitForActive(kElectionBound);
  ASSERT_NE(active, nullptr);
  Node* standby = nodes_[0].get() == active ? nodes_[1].get() : nodes_[0].get();
  EXPECT_TRUE(standby->manager->StepDown().ok());
  EXPECT_FALSE(Eventually([&] { return !active->Active(); }, milliseconds(500)));
}

TEST_F(ManagerTest, FrozenActiveStopsServingBeforeAnotherTakesOver) {
  StartCluster(3);
  Node* old = WaitForActive(kElectionBound);
  ASSERT_NE(old, nullptr);
  old->manager->FreezeForTest();  // no more keep-alives, no release

  Node* next = nullptr;
  bool old_held_at_takeover = false;
  bool took_over = Eventually(
      [&] {
        for (auto& n : nodes_) {
          if (n.get() == old || !n->Active()) continue;
          next = n.get();
          old_held_at_takeover = old->manager->HoldsLease();
          return true;
        }
        return false;
      },
      kTakeOverBound);
  ASSERT_TRUE(took_over);
  EXPECT_FALSE(old_held_at_takeover);
  EXPECT_FALSE(old->manager->HoldsLease());
  EXPECT_FALSE(old->core->Active());  // Core stops serving on HoldsLease alone

  // The old node still has its fence installed: etcd refuses its writes.
  Status late = old->backend->Put("late/write", "x");
  EXPECT_EQ(late.code(), Code::kFailedPrecondition) << late.ToString();
  auto got = next->backend->Get("late/write");
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
}

TEST_F(ManagerTest, SealingTheActiveReleasesTheLock) {
  StartCluster(2);
  Node* first = WaitForActive(kElectionBound);
  ASSERT_NE(first, nullptr);
  first->core->Shutdown();  // seals
  Node* second = WaitForActive(kElectionBound, first);
  ASSERT_NE(second, nullptr);
  EXPECT_FALSE(first->manager->HoldsLease());
  EXPECT_FALSE(first->manager->State().active);
}

TEST_F(ManagerTest, NodesListsEveryNodeAndTheActiveOne) {
  StartCluster(3);
  Node* active = WaitForActive(kElectionBound);
  ASSERT_NE(active, nullptr);
  std::vector<core::HaNode> nodes;
  ASSERT_TRUE(Eventually(
      [&] {
        auto got = nodes_.back()->manager->Nodes();
        if (!got.ok()) return false;
        nodes = *got;
        return nodes.size() == 3;
      },
      kElectionBound));
  int actives = 0;
  for (const auto& n : nodes) {
    EXPECT_EQ(n.version, "0.1.0-test");
    if (n.active_node) {
      ++actives;
      EXPECT_EQ(n.hostname, active->id);
      EXPECT_EQ(n.api_address, active->api_addr);
      EXPECT_EQ(n.last_echo, "");
    } else {
      EXPECT_TRUE(ParseRfc3339(n.last_echo).has_value()) << n.last_echo;
      EXPECT_FALSE(n.cluster_address.empty());
    }
  }
  EXPECT_EQ(actives, 1);
  EXPECT_EQ(nodes[0].hostname, "node1");  // sorted by key
}

TEST_F(ManagerTest, StoppedNodeLeavesTheNodeList) {
  StartCluster(2);
  ASSERT_NE(WaitForActive(kElectionBound), nullptr);
  ASSERT_TRUE(Eventually(
      [&] {
        auto got = nodes_[0]->manager->Nodes();
        return got.ok() && got->size() == 2;
      },
      kElectionBound));
  nodes_[1]->manager->Stop();  // revokes its node record's lease
  auto got = nodes_[0]->manager->Nodes();
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ(got->front().hostname, "node1");
}

TEST_F(ManagerTest, RaftConfigurationListsTheEtcdMemberAsLeader) {
  StartCluster(1);
  ASSERT_NE(WaitForActive(kElectionBound), nullptr);
  auto config = nodes_[0]->manager->RaftConfiguration();
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ASSERT_EQ((*config)["servers"].size(), 1u);
  const auto& s = (*config)["servers"][0];
  EXPECT_EQ(s["node_id"], "arca-test");
  EXPECT_EQ(s["address"], etcd_.peer_url().substr(etcd_.peer_url().find("://") + 3));
  EXPECT_EQ(s["leader"], true);
  EXPECT_EQ(s["voter"], true);
  EXPECT_EQ(s["protocol_version"], "3");
  EXPECT_GT((*config)["index"].get<uint64_t>(), 0u);

  auto state = nodes_[0]->manager->AutopilotState();
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_EQ((*state)["healthy"], true);
  EXPECT_EQ((*state)["leader"], "arca-test");
  EXPECT_EQ((*state)["failure_tolerance"], 0);
  EXPECT_EQ((*state)["servers"]["arca-test"]["status"], "leader");
  EXPECT_EQ((*state)["servers"]["arca-test"]["node_status"], "alive");
}

TEST_F(ManagerTest, ReplaceAllOnlyOnTheActive) {
  StartCluster(2);
  Node* active = WaitForActive(kElectionBound);
  ASSERT_NE(active, nullptr);
  Node* standby = nodes_[0].get() == active ? nodes_[1].get() : nodes_[0].get();

  auto all = standby->manager->ReadAll();  // reads are fine anywhere
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_FALSE(all->empty());
  Status refused = standby->manager->ReplaceAll(*all);
  EXPECT_EQ(refused.code(), Code::kFailedPrecondition);

  auto mine = active->manager->ReadAll();
  ASSERT_TRUE(mine.ok());
  Status st = active->manager->ReplaceAll(*mine);
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(active->Active());  // the lock survived the replace
}

TEST_F(ManagerTest, UnsealedLaterJoinsAsStandby) {
  AddNode();
  AddNode();
  core::InitParams p;
  p.secret_shares = 1;
  p.secret_threshold = 1;
  auto init = nodes_[0]->core->Init(p);
  ASSERT_TRUE(init.ok()) << init.status().ToString();
  ASSERT_TRUE(nodes_[0]->core->SubmitUnsealKey(init->keys_hex.front()).ok());
  ASSERT_NE(WaitForActive(kElectionBound), nullptr);
  EXPECT_TRUE(nodes_[0]->Active());  // the sealed node never campaigns
  EXPECT_FALSE(nodes_[1]->manager->HoldsLease());
  ASSERT_TRUE(nodes_[1]->core->SubmitUnsealKey(init->keys_hex.front()).ok());
  EXPECT_TRUE(Eventually(
      [&] { return nodes_[1]->manager->State().leader_api_addr == nodes_[0]->api_addr; },
      kElectionBound));
  EXPECT_EQ(CountActive(), 1);
}

}  // namespace
}  // namespace arca::ha
