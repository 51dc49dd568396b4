// arca: TokenStore, the service tokens and their parent/child tree.
//
// Storage layout, below the barrier view the store is given ("sys/token/"):
//   id/<sha256 hex of token>        → TokenEntry JSON (the raw token is never stored)
//   accessor/<accessor>             → sha256 hex of the token
//   parent/<parent hash>/<child hash> → "" (children index)
// A token and its accessor (and its parent link) are written in one Txn.
//
// Tokens are "hvs." + 24 base62 characters; accessors 24 base62 characters.
// An expired token is treated as missing by Lookup and revoked in the
// background by ExpireDue. Revoking a token revokes every descendant (not
// orphans) and runs the revocation hook for each (core destroys the token's
// cubbyhole there). Safe for concurrent use.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "logical/request.h"
#include "storage/backend.h"

namespace arca::core {

struct TokenEntry {
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
  int64_t creation_time = 0;     // unix seconds
  int64_t last_renewal_time = 0;  // unix seconds, 0 = never renewed
  int64_t creation_ttl = 0;  // seconds; 0 = never expires
  int64_t ttl = 0;           // current TTL granted at creation/last renewal (seconds)
  int64_t explicit_max_ttl = 0;
  int64_t period = 0;
  int64_t num_uses = 0;  // 0 = unlimited; otherwise uses left
  bool renewable = true;
  bool orphan = false;

  // Unix second at which the token expires; 0 = never.
  int64_t ExpireTime() const;
  bool IsRoot() const;

  logical::Json ToStorageJson() const;
  static StatusOr<TokenEntry> FromStorageJson(const logical::Json& j);
};

class TokenStore {
 public:
  using RevokeHook = std::function<void(const TokenEntry&)>;

  TokenStore(storage::Backend& storage, Clock& clock);

  // Called for every token revoked (directly, by tree, by expiry, by use count).
  void SetRevokeHook(RevokeHook hook);

  // Stores a new token. If entry.id is empty a fresh "hvs." token is minted;
  // otherwise the id is used verbatim (InvalidArgument `cannot create a token
  // with a duplicate ID` if taken). Fills id, hash, accessor, creation_time.
  StatusOr<TokenEntry> Create(TokenEntry entry);

  // The live entry, or nullopt if unknown or expired.
  StatusOr<std::optional<TokenEntry>> Lookup(std::string_view token);
  StatusOr<std::optional<TokenEntry>> LookupByHash(std::string_view hash);
  StatusOr<std::optional<TokenEntry>> LookupByAccessor(std::string_view accessor);

  // Consumes one use of a limited-use token. Returns the uses left after this
  // one (0 means this was the last: the caller revokes the token after the
  // request completes). Unlimited tokens return -1 without writing.
  StatusOr<int64_t> UseToken(const TokenEntry& entry);

  // Renews: new TTL = increment (or the entry's original TTL if 0), capped by
  // explicit_max_ttl and `max_ttl` (the mount/system max) measured from
  // creation; periodic tokens get `period`. Errors: InvalidArgument `lease is
  // not renewable` / `invalid lease ID` (root). Returns the updated entry.
  StatusOr<TokenEntry> Renew(const TokenEntry& entry, int64_t increment, int64_t max_ttl,
                             std::vector<std::string>* warnings);

  // Revokes the token and all its descendants.
  Status RevokeTree(const TokenEntry& entry);
  // Revokes the token only; its children become orphans.
  Status RevokeOrphan(const TokenEntry& entry);

  // Sorted accessors of all live tokens.
  StatusOr<std::vector<std::string>> ListAccessors();

  // Revokes every token expired at now. Returns how many.
  StatusOr<int> ExpireDue();

  // Drops in-memory caches (after seal or a storage change made elsewhere).
  void ClearCache();

 private:
  Status RevokeOne(const TokenEntry& entry);
  Status Save(const TokenEntry& entry, bool create);

  storage::Backend& storage_;
  Clock& clock_;
  RevokeHook revoke_hook_;
  std::mutex mu_;
  std::unordered_map<std::string, TokenEntry> cache_;  // hash → entry
};

}  // namespace arca::core
