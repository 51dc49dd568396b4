// The bytes http::Server writes (SerializeResponse, directly and over a
// socket) and its per-connection deadlines, driven by an injected FakeClock.
// The client waits on sockets with its own deadline, never by sleeping.
#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "fake_api.h"
#include "http/codec.h"
#include "http/server.h"
#include "support/fake_clock.h"

namespace arca::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

constexpr std::chrono::milliseconds kClientDeadline{5000};
// How long a connection must stay open to show that no deadline fired: many
// sweeps at the test timeouts below.
constexpr std::chrono::milliseconds kStaysOpenWait{1000};

HttpResponse Json200(std::string body) {
  HttpResponse r;
  r.status = 200;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

std::string Serialize(const HttpResponse& res, unsigned version, bool keep_alive) {
  std::string out;
  SerializeResponse(res, version, keep_alive, &out);
  return out;
}

// What the server sent before it wrote responses by hand (Beast's serializer).
std::string BeastSerialize(HttpResponse res, unsigned version, bool keep_alive) {
  bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(res.status), version};
  out.set(bhttp::field::cache_control, "no-store");
  if (!res.content_type.empty()) out.set(bhttp::field::content_type, res.content_type);
  for (const auto& [name, value] : res.headers) out.set(name, value);
  bool bodiless = res.status < 200 || res.status == 204 || res.status == 304;
  if (!bodiless) {
    out.body() = std::move(res.body);
    out.content_length(out.body().size());
  }
  out.keep_alive(keep_alive);
  std::ostringstream os;
  os << out;
  return os.str();
}

TEST(SerializeResponseTest, JsonOkOnKeepAlive11) {
  EXPECT_EQ(Serialize(Json200("{\"a\":1}\n"), 11, true),
            "HTTP/1.1 200 OK\r\n"
            "Cache-Control: no-store\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 8\r\n"
            "\r\n"
            "{\"a\":1}\n");
}

TEST(SerializeResponseTest, NoContentHasNoLengthAndNoBody) {
  HttpResponse r;
  r.status = 204;
  EXPECT_EQ(Serialize(r, 11, true), "HTTP/1.1 204 No Content\r\nCache-Control: no-store\r\n\r\n");
  r.status = 304;
  r.body = "ignored";
  EXPECT_EQ(Serialize(r, 11, false),
            "HTTP/1.1 304 Not Modified\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n");
}

TEST(SerializeResponseTest, Http10AnnouncesKeepAliveOnly) {
  EXPECT_EQ(Serialize(Json200("{}"), 10, true),
            "HTTP/1.0 200 OK\r\n"
            "Cache-Control: no-store\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 2\r\n"
            "Connection: keep-alive\r\n"
            "\r\n"
            "{}");
  EXPECT_EQ(Serialize(Json200("{}"), 10, false),
            "HTTP/1.0 200 OK\r\n"
            "Cache-Control: no-store\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 2\r\n"
            "\r\n"
            "{}");
}

TEST(SerializeResponseTest, CloseOn11SaysConnectionClose) {
  HttpResponse r = Json200("{\"errors\":[]}\n");
  r.status = 404;
  EXPECT_EQ(Serialize(r, 11, false),
            "HTTP/1.1 404 Not Found\r\n"
            "Cache-Control: no-store\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 14\r\n"
            "Connection: close\r\n"
            "\r\n"
            "{\"errors\":[]}\n");
}

TEST(SerializeResponseTest, HeaderWithLineBreakOrNulIsDropped) {
  HttpResponse r;
  r.status = 307;
  r.headers = {{"Location", "https://a/v1/x\r\nSet-Cookie: s=1"},
               {"X-Ok", "1"},
               {"X-Bad\r\nSet-Cookie", "2"},
               {"X-Lf", "a\nb"},
               {"X-Nul", std::string("a\0b", 3)},
               {"", "empty name"}};
  EXPECT_EQ(Serialize(r, 11, true),
            "HTTP/1.1 307 Temporary Redirect\r\n"
            "Cache-Control: no-store\r\n"
            "X-Ok: 1\r\n"
            "Content-Length: 0\r\n"
            "\r\n");
  r.headers.clear();
  r.content_type = "text/plain\r\nX-Injected: 1";
  EXPECT_EQ(Serialize(r, 11, true),
            "HTTP/1.1 307 Temporary Redirect\r\n"
            "Cache-Control: no-store\r\n"
            "Content-Length: 0\r\n"
            "\r\n");
}

