// arca: sys/unseal (Vault's handleSysUnseal): submits one key share, or
// resets the attempt; answers with the seal status. Shares are never logged
// and the decoded copy is wiped.
#include "base/secure.h"
#include "http/errors.h"
#include "http/internal/sys_raw.h"

namespace arca::http::internal {

HttpResponse SysUnseal(Api& api, const HttpRequest& req, const Target&) {
  if (req.method != "PUT" && req.method != "POST") return ErrorResponse(405, "");

  StatusOr<TypedBody> body = TypedBody::Parse(req.body, "UnsealRequest");
  if (!body.ok()) return ErrorResponse(body.status());
  std::string key;
  bool reset = false, migrate = false;
  Status s = body->String("key", &key);
  if (s.ok()) s = body->Bool("reset", &reset);
  if (s.ok()) s = body->Bool("migrate", &migrate);
  if (!s.ok()) return ErrorResponse(s);

  if (reset) {
    Wipe(key);
    if (!api.Sealed()) return ErrorResponse(400, "vault is unsealed");
    StatusOr<core::SealStatus> st = api.ResetUnseal();
    if (!st.ok()) return ErrorResponse(st.status());
    return JsonResponse(200, SealStatusJson(*st));
  }
  if (migrate) {
    Wipe(key);
    return ErrorResponse(
        400, "'migrate' parameter set true in JSON body when not in seal migration mode");
  }
  if (key.empty()) {
    return ErrorResponse(400,
                         "'key' must be specified in request body as JSON, or 'reset' set to true");
  }
  StatusOr<core::SealStatus> st = api.SubmitUnsealKey(key);
  Wipe(key);
  if (!st.ok()) return ErrorResponse(st.status());
  return JsonResponse(200, SealStatusJson(*st));
}

}  // namespace arca::http::internal
