// CurlTransport against a one-shot HTTP server on the loopback interface.
#include "cli/http_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

namespace arca::cli {
namespace {

// Accepts up to `n` connections on 127.0.0.1, records each raw request and
// answers each with `response`. Every wait is bounded by a 5 s poll.
class LoopbackServer {
 public:
  LoopbackServer(std::string response, int n) : response_(std::move(response)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 4) != 0) return;
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, n] { Serve(n); });
  }
  ~LoopbackServer() {
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
  }
  int port() const { return port_; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  // Valid after the transport call returned (the server replies last).
  const std::vector<std::string>& requests() {
    if (thread_.joinable()) thread_.join();
    return requests_;
  }

 private:
  static bool WaitReadable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 5000) == 1;
  }

  void Serve(int n) {
    for (int i = 0; i < n; ++i) {
      if (!WaitReadable(fd_)) return;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string req;
      char buf[4096];
      std::size_t need = std::string::npos;
      while (need == std::string::npos || req.size() < need) {
        if (!WaitReadable(c)) break;
        ssize_t got = ::read(c, buf, sizeof buf);
        if (got <= 0) break;
        req.append(buf, static_cast<std::size_t>(got));
        auto end = req.find("\r\n\r\n");
        if (end != std::string::npos && need == std::string::npos) {
          std::size_t body = 0;
          auto cl = req.find("Content-Length: ");
          if (cl != std::string::npos && cl < end) body = std::stoul(req.substr(cl + 16));
          need = end + 4 + body;
        }
      }
      requests_.push_back(req);
      ssize_t wrote = ::write(c, response_.data(), response_.size());
      (void)wrote;
      ::close(c);
    }
  }

  std::string response_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::vector<std::string> requests_;
};

TEST(CurlTransportTest, SendsMethodHeadersAndBody) {
  LoopbackServer server(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Extra: yes\r\nContent-Length: 11\r\n"
      "Connection: close\r\n\r\n{\"ok\":true}",
      1);
  ASSERT_NE(server.port(), 0);
  CurlTransport t(HttpOptions{});
  HttpRequest req;
  req.method = "PUT";
  req.url = server.url("/v1/secret/foo");
  req.headers = {{"X-Vault-Token", "hvs.t"}, {"Content-Type", "application/json"}};
  req.body = R"({"a":"b"})";
  auto resp = t.Send(req);
  ASSERT_TRUE(resp.ok()) << resp.status().message();
  EXPECT_EQ(resp->status, 200);
  EXPECT_EQ(resp->body, "{\"ok\":true}");
  EXPECT_EQ(resp->Header("x-extra"), "yes");
  const auto& got = server.requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].rfind("PUT /v1/secret/foo HTTP/1.1\r\n", 0), 0u);
  EXPECT_NE(got[0].find("X-Vault-Token: hvs.t\r\n"), std::string::npos);
  EXPECT_EQ(got[0].find("Expect:"), std::string::npos);
  EXPECT_EQ(got[0].substr(got[0].size() - 9), R"({"a":"b"})");
}

TEST(CurlTransportTest, DoesNotFollowRedirectsAndReportsStatus) {
  LoopbackServer server(
      "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:1/v1/x\r\nContent-Length: 0\r\n"
      "Connection: close\r\n\r\n",
      1);
  CurlTransport t(HttpOptions{});
  HttpRequest req;
  req.method = "GET";
  req.url = server.url("/v1/x");
  auto resp = t.Send(req);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->status, 307);
  EXPECT_EQ(resp->Header("Location"), "http://127.0.0.1:1/v1/x");
  EXPECT_EQ(server.requests()[0].rfind("GET /v1/x HTTP/1.1\r\n", 0), 0u);
}

TEST(CurlTransportTest, PatchAndDeleteUseTheirVerbs) {
  LoopbackServer server("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n", 2);
  CurlTransport t(HttpOptions{});
  HttpRequest patch;
  patch.method = "PATCH";
  patch.url = server.url("/v1/secret/data/a");
  patch.body = "{}";
  ASSERT_EQ(t.Send(patch)->status, 204);
  HttpRequest del;
  del.method = "DELETE";
  del.url = server.url("/v1/secret/data/a");
  ASSERT_EQ(t.Send(del)->status, 204);
  const auto& got = server.requests();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].rfind("PATCH ", 0), 0u);
  EXPECT_EQ(got[1].rfind("DELETE ", 0), 0u);
}

TEST(CurlTransportTest, BinaryBodiesPassBothWays) {
  const std::string snapshot("\x1f\x8b\x08\x00\x00\r\n\r\n\xff\xfe", 11);
  LoopbackServer server("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                        "Content-Length: 11\r\nConnection: close\r\n\r\n" + snapshot,
                        2);
  CurlTransport t(HttpOptions{});
  HttpRequest get;
  get.method = "GET";
  get.url = server.url("/v1/sys/storage/raft/snapshot");
  auto got = t.Send(get);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->body, snapshot);
  HttpRequest post;
  post.method = "POST";
  post.url = server.url("/v1/sys/storage/raft/snapshot");
  post.headers = {{"Content-Type", "application/octet-stream"}};
  post.body = snapshot;
  ASSERT_TRUE(t.Send(post).ok());
  const auto& reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_NE(reqs[1].find("Content-Length: 11\r\n"), std::string::npos);
  EXPECT_EQ(reqs[1].substr(reqs[1].size() - snapshot.size()), snapshot);
}

TEST(CurlTransportTest, ConnectionRefusedIsUnavailable) {
  int port;
  {
    LoopbackServer closed("", 0);  // binds, never accepts
    port = closed.port();
  }
  CurlTransport t(HttpOptions{});
  HttpRequest req;
  req.method = "GET";
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/v1/sys/health";
  auto resp = t.Send(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), Code::kUnavailable);
}

TEST(CurlTransportTest, OversizedBodiesAreRejected) {
  std::string body(2048, 'x');
  LoopbackServer server("HTTP/1.1 200 OK\r\nContent-Length: 2048\r\nConnection: close\r\n\r\n" + body, 1);
  HttpOptions opts;
  opts.max_body_bytes = 1024;
  CurlTransport t(opts);
  HttpRequest req;
  req.method = "GET";
  req.url = server.url("/v1/big");
  auto resp = t.Send(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), Code::kUnavailable);
}

}  // namespace
}  // namespace arca::cli
