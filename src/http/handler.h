// arca: http::Handler, one HTTP request in, one HTTP response out.
//
// Routes the five raw sys endpoints to their handlers and every other /v1/
// request through the codec to Api::HandleRequest, or, on an HA standby
// (Api::Standby), to the active node:
// * no active node known → 500 {"errors":["local node not active but active
//   cluster node not found"]} (Vault's handleRequestForwarding);
// * standby_redirect, the X-Vault-No-Request-Forwarding header, the snapshot
//   paths (sys/storage/raft/snapshot[-force], which Vault always redirects)
//   or a request already forwarded to us by another node → 307 with
//   `Location: <active origin><target as received>` and an empty body, or
//   503 {"errors":["no active Vault instance found"]} without an active
//   (Vault's respondStandby);
// * otherwise the Forwarder relays it; see forward.h for its failures (an
//   unreachable active → the 307 above).
// On every node, X-Arca-Forwarded-For replaces the remote address only when
// X-Arca-Forward-Auth verifies under Api::ForwardingKey for this request's
// method, target, token and body, with a timestamp within
// kForwardAuthMaxSkew of the handler's clock (VerifyForwardAuth); otherwise
// the socket address is kept. Both headers are always removed before the
// request reaches the codec. Records
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
#include "http/forward.h"

namespace arca::http {

// Distinct route labels kept before new ones fold into "other".
inline constexpr std::size_t kMaxRouteLabels = 200;

// The bounded route label of a logical path: "sys/<name>" under sys/,
// "auth/<name>/" under auth/, else "<first segment>/" (the mount's first
// segment). "" → "invalid".
std::string RouteLabel(std::string_view logical_path);

// The method label: the standard verbs and LIST as sent, anything else "OTHER".
std::string MethodLabel(std::string_view method);

inline constexpr std::string_view kNoActiveNodeMessage =
    "local node not active but active cluster node not found";
inline constexpr std::string_view kNoActiveInstanceMessage = "no active Vault instance found";

struct HandlerOptions {
  // Standbys answer 307 to the active instead of forwarding (disable_forwarding).
  bool standby_redirect = false;
  ForwarderOptions forwarding;
};

class Handler {
 public:
  // `api`, `clock` and `registry` must outlive the handler.
  Handler(Api& api, Clock& clock, metrics::Registry& registry, HandlerOptions options = {});
  Handler(const Handler&) = delete;
  Handler& operator=(const Handler&) = delete;

  HttpResponse Handle(const HttpRequest& req);

  // The label recorded for `logical_path` (RouteLabel, capped).
  std::string BoundedRoute(std::string_view logical_path);

 private:
  HttpResponse Dispatch(const HttpRequest& req, std::string* route);
  HttpResponse Logical(const HttpRequest& req, const Target& target, bool forwarded);
  HttpResponse RespondStandby(const HttpRequest& req, const std::string& leader_api_addr);

  Api& api_;
  HandlerOptions options_;
  Forwarder forwarder_;
  Clock& clock_;
  metrics::Counter& requests_;
  metrics::Histogram& durations_;
  std::mutex mu_;
  std::set<std::string, std::less<>> routes_;
};

}  // namespace arca::http
