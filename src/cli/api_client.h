// arca CLI: the Vault API client, after Vault's Go `api` package.
//
// Client turns (method, logical path, query, JSON body) into one HTTP
// exchange under /v1/, sending X-Vault-Request and X-Vault-Token, following
// one 301/302/307 redirect with the same method and body, and retrying
// 5xx (but 501)/412/429 and transport failures `max_retries` times. Errors
// carry Vault's ResponseError text ("Error making API request.\n\nURL: GET
// ...\nCode: 403. Errors:\n\n* permission denied") with a Code derived from
// the HTTP status (see CodeForHttpStatus), so callers branch on the code.
// The Logical* helpers reproduce the Go client's handling of 404 and empty
// bodies. A Client is used from one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "cli/http_client.h"
#include "cli/output.h"

namespace arca::cli {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

struct ClientConfig {
  std::string address = "https://127.0.0.1:8200";
  std::string token;
  std::string namespace_name;  // X-Vault-Namespace when non-empty
  std::string wrap_ttl;        // X-Vault-Wrap-TTL when non-empty
  HeaderList extra_headers;
  bool disable_redirects = false;
  int max_retries = 0;  // the CLI's default, as Vault's (VAULT_MAX_RETRIES overrides)
};

struct ApiResponse {
  long status = 0;
  HeaderList headers;
  std::string body;
  std::string method;  // of the request that got this response
  std::string url;     // idem, as sent (after a redirect, the new URL)

  std::string Header(std::string_view name) const { return HeaderValue(headers, name); }
};

// HTTP status → Code: 400 kInvalidArgument, 403 kPermissionDenied, 404
// kNotFound, 405 kUnsupportedOperation, 412 kFailedPrecondition, 413
// kTooLarge, 415 kUnsupportedMediaType, 429 kResourceExhausted, 503 kSealed
// when the errors say "Vault is sealed" else kUnavailable, other 5xx
// kInternal, anything else kInternal.
Code CodeForHttpStatus(long status, const std::vector<std::string>& errors);

// The error for a response with status >= 400, formatted as the Go client's
// ResponseError.Error(). The returned Status is never OK.
Status ResponseErrorStatus(const ApiResponse& resp);

// The `errors` array of an error body (empty if none or not JSON).
std::vector<std::string> ResponseErrors(std::string_view body);

// Go's url.PathEscape-like escaping of a logical path (keeps '/').
std::string EscapePath(std::string_view path);
// Go's url.Values.Encode: sorted by key, query-escaped.
std::string EncodeQuery(QueryParams params);

class Client {
 public:
  using Sleeper = std::function<void(int64_t millis)>;
  Client(ClientConfig cfg, HttpTransport& transport, Sleeper sleep = nullptr);

  const std::string& token() const { return cfg_.token; }
  void set_token(std::string t) { cfg_.token = std::move(t); }
  const std::string& address() const { return cfg_.address; }

  // One request to /v1/<path>. Returns the response for every HTTP status; a
  // non-OK Status (kUnavailable, `Get "<url>": <reason>`) only when no
  // response arrived. `content_type` defaults to application/json when a
  // body is given.
  StatusOr<ApiResponse> Raw(const std::string& method, std::string_view path,
                            const QueryParams& query = {}, const std::optional<Json>& body = std::nullopt,
                            const std::string& content_type = "");
  // Raw with `body` sent byte for byte (binary safe; nullopt: no body) under
  // Content-Type `content_type` (application/json when empty), e.g. a raft
  // snapshot. Same redirect, retry and error rules as Raw.
  StatusOr<ApiResponse> RawBytes(const std::string& method, std::string_view path,
                                 const QueryParams& query, const std::optional<std::string>& body,
                                 const std::string& content_type);
  // Raw, but a status >= 400 becomes ResponseErrorStatus.
  StatusOr<ApiResponse> Do(const std::string& method, std::string_view path,
                           const QueryParams& query = {}, const std::optional<Json>& body = std::nullopt,
                           const std::string& content_type = "");

 private:
  StatusOr<ApiResponse> SendOnce(const std::string& method, const std::string& url,
                                 const std::optional<std::string>& body,
                                 const std::string& content_type);

  ClientConfig cfg_;
  HttpTransport& transport_;
  Sleeper sleep_;
};

// Parses a response body as an envelope: nullopt for an empty body,
// kInternal for a body that is not a JSON object.
StatusOr<std::optional<Json>> ParseSecret(std::string_view body);

// The outcome of a logical call: `error` is OK or the failure; `secret` may
// be set in both cases (Vault prints it after the error, e.g. a 404 that
// carried warnings).
struct LogicalResult {
  Status error;
  std::optional<Json> secret;
  long http_status = 0;
};

// GET <path>[?query]. A 404 yields no error and a secret only if its body
// has data or warnings (KV v2 deleted versions).
LogicalResult LogicalRead(Client& c, std::string_view path, const QueryParams& query = {});
// GET <path>?list=true with LogicalRead's 404 rules.
LogicalResult LogicalList(Client& c, std::string_view path);
// PUT <path> with `data`. A 404 with data/warnings gives error and secret.
LogicalResult LogicalWrite(Client& c, std::string_view path, const Json& data);
// PATCH <path>, Content-Type application/merge-patch+json.
LogicalResult LogicalMergePatch(Client& c, std::string_view path, const Json& data);
// DELETE <path>[?query].
LogicalResult LogicalDelete(Client& c, std::string_view path, const QueryParams& query = {});

}  // namespace arca::cli
