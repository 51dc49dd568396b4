// arca auth/jwt (internal): the OIDC userinfo endpoint and the claims merge
// behind the `userinfo_claims` role option (an arca extension: EGI Check-in
// puts eduperson_entitlement, the VO memberships, only in userinfo).
//
// UserinfoCache remembers one userinfo answer per presented token, keyed by
// the token's SHA-256, until the token's expiry (unix seconds), so repeated
// logins with one access token cost one userinfo call. It holds at most
// `max_entries`; when full, expired entries go first, then those expiring
// soonest. Safe for concurrent use.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/status.h"
#include "logical/request.h"

namespace arca::auth::jwt {

using logical::Json;

// GET `endpoint` with "Authorization: Bearer <token>". Returns the JSON
// object. Errors: Unavailable (fetch), InvalidArgument ("userinfo request
// failed: 401 Unauthorized", signed/JWT answers, non-object bodies).
StatusOr<Json> FetchUserinfo(const std::string& endpoint, std::string_view bearer,
                             const std::string& ca_pem);

// InvalidArgument unless userinfo's `sub` is present and equals the token's
// (OIDC Core 5.3.2: otherwise the answer must not be used).
Status CheckUserinfoSubject(const Json& claims, const Json& userinfo);

// Merges `userinfo` into `claims` (both JSON objects): keys the token lacks
// are added; on a conflict the token's value stays, except for the top-level
// key of `groups_claim` (its first segment when it is a JSON pointer), which
// userinfo may provide. InvalidArgument as CheckUserinfoSubject.
Status MergeUserinfo(Json& claims, const Json& userinfo, std::string_view groups_claim);

class UserinfoCache {
 public:
  explicit UserinfoCache(Clock& clock, std::size_t max_entries = 10'000)
      : clock_(clock), max_(max_entries) {}

  std::optional<Json> Get(std::string_view token) const;
  // Keeps `userinfo` until `expires_unix`; ignored if already past.
  void Put(std::string_view token, Json userinfo, int64_t expires_unix);
  std::size_t SizeForTest() const;

 private:
  struct Entry {
    Json claims;
    int64_t expires = 0;
  };
  Clock& clock_;
  const std::size_t max_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;           // by Sha256(token)
  std::multimap<int64_t, std::string> by_expiry_;  // expiry → key
};

}  // namespace arca::auth::jwt
