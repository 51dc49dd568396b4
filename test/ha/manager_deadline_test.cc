// ha::Manager's lease bookkeeping on a FakeClock, against FakeClient (an
// in-memory etcd whose leases expire on the same fake clock). Time moves
// only when a test advances it, so the local deadline is checked to the
// millisecond. The manager's threads still run, so waiting for them to act
// is a bounded poll.
#include <gtest/gtest.h>

#include <memory>

#include "engines/engines.h"
#include "ha/eventually.h"
#include "ha/fake_client.h"
#include "ha/internal/records.h"
#include "ha/manager.h"
#include "storage/inmem.h"
#include "support/fake_clock.h"

namespace arca::ha {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr milliseconds kBound{3000};
constexpr char kLockKey[] = "/arca/core/lock";

using testing::Eventually;

class ManagerDeadlineTest : public ::testing::Test {
 protected:
  ManagerDeadlineTest() : client_(clock_), fenced_backend_(client_, "/arca/") {
    core::CoreConfig cfg;
    cfg.physical = &physical_;
    cfg.clock = &clock_;
    cfg.ha_enabled = true;
    cfg.api_addr = "https://n1:8200";
    cfg.engines["kv"] = engines::KvFactory();
    cfg.engines["cubbyhole"] = engines::CubbyholeFactory();
    core_ = std::make_unique<core::Core>(std::move(cfg));
  }
  ~ManagerDeadlineTest() override {
    if (manager_) manager_->Stop();
    core_->AttachHa(nullptr);
    core_->Shutdown();
  }

  // Starts the manager, inits and unseals, waits for it to win (at fake
  // time 0: the lease and the local deadline start there).
  void StartAndWin() {
    ManagerOptions o;
    o.node_id = "n1";
    o.api_addr = "https://n1:8200";
    o.lock_ttl = milliseconds(2000);
    o.safety_margin = milliseconds(250);
    o.poll_interval = milliseconds(20);
    o.step_down_backoff = milliseconds(2000);
    manager_ = std::make_unique<Manager>(*core_, client_, fenced_backend_, o, clock_);
    core_->AttachHa(manager_.get());
    manager_->Start();
    core::InitParams p;
    p.secret_shares = 1;
    p.secret_threshold = 1;
    auto init = core_->Init(p);
    ASSERT_TRUE(init.ok()) << init.status().ToString();
    ASSERT_TRUE(core_->SubmitUnsealKey(init->keys_hex.front()).ok());
    ASSERT_TRUE(Eventually([&] { return Active(); }, kBound));
    ASSERT_EQ(clock_.SteadyNow(), SteadyTime{});
  }

  bool Active() { return core_->Active() && manager_->State().active; }
  int64_t LockLease() {
    auto kv = client_.Peek(kLockKey);
    return kv ? kv->lease : 0;
  }
  int64_t LockRevision() {
    auto kv = client_.Peek(kLockKey);
    return kv ? kv->create_revision : 0;
  }

