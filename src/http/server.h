// arca: http::Server, the HTTP/1.1 listeners (Boost.Beast, TLS via OpenSSL).
//
// Start() binds every listener and serves on an io_context run by
// `io_threads` threads; each request that may block (writes, and every
// request while the node is an HA standby, since those are forwarded to the
// active) is handed to a separate pool of `worker_threads` that calls the
// Handler, so a storage fsync or a forward never stalls other connections.
// Keep-alive, Expect: 100-continue and these limits are honoured:
// * body over ListenerConfig::max_request_size → 413
//   {"errors":["http: request body too large"]} (checked against
//   Content-Length before the body is read), then close;
// * header block over ServerOptions::max_header_bytes → 431 JSON, then close;
// * headers not complete within header_timeout of their first byte, or the
//   whole request not read within max_request_duration → close;
// * no new request within idle_timeout on a kept-alive connection → close.
// These deadlines (and header_timeout for the TLS handshake) are kept per
// connection against ServerOptions::clock's steady time and enforced by one
// periodic sweep per server (every 250 ms, or a quarter of the shortest
// timeout if that is less), so a connection is closed up to one sweep after
// its deadline.
// A TLS listener speaks only TLS (1.2+ or 1.3+ per tls_min_version); the cert
// file may hold a chain, the key file is PEM.
//
// Every response carries `Cache-Control: no-store` and is written as one
// buffer (SerializeResponse). Request lines are logged at debug with bounded
// labels only (never paths, queries, tokens or bodies).
//
// Start, Stop and the accessors may be called from any one thread; Stop is
// idempotent and also run by the destructor.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/metrics.h"
#include "base/status.h"
#include "http/api.h"
#include "http/codec.h"

namespace arca::http {

struct ListenerConfig {
  std::string address = "127.0.0.1:8200";  // host:port, [v6]:port; port 0 picks one
  bool tls_disable = false;
  std::string tls_cert_file;  // PEM, leaf first, may hold the chain
  std::string tls_key_file;   // PEM
  std::string tls_min_version = "tls12";  // "tls12" or "tls13"
  int64_t max_request_size = 32 << 20;    // bytes; <= 0 means the default
  int64_t max_request_duration_seconds = 90;
};

struct ServerOptions {
  std::chrono::milliseconds header_timeout{10000};  // also bounds the TLS handshake
  std::chrono::milliseconds idle_timeout{60000};
  // Overrides max_request_duration_seconds when non-zero (tests).
  std::chrono::milliseconds request_timeout{0};
  // Stop() lets in-flight requests finish for at most this long.
  std::chrono::milliseconds shutdown_grace{10000};
  std::size_t max_header_bytes = 64 * 1024;
  int io_threads = 0;       // 0: hardware_concurrency, at least 2
  int worker_threads = 16;  // threads calling into core; 0 = inline on the io threads
  // HA standby: answer 307 to the active instead of forwarding requests.
  bool standby_redirect = false;
  // PEM CA bundle that verifies the active node when forwarding; empty: the
  // system roots. Forwarded requests time out after request_timeout when it
  // is set, else 90 s.
  std::string forwarding_ca_file;
  Clock* clock = nullptr;                  // deadlines, metrics; null: RealClock()
  metrics::Registry* registry = nullptr;   // null: metrics::DefaultRegistry()
};

// Appends to `*out` the bytes the server sends for `res` in answer to a
// request of HTTP version `http_version` (10 = 1.0, 11 = 1.1):
// * "HTTP/x.y <status> <standard reason phrase>";
// * Cache-Control: no-store, Content-Type when res.content_type is set, then
//   res.headers in order; a header replaces an earlier one of the same name
//   (case-insensitive), values lose surrounding spaces and tabs. A header
//   whose name is empty or whose name or value holds CR, LF or NUL is dropped
//   (warning logged). Connection, Content-Length and Transfer-Encoding in
//   res.headers are ignored: the server frames the message;
// * Content-Length unless the status is bodiless (1xx, 204, 304);
// * for 1.1 (and later) `Connection: close` unless `keep_alive`, for 1.0
//   `Connection: keep-alive` when `keep_alive`;
// * the body, except for a bodiless status.
// Thread-safe.
void SerializeResponse(const HttpResponse& res, unsigned http_version, bool keep_alive,
                       std::string* out);

class Server {
 public:
  // `api` must outlive the server.
  explicit Server(Api& api, ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds all listeners and starts serving. Call once. Errors:
  // InvalidArgument (bad address, TLS files or version), Unavailable (the
  // address cannot be bound, e.g. "listen tcp 127.0.0.1:8200: Address
  // already in use"). On error nothing is left listening.
  Status Start(const std::vector<ListenerConfig>& listeners);

  // The bound "host:port" of each listener, in Start's order (useful with
  // port 0).
  std::vector<std::string> Addresses() const;
  std::vector<uint16_t> Ports() const;

  // Stops accepting, closes idle connections, lets in-flight requests
  // finish (up to shutdown_grace), then closes everything and joins threads.
  void Stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace arca::http
