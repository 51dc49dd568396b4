// Tests against a loopback HTTP server: jwks_url (caching, key rotation and
// the refetch rate limit), OIDC discovery, the userinfo merge of
// `userinfo_claims`, and the fetch bounds.
#include "auth/jwt/fetch.h"
#include "jwt_testing.h"

namespace arca::auth::testing {
namespace {

Json Jwks(std::vector<Json> keys) { return Json{{"keys", std::move(keys)}}; }

class JwtRemoteTest : public JwtFixture {
 protected:
  void SetUp() override {
    JwtFixture::SetUp();
    issuer_ = server_.Url();
    server_.Serve("/.well-known/openid-configuration",
                  {200, Json{{"issuer", issuer_},
                             {"authorization_endpoint", issuer_ + "/auth"},
                             {"token_endpoint", issuer_ + "/token"},
                             {"userinfo_endpoint", issuer_ + "/userinfo"},
                             {"jwks_uri", issuer_ + "/certs"}}
                            .dump()});
    ServeKeys({PublicJwk(CachedKey("RSA"), "k1")});
  }

  void ServeKeys(std::vector<Json> keys) {
    server_.Serve("/certs", {200, Jwks(std::move(keys)).dump()});
  }

  void EgiRole(Json extra = Json::object()) {
    Json r = {{"role_type", "jwt"},
              {"user_claim", "sub"},
              {"bound_claims_type", "glob"},
              {"bound_claims", {{"sub", "*@egi.eu"}}}};
    for (auto it = extra.begin(); it != extra.end(); ++it) r[it.key()] = it.value();
    Write("role/egi", r);
  }

  std::string LoginError(const std::string& jwt) {
    auto r = Login(jwt);
    return r.ok() ? std::string("(ok)") : r.status().message();
  }

  std::size_t Fetches(const std::string& path) { return server_.Calls(path).size(); }