  arca::testing::FakeClock clock_;
  testing::FakeClient client_;
  storage::etcd::EtcdBackend fenced_backend_;
  storage::InMemBackend physical_;
  std::unique_ptr<core::Core> core_;
  std::unique_ptr<Manager> manager_;
};

TEST_F(ManagerDeadlineTest, HoldsLeaseEndsAtTheDeadlineWhenKeepAlivesFail) {
  client_.ScriptKeepAlives({}, /*default_reachable=*/false);
  StartAndWin();
  EXPECT_TRUE(fenced_backend_.fence().has_value());
  int64_t first = LockRevision();
  clock_.Advance(milliseconds(1749));  // lock_ttl - safety_margin - 1 ms
  EXPECT_TRUE(manager_->HoldsLease());
  EXPECT_TRUE(core_->Active());
  clock_.Advance(milliseconds(1));
  EXPECT_FALSE(manager_->HoldsLease());  // at once: no thread involved
  EXPECT_FALSE(core_->Active());
  // The thread steps down, revokes, and (etcd being reachable for the rest)
  // wins a new term.
  EXPECT_TRUE(Eventually([&] { return LockRevision() != first && LockRevision() != 0; }, kBound));
  EXPECT_TRUE(Eventually([&] { return Active(); }, kBound));
}

TEST_F(ManagerDeadlineTest, DeadlineCountsFromWhenTheKeepAliveWasSent) {
  // The first keep-alive takes a second to come back; later ones fail.
  client_.ScriptKeepAlives({{[&] { clock_.Advance(milliseconds(1000)); }, true}},
                           /*default_reachable=*/false);
  StartAndWin();
  int64_t lease = LockLease();
  clock_.Advance(milliseconds(500));  // the first keep-alive is due
  // Sent at 0.5 s, answered at 1.5 s; the second (failing) one shows the
  // keeper has applied the first.
  ASSERT_TRUE(Eventually([&] { return client_.keepalives(lease) >= 2; }, kBound));
  ASSERT_EQ(clock_.SteadyNow(), SteadyTime(milliseconds(1500)));
  // Deadline = 0.5 s + 2 s - 0.25 s, not the answer's 1.5 s + 1.75 s.
  clock_.Advance(milliseconds(749));
  EXPECT_TRUE(manager_->HoldsLease());
  clock_.Advance(milliseconds(1));
  EXPECT_FALSE(manager_->HoldsLease());
}

TEST_F(ManagerDeadlineTest, SuccessfulKeepAlivesKeepTheLease) {
  StartAndWin();
  int64_t lease = LockLease();
  for (int i = 1; i <= 8; ++i) {  // 4 s: twice the TTL
    clock_.Advance(milliseconds(500));
    ASSERT_TRUE(Eventually([&] { return client_.keepalives(lease) >= i; }, kBound)) << i;
  }
  // The last keep-alive's result may still be on its way; the one before
  // already moved the deadline past now.
  EXPECT_TRUE(manager_->HoldsLease());
  EXPECT_TRUE(Active());
}

TEST_F(ManagerDeadlineTest, LeaseGoneStepsDownAndCampaignsAgain) {
  StartAndWin();
  int64_t first = LockRevision();
  client_.DropAllLeases();  // as etcd expiring the lease: the lock vanishes
  EXPECT_TRUE(Eventually([&] { return LockRevision() != first && LockRevision() != 0; }, kBound));
  EXPECT_TRUE(Eventually([&] { return Active(); }, kBound));
  EXPECT_EQ(fenced_backend_.fence()->create_revision, LockRevision());
}

TEST_F(ManagerDeadlineTest, AnotherHolderOfTheLockStepsUsDown) {
  StartAndWin();
  client_.ForceDelete(kLockKey);
  client_.ForcePut(kLockKey, internal::EncodeLockRecord(
                                 {"other", "https://other:8200", "https://other:8201", ""}));
  ASSERT_TRUE(Eventually([&] { return !core_->Active() && !manager_->State().active; }, kBound));
  EXPECT_FALSE(manager_->HoldsLease());
  // The fence goes right after core stops serving (Release), not with it.
  EXPECT_TRUE(Eventually([&] { return !fenced_backend_.fence().has_value(); }, kBound));
  EXPECT_TRUE(Eventually([&] { return manager_->State().leader_api_addr == "https://other:8200"; },
                         kBound));
  EXPECT_EQ(manager_->State().leader_cluster_addr, "https://other:8201");
  EXPECT_TRUE(core_->Standby());
}

TEST_F(ManagerDeadlineTest, StepDownStaysOutForTheBackoff) {
  StartAndWin();
  ASSERT_TRUE(manager_->StepDown().ok());
  EXPECT_FALSE(manager_->HoldsLease());
  EXPECT_FALSE(core_->Active());
  ASSERT_TRUE(Eventually([&] { return LockRevision() == 0; }, kBound));  // revoked
  // Fake time stands still: the backoff never ends by itself.
  EXPECT_FALSE(Eventually([&] { return LockRevision() != 0; }, milliseconds(300)));
  clock_.Advance(milliseconds(2000));
  EXPECT_TRUE(Eventually([&] { return Active(); }, kBound));
}

TEST_F(ManagerDeadlineTest, StaleFencedWriteDoesNotDeposeTheHolder) {
  StartAndWin();
  auto fence = fenced_backend_.fence();
  ASSERT_TRUE(fence.has_value());
  // A write carrying an earlier term's fence fails and wakes the manager...
  fenced_backend_.SetFence(storage::etcd::Fence{fence->key, fence->create_revision - 1});
  EXPECT_EQ(fenced_backend_.Put("x", "y").code(), Code::kFailedPrecondition);
  fenced_backend_.SetFence(fence);
  // ...which finds the lock still its own.
  EXPECT_FALSE(Eventually([&] { return !Active(); }, milliseconds(300)));
  EXPECT_EQ(fenced_backend_.fence()->create_revision, fence->create_revision);
}

TEST_F(ManagerDeadlineTest, NodeRecordIsRefreshedEverySecond) {
  StartAndWin();
  ASSERT_TRUE(Eventually([&] { return client_.Peek("/arca/core/nodes/n1").has_value(); }, kBound));
  auto first = internal::DecodeNodeRecord(client_.Peek("/arca/core/nodes/n1")->value);
  ASSERT_TRUE(first.has_value());
  clock_.Advance(seconds(1));
  ASSERT_TRUE(Eventually(
      [&] {
        auto kv = client_.Peek("/arca/core/nodes/n1");
        auto r = kv ? internal::DecodeNodeRecord(kv->value) : std::nullopt;
        return r && r->last_echo != first->last_echo;
      },
      kBound));
  auto nodes = manager_->Nodes();
  ASSERT_TRUE(nodes.ok());
  ASSERT_EQ(nodes->size(), 1u);
  EXPECT_TRUE(nodes->front().active_node);
  EXPECT_EQ(nodes->front().last_echo, "");
}

}  // namespace
}  // namespace arca::ha
