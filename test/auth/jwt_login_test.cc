// Tests for `login` on a jwt mount configured with jwt_validation_pubkeys:
// signatures of every algorithm, every rejection with Vault's message, the
// claims evaluation and the Auth block.
#include "jwt_testing.h"

namespace arca::auth::testing {
namespace {

const char* kIssuer = "https://aai.egi.eu/auth/realms/egi";

class JwtLoginTest : public JwtFixture {
 protected:
  void SetUp() override {
    JwtFixture::SetUp();
    rsa_ = CachedKey("RSA");
    Configure({PublicPem(rsa_)});
  }

  void Configure(std::vector<std::string> pems, Json extra = Json::object()) {
    Json c = {{"jwt_validation_pubkeys", pems}, {"default_role", "egi"}};
    for (auto it = extra.begin(); it != extra.end(); ++it) c[it.key()] = it.value();
    Write("config", c);
  }

  // The EGI role: user_claim sub, glob bound claim on sub, no audiences.
  void EgiRole(Json extra = Json::object()) {
    Json r = {{"role_type", "jwt"},
              {"user_claim", "sub"},
              {"bound_claims_type", "glob"},
              {"bound_claims", {{"sub", "*@egi.eu"}}},
              {"token_policies", {"egi-user"}}};
    for (auto it = extra.begin(); it != extra.end(); ++it) r[it.key()] = it.value();
    Write("role/egi", r);
  }

  std::string Token(Json extra = Json::object(), const std::string& alg = "RS256") {
    return SignJwt(rsa_, alg, Claims(std::move(extra)));
  }

  std::string LoginError(const std::string& jwt, const std::string& role = "") {
    auto r = Login(jwt, role);
    return r.ok() ? std::string("(ok)") : r.status().message();
  }

