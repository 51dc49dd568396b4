// arca: ha::Manager, the election loop and the keeper of the lock's lease.
//
// The election thread runs Step() every poll_interval (sooner when a flag
// is raised or the local deadline comes): standby, it polls the lock and
// campaigns when it is gone; active, it checks every reason to give up.
// The keeper thread only renews the lock lease and moves the local
// deadline; it never calls into Core.
#include "ha/manager.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>

#include "base/time.h"
#include "ha/internal/records.h"

namespace arca::ha {

namespace etcd = storage::etcd;
using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

namespace {

constexpr auto kNodeRefresh = std::chrono::seconds(1);
constexpr auto kActivateBackoff = std::chrono::seconds(1);
constexpr int64_t kMaxNodes = 10'000;

// What the backend's OnFenced hook may touch: shared, so a hook call that
// races with the manager's destruction still finds it alive.
struct Sync {
  std::mutex mu;
  std::condition_variable cv;
  bool fenced = false;  // guarded by mu
};

int64_t ToNs(SteadyTime t) { return duration_cast<nanoseconds>(t.time_since_epoch()).count(); }

std::string Hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "arca";
  return buf;
}

ManagerOptions Sanitize(ManagerOptions o) {
  if (o.node_id.empty()) o.node_id = Hostname();
  o.lock_ttl = std::max(o.lock_ttl, milliseconds(1000));
  if (o.safety_margin.count() < 0 || o.safety_margin >= o.lock_ttl / 2)
    o.safety_margin = o.lock_ttl / 8;
  o.poll_interval = std::clamp(o.poll_interval, milliseconds(10), milliseconds(5000));
  o.step_down_backoff = std::max(o.step_down_backoff, milliseconds(0));
  return o;
}

}  // namespace

struct Manager::Impl {
  Impl(core::Core& c, etcd::Client& cl, etcd::EtcdBackend& b, ManagerOptions o, Clock& clk)
      : core(c),
        client(cl),
        backend(b),
        opt(Sanitize(std::move(o))),
        clock(clk),
        lock_key(b.prefix() + "core/lock"),
        nodes_prefix(b.prefix() + "core/nodes/"),
        node_key(nodes_prefix + opt.node_id),
        lock_ttl_s((opt.lock_ttl.count() + 999) / 1000),
        node_ttl_s(std::max<int64_t>(5, 3 * lock_ttl_s)),
        keepalive_interval(opt.lock_ttl / 4) {}

  void Loop();
  void KeeperLoop();
  void Step();
  void CheckHold();
  void Poll(bool may_campaign);
  void Campaign();
  void Won(int64_t lease, int64_t revision, SteadyTime sent, const internal::LockRecord& me);
  void Release(const char* reason, bool revoke, milliseconds backoff);
  void RefreshNode();
  void RevokeQuietly(int64_t lease);
  void SetLeader(const std::optional<internal::LockRecord>& rec);
  bool HoldsLease() const {
    return holding.load() && ToNs(clock.SteadyNow()) < deadline_ns.load();
  }
  void JoinThreads();

  core::Core& core;
  etcd::Client& client;
  etcd::EtcdBackend& backend;
  const ManagerOptions opt;
  Clock& clock;
  const std::string lock_key;
  const std::string nodes_prefix;
  const std::string node_key;
  const int64_t lock_ttl_s;
  const int64_t node_ttl_s;
  const nanoseconds keepalive_interval;

  std::shared_ptr<Sync> sync = std::make_shared<Sync>();
  // Guarded by sync->mu.
  bool stopping = false;
  bool step_down = false;
  bool lease_lost = false;
  int64_t keeper_lease = 0;  // the lease the keeper renews; 0 = none
  SteadyTime keeper_last_sent{};
  std::optional<internal::LockRecord> leader;
  SystemTime active_since{};

  std::atomic<bool> holding{false};  // we hold the lock (fence installed)
  std::atomic<bool> active{false};   // and Core::BecomeActive succeeded
  std::atomic<int64_t> deadline_ns{0};

  // The election thread's own (Stop's, once the threads are joined).
  int64_t lock_lease = 0;
  int64_t lock_revision = 0;
  SteadyTime backoff_until{};
  SteadyTime next_node_refresh{};
  int64_t node_lease = 0;

  std::mutex lifecycle_mu;  // Start, Stop, FreezeForTest
  bool started = false;
  bool released = false;
  std::thread loop_thread;
  std::thread keeper_thread;

  std::mutex history_mu;
  internal::ClusterHistory history;  // guarded by history_mu
};

void Manager::Impl::Loop() {
  std::unique_lock l(sync->mu);
  while (!stopping) {
    l.unlock();
    Step();
    l.lock();
    if (stopping) break;
    nanoseconds wait = opt.poll_interval;
    if (holding.load())
      wait = std::clamp(nanoseconds(deadline_ns.load() - ToNs(clock.SteadyNow())), nanoseconds(0),
                        wait);
    sync->cv.wait_for(l, wait, [&] {
      return stopping || (holding.load() && (step_down || lease_lost || sync->fenced));
    });
  }
}

