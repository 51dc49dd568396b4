// arca: TokenStore, the service tokens and their parent/child tree.
//
// Storage layout, below the barrier view the store is given ("sys/token/"):
//   id/<sha256 hex of token>        → TokenEntry JSON (the raw token is never stored)
//   accessor/<accessor>             → sha256 hex of the token
//   parent/<parent hash>/<child hash> → "" (children index)
//   roles/<name>                    → token role JSON (kept by TokenBackend)
// A token and its accessor (and its parent link) are written in one Txn,
// conditioned on the parent still existing, so no child can be added to a
// token once its revocation has started.
//
// Tokens are "hvs." + 24 base62 characters; accessors 24 base62 characters.
// An expired token is treated as missing by Lookup and revoked in the
// background by ExpireDue. Revoking a token revokes every descendant (not
// orphans) and runs the revocation hook for each (core destroys the token's
// cubbyhole there). Safe for concurrent use: entries are cached in memory
// (hash → entry) and every change invalidates the cache; writes to one token
// are serialised by a per-token lock and conditioned on the stored bytes.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "logical/request.h"
#include "storage/backend.h"

namespace arca::core {

struct TokenEntry {
  // num_uses of a token whose last use has been consumed: it stays valid only
  // for the request in flight (see TokenStore::UseToken) and is then revoked.
  static constexpr int64_t kRevocationPending = -1;

  std::string id;        // the raw token; in memory only, never serialised
  std::string hash;      // sha256 hex of id: the storage key and cubbyhole key
  std::string accessor;
  std::string parent_hash;  // "" for orphans
  std::vector<std::string> policies;  // sorted, de-duplicated
  std::map<std::string, std::string> meta;
  std::string display_name;
  std::string path;  // creation path, e.g. "auth/token/create"
  std::string entity_id;
  std::string role;
  std::string type = "service";
  // Addresses or CIDR blocks (base/cidr.h, as ParseAddrs renders them) the
  // token may be used from; empty = anywhere. Stored only when set.
  std::vector<std::string> bound_cidrs;
  int64_t creation_time = 0;     // unix seconds
  int64_t last_renewal_time = 0;  // unix seconds, 0 = never renewed
  int64_t creation_ttl = 0;  // seconds; 0 = never expires
  int64_t ttl = 0;           // current TTL granted at creation/last renewal (seconds)
  int64_t explicit_max_ttl = 0;
  int64_t period = 0;
  int64_t max_ttl = 0;   // backend max (auth method role max_ttl), 0 = the mount's
  int64_t num_uses = 0;  // 0 = unlimited; otherwise uses left (or kRevocationPending)
  bool renewable = true;
  bool orphan = false;

  // Unix second at which the token expires; 0 = never. The token is expired
  // from that second on.
  int64_t ExpireTime() const;
  bool IsRoot() const;  // holds the "root" policy
  // Whether a request from `remote_address` may use the token: it has no
  // bound_cidrs, never expires (Vault exempts non-expiring root tokens), or
  // the address lies in one of them. An unparseable address may not.
  bool UsableFrom(std::string_view remote_address) const;

  logical::Json ToStorageJson() const;
  // Errors: DataLoss if `j` is not a token entry.
  static StatusOr<TokenEntry> FromStorageJson(const logical::Json& j);
};

class TokenStore {
 public:
  using RevokeHook = std::function<void(const TokenEntry&)>;

  TokenStore(storage::Backend& storage, Clock& clock);

  // Called for every token revoked (directly, by tree, by expiry, by use
  // count), after it is gone from storage, without any store lock held.
  // Set before the store is used.
  void SetRevokeHook(RevokeHook hook);

  // Stores a new token. If entry.id is empty a fresh "hvs." token is minted;
  // otherwise the id is used verbatim (InvalidArgument `cannot create a token
  // with a duplicate ID` if taken). Fills id, hash, accessor, orphan and
  // creation_time (when 0). A non-empty parent_hash must name a live token
  // (InvalidArgument `parent token not found`).
  StatusOr<TokenEntry> Create(TokenEntry entry);

  // The live entry, or nullopt if unknown, expired, or on its last use. Only
  // Lookup fills entry.id (the other lookups cannot know it).
  StatusOr<std::optional<TokenEntry>> Lookup(std::string_view token);
  StatusOr<std::optional<TokenEntry>> LookupByHash(std::string_view hash);
  StatusOr<std::optional<TokenEntry>> LookupByAccessor(std::string_view accessor);
  // As Lookup, but also finds a token whose last use is being consumed by the
  // request in flight (for the token endpoints that request reaches, e.g.
  // lookup-self on a locker token's last use).
  StatusOr<std::optional<TokenEntry>> LookupForRequest(std::string_view token);

  // Consumes one use of a limited-use token; call it before the request is
  // handled. Returns the uses left after this one (0 means this was the
  // last: the caller revokes the token after the request completes).
  // Unlimited tokens return -1 without writing. Linearizable: of concurrent
  // calls on a token with n uses left exactly n succeed; the others get
  // PermissionDenied (as does a token that is gone or expired).
  StatusOr<int64_t> UseToken(const TokenEntry& entry);

