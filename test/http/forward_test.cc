// Standby request forwarding end to end: a real http::Server with a FakeApi
// plays the active node on loopback; the Handler of a "standby" FakeApi
// forwards to it (or redirects). Every wait on the network is bounded by a
// curl or socket timeout, never by sleeping.
#include "http/forward.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <filesystem>
#include <future>
#include <limits>
#include <memory>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <boost/asio.hpp>

#include "base/encoding.h"
#include "base/metrics.h"
#include "fake_api.h"
#include "http/handler.h"
#include "http/server.h"
#include "support/fake_clock.h"

namespace arca::http {
namespace {

namespace asio = boost::asio;
using logical::Operation;

constexpr char kClient[] = "10.1.2.3";

// A self-signed P-256 certificate for "localhost" in a temporary directory.
struct SelfSigned {
  std::filesystem::path dir;
  std::string cert_file, key_file;

  SelfSigned() {
    dir = std::filesystem::temp_directory_path() / ("arca-fwd-test-" + RandomHex(8));
    std::filesystem::create_directories(dir);
    cert_file = (dir / "cert.pem").string();
    key_file = (dir / "key.pem").string();
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
    std::unique_ptr<X509, decltype(&X509_free)> x509(X509_new(), X509_free);
    X509_set_version(x509.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x509.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(x509.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x509.get()), 86400);
    X509_set_pubkey(x509.get(), key.get());
    X509_NAME* name = X509_get_subject_name(x509.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(x509.get(), name);
    X509_sign(x509.get(), key.get(), EVP_sha256());
    std::unique_ptr<BIO, decltype(&BIO_free)> cert_bio(BIO_new_file(cert_file.c_str(), "w"),
                                                       BIO_free);
    PEM_write_bio_X509(cert_bio.get(), x509.get());
    std::unique_ptr<BIO, decltype(&BIO_free)> key_bio(BIO_new_file(key_file.c_str(), "w"),
                                                      BIO_free);
    PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  }
  ~SelfSigned() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

std::vector<std::string> Errors(const HttpResponse& r) {
  Json j = Json::parse(r.body, nullptr, false);
  std::vector<std::string> out;
  if (j.is_object() && j["errors"].is_array()) {
    for (const auto& e : j["errors"]) out.push_back(e.get<std::string>());
  }
  return out;
}

bool Has(const logical::Request& r, const std::string& header) {
  return r.headers.count(header) != 0;
}

class ForwardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = SecureBytes(32, 0x5a);
    active_.forwarding_key = key_;
    standby_.forwarding_key = key_;
    StartActive();
    UseHandler();
  }

  void TearDown() override {
    if (active_server_) active_server_->Stop();
  }

  static ServerOptions Options(metrics::Registry* registry, int io_threads = 2) {
    ServerOptions o;
    o.header_timeout = std::chrono::milliseconds(2000);
    o.idle_timeout = std::chrono::milliseconds(2000);
    o.request_timeout = std::chrono::milliseconds(3000);
    o.shutdown_grace = std::chrono::milliseconds(2000);
    o.io_threads = io_threads;
    o.worker_threads = 2;
    o.registry = registry;
    return o;
  }

  void StartActive(const SelfSigned* tls = nullptr) {
    if (active_server_) active_server_->Stop();
    ListenerConfig c;
    c.address = "127.0.0.1:0";
    c.tls_disable = tls == nullptr;
    if (tls != nullptr) {
      c.tls_cert_file = tls->cert_file;
      c.tls_key_file = tls->key_file;
    }
    active_registry_ = std::make_unique<metrics::Registry>();
    active_server_ = std::make_unique<Server>(active_, Options(active_registry_.get()));
    Status s = active_server_->Start({c});
    ASSERT_TRUE(s.ok()) << s.ToString();
    uint16_t port = active_server_->Ports().at(0);
    active_addr_ = tls != nullptr ? "https://localhost:" + std::to_string(port)
                                  : "http://127.0.0.1:" + std::to_string(port);
    standby_.standby_info = {true, active_addr_};
  }

  void UseHandler(HandlerOptions options = {}) {
    if (options.forwarding.timeout == ForwarderOptions{}.timeout) {
      options.forwarding.timeout = std::chrono::milliseconds(3000);
    }
    handler_.reset();
    standby_registry_ = std::make_unique<metrics::Registry>();
    handler_ = std::make_unique<Handler>(standby_, clock_, *standby_registry_, options);
  }

