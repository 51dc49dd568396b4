// arca: http::Handler, one HTTP request in, one HTTP response out.
//
// Routes the five raw sys endpoints to their handlers and every other /v1/
// request through the codec to Api::HandleRequest; records
// arca_http_requests_total{route,method,code} and
// arca_http_request_duration_seconds{route}. Never throws: an unexpected
// exception becomes 500 "internal error". Safe for concurrent use.
#pragma once

#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/metrics.h"
#include "http/api.h"
#include "http/codec.h"

namespace arca::http {

// Distinct route labels kept before new ones fold into "other".
inline constexpr std::size_t kMaxRouteLabels = 200;

// The bounded route label of a logical path: "sys/<name>" under sys/,
// "auth/<name>/" under auth/, else "<first segment>/" (the mount's first
// segment). "" → "invalid".
std::string RouteLabel(std::string_view logical_path);

// The method label: the standard verbs and LIST as sent, anything else "OTHER".
std::string MethodLabel(std::string_view method);

class Handler {
 public:
  // `api`, `clock` and `registry` must outlive the handler.
  Handler(Api& api, Clock& clock, metrics::Registry& registry);
  Handler(const Handler&) = delete;
  Handler& operator=(const Handler&) = delete;

  HttpResponse Handle(const HttpRequest& req);

  // The label recorded for `logical_path` (RouteLabel, capped).
  std::string BoundedRoute(std::string_view logical_path);

 private:
  HttpResponse Dispatch(const HttpRequest& req, std::string* route);

  Api& api_;
  Clock& clock_;
  metrics::Counter& requests_;
  metrics::Histogram& durations_;
  std::mutex mu_;
  std::set<std::string, std::less<>> routes_;
};

}  // namespace arca::http
