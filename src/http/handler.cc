// arca: request dispatch and HTTP metrics.
#include "http/handler.h"

#include <chrono>
#include <exception>

#include <spdlog/spdlog.h>

#include "http/errors.h"
#include "http/internal/sys_raw.h"

namespace arca::http {

namespace {

constexpr std::size_t kMaxSegmentLabel = 64;

std::string_view Segment(std::string_view path, std::size_t index) {
  for (std::size_t i = 0; i < index; ++i) {
    std::size_t slash = path.find('/');
    if (slash == std::string_view::npos) return {};
    path.remove_prefix(slash + 1);
  }
  return path.substr(0, std::min(path.find('/'), kMaxSegmentLabel));
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

Handler::Handler(Api& api, Clock& clock, metrics::Registry& registry)
    : api_(api),
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

HttpResponse Handler::Dispatch(const HttpRequest& req, std::string* route) {
  StatusOr<Target> target = ParseTarget(req.target);
  if (!target.ok()) return ErrorResponse(target.status());
  *route = BoundedRoute(target->path);
  if (internal::RawHandler raw = internal::FindRawHandler(target->path)) {
    return raw(api_, req, *target);
  }
  StatusOr<logical::Request> lreq = DecodeRequest(req, *target);
  if (!lreq.ok()) return ErrorResponse(lreq.status());
  RequestInfo info = InfoFor(*lreq, req);
  StatusOr<logical::Response> result = api_.HandleRequest(*lreq);
  return EncodeResponse(info, result);
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
