// dns::UpdateOnce with the rfc2136 updater against a real BIND9 named.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <thread>

#include "base/clock.h"
#include "dns/publisher.h"
#include "named_process.h"

namespace arca::dns {
namespace {

using testing::NamedProcess;
using testing::NewTsigSecret;
using testing::TsigKey;

class Rfc2136Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::access("/usr/sbin/named", X_OK) != 0) return;
    keys_ = new std::vector<TsigKey>{
        {"arca-update", "hmac-sha256", NewTsigSecret(), true},
        {"arca-sha512", "hmac-sha512", NewTsigSecret(), true},
        {"arca-sha1", "hmac-sha1", NewTsigSecret(), true},
        {"arca-md5", "hmac-md5", NewTsigSecret(), true},
        {"arca-readonly", "hmac-sha256", NewTsigSecret(), false},
    };
    named_ = new NamedProcess(*keys_);
    start_ = new Status(named_->Start());
  }
  static void TearDownTestSuite() {
    delete named_;
    delete keys_;
    delete start_;
    named_ = nullptr;
  }
  void SetUp() override {
    if (named_ == nullptr) GTEST_SKIP() << "/usr/sbin/named is not installed";
    ASSERT_TRUE(start_->ok()) << start_->ToString();
  }

  static PublisherConfig Config(const std::string& host, const TsigKey& key) {
    PublisherConfig c;
    c.hostname = host;
    c.addresses = {"192.0.2.10"};
    c.updater = "rfc2136";
    c.server = named_->server();
    c.tsig_key_name = key.name;
    c.tsig_algorithm = key.algorithm;
    c.tsig_secret = key.secret;
    c.timeout = std::chrono::milliseconds(3000);
    return c;
  }
  static const TsigKey& Key(std::size_t i) { return (*keys_)[i]; }

  static NamedProcess* named_;
  static std::vector<TsigKey>* keys_;
  static Status* start_;
};

NamedProcess* Rfc2136Test::named_ = nullptr;
std::vector<TsigKey>* Rfc2136Test::keys_ = nullptr;
Status* Rfc2136Test::start_ = nullptr;

using Set = std::set<std::string>;

TEST_F(Rfc2136Test, UpdateOnceSetsAAndAaaa) {
  PublisherConfig c = Config("both.arca.test.", Key(0));
  std::string result;
  Status st = UpdateOnce(c, {"192.0.2.10", "2001:db8::10"}, &result);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(result, "NOERROR");
  EXPECT_EQ(named_->Lookup("both.arca.test.", "A"), Set{"192.0.2.10"});
  EXPECT_EQ(named_->Lookup("both.arca.test.", "AAAA"), Set{"2001:db8::10"});
}

TEST_F(Rfc2136Test, UpdateReplacesEveryPreviousAddress) {
  PublisherConfig c = Config("moves.arca.test.", Key(0));
  std::string result;
  ASSERT_TRUE(UpdateOnce(c, {"192.0.2.1", "192.0.2.2", "2001:db8::1"}, &result).ok());
  EXPECT_EQ(named_->Lookup("moves.arca.test.", "A"), (Set{"192.0.2.1", "192.0.2.2"}));
  ASSERT_TRUE(UpdateOnce(c, {"192.0.2.3"}, &result).ok());
  EXPECT_EQ(named_->Lookup("moves.arca.test.", "A"), Set{"192.0.2.3"});
  EXPECT_TRUE(named_->Lookup("moves.arca.test.", "AAAA").empty());
}

TEST_F(Rfc2136Test, ZoneApexWithExplicitZone) {
  PublisherConfig c = Config("arca.test.", Key(0));
  c.zone = "arca.test.";
  std::string result;
  Status st = UpdateOnce(c, {"192.0.2.77"}, &result);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(named_->Lookup("arca.test.", "A"), Set{"192.0.2.77"});
  EXPECT_EQ(named_->Lookup("ns.arca.test.", "A"), Set{"127.0.0.1"});  // the rest of the zone stays
}

TEST_F(Rfc2136Test, NameWithoutTrailingDotIsAbsolute) {
  PublisherConfig c = Config("nodot.arca.test", Key(0));
  std::string result;
  ASSERT_TRUE(UpdateOnce(c, {"192.0.2.5"}, &result).ok());
  EXPECT_EQ(named_->Lookup("nodot.arca.test.", "A"), Set{"192.0.2.5"});
}

