// arca CLI: `arca login -method=oidc`, after vault-plugin-auth-jwt's CLI
// handler. The local callback listener is a small blocking POSIX-socket loop:
// one connection at a time, each request bounded in size and read time, the
// whole wait bounded by `timeout`.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <utility>

#include "base/encoding.h"
#include "base/secure.h"
#include "base/time.h"
#include "cli/args.h"
#include "cli/login_methods.h"

namespace arca::cli {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::size_t kMaxRequestBytes = 16 * 1024;
constexpr int64_t kConnectionReadMillis = 10'000;
constexpr int64_t kDefaultTimeoutMillis = 2 * 60 * 1000;

constexpr char kSuccessHtml[] =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Vault Authentication "
    "Succeeded</title></head>\n<body>\n<h1>Signed in via your OIDC provider</h1>\n"
    "<p>You can now close this window and start using arca.</p>\n</body>\n</html>\n";

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

std::string MountOf(const std::map<std::string, std::string>& config) {
  auto it = config.find("mount");
  std::string m = it == config.end() ? std::string() : it->second;
  while (!m.empty() && m.back() == '/') m.pop_back();
  while (!m.empty() && m.front() == '/') m.erase(m.begin());
  return m.empty() ? "oidc" : m;
}

std::string Get(const std::map<std::string, std::string>& config, const std::string& key,
                const std::string& fallback) {
  auto it = config.find(key);
  return it == config.end() || it->second.empty() ? fallback : it->second;
}

std::optional<int> ParsePort(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v > 65535) return std::nullopt;
  return v;
}

// "250ms", or a duration ParseDurationSeconds understands ("2m", "90s", "30").
std::optional<int64_t> ParseTimeoutMillis(std::string_view s) {
  if (s.size() > 2 && s.substr(s.size() - 2) == "ms") {
    auto digits = s.substr(0, s.size() - 2);
    if (digits.size() > 9) return std::nullopt;
    int64_t v = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + (c - '0');
    }
    return v > 0 ? std::optional<int64_t>(v) : std::nullopt;
  }
  auto secs = ParseDurationSeconds(s);
  if (!secs || *secs <= 0 || *secs > 24 * 3600) return std::nullopt;
  return *secs * 1000;
}

int64_t MillisLeft(SteadyClock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
  return left > 0 ? left : 0;
}

// Go's net.Listen error text: "listen tcp 127.0.0.1:8250: bind: address already in use"
// (Go's errno texts are glibc's with a lower-case first letter).
Status ListenError(const std::string& hostport, const char* op, int err) {
  std::string text = std::strerror(err);
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return Unavailable("listen tcp " + hostport + ": " + op + ": " + text);
}

StatusOr<Fd> Listen(const std::string& host, int port, int* bound_port) {
  std::string hostport = host + ":" + std::to_string(port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0 || !res)
    return Unavailable("listen tcp " + hostport + ": lookup " + host + ": " + ::gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> holder(res, &::freeaddrinfo);
  Status last = ListenError(hostport, "socket", EAFNOSUPPORT);
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    Fd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
    if (fd.get() < 0) {
      last = ListenError(hostport, "socket", errno);
      continue;
    }
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
      last = ListenError(hostport, "bind", errno);
      continue;
    }
    if (::listen(fd.get(), 8) != 0) {
      last = ListenError(hostport, "listen", errno);
      continue;
    }
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    *bound_port = port;
    if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
      if (ss.ss_family == AF_INET) *bound_port = ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
      if (ss.ss_family == AF_INET6) *bound_port = ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
    }
    return fd;
  }
  return last;
}

void SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

