// arca: the mount tables of Core: defaults, load, mount, unmount, remount, tune.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "base/encoding.h"
#include "core/internal/core_impl.h"
#include "logical/fields.h"

namespace arca::core {

using Json = nlohmann::json;

namespace {
constexpr char kMountsPath[] = "core/mounts";
constexpr char kAuthPath[] = "core/auth";
constexpr char kAuditPath[] = "core/audit";

// Mount types that core itself provides rather than a factory.
bool IsBuiltinType(const std::string& t) {
  return t == "system" || t == "identity" || t == "token" || t == "cubbyhole";
}
}  // namespace

int64_t Core::Impl::EffectiveDefaultTtl(const MountEntry& e) const {
  return e.config.default_lease_ttl > 0 ? e.config.default_lease_ttl : config.default_lease_ttl;
}

int64_t Core::Impl::EffectiveMaxTtl(const MountEntry& e) const {
  return e.config.max_lease_ttl > 0 ? e.config.max_lease_ttl : config.max_lease_ttl;
}

StatusOr<Route> Core::Impl::MakeRoute(const MountEntry& e) {
  Route r;
  r.mount = std::make_shared<const MountEntry>(e);
  r.view = std::make_shared<storage::View>(barrier, e.StoragePrefix());
  if (e.type == "system" && !e.is_auth) {
    r.backend = MakeSystemBackend();
  } else if (e.type == "token" && e.is_auth) {
    r.backend = MakeTokenBackend();
  } else if (e.type == "identity" && !e.is_auth) {
    if (!identity) return Internal("identity store not loaded");
    r.backend = std::shared_ptr<logical::Backend>(identity->MakeBackend());
  } else {
    const auto& factories = e.is_auth ? config.auth_methods : config.engines;
    auto it = factories.find(e.type);
    if (it == factories.end()) {
      return InvalidArgument(std::string(e.is_auth ? "unknown auth method type: "
                                                   : "unknown secrets engine type: ") +
                             e.type);
    }
    logical::BackendConfig bc;
    bc.type = e.type;
    bc.mount_path = e.RoutePath();
    bc.options = e.options;
    bc.storage = r.view.get();
    bc.clock = &clock;
    ARCA_ASSIGN_OR_RETURN(auto backend, it->second(bc));
    ARCA_RETURN_IF_ERROR(backend->Initialize());
    r.backend = std::shared_ptr<logical::Backend>(std::move(backend));
  }
  return r;
}

Status Core::Impl::SetupDefaultMounts() {
  MountEntry cubby;
  cubby.path = "cubbyhole/";
  cubby.type = "cubbyhole";
  cubby.description = "per-token private secret storage";
  cubby.local = true;
  MountEntry identity;
  identity.path = "identity/";
  identity.type = "identity";
  identity.description = "identity store";
  MountEntry sys;
  sys.path = "sys/";
  sys.type = "system";
  sys.description = "system endpoints used for control, policy and debugging";
  sys.config.passthrough_request_headers = {"Accept"};
  MountEntry token;
  token.path = "token/";
  token.type = "token";
  token.description = "token based credentials";
  token.is_auth = true;
  token.config.token_type = "default-service";
  for (MountEntry* e : {&cubby, &identity, &sys, &token}) {
    ARCA_RETURN_IF_ERROR(MountEngine(std::move(*e), false));
  }
  std::lock_guard mlock(mounts_mu);
  ARCA_RETURN_IF_ERROR(PersistMounts(false));
  return PersistMounts(true);
}

Status Core::Impl::LoadMounts() {
  router.Clear();
  ARCA_ASSIGN_OR_RETURN(auto mounts, barrier.Get(kMountsPath));
  ARCA_ASSIGN_OR_RETURN(auto auths, barrier.Get(kAuthPath));
  if (!mounts && !auths) return SetupDefaultMounts();
  for (const auto* table : {&mounts, &auths}) {
    if (!*table) continue;
    Json j;
    try {
      j = Json::parse(**table);
    } catch (const std::exception&) {
      return DataLoss("corrupt mount table");
    }
    if (!j.is_array()) return DataLoss("corrupt mount table");
    for (const auto& item : j) {
      ARCA_ASSIGN_OR_RETURN(MountEntry e, MountEntry::FromStorageJson(item));
      auto route = MakeRoute(e);
      if (!route.ok()) {
        spdlog::error("core: cannot mount {}: {}", e.RoutePath(), route.status().ToString());
        continue;
      }
      ARCA_RETURN_IF_ERROR(router.Add(std::move(*route)));
    }
  }
  return OkStatus();
}

Status Core::Impl::PersistMounts(bool auth) {
  Json arr = Json::array();
  for (const auto& r : router.All())
    if (r.mount->is_auth == auth) arr.push_back(r.mount->ToStorageJson());
  Status st = barrier.Put(auth ? kAuthPath : kMountsPath, arr.dump());
  if (auth) SyncIdentityMounts();
  return st;
}

void Core::Impl::SyncIdentityMounts() {
  if (!identity) return;
  std::vector<MountRef> refs;
  for (const auto& r : router.All())
    if (r.mount->is_auth) refs.push_back({r.mount->accessor, r.mount->type, r.mount->RoutePath()});
  identity->SetAuthMounts(std::move(refs));
}

Status Core::Impl::MountEngine(MountEntry e, bool persist) {
  std::lock_guard mlock(mounts_mu);
  if (e.path.empty() || e.path.back() != '/') e.path += '/';
  if (!e.is_auth && !IsBuiltinType(e.type)) {
    for (const char* reserved : {"sys/", "auth/", "cubbyhole/", "identity/"}) {
      if (e.path.rfind(reserved, 0) == 0 || std::string(reserved).rfind(e.path, 0) == 0)
        return InvalidArgument("cannot mount \"" + e.path + "\"");
    }
  }
  std::string route_path = e.RoutePath();
  for (const auto& r : router.All()) {
    std::string other = r.mount->RoutePath();
    if (other.rfind(route_path, 0) == 0 || route_path.rfind(other, 0) == 0)
      return InvalidArgument("path is already in use at " + other);
  }
  if (e.uuid.empty()) e.uuid = NewUuid();
  if (e.accessor.empty())
    e.accessor = (e.is_auth ? "auth_" + e.type + "_" : e.type + "_") + RandomHex(4);
  ARCA_ASSIGN_OR_RETURN(Route route, MakeRoute(e));
  ARCA_RETURN_IF_ERROR(router.Add(std::move(route)));
  if (persist) {
    Status st = PersistMounts(e.is_auth);
    if (!st.ok()) {
      router.Remove(route_path);  // memory never runs ahead of storage
      if (e.is_auth) SyncIdentityMounts();
    }
    return st;
  }
  return OkStatus();
}

Status Core::Impl::Unmount(std::string route_path) {
  if (route_path.empty() || route_path.back() != '/') route_path += '/';
  ARCA_RETURN_IF_ERROR(RevokeMountTokens(route_path));
  std::lock_guard mlock(mounts_mu);
  auto route = router.Get(route_path);
  if (!route) return OkStatus();
  const MountEntry& e = *route->mount;
  if (e.type == "system" || e.type == "identity" || e.type == "cubbyhole" || e.type == "token")
    return InvalidArgument("cannot unmount \"" + e.path + "\"");
  router.Remove(route_path);
  ARCA_RETURN_IF_ERROR(PersistMounts(e.is_auth));
  route->backend->Cleanup();
  return storage::DeletePrefix(barrier, e.StoragePrefix());
}

// As Vault, disabling or moving an auth method revokes the tokens it issued
// (their renewals would otherwise be judged by whatever is mounted there
// next). Done before the mount lock is taken: revocation runs hooks.
Status Core::Impl::RevokeMountTokens(const std::string& route_path) {
  if (route_path.rfind("auth/", 0) != 0 || route_path == "auth/token/" || !tokens) return OkStatus();
  ARCA_ASSIGN_OR_RETURN(int n, tokens->RevokeByPathPrefix(route_path));
  if (n > 0) spdlog::info("core: revoked {} tokens of the auth method at {}", n, route_path);
  return OkStatus();
}

Status Core::Impl::Remount(std::string from, std::string to) {
  if (from.empty() || to.empty()) return InvalidArgument("both 'from' and 'to' must be specified");
  if (from.back() != '/') from += '/';
  if (to.back() != '/') to += '/';
  ARCA_RETURN_IF_ERROR(RemountLocked(from, to));
  return RevokeMountTokens(from);  // the tokens still name the old path
}

Status Core::Impl::RemountLocked(const std::string& from, const std::string& to) {
  std::lock_guard mlock(mounts_mu);
  auto route = router.Get(from);
  if (!route) return InvalidArgument("no matching mount at \"" + from + "\"");
  MountEntry e = *route->mount;
  bool auth = from.rfind("auth/", 0) == 0;
  if (auth != (to.rfind("auth/", 0) == 0))
    return InvalidArgument("cannot remount between secrets engines and auth methods");
  if (e.type == "system" || e.type == "identity" || e.type == "cubbyhole" || e.type == "token")
    return InvalidArgument("cannot remount \"" + e.path + "\"");
  if (to.rfind(from, 0) == 0 || from.rfind(to, 0) == 0)
    return InvalidArgument("path already in use at \"" + from + "\"");
  for (const auto& r : router.All()) {
    std::string other = r.mount->RoutePath();
    if (other == from) continue;
    if (other.rfind(to, 0) == 0 || to.rfind(other, 0) == 0)
      return InvalidArgument("path already in use at \"" + other + "\"");
  }
  router.Remove(from);
  e.path = auth ? to.substr(5) : to;
  Route moved = *route;
  moved.mount = std::make_shared<const MountEntry>(e);
  ARCA_RETURN_IF_ERROR(router.Add(std::move(moved)));
  return PersistMounts(auth);
}

Status Core::Impl::ApplyMountConfig(const Json& fields, bool auth, MountConfig* c) const {
  for (auto [name, out] : {std::pair{"default_lease_ttl", &c->default_lease_ttl},
                           std::pair{"max_lease_ttl", &c->max_lease_ttl}}) {
    if (!fields.is_object() || !fields.contains(name) || fields[name].is_null()) continue;
    const Json& v = fields[name];
    if (v.is_string() && (v == "system" || v == "")) {
      *out = 0;
      continue;
    }
    ARCA_ASSIGN_OR_RETURN(auto secs, logical::GetDuration(fields, name));
    if (secs) *out = *secs;
  }
  int64_t eff_default = c->default_lease_ttl > 0 ? c->default_lease_ttl : config.default_lease_ttl;
  int64_t eff_max = c->max_lease_ttl > 0 ? c->max_lease_ttl : config.max_lease_ttl;
  if (eff_default > eff_max)
    return InvalidArgument("given default lease TTL greater than given max lease TTL");
  ARCA_ASSIGN_OR_RETURN(auto fnc, logical::GetBool(fields, "force_no_cache"));
  if (fnc) c->force_no_cache = *fnc;
  for (auto [name, field] :
       {std::pair{"audit_non_hmac_request_keys", &c->audit_non_hmac_request_keys},
        std::pair{"audit_non_hmac_response_keys", &c->audit_non_hmac_response_keys},
        std::pair{"passthrough_request_headers", &c->passthrough_request_headers},
        std::pair{"allowed_response_headers", &c->allowed_response_headers}}) {
    ARCA_ASSIGN_OR_RETURN(auto v, logical::GetStringSlice(fields, name));
    if (v) *field = *v;
  }
  ARCA_ASSIGN_OR_RETURN(auto vis, logical::GetString(fields, "listing_visibility"));
  if (vis) {
    if (*vis != "" && *vis != "unauth" && *vis != "hidden")
      return InvalidArgument("invalid listing_visibility " + *vis);
    c->listing_visibility = *vis;
  }
  if (auth) {
    ARCA_ASSIGN_OR_RETURN(auto tt, logical::GetString(fields, "token_type"));
    if (tt) {
      if (*tt != "default-service" && *tt != "service" && *tt != "default-batch" && *tt != "batch")
        return InvalidArgument("invalid value for \"token_type\"");
      c->token_type = *tt;
    }
    if (c->token_type.empty()) c->token_type = "default-service";
  }
  return OkStatus();
}

Status Core::Impl::TuneMount(const std::string& route_path, const Json& data,
                             std::vector<std::string>* warnings) {
  std::lock_guard mlock(mounts_mu);
  auto route = router.Get(route_path);
  if (!route) return InvalidArgument("no mount entry found at \"" + route_path + "\"");
  MountEntry e = *route->mount;
  MountConfig c = e.config;
  ARCA_RETURN_IF_ERROR(ApplyMountConfig(data, e.is_auth, &c));
  if (auto d = logical::GetString(data, "description"); d.ok() && *d) e.description = **d;
  e.config = c;

  bool reload = false;
  ARCA_ASSIGN_OR_RETURN(auto opts, logical::GetStringMap(data, "options"));
  if (opts) {
    for (const auto& [k, v] : *opts) {
      if (k == "version") {
        if (e.type != "kv") {
          if (!v.empty())
            return InvalidArgument("secrets engine \"" + e.type +
                                   "\" does not allow setting a version");
          continue;
        }
        std::string old = e.options.count("version") ? e.options["version"] : "1";
        if (old.empty()) old = "1";
        if (v != "1" && v != "2") return InvalidArgument("invalid version " + v);
        if (old == "2" && v == "1") return InvalidArgument("cannot downgrade mount from version 2");
        if (old == "1" && v == "2") {
          reload = true;
          warnings->push_back(
              "Upgrading mount from version 1 to version 2. This mount will be unavailable for a "
              "brief period and will resume service shortly.");
        }
        e.options["version"] = v;
      } else {
        e.options[k] = v;
      }
    }
  }
  if (reload) {
    route->backend->Cleanup();
    router.Remove(route_path);
    auto fresh = MakeRoute(e);
    if (!fresh.ok()) {
      ARCA_RETURN_IF_ERROR(router.Add(*route));
      return fresh.status();
    }
    ARCA_RETURN_IF_ERROR(router.Add(std::move(*fresh)));
  } else {
    router.UpdateEntry(std::make_shared<const MountEntry>(e));
  }
  return PersistMounts(e.is_auth);
}

Status Core::Impl::LoadAuditTable() {
  ARCA_ASSIGN_OR_RETURN(auto table, barrier.Get(kAuditPath));
  if (!table) return OkStatus();
  Json j;
  try {
    j = Json::parse(*table);
  } catch (const std::exception&) {
    return DataLoss("corrupt audit table");
  }
  for (const auto& item : j) {
    AuditDeviceInfo info;
    info.path = item.value("path", "");
    info.type = item.value("type", "");
    info.description = item.value("description", "");
    info.local = item.value("local", false);
    if (item.contains("options") && item["options"].is_object())
      info.options = item["options"].get<std::map<std::string, std::string>>();
    Status st = audit->Enable(info);
    // As Vault: a device that cannot start stops the unseal, since requests
    // must not go unaudited.
    if (!st.ok()) {
      spdlog::error("core: audit device {} failed to start: {}", info.path, st.message());
      return Unavailable("audit device " + info.path + " failed to start: " + st.message());
    }
  }
  return OkStatus();
}

Status Core::Impl::PersistAuditTable() {
  Json arr = Json::array();
  for (const auto& d : audit->List()) {
    arr.push_back({{"path", d.path},
                   {"type", d.type},
                   {"description", d.description},
                   {"local", d.local},
                   {"options", d.options}});
  }
  return barrier.Put(kAuditPath, arr.dump());
}

}  // namespace arca::core
