// arca: the Vault wire codec, HTTP messages ⇄ logical requests and responses.
//
// Pure functions over plain structs (no sockets, no Beast types), so every
// rule can be unit-tested; the server converts Beast messages to and from
// HttpRequest/HttpResponse. Safe for concurrent use.
//
// Decisions where arca differs from Vault's Go server (documented here once):
// * Paths outside /v1/ ("/", "/ui", "/robots.txt", ...) are 404 {"errors":[]};
//   there is no UI to redirect to.
// * Runs of '/' in the logical path are collapsed ("a//b" → "a/b") and
//   leading slashes dropped, where Go's mux would answer 301 to the cleaned
//   path. Encoded separators (%2F) decode to '/' before that, as in Vault.
// * A "." or ".." segment, or a NUL/control byte anywhere in the decoded
//   path, is 400 "invalid path" instead of a 301.
// * GET ?list=false is a read with `list` removed from data, like list=true.
// * A read (GET/HEAD) whose response is empty is 404 {"errors":[]}; a list
//   with no keys is 404 unless it carries warnings or other data (Vault's
//   RespondErrorCommon).
// * JSON numbers are parsed by nlohmann::json: integers up to 64 bits keep
//   their value exactly, other numbers become doubles (Go keeps the literal).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "logical/request.h"

namespace arca::http {

using Json = nlohmann::json;
using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Deepest JSON nesting accepted in a request body.
inline constexpr int kMaxJsonDepth = 100;

struct HttpRequest {
  std::string method;  // as sent: "GET", "LIST", ...
  std::string target;  // request-target: "/v1/secret/data/a?version=2"
  HeaderList headers;  // names as sent; lookups are case-insensitive
  std::string body;
  std::string remote_address;
  uint16_t remote_port = 0;
};

struct HttpResponse {
  int status = 200;
  std::string content_type;  // empty: no Content-Type header
  std::string body;
  HeaderList headers;  // extra headers (Cache-Control is added by the server)
};

// The request-target split into the logical path and the query.
struct Target {
  std::string path;  // "/v1/" stripped, decoded, normalised; no leading '/'
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
};

// First header named `name` (case-insensitive), or nullopt.
std::optional<std::string> FindHeader(const HeaderList& headers, std::string_view name);

// Errors: NotFound("") for a target outside /v1/ or an empty logical path;
// InvalidArgument for a bad escape or an invalid segment (see above).
// Query pairs with a bad escape or a ';' are dropped, as Go's URL.Query does.
StatusOr<Target> ParseTarget(std::string_view target);

// Query → request data as Vault's parseQuery: one value → string, repeated
// key → list of strings, `help` dropped; null when nothing is left.
Json QueryToData(const std::vector<std::pair<std::string, std::string>>& query);

// A JSON request body: an object, or null for an empty body or `null`.
// Errors: InvalidArgument "error parsing JSON" (bad syntax, nesting deeper
// than kMaxJsonDepth, or a body that is not an object).
StatusOr<Json> ParseJsonBody(std::string_view body);

// Whether Vault would parse this body as a form: Content-Type
// application/x-www-form-urlencoded and the first non-space byte is not '{'/'['.
bool IsFormBody(std::optional<std::string_view> content_type, std::string_view body);

// application/x-www-form-urlencoded → object (repeated keys joined with ','),
// null when empty. Errors: InvalidArgument on a bad escape.
StatusOr<Json> ParseFormBody(std::string_view body);

// The media type of a Content-Type value, lowercased, parameters dropped.
// Errors: InvalidArgument ("mime: no media type", "mime: expected token ...").
StatusOr<std::string> ParseMediaType(std::string_view content_type);

// The whole request decode: method mapping, path, body, token and headers.
// Sets id (a new UUID), operation, path, data, headers (lowercased, repeated
// ones joined with ", ", without x-vault-token and authorization),
// client_token (X-Vault-Token, else `Authorization: Bearer`), wrap_ttl (only
// when > 0) and the remote address. POST/PUT to sys/storage/raft/snapshot
// and snapshot-force keep the body unparsed in raw_body (data null, any
// Content-Type). Errors (each mapped by errors.h):
// NotFound (not /v1/), InvalidArgument (path, list flag, body, wrap TTL,
// write to a path ending in '/'), UnsupportedOperation (unknown verb),
// UnsupportedMediaType (PATCH without merge-patch JSON).
StatusOr<logical::Request> DecodeRequest(const HttpRequest& http);
// The same with the target already parsed by ParseTarget(http.target).
StatusOr<logical::Request> DecodeRequest(const HttpRequest& http, const Target& target);

// What EncodeResponse needs to know about the request it answers (core may
// rewrite the Request it is handed, so the caller keeps these aside).
struct RequestInfo {
  std::string id;
  logical::Operation operation = logical::Operation::kRead;
  std::string path;
  bool head = false;  // HEAD: same status and headers, no body
};
RequestInfo InfoFor(const logical::Request& req, const HttpRequest& http);

// Renders core's answer: the envelope (200, or resp.http_status), 204 for an
// empty response, the raw body verbatim (resp.http_status or 200, with
// resp.content_type), the 404 rules for reads and lists, or the error
// envelope for a Status.
HttpResponse EncodeResponse(const RequestInfo& info, const StatusOr<logical::Response>& result);

// The envelope JSON of a response (data injected at the top level when
// `inject_data`).
Json Envelope(const std::string& request_id, const logical::Response& resp, bool inject_data);

// JsonResponse(status, Envelope(request_id, resp, false)), byte for byte,
// without building the envelope tree.
HttpResponse EnvelopeResponse(int status, const std::string& request_id,
                              const logical::Response& resp);

// Whether the logical path is one of the sys routes whose data Vault copies
// to the top level of the envelope (sys/mounts, sys/policy/x, ...).
bool InjectsDataAtTopLevel(std::string_view path);

// A JSON response: `body` dumped as Go's encoder does (trailing newline),
// Content-Type application/json.
HttpResponse JsonResponse(int status, const Json& body);

}  // namespace arca::http
