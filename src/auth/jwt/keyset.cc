// arca auth/jwt: PEM and JWK key import (OpenSSL 3 EVP), static and remote
// key sets.
#include "auth/jwt/keyset.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <spdlog/spdlog.h>

#include "auth/jwt/fetch.h"
#include "base/encoding.h"

namespace arca::auth::jwt {

namespace {

constexpr int kMinRsaBits = 2048;
constexpr std::size_t kMaxKeys = 100;
constexpr auto kRefreshInterval = std::chrono::seconds(5);

template <typename T, void (*F)(T*)>
struct Free {
  void operator()(T* p) const { F(p); }
};
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, Free<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using ParamBld = std::unique_ptr<OSSL_PARAM_BLD, Free<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using Params = std::unique_ptr<OSSL_PARAM, Free<OSSL_PARAM, OSSL_PARAM_free>>;
using Bignum = std::unique_ptr<BIGNUM, Free<BIGNUM, BN_free>>;
using Bio = std::unique_ptr<BIO, Free<BIO, BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Free<X509, X509_free>>;

std::shared_ptr<EVP_PKEY> Share(EVP_PKEY* p) { return std::shared_ptr<EVP_PKEY>(p, EVP_PKEY_free); }

// "prime256v1" → "P-256"; empty for curves JOSE does not use.
std::string JoseCurve(std::string_view openssl_name) {
  if (openssl_name == "prime256v1" || openssl_name == "P-256") return "P-256";
  if (openssl_name == "secp384r1" || openssl_name == "P-384") return "P-384";
  if (openssl_name == "secp521r1" || openssl_name == "P-521") return "P-521";
  return "";
}

std::size_t CurveBytes(std::string_view curve) {
  if (curve == "P-256") return 32;
  if (curve == "P-384") return 48;
  if (curve == "P-521") return 66;
  return 0;
}

const char* OpensslCurve(std::string_view curve) {
  if (curve == "P-256") return "prime256v1";
  if (curve == "P-384") return "secp384r1";
  return "secp521r1";
}

bool EcPointValid(EVP_PKEY* pkey) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  return ctx && EVP_PKEY_public_check(ctx.get()) == 1;
}

// Classifies an imported key; refuses types and sizes JOSE does not allow.
StatusOr<PublicKey> Classify(std::shared_ptr<EVP_PKEY> pkey) {
  PublicKey k;
  switch (EVP_PKEY_get_base_id(pkey.get())) {
    case EVP_PKEY_RSA:
      if (EVP_PKEY_get_bits(pkey.get()) < kMinRsaBits) {
        return InvalidArgument("RSA keys must be at least 2048 bits");
      }
      k.type = PublicKey::Type::kRsa;
      break;
    case EVP_PKEY_EC: {
      char name[64] = {0};
      size_t len = 0;
      if (EVP_PKEY_get_utf8_string_param(pkey.get(), OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name),
                                         &len) != 1) {
        return InvalidArgument("unsupported elliptic curve");
      }
      k.curve = JoseCurve(name);
      if (k.curve.empty()) return InvalidArgument("unsupported elliptic curve");
      if (!EcPointValid(pkey.get())) return InvalidArgument("invalid elliptic curve point");
      k.type = PublicKey::Type::kEc;
      break;
    }
    case EVP_PKEY_ED25519:
      k.type = PublicKey::Type::kEd25519;
      break;
    default:
      return InvalidArgument("data does not contain any valid public keys");
  }
  k.pkey = std::move(pkey);
  return k;
}

StatusOr<std::string> B64Field(const Json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) {
    return InvalidArgument(std::string("missing JWK parameter \"") + name + "\"");
  }
  auto raw = Base64UrlDecode(it->get_ref<const std::string&>());
  if (!raw || raw->empty()) {
    return InvalidArgument(std::string("malformed JWK parameter \"") + name + "\"");
  }
  return *raw;
}

std::string StrField(const Json& jwk, const char* name) {
  auto it = jwk.find(name);
  return it != jwk.end() && it->is_string() ? it->get<std::string>() : std::string();
}

