// arca CLI: Vault API client (request building, redirects, retries, errors).
#include "cli/api_client.h"

#include <algorithm>
#include <cctype>

namespace arca::cli {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";

// Go's shouldEscape for encodePath: unreserved plus $&+,/:;=@ stay.
bool PathByteAllowed(unsigned char c) {
  if (std::isalnum(c)) return true;
  switch (c) {
    case '-': case '_': case '.': case '~': case '$': case '&': case '+': case ',':
    case '/': case ':': case ';': case '=': case '@':
      return true;
    default:
      return false;
  }
}

std::string QueryEscape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Go's net/http error prefix: "Get", "Put", "Delete", ...
std::string MethodOp(std::string_view method) {
  std::string op;
  for (std::size_t i = 0; i < method.size(); ++i)
    op += static_cast<char>(i == 0 ? std::toupper(static_cast<unsigned char>(method[i]))
                                   : std::tolower(static_cast<unsigned char>(method[i])));
  return op;
}

bool Retryable(long status) {
  return (status >= 500 && status != 501) || status == 429 || status == 412;
}

std::string SchemeOf(std::string_view url) {
  auto p = url.find("://");
  return p == std::string_view::npos ? "" : std::string(url.substr(0, p));
}

// Resolves a Location header against the request URL (absolute or
// absolute-path references; that is what Vault servers send).
std::string ResolveLocation(const std::string& base, const std::string& loc) {
  if (loc.find("://") != std::string::npos) return loc;
  auto scheme_end = base.find("://");
  if (scheme_end == std::string::npos) return loc;
  auto host_end = base.find('/', scheme_end + 3);
  std::string origin = host_end == std::string::npos ? base : base.substr(0, host_end);
  if (!loc.empty() && loc[0] == '/') return origin + loc;
  return origin + "/" + loc;
}

LogicalResult ReadLike(StatusOr<ApiResponse> r) {
  LogicalResult out;
  if (!r.ok()) {
    out.error = r.status();
    return out;
  }
  out.http_status = r->status;
  if (r->status == 404) {
    auto parsed = ParseSecret(r->body);
    if (!parsed.ok()) {
      out.error = parsed.status();
      return out;
    }
    if (*parsed) {
      const Json& s = **parsed;
      const Json& data = Field(s, "data");
      const Json& warnings = Field(s, "warnings");
      if ((data.is_object() && !data.empty()) || (warnings.is_array() && !warnings.empty()))
        out.secret = std::move(*parsed);
    }
    return out;
  }
  if (r->status >= 400) {
    out.error = ResponseErrorStatus(*r);
    return out;
  }
  auto parsed = ParseSecret(r->body);
  if (!parsed.ok()) out.error = parsed.status();
  else out.secret = std::move(*parsed);
  return out;
}

LogicalResult WriteLike(StatusOr<ApiResponse> r) {
  LogicalResult out;
  if (!r.ok()) {
    out.error = r.status();
    return out;
  }
  out.http_status = r->status;
  if (r->status >= 400) {
    out.error = ResponseErrorStatus(*r);
    if (r->status == 404) {
      auto parsed = ParseSecret(r->body);
      if (parsed.ok() && *parsed) {
        const Json& s = **parsed;
        const Json& data = Field(s, "data");
        const Json& warnings = Field(s, "warnings");
        if ((data.is_object() && !data.empty()) || (warnings.is_array() && !warnings.empty()))
          out.secret = std::move(*parsed);
      }
    }
    return out;
  }
  auto parsed = ParseSecret(r->body);
  if (!parsed.ok()) out.error = parsed.status();
  else out.secret = std::move(*parsed);
  return out;
}

}  // namespace

Code CodeForHttpStatus(long status, const std::vector<std::string>& errors) {
  switch (status) {
    case 400: return Code::kInvalidArgument;
    case 403: return Code::kPermissionDenied;
    case 404: return Code::kNotFound;
    case 405: return Code::kUnsupportedOperation;
    case 412: return Code::kFailedPrecondition;
    case 413: return Code::kTooLarge;
    case 415: return Code::kUnsupportedMediaType;
    case 429: return Code::kResourceExhausted;
    case 503:
      for (const auto& e : errors)
        if (e.find("Vault is sealed") != std::string::npos) return Code::kSealed;
      return Code::kUnavailable;
    default: return Code::kInternal;
  }
}

