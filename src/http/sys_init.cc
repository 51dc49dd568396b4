// arca: sys/init (Vault's http/sys_init.go). GET reports whether the store is
// initialised; PUT/POST initialises it with a Shamir seal and returns the key
// shares and the root token, which are never logged.
#include "base/secure.h"
#include "http/errors.h"
#include "http/internal/sys_raw.h"

namespace arca::http::internal {

namespace {

struct InitRequest {
  int secret_shares = 0;
  int secret_threshold = 0;
  int stored_shares = 0;
  std::vector<std::string> pgp_keys;
  std::string root_token_pgp_key;
  int recovery_shares = 0;
  int recovery_threshold = 0;
  std::vector<std::string> recovery_pgp_keys;
};

StatusOr<InitRequest> DecodeInit(std::string_view body) {
  ARCA_ASSIGN_OR_RETURN(TypedBody b, TypedBody::Parse(body, "InitRequest"));
  InitRequest r;
  ARCA_RETURN_IF_ERROR(b.Int("secret_shares", &r.secret_shares));
  ARCA_RETURN_IF_ERROR(b.Int("secret_threshold", &r.secret_threshold));
  ARCA_RETURN_IF_ERROR(b.Int("stored_shares", &r.stored_shares));
  ARCA_RETURN_IF_ERROR(b.StringList("pgp_keys", &r.pgp_keys));
  ARCA_RETURN_IF_ERROR(b.String("root_token_pgp_key", &r.root_token_pgp_key));
  ARCA_RETURN_IF_ERROR(b.Int("recovery_shares", &r.recovery_shares));
  ARCA_RETURN_IF_ERROR(b.Int("recovery_threshold", &r.recovery_threshold));
  ARCA_RETURN_IF_ERROR(b.StringList("recovery_pgp_keys", &r.recovery_pgp_keys));
  return r;
}

// Vault's validateInitParameters for a Shamir seal, plus what arca does not
// implement (PGP encryption of the shares and of the root token).
Status Validate(const InitRequest& r) {
  std::string recovery;
  auto add = [&](bool set, const char* name) {
    if (!set) return;
    if (!recovery.empty()) recovery += ',';
    recovery += name;
  };
  add(r.recovery_shares != 0, "recovery_shares");
  add(r.recovery_threshold != 0, "recovery_threshold");
  add(!r.recovery_pgp_keys.empty(), "recovery_pgp_keys");
  if (!recovery.empty()) {
    return InvalidArgument("parameters " + recovery + " not applicable to seal type shamir");
  }
  if (!r.pgp_keys.empty()) {
    if (static_cast<int>(r.pgp_keys.size()) != r.secret_shares) {
      return InvalidArgument(
          "count mismatch between number of provided PGP keys and number of shares");
    }
    return InvalidArgument("PGP encryption of unseal keys is not supported");
  }
  if (!r.root_token_pgp_key.empty()) {
    return InvalidArgument("PGP encryption of the root token is not supported");
  }
  return OkStatus();
}

}  // namespace

HttpResponse SysInit(Api& api, const HttpRequest& req, const Target&) {
  if (req.method == "GET") {
    StatusOr<bool> init = api.Initialized();
    if (!init.ok()) return ErrorResponse(init.status());
    return JsonResponse(200, Json{{"initialized", *init}});
  }
  if (req.method != "PUT" && req.method != "POST") return ErrorResponse(405, "");

  StatusOr<InitRequest> parsed = DecodeInit(req.body);
  if (!parsed.ok()) return ErrorResponse(parsed.status());
  if (Status s = Validate(*parsed); !s.ok()) return ErrorResponse(s);

  core::InitParams params;
  params.secret_shares = parsed->secret_shares;
  params.secret_threshold = parsed->secret_threshold;
  StatusOr<core::InitResult> result = api.Init(params);
  if (!result.ok()) return ErrorResponse(result.status());

  core::InitResult& r = *result;
  HttpResponse resp = JsonResponse(
      200, Json{{"keys", r.keys_hex}, {"keys_base64", r.keys_base64}, {"root_token", r.root_token}});
  for (auto& k : r.keys_hex) Wipe(k);
  for (auto& k : r.keys_base64) Wipe(k);
  Wipe(r.root_token);
  return resp;
}

}  // namespace arca::http::internal
