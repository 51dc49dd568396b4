// arca auth/jwt (internal): evaluating a verified token's claims against a
// role, as Vault's jwt plugin v0.16 (claims.go, createIdentity).
//
// Claim names starting with '/' are JSON pointers (RFC 6901) into the claims
// (user_claim only when user_claim_json_pointer is set; groups_claim,
// bound_claims keys and claim_mappings keys always). Pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt/role.h"
#include "base/status.h"
#include "logical/request.h"

namespace arca::auth::jwt {

using logical::Json;

// The value at `claim` (pointer or plain key); nullptr when absent or not
// reachable.
const Json* GetClaim(const Json& claims, std::string_view claim);

// go-glob's Glob: '*' matches any run of characters, nothing else is special.
bool GlobMatch(std::string_view pattern, std::string_view subject);

// Every bound claim must be present and one expected value must equal (or,
// for type "glob", match) one actual value; only strings and bools (and lists
// of them) compare. InvalidArgument with Vault's reason: `claim "x" is
// missing`, `claim "x" does not match any associated bound claim values`,
// `received claim is not a string or list: ...`.
Status ValidateBoundClaims(const std::string& type, const Json& bound, const Json& claims);

struct Identity {
  logical::Alias alias;                       // name = user claim, metadata = claim_mappings
  std::vector<logical::Alias> group_aliases;  // one per groups claim value, unique
};

// The entity alias and group aliases of a login. InvalidArgument with
// Vault's messages: `claim "email" not found in token`, `claim "x" could not
// be converted to string`, `error converting claim 'x' to string`,
// `failed to fetch groups: "groups" claim not found in token`, `"groups"
// claim could not be converted to string list`.
StatusOr<Identity> CreateIdentity(const Json& claims, const JwtRole& role);

}  // namespace arca::auth::jwt
