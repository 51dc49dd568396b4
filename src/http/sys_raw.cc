// arca: dispatch of the raw sys endpoints and Go-style typed body decoding.
#include <cctype>
#include <limits>

#include "http/internal/sys_raw.h"

namespace arca::http::internal {

namespace {

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// The JSON kind as Go's error messages name it.
std::string GoKind(const Json& v) {
  if (v.is_string()) return "string";
  if (v.is_boolean()) return "bool";
  if (v.is_number()) return "number " + v.dump();
  if (v.is_array()) return "array";
  if (v.is_object()) return "object";
  return "null";
}

}  // namespace

RawHandler FindRawHandler(std::string_view path) {
  if (path == "sys/init") return &SysInit;
  if (path == "sys/seal-status") return &SysSealStatus;
  if (path == "sys/unseal") return &SysUnseal;
  if (path == "sys/health") return &SysHealth;
  if (path == "sys/leader") return &SysLeader;
  return nullptr;
}

StatusOr<TypedBody> TypedBody::Parse(std::string_view body, std::string_view go_type) {
  StatusOr<Json> j = ParseJsonBody(body);
  if (!j.ok()) {
    std::string why = j.status().message();
    if (why.rfind("error parsing JSON", 0) == 0) why = "invalid JSON" + why.substr(18);
    return InvalidArgument("failed to parse JSON input: " + why);
  }
  return TypedBody(std::move(*j), std::string(go_type));
}

const Json* TypedBody::Find(std::string_view field) const {
  if (!json_.is_object()) return nullptr;
  const Json* found = nullptr;
  for (const auto& [k, v] : json_.items()) {
    if (k == field) return v.is_null() ? nullptr : &v;
    if (found == nullptr && IEquals(k, field)) found = &v;
  }
  return found != nullptr && !found->is_null() ? found : nullptr;
}

Status TypedBody::Mismatch(std::string_view field, const Json& v, std::string_view want) const {
  return InvalidArgument("failed to parse JSON input: json: cannot unmarshal " + GoKind(v) +
                         " into Go struct field " + go_type_ + "." + std::string(field) +
                         " of type " + std::string(want));
}

Status TypedBody::Int(std::string_view field, int* out) const {
  const Json* v = Find(field);
  if (v == nullptr) return OkStatus();
  if (v->is_number_unsigned() && v->get<uint64_t>() <= uint64_t(std::numeric_limits<int>::max())) {
    *out = static_cast<int>(v->get<uint64_t>());
    return OkStatus();
  }
  if (v->is_number_integer() && !v->is_number_unsigned() &&
      v->get<int64_t>() >= std::numeric_limits<int>::min()) {
    *out = static_cast<int>(v->get<int64_t>());
    return OkStatus();
  }
  return Mismatch(field, *v, "int");
}

Status TypedBody::Bool(std::string_view field, bool* out) const {
  const Json* v = Find(field);
  if (v == nullptr) return OkStatus();
  if (!v->is_boolean()) return Mismatch(field, *v, "bool");
  *out = v->get<bool>();
  return OkStatus();
}

Status TypedBody::String(std::string_view field, std::string* out) const {
  const Json* v = Find(field);
  if (v == nullptr) return OkStatus();
  if (!v->is_string()) return Mismatch(field, *v, "string");
  *out = v->get<std::string>();
  return OkStatus();
}

Status TypedBody::StringList(std::string_view field, std::vector<std::string>* out) const {
  const Json* v = Find(field);
  if (v == nullptr) return OkStatus();
  if (!v->is_array()) return Mismatch(field, *v, "[]string");
  std::vector<std::string> values;
  for (const Json& e : *v) {
    if (!e.is_string()) return Mismatch(field, e, "string");
    values.push_back(e.get<std::string>());
  }
  *out = std::move(values);
  return OkStatus();
}

}  // namespace arca::http::internal
