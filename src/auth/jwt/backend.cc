// arca auth/jwt: JwtBackend routing, the config and role endpoints, and
// JwtFactory.
#include "auth/jwt/backend.h"

#include <spdlog/spdlog.h>

#include <cctype>

#include "auth/auth.h"
#include "logical/fields.h"

namespace arca::auth::jwt {

namespace {

using logical::Operation;

constexpr const char* kConfigKey = "config";
constexpr const char* kRolePrefix = "role/";

bool IsWrite(Operation op) { return op == Operation::kCreate || op == Operation::kUpdate; }

}  // namespace

std::string LowerAscii(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void WarnIgnored(logical::Response& resp, const Json& data, const std::vector<std::string>& known) {
  auto unknown = logical::UnknownFields(data, known);
  if (unknown.empty()) return;
  std::string list;
  for (const auto& u : unknown) list += (list.empty() ? "" : " ") + u;
  resp.warnings.push_back("Endpoint ignored these unrecognized parameters: [" + list + "]");
}

JwtBackend::JwtBackend(storage::Backend* storage, Clock& clock, std::string mount_path)
    : storage_(storage), clock_(clock), mount_path_(std::move(mount_path)), states_(clock) {}

storage::Backend& JwtBackend::Storage(const Request& req) const {
  return req.storage ? *req.storage : *storage_;
}

StatusOr<logical::Response> JwtBackend::HandleRequest(Request& req) {
  try {
    return Route(req);
  } catch (const std::exception& e) {
    spdlog::error("jwt: unexpected exception on {}: {}", req.path, e.what());
    return Internal("internal error");
  }
}

StatusOr<bool> JwtBackend::Exists(Request& req) {
  if (req.path.rfind(kRolePrefix, 0) != 0) return true;
  std::string name = LowerAscii(req.path.substr(5));
  if (!ValidRoleName(name)) return false;
  ARCA_ASSIGN_OR_RETURN(auto raw, Storage(req).Get(kRolePrefix + name));
  return raw.has_value();
}

StatusOr<logical::Response> JwtBackend::Route(Request& req) {
  const std::string& p = req.path;
  const Operation op = req.operation;
  if (p == "config") {
    if (op == Operation::kRead) return ReadConfig(req);
    if (IsWrite(op)) return WriteConfig(req);
    return UnsupportedOperation();
  }
  if (p == "role" || p == "role/") {
    if (op == Operation::kList) return ListRoles(req);
    return UnsupportedOperation();
  }
  if (p.rfind(kRolePrefix, 0) == 0) {
    std::string name = LowerAscii(p.substr(5));
    if (!ValidRoleName(name)) return UnsupportedPath();
    return RoleOp(req, name);
  }
  if (p == "login") {
    if (IsWrite(op)) return Login(req);
    return UnsupportedOperation();
  }
  if (p == "oidc/auth_url") {
    if (IsWrite(op)) return AuthUrl(req);
    return UnsupportedOperation();
  }
  if (p == "oidc/callback") {
    if (op == Operation::kRead) return Callback(req);
    if (IsWrite(op)) return CallbackPost(req);
    return UnsupportedOperation();
  }
  return UnsupportedPath();
}

StatusOr<std::optional<JwtConfig>> JwtBackend::LoadConfig(storage::Backend& s) {
  ARCA_ASSIGN_OR_RETURN(auto raw, s.Get(kConfigKey));
  if (!raw) return std::optional<JwtConfig>();
  ARCA_ASSIGN_OR_RETURN(JwtConfig c, ConfigFromStorage(*raw));
  return std::optional<JwtConfig>(std::move(c));
}

StatusOr<std::shared_ptr<Provider>> JwtBackend::LoadProvider(storage::Backend& s) {
  ARCA_ASSIGN_OR_RETURN(auto raw, s.Get(kConfigKey));
  std::lock_guard l(mu_);
  if (!raw) {
    provider_.reset();
    cached_raw_.clear();
    return std::shared_ptr<Provider>();
  }
  if (provider_ && cached_raw_ == *raw) return provider_;
  ARCA_ASSIGN_OR_RETURN(JwtConfig c, ConfigFromStorage(*raw));
  provider_ = std::make_shared<Provider>(std::move(c), clock_);
  cached_raw_ = std::move(*raw);
  return provider_;
}

StatusOr<std::optional<JwtRole>> JwtBackend::LoadRole(storage::Backend& s,
                                                      const std::string& name) {
  if (!ValidRoleName(name)) return std::optional<JwtRole>();
  ARCA_ASSIGN_OR_RETURN(auto raw, s.Get(kRolePrefix + name));
  if (!raw) return std::optional<JwtRole>();
  ARCA_ASSIGN_OR_RETURN(JwtRole r, RoleFromStorage(*raw));
  return std::optional<JwtRole>(std::move(r));
}

StatusOr<logical::Response> JwtBackend::ReadConfig(Request& req) {
  ARCA_ASSIGN_OR_RETURN(auto c, LoadConfig(Storage(req)));
  if (!c) return NotFound();
  return Response::WithData(ConfigReadData(*c));
}

StatusOr<logical::Response> JwtBackend::WriteConfig(Request& req) {
  storage::Backend& s = Storage(req);
  ARCA_ASSIGN_OR_RETURN(auto existing, LoadConfig(s));
  ARCA_ASSIGN_OR_RETURN(JwtConfig c, ParseConfigWrite(req.data, existing));
  ARCA_RETURN_IF_ERROR(s.Put(kConfigKey, ConfigToStorage(c)));
  std::lock_guard l(mu_);
  provider_.reset();
  cached_raw_.clear();
  return Response();
}

StatusOr<logical::Response> JwtBackend::RoleOp(Request& req, const std::string& name) {
  storage::Backend& s = Storage(req);
  switch (req.operation) {
    case Operation::kRead: {
      ARCA_ASSIGN_OR_RETURN(auto role, LoadRole(s, name));
      if (!role) return NotFound();
      return Response::WithData(RoleReadData(*role));
    }
    case Operation::kCreate:
    case Operation::kUpdate: {
      ARCA_ASSIGN_OR_RETURN(auto existing, LoadRole(s, name));
      ARCA_ASSIGN_OR_RETURN(RoleWrite w, ApplyRoleWrite(existing, req.data, req.mount_max_ttl));
      ARCA_RETURN_IF_ERROR(s.Put(kRolePrefix + name, RoleToStorage(w.role)));
      Response r;
      r.warnings = std::move(w.warnings);
      return r;
    }
    case Operation::kDelete:
      ARCA_RETURN_IF_ERROR(s.Delete(kRolePrefix + name));
      return Response();
    default:
      return UnsupportedOperation();
  }
}

StatusOr<logical::Response> JwtBackend::ListRoles(Request& req) {
  ARCA_ASSIGN_OR_RETURN(auto keys, Storage(req).List(kRolePrefix));
  std::vector<std::string> names;
  for (auto& k : keys) {
    if (!k.empty() && k.back() != '/') names.push_back(std::move(k));
  }
  if (names.empty()) return NotFound();
  return Response::WithData(Json{{"keys", names}});
}

}  // namespace arca::auth::jwt

namespace arca::auth {

logical::Factory JwtFactory() {
  return [](const logical::BackendConfig& conf) -> StatusOr<std::unique_ptr<logical::Backend>> {
    if (conf.storage == nullptr) return InvalidArgument("jwt: no storage view");
    if (conf.type != "jwt" && conf.type != "oidc" && !conf.type.empty()) {
      return InvalidArgument("jwt: unsupported mount type \"" + conf.type + "\"");
    }
    Clock& clock = conf.clock ? *conf.clock : RealClock();
    return std::unique_ptr<logical::Backend>(
        std::make_unique<jwt::JwtBackend>(conf.storage, clock, conf.mount_path));
  };
}

}  // namespace arca::auth
