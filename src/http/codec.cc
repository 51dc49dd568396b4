// arca: the Vault wire codec (Vault's http/logical.go and http/handler.go:
// buildLogicalRequest, parseQuery, parseJSONRequest, parseFormRequest,
// respondLogical and respondErrorCommon).
#include "http/codec.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "base/encoding.h"
#include "base/time.h"
#include "http/errors.h"
#include "logical/fields.h"
#include "logical/json.h"

namespace arca::http {

namespace {

using logical::Operation;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view TrimSpace(std::string_view s) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Deepest nesting of arrays/objects in `s`, counting only brackets outside
// strings. Exact for valid JSON; for invalid JSON the parser fails anyway.
int JsonDepth(std::string_view s) {
  int depth = 0, max_depth = 0;
  bool in_string = false, escaped = false;
  for (char c : s) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      max_depth = std::max(max_depth, ++depth);
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return max_depth;
}

// RFC 2045 token characters, as Go's mime package accepts them.
bool IsTokenChar(char c) {
  if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) return false;
  return std::string_view("()<>@,;:\\\"/[]?=").find(c) == std::string_view::npos;
}

std::size_t TokenLength(std::string_view s) {
  std::size_t n = 0;
  while (n < s.size() && IsTokenChar(s[n])) ++n;
  return n;
}

// Splits "a=1&b=2" into decoded pairs. `strict` (form bodies) reports bad
// escapes and ';' separators; otherwise such pairs are dropped (URL.Query).
StatusOr<std::vector<std::pair<std::string, std::string>>> SplitPairs(std::string_view s,
                                                                      bool strict) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!s.empty()) {
    std::size_t amp = s.find('&');
    std::string_view piece = s.substr(0, amp);
    s = amp == std::string_view::npos ? std::string_view() : s.substr(amp + 1);
    if (piece.empty()) continue;
    if (piece.find(';') != std::string_view::npos) {
      if (strict) return InvalidArgument("error parsing form body: invalid semicolon separator");
      continue;
    }
    std::size_t eq = piece.find('=');
    std::string_view raw_key = piece.substr(0, eq);
    std::string_view raw_value =
        eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1);
    auto key = PercentDecode(raw_key, true);
    auto value = PercentDecode(raw_value, true);
    if (!key || !value) {
      if (strict) return InvalidArgument("error parsing form body: invalid URL escape");
      continue;
    }
    // Everything stored or logged must be UTF-8 (JSON): refuse, never mangle.
    if (!IsValidUtf8(*key) || !IsValidUtf8(*value))
      return InvalidArgument("invalid UTF-8 in form or query parameters");
    out.emplace_back(std::move(*key), std::move(*value));
  }
  return out;
}

Json AuthJson(const logical::Auth& a) {
  Json j = Json::object();
  j["client_token"] = a.client_token;
  j["accessor"] = a.accessor;
  j["policies"] = a.policies;
  if (!a.token_policies.empty()) j["token_policies"] = a.token_policies;
  if (!a.identity_policies.empty()) j["identity_policies"] = a.identity_policies;
  j["metadata"] = a.metadata.empty() ? Json(nullptr) : Json(a.metadata);
  j["lease_duration"] = a.lease_duration;
  j["renewable"] = a.renewable;
  j["entity_id"] = a.entity_id;
  j["token_type"] = a.token_type;
  j["orphan"] = a.orphan;
  j["mfa_requirement"] = nullptr;
  j["num_uses"] = a.num_uses;
  return j;
}

bool DataEmpty(const Json& data) { return data.is_null() || (data.is_object() && data.empty()); }

// Vault's RespondErrorCommon for successful list results: an HTTP status to
// answer with instead of the envelope, or 0.
int ListStatus(const logical::Response& resp) {
  if (resp.raw_body || resp.http_status != 0) return 0;
  if (resp.Empty()) return 404;
  if (DataEmpty(resp.data)) return resp.warnings.empty() ? 404 : 0;
  if (!resp.data.is_object()) return 0;
  auto it = resp.data.find("keys");
  if (it == resp.data.end() || it->is_null()) return 0;  // other data: as is
  if (!it->is_array()) return 500;
  for (const Json& k : *it) {
    if (!k.is_string()) return 500;
  }
  return it->empty() ? 404 : 0;
}

// Endpoints whose POST/PUT body is binary (Vault's raft snapshot restore).
bool IsBinaryUploadPath(std::string_view path) {
  return path == "sys/storage/raft/snapshot" || path == "sys/storage/raft/snapshot-force";
}

HttpResponse WithoutBody(HttpResponse r) {
  r.body.clear();
  return r;
}

}  // namespace

