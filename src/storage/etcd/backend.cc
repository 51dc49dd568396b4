// arca: EtcdBackend, storage::Backend on etcd v3 (see backend.h).
#include "storage/etcd/backend.h"

#include <algorithm>
#include <set>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "base/clock.h"
#include "base/encoding.h"
#include "base/secure.h"
#include "storage/internal_list.h"

namespace arca::storage::etcd {
namespace {

constexpr int64_t kPageSize = 1000;
constexpr std::size_t kReplaceBatch = 100;
constexpr char kFencedMessage[] = "fenced: this node is no longer the active node";
constexpr std::size_t kItemOverhead = 16;  // protobuf framing of one op or compare, roughly
// How far down the queue a batch looks for writes that do not conflict.
constexpr std::size_t kMaxScan = 1024;
constexpr std::chrono::milliseconds kDefaultTimeout{5000};  // a client without one

Status ResourceExhausted(std::string m) { return Status(Code::kResourceExhausted, std::move(m)); }

// A key range [begin, end); end nullopt = unbounded above.
struct KeyRange {
  std::string begin;
  std::optional<std::string> end;
};

std::string EtcdEnd(const std::optional<std::string>& end) {
  return end ? *end : std::string(1, '\0');
}

// end1 < end2, with nullopt the greatest.
bool EndLess(const std::optional<std::string>& a, const std::optional<std::string>& b) {
  if (!a) return false;
  if (!b) return true;
  return *a < *b;
}

KeyRange PrefixRange(std::string prefix) {
  auto end = internal::PrefixSuccessor(prefix);
  return {std::move(prefix), std::move(end)};
}

KeyRange SingleKey(std::string key) {
  std::string end = key;
  end.push_back('\0');
  return {std::move(key), std::move(end)};
}

// The parts of `whole` not covered by `keep` (which may overlap).
std::vector<KeyRange> Complement(const KeyRange& whole, std::vector<KeyRange> keep) {
  std::sort(keep.begin(), keep.end(),
            [](const KeyRange& a, const KeyRange& b) { return a.begin < b.begin; });
  std::vector<KeyRange> out;
  std::string cur = whole.begin;
  for (const auto& k : keep) {
    // Ranges starting at or after the end of `whole` hold nothing of it.
    if (whole.end && k.begin >= *whole.end) break;
    if (k.begin > cur) out.push_back({cur, k.begin});
    if (!k.end) return out;  // kept to the end
    if (*k.end > cur) cur = *k.end;
  }
  if (EndLess(cur, whole.end)) out.push_back({cur, whole.end});
  return out;
}

// etcd refuses a transaction that writes a key twice; since the ops apply
// atomically, only the last op on each key matters, so the others go.
std::vector<TxnOp> ToTxnOps(const std::string& prefix, const std::vector<Op>& ops) {
  std::set<std::string_view> seen;
  std::vector<const Op*> kept;
  for (auto it = ops.rbegin(); it != ops.rend(); ++it) {
    if (seen.insert(it->key).second) kept.push_back(&*it);
  }
  std::vector<TxnOp> out;
  out.reserve(kept.size());
  for (auto it = kept.rbegin(); it != kept.rend(); ++it) {
    const Op& op = **it;
    if (op.kind == Op::Kind::kPut) {
      out.push_back(TxnOp::Put(prefix + op.key, op.value));
    } else {
      out.push_back(TxnOp::Delete(prefix + op.key));
    }
  }
  return out;
}

std::vector<Compare> ToCompares(const std::string& prefix, const std::vector<Condition>& cs) {
  std::vector<Compare> out;
  out.reserve(cs.size());
  for (const auto& c : cs) {
    switch (c.kind) {
      case Condition::Kind::kExists:
        out.push_back(Compare::KeyExists(prefix + c.key));
        break;
      case Condition::Kind::kAbsent:
        out.push_back(Compare::KeyMissing(prefix + c.key));
        break;
      case Condition::Kind::kEquals:
        // etcd fails a value compare on a missing key, as the contract wants.
        out.push_back(Compare::ValueIs(prefix + c.key, c.value));
        break;
    }
  }
  return out;
}

bool SameFence(const std::optional<Fence>& a, const std::optional<Fence>& b) {
  if (!a || !b) return !a && !b;
  return a->key == b->key && a->create_revision == b->create_revision;
}

}  // namespace

// A write on its way to etcd. Owned jointly by its caller and the queue or
// the sender, so a caller that gives up waiting leaves it safely behind.
struct EtcdBackend::PendingWrite {
  std::optional<Fence> fence;
  std::vector<Compare> compares;
  std::vector<TxnOp> ops;
  // Keys compared or written, sorted, unique. Owned here (SendBatch moves
  // compares and ops away while the keys must stay in in_flight_keys_).
  std::vector<std::string> touched;
  bool alone = false;     // has a range op: never shares a batch
  std::size_t width = 0;  // what etcd counts of it as a nested txn: max(compares, ops)
  std::size_t bytes = 0;  // about its share of the request
  // Guarded by mu_.
  enum class State { kQueued, kSending, kDone } state = State::kQueued;
  std::list<std::shared_ptr<PendingWrite>>::iterator pos;  // in queue_ while kQueued
  std::condition_variable cv;                              // state changed, or: become the sender
  bool waiting = false;                                    // its caller is waiting on cv
  // Written by the sender before state becomes kDone.
  Status status;
  bool fenced = false;
};

struct EtcdBackend::Outcome {
  Status status;
  bool fenced = false;
};

namespace {

BatchOptions Sanitize(BatchOptions b) {
  b.max_queued = std::max<std::size_t>(b.max_queued, 1);
  b.max_in_flight = std::max<std::size_t>(b.max_in_flight, 1);
  b.max_reads_in_flight = std::max<std::size_t>(b.max_reads_in_flight, 1);
  return b;
}

}  // namespace

EtcdBackend::EtcdBackend(Client& client, std::string prefix, BatchOptions batch)
    : client_(client), prefix_(std::move(prefix)), batch_(Sanitize(batch)) {}

void EtcdBackend::SetFence(std::optional<Fence> fence) {
  const bool fenced = fence.has_value();
  {
    std::lock_guard lock(mu_);
    fence_ = std::move(fence);
  }
  std::lock_guard lock(seen_mu_);
  seen_.clear();
  learning_.store(fenced);  // unfenced writes keep value conditions: nothing to learn for
}

// ---- revision conditions (see backend.h) ----

void EtcdBackend::Learn(const std::string& key, std::string_view value, int64_t mod_revision) {
  if (mod_revision <= 0 || !learning_.load()) return;
  std::string hash = Sha256(value);
  std::lock_guard lock(seen_mu_);
  auto it = seen_.find(key);
  if (it != seen_.end()) {
    if (it->second.mod_revision <= mod_revision) it->second = {std::move(hash), mod_revision};
    return;
  }
  if (seen_.size() >= kMaxSeen) seen_.clear();
  seen_.emplace(key, Seen{std::move(hash), mod_revision});
}

void EtcdBackend::Forget(const std::vector<std::string>& keys) {
  std::lock_guard lock(seen_mu_);
  for (const auto& k : keys) seen_.erase(k);
}

// After a committed write at `revision`: every key it put now holds that
// value at that mod revision; keys it deleted hold nothing.
void EtcdBackend::LearnWrite(const std::vector<TxnOp>& ops, int64_t revision) {
  for (const auto& op : ops) {
    if (op.kind == TxnOp::Kind::kPut) {
      Learn(op.key, op.value, revision);
    } else if (op.kind == TxnOp::Kind::kDeleteRange) {
      std::lock_guard lock(seen_mu_);
      if (op.range_end.empty()) {
        seen_.erase(op.key);
      } else {
        seen_.clear();
      }
    }
  }
}

void EtcdBackend::UseRevisions(std::vector<Compare>& compares) {
  std::vector<std::pair<std::size_t, std::string>> hashes;
  for (std::size_t i = 0; i < compares.size(); ++i) {
    const Compare& c = compares[i];
    if (c.target == Compare::Target::kValue && c.result == Compare::Result::kEqual)
      hashes.emplace_back(i, Sha256(c.value));
  }
  if (hashes.empty()) return;
  std::lock_guard lock(seen_mu_);
  for (const auto& [i, hash] : hashes) {
    Compare& c = compares[i];
    auto it = seen_.find(c.key);
    if (it == seen_.end() || !ConstantTimeEquals(it->second.hash, hash)) continue;
    c.target = Compare::Target::kModRevision;
    c.number = it->second.mod_revision;
    c.value.clear();
  }
}

// ---- end of revision conditions ----

std::optional<Fence> EtcdBackend::fence() const {
  std::lock_guard lock(mu_);
  return fence_;
}

void EtcdBackend::SetOnFenced(std::function<void()> hook) {
  std::lock_guard lock(mu_);
  on_fenced_ = std::move(hook);
}

WriteStats EtcdBackend::write_stats() const {
  std::lock_guard lock(mu_);
  WriteStats s = stats_;
  s.queued = queue_.size();
  s.in_flight = in_flight_;
  return s;
}

Status EtcdBackend::Write(std::vector<Compare> compares, std::vector<TxnOp> ops) {
  auto w = std::make_shared<PendingWrite>();
  std::function<void()> hook;
  {
    std::lock_guard lock(mu_);
    w->fence = fence_;
    hook = on_fenced_;
  }
  if (w->fence) UseRevisions(compares);
  w->compares = std::move(compares);
  w->ops = std::move(ops);
  for (const auto& c : w->compares) {
    w->touched.push_back(c.key);
    w->bytes += c.key.size() + c.value.size() + kItemOverhead;
  }
  for (const auto& op : w->ops) {
    if (op.kind == TxnOp::Kind::kTxn || op.kind == TxnOp::Kind::kRange || !op.range_end.empty()) {
      w->alone = true;
    }
    w->touched.push_back(op.key);
    w->bytes += op.key.size() + op.value.size() + op.range_end.size() + kItemOverhead;
  }
  std::sort(w->touched.begin(), w->touched.end());
  w->touched.erase(std::unique(w->touched.begin(), w->touched.end()), w->touched.end());
  w->width = std::max(w->compares.size(), w->ops.size());
  w->bytes += kItemOverhead;

  Outcome out = Commit(w);
  // Not applied, or not known to be: what this backend saw of its keys may
  // be out of date (a committed write learned its keys when it completed).
  if (!out.status.ok()) Forget(w->touched);
  if (out.fenced && hook) hook();
  return out.status;
}

// Leader/follower: a caller whose write is queued sends the next batch
// whenever a slot is free (the batch may hold its own write or not); the
// others wait on their own write's cv. A sender, when its request
// completes or when it leaves slots and queued writes behind, wakes one
// waiting caller to send the next batch.
EtcdBackend::Outcome EtcdBackend::Commit(const std::shared_ptr<PendingWrite>& w) {
  const ClientOptions& co = client_.options();
  if (!batch_.enabled) {
    Outcome out = SendOne(*w);
    std::lock_guard lock(mu_);
    ++stats_.requests;
    ++stats_.writes;
    return out;
  }
  const auto timeout = co.request_timeout.count() > 0 ? co.request_timeout : kDefaultTimeout;
  const SteadyTime queue_deadline = RealClock().SteadyNow() + timeout;
  // The longest a sent request can take (the client's own bound), plus slack.
  const auto endpoints = static_cast<int64_t>(std::max<std::size_t>(1, co.endpoints.size()));
  const SteadyTime sent_deadline = queue_deadline + endpoints * 2 * (co.dial_timeout + timeout);

  std::unique_lock lock(mu_);
  if (!room_cv_.wait_until(lock, queue_deadline,
                           [&] { return queue_.size() < batch_.max_queued; })) {
    return {Unavailable("etcd: too many writes waiting to be sent"), false};
  }
  w->pos = queue_.insert(queue_.end(), w);
  peak_outstanding_ = std::max(peak_outstanding_, queue_.size() + in_flight_writes_);
  if (lingering_ && queue_.size() >= linger_target_) linger_cv_.notify_one();
  while (w->state != PendingWrite::State::kDone) {
    if (w->state == PendingWrite::State::kQueued) {
      if (RealClock().SteadyNow() >= queue_deadline) {
        queue_.erase(w->pos);
        room_cv_.notify_one();
        WakeSenderLocked(nullptr);  // a write it held back may go now
        return {Unavailable("etcd: write not sent within the request timeout"), false};
      }
      if (SlotFreeLocked() && SendNextBatch(lock, w.get())) continue;
      w->waiting = true;
      w->cv.wait_until(lock, queue_deadline);
      w->waiting = false;
    } else if (w->state == PendingWrite::State::kSending) {
      w->cv.wait_until(lock, sent_deadline);
      if (w->state == PendingWrite::State::kSending && RealClock().SteadyNow() >= sent_deadline) {
        return {Unavailable("etcd txn: outcome unknown (no answer in time)"), false};
      }
    }
  }
  return {w->status, w->fenced};
}

// A sender that lingers holds every slot.
bool EtcdBackend::SlotFreeLocked() const {
  return !lingering_ && in_flight_ < batch_.max_in_flight;
}

// Wakes the caller of the first queued write that waits (not `self`, and
// not one busy sending another batch: it looks again when it is done), if a
// slot is free.
void EtcdBackend::WakeSenderLocked(const PendingWrite* self) {
  if (!SlotFreeLocked()) return;
  for (const auto& q : queue_) {
    if (q.get() != self && q->waiting) {
      q->cv.notify_one();
      return;
    }
  }
}

void EtcdBackend::LingerLocked(std::unique_lock<std::mutex>& lock) {
  // A batch that left writes queued (same key, a limit, a fence) shows that
  // waiting would not fill the next one either.
  if (batch_.max_linger.count() <= 0 || in_flight_ > 0 || queue_.empty() ||
      queue_.front()->alone || last_batch_left_writes_) {
    return;
  }
  const std::size_t recent = std::max(peak_outstanding_, last_peak_outstanding_);
  const std::size_t target = std::min(recent, batch_.max_txn_ops / 2);
  if (target < kMinLingerTarget || queue_.size() >= target) return;
  const auto wait = std::min<std::chrono::steady_clock::duration>(batch_.max_linger,
                                                                  last_request_time_);
  if (wait.count() <= 0) return;
  lingering_ = true;
  linger_target_ = target;
  ++stats_.lingered;
  linger_cv_.wait_for(lock, wait, [&] { return queue_.size() >= target; });
  lingering_ = false;
}

bool EtcdBackend::SendNextBatch(std::unique_lock<std::mutex>& lock, const PendingWrite* self) {
  LingerLocked(lock);
  Batch batch = TakeBatchLocked();
  if (batch.empty()) return false;
  last_batch_left_writes_ = !queue_.empty();
  const bool alone = batch.front()->alone;
  ++in_flight_;
  in_flight_writes_ += batch.size();
  stats_.peak_in_flight = std::max(stats_.peak_in_flight, in_flight_);
  if (alone) alone_in_flight_ = true;
  for (const auto& b : batch) in_flight_keys_.insert(b->touched.begin(), b->touched.end());
  room_cv_.notify_all();
  // The batch may have stopped at a limit or a fence: what is left may go
  // on another free slot, in parallel.
  WakeSenderLocked(self);
  const SteadyTime sent = RealClock().SteadyNow();
  lock.unlock();
  SendBatch(batch);
  lock.lock();
  --in_flight_;
  in_flight_writes_ -= batch.size();
  last_request_time_ = RealClock().SteadyNow() - sent;
  last_peak_outstanding_ = peak_outstanding_;
  peak_outstanding_ = queue_.size() + in_flight_writes_;
  if (alone) alone_in_flight_ = false;
  for (const auto& b : batch) {
    for (const auto& k : b->touched) in_flight_keys_.erase(k);
  }
  ++stats_.requests;  // SendBatch counts any extra (refused batches)
  stats_.writes += batch.size();
  if (batch.size() > 1) stats_.batched += batch.size();
  for (const auto& b : batch) {
    b->state = PendingWrite::State::kDone;
    b->cv.notify_one();
  }
  WakeSenderLocked(self);
  return true;
}

// The first queued write that can go now, and after it every queued write
// that fits: same fence, no key touched by the batch, by a write in flight
// or by a write left behind before it (so writes to a key keep their
// order), within etcd's limits. A write that does not fit ends the scan; a
// conflicting one is skipped. A write to be sent alone goes only with
// nothing in flight, and nothing queued after it goes before it.
EtcdBackend::Batch EtcdBackend::TakeBatchLocked() {
  Batch batch;
  if (alone_in_flight_) return batch;
  std::unordered_set<std::string_view> used;
  std::unordered_set<std::string_view> blocked;
  auto busy = [&](std::string_view k) {
    return used.count(k) > 0 || blocked.count(k) > 0 || in_flight_keys_.count(k) > 0;
  };
  std::size_t width = 0;
  std::size_t bytes = 0;
  std::size_t scanned = 0;
  for (auto it = queue_.begin(); it != queue_.end() && scanned < kMaxScan; ++scanned) {
    PendingWrite& w = **it;
    if (w.alone) {
      if (batch.empty() && blocked.empty() && in_flight_ == 0) {
        w.state = PendingWrite::State::kSending;
        batch.push_back(*it);
        queue_.erase(it);
      }
      break;
    }
    if (!batch.empty() && !SameFence(w.fence, batch.front()->fence)) break;
    if (std::any_of(w.touched.begin(), w.touched.end(), busy)) {
      blocked.insert(w.touched.begin(), w.touched.end());
      ++it;
      continue;
    }
    if (!batch.empty()) {
      // etcd: the outer txn counts N ops; each nested one may use what is left.
      const std::size_t n = batch.size() + 1;
      const std::size_t new_width = std::max(width, w.width);
      if (n + new_width > batch_.max_txn_ops || bytes + w.bytes > batch_.max_bytes) break;
    }
    width = std::max(width, w.width);
    bytes += w.bytes;
    used.insert(w.touched.begin(), w.touched.end());
    w.state = PendingWrite::State::kSending;
    batch.push_back(*it);
    it = queue_.erase(it);
  }
  return batch;
}

// Sends `batch` and records each write's outcome (no lock held).
void EtcdBackend::SendBatch(const Batch& batch) {
  if (batch.size() == 1) {
    Outcome out = SendOne(*batch.front());
    batch.front()->status = std::move(out.status);
    batch.front()->fenced = out.fenced;
    return;
  }
  const std::optional<Fence>& fence = batch.front()->fence;
  std::vector<Compare> outer;
  if (fence) outer.push_back(Compare::CreateRevisionIs(fence->key, fence->create_revision));
  std::vector<TxnOp> success;
  success.reserve(batch.size());
  for (const auto& w : batch) {
    success.push_back(TxnOp::Nested(std::move(w->compares), std::move(w->ops), {}));
  }
  auto set_all = [&](const Status& s, bool fenced) {
    for (const auto& w : batch) {
      w->status = s;
      w->fenced = fenced;
    }
  };
  StatusOr<TxnResult> r = client_.Txn(outer, success, {});
  if (!r.ok() && r.status().code() == Code::kInvalidArgument) {
    // Refused whole, so nothing was applied: send the writes one by one,
    // in order, each getting its own answer.
    for (std::size_t i = 0; i < batch.size(); ++i) {
      batch[i]->compares = std::move(success[i].compares);
      batch[i]->ops = std::move(success[i].success);
    }
    {
      std::lock_guard lock(mu_);
      ++stats_.refused;
      stats_.requests += batch.size();
    }
    for (const auto& w : batch) {
      Outcome out = SendOne(*w);
      w->status = std::move(out.status);
      w->fenced = out.fenced;
    }
    return;
  }
  if (!r.ok()) return set_all(r.status(), false);
  if (!r->succeeded) {
    if (fence) return set_all(Status(Code::kFailedPrecondition, kFencedMessage), true);
    return set_all(Internal("etcd: unexpected response to a batch"), false);
  }
  if (r->results.size() != batch.size()) {
    return set_all(Internal("etcd: unexpected response to a batch"), false);
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const TxnOpResult& res = r->results[i];
    if (res.kind != TxnOp::Kind::kTxn) {
      batch[i]->status = Internal("etcd: unexpected response to a batch");
    } else if (!res.nested_succeeded) {
      batch[i]->status = Aborted("transaction condition failed");
    } else {
      LearnWrite(success[i].success, r->revision);
      batch[i]->status = OkStatus();
    }
  }
}

// One write as its own request: `ops` under `compares`, fenced when its
// fence is set.
EtcdBackend::Outcome EtcdBackend::SendOne(PendingWrite& w) {
  if (!w.fence) {
    if (w.compares.empty() && w.ops.size() == 1 && w.ops[0].range_end.empty()) {
      const TxnOp& op = w.ops[0];
      if (op.kind == TxnOp::Kind::kPut) return {client_.Put(op.key, op.value, op.lease), false};
      if (op.kind == TxnOp::Kind::kDeleteRange) {
        return {client_.DeleteRange(op.key, {}).status(), false};
      }
    }
    StatusOr<TxnResult> r = client_.Txn(w.compares, w.ops, {});
    if (!r.ok()) return {r.status(), false};
    if (!r->succeeded) return {Aborted("transaction condition failed"), false};
    LearnWrite(w.ops, r->revision);
    return {OkStatus(), false};
  }
  const bool nested = !w.compares.empty();
  std::vector<TxnOp> nested_success;
  if (nested) nested_success.push_back(TxnOp::Nested(w.compares, w.ops, {}));
  StatusOr<TxnResult> r =
      client_.Txn({Compare::CreateRevisionIs(w.fence->key, w.fence->create_revision)},
                  nested ? nested_success : w.ops, {});
  if (!r.ok()) return {r.status(), false};
  if (!r->succeeded) return {Status(Code::kFailedPrecondition, kFencedMessage), true};
  if (nested) {
    if (r->results.size() != 1 || r->results[0].kind != TxnOp::Kind::kTxn) {
      return {Internal("etcd: unexpected response to a nested transaction"), false};
    }
    if (!r->results[0].nested_succeeded) return {Aborted("transaction condition failed"), false};
  }
  LearnWrite(w.ops, r->revision);
  return {OkStatus(), false};
}

StatusOr<std::optional<std::string>> EtcdBackend::Get(std::string_view key) {
  return Read(key, /*serializable=*/false);
}

// A read for update is serializable: served from the local state of the
// member the client talks to, with no raft round. It may lag the latest
// write; the caller only builds a write conditioned on it, which etcd then
// checks at the latest revision.
StatusOr<std::optional<std::string>> EtcdBackend::GetForUpdate(std::string_view key) {
  return Read(key, /*serializable=*/true);
}

// ---- read batching (see backend.h) ----

struct EtcdBackend::PendingRead {
  std::string key;  // full etcd key
  bool serializable = false;
  // Guarded by rmu_.
  enum class State { kQueued, kSending, kDone } state = State::kQueued;
  std::list<std::shared_ptr<PendingRead>>::iterator pos;  // in read_queue_ while kQueued
  std::condition_variable cv;                             // state changed, or: become the sender
  bool waiting = false;
  // Written by the sender before state becomes kDone: the value, or `alone`
  // when its batch was refused and the caller is to read it by itself.
  StatusOr<std::optional<std::string>> result = Internal("etcd: read not answered");
  bool alone = false;
};

ReadStats EtcdBackend::read_stats() const {
  std::lock_guard lock(rmu_);
  ReadStats s = read_stats_;
  s.queued = read_queue_.size();
  return s;
}

StatusOr<std::optional<std::string>> EtcdBackend::ReadOne(const std::string& key,
                                                          bool serializable) {
  RangeOptions o;
  o.serializable = serializable;
  ARCA_ASSIGN_OR_RETURN(auto r, client_.Range(key, o));
  if (r.kvs.empty()) return std::optional<std::string>();
  Learn(key, r.kvs.front().value, r.kvs.front().mod_revision);
  return std::optional<std::string>(std::move(r.kvs.front().value));
}

// Leader/follower as the writes: a queued caller sends the next batch when
// a slot is free; a sender whose request completes wakes one waiting caller.
StatusOr<std::optional<std::string>> EtcdBackend::Read(std::string_view key, bool serializable) {
  std::string full = prefix_ + std::string(key);
  if (!batch_.batch_reads) return ReadOne(full, serializable);
  std::unique_lock lock(rmu_);
  if (read_stats_.in_flight < batch_.max_reads_in_flight && read_queue_.empty()) {
    ++read_stats_.in_flight;
    lock.unlock();
    auto r = ReadOne(full, serializable);
    lock.lock();
    --read_stats_.in_flight;
    ++read_stats_.requests;
    ++read_stats_.reads;
    WakeReaderLocked();
    return r;
  }
  const ClientOptions& co = client_.options();
  const auto timeout = co.request_timeout.count() > 0 ? co.request_timeout : kDefaultTimeout;
  const SteadyTime queue_deadline = RealClock().SteadyNow() + timeout;
  const auto endpoints = static_cast<int64_t>(std::max<std::size_t>(1, co.endpoints.size()));
  // The longest one sent request can take (the client's own bound), plus slack.
  const SteadyTime sent_deadline = queue_deadline + endpoints * 2 * (co.dial_timeout + timeout);
  auto r = std::make_shared<PendingRead>();
  r->key = std::move(full);
  r->serializable = serializable;
  r->pos = read_queue_.insert(read_queue_.end(), r);
  while (r->state != PendingRead::State::kDone) {
    if (r->state == PendingRead::State::kQueued) {
      if (read_stats_.in_flight < batch_.max_reads_in_flight) {
        SendNextReadsLocked(lock);
        continue;
      }
      if (RealClock().SteadyNow() >= queue_deadline) {
        read_queue_.erase(r->pos);
        return Unavailable("etcd: read not sent within the request timeout");
      }
      r->waiting = true;
      r->cv.wait_until(lock, queue_deadline);
      r->waiting = false;
    } else {
      r->cv.wait_until(lock, sent_deadline);
      if (r->state == PendingRead::State::kSending && RealClock().SteadyNow() >= sent_deadline) {
        return Unavailable("etcd range: no answer in time");
      }
    }
  }
  if (r->alone) {  // its batch was refused: read on this thread, in parallel with the others
    lock.unlock();
    auto one = ReadOne(r->key, r->serializable);
    lock.lock();
    ++read_stats_.requests;
    return one;
  }
  return std::move(r->result);
}

void EtcdBackend::WakeReaderLocked() {
  if (read_stats_.in_flight >= batch_.max_reads_in_flight) return;
  for (const auto& q : read_queue_) {
    if (q->waiting) {
      q->cv.notify_one();
      return;
    }
  }
}

void EtcdBackend::SendNextReadsLocked(std::unique_lock<std::mutex>& lock) {
  std::vector<std::shared_ptr<PendingRead>> batch;
  const std::size_t cap = std::max<std::size_t>(1, batch_.max_txn_ops);
  while (!read_queue_.empty() && batch.size() < cap) {
    batch.push_back(std::move(read_queue_.front()));
    read_queue_.pop_front();
    batch.back()->state = PendingRead::State::kSending;
  }
  ++read_stats_.in_flight;
  WakeReaderLocked();  // more queued than one txn holds: another slot may take them
  lock.unlock();
  SendReads(batch);
  lock.lock();
  --read_stats_.in_flight;
  read_stats_.reads += batch.size();
  if (batch.size() > 1) read_stats_.batched += batch.size();
  for (const auto& b : batch) {
    b->state = PendingRead::State::kDone;
    b->cv.notify_one();
  }
  WakeReaderLocked();
}

// No lock held. Counts its requests itself.
void EtcdBackend::SendReads(const std::vector<std::shared_ptr<PendingRead>>& batch) {
  auto count = [&](uint64_t n) {
    std::lock_guard lock(rmu_);
    read_stats_.requests += n;
  };
  if (batch.size() == 1) {
    batch.front()->result = ReadOne(batch.front()->key, batch.front()->serializable);
    count(1);
    return;
  }
  const bool serializable =
      std::all_of(batch.begin(), batch.end(), [](const auto& r) { return r->serializable; });
  std::vector<TxnOp> ops;
  ops.reserve(batch.size());
  for (const auto& r : batch) {
    ops.push_back(TxnOp::Get(r->key));
    ops.back().serializable = serializable;
  }
  StatusOr<TxnResult> t = client_.Txn({}, ops, {});
  count(1);
  bool shaped = t.ok() && t->succeeded && t->results.size() == batch.size();
  for (std::size_t i = 0; shaped && i < batch.size(); ++i) {
    shaped = t->results[i].kind == TxnOp::Kind::kRange;
  }
  if (shaped) {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      auto& kvs = t->results[i].range.kvs;
      if (!kvs.empty()) Learn(batch[i]->key, kvs.front().value, kvs.front().mod_revision);
      batch[i]->result = kvs.empty() ? std::optional<std::string>()
                                     : std::optional<std::string>(std::move(kvs.front().value));
    }
    return;
  }
  if (!t.ok() && t.status().code() == Code::kUnavailable) {
    for (const auto& r : batch) r->result = t.status();
    return;
  }
  // Refused as a batch (etcd's limits, a response too large) or answered
  // oddly: each caller reads its own key alone, on its own thread, so no
  // caller waits for more than one request of its own.
  for (const auto& r : batch) r->alone = true;
}
// ---- end of read batching ----

