// arca auth/jwt: JWS parsing, EVP signature checks, cap's claim validation.
#include "auth/jwt/verify.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>

#include "base/encoding.h"

namespace arca::auth::jwt {

namespace {

constexpr int64_t kDefaultLeeway = 150;  // cap's DefaultLeewaySeconds (nbf/exp synthesis)
constexpr int64_t kDefaultSkew = 60;     // go-jose's jwt.DefaultLeeway
constexpr int64_t kNs = 1'000'000'000;

struct AlgInfo {
  const char* name;
  PublicKey::Type type;
  const EVP_MD* (*md)();
  bool pss;
  const char* curve;  // EC only
};

const AlgInfo kAlgs[] = {
    {"RS256", PublicKey::Type::kRsa, &EVP_sha256, false, ""},
    {"RS384", PublicKey::Type::kRsa, &EVP_sha384, false, ""},
    {"RS512", PublicKey::Type::kRsa, &EVP_sha512, false, ""},
    {"PS256", PublicKey::Type::kRsa, &EVP_sha256, true, ""},
    {"PS384", PublicKey::Type::kRsa, &EVP_sha384, true, ""},
    {"PS512", PublicKey::Type::kRsa, &EVP_sha512, true, ""},
    {"ES256", PublicKey::Type::kEc, &EVP_sha256, false, "P-256"},
    {"ES384", PublicKey::Type::kEc, &EVP_sha384, false, "P-384"},
    {"ES512", PublicKey::Type::kEc, &EVP_sha512, false, "P-521"},
    {"EdDSA", PublicKey::Type::kEd25519, nullptr, false, ""},
};

const AlgInfo* FindAlg(std::string_view alg) {
  for (const AlgInfo& a : kAlgs) {
    if (alg == a.name) return &a;
  }
  return nullptr;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct SigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};

// JOSE's ECDSA signature is r||s, each the curve's size; OpenSSL wants DER.
std::optional<std::string> EcdsaRawToDer(std::string_view raw, std::string_view curve) {
  const std::size_t half = curve == "P-256" ? 32 : curve == "P-384" ? 48 : 66;
  if (raw.size() != 2 * half) return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  BIGNUM* r = BN_bin2bn(p, int(half), nullptr);
  BIGNUM* s = BN_bin2bn(p + half, int(half), nullptr);
  std::unique_ptr<ECDSA_SIG, SigFree> sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return std::nullopt;
  std::string der(std::size_t(len), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &out) != len) return std::nullopt;
  return der;
}

// A NumericDate claim as whole seconds (0 when absent, as go-jose), clamped
// to +-9e9 s (year 2255) so nanosecond arithmetic cannot overflow.
StatusOr<int64_t> NumericDate(const Json& claims, const char* name) {
  constexpr double kLimit = 9e9;
  auto it = claims.find(name);
  if (it == claims.end() || it->is_null()) return int64_t{0};
  double d = 0;
  if (it->is_number_unsigned()) {
    d = double(it->get<uint64_t>());
  } else if (it->is_number_integer()) {
    d = double(it->get<int64_t>());
  } else if (it->is_number_float()) {
    d = it->get<double>();
    if (!std::isfinite(d)) return InvalidArgument(std::string("invalid ") + name + " claim");
  } else {
    return InvalidArgument(std::string("invalid ") + name + " claim: not a numeric date");
  }
  return int64_t(std::clamp(d, -kLimit, kLimit));
}

StatusOr<std::string> StringClaim(const Json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end() || it->is_null()) return std::string();
  if (!it->is_string())
    return InvalidArgument(std::string("invalid ") + name + " claim: not a string");
  return it->get<std::string>();
}

int64_t Leeway(int64_t configured, int64_t dflt) {
  if (configured < 0) return 0;
  if (configured == 0) return dflt;
  return configured;
}

}  // namespace

const std::vector<std::string>& DefaultLoginAlgs() {
  static const std::vector<std::string> kDefault = {"RS256", "RS384", "RS512", "ES256", "ES384",
                                                    "ES512", "PS256", "PS384", "PS512", "EdDSA"};
  return kDefault;
}

bool KnownAlg(std::string_view alg) { return FindAlg(alg) != nullptr; }

StatusOr<Jws> ParseJws(std::string_view token) {
  const std::size_t d1 = token.find('.');
  const std::size_t d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d1 == std::string_view::npos || d2 == std::string_view::npos ||
      token.find('.', d2 + 1) != std::string_view::npos) {
    return InvalidArgument("compact JWS format must have three parts");
  }
  Jws jws;
  auto header = Base64UrlDecode(token.substr(0, d1));
  auto payload = Base64UrlDecode(token.substr(d1 + 1, d2 - d1 - 1));
  auto sig = Base64UrlDecode(token.substr(d2 + 1));
  if (!header || !payload || !sig) return InvalidArgument("illegal base64 data in token");
  jws.header = Json::parse(*header, nullptr, false);
  if (!jws.header.is_object()) return InvalidArgument("malformed JWS header");
  auto alg = jws.header.find("alg");
  if (alg == jws.header.end() || !alg->is_string()) {
    return InvalidArgument("malformed JWS header: missing alg");
  }
  jws.alg = alg->get<std::string>();
  if (auto kid = jws.header.find("kid"); kid != jws.header.end() && kid->is_string()) {
    jws.kid = kid->get<std::string>();
  }
  if (jws.header.contains("crit")) return InvalidArgument("unsupported critical header");
  jws.claims = Json::parse(*payload, nullptr, false);
  if (!jws.claims.is_object()) return InvalidArgument("failed to unmarshal claims");
  jws.signing_input = std::string(token.substr(0, d2));
  jws.signature = std::move(*sig);
  return jws;
}

