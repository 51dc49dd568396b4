// arca auth/jwt (internal): the OpenID Connect pieces, provider side
// (vault-api.md 6.4).
//
// * FetchDiscovery reads <issuer>/.well-known/openid-configuration.
// * StateStore keeps the pending authorization requests of oidc/auth_url:
//   a random `state` (160 bits) mapping to the role, redirect URI, the
//   client's nonce, Vault's own OIDC nonce and the PKCE S256 code verifier.
//   States expire after 10 minutes (steady clock) and are single use; at
//   most `max_entries` are kept (the oldest are dropped first).
// * BuildAuthUrl / ExchangeCode are the two legs of the code flow with PKCE
//   (the verifier never leaves the server except toward the token endpoint).
// Everything is safe for concurrent use. Nothing here logs codes, tokens or
// the client secret.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "logical/request.h"

namespace arca::auth::jwt {

using logical::Json;

struct DiscoveryDoc {
  std::string issuer;
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string userinfo_endpoint;  // may be empty
  std::string jwks_uri;
  std::vector<std::string> token_endpoint_auth_methods;  // may be empty
};

// Fetches and checks the discovery document of `issuer`. Errors:
// Unavailable (fetch, non-200 status as "<status>: <body>"), InvalidArgument
// ("failed to decode OIDC discovery document: ...", "issuer did not match the
// returned issuer, expected \"a\" got \"b\"", missing jwks_uri).
StatusOr<DiscoveryDoc> FetchDiscovery(const std::string& issuer, const std::string& ca_pem);

struct OidcState {
  std::string role;
  std::string redirect_uri;
  std::string client_nonce;   // from the client, optional
  std::string nonce;          // ours, sent to the IdP, checked in the ID token
  std::string code_verifier;  // PKCE
  std::string code;           // form_post only
  std::string id_token;       // form_post only
  SteadyTime expires;
};

inline constexpr auto kStateTtl = std::chrono::minutes(10);

class StateStore {
 public:
  explicit StateStore(Clock& clock, std::size_t max_entries = 10'000)
      : clock_(clock), max_(max_entries) {}

  // Stores `s` (its `expires` is set here) under a new random state id,
  // which is returned.
  std::string Create(OidcState s);
  // Removes and returns the state; nullopt if unknown or expired.
  std::optional<OidcState> Take(const std::string& id);
  // form_post: records code / id_token on a live state (kept pending) and
  // returns a copy; nullopt if unknown or expired.
  std::optional<OidcState> Amend(const std::string& id, const std::string& code,
                                 const std::string& id_token);
  std::size_t SizeForTest() const;

 private:
  void DropExpiredLocked(SteadyTime now);
  Clock& clock_;
  const std::size_t max_;
  mutable std::mutex mu_;
  std::map<std::string, OidcState> states_;
};

// A fresh PKCE code verifier (43 characters) and its S256 challenge.
std::string NewCodeVerifier();
std::string CodeChallenge(const std::string& verifier);

struct AuthUrlParams {
  std::string client_id;
  std::string redirect_uri;
  std::vector<std::string> scopes;  // "openid" is added first if absent
  std::string state;
  std::string nonce;
  std::string code_challenge;
  int64_t max_age = 0;  // sent when > 0
  bool form_post = false;
  std::string response_type = "code";  // "code", "id_token" or "code id_token"
};

// authorization_endpoint?client_id=...&code_challenge=...&code_challenge_method=S256
// &nonce=...&redirect_uri=...&response_type=code&scope=openid+...&state=...
// (keys sorted, values form-escaped, as Go's oauth2 AuthCodeURL).
std::string BuildAuthUrl(const std::string& authorization_endpoint, const AuthUrlParams& p);

struct TokenResponse {
  std::string id_token;      // empty if the IdP sent none
  std::string access_token;  // may be empty
};

// Redeems `code` at the token endpoint (client_secret_basic unless the
// provider advertises only client_secret_post). Errors (Unavailable) read
// like Go's oauth2: "oauth2: cannot fetch token: 400 Bad Request\nResponse: ...".
StatusOr<TokenResponse> ExchangeCode(const DiscoveryDoc& doc, const std::string& client_id,
                                     const std::string& client_secret, const std::string& code,
                                     const std::string& redirect_uri,
                                     const std::string& code_verifier, const std::string& ca_pem);

// Vault's validRedirect: exact match, except that for localhost, 127.0.0.1
// and ::1 the port is ignored (RFC 8252 7.3).
bool ValidRedirect(const std::string& uri, const std::vector<std::string>& allowed);

}  // namespace arca::auth::jwt