StatusOr<std::shared_ptr<EVP_PKEY>> FromData(const char* type, OSSL_PARAM* params) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* out = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &out, EVP_PKEY_PUBLIC_KEY, params) != 1 || out == nullptr) {
    return InvalidArgument("malformed JWK");
  }
  return Share(out);
}

StatusOr<std::shared_ptr<EVP_PKEY>> RsaFromJwk(const Json& jwk) {
  ARCA_ASSIGN_OR_RETURN(std::string n, B64Field(jwk, "n"));
  ARCA_ASSIGN_OR_RETURN(std::string e, B64Field(jwk, "e"));
  Bignum bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), int(n.size()), nullptr));
  Bignum bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), int(e.size()), nullptr));
  ParamBld bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return InvalidArgument("malformed JWK");
  }
  Params params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) return InvalidArgument("malformed JWK");
  return FromData("RSA", params.get());
}

StatusOr<std::shared_ptr<EVP_PKEY>> EcFromJwk(const Json& jwk, const std::string& curve) {
  const std::size_t size = CurveBytes(curve);
  if (size == 0) return InvalidArgument("unsupported JWK curve \"" + curve + "\"");
  ARCA_ASSIGN_OR_RETURN(std::string x, B64Field(jwk, "x"));
  ARCA_ASSIGN_OR_RETURN(std::string y, B64Field(jwk, "y"));
  if (x.size() != size || y.size() != size) return InvalidArgument("malformed JWK coordinates");
  std::string point = "\x04" + x + y;
  ParamBld bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, OpensslCurve(curve),
                                      0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return InvalidArgument("malformed JWK");
  }
  Params params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) return InvalidArgument("malformed JWK");
  return FromData("EC", params.get());
}

StatusOr<std::shared_ptr<EVP_PKEY>> OkpFromJwk(const Json& jwk, const std::string& curve) {
  if (curve != "Ed25519") return InvalidArgument("unsupported JWK curve \"" + curve + "\"");
  ARCA_ASSIGN_OR_RETURN(std::string x, B64Field(jwk, "x"));
  if (x.size() != 32) return InvalidArgument("malformed JWK coordinates");
  EVP_PKEY* p = EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(x.data()), x.size());
  if (p == nullptr) return InvalidArgument("malformed JWK");
  return Share(p);
}

}  // namespace

StatusOr<PublicKey> ParsePublicKeyPem(std::string_view pem) {
  const Status none = InvalidArgument("data does not contain any valid public keys");
  if (pem.empty() || pem.size() > 64 * 1024) return none;
  Bio bio(BIO_new_mem_buf(pem.data(), int(pem.size())));
  if (!bio) return none;
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) {
    Bio again(BIO_new_mem_buf(pem.data(), int(pem.size())));
    if (!again) return none;
    X509Ptr cert(PEM_read_bio_X509(again.get(), nullptr, nullptr, nullptr));
    if (cert) key = X509_get_pubkey(cert.get());
  }
  if (key == nullptr) return none;
  return Classify(Share(key));
}

StatusOr<PublicKey> ParseJwk(const Json& jwk) {
  if (!jwk.is_object()) return InvalidArgument("a JWK must be a JSON object");
  const std::string kty = StrField(jwk, "kty");
  const std::string crv = StrField(jwk, "crv");
  std::shared_ptr<EVP_PKEY> pkey;
  if (kty == "RSA") {
    ARCA_ASSIGN_OR_RETURN(pkey, RsaFromJwk(jwk));
  } else if (kty == "EC") {
    ARCA_ASSIGN_OR_RETURN(pkey, EcFromJwk(jwk, crv));
  } else if (kty == "OKP") {
    ARCA_ASSIGN_OR_RETURN(pkey, OkpFromJwk(jwk, crv));
  } else {
    return InvalidArgument("unsupported JWK key type \"" + kty + "\"");
  }
  ARCA_ASSIGN_OR_RETURN(PublicKey key, Classify(std::move(pkey)));
  if (key.type == PublicKey::Type::kEc && key.curve != crv) return InvalidArgument("malformed JWK");
  key.kid = StrField(jwk, "kid");
  key.alg = StrField(jwk, "alg");
  return key;
}

