// arca internal: the raw (non-envelope) sys endpoints that the HTTP layer
// answers itself by calling core directly, as Vault's http/sys_*.go do:
// sys/init, sys/seal-status, sys/unseal, sys/health, sys/leader. Each takes
// the request and its parsed target and never fails: errors are rendered as
// responses. Safe for concurrent use.
#pragma once

#include <string_view>

#include "http/api.h"
#include "http/codec.h"

namespace arca::http::internal {

// The handler for a raw endpoint at `path` (exact match), or nullptr.
using RawHandler = HttpResponse (*)(Api&, const HttpRequest&, const Target&);
RawHandler FindRawHandler(std::string_view path);

HttpResponse SysInit(Api& api, const HttpRequest& req, const Target& target);
HttpResponse SysSealStatus(Api& api, const HttpRequest& req, const Target& target);
HttpResponse SysUnseal(Api& api, const HttpRequest& req, const Target& target);
HttpResponse SysHealth(Api& api, const HttpRequest& req, const Target& target);
HttpResponse SysLeader(Api& api, const HttpRequest& req, const Target& target);

// The seal-status body (shared by sys/seal-status and sys/unseal).
Json SealStatusJson(const core::SealStatus& s);

// Typed decoding of a raw endpoint's JSON body into a Go struct, as
// encoding/json does it: field names match case-insensitively (exact match
// preferred), null leaves the field unset, a value of the wrong type fails.
// Errors are InvalidArgument "failed to parse JSON input: ...".
class TypedBody {
 public:
  // `go_type` names the struct in error messages ("InitRequest").
  static StatusOr<TypedBody> Parse(std::string_view body, std::string_view go_type);

  Status Int(std::string_view field, int* out) const;
  Status Bool(std::string_view field, bool* out) const;
  Status String(std::string_view field, std::string* out) const;
  Status StringList(std::string_view field, std::vector<std::string>* out) const;

 private:
  TypedBody(Json j, std::string go_type) : json_(std::move(j)), go_type_(std::move(go_type)) {}
  const Json* Find(std::string_view field) const;
  Status Mismatch(std::string_view field, const Json& v, std::string_view want) const;

  Json json_;  // object or null
  std::string go_type_;
};

}  // namespace arca::http::internal
