// Unit tests for the jwt helpers: globs, JSON pointers, key import, PKCE,
// the auth URL, redirect matching and the userinfo cache.
#include <openssl/x509.h>

#include "auth/jwt/claims.h"
#include "auth/jwt/keyset.h"
#include "auth/jwt/oidc.h"
#include "auth/jwt/userinfo.h"
#include "auth/jwt/verify.h"
#include "jwt_testing.h"

namespace arca::auth::testing {
namespace {

using namespace arca::auth::jwt;  // NOLINT

TEST(JwtGlobTest, MatchesLikeGoGlob) {
  EXPECT_TRUE(GlobMatch("*", "anything"));
  EXPECT_TRUE(GlobMatch("", ""));
  EXPECT_FALSE(GlobMatch("", "x"));
  EXPECT_TRUE(GlobMatch("abc", "abc"));
  EXPECT_FALSE(GlobMatch("abc", "abcd"));
  EXPECT_TRUE(GlobMatch("*@egi.eu", "0123@egi.eu"));
  EXPECT_FALSE(GlobMatch("*@egi.eu", "x@egi.eu.evil"));
  EXPECT_TRUE(GlobMatch("svc-*", "svc-"));
  EXPECT_FALSE(GlobMatch("svc-*", "xsvc-a"));
  EXPECT_TRUE(GlobMatch("a*b*c", "a-b-c"));
  EXPECT_TRUE(GlobMatch("a*b*c", "abbc"));
  EXPECT_FALSE(GlobMatch("a*b*c", "acb"));
  EXPECT_TRUE(GlobMatch("*mid*", "xxmidyy"));
  EXPECT_FALSE(GlobMatch("a?c", "abc"));  // only '*' is special
}

TEST(JwtClaimTest, JsonPointers) {
  Json c = {
      {"a", {{"b/c", 1}, {"m~n", "x"}, {"list", {"p", "q"}}}}, {"plain", "v"}, {"nul", nullptr}};
  EXPECT_EQ(*GetClaim(c, "plain"), "v");
  EXPECT_EQ(*GetClaim(c, "/a/b~1c"), 1);
  EXPECT_EQ(*GetClaim(c, "/a/m~0n"), "x");
  EXPECT_EQ(*GetClaim(c, "/a/list/1"), "q");
  EXPECT_EQ(GetClaim(c, "/a/list/2"), nullptr);
  EXPECT_EQ(GetClaim(c, "/a/list/x"), nullptr);
  EXPECT_EQ(GetClaim(c, "/a/missing"), nullptr);
  EXPECT_EQ(GetClaim(c, "/plain/deeper"), nullptr);
  EXPECT_EQ(GetClaim(c, "nul"), nullptr);
  EXPECT_EQ(GetClaim(c, "a/b~1c"), nullptr);  // no leading '/': a plain key
}

TEST(JwtKeyTest, JwkImportAndRejections) {
  for (const char* kind : {"RSA", "P-256", "P-384", "P-521", "Ed25519"}) {
    auto k = ParseJwk(PublicJwk(CachedKey(kind), "kid-1"));
    ASSERT_TRUE(k.ok()) << kind << ": " << k.status().ToString();
    EXPECT_EQ(k->kid, "kid-1");
  }
  Json ec = PublicJwk(CachedKey("P-256"), "x");
  Json bad_point = ec;
  std::string y = *Base64UrlDecode(ec["y"].get<std::string>());
  y[5] ^= 1;
  bad_point["y"] = Base64UrlEncode(y);
  EXPECT_EQ(ParseJwk(bad_point).status().code(), Code::kInvalidArgument);
  Json wrong_curve = ec;
  wrong_curve["crv"] = "P-384";
  EXPECT_FALSE(ParseJwk(wrong_curve).ok());
  EXPECT_FALSE(ParseJwk(Json{{"kty", "oct"}, {"k", "c2VjcmV0"}}).ok());
  EXPECT_FALSE(ParseJwk(Json{{"kty", "RSA"}, {"n", "!!"}, {"e", "AQAB"}}).ok());
  Json small = PublicJwk(MakeKey("RSA", 1024), "s");
  EXPECT_EQ(ParseJwk(small).status().message(), "RSA keys must be at least 2048 bits");
  auto jwks = ParseJwks(Json{{"keys", {PublicJwk(CachedKey("RSA"), "a"), small, "junk"}}}.dump());
  ASSERT_TRUE(jwks.ok());
  EXPECT_EQ(jwks->size(), 1u);
  EXPECT_FALSE(ParseJwks("[]").ok());
}

TEST(JwtKeyTest, PemCertificateIsAccepted) {
  const TestKey& k = CachedKey("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, k.pkey.get());
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("idp"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  ASSERT_GT(X509_sign(cert, k.pkey.get(), EVP_sha256()), 0);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, size_t(len));
  BIO_free(bio);
  X509_free(cert);
  auto key = ParsePublicKeyPem(pem);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(key->type, PublicKey::Type::kEc);
  EXPECT_EQ(key->curve, "P-256");
  std::string jwt = SignJwt(k, "ES256", Json{{"sub", "x"}});
  auto jws = ParseJws(jwt);
  ASSERT_TRUE(jws.ok());
  EXPECT_TRUE(VerifySignature(*key, "ES256", jws->signing_input, jws->signature));
  EXPECT_FALSE(VerifySignature(*key, "ES384", jws->signing_input, jws->signature));
  EXPECT_FALSE(VerifySignature(*key, "RS256", jws->signing_input, jws->signature));
  EXPECT_FALSE(
      ParsePublicKeyPem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").ok());
}

TEST(JwtPkceTest, Rfc7636Vector) {
  EXPECT_EQ(CodeChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  std::string v = NewCodeVerifier();
  EXPECT_EQ(v.size(), 43u);
  EXPECT_NE(v, NewCodeVerifier());
}

TEST(JwtAuthUrlTest, SortedAndEscapedAsGo) {
  AuthUrlParams p;
  p.client_id = "my client";
  p.redirect_uri = "http://localhost:8250/oidc/callback";
  p.scopes = {"profile", "openid"};
  p.state = "st";
  p.nonce = "no";
  p.code_challenge = "ch";
  p.max_age = 30;
  EXPECT_EQ(BuildAuthUrl("https://idp/auth", p),
            "https://idp/auth?client_id=my+client&code_challenge=ch&code_challenge_method=S256"
            "&max_age=30&nonce=no&redirect_uri=http%3A%2F%2Flocalhost%3A8250%2Foidc%2Fcallback"
            "&response_type=code&scope=openid+profile&state=st");
  EXPECT_EQ(BuildAuthUrl("https://idp/auth?tenant=a", AuthUrlParams{})
                .rfind("https://idp/auth?tenant=a&", 0),
            0u);
}

TEST(JwtRedirectTest, ValidRedirect) {
  std::vector<std::string> allowed = {"http://localhost:8250/oidc/callback",
                                      "https://vault.example/ui/vault/auth/oidc/oidc/callback",
                                      "http://[::1]:8250/cb"};
  EXPECT_TRUE(ValidRedirect("http://localhost:8250/oidc/callback", allowed));
  EXPECT_TRUE(ValidRedirect("http://localhost:1/oidc/callback", allowed));
  EXPECT_TRUE(ValidRedirect("http://[::1]:9/cb", allowed));
  EXPECT_FALSE(ValidRedirect("https://localhost:8250/oidc/callback", allowed));
  EXPECT_FALSE(ValidRedirect("http://localhost:8250/oidc/callback?x=1", allowed));
  EXPECT_TRUE(ValidRedirect("https://vault.example/ui/vault/auth/oidc/oidc/callback", allowed));
  EXPECT_FALSE(
      ValidRedirect("https://vault.example:443/ui/vault/auth/oidc/oidc/callback", allowed));
  EXPECT_FALSE(ValidRedirect("not a url", allowed));
}

TEST(JwtUserinfoCacheTest, ExpiresAndStaysBounded) {
  arca::testing::FakeClock clock;
  UserinfoCache cache(clock, 3);
  const int64_t now = clock.UnixNow();
  cache.Put("t1", Json{{"sub", "1"}}, now + 100);
  cache.Put("t2", Json{{"sub", "2"}}, now + 10);
  cache.Put("t3", Json{{"sub", "3"}}, now + 300);
  cache.Put("past", Json{{"sub", "p"}}, now - 1);
  EXPECT_EQ(cache.SizeForTest(), 3u);
  EXPECT_FALSE(cache.Get("past").has_value());
  cache.Put("t4", Json{{"sub", "4"}}, now + 200);  // evicts t2, the soonest to expire
  EXPECT_EQ(cache.SizeForTest(), 3u);
  EXPECT_FALSE(cache.Get("t2").has_value());
  EXPECT_EQ((*cache.Get("t1"))["sub"], "1");
  clock.Advance(std::chrono::seconds(150));
  EXPECT_FALSE(cache.Get("t1").has_value());
  EXPECT_TRUE(cache.Get("t4").has_value());
  cache.Put("t4", Json{{"sub", "4b"}}, now + 400);  // replacing keeps one entry
  EXPECT_EQ((*cache.Get("t4"))["sub"], "4b");
}

TEST(JwtUserinfoMergeTest, TokenWinsExceptGroups) {
  Json claims = {{"sub", "u"}, {"email", "token"}, {"groups", {"t"}}};
  Json info = {{"sub", "u"}, {"email", "info"}, {"groups", {"i"}}, {"name", "N"}};
  ASSERT_TRUE(MergeUserinfo(claims, info, "groups").ok());
  EXPECT_EQ(claims["email"], "token");
  EXPECT_EQ(claims["groups"], (Json{"i"}));
  EXPECT_EQ(claims["name"], "N");
  Json c2 = {{"sub", "u"}, {"email", "token"}};
  EXPECT_FALSE(MergeUserinfo(c2, Json{{"email", "x"}}, "").ok());  // no sub
  EXPECT_FALSE(MergeUserinfo(c2, Json{{"sub", "v"}}, "").ok());
}

}  // namespace
}  // namespace arca::auth::testing