  TestHttpServer server_;
  std::string issuer_;
};

TEST_F(JwtRemoteTest, JwksUrlVerifiesAndCaches) {
  Write("config", {{"jwks_url", server_.Url() + "/certs"}, {"default_role", "egi"}});
  EXPECT_EQ(Fetches("/certs"), 1u);  // the config check
  EgiRole();
  std::string jwt = SignJwt(CachedKey("RSA"), "RS256", Claims(), "k1");
  EXPECT_EQ(LoginError(jwt), "(ok)");
  EXPECT_EQ(LoginError(jwt), "(ok)");
  EXPECT_EQ(Fetches("/certs"), 2u);  // one fetch for both logins
  // A known kid with a bad signature does not trigger a refetch.
  std::string forged = SignJwt(CachedKey("RSA", 1), "RS256", Claims(), "k1");
  EXPECT_EQ(LoginError(forged),
            "error validating token: error verifying token signature: failed to verify id token "
            "signature");
  clock_.Advance(std::chrono::seconds(30));
  EXPECT_EQ(LoginError(forged),
            "error validating token: error verifying token signature: failed to verify id token "
            "signature");
  EXPECT_EQ(Fetches("/certs"), 2u);
}

TEST_F(JwtRemoteTest, RotatedKeyIsFetchedAtMostEveryFiveSeconds) {
  Write("config", {{"jwks_url", server_.Url() + "/certs"}, {"default_role", "egi"}});
  EgiRole();
  ASSERT_EQ(LoginError(SignJwt(CachedKey("RSA"), "RS256", Claims(), "k1")), "(ok)");
  const std::size_t before = Fetches("/certs");
  // The IdP rotates to an EC key with a new kid.
  ServeKeys({PublicJwk(CachedKey("P-256"), "k2")});
  std::string rotated = SignJwt(CachedKey("P-256"), "ES256", Claims(), "k2");
  // Too soon after the last fetch: refused without asking the IdP.
  EXPECT_EQ(LoginError(rotated),
            "error validating token: error verifying token signature: failed to verify id token "
            "signature");
  EXPECT_EQ(Fetches("/certs"), before);
  clock_.Advance(std::chrono::seconds(6));
  EXPECT_EQ(LoginError(rotated), "(ok)");
  EXPECT_EQ(Fetches("/certs"), before + 1);
  // Made-up kids cost at most one fetch per 5 s.
  for (int i = 0; i < 5; ++i) {
    EXPECT_NE(
        LoginError(SignJwt(CachedKey("P-256"), "ES256", Claims(), "bogus" + std::to_string(i))),
        "(ok)");
  }
  EXPECT_EQ(Fetches("/certs"), before + 1);
  clock_.Advance(std::chrono::seconds(6));
  EXPECT_NE(LoginError(SignJwt(CachedKey("P-256"), "ES256", Claims(), "bogus")), "(ok)");
  EXPECT_EQ(Fetches("/certs"), before + 2);
  // The old key is gone.
  EXPECT_NE(LoginError(SignJwt(CachedKey("RSA"), "RS256", Claims(), "k1")), "(ok)");
}

TEST_F(JwtRemoteTest, JwksKeyTypesAndUse) {
  ServeKeys({PublicJwk(CachedKey("P-384"), "ec"), PublicJwk(CachedKey("Ed25519"), "ed"),
             Json{{"kty", "RSA"}, {"kid", "enc"}, {"use", "enc"}, {"n", "AQAB"}, {"e", "AQAB"}},
             Json{{"kty", "oct"}, {"kid", "sym"}, {"k", "c2VjcmV0"}}});
  Write("config", {{"jwks_url", server_.Url() + "/certs"}, {"default_role", "egi"}});
  EgiRole();
  EXPECT_EQ(LoginError(SignJwt(CachedKey("P-384"), "ES384", Claims(), "ec")), "(ok)");
  EXPECT_EQ(LoginError(SignJwt(CachedKey("Ed25519"), "EdDSA", Claims(), "ed")), "(ok)");
  // A kid-less token is tried against every key.
  EXPECT_EQ(LoginError(SignJwt(CachedKey("Ed25519"), "EdDSA", Claims())), "(ok)");
}

TEST_F(JwtRemoteTest, JwksConfigErrors) {
  server_.Serve("/missing", {404, "nope", "text/plain"});
  EXPECT_EQ(Error(Operation::kUpdate, "config", Json{{"jwks_url", server_.Url() + "/missing"}}),
            "error checking jwks URL: fetching keys oidc: get keys failed: 404 Not Found nope");
  server_.Serve("/notjwks", {200, "{\"x\":1}"});
  EXPECT_EQ(Error(Operation::kUpdate, "config", Json{{"jwks_url", server_.Url() + "/notjwks"}}),
            "error checking jwks URL: fetching keys oidc: failed to decode keys: not a JSON Web "
            "Key Set");
}

TEST_F(JwtRemoteTest, DiscoveryMountLogsIn) {
  Write("config",
        {{"oidc_discovery_url", issuer_}, {"bound_issuer", issuer_}, {"default_role", "egi"}});
  EgiRole();
  EXPECT_EQ(LoginError(SignJwt(CachedKey("RSA"), "RS256", Claims({{"iss", issuer_}}), "k1")),
            "(ok)");
  EXPECT_EQ(LoginError(SignJwt(CachedKey("RSA"), "RS256", Claims(), "k1")),
            "error validating token: invalid issuer (iss) claim");
}

TEST_F(JwtRemoteTest, DiscoveryConfigErrors) {
  EXPECT_EQ(Error(Operation::kUpdate, "config", Json{{"oidc_discovery_url", issuer_ + "/"}}),
            "error checking oidc discovery URL: issuer did not match the returned issuer, "
            "expected \"" +
                issuer_ + "/\" got \"" + issuer_ + "\"");
  EXPECT_EQ(Error(Operation::kUpdate, "config",
                  Json{{"oidc_discovery_url", server_.Url() + "/realms/none"}}),
            "error checking oidc discovery URL: 404 Not Found: not found");
  std::string msg =
      Error(Operation::kUpdate, "config", Json{{"oidc_discovery_url", "http://127.0.0.1:1"}});
  EXPECT_EQ(msg.rfind("error checking oidc discovery URL: Get \"http://127.0.0.1:1/.well-known/"
                      "openid-configuration\": ",
                      0),
            0u)
      << msg;
}

TEST_F(JwtRemoteTest, UserinfoGroupsReachGroupAliases) {
  Write("config", {{"oidc_discovery_url", issuer_}, {"default_role", "egi"}});
  const std::string sub = std::string(64, 'b') + "@egi.eu";
  const Json entitlements = {"urn:mace:egi.eu:group:vo.access.egi.eu:role=member#aai.egi.eu",
                             "urn:mace:egi.eu:group:cloud.egi.eu:role=member#aai.egi.eu"};
  server_.Serve("/userinfo", {200, Json{{"sub", sub},
                                        {"email", "userinfo@example.org"},
                                        {"eduperson_entitlement", entitlements},
                                        {"voperson_id", sub}}
                                       .dump()});
  EgiRole({{"groups_claim", "eduperson_entitlement"},
           {"claim_mappings", {{"email", "email"}, {"voperson_id", "voperson_id"}}}});
  std::string jwt = SignJwt(CachedKey("RSA"), "RS256",
                            Claims({{"sub", sub}, {"email", "token@example.org"}}), "k1");

  // Without the option the access token has no groups.
  EXPECT_EQ(LoginError(jwt),
            "failed to fetch groups: \"eduperson_entitlement\" claim not found in token");
  EXPECT_EQ(Fetches("/userinfo"), 0u);

  EgiRole({{"userinfo_claims", true}});
  auto r = Login(jwt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->auth->group_aliases.size(), 2u);
  EXPECT_EQ(r->auth->group_aliases[0].name, entitlements[0]);
  EXPECT_EQ(r->auth->group_aliases[1].name, entitlements[1]);
  // The token wins on conflicts; userinfo fills what the token lacks.
  EXPECT_EQ(r->auth->metadata["email"], "token@example.org");
  EXPECT_EQ(r->auth->metadata["voperson_id"], sub);
  auto calls = server_.Calls("/userinfo");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].headers["authorization"], "Bearer " + jwt);

