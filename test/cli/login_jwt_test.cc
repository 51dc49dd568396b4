// `arca login -method=jwt` over a scripted transport.
#include <gtest/gtest.h>

#include <fstream>

#include "cli/token_helper.h"
#include "cli_fakes.h"

namespace arca::cli {
namespace {

constexpr char kLoginOk[] =
    R"({"request_id":"r1","lease_id":"","renewable":false,"lease_duration":0,"data":null,"warnings":null,)"
    R"("auth":{"client_token":"hvs.jwt","accessor":"acc-j","policies":["default","egi"],)"
    R"("token_policies":["default","egi"],"metadata":{"role":"demo"},"lease_duration":3600,)"
    R"("renewable":true,"entity_id":"e1","token_type":"service","orphan":true}})";

class LoginJwtTest : public ::testing::Test {
 protected:
  Json LoginBody(const std::string& path = "/v1/auth/jwt/login") {
    const HttpRequest* r = t_.transport.Find("PUT", path);
    if (!r || !r->body) return Json();
    return Json::parse(*r->body);
  }
  std::string StoredToken() { return *ReadTokenFile(TokenFilePath(t_.home.path())); }

  testing::TestEnv t_;
};

TEST_F(LoginJwtTest, SendsRoleAndJwtStoresTokenAndPrintsTable) {
  t_.transport.On("PUT", "/v1/auth/jwt/login", 200, kLoginOk);
  EXPECT_EQ(t_.Run({"login", "-method=jwt", "role=demo", "jwt=eyJ.a.b"}), 0);
  EXPECT_EQ(LoginBody(), (Json{{"role", "demo"}, {"jwt", "eyJ.a.b"}}));
  EXPECT_EQ(testing::HeaderOf(t_.transport.requests[0], "X-Vault-Token"), "");
  EXPECT_EQ(StoredToken(), "hvs.jwt");
  const std::string out = t_.out.str();
  EXPECT_EQ(out.rfind("Success! You are now authenticated.", 0), 0u);
  EXPECT_NE(out.find("token                hvs.jwt\n"), std::string::npos);
  EXPECT_NE(out.find("token_accessor       acc-j\n"), std::string::npos);
  EXPECT_NE(out.find("token_duration       1h\n"), std::string::npos);
  EXPECT_NE(out.find("token_policies       [\"default\" \"egi\"]\n"), std::string::npos);
  EXPECT_NE(out.find("token_meta_role      demo\n"), std::string::npos);
}

TEST_F(LoginJwtTest, RoleIsOptionalAndPathSelectsTheMount) {
  t_.transport.On("PUT", "/v1/auth/egi/login", 200, kLoginOk);
  EXPECT_EQ(t_.Run({"login", "-method=jwt", "-path=egi", "jwt=tok"}), 0);
  EXPECT_EQ(LoginBody("/v1/auth/egi/login"), (Json{{"jwt", "tok"}}));
  EXPECT_EQ(StoredToken(), "hvs.jwt");
}

TEST_F(LoginJwtTest, ReadsJwtFromStdinAndFile) {
  t_.transport.On("PUT", "/v1/auth/jwt/login", 200, kLoginOk);
  t_.SetStdin("from.stdin.jwt\n");
  EXPECT_EQ(t_.Run({"login", "-method=jwt", "-token-only", "jwt=-"}), 0);
  EXPECT_EQ(LoginBody()["jwt"], "from.stdin.jwt");
  EXPECT_EQ(t_.out.str(), "hvs.jwt");

  std::string file = t_.home.path() + "/tok.jwt";
  std::ofstream(file) << "from.file.jwt\n";
  t_.transport.requests.clear();
  EXPECT_EQ(t_.Run({"login", "-method=jwt", "-no-store", "role=r", "jwt=@" + file}), 0);
  EXPECT_EQ(LoginBody(), (Json{{"role", "r"}, {"jwt", "from.file.jwt"}}));
}

TEST_F(LoginJwtTest, PromptsWhenJwtMissingAndFailsNonInteractively) {
  t_.transport.On("PUT", "/v1/auth/jwt/login", 200, kLoginOk);
  t_.secret_input = "prompted.jwt";
  EXPECT_EQ(t_.Run({"login", "-method=jwt", "-no-store"}), 0);
  EXPECT_EQ(t_.prompts.back(), "JWT (will be hidden): ");
  EXPECT_EQ(LoginBody()["jwt"], "prompted.jwt");

  t_.transport.requests.clear();
  EXPECT_EQ(t_.Run({"login", "-method=jwt", "-non-interactive"}), 2);
  EXPECT_EQ(t_.err.str(), "Error authenticating: 'jwt' must be specified\n");
  EXPECT_TRUE(t_.transport.requests.empty());
}

TEST_F(LoginJwtTest, ServerErrorIsReportedAndNothingStored) {
  t_.transport.On("PUT", "/v1/auth/jwt/login", 400,
                  R"({"errors":["error validating token: invalid expiration time (exp) claim: token is expired"]})");
  EXPECT_EQ(t_.Run({"login", "-method=jwt", "jwt=old"}), 2);
  EXPECT_EQ(t_.err.str(),
            "Error authenticating: Error making API request.\n\n"
            "URL: PUT http://127.0.0.1:8200/v1/auth/jwt/login\nCode: 400. Errors:\n\n"
            "* error validating token: invalid expiration time (exp) claim: token is expired\n");
  EXPECT_EQ(StoredToken(), "");
}

}  // namespace
}  // namespace arca::cli
