#include "core/mount_table.h"

namespace arca::core {

using Json = nlohmann::json;

namespace {
Json StrList(const std::vector<std::string>& v) { return Json(v); }
std::vector<std::string> ReadList(const Json& j, const char* k) {
  std::vector<std::string> out;
  if (j.contains(k) && j[k].is_array())
    for (const auto& e : j[k])
      if (e.is_string()) out.push_back(e.get<std::string>());
  return out;
}
}  // namespace

Json MountEntry::ToStorageJson() const {
  Json c = {{"default_lease_ttl", config.default_lease_ttl},
            {"max_lease_ttl", config.max_lease_ttl},
            {"force_no_cache", config.force_no_cache},
            {"audit_non_hmac_request_keys", StrList(config.audit_non_hmac_request_keys)},
            {"audit_non_hmac_response_keys", StrList(config.audit_non_hmac_response_keys)},
            {"passthrough_request_headers", StrList(config.passthrough_request_headers)},
            {"allowed_response_headers", StrList(config.allowed_response_headers)},
            {"listing_visibility", config.listing_visibility},
            {"token_type", config.token_type}};
  return Json{{"path", path},       {"type", type},           {"description", description},
              {"accessor", accessor}, {"uuid", uuid},         {"local", local},
              {"seal_wrap", seal_wrap}, {"external_entropy_access", external_entropy_access},
              {"is_auth", is_auth}, {"options", options},     {"config", c}};
}

StatusOr<MountEntry> MountEntry::FromStorageJson(const Json& j) {
  try {
    MountEntry e;
    e.path = j.at("path").get<std::string>();
    e.type = j.at("type").get<std::string>();
    e.description = j.value("description", "");
    e.accessor = j.at("accessor").get<std::string>();
    e.uuid = j.at("uuid").get<std::string>();
    e.local = j.value("local", false);
    e.seal_wrap = j.value("seal_wrap", false);
    e.external_entropy_access = j.value("external_entropy_access", false);
    e.is_auth = j.value("is_auth", false);
    if (j.contains("options") && j["options"].is_object())
      e.options = j["options"].get<std::map<std::string, std::string>>();
    const Json& c = j.at("config");
    e.config.default_lease_ttl = c.value("default_lease_ttl", int64_t(0));
    e.config.max_lease_ttl = c.value("max_lease_ttl", int64_t(0));
    e.config.force_no_cache = c.value("force_no_cache", false);
    e.config.audit_non_hmac_request_keys = ReadList(c, "audit_non_hmac_request_keys");
    e.config.audit_non_hmac_response_keys = ReadList(c, "audit_non_hmac_response_keys");
    e.config.passthrough_request_headers = ReadList(c, "passthrough_request_headers");
    e.config.allowed_response_headers = ReadList(c, "allowed_response_headers");
    e.config.listing_visibility = c.value("listing_visibility", "");
    e.config.token_type = c.value("token_type", "");
    return e;
  } catch (const std::exception&) {
    return DataLoss("corrupt mount table entry");
  }
}

Json MountEntry::ToApiJson() const {
  Json c = {{"default_lease_ttl", config.default_lease_ttl},
            {"max_lease_ttl", config.max_lease_ttl},
            {"force_no_cache", config.force_no_cache}};
  if (!config.audit_non_hmac_request_keys.empty())
    c["audit_non_hmac_request_keys"] = config.audit_non_hmac_request_keys;
  if (!config.audit_non_hmac_response_keys.empty())
    c["audit_non_hmac_response_keys"] = config.audit_non_hmac_response_keys;
  if (!config.passthrough_request_headers.empty())
    c["passthrough_request_headers"] = config.passthrough_request_headers;
  if (!config.allowed_response_headers.empty())
    c["allowed_response_headers"] = config.allowed_response_headers;
  if (!config.listing_visibility.empty()) c["listing_visibility"] = config.listing_visibility;
  if (is_auth && !config.token_type.empty()) c["token_type"] = config.token_type;
  Json j = {{"type", type},
            {"description", description},
            {"accessor", accessor},
            {"uuid", uuid},
            {"local", local},
            {"seal_wrap", seal_wrap},
            {"external_entropy_access", external_entropy_access},
            {"options", options.empty() ? Json(nullptr) : Json(options)},
            {"config", c},
            {"plugin_version", ""},
            {"running_plugin_version", "v0.1.0+builtin.arca"},
            {"running_sha256", ""}};
  if (type == "kv" || type == "jwt" || type == "oidc") j["deprecation_status"] = "supported";
  return j;
}

Status Router::Add(Route route) {
  std::unique_lock lock(mu_);
  std::string key = route.mount->RoutePath();
  if (routes_.count(key)) return InvalidArgument("path is already in use at " + key);
  routes_.emplace(std::move(key), std::move(route));
  return OkStatus();
}

void Router::Remove(std::string_view route_path) {
  std::unique_lock lock(mu_);
  auto it = routes_.find(route_path);
  if (it != routes_.end()) routes_.erase(it);
}

void Router::Clear() {
  std::unique_lock lock(mu_);
  routes_.clear();
}

std::optional<Route> Router::Match(std::string_view path) const {
  std::shared_lock lock(mu_);
  // Walk candidate prefixes from the longest: every prefix ending in '/'.
  std::size_t end = path.size();
  while (true) {
    std::size_t slash = path.rfind('/', end == 0 ? 0 : end - 1);
    if (slash == std::string_view::npos) break;
    auto it = routes_.find(path.substr(0, slash + 1));
    if (it != routes_.end()) return it->second;
    if (slash == 0) break;
    end = slash;
  }
  return std::nullopt;
}

std::optional<Route> Router::Get(std::string_view route_path) const {
  std::shared_lock lock(mu_);
  auto it = routes_.find(route_path);
  if (it == routes_.end()) return std::nullopt;
  return it->second;
}

std::vector<Route> Router::All() const {
  std::shared_lock lock(mu_);
  std::vector<Route> out;
  for (const auto& [k, v] : routes_) out.push_back(v);
  return out;
}

void Router::UpdateEntry(std::shared_ptr<const MountEntry> entry) {
  std::unique_lock lock(mu_);
  auto it = routes_.find(entry->RoutePath());
  if (it != routes_.end()) it->second.mount = std::move(entry);
}

}  // namespace arca::core
