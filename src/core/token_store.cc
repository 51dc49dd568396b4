// arca: TokenStore, the service tokens and their parent/child tree. See
// token_store.h for the storage layout and the concurrency contract.
#include "core/token_store.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include <spdlog/spdlog.h>

#include "base/cidr.h"
#include "base/encoding.h"
#include "core/token_ttl.h"

namespace arca::core {

namespace {

// Expiry is kept in whole seconds while tokens are created mid-second: a
// token lives through the whole second its TTL ends in, so it never expires
// before its TTL has passed (it may live up to one second longer).
bool Expired(int64_t expire_time, int64_t now) { return now > expire_time; }

using storage::Condition;
using storage::Op;

constexpr std::string_view kIdPrefix = "id/";
constexpr std::string_view kAccessorPrefix = "accessor/";
constexpr std::string_view kParentPrefix = "parent/";
constexpr std::size_t kMaxCacheEntries = 100'000;
constexpr std::size_t kMaxTokenLength = 4096;
constexpr int kMaxTxnAttempts = 8;

std::string IdKey(std::string_view hash) { return std::string(kIdPrefix).append(hash); }
std::string AccessorKey(std::string_view acc) { return std::string(kAccessorPrefix).append(acc); }
std::string ChildrenPrefix(std::string_view parent) {
  return std::string(kParentPrefix).append(parent).append("/");
}
std::string ParentKey(std::string_view parent, std::string_view child) {
  return ChildrenPrefix(parent).append(child);
}

bool IsHash(std::string_view h) {
  if (h.size() != 64) return false;
  return std::all_of(h.begin(), h.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool IsAccessor(std::string_view a) {
  if (a.empty() || a.size() > 128) return false;
  return std::all_of(a.begin(), a.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  });
}

std::string HashOf(const TokenEntry& e) { return e.hash.empty() ? Sha256Hex(e.id) : e.hash; }

}  // namespace

// --- TokenEntry --------------------------------------------------------------

int64_t TokenEntry::ExpireTime() const {
  if (ttl <= 0) return 0;
  return (last_renewal_time != 0 ? last_renewal_time : creation_time) + ttl;
}

bool TokenEntry::IsRoot() const {
  return std::find(policies.begin(), policies.end(), "root") != policies.end();
}

bool TokenEntry::UsableFrom(std::string_view remote_address) const {
  if (bound_cidrs.empty() || ttl == 0) return true;
  return AddressInCidrs(remote_address, bound_cidrs);
}

logical::Json TokenEntry::ToStorageJson() const {
  logical::Json meta_json = logical::Json::object();
  for (const auto& [k, v] : meta) meta_json[k] = v;
  logical::Json j{{"accessor", accessor},
                  {"parent", parent_hash},
                  {"policies", policies},
                  {"meta", std::move(meta_json)},
                  {"display_name", display_name},
                  {"path", path},
                  {"entity_id", entity_id},
                  {"role", role},
                  {"type", type},
                  {"creation_time", creation_time},
                  {"last_renewal_time", last_renewal_time},
                  {"creation_ttl", creation_ttl},
                  {"ttl", ttl},
                  {"explicit_max_ttl", explicit_max_ttl},
                  {"period", period},
                  {"max_ttl", max_ttl},
                  {"num_uses", num_uses},
                  {"renewable", renewable},
                  {"orphan", orphan}};
  // Absent when unbound: entries written before the field existed decode the same.
  if (!bound_cidrs.empty()) j["bound_cidrs"] = bound_cidrs;
  return j;
}

StatusOr<TokenEntry> TokenEntry::FromStorageJson(const logical::Json& j) {
  if (!j.is_object()) return DataLoss("stored token entry is not an object");
  try {
    TokenEntry e;
    e.accessor = j.value("accessor", std::string());
    e.parent_hash = j.value("parent", std::string());
    e.policies = j.value("policies", std::vector<std::string>());
    e.meta = j.value("meta", std::map<std::string, std::string>());
    e.display_name = j.value("display_name", std::string());
    e.path = j.value("path", std::string());
    e.entity_id = j.value("entity_id", std::string());
    e.role = j.value("role", std::string());
    e.type = j.value("type", std::string("service"));
    e.bound_cidrs = j.value("bound_cidrs", std::vector<std::string>());
    e.creation_time = j.value("creation_time", int64_t{0});
    e.last_renewal_time = j.value("last_renewal_time", int64_t{0});
    e.creation_ttl = j.value("creation_ttl", int64_t{0});
    e.ttl = j.value("ttl", int64_t{0});
    e.explicit_max_ttl = j.value("explicit_max_ttl", int64_t{0});
    e.period = j.value("period", int64_t{0});
    e.max_ttl = j.value("max_ttl", int64_t{0});
    e.num_uses = j.value("num_uses", int64_t{0});
    e.renewable = j.value("renewable", true);
    e.orphan = j.value("orphan", e.parent_hash.empty());
    return e;
  } catch (const logical::Json::exception&) {
    return DataLoss("stored token entry is malformed");
  }
}

// --- TokenStore --------------------------------------------------------------

TokenStore::TokenStore(storage::Backend& storage, Clock& clock)
    : storage_(storage), clock_(clock) {}

void TokenStore::SetRevokeHook(RevokeHook hook) { revoke_hook_ = std::move(hook); }

std::mutex& TokenStore::LockFor(std::string_view hash) {
  return token_locks_[std::hash<std::string_view>{}(hash) % token_locks_.size()];
}

void TokenStore::Invalidate(const std::string& hash, const TokenEntry* updated) {
  std::lock_guard lock(mu_);
  ++generation_;
  if (updated) {
    TokenEntry copy = *updated;
    copy.id.clear();  // raw tokens are not kept in the cache
    cache_.insert_or_assign(hash, std::move(copy));
  } else {
    cache_.erase(hash);
  }
}

void TokenStore::IndexExpiry(const std::string& hash, int64_t expire) {
  std::lock_guard lock(mu_);
  if (auto it = expiry_of_.find(hash); it != expiry_of_.end()) {
    expiry_.erase({it->second, hash});
    expiry_of_.erase(it);
  }
  if (expire > 0) {
    expiry_.insert({expire, hash});
    expiry_of_[hash] = expire;
  }
}

void TokenStore::ClearCache() {
  std::lock_guard lock(mu_);
  ++generation_;
  ++clear_epoch_;
  cache_.clear();
  expiry_.clear();
  expiry_of_.clear();
  index_loaded_ = false;
}

StatusOr<std::optional<std::pair<TokenEntry, std::string>>> TokenStore::Load(
    std::string_view hash) {
  using R = std::optional<std::pair<TokenEntry, std::string>>;
  if (!IsHash(hash)) return R();
  ARCA_ASSIGN_OR_RETURN(auto raw, storage_.Get(IdKey(hash)));
  if (!raw) return R();
  logical::Json j = logical::Json::parse(*raw, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return DataLoss("stored token entry is not JSON");
  ARCA_ASSIGN_OR_RETURN(TokenEntry e, TokenEntry::FromStorageJson(j));
  e.hash = std::string(hash);
  return R(std::make_pair(std::move(e), std::move(*raw)));
}

Status TokenStore::Save(const TokenEntry& entry, bool create) {
  std::vector<Condition> conds;
  std::vector<Op> ops;
  const std::string key = IdKey(entry.hash);
  ops.push_back(Op::Put(key, entry.ToStorageJson().dump()));
  if (create) {
    conds.push_back(Condition::Absent(key));
    conds.push_back(Condition::Absent(AccessorKey(entry.accessor)));
    ops.push_back(Op::Put(AccessorKey(entry.accessor), entry.hash));
    if (!entry.parent_hash.empty()) {
      conds.push_back(Condition::Exists(IdKey(entry.parent_hash)));
      ops.push_back(Op::Put(ParentKey(entry.parent_hash, entry.hash), ""));
    }
  } else {
    conds.push_back(Condition::Exists(key));
  }
  return storage_.Txn(conds, ops);
}

StatusOr<TokenEntry> TokenStore::Create(TokenEntry entry) {
  const bool custom = !entry.id.empty();
  if (entry.id.size() > kMaxTokenLength) return InvalidArgument("token ID is too long");
  if (!entry.parent_hash.empty() && !IsHash(entry.parent_hash))
    return InvalidArgument("parent token not found");
  if (entry.creation_time == 0) entry.creation_time = clock_.UnixNow();
  entry.orphan = entry.parent_hash.empty();
  for (int attempt = 0; attempt < kMaxTxnAttempts; ++attempt) {
    if (!custom) entry.id = "hvs." + RandomBase62(24);
    entry.hash = Sha256Hex(entry.id);
    entry.accessor = RandomBase62(24);
    Status st = Save(entry, /*create=*/true);
    if (st.ok()) {
      IndexExpiry(entry.hash, entry.ExpireTime());
      return entry;
    }
    if (!IsAborted(st)) return st;
    // Find out which condition failed.
    ARCA_ASSIGN_OR_RETURN(auto existing, storage_.Get(IdKey(entry.hash)));
    if (existing) {
      if (custom) return InvalidArgument("cannot create a token with a duplicate ID");
      continue;
    }
    if (!entry.parent_hash.empty()) {
      ARCA_ASSIGN_OR_RETURN(auto parent, storage_.Get(IdKey(entry.parent_hash)));
      if (!parent) return InvalidArgument("parent token not found");
    }
    // An accessor collision: draw again.
  }
  return Internal("could not allocate a unique token");
}

StatusOr<std::optional<TokenEntry>> TokenStore::LookupInternal(std::string_view hash,
                                                               bool allow_pending) {
  using R = std::optional<TokenEntry>;
  if (!IsHash(hash)) return R();
  const std::string key(hash);
  R e;
  uint64_t gen = 0;
  {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(key); it != cache_.end()) e = it->second;
    gen = generation_;
  }
  if (!e) {
    ARCA_ASSIGN_OR_RETURN(auto loaded, Load(key));
    if (!loaded) return R();
    e = std::move(loaded->first);
    std::lock_guard lock(mu_);
    // Only cache what no change has overtaken since we read it.
    if (generation_ == gen) {
      if (cache_.size() >= kMaxCacheEntries) cache_.erase(cache_.begin());
      cache_.insert_or_assign(key, *e);
    }
  }
  int64_t exp = e->ExpireTime();
  if (exp != 0 && Expired(exp, clock_.UnixNow())) return R();
  if (e->num_uses < 0 && !(allow_pending && e->num_uses == TokenEntry::kRevocationPending))
    return R();
  return e;
}

StatusOr<std::optional<TokenEntry>> TokenStore::Lookup(std::string_view token) {
  using R = std::optional<TokenEntry>;
  if (token.empty() || token.size() > kMaxTokenLength) return R();
  ARCA_ASSIGN_OR_RETURN(R e, LookupInternal(Sha256Hex(token), false));
  if (e) e->id = std::string(token);
  return e;
}

StatusOr<std::optional<TokenEntry>> TokenStore::LookupForRequest(std::string_view token) {
  using R = std::optional<TokenEntry>;
  if (token.empty() || token.size() > kMaxTokenLength) return R();
  ARCA_ASSIGN_OR_RETURN(R e, LookupInternal(Sha256Hex(token), true));
  if (e) e->id = std::string(token);
  return e;
}

StatusOr<std::optional<TokenEntry>> TokenStore::LookupByHash(std::string_view hash) {
  return LookupInternal(hash, false);
}

StatusOr<std::optional<TokenEntry>> TokenStore::LookupByAccessor(std::string_view accessor) {
  using R = std::optional<TokenEntry>;
  if (!IsAccessor(accessor)) return R();
  ARCA_ASSIGN_OR_RETURN(auto hash, storage_.Get(AccessorKey(accessor)));
  if (!hash) return R();
  return LookupInternal(*hash, false);
}

StatusOr<int64_t> TokenStore::UseToken(const TokenEntry& entry) {
  if (entry.num_uses == 0) return int64_t{-1};
  const std::string hash = HashOf(entry);
  std::lock_guard token_lock(LockFor(hash));
  for (int attempt = 0; attempt < kMaxTxnAttempts; ++attempt) {
    ARCA_ASSIGN_OR_RETURN(auto loaded, Load(hash));
    if (!loaded) return PermissionDenied();
    TokenEntry e = std::move(loaded->first);
    int64_t exp = e.ExpireTime();
    if (exp != 0 && Expired(exp, clock_.UnixNow())) return PermissionDenied();
    if (e.num_uses == 0) return int64_t{-1};
    if (e.num_uses < 0) return PermissionDenied();
    const int64_t left = e.num_uses - 1;
    e.num_uses = left == 0 ? TokenEntry::kRevocationPending : left;
    Status st = storage_.Txn({Condition::Equals(IdKey(hash), loaded->second)},
                             {Op::Put(IdKey(hash), e.ToStorageJson().dump())});
    if (st.ok()) {
      Invalidate(hash, &e);
      return left;
    }
    if (!IsAborted(st)) return st;
  }
  return Unavailable("token is being modified concurrently");
}

StatusOr<TokenEntry> TokenStore::Renew(const TokenEntry& entry, const RenewParams& params,
                                       std::vector<std::string>* warnings) {
  const std::string hash = HashOf(entry);
  std::lock_guard token_lock(LockFor(hash));
  for (int attempt = 0; attempt < kMaxTxnAttempts; ++attempt) {
    ARCA_ASSIGN_OR_RETURN(auto loaded, Load(hash));
    if (!loaded) return InvalidArgument("invalid lease ID");
    TokenEntry e = std::move(loaded->first);
    if (e.ttl <= 0) return InvalidArgument("invalid lease ID");
    const int64_t now = clock_.UnixNow();
    if (Expired(e.ExpireTime(), now)) return InvalidArgument("lease expired");
    if (!e.renewable) return InvalidArgument("lease is not renewable");

    TtlInputs in;
    in.increment = params.increment;
    in.backend_ttl = params.backend_ttl.value_or(e.ttl);
    in.period = params.period;
    in.backend_max_ttl = params.max_ttl;
    in.explicit_max_ttl = params.explicit_max_ttl;
    in.mount_default_ttl = params.mount_default_ttl;
    in.mount_max_ttl = params.mount_max_ttl;
    in.start_time = e.creation_time;
    in.now = now;
    std::vector<std::string> w;
    ARCA_ASSIGN_OR_RETURN(int64_t ttl, CalculateTtl(in, &w));
    e.ttl = ttl;
    e.last_renewal_time = now;
    Status st = storage_.Txn({Condition::Equals(IdKey(hash), loaded->second)},
                             {Op::Put(IdKey(hash), e.ToStorageJson().dump())});
    if (st.ok()) {
      Invalidate(hash, &e);
      IndexExpiry(hash, e.ExpireTime());
      if (warnings) warnings->insert(warnings->end(), w.begin(), w.end());
      e.id = entry.id;
      return e;
    }
    if (!IsAborted(st)) return st;
  }
  return Unavailable("token is being modified concurrently");
}

StatusOr<TokenEntry> TokenStore::Renew(const TokenEntry& entry, int64_t increment, int64_t max_ttl,
                                       std::vector<std::string>* warnings) {
  RenewParams p;
  p.increment = increment;
  p.period = entry.period;
  p.explicit_max_ttl = entry.explicit_max_ttl;
  p.max_ttl = entry.max_ttl;
  p.mount_default_ttl = max_ttl;
  p.mount_max_ttl = max_ttl;
  return Renew(entry, p, warnings);
}

Status TokenStore::RevokeRecords(const std::string& hash, TokenEntry* gone, bool* revoked) {
  *revoked = false;
  {
    std::lock_guard token_lock(LockFor(hash));
    for (int attempt = 0;; ++attempt) {
      if (attempt == kMaxTxnAttempts) return Unavailable("token is being modified concurrently");
      ARCA_ASSIGN_OR_RETURN(auto loaded, Load(hash));
      if (!loaded) break;
      const TokenEntry& e = loaded->first;
      std::vector<Op> ops{Op::Delete(IdKey(hash))};
      if (IsAccessor(e.accessor)) ops.push_back(Op::Delete(AccessorKey(e.accessor)));
      if (IsHash(e.parent_hash)) ops.push_back(Op::Delete(ParentKey(e.parent_hash, hash)));
      Status st = storage_.Txn({Condition::Equals(IdKey(hash), loaded->second)}, ops);
      if (st.ok()) {
        *gone = e;
        *revoked = true;
        break;
      }
      if (!IsAborted(st)) return st;
    }
  }
  Invalidate(hash, nullptr);
  IndexExpiry(hash, 0);
  return OkStatus();
}

Status TokenStore::RevokeOne(const TokenEntry& entry) {
  const std::string hash = HashOf(entry);
  TokenEntry gone;
  bool revoked = false;
  ARCA_RETURN_IF_ERROR(RevokeRecords(hash, &gone, &revoked));
  if (revoked && revoke_hook_) {
    gone.id = entry.id;
    revoke_hook_(gone);
  }
  return OkStatus();
}

StatusOr<int> TokenStore::RevokeTreeCounting(const TokenEntry& entry) {
  const std::string root = HashOf(entry);
  if (!IsHash(root)) return 0;
  int count = 0;
  // Each token is deleted before its children are listed: once it is gone no
  // new child can be attached (Create requires the parent), so the listing is
  // complete.
  std::vector<std::string> stack{root};
  while (!stack.empty()) {
    std::string hash = std::move(stack.back());
    stack.pop_back();
    TokenEntry gone;
    bool revoked = false;
    ARCA_RETURN_IF_ERROR(RevokeRecords(hash, &gone, &revoked));
    if (revoked) {
      ++count;
      if (revoke_hook_) {
        if (hash == root) gone.id = entry.id;
        revoke_hook_(gone);
      }
    }
    const std::string prefix = ChildrenPrefix(hash);
    ARCA_ASSIGN_OR_RETURN(auto children, storage_.List(prefix));
    for (auto& child : children) {
      if (!IsHash(child)) continue;
      // The child's own revocation removes this link too; dangling links
      // (child already gone) are removed here.
      ARCA_RETURN_IF_ERROR(storage_.Delete(prefix + child));
      stack.push_back(std::move(child));
    }
  }
  return count;
}

Status TokenStore::RevokeTree(const TokenEntry& entry) {
  ARCA_ASSIGN_OR_RETURN(int n, RevokeTreeCounting(entry));
  (void)n;
  return OkStatus();
}

// Loads a chunk of entries with a few threads at once (a remote engine such
// as etcd batches concurrent reads into one request, so a scan costs a
// fraction of one round trip per token), then calls fn on them one at a
// time, in list order.
StatusOr<std::size_t> TokenStore::ForEachStored(
    const std::function<Status(const std::string& hash, const TokenEntry&)>& fn) {
  constexpr std::size_t kChunk = 512;
  constexpr std::size_t kLoaders = 8;
  ARCA_ASSIGN_OR_RETURN(auto hashes, storage_.List(kIdPrefix));
  hashes.erase(
      std::remove_if(hashes.begin(), hashes.end(), [](const std::string& h) { return !IsHash(h); }),
      hashes.end());
  using Loaded = StatusOr<std::optional<std::pair<TokenEntry, std::string>>>;
  for (std::size_t begin = 0; begin < hashes.size(); begin += kChunk) {
    const std::size_t n = std::min(kChunk, hashes.size() - begin);
    std::vector<Loaded> loaded(n, Loaded(std::nullopt));
    {
      std::vector<std::jthread> loaders;
      const std::size_t threads = std::min(kLoaders, n);
      for (std::size_t t = 0; t < threads; ++t) {
        loaders.emplace_back([&, t] {
          for (std::size_t i = t; i < n; i += threads) loaded[i] = Load(hashes[begin + i]);
        });
      }
    }  // joined
    for (std::size_t i = 0; i < n; ++i) {
      if (!loaded[i].ok()) {
        if (loaded[i].status().code() == Code::kDataLoss) continue;  // skip a corrupt entry
        return loaded[i].status();
      }
      if (*loaded[i]) ARCA_RETURN_IF_ERROR(fn(hashes[begin + i], (*loaded[i])->first));
    }
  }
  return hashes.size();
}

StatusOr<int> TokenStore::RevokeByPathPrefix(std::string_view prefix) {
  int matched = 0;
  ARCA_RETURN_IF_ERROR(ForEachStored([&](const std::string&, const TokenEntry& e) -> Status {
                         if (e.path.rfind(prefix, 0) != 0) return OkStatus();
                         ++matched;
                         return RevokeTree(e);
                       }).status());
  return matched;
}

Status TokenStore::RevokeOrphan(const TokenEntry& entry) {
  const std::string hash = HashOf(entry);
  if (!IsHash(hash)) return OkStatus();
  ARCA_RETURN_IF_ERROR(RevokeOne(entry));
  const std::string prefix = ChildrenPrefix(hash);
  ARCA_ASSIGN_OR_RETURN(auto children, storage_.List(prefix));
  for (const auto& child : children) {
    if (!IsHash(child)) continue;
    std::lock_guard token_lock(LockFor(child));
    for (int attempt = 0; attempt < kMaxTxnAttempts; ++attempt) {
      ARCA_ASSIGN_OR_RETURN(auto loaded, Load(child));
      if (!loaded || loaded->first.parent_hash != hash) break;
      TokenEntry e = std::move(loaded->first);
      e.parent_hash.clear();
      e.orphan = true;
      Status st = storage_.Txn({Condition::Equals(IdKey(child), loaded->second)},
                               {Op::Put(IdKey(child), e.ToStorageJson().dump())});
      if (st.ok()) {
        Invalidate(child, &e);
        break;
      }
      if (!IsAborted(st)) return st;
    }
    ARCA_RETURN_IF_ERROR(storage_.Delete(prefix + child));
  }
  return OkStatus();
}

StatusOr<std::vector<std::string>> TokenStore::ListAccessors() {
  ARCA_ASSIGN_OR_RETURN(auto keys, storage_.List(kAccessorPrefix));
  std::vector<std::string> out;
  out.reserve(keys.size());
  for (auto& k : keys) {
    if (IsAccessor(k)) out.push_back(std::move(k));
  }
  return out;
}

Status TokenStore::LoadIndex() {
  uint64_t epoch = 0;
  {
    std::lock_guard lock(mu_);
    epoch = clear_epoch_;
  }
  const SteadyTime start = clock_.SteadyNow();
  ARCA_ASSIGN_OR_RETURN(std::size_t scanned,
                        ForEachStored([&](const std::string& hash, const TokenEntry& e) {
                          int64_t exp = e.ExpireTime();
                          if (exp == 0) return OkStatus();
                          std::lock_guard lock(mu_);
                          // A newer value (from a Create or Renew since our read) wins.
                          if (expiry_of_.count(hash)) return OkStatus();
                          expiry_.insert({exp, hash});
                          expiry_of_[hash] = exp;
                          return OkStatus();
                        }));
  std::lock_guard lock(mu_);
  if (clear_epoch_ == epoch) index_loaded_ = true;
  spdlog::info(
      "core: token expiry index loaded: {} tokens in {} ms", scanned,
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.SteadyNow() - start).count());
  return OkStatus();
}

StatusOr<int> TokenStore::ExpireDueLocked() {
  bool loaded = false;
  {
    std::lock_guard lock(mu_);
    loaded = index_loaded_;
  }
  if (!loaded) ARCA_RETURN_IF_ERROR(LoadIndex());
  const int64_t now = clock_.UnixNow();
  std::vector<std::string> due;
  {
    std::lock_guard lock(mu_);
    for (auto it = expiry_.begin(); it != expiry_.end() && Expired(it->first, now); ++it)
      due.push_back(it->second);
  }
  int count = 0;
  for (const auto& hash : due) {
    auto loaded = Load(hash);
    if (!loaded.ok() && loaded.status().code() != Code::kDataLoss) return loaded.status();
    if (!loaded.ok() || !*loaded) {
      IndexExpiry(hash, 0);
      continue;
    }
    const TokenEntry& e = (*loaded)->first;
    int64_t exp = e.ExpireTime();
    if (exp == 0 || !Expired(exp, now)) {  // renewed since it was indexed
      IndexExpiry(hash, exp);
      continue;
    }
    ARCA_ASSIGN_OR_RETURN(int n, RevokeTreeCounting(e));
    count += n;
  }
  return count;
}

StatusOr<int> TokenStore::ExpireDue() {
  std::lock_guard guard(expire_mu_);
  return ExpireDueLocked();
}

StatusOr<TokenStore::TidyResult> TokenStore::Tidy() {
  std::lock_guard guard(expire_mu_);
  TidyResult r;

  // Accessors whose token is gone.
  ARCA_ASSIGN_OR_RETURN(auto accessors, storage_.List(kAccessorPrefix));
  for (const auto& acc : accessors) {
    if (!IsAccessor(acc)) continue;
    ARCA_ASSIGN_OR_RETURN(auto hash, storage_.Get(AccessorKey(acc)));
    if (!hash) continue;
    std::vector<Condition> conds{Condition::Equals(AccessorKey(acc), *hash)};
    if (IsHash(*hash)) conds.push_back(Condition::Absent(IdKey(*hash)));
    Status st = storage_.Txn(conds, {Op::Delete(AccessorKey(acc))});
    if (st.ok()) {
      ++r.dangling_accessors;
    } else if (!IsAborted(st)) {
      return st;
    }
  }

  // Children index: links to missing children, and live children of a
  // parent that is gone (an interrupted tree revocation).
  ARCA_ASSIGN_OR_RETURN(auto parents, storage_.List(kParentPrefix));
  for (auto parent : parents) {
    if (parent.empty() || parent.back() != '/') continue;
    parent.pop_back();
    if (!IsHash(parent)) continue;
    ARCA_ASSIGN_OR_RETURN(auto parent_raw, storage_.Get(IdKey(parent)));
    const std::string prefix = ChildrenPrefix(parent);
    ARCA_ASSIGN_OR_RETURN(auto children, storage_.List(prefix));
    for (const auto& child : children) {
      if (!IsHash(child)) continue;
      ARCA_ASSIGN_OR_RETURN(auto loaded, Load(child));
      if (!loaded) {
        ARCA_RETURN_IF_ERROR(storage_.Delete(prefix + child));
        ++r.dangling_parent_links;
      } else if (!parent_raw) {
        ARCA_ASSIGN_OR_RETURN(int n, RevokeTreeCounting(loaded->first));
        r.orphaned_children += n;
        ARCA_RETURN_IF_ERROR(storage_.Delete(prefix + child));
      }
    }
  }

  ARCA_ASSIGN_OR_RETURN(r.expired, ExpireDueLocked());
  return r;
}

}  // namespace arca::core
