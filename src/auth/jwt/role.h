// arca auth/jwt (internal): roles, `auth/<m>/role/<name>` (vault-api.md 6.2).
//
// A JwtRole is a plain value; ApplyRoleWrite turns a write request into the
// new role exactly as Vault's jwt plugin v0.16 does (fields absent from an
// update keep their value, except role_type and bound_claims_type which fall
// back to their defaults as in Vault), with Vault's validation messages.
// Durations are whole seconds. Pure functions.
//
// arca extension: `userinfo_claims` (bool, default false). When true, a JWT
// login on this role calls the provider's userinfo endpoint (from the
// discovery document) with the presented token as a Bearer token, merges the
// answer into the token's claims and only then evaluates user_claim,
// groups_claim, bound_claims and claim_mappings. See auth/auth.h.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "logical/request.h"

namespace arca::auth::jwt {

using logical::Json;

struct JwtRole {
  std::string role_type = "oidc";  // "jwt" | "oidc"

  // Nullable lists read back as JSON null when never set (as Go's nil slices).
  std::optional<std::vector<std::string>> bound_audiences;
  std::string bound_subject;
  std::string bound_claims_type = "string";  // "string" | "glob"
  Json bound_claims;                         // object or null
  std::optional<std::map<std::string, std::string>> claim_mappings;
  std::string user_claim;
  bool user_claim_json_pointer = false;
  std::string groups_claim;
  std::optional<std::vector<std::string>> oidc_scopes;
  std::optional<std::vector<std::string>> allowed_redirect_uris;
  bool verbose_oidc_logging = false;  // accepted and reported, never acted on
  int64_t max_age = 0;
  // Signed; 0 = default (150, 150, 60), -1 = none.
  int64_t expiration_leeway = 0;
  int64_t not_before_leeway = 0;
  int64_t clock_skew_leeway = 0;
  bool userinfo_claims = false;

  // tokenutil.TokenParams. CIDRs are kept as base/cidr.h ParseAddrs renders them.
  std::vector<std::string> token_policies;
  std::vector<std::string> token_bound_cidrs;
  int64_t token_ttl = 0;
  int64_t token_max_ttl = 0;
  int64_t token_explicit_max_ttl = 0;
  int64_t token_period = 0;
  int64_t token_num_uses = 0;
  bool token_no_default_policy = false;
  std::string token_type = "default";  // "default" | "service"

  // The legacy names, kept (and read back) as Vault keeps them.
  std::vector<std::string> policies;
  std::vector<std::string> bound_cidrs;
  int64_t ttl = 0;
  int64_t max_ttl = 0;
  int64_t period = 0;
  int64_t num_uses = 0;
};

// Role names as Vault's GenericNameRegex ([\w][\w.-]*[\w]), at most 512
// bytes; callers lowercase first.
bool ValidRoleName(const std::string& name);

struct RoleWrite {
  JwtRole role;
  std::vector<std::string> warnings;
};

// Applies a create/update body to `existing` (nullopt: a new role).
// `mount_max_ttl` (seconds, 0 = unknown) bounds token_period and triggers
// Vault's max-TTL warning. Errors: InvalidArgument with Vault's messages
// (field coercion errors included).
StatusOr<RoleWrite> ApplyRoleWrite(const std::optional<JwtRole>& existing, const Json& data,
                                   int64_t mount_max_ttl);

// The data of a role read (every field, durations as integer seconds, token
// fields under their token_* names, legacy names only when set).
Json RoleReadData(const JwtRole& role);

// Storage encoding. RoleFromJson returns Internal for an undecodable record.
std::string RoleToStorage(const JwtRole& role);
StatusOr<JwtRole> RoleFromStorage(const std::string& raw);

}  // namespace arca::auth::jwt
