// arca auth tests: keys, JWT signing, a loopback HTTP server and the
// backend fixture shared by the jwt/oidc tests. Header-only (the test glob
// compiles *_test.cc only).
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "auth/auth.h"
#include "base/encoding.h"
#include "logical/backend.h"
#include "storage/inmem.h"
#include "support/fake_clock.h"

namespace arca::auth::testing {

using logical::Json;
using logical::Operation;

// --- keys -------------------------------------------------------------------

struct TestKey {
  std::shared_ptr<EVP_PKEY> pkey;
  std::string kind;  // "RSA", "P-256", "P-384", "P-521", "Ed25519"
};

inline TestKey MakeKey(const std::string& kind, int rsa_bits = 2048) {
  EVP_PKEY* p = nullptr;
  if (kind == "RSA") {
    p = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t(rsa_bits));
  } else if (kind == "Ed25519") {
    p = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  } else {
    p = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", kind.c_str());
  }
  EXPECT_NE(p, nullptr) << "keygen " << kind;
  return TestKey{std::shared_ptr<EVP_PKEY>(p, EVP_PKEY_free), kind};
}

// Generated once per process (RSA generation is slow).
inline const TestKey& CachedKey(const std::string& kind, int index = 0) {
  static std::mutex mu;
  static std::map<std::pair<std::string, int>, TestKey> keys;
  std::lock_guard l(mu);
  auto it = keys.find({kind, index});
  if (it == keys.end()) it = keys.emplace(std::make_pair(kind, index), MakeKey(kind)).first;
  return it->second;
}

inline std::string PublicPem(const TestKey& k) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, k.pkey.get());
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, size_t(len));
  BIO_free(bio);
  return out;
}

inline std::string BnParam(EVP_PKEY* p, const char* name, int pad = 0) {
  BIGNUM* bn = nullptr;
  EVP_PKEY_get_bn_param(p, name, &bn);
  int len = pad ? pad : BN_num_bytes(bn);
  std::string out(size_t(len), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), len);
  BN_free(bn);
  return out;
}

inline Json PublicJwk(const TestKey& k, const std::string& kid) {
  Json j = {{"kid", kid}, {"use", "sig"}};
  if (k.kind == "RSA") {
    j["kty"] = "RSA";
    j["n"] = Base64UrlEncode(BnParam(k.pkey.get(), OSSL_PKEY_PARAM_RSA_N));
    j["e"] = Base64UrlEncode(BnParam(k.pkey.get(), OSSL_PKEY_PARAM_RSA_E));
  } else if (k.kind == "Ed25519") {
    unsigned char raw[32];
    size_t len = sizeof(raw);
    EVP_PKEY_get_raw_public_key(k.pkey.get(), raw, &len);
    j["kty"] = "OKP";
    j["crv"] = "Ed25519";
    j["x"] = Base64UrlEncode(std::string(reinterpret_cast<char*>(raw), len));
  } else {
    int size = k.kind == "P-256" ? 32 : k.kind == "P-384" ? 48 : 66;
    j["kty"] = "EC";
    j["crv"] = k.kind;
    j["x"] = Base64UrlEncode(BnParam(k.pkey.get(), OSSL_PKEY_PARAM_EC_PUB_X, size));
    j["y"] = Base64UrlEncode(BnParam(k.pkey.get(), OSSL_PKEY_PARAM_EC_PUB_Y, size));
  }
  return j;
}

// --- signing ----------------------------------------------------------------

inline const EVP_MD* DigestFor(const std::string& alg) {
  if (alg.size() == 5 && alg.substr(2) == "256") return EVP_sha256();
  if (alg.size() == 5 && alg.substr(2) == "384") return EVP_sha384();
  if (alg.size() == 5 && alg.substr(2) == "512") return EVP_sha512();
  return nullptr;
}

inline std::string RawSign(const TestKey& k, const std::string& alg, const std::string& input) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  const EVP_MD* md = alg == "EdDSA" ? nullptr : DigestFor(alg);
  EXPECT_EQ(EVP_DigestSignInit(ctx, &pctx, md, nullptr, k.pkey.get()), 1);
  if (alg[0] == 'P') {
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
  }
  size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  EVP_DigestSign(ctx, nullptr, &len, in, input.size());
  std::string sig(len, '\0');
  EXPECT_EQ(
      EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, in, input.size()), 1);
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  if (alg[0] == 'E' && alg != "EdDSA") {  // DER → r||s
    int half = alg == "ES256" ? 32 : alg == "ES384" ? 48 : 66;
    const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, long(sig.size()));
    std::string raw(size_t(2 * half), '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()), half);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data()) + half, half);
    ECDSA_SIG_free(es);
    return raw;
  }
  return sig;
}

inline std::string Encode(const Json& header, const Json& claims) {
  return Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump());
}

inline std::string SignJwt(const TestKey& k, const std::string& alg, const Json& claims,
                           const std::string& kid = "") {
  Json header = {{"alg", alg}, {"typ", "JWT"}};
  if (!kid.empty()) header["kid"] = kid;
  std::string input = Encode(header, claims);
  return input + "." + Base64UrlEncode(RawSign(k, alg, input));
}

inline std::string HmacJwt(const std::string& secret, const Json& claims) {
  std::string input = Encode(Json{{"alg", "HS256"}, {"typ", "JWT"}}, claims);
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), int(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." + Base64UrlEncode(std::string(reinterpret_cast<char*>(mac), len));
}

// --- a loopback HTTP server -------------------------------------------------

struct HttpCall {
  std::string method;
  std::string target;                          // path and query
  std::map<std::string, std::string> headers;  // lowercased names
  std::string body;
};

