// Tests for the role endpoints (role/<name>, LIST role) and the config
// endpoint's local validation.
#include "auth/jwt/role.h"

#include "jwt_testing.h"

namespace arca::auth::testing {
namespace {

class JwtRoleTest : public JwtFixture {
 protected:
  Json ReadRole(const std::string& name) {
    auto r = Do(Operation::kRead, "role/" + name);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->data : Json();
  }
  Json JwtRole(Json extra = Json::object()) {
    Json r = {{"role_type", "jwt"}, {"user_claim", "sub"}, {"bound_subject", "x"}};
    for (auto it = extra.begin(); it != extra.end(); ++it) r[it.key()] = it.value();
    return r;
  }
};

TEST_F(JwtRoleTest, ReadReturnsVaultShapeWithDefaults) {
  Write("role/dev", JwtRole());
  Json d = ReadRole("dev");
  EXPECT_EQ(d["role_type"], "jwt");
  EXPECT_EQ(d["user_claim"], "sub");
  EXPECT_EQ(d["bound_subject"], "x");
  EXPECT_EQ(d["bound_claims_type"], "string");
  EXPECT_TRUE(d["bound_audiences"].is_null());
  EXPECT_TRUE(d["bound_claims"].is_null());
  EXPECT_TRUE(d["claim_mappings"].is_null());
  EXPECT_TRUE(d["allowed_redirect_uris"].is_null());
  EXPECT_EQ(d["token_policies"], Json::array());
  EXPECT_EQ(d["token_bound_cidrs"], Json::array());
  EXPECT_EQ(d["token_type"], "default");
  for (const char* f :
       {"token_ttl", "token_max_ttl", "token_explicit_max_ttl", "token_period", "token_num_uses",
        "expiration_leeway", "not_before_leeway", "clock_skew_leeway", "max_age"}) {
    EXPECT_EQ(d[f], 0) << f;
  }
  EXPECT_EQ(d["token_no_default_policy"], false);
  EXPECT_EQ(d["verbose_oidc_logging"], false);
  EXPECT_EQ(d["userinfo_claims"], false);
  EXPECT_FALSE(d.contains("policies"));
  EXPECT_FALSE(d.contains("ttl"));
  EXPECT_FALSE(d.contains("oidc_client_secret"));
}

TEST_F(JwtRoleTest, HvacCreateRoleBodyRoundTrips) {
  // What hvac 0.11.2's create_role sends for a JWT role.
  Write("role/Demo", {{"name", "Demo"},
                      {"role_type", "jwt"},
                      {"user_claim", "sub"},
                      {"bound_claims_type", "glob"},
                      {"bound_claims", {{"sub", "*"}}},
                      {"verbose_oidc_logging", false},
                      {"token_policies", {"p1", "p2"}},
                      {"token_ttl", "1h"},
                      {"token_max_ttl", 86400},
                      {"bound_audiences", "a,b"},
                      {"groups_claim", "eduperson_entitlement"},
                      {"claim_mappings", {{"email", "email"}}},
                      {"oidc_scopes", {"profile", "eduperson_entitlement"}},
                      {"userinfo_claims", true},
                      {"expiration_leeway", -1},
                      {"clock_skew_leeway", "2m"}});
  Json d = ReadRole("demo");  // names are lowercased
  EXPECT_EQ(d["bound_claims_type"], "glob");
  EXPECT_EQ(d["bound_claims"], (Json{{"sub", "*"}}));
  EXPECT_EQ(d["token_policies"], (Json{"p1", "p2"}));
  EXPECT_EQ(d["token_ttl"], 3600);
  EXPECT_EQ(d["token_max_ttl"], 86400);
  EXPECT_EQ(d["bound_audiences"], (Json{"a", "b"}));
  EXPECT_EQ(d["claim_mappings"], (Json{{"email", "email"}}));
  EXPECT_EQ(d["oidc_scopes"], (Json{"profile", "eduperson_entitlement"}));
  EXPECT_EQ(d["userinfo_claims"], true);
  EXPECT_EQ(d["expiration_leeway"], -1);
  EXPECT_EQ(d["clock_skew_leeway"], 120);
  auto list = Do(Operation::kList, "role/");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->data["keys"], (Json{"demo"}));
}

TEST_F(JwtRoleTest, UpdateKeepsFieldsButRoleTypeDefaultsToOidc) {
  Write("role/r", JwtRole({{"token_ttl", 60}, {"groups_claim", "g"}}));
  Write("role/r", {{"role_type", "jwt"}, {"token_max_ttl", 120}});
  Json d = ReadRole("r");
  EXPECT_EQ(d["token_ttl"], 60);
  EXPECT_EQ(d["token_max_ttl"], 120);
  EXPECT_EQ(d["groups_claim"], "g");
  EXPECT_EQ(d["user_claim"], "sub");
  // As Vault: an update without role_type makes it an oidc role again.
  EXPECT_EQ(Error(Operation::kUpdate, "role/r", Json{{"token_ttl", 30}}),
            "'allowed_redirect_uris' must be set if 'role_type' is 'oidc' or unspecified.");
}

TEST_F(JwtRoleTest, ValidationMessages) {
  struct Case {
    Json body;
    std::string message;
  } cases[] = {
      {{{"role_type", "saml"}, {"user_claim", "sub"}}, "invalid 'role_type': saml"},
      {{{"user_claim", "sub"}},
       "'allowed_redirect_uris' must be set if 'role_type' is 'oidc' or unspecified."},
      {{{"role_type", "jwt"}, {"user_claim", "sub"}},
       "must have at least one bound constraint when creating/updating a role"},
      {{{"role_type", "jwt"}, {"bound_subject", "x"}}, "a user claim must be defined on the role"},
      {JwtRole({{"bound_claims_type", "regex"}}), "invalid 'bound_claims_type': regex"},
      {JwtRole({{"bound_claims_type", "glob"}, {"bound_claims", {{"n", 5}}}}),
       "claim is not a string or list: 5"},
      {JwtRole({{"bound_claims_type", "glob"}, {"bound_claims", {{"n", {"a", true}}}}}),
       "claim is not a string: true"},
      {JwtRole({{"claim_mappings", {{"email", "role"}}}}),
       "metadata key \"role\" is reserved and may not be a mapping destination"},
      {JwtRole({{"claim_mappings", {{"a", "x"}, {"b", "x"}}}}),
       "multiple keys are mapped to metadata key \"x\""},
      {JwtRole({{"token_ttl", "2h"}, {"token_max_ttl", "1h"}}),
       "'token_ttl' cannot be greater than 'token_max_ttl'"},
      {JwtRole({{"ttl", "2h"}, {"max_ttl", "1h"}}), "ttl should not be greater than max ttl"},
      {JwtRole({{"token_num_uses", -1}}), "'token_num_uses' cannot be negative"},
      {JwtRole({{"token_type", "weird"}}), "invalid 'token_type' value \"weird\""},
      {JwtRole({{"token_type", "batch"}}),
       "invalid 'token_type' value \"batch\": batch tokens are not supported"},
      {JwtRole({{"token_bound_cidrs", "10.0.0.0/33"}}),
       "error parsing address \"10.0.0.0/33\": Unable to convert 10.0.0.0/33 to an IPv4 or "
       "IPv6 address, or a UNIX Socket"},
      {JwtRole({{"token_period", "800h"}}),
       "'period' of '\"800h0m0s\"' is greater than the backend's maximum lease TTL of "
       "'\"768h0m0s\"'"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Error(Operation::kUpdate, "role/bad", c.body), c.message) << c.body.dump();
  }
  auto conv = Do(Operation::kUpdate, "role/bad", JwtRole({{"token_ttl", "soon"}}));
  EXPECT_EQ(conv.status().code(), Code::kInvalidArgument);
  EXPECT_NE(conv.status().message().find("Field validation failed"), std::string::npos);
  EXPECT_EQ(Do(Operation::kRead, "role/bad").status().code(), Code::kNotFound);
}

TEST_F(JwtRoleTest, EveryBoundConstraintSatisfiesJwtRoles) {
  Write("role/a", {{"role_type", "jwt"}, {"user_claim", "sub"}, {"bound_audiences", "x"}});
  Write("role/b", {{"role_type", "jwt"}, {"user_claim", "sub"}, {"token_bound_cidrs", "1.2.3.4"}});
  Write("role/c", {{"role_type", "jwt"}, {"user_claim", "sub"}, {"bound_claims", {{"k", "v"}}}});
  Write("role/d", {{"role_type", "oidc"},
                   {"user_claim", "sub"},
                   {"allowed_redirect_uris", "http://localhost:8250/oidc/callback"}});
}

TEST_F(JwtRoleTest, WarningsAndLegacyFields) {
  auto r = Do(Operation::kUpdate, "role/w",
              JwtRole({{"verbose_oidc_logging", true}, {"token_max_ttl", "1000h"}}));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->warnings.size(), 2u);
  EXPECT_NE(r->warnings[0].find("token max ttl is greater than"), std::string::npos);
  EXPECT_NE(r->warnings[1].find("verbose_oidc_logging has been enabled"), std::string::npos);

