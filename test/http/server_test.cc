// http::Server over real loopback sockets, with a FakeApi behind it. Timeouts
// are configured short; the client side waits on sockets with its own
// (longer) deadline, never by sleeping.
#include "http/server.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <thread>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base/encoding.h"
#include "base/metrics.h"
#include "fake_api.h"
#include "http/codec.h"

namespace arca::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Response = bhttp::response<bhttp::string_body>;

constexpr std::chrono::seconds kClientDeadline{5};

// Drives one client operation on a private io_context until it completes.
template <class Stream>
class BasicClient {
 public:
  Stream& stream() { return *stream_; }

  void Write(std::string_view data) {
    beast::error_code result;
    beast::get_lowest_layer(*stream_).expires_after(kClientDeadline);
    asio::async_write(*stream_, asio::buffer(data),
                      [&](beast::error_code ec, std::size_t) { result = ec; });
    Run();
    ASSERT_FALSE(result) << result.message();
  }

  // Reads one response (headers only for HEAD).
  beast::error_code Read(Response& out, bool head = false) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 << 20);
    if (head) parser.skip(true);
    beast::error_code result;
    beast::get_lowest_layer(*stream_).expires_after(kClientDeadline);
    bhttp::async_read(*stream_, buffer_, parser,
                      [&](beast::error_code ec, std::size_t) { result = ec; });
    Run();
    out = parser.release();
    return result;
  }

  Response Roundtrip(std::string_view request, bool head = false) {
    Write(request);
    Response res;
    beast::error_code ec = Read(res, head);
    EXPECT_FALSE(ec) << ec.message();
    return res;
  }

  // The error of the next read: eof (or a reset) when the server closed the
  // connection, timeout when it kept it open past the client deadline.
  beast::error_code NextReadError() {
    if (buffer_.size() > 0) return {};
    beast::error_code result;
    beast::get_lowest_layer(*stream_).expires_after(kClientDeadline);
    stream_->async_read_some(buffer_.prepare(4096), [&](beast::error_code ec, std::size_t n) {
      result = ec;
      buffer_.commit(n);
    });
    Run();
    return result;
  }

 protected:
  void Run() {
    ioc_.restart();
    ioc_.run();
  }

  asio::io_context ioc_;
  std::unique_ptr<Stream> stream_;
  beast::flat_buffer buffer_;
};

class Client : public BasicClient<beast::tcp_stream> {
 public:
  explicit Client(uint16_t port) {
    stream_ = std::make_unique<beast::tcp_stream>(ioc_);
    stream_->connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
};

class TlsClient : public BasicClient<beast::ssl_stream<beast::tcp_stream>> {
 public:
  TlsClient(uint16_t port, const std::string& ca_file, int max_version = 0)
      : ctx_(asio::ssl::context::tls_client) {
    ctx_.set_verify_mode(asio::ssl::verify_peer);
    ctx_.load_verify_file(ca_file);
    if (max_version != 0) SSL_CTX_set_max_proto_version(ctx_.native_handle(), max_version);
    stream_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc_, ctx_);
    beast::get_lowest_layer(*stream_).connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  beast::error_code Handshake() {
    beast::error_code result;
    beast::get_lowest_layer(*stream_).expires_after(kClientDeadline);
    stream_->async_handshake(asio::ssl::stream_base::client,
                             [&](beast::error_code ec) { result = ec; });
    Run();
    return result;
  }

 private:
  asio::ssl::context ctx_;
};

bool ClosedByServer(const beast::error_code& ec) {
  return ec == beast::http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::ssl::error::stream_truncated;
}

std::string Get(std::string_view target, std::string_view extra = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: localhost\r\n" + std::string(extra) +
         "\r\n";
}

// A self-signed P-256 certificate and key in a fresh temporary directory.
struct SelfSigned {
  std::filesystem::path dir;
  std::string cert_file, key_file;

