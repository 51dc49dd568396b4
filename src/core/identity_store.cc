// arca: IdentityStore (see identity_store.h): records and their storage
// encoding, loading, committing staged changes, the in-memory indexes, group
// graph walks, logins and views. The endpoints live in identity_entities.cc,
// identity_groups.cc and identity_backend.cc.
#include "core/identity_store.h"

#include <algorithm>
#include <deque>
#include <mutex>

#include "base/encoding.h"
#include "base/time.h"
#include "core/internal/identity_impl.h"

namespace arca::core {

using identity::AliasRecord;
using identity::Changes;
using identity::EntityRecord;
using identity::Factors;
using identity::GroupRecord;
using identity::Json;
using identity::StrMap;

namespace identity {

namespace {

Json MapJson(const StrMap& m) {
  Json j = Json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

// Readers for storage records; a wrong type throws json::type_error, which
// the callers turn into Internal.
std::string Str(const Json& j, const char* k) {
  auto it = j.find(k);
  return it == j.end() || it->is_null() ? std::string() : it->get<std::string>();
}
StrMap Map(const Json& j, const char* k) {
  StrMap m;
  auto it = j.find(k);
  if (it == j.end() || it->is_null()) return m;
  for (auto e = it->begin(); e != it->end(); ++e) m[e.key()] = e->get<std::string>();
  return m;
}
std::vector<std::string> List(const Json& j, const char* k) {
  auto it = j.find(k);
  if (it == j.end() || it->is_null()) return {};
  return it->get<std::vector<std::string>>();
}

template <typename R, typename F>
StatusOr<R> Decode(const Json& j, F fill) {
  if (!j.is_object()) return Internal("identity: malformed record");
  try {
    R r;
    fill(r);
    if (r.id.empty()) return Internal("identity: record without id");
    return r;
  } catch (const Json::exception&) {
    return Internal("identity: malformed record");
  }
}

}  // namespace

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string LowerName(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  }
  return out;
}

Json ToStorage(const EntityRecord& e) {
  return {{"id", e.id},
          {"name", e.name},
          {"metadata", MapJson(e.metadata)},
          {"policies", e.policies},
          {"disabled", e.disabled},
          {"creation_time", e.creation_time},
          {"last_update_time", e.last_update_time}};
}

Json ToStorage(const GroupRecord& g) {
  return {{"id", g.id},
          {"name", g.name},
          {"type", g.type},
          {"policies", g.policies},
          {"metadata", MapJson(g.metadata)},
          {"member_entity_ids", g.member_entity_ids},
          {"member_group_ids", g.member_group_ids},
          {"creation_time", g.creation_time},
          {"last_update_time", g.last_update_time},
          {"modify_index", g.modify_index}};
}

Json ToStorage(const AliasRecord& a) {
  return {{"id", a.id},
          {"canonical_id", a.canonical_id},
          {"name", a.name},
          {"mount_accessor", a.mount_accessor},
          {"metadata", MapJson(a.metadata)},
          {"custom_metadata", MapJson(a.custom_metadata)},
          {"creation_time", a.creation_time},
          {"last_update_time", a.last_update_time}};
}

StatusOr<EntityRecord> EntityFromStorage(const Json& j) {
  return Decode<EntityRecord>(j, [&](EntityRecord& e) {
    e.id = Str(j, "id");
    e.name = Str(j, "name");
    e.metadata = Map(j, "metadata");
    e.policies = List(j, "policies");
    e.disabled = j.value("disabled", false);
    e.creation_time = Str(j, "creation_time");
    e.last_update_time = Str(j, "last_update_time");
  });
}

StatusOr<GroupRecord> GroupFromStorage(const Json& j) {
  return Decode<GroupRecord>(j, [&](GroupRecord& g) {
    g.id = Str(j, "id");
    g.name = Str(j, "name");
    g.type = Str(j, "type");
    if (g.type != kExternal) g.type = kInternal;
    g.policies = List(j, "policies");
    g.metadata = Map(j, "metadata");
    g.member_entity_ids = List(j, "member_entity_ids");
    g.member_group_ids = List(j, "member_group_ids");
    g.creation_time = Str(j, "creation_time");
    g.last_update_time = Str(j, "last_update_time");
    g.modify_index = j.value("modify_index", int64_t{0});
  });
}

StatusOr<AliasRecord> AliasFromStorage(const Json& j) {
  return Decode<AliasRecord>(j, [&](AliasRecord& a) {
    a.id = Str(j, "id");
    a.canonical_id = Str(j, "canonical_id");
    a.name = Str(j, "name");
    a.mount_accessor = Str(j, "mount_accessor");
    a.metadata = Map(j, "metadata");
    a.custom_metadata = Map(j, "custom_metadata");
    a.creation_time = Str(j, "creation_time");
    a.last_update_time = Str(j, "last_update_time");
  });
}

}  // namespace identity

// --- Impl: storage -------------------------------------------------------------------

namespace {

constexpr std::size_t kTxnOps = 64;  // etcd refuses transactions past 128 ops
constexpr const char* kEntityPrefix = "entity/";
constexpr const char* kAliasPrefix = "alias/";
constexpr const char* kGroupPrefix = "group/";
constexpr const char* kGroupAliasPrefix = "group-alias/";

template <typename R, typename D>
Status LoadPrefix(storage::Backend& s, const std::string& prefix, D decode,
                  std::map<std::string, R>& out) {
  ARCA_ASSIGN_OR_RETURN(auto keys, s.List(prefix));
  for (const auto& k : keys) {
    if (k.empty() || k.back() == '/') continue;
    ARCA_ASSIGN_OR_RETURN(auto raw, s.Get(prefix + k));
    if (!raw) continue;
    Json j = Json::parse(*raw, nullptr, false);
    auto rec = decode(j);
    if (!rec.ok()) return Internal("identity: malformed record " + prefix + k);
    rec->id = k;  // the key is authoritative (the barrier binds values to keys)
    out[k] = std::move(*rec);
  }
  return OkStatus();
}

template <typename R>
void AddOps(std::vector<storage::Op>& ops, const char* prefix,
            const std::map<std::string, std::optional<R>>& staged) {
  for (const auto& [id, rec] : staged) {
    if (rec) {
      ops.push_back(storage::Op::Put(prefix + id, identity::Dump(identity::ToStorage(*rec))));
    } else {
      ops.push_back(storage::Op::Delete(prefix + id));
    }
  }
}

template <typename R>
const R* Lookup(const std::map<std::string, R>& committed,
                const std::map<std::string, std::optional<R>>& staged, const std::string& id) {
  if (auto it = staged.find(id); it != staged.end()) return it->second ? &*it->second : nullptr;
  auto it = committed.find(id);
  return it == committed.end() ? nullptr : &it->second;
}

template <typename R>
R* Stage(const std::map<std::string, R>& committed, std::map<std::string, std::optional<R>>& staged,
         const std::string& id) {
  if (auto it = staged.find(id); it != staged.end()) return it->second ? &*it->second : nullptr;
  auto it = committed.find(id);
  if (it == committed.end()) return nullptr;
  return &*(staged[id] = it->second);
}

void Erase(std::vector<std::string>& v, const std::string& x) {
  v.erase(std::remove(v.begin(), v.end(), x), v.end());
}

}  // namespace

std::string IdentityStore::Impl::Now() const { return FormatRfc3339Nano(clock.SystemNow()); }

void IdentityStore::Impl::ClearLocked() {
  entities.clear();
  aliases.clear();
  groups.clear();
  group_aliases.clear();
  entity_by_name.clear();
  alias_by_factors.clear();
  aliases_by_entity.clear();
  group_by_name.clear();
  group_alias_by_factors.clear();
  group_alias_by_group.clear();
  groups_by_entity.clear();
  parents_by_group.clear();
}

Status IdentityStore::Impl::LoadLocked() {
  std::map<std::string, EntityRecord> es;
  std::map<std::string, AliasRecord> as, gas;
  std::map<std::string, GroupRecord> gs;
  ARCA_RETURN_IF_ERROR(LoadPrefix(storage, kEntityPrefix, identity::EntityFromStorage, es));
  ARCA_RETURN_IF_ERROR(LoadPrefix(storage, kAliasPrefix, identity::AliasFromStorage, as));
  ARCA_RETURN_IF_ERROR(LoadPrefix(storage, kGroupPrefix, identity::GroupFromStorage, gs));
  ARCA_RETURN_IF_ERROR(LoadPrefix(storage, kGroupAliasPrefix, identity::AliasFromStorage, gas));

  ClearLocked();
  // Names are unique; a duplicate can only come from a damaged store: keep
  // the first.
  for (auto& [id, e] : es) {
    if (entity_by_name.count(identity::LowerName(e.name))) continue;
    Index(e);
    entities[id] = std::move(e);
  }
  std::set<std::string> names;
  for (auto it = gs.begin(); it != gs.end();) {
    if (!names.insert(identity::LowerName(it->second.name)).second) {
      it = gs.erase(it);
    } else {
      ++it;
    }
  }
  // Drop what an interrupted multi-batch write can leave dangling.
  for (auto& [id, g] : gs) {
    auto gone_entity = [&](const std::string& e) { return entities.count(e) == 0; };
    auto gone_group = [&](const std::string& m) { return gs.count(m) == 0 || m == id; };
    auto& me = g.member_entity_ids;
    me.erase(std::remove_if(me.begin(), me.end(), gone_entity), me.end());
    auto& mg = g.member_group_ids;
    mg.erase(std::remove_if(mg.begin(), mg.end(), gone_group), mg.end());
    if (g.type == identity::kExternal) mg.clear();
  }
  for (auto& [id, g] : gs) {
    Index(g);
    groups[id] = std::move(g);
  }
  for (auto& [id, a] : as) {
    if (!entities.count(a.canonical_id)) continue;
    if (alias_by_factors.count({a.mount_accessor, identity::LowerName(a.name)})) continue;
    IndexAlias(a);
    aliases[id] = std::move(a);
  }
  for (auto& [id, a] : gas) {
    auto g = groups.find(a.canonical_id);
    if (g == groups.end() || g->second.type != identity::kExternal) continue;
    if (group_alias_by_group.count(a.canonical_id)) continue;
    if (group_alias_by_factors.count({a.mount_accessor, identity::LowerName(a.name)})) continue;
    IndexGroupAlias(a);
    group_aliases[id] = std::move(a);
  }
  return OkStatus();
}

Status IdentityStore::Impl::Commit(const Changes& ch) {
  std::vector<storage::Op> ops;
  AddOps(ops, kEntityPrefix, ch.entities);
  AddOps(ops, kAliasPrefix, ch.aliases);
  AddOps(ops, kGroupPrefix, ch.groups);
  AddOps(ops, kGroupAliasPrefix, ch.group_aliases);
  for (std::size_t i = 0; i < ops.size(); i += kTxnOps) {
    std::vector<storage::Op> batch(ops.begin() + i,
                                   ops.begin() + std::min(ops.size(), i + kTxnOps));
    ARCA_RETURN_IF_ERROR(storage.Txn({}, batch));
  }
  std::unique_lock lock(mu);
  Apply(ch);
  return OkStatus();
}

void IdentityStore::Impl::Apply(const Changes& ch) {
  for (const auto& [id, rec] : ch.entities) {
    if (auto it = entities.find(id); it != entities.end()) {
      Unindex(it->second);
      entities.erase(it);
    }
    if (rec) {
      Index(*rec);
      entities[id] = *rec;
    }
  }
  for (const auto& [id, rec] : ch.aliases) {
    if (auto it = aliases.find(id); it != aliases.end()) {
      UnindexAlias(it->second);
      aliases.erase(it);
    }
    if (rec) {
      IndexAlias(*rec);
      aliases[id] = *rec;
    }
  }
  for (const auto& [id, rec] : ch.groups) {
    if (auto it = groups.find(id); it != groups.end()) {
      Unindex(it->second);
      groups.erase(it);
    }
    if (rec) {
      Index(*rec);
      groups[id] = *rec;
    }
  }
  for (const auto& [id, rec] : ch.group_aliases) {
    if (auto it = group_aliases.find(id); it != group_aliases.end()) {
      UnindexGroupAlias(it->second);
      group_aliases.erase(it);
    }
    if (rec) {
      IndexGroupAlias(*rec);
      group_aliases[id] = *rec;
    }
  }
}

// --- Impl: indexes -------------------------------------------------------------------

void IdentityStore::Impl::Index(const EntityRecord& e) {
  entity_by_name[identity::LowerName(e.name)] = e.id;
}
void IdentityStore::Impl::Unindex(const EntityRecord& e) {
  auto it = entity_by_name.find(identity::LowerName(e.name));
  if (it != entity_by_name.end() && it->second == e.id) entity_by_name.erase(it);
}

void IdentityStore::Impl::Index(const GroupRecord& g) {
  group_by_name[identity::LowerName(g.name)] = g.id;
  for (const auto& e : g.member_entity_ids) groups_by_entity[e].insert(g.id);
  for (const auto& m : g.member_group_ids) parents_by_group[m].insert(g.id);
}
void IdentityStore::Impl::Unindex(const GroupRecord& g) {
  auto it = group_by_name.find(identity::LowerName(g.name));
  if (it != group_by_name.end() && it->second == g.id) group_by_name.erase(it);
  for (const auto& e : g.member_entity_ids) {
    auto s = groups_by_entity.find(e);
    if (s == groups_by_entity.end()) continue;
    s->second.erase(g.id);
    if (s->second.empty()) groups_by_entity.erase(s);
  }
  for (const auto& m : g.member_group_ids) {
    auto s = parents_by_group.find(m);
    if (s == parents_by_group.end()) continue;
    s->second.erase(g.id);
    if (s->second.empty()) parents_by_group.erase(s);
  }
}

void IdentityStore::Impl::IndexAlias(const AliasRecord& a) {
  alias_by_factors[{a.mount_accessor, identity::LowerName(a.name)}] = a.id;
  aliases_by_entity[a.canonical_id].insert(a.id);
}
void IdentityStore::Impl::UnindexAlias(const AliasRecord& a) {
  auto it = alias_by_factors.find({a.mount_accessor, identity::LowerName(a.name)});
  if (it != alias_by_factors.end() && it->second == a.id) alias_by_factors.erase(it);
  auto s = aliases_by_entity.find(a.canonical_id);
  if (s != aliases_by_entity.end()) {
    s->second.erase(a.id);
    if (s->second.empty()) aliases_by_entity.erase(s);
  }
}

void IdentityStore::Impl::IndexGroupAlias(const AliasRecord& a) {
  group_alias_by_factors[{a.mount_accessor, identity::LowerName(a.name)}] = a.id;
  group_alias_by_group[a.canonical_id] = a.id;
}
void IdentityStore::Impl::UnindexGroupAlias(const AliasRecord& a) {
  auto it = group_alias_by_factors.find({a.mount_accessor, identity::LowerName(a.name)});
  if (it != group_alias_by_factors.end() && it->second == a.id) group_alias_by_factors.erase(it);
  auto g = group_alias_by_group.find(a.canonical_id);
  if (g != group_alias_by_group.end() && g->second == a.id) group_alias_by_group.erase(g);
}

// --- Impl: staging -------------------------------------------------------------------

const EntityRecord* IdentityStore::Impl::EntityIn(const Changes& ch, const std::string& id) const {
  return Lookup(entities, ch.entities, id);
}
const GroupRecord* IdentityStore::Impl::GroupIn(const Changes& ch, const std::string& id) const {
  return Lookup(groups, ch.groups, id);
}
EntityRecord* IdentityStore::Impl::StageEntity(Changes& ch, const std::string& id) const {
  return Stage(entities, ch.entities, id);
}
GroupRecord* IdentityStore::Impl::StageGroup(Changes& ch, const std::string& id) const {
  return Stage(groups, ch.groups, id);
}

std::string IdentityStore::Impl::FreshEntityName() const {
  std::string name;
  do {
    name = "entity_" + RandomHex(4);
  } while (entity_by_name.count(name));
  return name;
}

std::string IdentityStore::Impl::FreshGroupName() const {
  std::string name;
  do {
    name = "group_" + RandomHex(4);
  } while (group_by_name.count(name));
  return name;
}

void IdentityStore::Impl::StageEntityDelete(Changes& ch, const std::string& id) const {
  ch.entities[id] = std::nullopt;
  if (auto it = aliases_by_entity.find(id); it != aliases_by_entity.end()) {
    for (const auto& a : it->second) ch.aliases[a] = std::nullopt;
  }
  if (auto it = groups_by_entity.find(id); it != groups_by_entity.end()) {
    const std::string now = Now();
    for (const auto& gid : it->second) {
      GroupRecord* g = StageGroup(ch, gid);
      if (!g) continue;
      Erase(g->member_entity_ids, id);
      g->modify_index++;
      g->last_update_time = now;
    }
  }
}

void IdentityStore::Impl::StageGroupDelete(Changes& ch, const std::string& id) const {
  ch.groups[id] = std::nullopt;
  if (auto it = group_alias_by_group.find(id); it != group_alias_by_group.end()) {
    ch.group_aliases[it->second] = std::nullopt;
  }
  if (auto it = parents_by_group.find(id); it != parents_by_group.end()) {
    const std::string now = Now();
    for (const auto& pid : it->second) {
      GroupRecord* p = StageGroup(ch, pid);
      if (!p) continue;
      Erase(p->member_group_ids, id);
      p->modify_index++;
      p->last_update_time = now;
    }
  }
}

// --- Impl: group graph ---------------------------------------------------------------

std::set<std::string> IdentityStore::Impl::AncestorsLocked(
    const std::set<std::string>& start) const {
  std::set<std::string> seen;
  std::deque<std::string> todo(start.begin(), start.end());
  while (!todo.empty()) {
    std::string g = std::move(todo.front());
    todo.pop_front();
    auto it = parents_by_group.find(g);
    if (it == parents_by_group.end()) continue;
    for (const auto& p : it->second) {
      if (seen.insert(p).second) todo.push_back(p);
    }
  }
  return seen;
}

std::pair<std::vector<std::string>, std::vector<std::string>>
IdentityStore::Impl::EntityGroupsLocked(const std::string& entity_id) const {
  std::set<std::string> direct;
  if (auto it = groups_by_entity.find(entity_id); it != groups_by_entity.end()) {
    for (const auto& g : it->second) {
      if (groups.count(g)) direct.insert(g);
    }
  }
  std::vector<std::string> inherited;
  for (const auto& g : AncestorsLocked(direct)) {
    if (!direct.count(g) && groups.count(g)) inherited.push_back(g);
  }
  return {std::vector<std::string>(direct.begin(), direct.end()), std::move(inherited)};
}

std::vector<std::string> IdentityStore::Impl::PoliciesLocked(const std::string& entity_id) const {
  auto e = entities.find(entity_id);
  if (e == entities.end()) return {};
  std::set<std::string> out(e->second.policies.begin(), e->second.policies.end());
  auto [direct, inherited] = EntityGroupsLocked(entity_id);
  for (const auto* ids : {&direct, &inherited}) {
    for (const auto& gid : *ids) {
      const auto& g = groups.at(gid);
      out.insert(g.policies.begin(), g.policies.end());
    }
  }
  return {out.begin(), out.end()};
}

const MountRef* IdentityStore::Impl::MountLocked(const std::string& accessor) const {
  auto it = mounts.find(accessor);
  return it == mounts.end() ? nullptr : &it->second;
}

// --- Impl: logins --------------------------------------------------------------------

IdentityStore::Impl::LoginPlan IdentityStore::Impl::PlanLoginLocked(
    const MountRef& mount, const logical::Alias& alias,
    const std::vector<logical::Alias>& login_groups) const {
  LoginPlan plan;
  const std::string now = Now();
  auto found = alias_by_factors.find({mount.accessor, identity::LowerName(alias.name)});
  if (found != alias_by_factors.end()) {
    const AliasRecord& a = aliases.at(found->second);
    const EntityRecord& e = entities.at(a.canonical_id);
    plan.entity_id = e.id;
    if (e.disabled) {
      plan.disabled = true;
      return plan;
    }
    if (a.metadata != alias.metadata) {
      AliasRecord updated = a;
      updated.metadata = alias.metadata;
      updated.last_update_time = now;
      plan.changes.aliases[a.id] = std::move(updated);
    }
  } else {
    EntityRecord e;
    e.id = NewUuid();
    e.name = FreshEntityName();
    e.creation_time = e.last_update_time = now;
    AliasRecord a;
    a.id = NewUuid();
    a.canonical_id = e.id;
    a.name = alias.name;
    a.mount_accessor = mount.accessor;
    a.metadata = alias.metadata;
    a.creation_time = a.last_update_time = now;
    plan.entity_id = e.id;
    plan.changes.entities[e.id] = std::move(e);
    plan.changes.aliases[a.id] = std::move(a);
  }

  // External groups with a group alias on this mount: the wanted ones, and
  // the ones the entity is in now.
  std::set<std::string> wanted, current;
  for (const auto& ga : login_groups) {
    auto it = group_alias_by_factors.find({mount.accessor, identity::LowerName(ga.name)});
    if (it == group_alias_by_factors.end()) continue;
    const std::string& gid = group_aliases.at(it->second).canonical_id;
    auto g = groups.find(gid);
    if (g != groups.end() && g->second.type == identity::kExternal) wanted.insert(gid);
  }
  if (auto it = groups_by_entity.find(plan.entity_id); it != groups_by_entity.end()) {
    for (const auto& gid : it->second) {
      auto g = groups.find(gid);
      auto ga = group_alias_by_group.find(gid);
      if (g == groups.end() || g->second.type != identity::kExternal ||
          ga == group_alias_by_group.end())
        continue;
      if (group_aliases.at(ga->second).mount_accessor == mount.accessor) current.insert(gid);
    }
  }
  for (const auto& gid : wanted) {
    if (current.count(gid)) continue;
    GroupRecord* g = StageGroup(plan.changes, gid);
    g->member_entity_ids.push_back(plan.entity_id);
    g->modify_index++;
    g->last_update_time = now;
  }
  for (const auto& gid : current) {
    if (wanted.count(gid)) continue;
    GroupRecord* g = StageGroup(plan.changes, gid);
    Erase(g->member_entity_ids, plan.entity_id);
    g->modify_index++;
    g->last_update_time = now;
  }
  return plan;
}

// --- IdentityStore -------------------------------------------------------------------

IdentityStore::IdentityStore(storage::Backend& view, Clock& clock)
    : impl_(std::make_unique<Impl>(view, clock)) {}

IdentityStore::~IdentityStore() = default;

Status IdentityStore::Load() {
  std::lock_guard writer(impl_->write_mu);
  std::unique_lock lock(impl_->mu);
  try {
    return impl_->LoadLocked();
  } catch (const std::exception&) {
    return Internal("identity: loading failed");
  }
}

StatusOr<LoginIdentity> IdentityStore::ResolveLogin(
    const MountRef& mount, const logical::Alias& alias,
    const std::vector<logical::Alias>& group_aliases) {
  if (alias.name.empty()) return InvalidArgument("missing alias name");
  if (alias.name.size() > identity::kMaxNameBytes) return InvalidArgument("alias name too long");
  if (mount.accessor.empty() || mount.accessor.size() > identity::kMaxNameBytes) {
    return InvalidArgument("invalid mount accessor");
  }
  try {
    {
      std::shared_lock lock(impl_->mu);
      Impl::LoginPlan plan = impl_->PlanLoginLocked(mount, alias, group_aliases);
      if (plan.disabled) return PermissionDenied();
      if (plan.changes.empty()) {
        return LoginIdentity{plan.entity_id, impl_->PoliciesLocked(plan.entity_id)};
      }
    }
    // Something changes: plan again as the one writer (the state may have
    // moved in between) and commit.
    std::lock_guard writer(impl_->write_mu);
    Impl::LoginPlan plan = impl_->PlanLoginLocked(mount, alias, group_aliases);
    if (plan.disabled) return PermissionDenied();
    ARCA_RETURN_IF_ERROR(impl_->Commit(plan.changes));
    return LoginIdentity{plan.entity_id, impl_->PoliciesLocked(plan.entity_id)};
  } catch (const std::exception&) {
    return Internal("identity: login failed");
  }
}

std::optional<EntityView> IdentityStore::View(const std::string& entity_id) const {
  std::shared_lock lock(impl_->mu);
  auto e = impl_->entities.find(entity_id);
  if (e == impl_->entities.end()) return std::nullopt;
  EntityView v;
  v.id = e->second.id;
  v.name = e->second.name;
  v.metadata = e->second.metadata;
  if (auto it = impl_->aliases_by_entity.find(entity_id); it != impl_->aliases_by_entity.end()) {
    for (const auto& aid : it->second) {
      const AliasRecord& a = impl_->aliases.at(aid);
      v.aliases_by_accessor[a.mount_accessor] =
          EntityView::AliasView{a.id, a.name, a.metadata, a.custom_metadata};
    }
  }
  auto [direct, inherited] = impl_->EntityGroupsLocked(entity_id);
  for (const auto* ids : {&direct, &inherited}) {
    for (const auto& gid : *ids) {
      const GroupRecord& g = impl_->groups.at(gid);
      v.groups.push_back(EntityView::GroupView{g.id, g.name, g.metadata});
    }
  }
  return v;
}

std::vector<std::string> IdentityStore::IdentityPolicies(const std::string& entity_id) const {
  std::shared_lock lock(impl_->mu);
  return impl_->PoliciesLocked(entity_id);
}

bool IdentityStore::IsEntityDisabled(const std::string& entity_id) const {
  std::shared_lock lock(impl_->mu);
  auto e = impl_->entities.find(entity_id);
  return e != impl_->entities.end() && e->second.disabled;
}

void IdentityStore::SetAuthMounts(std::vector<MountRef> mounts) {
  std::map<std::string, MountRef> by_accessor;
  for (auto& m : mounts) {
    std::string acc = m.accessor;
    by_accessor[acc] = std::move(m);
  }
  std::lock_guard writer(impl_->write_mu);
  std::unique_lock lock(impl_->mu);
  impl_->mounts = std::move(by_accessor);
}

}  // namespace arca::core
