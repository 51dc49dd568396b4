// arca auth/jwt (internal): JwtBackend, the logical::Backend behind
// auth::JwtFactory (see auth/auth.h for the contract). Split over
// backend.cc (routing, config, roles), login.cc (JWT login and the shared
// login result) and oidc_paths.cc (oidc/auth_url, oidc/callback).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "auth/jwt/config.h"
#include "auth/jwt/oidc.h"
#include "auth/jwt/provider.h"
#include "auth/jwt/role.h"
#include "base/clock.h"
#include "base/status.h"
#include "logical/backend.h"

namespace arca::auth::jwt {

class JwtBackend final : public logical::Backend {
 public:
  JwtBackend(storage::Backend* storage, Clock& clock, std::string mount_path);

  StatusOr<logical::Response> HandleRequest(logical::Request& req) override;
  StatusOr<bool> Exists(logical::Request& req) override;
  std::vector<std::string> UnauthenticatedPaths() const override {
    return {"login", "oidc/auth_url", "oidc/callback"};
  }
  // pathLoginRenew (login.cc): the role named by the token's "role" metadata
  // must still exist; its current token_ttl / token_max_ttl / token_period
  // become the renewal's ttl / max_ttl / period.
  StatusOr<logical::Auth> Renew(logical::Request& req, const logical::Auth& auth) override;

  StateStore& StatesForTest() { return states_; }

 private:
  using Request = logical::Request;
  using Response = logical::Response;

  // backend.cc
  StatusOr<Response> Route(Request& req);
  StatusOr<Response> ReadConfig(Request& req);
  StatusOr<Response> WriteConfig(Request& req);
  StatusOr<Response> RoleOp(Request& req, const std::string& name);
  StatusOr<Response> ListRoles(Request& req);
  storage::Backend& Storage(const Request& req) const;
  StatusOr<std::optional<JwtConfig>> LoadConfig(storage::Backend& s);
  StatusOr<std::optional<JwtRole>> LoadRole(storage::Backend& s, const std::string& name);
  // The Provider of the stored configuration (rebuilt when it changed);
  // nullptr when the mount is not configured.
  StatusOr<std::shared_ptr<Provider>> LoadProvider(storage::Backend& s);

  // login.cc
  StatusOr<Response> Login(Request& req);
  StatusOr<Json> Userinfo(Provider& p, std::string_view token, const Json& claims);
  // Identity, bound claims and the Auth block, common to both login paths.
  StatusOr<Response> FinishLogin(const Json& claims, const JwtRole& role,
                                 const std::string& role_name);
  Status CheckCidrs(const Request& req, const JwtRole& role) const;

  // oidc_paths.cc
  StatusOr<Response> AuthUrl(Request& req);
  StatusOr<Response> Callback(Request& req);
  StatusOr<Response> CallbackPost(Request& req);

  storage::Backend* storage_;
  Clock& clock_;
  const std::string mount_path_;
  StateStore states_;
  std::mutex mu_;  // guards cached_raw_ and provider_
  std::string cached_raw_;
  std::shared_ptr<Provider> provider_;
};

// Vault's framework warning for body fields no handler reads (only added to
// responses that have a body).
void WarnIgnored(logical::Response& resp, const Json& data, const std::vector<std::string>& known);

std::string LowerAscii(std::string s);

}  // namespace arca::auth::jwt
