#include "http/handler.h"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>

#include "base/metrics.h"
#include "fake_api.h"
#include "support/fake_clock.h"

namespace arca::http {
namespace {

class HandlerTest : public ::testing::Test {
 protected:
  HttpResponse Call(std::string method, std::string target, std::string body = "",
                    HeaderList headers = {}) {
    HttpRequest r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.body = std::move(body);
    r.headers = std::move(headers);
    r.remote_address = "10.1.2.3";
    r.remote_port = 4242;
    return handler_.Handle(r);
  }

  testing::FakeApi api_;
  arca::testing::FakeClock clock_;
  metrics::Registry registry_;
  Handler handler_{api_, clock_, registry_};
};

TEST_F(HandlerTest, LogicalRequestsReachCore) {
  HttpResponse r = Call("POST", "/v1/secret/data/foo", R"({"data":{"a":"b"}})",
                        {{"X-Vault-Token", "hvs.t"}, {"X-Vault-Request", "true"}});
  EXPECT_EQ(r.status, 200);
  logical::Request req = api_.LastRequest();
  EXPECT_EQ(req.operation, logical::Operation::kUpdate);
  EXPECT_EQ(req.path, "secret/data/foo");
  EXPECT_EQ(req.client_token, "hvs.t");
  EXPECT_EQ(req.data, (Json{{"data", {{"a", "b"}}}}));
  EXPECT_EQ(req.remote_address, "10.1.2.3");
  EXPECT_EQ(req.remote_port, 4242);
  Json body = Json::parse(r.body);
  EXPECT_EQ(body["request_id"], req.id);
  EXPECT_EQ(body["data"]["path"], "secret/data/foo");
}

TEST_F(HandlerTest, EnvelopeUsesThePathBeforeCoreRewritesIt) {
  api_.handle = [](logical::Request& req) -> StatusOr<logical::Response> {
    req.path = "policy";  // as a router stripping the mount would
    return logical::Response::WithData(Json{{"keys", {"root"}}});
  };
  Json body = Json::parse(Call("GET", "/v1/sys/policy").body);
  EXPECT_EQ(body["keys"], (Json{"root"}));
}

TEST_F(HandlerTest, DecodeErrorsNeverReachCore) {
  EXPECT_EQ(Call("GET", "/v1/secret/x?list=maybe").status, 400);
  EXPECT_EQ(Call("POST", "/v1/secret/x", "{bad").status, 400);
  EXPECT_EQ(Call("OPTIONS", "/v1/secret/x").status, 405);
  EXPECT_EQ(Call("GET", "/v1/secret/../x").status, 400);
  EXPECT_EQ(Call("GET", "/").status, 404);
  EXPECT_EQ(Call("GET", "/ui/").status, 404);
  EXPECT_EQ(api_.RequestCount(), 0u);
}

TEST_F(HandlerTest, HeadDecodeErrorHasNoBody) {
  HttpResponse r = Call("HEAD", "/v1/secret/../x");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "");
  HttpResponse wrap = Call("HEAD", "/v1/secret/x", "", {{"X-Vault-Wrap-TTL", "bad"}});
  EXPECT_EQ(wrap.status, 400);
  EXPECT_EQ(wrap.body, "");
  HttpResponse missing = Call("HEAD", "/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, "");
}

TEST_F(HandlerTest, CoreErrorsAreMapped) {
  api_.handle = [](logical::Request&) -> StatusOr<logical::Response> { return SealedError(); };
  HttpResponse r = Call("GET", "/v1/secret/data/x");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "{\"errors\":[\"Vault is sealed\"]}\n");
}

TEST_F(HandlerTest, ExceptionsBecome500) {
  api_.handle = [](logical::Request&) -> StatusOr<logical::Response> {
    throw std::runtime_error("boom");
  };
  HttpResponse r = Call("GET", "/v1/secret/data/x");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "{\"errors\":[\"internal error\"]}\n");
}

class HandlerForwardingTest : public HandlerTest {
 protected:
  static constexpr char kTarget[] = "/v1/secret/data/a";
  static constexpr char kBody[] = R"({"data":{"k":"v"}})";

  void SetUp() override { api_.forwarding_key = key_; }

  // The value a standby would send for PUT kTarget with kBody and `token`
  // from 6.6.6.6, `age` ago by the handler's clock.
  std::string Auth(std::chrono::seconds age = {}, std::string_view token = "hvs.t") {
    return ForwardAuth(key_, {"6.6.6.6", "PUT", kTarget, token, kBody},
                       clock_.UnixNow() - age.count());
  }

