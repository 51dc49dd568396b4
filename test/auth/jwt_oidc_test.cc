// Tests for the OIDC authorization-code flow (oidc/auth_url, oidc/callback)
// against a loopback identity provider: state, nonce and PKCE checks, the
// code exchange, userinfo groups, replay and expiry of states.
#include "auth/jwt/backend.h"
#include "jwt_testing.h"

namespace arca::auth::testing {
namespace {

const char* kRedirect = "http://localhost:8250/oidc/callback";
const char* kClientId = "arca-client";
const char* kClientSecret = "s3cret";

std::map<std::string, std::string> Query(const std::string& url) {
  std::map<std::string, std::string> out;
  auto q = url.find('?');
  if (q == std::string::npos) return out;
  std::string rest = url.substr(q + 1);
  std::size_t pos = 0;
  while (pos <= rest.size()) {
    auto amp = rest.find('&', pos);
    if (amp == std::string::npos) amp = rest.size();
    std::string kv = rest.substr(pos, amp - pos);
    auto eq = kv.find('=');
    out[*PercentDecode(kv.substr(0, eq), true)] =
        eq == std::string::npos ? "" : *PercentDecode(kv.substr(eq + 1), true);
    pos = amp + 1;
  }
  return out;
}

class JwtOidcTest : public JwtFixture {
 protected:
  void SetUp() override {
    backend_ = MakeBackend("oidc");
    issuer_ = server_.Url();
    server_.Serve("/.well-known/openid-configuration",
                  {200, Json{{"issuer", issuer_},
                             {"authorization_endpoint", issuer_ + "/protocol/openid-connect/auth"},
                             {"token_endpoint", issuer_ + "/token"},
                             {"userinfo_endpoint", issuer_ + "/userinfo"},
                             {"jwks_uri", issuer_ + "/certs"}}
                            .dump()});
    server_.Serve("/certs", {200, Json{{"keys", {PublicJwk(CachedKey("RSA"), "k1")}}}.dump()});
    server_.Route("/token", [this](const HttpCall& c) { return TokenEndpoint(c); });
    server_.Route("/userinfo", [this](const HttpCall& c) { return UserinfoEndpoint(c); });
    Write("config", {{"oidc_discovery_url", issuer_},
                     {"oidc_client_id", kClientId},
                     {"oidc_client_secret", kClientSecret},
                     {"default_role", "web"}});
    Write("role/web", {{"user_claim", "sub"},
                       {"groups_claim", "eduperson_entitlement"},
                       {"oidc_scopes", "profile,eduperson_entitlement"},
                       {"allowed_redirect_uris",
                        {kRedirect, "https://vault.example/ui/vault/auth/oidc/oidc/callback"}},
                       {"token_policies", "web"},
                       {"claim_mappings", {{"email", "email"}}}});
  }

  // The IdP's token endpoint: checks the client, the code and PKCE.
  HttpReply TokenEndpoint(const HttpCall& c) {
    std::lock_guard l(mu_);
    token_calls_++;
    auto form = Query("?" + c.body);
    std::string want_auth = "Basic " + Base64Encode(std::string(kClientId) + ":" + kClientSecret);
    if (c.method != "POST" || c.headers.count("authorization") == 0 ||
        c.headers.at("authorization") != want_auth) {
      return {401, "{\"error\":\"invalid_client\"}"};
    }
    if (form["grant_type"] != "authorization_code" || form["code"] != "good-code" ||
        form["redirect_uri"] != redirect_seen_) {
      return {400, "{\"error\":\"invalid_grant\",\"error_description\":\"Code not valid\"}"};
    }
    if (Base64UrlEncode(Sha256(form["code_verifier"])) != challenge_) {
      return {400,
              "{\"error\":\"invalid_grant\",\"error_description\":\"PKCE verification failed\"}"};
    }
    Json claims = {{"iss", issuer_},
                   {"aud", aud_},
                   {"sub", sub_},
                   {"nonce", nonce_},
                   {"iat", clock_.UnixNow()},
                   {"exp", clock_.UnixNow() + 300},
                   {"email", "web@example.org"}};
    return {200, Json{{"access_token", "at-123"},
                      {"token_type", "Bearer"},
                      {"id_token", SignJwt(CachedKey("RSA"), "RS256", claims, "k1")}}
                     .dump()};
  }