  TestKey rsa_;
};

TEST_F(JwtLoginTest, EgiAccessTokenLogsInWithDefaultRole) {
  EgiRole({{"claim_mappings", {{"voperson_id", "voperson"}}},
           {"token_ttl", "1h"},
           {"token_max_ttl", "24h"},
           {"token_num_uses", 0}});
  const std::string sub = "ef72285491ffe53c39b75bdcef46689f5d26ddfa00312365cc4fb5ce97e9ca87@egi.eu";
  std::string jwt = Token({{"sub", sub}, {"voperson_id", sub}, {"azp", "token-portal"}});
  for (const Json& body : {Json{{"jwt", jwt}}, Json{{"jwt", jwt}, {"role", ""}},
                           Json{{"jwt", jwt}, {"role", nullptr}}}) {
    auto r = Do(Operation::kUpdate, "login", body);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_TRUE(r->auth.has_value());
    const logical::Auth& a = *r->auth;
    EXPECT_EQ(a.display_name, sub);
    ASSERT_TRUE(a.alias.has_value());
    EXPECT_EQ(a.alias->name, sub);
    EXPECT_EQ(a.alias->metadata, (std::map<std::string, std::string>{{"voperson", sub}}));
    EXPECT_EQ(a.metadata, (std::map<std::string, std::string>{{"role", "egi"}, {"voperson", sub}}));
    EXPECT_EQ(a.policies, std::vector<std::string>{"egi-user"});
    EXPECT_EQ(a.ttl, 3600);
    EXPECT_EQ(a.max_ttl, 86400);
    EXPECT_TRUE(a.renewable);
    EXPECT_FALSE(a.no_default_policy);
    EXPECT_TRUE(a.group_aliases.empty());
    EXPECT_TRUE(r->warnings.empty());
  }
}

TEST_F(JwtLoginTest, EveryAlgorithmVerifies) {
  struct Case {
    const char* alg;
    const char* kind;
  } cases[] = {{"RS256", "RSA"},   {"RS384", "RSA"},    {"RS512", "RSA"},   {"PS256", "RSA"},
               {"PS384", "RSA"},   {"PS512", "RSA"},    {"ES256", "P-256"}, {"ES384", "P-384"},
               {"ES512", "P-521"}, {"EdDSA", "Ed25519"}};
  std::vector<std::string> pems;
  for (const auto& c : cases) pems.push_back(PublicPem(CachedKey(c.kind)));
  Configure(pems);
  EgiRole();
  for (const auto& c : cases) {
    std::string jwt = SignJwt(CachedKey(c.kind), c.alg, Claims());
    auto r = Login(jwt);
    EXPECT_TRUE(r.ok()) << c.alg << ": " << r.status().ToString();
    // The same signature under another algorithm of the same family fails.
    std::string other = std::string(c.alg) == "ES256"   ? "ES384"
                        : std::string(c.alg) == "RS256" ? "PS256"
                                                        : "";
    if (!other.empty()) {
      auto dot = jwt.find('.');
      std::string forged =
          Base64UrlEncode(Json{{"alg", other}, {"typ", "JWT"}}.dump()) + jwt.substr(dot);
      EXPECT_EQ(LoginError(forged),
                "error validating token: error verifying token signature: no known key "
                "successfully validated the token signature");
    }
  }
}

TEST_F(JwtLoginTest, BadSignatureIsRefused) {
  EgiRole();
  std::string other = SignJwt(CachedKey("RSA", 1), "RS256", Claims());
  EXPECT_EQ(LoginError(other),
            "error validating token: error verifying token signature: no known key successfully "
            "validated the token signature");
  std::string jwt = Token();
  jwt[jwt.size() - 5] = jwt[jwt.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(LoginError(jwt),
            "error validating token: error verifying token signature: no known key successfully "
            "validated the token signature");
  // A modified payload under the original signature.
  std::string good = Token();
  auto d1 = good.find('.'), d2 = good.rfind('.');
  std::string tampered = good.substr(0, d1 + 1) +
                         Base64UrlEncode(Claims({{"sub", "mallory@egi.eu"}}).dump()) +
                         good.substr(d2);
  EXPECT_NE(LoginError(tampered).find("error verifying token signature"), std::string::npos);
  EXPECT_EQ(LoginError("not.a.jwt.at.all"),
            "error validating token: error verifying token signature: compact JWS format must "
            "have three parts");
}

TEST_F(JwtLoginTest, AlgNoneAndHmacAreRefused) {
  EgiRole();
  const std::string refused =
      "error validating token: error verifying token signature: no known key successfully "
      "validated the token signature";
  std::string none = Encode(Json{{"alg", "none"}, {"typ", "JWT"}}, Claims()) + ".";
  EXPECT_EQ(LoginError(none), refused);
  // HS256 keyed with the configured public key (the classic confusion attack).
  EXPECT_EQ(LoginError(HmacJwt(PublicPem(rsa_), Claims())), refused);
  EXPECT_EQ(LoginError(HmacJwt("secret", Claims())), refused);
}

TEST_F(JwtLoginTest, AlgorithmOutsideSupportedListIsRefused) {
  Configure({PublicPem(rsa_), PublicPem(CachedKey("P-256"))}, {{"jwt_supported_algs", {"RS256"}}});
  EgiRole();
  EXPECT_EQ(LoginError(SignJwt(CachedKey("P-256"), "ES256", Claims())),
            "error validating token: invalid algorithm (alg) header parameter: token signed with "
            "unexpected algorithm");
  EXPECT_EQ(LoginError(Token({}, "RS512")),
            "error validating token: invalid algorithm (alg) header parameter: token signed with "
            "unexpected algorithm");
  EXPECT_EQ(LoginError(Token()), "(ok)");
}

TEST_F(JwtLoginTest, ExpiryHonoursClockSkewLeeway) {
  EgiRole();
  const std::string expired =
      "error validating token: invalid expiration time (exp) claim: token is expired";
  EXPECT_EQ(LoginError(Token({{"iat", Now() - 7200}, {"exp", Now() - 61}})), expired);
  EXPECT_EQ(LoginError(Token({{"iat", Now() - 7200}, {"exp", Now() - 59}})), "(ok)");
  EgiRole({{"clock_skew_leeway", -1}});
  EXPECT_EQ(LoginError(Token({{"iat", Now() - 7200}, {"exp", Now() - 1}})), expired);
  EgiRole({{"clock_skew_leeway", "5m"}});
  EXPECT_EQ(LoginError(Token({{"iat", Now() - 7200}, {"exp", Now() - 250}})), "(ok)");
  EXPECT_EQ(LoginError(Token({{"iat", Now() - 7200}, {"exp", Now() - 301}})), expired);
  // The token expires while time passes (0 = back to the 60 s default).
  EgiRole({{"clock_skew_leeway", 0}});
  std::string jwt = Token({{"exp", Now() + 10}});
  EXPECT_EQ(LoginError(jwt), "(ok)");
  clock_.Advance(std::chrono::seconds(71));
  EXPECT_EQ(LoginError(jwt), expired);
}

TEST_F(JwtLoginTest, NotBeforeAndIssuedAtInTheFuture) {
  EgiRole();
  EXPECT_EQ(LoginError(Token({{"nbf", Now() + 120}})),
            "error validating token: invalid not before (nbf) claim: token not yet valid");
  EXPECT_EQ(LoginError(Token({{"nbf", Now() + 30}})), "(ok)");
  EXPECT_EQ(LoginError(Token({{"nbf", Now()}, {"iat", Now() + 120}})),
            "error validating token: invalid issued at (iat) claim: token issued in the future");
  // Without nbf, nbf := iat, so a future iat fails the nbf check first (as cap).
  EXPECT_EQ(LoginError(Token({{"iat", Now() + 120}})),
            "error validating token: invalid not before (nbf) claim: token not yet valid");
}

TEST_F(JwtLoginTest, MissingTimeClaimsAndSynthesizedExpiry) {
  EgiRole();
  EXPECT_EQ(LoginError(Token({{"iat", nullptr}, {"exp", nullptr}})),
            "error validating token: no issued at (iat), not before (nbf), or expiration time "
            "(exp) claims in token");
  // No exp: exp := iat + expiration_leeway (150 s by default), then 60 s skew.
  EXPECT_EQ(LoginError(Token({{"iat", Now() - 200}, {"exp", nullptr}})), "(ok)");
  EXPECT_EQ(LoginError(Token({{"iat", Now() - 211}, {"exp", nullptr}})),
            "error validating token: invalid expiration time (exp) claim: token is expired");
  EgiRole({{"expiration_leeway", -1}});
  EXPECT_EQ(LoginError(Token({{"iat", Now() - 100}, {"exp", nullptr}})),
            "error validating token: invalid expiration time (exp) claim: token is expired");
  EgiRole({{"expiration_leeway", "1h"}});
  EXPECT_EQ(LoginError(Token({{"iat", Now() - 1800}, {"exp", nullptr}})), "(ok)");
  // Only exp: nbf := exp - not_before_leeway.
  EgiRole();
  EXPECT_EQ(LoginError(Token({{"iat", nullptr}, {"exp", Now() + 100}})), "(ok)");
  EXPECT_EQ(LoginError(Token({{"iat", nullptr}, {"exp", Now() + 300}})),
            "error validating token: invalid not before (nbf) claim: token not yet valid");
  EgiRole({{"not_before_leeway", "10m"}});
  EXPECT_EQ(LoginError(Token({{"iat", nullptr}, {"exp", Now() + 300}})), "(ok)");
}

TEST_F(JwtLoginTest, IssuerAndSubjectAreChecked) {
  Configure({PublicPem(rsa_)}, {{"bound_issuer", kIssuer}});
  EgiRole();
  EXPECT_EQ(LoginError(Token()), "(ok)");
  EXPECT_EQ(LoginError(Token({{"iss", "https://aai-dev.egi.eu/auth/realms/egi"}})),
            "error validating token: invalid issuer (iss) claim");
  EXPECT_EQ(LoginError(Token({{"iss", nullptr}})),
            "error validating token: invalid issuer (iss) claim");
  EgiRole({{"bound_subject", "alice@egi.eu"}});
  EXPECT_EQ(LoginError(Token()), "error validating token: invalid subject (sub) claim");
  EXPECT_EQ(LoginError(Token({{"sub", "alice@egi.eu"}})), "(ok)");
}

TEST_F(JwtLoginTest, AudienceRules) {
  // No bound audiences: a token without aud passes (EGI), one with aud fails.
  EgiRole();
  EXPECT_EQ(LoginError(Token()), "(ok)");
  EXPECT_EQ(LoginError(Token({{"aud", "vault"}})),
            "audience claim found in JWT but no audiences bound to the role");
  EXPECT_EQ(LoginError(Token({{"aud", {"vault", "other"}}})),
            "audience claim found in JWT but no audiences bound to the role");
  // Bound audiences: one of them must be in aud (string or list).
  EgiRole({{"bound_audiences", "vault,arca"}});
  EXPECT_EQ(LoginError(Token({{"aud", "arca"}})), "(ok)");
  EXPECT_EQ(LoginError(Token({{"aud", {"x", "vault"}}})), "(ok)");
  const std::string mismatch =
      "error validating token: invalid audience (aud) claim: audience claim does not match any "
      "expected audience";
  EXPECT_EQ(LoginError(Token({{"aud", "other"}})), mismatch);
  EXPECT_EQ(LoginError(Token()), mismatch);
}

TEST_F(JwtLoginTest, RoleSelection) {
  EgiRole();
  EXPECT_EQ(LoginError(Token(), "nosuch"), "role \"nosuch\" could not be found");
  EXPECT_EQ(LoginError(Token(), "EGI"), "(ok)");  // names are lowercased
  Write("role/web", {{"role_type", "oidc"},
                     {"user_claim", "sub"},
                     {"allowed_redirect_uris", "https://x/ui/vault/auth/oidc/oidc/callback"}});
  EXPECT_EQ(LoginError(Token(), "web"), "role with oidc role_type is not allowed");
  EXPECT_EQ(Error(Operation::kUpdate, "login", Json{{"role", "egi"}}), "missing token");
  EXPECT_EQ(Error(Operation::kUpdate, "login", Json{{"role", "egi"}, {"jwt", ""}}),
            "missing token");
  // No role and no default_role.
  Configure({PublicPem(rsa_)}, {{"default_role", ""}});
  EXPECT_EQ(LoginError(Token()), "missing role");
  EXPECT_EQ(LoginError(Token(), "egi"), "(ok)");
}

TEST_F(JwtLoginTest, UnconfiguredMountRefusesLogin) {
  storage::InMemBackend empty;
  logical::BackendConfig conf;
  conf.type = "jwt";
  conf.storage = &empty;
  conf.clock = &clock_;
  auto b = JwtFactory()(conf);
  ASSERT_TRUE(b.ok());
  logical::Request req;
  req.operation = Operation::kUpdate;
  req.path = "login";
  req.data = {{"jwt", Token()}};
  auto r = (*b)->HandleRequest(req);
  EXPECT_EQ(r.status(), InvalidArgument("could not load configuration"));
}

TEST_F(JwtLoginTest, BoundClaimsStringAndGlob) {
  EgiRole({{"bound_claims_type", "string"},
           {"bound_claims", {{"groups", {"admins", "ops"}}, {"/realm_access/tier", "gold"}}}});
  EXPECT_EQ(LoginError(Token({{"groups", {"users", "ops"}}, {"realm_access", {{"tier", "gold"}}}})),
            "(ok)");
  EXPECT_EQ(LoginError(Token({{"groups", "admins"}, {"realm_access", {{"tier", "gold"}}}})),
            "(ok)");
  EXPECT_EQ(LoginError(Token({{"groups", {"users"}}, {"realm_access", {{"tier", "gold"}}}})),
            "error validating claims: claim \"groups\" does not match any associated bound claim "
            "values");
  EXPECT_EQ(LoginError(Token({{"realm_access", {{"tier", "gold"}}}})),
            "error validating claims: claim \"groups\" is missing");
  EXPECT_EQ(LoginError(Token({{"groups", 7}, {"realm_access", {{"tier", "gold"}}}})),
            "error validating claims: received claim is not a string or list: 7");
  EXPECT_EQ(LoginError(Token({{"groups", "ops"}, {"realm_access", {{"tier", "silver"}}}})),
            "error validating claims: claim \"/realm_access/tier\" does not match any associated "
            "bound claim values");

  EgiRole({{"bound_claims", {{"sub", {"*@egi.eu", "svc-*"}}}}});
  EXPECT_EQ(LoginError(Token({{"sub", "svc-monitor"}})), "(ok)");
  EXPECT_EQ(LoginError(Token({{"sub", "alice@example.org"}})),
            "error validating claims: claim \"sub\" does not match any associated bound claim "
            "values");
  // Booleans compare in string mode.
  EgiRole({{"bound_claims_type", "string"}, {"bound_claims", {{"email_verified", true}}}});
  EXPECT_EQ(LoginError(Token({{"email_verified", true}})), "(ok)");
  EXPECT_EQ(LoginError(Token({{"email_verified", false}})),
            "error validating claims: claim \"email_verified\" does not match any associated "
            "bound claim values");
}

TEST_F(JwtLoginTest, UserClaimAndGroupsClaim) {
  EgiRole({{"user_claim", "email"}});
  EXPECT_EQ(LoginError(Token()), "claim \"email\" not found in token");
  EXPECT_EQ(LoginError(Token({{"email", 42}})), "claim \"email\" could not be converted to string");
  EXPECT_EQ(LoginError(Token({{"email", ""}})), "claim \"email\" not found in token");

  EgiRole({{"user_claim", "/profile/login"}, {"user_claim_json_pointer", true}});
  auto r = Login(Token({{"profile", {{"login", "alice"}}}}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->auth->alias->name, "alice");

  EgiRole({{"groups_claim", "groups"}});
  EXPECT_EQ(LoginError(Token()), "failed to fetch groups: \"groups\" claim not found in token");
  EXPECT_EQ(LoginError(Token({{"groups", 5}})),
            "\"groups\" claim could not be converted to string list");
  EXPECT_EQ(LoginError(Token({{"groups", {{"a", 1}}}})),
            "\"groups\" claim could not be converted to string list");
  EXPECT_EQ(LoginError(Token({{"groups", {{{"a", 1}}}}})),
            "value map[a:1] in groups claim could not be parsed as string");
  EXPECT_EQ(LoginError(Token({{"groups", {"a", 1}}})),
            "value 1 in groups claim could not be parsed as string");
  r = Login(Token({{"groups", {"vo.a", "", "vo.b", "vo.a"}}}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->auth->group_aliases.size(), 2u);
  EXPECT_EQ(r->auth->group_aliases[0].name, "vo.a");
  EXPECT_EQ(r->auth->group_aliases[1].name, "vo.b");
  r = Login(Token({{"groups", "single"}}));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->auth->group_aliases.size(), 1u);

  EgiRole({{"groups_claim", "/resource_access/vault/roles"}});
  r = Login(Token({{"resource_access", {{"vault", {{"roles", {"reader"}}}}}}}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->auth->group_aliases.size(), 1u);
  EXPECT_EQ(r->auth->group_aliases[0].name, "reader");
}

TEST_F(JwtLoginTest, ClaimMappingsNeedStrings) {
  EgiRole({{"claim_mappings", {{"email", "mail"}, {"/org/name", "org"}, {"absent", "x"}}}});
  auto r = Login(Token({{"email", "a@b"}, {"org", {{"name", "EGI"}}}}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->auth->metadata,
            (std::map<std::string, std::string>{{"role", "egi"}, {"mail", "a@b"}, {"org", "EGI"}}));
  EXPECT_EQ(LoginError(Token({{"email", {"a", "b"}}})), "error converting claim 'email' to string");
}

TEST_F(JwtLoginTest, TokenBoundCidrs) {
  EgiRole({{"token_bound_cidrs", "10.0.0.0/8,::1"}});
  auto ok = Do(Operation::kUpdate, "login", Json{{"jwt", Token()}}, "10.1.2.3");
  EXPECT_TRUE(ok.ok()) << ok.status().ToString();
  auto v6 = Do(Operation::kUpdate, "login", Json{{"jwt", Token()}}, "::1");
  EXPECT_TRUE(v6.ok()) << v6.status().ToString();
  auto denied = Do(Operation::kUpdate, "login", Json{{"jwt", Token()}}, "192.168.1.1");
  EXPECT_EQ(denied.status().code(), Code::kPermissionDenied);
}

TEST_F(JwtLoginTest, TokenFieldsReachTheAuth) {
  EgiRole({{"token_policies", "a,b"},
           {"token_no_default_policy", true},
           {"token_explicit_max_ttl", "2h"},
           {"token_period", "30m"},
           {"token_num_uses", 3}});
  auto r = Login(Token());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->auth->policies, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(r->auth->no_default_policy);
  EXPECT_EQ(r->auth->explicit_max_ttl, 7200);
  EXPECT_EQ(r->auth->period, 1800);
  EXPECT_EQ(r->auth->num_uses, 3);
  // Legacy names land in the token fields.
  EgiRole({{"policies", "Legacy, other"}, {"ttl", 60}, {"token_policies", nullptr}});
  r = Login(Token());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->auth->policies, (std::vector<std::string>{"legacy", "other"}));
  EXPECT_EQ(r->auth->ttl, 60);
}

TEST_F(JwtLoginTest, UnknownFieldsAreWarnedAbout) {
  EgiRole();
  auto r = Do(Operation::kUpdate, "login", Json{{"jwt", Token()}, {"nonce", "x"}, {"a", 1}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->warnings,
            std::vector<std::string>{"Endpoint ignored these unrecognized parameters: [a nonce]"});
}

TEST_F(JwtLoginTest, OversizedAndGarbageTokens) {
  EgiRole();
  EXPECT_EQ(LoginError(std::string(300 * 1024, 'a')),
            "error validating token: error verifying token signature: token too large");
  EXPECT_EQ(
      LoginError("a.b.c"),
      "error validating token: error verifying token signature: illegal base64 data in token");
  EXPECT_EQ(LoginError(Base64UrlEncode("nope") + ".e30.c2ln"),
            "error validating token: error verifying token signature: malformed JWS header");
  std::string crit = Encode(Json{{"alg", "RS256"}, {"crit", {"exp"}}}, Claims());
  crit += "." + Base64UrlEncode(RawSign(rsa_, "RS256", crit));
  EXPECT_EQ(LoginError(crit),
            "error validating token: error verifying token signature: unsupported critical header");
  EXPECT_EQ(LoginError(Token({{"exp", "tomorrow"}})),
            "error validating token: invalid exp claim: not a numeric date");
}

}  // namespace
}  // namespace arca::auth::testing
