// arca: EtcdBackend, storage::Backend on etcd v3 (see backend.h).
#include "storage/etcd/backend.h"

#include <algorithm>
#include <set>
#include <utility>

#include "storage/internal_list.h"

namespace arca::storage::etcd {
namespace {

constexpr int64_t kPageSize = 1000;
constexpr std::size_t kReplaceBatch = 100;
constexpr char kFencedMessage[] = "fenced: this node is no longer the active node";

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

}  // namespace

EtcdBackend::EtcdBackend(Client& client, std::string prefix)
    : client_(client), prefix_(std::move(prefix)) {}

void EtcdBackend::SetFence(std::optional<Fence> fence) {
  std::lock_guard lock(mu_);
  fence_ = std::move(fence);
}

std::optional<Fence> EtcdBackend::fence() const {
  std::lock_guard lock(mu_);
  return fence_;
}

void EtcdBackend::SetOnFenced(std::function<void()> hook) {
  std::lock_guard lock(mu_);
  on_fenced_ = std::move(hook);
}

// One write: `ops` under `compares`, fenced when a fence is set.
Status EtcdBackend::Write(std::vector<Compare> compares, std::vector<TxnOp> ops) {
  std::optional<Fence> fence;
  std::function<void()> hook;
  {
    std::lock_guard lock(mu_);
    fence = fence_;
    hook = on_fenced_;
  }
  if (!fence) {
    ARCA_ASSIGN_OR_RETURN(auto r, client_.Txn(compares, ops, {}));
    if (!r.succeeded) return Aborted("transaction condition failed");
    return OkStatus();
  }
  const bool nested = !compares.empty();
  std::vector<TxnOp> success;
  if (nested) {
    success.push_back(TxnOp::Nested(std::move(compares), std::move(ops), {}));
  } else {
    success = std::move(ops);
  }
  ARCA_ASSIGN_OR_RETURN(
      auto r, client_.Txn({Compare::CreateRevisionIs(fence->key, fence->create_revision)},
                          success, {}));
  if (!r.succeeded) {
    if (hook) hook();
    return Status(Code::kFailedPrecondition, kFencedMessage);
  }
  if (nested) {
    if (r.results.size() != 1 || r.results[0].kind != TxnOp::Kind::kTxn) {
      return Internal("etcd: unexpected response to a nested transaction");
    }
    if (!r.results[0].nested_succeeded) return Aborted("transaction condition failed");
  }
  return OkStatus();
}

StatusOr<std::optional<std::string>> EtcdBackend::Get(std::string_view key) {
  ARCA_ASSIGN_OR_RETURN(auto r, client_.Range(prefix_ + std::string(key), {}));
  if (r.kvs.empty()) return std::optional<std::string>();
  return std::optional<std::string>(std::move(r.kvs.front().value));
}

Status EtcdBackend::Put(std::string_view key, std::string_view value) {
  std::string full = prefix_ + std::string(key);
  if (!fence()) return client_.Put(full, std::string(value));
  return Write({}, {TxnOp::Put(std::move(full), std::string(value))});
}

Status EtcdBackend::Delete(std::string_view key) {
  std::string full = prefix_ + std::string(key);
  if (!fence()) return client_.DeleteRange(full, {}).status();
  return Write({}, {TxnOp::Delete(std::move(full))});
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

StatusOr<std::vector<std::pair<std::string, std::string>>> EtcdBackend::ReadAll(
    std::size_t limit) {
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