  // Cached per token until it expires.
  ASSERT_TRUE(Login(jwt).ok());
  EXPECT_EQ(Fetches("/userinfo"), 1u);
  std::string other = SignJwt(CachedKey("RSA"), "RS256",
                              Claims({{"sub", sub}, {"jti", "2"}, {"exp", Now() + 100}}), "k1");
  ASSERT_TRUE(Login(other).ok());
  EXPECT_EQ(Fetches("/userinfo"), 2u);
  clock_.Advance(std::chrono::seconds(120));  // `other` has expired, `jwt` not
  ASSERT_TRUE(Login(jwt).ok());
  EXPECT_EQ(Fetches("/userinfo"), 2u);
}

TEST_F(JwtRemoteTest, UserinfoGroupsClaimOverridesTokenAndPointerPaths) {
  Write("config", {{"oidc_discovery_url", issuer_}, {"default_role", "egi"}});
  const std::string sub = "c@egi.eu";
  server_.Serve("/userinfo",
                {200, Json{{"sub", sub}, {"realm", {{"groups", {"from-userinfo"}}}}}.dump()});
  EgiRole({{"groups_claim", "/realm/groups"}, {"userinfo_claims", true}});
  auto r = Login(SignJwt(CachedKey("RSA"), "RS256",
                         Claims({{"sub", sub}, {"realm", {{"groups", {"from-token"}}}}}), "k1"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->auth->group_aliases.size(), 1u);
  EXPECT_EQ(r->auth->group_aliases[0].name, "from-userinfo");
}

TEST_F(JwtRemoteTest, UserinfoFailuresFailTheLogin) {
  Write("config", {{"oidc_discovery_url", issuer_}, {"default_role", "egi"}});
  EgiRole({{"userinfo_claims", true}});
  const std::string sub = "d@egi.eu";
  std::string jwt = SignJwt(CachedKey("RSA"), "RS256", Claims({{"sub", sub}}), "k1");
  server_.Serve("/userinfo", {401, "{\"error\":\"invalid_token\"}"});
  EXPECT_EQ(LoginError(jwt), "error fetching userinfo: userinfo request failed: 401 Unauthorized");
  server_.Serve("/userinfo", {200, Json{{"sub", "someone-else@egi.eu"}}.dump()});
  EXPECT_EQ(LoginError(jwt),
            "error fetching userinfo: userinfo sub claim does not match the token's sub claim");
  server_.Serve("/userinfo", {200, "eyJ.signed.jwt", "application/jwt"});
  EXPECT_EQ(LoginError(jwt),
            "error fetching userinfo: userinfo responses in JWT form are not supported");
  // A mount without discovery has no userinfo endpoint.
  Write("config", {{"jwks_url", server_.Url() + "/certs"}, {"default_role", "egi"}});
  EXPECT_EQ(LoginError(jwt),
            "error fetching userinfo: userinfo_claims needs a mount configured with "
            "oidc_discovery_url");
}

TEST_F(JwtRemoteTest, ConcurrentLoginsShareOneKeyFetch) {
  Write("config", {{"oidc_discovery_url", issuer_}, {"default_role", "egi"}});
  server_.Route("/userinfo", [](const HttpCall& c) {
    std::string token = c.headers.count("authorization") ? c.headers.at("authorization") : "";
    auto dot1 = token.find('.'), dot2 = token.rfind('.');
    Json claims = Json::parse(*Base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1)));
    return HttpReply{200, Json{{"sub", claims["sub"]}, {"groups", {"g"}}}.dump()};
  });
  EgiRole({{"userinfo_claims", true}, {"groups_claim", "groups"}});
  constexpr int kThreads = 4, kPerThread = 10;
  std::vector<std::vector<std::string>> tokens(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      Json c = Claims({{"sub", "u" + std::to_string(t * kPerThread + i) + "@egi.eu"}});
      tokens[t].push_back(SignJwt(CachedKey("RSA"), "RS256", c, "k1"));
    }
  }
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (const auto& jwt : tokens[t]) {
        auto r = Login(jwt);
        if (r.ok() && r->auth && r->auth->group_aliases.size() == 1) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_EQ(Fetches("/certs"), 1u);
  EXPECT_EQ(Fetches("/.well-known/openid-configuration"), 2u);  // config check + first use
  EXPECT_EQ(Fetches("/userinfo"), size_t(kThreads * kPerThread));
}

