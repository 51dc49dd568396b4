// arca auth/jwt (internal): bounded HTTP(S) requests to an identity provider.
//
// One blocking request per call through libcurl: only http:// and https://
// URLs (redirects, GET only, at most 5 and to http/https only), 10 s connect
// and total timeouts, the response body capped at 1 MiB. With a non-empty
// `ca_pem` only those certificates are trusted (as Vault's
// oidc_discovery_ca_pem / jwks_ca_pem); otherwise the system store is used.
// Safe for concurrent use. Request bodies and headers may carry secrets
// (client_secret, codes, bearer tokens): nothing here logs them.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace arca::auth::jwt {

inline constexpr std::size_t kMaxResponseBytes = 1 << 20;

struct HttpRequest {
  std::string method = "GET";  // "GET" or "POST"
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;    // POST only
  std::string ca_pem;  // empty: system trust store
};

struct HttpResponse {
  long status = 0;
  std::string content_type;  // lowercased media type without parameters
  std::string body;
};

// Performs the request. Any HTTP status is a successful result (the caller
// judges it). Errors (all Unavailable): unsupported scheme, bad CA PEM,
// connection / TLS / timeout failures, a body over kMaxResponseBytes. The
// message reads like Go's: `Get "<url>": <reason>`.
StatusOr<HttpResponse> Fetch(const HttpRequest& req);

// Whether `pem` holds at least one parseable X.509 certificate.
bool ValidCaPem(const std::string& pem);

// "200 OK", "404 Not Found", ... as Go's resp.Status.
std::string StatusLine(long status);

// application/x-www-form-urlencoded encoding of one value (Go's
// url.QueryEscape: space as '+').
std::string FormEscape(std::string_view s);

}  // namespace arca::auth::jwt
