// arca auth/jwt: Provider, the per-configuration runtime state.
#include "auth/jwt/provider.h"

namespace arca::auth::jwt {

namespace {
constexpr auto kRetryInterval = std::chrono::seconds(5);
}  // namespace

Provider::Provider(JwtConfig config, Clock& clock)
    : config_(std::move(config)), clock_(clock), userinfo_(clock) {
  if (TypeOf(config_) == AuthType::kStaticKeys) {
    std::vector<PublicKey> keys;
    for (const auto& pem : config_.jwt_validation_pubkeys) {
      auto k = ParsePublicKeyPem(pem);
      if (!k.ok()) {
        static_error_ = InvalidArgument("error parsing public key: " + k.status().message());
        return;
      }
      keys.push_back(std::move(*k));
    }
    keys_ = std::make_unique<StaticKeySet>(std::move(keys));
  } else if (TypeOf(config_) == AuthType::kJwks) {
    keys_ = std::make_unique<RemoteKeySet>(config_.jwks_url, config_.jwks_ca_pem, clock_);
  }
}

StatusOr<DiscoveryDoc> Provider::Discovery() {
  if (config_.oidc_discovery_url.empty()) {
    return FailedPrecondition("no oidc_discovery_url is configured");
  }
  auto cached = [&]() -> std::optional<StatusOr<DiscoveryDoc>> {
    std::lock_guard l(mu_);
    if (doc_) return StatusOr<DiscoveryDoc>(*doc_);
    if (last_discovery_ && clock_.SteadyNow() - *last_discovery_ < kRetryInterval) {
      return StatusOr<DiscoveryDoc>(discovery_error_);
    }
    return std::nullopt;
  };
  if (auto c = cached()) return *c;
  std::lock_guard f(fetch_mu_);
  if (auto c = cached()) return *c;
  auto doc = FetchDiscovery(config_.oidc_discovery_url, config_.oidc_discovery_ca_pem);
  std::lock_guard l(mu_);
  last_discovery_ = clock_.SteadyNow();
  if (!doc.ok()) {
    discovery_error_ = doc.status();
    return doc.status();
  }
  doc_ = *doc;
  return doc;
}

StatusOr<KeySet*> Provider::Keys() {
  {
    std::lock_guard l(mu_);
    if (!static_error_.ok()) return static_error_;
    if (keys_) return keys_.get();
  }
  ARCA_ASSIGN_OR_RETURN(DiscoveryDoc doc, Discovery());
  std::lock_guard l(mu_);
  if (!keys_) {
    keys_ = std::make_unique<RemoteKeySet>(doc.jwks_uri, config_.oidc_discovery_ca_pem, clock_);
  }
  return keys_.get();
}

}  // namespace arca::auth::jwt
