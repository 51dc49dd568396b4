// arca: the request path through Core (Vault's handleRequest/CheckToken):
// sealed → route → token → ACL → use count → audit → backend → login token
// → audit → revoke exhausted token.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "base/time.h"
#include "core/internal/core_impl.h"
#include "core/token_backend.h"

namespace arca::core {

using logical::Json;
using logical::Operation;
using logical::Request;
using logical::Response;

namespace {

bool GlobMatch(std::string_view pattern, std::string_view path) {
  if (!pattern.empty() && pattern.back() == '*') {
    pattern.remove_suffix(1);
    return path.substr(0, pattern.size()) == pattern;
  }
  return pattern == path;
}

// Vault's root-protected sys paths (need sudo).
constexpr const char* kSysRootPaths[] = {"auth/*",
                                         "audit",
                                         "audit/*",
                                         "remount",
                                         "rotate",
                                         "raw",
                                         "raw/*",
                                         "config/cors",
                                         "config/auditing/*",
                                         "plugins/catalog/*",
                                         "leases/lookup/*",
                                         "leases/revoke-prefix/*",
                                         "leases/revoke-force/*",
                                         "revoke-prefix/*",
                                         "seal",
                                         "step-down",
                                         "storage/raft/snapshot",
                                         "storage/raft/snapshot-force"};

constexpr const char* kSysUnauthPaths[] = {"internal/ui/mounts", "internal/ui/mounts/*",
                                           "wrapping/lookup"};

AuditAuth MakeAuditAuth(const TokenEntry* t, const AclResult* r, int64_t now) {
  AuditAuth a;
  if (t) {
    a.client_token = t->id;
    a.accessor = t->accessor;
    a.display_name = t->display_name;
    a.entity_id = t->entity_id;
    a.policies = t->policies;
    a.token_policies = t->policies;
    a.metadata = t->meta;
    a.token_type = t->type;
    int64_t exp = t->ExpireTime();
    a.token_ttl = exp == 0 ? 0 : std::max<int64_t>(0, exp - now);
    a.token_issue_time =
        FormatRfc3339Nano(std::chrono::system_clock::from_time_t(t->creation_time));
  }
  if (r) {
    a.allowed = r->allowed;
    a.granting_policies = r->granting_policies;
  }
  return a;
}

AuditRequest MakeAuditRequest(const Request& req, const Route* route, const TokenEntry* t) {
  AuditRequest a;
  a.id = req.id;
  a.operation = logical::OperationName(req.operation);
  if (route) {
    a.mount_type = route->mount->type;
    a.mount_accessor = route->mount->accessor;
    a.mount_point = route->mount->RoutePath();
  }
  if (t) {
    a.client_token = t->id;
    a.client_token_accessor = t->accessor;
  }
  a.path = req.path;
  a.remote_address = req.remote_address;
  a.remote_port = req.remote_port;
  a.data = req.data;
  a.wrap_ttl = req.wrap_ttl;
  return a;
}

}  // namespace

bool Core::Impl::IsUnauthenticated(const Route* route, std::string_view path) const {
  if (!route) return false;
  std::string_view rel = path.substr(route->mount->RoutePath().size());
  if (route->mount->type == "system") {
    for (const char* p : kSysUnauthPaths)
      if (GlobMatch(p, rel)) return true;
    return false;
  }
  for (const auto& p : route->backend->UnauthenticatedPaths())
    if (GlobMatch(p, rel)) return true;
  return false;
}

bool Core::Impl::IsRootPath(const Route* route, std::string_view path) const {
  if (!route) return false;
  std::string_view rel = path.substr(route->mount->RoutePath().size());
  if (route->mount->type == "system") {
    for (const char* p : kSysRootPaths)
      if (GlobMatch(p, rel)) return true;
    return false;
  }
  for (const auto& p : route->backend->RootPaths())
    if (GlobMatch(p, rel)) return true;
  return false;
}

void Core::Impl::InvalidateAcls() {
  std::lock_guard lock(acl_mu);
  acl_cache.clear();
}

StatusOr<std::shared_ptr<const Acl>> Core::Impl::AclFor(const TokenEntry& token) {
  // Identity policies are evaluated live: a group change applies to tokens
  // already issued, so they are part of the cache key.
  std::vector<std::string> names = token.policies;
  const bool has_entity = !token.entity_id.empty() && identity;
  if (has_entity)
    for (auto& p : identity->IdentityPolicies(token.entity_id)) names.push_back(std::move(p));
  std::string key;
  for (const auto& p : names) {
    key += p;
    key += '\n';
  }
  key += token.entity_id;
  {
    std::lock_guard lock(acl_mu);
    auto it = acl_cache.find(key);
    if (it != acl_cache.end()) return it->second;
  }
  std::vector<std::shared_ptr<const Policy>> pols;
  for (const auto& name : names) {
    ARCA_ASSIGN_OR_RETURN(auto p, policies->Get(name));
    if (p) pols.push_back(std::move(p));
  }
  // The entity view (a copy of its aliases and groups) only when building.
  std::optional<EntityView> entity;
  if (has_entity) entity = identity->View(token.entity_id);
  ARCA_ASSIGN_OR_RETURN(Acl acl, Acl::Build(pols, entity ? &*entity : nullptr, clock.UnixNow()));
  auto shared = std::make_shared<const Acl>(std::move(acl));
  // Templated policies depend on the entity's names and groups: not cached.
  bool templated =
      std::any_of(pols.begin(), pols.end(), [](const auto& p) { return p->templated; });
  if (!templated) {
    std::lock_guard lock(acl_mu);
    if (acl_cache.size() > 10000) acl_cache.clear();
    acl_cache[key] = shared;
  }
  return std::shared_ptr<const Acl>(shared);
}

void Core::Impl::OnTokenRevoked(const TokenEntry& entry) {
  // The cubbyhole engine keeps each token's data under "<token hash>/".
  for (const auto& r : router.All()) {
    if (r.mount->type != "cubbyhole") continue;
    Status st = storage::DeletePrefix(*r.view, entry.hash + "/");
    if (!st.ok()) spdlog::warn("core: cubbyhole cleanup failed: {}", st.ToString());
  }
}

Status Core::Impl::SealNow() {
  std::unique_lock state(state_mu);
  if (sealed.load()) return OkStatus();
  PreSeal();
  barrier.Seal();
  spdlog::info("core: vault is sealed");
  return OkStatus();
}

StatusOr<Response> Core::Impl::Handle(Request& req) {
  std::shared_lock state(state_mu);
  if (sealed.load()) {
    // Sealing a sealed server succeeds, as in Vault.
    if (req.path == "sys/seal" &&
        (req.operation == Operation::kUpdate || req.operation == Operation::kCreate))
      return Response{};
    return SealedError();
  }
  // An HA standby (or an active whose lease may have lapsed) serves nothing;
  // the HTTP layer forwards such requests, this is the last line.
  if (!Serving()) return Unavailable("this node is not the active node");
  if (req.wrap_ttl && *req.wrap_ttl > 0)
    return InvalidArgument("response wrapping is not supported by this server");

  const std::string full_path = req.path;
  std::optional<Route> route = router.Match(full_path);
  const Route* rp = route ? &*route : nullptr;
  bool unauth = IsUnauthenticated(rp, full_path);

  std::optional<TokenEntry> token;
  if (!req.client_token.empty()) {
    ARCA_ASSIGN_OR_RETURN(token, tokens->Lookup(req.client_token));
  }
  // As Vault, bound CIDRs are checked when the token is resolved, before use
  // counting: a refused request does not use up a use. remote_address is the
  // client's (a standby forwards the original one). An unauthenticated path
  // ignores a token it may not use, as it ignores an invalid one.
  if (token && !token->UsableFrom(req.remote_address)) {
    if (!unauth) return PermissionDenied();
    token.reset();
    Wipe(req.client_token);  // backends that read it (ui/mounts) must not see it either
    req.client_token.clear();
  }
  if (!unauth && !token) return PermissionDenied();
  if (token && !token->entity_id.empty() && identity &&
      identity->IsEntityDisabled(token->entity_id))
    return PermissionDenied();

  std::shared_ptr<const Acl> acl;
  if (token) {
    ARCA_ASSIGN_OR_RETURN(acl, AclFor(*token));
    req.token_key = token->hash;
    req.token_accessor = token->accessor;
    req.entity_id = token->entity_id;
    req.display_name = token->display_name;
    req.policies = token->policies;
  }

  std::string rel = rp ? full_path.substr(rp->mount->RoutePath().size()) : full_path;
  if (rp) {
    req.mount_point = rp->mount->RoutePath();
    req.mount_type = rp->mount->type;
    req.mount_accessor = rp->mount->accessor;
    req.mount_default_ttl = EffectiveDefaultTtl(*rp->mount);
    req.mount_max_ttl = EffectiveMaxTtl(*rp->mount);
    req.storage = rp->view.get();
  }

  bool audited = audit && audit->HasDevices();
  const bool root_path = IsRootPath(rp, full_path);
  AclResult decision;
  bool decided = false;
  // Existence check: a write to something that does not exist is a create.
  // Skipped (the write stays an update) where it could change nothing: the
  // backend treats both alike, the ACL grants or refuses both alike, and no
  // audit device records which it was.
  if (req.operation == Operation::kUpdate && rp) {
    if (acl && !audited && rp->backend->CreateIsUpdate(rel)) {
      decision = acl->Check(Operation::kUpdate, full_path, req.data, req.wrap_ttl, root_path);
      if (!acl->is_root()) {
        AclResult create =
            acl->Check(Operation::kCreate, full_path, req.data, req.wrap_ttl, root_path);
        decided = create.allowed == decision.allowed && create.sudo == decision.sudo;
      } else {
        decided = true;
      }
    }
    if (!decided) {
      // Exists sees the path relative to the mount; nothing else changes.
      std::swap(req.path, rel);
      StatusOr<bool> exists = rp->backend->Exists(req);
      std::swap(req.path, rel);
      if (!exists.ok()) return exists.status();
      if (!*exists) req.operation = Operation::kCreate;
    }
  }

  if (acl) {
    if (!decided)
      decision = acl->Check(req.operation, full_path, req.data, req.wrap_ttl, root_path);
    req.sudo = acl->is_root() || decision.sudo;
  }
  if (!unauth && !decision.allowed) {
    if (audited) {
      (void)audit->LogRequest(MakeAuditAuth(&*token, &decision, clock.UnixNow()),
                              MakeAuditRequest(req, rp, &*token), "permission denied");
    }
    // As Vault: a refused request still uses up one use of a limited token.
    if (token && token->num_uses > 0) {
      auto left = tokens->UseToken(*token);
      if (left.ok() && *left == 0) {
        Status st = tokens->RevokeTree(*token);
        if (!st.ok()) spdlog::warn("core: revoking exhausted token failed: {}", st.ToString());
      }
    }
    return PermissionDenied();
  }

  int64_t uses_left = -1;
  if (token && token->num_uses > 0 && !unauth) {
    ARCA_ASSIGN_OR_RETURN(uses_left, tokens->UseToken(*token));
  }

  if (!rp) {
    return UnsupportedPath("no handler for route \"" + full_path + "\". route entry not found.");
  }

  AuditAuth audit_auth;
  AuditRequest audit_req;
  if (audited) {
    audit_auth = MakeAuditAuth(token ? &*token : nullptr, &decision, clock.UnixNow());
    audit_req = MakeAuditRequest(req, rp, token ? &*token : nullptr);
    Status st = audit->LogRequest(audit_auth, audit_req, "");
    if (!st.ok()) {
      spdlog::error("core: audit logging failed, refusing request");
      return Internal("internal error");
    }
  }

  StatusOr<Response> resp = [&]() -> StatusOr<Response> {
    if (rp->mount->type == "system" && rel == "seal" &&
        (req.operation == Operation::kUpdate || req.operation == Operation::kCreate)) {
      // The seal's own response is audited before sealing tears the broker
      // down; then sealing takes the state lock exclusively.
      if (audited) {
        AuditResponse ar;
        ar.mount_type = rp->mount->type;
        ar.mount_accessor = rp->mount->accessor;
        if (!audit->LogResponse(audit_auth, audit_req, ar, "").ok())
          return Internal("internal error");
        audited = false;
      }
      state.unlock();
      ARCA_RETURN_IF_ERROR(SealNow());
      return Response{};
    }
    req.path = rel;
    bool core_backend = rp->mount->type == "system" || rp->mount->type == "token";
    std::string saved_token;
    if (!core_backend) std::swap(saved_token, req.client_token);
    auto r = rp->backend->HandleRequest(req);
    if (!core_backend) std::swap(saved_token, req.client_token);
    req.path = full_path;
    return r;
  }();

  // A login: mint the token the auth method asked for.
  if (resp.ok() && resp->auth && rp->mount->is_auth && rp->mount->type != "token" &&
      resp->auth->client_token.empty()) {
    if (resp->auth->alias && identity) {
      MountRef mref{rp->mount->accessor, rp->mount->type, rp->mount->RoutePath()};
      auto who = identity->ResolveLogin(mref, *resp->auth->alias, resp->auth->group_aliases);
      if (!who.ok()) {
        resp = who.status();
      } else {
        resp->auth->entity_id = who->entity_id;
        resp->auth->identity_policies = who->identity_policies;
      }
    }
  }
  if (resp.ok() && resp->auth && rp->mount->is_auth && rp->mount->type != "token" &&
      resp->auth->client_token.empty()) {
    std::vector<std::string> warnings;
    // As Vault: the display name is prefixed with the mount path ("jwt-<sub>").
    std::string prefix = rp->mount->path;
    std::replace(prefix.begin(), prefix.end(), '/', '-');
    std::string name = prefix + resp->auth->display_name;
    while (!name.empty() && name.back() == '-') name.pop_back();
    resp->auth->display_name = std::move(name);
    auto created = CreateTokenFromAuth(*tokens, *resp->auth, "auth/" + rp->mount->path + rel,
                                       req.mount_default_ttl, req.mount_max_ttl, &warnings);
    if (!created.ok()) {
      resp = created.status();
    } else {
      logical::Auth filled = TokenToAuth(*created, clock);
      filled.identity_policies = resp->auth->identity_policies;
      resp->auth = std::move(filled);
      for (auto& w : warnings) resp->warnings.push_back(std::move(w));
    }
  }

  if (audited) {
    AuditResponse ar;
    ar.mount_type = rp->mount->type;
    ar.mount_accessor = rp->mount->accessor;
    std::string err;
    if (resp.ok()) {
      ar.data = resp->data;
      ar.warnings = resp->warnings;
      ar.auth = resp->auth;
      ar.status = resp->http_status;
    } else {
      err = resp.status().message();
    }
    Status st = audit->LogResponse(audit_auth, audit_req, ar, err);
    if (!st.ok()) {
      spdlog::error("core: audit logging failed, withholding response");
      return Internal("internal error");
    }
  }

  if (uses_left == 0 && token) {
    if (state.owns_lock()) {
      Status st = tokens->RevokeTree(*token);
      if (!st.ok()) spdlog::warn("core: revoking exhausted token failed: {}", st.ToString());
    }
  }
  return resp;
}

}  // namespace arca::core
