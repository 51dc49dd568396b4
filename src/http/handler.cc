// arca: request dispatch and HTTP metrics.
#include "http/handler.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <exception>
#include <thread>
#include <optional>

#include <spdlog/spdlog.h>

#include "http/errors.h"
#include "http/internal/sys_raw.h"

namespace arca::http {

namespace {

constexpr std::size_t kMaxSegmentLabel = 64;
// Longest X-Arca-Forwarded-For value taken (an IPv6 address is at most 45).
constexpr std::size_t kMaxForwardedAddress = 256;

// Paths Vault's alwaysRedirectPaths sends to the active with a 307 even
// when forwarding is on (snapshots are streamed, not proxied).
bool AlwaysRedirected(std::string_view path) {
  return path == "sys/storage/raft/snapshot" || path == "sys/storage/raft/snapshot-force";
}

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool IsForwardingHeader(std::string_view name) {
  return IEquals(name, kForwardedForHeader) || IEquals(name, kForwardAuthHeader);
}

std::string_view Segment(std::string_view path, std::size_t index) {
  for (std::size_t i = 0; i < index; ++i) {
    std::size_t slash = path.find('/');
    if (slash == std::string_view::npos) return {};
    path.remove_prefix(slash + 1);
  }
  return path.substr(0, std::min(path.find('/'), kMaxSegmentLabel));
}

// `req` without the X-Arca forwarding headers; when they authenticate this
// request under the cluster key at `now_unix`, with the client address they
// carry and *trusted set.
HttpRequest WithoutForwardingHeaders(Api& api, const HttpRequest& req, int64_t now_unix,
                                     bool* trusted) {
  std::optional<std::string> addr, auth;
  int count = 0;
  HttpRequest out;
  out.method = req.method;
  out.target = req.target;
  out.body = req.body;
  out.remote_address = req.remote_address;
  out.remote_port = req.remote_port;
  for (const auto& [name, value] : req.headers) {
    if (!IsForwardingHeader(name)) {
      out.headers.emplace_back(name, value);
      continue;
    }
    ++count;
    (IEquals(name, kForwardedForHeader) ? addr : auth) = value;
  }
  *trusted = false;
  if (count == 2 && addr && auth && !addr->empty() && addr->size() <= kMaxForwardedAddress) {
    std::optional<SecureBytes> key = api.ForwardingKey();
    // The same bytes the forwarder signed: the codec reads this token and body.
    const ForwardAuthInput in{*addr, req.method, req.target, ForwardAuthToken(req.headers),
                              req.body};
    if (key && VerifyForwardAuth(*key, in, *auth, now_unix)) {
      out.remote_address = *addr;
      out.remote_port = 0;
      *trusted = true;
    }
  }
  // Unverifiable, stale or replayed: the values themselves are not logged.
  if (!*trusted) spdlog::debug("http: ignoring unauthenticated forwarding headers");
  return out;
}

}  // namespace

std::string RouteLabel(std::string_view logical_path) {
  std::string_view first = Segment(logical_path, 0);
  if (first.empty()) return "invalid";
  std::string_view second = Segment(logical_path, 1);
  if (first == "sys") return "sys/" + std::string(second);
  if (first == "auth" && !second.empty()) return "auth/" + std::string(second) + "/";
  return std::string(first) + "/";
}

std::string MethodLabel(std::string_view method) {
  static constexpr std::string_view kKnown[] = {"GET",    "PUT",  "POST", "DELETE",
                                                "LIST",   "PATCH", "HEAD", "OPTIONS"};
  for (std::string_view m : kKnown) {
    if (method == m) return std::string(m);
  }
  return "OTHER";
}

Handler::Handler(Api& api, Clock& clock, metrics::Registry& registry, HandlerOptions options)
    : api_(api),
      options_(std::move(options)),
      forwarder_(options_.forwarding),
      clock_(clock),
      requests_(registry.AddCounter("arca_http_requests_total",
                                    "HTTP requests by route, method and status code.",
                                    {"route", "method", "code"})),
      durations_(registry.AddHistogram("arca_http_request_duration_seconds",
                                       "Time to handle an HTTP request, by route.", {"route"})) {}

std::string Handler::BoundedRoute(std::string_view logical_path) {
  std::string label = RouteLabel(logical_path);
  std::lock_guard lock(mu_);
  if (routes_.count(label) != 0) return label;
  if (routes_.size() >= kMaxRouteLabels) return "other";
  routes_.insert(label);
  return label;
}

HttpResponse Handler::RespondStandby(const HttpRequest& req, const std::string& leader_api_addr) {
  if (leader_api_addr.empty()) return ErrorResponse(503, kNoActiveInstanceMessage);
  StatusOr<std::string> origin = ApiAddrOrigin(leader_api_addr);
  if (!origin.ok()) return ErrorResponse(500, origin.status().message());
  HttpResponse res;
  res.status = 307;
  res.headers.emplace_back("Location", *origin + req.target);
  return res;
}

HttpResponse Handler::Logical(const HttpRequest& req, const Target& target, bool forwarded) {
  Api::StandbyInfo standby = api_.Standby();
  // During a failover a standby may not know the new active for a poll or
  // two: hold the request briefly rather than fail it (bounded: 1 s).
  for (int i = 0; i < 20 && standby.standby && standby.leader_api_addr.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    standby = api_.Standby();
  }
  if (standby.standby) {
    auto no_forwarding = FindHeader(req.headers, "X-Vault-No-Request-Forwarding");
    // A request another node forwarded is never forwarded again (no loops).
    if (options_.standby_redirect || forwarded || (no_forwarding && !no_forwarding->empty()) ||
        AlwaysRedirected(target.path)) {
      return RespondStandby(req, standby.leader_api_addr);
    }
    if (standby.leader_api_addr.empty()) return ErrorResponse(500, kNoActiveNodeMessage);
    StatusOr<HttpResponse> res =
        forwarder_.Forward(standby.leader_api_addr, req, api_.ForwardingKey());
    if (res.ok()) return std::move(*res);
    if (res.status().code() == Code::kUnavailable) {
      return RespondStandby(req, standby.leader_api_addr);  // Vault's fallback
    }
    return ErrorResponse(500, "error forwarding request: " + res.status().message());
  }
  StatusOr<logical::Request> lreq = DecodeRequest(req, target);
  if (!lreq.ok()) return ErrorResponse(lreq.status());
  RequestInfo info = InfoFor(*lreq, req);
  StatusOr<logical::Response> result = api_.HandleRequest(*lreq);
  return EncodeResponse(info, result);
}

HttpResponse Handler::Dispatch(const HttpRequest& req, std::string* route) {
  StatusOr<Target> target = ParseTarget(req.target);
  if (!target.ok()) return ErrorResponse(target.status());
  *route = BoundedRoute(target->path);
  bool has_forwarding = std::any_of(req.headers.begin(), req.headers.end(),
                                    [](const auto& h) { return IsForwardingHeader(h.first); });
  if (has_forwarding) {
    bool trusted = false;
    HttpRequest clean = WithoutForwardingHeaders(api_, req, clock_.UnixNow(), &trusted);
    internal::RawHandler raw = internal::FindRawHandler(target->path);
    HttpResponse res =
        raw != nullptr ? raw(api_, clean, *target) : Logical(clean, *target, trusted);
    Wipe(clean.body);  // a copy of a body that may hold secrets
    return res;
  }
  if (internal::RawHandler raw = internal::FindRawHandler(target->path)) {
    return raw(api_, req, *target);
  }
  return Logical(req, *target, false);
}

HttpResponse Handler::Handle(const HttpRequest& req) {
  SteadyTime start = clock_.SteadyNow();
  std::string route = "invalid";
  HttpResponse res;
  try {
    res = Dispatch(req, &route);
  } catch (const std::exception& e) {
    spdlog::error("http: request failed with an exception: {}", e.what());
    res = ErrorResponse(Internal(""));
  } catch (...) {
    spdlog::error("http: request failed with an unknown exception");
    res = ErrorResponse(Internal(""));
  }
  if (req.method == "HEAD") res.body.clear();  // status and headers only
  double seconds = std::chrono::duration<double>(clock_.SteadyNow() - start).count();
  std::string method = MethodLabel(req.method);
  requests_.Increment({route, method, std::to_string(res.status)});
  durations_.Observe({route}, seconds);
  // Only bounded labels: paths, queries and bodies may hold secrets.
  spdlog::debug("http: {} {} -> {} in {:.3f}s", method, route, res.status, seconds);
  return res;
}

}  // namespace arca::http