  HttpReply UserinfoEndpoint(const HttpCall& c) {
    if (c.headers.count("authorization") == 0 || c.headers.at("authorization") != "Bearer at-123") {
      return {401, "{}"};
    }
    std::lock_guard l(mu_);
    return {200,
            Json{{"sub", sub_},
                 {"eduperson_entitlement", {"urn:mace:egi.eu:group:vo.x:role=member#aai.egi.eu"}}}
                .dump()};
  }

  // Calls auth_url and records what the IdP will expect.
  std::map<std::string, std::string> StartFlow(Json body = Json::object()) {
    if (!body.contains("redirect_uri")) body["redirect_uri"] = kRedirect;
    auto r = Do(Operation::kUpdate, "oidc/auth_url", body);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return {};
    std::string url = r->data["auth_url"].get<std::string>();
    auto q = Query(url);
    std::lock_guard l(mu_);
    nonce_ = q["nonce"];
    challenge_ = q["code_challenge"];
    redirect_seen_ = q["redirect_uri"];
    return q;
  }

  StatusOr<logical::Response> Callback(const std::string& state, Json extra = Json::object()) {
    Json d = {{"state", state}, {"code", "good-code"}};
    for (auto it = extra.begin(); it != extra.end(); ++it) d[it.key()] = it.value();
    return Do(Operation::kRead, "oidc/callback", d);
  }

  std::string CallbackError(const std::string& state, Json extra = Json::object()) {
    auto r = Callback(state, std::move(extra));
    return r.ok() ? std::string("(ok)") : r.status().message();
  }

