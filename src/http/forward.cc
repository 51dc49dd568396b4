// arca: request forwarding from a standby to the active node over libcurl.
#include "http/forward.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <mutex>
#include <vector>

#include <spdlog/spdlog.h>

#include "base/clock.h"
#include "base/encoding.h"

namespace arca::http {

namespace {

constexpr std::string_view kForwardAuthVersion = "v2:";
// "v2:" + 19 digits + ":" + 64 hex is 87; anything much longer is not ours.
constexpr std::size_t kMaxForwardAuth = 128;

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

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

bool HasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

// The lowercased header names listed by Connection headers (RFC 9110 7.6.1).
std::vector<std::string> ConnectionTokens(const HeaderList& headers) {
  std::vector<std::string> out;
  for (const auto& [name, value] : headers) {
    if (!IEquals(name, "Connection")) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      std::size_t comma = rest.find(',');
      std::string_view token = Trim(rest.substr(0, comma));
      if (!token.empty()) out.push_back(Lower(token));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  return out;
}

bool Listed(const std::vector<std::string>& tokens, std::string_view name) {
  return std::any_of(tokens.begin(), tokens.end(),
                     [&](const std::string& t) { return IEquals(t, name); });
}

void EnsureCurlGlobal() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using EasyPtr = std::unique_ptr<CURL, EasyDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

// Collects the response: headers (hop-by-hop dropped later), body bounded.
struct Sink {
  HttpResponse* resp;
  HeaderList headers;
  std::size_t limit;
  bool overflow = false;
};

size_t WriteBody(char* ptr, size_t size, size_t nmemb, void* user) {
  auto* sink = static_cast<Sink*>(user);
  std::size_t n = size * nmemb;
  if (sink->resp->body.size() + n > sink->limit) {
    sink->overflow = true;
    return 0;  // aborts the transfer
  }
  sink->resp->body.append(ptr, n);
  return n;
}

size_t WriteHeader(char* ptr, size_t size, size_t nmemb, void* user) {
  auto* sink = static_cast<Sink*>(user);
  std::size_t n = size * nmemb;
  std::string_view line(ptr, n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.rfind("HTTP/", 0) == 0) {
    sink->headers.clear();  // a new (final or interim) response
    return n;
  }
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return n;
  sink->headers.emplace_back(std::string(line.substr(0, colon)),
                             std::string(Trim(line.substr(colon + 1))));
  return n;
}

// Whether a failed transfer cannot have delivered the request to the peer.
bool NotSent(CURLcode rc, long request_size) {
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
      return true;
    default:
      // After a connection was made the request may have been written even
      // when curl counted nothing (a reused connection reset mid-send): a
      // redirect could then apply a write twice.
      (void)request_size;
      return false;
  }
}

}  // namespace

std::string_view ForwardAuthToken(const HeaderList& headers) {
  auto first = [&](std::string_view name) -> const std::string* {
    for (const auto& [n, v] : headers) {
      if (IEquals(n, name)) return &v;
    }
    return nullptr;
  };
  if (const std::string* token = first("X-Vault-Token"); token != nullptr && !token->empty()) {
    return *token;
  }
  if (const std::string* authz = first("Authorization"); authz != nullptr) return *authz;
  return {};
}

std::string ForwardAuth(const SecureBytes& key, const ForwardAuthInput& in, int64_t unix_seconds) {
  const std::string when = std::to_string(unix_seconds);
  std::string data;
  data.reserve(3 + when.size() + in.client_addr.size() + in.method.size() + in.target.size() +
               2 * 64 + 6);
  data.append("v2\n").append(when).append("\n");
  data.append(in.client_addr).append("\n").append(in.method).append("\n").append(in.target);
  data.append("\n").append(Sha256Hex(in.token)).append("\n").append(Sha256Hex(in.body));
  std::string_view k(reinterpret_cast<const char*>(key.data()), key.size());
  return std::string(kForwardAuthVersion) + when + ":" + HexEncode(HmacSha256(k, data));
}

bool VerifyForwardAuth(const SecureBytes& key, const ForwardAuthInput& in, std::string_view auth,
                       int64_t now_unix) {
  if (key.empty() || auth.size() > kMaxForwardAuth) return false;
  if (auth.substr(0, kForwardAuthVersion.size()) != kForwardAuthVersion) return false;
  std::string_view rest = auth.substr(kForwardAuthVersion.size());
  std::size_t colon = rest.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view digits = rest.substr(0, colon);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  int64_t sent = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), sent);
  if (ec != std::errc() || end != digits.data() + digits.size()) return false;  // out of range
  // The distance of two int64 values always fits in uint64 (modular arithmetic).
  uint64_t skew = sent >= now_unix ? static_cast<uint64_t>(sent) - static_cast<uint64_t>(now_unix)
                                   : static_cast<uint64_t>(now_unix) - static_cast<uint64_t>(sent);
  if (skew > static_cast<uint64_t>(kForwardAuthMaxSkew.count())) return false;
  // Recomputing the whole value also refuses a non-canonical time ("007").
  return ConstantTimeEquals(ForwardAuth(key, in, sent), auth);
}

