// arca: IdentityStore, Vault's identity: entities, aliases, groups.
//
// Entities are the people (or machines) behind tokens; an entity alias ties
// one to a login name on one auth mount (by mount accessor); groups carry
// policies, internal (explicit members) or external (members synced at each
// login from an auth method's group aliases, e.g. a JWT groups claim).
// See ../shared/reference/vault-api.md section 7 for the rules and the wire
// shapes; this component implements them.
//
// Everything is kept in memory (indexes by id, name, (accessor, alias name))
// and persisted, one JSON record per object, below the given storage view:
//   entity/<id>, alias/<id>, group/<id>, group-alias/<id>
// Load() reads it all at unseal / becoming active. Writes go to storage
// first, then to memory; a failed write leaves memory unchanged.
//
// Safe for concurrent use. Reads (views, policies, GETs, logins that change
// nothing) share a reader lock; writes are serialized and hold the
// exclusive lock only to apply a change already in storage, never across
// storage I/O.
//
// Names (entities, groups, aliases) are matched case-insensitively (ASCII),
// as Vault does by default, and keep the case they were written with.
// Storage writes of one change are one transaction when they fit in 64 ops,
// else consecutive batches of 64; Load() tolerates what a failure between
// batches can leave (dangling member ids, aliases of deleted objects).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "core/policy.h"
#include "logical/backend.h"
#include "logical/request.h"
#include "storage/backend.h"

namespace arca::core {

struct MountRef {
  std::string accessor;  // "auth_jwt_1a2b3c4d"
  std::string type;      // "jwt"
  std::string path;      // "auth/jwt/"
};

struct LoginIdentity {
  std::string entity_id;
  // Policies of the entity and of every group it belongs to, directly,
  // through external groups, or inherited through parent groups; sorted,
  // unique.
  std::vector<std::string> identity_policies;
};

class IdentityStore {
 public:
  IdentityStore(storage::Backend& view, Clock& clock);
  ~IdentityStore();

  // Replaces the memory state with what storage holds. Internal on a
  // malformed record, or the storage error.
  Status Load();

  // A successful login on `mount` reported `alias` (and group aliases from
  // the groups claim). Finds the entity by (mount accessor, alias name) or
  // creates it (name "entity_<8 hex>") with its alias; updates the alias
  // metadata when changed; makes the entity a member of exactly those
  // external groups that have a group alias on this accessor whose name is
  // in `group_aliases` (and removes it from this mount's other external
  // groups). No group is ever created here. PermissionDenied if the entity
  // is disabled (nothing is changed then); InvalidArgument for an empty or
  // over-long alias name or accessor; storage errors as they come.
  StatusOr<LoginIdentity> ResolveLogin(const MountRef& mount, const logical::Alias& alias,
                                       const std::vector<logical::Alias>& group_aliases);

  // Live view for policy templating and identity policies at request time.
  // nullopt when the entity does not exist (deleted).
  std::optional<EntityView> View(const std::string& entity_id) const;
  // Empty when the entity does not exist.
  std::vector<std::string> IdentityPolicies(const std::string& entity_id) const;
  // Whether the entity exists and is disabled: Vault refuses every request
  // of a token whose entity is disabled (403), without revoking it.
  bool IsEntityDisabled(const std::string& entity_id) const;

  // The identity/ mount: entity, entity-alias, group, group-alias, lookup
  // endpoints as in the reference (7.2). The backend calls back into this
  // store; it must not outlive it. Its Exists() is always true (every write
  // is an update for the ACL, as in Vault). entity/merge and oidc/* answer
  // 400 "... not supported by this server".
  std::unique_ptr<logical::Backend> MakeBackend();

  // Mount accessors → (type, path), so entity-alias and group-alias
  // endpoints can validate `mount_accessor` and fill mount_type/path. Set
  // by core whenever the auth mount table changes.
  void SetAuthMounts(std::vector<MountRef> mounts);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace arca::core