  Write("role/legacy", JwtRole({{"policies", "B, a ,a"}, {"ttl", "10m"}, {"num_uses", 2}}));
  Json d = ReadRole("legacy");
  EXPECT_EQ(d["policies"], (Json{"a", "b"}));
  EXPECT_EQ(d["token_policies"], (Json{"a", "b"}));
  EXPECT_EQ(d["ttl"], 600);
  EXPECT_EQ(d["token_ttl"], 600);
  EXPECT_EQ(d["num_uses"], 2);
  // Giving the new name drops the legacy one.
  Write("role/legacy", JwtRole({{"token_policies", "c"}}));
  d = ReadRole("legacy");
  EXPECT_FALSE(d.contains("policies"));
  EXPECT_EQ(d["token_policies"], (Json{"c"}));
}

TEST_F(JwtRoleTest, DeleteListAndNames) {
  EXPECT_EQ(Do(Operation::kList, "role/").status().code(), Code::kNotFound);
  Write("role/one", JwtRole());
  Write("role/two.b-c_d", JwtRole());
  auto list = Do(Operation::kList, "role");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->data["keys"], (Json{"one", "two.b-c_d"}));
  ASSERT_TRUE(Do(Operation::kDelete, "role/one").ok());
  EXPECT_EQ(Do(Operation::kRead, "role/one").status().code(), Code::kNotFound);
  for (const char* bad : {"role/-x", "role/x.", "role/a/b", "role/a b"}) {
    EXPECT_EQ(Do(Operation::kUpdate, bad, JwtRole()).status().code(), Code::kUnsupportedPath)
        << bad;
  }
  logical::Request req;
  req.path = "role/two.b-c_d";
  auto exists = backend_->Exists(req);
  ASSERT_TRUE(exists.ok());
  EXPECT_TRUE(*exists);
  req.path = "role/one";
  EXPECT_FALSE(*backend_->Exists(req));
  EXPECT_EQ(Do(Operation::kRead, "role").status().code(), Code::kUnsupportedOperation);
  EXPECT_EQ(Do(Operation::kRead, "nothing/here").status().code(), Code::kUnsupportedPath);
  EXPECT_EQ(Do(Operation::kRead, "login").status().code(), Code::kUnsupportedOperation);
}