  // What core saw as the remote address of a PUT kTarget carrying the
  // forwarding headers (and `headers` before them).
  std::string RemoteAfter(std::string auth, HeaderList headers = {{"X-Vault-Token", "hvs.t"}},
                          std::string body = kBody, std::string addr = "6.6.6.6") {
    headers.emplace_back("X-Arca-Forwarded-For", std::move(addr));
    headers.emplace_back("X-Arca-Forward-Auth", std::move(auth));
    HttpResponse r = Call("PUT", kTarget, std::move(body), std::move(headers));
    EXPECT_EQ(r.status, 200);
    logical::Request got = api_.LastRequest();
    EXPECT_EQ(got.headers.count("x-arca-forwarded-for"), 0u);
    EXPECT_EQ(got.headers.count("x-arca-forward-auth"), 0u);
    EXPECT_EQ(got.remote_port, got.remote_address == "6.6.6.6" ? 0 : 4242);
    return got.remote_address;
  }

  SecureBytes key_ = SecureBytes(32, 0x5a);
};

TEST_F(HandlerForwardingTest, VerifiedForwardedAddressReplacesTheSocketAddress) {
  EXPECT_EQ(RemoteAfter(Auth()), "6.6.6.6");
  EXPECT_EQ(api_.LastRequest().client_token, "hvs.t");
  EXPECT_EQ(api_.LastRequest().data, (Json{{"data", {{"k", "v"}}}}));
}

TEST_F(HandlerForwardingTest, ReplayedWithAnotherRequestIsIgnored) {
  const std::string auth = Auth();
  EXPECT_EQ(RemoteAfter(auth, {{"X-Vault-Token", "hvs.other"}}), "10.1.2.3");
  EXPECT_EQ(RemoteAfter(auth, {}), "10.1.2.3");
  EXPECT_EQ(RemoteAfter(auth, {{"Authorization", "Bearer hvs.t"}}), "10.1.2.3");
  EXPECT_EQ(RemoteAfter(auth, {{"X-Vault-Token", "hvs.t"}}, R"({"data":{"k":"w"}})"), "10.1.2.3");
  EXPECT_EQ(RemoteAfter(auth, {{"X-Vault-Token", "hvs.t"}}, kBody, "6.6.6.7"), "10.1.2.3");
  // Method and target: the same pair on a POST, and on another path.
  HttpResponse post = Call("POST", kTarget, kBody,
                           {{"X-Vault-Token", "hvs.t"},
                            {"X-Arca-Forwarded-For", "6.6.6.6"},
                            {"X-Arca-Forward-Auth", auth}});
  EXPECT_EQ(post.status, 200);
  EXPECT_EQ(api_.LastRequest().remote_address, "10.1.2.3");
  Call("PUT", "/v1/secret/data/b", kBody,
       {{"X-Vault-Token", "hvs.t"},
        {"X-Arca-Forwarded-For", "6.6.6.6"},
        {"X-Arca-Forward-Auth", auth}});
  EXPECT_EQ(api_.LastRequest().path, "secret/data/b");
  EXPECT_EQ(api_.LastRequest().remote_address, "10.1.2.3");
  // The genuine request still verifies.
  EXPECT_EQ(RemoteAfter(auth), "6.6.6.6");
}

TEST_F(HandlerForwardingTest, BearerTokenIsBound) {
  const std::string auth = Auth({}, "Bearer hvs.b");
  EXPECT_EQ(RemoteAfter(auth, {{"Authorization", "Bearer hvs.b"}}), "6.6.6.6");
  EXPECT_EQ(api_.LastRequest().client_token, "hvs.b");
  EXPECT_EQ(RemoteAfter(auth, {{"X-Vault-Token", ""}, {"Authorization", "Bearer hvs.b"}}),
            "6.6.6.6");
  EXPECT_EQ(RemoteAfter(auth, {{"Authorization", "Bearer hvs.c"}}), "10.1.2.3");
}

TEST_F(HandlerForwardingTest, OnlyFreshValuesAreTrusted) {
  EXPECT_EQ(RemoteAfter(Auth(std::chrono::seconds(59))), "6.6.6.6");
  EXPECT_EQ(RemoteAfter(Auth(std::chrono::seconds(-59))), "6.6.6.6");
  EXPECT_EQ(RemoteAfter(Auth(std::chrono::seconds(61))), "10.1.2.3");
  EXPECT_EQ(RemoteAfter(Auth(std::chrono::seconds(-61))), "10.1.2.3");
  // A captured value stops working once the handler's clock moves on.
  const std::string captured = Auth();
  clock_.Advance(std::chrono::seconds(60));
  EXPECT_EQ(RemoteAfter(captured), "6.6.6.6");
  clock_.Advance(std::chrono::seconds(1));
  EXPECT_EQ(RemoteAfter(captured), "10.1.2.3");
}