std::optional<std::string> FindHeader(const HeaderList& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (IEquals(k, name)) return v;
  }
  return std::nullopt;
}

StatusOr<Target> ParseTarget(std::string_view target) {
  std::size_t q = target.find('?');
  std::string_view raw_path = target.substr(0, q);
  std::string_view raw_query =
      q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  if (std::size_t hash = raw_query.find('#'); hash != std::string_view::npos) {
    raw_query = raw_query.substr(0, hash);
  }
  if (raw_path.substr(0, 4) != "/v1/") return NotFound("");

  auto decoded = PercentDecode(raw_path.substr(4), false);
  if (!decoded) return InvalidArgument("invalid path: malformed percent-encoding");
  if (!IsValidUtf8(*decoded)) return InvalidArgument("invalid path: not valid UTF-8");
  for (unsigned char c : *decoded) {
    if (c < 0x20 || c == 0x7f) return InvalidArgument("invalid path");
  }
  Target t;
  std::string_view rest = *decoded;
  bool trailing_slash = !rest.empty() && rest.back() == '/';
  while (!rest.empty()) {
    std::size_t slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (seg.empty()) continue;  // collapses "//" and drops leading slashes
    if (seg == "." || seg == "..") return InvalidArgument("invalid path");
    if (!t.path.empty()) t.path += '/';
    t.path += seg;
  }
  if (t.path.empty()) return NotFound("");
  if (trailing_slash) t.path += '/';

  auto pairs = SplitPairs(raw_query, false);
  if (pairs.ok()) t.query = std::move(*pairs);
  return t;
}

Json QueryToData(const std::vector<std::pair<std::string, std::string>>& query) {
  std::map<std::string, std::vector<std::string>> grouped;
  for (const auto& [k, v] : query) {
    if (k == "help") continue;
    grouped[k].push_back(v);
  }
  if (grouped.empty()) return nullptr;
  Json data = Json::object();
  for (auto& [k, values] : grouped) {
    data[k] = values.size() == 1 ? Json(values.front()) : Json(values);
  }
  return data;
}

StatusOr<Json> ParseJsonBody(std::string_view body) {
  std::string_view trimmed = TrimSpace(body);
  if (trimmed.empty()) return Json(nullptr);
  if (JsonDepth(trimmed) > kMaxJsonDepth) {
    return InvalidArgument("error parsing JSON: nesting deeper than " +
                           std::to_string(kMaxJsonDepth) + " levels");
  }
  // Numbers are kept as written (Vault decodes bodies with json.Number).
  std::optional<Json> parsed = logical::ParseJsonKeepingNumbers(trimmed);
  if (!parsed) return InvalidArgument("error parsing JSON");
  Json j = std::move(*parsed);
  if (j.is_null()) return j;
  if (!j.is_object()) return InvalidArgument("error parsing JSON: the body must be a JSON object");
  return j;
}

bool IsFormBody(std::optional<std::string_view> content_type, std::string_view body) {
  if (!content_type) return false;
  auto media = ParseMediaType(*content_type);
  if (!media.ok() || *media != "application/x-www-form-urlencoded") return false;
  for (char c : body) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    return c != '{' && c != '[';
  }
  return true;
}

StatusOr<Json> ParseFormBody(std::string_view body) {
  ARCA_ASSIGN_OR_RETURN(auto pairs, SplitPairs(body, true));
  if (pairs.empty()) return Json(nullptr);
  std::map<std::string, std::string> joined;
  for (auto& [k, v] : pairs) {
    auto [it, inserted] = joined.emplace(k, v);
    if (!inserted) it->second += "," + v;
  }
  return Json(joined);
}

StatusOr<std::string> ParseMediaType(std::string_view content_type) {
  std::string_view v = TrimSpace(content_type.substr(0, content_type.find(';')));
  std::size_t n = TokenLength(v);
  if (n == 0) return InvalidArgument("mime: no media type");
  std::string media = Lower(v.substr(0, n));
  v.remove_prefix(n);
  if (v.empty()) return media;
  if (v.front() != '/') return InvalidArgument("mime: expected slash after first token");
  v.remove_prefix(1);
  std::size_t m = TokenLength(v);
  if (m == 0) return InvalidArgument("mime: expected token after slash");
  media += "/" + Lower(v.substr(0, m));
  v.remove_prefix(m);
  if (!v.empty()) return InvalidArgument("mime: unexpected content after media subtype");
  return media;
}