  SelfSigned() {
    dir = std::filesystem::temp_directory_path() / ("arca-http-test-" + RandomHex(8));
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

class ServerTest : public ::testing::Test {
 protected:
  static ListenerConfig Plain() {
    ListenerConfig c;
    c.address = "127.0.0.1:0";
    c.tls_disable = true;
    c.max_request_size = 1024;
    return c;
  }
  static ServerOptions Fast() {
    ServerOptions o;
    o.header_timeout = std::chrono::milliseconds(300);
    o.idle_timeout = std::chrono::milliseconds(300);
    o.request_timeout = std::chrono::milliseconds(500);
    o.shutdown_grace = std::chrono::milliseconds(3000);
    o.max_header_bytes = 4096;
    o.io_threads = 2;
    o.worker_threads = 4;
    return o;
  }

  void StartServer(ListenerConfig config = Plain(), ServerOptions options = Fast()) {
    options.registry = &registry_;
    server_ = std::make_unique<Server>(api_, options);
    Status s = server_->Start({config});
    ASSERT_TRUE(s.ok()) << s.ToString();
    port_ = server_->Ports().at(0);
  }

  void TearDown() override {
    if (server_) server_->Stop();
  }

  testing::FakeApi api_;
  metrics::Registry registry_;
  std::unique_ptr<Server> server_;
  uint16_t port_ = 0;
};

TEST_F(ServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  StartServer();
  Client c(port_);
  Response a = c.Roundtrip(Get("/v1/sys/health"));
  EXPECT_EQ(a.result_int(), 200);
  EXPECT_EQ(a[bhttp::field::content_type], "application/json");
  EXPECT_EQ(a[bhttp::field::cache_control], "no-store");
  EXPECT_TRUE(a.keep_alive());
  EXPECT_EQ(Json::parse(a.body())["initialized"], true);
  Response b = c.Roundtrip(Get("/v1/secret/data/foo", "X-Vault-Token: hvs.t\r\n"));
  EXPECT_EQ(b.result_int(), 200);
  EXPECT_EQ(Json::parse(b.body())["data"]["path"], "secret/data/foo");
  logical::Request seen = api_.LastRequest();
  EXPECT_EQ(seen.client_token, "hvs.t");
  EXPECT_EQ(seen.remote_address, "127.0.0.1");
  EXPECT_NE(seen.remote_port, 0);
  EXPECT_EQ(server_->Addresses().at(0), "127.0.0.1:" + std::to_string(port_));
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  StartServer();
  Client c(port_);
  c.Write(Get("/v1/a/1") + Get("/v1/b/2"));
  Response first, second;
  ASSERT_FALSE(c.Read(first));
  ASSERT_FALSE(c.Read(second));
  EXPECT_EQ(Json::parse(first.body())["data"]["path"], "a/1");
  EXPECT_EQ(Json::parse(second.body())["data"]["path"], "b/2");
}

TEST_F(ServerTest, EmptyResponseIs204WithoutBody) {
  api_.handle = [](logical::Request&) -> StatusOr<logical::Response> {
    return logical::Response{};
  };
  StartServer();
  Client c(port_);
  std::string body = R"({"data":{"a":"b"}})";
  Response r = c.Roundtrip("POST /v1/secret/data/x HTTP/1.1\r\nHost: h\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(r.result_int(), 204);
  EXPECT_EQ(r.body(), "");
  EXPECT_EQ(r[bhttp::field::cache_control], "no-store");
  EXPECT_EQ(api_.LastRequest().data, (Json{{"data", {{"a", "b"}}}}));
  // The connection is still usable.
  EXPECT_EQ(c.Roundtrip(Get("/v1/sys/health")).result_int(), 200);
}

TEST_F(ServerTest, HeadHealthHasNoBody) {
  StartServer();
  Client c(port_);
  Response r = c.Roundtrip("HEAD /v1/sys/health HTTP/1.1\r\nHost: h\r\n\r\n", /*head=*/true);
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r[bhttp::field::content_type], "application/json");
  EXPECT_EQ(r.body(), "");
  EXPECT_EQ(c.Roundtrip(Get("/v1/sys/health")).result_int(), 200);
}

TEST_F(ServerTest, ListVerbIsAccepted) {
  StartServer();
  Client c(port_);
  Response r = c.Roundtrip("LIST /v1/secret/metadata HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(api_.LastRequest().operation, logical::Operation::kList);
  EXPECT_EQ(api_.LastRequest().path, "secret/metadata/");
}

TEST_F(ServerTest, OversizedContentLengthIs413BeforeTheBody) {
  StartServer();
  Client c(port_);
  Response r = c.Roundtrip(
      "POST /v1/secret/data/x HTTP/1.1\r\nHost: h\r\nContent-Length: 5000\r\n\r\n");
  EXPECT_EQ(r.result_int(), 413);
  EXPECT_EQ(r[bhttp::field::content_type], "application/json");
  EXPECT_EQ(r.body(), "{\"errors\":[\"http: request body too large\"]}\n");
  EXPECT_FALSE(r.keep_alive());
  EXPECT_EQ(api_.RequestCount(), 0u);
}

TEST_F(ServerTest, OversizedChunkedBodyIs413) {
  StartServer();
  Client c(port_);
  std::string chunk(2048, 'a');
  Response r = c.Roundtrip(
      "POST /v1/secret/data/x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" +
      chunk + "\r\n0\r\n\r\n");
  EXPECT_EQ(r.result_int(), 413);
  EXPECT_EQ(api_.RequestCount(), 0u);
}

TEST_F(ServerTest, BodyAtTheLimitIsAccepted) {
  StartServer();
  Client c(port_);
  std::string body = "{\"v\":\"" + std::string(1024 - 8, 'x') + "\"}";
  ASSERT_EQ(body.size(), 1024u);
  Response r = c.Roundtrip("PUT /v1/secret/x HTTP/1.1\r\nHost: h\r\nContent-Length: 1024\r\n\r\n" +
                           body);
  EXPECT_EQ(r.result_int(), 200);
}

TEST_F(ServerTest, OversizedHeadersAre431AndServerKeepsServing) {
  StartServer();
  {
    Client c(port_);
    Response r = c.Roundtrip(Get("/v1/sys/health", "X-Big: " + std::string(8000, 'b') + "\r\n"));
    EXPECT_EQ(r.result_int(), 431);
    EXPECT_EQ(Json::parse(r.body())["errors"][0], "request header fields too large");
  }
  Client again(port_);
  EXPECT_EQ(again.Roundtrip(Get("/v1/sys/health")).result_int(), 200);
}

TEST_F(ServerTest, MalformedRequestIs400) {
  StartServer();
  Client c(port_);
  Response r = c.Roundtrip("GET /v1/sys/health HTTP/1.1\r\nBad Header\r\n\r\n");
  EXPECT_EQ(r.result_int(), 400);
  EXPECT_EQ(r[bhttp::field::content_type], "application/json");
}

TEST_F(ServerTest, ExpectContinueGetsInterimResponse) {
  StartServer();
  Client c(port_);
  c.Write("PUT /v1/secret/x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
          "Content-Length: 9\r\n\r\n");
  Response interim;
  ASSERT_FALSE(c.Read(interim));
  EXPECT_EQ(interim.result_int(), 100);
  c.Write("{\"a\":\"b\"}");
  Response final_response;
  ASSERT_FALSE(c.Read(final_response));
  EXPECT_EQ(final_response.result_int(), 200);
  EXPECT_EQ(api_.LastRequest().data, (Json{{"a", "b"}}));
}

TEST_F(ServerTest, SlowHeadersAreTimedOut) {
  StartServer();
  Client c(port_);
  c.Write("GET /v1/sys/health HTTP/1.1\r\nHost: h\r\n");  // never finished
  EXPECT_TRUE(ClosedByServer(c.NextReadError()));
  EXPECT_EQ(api_.RequestCount(), 0u);
}

TEST_F(ServerTest, SilentConnectionIsClosed) {
  StartServer();
  Client c(port_);
  EXPECT_TRUE(ClosedByServer(c.NextReadError()));
}

TEST_F(ServerTest, SlowBodyIsTimedOut) {
  StartServer();
  Client c(port_);
  c.Write("PUT /v1/secret/x HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n{\"a\":");
  EXPECT_TRUE(ClosedByServer(c.NextReadError()));
  EXPECT_EQ(api_.RequestCount(), 0u);
}

TEST_F(ServerTest, IdleKeepAliveIsClosed) {
  StartServer();
  Client c(port_);
  EXPECT_EQ(c.Roundtrip(Get("/v1/sys/health")).result_int(), 200);
  EXPECT_TRUE(ClosedByServer(c.NextReadError()));
}

TEST_F(ServerTest, ConnectionCloseIsHonoured) {
  StartServer();
  Client c(port_);
  Response r = c.Roundtrip(Get("/v1/sys/health", "Connection: close\r\n"));
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_FALSE(r.keep_alive());
  EXPECT_TRUE(ClosedByServer(c.NextReadError()));
}

TEST_F(ServerTest, BlockedHandlerDoesNotStallOtherConnections) {
  std::promise<void> entered, release;
  std::shared_future<void> released = release.get_future().share();
  api_.handle = [&](logical::Request& req) -> StatusOr<logical::Response> {
    if (req.path == "slow/x") {
      entered.set_value();
      released.wait();
    }
    return logical::Response::WithData(Json{{"path", req.path}});
  };
  StartServer();
  Client slow(port_);
  slow.Write(Get("/v1/slow/x"));
  entered.get_future().wait();
  Client fast(port_);
  EXPECT_EQ(fast.Roundtrip(Get("/v1/fast/y")).result_int(), 200);
  release.set_value();
  Response r;
  ASSERT_FALSE(slow.Read(r));
  EXPECT_EQ(r.result_int(), 200);
}

TEST_F(ServerTest, StopLetsInFlightRequestsFinish) {
  std::promise<void> entered, release;
  std::shared_future<void> released = release.get_future().share();
  api_.handle = [&](logical::Request&) -> StatusOr<logical::Response> {
    entered.set_value();
    released.wait();
    return logical::Response::WithData(Json{{"done", true}});
  };
  StartServer();
  Client busy(port_);
  Client idle(port_);
  EXPECT_EQ(idle.Roundtrip(Get("/v1/sys/health")).result_int(), 200);
  busy.Write(Get("/v1/secret/x"));
  entered.get_future().wait();

  std::thread stopper([&] { server_->Stop(); });
  EXPECT_TRUE(ClosedByServer(idle.NextReadError()));  // idle connections go first
  release.set_value();
  Response r;
  ASSERT_FALSE(busy.Read(r));
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_FALSE(r.keep_alive());
  stopper.join();
  beast::error_code ec;
  asio::io_context ioc;
  tcp::socket s(ioc);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
  EXPECT_TRUE(ec);  // no longer listening
}

TEST_F(ServerTest, StopIsIdempotent) {
  StartServer();
  server_->Stop();
  server_->Stop();
}

TEST_F(ServerTest, BindErrorsAreReported) {
  StartServer();
  ListenerConfig taken = Plain();
  taken.address = "127.0.0.1:" + std::to_string(port_);
  Server other(api_, Fast());
  Status s = other.Start({taken});
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_NE(s.message().find("listen tcp 127.0.0.1:" + std::to_string(port_)), std::string::npos)
      << s.message();

  ListenerConfig bad = Plain();
  bad.address = "127.0.0.1";
  EXPECT_EQ(Server(api_, Fast()).Start({bad}).code(), Code::kInvalidArgument);
  bad.address = "127.0.0.1:99999";
  EXPECT_EQ(Server(api_, Fast()).Start({bad}).code(), Code::kInvalidArgument);
  EXPECT_EQ(Server(api_, Fast()).Start({}).code(), Code::kInvalidArgument);
}

TEST_F(ServerTest, TlsConfigErrorsAreReported) {
  ListenerConfig tls = Plain();
  tls.tls_disable = false;
  Status missing = Server(api_, Fast()).Start({tls});
  EXPECT_EQ(missing.code(), Code::kInvalidArgument);
  tls.tls_cert_file = "/nonexistent/cert.pem";
  tls.tls_key_file = "/nonexistent/key.pem";
  Status unreadable = Server(api_, Fast()).Start({tls});
  EXPECT_EQ(unreadable.code(), Code::kInvalidArgument);
  EXPECT_NE(unreadable.message().find("/nonexistent/cert.pem"), std::string::npos);
  SelfSigned cert;
  tls.tls_cert_file = cert.cert_file;
  tls.tls_key_file = cert.key_file;
  tls.tls_min_version = "tls10";
  EXPECT_EQ(Server(api_, Fast()).Start({tls}).code(), Code::kInvalidArgument);
}

TEST_F(ServerTest, TlsListenerServesHttps) {
  SelfSigned cert;
  ListenerConfig tls = Plain();
  tls.tls_disable = false;
  tls.tls_cert_file = cert.cert_file;
  tls.tls_key_file = cert.key_file;
  StartServer(tls);
  TlsClient c(port_, cert.cert_file);
  beast::error_code ec = c.Handshake();
  ASSERT_FALSE(ec) << ec.message();
  Response a = c.Roundtrip(Get("/v1/sys/health"));
  EXPECT_EQ(a.result_int(), 200);
  Response b = c.Roundtrip(Get("/v1/secret/data/tls"));
  EXPECT_EQ(Json::parse(b.body())["data"]["path"], "secret/data/tls");
}

TEST_F(ServerTest, TlsListenerRefusesPlainHttp) {
  SelfSigned cert;
  ListenerConfig tls = Plain();
  tls.tls_disable = false;
  tls.tls_cert_file = cert.cert_file;
  tls.tls_key_file = cert.key_file;
  StartServer(tls);
  Client c(port_);
  c.Write(Get("/v1/sys/health"));
  Response r;
  EXPECT_TRUE(c.Read(r));  // no HTTP answer on a TLS port
  EXPECT_EQ(api_.RequestCount(), 0u);
}

TEST_F(ServerTest, MissingTlsHandshakeIsTimedOut) {
  SelfSigned cert;
  ListenerConfig tls = Plain();
  tls.tls_disable = false;
  tls.tls_cert_file = cert.cert_file;
  tls.tls_key_file = cert.key_file;
  StartServer(tls);
  Client c(port_);  // connects, never says ClientHello
  EXPECT_TRUE(ClosedByServer(c.NextReadError()));
}

TEST_F(ServerTest, TlsMinimumVersionIsEnforced) {
  SelfSigned cert;
  ListenerConfig tls = Plain();
  tls.tls_disable = false;
  tls.tls_cert_file = cert.cert_file;
  tls.tls_key_file = cert.key_file;
  tls.tls_min_version = "tls13";
  StartServer(tls);
  TlsClient old(port_, cert.cert_file, TLS1_2_VERSION);
  EXPECT_TRUE(old.Handshake());
  TlsClient modern(port_, cert.cert_file);
  EXPECT_FALSE(modern.Handshake());
}

TEST_F(ServerTest, RecordsMetrics) {
  StartServer();
  Client c(port_);
  c.Roundtrip(Get("/v1/sys/health"));
  c.Roundtrip(Get("/v1/secret/data/a"));
  metrics::Counter& requests =
      registry_.AddCounter("arca_http_requests_total", "", {"route", "method", "code"});
  EXPECT_EQ(requests.Value({"sys/health", "GET", "200"}), 1);
  EXPECT_EQ(requests.Value({"secret/", "GET", "200"}), 1);
}

}  // namespace
}  // namespace arca::http