void Manager::Impl::KeeperLoop() {
  std::unique_lock l(sync->mu);
  while (!stopping) {
    if (keeper_lease == 0) {
      sync->cv.wait(l, [&] { return stopping || keeper_lease != 0; });
      continue;
    }
    SteadyTime due = keeper_last_sent + keepalive_interval;
    SteadyTime now = clock.SteadyNow();
    if (now < due) {
      // Capped so a clock that jumps (FakeClock in tests) is noticed soon.
      sync->cv.wait_for(l, std::min<nanoseconds>(due - now, opt.poll_interval));
      continue;
    }
    int64_t lease = keeper_lease;
    l.unlock();
    SteadyTime sent = clock.SteadyNow();
    StatusOr<int64_t> ttl = client.KeepAliveOnce(lease);
    l.lock();
    if (lease != keeper_lease) continue;  // released (or re-won) meanwhile
    keeper_last_sent = sent;
    if (ttl.ok() && *ttl > 0) {
      if (!step_down)
        deadline_ns.store(std::max(deadline_ns.load(), ToNs(sent + opt.lock_ttl - opt.safety_margin)));
    } else if (ttl.ok() || IsNotFound(ttl.status())) {
      deadline_ns.store(0);  // known gone: stop serving before the loop reacts
      lease_lost = true;
      sync->cv.notify_all();
    } else {
      spdlog::warn("ha: lock keep-alive failed: {}", ttl.status().ToString());
    }
  }
}

void Manager::Impl::Step() {
  if (core.Sealed()) {
    if (holding.load()) Release("sealed", true, milliseconds(0));
    return;
  }
  if (clock.SteadyNow() >= next_node_refresh) {
    RefreshNode();
    next_node_refresh = clock.SteadyNow() + kNodeRefresh;
  }
  if (holding.load()) CheckHold();
  else Poll(/*may_campaign=*/clock.SteadyNow() >= backoff_until);
}

void Manager::Impl::CheckHold() {
  bool requested, lost, fenced;
  {
    std::lock_guard g(sync->mu);
    requested = step_down;
    lost = lease_lost;
    fenced = sync->fenced;
    sync->fenced = false;
  }
  if (requested) return Release("step-down requested", true, opt.step_down_backoff);
  if (lost) return Release("the lock's lease is gone", false, milliseconds(0));
  if (!HoldsLease()) return Release("no keep-alive succeeded in time", true, milliseconds(0));
  StatusOr<etcd::RangeResult> lock = client.Range(lock_key, {});
  if (!lock.ok()) {
    if (fenced) Release("a write was fenced", true, milliseconds(0));
    return;
  }
  if (lock->kvs.empty() || lock->kvs.front().create_revision != lock_revision)
    return Release("the lock is no longer ours", true, milliseconds(0));
  // A fenced write while the lock is still ours came from an earlier term.
}

void Manager::Impl::Poll(bool may_campaign) {
  StatusOr<etcd::RangeResult> lock = client.Range(lock_key, {});
  if (!lock.ok()) return;  // keep the last known leader
  if (!lock->kvs.empty()) return SetLeader(internal::DecodeLockRecord(lock->kvs.front().value));
  SetLeader(std::nullopt);
  if (may_campaign) Campaign();
}

void Manager::Impl::Campaign() {
  SteadyTime sent = clock.SteadyNow();
  StatusOr<etcd::LeaseGrant> grant = client.GrantLease(lock_ttl_s);
  if (!grant.ok()) {
    spdlog::warn("ha: cannot grant the lock lease: {}", grant.status().ToString());
    return;
  }
  int64_t lease = grant->id;
  internal::LockRecord me{opt.node_id, opt.api_addr, opt.cluster_addr,
                          FormatRfc3339Nano(clock.SystemNow())};
  StatusOr<etcd::TxnResult> txn =
      client.Txn({etcd::Compare::CreateRevisionIs(lock_key, 0)},
                 {etcd::TxnOp::Put(lock_key, internal::EncodeLockRecord(me), lease)},
                 {etcd::TxnOp::Get(lock_key)});
  int64_t revision = 0;
  if (txn.ok() && txn->succeeded) {
    revision = txn->revision;  // a created key's create_revision
  } else if (txn.ok()) {
    if (!txn->results.empty() && !txn->results.front().range.kvs.empty())
      SetLeader(internal::DecodeLockRecord(txn->results.front().range.kvs.front().value));
    RevokeQuietly(lease);
    return;
  } else {
    // The put's fate is unknown: it won if the lock now carries our lease.
    StatusOr<etcd::RangeResult> lock = client.Range(lock_key, {});
    if (!lock.ok() || lock->kvs.empty() || lock->kvs.front().lease != lease) {
      RevokeQuietly(lease);
      return;
    }
    revision = lock->kvs.front().create_revision;
  }
  Won(lease, revision, sent, me);
}

