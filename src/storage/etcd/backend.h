// arca: storage "etcd", a storage::Backend on an etcd v3 cluster.
//
// Keys live below `prefix` ("/vault/" by default, as Vault's etcd backend):
// arca key "sys/token/id/ab" is etcd key "/vault/sys/token/id/ab". Values
// are whatever the layer above gives (the barrier's ciphertext): etcd never
// sees plaintext.
//
// * Get is a linearizable Range of one key. GetForUpdate is a serializable
//   one (the member's local state, no raft round; possibly older, see
//   Backend::GetForUpdate).
// * List is a keys-only Range of the prefix; children are folded as the
//   Backend contract says. Paged (1000 keys a page, all at one revision),
//   resuming after each folder, so a large subtree costs one page, not all
//   its keys. Bounded by kMaxListKeys (ResourceExhausted past it).
// * Put, Delete and Txn are each one atomic write. A storage::Txn with
//   several ops is one write (etcd's --max-txn-ops, 128 by default, bounds
//   it: InvalidArgument past it). etcd refuses a txn that writes a key
//   twice, so only the last op on each key is sent (the outcome is the
//   same).
//
// Group commit. Up to BatchOptions::max_in_flight etcd write requests of
// this backend may be in flight at once. A write that finds a slot free and
// shares no key with a write in flight is sent at once (no timer, no added
// latency when idle; under load, see Linger below). The others queue up;
// whenever a request completes (or a write arrives with a slot free), one
// of the waiting callers sends the next batch as ONE etcd transaction:
// outer compare = the fence (when set), success ops = one nested txn per
// write (its compares, its ops, an empty failure branch). A batch never
// holds a key (compared or written) that is held by another write of the
// batch, by a write in flight, or by a write queued ahead of it and left
// behind: such a write waits for a later batch. So writes to one key are
// applied in arrival order and never concurrently (etcd evaluates every
// compare of a txn, nested ones included, before it applies any op, so two
// writes to one key could not share a txn anyway). Each write is therefore
// atomic and isolated exactly as if sent alone, and each caller returns
// only once its own batch has committed (read-your-writes). A batch also
// holds only writes made under the same fence, and stays within etcd's
// limits (BatchOptions: with N writes, N plus the largest write's op or
// compare count is at most max_txn_ops, which is how etcd counts nested
// txns; and about max_bytes). A write too large to share a batch is sent
// alone. A write with a range delete (ReplaceAll) is sent alone with
// nothing else in flight, and no write queued after it is sent before it
// completes. Outcomes per caller: OK; Aborted (its own compares failed; the
// others in the batch are unaffected); FailedPrecondition "fenced" (the
// batch's fence compare failed: every write of the batch, none applied);
// the client's error for the whole batch (Unavailable = outcome unknown,
// never resent). When etcd refuses a batch as a whole (InvalidArgument:
// nothing was applied, e.g. a lower --max-txn-ops than max_txn_ops), its
// writes are sent one by one. A write that cannot be sent within the
// client's request_timeout (queue full, or etcd slow) returns Unavailable
// without having been sent.
//
// Linger (decisions D37). Under load, etcd's cost per write falls with the
// size of the batch, most of it being per request (a raft round, a WAL
// fsync on every member). So when nothing is in flight and fewer writes are
// queued than the recent concurrency (the most writes queued or in flight
// at once, over the last two requests), the sender waits for more to
// arrive, with every slot held: until the queue holds that many, for at
// most BatchOptions::max_linger and never longer than the last request
// took. A lone writer, or a few (a recent concurrency below
// kMinLingerTarget), never waits; the concurrency seen shrinks within two
// requests when the load does. Nor does a sender wait after a batch that
// left writes queued (writes to one key, a size limit): more of those would
// not join the next batch either.
//
// Read batching. Get and GetForUpdate share up to
// BatchOptions::max_reads_in_flight etcd read requests. A read that finds a
// slot free and nothing queued is sent at once as its own Range; the others
// queue, and whenever a read request completes one waiting caller sends
// every queued read (up to max_txn_ops) as ONE read-only etcd transaction
// of Ranges. etcd serves such a txn at one revision, with one consensus
// round (ReadIndex) for the lot, or none when every read in it is a read
// for update (serializable); a read for update that shares a txn with a
// linearizable read is served linearizably, which only strengthens it. A
// batch etcd refuses (too many ops, a response too large) is read again by
// each caller alone, on its own thread; when etcd is Unavailable that is
// every caller's answer. Each caller gets the value of its own key, and
// waits for at most one queue wait and one request's bound.
//
// Fencing. With a fence set, every write is a transaction whose outer
// compare is "the fence key still has this create_revision", with the
// caller's conditions in a nested transaction. When the outer compare fails
// the write is not applied and returns FailedPrecondition("fenced: ...");
// the owner of the fence (ha::Manager) then steps down. A node that lost
// its election therefore cannot write, however late its request arrives.
// Reads are not fenced: they are linearizable on their own.
//
// Revision conditions. A key's mod revision names one write, so "the key's
// mod revision is r" holds exactly when it still holds what was written at
// r. The backend remembers, for keys it read or wrote under a fence, the
// SHA-256 of the value and its mod revision; a fenced write's value
// condition (ValueIs) on a remembered value is sent as a condition on that
// mod revision instead, so the transaction does not carry the old value.
// Were the key rewritten with identical bytes since (only a restore does
// that, and ReplaceAll forgets everything), the condition fails where the
// value one would hold: the caller sees Aborted, as after any race, and its
// retry reads the key again. Bounded (kMaxSeen keys); cleared when the
// fence changes; nothing is remembered (or hashed) without a fence. A write
// whose outcome is unknown forgets its keys.
//
// Safe for concurrent use.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "storage/backend.h"
#include "storage/etcd/client.h"

