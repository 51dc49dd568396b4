// arca auth/jwt (internal): the runtime state built from one stored
// configuration — its key set, the provider's discovery document and the
// userinfo cache. The backend keeps one Provider per configuration and
// replaces it when the configuration changes.
//
// The discovery document is fetched on first use and then kept; after a
// failed fetch it is tried again at most every 5 s (steady clock). Safe for
// concurrent use.
#pragma once

#include <memory>
#include <mutex>
#include <optional>

#include "auth/jwt/config.h"
#include "auth/jwt/keyset.h"
#include "auth/jwt/oidc.h"
#include "auth/jwt/userinfo.h"
#include "base/clock.h"
#include "base/status.h"

namespace arca::auth::jwt {

class Provider {
 public:
  Provider(JwtConfig config, Clock& clock);

  const JwtConfig& config() const { return config_; }
  AuthType type() const { return TypeOf(config_); }

  // The discovery document of oidc_discovery_url. FailedPrecondition when
  // the config has none; otherwise the fetch error.
  StatusOr<DiscoveryDoc> Discovery();

  // The key set tokens are verified with: the static keys, the jwks_url set,
  // or the discovery document's jwks_uri. Errors: InvalidArgument for a bad
  // stored PEM key, the discovery error.
  StatusOr<KeySet*> Keys();

  // The CA for requests to the provider's endpoints (discovery CA).
  const std::string& ca_pem() const { return config_.oidc_discovery_ca_pem; }

  UserinfoCache& userinfo() { return userinfo_; }

 private:
  const JwtConfig config_;
  Clock& clock_;
  UserinfoCache userinfo_;
  std::mutex fetch_mu_;  // one discovery fetch at a time
  std::mutex mu_;        // guards everything below
  Status static_error_;
  std::unique_ptr<KeySet> keys_;
  std::optional<DiscoveryDoc> doc_;
  std::optional<SteadyTime> last_discovery_;
  Status discovery_error_;
};

}  // namespace arca::auth::jwt
