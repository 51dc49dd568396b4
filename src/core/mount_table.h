// arca: MountEntry and MountTable, the persisted table of secrets engines and
// auth methods (Vault's MountTable), and Router, the longest-prefix routing
// of logical paths to mounted backends.
//
// Secrets mounts are keyed by their path ("secret/"), auth mounts by
// "auth/<path>" ("auth/token/"). Each mount's data lives in the barrier under
// its storage prefix ("logical/<uuid>/" or "auth/<uuid>/"), so renaming a
// mount (remount) moves no data. Router is safe for concurrent use; routes
// are shared_ptrs, so a request in flight keeps its backend alive across an
// unmount.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "logical/backend.h"
#include "storage/backend.h"

namespace arca::core {

struct MountConfig {
  int64_t default_lease_ttl = 0;  // seconds, 0 = system default
  int64_t max_lease_ttl = 0;
  bool force_no_cache = false;
  std::vector<std::string> audit_non_hmac_request_keys;
  std::vector<std::string> audit_non_hmac_response_keys;
  std::vector<std::string> passthrough_request_headers;
  std::vector<std::string> allowed_response_headers;
  std::string listing_visibility;
  std::string token_type;  // auth mounts: "default-service"
};

struct MountEntry {
  std::string path;  // "secret/" (auth mounts: "token/", without "auth/")
  std::string type;
  std::string description;
  std::string accessor;
  std::string uuid;
  bool local = false;
  bool seal_wrap = false;
  bool external_entropy_access = false;
  bool is_auth = false;
  std::map<std::string, std::string> options;
  MountConfig config;

  // "secret/" or "auth/token/": the logical path prefix.
  std::string RoutePath() const { return is_auth ? "auth/" + path : path; }
  std::string StoragePrefix() const { return (is_auth ? "auth/" : "logical/") + uuid + "/"; }

  nlohmann::json ToStorageJson() const;
  static StatusOr<MountEntry> FromStorageJson(const nlohmann::json& j);
  // The object of GET sys/mounts (2.9) / sys/auth (2.10).
  nlohmann::json ToApiJson() const;
};

struct Route {
  std::shared_ptr<const MountEntry> mount;
  std::shared_ptr<logical::Backend> backend;
  std::shared_ptr<storage::View> view;
};

class Router {
 public:
  Status Add(Route route);  // InvalidArgument if the route path is taken
  void Remove(std::string_view route_path);
  void Clear();
  // The mount whose route path is the longest prefix of `path`.
  std::optional<Route> Match(std::string_view path) const;
  std::optional<Route> Get(std::string_view route_path) const;
  std::vector<Route> All() const;
  // Replaces the mount entry (tune) keeping backend and view.
  void UpdateEntry(std::shared_ptr<const MountEntry> entry);

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, Route, std::less<>> routes_;  // route path → route
};

}  // namespace arca::core