void Respond(int fd, int status, std::string_view reason, std::string_view html) {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
                     "\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: " +
                     std::to_string(html.size()) + "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n";
  SendAll(fd, head);
  SendAll(fd, html);
  ::shutdown(fd, SHUT_WR);
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string ErrorHtml(std::string_view detail) {
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Vault Authentication "
         "Failed</title></head>\n<body>\n<h1>Login error</h1>\n<pre>" +
         HtmlEscape(detail) + "</pre>\n</body>\n</html>\n";
}

// Appends what the peer sends next to `buf`. False when it went away or
// nothing arrived before `deadline`.
bool RecvSome(int fd, std::string& buf, SteadyClock::time_point deadline) {
  char chunk[2048];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int left = static_cast<int>(MillisLeft(deadline));
    if (left <= 0) return false;
    int rc = ::poll(&p, 1, left);
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) return false;
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buf.append(chunk, static_cast<std::size_t>(n));
    return true;
  }
}

SteadyClock::time_point ConnectionDeadline(SteadyClock::time_point deadline) {
  return std::min(deadline, SteadyClock::now() + std::chrono::milliseconds(kConnectionReadMillis));
}

// Reads one request head (up to the blank line). nullopt: the peer went
// away, timed out or sent more than kMaxRequestBytes (`too_large` set).
std::optional<std::string> ReadHead(int fd, SteadyClock::time_point deadline, bool* too_large) {
  const auto conn_deadline = ConnectionDeadline(deadline);
  std::string buf;
  while (buf.find("\r\n\r\n") == std::string::npos) {
    if (buf.size() > kMaxRequestBytes) {
      *too_large = true;
      return std::nullopt;
    }
    if (!RecvSome(fd, buf, conn_deadline)) return std::nullopt;
  }
  return buf;
}

struct CallbackRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> query;  // first value of each key, as Go's FormValue
};

// Go's ParseQuery into `out` (first value of each key kept; later sources
// do not override, except that the caller parses a POST body first).
void ParseForm(std::string_view query, std::map<std::string, std::string>& out) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    auto key = PercentDecode(pair.substr(0, eq), true);
    auto value = PercentDecode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
    if (!key || !value) continue;  // Go's ParseQuery skips a bad pair
    out.emplace(std::move(*key), std::move(*value));
  }
}

// The body of a form_post callback: Content-Length bytes after the head
// (some may already be in `head`). nullopt when missing, too large or cut.
std::optional<std::string> ReadFormBody(int fd, const std::string& head,
                                        SteadyClock::time_point deadline) {
  const std::size_t end = head.find("\r\n\r\n");
  std::string lower = head.substr(0, end);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::size_t at = lower.find("\r\ncontent-length:");
  if (at == std::string::npos) return std::nullopt;
  std::size_t pos = at + 17;
  while (pos < lower.size() && lower[pos] == ' ') ++pos;
  std::size_t length = 0, digits = 0;
  for (; pos < lower.size() && std::isdigit(static_cast<unsigned char>(lower[pos])); ++pos, ++digits) {
    length = length * 10 + static_cast<std::size_t>(lower[pos] - '0');
    if (length > kMaxRequestBytes) return std::nullopt;
  }
  if (digits == 0) return std::nullopt;
  std::string body = head.substr(end + 4);
  const auto conn_deadline = ConnectionDeadline(deadline);
  while (body.size() < length) {
    if (!RecvSome(fd, body, conn_deadline)) return std::nullopt;
  }
  body.resize(length);
  return body;
}

std::optional<CallbackRequest> ParseRequestLine(std::string_view head) {
  auto eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return std::nullopt;
  auto sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return std::nullopt;
  CallbackRequest req;
  req.method = std::string(line.substr(0, sp1));
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  auto q = target.find('?');
  req.path = std::string(target.substr(0, q));
  if (q == std::string_view::npos) return req;
  ParseForm(target.substr(q + 1), req.query);
  return req;
}

std::string QueryValue(const CallbackRequest& r, const std::string& key) {
  auto it = r.query.find(key);
  return it == r.query.end() ? "" : it->second;
}

