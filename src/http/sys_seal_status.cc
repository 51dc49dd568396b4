// arca: sys/seal-status (Vault's handleSysSealStatus): the seal state as raw
// JSON. Readable while sealed and before init.
#include "http/errors.h"
#include "http/internal/sys_raw.h"
#include "http/version.h"

namespace arca::http::internal {

Json SealStatusJson(const core::SealStatus& s) {
  Json j = {
      {"type", "shamir"},
      {"initialized", s.initialized},
      {"sealed", s.sealed},
      {"t", s.threshold},
      {"n", s.shares},
      {"progress", s.progress},
      {"nonce", s.nonce},
      {"version", kVaultVersion},
      {"build_date", kBuildDate},
      {"migration", false},
      {"recovery_seal", false},
      {"storage_type", s.storage_type},
  };
  if (!s.sealed && !s.cluster_name.empty()) j["cluster_name"] = s.cluster_name;
  if (!s.sealed && !s.cluster_id.empty()) j["cluster_id"] = s.cluster_id;
  return j;
}

HttpResponse SysSealStatus(Api& api, const HttpRequest& req, const Target&) {
  if (req.method != "GET") return ErrorResponse(405, "");
  return JsonResponse(200, SealStatusJson(api.GetSealStatus()));
}

}  // namespace arca::http::internal
