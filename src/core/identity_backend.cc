// arca: the identity/ mount's logical::Backend: routes a request path to the
// IdentityStore handlers, and answers lookup/entity and lookup/group
// (Vault's vault/identity_store.go paths and identity_lookup.go).
#include <mutex>
#include <string_view>

#include "core/identity_store.h"
#include "core/internal/identity_impl.h"
#include "logical/fields.h"

namespace arca::core {

using identity::Json;
using logical::Operation;
using logical::Request;
using logical::Response;

namespace {

bool IsWrite(Operation op) { return op == Operation::kCreate || op == Operation::kUpdate; }

bool Consume(std::string_view& s, std::string_view prefix) {
  if (s.substr(0, prefix.size()) != prefix) return false;
  s.remove_prefix(prefix.size());
  return true;
}

// The query fields of lookup/entity and lookup/group, with Vault's rules on
// which combinations are allowed.
struct LookupQuery {
  std::optional<std::string> id, name, alias_id, alias_name, alias_accessor;
};

StatusOr<LookupQuery> ParseLookup(const Json& data) {
  LookupQuery q;
  ARCA_ASSIGN_OR_RETURN(q.id, identity::NameField(data, "id"));
  ARCA_ASSIGN_OR_RETURN(q.name, identity::NameField(data, "name"));
  ARCA_ASSIGN_OR_RETURN(q.alias_id, identity::NameField(data, "alias_id"));
  ARCA_ASSIGN_OR_RETURN(q.alias_name, identity::NameField(data, "alias_name"));
  ARCA_ASSIGN_OR_RETURN(q.alias_accessor, identity::NameField(data, "alias_mount_accessor"));
  int count = int(q.id.has_value()) + int(q.name.has_value()) + int(q.alias_id.has_value()) +
              int(q.alias_name.has_value()) + int(q.alias_accessor.has_value());
  const bool alias_pair =
      q.alias_name && !q.alias_name->empty() && q.alias_accessor && !q.alias_accessor->empty();
  if (count == 0) return InvalidArgument("query parameter not supplied");
  if (count == 2 && alias_pair) return q;
  if (count != 1) {
    return InvalidArgument(
        "query parameter conflict; please supply distinct set of query parameters");
  }
  if ((q.alias_name && !q.alias_name->empty()) ||
      (q.alias_accessor && !q.alias_accessor->empty())) {
    return InvalidArgument("both 'alias_name' and 'alias_mount_accessor' needs to be set");
  }
  return q;
}

class IdentityBackend final : public logical::Backend {
 public:
  explicit IdentityBackend(IdentityStore::Impl& impl) : impl_(impl) {}

  StatusOr<Response> HandleRequest(Request& req) override {
    try {
      return Route(req);
    } catch (const std::exception&) {
      return Internal("identity: internal error");
    }
  }

