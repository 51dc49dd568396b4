#include "cli/api_client.h"

#include <gtest/gtest.h>

#include "cli_fakes.h"

namespace arca::cli {
namespace {

using testing::FakeTransport;
using testing::HeaderOf;
using testing::JsonResponse;

class ApiClientTest : public ::testing::Test {
 protected:
  ClientConfig Config() {
    ClientConfig c;
    c.address = "http://127.0.0.1:8200/";
    c.token = "hvs.root";
    return c;
  }
  Client Make(ClientConfig c) {
    return Client(std::move(c), transport_, [this](int64_t ms) { sleeps_.push_back(ms); });
  }
  FakeTransport transport_;
  std::vector<int64_t> sleeps_;
};

TEST_F(ApiClientTest, SendsVaultHeadersAndJsonBody) {
  Client c = Make(Config());
  transport_.On("PUT", "/v1/secret/foo", 204, "");
  auto r = c.Do("PUT", "/secret/foo", {}, Json{{"a", "b"}});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(transport_.requests.size(), 1u);
  const HttpRequest& req = transport_.requests[0];
  EXPECT_EQ(req.url, "http://127.0.0.1:8200/v1/secret/foo");
  EXPECT_EQ(HeaderOf(req, "X-Vault-Request"), "true");
  EXPECT_EQ(HeaderOf(req, "X-Vault-Token"), "hvs.root");
  EXPECT_EQ(HeaderOf(req, "Content-Type"), "application/json");
  EXPECT_EQ(req.body, std::optional<std::string>(R"({"a":"b"})"));
}

TEST_F(ApiClientTest, NoTokenHeaderWithoutToken) {
  ClientConfig cfg = Config();
  cfg.token.clear();
  cfg.namespace_name = "ns1/";
  Client c = Make(cfg);
  ASSERT_TRUE(c.Raw("GET", "sys/seal-status").ok());
  EXPECT_EQ(HeaderOf(transport_.requests[0], "X-Vault-Token"), "");
  EXPECT_EQ(HeaderOf(transport_.requests[0], "X-Vault-Namespace"), "ns1/");
  EXPECT_FALSE(transport_.requests[0].body);
}

TEST_F(ApiClientTest, EscapesPathsAndEncodesQueriesSorted) {
  EXPECT_EQ(EscapePath("secret/a b/c?d#e"), "secret/a%20b/c%3Fd%23e");
  EXPECT_EQ(EscapePath("a:b@c"), "a:b@c");
  EXPECT_EQ(EncodeQuery({{"version", "2"}, {"list", "true"}, {"k", "a b&c"}}),
            "k=a+b%26c&list=true&version=2");
}

TEST_F(ApiClientTest, ErrorsAreFormattedLikeVault) {
  Client c = Make(Config());
  transport_.On("GET", "/v1/secret/foo", 403, R"({"errors":["1 error occurred:\n\t* permission denied\n\n"]})");
  auto r = c.Do("GET", "secret/foo", {{"list", "true"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(r.status().message(),
            "Error making API request.\n\nURL: GET http://127.0.0.1:8200/v1/secret/foo?list=true\n"
            "Code: 403. Errors:\n\n* 1 error occurred:\n\t* permission denied\n\n");
}

TEST_F(ApiClientTest, ErrorsDoNotPrintCredentialsFromTheQuery) {
  Client c = Make(Config());
  transport_.On("GET", "/v1/auth/oidc/oidc/callback", 400, R"({"errors":["Expired or missing OAuth state."]})");
  auto r = c.Do("GET", "auth/oidc/oidc/callback",
                {{"client_nonce", "n1"}, {"code", "c0de"}, {"id_token", ""}, {"state", "st"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "Error making API request.\n\nURL: GET http://127.0.0.1:8200/v1/auth/oidc/oidc/callback"
            "?client_nonce=redacted&code=redacted&id_token=redacted&state=redacted\n"
            "Code: 400. Errors:\n\n* Expired or missing OAuth state.");
}

TEST_F(ApiClientTest, NonJsonErrorBodyIsARawMessage) {
  Client c = Make(Config());
  transport_.handler = [](const HttpRequest&) { return JsonResponse(502, "bad gateway"); };
  auto r = c.Do("GET", "sys/health");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "Error making API request.\n\nURL: GET http://127.0.0.1:8200/v1/sys/health\n"
            "Code: 502. Raw Message:\n\nbad gateway");
}

TEST_F(ApiClientTest, SealedAndStatusCodesMapToCodes) {
  EXPECT_EQ(CodeForHttpStatus(503, {"Vault is sealed"}), Code::kSealed);
  EXPECT_EQ(CodeForHttpStatus(503, {"no active Vault instance found"}), Code::kUnavailable);
  EXPECT_EQ(CodeForHttpStatus(405, {}), Code::kUnsupportedOperation);
  EXPECT_EQ(CodeForHttpStatus(404, {}), Code::kNotFound);
  EXPECT_EQ(CodeForHttpStatus(400, {}), Code::kInvalidArgument);
  EXPECT_EQ(CodeForHttpStatus(500, {}), Code::kInternal);
}

TEST_F(ApiClientTest, TransportFailureNamesMethodAndUrl) {
  Client c = Make(Config());
  transport_.fail_transport = true;
  auto r = c.Raw("PUT", "sys/unseal");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_EQ(r.status().message(),
            "Put \"http://127.0.0.1:8200/v1/sys/unseal\": dial tcp 127.0.0.1:8200: connect: "
            "connection refused");
  EXPECT_EQ(transport_.requests.size(), 1u);  // the CLI does not retry by default
}

TEST_F(ApiClientTest, FollowsOneRedirectKeepingMethodAndBody) {
  Client c = Make(Config());
  int calls = 0;
  transport_.handler = [&](const HttpRequest& r) -> std::optional<HttpResponse> {
    ++calls;
    if (r.url.find("127.0.0.1:8200") != std::string::npos) {
      HttpResponse red;
      red.status = 307;
      red.headers = {{"Location", "http://127.0.0.2:8200/v1/secret/foo"}};
      return red;
    }
    return JsonResponse(204, "");
  };
  auto r = c.Do("PUT", "secret/foo", {}, Json{{"k", "v"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 204);
  ASSERT_EQ(transport_.requests.size(), 2u);
  EXPECT_EQ(transport_.requests[1].method, "PUT");
  EXPECT_EQ(transport_.requests[1].url, "http://127.0.0.2:8200/v1/secret/foo");
  EXPECT_EQ(transport_.requests[1].body, transport_.requests[0].body);
  EXPECT_EQ(HeaderOf(transport_.requests[1], "X-Vault-Token"), "hvs.root");
}

TEST_F(ApiClientTest, SecondRedirectIsNotFollowedAndRelativeLocationsResolve) {
  Client c = Make(Config());
  transport_.handler = [](const HttpRequest&) -> std::optional<HttpResponse> {
    HttpResponse red;
    red.status = 307;
    red.headers = {{"location", "/v1/other"}};
    return red;
  };
  auto r = c.Raw("GET", "secret/foo");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 307);
  ASSERT_EQ(transport_.requests.size(), 2u);
  EXPECT_EQ(transport_.requests[1].url, "http://127.0.0.1:8200/v1/other");
}

TEST_F(ApiClientTest, RefusesProtocolDowngrade) {
  ClientConfig cfg = Config();
  cfg.address = "https://127.0.0.1:8200";
  Client c = Make(cfg);
  transport_.handler = [](const HttpRequest&) -> std::optional<HttpResponse> {
    HttpResponse red;
    red.status = 307;
    red.headers = {{"Location", "http://127.0.0.1:8200/v1/x"}};
    return red;
  };
  auto r = c.Raw("GET", "x");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("redirect would cause protocol downgrade"), std::string::npos);
  EXPECT_EQ(transport_.requests.size(), 1u);
}

TEST_F(ApiClientTest, DisabledRedirectsReturnThe307) {
  ClientConfig cfg = Config();
  cfg.disable_redirects = true;
  Client c = Make(cfg);
  transport_.handler = [](const HttpRequest&) -> std::optional<HttpResponse> {
    HttpResponse red;
    red.status = 307;
    red.headers = {{"Location", "http://127.0.0.2:8200/v1/x"}};
    return red;
  };
  auto r = c.Raw("GET", "x");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 307);
  EXPECT_EQ(transport_.requests.size(), 1u);
}

TEST_F(ApiClientTest, RetriesRetryableStatusesWhenConfigured) {
  ClientConfig cfg = Config();
  cfg.max_retries = 2;
  Client c = Make(cfg);
  int calls = 0;
  transport_.handler = [&](const HttpRequest&) -> std::optional<HttpResponse> {
    return ++calls < 3 ? JsonResponse(503, R"({"errors":["busy"]})") : JsonResponse(200, "{}");
  };
  auto r = c.Do("GET", "sys/leader");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(sleeps_.size(), 2u);
  // 501 and 4xx (but 412/429) are final.
  calls = 0;
  transport_.handler = [&](const HttpRequest&) -> std::optional<HttpResponse> {
    ++calls;
    return JsonResponse(501, R"({"errors":[]})");
  };
  EXPECT_FALSE(c.Do("GET", "sys/init").ok());
  EXPECT_EQ(calls, 1);
}

TEST_F(ApiClientTest, LogicalReadTreats404AsNoValueUnlessItCarriesData) {
  Client c = Make(Config());
  transport_.On("GET", "/v1/secret/data/missing", 404, R"({"errors":[]})");
  transport_.On("GET", "/v1/secret/data/deleted", 404,
                R"({"request_id":"r","data":{"data":null,"metadata":{"version":2,"deletion_time":"2024-01-01T00:00:00Z"}},"warnings":null})");
  LogicalResult missing = LogicalRead(c, "secret/data/missing");
  EXPECT_TRUE(missing.error.ok());
  EXPECT_FALSE(missing.secret);
  LogicalResult deleted = LogicalRead(c, "secret/data/deleted");
  EXPECT_TRUE(deleted.error.ok());
  ASSERT_TRUE(deleted.secret);
  EXPECT_EQ((*deleted.secret)["data"]["metadata"]["version"], 2);
}

TEST_F(ApiClientTest, LogicalWriteAndPatchRequests) {
  Client c = Make(Config());
  transport_.On("PUT", "/v1/kv/x", 204, "");
  LogicalResult w = LogicalWrite(c, "kv/x", Json{{"a", 1}});
  EXPECT_TRUE(w.error.ok());
  EXPECT_FALSE(w.secret);
  transport_.On("PATCH", "/v1/secret/data/x", 200, R"({"data":{"version":3}})");
  LogicalResult p = LogicalMergePatch(c, "secret/data/x", Json{{"data", {{"a", nullptr}}}});
  ASSERT_TRUE(p.error.ok());
  EXPECT_EQ((*p.secret)["data"]["version"], 3);
  const HttpRequest* req = transport_.Find("PATCH", "/v1/secret/data/x");
  ASSERT_NE(req, nullptr);
  EXPECT_EQ(HeaderOf(*req, "Content-Type"), "application/merge-patch+json");
  EXPECT_EQ(*req->body, R"({"data":{"a":null}})");
  transport_.On("GET", "/v1/secret/metadata", 200, R"({"data":{"keys":["a"]}})");
  LogicalResult l = LogicalList(c, "secret/metadata");
  ASSERT_TRUE(l.secret);
  EXPECT_EQ(testing::QueryOf(transport_.requests.back().url), "list=true");
}

TEST_F(ApiClientTest, ParseSecretRejectsNonObjects) {
  EXPECT_FALSE(ParseSecret("  \n")->has_value());
  EXPECT_TRUE(ParseSecret(R"({"data":{}})")->has_value());
  EXPECT_FALSE(ParseSecret("[1]").ok());
  EXPECT_FALSE(ParseSecret("not json").ok());
}

}  // namespace
}  // namespace arca::cli