void Manager::Impl::Won(int64_t lease, int64_t revision, SteadyTime sent,
                        const internal::LockRecord& me) {
  lock_lease = lease;
  lock_revision = revision;
  {
    std::lock_guard g(sync->mu);
    keeper_lease = lease;
    keeper_last_sent = sent;
    step_down = false;
    lease_lost = false;
    sync->fenced = false;
    deadline_ns.store(ToNs(sent + opt.lock_ttl - opt.safety_margin));
    holding.store(true);
  }
  sync->cv.notify_all();
  backend.SetFence(etcd::Fence{lock_key, revision});
  Status st = core.BecomeActive();
  if (!st.ok()) {
    spdlog::warn("ha: won the lock but cannot become active: {}", st.ToString());
    return Release("activation failed", true, kActivateBackoff);
  }
  {
    std::lock_guard g(sync->mu);
    leader = me;
    active_since = clock.SystemNow();
  }
  active.store(true);
  spdlog::info("ha: node {} is the active node", opt.node_id);
  if (opt.on_role_change) opt.on_role_change(true);
}

void Manager::Impl::Release(const char* reason, bool revoke, milliseconds backoff) {
  // Stop serving before anything else.
  {
    std::lock_guard g(sync->mu);
    holding.store(false);
    deadline_ns.store(0);
    keeper_lease = 0;
    step_down = false;
    lease_lost = false;
    sync->fenced = false;
    leader.reset();
    active_since = {};
  }
  sync->cv.notify_all();
  bool was_active = active.exchange(false);
  core.BecomeStandby();
  backend.SetFence(std::nullopt);
  int64_t lease = std::exchange(lock_lease, 0);
  lock_revision = 0;
  if (revoke && lease != 0) RevokeQuietly(lease);
  backoff_until = clock.SteadyNow() + backoff;
  if (was_active) spdlog::info("ha: node {} is no longer active: {}", opt.node_id, reason);
  if (was_active && opt.on_role_change) opt.on_role_change(false);
}

void Manager::Impl::RefreshNode() {
  if (node_lease != 0) {
    StatusOr<int64_t> ttl = client.KeepAliveOnce(node_lease);
    if (!ttl.ok() && !IsNotFound(ttl.status())) return;  // unreachable: next second
    if (!ttl.ok() || *ttl <= 0) node_lease = 0;
  }
  if (node_lease == 0) {
    StatusOr<etcd::LeaseGrant> grant = client.GrantLease(node_ttl_s);
    if (!grant.ok()) return;
    node_lease = grant->id;
  }
  internal::NodeRecord r{opt.node_id, opt.api_addr, opt.cluster_addr, opt.version,
                         FormatRfc3339Nano(clock.SystemNow())};
  Status st = client.Put(node_key, internal::EncodeNodeRecord(r), node_lease);
  if (!st.ok()) spdlog::debug("ha: cannot refresh the node record: {}", st.ToString());
}

void Manager::Impl::RevokeQuietly(int64_t lease) {
  Status st = client.RevokeLease(lease);
  if (!st.ok() && !IsNotFound(st)) spdlog::debug("ha: revoking a lease failed: {}", st.ToString());
}

void Manager::Impl::SetLeader(const std::optional<internal::LockRecord>& rec) {
  std::lock_guard g(sync->mu);
  // A record naming this node while it does not hold the lock is a stale
  // one from an earlier run: pointing requests at ourselves would loop.
  bool self = rec && (rec->node_id == opt.node_id ||
                      (!opt.api_addr.empty() && rec->api_addr == opt.api_addr));
  if (rec && !self) leader = rec;
  else leader.reset();
}

void Manager::Impl::JoinThreads() {
  {
    std::lock_guard g(sync->mu);
    stopping = true;
  }
  sync->cv.notify_all();
  if (loop_thread.joinable()) loop_thread.join();
  if (keeper_thread.joinable()) keeper_thread.join();
}

Manager::Manager(core::Core& core, etcd::Client& client, etcd::EtcdBackend& backend,
                 ManagerOptions options, Clock& clock)
    : impl_(std::make_unique<Impl>(core, client, backend, std::move(options), clock)) {}

Manager::~Manager() { Stop(); }