 private:
  StatusOr<Response> Route(Request& req) {
    const Operation op = req.operation;
    const Json& data = req.data;
    std::string_view p = req.path;
    const bool list = op == Operation::kList;
    if (list && !p.empty() && p.back() == '/') p.remove_suffix(1);

    if (p == "entity")
      return Only(IsWrite(op), [&] { return impl_.EntityWrite(data, nullptr, nullptr); });
    if (p == "entity/id")
      return Only(list, [&] { return Listed([&] { return impl_.ListEntitiesLocked(true); }); });
    if (p == "entity/name")
      return Only(list, [&] { return Listed([&] { return impl_.ListEntitiesLocked(false); }); });
    if (p == "entity/merge") {
      return Only(IsWrite(op), [] {
        return StatusOr<Response>(
            InvalidArgument("entity merging is not supported by this server"));
      });
    }
    if (p == "entity/batch-delete")
      return Only(IsWrite(op), [&] { return impl_.EntityBatchDelete(data); });
    std::string_view rest = p;
    if (Consume(rest, "entity/id/")) {
      const std::string id(rest);
      if (!identity::ValidPathSegment(id)) return UnsupportedPath();
      if (IsWrite(op)) return impl_.EntityWrite(data, &id, nullptr);
      if (op == Operation::kRead) return impl_.EntityRead(&id, nullptr);
      if (op == Operation::kDelete) return impl_.EntityDelete(&id, nullptr);
      return UnsupportedOperation();
    }
    if (Consume(rest, "entity/name/")) {
      const std::string name(rest);
      if (!identity::ValidPathSegment(name)) return UnsupportedPath();
      if (IsWrite(op)) return impl_.EntityWrite(data, nullptr, &name);
      if (op == Operation::kRead) return impl_.EntityRead(nullptr, &name);
      if (op == Operation::kDelete) return impl_.EntityDelete(nullptr, &name);
      return UnsupportedOperation();
    }

    // "alias" is Vault's deprecated spelling of "entity-alias".
    rest = p;
    if (Consume(rest, "entity-alias") || Consume(rest, "alias")) {
      if (rest.empty()) return Only(IsWrite(op), [&] { return impl_.AliasWrite(data, nullptr); });
      if (rest == "/id")
        return Only(list, [&] { return Listed([&] { return impl_.ListAliasesLocked(); }); });
      if (Consume(rest, "/id/")) {
        const std::string id(rest);
        if (!identity::ValidPathSegment(id)) return UnsupportedPath();
        if (IsWrite(op)) return impl_.AliasWrite(data, &id);
        if (op == Operation::kRead) return impl_.AliasRead(id);
        if (op == Operation::kDelete) return impl_.AliasDelete(id);
        return UnsupportedOperation();
      }
      return UnsupportedPath();
    }

    if (p == "group")
      return Only(IsWrite(op), [&] { return impl_.GroupWrite(data, nullptr, nullptr); });
    if (p == "group/id")
      return Only(list, [&] { return Listed([&] { return impl_.ListGroupsLocked(true); }); });
    if (p == "group/name")
      return Only(list, [&] { return Listed([&] { return impl_.ListGroupsLocked(false); }); });
    rest = p;
    if (Consume(rest, "group/id/")) {
      const std::string id(rest);
      if (!identity::ValidPathSegment(id)) return UnsupportedPath();
      if (IsWrite(op)) return impl_.GroupWrite(data, &id, nullptr);
      if (op == Operation::kRead) return impl_.GroupRead(&id, nullptr);
      if (op == Operation::kDelete) return impl_.GroupDelete(&id, nullptr);
      return UnsupportedOperation();
    }
    if (Consume(rest, "group/name/")) {
      const std::string name(rest);
      if (!identity::ValidPathSegment(name)) return UnsupportedPath();
      if (IsWrite(op)) return impl_.GroupWrite(data, nullptr, &name);
      if (op == Operation::kRead) return impl_.GroupRead(nullptr, &name);
      if (op == Operation::kDelete) return impl_.GroupDelete(nullptr, &name);
      return UnsupportedOperation();
    }

    if (p == "group-alias")
      return Only(IsWrite(op), [&] { return impl_.GroupAliasWrite(data, nullptr); });
    if (p == "group-alias/id")
      return Only(list, [&] { return Listed([&] { return impl_.ListGroupAliasesLocked(); }); });
    rest = p;
    if (Consume(rest, "group-alias/id/")) {
      const std::string id(rest);
      if (!identity::ValidPathSegment(id)) return UnsupportedPath();
      if (IsWrite(op)) return impl_.GroupAliasWrite(data, &id);
      if (op == Operation::kRead) return impl_.GroupAliasRead(id);
      if (op == Operation::kDelete) return impl_.GroupAliasDelete(id);
      return UnsupportedOperation();
    }

    if (p == "lookup/entity") return Only(IsWrite(op), [&] { return impl_.LookupEntity(data); });
    if (p == "lookup/group") return Only(IsWrite(op), [&] { return impl_.LookupGroup(data); });

    if (p == "oidc" || p.substr(0, 5) == "oidc/") {
      return InvalidArgument(
          "identity tokens and the OIDC provider (identity/oidc/) are not supported by this "
          "server");
    }
    return UnsupportedPath();
  }

  template <typename F>
  static StatusOr<Response> Only(bool allowed, F fn) {
    if (!allowed) return UnsupportedOperation();
    return fn();
  }

  template <typename F>
  StatusOr<Response> Listed(F fn) const {
    std::shared_lock lock(impl_.mu);
    return fn();
  }

  IdentityStore::Impl& impl_;
};

}  // namespace

StatusOr<Response> IdentityStore::Impl::LookupEntity(const Json& data) const {
  ARCA_ASSIGN_OR_RETURN(LookupQuery q, ParseLookup(data));
  std::shared_lock lock(mu);
  std::string entity_id;
  if (q.id) {
    entity_id = *q.id;
  } else if (q.name) {
    auto it = entity_by_name.find(identity::LowerName(*q.name));
    if (it != entity_by_name.end()) entity_id = it->second;
  } else if (q.alias_id) {
    auto it = aliases.find(*q.alias_id);
    if (it != aliases.end()) entity_id = it->second.canonical_id;
  } else if (q.alias_name && q.alias_accessor) {
    auto it = alias_by_factors.find({*q.alias_accessor, identity::LowerName(*q.alias_name)});
    if (it != alias_by_factors.end()) entity_id = aliases.at(it->second).canonical_id;
  }
  auto e = entities.find(entity_id);
  if (e == entities.end()) return Response();  // not found: 204
  return Response::WithData(EntityJson(e->second));
}

StatusOr<Response> IdentityStore::Impl::LookupGroup(const Json& data) const {
  ARCA_ASSIGN_OR_RETURN(LookupQuery q, ParseLookup(data));
  std::shared_lock lock(mu);
  std::string group_id;
  if (q.id) {
    group_id = *q.id;
  } else if (q.name) {
    auto it = group_by_name.find(identity::LowerName(*q.name));
    if (it != group_by_name.end()) group_id = it->second;
  } else if (q.alias_id) {
    auto it = group_aliases.find(*q.alias_id);
    if (it != group_aliases.end()) group_id = it->second.canonical_id;
  } else if (q.alias_name && q.alias_accessor) {
    auto it = group_alias_by_factors.find({*q.alias_accessor, identity::LowerName(*q.alias_name)});
    if (it != group_alias_by_factors.end()) group_id = group_aliases.at(it->second).canonical_id;
  }
  auto g = groups.find(group_id);
  if (g == groups.end()) return Response();
  return Response::WithData(GroupJson(g->second));
}

std::unique_ptr<logical::Backend> IdentityStore::MakeBackend() {
  return std::make_unique<IdentityBackend>(*impl_);
}

}  // namespace arca::core
