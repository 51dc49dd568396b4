// arca auth/jwt (internal): JWS compact parsing, signature verification and
// the registered-claims checks of hashicorp/cap's jwt.Validator (what Vault's
// jwt plugin v0.16 runs at login).
//
// Accepted algorithms: RS256/384/512, PS256/384/512, ES256/384/512 and
// EdDSA (Ed25519), each only with a key of the matching type and curve.
// "none" and the HMAC algorithms never verify (no key can), so such tokens
// fail the signature check. Pure functions, safe for concurrent use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt/keyset.h"
#include "base/clock.h"
#include "base/status.h"

namespace arca::auth::jwt {

// Tokens longer than this are refused before any parsing.
inline constexpr std::size_t kMaxTokenBytes = 256 * 1024;

// Vault's default jwt_supported_algs for JWT login.
const std::vector<std::string>& DefaultLoginAlgs();
// Every algorithm this implementation knows (for config validation).
bool KnownAlg(std::string_view alg);

struct Jws {
  Json header;
  std::string alg;
  std::string kid;
  std::string signing_input;  // "<b64 header>.<b64 payload>"
  std::string signature;      // raw bytes
  Json claims;                // the payload, a JSON object
};

// Splits and decodes a compact JWS. InvalidArgument (e.g. "compact JWS format
// must have three parts", "unsupported critical header") on malformed input.
StatusOr<Jws> ParseJws(std::string_view token);

// Whether `signature` over `input` verifies with `key` under `alg`.
bool VerifySignature(const PublicKey& key, std::string_view alg, std::string_view input,
                     std::string_view signature);

struct Expected {
  std::string issuer;                  // empty: not checked
  std::string subject;                 // empty: not checked
  std::vector<std::string> audiences;  // empty: not checked
  std::vector<std::string> algs;       // empty: RS256 only (as cap)
  // Seconds; 0 means the default (150, 150, 60), negative means none.
  int64_t not_before_leeway = 0;
  int64_t expiration_leeway = 0;
  int64_t clock_skew_leeway = 0;
};

// The token's audiences: a string claim or an array of strings. nullopt when
// `aud` has another type.
std::optional<std::vector<std::string>> Audiences(const Json& claims);

// Verifies the signature with `keys`, then alg, iss, sub, aud and the time
// claims (nbf/exp/iat with the leeways) against clock.SystemNow(). Returns
// the claims, or InvalidArgument with cap's reason, e.g. "error verifying
// token signature: ...", "invalid algorithm (alg) header parameter: token
// signed with unexpected algorithm", "invalid issuer (iss) claim",
// "invalid expiration time (exp) claim: token is expired".
StatusOr<Json> ValidateToken(std::string_view token, KeySet& keys, const Expected& expected,
                             const Clock& clock);

}  // namespace arca::auth::jwt