StatusOr<logical::Request> DecodeRequest(const HttpRequest& http) {
  ARCA_ASSIGN_OR_RETURN(Target target, ParseTarget(http.target));
  return DecodeRequest(http, target);
}

StatusOr<logical::Request> DecodeRequest(const HttpRequest& http, const Target& target) {
  logical::Request req;
  req.path = target.path;
  const std::string& m = http.method;
  auto content_type = FindHeader(http.headers, "Content-Type");

  auto decode_body = [&](bool allow_form) -> Status {
    StatusOr<Json> data = allow_form && IsFormBody(content_type, http.body)
                              ? ParseFormBody(http.body)
                              : ParseJsonBody(http.body);
    if (!data.ok()) return data.status();
    req.data = std::move(*data);
    return OkStatus();
  };
  auto ensure_slash = [&] {
    if (req.path.back() != '/') req.path += '/';
  };

  if (m == "GET") {
    req.operation = Operation::kRead;
    auto query = target.query;
    auto list = std::find_if(query.begin(), query.end(), [](auto& p) { return p.first == "list"; });
    if (list != query.end() && !list->second.empty()) {  // Go: Get("list") != ""
      std::optional<bool> is_list = logical::ParseBool(list->second);
      if (!is_list) return InvalidArgument("");
      query.erase(
          std::remove_if(query.begin(), query.end(), [](auto& p) { return p.first == "list"; }),
          query.end());
      if (*is_list) {
        req.operation = Operation::kList;
        ensure_slash();
      }
    }
    req.data = QueryToData(query);
  } else if (m == "LIST") {
    req.operation = Operation::kList;
    ensure_slash();
    req.data = QueryToData(target.query);
  } else if ((m == "POST" || m == "PUT") && IsBinaryUploadPath(req.path)) {
    req.operation = Operation::kUpdate;
    req.raw_body = http.body;  // a snapshot: not JSON, passed on unparsed
  } else if (m == "POST" || m == "PUT") {
    req.operation = Operation::kUpdate;
    ARCA_RETURN_IF_ERROR(decode_body(true));
  } else if (m == "PATCH") {
    req.operation = Operation::kPatch;
    ARCA_ASSIGN_OR_RETURN(std::string media, ParseMediaType(content_type.value_or("")));
    if (media != "application/merge-patch+json") {
      return Status(
          Code::kUnsupportedMediaType,
          "PATCH requires Content-Type of application/merge-patch+json, provided " + media);
    }
    ARCA_RETURN_IF_ERROR(decode_body(false));
  } else if (m == "DELETE") {
    req.operation = Operation::kDelete;
    req.data = QueryToData(target.query);
  } else if (m == "HEAD") {
    req.operation = Operation::kRead;
    req.data = QueryToData(target.query);
  } else {
    return UnsupportedOperation("");
  }

  if ((req.operation == Operation::kUpdate || req.operation == Operation::kPatch) &&
      req.path.back() == '/') {
    return InvalidArgument("cannot write to a path ending in '/'");
  }

  for (const auto& [name, value] : http.headers) {
    std::string key = Lower(name);
    if (key == "x-vault-token" || key == "authorization") continue;
    auto [it, inserted] = req.headers.emplace(key, value);
    if (!inserted) it->second += ", " + value;
  }

  if (auto token = FindHeader(http.headers, "X-Vault-Token"); token && !token->empty()) {
    req.client_token = *token;
  } else if (auto authz = FindHeader(http.headers, "Authorization");
             authz && authz->rfind("Bearer ", 0) == 0) {
    req.client_token = std::string(TrimSpace(std::string_view(*authz).substr(7)));
  }

  if (auto wrap = FindHeader(http.headers, "X-Vault-Wrap-TTL"); wrap && !wrap->empty()) {
    std::optional<int64_t> ttl = ParseDurationSeconds(TrimSpace(*wrap));
    if (!ttl) {
      std::string shown = wrap->substr(0, 64);
      return InvalidArgument("error parsing X-Vault-Wrap-TTL header: invalid duration \"" + shown +
                             "\"");
    }
    if (*ttl < 0) {
      return InvalidArgument(
          "error parsing X-Vault-Wrap-TTL header: requested wrap ttl cannot be negative");
    }
    if (*ttl > 0) req.wrap_ttl = *ttl;
  }

  req.id = NewUuid();
  req.remote_address = http.remote_address;
  req.remote_port = http.remote_port;
  return req;
}

RequestInfo InfoFor(const logical::Request& req, const HttpRequest& http) {
  return RequestInfo{req.id, req.operation, req.path, http.method == "HEAD"};
}