TEST_F(Rfc2136Test, WrongSecretIsNotAuthWithBadSig) {
  PublisherConfig good = Config("wrongkey.arca.test.", Key(0));
  std::string result;
  ASSERT_TRUE(UpdateOnce(good, {"192.0.2.20"}, &result).ok());
  PublisherConfig bad = good;
  bad.tsig_secret = NewTsigSecret();
  Status st = UpdateOnce(bad, {"192.0.2.21"}, &result);
  EXPECT_EQ(st.code(), Code::kPermissionDenied);
  EXPECT_EQ(result, "NOTAUTH");
  EXPECT_NE(st.message().find("NOTAUTH"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("BADSIG"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find(bad.tsig_secret), std::string::npos);
  EXPECT_EQ(named_->Lookup("wrongkey.arca.test.", "A"), Set{"192.0.2.20"});
}

TEST_F(Rfc2136Test, UnknownKeyNameIsNotAuthWithBadKey) {
  PublisherConfig c = Config("unknownkey.arca.test.", Key(0));
  c.tsig_key_name = "nobody-knows-me";
  std::string result;
  Status st = UpdateOnce(c, {"192.0.2.22"}, &result);
  EXPECT_EQ(st.code(), Code::kPermissionDenied);
  EXPECT_EQ(result, "NOTAUTH");
  EXPECT_NE(st.message().find("BADKEY"), std::string::npos) << st.message();
  EXPECT_TRUE(named_->Lookup("unknownkey.arca.test.", "A").empty());
}

TEST_F(Rfc2136Test, KeyWithoutUpdateRightIsRefused) {
  PublisherConfig c = Config("readonly.arca.test.", Key(4));
  std::string result;
  Status st = UpdateOnce(c, {"192.0.2.23"}, &result);
  EXPECT_EQ(st.code(), Code::kPermissionDenied);
  EXPECT_EQ(result, "REFUSED");
  EXPECT_TRUE(named_->Lookup("readonly.arca.test.", "A").empty());
}

TEST_F(Rfc2136Test, OtherAlgorithms) {
  for (std::size_t i : {1, 2, 3}) {
    const TsigKey& k = Key(i);
    std::string host = k.name + ".arca.test.";
    PublisherConfig c = Config(host, k);
    std::string result;
    Status st = UpdateOnce(c, {"192.0.2." + std::to_string(30 + i)}, &result);
    ASSERT_TRUE(st.ok()) << k.algorithm << ": " << st.ToString();
    EXPECT_EQ(result, "NOERROR") << k.algorithm;
    EXPECT_EQ(named_->Lookup(host, "A"), Set{"192.0.2." + std::to_string(30 + i)}) << k.algorithm;
  }
}

TEST_F(Rfc2136Test, ZoneTheServerDoesNotServeIsReported) {
  PublisherConfig c = Config("x.elsewhere.test.", Key(0));
  std::string result;
  Status st = UpdateOnce(c, {"192.0.2.24"}, &result);
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(result == "NOTAUTH" || result == "REFUSED" || result == "NOTZONE") << result;
  EXPECT_NE(st.message().find("elsewhere.test."), std::string::npos) << st.message();
}

TEST_F(Rfc2136Test, NoServerListeningIsRefusedQuickly) {
  PublisherConfig c = Config("dead.arca.test.", Key(0));
  int port = testing::internal_named::FreePort();
  c.server = "127.0.0.1:" + std::to_string(port);
  std::string result;
  SteadyTime t0 = RealClock().SteadyNow();
  Status st = UpdateOnce(c, {"192.0.2.25"}, &result);
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_EQ(result, "refused");
  EXPECT_LT(RealClock().SteadyNow() - t0, std::chrono::milliseconds(2500));
}

// A UDP (and TCP) endpoint on loopback scripted per test.
class FakeDnsServer {
 public:
  enum class Mode { kSilent, kTruncate, kUnsigned };
  FakeDnsServer(Mode mode, int tcp_upstream_port) : mode_(mode), upstream_(tcp_upstream_port) {
    port_ = testing::internal_named::FreePort();
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port_));
    udp_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    tcp_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(tcp_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ok_ = ::bind(udp_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
          ::bind(tcp_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(tcp_, 4) == 0;
    thread_ = std::thread([this] { Loop(); });
  }
  ~FakeDnsServer() {
    stop_ = true;
    thread_.join();
    ::close(udp_);
    ::close(tcp_);
  }
  bool ok() const { return ok_; }
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }
  int tcp_queries() const { return tcp_queries_; }

 private:
  void Loop() {
    while (!stop_) {
      pollfd p[2] = {{udp_, POLLIN, 0}, {tcp_, POLLIN, 0}};
      if (::poll(p, 2, 20) <= 0) continue;
      if (p[0].revents & POLLIN) Udp();
      if (p[1].revents & POLLIN) Tcp();
    }
  }
  void Udp() {
    char buf[4096];
    sockaddr_in from{};
    socklen_t len = sizeof from;
    ssize_t n = ::recvfrom(udp_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 12 || mode_ == Mode::kSilent) return;
    std::string ans(buf, 12);
    ans[2] = static_cast<char>(0x80 | (ans[2] & 0x78) | (mode_ == Mode::kTruncate ? 0x02 : 0));
    ans[3] = 0;  // NOERROR
    for (int i = 4; i < 12; ++i) ans[i] = 0;
    ::sendto(udp_, ans.data(), ans.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
  }
  static bool ReadN(int fd, char* out, std::size_t n) {
    while (n > 0) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 2000) <= 0) return false;
      ssize_t r = ::recv(fd, out, n, 0);
      if (r <= 0) return false;
      out += r;
      n -= static_cast<std::size_t>(r);
    }
    return true;
  }
  // Relays one framed query to named over TCP and its answer back.
  void Tcp() {
    int c = ::accept4(tcp_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return;
    ++tcp_queries_;
    char hdr[2];
    if (ReadN(c, hdr, 2)) {
      std::size_t n = (static_cast<uint8_t>(hdr[0]) << 8) | static_cast<uint8_t>(hdr[1]);
      std::string q(n, '\0');
      int up = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(static_cast<uint16_t>(upstream_));
      if (ReadN(c, q.data(), n) && ::connect(up, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
        std::string framed = std::string(hdr, 2) + q;
        ::send(up, framed.data(), framed.size(), MSG_NOSIGNAL);
        char ah[2];
        if (ReadN(up, ah, 2)) {
          std::size_t an = (static_cast<uint8_t>(ah[0]) << 8) | static_cast<uint8_t>(ah[1]);
          std::string answer(an, '\0');
          if (ReadN(up, answer.data(), an)) {
            std::string out = std::string(ah, 2) + answer;
            ::send(c, out.data(), out.size(), MSG_NOSIGNAL);
          }
        }
      }
      ::close(up);
    }
    ::close(c);
  }

  Mode mode_;
  int upstream_;
  int port_ = 0;
  int udp_ = -1, tcp_ = -1;
  bool ok_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<int> tcp_queries_{0};
  std::thread thread_;
};

TEST_F(Rfc2136Test, SilentServerTimesOutWithinTheTimeout) {
  FakeDnsServer fake(FakeDnsServer::Mode::kSilent, named_->port());
  ASSERT_TRUE(fake.ok());
  PublisherConfig c = Config("silent.arca.test.", Key(0));
  c.server = fake.server();
  c.timeout = std::chrono::milliseconds(300);
  std::string result;
  SteadyTime t0 = RealClock().SteadyNow();
  Status st = UpdateOnce(c, {"192.0.2.26"}, &result);
  auto took = RealClock().SteadyNow() - t0;
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_EQ(result, "timeout");
  EXPECT_GE(took, std::chrono::milliseconds(250));
  EXPECT_LT(took, std::chrono::milliseconds(2000));
}

TEST_F(Rfc2136Test, TruncatedAnswerIsRetriedOverTcp) {
  FakeDnsServer fake(FakeDnsServer::Mode::kTruncate, named_->port());
  ASSERT_TRUE(fake.ok());
  PublisherConfig c = Config("tcp.arca.test.", Key(0));
  c.server = fake.server();
  std::string result;
  Status st = UpdateOnce(c, {"192.0.2.27"}, &result);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(result, "NOERROR");
  EXPECT_EQ(fake.tcp_queries(), 1);
  EXPECT_EQ(named_->Lookup("tcp.arca.test.", "A"), Set{"192.0.2.27"});
}

TEST_F(Rfc2136Test, UnsignedNoErrorIsNotTrusted) {
  FakeDnsServer fake(FakeDnsServer::Mode::kUnsigned, named_->port());
  ASSERT_TRUE(fake.ok());
  PublisherConfig c = Config("spoofed.arca.test.", Key(0));
  c.server = fake.server();
  std::string result;
  Status st = UpdateOnce(c, {"192.0.2.28"}, &result);
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_EQ(result, "badsig");
}

TEST_F(Rfc2136Test, InvalidConfigIsRejectedBeforeSending) {
  PublisherConfig c = Config("invalid.arca.test.", Key(0));
  std::string result;
  Status st = UpdateOnce(c, {"not-an-ip"}, &result);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(result, "invalid");
  EXPECT_NE(st.message().find("addresses"), std::string::npos);
}

}  // namespace
}  // namespace arca::dns
