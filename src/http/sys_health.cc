// arca: sys/health (Vault's http/sys_health.go). GET and HEAD; the status
// code tells the state (query parameters override each code), the body the
// details; HEAD sends the status and Content-Type only.
//
// Status codes given in the query must lie in 200..599 (Go accepts 100..999;
// informational and 6xx+ codes make no sense for a health answer).
#include <charconv>
#include <optional>

#include "http/errors.h"
#include "http/internal/sys_raw.h"
#include "http/version.h"
#include "logical/fields.h"

namespace arca::http::internal {

namespace {

const std::string* QueryValue(const Target& t, std::string_view key) {
  for (const auto& [k, v] : t.query) {
    if (k == key) return &v;  // the first value, as Go's Values.Get
  }
  return nullptr;
}

// nullopt: the parameter is malformed.
std::optional<int> CodeParam(const Target& t, std::string_view key, int fallback) {
  const std::string* v = QueryValue(t, key);
  if (v == nullptr) return fallback;
  std::string_view s = *v;
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  int code = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), code);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  if (code < 200 || code > 599) return std::nullopt;
  return code;
}

std::optional<bool> Flag(const Target& t, std::string_view key) {
  const std::string* v = QueryValue(t, key);
  if (v == nullptr) return false;
  return logical::ParseBool(*v);
}

}  // namespace

HttpResponse SysHealth(Api& api, const HttpRequest& req, const Target& target) {
  bool head = req.method == "HEAD";
  if (req.method != "GET" && !head) return ErrorResponse(405, "");
  auto bad_request = [&] {
    HttpResponse r = ErrorResponse(400, "");
    if (head) r = HttpResponse{400, "", "", {}};
    return r;
  };

  std::optional<bool> standby_ok = Flag(target, "standbyok");
  std::optional<bool> perf_standby_ok = Flag(target, "perfstandbyok");
  std::optional<int> uninit_code = CodeParam(target, "uninitcode", 501);
  std::optional<int> sealed_code = CodeParam(target, "sealedcode", 503);
  std::optional<int> standby_code = CodeParam(target, "standbycode", 429);
  std::optional<int> active_code = CodeParam(target, "activecode", 200);
  std::optional<int> dr_code = CodeParam(target, "drsecondarycode", 472);
  std::optional<int> perf_code = CodeParam(target, "performancestandbycode", 473);
  if (!standby_ok || !perf_standby_ok || !uninit_code || !sealed_code || !standby_code ||
      !active_code || !dr_code || !perf_code) {
    return bad_request();
  }

  core::HealthStatus h = api.Health();
  int code = *active_code;
  if (!h.initialized) {
    code = *uninit_code;
  } else if (h.sealed) {
    code = *sealed_code;
  } else if (h.standby && !*standby_ok) {
    code = *standby_code;
  }

  bool known = h.initialized && !h.sealed;
  Json body = {
      {"initialized", h.initialized},
      {"sealed", h.sealed},
      {"standby", h.standby},
      {"performance_standby", false},
      {"replication_performance_mode", known ? "disabled" : "unknown"},
      {"replication_dr_mode", known ? "disabled" : "unknown"},
      {"server_time_utc", h.server_time_utc},
      {"version", kVaultVersion},
  };
  if (!h.sealed && !h.cluster_name.empty()) body["cluster_name"] = h.cluster_name;
  if (!h.sealed && !h.cluster_id.empty()) body["cluster_id"] = h.cluster_id;

  HttpResponse r = JsonResponse(code, body);
  if (head) r.body.clear();
  return r;
}

}  // namespace arca::http::internal
