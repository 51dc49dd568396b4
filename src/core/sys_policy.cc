// arca: sys/policy (legacy) and sys/policies/acl.
#include <algorithm>

#include "base/encoding.h"
#include "core/internal/sys_backend.h"
#include "logical/fields.h"

namespace arca::core {

using logical::Json;
using logical::Operation;
using logical::Response;

namespace {
std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Shared by both APIs; `text_key` is "rules" (legacy read) or "policy".
StatusOr<Response> PolicyOp(Core::Impl& core, logical::Request& req, std::string_view raw_name,
                            bool legacy) {
  std::string name = Lower(raw_name);
  while (!name.empty() && name.back() == '/') name.pop_back();
  if (name.empty()) {
    if (req.operation != Operation::kList && !(legacy && req.operation == Operation::kRead))
      return UnsupportedOperation();
    ARCA_ASSIGN_OR_RETURN(auto names, core.policies->List());
    Json d = {{"keys", names}};
    if (legacy) d["policies"] = names;
    return Response::WithData(std::move(d));
  }
  switch (req.operation) {
    case Operation::kRead: {
      ARCA_ASSIGN_OR_RETURN(auto p, core.policies->Get(name));
      if (!p) return NotFound();
      Json d = {{"name", p->name}};
      d[legacy ? "rules" : "policy"] = p->raw;
      return Response::WithData(std::move(d));
    }
    case Operation::kCreate:
    case Operation::kUpdate: {
      Response resp;
      ARCA_ASSIGN_OR_RETURN(auto text, logical::GetString(req.data, "policy"));
      if (!text && legacy) {
        ARCA_ASSIGN_OR_RETURN(text, logical::GetString(req.data, "rules"));
        if (text) resp.warnings.push_back("'rules' is deprecated, please use 'policy' instead");
      }
      if (!text || text->empty()) return InvalidArgument("'policy' parameter not supplied or empty");
      if (name != std::string(raw_name))
        resp.warnings.push_back("policy name was converted to " + name);
      ARCA_RETURN_IF_ERROR(core.policies->Put(name, *text));
      core.InvalidateAcls();
      return resp;
    }
    case Operation::kDelete:
      ARCA_RETURN_IF_ERROR(core.policies->Delete(name));
      core.InvalidateAcls();
      return Response{};
    default:
      return UnsupportedOperation();
  }
}
}  // namespace

StatusOr<Response> SystemBackend::PolicyLegacy(logical::Request& req, std::string_view name) {
  return PolicyOp(core_, req, name, true);
}

StatusOr<Response> SystemBackend::PolicyAcl(logical::Request& req, std::string_view name) {
  return PolicyOp(core_, req, name, false);
}

}  // namespace arca::core
