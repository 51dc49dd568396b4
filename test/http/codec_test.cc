#include "http/codec.h"

#include <gtest/gtest.h>

#include <string>

#include "http/errors.h"

namespace arca::http {
namespace {

using logical::Operation;

HttpRequest Req(std::string method, std::string target, std::string body = "",
                HeaderList headers = {}) {
  HttpRequest r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.body = std::move(body);
  r.headers = std::move(headers);
  r.remote_address = "127.0.0.1";
  r.remote_port = 50000;
  return r;
}

Json Body(const HttpResponse& r) { return Json::parse(r.body); }

// --- paths ---------------------------------------------------------------

TEST(CodecTest, TargetOutsideV1IsNotFound) {
  for (const char* t : {"/", "/ui", "/ui/", "/robots.txt", "/v1", "/v2/sys/health", "/v1/", "/v1//",
                        "v1/sys/health"}) {
    auto r = ParseTarget(t);
    ASSERT_FALSE(r.ok()) << t;
    EXPECT_EQ(r.status().code(), Code::kNotFound) << t;
    HttpResponse e = ErrorResponse(r.status());
    EXPECT_EQ(e.status, 404);
    EXPECT_EQ(e.body, "{\"errors\":[]}\n");
  }
}

TEST(CodecTest, PathIsDecodedAndCollapsed) {
  EXPECT_EQ(ParseTarget("/v1/secret/data/foo")->path, "secret/data/foo");
  EXPECT_EQ(ParseTarget("/v1/secret/data/a%20b")->path, "secret/data/a b");
  EXPECT_EQ(ParseTarget("/v1/secret/data/a+b")->path, "secret/data/a+b");
  EXPECT_EQ(ParseTarget("/v1//secret//data///foo")->path, "secret/data/foo");
  EXPECT_EQ(ParseTarget("/v1/secret/metadata/")->path, "secret/metadata/");
  EXPECT_EQ(ParseTarget("/v1/secret/metadata//")->path, "secret/metadata/");
  EXPECT_EQ(ParseTarget("/v1/secret%2Fdata%2Ffoo")->path, "secret/data/foo");
  EXPECT_EQ(ParseTarget("/v1/secret/a.b/..c")->path, "secret/a.b/..c");
}

TEST(CodecTest, BadPathsAreRejected) {
  for (const char* t : {"/v1/secret/%zz", "/v1/secret/%2", "/v1/secret/./foo",
                        "/v1/secret/../sys/seal", "/v1/secret/foo/..", "/v1/secret/%2e%2E/x",
                        "/v1/secret/a%00b", "/v1/secret/a%0Ab", "/v1/secret/a%7Fb"}) {
    auto r = ParseTarget(t);
    ASSERT_FALSE(r.ok()) << t;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << t;
    EXPECT_EQ(ErrorResponse(r.status()).status, 400);
  }
  EXPECT_EQ(ParseTarget("/v1/secret/./foo").status().message(), "invalid path");
}

TEST(CodecTest, QueryIsDecodedAndMalformedPairsDropped) {
  auto t = ParseTarget("/v1/x?a=1&b=hello+world&c=%41&&d&bad=%zz&semi=a;b=c#frag");
  ASSERT_TRUE(t.ok());
  std::vector<std::pair<std::string, std::string>> want = {
      {"a", "1"}, {"b", "hello world"}, {"c", "A"}, {"d", ""}};
  EXPECT_EQ(t->query, want);
}

TEST(CodecTest, QueryToDataSingleRepeatedAndHelp) {
  EXPECT_TRUE(QueryToData({}).is_null());
  EXPECT_TRUE(QueryToData({{"help", "1"}}).is_null());
  Json d = QueryToData({{"version", "2"}, {"k", "a"}, {"k", "b"}, {"help", "1"}});
  EXPECT_EQ(d, (Json{{"version", "2"}, {"k", {"a", "b"}}}));
}

// --- method mapping --------------------------------------------------------

TEST(CodecTest, GetIsReadWithQueryData) {
  auto r = DecodeRequest(Req("GET", "/v1/secret/data/foo?version=3"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->operation, Operation::kRead);
  EXPECT_EQ(r->path, "secret/data/foo");
  EXPECT_EQ(r->data, (Json{{"version", "3"}}));
  EXPECT_EQ(r->id.size(), 36u);
  EXPECT_EQ(r->remote_address, "127.0.0.1");
  EXPECT_EQ(r->remote_port, 50000);
}

TEST(CodecTest, GetWithoutQueryHasNullData) {
  auto r = DecodeRequest(Req("GET", "/v1/sys/mounts", "{\"ignored\":true}"));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->data.is_null());  // GET bodies are ignored
}

TEST(CodecTest, GetListFlagSpellings) {
  for (const char* v : {"1", "t", "T", "TRUE", "true", "True"}) {
    auto r = DecodeRequest(Req("GET", std::string("/v1/secret/metadata?list=") + v));
    ASSERT_TRUE(r.ok()) << v;
    EXPECT_EQ(r->operation, Operation::kList) << v;
    EXPECT_EQ(r->path, "secret/metadata/") << v;
    EXPECT_TRUE(r->data.is_null()) << v;
  }
  for (const char* v : {"0", "f", "F", "FALSE", "false", "False"}) {
    auto r = DecodeRequest(Req("GET", std::string("/v1/secret/metadata?list=") + v));
    ASSERT_TRUE(r.ok()) << v;
    EXPECT_EQ(r->operation, Operation::kRead) << v;
    EXPECT_EQ(r->path, "secret/metadata") << v;
    EXPECT_TRUE(r->data.is_null()) << v;
  }
}

TEST(CodecTest, GetEmptyListFlagIsARead) {
  auto r = DecodeRequest(Req("GET", "/v1/secret/metadata?list="));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->operation, Operation::kRead);
  EXPECT_EQ(r->data, (Json{{"list", ""}}));
}

TEST(CodecTest, GetListKeepsOtherQueryAndExistingSlash) {
  auto r = DecodeRequest(Req("GET", "/v1/secret/metadata/?list=true&x=1"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->path, "secret/metadata/");
  EXPECT_EQ(r->data, (Json{{"x", "1"}}));
}

TEST(CodecTest, GetBadListFlagIs400WithEmptyErrors) {
  for (const char* v : {"yes", "2", "tRuE"}) {
    auto r = DecodeRequest(Req("GET", std::string("/v1/secret/metadata?list=") + v));
    ASSERT_FALSE(r.ok()) << v;
    HttpResponse e = ErrorResponse(r.status());
    EXPECT_EQ(e.status, 400);
    EXPECT_EQ(e.body, "{\"errors\":[]}\n");
  }
}

TEST(CodecTest, ListVerbAppendsSlash) {
  auto r = DecodeRequest(Req("LIST", "/v1/secret/metadata?after=a"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->operation, Operation::kList);
  EXPECT_EQ(r->path, "secret/metadata/");
  EXPECT_EQ(r->data, (Json{{"after", "a"}}));
  EXPECT_EQ(DecodeRequest(Req("LIST", "/v1/secret/metadata/"))->path, "secret/metadata/");
}

TEST(CodecTest, PostAndPutAreUpdateWithBodyOnly) {
  for (const char* m : {"POST", "PUT"}) {
    auto r = DecodeRequest(Req(m, "/v1/secret/data/foo?q=1", "{\"data\":{\"a\":1}}"));
    ASSERT_TRUE(r.ok()) << m;
    EXPECT_EQ(r->operation, Operation::kUpdate);
    EXPECT_EQ(r->data, (Json{{"data", {{"a", 1}}}}));  // query not merged
  }
  auto empty = DecodeRequest(Req("POST", "/v1/sys/seal"));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->data.is_null());
}

TEST(CodecTest, DeleteUsesQuery) {
  auto r = DecodeRequest(Req("DELETE", "/v1/secret/data/foo?versions=1", "{\"x\":1}"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->operation, Operation::kDelete);
  EXPECT_EQ(r->data, (Json{{"versions", "1"}}));
}

TEST(CodecTest, HeadIsRead) {
  auto r = DecodeRequest(Req("HEAD", "/v1/secret/data/foo"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->operation, Operation::kRead);
}

TEST(CodecTest, OtherVerbsAre405WithEmptyErrors) {
  for (const char* m : {"OPTIONS", "TRACE", "CONNECT", "get", "FOO"}) {
    auto r = DecodeRequest(Req(m, "/v1/secret/data/foo"));
    ASSERT_FALSE(r.ok()) << m;
    HttpResponse e = ErrorResponse(r.status());
    EXPECT_EQ(e.status, 405) << m;
    EXPECT_EQ(e.body, "{\"errors\":[]}\n");
  }
}

TEST(CodecTest, PatchNeedsMergePatchContentType) {
  auto ok = DecodeRequest(Req("PATCH", "/v1/secret/data/foo", "{\"data\":{\"b\":2}}",
                              {{"Content-Type", "Application/Merge-Patch+JSON; charset=utf-8"}}));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->operation, Operation::kPatch);
  EXPECT_EQ(ok->data, (Json{{"data", {{"b", 2}}}}));

  auto wrong = DecodeRequest(
      Req("PATCH", "/v1/secret/data/foo", "{}", {{"Content-Type", "application/json"}}));
  ASSERT_FALSE(wrong.ok());
  HttpResponse e = ErrorResponse(wrong.status());
  EXPECT_EQ(e.status, 415);
  EXPECT_EQ(Body(e)["errors"][0],
            "PATCH requires Content-Type of application/merge-patch+json, provided "
            "application/json");

  auto missing = DecodeRequest(Req("PATCH", "/v1/secret/data/foo", "{}"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(ErrorResponse(missing.status()).status, 400);
  EXPECT_EQ(missing.status().message(), "mime: no media type");

  auto form = DecodeRequest(Req("PATCH", "/v1/secret/data/foo", "a=1",
                                {{"Content-Type", "application/merge-patch+json"}}));
  ASSERT_FALSE(form.ok());  // never parsed as a form
  EXPECT_EQ(form.status().message(), "error parsing JSON");
}

TEST(CodecTest, WritesToTrailingSlashAreRejected) {
  for (const char* m : {"POST", "PUT"}) {
    auto r = DecodeRequest(Req(m, "/v1/secret/data/foo/", "{}"));
    ASSERT_FALSE(r.ok());
    HttpResponse e = ErrorResponse(r.status());
    EXPECT_EQ(e.status, 400);
    EXPECT_EQ(Body(e)["errors"][0], "cannot write to a path ending in '/'");
  }
  auto patch = DecodeRequest(Req("PATCH", "/v1/secret/data/foo/", "{}",
                                 {{"Content-Type", "application/merge-patch+json"}}));
  EXPECT_FALSE(patch.ok());
  EXPECT_TRUE(DecodeRequest(Req("DELETE", "/v1/secret/data/foo/")).ok());
}

// --- bodies --------------------------------------------------------------

TEST(CodecTest, JsonBodyErrors) {
  EXPECT_TRUE(ParseJsonBody("").value().is_null());
  EXPECT_TRUE(ParseJsonBody(" \n\t").value().is_null());
  EXPECT_TRUE(ParseJsonBody("null").value().is_null());
  EXPECT_EQ(*ParseJsonBody(" {\"a\":null} \n"), (Json{{"a", nullptr}}));
  for (const char* b : {"{", "{\"a\":}", "{} x", "nul", "{'a':1}"}) {
    auto r = ParseJsonBody(b);
    ASSERT_FALSE(r.ok()) << b;
    EXPECT_EQ(r.status().message(), "error parsing JSON") << b;
    EXPECT_EQ(ErrorResponse(r.status()).status, 400);
  }
  for (const char* b : {"[1,2]", "\"s\"", "12", "true"}) {
    auto r = ParseJsonBody(b);
    ASSERT_FALSE(r.ok()) << b;
    EXPECT_EQ(r.status().message(), "error parsing JSON: the body must be a JSON object");
  }
}

TEST(CodecTest, JsonDepthIsLimited) {
  auto nested = [](int depth) {
    std::string s = "{\"a\":";
    for (int i = 1; i < depth; ++i) s += "[";
    s += "1";
    for (int i = 1; i < depth; ++i) s += "]";
    return s + "}";
  };
  EXPECT_TRUE(ParseJsonBody(nested(kMaxJsonDepth)).ok());
  auto deep = ParseJsonBody(nested(kMaxJsonDepth + 1));
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(deep.status().message(), "error parsing JSON: nesting deeper than 100 levels");
  // Very deep input is rejected before the recursive parser sees it.
  EXPECT_FALSE(ParseJsonBody(std::string(1000000, '[')).ok());
  // Brackets inside strings do not count.
  std::string in_string = "{\"a\":\"" + std::string(500, '[') + "\\\"" + "\"}";
  EXPECT_TRUE(ParseJsonBody(in_string).ok());
}

TEST(CodecTest, LargeIntegersKeepTheirValue) {
  auto r = ParseJsonBody("{\"n\":12345678901234567890,\"m\":-9007199254740993}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["n"].dump(), "12345678901234567890");
  EXPECT_EQ((*r)["m"].dump(), "-9007199254740993");
}

TEST(CodecTest, FormBodyDetection) {
  const std::string form = "application/x-www-form-urlencoded";
  EXPECT_TRUE(IsFormBody(form, "a=1"));
  EXPECT_TRUE(IsFormBody("Application/X-WWW-Form-Urlencoded; charset=utf-8", "a=1"));
  EXPECT_TRUE(IsFormBody(form, ""));
  EXPECT_FALSE(IsFormBody(form, "  {\"a\":1}"));
  EXPECT_FALSE(IsFormBody(form, "\n[1]"));
  EXPECT_FALSE(IsFormBody(std::nullopt, "a=1"));
  EXPECT_FALSE(IsFormBody("application/json", "a=1"));
}

TEST(CodecTest, FormBodyParsing) {
  EXPECT_TRUE(ParseFormBody("").value().is_null());
  EXPECT_EQ(*ParseFormBody("a=1&b=x+y&c=%2Fz&a=2&&d="),
            (Json{{"a", "1,2"}, {"b", "x y"}, {"c", "/z"}, {"d", ""}}));
  auto bad = ParseFormBody("a=%zz");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(ErrorResponse(bad.status()).status, 400);
  EXPECT_FALSE(ParseFormBody("a=1;b=2").ok());
}

TEST(CodecTest, PostFormBodyBecomesData) {
  HeaderList h = {{"content-type", "application/x-www-form-urlencoded"}};
  auto form = DecodeRequest(Req("POST", "/v1/secret/foo", "policies=a&policies=b", h));
  ASSERT_TRUE(form.ok());
  EXPECT_EQ(form->data, (Json{{"policies", "a,b"}}));
  auto json = DecodeRequest(Req("POST", "/v1/secret/foo", "{\"a\":\"b\"}", h));
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(json->data, (Json{{"a", "b"}}));
  auto no_type = DecodeRequest(Req("POST", "/v1/secret/foo", "a=b"));
  EXPECT_FALSE(no_type.ok());  // JSON by default
}

TEST(CodecTest, MediaTypeParsing) {
  EXPECT_EQ(*ParseMediaType("text/plain"), "text/plain");
  EXPECT_EQ(*ParseMediaType(" TEXT/Plain ; charset=x"), "text/plain");
  EXPECT_EQ(*ParseMediaType("text"), "text");
  EXPECT_EQ(ParseMediaType("").status().message(), "mime: no media type");
  EXPECT_EQ(ParseMediaType("text/").status().message(), "mime: expected token after slash");
  EXPECT_EQ(ParseMediaType("te(xt/plain").status().message(),
            "mime: expected slash after first token");
  EXPECT_EQ(ParseMediaType("text/plain x").status().message(),
            "mime: unexpected content after media subtype");
}

// --- headers -------------------------------------------------------------

TEST(CodecTest, TokenFromXVaultToken) {
  auto r = DecodeRequest(Req("GET", "/v1/sys/mounts", "",
                             {{"X-Vault-Token", "hvs.abc"}, {"Authorization", "Bearer other"}}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->client_token, "hvs.abc");
  EXPECT_EQ(r->headers.count("x-vault-token"), 0u);
  EXPECT_EQ(r->headers.count("authorization"), 0u);
}

TEST(CodecTest, TokenFromBearerAuthorization) {
  auto r = DecodeRequest(Req("GET", "/v1/sys/mounts", "", {{"authorization", "Bearer  hvs.t  "}}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->client_token, "hvs.t");
  auto basic = DecodeRequest(Req("GET", "/v1/sys/mounts", "", {{"Authorization", "Basic eA=="}}));
  ASSERT_TRUE(basic.ok());
  EXPECT_EQ(basic->client_token, "");
  EXPECT_EQ(basic->headers.count("authorization"), 0u);
  auto empty = DecodeRequest(
      Req("GET", "/v1/sys/mounts", "", {{"X-Vault-Token", ""}, {"Authorization", "Bearer b"}}));
  EXPECT_EQ(empty->client_token, "b");
}

TEST(CodecTest, HeadersAreLowercasedAndJoined) {
  auto r = DecodeRequest(Req("GET", "/v1/sys/mounts", "",
                             {{"X-Vault-Request", "true"},
                              {"X-Vault-Namespace", "ns1/"},
                              {"X-Custom", "a"},
                              {"x-custom", "b"}}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->headers.at("x-vault-request"), "true");
  EXPECT_EQ(r->headers.at("x-vault-namespace"), "ns1/");
  EXPECT_EQ(r->headers.at("x-custom"), "a, b");
}

TEST(CodecTest, WrapTtlHeader) {
  auto secs = DecodeRequest(Req("GET", "/v1/x", "", {{"X-Vault-Wrap-TTL", "300"}}));
  ASSERT_TRUE(secs.ok());
  EXPECT_EQ(secs->wrap_ttl, 300);
  auto dur = DecodeRequest(Req("GET", "/v1/x", "", {{"X-Vault-Wrap-TTL", "5m"}}));
  EXPECT_EQ(dur->wrap_ttl, 300);
  auto zero = DecodeRequest(Req("GET", "/v1/x", "", {{"X-Vault-Wrap-TTL", "0"}}));
  EXPECT_FALSE(zero->wrap_ttl.has_value());
  auto none = DecodeRequest(Req("GET", "/v1/x"));
  EXPECT_FALSE(none->wrap_ttl.has_value());

  auto bad = DecodeRequest(Req("GET", "/v1/x", "", {{"X-Vault-Wrap-TTL", "soon"}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(ErrorResponse(bad.status()).status, 400);
  EXPECT_EQ(bad.status().message().rfind("error parsing X-Vault-Wrap-TTL header: ", 0), 0u);
  auto neg = DecodeRequest(Req("GET", "/v1/x", "", {{"X-Vault-Wrap-TTL", "-5s"}}));
  ASSERT_FALSE(neg.ok());
  EXPECT_EQ(neg.status().message(),
            "error parsing X-Vault-Wrap-TTL header: requested wrap ttl cannot be negative");
}

TEST(CodecTest, FindHeaderIsCaseInsensitive) {
  HeaderList h = {{"Content-Type", "a"}, {"content-type", "b"}};
  EXPECT_EQ(FindHeader(h, "CONTENT-TYPE"), "a");
  EXPECT_FALSE(FindHeader(h, "x").has_value());
}

// --- responses -----------------------------------------------------------

RequestInfo Info(Operation op, std::string path = "secret/data/foo", bool head = false) {
  return RequestInfo{"11111111-2222-4333-8444-555555555555", op, std::move(path), head};
}

TEST(CodecTest, EnvelopeHasEveryKey) {
  logical::Response resp = logical::Response::WithData(Json{{"a", "b"}});
  HttpResponse r = EncodeResponse(Info(Operation::kRead), resp);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  ASSERT_FALSE(r.body.empty());
  EXPECT_EQ(r.body.back(), '\n');
  Json j = Body(r);
  EXPECT_EQ(j, (Json{{"request_id", "11111111-2222-4333-8444-555555555555"},
                     {"lease_id", ""},
                     {"renewable", false},
                     {"lease_duration", 0},
                     {"data", {{"a", "b"}}},
                     {"wrap_info", nullptr},
                     {"warnings", nullptr},
                     {"auth", nullptr}}));
}

// The envelope written straight from the response is byte for byte the
// dump of the envelope tree, whatever the response holds.
TEST(CodecTest, EnvelopeResponseIsTheEnvelopeTreeByteForByte) {
  std::vector<logical::Response> cases;
  cases.push_back(logical::Response::WithData(Json{{"a", "b"}}));
  logical::Response full = logical::Response::WithData(
      Json{{"data", {{"user", "alice"}, {"n", 3}, {"pi", 3.5}, {"bad", "\xff\xfe"}}},
           {"metadata", {{"version", 2}, {"custom_metadata", nullptr}}},
           {"quote\"key", "line\nbreak"}});
  full.lease_id = "secret/x/\"abc\"";
  full.renewable = true;
  full.lease_duration = 2764800;
  full.warnings = {"w1", "tab\there"};
  cases.push_back(full);
  logical::Response login;
  logical::Auth auth;
  auth.client_token = "hvs.x";
  auth.accessor = "acc";
  auth.policies = {"default", "p"};
  auth.token_policies = {"default", "p"};
  auth.metadata = {{"role", "r"}};
  auth.ttl = 3600;
  login.auth = auth;
  login.lease_duration = -1;
  cases.push_back(login);
  logical::Response no_object;
  no_object.warnings = {"only"};
  no_object.data = Json::array({1, 2});
  cases.push_back(no_object);
  for (const std::string& id :
       {std::string("11111111-2222-4333-8444-555555555555"), std::string("a\"b")}) {
    for (std::size_t i = 0; i < cases.size(); ++i) {
      HttpResponse tree = JsonResponse(201, Envelope(id, cases[i], /*inject_data=*/false));
      HttpResponse direct = EnvelopeResponse(201, id, cases[i]);
      EXPECT_EQ(direct.body, tree.body) << i;
      EXPECT_EQ(direct.status, 201);
      EXPECT_EQ(direct.content_type, tree.content_type);
    }
  }
}

TEST(CodecTest, EnvelopeLeaseAndWarnings) {
  logical::Response resp = logical::Response::WithData(Json{{"k", 1}});
  resp.lease_id = "secret/x/abc";
  resp.renewable = true;
  resp.lease_duration = 2764800;
  resp.warnings = {"w1", "w2"};
  Json j = Body(EncodeResponse(Info(Operation::kUpdate), resp));
  EXPECT_EQ(j["lease_id"], "secret/x/abc");
  EXPECT_EQ(j["renewable"], true);
  EXPECT_EQ(j["lease_duration"], 2764800);
  EXPECT_EQ(j["warnings"], (Json{"w1", "w2"}));
}

TEST(CodecTest, WarningsOnlyIs200) {
  logical::Response resp;
  resp.warnings = {"careful"};
  HttpResponse r = EncodeResponse(Info(Operation::kUpdate), resp);
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(Body(r)["data"].is_null());
}

TEST(CodecTest, AuthBlockShape) {
  logical::Response resp;
  logical::Auth a;
  a.client_token = "hvs.tok";
  a.accessor = "acc";
  a.policies = {"default", "dev"};
  a.token_policies = {"default", "dev"};
  a.lease_duration = 3600;
  a.renewable = true;
  a.entity_id = "";
  a.orphan = true;
  a.num_uses = 0;
  resp.auth = a;
  Json auth = Body(EncodeResponse(Info(Operation::kUpdate, "auth/jwt/login"), resp))["auth"];
  EXPECT_EQ(auth, (Json{{"client_token", "hvs.tok"},
                        {"accessor", "acc"},
                        {"policies", {"default", "dev"}},
                        {"token_policies", {"default", "dev"}},
                        {"metadata", nullptr},
                        {"lease_duration", 3600},
                        {"renewable", true},
                        {"entity_id", ""},
                        {"token_type", "service"},
                        {"orphan", true},
                        {"mfa_requirement", nullptr},
                        {"num_uses", 0}}));

  a.identity_policies = {"grp"};
  a.metadata = {{"role", "dev"}};
  resp.auth = a;
  auth = Body(EncodeResponse(Info(Operation::kUpdate), resp))["auth"];
  EXPECT_EQ(auth["identity_policies"], (Json{"grp"}));
  EXPECT_EQ(auth["metadata"], (Json{{"role", "dev"}}));
  a.token_policies.clear();
  resp.auth = a;
  auth = Body(EncodeResponse(Info(Operation::kUpdate), resp))["auth"];
  EXPECT_FALSE(auth.contains("token_policies"));
}

TEST(CodecTest, EmptyResponseIs204WithoutBody) {
  for (Operation op : {Operation::kUpdate, Operation::kDelete, Operation::kPatch}) {
    HttpResponse r = EncodeResponse(Info(op), logical::Response{});
    EXPECT_EQ(r.status, 204);
    EXPECT_EQ(r.body, "");
    EXPECT_EQ(r.content_type, "application/json");
  }
  logical::Response empty_object = logical::Response::WithData(Json::object());
  EXPECT_EQ(EncodeResponse(Info(Operation::kUpdate), empty_object).status, 204);
}

TEST(CodecTest, EmptyReadIs404) {
  HttpResponse r = EncodeResponse(Info(Operation::kRead), logical::Response{});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "{\"errors\":[]}\n");
}

TEST(CodecTest, ListNotFoundRules) {
  auto list = [](logical::Response resp) {
    return EncodeResponse(Info(Operation::kList, "secret/metadata/"), resp);
  };
  EXPECT_EQ(list(logical::Response{}).status, 404);
  EXPECT_EQ(list(logical::Response::WithData(Json{{"keys", Json::array()}})).status, 404);
  EXPECT_EQ(list(logical::Response::WithData(Json{{"keys", {"a", "b/"}}})).status, 200);
  EXPECT_EQ(list(logical::Response::WithData(Json{{"keys", nullptr}, {"x", 1}})).status, 200);
  EXPECT_EQ(list(logical::Response::WithData(Json{{"other", 1}})).status, 200);
  EXPECT_EQ(list(logical::Response::WithData(Json{{"keys", {1, 2}}})).status, 500);
  EXPECT_EQ(list(logical::Response::WithData(Json{{"keys", "a"}})).status, 500);
  logical::Response warned;
  warned.warnings = {"w"};
  EXPECT_EQ(list(warned).status, 200);
  logical::Response warned_empty_keys = logical::Response::WithData(Json{{"keys", Json::array()}});
  warned_empty_keys.warnings = {"w"};
  EXPECT_EQ(list(warned_empty_keys).status, 404);
}

TEST(CodecTest, HttpStatusWithEnvelope) {
  logical::Response resp =
      logical::Response::WithData(Json{{"data", nullptr}, {"metadata", {{"version", 2}}}});
  resp.http_status = 404;
  HttpResponse r = EncodeResponse(Info(Operation::kRead), resp);
  EXPECT_EQ(r.status, 404);
  Json j = Body(r);
  EXPECT_FALSE(j.contains("errors"));
  EXPECT_TRUE(j["data"]["data"].is_null());
  EXPECT_EQ(j["data"]["metadata"]["version"], 2);
}

TEST(CodecTest, RawBodyIsVerbatim) {
  logical::Response resp;
  resp.raw_body = "# HELP x\n";
  resp.content_type = "text/plain; version=0.0.4";
  HttpResponse r = EncodeResponse(Info(Operation::kRead, "sys/metrics"), resp);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "# HELP x\n");
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4");

  HttpResponse err = EncodeResponse(Info(Operation::kRead), logical::Response::Error(400, "bad"));
  EXPECT_EQ(err.status, 400);
  EXPECT_EQ(Body(err), (Json{{"errors", {"bad"}}}));
  EXPECT_EQ(err.content_type, "application/json");

  logical::Response empty_raw;
  empty_raw.raw_body = "";
  empty_raw.http_status = 404;
  HttpResponse e = EncodeResponse(Info(Operation::kList), empty_raw);
  EXPECT_EQ(e.status, 404);
  EXPECT_EQ(e.body, "");
}

TEST(CodecTest, SnapshotUploadsKeepTheRawBody) {
  const std::string snap("\x1f\x8b\x08\x00{not json\x00\xff", 15);
  for (const char* method : {"POST", "PUT"}) {
    for (const char* path : {"sys/storage/raft/snapshot", "sys/storage/raft/snapshot-force"}) {
      auto r = DecodeRequest(Req(method, std::string("/v1/") + path, snap,
                                 {{"Content-Type", "application/x-www-form-urlencoded"}}));
      ASSERT_TRUE(r.ok()) << method << " " << path << ": " << r.status().ToString();
      EXPECT_EQ(r->operation, Operation::kUpdate);
      EXPECT_EQ(r->path, path);
      EXPECT_EQ(r->raw_body, snap);
      EXPECT_TRUE(r->data.is_null());
    }
  }
  // An empty upload is passed on as such; core decides.
  auto empty = DecodeRequest(Req("POST", "/v1/sys/storage/raft/snapshot"));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->raw_body, "");
}

TEST(CodecTest, OtherPathsStillParseTheirBody) {
  for (const char* path :
       {"/v1/sys/storage/raft/snapshot/x", "/v1/sys/storage/raft/snapshot-auto/config",
        "/v1/secret/sys/storage/raft/snapshot"}) {
    auto r = DecodeRequest(Req("POST", path, "\x1f\x8b"));
    ASSERT_FALSE(r.ok()) << path;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << path;
  }
  auto json = DecodeRequest(Req("PUT", "/v1/sys/storage/raft/snapshot-auto/config", R"({"a":1})"));
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(json->raw_body, "");
  EXPECT_EQ(json->data, (Json{{"a", 1}}));
  // A GET of the snapshot carries no body either way.
  auto get = DecodeRequest(Req("GET", "/v1/sys/storage/raft/snapshot", "ignored"));
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->operation, Operation::kRead);
  EXPECT_EQ(get->raw_body, "");
}

TEST(CodecTest, BinarySnapshotResponseIsVerbatim) {
  logical::Response resp;
  resp.raw_body = std::string("\x00\x01\x02\xff", 4);
  resp.content_type = "application/octet-stream";
  HttpResponse r = EncodeResponse(Info(Operation::kRead, "sys/storage/raft/snapshot"), resp);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/octet-stream");
  EXPECT_EQ(r.body, std::string("\x00\x01\x02\xff", 4));
}

TEST(CodecTest, HeadDropsBody) {
  HttpResponse r = EncodeResponse(Info(Operation::kRead, "x", true),
                                  logical::Response::WithData(Json{{"a", 1}}));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.content_type, "application/json");
}

TEST(CodecTest, StatusBecomesErrorEnvelope) {
  HttpResponse r =
      EncodeResponse(Info(Operation::kRead), StatusOr<logical::Response>(PermissionDenied()));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body, "{\"errors\":[\"permission denied\"]}\n");
}

TEST(CodecTest, DataInjectedAtTopLevelForSysRoutes) {
  logical::Response resp =
      logical::Response::WithData(Json{{"keys", {"default", "root"}},
                                       {"policies", {"default", "root"}},
                                       {"data", "must not replace the envelope"}});
  Json j = Body(EncodeResponse(Info(Operation::kRead, "sys/policy"), resp));
  EXPECT_EQ(j["keys"], (Json{"default", "root"}));
  EXPECT_EQ(j["policies"], (Json{"default", "root"}));
  EXPECT_EQ(j["data"]["keys"], (Json{"default", "root"}));
  EXPECT_TRUE(j.contains("request_id"));

  Json plain = Body(EncodeResponse(Info(Operation::kRead, "secret/data/x"), resp));
  EXPECT_FALSE(plain.contains("keys"));
}

TEST(CodecTest, InjectionRouteList) {
  for (const char* p : {"sys/audit",
                        "sys/audit/file",
                        "sys/audit-hash/file",
                        "sys/auth",
                        "sys/auth/jwt",
                        "sys/auth/jwt/tune",
                        "sys/config/cors",
                        "sys/config/auditing/request-headers",
                        "sys/config/auditing/request-headers/x",
                        "sys/capabilities",
                        "sys/capabilities-accessor",
                        "sys/capabilities-self",
                        "sys/ha-status",
                        "sys/key-status",
                        "sys/mounts",
                        "sys/mounts/secret",
                        "sys/mounts/secret/tune",
                        "sys/policy",
                        "sys/policy/",
                        "sys/policy/dev",
                        "sys/rekey/backup",
                        "sys/rekey/recovery-key-backup",
                        "sys/remount",
                        "sys/rotate",
                        "sys/wrapping/wrap"}) {
    EXPECT_TRUE(InjectsDataAtTopLevel(p)) << p;
  }
  for (const char* p : {"sys/policies/acl", "sys/policies/acl/dev", "sys/audit-hash", "sys/mountsx",
                        "sys/health", "sys/wrapping/unwrap", "secret/sys/mounts", "sys/auditx",
                        "sys/capabilities-selfx", "auth/token/lookup-self"}) {
    EXPECT_FALSE(InjectsDataAtTopLevel(p)) << p;
  }
}

TEST(CodecTest, InvalidUtf8IsReplacedNotThrown) {
  logical::Response resp = logical::Response::WithData(Json{{"v", std::string("a\xff"
                                                                              "b")}});
  HttpResponse r = EncodeResponse(Info(Operation::kRead), resp);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("a\xEF\xBF\xBD"
                        "b"),
            std::string::npos);
}

}  // namespace
}  // namespace arca::http