namespace arca::storage::etcd {

inline constexpr std::size_t kMaxListKeys = 1'000'000;
inline constexpr std::size_t kMaxSeen = 20'000;  // keys whose revision is remembered
inline constexpr std::size_t kMinLingerTarget = 4;  // a sender lingers for at least this many

struct Fence {
  std::string key;  // full etcd key (with prefix) of the election key
  int64_t create_revision = 0;
};

// Group commit limits (see above). The defaults suit etcd's defaults.
struct BatchOptions {
  std::size_t max_txn_ops = 128;    // etcd's --max-txn-ops
  std::size_t max_bytes = 1 << 20;  // below etcd's --max-request-bytes (1.5 MiB)
  std::size_t max_queued = 10'000;  // waiting writes; past it, callers wait for room
  // etcd write requests in flight at once (0 is taken as 1). One, measured
  // on 3 members: batches grow with the load and etcd spends less per write
  // than on several smaller batches in flight (decisions D30).
  std::size_t max_in_flight = 1;
  bool enabled = true;                  // false: every write is its own request
  // The longest a sender lingers for more writes (see above); 0: never.
  std::chrono::microseconds max_linger{4000};
  std::size_t max_reads_in_flight = 2;  // etcd read requests in flight at once (0 is taken as 1)
  bool batch_reads = true;              // false: every read is its own Range
};

// Counters of the write path, for tests and metrics.
struct WriteStats {
  uint64_t requests = 0;           // etcd write requests sent (Txn, Put, DeleteRange)
  uint64_t writes = 0;             // writes completed by a request (whatever the outcome)
  uint64_t batched = 0;            // of those, writes that shared their request
  uint64_t refused = 0;            // batches etcd refused whole and were resent one by one
  std::size_t queued = 0;          // writes waiting now, not yet sent
  std::size_t in_flight = 0;       // etcd write requests in flight now
  std::size_t peak_in_flight = 0;  // the most ever in flight at once
  uint64_t lingered = 0;           // batches whose sender waited for more writes
};

// Counters of the read path (Get and GetForUpdate), for tests and metrics.
struct ReadStats {
  uint64_t requests = 0;      // etcd read requests sent (Range, or a txn of Ranges)
  uint64_t reads = 0;         // reads answered by a request
  uint64_t batched = 0;       // of those, reads that shared their request
  std::size_t queued = 0;     // reads waiting now, not yet sent
  std::size_t in_flight = 0;  // etcd read requests in flight now
};

class EtcdBackend final : public Backend {
 public:
  // `client` must outlive the backend. `prefix` should end in '/'.
  EtcdBackend(Client& client, std::string prefix, BatchOptions batch = {});

  StatusOr<std::optional<std::string>> Get(std::string_view key) override;
  StatusOr<std::optional<std::string>> GetForUpdate(std::string_view key) override;
  Status Put(std::string_view key, std::string_view value) override;
  Status Delete(std::string_view key) override;
  StatusOr<std::vector<std::string>> List(std::string_view prefix) override;
  Status Txn(const std::vector<Condition>& conditions, const std::vector<Op>& ops) override;

  // Installs or clears the write fence.
  void SetFence(std::optional<Fence> fence);
  std::optional<Fence> fence() const;
  // Called (once per failed write, on the writing thread, no lock held)
  // when a fenced write finds the fence gone. ha::Manager steps down in it.
  void SetOnFenced(std::function<void()> hook);