std::vector<std::string> ResponseErrors(std::string_view body) {
  std::vector<std::string> out;
  Json j = Json::parse(body, nullptr, false);
  if (j.is_discarded()) return out;
  const Json& errs = Field(j, "errors");
  if (errs.is_array())
    for (const auto& e : errs) out.push_back(e.is_string() ? e.get<std::string>() : e.dump());
  return out;
}

namespace {
// The URL printed in an error keeps its query (Vault prints `?list=true`),
// but not the values of parameters that carry credentials (the OIDC
// callback's code, state, id_token and client_nonce).
std::string UrlForDisplay(const std::string& url) {
  static constexpr std::string_view kSecret[] = {"code", "state", "id_token", "client_nonce"};
  const std::size_t q = url.find('?');
  if (q == std::string::npos) return url;
  std::string out = url.substr(0, q);
  std::string_view rest = std::string_view(url).substr(q + 1);
  char sep = '?';
  while (true) {
    const std::size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    std::string_view name = pair.substr(0, pair.find('='));
    out += sep;
    sep = '&';
    const bool secret = name.size() < pair.size() &&
                        std::find(std::begin(kSecret), std::end(kSecret), name) != std::end(kSecret);
    out += secret ? std::string(name) + "=redacted" : std::string(pair);
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return out;
}
}  // namespace

Status ResponseErrorStatus(const ApiResponse& resp) {
  Json j = Json::parse(resp.body, nullptr, false);
  bool raw = j.is_discarded() || !j.is_object();
  std::vector<std::string> errors = raw ? std::vector<std::string>{resp.body} : ResponseErrors(resp.body);
  std::string msg = "Error making API request.\n\nURL: " + resp.method + " " + UrlForDisplay(resp.url) +
                    "\nCode: " + std::to_string(resp.status) + ". " +
                    (raw ? "Raw Message" : "Errors") + ":\n\n";
  if (raw) {
    msg += resp.body;
  } else {
    for (const auto& e : errors) msg += "* " + e;  // Vault joins them with nothing
  }
  return Status(CodeForHttpStatus(resp.status, raw ? std::vector<std::string>{} : errors), msg);
}

std::string EscapePath(std::string_view path) {
  std::string out;
  for (unsigned char c : path) {
    if (PathByteAllowed(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string EncodeQuery(QueryParams params) {
  std::stable_sort(params.begin(), params.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += QueryEscape(k) + "=" + QueryEscape(v);
  }
  return out;
}

Client::Client(ClientConfig cfg, HttpTransport& transport, Sleeper sleep)
    : cfg_(std::move(cfg)), transport_(transport), sleep_(std::move(sleep)) {
  while (!cfg_.address.empty() && cfg_.address.back() == '/') cfg_.address.pop_back();
}

StatusOr<ApiResponse> Client::SendOnce(const std::string& method, const std::string& url,
                                       const std::optional<std::string>& body,
                                       const std::string& content_type) {
  HttpRequest req;
  req.method = method;
  req.url = url;
  req.body = body;
  req.headers.emplace_back("X-Vault-Request", "true");
  if (!cfg_.token.empty()) req.headers.emplace_back("X-Vault-Token", cfg_.token);
  if (!cfg_.namespace_name.empty()) req.headers.emplace_back("X-Vault-Namespace", cfg_.namespace_name);
  if (!cfg_.wrap_ttl.empty()) req.headers.emplace_back("X-Vault-Wrap-TTL", cfg_.wrap_ttl);
  if (body) req.headers.emplace_back("Content-Type", content_type.empty() ? "application/json" : content_type);
  req.headers.emplace_back("User-Agent", "arca-cli/0.1.0");
  for (const auto& h : cfg_.extra_headers) req.headers.push_back(h);

  auto resp = transport_.Send(req);
  if (!resp.ok())
    return Unavailable(MethodOp(method) + " \"" + UrlForDisplay(url) + "\": " + resp.status().message());
  ApiResponse out;
  out.status = resp->status;
  out.headers = std::move(resp->headers);
  out.body = std::move(resp->body);
  out.method = method;
  out.url = url;
  return out;
}

StatusOr<ApiResponse> Client::Raw(const std::string& method, std::string_view path,
                                  const QueryParams& query, const std::optional<Json>& body,
                                  const std::string& content_type) {
  std::optional<std::string> payload;
  if (body) payload = body->dump(-1, ' ', false, Json::error_handler_t::replace);
  return RawBytes(method, path, query, payload, content_type);
}

StatusOr<ApiResponse> Client::RawBytes(const std::string& method, std::string_view path,
                                       const QueryParams& query,
                                       const std::optional<std::string>& payload,
                                       const std::string& content_type) {
  std::string p(path);
  while (!p.empty() && p.front() == '/') p.erase(p.begin());
  std::string url = cfg_.address + "/v1/" + EscapePath(p);
  if (!query.empty()) url += "?" + EncodeQuery(query);

  bool redirected = false;
  int attempt = 0;
  while (true) {
    auto resp = SendOnce(method, url, payload, content_type);
    bool retry = !resp.ok() || Retryable(resp->status);
    if (retry && attempt < cfg_.max_retries) {
      ++attempt;
      if (sleep_) sleep_(1000 + 250 * attempt);  // Go's linear jitter range, deterministic
      continue;
    }
    if (!resp.ok()) return resp;
    long st = resp->status;
    if ((st == 301 || st == 302 || st == 307) && !redirected && !cfg_.disable_redirects) {
      std::string loc = resp->Header("Location");
      if (loc.empty()) return resp;
      std::string next = ResolveLocation(url, loc);
      if (SchemeOf(url) == "https" && SchemeOf(next) != "https")
        return Unavailable(MethodOp(method) + " \"" + UrlForDisplay(url) +
                           "\": redirect would cause protocol downgrade");
      url = next;
      redirected = true;
      continue;
    }
    return resp;
  }
}

StatusOr<ApiResponse> Client::Do(const std::string& method, std::string_view path,
                                 const QueryParams& query, const std::optional<Json>& body,
                                 const std::string& content_type) {
  ARCA_ASSIGN_OR_RETURN(ApiResponse resp, Raw(method, path, query, body, content_type));
  if (resp.status >= 400) return ResponseErrorStatus(resp);
  return resp;
}

StatusOr<std::optional<Json>> ParseSecret(std::string_view body) {
  bool blank = std::all_of(body.begin(), body.end(),
                           [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
  if (blank) return std::optional<Json>();
  Json j = Json::parse(body, nullptr, false);
  if (j.is_discarded()) return Internal("invalid character in response body: not JSON");
  if (!j.is_object()) return Internal("json: cannot unmarshal " + std::string(j.type_name()) +
                                      " into Go value of type api.Secret");
  return std::optional<Json>(std::move(j));
}

LogicalResult LogicalRead(Client& c, std::string_view path, const QueryParams& query) {
  return ReadLike(c.Raw("GET", path, query));
}

LogicalResult LogicalList(Client& c, std::string_view path) {
  return ReadLike(c.Raw("GET", path, {{"list", "true"}}));
}

LogicalResult LogicalWrite(Client& c, std::string_view path, const Json& data) {
  return WriteLike(c.Raw("PUT", path, {}, data));
}

LogicalResult LogicalMergePatch(Client& c, std::string_view path, const Json& data) {
  return WriteLike(c.Raw("PATCH", path, {}, data, "application/merge-patch+json"));
}

LogicalResult LogicalDelete(Client& c, std::string_view path, const QueryParams& query) {
  return WriteLike(c.Raw("DELETE", path, query));
}

}  // namespace arca::cli