Status EtcdBackend::Put(std::string_view key, std::string_view value) {
  return Write({}, {TxnOp::Put(prefix_ + std::string(key), std::string(value))});
}

Status EtcdBackend::Delete(std::string_view key) {
  return Write({}, {TxnOp::Delete(prefix_ + std::string(key))});
}

Status EtcdBackend::Txn(const std::vector<Condition>& conditions, const std::vector<Op>& ops) {
  return Write(ToCompares(prefix_, conditions), ToTxnOps(prefix_, ops));
}

// Keys-only pages at one revision. A page that ends inside a folder resumes
// after the folder, so a big subtree costs one page, not all its keys.
StatusOr<std::vector<std::string>> EtcdBackend::List(std::string_view prefix) {
  const std::string base = prefix_ + std::string(prefix);
  const std::string end = PrefixEnd(base);
  std::vector<std::string> out;
  std::string from = base;
  int64_t revision = 0;
  while (true) {
    RangeOptions o;
    o.range_end = end;
    o.limit = kPageSize;
    o.keys_only = true;
    o.revision = revision;
    ARCA_ASSIGN_OR_RETURN(auto r, client_.Range(from, o));
    if (revision == 0) revision = r.revision;
    if (r.kvs.empty()) break;
    for (const auto& kv : r.kvs) {
      if (kv.key.size() <= base.size() || kv.key.compare(0, base.size(), base) != 0) continue;
      std::string_view child = internal::ChildName(std::string_view(kv.key).substr(base.size()));
      if (!out.empty() && out.back() == child) continue;  // same folder again
      out.emplace_back(child);
      if (out.size() > kMaxListKeys) return ResourceExhausted("etcd: too many keys to list");
    }
    if (!r.more) break;
    const std::string& last = r.kvs.back().key;
    std::string_view last_child = internal::ChildName(std::string_view(last).substr(base.size()));
    if (!last_child.empty() && last_child.back() == '/') {
      from = internal::SkipFolder(base, last_child);
    } else {
      from = last;
      from.push_back('\0');
    }
  }
  return out;
}

