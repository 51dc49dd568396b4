// The HTTP layer over a real core::Core (in-memory storage): the raw
// lifecycle endpoints and a few logical requests, end to end below the
// socket.
#include "http/core_api.h"

#include <gtest/gtest.h>

#include "base/metrics.h"
#include "core/core.h"
#include "http/handler.h"
#include "storage/inmem.h"
#include "support/fake_clock.h"

namespace arca::http {
namespace {

// Core mounts cubbyhole/ at init; the real engine lives in arca_engines,
// which this test does not link, so a stand-in takes its place.
class StubCubbyhole final : public logical::Backend {
 public:
  StatusOr<logical::Response> HandleRequest(logical::Request&) override {
    return UnsupportedPath();
  }
};

class CoreApiTest : public ::testing::Test {
 protected:
  CoreApiTest() {
    core::CoreConfig config;
    config.physical = &storage_;
    config.clock = &clock_;
    config.engines["cubbyhole"] =
        [](const logical::BackendConfig&) -> StatusOr<std::unique_ptr<logical::Backend>> {
      return std::unique_ptr<logical::Backend>(std::make_unique<StubCubbyhole>());
    };
    core_ = std::make_unique<core::Core>(std::move(config));
    api_ = NewCoreApi(*core_);
    handler_ = std::make_unique<Handler>(*api_, clock_, registry_);
  }
  ~CoreApiTest() override { core_->Shutdown(); }

  HttpResponse Call(std::string method, std::string target, std::string body = "",
                    std::string token = "") {
    HttpRequest r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.body = std::move(body);
    if (!token.empty()) r.headers.emplace_back("X-Vault-Token", token);
    r.remote_address = "127.0.0.1";
    return handler_->Handle(r);
  }
  static Json Body(const HttpResponse& r) { return Json::parse(r.body); }

  storage::InMemBackend storage_;
  arca::testing::FakeClock clock_;
  metrics::Registry registry_;
  std::unique_ptr<core::Core> core_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<Handler> handler_;
};

TEST_F(CoreApiTest, InitUnsealAndUseTheRootToken) {
  HttpResponse init_status = Call("GET", "/v1/sys/init");
  EXPECT_EQ(init_status.status, 200);
  EXPECT_EQ(Body(init_status)["initialized"], false);

  Json seal = Body(Call("GET", "/v1/sys/seal-status"));
  EXPECT_EQ(seal["initialized"], false);
  EXPECT_EQ(seal["sealed"], true);
  EXPECT_EQ(seal["t"], 0);

  HttpResponse init = Call("PUT", "/v1/sys/init",
                           R"({"secret_shares":1,"secret_threshold":1,"root_token_pgp_key":null})");
  ASSERT_EQ(init.status, 200) << init.body;
  Json keys = Body(init);
  ASSERT_EQ(keys["keys"].size(), 1u);
  ASSERT_EQ(keys["keys_base64"].size(), 1u);
  std::string root = keys["root_token"];
  ASSERT_FALSE(root.empty());

  EXPECT_EQ(Call("PUT", "/v1/sys/init", R"({"secret_shares":1,"secret_threshold":1})").status,
            400);
  EXPECT_EQ(Call("GET", "/v1/sys/health").status, 503);
  HttpResponse sealed = Call("GET", "/v1/auth/token/lookup-self", "", root);
  EXPECT_EQ(sealed.status, 503);
  EXPECT_EQ(sealed.body, "{\"errors\":[\"Vault is sealed\"]}\n");

  HttpResponse unseal = Call("PUT", "/v1/sys/unseal",
                             Json{{"key", keys["keys"][0]}, {"migrate", false}}.dump());
  ASSERT_EQ(unseal.status, 200) << unseal.body;
  EXPECT_EQ(Body(unseal)["sealed"], false);

  HttpResponse health = Call("GET", "/v1/sys/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(Body(health)["initialized"], true);
  HttpResponse leader = Call("GET", "/v1/sys/leader");
  EXPECT_EQ(leader.status, 200);
  EXPECT_EQ(Body(leader)["active_time"].get<std::string>().empty(), false);

  HttpResponse self = Call("GET", "/v1/auth/token/lookup-self", "", root);
  ASSERT_EQ(self.status, 200) << self.body;
  Json j = Body(self);
  EXPECT_EQ(j["data"]["policies"], (Json{"root"}));
  EXPECT_TRUE(j.contains("wrap_info"));
  EXPECT_EQ(Call("GET", "/v1/auth/token/lookup-self").status, 403);
  EXPECT_EQ(Call("GET", "/v1/auth/token/lookup-self", "", "hvs.bogus").status, 403);
}

TEST_F(CoreApiTest, UnsealWithoutInitFails) {
  HttpResponse r = Call("PUT", "/v1/sys/unseal", R"({"key":"00"})");
  EXPECT_EQ(r.status, 400);
}

}  // namespace
}  // namespace arca::http