bool VerifySignature(const PublicKey& key, std::string_view alg, std::string_view input,
                     std::string_view signature) {
  const AlgInfo* info = FindAlg(alg);
  if (info == nullptr || !key.pkey || key.type != info->type) return false;
  if (!key.alg.empty() && key.alg != alg) return false;
  if (key.type == PublicKey::Type::kEc && key.curve != info->curve) return false;
  std::string der;
  if (key.type == PublicKey::Type::kEc) {
    auto d = EcdsaRawToDer(signature, key.curve);
    if (!d) return false;
    der = std::move(*d);
    signature = der;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  EVP_PKEY_CTX* pctx = nullptr;
  const EVP_MD* md = info->md ? info->md() : nullptr;
  if (EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, key.pkey.get()) != 1) return false;
  if (key.type == PublicKey::Type::kRsa) {
    const int padding = info->pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING;
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, padding) != 1) return false;
    if (info->pss && (EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) != 1 ||
                      EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1)) {
      return false;
    }
  }
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                          input.size()) == 1;
}

std::optional<std::vector<std::string>> Audiences(const Json& claims) {
  std::vector<std::string> out;
  auto it = claims.find("aud");
  if (it == claims.end() || it->is_null()) return out;
  if (it->is_string()) {
    out.push_back(it->get<std::string>());
    return out;
  }
  if (!it->is_array()) return std::nullopt;
  for (const Json& a : *it) {
    if (!a.is_string()) return std::nullopt;
    out.push_back(a.get<std::string>());
  }
  return out;
}

StatusOr<Json> ValidateToken(std::string_view token, KeySet& keys, const Expected& expected,
                             const Clock& clock) {
  const std::string sig_err = "error verifying token signature: ";
  if (token.size() > kMaxTokenBytes) return InvalidArgument(sig_err + "token too large");
  auto parsed = ParseJws(token);
  if (!parsed.ok()) return InvalidArgument(sig_err + parsed.status().message());
  Jws& jws = *parsed;
  Status verified = keys.Verify(jws.kid, [&](const PublicKey& k) {
    return VerifySignature(k, jws.alg, jws.signing_input, jws.signature);
  });
  if (!verified.ok()) return InvalidArgument(sig_err + verified.message());

  const std::vector<std::string> rs256_only = {"RS256"};
  const auto& algs = expected.algs.empty() ? rs256_only : expected.algs;
  if (std::find(algs.begin(), algs.end(), jws.alg) == algs.end()) {
    return InvalidArgument(
        "invalid algorithm (alg) header parameter: token signed with unexpected algorithm");
  }

  const Json& claims = jws.claims;
  ARCA_ASSIGN_OR_RETURN(std::string iss, StringClaim(claims, "iss"));
  ARCA_ASSIGN_OR_RETURN(std::string sub, StringClaim(claims, "sub"));
  auto aud = Audiences(claims);
  if (!aud) return InvalidArgument("invalid aud claim: not a string or list of strings");
  ARCA_ASSIGN_OR_RETURN(int64_t iat, NumericDate(claims, "iat"));
  ARCA_ASSIGN_OR_RETURN(int64_t nbf, NumericDate(claims, "nbf"));
  ARCA_ASSIGN_OR_RETURN(int64_t exp, NumericDate(claims, "exp"));

  if (!expected.issuer.empty() && expected.issuer != iss) {
    return InvalidArgument("invalid issuer (iss) claim");
  }
  if (!expected.subject.empty() && expected.subject != sub) {
    return InvalidArgument("invalid subject (sub) claim");
  }
  if (!expected.audiences.empty()) {
    bool match = false;
    for (const auto& want : expected.audiences) {
      if (std::find(aud->begin(), aud->end(), want) != aud->end()) match = true;
    }
    if (!match) {
      return InvalidArgument(
          "invalid audience (aud) claim: audience claim does not match any expected audience");
    }
  }

  if (iat == 0 && exp == 0 && nbf == 0) {
    return InvalidArgument(
        "no issued at (iat), not before (nbf), or expiration time (exp) claims in token");
  }
  if (exp == 0) exp = std::max(iat, nbf) + Leeway(expected.expiration_leeway, kDefaultLeeway);
  if (nbf == 0) {
    nbf = iat != 0 ? iat : exp - Leeway(expected.not_before_leeway, kDefaultLeeway);
  }
  const int64_t skew = Leeway(expected.clock_skew_leeway, kDefaultSkew) * kNs;
  const int64_t now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(clock.SystemNow().time_since_epoch())
          .count();
  // Claims are whole seconds; compare in nanoseconds as Go's time.Before/After.
  if (now + skew < nbf * kNs) {
    return InvalidArgument("invalid not before (nbf) claim: token not yet valid");
  }
  if (now - skew > exp * kNs) {
    return InvalidArgument("invalid expiration time (exp) claim: token is expired");
  }
  if (iat != 0 && now + skew < iat * kNs) {
    return InvalidArgument("invalid issued at (iat) claim: token issued in the future");
  }
  return std::move(jws.claims);
}

}  // namespace arca::auth::jwt