class JwtConfigTest : public JwtFixture {};

TEST_F(JwtConfigTest, ReadBeforeWriteIs404) {
  EXPECT_EQ(Do(Operation::kRead, "config").status().code(), Code::kNotFound);
}

TEST_F(JwtConfigTest, StaticKeysConfigRoundTrips) {
  std::string pem = PublicPem(CachedKey("RSA"));
  Write("config", {{"jwt_validation_pubkeys", {pem}},
                   {"default_role", "EGI"},
                   {"bound_issuer", "https://aai.egi.eu/auth/realms/egi"},
                   {"jwt_supported_algs", "RS256,ES256"}});
  auto r = Do(Operation::kRead, "config");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->data["default_role"], "egi");
  // Elements are trimmed, as Vault's comma-string-slice fields.
  EXPECT_EQ(r->data["jwt_validation_pubkeys"], (Json{pem.substr(0, pem.size() - 1)}));
  EXPECT_EQ(r->data["jwt_supported_algs"], (Json{"RS256", "ES256"}));
  EXPECT_EQ(r->data["namespace_in_state"], true);
  EXPECT_EQ(r->data["oidc_response_types"], Json::array());
  EXPECT_EQ(r->data["provider_config"], Json::object());
  EXPECT_FALSE(r->data.contains("oidc_client_secret"));
  // A write replaces the whole config; namespace_in_state keeps its value.
  Write("config", {{"jwt_validation_pubkeys", {pem}}, {"namespace_in_state", false}});
  Write("config", {{"jwt_validation_pubkeys", {pem}}});
  r = Do(Operation::kRead, "config");
  EXPECT_EQ(r->data["default_role"], "");
  EXPECT_EQ(r->data["namespace_in_state"], false);
}

