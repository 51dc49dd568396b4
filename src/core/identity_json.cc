// arca: the identity/ wire shapes (entity, alias and group reads, LIST
// key_info) and the validation of request fields. See internal/identity_impl.h.
#include <algorithm>
#include <set>

#include "base/encoding.h"
#include "core/internal/identity_impl.h"
#include "logical/fields.h"

namespace arca::core {

using identity::AliasRecord;
using identity::EntityRecord;
using identity::GroupRecord;
using identity::Json;
using identity::StrMap;
using logical::Response;

namespace identity {

namespace {

Status TooLong(const char* field) {
  return InvalidArgument(std::string("\"") + field + "\" is longer than " +
                         std::to_string(kMaxNameBytes) + " bytes");
}

bool Printable(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return IsValidUtf8(s);
}

}  // namespace

StatusOr<std::optional<std::string>> NameField(const Json& d, const char* field) {
  ARCA_ASSIGN_OR_RETURN(auto v, logical::GetString(d, field));
  if (v && v->size() > kMaxNameBytes) return TooLong(field);
  return v;
}

StatusOr<std::optional<StrMap>> MetadataField(const Json& d, const char* field) {
  ARCA_ASSIGN_OR_RETURN(auto m, logical::GetStringMap(d, field));
  if (!m) return m;
  if (m->size() > kMaxListItems) {
    return InvalidArgument(std::string("\"") + field + "\" has more than " +
                           std::to_string(kMaxListItems) + " keys");
  }
  for (const auto& [k, v] : *m) {
    if (k.empty()) return InvalidArgument(std::string("\"") + field + "\" has an empty key");
    if (k.size() > kMaxNameBytes) {
      return InvalidArgument(std::string("\"") + field + "\" has a key longer than " +
                             std::to_string(kMaxNameBytes) + " bytes");
    }
    if (v.size() > kMaxMetadataValue) {
      return InvalidArgument(std::string("\"") + field + "\" has a value longer than " +
                             std::to_string(kMaxMetadataValue) + " bytes");
    }
  }
  return m;
}

StatusOr<std::optional<StrMap>> CustomMetadataField(const Json& d, const char* field) {
  ARCA_ASSIGN_OR_RETURN(auto m, logical::GetStringMap(d, field));
  if (!m) return m;
  const std::string prefix = "custom_metadata validation failed: ";
  if (m->size() > 64) {
    return InvalidArgument(prefix + "payload must contain at most 64 keys, provided " +
                           std::to_string(m->size()));
  }
  for (const auto& [k, v] : *m) {
    if (k.empty() || k.size() > 128) {
      return InvalidArgument(prefix + "length of key \"" + k.substr(0, 128) + "\" is " +
                             std::to_string(k.size()) + " but must be 0 < len(key) <= 128");
    }
    if (v.empty() || v.size() > 512) {
      return InvalidArgument(prefix + "length of value for key \"" + k + "\" is " +
                             std::to_string(v.size()) + " but must be 0 < len(value) <= 512");
    }
    if (!Printable(k)) return InvalidArgument(prefix + "key contains unprintable characters");
    if (!Printable(v)) {
      return InvalidArgument(prefix + "value for key \"" + k +
                             "\" contains unprintable characters");
    }
  }
  return m;
}

StatusOr<std::optional<std::vector<std::string>>> PoliciesField(const Json& d, const char* field,
                                                                bool lowercase) {
  ARCA_ASSIGN_OR_RETURN(auto v, logical::GetStringSlice(d, field));
  if (!v) return v;
  if (v->size() > kMaxListItems) {
    return InvalidArgument("more than " + std::to_string(kMaxListItems) + " policies");
  }
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (auto& p : *v) {
    if (p.size() > kMaxNameBytes) {
      return InvalidArgument("policy name longer than " + std::to_string(kMaxNameBytes) + " bytes");
    }
    std::string name = lowercase ? LowerName(p) : p;
    if (seen.insert(name).second) out.push_back(std::move(name));
  }
  if (!lowercase) std::sort(out.begin(), out.end());
  return std::optional<std::vector<std::string>>(std::move(out));
}

StatusOr<std::optional<std::vector<std::string>>> IdListField(const Json& d, const char* field,
                                                              std::size_t max,
                                                              const std::string& too_many) {
  ARCA_ASSIGN_OR_RETURN(auto v, logical::GetStringSlice(d, field));
  if (!v) return v;
  if (v->size() > max) return InvalidArgument(too_many);
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (auto& id : *v) {
    if (id.size() > kMaxNameBytes)
      return InvalidArgument("invalid ID in \"" + std::string(field) + "\"");
    if (seen.insert(id).second) out.push_back(std::move(id));
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

bool ValidPathSegment(std::string_view s) {
  auto word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  if (s.empty() || s.size() > kMaxNameBytes) return false;
  if (!word(s.front()) || !word(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return word(c) || c == '-' || c == '.'; });
}

void WarnUnknown(Response& r, const Json& data, const std::vector<std::string>& known) {
  auto unknown = logical::UnknownFields(data, known);
  if (unknown.empty()) return;
  std::string list;
  for (const auto& u : unknown) list += (list.empty() ? "" : " ") + u;
  r.warnings.push_back("Endpoint ignored these unrecognized parameters: [" + list + "]");
}

}  // namespace identity

namespace {

// Go marshals a nil map as null; Vault's records keep nil until set.
Json MapOrNull(const StrMap& m) {
  if (m.empty()) return nullptr;
  Json j = Json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

Json MapObject(const StrMap& m) {
  Json j = Json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

Json Strings(const std::vector<std::string>& v) { return v.empty() ? Json::array() : Json(v); }

StatusOr<Response> ListResponse(std::vector<std::string> keys, Json key_info) {
  if (keys.empty()) return NotFound();
  return Response::WithData({{"keys", std::move(keys)}, {"key_info", std::move(key_info)}});
}

}  // namespace

void IdentityStore::Impl::AddMount(Json& j, const std::string& accessor) const {
  if (const MountRef* m = MountLocked(accessor)) {
    j["mount_type"] = m->type;
    j["mount_path"] = m->path;
  }
}

Json IdentityStore::Impl::AliasJson(const AliasRecord& a) const {
  Json j = {{"id", a.id},
            {"canonical_id", a.canonical_id},
            {"name", a.name},
            {"mount_accessor", a.mount_accessor},
            {"metadata", MapOrNull(a.metadata)},
            {"custom_metadata", MapObject(a.custom_metadata)},
            {"merged_from_canonical_ids", nullptr},
            {"namespace_id", "root"},
            {"local", false},
            {"creation_time", a.creation_time},
            {"last_update_time", a.last_update_time}};
  AddMount(j, a.mount_accessor);
  return j;
}

Json IdentityStore::Impl::EntityJson(const EntityRecord& e) const {
  Json al = Json::array();
  if (auto it = aliases_by_entity.find(e.id); it != aliases_by_entity.end()) {
    for (const auto& aid : it->second) {
      Json a = AliasJson(aliases.at(aid));
      a.erase("namespace_id");
      al.push_back(std::move(a));
    }
  }
  auto [direct, inherited] = EntityGroupsLocked(e.id);
  std::vector<std::string> all = direct;
  all.insert(all.end(), inherited.begin(), inherited.end());
  return {{"id", e.id},
          {"name", e.name},
          {"metadata", MapOrNull(e.metadata)},
          {"policies", Strings(e.policies)},
          {"disabled", e.disabled},
          {"namespace_id", "root"},
          {"creation_time", e.creation_time},
          {"last_update_time", e.last_update_time},
          {"merged_entity_ids", nullptr},
          {"aliases", std::move(al)},
          {"direct_group_ids", Strings(direct)},
          {"inherited_group_ids", Strings(inherited)},
          {"group_ids", Strings(all)}};
}

Json IdentityStore::Impl::GroupJson(const GroupRecord& g) const {
  Json alias = Json::object();
  if (auto it = group_alias_by_group.find(g.id); it != group_alias_by_group.end()) {
    const AliasRecord& a = group_aliases.at(it->second);
    alias = {{"id", a.id},
             {"canonical_id", a.canonical_id},
             {"name", a.name},
             {"mount_accessor", a.mount_accessor},
             {"metadata", nullptr},
             {"merged_from_canonical_ids", nullptr},
             {"creation_time", a.creation_time},
             {"last_update_time", a.last_update_time}};
    AddMount(alias, a.mount_accessor);
  }
  std::vector<std::string> parents;
  if (auto it = parents_by_group.find(g.id); it != parents_by_group.end()) {
    parents.assign(it->second.begin(), it->second.end());
  }
  return {{"id", g.id},
          {"name", g.name},
          {"type", g.type},
          {"policies", Strings(g.policies)},
          {"metadata", MapOrNull(g.metadata)},
          {"member_entity_ids", Strings(g.member_entity_ids)},
          {"member_group_ids", Strings(g.member_group_ids)},
          {"parent_group_ids", Strings(parents)},
          {"alias", std::move(alias)},
          {"creation_time", g.creation_time},
          {"last_update_time", g.last_update_time},
          {"modify_index", g.modify_index},
          {"namespace_id", "root"}};
}

StatusOr<Response> IdentityStore::Impl::ListEntitiesLocked(bool by_id) const {
  std::vector<std::string> keys;
  Json info = Json::object();
  for (const auto& [id, e] : entities) {
    keys.push_back(by_id ? id : e.name);
    Json entry = {{"name", e.name}};
    if (auto it = aliases_by_entity.find(id); it != aliases_by_entity.end()) {
      Json list = Json::array();
      for (const auto& aid : it->second) {
        const AliasRecord& a = aliases.at(aid);
        Json item = {{"id", a.id}, {"name", a.name}, {"mount_accessor", a.mount_accessor}};
        AddMount(item, a.mount_accessor);
        list.push_back(std::move(item));
      }
      entry["aliases"] = std::move(list);
    }
    info[id] = std::move(entry);  // keyed by id also when listing names, as Vault does
  }
  if (!by_id) std::sort(keys.begin(), keys.end());
  return ListResponse(std::move(keys), std::move(info));
}

StatusOr<Response> IdentityStore::Impl::ListAliasesLocked() const {
  std::vector<std::string> keys;
  Json info = Json::object();
  for (const auto& [id, a] : aliases) {
    keys.push_back(id);
    Json item = {{"canonical_id", a.canonical_id},
                 {"custom_metadata", MapObject(a.custom_metadata)},
                 {"local", false},
                 {"mount_accessor", a.mount_accessor},
                 {"name", a.name}};
    AddMount(item, a.mount_accessor);
    info[id] = std::move(item);
  }
  return ListResponse(std::move(keys), std::move(info));
}

StatusOr<Response> IdentityStore::Impl::ListGroupsLocked(bool by_id) const {
  std::vector<std::string> keys;
  Json info = Json::object();
  for (const auto& [id, g] : groups) {
    keys.push_back(by_id ? id : g.name);
    std::size_t parents = 0;
    if (auto it = parents_by_group.find(id); it != parents_by_group.end()) {
      parents = it->second.size();
    }
    Json entry = {{"name", g.name},
                  {"num_member_entities", g.member_entity_ids.size()},
                  {"num_parent_groups", parents}};
    if (auto it = group_alias_by_group.find(id); it != group_alias_by_group.end()) {
      const AliasRecord& a = group_aliases.at(it->second);
      Json item = {{"id", a.id}, {"name", a.name}, {"mount_accessor", a.mount_accessor}};
      AddMount(item, a.mount_accessor);
      entry["alias"] = std::move(item);
    }
    info[id] = std::move(entry);
  }
  if (!by_id) std::sort(keys.begin(), keys.end());
  return ListResponse(std::move(keys), std::move(info));
}

StatusOr<Response> IdentityStore::Impl::ListGroupAliasesLocked() const {
  std::vector<std::string> keys;
  Json info = Json::object();
  for (const auto& [id, a] : group_aliases) {
    keys.push_back(id);
    Json item = {
        {"canonical_id", a.canonical_id}, {"mount_accessor", a.mount_accessor}, {"name", a.name}};
    AddMount(item, a.mount_accessor);
    info[id] = std::move(item);
  }
  return ListResponse(std::move(keys), std::move(info));
}

}  // namespace arca::core
