// arca: the identity/group* and identity/group-alias* endpoints (Vault's
// vault/identity_store_groups.go and identity_store_group_aliases.go). Error
// texts are Vault's. See internal/identity_impl.h.
#include <algorithm>
#include <mutex>

#include "base/encoding.h"
#include "core/internal/identity_impl.h"
#include "logical/fields.h"

namespace arca::core {

using identity::AliasRecord;
using identity::Changes;
using identity::GroupRecord;
using identity::Json;
using identity::StrMap;
using logical::Response;

namespace {

const std::vector<std::string> kGroupFields = {
    "id", "name", "type", "metadata", "policies", "member_entity_ids", "member_group_ids"};
const std::vector<std::string> kGroupAliasFields = {"id", "name", "mount_accessor", "canonical_id"};

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

}  // namespace

// --- groups --------------------------------------------------------------------------

StatusOr<Response> IdentityStore::Impl::GroupWrite(const Json& data, const std::string* path_id,
                                                   const std::string* path_name) {
  std::optional<std::string> id;
  if (path_id) {
    id = *path_id;
  } else {
    ARCA_ASSIGN_OR_RETURN(id, identity::NameField(data, "id"));
    if (id && id->empty()) return InvalidArgument("empty group ID");
  }
  std::string name;
  if (path_name) {
    name = *path_name;
  } else {
    ARCA_ASSIGN_OR_RETURN(auto v, identity::NameField(data, "name"));
    name = v.value_or("");
  }
  ARCA_ASSIGN_OR_RETURN(auto type, identity::NameField(data, "type"));
  ARCA_ASSIGN_OR_RETURN(auto metadata, identity::MetadataField(data, "metadata"));
  ARCA_ASSIGN_OR_RETURN(auto policies, identity::PoliciesField(data, "policies", true));
  ARCA_ASSIGN_OR_RETURN(
      auto member_entities,
      identity::IdListField(data, "member_entity_ids", identity::kMaxMemberEntities,
                            "member entity IDs exceeding the limit of 512"));
  ARCA_ASSIGN_OR_RETURN(auto member_groups,
                        identity::IdListField(data, "member_group_ids", identity::kMaxMemberGroups,
                                              "member group IDs exceeding the limit of 1000"));

  std::lock_guard writer(write_mu);
  GroupRecord g;
  bool exists = false;
  if (id) {
    auto it = groups.find(*id);
    if (it == groups.end()) return InvalidArgument("invalid group ID");
    g = it->second;
    exists = true;
  }
  // Answer with {id, name} unless an existing group was addressed by id or
  // by its name in the path (Vault answers 204 then).
  bool respond = !exists;
  if (!name.empty()) {
    auto by_name = group_by_name.find(identity::LowerName(name));
    if (by_name != group_by_name.end()) {
      if (!exists) {
        g = groups.at(by_name->second);
        exists = true;
        respond = path_name == nullptr;
      } else if (by_name->second != g.id) {
        return InvalidArgument("group name is already in use");
      }
    }
    g.name = name;
  }
  if (policies) g.policies = std::move(*policies);
  if (std::find(g.policies.begin(), g.policies.end(), "root") != g.policies.end()) {
    return InvalidArgument("policies cannot contain root");
  }
  if (type && !type->empty()) {
    if (exists && *type != g.type) return InvalidArgument("group type cannot be changed");
    g.type = *type;
  }
  if (g.type.empty()) g.type = identity::kInternal;
  if (g.type != identity::kInternal && g.type != identity::kExternal) {
    return InvalidArgument("invalid group type " + Quoted(g.type));
  }
  if (metadata) g.metadata = std::move(*metadata);
  if (member_entities) {
    if (g.type == identity::kExternal) {
      return InvalidArgument("member entities can't be set manually for external groups");
    }
    for (const auto& e : *member_entities) {
      if (!entities.count(e)) return InvalidArgument("invalid entity ID " + Quoted(e));
    }
    g.member_entity_ids = std::move(*member_entities);
  }
  if (member_groups) {
    if (g.type == identity::kExternal) {
      return InvalidArgument("member groups can't be set for external groups");
    }
    // A member that is already an ancestor of this group would close a cycle.
    std::set<std::string> ancestors;
    if (exists) ancestors = AncestorsLocked({g.id});
    for (const auto& m : *member_groups) {
      if (exists && m == g.id) {
        return InvalidArgument("member group ID " + Quoted(m) + " is same as the ID of the group");
      }
      if (!groups.count(m)) return InvalidArgument("invalid member group ID " + Quoted(m));
      if (ancestors.count(m)) {
        return InvalidArgument("cyclic relationship detected for member group ID " + Quoted(m));
      }
    }
    g.member_group_ids = std::move(*member_groups);
  }

  const std::string now = Now();
  if (!exists) {
    g.id = NewUuid();
    if (g.name.empty()) g.name = FreshGroupName();
    g.creation_time = now;
  }
  g.last_update_time = now;
  g.modify_index++;
  Changes ch;
  ch.groups[g.id] = g;
  ARCA_RETURN_IF_ERROR(Commit(ch));
  if (!respond) return Response();
  Response r = Response::WithData({{"id", g.id}, {"name", g.name}});
  identity::WarnUnknown(r, data, kGroupFields);
  return r;
}

StatusOr<Response> IdentityStore::Impl::GroupRead(const std::string* id,
                                                  const std::string* name) const {
  std::shared_lock lock(mu);
  const GroupRecord* g = nullptr;
  if (id) {
    auto it = groups.find(*id);
    if (it != groups.end()) g = &it->second;
  } else if (name) {
    auto it = group_by_name.find(identity::LowerName(*name));
    if (it != group_by_name.end()) g = &groups.at(it->second);
  }
  if (!g) return NotFound();
  return Response::WithData(GroupJson(*g));
}

StatusOr<Response> IdentityStore::Impl::GroupDelete(const std::string* id,
                                                    const std::string* name) {
  std::lock_guard writer(write_mu);
  std::string target;
  if (id) {
    if (groups.count(*id)) target = *id;
  } else if (name) {
    auto it = group_by_name.find(identity::LowerName(*name));
    if (it != group_by_name.end()) target = it->second;
  }
  if (target.empty()) return Response();
  Changes ch;
  StageGroupDelete(ch, target);
  ARCA_RETURN_IF_ERROR(Commit(ch));
  return Response();
}

// --- group aliases -------------------------------------------------------------------

StatusOr<Response> IdentityStore::Impl::GroupAliasWrite(const Json& data,
                                                        const std::string* path_id) {
  std::optional<std::string> id;
  if (path_id) {
    id = *path_id;
  } else {
    ARCA_ASSIGN_OR_RETURN(id, identity::NameField(data, "id"));
    if (id && id->empty()) return InvalidArgument("empty group alias ID");
  }
  ARCA_ASSIGN_OR_RETURN(auto name_v, identity::NameField(data, "name"));
  ARCA_ASSIGN_OR_RETURN(auto accessor_v, identity::NameField(data, "mount_accessor"));
  ARCA_ASSIGN_OR_RETURN(auto canonical_v, identity::NameField(data, "canonical_id"));
  const std::string name = name_v.value_or(""), accessor = accessor_v.value_or("");
  const std::string canonical = canonical_v.value_or("");

  std::lock_guard writer(write_mu);
  std::optional<AliasRecord> existing;
  if (id) {
    auto it = group_aliases.find(*id);
    if (it == group_aliases.end()) return InvalidArgument("invalid group alias ID");
    existing = it->second;
  }
  if (name.empty()) return InvalidArgument("missing alias name");
  if (accessor.empty()) return InvalidArgument("missing mount_accessor");
  if (!MountLocked(accessor)) return InvalidArgument("invalid mount accessor " + Quoted(accessor));
  auto by_factors = group_alias_by_factors.find({accessor, identity::LowerName(name)});
  if (by_factors != group_alias_by_factors.end() &&
      (!existing || by_factors->second != existing->id)) {
    return InvalidArgument("combination of mount and group alias name is already in use");
  }
  const std::string now = Now();
  Changes ch;
  GroupRecord* target = nullptr;
  if (!canonical.empty()) {
    target = StageGroup(ch, canonical);
    if (!target) return InvalidArgument("invalid group ID given in 'canonical_id'");
    if (target->type != identity::kExternal) {
      return InvalidArgument("alias can't be set on an internal group");
    }
    auto has = group_alias_by_group.find(canonical);
    if (has != group_alias_by_group.end() && (!existing || has->second != existing->id)) {
      return InvalidArgument("group already has an alias");
    }
  } else if (existing) {
    target = StageGroup(ch, existing->canonical_id);
  }
  if (!target) {
    // No group named: Vault creates an external group for the alias.
    GroupRecord fresh;
    fresh.id = NewUuid();
    fresh.name = FreshGroupName();
    fresh.type = identity::kExternal;
    fresh.creation_time = now;
    target = &*(ch.groups[fresh.id] = std::move(fresh));
  }
  target->modify_index++;
  target->last_update_time = now;
  if (existing && existing->canonical_id != target->id) {
    if (GroupRecord* prev = StageGroup(ch, existing->canonical_id)) {
      prev->modify_index++;
      prev->last_update_time = now;
    }
  }

  AliasRecord a = existing.value_or(AliasRecord());
  if (!existing) {
    a.id = NewUuid();
    a.creation_time = now;
  }
  a.name = name;
  a.mount_accessor = accessor;
  a.canonical_id = target->id;
  a.last_update_time = now;
  Response r = Response::WithData({{"id", a.id}, {"canonical_id", a.canonical_id}});
  ch.group_aliases[a.id] = std::move(a);
  ARCA_RETURN_IF_ERROR(Commit(ch));
  identity::WarnUnknown(r, data, kGroupAliasFields);
  return r;
}

StatusOr<Response> IdentityStore::Impl::GroupAliasRead(const std::string& id) const {
  std::shared_lock lock(mu);
  auto it = group_aliases.find(id);
  if (it == group_aliases.end()) return NotFound();
  return Response::WithData(AliasJson(it->second));
}

StatusOr<Response> IdentityStore::Impl::GroupAliasDelete(const std::string& id) {
  std::lock_guard writer(write_mu);
  auto it = group_aliases.find(id);
  if (it == group_aliases.end()) return Response();
  Changes ch;
  ch.group_aliases[id] = std::nullopt;
  if (GroupRecord* g = StageGroup(ch, it->second.canonical_id)) {
    g->modify_index++;
    g->last_update_time = Now();
  }
  ARCA_RETURN_IF_ERROR(Commit(ch));
  return Response();
}

}  // namespace arca::core
