// arca: ha::Manager, the active/standby election on etcd.
//
// One Manager per node with `storage "etcd"` and ha_enabled. While core is
// unsealed it campaigns for the lock key `<prefix>core/lock`:
//   1. grant a lease of `lock_ttl`;
//   2. txn: if create_revision(lock) == 0 then put(lock, record, lease)
//      else get(lock). The record is JSON {"node_id","api_addr",
//      "cluster_addr","acquired"}.
//   3. Won: install the fence {lock key, our create_revision} on the etcd
//      backend, call Core::BecomeActive, keep the lease alive every
//      lock_ttl/4. Lost: remember the holder's record (the leader), poll the
//      lock every `poll_interval`, and campaign again when it is gone.
// The active gives up — Core::BecomeStandby, fence cleared, lease revoked
// when reachable — as soon as any of these holds: a keep-alive says the
// lease is gone; the lock key no longer carries our create_revision; a
// fenced write failed (the backend's OnFenced hook, installed by Start,
// only wakes the manager thread, which then re-reads the lock: a late write
// from an earlier term does not depose the holder); or no keep-alive has succeeded for
// lock_ttl - safety_margin since the last one was *sent* (the lease may have
// expired in etcd: a paused or partitioned node stops serving before
// another can be elected). BecomeActive failing also releases the lock.
//
// Each node also keeps `<prefix>core/nodes/<node_id>` (on its own lease)
// with its addresses and last echo, for sys/ha-status.
//
// StepDown revokes the lease (the others see the lock vanish at their next
// poll) and keeps this node out of the election for `step_down_backoff`.
// Sealing the node also releases the lock.
//
// Thread-safe. Two background threads: the election loop, and a keeper that
// only sends the lock's keep-alives (so a slow BecomeActive, BecomeStandby
// or etcd call in the loop never delays them). Stop() (and the destructor)
// releases the lock and joins.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/core.h"
#include "core/ha.h"
#include "storage/etcd/backend.h"
#include "storage/etcd/client.h"

namespace arca::ha {

struct ManagerOptions {
  std::string node_id;       // default: hostname
  std::string api_addr;      // published to the others (forwarding target)
  std::string cluster_addr;  // informational
  // The lease TTL is ceil(lock_ttl) seconds (etcd may raise it to its
  // minimum); at least 1 s. A safety_margin of lock_ttl/2 or more (or
  // negative) is replaced by lock_ttl/8.
  std::chrono::milliseconds lock_ttl{2000};
  std::chrono::milliseconds safety_margin{250};
  std::chrono::milliseconds poll_interval{100};
  std::chrono::milliseconds step_down_backoff{2000};
  std::string version;       // reported in ha-status
  // Called on the manager thread after this node became active (true) and
  // after it stopped being active (false); e.g. the DNS publishers. Must not
  // block for long.
  std::function<void(bool active)> on_role_change;
};

class Manager final : public core::HaCoordinator {
 public:
  // All references must outlive the manager. Call Start() after
  // Core::AttachHa(this).
  Manager(core::Core& core, storage::etcd::Client& client, storage::etcd::EtcdBackend& backend,
          ManagerOptions options, Clock& clock);
  ~Manager() override;

  // Installs the backend's OnFenced hook and starts the threads. Once.
  void Start();
  // Joins the threads, then gives up the lock (Core::BecomeStandby, fence
  // cleared, lease revoked) and revokes the node record's lease. Idempotent.
  // Never call it on a request thread (BecomeStandby waits for requests).
  void Stop();

  core::HaState State() override;
  bool HoldsLease() override;
  // OK at once; the manager thread steps down (HoldsLease() is false as soon
  // as this returns). OK and no-op when this node does not hold the lock.
  Status StepDown() override;
  // The node records, sorted by node id, the lock holder marked active
  // (and listed from the lock record if its node record is not written
  // yet). The etcd client's error (Unavailable) when etcd does not answer.
  StatusOr<std::vector<core::HaNode>> Nodes() override;
  // From MemberList and StatusAll; the client's error when MemberList fails.
  // Unreachable members are reported (not leader; "left", unhealthy).
  StatusOr<nlohmann::json> RaftConfiguration() override;
  StatusOr<nlohmann::json> AutopilotState() override;
  // EtcdBackend::ReadAll (any node).
  StatusOr<std::vector<std::pair<std::string, std::string>>> ReadAll() override;
  // FailedPrecondition unless this node holds the lock.
  Status ReplaceAll(const std::vector<std::pair<std::string, std::string>>& entries) override;

  // Test hook: stops both threads without releasing anything, as if the
  // process froze. No more keep-alives: HoldsLease() turns false at the local
  // deadline, and the lease expires in etcd. Stop() still releases after it.
  void FreezeForTest();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace arca::ha
