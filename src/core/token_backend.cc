// arca: the auth/token/ endpoints other than create (token_create.cc), and
// the wire rendering of token entries. See token_backend.h.
#include "core/token_backend.h"

#include <algorithm>
#include <chrono>

#include "base/cidr.h"
#include "base/time.h"
#include "core/token_ttl.h"
#include "logical/fields.h"

namespace arca::core {

using logical::Json;
using logical::Operation;
using logical::Request;
using logical::Response;

namespace {

constexpr std::string_view kRolesPrefix = "roles/";

bool IsWrite(Operation op) { return op == Operation::kCreate || op == Operation::kUpdate; }
bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::string Rfc3339(int64_t unix_seconds) {
  return FormatRfc3339Nano(std::chrono::system_clock::from_time_t(unix_seconds));
}

// Vault's framework warning for body fields no handler reads.
void WarnIgnored(Response& resp, const Json& data, const std::vector<std::string>& known) {
  auto unknown = logical::UnknownFields(data, known);
  if (unknown.empty()) return;
  std::string list;
  for (const auto& u : unknown) list += (list.empty() ? "" : " ") + u;
  resp.warnings.push_back("Endpoint ignored these unrecognized parameters: [" + list + "]");
}

StatusOr<std::string> RequiredString(const Json& data, const char* field, const char* missing) {
  ARCA_ASSIGN_OR_RETURN(auto v, logical::GetString(data, field));
  if (!v || v->empty()) return InvalidArgument(missing);
  return *v;
}

}  // namespace

// --- rendering ------------------------------------------------------------------

StatusOr<TokenEntry> CreateTokenFromAuth(TokenStore& store, const logical::Auth& auth,
                                         std::string_view path, int64_t mount_default_ttl,
                                         int64_t mount_max_ttl,
                                         std::vector<std::string>* warnings) {
  if (auth.num_uses < 0) return InvalidArgument("number of uses cannot be negative");
  const int64_t now = store.clock().UnixNow();
  TokenEntry te;
  te.path = std::string(path);
  te.meta = auth.metadata;
  te.display_name = auth.display_name;
  te.entity_id = auth.entity_id;
  te.policies = SanitizePolicies(auth.policies, !auth.no_default_policy);
  te.num_uses = auth.num_uses;
  te.explicit_max_ttl = auth.explicit_max_ttl;
  te.period = auth.period;
  te.max_ttl = auth.max_ttl;
  te.renewable = auth.renewable;
  te.creation_time = now;
  ARCA_ASSIGN_OR_RETURN(te.bound_cidrs, ParseAddrs(auth.bound_cidrs));

  TtlInputs in;
  in.backend_ttl = auth.ttl;
  in.period = auth.period;
  in.backend_max_ttl = auth.max_ttl;
  in.explicit_max_ttl = auth.explicit_max_ttl;
  in.mount_default_ttl = mount_default_ttl;
  in.mount_max_ttl = mount_max_ttl;
  in.start_time = now;
  in.now = now;
  ARCA_ASSIGN_OR_RETURN(int64_t ttl, CalculateTtl(in, warnings));
  te.ttl = te.creation_ttl = ttl;
  if (ttl == 0) te.renewable = false;
  return store.Create(std::move(te));
}

logical::Auth TokenToAuth(const TokenEntry& entry, const Clock& clock) {
  logical::Auth a;
  a.client_token = entry.id;
  a.accessor = entry.accessor;
  a.policies = entry.policies;
  a.token_policies = entry.policies;
  a.metadata = entry.meta;
  a.display_name = entry.display_name;
  a.entity_id = entry.entity_id;
  a.token_type = entry.type;
  a.orphan = entry.parent_hash.empty();
  a.num_uses = std::max<int64_t>(0, entry.num_uses);
  a.renewable = entry.renewable && entry.ttl > 0;
  a.ttl = entry.ttl;
  a.explicit_max_ttl = entry.explicit_max_ttl;
  a.period = entry.period;
  a.max_ttl = entry.max_ttl;
  a.bound_cidrs = entry.bound_cidrs;
  if (int64_t exp = entry.ExpireTime(); exp != 0) {
    a.lease_duration = std::clamp<int64_t>(exp - clock.UnixNow(), 0, entry.ttl);
  }
  return a;
}

Json TokenLookupData(const TokenEntry& entry, int64_t now,
                     const std::vector<std::string>& identity_policies) {
  Json meta = Json();
  if (!entry.meta.empty()) {
    meta = Json::object();
    for (const auto& [k, v] : entry.meta) meta[k] = v;
  }
  Json d = {{"id", entry.id},
            {"accessor", entry.accessor},
            {"policies", entry.policies.empty() ? Json::array() : Json(entry.policies)},
            {"path", entry.path},
            {"meta", std::move(meta)},
            {"display_name", entry.display_name},
            {"num_uses", std::max<int64_t>(0, entry.num_uses)},
            {"orphan", entry.parent_hash.empty()},
            {"creation_time", entry.creation_time},
            {"creation_ttl", entry.creation_ttl},
            {"expire_time", nullptr},
            {"ttl", 0},
            {"explicit_max_ttl", entry.explicit_max_ttl},
            {"entity_id", entry.entity_id},
            {"type", entry.type}};
  if (!entry.role.empty()) d["role"] = entry.role;
  if (entry.period != 0) d["period"] = entry.period;
  if (!entry.bound_cidrs.empty()) d["bound_cidrs"] = entry.bound_cidrs;
  if (int64_t exp = entry.ExpireTime(); exp != 0) {
    // Vault keeps these on the token's lease; only expiring tokens have one.
    if (entry.last_renewal_time != 0) {
      d["last_renewal_time"] = entry.last_renewal_time;
      d["last_renewal"] = Rfc3339(entry.last_renewal_time);
    }
    d["expire_time"] = Rfc3339(exp);
    d["ttl"] = std::max<int64_t>(0, exp - now);
    d["renewable"] = entry.renewable && now < exp;
    d["issue_time"] = Rfc3339(entry.creation_time);
  }
  if (!identity_policies.empty()) {
    d["identity_policies"] = identity_policies;
    d["external_namespace_policies"] = Json::object();
  }
  return d;
}

// --- TokenBackend ------------------------------------------------------------------

TokenBackend::TokenBackend(TokenStore& store, PolicyExistsFn policy_exists, Clock& clock)
    : store_(store), policy_exists_(std::move(policy_exists)), clock_(clock) {}

StatusOr<bool> TokenBackend::Exists(Request& req) {
  std::string_view p = req.path;
  if (StartsWith(p, kRolesPrefix) && ValidRoleName(p.substr(kRolesPrefix.size()))) {
    ARCA_ASSIGN_OR_RETURN(auto role, LoadRole(p.substr(kRolesPrefix.size())));
    return role.has_value();
  }
  return true;
}

StatusOr<Response> TokenBackend::HandleRequest(Request& req) {
  std::string_view p = req.path;
  const Operation op = req.operation;

  if (p == "create" || p == "create-orphan") {
    if (!IsWrite(op)) return UnsupportedOperation();
    return HandleCreate(req, p == "create-orphan", nullptr);
  }
  if (StartsWith(p, "create/")) {
    if (!IsWrite(op)) return UnsupportedOperation();
    std::string_view name = p.substr(7);
    if (!ValidRoleName(name)) return UnsupportedPath();
    ARCA_ASSIGN_OR_RETURN(auto role, LoadRole(name));
    if (!role) return InvalidArgument("unknown role " + std::string(name));
    return HandleCreate(req, false, &*role);
  }
  if (p == "lookup") {
    if (op != Operation::kRead && !IsWrite(op)) return UnsupportedOperation();
    ARCA_ASSIGN_OR_RETURN(auto token, logical::GetString(req.data, "token"));
    std::string t = token && !token->empty() ? *token : req.client_token;
    return HandleLookup(req, t, t == req.client_token);
  }
  if (p == "lookup-self") {
    if (op != Operation::kRead && !IsWrite(op)) return UnsupportedOperation();
    return HandleLookup(req, req.client_token, true);
  }
  if (p == "lookup-accessor") {
    if (!IsWrite(op)) return UnsupportedOperation();
    return HandleLookupAccessor(req);
  }
  if (p == "renew" || p == "renew-self" || p == "renew-accessor") {
    if (!IsWrite(op)) return UnsupportedOperation();
    std::optional<TokenEntry> entry;
    if (p == "renew") {
      ARCA_ASSIGN_OR_RETURN(std::string t, RequiredString(req.data, "token", "missing token ID"));
      ARCA_ASSIGN_OR_RETURN(entry, store_.Lookup(t));
    } else if (p == "renew-self") {
      if (req.client_token.empty()) return InvalidArgument("missing token ID");
      // The caller's own token may be on its last use, spent by this request.
      ARCA_ASSIGN_OR_RETURN(entry, store_.LookupForRequest(req.client_token));
    } else {
      ARCA_ASSIGN_OR_RETURN(std::string acc,
                            RequiredString(req.data, "accessor", "missing accessor"));
      ARCA_ASSIGN_OR_RETURN(entry, store_.LookupByAccessor(acc));
      if (!entry) return InvalidArgument("invalid accessor");
    }
    return HandleRenew(req, entry, p == "renew-accessor");
  }
  if (p == "revoke" || p == "revoke-self" || p == "revoke-accessor" || p == "revoke-orphan") {
    if (!IsWrite(op)) return UnsupportedOperation();
    return HandleRevoke(req, p);
  }
  if (p == "accessors" || p == "accessors/") {
    if (op != Operation::kList) return UnsupportedOperation();
    ARCA_ASSIGN_OR_RETURN(auto keys, store_.ListAccessors());
    return Response::WithData(Json{{"keys", keys}});
  }
  if (p == "roles" || p == "roles/") {
    if (op != Operation::kList) return UnsupportedOperation();
    return HandleRoles(req, "");
  }
  if (StartsWith(p, kRolesPrefix)) {
    std::string_view name = p.substr(kRolesPrefix.size());
    if (!ValidRoleName(name)) return UnsupportedPath();
    return HandleRoles(req, name);
  }
  if (p == "tidy") {
    if (!IsWrite(op)) return UnsupportedOperation();
    return HandleTidy(req);
  }
  return UnsupportedPath();
}

StatusOr<Response> TokenBackend::HandleLookup(Request& req, std::string_view token, bool self) {
  if (token.empty()) return InvalidArgument("missing token ID");
  // The caller's own token may be on its last use (num_uses), which core has
  // already consumed for this very request.
  std::optional<TokenEntry> entry;
  if (self) {
    ARCA_ASSIGN_OR_RETURN(entry, store_.LookupForRequest(token));
  } else {
    ARCA_ASSIGN_OR_RETURN(entry, store_.Lookup(token));
  }
  if (!entry) return PermissionDenied("bad token");
  Response resp =
      Response::WithData(TokenLookupData(*entry, clock_.UnixNow(), IdentityPoliciesOf(*entry)));
  WarnIgnored(resp, req.data, {"token"});
  return resp;
}

StatusOr<Response> TokenBackend::HandleLookupAccessor(Request& req) {
  ARCA_ASSIGN_OR_RETURN(std::string acc, RequiredString(req.data, "accessor", "missing accessor"));
  ARCA_ASSIGN_OR_RETURN(auto entry, store_.LookupByAccessor(acc));
  if (!entry) return InvalidArgument("invalid accessor");
  entry->id.clear();
  Response resp =
      Response::WithData(TokenLookupData(*entry, clock_.UnixNow(), IdentityPoliciesOf(*entry)));
  WarnIgnored(resp, req.data, {"accessor"});
  return resp;
}

StatusOr<Response> TokenBackend::HandleRenew(Request& req, const std::optional<TokenEntry>& entry,
                                             bool hide_token) {
  if (!entry) return InvalidArgument("token not found");
  if (entry->type == "batch") return InvalidArgument("batch tokens cannot be renewed");
  ARCA_ASSIGN_OR_RETURN(auto increment, logical::GetDuration(req.data, "increment"));

  // The lease checks come first, as in Vault's expiration manager.
  if (entry->ttl <= 0) return InvalidArgument("invalid lease ID");
  if (!entry->renewable) return InvalidArgument("lease is not renewable");

  const MountTtls ttls = TtlsFor(req, *entry);
  TokenStore::RenewParams params;
  params.increment = increment.value_or(0);
  params.period = entry->period;
  params.explicit_max_ttl = entry->explicit_max_ttl;
  params.max_ttl = entry->max_ttl;
  params.mount_default_ttl = ttls.default_ttl;
  params.mount_max_ttl = ttls.max_ttl;
  if (!entry->role.empty()) {
    // Role-based tokens renew with the role's current settings.
    ARCA_ASSIGN_OR_RETURN(auto role, LoadRole(entry->role));
    if (!role)
      return Internal("original token role \"" + entry->role + "\" could not be found, not renewing");
    params.period = role->token_period;
    params.explicit_max_ttl = role->token_explicit_max_ttl;
    params.max_ttl = role->token_max_ttl;
  } else if (auth_renewer_ && !StartsWith(entry->path, "auth/token/")) {
    // A login token: the auth method that minted it decides (Vault's
    // renewAuthEntry). No token-store lock is held here.
    logical::Auth current = TokenToAuth(*entry, clock_);
    current.client_token.clear();
    ARCA_ASSIGN_OR_RETURN(logical::Auth renewed, auth_renewer_(entry->path, current, req));
    params.backend_ttl = renewed.ttl;
    params.period = renewed.period;
    params.explicit_max_ttl = renewed.explicit_max_ttl;
    params.max_ttl = renewed.max_ttl;
  }

  std::vector<std::string> warnings;
  ARCA_ASSIGN_OR_RETURN(TokenEntry renewed, store_.Renew(*entry, params, &warnings));
  Response resp;
  resp.auth = TokenToAuth(renewed, clock_);
  if (hide_token) resp.auth->client_token.clear();
  resp.warnings = std::move(warnings);
  WarnIgnored(resp, req.data, {"token", "accessor", "increment"});
  return resp;
}

StatusOr<Response> TokenBackend::HandleRevoke(Request& req, std::string_view which) {
  if (which == "revoke-self") {
    if (req.client_token.empty()) return InvalidArgument("missing token ID");
    ARCA_ASSIGN_OR_RETURN(auto entry, store_.LookupForRequest(req.client_token));
    if (entry) ARCA_RETURN_IF_ERROR(store_.RevokeTree(*entry));
    return Response{};
  }
  if (which == "revoke") {
    ARCA_ASSIGN_OR_RETURN(std::string t, RequiredString(req.data, "token", "missing token ID"));
    ARCA_ASSIGN_OR_RETURN(auto entry, store_.Lookup(t));
    if (entry) ARCA_RETURN_IF_ERROR(store_.RevokeTree(*entry));
    return Response{};
  }
  if (which == "revoke-accessor") {
    ARCA_ASSIGN_OR_RETURN(std::string acc,
                          RequiredString(req.data, "accessor", "missing accessor"));
    ARCA_ASSIGN_OR_RETURN(auto entry, store_.LookupByAccessor(acc));
    if (!entry) {
      Response resp;
      resp.warnings.push_back("No token found with this accessor");
      return resp;
    }
    ARCA_RETURN_IF_ERROR(store_.RevokeTree(*entry));
    return Response{};
  }
  // revoke-orphan
  ARCA_ASSIGN_OR_RETURN(std::string t, RequiredString(req.data, "token", "missing token ID"));
  if (!req.sudo) return InvalidArgument("root or sudo privileges required to revoke and orphan");
  ARCA_ASSIGN_OR_RETURN(auto entry, store_.Lookup(t));
  if (!entry) return InvalidArgument("token to revoke not found");
  ARCA_RETURN_IF_ERROR(store_.RevokeOrphan(*entry));
  return Response{};
}

StatusOr<std::optional<TokenRole>> TokenBackend::LoadRole(std::string_view name) {
  using R = std::optional<TokenRole>;
  if (!ValidRoleName(name)) return R();
  ARCA_ASSIGN_OR_RETURN(auto raw, store_.storage().Get(std::string(kRolesPrefix).append(name)));
  if (!raw) return R();
  Json j = Json::parse(*raw, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return DataLoss("stored token role is not JSON");
  ARCA_ASSIGN_OR_RETURN(TokenRole role, TokenRole::FromStorageJson(j));
  return R(std::move(role));
}

StatusOr<Response> TokenBackend::HandleRoles(Request& req, std::string_view name) {
  storage::Backend& st = store_.storage();
  if (name.empty()) {
    ARCA_ASSIGN_OR_RETURN(auto keys, st.List(kRolesPrefix));
    std::vector<std::string> names;
    for (auto& k : keys)
      if (!k.empty() && k.back() != '/') names.push_back(std::move(k));
    return Response::WithData(Json{{"keys", names}});
  }
  const std::string key = std::string(kRolesPrefix).append(name);
  switch (req.operation) {
    case Operation::kRead: {
      ARCA_ASSIGN_OR_RETURN(auto role, LoadRole(name));
      if (!role) return NotFound();
      return Response::WithData(role->ReadData());
    }
    case Operation::kDelete:
      ARCA_RETURN_IF_ERROR(st.Delete(key));
      return Response{};
    case Operation::kCreate:
    case Operation::kUpdate: {
      ARCA_ASSIGN_OR_RETURN(auto existing, LoadRole(name));
      const bool is_create = !existing;
      TokenRole role = existing ? std::move(*existing) : TokenRole{};
      role.name = std::string(name);
      std::vector<std::string> warnings;
      ARCA_RETURN_IF_ERROR(ApplyRoleWrite(role, req.data, is_create, req.mount_max_ttl, &warnings));
      ARCA_RETURN_IF_ERROR(st.Put(key, role.ToStorageJson().dump()));
      Response resp;
      resp.warnings = std::move(warnings);
      return resp;
    }
    default:
      return UnsupportedOperation();
  }
}

StatusOr<Response> TokenBackend::HandleTidy(Request& req) {
  (void)req;
  ARCA_ASSIGN_OR_RETURN(auto result, store_.Tidy());
  (void)result;
  Response resp;
  resp.warnings.push_back(
      "Tidy operation successfully started. Any information from the operation will be printed "
      "to Vault's server logs.");
  return resp;
}

TokenBackend::MountTtls TokenBackend::TtlsFor(const Request& req, const TokenEntry& entry) const {
  if (mount_ttls_) {
    if (auto t = mount_ttls_(entry.path)) return *t;
  }
  return MountTtls{req.mount_default_ttl, req.mount_max_ttl};
}

std::vector<std::string> TokenBackend::IdentityPoliciesOf(const TokenEntry& entry) const {
  if (entry.entity_id.empty() || !identity_policies_) return {};
  return identity_policies_(entry.entity_id);
}

}  // namespace arca::core
