// arca: http::Forwarder, a standby's HTTP proxy to the active node.
//
// A standby passes every request but the raw sys endpoints to the active
// node's api_addr over HTTP(S) (libcurl) and answers with the active's
// response unchanged. The request keeps its method (LIST and PATCH too), its
// target as received (path and query, no normalisation), its body and every
// end-to-end header; hop-by-hop headers (Connection and the names it lists,
// Keep-Alive, Proxy-*, TE, Trailer, Transfer-Encoding, Upgrade, Host,
// Content-Length, Expect) are dropped both ways. The forwarder appends the
// client address to X-Forwarded-For and, when the cluster forwarding key is
// known, sends
//   X-Arca-Forwarded-For: <client addr>
//   X-Arca-Forward-Auth:  <hex HMAC-SHA256(key, addr "\n" method "\n" target)>
// so that the active can trust the client address (the Handler checks it:
// VerifyForwardAuth). Incoming X-Arca-* headers are never passed on.
//
// Failure semantics (Vault's http/handler.go, where a forwarding error falls
// back to respondStandby): when the active cannot be reached (DNS, connect,
// TLS handshake or peer verification fails, i.e. nothing was sent) the
// Handler answers 307 to the active instead, as Vault does. A failure after
// the request was sent (timeout, reset, a response over the size bound) is
// not redirected, since the active may have executed the request: the
// Handler answers 500 {"errors":["error forwarding request: <reason>"]}.
//
// Connections are reused: a bounded pool of curl handles, each keeping its
// own keep-alive connections. Safe for concurrent use.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/secure.h"
#include "base/status.h"
#include "http/codec.h"

namespace arca::http {

inline constexpr std::string_view kForwardedForHeader = "X-Arca-Forwarded-For";
inline constexpr std::string_view kForwardAuthHeader = "X-Arca-Forward-Auth";

struct ForwarderOptions {
  std::string ca_file;  // PEM bundle that verifies the active; empty: system roots
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds timeout{90000};  // whole exchange (Vault's 90 s default)
  std::size_t max_response_bytes = 64u << 20;
  std::size_t max_idle_handles = 64;  // curl handles kept for reuse
};

// The X-Arca-Forward-Auth value for a request: lowercase hex of
// HMAC-SHA256(key, client_addr "\n" method "\n" target).
std::string ForwardAuth(const SecureBytes& key, std::string_view client_addr,
                        std::string_view method, std::string_view target);

// Whether `auth` is ForwardAuth(key, ...) (constant-time comparison).
bool VerifyForwardAuth(const SecureBytes& key, std::string_view client_addr,
                       std::string_view method, std::string_view target, std::string_view auth);

// Whether `name` is a hop-by-hop header in the sense above (case-insensitive;
// the names a Connection header lists are checked by the forwarder itself).
bool IsHopByHopHeader(std::string_view name);

// "scheme://host[:port]" of an api_addr ("https://" when it has no scheme;
// any path is dropped), or InvalidArgument for an address that is empty, has
// a scheme other than http/https, or no host.
StatusOr<std::string> ApiAddrOrigin(std::string_view api_addr);

class Forwarder {
 public:
  explicit Forwarder(ForwarderOptions options = {});
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  // Sends `req` to the node at `api_addr` and returns its response for any
  // HTTP status: status, content_type, the end-to-end headers (repeated
  // names joined with ", ") and the body. `key` signs the client address
  // (nullopt: only X-Forwarded-For is sent). Errors: InvalidArgument (bad
  // api_addr), Unavailable (the active could not be reached; the request was
  // not sent), Internal (the exchange failed after sending).
  StatusOr<HttpResponse> Forward(std::string_view api_addr, const HttpRequest& req,
                                 const std::optional<SecureBytes>& key);

  // Idle curl handles currently pooled (tests).
  std::size_t IdleHandlesForTest() const;

 private:
  struct Pool;
  ForwarderOptions options_;
  std::unique_ptr<Pool> pool_;
};

}  // namespace arca::http
