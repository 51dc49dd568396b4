// arca auth/jwt: `login` with a JWT (Vault's pathLogin, v0.16), the login
// result shared with the OIDC callback, and the renewal of the tokens they
// mint (pathLoginRenew).
#include <spdlog/spdlog.h>

#include "auth/jwt/backend.h"
#include "auth/jwt/claims.h"
#include "auth/jwt/userinfo.h"
#include "auth/jwt/verify.h"
#include "base/cidr.h"
#include "logical/fields.h"

namespace arca::auth::jwt {

namespace {

constexpr std::size_t kMaxCachedUserinfoBytes = 64 * 1024;

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

// The unix time until which a userinfo answer may be cached: the token's exp.
int64_t CacheUntil(const Json& claims) {
  auto it = claims.find("exp");
  if (it == claims.end() || !it->is_number()) return 0;
  double d = it->get<double>();
  return d > 0 && d < 9e9 ? int64_t(d) : 0;
}

}  // namespace

Status JwtBackend::CheckCidrs(const Request& req, const JwtRole& role) const {
  if (role.token_bound_cidrs.empty()) return OkStatus();
  if (req.remote_address.empty() || !AddressInCidrs(req.remote_address, role.token_bound_cidrs)) {
    return PermissionDenied();
  }
  return OkStatus();
}

StatusOr<logical::Response> JwtBackend::Login(Request& req) {
  storage::Backend& s = Storage(req);
  ARCA_ASSIGN_OR_RETURN(auto provider, LoadProvider(s));
  if (!provider) return InvalidArgument("could not load configuration");
  const JwtConfig& config = provider->config();

  ARCA_ASSIGN_OR_RETURN(auto role_field, logical::GetString(req.data, "role"));
  std::string role_name = LowerAscii(role_field.value_or(""));
  if (role_name.empty()) role_name = config.default_role;
  if (role_name.empty()) return InvalidArgument("missing role");
  ARCA_ASSIGN_OR_RETURN(auto role, LoadRole(s, role_name));
  if (!role) return InvalidArgument("role " + Quote(role_name) + " could not be found");
  if (role->role_type == "oidc") return InvalidArgument("role with oidc role_type is not allowed");

  ARCA_ASSIGN_OR_RETURN(auto jwt_field, logical::GetString(req.data, "jwt"));
  const std::string token = jwt_field.value_or("");
  if (token.empty()) return InvalidArgument("missing token");
  ARCA_RETURN_IF_ERROR(CheckCidrs(req, *role));

  const AuthType type = provider->type();
  if (type != AuthType::kStaticKeys && type != AuthType::kJwks &&
      type != AuthType::kOidcDiscovery) {
    return InvalidArgument("error configuring token validator: unsupported config type");
  }
  auto keys = provider->Keys();
  if (!keys.ok()) {
    return InvalidArgument("error configuring token validator: " + keys.status().message());
  }

  Expected expected;
  expected.issuer = config.bound_issuer;
  expected.subject = role->bound_subject;
  expected.audiences = role->bound_audiences.value_or(std::vector<std::string>{});
  expected.algs =
      config.jwt_supported_algs.empty() ? DefaultLoginAlgs() : config.jwt_supported_algs;
  expected.not_before_leeway = role->not_before_leeway;
  expected.expiration_leeway = role->expiration_leeway;
  expected.clock_skew_leeway = role->clock_skew_leeway;
  auto claims = ValidateToken(token, **keys, expected, clock_);
  if (!claims.ok()) return InvalidArgument("error validating token: " + claims.status().message());

  // With no bound audiences, a token that names any audience is refused.
  auto auds = Audiences(*claims);
  if (auds && !auds->empty() && expected.audiences.empty()) {
    return InvalidArgument("audience claim found in JWT but no audiences bound to the role");
  }

  if (role->userinfo_claims) {
    auto info = Userinfo(*provider, token, *claims);
    if (!info.ok()) return InvalidArgument("error fetching userinfo: " + info.status().message());
    Status merged = MergeUserinfo(*claims, *info, role->groups_claim);
    if (!merged.ok()) return InvalidArgument("error fetching userinfo: " + merged.message());
  }

  ARCA_ASSIGN_OR_RETURN(Response resp, FinishLogin(*claims, *role, role_name));
  WarnIgnored(resp, req.data, {"role", "jwt"});
  return resp;
}

StatusOr<Json> JwtBackend::Userinfo(Provider& p, std::string_view token, const Json& claims) {
  if (auto cached = p.userinfo().Get(token)) return *cached;
  if (p.config().oidc_discovery_url.empty()) {
    return FailedPrecondition("userinfo_claims needs a mount configured with oidc_discovery_url");
  }
  ARCA_ASSIGN_OR_RETURN(DiscoveryDoc doc, p.Discovery());
  if (doc.userinfo_endpoint.empty()) {
    return FailedPrecondition("the provider's discovery document has no userinfo_endpoint");
  }
  ARCA_ASSIGN_OR_RETURN(Json info, FetchUserinfo(doc.userinfo_endpoint, token, p.ca_pem()));
  ARCA_RETURN_IF_ERROR(CheckUserinfoSubject(claims, info));  // never cache a foreign answer
  // Large answers are used but not kept, so the cache stays within ~640 MiB.
  if (info.dump().size() <= kMaxCachedUserinfoBytes)
    p.userinfo().Put(token, info, CacheUntil(claims));
  return info;
}

StatusOr<logical::Response> JwtBackend::FinishLogin(const Json& claims, const JwtRole& role,
                                                    const std::string& role_name) {
  auto identity = CreateIdentity(claims, role);
  if (!identity.ok()) return identity.status();
  Status bound = ValidateBoundClaims(role.bound_claims_type, role.bound_claims, claims);
  if (!bound.ok()) return InvalidArgument("error validating claims: " + bound.message());

  logical::Auth auth;
  auth.display_name = identity->alias.name;
  auth.metadata = {{"role", role_name}};
  for (const auto& [k, v] : identity->alias.metadata) auth.metadata[k] = v;
  auth.alias = identity->alias;
  auth.group_aliases = std::move(identity->group_aliases);
  auth.policies = role.token_policies;
  auth.ttl = role.token_ttl;
  auth.max_ttl = role.token_max_ttl;
  auth.explicit_max_ttl = role.token_explicit_max_ttl;
  auth.period = role.token_period;
  auth.num_uses = role.token_num_uses;
  auth.no_default_policy = role.token_no_default_policy;
  auth.bound_cidrs = role.token_bound_cidrs;
  auth.renewable = true;
  Response resp;
  resp.auth = std::move(auth);
  return resp;
}

StatusOr<logical::Auth> JwtBackend::Renew(Request& req, const logical::Auth& auth) {
  // Vault keeps the role in the token's internal data; arca's token metadata
  // "role" is set at login and cannot be changed afterwards.
  auto it = auth.metadata.find("role");
  if (it == auth.metadata.end() || it->second.empty()) {
    return Internal("failed to fetch role_name during renewal");
  }
  const std::string& role_name = it->second;
  auto role = LoadRole(Storage(req), role_name);
  if (!role.ok()) {
    return Internal("failed to validate role " + role_name +
                    " during renewal: " + role.status().message());
  }
  if (!*role) return Internal("role " + role_name + " does not exist during renewal");
  logical::Auth out = auth;
  out.ttl = (*role)->token_ttl;
  out.max_ttl = (*role)->token_max_ttl;
  out.period = (*role)->token_period;
  return out;
}

}  // namespace arca::auth::jwt
