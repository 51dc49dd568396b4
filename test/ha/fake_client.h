// arca test support for ha: FakeClient, an in-memory etcd::Client whose
// leases expire on a FakeClock, for deterministic tests of the deadline
// logic. Implements what ha::Manager uses: single-key and prefix Range, Put,
// DeleteRange, flat Txn (create_revision/version compares; put, get and
// delete ops), leases, one member. Safe for concurrent use.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "storage/etcd/client.h"
#include "support/fake_clock.h"

namespace arca::ha::testing {

class FakeClient final : public storage::etcd::Client {
 public:
  using KeyValue = storage::etcd::KeyValue;

  explicit FakeClient(arca::testing::FakeClock& clock) : clock_(clock) {}

  // What the next keep-alives do, in order: run `during` (e.g. advance the
  // clock, as a slow round trip), then answer normally, or Unavailable when
  // `reachable` is false. With the script empty, keep-alives follow
  // `default_reachable`.
  struct KeepAliveStep {
    std::function<void()> during;
    bool reachable = true;
  };
  void ScriptKeepAlives(std::vector<KeepAliveStep> steps, bool default_reachable) {
    std::lock_guard g(mu_);
    script_.assign(steps.begin(), steps.end());
    default_reachable_ = default_reachable;
  }
  // Keep-alives sent so far, in all or for one lease.
  int keepalives() const {
    std::lock_guard g(mu_);
    return keepalives_;
  }
  int keepalives(int64_t lease) const {
    std::lock_guard g(mu_);
    auto it = keepalives_by_lease_.find(lease);
    return it == keepalives_by_lease_.end() ? 0 : it->second;
  }
  // Drops every lease and its keys, as etcd does when they expire.
  void DropAllLeases() {
    std::lock_guard g(mu_);
    while (!leases_.empty()) DropLeaseLocked(leases_.begin()->first);
  }
  // Writes `key` directly, bypassing leases (another writer).
  void ForcePut(const std::string& key, const std::string& value) {
    std::lock_guard g(mu_);
    PutLocked(key, value, 0);
  }
  void ForceDelete(const std::string& key) {
    std::lock_guard g(mu_);
    kvs_.erase(key);
  }
  std::optional<KeyValue> Peek(const std::string& key) {
    std::lock_guard g(mu_);
    ExpireLocked();
    auto it = kvs_.find(key);
    if (it == kvs_.end()) return std::nullopt;
    return it->second;
  }

  StatusOr<storage::etcd::RangeResult> Range(const std::string& key,
                                             const storage::etcd::RangeOptions& o) override {
    std::lock_guard g(mu_);
    ExpireLocked();
    return RangeLocked(key, o.range_end, o.limit);
  }
  Status Put(const std::string& key, const std::string& value, int64_t lease) override {
    std::lock_guard g(mu_);
    ExpireLocked();
    if (lease != 0 && leases_.count(lease) == 0) return NotFound("etcd: lease not found");
    PutLocked(key, value, lease);
    return OkStatus();
  }
  StatusOr<int64_t> DeleteRange(const std::string& key, const std::string& range_end) override {
    std::lock_guard g(mu_);
    ExpireLocked();
    return DeleteLocked(key, range_end);
  }
  StatusOr<storage::etcd::TxnResult> Txn(const std::vector<storage::etcd::Compare>& compares,
                                         const std::vector<storage::etcd::TxnOp>& success,
                                         const std::vector<storage::etcd::TxnOp>& failure) override {
    using storage::etcd::Compare;
    using storage::etcd::TxnOp;
    std::lock_guard g(mu_);
    ExpireLocked();
    bool ok = true;
    for (const auto& c : compares) {
      auto it = kvs_.find(c.key);
      int64_t v = 0;
      if (c.target == Compare::Target::kCreateRevision) v = it == kvs_.end() ? 0 : it->second.create_revision;
      else if (c.target == Compare::Target::kVersion) v = it == kvs_.end() ? 0 : it->second.version;
      else return InvalidArgument("fake etcd: unsupported compare");
      if (c.result == Compare::Result::kEqual) ok = ok && v == c.number;
      else if (c.result == Compare::Result::kGreater) ok = ok && v > c.number;
      else return InvalidArgument("fake etcd: unsupported compare result");
    }
    storage::etcd::TxnResult r;
    r.succeeded = ok;
    for (const auto& op : ok ? success : failure) {
      storage::etcd::TxnOpResult res;
      res.kind = op.kind;
      if (op.kind == TxnOp::Kind::kPut) {
        if (op.lease != 0 && leases_.count(op.lease) == 0) return NotFound("etcd: lease not found");
        PutLocked(op.key, op.value, op.lease);
      } else if (op.kind == TxnOp::Kind::kRange) {
        res.range = RangeLocked(op.key, op.range_end, 0);
      } else if (op.kind == TxnOp::Kind::kDeleteRange) {
        res.deleted = DeleteLocked(op.key, op.range_end);
      } else {
        return InvalidArgument("fake etcd: nested transactions are not supported");
      }
      r.results.push_back(std::move(res));
    }
    r.revision = revision_;
    return r;
  }