StatusOr<std::vector<std::pair<std::string, std::string>>> EtcdBackend::ReadAll(std::size_t limit) {
  const std::string end = PrefixEnd(prefix_);
  std::vector<std::pair<std::string, std::string>> out;
  std::string from = prefix_;
  int64_t revision = 0;
  int64_t page = kPageSize;
  while (true) {
    RangeOptions o;
    o.range_end = end;
    o.limit = page;
    o.revision = revision;
    auto r = client_.Range(from, o);
    // A page of large values can pass the client's receive limit: halve it.
    if (!r.ok() && r.status().code() == Code::kResourceExhausted && page > 1) {
      page /= 2;
      continue;
    }
    if (!r.ok()) return r.status();
    if (revision == 0) revision = r->revision;
    for (auto& kv : r->kvs) {
      if (out.size() >= limit) return ResourceExhausted("etcd: too many keys to read");
      out.emplace_back(kv.key.substr(prefix_.size()), std::move(kv.value));
    }
    if (!r->more || r->kvs.empty()) break;
    from = r->kvs.back().key;
    from.push_back('\0');
  }
  return out;
}

Status EtcdBackend::ReplaceAll(const std::vector<std::pair<std::string, std::string>>& entries) {
  {
    // A restore may write bytes a key held before, at a new revision.
    std::lock_guard lock(seen_mu_);
    seen_.clear();
  }
  // Keep the election: the lock key, the node records and the fence key.
  std::vector<KeyRange> keep = {SingleKey(prefix_ + "core/lock"),
                                PrefixRange(prefix_ + "core/nodes/")};
  if (auto f = fence(); f && f->key.starts_with(prefix_)) keep.push_back(SingleKey(f->key));
  auto kept = [&](const std::string& full) {
    return std::any_of(keep.begin(), keep.end(), [&](const KeyRange& k) {
      return full >= k.begin && (!k.end || full < *k.end);
    });
  };

  std::vector<TxnOp> deletes;
  for (const auto& r : Complement(PrefixRange(prefix_), keep)) {
    deletes.push_back(TxnOp::Delete(r.begin, EtcdEnd(r.end)));
  }
  ARCA_RETURN_IF_ERROR(Write({}, std::move(deletes)));

  std::vector<Op> batch;
  auto flush = [&]() -> Status {
    if (batch.empty()) return OkStatus();
    Status s = Write({}, ToTxnOps(prefix_, batch));
    batch.clear();
    return s;
  };
  for (const auto& [key, value] : entries) {
    if (kept(prefix_ + key)) continue;
    batch.push_back(Op::Put(key, value));
    if (batch.size() == kReplaceBatch) ARCA_RETURN_IF_ERROR(flush());
  }
  return flush();
}

}  // namespace arca::storage::etcd
