// arca: sys/leader (Vault's handleSysLeader). Raw JSON; `active_time` is
// always a valid RFC 3339 time (Go clients parse it), the zero time on
// non-leaders. With HA enabled and the store sealed, core answers Sealed and
// this is 503 "Vault is sealed", which `vault status` tolerates.
#include "base/time.h"
#include "http/errors.h"
#include "http/internal/sys_raw.h"

namespace arca::http::internal {

HttpResponse SysLeader(Api& api, const HttpRequest& req, const Target&) {
  if (req.method != "GET") return ErrorResponse(405, "");
  StatusOr<core::LeaderStatus> st = api.Leader();
  if (!st.ok()) return ErrorResponse(st.status());
  const core::LeaderStatus& l = *st;
  std::string active_time = l.active_time;
  if (active_time.empty() || !ParseRfc3339(active_time)) active_time = ZeroTimeRfc3339();
  return JsonResponse(200, Json{
                               {"ha_enabled", l.ha_enabled},
                               {"is_self", l.is_self},
                               {"active_time", active_time},
                               {"leader_address", l.leader_address},
                               {"leader_cluster_address", l.leader_cluster_address},
                               {"performance_standby", false},
                               {"performance_standby_last_remote_wal", 0},
                           });
}

}  // namespace arca::http::internal