TEST(SerializeResponseTest, LaterHeaderReplacesEarlierAndValuesAreTrimmed) {
  HttpResponse r = Json200("x");
  r.headers = {{"cache-control", " private\t"}, {"X-A", "1"}, {"x-a", "2"}};
  EXPECT_EQ(Serialize(r, 11, true),
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: application/json\r\n"
            "cache-control: private\r\n"
            "x-a: 2\r\n"
            "Content-Length: 1\r\n"
            "\r\n"
            "x");
}

TEST(SerializeResponseTest, FramingHeadersComeFromTheServer) {
  HttpResponse r = Json200("abc");
  r.headers = {{"Content-Length", "99"}, {"Connection", "keep-alive"},
               {"Transfer-Encoding", "chunked"}};
  EXPECT_EQ(Serialize(r, 11, false),
            "HTTP/1.1 200 OK\r\n"
            "Cache-Control: no-store\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 3\r\n"
            "Connection: close\r\n"
            "\r\n"
            "abc");
}

TEST(SerializeResponseTest, AppendsToTheBuffer) {
  std::string out = "prefix";
  HttpResponse r;
  r.status = 204;
  SerializeResponse(r, 11, true, &out);
  EXPECT_EQ(out, "prefixHTTP/1.1 204 No Content\r\nCache-Control: no-store\r\n\r\n");
}

// Every combination the handlers produce today matches Beast's serializer
// byte for byte.
TEST(SerializeResponseTest, MatchesBeastSerializer) {
  const int statuses[] = {100, 200, 204, 299, 304, 307, 400, 403, 404, 405,
                          412, 413, 429, 431, 500, 501, 502, 503};
  const HeaderList header_sets[] = {
      {},
      {{"Location", "https://10.0.0.1:8200/v1/secret/data/a?version=2"}},
      {{"Cache-Control", "no-store"}, {"X-Vault-Index", " abc "}, {"Retry-After", "1"}},
      {{"x-a", "1"}, {"X-B", ""}, {"X-A", "2"}},
      {{"Content-Type", "text/plain"}},
  };
  const std::string bodies[] = {"", "{\"data\":{\"a\":\"b\"}}\n"};
  const std::string content_types[] = {"", "application/json"};
  int compared = 0;
  for (int status : statuses) {
    for (unsigned version : {10u, 11u}) {
      for (bool keep_alive : {false, true}) {
        for (const HeaderList& headers : header_sets) {
          for (const std::string& body : bodies) {
            for (const std::string& content_type : content_types) {
              HttpResponse r;
              r.status = status;
              r.content_type = content_type;
              r.headers = headers;
              r.body = body;
              ASSERT_EQ(Serialize(r, version, keep_alive), BeastSerialize(r, version, keep_alive))
                  << "status " << status << " version " << version << " keep_alive "
                  << keep_alive << " headers " << headers.size() << " body " << body.size();
              ++compared;
            }
          }
        }
      }
    }
  }
  EXPECT_EQ(compared, 18 * 2 * 2 * 5 * 2 * 2);
}

// A plain client on its own io_context. Reads end at the server's close or
// at the client's own deadline.
class RawClient {
 public:
  explicit RawClient(uint16_t port) : socket_(ioc_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }

  void Write(std::string_view data) { asio::write(socket_, asio::buffer(data)); }

  // One read of what arrives within `wait`, appended to received(). Returns
  // eof (or a reset) when the server closed, operation_aborted when nothing
  // arrived in time.
  beast::error_code ReadSome(std::chrono::milliseconds wait) {
    beast::error_code result;
    bool done = false;
    std::array<char, 4096> buf;
    asio::steady_timer timer(ioc_, wait);
    timer.async_wait([&](beast::error_code ec) {
      if (!ec && !done) socket_.cancel();
    });
    socket_.async_read_some(asio::buffer(buf), [&](beast::error_code ec, std::size_t n) {
      done = true;
      result = ec;
      received_.append(buf.data(), n);
      timer.cancel();
    });
    ioc_.restart();
    ioc_.run();
    return result;
  }

  // Everything until the server closes (*closed) or the deadline passes.
  std::string ReadUntilClose(bool* closed) {
    beast::error_code ec;
    while (!(ec = ReadSome(kClientDeadline))) {
    }
    *closed = ClosedByServer(ec);
    return Take(received_.size());
  }