  struct RenewParams {
    int64_t increment = 0;          // requested, seconds; 0 = the last granted TTL
    // The auth method's TTL (Vault's Auth.TTL after its renew handler; 0 =
    // the mount default); nullopt = the TTL granted last.
    std::optional<int64_t> backend_ttl;
    int64_t period = 0;             // periodic tokens get this TTL
    int64_t explicit_max_ttl = 0;   // hard cap from creation
    int64_t max_ttl = 0;            // backend (role) max, 0 = none
    int64_t mount_default_ttl = 0;  // effective TTLs of the token's mount
    int64_t mount_max_ttl = 0;
  };
  // Renews with Vault's rules (see CalculateTtl in token_ttl.h, measured from
  // the creation time). Warnings (capping) are appended to `warnings`.
  // Errors: InvalidArgument `invalid lease ID` (unknown, or a token that
  // never expires), `lease expired`, `lease is not renewable`, `past the max
  // TTL, cannot renew`. Returns the updated entry (id copied from `entry`).
  StatusOr<TokenEntry> Renew(const TokenEntry& entry, const RenewParams& params,
                             std::vector<std::string>* warnings);
  // Renews: new TTL = increment (or the entry's original TTL if 0), capped by
  // explicit_max_ttl and `max_ttl` (the mount/system max) measured from
  // creation; periodic tokens get `period`. Errors as above.
  StatusOr<TokenEntry> Renew(const TokenEntry& entry, int64_t increment, int64_t max_ttl,
                             std::vector<std::string>* warnings);

  // Revokes the token and all its descendants. Revoking a token that is
  // already gone succeeds.
  Status RevokeTree(const TokenEntry& entry);
  // Revokes the token only; its children become orphans.
  Status RevokeOrphan(const TokenEntry& entry);
  // Revokes (with descendants) every token whose path starts with `prefix`,
  // e.g. "auth/jwt/" when that auth method is disabled. Returns how many
  // matched. Bounded by the number of stored tokens.
  StatusOr<int> RevokeByPathPrefix(std::string_view prefix);

  // Sorted accessors of all stored tokens.
  StatusOr<std::vector<std::string>> ListAccessors();

  // Revokes every token expired at now (and its descendants). Returns how
  // many tokens it revoked. The expiry index is loaded from storage on the
  // first call (and after ClearCache), so later calls only touch due tokens.
  StatusOr<int> ExpireDue();

  struct TidyResult {
    int expired = 0;                 // expired tokens revoked
    int dangling_accessors = 0;      // accessor entries without a token, removed
    int dangling_parent_links = 0;   // children index entries without a child, removed
    int orphaned_children = 0;       // tokens whose parent is gone, revoked
  };
  // Repairs what an interrupted revocation can leave behind. Bounded by
  // the number of stored tokens.
  StatusOr<TidyResult> Tidy();

  // Drops in-memory caches (after seal or a storage change made elsewhere).
  void ClearCache();

  // The view the store was given (TokenBackend keeps roles below it).
  storage::Backend& storage() { return storage_; }
  Clock& clock() { return clock_; }

 private:
  std::mutex& LockFor(std::string_view hash);
  StatusOr<std::optional<TokenEntry>> LookupInternal(std::string_view hash, bool allow_pending);
  // The stored entry and its raw bytes, bypassing the cache.
  StatusOr<std::optional<std::pair<TokenEntry, std::string>>> Load(std::string_view hash);
  // Calls fn for every stored token (corrupt entries skipped), stopping at
  // its first error. Returns how many token ids were listed.
  StatusOr<std::size_t> ForEachStored(
      const std::function<Status(const std::string& hash, const TokenEntry&)>& fn);
  Status RevokeOne(const TokenEntry& entry);
  // Deletes one token's records; sets *revoked when it was still there.
  Status RevokeRecords(const std::string& hash, TokenEntry* gone, bool* revoked);
  Status Save(const TokenEntry& entry, bool create);
  void Invalidate(const std::string& hash, const TokenEntry* updated);
  void IndexExpiry(const std::string& hash, int64_t expire);
  Status LoadIndex();
  StatusOr<int> RevokeTreeCounting(const TokenEntry& entry);
  StatusOr<int> ExpireDueLocked();  // expire_mu_ held

  storage::Backend& storage_;
  Clock& clock_;
  RevokeHook revoke_hook_;
  std::mutex mu_;
  std::unordered_map<std::string, TokenEntry> cache_;  // hash → entry; guarded by mu_
  uint64_t generation_ = 0;                            // bumped on every change; mu_
  // Expiry index, a superset of the live expiring tokens; guarded by mu_.
  std::set<std::pair<int64_t, std::string>> expiry_;
  std::unordered_map<std::string, int64_t> expiry_of_;
  bool index_loaded_ = false;
  uint64_t clear_epoch_ = 0;  // bumped by ClearCache; guarded by mu_
  std::mutex expire_mu_;                   // one ExpireDue/Tidy at a time
  std::array<std::mutex, 64> token_locks_;  // striped per-token write locks
};

}  // namespace arca::core