TEST_F(JwtRemoteTest, FetchBounds) {
  server_.Serve("/big", {200, std::string(jwt::kMaxResponseBytes + 10, 'x')});
  server_.Serve("/small", {200, "hello"});
  jwt::HttpRequest req;
  req.url = server_.Url() + "/big";
  auto big = jwt::Fetch(req);
  EXPECT_EQ(big.status().code(), Code::kUnavailable);
  EXPECT_NE(big.status().message().find("exceeds 1 MiB"), std::string::npos)
      << big.status().message();
  req.url = server_.Url() + "/small";
  auto small = jwt::Fetch(req);
  ASSERT_TRUE(small.ok()) << small.status().ToString();
  EXPECT_EQ(small->status, 200);
  EXPECT_EQ(small->body, "hello");
  EXPECT_EQ(small->content_type, "application/json");
  for (const char* url : {"file:///etc/passwd", "gopher://127.0.0.1/", "127.0.0.1/x"}) {
    req.url = url;
    auto r = jwt::Fetch(req);
    EXPECT_NE(r.status().message().find("unsupported protocol scheme"), std::string::npos) << url;
  }
  req.url = server_.Url() + "/small";
  req.ca_pem = "not a certificate";
  EXPECT_NE(jwt::Fetch(req).status().message().find("could not parse CA PEM"), std::string::npos);
}

}  // namespace
}  // namespace arca::auth::testing