  static HttpRequest Request(std::string method, std::string target, std::string body = "",
                             HeaderList headers = {}) {
    HttpRequest r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.body = std::move(body);
    r.headers = std::move(headers);
    r.remote_address = kClient;
    r.remote_port = 4242;
    return r;
  }

  HttpResponse Call(std::string method, std::string target, std::string body = "",
                    HeaderList headers = {}) {
    return handler_->Handle(
        Request(std::move(method), std::move(target), std::move(body), std::move(headers)));
  }

  // A loopback port with nothing listening on it.
  static uint16_t ClosedPort() {
    asio::io_context ioc;
    asio::ip::tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
  }

  SecureBytes key_;
  testing::FakeApi active_;
  testing::FakeApi standby_;
  arca::testing::FakeClock clock_;
  std::unique_ptr<metrics::Registry> active_registry_, standby_registry_;
  std::unique_ptr<Server> active_server_;
  std::unique_ptr<Handler> handler_;
  std::string active_addr_;
};

TEST_F(ForwardTest, WriteReachesTheActiveWithItsBodyTokenAndHeaders) {
  HttpResponse r = Call("PUT", "/v1/secret/data/a", R"({"data":{"k":"v"}})",
                        {{"X-Vault-Token", "hvs.t"},
                         {"Content-Type", "application/json"},
                         {"X-Custom", "kept"},
                         {"X-Empty", ""}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(Json::parse(r.body)["data"]["path"], "secret/data/a");
  ASSERT_EQ(active_.RequestCount(), 1u);
  EXPECT_EQ(standby_.RequestCount(), 0u);
  logical::Request got = active_.LastRequest();
  EXPECT_EQ(got.operation, Operation::kUpdate);
  EXPECT_EQ(got.path, "secret/data/a");
  EXPECT_EQ(got.data, (Json{{"data", {{"k", "v"}}}}));
  EXPECT_EQ(got.client_token, "hvs.t");
  EXPECT_EQ(got.headers["x-custom"], "kept");
  EXPECT_TRUE(Has(got, "x-empty"));
  EXPECT_EQ(got.headers["content-type"], "application/json");
  EXPECT_EQ(got.remote_address, kClient);  // signed over this token and body
}

TEST_F(ForwardTest, SignatureCoversTheTokenTheActiveReads) {
  // Authorization alone, or behind an empty X-Vault-Token: the active reads
  // the bearer token and the signature binds the same header.
  Call("PUT", "/v1/secret/data/a", R"({"a":1})", {{"Authorization", "Bearer hvs.b"}});
  EXPECT_EQ(active_.LastRequest().client_token, "hvs.b");
  EXPECT_EQ(active_.LastRequest().remote_address, kClient);
  Call("PUT", "/v1/secret/data/a", R"({"a":2})",
       {{"X-Vault-Token", ""}, {"Authorization", "Bearer hvs.c"}});
  EXPECT_EQ(active_.LastRequest().client_token, "hvs.c");
  EXPECT_EQ(active_.LastRequest().remote_address, kClient);
  Call("DELETE", "/v1/secret/data/a", "",
       {{"X-Vault-Token", "hvs.first"}, {"Authorization", "Bearer hvs.second"}});
  EXPECT_EQ(active_.LastRequest().client_token, "hvs.first");
  EXPECT_EQ(active_.LastRequest().remote_address, kClient);
  // HEAD is forwarded without a body, so it is signed without one.
  Call("HEAD", "/v1/secret/data/a", "ignored", {{"X-Vault-Token", "hvs.t"}});
  EXPECT_EQ(active_.LastRequest().remote_address, kClient);
  EXPECT_EQ(active_.RequestCount(), 4u);
}

TEST_F(ForwardTest, QueryAndRawTargetAreKept) {
  Call("GET", "/v1/secret/data/a%20b?version=2&x=%2F");
  logical::Request got = active_.LastRequest();
  EXPECT_EQ(got.operation, Operation::kRead);
  EXPECT_EQ(got.path, "secret/data/a b");
  EXPECT_EQ(got.data, (Json{{"version", "2"}, {"x", "/"}}));
}

TEST_F(ForwardTest, ListPatchDeleteAndHeadKeepTheirMethod) {
  Call("LIST", "/v1/secret/metadata/");
  EXPECT_EQ(active_.LastRequest().operation, Operation::kList);
  EXPECT_EQ(active_.LastRequest().path, "secret/metadata/");

  Call("PATCH", "/v1/secret/data/a", R"({"data":{"k":"w"}})",
       {{"Content-Type", "application/merge-patch+json"}});
  EXPECT_EQ(active_.LastRequest().operation, Operation::kPatch);
  EXPECT_EQ(active_.LastRequest().data, (Json{{"data", {{"k", "w"}}}}));

  active_.handle = [](logical::Request&) { return logical::Response{}; };
  HttpResponse del = Call("DELETE", "/v1/secret/data/a");
  EXPECT_EQ(active_.LastRequest().operation, Operation::kDelete);
  EXPECT_EQ(del.status, 204);
  EXPECT_EQ(del.body, "");

  active_.handle = nullptr;
  HttpResponse head = Call("HEAD", "/v1/secret/data/a");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(active_.RequestCount(), 4u);
}

TEST_F(ForwardTest, HopByHopHeadersAreDropped) {
  Call("POST", "/v1/secret/data/a", R"({"a":1})",
       {{"Connection", "keep-alive, X-Hop"},
        {"X-Hop", "1"},
        {"Keep-Alive", "timeout=5"},
        {"Proxy-Authorization", "Basic eDp5"},
        {"TE", "trailers"},
        {"Upgrade", "h2c"},
        {"Host", "standby.example:8200"},
        {"Expect", "100-continue"},
        {"Content-Length", "7"},
        {"X-End-To-End", "yes"}});
  logical::Request got = active_.LastRequest();
  for (const char* h : {"x-hop", "keep-alive", "proxy-authorization", "te", "upgrade", "expect",
                        "connection", "accept"}) {
    EXPECT_FALSE(Has(got, h)) << h;
  }
  EXPECT_EQ(got.headers["host"], active_addr_.substr(std::string("http://").size()));
  EXPECT_EQ(got.headers["content-length"], "7");
  EXPECT_EQ(got.headers["x-end-to-end"], "yes");
  EXPECT_FALSE(Has(got, "content-type"));  // none sent, none added
  EXPECT_EQ(got.data, (Json{{"a", 1}}));
}

TEST_F(ForwardTest, ClientAddressIsAppendedAndAuthenticated) {
  Call("GET", "/v1/secret/data/a", "", {{"X-Forwarded-For", "192.0.2.1"}});
  logical::Request got = active_.LastRequest();
  EXPECT_EQ(got.headers["x-forwarded-for"], "192.0.2.1, 10.1.2.3");
  EXPECT_EQ(got.remote_address, kClient);  // the signed address, not the standby's
  EXPECT_EQ(got.remote_port, 0);
  EXPECT_FALSE(Has(got, "x-arca-forwarded-for"));
  EXPECT_FALSE(Has(got, "x-arca-forward-auth"));
}

TEST_F(ForwardTest, WithoutAKeyOnlyXForwardedForIsSent) {
  standby_.forwarding_key.reset();
  Call("GET", "/v1/secret/data/a");
  logical::Request got = active_.LastRequest();
  EXPECT_EQ(got.headers["x-forwarded-for"], kClient);
  EXPECT_EQ(got.remote_address, "127.0.0.1");
}

TEST_F(ForwardTest, ForgedHeadersSentToTheStandbyAreReplaced) {
  Call("GET", "/v1/secret/data/a", "",
       {{"X-Arca-Forwarded-For", "6.6.6.6"}, {"X-Arca-Forward-Auth", std::string(64, '0')}});
  logical::Request got = active_.LastRequest();
  EXPECT_EQ(got.remote_address, kClient);
  EXPECT_EQ(active_.RequestCount(), 1u);
}

TEST_F(ForwardTest, ReceivingNodeTrustsOnlyAValidSignature) {
  // The active's own handler, called directly with chosen headers.
  metrics::Registry registry;
  Handler active_handler(active_, clock_, registry);
  const std::string target = "/v1/secret/data/a";
  auto remote_after = [&](std::string method, HeaderList headers, std::string body = "{}") {
    active_handler.Handle(Request(std::move(method), target, std::move(body), std::move(headers)));
    logical::Request got = active_.LastRequest();
    EXPECT_FALSE(Has(got, "x-arca-forwarded-for"));
    EXPECT_FALSE(Has(got, "x-arca-forward-auth"));
    return got.remote_address;
  };
  const int64_t now = clock_.UnixNow();
  const std::string good = ForwardAuth(key_, {"6.6.6.6", "PUT", target, "hvs.t", "{}"}, now);
  auto signed_headers = [&](std::string addr, std::string auth, std::string token = "hvs.t") {
    return HeaderList{{"X-Vault-Token", std::move(token)},
                      {"X-Arca-Forwarded-For", std::move(addr)},
                      {"X-Arca-Forward-Auth", std::move(auth)}};
  };
  EXPECT_EQ(remote_after("PUT", signed_headers("6.6.6.6", good)), "6.6.6.6");
  EXPECT_EQ(active_.LastRequest().remote_port, 0);
  // The pair replayed with another method, address, token or body.
  EXPECT_EQ(remote_after("POST", signed_headers("6.6.6.6", good)), kClient);
  EXPECT_EQ(remote_after("PUT", signed_headers("6.6.6.7", good)), kClient);
  EXPECT_EQ(remote_after("PUT", signed_headers("6.6.6.6", good, "hvs.other")), kClient);
  EXPECT_EQ(remote_after("PUT", signed_headers("6.6.6.6", good), R"({"x":1})"), kClient);
  // Only one of the two headers.
  EXPECT_EQ(remote_after("PUT", {{"X-Vault-Token", "hvs.t"}, {"X-Arca-Forwarded-For", "6.6.6.6"}}),
            kClient);
  EXPECT_EQ(remote_after("PUT", {{"X-Vault-Token", "hvs.t"}, {"x-arca-forward-auth", good}}),
            kClient);
  // The first format (a bare MAC over address, method and target).
  std::string k(reinterpret_cast<const char*>(key_.data()), key_.size());
  const std::string v1 = HexEncode(HmacSha256(k, "6.6.6.6\nPUT\n" + target));
  EXPECT_EQ(remote_after("PUT", signed_headers("6.6.6.6", v1)), kClient);
  // Signed with another key.
  SecureBytes other(32, 0x01);
  const std::string by_other = ForwardAuth(other, {"6.6.6.6", "PUT", target, "hvs.t", "{}"}, now);
  EXPECT_EQ(remote_after("PUT", signed_headers("6.6.6.6", by_other)), kClient);
  // Too old by the time it arrives.
  clock_.Advance(kForwardAuthMaxSkew + std::chrono::seconds(1));
  EXPECT_EQ(remote_after("PUT", signed_headers("6.6.6.6", good)), kClient);
  // A node without the key trusts nothing.
  const std::string fresh =
      ForwardAuth(key_, {"6.6.6.6", "PUT", target, "hvs.t", "{}"}, clock_.UnixNow());
  EXPECT_EQ(remote_after("PUT", signed_headers("6.6.6.6", fresh)), "6.6.6.6");
  active_.forwarding_key.reset();
  EXPECT_EQ(remote_after("PUT", signed_headers("6.6.6.6", fresh)), kClient);
}

TEST_F(ForwardTest, ResponseStatusTypeAndBinaryBodyPassThrough) {
  const std::string binary("\x00\x01\xff snapshot \r\n\x00", 15);
  active_.handle = [&](logical::Request&) -> StatusOr<logical::Response> {
    logical::Response r;
    r.raw_body = binary;
    r.content_type = "application/octet-stream";
    r.http_status = 202;
    return r;
  };
  HttpResponse r = Call("GET", "/v1/sys/raw-thing");
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.content_type, "application/octet-stream");
  EXPECT_EQ(r.body, binary);
  EXPECT_EQ(FindHeader(r.headers, "Cache-Control"), "no-store");
  EXPECT_FALSE(FindHeader(r.headers, "Content-Length"));
  EXPECT_FALSE(FindHeader(r.headers, "Connection"));

  active_.handle = [](logical::Request&) -> StatusOr<logical::Response> {
    return PermissionDenied();
  };
  HttpResponse denied = Call("GET", "/v1/secret/data/a");
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(Errors(denied), std::vector<std::string>{"permission denied"});
}

TEST_F(ForwardTest, RawSysEndpointsAreAnsweredLocally) {
  for (const char* t : {"/v1/sys/health", "/v1/sys/seal-status", "/v1/sys/leader"}) {
    HttpResponse r = Call("GET", t);
    EXPECT_EQ(r.status, 200) << t;
  }
  EXPECT_EQ(active_.RequestCount(), 0u);
}

TEST_F(ForwardTest, RedirectModeAnswers307WithTheTarget) {
  HandlerOptions o;
  o.standby_redirect = true;
  UseHandler(o);
  HttpResponse r = Call("PUT", "/v1/secret/data/a?version=2", R"({"data":{}})");
  EXPECT_EQ(r.status, 307);
  EXPECT_EQ(FindHeader(r.headers, "Location"), active_addr_ + "/v1/secret/data/a?version=2");
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.content_type, "");
  EXPECT_EQ(active_.RequestCount(), 0u);
}

TEST_F(ForwardTest, RedirectUsesTheOriginOfTheLeaderAddress) {
  standby_.standby_info.leader_api_addr = "active.example:8200/ignored";
  HttpResponse r = Call("GET", "/v1/secret/data/a", "", {{"X-Vault-No-Request-Forwarding", "1"}});
  EXPECT_EQ(r.status, 307);
  EXPECT_EQ(FindHeader(r.headers, "Location"), "https://active.example:8200/v1/secret/data/a");
}

TEST_F(ForwardTest, SnapshotPathsAreAlwaysRedirected) {
  EXPECT_EQ(Call("GET", "/v1/sys/storage/raft/snapshot").status, 307);
  HttpResponse r = Call("POST", "/v1/sys/storage/raft/snapshot-force", std::string("\x1f\x8b", 2));
  EXPECT_EQ(r.status, 307);
  EXPECT_EQ(FindHeader(r.headers, "Location"),
            active_addr_ + "/v1/sys/storage/raft/snapshot-force");
  EXPECT_EQ(active_.RequestCount(), 0u);
}

TEST_F(ForwardTest, NoActiveNodeIsVaultsError) {
  standby_.standby_info.leader_api_addr.clear();
  HttpResponse r = Call("GET", "/v1/secret/data/a");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(Errors(r), std::vector<std::string>{std::string(kNoActiveNodeMessage)});

  HandlerOptions o;
  o.standby_redirect = true;
  UseHandler(o);
  HttpResponse redirect = Call("GET", "/v1/secret/data/a");
  EXPECT_EQ(redirect.status, 503);
  EXPECT_EQ(Errors(redirect), std::vector<std::string>{std::string(kNoActiveInstanceMessage)});
}

TEST_F(ForwardTest, UnreachableActiveFallsBackToA307) {
  std::string down = "http://127.0.0.1:" + std::to_string(ClosedPort());
  standby_.standby_info.leader_api_addr = down;
  HttpResponse r = Call("PUT", "/v1/secret/data/a", "{}");
  EXPECT_EQ(r.status, 307);
  EXPECT_EQ(FindHeader(r.headers, "Location"), down + "/v1/secret/data/a");
}

TEST_F(ForwardTest, ActiveThatNeverAnswersIs500) {
  // Accepted by the kernel (backlog), read by nobody: the request is sent,
  // no response comes, and the exchange times out.
  asio::io_context ioc;
  asio::ip::tcp::acceptor silent(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  standby_.standby_info.leader_api_addr =
      "http://127.0.0.1:" + std::to_string(silent.local_endpoint().port());
  HandlerOptions o;
  o.forwarding.timeout = std::chrono::milliseconds(300);
  UseHandler(o);
  HttpResponse r = Call("PUT", "/v1/secret/data/a", "{}");
  EXPECT_EQ(r.status, 500);
  ASSERT_EQ(Errors(r).size(), 1u);
  EXPECT_EQ(Errors(r)[0].rfind("error forwarding request: ", 0), 0u) << Errors(r)[0];
}

TEST_F(ForwardTest, OversizedResponseIs500) {
  active_.handle = [](logical::Request&) {
    return logical::Response::WithData(Json{{"big", std::string(4096, 'x')}});
  };
  HandlerOptions o;
  o.forwarding.max_response_bytes = 1024;
  UseHandler(o);
  HttpResponse r = Call("GET", "/v1/secret/data/a");
  EXPECT_EQ(r.status, 500);
  ASSERT_EQ(Errors(r).size(), 1u);
  EXPECT_NE(Errors(r)[0].find("larger than 1024 bytes"), std::string::npos) << Errors(r)[0];
}

TEST_F(ForwardTest, ForwardedRequestIsNeverForwardedAgain) {
  HttpResponse r = Call(
      "GET", "/v1/secret/data/a", "",
      {{"X-Arca-Forwarded-For", "192.0.2.9"},
       {"X-Arca-Forward-Auth",
        ForwardAuth(key_, {"192.0.2.9", "GET", "/v1/secret/data/a", "", ""}, clock_.UnixNow())}});
  EXPECT_EQ(r.status, 307);
  EXPECT_EQ(active_.RequestCount(), 0u);
}

TEST_F(ForwardTest, ConnectionHandlesAreReused) {
  Forwarder f;
  for (int i = 0; i < 3; ++i) {
    StatusOr<HttpResponse> r = f.Forward(active_addr_, Request("GET", "/v1/secret/data/a"), key_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(f.IdleHandlesForTest(), 1u);
  EXPECT_EQ(active_.RequestCount(), 3u);
}

TEST_F(ForwardTest, TlsActiveIsVerifiedWithTheCaFile) {
  SelfSigned cert, stranger;
  StartActive(&cert);
  ForwarderOptions trusted;
  trusted.ca_file = cert.cert_file;
  Forwarder good(trusted);
  StatusOr<HttpResponse> r = good.Forward(active_addr_, Request("GET", "/v1/secret/data/a"), key_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(active_.LastRequest().remote_address, kClient);

  ForwarderOptions wrong;
  wrong.ca_file = stranger.cert_file;
  Forwarder bad(wrong);
  StatusOr<HttpResponse> refused =
      bad.Forward(active_addr_, Request("GET", "/v1/secret/data/a"), key_);
  EXPECT_EQ(refused.status().code(), Code::kUnavailable);
  EXPECT_EQ(active_.RequestCount(), 1u);
}

TEST_F(ForwardTest, StandbyServerForwardsReadsOnTheWorkerPool) {
  // With one I/O thread, a GET forwarded inline would block the only I/O
  // thread; on the worker pool a second connection is still served.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> entered;
  active_.handle = [&](logical::Request& req) -> StatusOr<logical::Response> {
    if (req.path == "secret/data/slow") {
      entered.set_value();
      released.wait_for(std::chrono::seconds(5));
    }
    return logical::Response::WithData(Json{{"path", req.path}});
  };
  metrics::Registry registry;
  Server standby_server(standby_, Options(&registry, /*io_threads=*/1));
  ListenerConfig c;
  c.address = "127.0.0.1:0";
  c.tls_disable = true;
  ASSERT_TRUE(standby_server.Start({c}).ok());
  std::string standby_addr = "http://127.0.0.1:" + std::to_string(standby_server.Ports().at(0));

  ForwarderOptions client_options;
  client_options.timeout = std::chrono::seconds(10);
  Forwarder client(client_options);
  auto slow = std::async(std::launch::async, [&] {
    return client.Forward(standby_addr, Request("GET", "/v1/secret/data/slow"), std::nullopt);
  });
  ASSERT_EQ(entered.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  StatusOr<HttpResponse> fast =
      client.Forward(standby_addr, Request("GET", "/v1/secret/data/fast"), std::nullopt);
  release.set_value();
  ASSERT_TRUE(fast.ok()) << fast.status().ToString();
  EXPECT_EQ(Json::parse(fast->body)["data"]["path"], "secret/data/fast");
  StatusOr<HttpResponse> slow_result = slow.get();
  ASSERT_TRUE(slow_result.ok()) << slow_result.status().ToString();
  EXPECT_EQ(slow_result->status, 200);
  standby_server.Stop();
}

class ForwardAuthTest : public ::testing::Test {
 protected:
  static constexpr int64_t kNow = 1704067200;
  SecureBytes key_ = SecureBytes(32, 0x11);
  ForwardAuthInput in_{"10.0.0.1", "PUT", "/v1/a?b=c", "hvs.token", R"({"k":"v"})"};
  std::string mac_ = MacPart(ForwardAuth(key_, in_, kNow));

  static std::string MacPart(const std::string& value) {
    return value.substr(value.rfind(':') + 1);
  }
  bool Verify(std::string_view auth, int64_t now = kNow) const {
    return VerifyForwardAuth(key_, in_, auth, now);
  }
};

TEST_F(ForwardAuthTest, IsVersionTimeAndHmacOfTheWholeRequest) {
  std::string k(reinterpret_cast<const char*>(key_.data()), key_.size());
  std::string expected =
      "v2:1704067200:" +
      HexEncode(HmacSha256(k, "v2\n1704067200\n10.0.0.1\nPUT\n/v1/a?b=c\n" +
                                  Sha256Hex("hvs.token") + "\n" + Sha256Hex(R"({"k":"v"})")));
  EXPECT_EQ(ForwardAuth(key_, in_, kNow), expected);
  EXPECT_EQ(mac_.size(), 64u);
  EXPECT_TRUE(Verify(expected));
  // No token and no body hash the empty string.
  ForwardAuthInput bare{"10.0.0.1", "GET", "/v1/a", "", ""};
  EXPECT_EQ(ForwardAuth(key_, bare, kNow),
            "v2:1704067200:" + HexEncode(HmacSha256(k, "v2\n1704067200\n10.0.0.1\nGET\n/v1/a\n" +
                                                           Sha256Hex("") + "\n" + Sha256Hex(""))));
}

TEST_F(ForwardAuthTest, ChangingAnyBoundPartBreaksIt) {
  const std::string good = ForwardAuth(key_, in_, kNow);
  auto verifies_with = [&](ForwardAuthInput changed) {
    return VerifyForwardAuth(key_, changed, good, kNow);
  };
  EXPECT_TRUE(verifies_with(in_));
  ForwardAuthInput c = in_;
  c.client_addr = "10.0.0.2";
  EXPECT_FALSE(verifies_with(c));
  c = in_;
  c.method = "POST";
  EXPECT_FALSE(verifies_with(c));
  c = in_;
  c.target = "/v1/a?b=d";
  EXPECT_FALSE(verifies_with(c));
  c = in_;
  c.token = "hvs.other";
  EXPECT_FALSE(verifies_with(c));
  c = in_;
  c.token = "";
  EXPECT_FALSE(verifies_with(c));
  c = in_;
  c.body = R"({"k":"w"})";
  EXPECT_FALSE(verifies_with(c));
  c = in_;
  c.body = "";
  EXPECT_FALSE(verifies_with(c));
  // The same MAC under another timestamp, even one inside the window.
  EXPECT_FALSE(Verify("v2:1704067201:" + mac_));
  EXPECT_FALSE(Verify("v2:1704067199:" + mac_));
  // Another key; an empty key never verifies, even its own value.
  EXPECT_FALSE(VerifyForwardAuth(SecureBytes(32, 0x12), in_, good, kNow));
  EXPECT_FALSE(VerifyForwardAuth(SecureBytes(), in_, ForwardAuth(SecureBytes(), in_, kNow), kNow));
  // Field boundaries are fixed: moving bytes between fields changes the MAC.
  ForwardAuthInput shifted{"10.0.0.1\nPUT", "", "/v1/a?b=c", "hvs.token", R"({"k":"v"})"};
  EXPECT_FALSE(VerifyForwardAuth(key_, shifted, good, kNow));
}

TEST_F(ForwardAuthTest, TimestampMustBeWithinTheSkew) {
  ASSERT_EQ(kForwardAuthMaxSkew, std::chrono::seconds(60));
  EXPECT_TRUE(Verify(ForwardAuth(key_, in_, kNow - 59)));
  EXPECT_TRUE(Verify(ForwardAuth(key_, in_, kNow + 59)));
  EXPECT_TRUE(Verify(ForwardAuth(key_, in_, kNow - 60)));
  EXPECT_TRUE(Verify(ForwardAuth(key_, in_, kNow + 60)));
  EXPECT_FALSE(Verify(ForwardAuth(key_, in_, kNow - 61)));
  EXPECT_FALSE(Verify(ForwardAuth(key_, in_, kNow + 61)));
  EXPECT_FALSE(Verify(ForwardAuth(key_, in_, 0)));
  // Extreme clocks and timestamps: no overflow, no crash.
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  const std::string at_max = ForwardAuth(key_, in_, kMax);
  EXPECT_TRUE(Verify(at_max, kMax));
  EXPECT_TRUE(Verify(at_max, kMax - 60));
  EXPECT_FALSE(Verify(at_max, kMax - 61));
  EXPECT_FALSE(Verify(at_max, kNow));
  EXPECT_FALSE(Verify(at_max, kMin));
  EXPECT_FALSE(Verify(at_max, -1));
  EXPECT_FALSE(Verify(ForwardAuth(key_, in_, 0), kMin));
  EXPECT_TRUE(Verify(ForwardAuth(key_, in_, 0), -60));
}

TEST_F(ForwardAuthTest, MalformedValuesAreRefused) {
  const std::string good = ForwardAuth(key_, in_, kNow);
  ASSERT_TRUE(Verify(good));
  const std::string bad[] = {
      "",
      "v2",
      "v2:",
      "v2::",
      "v2:1704067200",
      "v2:1704067200:",
      "v2::" + mac_,
      "v2:" + mac_,
      "v2:abc:" + mac_,
      "v2:1704067200x:" + mac_,
      "v2:0x6592:" + mac_,
      "v2:-1704067200:" + mac_,
      "v2:+1704067200:" + mac_,
      "v2: 1704067200:" + mac_,
      "v2:01704067200:" + mac_,  // not the canonical rendering that was signed
      "v2:1704067200.0:" + mac_,
      "v2:99999999999999999999:" + mac_,
      "v2:9223372036854775808:" + mac_,
      "v2:" + std::string(5000, '9') + ":" + mac_,
      "v2:1704067200:" + mac_.substr(1),
      "v2:1704067200:" + mac_ + "0",
      "v2:1704067200:" + mac_ + ":",
      "v2:1704067200:" + std::string(64, '0'),
      "v2:1704067200:" + HexEncode(std::string(32, '\0')),
      "v1:1704067200:" + mac_,
      "V2:1704067200:" + mac_,
      "v3:1704067200:" + mac_,
      ":1704067200:" + mac_,
      "1704067200:" + mac_,
      mac_,  // the first format
      " " + good,
      good + " ",
      good + "\n",
      std::string("v2:1704067200:\0", 15) + mac_,
      std::string(1 << 20, 'v'),
  };
  for (const std::string& v : bad) {
    EXPECT_FALSE(Verify(v)) << v.substr(0, 100);
  }
  std::string upper = good;
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  EXPECT_FALSE(Verify(upper));
}

TEST_F(ForwardAuthTest, TokenIsWhatTheCodecReads) {
  EXPECT_EQ(ForwardAuthToken({}), "");
  EXPECT_EQ(ForwardAuthToken({{"X-Other", "x"}}), "");
  EXPECT_EQ(ForwardAuthToken({{"x-vault-token", "hvs.a"}, {"Authorization", "Bearer hvs.b"}}),
            "hvs.a");
  EXPECT_EQ(ForwardAuthToken({{"Authorization", "Bearer hvs.b"}}), "Bearer hvs.b");
  EXPECT_EQ(ForwardAuthToken({{"AUTHORIZATION", "Basic eDp5"}}), "Basic eDp5");
  EXPECT_EQ(ForwardAuthToken({{"X-Vault-Token", ""}, {"Authorization", "Bearer hvs.b"}}),
            "Bearer hvs.b");
  EXPECT_EQ(ForwardAuthToken({{"X-Vault-Token", ""}, {"X-Vault-Token", "hvs.second"}}), "");
  EXPECT_EQ(ForwardAuthToken({{"X-Vault-Token", "hvs.1"}, {"X-Vault-Token", "hvs.2"}}), "hvs.1");
  EXPECT_EQ(ForwardAuthToken({{"Authorization", "Bearer 1"}, {"Authorization", "Bearer 2"}}),
            "Bearer 1");
}

TEST(ForwardHeadersTest, HopByHopNames) {
  for (const char* h :
       {"connection", "Keep-Alive", "TE", "Trailer", "transfer-encoding", "Upgrade", "HOST",
        "Expect", "Content-Length", "Proxy-Authorization", "proxy-connection"}) {
    EXPECT_TRUE(IsHopByHopHeader(h)) << h;
  }
  for (const char* h :
       {"X-Vault-Token", "Content-Type", "Authorization", "X-Forwarded-For", "Proxy"}) {
    EXPECT_FALSE(IsHopByHopHeader(h)) << h;
  }
}

TEST(ForwardHeadersTest, ApiAddrOrigin) {
  EXPECT_EQ(*ApiAddrOrigin("https://10.0.0.1:8200"), "https://10.0.0.1:8200");
  EXPECT_EQ(*ApiAddrOrigin("http://node1:8200/some/path?q"), "http://node1:8200");
  EXPECT_EQ(*ApiAddrOrigin("node1:8200"), "https://node1:8200");
  EXPECT_EQ(*ApiAddrOrigin("HTTPS://[::1]:8200"), "https://[::1]:8200");
  EXPECT_EQ(ApiAddrOrigin("").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ApiAddrOrigin("https://").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ApiAddrOrigin("ftp://node1").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ApiAddrOrigin("https://user@node1").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ApiAddrOrigin("https://no de").status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace arca::http