bool InjectsDataAtTopLevel(std::string_view path) {
  static constexpr std::string_view kExact[] = {
      "sys/audit",
      "sys/auth",
      "sys/config/cors",
      "sys/config/auditing/request-headers",
      "sys/capabilities",
      "sys/capabilities-accessor",
      "sys/capabilities-self",
      "sys/ha-status",
      "sys/key-status",
      "sys/mounts",
      "sys/policy",
      "sys/rekey/backup",
      "sys/rekey/recovery-key-backup",
      "sys/remount",
      "sys/rotate",
      "sys/wrapping/wrap",
  };
  static constexpr std::string_view kPrefix[] = {
      "sys/audit/",  "sys/audit-hash/", "sys/auth/", "sys/config/auditing/request-headers/",
      "sys/mounts/", "sys/policy/",
  };
  for (std::string_view e : kExact) {
    if (path == e) return true;
  }
  for (std::string_view p : kPrefix) {
    if (path.substr(0, p.size()) == p) return true;
  }
  return false;
}

Json Envelope(const std::string& request_id, const logical::Response& resp, bool inject_data) {
  Json j = Json::object();
  j["request_id"] = request_id;
  j["lease_id"] = resp.lease_id;
  j["renewable"] = resp.renewable;
  j["lease_duration"] = resp.lease_duration;
  j["data"] = resp.data.is_object() ? resp.data : Json(nullptr);
  j["wrap_info"] = nullptr;
  j["warnings"] = resp.warnings.empty() ? Json(nullptr) : Json(resp.warnings);
  j["auth"] = resp.auth ? AuthJson(*resp.auth) : Json(nullptr);
  if (inject_data && resp.data.is_object()) {
    for (const auto& [k, v] : resp.data.items()) {
      if (!j.contains(k)) j[k] = v;  // envelope keys win, as in Go's decoder
    }
  }
  return j;
}

HttpResponse JsonResponse(int status, const Json& body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  logical::AppendJson(r.body, body);
  r.body += '\n';
  return r;
}

// The bytes JsonResponse(status, Envelope(id, resp, false)) sends (keys in
// the sorted order nlohmann's object keeps), written straight from `resp`:
// the data tree, the bulk of most responses, is dumped where it is instead
// of being copied into an envelope tree first.
HttpResponse EnvelopeResponse(int status, const std::string& request_id,
                              const logical::Response& resp) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  std::string& out = r.body;
  out.reserve(192 + request_id.size() + resp.lease_id.size());
  out += "{\"auth\":";
  if (resp.auth) {
    logical::AppendJson(out, AuthJson(*resp.auth));
  } else {
    out += "null";
  }
  out += ",\"data\":";
  if (resp.data.is_object()) {
    logical::AppendJson(out, resp.data);
  } else {
    out += "null";
  }
  out += ",\"lease_duration\":";
  out += std::to_string(resp.lease_duration);
  out += ",\"lease_id\":";
  logical::AppendJson(out, Json(resp.lease_id));
  out += resp.renewable ? ",\"renewable\":true" : ",\"renewable\":false";
  out += ",\"request_id\":";
  logical::AppendJson(out, Json(request_id));
  out += ",\"warnings\":";
  if (resp.warnings.empty()) {
    out += "null";
  } else {
    logical::AppendJson(out, Json(resp.warnings));
  }
  out += ",\"wrap_info\":null}\n";
  return r;
}

HttpResponse EncodeResponse(const RequestInfo& info, const StatusOr<logical::Response>& result) {
  auto finish = [&](HttpResponse r) { return info.head ? WithoutBody(std::move(r)) : r; };
  if (!result.ok()) return finish(ErrorResponse(result.status()));
  const logical::Response& resp = *result;

  if (resp.raw_body) {
    HttpResponse r;
    r.status = resp.http_status != 0 ? resp.http_status : 200;
    r.content_type = resp.content_type;
    r.body = *resp.raw_body;
    return finish(std::move(r));
  }
  if (info.operation == Operation::kRead && resp.Empty()) return finish(ErrorResponse(404, ""));
  if (info.operation == Operation::kList) {
    if (int status = ListStatus(resp); status != 0) return finish(ErrorResponse(status, ""));
  }
  if (resp.Empty()) {
    HttpResponse r;
    r.status = 204;
    r.content_type = "application/json";
    return r;
  }
  int status = resp.http_status != 0 ? resp.http_status : 200;
  if (InjectsDataAtTopLevel(info.path)) {
    return finish(JsonResponse(status, Envelope(info.id, resp, /*inject_data=*/true)));
  }
  return finish(EnvelopeResponse(status, info.id, resp));
}

}  // namespace arca::http
