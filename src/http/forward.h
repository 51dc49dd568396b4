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
//   X-Arca-Forward-Auth:  v2:<unix seconds>:<hex HMAC>   (ForwardAuth below)
// so that the active can trust the client address (the Handler checks it:
// VerifyForwardAuth). The MAC binds the address to the method, target,
// token and body of this one request and to the time it was sent, so a
// header pair seen on the wire cannot vouch for another request, and for
// the same one only within kForwardAuthMaxSkew. Incoming X-Arca-* headers
// are never passed on.
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
#include <cstdint>
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

// How far a forwarded request's timestamp may be from the receiving node's
// clock, either way. The nodes' clocks must agree within it (NTP): beyond
// it the active ignores the forwarded client address.
inline constexpr std::chrono::seconds kForwardAuthMaxSkew{60};

// What an X-Arca-Forward-Auth value vouches for: the request exactly as the
// receiving node reads it. Views; the caller keeps the bytes alive.
struct ForwardAuthInput {
  std::string_view client_addr;
  std::string_view method;
  std::string_view target;  // as sent, path and query
  std::string_view token;   // ForwardAuthToken(headers)
  std::string_view body;    // as sent (empty for HEAD)
};

// The token a request authenticates with, as the codec picks it: the first
// X-Vault-Token value when it is non-empty, otherwise the first
// Authorization value whole (any scheme), otherwise "". A view into
// `headers`.
std::string_view ForwardAuthToken(const HeaderList& headers);

// The X-Arca-Forward-Auth value for `in` sent at `unix_seconds`:
//   "v2:" unix ":" lowercase hex HMAC-SHA256(key, "v2\n" unix "\n" client_addr
//   "\n" method "\n" target "\n" hex(SHA-256(token)) "\n" hex(SHA-256(body)))
// with unix in decimal without leading zeros.
std::string ForwardAuth(const SecureBytes& key, const ForwardAuthInput& in, int64_t unix_seconds);

// Whether `auth` is ForwardAuth(key, in, t) for a t within
// kForwardAuthMaxSkew of `now_unix` (constant-time MAC comparison). False
// for an empty key and for any malformed value (other version tag, missing
// parts, a time that is not a non-negative 64-bit decimal). Values of the
// first format (a bare hex MAC) are not accepted.
bool VerifyForwardAuth(const SecureBytes& key, const ForwardAuthInput& in, std::string_view auth,
                       int64_t now_unix);

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
  // names joined with ", ") and the body. `key` signs the client address,
  // with the real clock's time at send (nullopt: only X-Forwarded-For is
  // sent). Errors: InvalidArgument (bad api_addr), Unavailable (the active
  // could not be reached; the request was not sent), Internal (the exchange
  // failed after sending).
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