StatusOr<std::vector<PublicKey>> ParseJwks(std::string_view body) {
  Json doc = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("keys") || !doc["keys"].is_array()) {
    return InvalidArgument("failed to decode keys: not a JSON Web Key Set");
  }
  std::vector<PublicKey> out;
  for (const Json& jwk : doc["keys"]) {
    if (out.size() == kMaxKeys) break;
    if (!jwk.is_object()) continue;
    const std::string use = StrField(jwk, "use");
    if (!use.empty() && use != "sig") continue;
    auto key = ParseJwk(jwk);
    if (!key.ok()) {
      spdlog::debug("jwt: skipping JWK {}: {}", StrField(jwk, "kid"), key.status().message());
      continue;
    }
    out.push_back(std::move(*key));
  }
  return out;
}

StatusOr<std::vector<PublicKey>> FetchJwks(const std::string& url, const std::string& ca_pem) {
  HttpRequest req;
  req.url = url;
  req.ca_pem = ca_pem;
  req.headers = {{"Accept", "application/json"}};
  ARCA_ASSIGN_OR_RETURN(HttpResponse resp, Fetch(req));
  if (resp.status != 200) {
    std::string body = resp.body.substr(0, 512);
    return Unavailable("oidc: get keys failed: " + StatusLine(resp.status) + " " + body);
  }
  auto keys = ParseJwks(resp.body);
  if (!keys.ok()) return InvalidArgument("oidc: " + keys.status().message());
  return keys;
}

Status StaticKeySet::Verify(std::string_view /*kid*/,
                            const std::function<bool(const PublicKey&)>& try_key) {
  for (const PublicKey& k : keys_) {
    if (try_key(k)) return OkStatus();
  }
  return InvalidArgument("no known key successfully validated the token signature");
}

RemoteKeySet::Keys RemoteKeySet::Snapshot() const {
  std::lock_guard l(mu_);
  return keys_;
}

Status RemoteKeySet::FetchLocked() {
  {
    std::lock_guard l(mu_);
    last_attempt_ = clock_.SteadyNow();
  }
  auto keys = FetchJwks(url_, ca_pem_);
  std::lock_guard l(mu_);
  if (!keys.ok()) {
    last_error_ = keys.status();
    return keys.status();
  }
  keys_ = std::make_shared<const std::vector<PublicKey>>(std::move(*keys));
  last_error_ = OkStatus();
  return OkStatus();
}

Status RemoteKeySet::Refresh() {
  std::lock_guard f(fetch_mu_);
  return FetchLocked();
}

StatusOr<RemoteKeySet::Keys> RemoteKeySet::MaybeRefresh(const Keys& seen) {
  std::lock_guard f(fetch_mu_);
  {
    std::lock_guard l(mu_);
    if (keys_ != seen) return keys_;  // someone else fetched meanwhile
    if (last_attempt_ && clock_.SteadyNow() - *last_attempt_ < kRefreshInterval) {
      if (!keys_ && !last_error_.ok()) return last_error_;
      return keys_;
    }
  }
  ARCA_RETURN_IF_ERROR(FetchLocked());
  return Snapshot();
}

Status RemoteKeySet::Verify(std::string_view kid,
                            const std::function<bool(const PublicKey&)>& try_key) {
  const Status failed = InvalidArgument("failed to verify id token signature");
  Keys keys = Snapshot();
  bool kid_known = false;
  auto attempt = [&](const Keys& ks) {
    if (!ks) return false;
    for (const PublicKey& k : *ks) {
      if (!kid.empty() && k.kid != kid) continue;
      kid_known = true;
      if (try_key(k)) return true;
    }
    return false;
  };
  if (attempt(keys)) return OkStatus();
  // A known kid that fails to verify is a bad token, not a rotation.
  if (kid_known && !kid.empty()) return failed;
  auto fresh = MaybeRefresh(keys);
  if (!fresh.ok()) return InvalidArgument("fetching keys " + fresh.status().message());
  if (*fresh != keys && attempt(*fresh)) return OkStatus();
  return failed;
}

}  // namespace arca::auth::jwt