struct HttpReply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

// Serves one request per connection on 127.0.0.1:<ephemeral> from a thread
// with a blocking accept loop. Routes by path (query stripped); a handler
// may be installed per path. Every call is recorded.
class TestHttpServer {
 public:
  using Handler = std::function<HttpReply(const HttpCall&)>;

  TestHttpServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Loop(); });
  }
  ~TestHttpServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }

  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  void Route(const std::string& path, Handler h) {
    std::lock_guard l(mu_);
    routes_[path] = std::move(h);
  }
  void Serve(const std::string& path, HttpReply reply) {
    Route(path, [reply](const HttpCall&) { return reply; });
  }
  std::vector<HttpCall> Calls(const std::string& path) const {
    std::lock_guard l(mu_);
    std::vector<HttpCall> out;
    for (const auto& c : calls_) {
      if (c.target.substr(0, c.target.find('?')) == path) out.push_back(c);
    }
    return out;
  }

 private:
  void Loop() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) {
        if (stop_) break;
        continue;
      }
      Handle(c);
      ::close(c);
    }
  }

  void Handle(int c) {
    std::string buf;
    char tmp[4096];
    std::size_t header_end;
    while ((header_end = buf.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = ::recv(c, tmp, sizeof(tmp), 0);
      if (n <= 0) return;
      buf.append(tmp, size_t(n));
    }
    HttpCall call;
    std::string head = buf.substr(0, header_end);
    std::size_t line_end = head.find("\r\n");
    std::string request_line = head.substr(0, line_end);
    call.method = request_line.substr(0, request_line.find(' '));
    std::size_t t0 = request_line.find(' ') + 1;
    call.target = request_line.substr(t0, request_line.find(' ', t0) - t0);
    std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      std::size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      std::string line = head.substr(pos, e - pos);
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (char& ch : name) ch = char(std::tolower(static_cast<unsigned char>(ch)));
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        call.headers[name] = value;
      }
      pos = e + 2;
    }
    std::size_t want = 0;
    if (auto it = call.headers.find("content-length"); it != call.headers.end()) {
      want = std::stoul(it->second);
    }
    call.body = buf.substr(header_end + 4);
    while (call.body.size() < want) {
      ssize_t n = ::recv(c, tmp, sizeof(tmp), 0);
      if (n <= 0) break;
      call.body.append(tmp, size_t(n));
    }
    HttpReply reply{404, "not found", "text/plain"};
    {
      std::lock_guard l(mu_);
      calls_.push_back(call);
      auto it = routes_.find(call.target.substr(0, call.target.find('?')));
      if (it != routes_.end()) reply = it->second(call);
    }
    std::string out = "HTTP/1.1 " + std::to_string(reply.status) +
                      " X\r\nContent-Type: " + reply.content_type +
                      "\r\nContent-Length: " + std::to_string(reply.body.size()) +
                      "\r\nConnection: close\r\n\r\n" + reply.body;
    std::size_t sent = 0;
    while (sent < out.size()) {
      ssize_t n = ::send(c, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += size_t(n);
    }
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::map<std::string, Handler> routes_;
  std::vector<HttpCall> calls_;
};

// --- the backend fixture ----------------------------------------------------

inline constexpr int64_t kMountMaxTtl = 2764800;

class JwtFixture : public ::testing::Test {
 protected:
  void SetUp() override { backend_ = MakeBackend("jwt"); }

  std::unique_ptr<logical::Backend> MakeBackend(const std::string& type) {
    logical::BackendConfig conf;
    conf.type = type;
    conf.mount_path = type + "/";
    conf.storage = &storage_;
    conf.clock = &clock_;
    auto b = JwtFactory()(conf);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return std::move(*b);
  }

  StatusOr<logical::Response> Do(Operation op, const std::string& path, Json data = nullptr,
                                 const std::string& remote = "127.0.0.1") {
    logical::Request req;
    req.operation = op;
    req.path = path;
    req.data = std::move(data);
    req.remote_address = remote;
    req.mount_point = "auth/jwt/";
    req.mount_type = "jwt";
    req.mount_default_ttl = kMountMaxTtl;
    req.mount_max_ttl = kMountMaxTtl;
    return backend_->HandleRequest(req);
  }

  // Writes and expects success.
  void Write(const std::string& path, const Json& data) {
    auto r = Do(Operation::kUpdate, path, data);
    ASSERT_TRUE(r.ok()) << path << ": " << r.status().ToString();
  }

  // The message of a failed request ("" if it succeeded).
  std::string Error(Operation op, const std::string& path, const Json& data) {
    auto r = Do(op, path, data);
    return r.ok() ? std::string() : r.status().message();
  }

  StatusOr<logical::Response> Login(const std::string& jwt, const std::string& role = "") {
    Json d = {{"jwt", jwt}};
    if (!role.empty()) d["role"] = role;
    return Do(Operation::kUpdate, "login", d);
  }

  int64_t Now() const { return clock_.UnixNow(); }

  Json Claims(Json extra = Json::object()) const {
    Json c = {{"iss", "https://aai.egi.eu/auth/realms/egi"},
              {"sub", std::string(64, 'a') + "@egi.eu"},
              {"iat", Now()},
              {"exp", Now() + 3600}};
    for (auto it = extra.begin(); it != extra.end(); ++it) {
      if (it->is_null()) {
        c.erase(it.key());
      } else {
        c[it.key()] = it.value();
      }
    }
    return c;
  }

  arca::testing::FakeClock clock_;
  storage::InMemBackend storage_;
  std::unique_ptr<logical::Backend> backend_;
};

}  // namespace arca::auth::testing