bool IsHopByHopHeader(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "Connection", "Keep-Alive", "TE",     "Trailer",        "Transfer-Encoding",
      "Upgrade",    "Host",       "Expect", "Content-Length",
  };
  for (std::string_view n : kNames) {
    if (IEquals(name, n)) return true;
  }
  return name.size() >= 6 && IEquals(name.substr(0, 6), "Proxy-");
}

StatusOr<std::string> ApiAddrOrigin(std::string_view api_addr) {
  std::string scheme = "https";
  std::string_view rest = api_addr;
  if (std::size_t sep = api_addr.find("://"); sep != std::string_view::npos) {
    scheme = Lower(api_addr.substr(0, sep));
    rest = api_addr.substr(sep + 3);
  }
  if (scheme != "http" && scheme != "https") {
    return InvalidArgument("invalid active node address: unsupported scheme");
  }
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.empty()) return InvalidArgument("invalid active node address: no host");
  for (unsigned char c : authority) {
    if (c <= 0x20 || c >= 0x7f || c == '@' || c == '\\') {
      return InvalidArgument("invalid active node address");
    }
  }
  return scheme + "://" + std::string(authority);
}

struct Forwarder::Pool {
  mutable std::mutex mu;
  std::vector<EasyPtr> idle;  // guarded by mu
  std::size_t max_idle = 0;

  EasyPtr Checkout() {
    {
      std::lock_guard lock(mu);
      if (!idle.empty()) {
        EasyPtr h = std::move(idle.back());
        idle.pop_back();
        return h;
      }
    }
    return EasyPtr(curl_easy_init());
  }

  // curl_easy_reset keeps the handle's live connections (keep-alive).
  void Return(EasyPtr h) {
    curl_easy_reset(h.get());
    std::lock_guard lock(mu);
    if (idle.size() < max_idle) idle.push_back(std::move(h));
  }
};

Forwarder::Forwarder(ForwarderOptions options)
    : options_(std::move(options)), pool_(std::make_unique<Pool>()) {
  EnsureCurlGlobal();
  pool_->max_idle = options_.max_idle_handles;
}

Forwarder::~Forwarder() = default;

std::size_t Forwarder::IdleHandlesForTest() const {
  std::lock_guard lock(pool_->mu);
  return pool_->idle.size();
}