  TestHttpServer server_;
  std::string issuer_;
  std::mutex mu_;
  std::string nonce_, challenge_, redirect_seen_;
  std::string sub_ = std::string(64, 'e') + "@egi.eu";
  Json aud_ = kClientId;
  int token_calls_ = 0;
};

TEST_F(JwtOidcTest, AuthUrlCarriesStateNonceAndPkce) {
  auto q = StartFlow({{"role", "web"}, {"client_nonce", "abc"}});
  ASSERT_FALSE(q.empty());
  auto r = Do(Operation::kUpdate, "oidc/auth_url", Json{{"redirect_uri", kRedirect}});
  std::string url = r->data["auth_url"];
  EXPECT_EQ(
      url.rfind(issuer_ + "/protocol/openid-connect/auth?client_id=arca-client&code_challenge=", 0),
      0u)
      << url;
  EXPECT_EQ(q["client_id"], kClientId);
  EXPECT_EQ(q["redirect_uri"], kRedirect);
  EXPECT_EQ(q["response_type"], "code");
  EXPECT_EQ(q["scope"], "openid profile eduperson_entitlement");
  EXPECT_EQ(q["code_challenge_method"], "S256");
  EXPECT_EQ(q["code_challenge"].size(), 43u);  // base64url(SHA-256)
  EXPECT_EQ(q["state"].size(), 40u);
  EXPECT_EQ(q["nonce"].size(), 40u);
  EXPECT_NE(q["state"], q["nonce"]);
  EXPECT_EQ(q.count("code_verifier"), 0u);              // the verifier never leaves the server
  EXPECT_EQ(Query(url)["state"] == q["state"], false);  // every call makes a new state
}

TEST_F(JwtOidcTest, LoopbackRedirectIgnoresPortOthersMustMatch) {
  auto r = Do(Operation::kUpdate, "oidc/auth_url",
              Json{{"redirect_uri", "http://localhost:9999/oidc/callback"}});
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->data["auth_url"], "");
  for (const char* bad : {"http://localhost:8250/other", "https://evil.example/oidc/callback",
                          "https://vault.example:8200/ui/vault/auth/oidc/oidc/callback"}) {
    r = Do(Operation::kUpdate, "oidc/auth_url", Json{{"redirect_uri", bad}});
    ASSERT_TRUE(r.ok()) << bad;
    EXPECT_EQ(r->data["auth_url"], "") << bad;  // 200 with an empty URL, as Vault
  }
  EXPECT_EQ(Error(Operation::kUpdate, "oidc/auth_url", Json::object()), "missing redirect_uri");
  EXPECT_EQ(
      Error(Operation::kUpdate, "oidc/auth_url", Json{{"role", "x"}, {"redirect_uri", kRedirect}}),
      "role \"x\" could not be found");
}

TEST_F(JwtOidcTest, CallbackCompletesLoginWithUserinfoGroups) {
  auto q = StartFlow({{"client_nonce", "cli-nonce"}});
  auto r = Callback(q["state"], {{"client_nonce", "cli-nonce"}, {"nonce", "hvac-sends-this"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->auth.has_value());
  EXPECT_EQ(r->auth->display_name, sub_);
  EXPECT_EQ(r->auth->alias->name, sub_);
  EXPECT_EQ(r->auth->policies, std::vector<std::string>{"web"});
  EXPECT_EQ(r->auth->metadata,
            (std::map<std::string, std::string>{{"role", "web"}, {"email", "web@example.org"}}));
  ASSERT_EQ(r->auth->group_aliases.size(), 1u);
  EXPECT_EQ(r->auth->group_aliases[0].name, "urn:mace:egi.eu:group:vo.x:role=member#aai.egi.eu");
  EXPECT_EQ(r->warnings,
            std::vector<std::string>{"Endpoint ignored these unrecognized parameters: [nonce]"});
  // The state is single use.
  EXPECT_EQ(CallbackError(q["state"]), "Vault login failed. Expired or missing OAuth state.");
  EXPECT_EQ(CallbackError("made-up"), "Vault login failed. Expired or missing OAuth state.");
  std::lock_guard l(mu_);
  EXPECT_EQ(token_calls_, 1);
}

TEST_F(JwtOidcTest, StatesExpireAfterTenMinutes) {
  auto q = StartFlow();
  clock_.Advance(std::chrono::minutes(10) + std::chrono::seconds(1));
  EXPECT_EQ(CallbackError(q["state"]), "Vault login failed. Expired or missing OAuth state.");
  q = StartFlow();
  clock_.Advance(std::chrono::minutes(9));
  EXPECT_EQ(CallbackError(q["state"]), "(ok)");
}

TEST_F(JwtOidcTest, ClientNonceMustMatch) {
  auto q = StartFlow({{"client_nonce", "expected"}});
  EXPECT_EQ(CallbackError(q["state"], {{"client_nonce", "other"}}), "invalid client_nonce");
  q = StartFlow({{"client_nonce", "expected"}});
  EXPECT_EQ(CallbackError(q["state"]), "invalid client_nonce");
}

TEST_F(JwtOidcTest, IdTokenNonceAndAudienceAreVerified) {
  auto q = StartFlow();
  {
    std::lock_guard l(mu_);
    nonce_ = "not-the-nonce";
  }
  EXPECT_EQ(CallbackError(q["state"]), "Token verification failed. Invalid ID token nonce.");
  q = StartFlow();
  {
    std::lock_guard l(mu_);
    aud_ = "someone-else";
  }
  EXPECT_EQ(CallbackError(q["state"]),
            "Token verification failed. invalid audience (aud) claim: audience claim does not "
            "match any expected audience");
  q = StartFlow();
  {
    std::lock_guard l(mu_);
    aud_ = Json{kClientId, "other"};  // several audiences need azp
  }
  EXPECT_EQ(CallbackError(q["state"]),
            "Token verification failed. invalid id_token authorized party (azp)");
}

TEST_F(JwtOidcTest, PkceVerifierAndCodeExchangeErrors) {
  auto q = StartFlow();
  {
    std::lock_guard l(mu_);
    challenge_ = "tampered";
  }
  EXPECT_EQ(
      CallbackError(q["state"]),
      "Vault login failed. Error exchanging oidc code: \"oauth2: cannot fetch token: 400 "
      "Bad Request\\nResponse: {\\\"error\\\":\\\"invalid_grant\\\",\\\"error_description\\\":"
      "\\\"PKCE verification failed\\\"}\".");
  q = StartFlow();
  EXPECT_EQ(
      CallbackError(q["state"], {{"code", "bad-code"}})
          .rfind(
              "Vault login failed. Error exchanging oidc code: \"oauth2: cannot fetch token: 400",
              0),
      0u);
  q = StartFlow();
  EXPECT_EQ(CallbackError(q["state"], {{"code", ""}}),
            "Vault login failed. No code or id_token received.");
}

TEST_F(JwtOidcTest, NonOidcMountsAndRoles) {
  // login with a JWT is refused on an OIDC-flow mount.
  std::string jwt = SignJwt(CachedKey("RSA"), "RS256", Claims({{"iss", issuer_}}), "k1");
  Write("role/cli", {{"role_type", "jwt"}, {"user_claim", "sub"}, {"bound_subject", "x"}});
  EXPECT_EQ(Error(Operation::kUpdate, "login", Json{{"jwt", jwt}, {"role", "cli"}}),
            "error configuring token validator: unsupported config type");
  // auth_url on a mount without client credentials.
  Write("config", {{"oidc_discovery_url", issuer_}});
  EXPECT_EQ(Error(Operation::kUpdate, "oidc/auth_url", Json{{"redirect_uri", kRedirect}}),
            "OIDC login is not configured for this mount");
  EXPECT_EQ(Do(Operation::kUpdate, "oidc/callback", Json{{"state", "x"}}).status().code(),
            Code::kUnsupportedOperation);
  // Missing role: no default_role configured.
  Write("config", {{"oidc_discovery_url", issuer_},
                   {"oidc_client_id", kClientId},
                   {"oidc_client_secret", kClientSecret}});
  EXPECT_EQ(Error(Operation::kUpdate, "oidc/auth_url", Json{{"redirect_uri", kRedirect}}),
            "missing role");
}

TEST_F(JwtOidcTest, FormPostModeStoresCodeForTheUi) {
  Write("config", {{"oidc_discovery_url", issuer_},
                   {"oidc_client_id", kClientId},
                   {"oidc_client_secret", kClientSecret},
                   {"oidc_response_mode", "form_post"},
                   {"default_role", "web"}});
  auto q = StartFlow({{"redirect_uri", "https://vault.example/ui/vault/auth/oidc/oidc/callback"}});
  EXPECT_EQ(q["redirect_uri"], "https://vault.example/v1/auth/oidc/oidc/callback");
  EXPECT_EQ(q["response_mode"], "form_post");
  auto post =
      Do(Operation::kUpdate, "oidc/callback", Json{{"state", q["state"]}, {"code", "good-code"}});
  ASSERT_TRUE(post.ok()) << post.status().ToString();
  EXPECT_EQ(post->content_type, "text/html");
  ASSERT_TRUE(post->raw_body.has_value());
  EXPECT_NE(post->raw_body->find("/ui/vault/auth/oidc/oidc/callback?state=" + q["state"]),
            std::string::npos);
  EXPECT_EQ(CallbackError(q["state"], {{"code", "no_code"}}), "(ok)");
  auto expired = Do(Operation::kUpdate, "oidc/callback", Json{{"state", "gone"}, {"code", "c"}});
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(expired->http_status, 400);
}

TEST(JwtStateStoreTest, BoundedAndSingleUse) {
  arca::testing::FakeClock clock;
  jwt::StateStore store(clock, 3);
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    jwt::OidcState s;
    s.role = "r" + std::to_string(i);
    ids.push_back(store.Create(s));
    clock.Advance(std::chrono::seconds(1));
  }
  EXPECT_EQ(store.SizeForTest(), 3u);
  EXPECT_FALSE(store.Take(ids[0]).has_value());  // the oldest were dropped
  auto s = store.Take(ids[4]);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->role, "r4");
  EXPECT_FALSE(store.Take(ids[4]).has_value());
}

TEST_F(JwtOidcTest, CallbackLoginCarriesTheRolesBoundCidrs) {
  Write("role/web", {{"token_bound_cidrs", "127.0.0.1/32,10.0.0.0/8"}});
  auto q = StartFlow();
  auto r = Callback(q["state"]);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->auth.has_value());
  EXPECT_EQ(r->auth->bound_cidrs, (std::vector<std::string>{"127.0.0.1", "10.0.0.0/8"}));
}

}  // namespace
}  // namespace arca::auth::testing
