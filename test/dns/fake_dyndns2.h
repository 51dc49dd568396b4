// arca test support for dns: FakeDyndns2, a tiny HTTP/1.1 server on
// 127.0.0.1 that answers every request with a scripted status and body, as
// a dyndns2 service (nsupdate.info) would, and records what it was sent.
// One connection at a time, Connection: close. Header-only. Thread-safe.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace arca::dns::testing {

class FakeDyndns2 {
 public:
  struct Seen {
    std::string target;         // "/nic/update?hostname=...&myip=..."
    std::string authorization;  // the Authorization header
    std::string user_agent;
  };

  FakeDyndns2() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(fd_, 16) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Loop(); });
  }
  ~FakeDyndns2() {
    stop_ = true;
    thread_.join();
    for (int h : held_) ::close(h);
    ::close(fd_);
  }
  FakeDyndns2(const FakeDyndns2&) = delete;
  FakeDyndns2& operator=(const FakeDyndns2&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/nic/update"; }
  void Reply(int status, std::string body) {
    std::lock_guard g(mu_);
    status_ = status;
    body_ = std::move(body);
  }
  // Accept connections but never answer them.
  void Silent(bool silent) { silent_ = silent; }
  std::vector<Seen> requests() const {
    std::lock_guard g(mu_);
    return seen_;
  }

 private:
  static std::string Header(const std::string& head, const std::string& name) {
    std::size_t pos = 0;
    while ((pos = head.find("\r\n", pos)) != std::string::npos) {
      pos += 2;
      std::size_t colon = head.find(':', pos);
      std::size_t eol = head.find("\r\n", pos);
      if (colon == std::string::npos || colon > eol) continue;
      std::string key = head.substr(pos, colon - pos);
      bool same = key.size() == name.size();
      for (std::size_t i = 0; same && i < key.size(); ++i)
        same = std::tolower(static_cast<unsigned char>(key[i])) ==
               std::tolower(static_cast<unsigned char>(name[i]));
      if (!same) continue;
      std::string v = head.substr(colon + 1, eol - colon - 1);
      while (!v.empty() && v.front() == ' ') v.erase(0, 1);
      return v;
    }
    return "";
  }

  void Loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      if (silent_) {
        held_.push_back(c);
        continue;
      }
      Serve(c);
      ::close(c);
    }
  }

  void Serve(int c) {
    std::string head;
    char buf[2048];
    while (head.find("\r\n\r\n") == std::string::npos && head.size() < 16384) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 2000) <= 0) return;
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      head.append(buf, static_cast<std::size_t>(n));
    }
    Seen s;
    std::size_t sp1 = head.find(' '), sp2 = head.find(' ', sp1 + 1);
    if (sp1 != std::string::npos && sp2 != std::string::npos)
      s.target = head.substr(sp1 + 1, sp2 - sp1 - 1);
    s.authorization = Header(head, "Authorization");
    s.user_agent = Header(head, "User-Agent");
    int status;
    std::string body;
    {
      std::lock_guard g(mu_);
      seen_.push_back(s);
      status = status_;
      body = body_;
    }
    std::string out = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: text/plain\r\n";
    if (status == 401) out += "WWW-Authenticate: Basic realm=\"authenticate to update DNS\"\r\n";
    out += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    ::send(c, out.data(), out.size(), MSG_NOSIGNAL);
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> silent_{false};
  std::vector<int> held_;  // loop thread only
  mutable std::mutex mu_;
  int status_ = 200;
  std::string body_ = "good 127.0.0.1";
  std::vector<Seen> seen_;
  std::thread thread_;
};

}  // namespace arca::dns::testing
