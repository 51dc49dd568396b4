// arca core (internal): IdentityStore::Impl, the records, indexes and
// request handlers behind core/identity_store.h.
//
// Split across files: identity_store.cc (records, storage, indexes, logins,
// views), identity_entities.cc (entity and entity-alias endpoints),
// identity_groups.cc (group and group-alias endpoints), identity_json.cc (wire
// shapes and field validation), identity_backend.cc (routing, lookups).
//
// Locking: writers (endpoint writes, logins that change something, Load,
// SetAuthMounts) serialize on `write_mu`; `mu` guards the state below it
// against readers. A writer reads the state holding only `write_mu` (no one
// else modifies it), stages its changes in a Changes value, and Commit()
// writes them to storage and only then applies them to memory under an
// exclusive `mu`, so readers never wait on storage I/O. Readers take `mu`
// shared. The *Locked helpers expect the caller to hold either lock.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "core/identity_store.h"
#include "core/policy.h"
#include "logical/request.h"
#include "storage/backend.h"

namespace arca::core {

namespace identity {

using Json = logical::Json;
using StrMap = std::map<std::string, std::string>;

// Input bounds (every request field is checked against these).
inline constexpr std::size_t kMaxNameBytes = 512;       // names, ids, policy names
inline constexpr std::size_t kMaxListItems = 1000;      // policies, metadata keys
inline constexpr std::size_t kMaxMetadataValue = 8192;  // one metadata value
inline constexpr std::size_t kMaxMemberEntities = 512;  // Vault's limit
inline constexpr std::size_t kMaxMemberGroups = 1000;

inline constexpr const char* kInternal = "internal";
inline constexpr const char* kExternal = "external";

struct AliasRecord {  // an entity alias, or a group alias (canonical_id = group id)
  std::string id, canonical_id, name, mount_accessor;
  StrMap metadata, custom_metadata;
  std::string creation_time, last_update_time;  // RFC 3339 nano UTC
};

struct EntityRecord {
  std::string id, name;
  StrMap metadata;
  std::vector<std::string> policies;
  bool disabled = false;
  std::string creation_time, last_update_time;
};

struct GroupRecord {
  std::string id, name, type;  // kInternal or kExternal
  std::vector<std::string> policies;
  StrMap metadata;
  std::vector<std::string> member_entity_ids, member_group_ids;
  std::string creation_time, last_update_time;
  int64_t modify_index = 0;
};

// (mount accessor, lowercased name): Vault matches names case-insensitively.
using Factors = std::pair<std::string, std::string>;
std::string LowerName(std::string_view s);  // ASCII lowercase

// Storage encoding of the records; the decoders return Internal on a
// malformed record.
Json ToStorage(const EntityRecord& e);
Json ToStorage(const GroupRecord& g);
Json ToStorage(const AliasRecord& a);
StatusOr<EntityRecord> EntityFromStorage(const Json& j);
StatusOr<GroupRecord> GroupFromStorage(const Json& j);
StatusOr<AliasRecord> AliasFromStorage(const Json& j);

// Staged writes: id → new value, or nullopt to delete.
struct Changes {
  std::map<std::string, std::optional<EntityRecord>> entities;
  std::map<std::string, std::optional<AliasRecord>> aliases;
  std::map<std::string, std::optional<GroupRecord>> groups;
  std::map<std::string, std::optional<AliasRecord>> group_aliases;
  bool empty() const {
    return entities.empty() && aliases.empty() && groups.empty() && group_aliases.empty();
  }
};

// Validated request fields. Absent or null → nullopt; wrong type or over a
// bound → InvalidArgument.
StatusOr<std::optional<std::string>> NameField(const Json& d, const char* field);
StatusOr<std::optional<StrMap>> MetadataField(const Json& d, const char* field);
// custom_metadata, with Vault's limits (64 keys, key ≤ 128, value ≤ 512 bytes).
StatusOr<std::optional<StrMap>> CustomMetadataField(const Json& d, const char* field);
// Policy names: deduplicated; `lowercase` for groups (Vault lowercases them).
StatusOr<std::optional<std::vector<std::string>>> PoliciesField(const Json& d, const char* field,
                                                                bool lowercase);
// A list of ids: deduplicated in order, at most `max` (else `too_many`).
StatusOr<std::optional<std::vector<std::string>>> IdListField(const Json& d, const char* field,
                                                              std::size_t max,
                                                              const std::string& too_many);
// Vault's framework.GenericNameRegex: \w([\w.-]*\w)? (a path segment).
bool ValidPathSegment(std::string_view s);
// "Endpoint ignored these unrecognized parameters: [...]" when there are any.
void WarnUnknown(logical::Response& r, const Json& data, const std::vector<std::string>& known);

}  // namespace identity

struct IdentityStore::Impl {
  Impl(storage::Backend& view, Clock& clock) : storage(view), clock(clock) {}

  storage::Backend& storage;
  Clock& clock;

  std::mutex write_mu;  // taken before mu
  mutable std::shared_mutex mu;
  std::map<std::string, MountRef> mounts;  // by accessor

  std::map<std::string, identity::EntityRecord> entities;
  std::map<std::string, identity::AliasRecord> aliases;
  std::map<std::string, identity::GroupRecord> groups;
  std::map<std::string, identity::AliasRecord> group_aliases;

  // Indexes, derived from the records above by Index()/Unindex().
  std::map<std::string, std::string> entity_by_name;  // lowercased name → id
  std::map<identity::Factors, std::string> alias_by_factors;
  std::map<std::string, std::set<std::string>> aliases_by_entity;
  std::map<std::string, std::string> group_by_name;
  std::map<identity::Factors, std::string> group_alias_by_factors;
  std::map<std::string, std::string> group_alias_by_group;
  std::map<std::string, std::set<std::string>> groups_by_entity;  // direct membership
  std::map<std::string, std::set<std::string>> parents_by_group;  // via member_group_ids

