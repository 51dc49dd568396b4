// arca: the identity/entity* and identity/entity-alias* endpoints (Vault's
// vault/identity_store_entities.go and identity_store_aliases.go). Error
// texts are Vault's. See internal/identity_impl.h.
#include <algorithm>
#include <mutex>

#include "base/encoding.h"
#include "core/internal/identity_impl.h"
#include "logical/fields.h"

namespace arca::core {

using identity::AliasRecord;
using identity::Changes;
using identity::EntityRecord;
using identity::Json;
using identity::StrMap;
using logical::Response;

namespace {

const std::vector<std::string> kEntityFields = {"id", "name", "metadata", "policies", "disabled"};
const std::vector<std::string> kAliasFields = {"id",   "canonical_id",   "entity_id",
                                               "name", "mount_accessor", "custom_metadata"};

}  // namespace

// --- entities ------------------------------------------------------------------------

StatusOr<Response> IdentityStore::Impl::EntityWrite(const Json& data, const std::string* path_id,
                                                    const std::string* path_name) {
  std::string id, name;
  if (path_id) {
    id = *path_id;
  } else {
    ARCA_ASSIGN_OR_RETURN(auto v, identity::NameField(data, "id"));
    id = v.value_or("");
  }
  if (path_name) {
    name = *path_name;
  } else {
    ARCA_ASSIGN_OR_RETURN(auto v, identity::NameField(data, "name"));
    name = v.value_or("");
  }
  ARCA_ASSIGN_OR_RETURN(auto metadata, identity::MetadataField(data, "metadata"));
  ARCA_ASSIGN_OR_RETURN(auto policies, identity::PoliciesField(data, "policies", false));
  ARCA_ASSIGN_OR_RETURN(auto disabled, logical::GetBool(data, "disabled"));

  std::lock_guard writer(write_mu);
  EntityRecord e;
  bool exists = false;
  if (!id.empty()) {
    auto it = entities.find(id);
    if (it == entities.end()) return InvalidArgument("entity not found from id");
    e = it->second;
    exists = true;
  }
  if (!name.empty()) {
    auto by_name = entity_by_name.find(identity::LowerName(name));
    if (by_name != entity_by_name.end()) {
      if (!exists) {
        e = entities.at(by_name->second);
        exists = true;
      } else if (by_name->second != e.id) {
        return InvalidArgument("entity name is already in use");
      }
    }
    e.name = name;
  }
  if (policies) e.policies = std::move(*policies);
  if (std::find(e.policies.begin(), e.policies.end(), "root") != e.policies.end()) {
    return InvalidArgument("policies cannot contain root");
  }
  if (disabled) e.disabled = *disabled;
  if (metadata) e.metadata = std::move(*metadata);

  const std::string now = Now();
  if (!exists) {
    e.id = NewUuid();
    if (e.name.empty()) e.name = FreshEntityName();
    e.creation_time = now;
  }
  e.last_update_time = now;
  Changes ch;
  ch.entities[e.id] = e;
  ARCA_RETURN_IF_ERROR(Commit(ch));
  if (exists) return Response();  // an update: 204

  Response r = Response::WithData({{"id", e.id}, {"name", e.name}, {"aliases", nullptr}});
  identity::WarnUnknown(r, data, kEntityFields);
  return r;
}

StatusOr<Response> IdentityStore::Impl::EntityRead(const std::string* id,
                                                   const std::string* name) const {
  std::shared_lock lock(mu);
  const EntityRecord* e = nullptr;
  if (id) {
    auto it = entities.find(*id);
    if (it != entities.end()) e = &it->second;
  } else if (name) {
    auto it = entity_by_name.find(identity::LowerName(*name));
    if (it != entity_by_name.end()) e = &entities.at(it->second);
  }
  if (!e) return NotFound();
  return Response::WithData(EntityJson(*e));
}

StatusOr<Response> IdentityStore::Impl::EntityDelete(const std::string* id,
                                                     const std::string* name) {
  std::lock_guard writer(write_mu);
  std::string target;
  if (id) {
    if (entities.count(*id)) target = *id;
  } else if (name) {
    auto it = entity_by_name.find(identity::LowerName(*name));
    if (it != entity_by_name.end()) target = it->second;
  }
  if (target.empty()) return Response();  // deleting nothing is not an error
  Changes ch;
  StageEntityDelete(ch, target);
  ARCA_RETURN_IF_ERROR(Commit(ch));
  return Response();
}

StatusOr<Response> IdentityStore::Impl::EntityBatchDelete(const Json& data) {
  ARCA_ASSIGN_OR_RETURN(auto ids, identity::IdListField(data, "entity_ids", identity::kMaxListItems,
                                                        "more than 1000 entity IDs"));
  if (!ids || ids->empty()) return InvalidArgument("missing entity ids to delete");
  std::lock_guard writer(write_mu);
  Changes ch;
  for (const auto& id : *ids) {
    if (EntityIn(ch, id)) StageEntityDelete(ch, id);
  }
  ARCA_RETURN_IF_ERROR(Commit(ch));
  return Response();
}

// --- entity aliases ------------------------------------------------------------------

StatusOr<Response> IdentityStore::Impl::AliasWrite(const Json& data, const std::string* path_id) {
  ARCA_ASSIGN_OR_RETURN(auto name_v, identity::NameField(data, "name"));
  ARCA_ASSIGN_OR_RETURN(auto accessor_v, identity::NameField(data, "mount_accessor"));
  ARCA_ASSIGN_OR_RETURN(auto canonical_v, identity::NameField(data, "canonical_id"));
  ARCA_ASSIGN_OR_RETURN(auto entity_v, identity::NameField(data, "entity_id"));
  ARCA_ASSIGN_OR_RETURN(auto cm, identity::CustomMetadataField(data, "custom_metadata"));
  std::string id;
  if (path_id) {
    id = *path_id;
  } else {
    ARCA_ASSIGN_OR_RETURN(auto v, identity::NameField(data, "id"));
    id = v.value_or("");
  }
  std::string name = name_v.value_or(""), accessor = accessor_v.value_or("");
  std::string canonical = canonical_v.value_or("");
  if (canonical.empty()) canonical = entity_v.value_or("");  // the pre-1.0 field name

  std::lock_guard writer(write_mu);
  if (!id.empty()) {
    auto it = aliases.find(id);
    if (it == aliases.end()) return InvalidArgument("invalid alias ID provided");
    const AliasRecord& alias = it->second;
    if (accessor.empty() && name.empty()) {
      if (canonical.empty() && !cm) return Response();  // nothing to do
      name = alias.name;
      accessor = alias.mount_accessor;
    } else if (accessor.empty()) {
      accessor = alias.mount_accessor;
    } else if (name.empty()) {
      name = alias.name;
    }
    return AliasUpdateLocked(canonical, name, accessor, alias, cm);
  }
  if (accessor.empty() || name.empty()) {
    return InvalidArgument("'id' or 'mount_accessor' and 'name' must be provided");
  }
  const MountRef* mount = MountLocked(accessor);
  if (!mount) return InvalidArgument("invalid mount accessor \"" + accessor + "\"");
  auto existing = alias_by_factors.find({accessor, identity::LowerName(name)});
  if (existing != alias_by_factors.end()) {
    return AliasUpdateLocked(canonical, name, accessor, aliases.at(existing->second), cm);
  }
  return AliasCreateLocked(canonical, name, *mount, cm.value_or(StrMap()));
}

StatusOr<Response> IdentityStore::Impl::AliasCreateLocked(const std::string& canonical_id,
                                                          const std::string& name,
                                                          const MountRef& mount,
                                                          const StrMap& custom_metadata) {
  const std::string now = Now();
  Changes ch;
  EntityRecord* e = nullptr;
  if (!canonical_id.empty()) {
    e = StageEntity(ch, canonical_id);
    if (!e) return InvalidArgument("invalid canonical ID");
    if (auto it = aliases_by_entity.find(e->id); it != aliases_by_entity.end()) {
      for (const auto& aid : it->second) {
        if (aliases.at(aid).mount_accessor == mount.accessor) {
          return InvalidArgument("Alias already exists for requested entity and mount accessor");
        }
      }
    }
  } else {
    EntityRecord fresh;
    fresh.id = NewUuid();
    fresh.name = FreshEntityName();
    fresh.creation_time = now;
    e = &*(ch.entities[fresh.id] = std::move(fresh));
  }
  e->last_update_time = now;

  AliasRecord a;
  a.id = NewUuid();
  a.canonical_id = e->id;
  a.name = name;
  a.mount_accessor = mount.accessor;
  a.custom_metadata = custom_metadata;
  a.creation_time = a.last_update_time = now;
  Json data = {{"id", a.id}, {"canonical_id", a.canonical_id}};
  ch.aliases[a.id] = std::move(a);
  ARCA_RETURN_IF_ERROR(Commit(ch));
  return Response::WithData(std::move(data));
}

StatusOr<Response> IdentityStore::Impl::AliasUpdateLocked(const std::string& canonical_id,
                                                          const std::string& name,
                                                          const std::string& accessor,
                                                          const AliasRecord& alias,
                                                          const std::optional<StrMap>& cm) {
  const StrMap& new_cm = cm ? *cm : alias.custom_metadata;
  const bool moving = !canonical_id.empty() && canonical_id != alias.canonical_id;
  if (name == alias.name && accessor == alias.mount_accessor && !moving &&
      new_cm == alias.custom_metadata) {
    return Response();  // nothing changes
  }
  auto current = entities.find(alias.canonical_id);
  if (current == entities.end()) {
    return InvalidArgument("given alias is not associated with an entity");
  }
  auto has_alias_on = [&](const std::string& entity_id, const std::string& acc) {
    auto it = aliases_by_entity.find(entity_id);
    if (it == aliases_by_entity.end()) return false;
    return std::any_of(it->second.begin(), it->second.end(), [&](const std::string& aid) {
      return aid != alias.id && aliases.at(aid).mount_accessor == acc;
    });
  };
  if (accessor != alias.mount_accessor && !moving && has_alias_on(alias.canonical_id, accessor)) {
    return InvalidArgument(
        "Alias cannot be updated as the entity already has an alias for the given "
        "'mount_accessor' ");
  }
  AliasRecord updated = alias;
  if (name != alias.name || accessor != alias.mount_accessor) {
    if (!MountLocked(accessor)) {
      return InvalidArgument("invalid mount accessor \"" + accessor + "\"");
    }
    auto existing = alias_by_factors.find({accessor, identity::LowerName(name)});
    if (existing != alias_by_factors.end() && existing->second != alias.id) {
      return InvalidArgument("alias with combination of mount accessor and name already exists");
    }
    updated.name = name;
    updated.mount_accessor = accessor;
  }
  updated.custom_metadata = new_cm;

  const std::string now = Now();
  Changes ch;
  if (moving) {
    EntityRecord* target = StageEntity(ch, canonical_id);
    if (!target) {
      return InvalidArgument("given 'canonical_id' is not associated with an entity");
    }
    if (has_alias_on(canonical_id, accessor)) {
      return InvalidArgument(
          "Alias cannot be updated as the given entity already has an alias for this mount ");
    }
    target->last_update_time = now;
    updated.canonical_id = canonical_id;
  }
  StageEntity(ch, alias.canonical_id)->last_update_time = now;
  updated.last_update_time = now;
  Json data = {{"id", updated.id}, {"canonical_id", updated.canonical_id}};
  ch.aliases[updated.id] = std::move(updated);
  ARCA_RETURN_IF_ERROR(Commit(ch));
  return Response::WithData(std::move(data));
}

StatusOr<Response> IdentityStore::Impl::AliasRead(const std::string& id) const {
  std::shared_lock lock(mu);
  auto it = aliases.find(id);
  if (it == aliases.end()) return NotFound();
  return Response::WithData(AliasJson(it->second));
}

StatusOr<Response> IdentityStore::Impl::AliasDelete(const std::string& id) {
  std::lock_guard writer(write_mu);
  auto it = aliases.find(id);
  if (it == aliases.end()) return Response();
  Changes ch;
  ch.aliases[id] = std::nullopt;
  if (EntityRecord* e = StageEntity(ch, it->second.canonical_id)) e->last_update_time = Now();
  ARCA_RETURN_IF_ERROR(Commit(ch));
  return Response();
}

}  // namespace arca::core