TEST_F(HandlerForwardingTest, MalformedOrUnkeyedValuesAreIgnored) {
  const std::string good = Auth();
  const std::string mac = good.substr(good.rfind(':') + 1);
  for (const std::string& bad :
       {std::string(), std::string("v2"), std::string("v2::"), "v2:" + mac, "v2:x:" + mac,
        "v2:99999999999999999999:" + mac, std::string("v2:1704067200:"), "v1" + good.substr(2), mac,
        std::string(100000, '7')}) {
    EXPECT_EQ(RemoteAfter(bad), "10.1.2.3") << bad.substr(0, 80);
  }
  // Missing, empty or oversized address; duplicated headers.
  EXPECT_EQ(RemoteAfter(good, {{"X-Vault-Token", "hvs.t"}}, kBody, ""), "10.1.2.3");
  Call("PUT", kTarget, kBody, {{"X-Vault-Token", "hvs.t"}, {"X-Arca-Forward-Auth", good}});
  EXPECT_EQ(api_.LastRequest().remote_address, "10.1.2.3");
  EXPECT_EQ(RemoteAfter(good, {{"X-Vault-Token", "hvs.t"}, {"X-Arca-Forward-Auth", good}}),
            "10.1.2.3");
  // No key (sealed, or outside a cluster), or another key.
  api_.forwarding_key = SecureBytes(32, 0x01);
  EXPECT_EQ(RemoteAfter(good), "10.1.2.3");
  api_.forwarding_key.reset();
  EXPECT_EQ(RemoteAfter(good), "10.1.2.3");
}

TEST_F(HandlerTest, RouteLabels) {
  EXPECT_EQ(RouteLabel("sys/health"), "sys/health");
  EXPECT_EQ(RouteLabel("sys/policies/acl/dev"), "sys/policies");
  EXPECT_EQ(RouteLabel("sys"), "sys/");
  EXPECT_EQ(RouteLabel("secret/data/a/b/c"), "secret/");
  EXPECT_EQ(RouteLabel("secret"), "secret/");
  EXPECT_EQ(RouteLabel("auth/jwt/login"), "auth/jwt/");
  EXPECT_EQ(RouteLabel("auth/token/lookup/hvs.secret"), "auth/token/");
  EXPECT_EQ(RouteLabel("auth"), "auth/");
  EXPECT_EQ(RouteLabel(""), "invalid");
  EXPECT_EQ(RouteLabel(std::string(300, 'x') + "/y").size(), 65u);
  EXPECT_EQ(MethodLabel("LIST"), "LIST");
  EXPECT_EQ(MethodLabel("BREW"), "OTHER");
}

TEST_F(HandlerTest, RouteLabelsAreCapped) {
  for (std::size_t i = 0; i < kMaxRouteLabels + 50; ++i) {
    handler_.BoundedRoute("mount" + std::to_string(i) + "/x");
  }
  EXPECT_EQ(handler_.BoundedRoute("mount0/y"), "mount0/");
  EXPECT_EQ(handler_.BoundedRoute("brand-new/x"), "other");
}

TEST_F(HandlerTest, RecordsRequestMetrics) {
  api_.handle = [this](logical::Request&) -> StatusOr<logical::Response> {
    clock_.Advance(std::chrono::milliseconds(30));
    return logical::Response{};
  };
  Call("PUT", "/v1/secret/data/x", "{}");
  Call("PUT", "/v1/secret/data/y", "{}");
  Call("GET", "/v1/sys/health");
  Call("GET", "/nope");
  metrics::Counter& c = registry_.AddCounter("arca_http_requests_total", "",
                                             {"route", "method", "code"});
  EXPECT_EQ(c.Value({"secret/", "PUT", "204"}), 2);
  EXPECT_EQ(c.Value({"sys/health", "GET", "200"}), 1);
  EXPECT_EQ(c.Value({"invalid", "GET", "404"}), 1);
  metrics::Histogram& h =
      registry_.AddHistogram("arca_http_request_duration_seconds", "", {"route"});
  EXPECT_EQ(h.Count({"secret/"}), 2u);
  EXPECT_NEAR(h.Sum({"secret/"}), 0.06, 1e-9);
  std::string text = registry_.Render();
  EXPECT_NE(text.find("# TYPE arca_http_requests_total counter"), std::string::npos);
  EXPECT_NE(text.find("arca_http_request_duration_seconds_bucket{route=\"secret/\",le=\"0.05\"} 2"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace arca::http