TEST_F(JwtConfigTest, ValidationMessages) {
  std::string pem = PublicPem(CachedKey("RSA"));
  struct Case {
    Json body;
    std::string message;
  } cases[] = {
      {Json::object(),
       "exactly one of 'jwt_validation_pubkeys', 'jwks_url' or 'oidc_discovery_url' must be set"},
      {{{"jwt_validation_pubkeys", {pem}}, {"jwks_url", "http://127.0.0.1:1/keys"}},
       "exactly one of 'jwt_validation_pubkeys', 'jwks_url' or 'oidc_discovery_url' must be set"},
      {{{"jwt_validation_pubkeys", {pem}}, {"oidc_client_id", "id"}},
       "both 'oidc_client_id' and 'oidc_client_secret' must be set for OIDC"},
      {{{"jwt_validation_pubkeys", {pem}}, {"oidc_client_id", "id"}, {"oidc_client_secret", "s"}},
       "'oidc_discovery_url' must be set for OIDC"},
      {{{"jwt_validation_pubkeys", {"not a key"}}},
       "error parsing public key: data does not contain any valid public keys"},
      {{{"jwt_validation_pubkeys", {PublicPem(MakeKey("RSA", 1024))}}},
       "error parsing public key: RSA keys must be at least 2048 bits"},
      {{{"jwt_validation_pubkeys", {pem}}, {"jwt_supported_algs", "RS256,HS256"}},
       "invalid jwt_supported_algs: unsupported signing algorithm \"HS256\""},
      {{{"jwt_validation_pubkeys", {pem}}, {"jwt_supported_algs", "none"}},
       "invalid jwt_supported_algs: unsupported signing algorithm \"none\""},
      {{{"jwt_validation_pubkeys", {pem}}, {"oidc_response_types", "code,token"}},
       "invalid response_types [code token]. 'code' and 'id_token' are allowed"},
      {{{"jwt_validation_pubkeys", {pem}}, {"oidc_response_types", "id_token"}},
       "query response_mode may not be used with an id_token response_type"},
      {{{"jwt_validation_pubkeys", {pem}}, {"oidc_response_mode", "fragment"}},
       "invalid response_mode: \"fragment\""},
      {{{"jwt_validation_pubkeys", {pem}}, {"provider_config", {{"provider", "azure"}}}},
       "invalid provider_config: provider-specific configuration is not supported"},
      {{{"jwks_url", "ftp://127.0.0.1/keys"}},
       "error checking jwks URL: fetching keys Get \"ftp://127.0.0.1/keys\": unsupported "
       "protocol scheme"},
      {{{"jwks_url", "https://127.0.0.1:1/keys"}, {"jwks_ca_pem", "junk"}},
       "error checking jwks_ca_pem: could not parse CA PEM value successfully"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Error(Operation::kUpdate, "config", c.body), c.message) << c.body.dump();
  }
  EXPECT_EQ(Do(Operation::kRead, "config").status().code(), Code::kNotFound);
  EXPECT_EQ(Do(Operation::kDelete, "config").status().code(), Code::kUnsupportedOperation);
  // form_post with id_token is fine.
  Write("config", {{"jwt_validation_pubkeys", {pem}},
                   {"oidc_response_mode", "form_post"},
                   {"oidc_response_types", "code,id_token"}});
}

TEST_F(JwtConfigTest, FactoryChecks) {
  logical::BackendConfig conf;
  conf.type = "jwt";
  EXPECT_EQ(JwtFactory()(conf).status().code(), Code::kInvalidArgument);
  conf.storage = &storage_;
  conf.type = "kv";
  EXPECT_EQ(JwtFactory()(conf).status().code(), Code::kInvalidArgument);
  conf.type = "oidc";
  auto b = JwtFactory()(conf);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)->UnauthenticatedPaths(),
            (std::vector<std::string>{"login", "oidc/auth_url", "oidc/callback"}));
}

}  // namespace
}  // namespace arca::auth::testing