// The provider's error redirect (RFC 6749 4.1.2.1: `error`, `error_description`),
// made safe for a terminal: printable ASCII only, bounded. Empty without `error`.
std::string ProviderError(const CallbackRequest& r) {
  auto clean = [](std::string_view s) {
    constexpr std::size_t kMax = 200;
    std::string out;
    for (char c : s.substr(0, kMax)) out += (c >= 0x20 && c <= 0x7e) ? c : '?';
    if (s.size() > kMax) out += "...";
    return out;
  };
  const std::string error = QueryValue(r, "error");
  if (error.empty()) return "";
  const std::string description = QueryValue(r, "error_description");
  return "The OIDC provider returned an error: " + clean(error) +
         (description.empty() ? "" : " (" + clean(description) + ")");
}

class OidcLogin final : public LoginMethod {
 public:
  std::string_view Name() const override { return "oidc"; }

  std::string_view Help() const override {
    return "Usage: arca login -method=oidc [CONFIG K=V...]\n\n"
           "  The OIDC method provides an authentication flow through your identity\n"
           "  provider's browser login. The authorization URL is printed; open it in a\n"
           "  browser, and the provider redirects back to a local listener.\n\n"
           "      $ arca login -method=oidc role=demo\n\n"
           "Configuration:\n\n"
           "  role=<string>\n      Vault role of type \"OIDC\" to use for authentication.\n\n"
           "  listenaddress=<string>\n      Address to listen on for the callback. Default 127.0.0.1.\n\n"
           "  port=<string>\n      Port for the local listener. Default 8250 (0: any free port).\n\n"
           "  callbackmethod=<string>\n      Method of the callback URL. Default http.\n\n"
           "  callbackhost=<string>\n      Host of the callback URL. Default localhost.\n\n"
           "  callbackport=<string>\n      Port of the callback URL. Default: port.\n\n"
           "  skip_browser=<bool>\n      Only print the URL (arca never launches a browser).\n\n"
           "  timeout=<duration>\n      How long to wait for the callback. Default 2m.";
  }