StatusOr<HttpResponse> Forwarder::Forward(std::string_view api_addr, const HttpRequest& req,
                                          const std::optional<SecureBytes>& key) {
  ARCA_ASSIGN_OR_RETURN(std::string origin, ApiAddrOrigin(api_addr));
  if (req.target.empty() || req.target.front() != '/' || HasControl(req.target) ||
      req.method.empty() || HasControl(req.method)) {
    return InvalidArgument("cannot forward a request with this method or target");
  }
  const std::string url = origin + req.target;

  // Request headers: end-to-end ones as sent, then ours.
  std::vector<std::string> lines;
  const std::vector<std::string> connection = ConnectionTokens(req.headers);
  std::string forwarded_for;
  bool has_accept = false, has_content_type = false;
  for (const auto& [name, value] : req.headers) {
    if (name.empty() || HasControl(name) || HasControl(value) ||
        name.find(':') != std::string::npos) {
      return InvalidArgument("cannot forward a request with a malformed header");
    }
    if (IEquals(name, "X-Forwarded-For")) {
      if (!value.empty()) forwarded_for += (forwarded_for.empty() ? "" : ", ") + value;
      continue;
    }
    if (IsHopByHopHeader(name) || Listed(connection, name) || IEquals(name, kForwardedForHeader) ||
        IEquals(name, kForwardAuthHeader)) {
      continue;
    }
    has_accept = has_accept || IEquals(name, "Accept");
    has_content_type = has_content_type || IEquals(name, "Content-Type");
    // curl drops "Name:" (empty value); "Name;" sends it empty.
    lines.push_back(value.empty() ? name + ";" : name + ": " + value);
  }
  const std::string& client = req.remote_address;
  if (!client.empty()) {
    forwarded_for += (forwarded_for.empty() ? "" : ", ") + client;
    if (key && !key->empty()) {
      lines.push_back(std::string(kForwardedForHeader) + ": " + client);
      // The bytes the active will read: curl sends no body for HEAD.
      const ForwardAuthInput in{client, req.method, req.target, ForwardAuthToken(req.headers),
                                req.method == "HEAD" ? std::string_view() : req.body};
      lines.push_back(std::string(kForwardAuthHeader) + ": " +
                      ForwardAuth(*key, in, RealClock().UnixNow()));
    }
  }
  if (!forwarded_for.empty()) lines.push_back("X-Forwarded-For: " + forwarded_for);
  // Keep curl from adding headers of its own the client did not send.
  if (!has_accept) lines.emplace_back("Accept:");
  if (!has_content_type) lines.emplace_back("Content-Type:");
  lines.emplace_back("Expect:");

  std::unique_ptr<curl_slist, SlistDeleter> header_list;
  for (const std::string& line : lines) {
    curl_slist* next = curl_slist_append(header_list.get(), line.c_str());
    if (next == nullptr) return Internal("error forwarding request: out of memory");
    (void)header_list.release();  // `next` is the same list, extended
    header_list.reset(next);
  }

  EasyPtr handle = pool_->Checkout();
  if (!handle) return Unavailable("cannot reach the active node: unable to initialise libcurl");
  CURL* c = handle.get();
  HttpResponse resp;
  Sink sink{&resp, {}, options_.max_response_bytes};
  char errbuf[CURL_ERROR_SIZE] = {0};

  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);  // the target exactly as received
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(options_.max_response_bytes));
  curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  if (!options_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, WriteHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &sink);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, header_list.get());

  const std::string& m = req.method;
  if (m == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (m == "GET" && req.body.empty()) {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m.c_str());
    if (!req.body.empty() || m == "POST" || m == "PUT" || m == "PATCH") {
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data());
    }
  }

  CURLcode rc = curl_easy_perform(c);
  long request_size = 0;
  curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &request_size);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  pool_->Return(std::move(handle));

  if (rc != CURLE_OK || status < 100 || status > 999) {
    Wipe(resp.body);
    std::string reason = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
    if (sink.overflow || rc == CURLE_FILESIZE_EXCEEDED) {
      reason = "response larger than " + std::to_string(options_.max_response_bytes) + " bytes";
    }
    spdlog::warn("http: forwarding a request to the active node failed: {}", reason);
    if (rc != CURLE_OK && !sink.overflow && NotSent(rc, request_size)) {
      return Unavailable("cannot reach the active node: " + reason);
    }
    return Internal(reason);
  }

  resp.status = static_cast<int>(status);
  const std::vector<std::string> resp_connection = ConnectionTokens(sink.headers);
  for (auto& [name, value] : sink.headers) {
    if (IsHopByHopHeader(name) || Listed(resp_connection, name)) continue;
    if (IEquals(name, "Content-Type")) {
      resp.content_type = std::move(value);
      continue;
    }
    auto same = std::find_if(resp.headers.begin(), resp.headers.end(),
                             [&](const auto& h) { return IEquals(h.first, name); });
    if (same != resp.headers.end()) {
      same->second += ", " + value;
    } else {
      resp.headers.emplace_back(std::move(name), std::move(value));
    }
  }
  return resp;
}

}  // namespace arca::http
