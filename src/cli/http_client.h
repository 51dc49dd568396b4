// arca CLI: a tiny HTTP(S) transport over libcurl.
//
// HttpTransport sends one request and returns status, headers and body; it
// never follows redirects and never retries (the API client above it does
// both, as Vault's Go client does). CurlTransport is the real one; tests use
// their own fake. A CurlTransport may be used from one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace arca::cli {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// First header with this name (case-insensitive), or "".
std::string HeaderValue(const HeaderList& headers, std::string_view name);

struct HttpRequest {
  std::string method;  // "GET", "PUT", "PATCH", ...
  std::string url;     // absolute, already percent-encoded
  HeaderList headers;
  std::optional<std::string> body;  // nullopt: no body at all
};

struct HttpResponse {
  long status = 0;
  HeaderList headers;  // names as received
  std::string body;

  std::string Header(std::string_view name) const { return HeaderValue(headers, name); }
};

struct TlsOptions {
  std::string ca_cert;      // PEM file
  std::string ca_path;      // directory of PEM files
  std::string client_cert;  // PEM file
  std::string client_key;   // PEM file
  std::string server_name;  // SNI / verification name override
  bool skip_verify = false;
};

struct HttpOptions {
  TlsOptions tls;
  int64_t timeout_seconds = 60;
  std::size_t max_body_bytes = 64u << 20;  // responses larger than this fail
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Sends `req`. Returns the response for any HTTP status; a non-OK Status
  // (kUnavailable, message in the style of Go's net/http errors without the
  // method/URL prefix) only when no response was received.
  virtual StatusOr<HttpResponse> Send(const HttpRequest& req) = 0;
};

class CurlTransport final : public HttpTransport {
 public:
  explicit CurlTransport(HttpOptions opts);
  StatusOr<HttpResponse> Send(const HttpRequest& req) override;

 private:
  HttpOptions opts_;
};

std::unique_ptr<HttpTransport> MakeCurlTransport(const HttpOptions& opts);

}  // namespace arca::cli
