// arca auth/jwt (internal): public keys and the key sets JWTs are checked
// against.
//
// PublicKey is an immutable, shareable OpenSSL public key (RSA of at least
// 2048 bits, EC on P-256/P-384/P-521, or Ed25519) with its JWK `kid`/`alg`.
// A KeySet offers candidate keys for one token:
// * StaticKeySet: the PEM keys of jwt_validation_pubkeys, all tried.
// * RemoteKeySet: a JWKS fetched from a URL (jwks_url, or the jwks_uri of a
//   discovery document), cached; when no cached key verifies a token whose
//   `kid` is unknown (or absent), the set is fetched again, at most once per
//   5 s (steady clock), so an IdP's key rotation is picked up without letting
//   tokens with made-up kids hammer the IdP.
// Key sets are safe for concurrent use.
#pragma once

#include <openssl/types.h>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "logical/request.h"

namespace arca::auth::jwt {

using logical::Json;

struct PublicKey {
  enum class Type { kRsa, kEc, kEd25519 };
  Type type = Type::kRsa;
  std::string curve;  // EC only: "P-256", "P-384", "P-521"
  std::string kid;    // JWK only
  std::string alg;    // JWK `alg`, if it names one; empty otherwise
  std::shared_ptr<EVP_PKEY> pkey;
};

// The first PEM block of `pem`: a SubjectPublicKeyInfo ("PUBLIC KEY") or an
// X.509 certificate. InvalidArgument "data does not contain any valid public
// keys" (or the reason the key is refused) otherwise.
StatusOr<PublicKey> ParsePublicKeyPem(std::string_view pem);

// One JWK (RFC 7517/7518/8037). InvalidArgument for unsupported or malformed
// keys.
StatusOr<PublicKey> ParseJwk(const Json& jwk);

// A JWKS document: {"keys": [...]}. Keys that are not usable for signatures
// (unknown kty/crv, `use` other than "sig", malformed) are skipped; at most
// 100 are kept. InvalidArgument if the document is not a JWKS.
StatusOr<std::vector<PublicKey>> ParseJwks(std::string_view body);

class KeySet {
 public:
  virtual ~KeySet() = default;
  // Offers candidate keys for a token with key id `kid` ("" = none) to
  // `try_key` until it returns true. OK once a key verified; otherwise
  // InvalidArgument with the reason (Vault's texts: "no known key
  // successfully validated the token signature" for static keys, "failed to
  // verify id token signature" for a JWKS, or "fetching keys ..." when the
  // JWKS cannot be fetched).
  virtual Status Verify(std::string_view kid,
                        const std::function<bool(const PublicKey&)>& try_key) = 0;
};

class StaticKeySet final : public KeySet {
 public:
  explicit StaticKeySet(std::vector<PublicKey> keys) : keys_(std::move(keys)) {}
  Status Verify(std::string_view kid,
                const std::function<bool(const PublicKey&)>& try_key) override;

 private:
  const std::vector<PublicKey> keys_;
};

class RemoteKeySet final : public KeySet {
 public:
  RemoteKeySet(std::string url, std::string ca_pem, Clock& clock)
      : url_(std::move(url)), ca_pem_(std::move(ca_pem)), clock_(clock) {}
  Status Verify(std::string_view kid,
                const std::function<bool(const PublicKey&)>& try_key) override;

  // Fetches the JWKS now (used by the config check). Errors: Unavailable
  // (fetch), InvalidArgument (not a JWKS).
  Status Refresh();

 private:
  using Keys = std::shared_ptr<const std::vector<PublicKey>>;
  Keys Snapshot() const;
  // Fetches again unless another caller did since `seen` or the last attempt
  // was under 5 s ago. Returns the current keys.
  StatusOr<Keys> MaybeRefresh(const Keys& seen);
  Status FetchLocked();

  const std::string url_;
  const std::string ca_pem_;
  Clock& clock_;
  mutable std::mutex mu_;  // guards keys_, last_attempt_, last_error_
  Keys keys_;
  std::optional<SteadyTime> last_attempt_;
  Status last_error_;
  std::mutex fetch_mu_;  // one fetch at a time
};

// Fetches and parses the JWKS at `url` (status must be 200). Errors as Refresh.
StatusOr<std::vector<PublicKey>> FetchJwks(const std::string& url, const std::string& ca_pem);

}  // namespace arca::auth::jwt