  // --- identity_store.cc -------------------------------------------------------
  std::string Now() const;
  Status LoadLocked();
  // Writes `ch` to storage, then to memory (taking mu exclusively; the
  // caller holds write_mu). On error memory is unchanged.
  Status Commit(const identity::Changes& ch);
  void Apply(const identity::Changes& ch);
  void ClearLocked();

  // Staged or committed value; nullptr when absent or staged for deletion.
  const identity::EntityRecord* EntityIn(const identity::Changes& ch, const std::string& id) const;
  const identity::GroupRecord* GroupIn(const identity::Changes& ch, const std::string& id) const;
  // A mutable staged copy (copied from memory on first use); nullptr when absent.
  identity::EntityRecord* StageEntity(identity::Changes& ch, const std::string& id) const;
  identity::GroupRecord* StageGroup(identity::Changes& ch, const std::string& id) const;

  // A fresh "<prefix><8 hex>" name not used by any entity (or group).
  std::string FreshEntityName() const;
  std::string FreshGroupName() const;
  // Stages the deletion of an entity: its aliases, its group memberships.
  void StageEntityDelete(identity::Changes& ch, const std::string& id) const;
  void StageGroupDelete(identity::Changes& ch, const std::string& id) const;

  // Groups of an entity: direct (sorted) and inherited through parents
  // (sorted, excluding the direct ones). Cycle-safe.
  std::pair<std::vector<std::string>, std::vector<std::string>> EntityGroupsLocked(
      const std::string& entity_id) const;
  // Every ancestor of the given groups (parents of parents ...), excluding none.
  std::set<std::string> AncestorsLocked(const std::set<std::string>& start) const;
  std::vector<std::string> PoliciesLocked(const std::string& entity_id) const;
  const MountRef* MountLocked(const std::string& accessor) const;

  struct LoginPlan {
    identity::Changes changes;
    std::string entity_id;
    bool disabled = false;
  };
  LoginPlan PlanLoginLocked(const MountRef& mount, const logical::Alias& alias,
                            const std::vector<logical::Alias>& group_aliases) const;

  // --- identity_json.cc: wire shapes (caller holds mu) -----------------------------
  identity::Json EntityJson(const identity::EntityRecord& e) const;
  identity::Json AliasJson(const identity::AliasRecord& a) const;  // entity or group alias read
  identity::Json GroupJson(const identity::GroupRecord& g) const;
  // mount_type and mount_path when the accessor is a known auth mount.
  void AddMount(identity::Json& j, const std::string& accessor) const;
  StatusOr<logical::Response> ListEntitiesLocked(bool by_id) const;
  StatusOr<logical::Response> ListAliasesLocked() const;
  StatusOr<logical::Response> ListGroupsLocked(bool by_id) const;
  StatusOr<logical::Response> ListGroupAliasesLocked() const;

  // --- identity_entities.cc --------------------------------------------------------
  // path_id / path_name: captured from entity/id/<id>, entity/name/<name>.
  StatusOr<logical::Response> EntityWrite(const identity::Json& data, const std::string* path_id,
                                          const std::string* path_name);
  StatusOr<logical::Response> EntityRead(const std::string* id, const std::string* name) const;
  StatusOr<logical::Response> EntityDelete(const std::string* id, const std::string* name);
  StatusOr<logical::Response> EntityBatchDelete(const identity::Json& data);
  StatusOr<logical::Response> AliasWrite(const identity::Json& data, const std::string* path_id);
  StatusOr<logical::Response> AliasRead(const std::string& id) const;
  StatusOr<logical::Response> AliasDelete(const std::string& id);

  // --- identity_groups.cc ----------------------------------------------------------
  StatusOr<logical::Response> GroupWrite(const identity::Json& data, const std::string* path_id,
                                         const std::string* path_name);
  StatusOr<logical::Response> GroupRead(const std::string* id, const std::string* name) const;
  StatusOr<logical::Response> GroupDelete(const std::string* id, const std::string* name);
  StatusOr<logical::Response> GroupAliasWrite(const identity::Json& data,
                                              const std::string* path_id);
  StatusOr<logical::Response> GroupAliasRead(const std::string& id) const;
  StatusOr<logical::Response> GroupAliasDelete(const std::string& id);

  // --- identity_backend.cc ---------------------------------------------------------
  StatusOr<logical::Response> LookupEntity(const identity::Json& data) const;
  StatusOr<logical::Response> LookupGroup(const identity::Json& data) const;

 private:
  StatusOr<logical::Response> AliasCreateLocked(const std::string& canonical_id,
                                                const std::string& name, const MountRef& mount,
                                                const identity::StrMap& custom_metadata);
  StatusOr<logical::Response> AliasUpdateLocked(const std::string& canonical_id,
                                                const std::string& name,
                                                const std::string& accessor,
                                                const identity::AliasRecord& alias,
                                                const std::optional<identity::StrMap>& cm);
  void Index(const identity::EntityRecord& e);
  void Unindex(const identity::EntityRecord& e);
  void Index(const identity::GroupRecord& g);
  void Unindex(const identity::GroupRecord& g);
  void IndexAlias(const identity::AliasRecord& a);
  void UnindexAlias(const identity::AliasRecord& a);
  void IndexGroupAlias(const identity::AliasRecord& a);
  void UnindexGroupAlias(const identity::AliasRecord& a);
};

}  // namespace arca::core
