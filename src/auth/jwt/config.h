// arca auth/jwt (internal): the mount's configuration, `auth/<m>/config`
// (vault-api.md 6.1).
//
// A write replaces the whole configuration (as Vault: absent fields become
// empty), except namespace_in_state which defaults to true on the first
// write and otherwise keeps its value. ParseConfigWrite runs Vault's checks
// in Vault's order, including the network checks: the discovery document is
// fetched (and its issuer compared) when oidc_discovery_url is set, the JWKS
// when jwks_url is set. Pure apart from that network access; safe for
// concurrent use.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "logical/request.h"

namespace arca::auth::jwt {

using logical::Json;

struct JwtConfig {
  std::string oidc_discovery_url;
  std::string oidc_discovery_ca_pem;
  std::string oidc_client_id;
  std::string oidc_client_secret;                // never returned by a read
  std::string oidc_response_mode;                // "", "query", "form_post"
  std::vector<std::string> oidc_response_types;  // "code", "id_token"
  std::string jwks_url;
  std::string jwks_ca_pem;
  std::vector<std::string> jwt_validation_pubkeys;
  std::vector<std::string> jwt_supported_algs;
  std::string bound_issuer;
  std::string default_role;  // lowercased
  Json provider_config = Json::object();
  bool namespace_in_state = true;
};

// Which validator a configuration yields (static keys win over a JWKS URL,
// which wins over discovery; discovery with client id and secret is an OIDC
// flow mount, on which `login` is refused).
enum class AuthType { kStaticKeys, kJwks, kOidcDiscovery, kOidcFlow, kUnconfigured };
AuthType TypeOf(const JwtConfig& c);

// Whether the configured response types include `t` ("code" by default).
bool HasResponseType(const JwtConfig& c, const std::string& t);

// Decodes and validates a config write. `existing` is the stored config, if
// any. Errors: InvalidArgument with Vault's messages ("exactly one of
// 'jwt_validation_pubkeys', 'jwks_url' or 'oidc_discovery_url' must be set",
// "error checking oidc discovery URL: ...", "error checking jwks URL: ...",
// "error parsing public key: ...", "invalid jwt_supported_algs: ...", ...).
StatusOr<JwtConfig> ParseConfigWrite(const Json& data, const std::optional<JwtConfig>& existing);

// The data of a config read: every field except oidc_client_secret.
Json ConfigReadData(const JwtConfig& c);

// Storage encoding (the secret included: storage is behind the barrier).
std::string ConfigToStorage(const JwtConfig& c);
StatusOr<JwtConfig> ConfigFromStorage(const std::string& raw);

}  // namespace arca::auth::jwt
