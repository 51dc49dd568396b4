// arca: sys/ dispatch and the mount endpoints (sys/mounts, sys/auth, tune, remount).
#include "core/internal/sys_backend.h"

#include "base/encoding.h"
#include "core/token_backend.h"
#include "logical/fields.h"

namespace arca::core {

using logical::Json;
using logical::Operation;
using logical::Response;

namespace {
bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

}  // namespace

std::shared_ptr<logical::Backend> Core::Impl::MakeSystemBackend() {
  return std::make_shared<SystemBackend>(*this);
}

std::shared_ptr<logical::Backend> Core::Impl::MakeTokenBackend() {
  auto backend = std::make_shared<TokenBackend>(
      *tokens,
      [this](std::string_view name) {
        auto p = policies->Get(name);
        return p.ok() && *p != nullptr;
      },
      clock);
  backend->SetIdentityPolicies([this](std::string_view entity_id) {
    return identity ? identity->IdentityPolicies(std::string(entity_id))
                    : std::vector<std::string>{};
  });
  backend->SetMountTtlResolver(
      [this](std::string_view token_path) -> std::optional<TokenBackend::MountTtls> {
        auto route = router.Match(token_path);
        if (!route) return std::nullopt;
        return TokenBackend::MountTtls{EffectiveDefaultTtl(*route->mount),
                                       EffectiveMaxTtl(*route->mount)};
      });
  backend->SetAuthRenewer([this](std::string_view token_path, const logical::Auth& auth,
                                 const logical::Request& caller) -> StatusOr<logical::Auth> {
    auto route = router.Match(token_path);
    if (route && route->mount->type == "token") return auth;
    const std::string prefix = route ? route->mount->RoutePath() : std::string();
    // Fail closed, as Vault's router: a login token whose method is gone
    // (or moved) is not renewed by whatever is mounted there now.
    if (!route || !route->mount->is_auth || !StartsWith(token_path, prefix)) {
      return Internal("failed to renew entry: no handler for route \"" + std::string(token_path) +
                      "\". route entry not found.");
    }
    logical::Request r;
    r.id = caller.id;
    r.operation = Operation::kUpdate;
    r.path = std::string(token_path.substr(prefix.size()));
    r.remote_address = caller.remote_address;
    r.remote_port = caller.remote_port;
    r.mount_point = prefix;
    r.mount_type = route->mount->type;
    r.mount_accessor = route->mount->accessor;
    r.mount_default_ttl = EffectiveDefaultTtl(*route->mount);
    r.mount_max_ttl = EffectiveMaxTtl(*route->mount);
    r.storage = route->view.get();
    auto renewed = route->backend->Renew(r, auth);
    if (!renewed.ok()) {  // Vault's renewAuthEntry wraps the method's error
      return Status(renewed.status().code(),
                    "failed to renew entry: " + renewed.status().message());
    }
    return renewed;
  });
  return backend;
}

StatusOr<bool> SystemBackend::Exists(logical::Request& req) {
  (void)req;
  return true;
}

StatusOr<Response> SystemBackend::HandleRequest(logical::Request& req) {
  std::string_view p = req.path;
  if (p == "mounts" || StartsWith(p, "mounts/")) return Mounts(req, p.substr(6), false);
  if (p == "auth" || StartsWith(p, "auth/")) return Mounts(req, p.substr(4), true);
  if (p == "remount") return Remount(req);
  if (p == "policy" || p == "policy/") return PolicyLegacy(req, "");
  if (StartsWith(p, "policy/")) return PolicyLegacy(req, p.substr(7));
  if (p == "policies/acl" || p == "policies/acl/") return PolicyAcl(req, "");
  if (StartsWith(p, "policies/acl/")) return PolicyAcl(req, p.substr(13));
  if (p == "capabilities" || p == "capabilities-self" || p == "capabilities-accessor")
    return Capabilities(req, p);
  if (p == "internal/ui/mounts" || StartsWith(p, "internal/ui/mounts/"))
    return UiMounts(req, p.size() > 18 ? p.substr(19) : "");
  if (p == "audit" || p == "audit/" || StartsWith(p, "audit/"))
    return Audit(req, p.size() > 5 ? p.substr(6) : "");
  if (StartsWith(p, "audit-hash/")) return AuditHash(req, p.substr(11));
  if (p == "tools/random" || StartsWith(p, "tools/random/"))
    return ToolsRandom(req, p.size() > 12 ? p.substr(13) : "");
  if (p == "tools/hash" || StartsWith(p, "tools/hash/"))
    return ToolsHash(req, p.size() > 10 ? p.substr(11) : "");
  if (p == "metrics") return Metrics(req);
  if (p == "rotate") return Rotate(req);
  if (p == "key-status") return KeyStatus(req);
  if (p == "seal") return UnsupportedOperation();  // writes are handled by the pipeline
  if (p == "step-down") return StepDown(req);
  if (p == "ha-status") return HaStatus(req);
  if (StartsWith(p, "storage/raft/")) return Raft(req, p.substr(13));
  return UnsupportedPath();
}

StatusOr<Response> SystemBackend::Mounts(logical::Request& req, std::string_view rest, bool auth) {
  // rest: "" | "/" | "/<path>" | "/<path>/tune"
  std::string path(rest);
  while (!path.empty() && path.front() == '/') path.erase(0, 1);
  if (path.empty()) {
    if (req.operation != Operation::kRead) return UnsupportedOperation();
    Json data = Json::object();
    for (const auto& r : core_.router.All()) {
      if (r.mount->is_auth != auth) continue;
      Json j = r.mount->ToApiJson();
      data[r.mount->path] = std::move(j);
    }
    return Response::WithData(std::move(data));
  }
  bool tune = false;
  if (path.size() >= 5 && path.compare(path.size() - 5, 5, "/tune") == 0) {
    tune = true;
    path.resize(path.size() - 5);
  }
  std::string mount_path = WithSlash(path);
  std::string route_path = auth ? "auth/" + mount_path : mount_path;
  if (tune) return MountTune(req, route_path);

  switch (req.operation) {
    case Operation::kRead: {
      auto r = core_.router.Get(route_path);
      if (!r) {
        if (auth) return InvalidArgument("No auth engine at " + mount_path);
        return InvalidArgument("No secret engine mount at " + mount_path);
      }
      return Response::WithData(r->mount->ToApiJson());
    }
    case Operation::kCreate:
    case Operation::kUpdate: {
      const Json& d = req.data;
      ARCA_ASSIGN_OR_RETURN(auto type, logical::GetString(d, "type"));
      if (!type || type->empty()) {
        return InvalidArgument(auth ? "backend type must be specified as a string"
                                    : "backend type must be specified as a string");
      }
      MountEntry e;
      e.path = mount_path;
      e.type = *type;
      e.is_auth = auth;
      ARCA_ASSIGN_OR_RETURN(auto desc, logical::GetString(d, "description"));
      if (desc) e.description = *desc;
      ARCA_ASSIGN_OR_RETURN(auto local, logical::GetBool(d, "local"));
      e.local = local.value_or(false);
      ARCA_ASSIGN_OR_RETURN(auto sw, logical::GetBool(d, "seal_wrap"));
      e.seal_wrap = sw.value_or(false);
      ARCA_ASSIGN_OR_RETURN(auto eea, logical::GetBool(d, "external_entropy_access"));
      e.external_entropy_access = eea.value_or(false);
      ARCA_ASSIGN_OR_RETURN(auto opts, logical::GetStringMap(d, "options"));
      if (opts) e.options = *opts;
      if (!auth && (e.type == "kv-v1" || e.type == "kv-v2")) {
        e.options["version"] = e.type == "kv-v2" ? "2" : "1";
        e.type = "kv";
      }
      if (e.options.count("version") && e.type != "kv") {
        if (!e.options["version"].empty())
          return InvalidArgument("secrets engine \"" + e.type +
                                 "\" does not allow setting a version");
        e.options.erase("version");
      }
      if (e.type == "kv" && e.options.count("version")) {
        const std::string& v = e.options["version"];
        if (v != "" && v != "1" && v != "2") return InvalidArgument("invalid version " + v);
      }
      // The built-in backends exist once, where core mounts them.
      if (e.type == "token") return InvalidArgument("token credential backend cannot be instantiated");
      if (e.type == "system" || e.type == "identity" || e.type == "cubbyhole")
        return InvalidArgument("cannot mount \"" + mount_path + "\" of type \"" + e.type + "\"");
      ARCA_ASSIGN_OR_RETURN(auto cfg, logical::GetObject(d, "config"));
      ARCA_RETURN_IF_ERROR(core_.ApplyMountConfig(cfg.value_or(Json::object()), auth, &e.config));
      ARCA_RETURN_IF_ERROR(core_.MountEngine(std::move(e), true));
      return Response{};
    }
    case Operation::kDelete:
      ARCA_RETURN_IF_ERROR(core_.Unmount(route_path));
      return Response{};
    default:
      return UnsupportedOperation();
  }
}

StatusOr<Response> SystemBackend::MountTune(logical::Request& req, const std::string& route_path) {
  auto r = core_.router.Get(route_path);
  if (req.operation == Operation::kRead) {
    if (!r) return InvalidArgument("cannot fetch sysview for path \"" + route_path + "\"");
    const MountEntry& e = *r->mount;
    Json d = {{"description", e.description},
              {"default_lease_ttl", core_.EffectiveDefaultTtl(e)},
              {"max_lease_ttl", core_.EffectiveMaxTtl(e)},
              {"force_no_cache", e.config.force_no_cache}};
    if (!e.options.empty()) d["options"] = e.options;
    if (!e.config.audit_non_hmac_request_keys.empty())
      d["audit_non_hmac_request_keys"] = e.config.audit_non_hmac_request_keys;
    if (!e.config.audit_non_hmac_response_keys.empty())
      d["audit_non_hmac_response_keys"] = e.config.audit_non_hmac_response_keys;
    if (!e.config.passthrough_request_headers.empty())
      d["passthrough_request_headers"] = e.config.passthrough_request_headers;
    if (!e.config.allowed_response_headers.empty())
      d["allowed_response_headers"] = e.config.allowed_response_headers;
    if (!e.config.listing_visibility.empty()) d["listing_visibility"] = e.config.listing_visibility;
    if (e.is_auth) d["token_type"] = e.config.token_type.empty() ? "default-service" : e.config.token_type;
    return Response::WithData(std::move(d));
  }
  if (!IsWrite(req.operation)) return UnsupportedOperation();
  if (!r) return InvalidArgument("no mount entry found at \"" + route_path + "\"");
  Response resp;
  ARCA_RETURN_IF_ERROR(core_.TuneMount(route_path, req.data, &resp.warnings));
  return resp;
}

StatusOr<Response> SystemBackend::Remount(logical::Request& req) {
  if (!IsWrite(req.operation)) return UnsupportedOperation();
  ARCA_ASSIGN_OR_RETURN(auto from, logical::GetString(req.data, "from"));
  ARCA_ASSIGN_OR_RETURN(auto to, logical::GetString(req.data, "to"));
  if (!from || !to || from->empty() || to->empty())
    return InvalidArgument("both 'from' and 'to' must be specified");
  ARCA_RETURN_IF_ERROR(core_.Remount(WithSlash(*from), WithSlash(*to)));
  return Response{};
}

}  // namespace arca::core