  StatusOr<storage::etcd::LeaseGrant> GrantLease(int64_t ttl_seconds) override {
    std::lock_guard g(mu_);
    int64_t id = ++next_lease_;
    leases_[id] = Lease{ttl_seconds, clock_.SteadyNow() + std::chrono::seconds(ttl_seconds)};
    return storage::etcd::LeaseGrant{id, ttl_seconds};
  }
  StatusOr<int64_t> KeepAliveOnce(int64_t lease_id) override {
    KeepAliveStep step;
    {
      std::lock_guard g(mu_);
      ++keepalives_;
      ++keepalives_by_lease_[lease_id];
      if (!script_.empty()) {
        step = std::move(script_.front());
        script_.pop_front();
      } else {
        step.reachable = default_reachable_;
      }
    }
    if (step.during) step.during();
    std::lock_guard g(mu_);
    if (!step.reachable) return Unavailable("fake etcd: unreachable");
    ExpireLocked();
    auto it = leases_.find(lease_id);
    if (it == leases_.end()) return NotFound("etcd: lease not found or expired");
    it->second.expiry = clock_.SteadyNow() + std::chrono::seconds(it->second.ttl);
    return it->second.ttl;
  }
  Status RevokeLease(int64_t lease_id) override {
    std::lock_guard g(mu_);
    ExpireLocked();
    if (leases_.count(lease_id) == 0) return NotFound("etcd: lease not found");
    DropLeaseLocked(lease_id);
    return OkStatus();
  }

  StatusOr<std::vector<storage::etcd::Member>> MemberList() override {
    return std::vector<storage::etcd::Member>{{7, "fake", {"http://127.0.0.1:2380"}, {}, false}};
  }
  std::vector<storage::etcd::EndpointStatus> StatusAll() override {
    storage::etcd::EndpointStatus s;
    s.endpoint = "http://127.0.0.1:2379";
    s.reachable = true;
    s.member_id = 7;
    s.leader = 7;
    std::lock_guard g(mu_);
    s.raft_index = static_cast<uint64_t>(revision_);
    return {s};
  }
  const storage::etcd::ClientOptions& options() const override { return options_; }

 private:
  struct Lease {
    int64_t ttl = 0;
    SteadyTime expiry;
  };

  void ExpireLocked() {
    std::vector<int64_t> due;
    for (const auto& [id, l] : leases_)
      if (l.expiry <= clock_.SteadyNow()) due.push_back(id);
    for (int64_t id : due) DropLeaseLocked(id);
  }
  void DropLeaseLocked(int64_t id) {
    leases_.erase(id);
    std::erase_if(kvs_, [&](const auto& kv) { return kv.second.lease == id; });
  }
  void PutLocked(const std::string& key, const std::string& value, int64_t lease) {
    ++revision_;
    KeyValue& kv = kvs_[key];
    if (kv.create_revision == 0) kv.create_revision = revision_;
    kv.key = key;
    kv.value = value;
    kv.mod_revision = revision_;
    ++kv.version;
    kv.lease = lease;
  }
  storage::etcd::RangeResult RangeLocked(const std::string& key, const std::string& end,
                                         int64_t limit) {
    storage::etcd::RangeResult r;
    r.revision = revision_;
    if (end.empty()) {
      auto it = kvs_.find(key);
      if (it != kvs_.end()) r.kvs.push_back(it->second);
    } else {
      for (auto it = kvs_.lower_bound(key); it != kvs_.end() && it->first < end; ++it) {
        if (limit > 0 && static_cast<int64_t>(r.kvs.size()) >= limit) {
          r.more = true;
          break;
        }
        r.kvs.push_back(it->second);
      }
    }
    r.count = static_cast<int64_t>(r.kvs.size());
    return r;
  }
  int64_t DeleteLocked(const std::string& key, const std::string& end) {
    if (end.empty()) return static_cast<int64_t>(kvs_.erase(key));
    int64_t n = 0;
    for (auto it = kvs_.lower_bound(key); it != kvs_.end() && it->first < end; ++n)
      it = kvs_.erase(it);
    return n;
  }

  arca::testing::FakeClock& clock_;
  storage::etcd::ClientOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, KeyValue> kvs_;
  std::map<int64_t, Lease> leases_;
  int64_t revision_ = 1;
  int64_t next_lease_ = 100;
  std::deque<KeepAliveStep> script_;
  bool default_reachable_ = true;
  int keepalives_ = 0;
  std::map<int64_t, int> keepalives_by_lease_;
};

}  // namespace arca::ha::testing
