// Tests for the jwt method's side of bound CIDRs and renewal: a role's
// token_bound_cidrs reach the login's Auth (core binds the token to them),
// and Backend::Renew follows vault-plugin-auth-jwt's pathLoginRenew.
#include "jwt_testing.h"

namespace arca::auth::testing {
namespace {

class JwtRenewTest : public JwtFixture {
 protected:
  void SetUp() override {
    JwtFixture::SetUp();
    rsa_ = CachedKey("RSA");
    Write("config", {{"jwt_validation_pubkeys", {PublicPem(rsa_)}}});
    Role();
  }

  void Role(Json extra = Json::object()) {
    Json r = {
        {"role_type", "jwt"},        {"user_claim", "sub"}, {"bound_subject", Claims()["sub"]},
        {"token_policies", {"dev"}}, {"token_ttl", "1h"},   {"token_max_ttl", "4h"}};
    for (auto it = extra.begin(); it != extra.end(); ++it) r[it.key()] = it.value();
    Write("role/dev", r);
  }

  logical::Auth LoginAuth(const std::string& from = "127.0.0.1") {
    auto r = Do(Operation::kUpdate, "login",
                Json{{"role", "dev"}, {"jwt", SignJwt(rsa_, "RS256", Claims())}}, from);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() && r->auth ? *r->auth : logical::Auth{};
  }

  // What core hands the method on renewal: the token as stored.
  StatusOr<logical::Auth> Renew(logical::Auth auth) {
    auth.client_token.clear();
    logical::Request req;
    req.path = "login";
    req.remote_address = "127.0.0.1";
    req.mount_point = "auth/jwt/";
    req.mount_type = "jwt";
    req.mount_default_ttl = kMountMaxTtl;
    req.mount_max_ttl = kMountMaxTtl;
    return backend_->Renew(req, auth);
  }

  TestKey rsa_;
};

TEST_F(JwtRenewTest, LoginThroughABoundRoleGivesABoundAuth) {
  Role({{"token_bound_cidrs", {"127.0.0.1/32", "10.0.0.0/8"}}});
  logical::Auth a = LoginAuth("127.0.0.1");
  // As go-sockaddr renders them: the host block loses its /32.
  EXPECT_EQ(a.bound_cidrs, (std::vector<std::string>{"127.0.0.1", "10.0.0.0/8"}));
  auto role = Do(Operation::kRead, "role/dev");
  ASSERT_TRUE(role.ok());
  EXPECT_EQ(role->data["token_bound_cidrs"], (Json{"127.0.0.1", "10.0.0.0/8"}));
  // An unbound role gives an unbound Auth.
  Role({{"token_bound_cidrs", Json::array()}});
  EXPECT_TRUE(LoginAuth("192.0.2.7").bound_cidrs.empty());
}

TEST_F(JwtRenewTest, RenewalUsesTheRolesCurrentTokenSettings) {
  logical::Auth a = LoginAuth();
  EXPECT_EQ(a.ttl, 3600);
  EXPECT_EQ(a.max_ttl, 4 * 3600);

  auto same = Renew(a);
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_EQ(same->ttl, 3600);
  EXPECT_EQ(same->max_ttl, 4 * 3600);
  EXPECT_EQ(same->period, 0);

  Role({{"token_ttl", "2h"}, {"token_max_ttl", "8h"}, {"token_period", "30m"}});
  auto changed = Renew(a);
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_EQ(changed->ttl, 7200);
  EXPECT_EQ(changed->max_ttl, 8 * 3600);
  EXPECT_EQ(changed->period, 1800);
  // Everything else is the token's, unchanged.
  EXPECT_EQ(changed->metadata, a.metadata);
  EXPECT_EQ(changed->policies, a.policies);
  EXPECT_EQ(changed->explicit_max_ttl, a.explicit_max_ttl);
}

TEST_F(JwtRenewTest, RenewalFailsOnceTheRoleIsDeleted) {
  logical::Auth a = LoginAuth();
  ASSERT_TRUE(Do(Operation::kDelete, "role/dev").ok());
  auto r = Renew(a);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInternal);
  EXPECT_EQ(r.status().message(), "role dev does not exist during renewal");

  // A role of the same name created again renews the token again (as Vault).
  Role({{"token_ttl", "10m"}});
  auto again = Renew(a);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->ttl, 600);
}

TEST_F(JwtRenewTest, RenewalNeedsTheRoleMetadata) {
  logical::Auth a = LoginAuth();
  a.metadata.erase("role");
  auto r = Renew(a);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "failed to fetch role_name during renewal");
}

}  // namespace
}  // namespace arca::auth::testing