void Manager::Start() {
  std::lock_guard g(impl_->lifecycle_mu);
  if (impl_->started) return;
  impl_->started = true;
  std::weak_ptr<Sync> weak = impl_->sync;
  impl_->backend.SetOnFenced([weak] {
    if (auto s = weak.lock()) {
      {
        std::lock_guard g(s->mu);
        s->fenced = true;
      }
      s->cv.notify_all();
    }
  });
  try {
    impl_->keeper_thread = std::thread([this] { impl_->KeeperLoop(); });
    impl_->loop_thread = std::thread([this] { impl_->Loop(); });
  } catch (const std::system_error& e) {
    spdlog::error("ha: cannot start the election threads: {}", e.what());
    impl_->JoinThreads();
  }
}

void Manager::Stop() {
  std::lock_guard g(impl_->lifecycle_mu);
  if (!impl_->started || impl_->released) return;
  impl_->JoinThreads();
  impl_->released = true;
  if (impl_->holding.load() || impl_->lock_lease != 0)
    impl_->Release("shutting down", true, milliseconds(0));
  if (impl_->node_lease != 0) impl_->RevokeQuietly(std::exchange(impl_->node_lease, 0));
  impl_->backend.SetOnFenced(nullptr);
}

void Manager::FreezeForTest() {
  std::lock_guard g(impl_->lifecycle_mu);
  impl_->JoinThreads();
}

core::HaState Manager::State() {
  core::HaState s;
  s.active = impl_->active.load();
  std::lock_guard g(impl_->sync->mu);
  if (impl_->leader) {
    s.leader_api_addr = impl_->leader->api_addr;
    s.leader_cluster_addr = impl_->leader->cluster_addr;
  }
  if (s.active) s.active_since = impl_->active_since;
  return s;
}

bool Manager::HoldsLease() { return impl_->HoldsLease(); }

Status Manager::StepDown() {
  {
    std::lock_guard g(impl_->sync->mu);
    if (!impl_->holding.load()) return OkStatus();
    impl_->step_down = true;
    impl_->deadline_ns.store(0);
  }
  impl_->sync->cv.notify_all();
  return OkStatus();
}

StatusOr<std::vector<core::HaNode>> Manager::Nodes() {
  etcd::RangeOptions all;
  all.range_end = etcd::PrefixEnd(impl_->nodes_prefix);
  all.limit = kMaxNodes;
  ARCA_ASSIGN_OR_RETURN(etcd::RangeResult records, impl_->client.Range(impl_->nodes_prefix, all));
  ARCA_ASSIGN_OR_RETURN(etcd::RangeResult lock, impl_->client.Range(impl_->lock_key, {}));
  std::optional<internal::LockRecord> holder;
  if (!lock.kvs.empty()) holder = internal::DecodeLockRecord(lock.kvs.front().value);

  std::vector<core::HaNode> out;
  bool holder_listed = false;
  for (const auto& kv : records.kvs) {
    auto rec = internal::DecodeNodeRecord(kv.value);
    if (!rec) continue;
    core::HaNode n;
    n.hostname = rec->node_id;
    n.api_address = rec->api_addr;
    n.cluster_address = rec->cluster_addr;
    n.active_node = holder && holder->node_id == rec->node_id;
    n.last_echo = n.active_node ? "" : rec->last_echo;
    n.version = rec->version;
    holder_listed = holder_listed || n.active_node;
    out.push_back(std::move(n));
  }
  if (holder && !holder_listed) {  // won before its first node record landed
    core::HaNode n;
    n.hostname = holder->node_id;
    n.api_address = holder->api_addr;
    n.cluster_address = holder->cluster_addr;
    n.active_node = true;
    if (holder->node_id == impl_->opt.node_id) n.version = impl_->opt.version;
    out.push_back(std::move(n));
  }
  std::sort(out.begin(), out.end(),
            [](const core::HaNode& a, const core::HaNode& b) { return a.hostname < b.hostname; });
  return out;
}

StatusOr<nlohmann::json> Manager::RaftConfiguration() {
  ARCA_ASSIGN_OR_RETURN(std::vector<etcd::Member> members, impl_->client.MemberList());
  return internal::RaftConfigurationJson(members, impl_->client.StatusAll());
}

StatusOr<nlohmann::json> Manager::AutopilotState() {
  ARCA_ASSIGN_OR_RETURN(std::vector<etcd::Member> members, impl_->client.MemberList());
  std::vector<etcd::EndpointStatus> statuses = impl_->client.StatusAll();
  std::lock_guard g(impl_->history_mu);
  return internal::AutopilotStateJson(members, statuses, impl_->clock.SteadyNow(),
                                      impl_->clock.SystemNow(), impl_->history);
}

StatusOr<std::vector<std::pair<std::string, std::string>>> Manager::ReadAll() {
  return impl_->backend.ReadAll();
}

Status Manager::ReplaceAll(const std::vector<std::pair<std::string, std::string>>& entries) {
  if (!impl_->HoldsLease()) return FailedPrecondition("this node is not the active node");
  return impl_->backend.ReplaceAll(entries);
}

}  // namespace arca::ha