  // One whole response (headers and a Content-Length body), or "" if the
  // connection ended or the deadline passed first.
  std::string ReadResponse() {
    for (;;) {
      std::size_t end = received_.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::size_t length = 0;
        std::size_t at = received_.find("Content-Length: ");
        if (at != std::string::npos && at < end) length = std::stoul(received_.substr(at + 16));
        if (received_.size() >= end + 4 + length) return Take(end + 4 + length);
      }
      if (ReadSome(kClientDeadline)) return "";
    }
  }

  // Whether the connection is still open, with nothing received, after `wait`.
  bool StaysOpenFor(std::chrono::milliseconds wait) {
    return ReadSome(wait) == asio::error::operation_aborted && received_.empty();
  }

  static bool ClosedByServer(const beast::error_code& ec) {
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

 private:
  std::string Take(std::size_t n) {
    std::string out = received_.substr(0, n);
    received_.erase(0, n);
    return out;
  }

  asio::io_context ioc_;
  tcp::socket socket_;
  std::string received_;
};

class ServerWireTest : public ::testing::Test {
 protected:
  static ListenerConfig Plain() {
    ListenerConfig c;
    c.address = "127.0.0.1:0";
    c.tls_disable = true;
    c.max_request_size = 1024;
    return c;
  }
  ServerOptions Options(Clock* clock = nullptr) {
    ServerOptions o;
    o.header_timeout = std::chrono::milliseconds(300);
    o.idle_timeout = std::chrono::milliseconds(300);
    o.request_timeout = std::chrono::milliseconds(500);
    o.shutdown_grace = std::chrono::milliseconds(3000);
    o.io_threads = 2;
    o.worker_threads = 2;
    o.clock = clock;
    o.registry = &registry_;
    return o;
  }
  void StartServer(ServerOptions options) {
    server_ = std::make_unique<Server>(api_, options);
    Status s = server_->Start({Plain()});
    ASSERT_TRUE(s.ok()) << s.ToString();
    port_ = server_->Ports().at(0);
  }
  // Reads answer a fixed raw JSON body, so whole responses are predictable.
  void AnswerRaw(std::string body) {
    api_.handle = [body](logical::Request&) -> StatusOr<logical::Response> {
      logical::Response r;
      r.raw_body = body;
      return r;
    };
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  testing::FakeApi api_;
  metrics::Registry registry_;
  arca::testing::FakeClock clock_;
  std::unique_ptr<Server> server_;
  uint16_t port_ = 0;
};

constexpr std::string_view kRawOk =
    "HTTP/1.1 200 OK\r\n"
    "Cache-Control: no-store\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 8\r\n"
    "\r\n"
    "{\"a\":1}\n";

TEST_F(ServerWireTest, KeepAliveThenCloseExactBytes) {
  AnswerRaw("{\"a\":1}\n");
  StartServer(Options());
  RawClient c(port_);
  c.Write("GET /v1/secret/a HTTP/1.1\r\nHost: h\r\n\r\n"
          "GET /v1/secret/b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  bool closed = false;
  EXPECT_EQ(c.ReadUntilClose(&closed),
            std::string(kRawOk) +
                "HTTP/1.1 200 OK\r\n"
                "Cache-Control: no-store\r\n"
                "Content-Type: application/json\r\n"
                "Content-Length: 8\r\n"
                "Connection: close\r\n"
                "\r\n"
                "{\"a\":1}\n");
  EXPECT_TRUE(closed);
}

TEST_F(ServerWireTest, NoContentExactBytes) {
  api_.handle = [](logical::Request&) -> StatusOr<logical::Response> {
    return logical::Response{};
  };
  StartServer(Options());
  RawClient c(port_);
  c.Write("PUT /v1/secret/a HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\n{\"a\":\"b\"}");
  // The codec labels even an empty answer as JSON.
  EXPECT_EQ(c.ReadResponse(),
            "HTTP/1.1 204 No Content\r\n"
            "Cache-Control: no-store\r\n"
            "Content-Type: application/json\r\n"
            "\r\n");
  c.Write("DELETE /v1/secret/a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  bool closed = false;
  EXPECT_EQ(c.ReadUntilClose(&closed),
            "HTTP/1.1 204 No Content\r\n"
            "Cache-Control: no-store\r\n"
            "Content-Type: application/json\r\n"
            "Connection: close\r\n"
            "\r\n");
  EXPECT_TRUE(closed);
}

TEST_F(ServerWireTest, Http10ExactBytes) {
  AnswerRaw("{}");
  StartServer(Options());
  RawClient c(port_);
  c.Write("GET /v1/secret/a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(c.ReadResponse(),
            "HTTP/1.0 200 OK\r\n"
            "Cache-Control: no-store\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 2\r\n"
            "Connection: keep-alive\r\n"
            "\r\n"
            "{}");
  c.Write("GET /v1/secret/a HTTP/1.0\r\n\r\n");  // 1.0 without keep-alive: close
  bool closed = false;
  EXPECT_EQ(c.ReadUntilClose(&closed),
            "HTTP/1.0 200 OK\r\n"
            "Cache-Control: no-store\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 2\r\n"
            "\r\n"
            "{}");
  EXPECT_TRUE(closed);
}

TEST_F(ServerWireTest, HeadSendsZeroLengthAndNoBody) {
  AnswerRaw("{\"a\":1}\n");
  StartServer(Options());
  RawClient c(port_);
  c.Write("HEAD /v1/secret/a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  bool closed = false;
  EXPECT_EQ(c.ReadUntilClose(&closed),
            "HTTP/1.1 200 OK\r\n"
            "Cache-Control: no-store\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 0\r\n"
            "Connection: close\r\n"
            "\r\n");
  EXPECT_TRUE(closed);
}

// The deadlines follow the injected clock: a silent connection outlives many
// sweeps while the clock stands still, and is closed once it passes
// header_timeout.
TEST_F(ServerWireTest, SilentConnectionIsClosedAfterHeaderTimeout) {
  StartServer(Options(&clock_));
  RawClient c(port_);
  EXPECT_TRUE(c.StaysOpenFor(kStaysOpenWait));
  clock_.Advance(std::chrono::milliseconds(301));
  EXPECT_TRUE(RawClient::ClosedByServer(c.ReadSome(kClientDeadline)));
  EXPECT_EQ(api_.RequestCount(), 0u);
}

TEST_F(ServerWireTest, IdleKeepAliveIsClosedAfterIdleTimeout) {
  AnswerRaw("{\"a\":1}\n");
  StartServer(Options(&clock_));
  RawClient c(port_);
  c.Write("GET /v1/secret/a HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(c.ReadResponse(), kRawOk);
  clock_.Advance(std::chrono::milliseconds(299));
  EXPECT_TRUE(c.StaysOpenFor(kStaysOpenWait));
  c.Write("GET /v1/secret/a HTTP/1.1\r\nHost: h\r\n\r\n");  // restarts the idle time
  EXPECT_EQ(c.ReadResponse(), kRawOk);
  clock_.Advance(std::chrono::milliseconds(299));  // 598 ms after the first answer
  EXPECT_TRUE(c.StaysOpenFor(kStaysOpenWait));
  clock_.Advance(std::chrono::milliseconds(301));
  EXPECT_TRUE(RawClient::ClosedByServer(c.ReadSome(kClientDeadline)));
  EXPECT_EQ(api_.RequestCount(), 2u);
}

// The body is read under request_timeout (500 ms) counted from the request's
// first byte, not under header_timeout (300 ms).
TEST_F(ServerWireTest, SlowBodyIsClosedAfterRequestTimeout) {
  StartServer(Options(&clock_));
  RawClient c(port_);
  c.Write("PUT /v1/secret/a HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
          "Content-Length: 9\r\n\r\n{\"a\"");
  EXPECT_EQ(c.ReadResponse(), "HTTP/1.1 100 Continue\r\n\r\n");
  clock_.Advance(std::chrono::milliseconds(400));
  EXPECT_TRUE(c.StaysOpenFor(kStaysOpenWait));
  clock_.Advance(std::chrono::milliseconds(101));
  EXPECT_TRUE(RawClient::ClosedByServer(c.ReadSome(kClientDeadline)));
  EXPECT_EQ(api_.RequestCount(), 0u);
}

// Stop() keeps the sweep running through the grace period: a client stuck
// in its body (so not idle, which Stop would close at once) is still timed
// out, long before shutdown_grace.
TEST_F(ServerWireTest, SweepRunsDuringShutdownGrace) {
  ServerOptions o = Options();
  o.shutdown_grace = std::chrono::milliseconds(60000);
  StartServer(o);
  RawClient c(port_);
  c.Write("PUT /v1/secret/a HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
          "Content-Length: 9\r\n\r\n{");
  EXPECT_EQ(c.ReadResponse(), "HTTP/1.1 100 Continue\r\n\r\n");
  std::thread stopper([&] { server_->Stop(); });
  EXPECT_TRUE(RawClient::ClosedByServer(c.ReadSome(kClientDeadline)));
  stopper.join();
  EXPECT_EQ(api_.RequestCount(), 0u);
}

}  // namespace
}  // namespace arca::http