  StatusOr<Json> Authenticate(LoginContext& ctx,
                              const std::map<std::string, std::string>& config) const override {
    const std::string mount = MountOf(config);
    const std::string listen_address = Get(config, "listenaddress", "127.0.0.1");
    const std::string port_text = Get(config, "port", "8250");
    const std::string callback_method = Get(config, "callbackmethod", "http");
    const std::string callback_host = Get(config, "callbackhost", "localhost");
    const std::string role = Get(config, "role", "");
    auto port = ParsePort(port_text);
    if (!port) return InvalidArgument("invalid port " + Json(port_text).dump());
    bool skip_browser = false;
    if (auto it = config.find("skip_browser"); it != config.end()) {
      auto b = ParseGoBool(it->second);
      if (!b)
        return InvalidArgument("Failed to parse \"skip_browser\" as boolean: strconv.ParseBool: parsing " +
                               Json(it->second).dump() + ": invalid syntax");
      skip_browser = *b;
    }
    int64_t timeout_ms = kDefaultTimeoutMillis;
    if (auto it = config.find("timeout"); it != config.end()) {
      auto t = ParseTimeoutMillis(it->second);
      if (!t) return InvalidArgument("invalid timeout " + Json(it->second).dump());
      timeout_ms = *t;
    }

    // Listen before asking for the URL so that port=0 can name the real port.
    int bound_port = *port;
    ARCA_ASSIGN_OR_RETURN(Fd listener, Listen(listen_address, *port, &bound_port));
    std::string callback_port = Get(config, "callbackport", std::to_string(bound_port));
    const std::string redirect_uri = callback_method + "://" + callback_host + ":" + callback_port + "/oidc/callback";

    const std::string client_nonce = RandomBase62(20);
    Json body = {{"role", role}, {"redirect_uri", redirect_uri}, {"client_nonce", client_nonce}};
    LogicalResult url_result = LogicalWrite(ctx.client, "auth/" + mount + "/oidc/auth_url", body);
    if (!url_result.error.ok()) return url_result.error;
    std::string auth_url;
    if (url_result.secret) {
      const Json& u = Field(Field(*url_result.secret, "data"), "auth_url");
      if (u.is_string()) auth_url = u.get<std::string>();
    }
    if (auth_url.empty())
      return InvalidArgument("Unable to authorize role " + Json(role).dump() + " with redirect_uri " +
                             Json(redirect_uri).dump() +
                             ". Check Vault logs for more information and check the role's "
                             "allowed_redirect_uris.");

    ctx.ui.Error(std::string(skip_browser ? "Complete the login via your OIDC provider. Open the following "
                                            "link in your browser:\n\n    "
                                          : "Complete the login via your OIDC provider. Launching browser "
                                            "to:\n\n    ") +
                 auth_url + "\n\n");
    ctx.ui.Error("Waiting for OIDC authentication to complete...");

    const auto deadline = SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      int left = static_cast<int>(MillisLeft(deadline));
      if (left <= 0) return Unavailable("Timed out waiting for response from provider");
      pollfd p{listener.get(), POLLIN, 0};
      int rc = ::poll(&p, 1, left);
      if (rc < 0 && errno == EINTR) continue;
      if (rc < 0) return Unavailable(std::string("error waiting for the OIDC callback: ") + std::strerror(errno));
      if (rc == 0) continue;
      Fd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (conn.get() < 0) continue;
      bool too_large = false;
      auto head = ReadHead(conn.get(), deadline, &too_large);
      if (!head) {
        if (too_large) Respond(conn.get(), 431, "Request Header Fields Too Large", ErrorHtml("request too large"));
        continue;
      }
      auto req = ParseRequestLine(*head);
      std::optional<std::string> form;
      if (req && req->method == "POST" && req->path == "/oidc/callback")
        form = ReadFormBody(conn.get(), *head, deadline);
      Wipe(*head);
      if (!req) {
        Respond(conn.get(), 400, "Bad Request", ErrorHtml("malformed request"));
        continue;
      }
      if (req->path != "/oidc/callback") {
        Respond(conn.get(), 404, "Not Found", ErrorHtml("404 page not found"));
        continue;
      }
      // As Vault's CLI: GET for the query response mode; POST for
      // form_post, whose form values are written to the callback.
      const bool post = req->method == "POST";
      if (!post && req->method != "GET") {
        Respond(conn.get(), 405, "Method Not Allowed", ErrorHtml("only GET and POST callbacks are supported"));
        continue;
      }
      if (post) {
        if (!form) {
          Respond(conn.get(), 400, "Bad Request", ErrorHtml("malformed form body"));
          continue;
        }
        std::map<std::string, std::string> fields;
        ParseForm(*form, fields);
        Wipe(*form);
        for (auto& [k, v] : req->query) fields.emplace(k, v);  // the body wins, as Go's FormValue
        req->query = std::move(fields);
      }
      // As Vault's CLI, a provider error goes to the server too (which ends
      // the state); it is only added to what the user is told.
      const std::string provider_error = ProviderError(*req);
      QueryParams query = {{"state", QueryValue(*req, "state")},
                           {"code", QueryValue(*req, "code")},
                           {"id_token", QueryValue(*req, "id_token")},
                           {"client_nonce", client_nonce}};
      for (auto& [k, v] : req->query) Wipe(v);
      LogicalResult r;
      if (post) {
        Json data = Json::object();
        for (const auto& [k, v] : query) data[k] = v;
        r = LogicalWrite(ctx.client, "auth/" + mount + "/oidc/callback", data);
        for (auto& v : data) Wipe(v.get_ref<std::string&>());
      } else {
        r = LogicalRead(ctx.client, "auth/" + mount + "/oidc/callback", query);
      }
      for (auto& [k, v] : query) Wipe(v);
      Status st = r.error;
      if (st.ok() && !r.secret) st = Internal("empty response from credential provider");
      if (!st.ok()) {
        if (!provider_error.empty()) st = Status(st.code(), st.message() + "\n\n" + provider_error);
        Respond(conn.get(), 200, "OK", ErrorHtml(st.message()));
        return st;
      }
      Respond(conn.get(), 200, "OK", kSuccessHtml);
      return std::move(*r.secret);
    }
  }
};

}  // namespace

std::unique_ptr<LoginMethod> MakeOidcLoginMethod() { return std::make_unique<OidcLogin>(); }

}  // namespace arca::cli