  // Every key and value below the prefix, read at one revision (a
  // consistent snapshot); keys relative to the prefix, sorted. Paged
  // internally. ResourceExhausted past `limit` keys.
  StatusOr<std::vector<std::pair<std::string, std::string>>> ReadAll(
      std::size_t limit = kMaxListKeys);
  // Replaces everything below the prefix with `entries` (fenced when a
  // fence is set). Not atomic across etcd's txn size: written in batches of
  // 100, after deleting what was there. The election's keys are kept as
  // they are, and entries for them ignored: `<prefix>core/lock`,
  // everything below `<prefix>core/nodes/`, and the fence key. Used by
  // snapshot restore only. FailedPrecondition when fenced (possibly after
  // some batches were written).
  Status ReplaceAll(const std::vector<std::pair<std::string, std::string>>& entries);

  WriteStats write_stats() const;
  ReadStats read_stats() const;

  Client& client() { return client_; }
  const std::string& prefix() const { return prefix_; }

 private:
  struct PendingWrite;
  struct PendingRead;
  struct Outcome;
  using Batch = std::vector<std::shared_ptr<PendingWrite>>;

  // One atomic write: `ops` if `compares` hold, fenced when a fence is set,
  // through the group commit queue. Aborted when the compares fail;
  // FailedPrecondition when fenced.
  Status Write(std::vector<Compare> compares, std::vector<TxnOp> ops);
  Outcome Commit(const std::shared_ptr<PendingWrite>& w);
  // mu_ held, a slot free: takes the next batch and sends it (mu_ released
  // meanwhile). False when nothing queued can be sent now.
  bool SendNextBatch(std::unique_lock<std::mutex>& lock, const PendingWrite* self);
  Batch TakeBatchLocked();
  // mu_ held, a slot free: waits for more writes when the load says so.
  void LingerLocked(std::unique_lock<std::mutex>& lock);
  bool SlotFreeLocked() const;
  void WakeSenderLocked(const PendingWrite* self);
  void SendBatch(const Batch& batch);
  Outcome SendOne(PendingWrite& w);

  // One Get (serializable: GetForUpdate) through the read batching.
  StatusOr<std::optional<std::string>> Read(std::string_view key, bool serializable);
  StatusOr<std::optional<std::string>> ReadOne(const std::string& key, bool serializable);
  // rmu_ held, a slot free: sends every queued read (rmu_ released meanwhile).
  void SendNextReadsLocked(std::unique_lock<std::mutex>& lock);
  void SendReads(const std::vector<std::shared_ptr<PendingRead>>& batch);
  void WakeReaderLocked();

  // Revision conditions (see above).
  void Learn(const std::string& key, std::string_view value, int64_t mod_revision);
  void Forget(const std::vector<std::string>& keys);
  void LearnWrite(const std::vector<TxnOp>& ops, int64_t revision);
  void UseRevisions(std::vector<Compare>& compares);

  Client& client_;
  std::string prefix_;
  const BatchOptions batch_;
  mutable std::mutex mu_;
  std::optional<Fence> fence_;                      // guarded by mu_
  std::function<void()> on_fenced_;                 // guarded by mu_
  std::list<std::shared_ptr<PendingWrite>> queue_;  // guarded by mu_
  // Guarded by mu_: requests in flight, the keys their writes touch (views
  // into PendingWrite::touched, alive while in flight), and whether one of
  // them is a write sent alone with nothing else in flight.
  std::size_t in_flight_ = 0;
  std::unordered_set<std::string_view> in_flight_keys_;
  bool alone_in_flight_ = false;
  // Linger, guarded by mu_: writes in the requests in flight; the most
  // writes outstanding (queued or in flight) since the last request
  // completed, and over the interval before; how long that request took;
  // whether a sender is lingering (it holds every slot) and for how many;
  // whether the last batch taken left writes queued.
  std::size_t in_flight_writes_ = 0;
  std::size_t peak_outstanding_ = 0;
  std::size_t last_peak_outstanding_ = 0;
  std::chrono::steady_clock::duration last_request_time_{};
  bool lingering_ = false;
  bool last_batch_left_writes_ = false;
  std::size_t linger_target_ = 0;
  std::condition_variable linger_cv_;  // the queue reached linger_target_
  std::condition_variable room_cv_;  // queue_ has room
  WriteStats stats_;                 // guarded by mu_ (queued: computed)

  struct Seen {
    std::string hash;  // SHA-256 of the value
    int64_t mod_revision = 0;
  };
  std::mutex seen_mu_;                          // never held with mu_ or rmu_
  std::unordered_map<std::string, Seen> seen_;  // guarded by seen_mu_; full key → last seen
  std::atomic<bool> learning_{false};           // a fence is set: values are remembered

  mutable std::mutex rmu_;                              // the read path; never held with mu_
  std::list<std::shared_ptr<PendingRead>> read_queue_;  // guarded by rmu_
  ReadStats read_stats_;                                // guarded by rmu_ (queued: computed)
};

}  // namespace arca::storage::etcd
