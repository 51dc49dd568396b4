// arca: ACL policies: parsing (HCL or JSON) and evaluation.
//
// ParsePolicy turns policy text into a Policy; Acl merges the policies of a
// token and answers, for one request, whether it is allowed (Vault's
// vault/policy.go and acl.go, section 3 of the wire reference). Templated
// paths ({{identity.entity.id}} ...) are resolved when an Acl is built, from
// the EntityView of the requesting token; a path whose template cannot be
// resolved is dropped silently, as Vault does.
//
// Policy and Acl are immutable values, safe to share across threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "logical/request.h"

namespace arca::core {

enum Capability : uint32_t {
  kCapDeny = 1u << 0,
  kCapCreate = 1u << 1,
  kCapRead = 1u << 2,
  kCapUpdate = 1u << 3,
  kCapDelete = 1u << 4,
  kCapList = 1u << 5,
  kCapSudo = 1u << 6,
  kCapPatch = 1u << 7,
};

struct PathRule {
  std::string path;  // as written, leading '/' stripped, may hold {{templates}}
  uint32_t capabilities = 0;
  // Parameter constraints: key (lowercased) → allowed/denied values (empty
  // list = any value).
  std::map<std::string, std::vector<logical::Json>> allowed_parameters;
  std::map<std::string, std::vector<logical::Json>> denied_parameters;
  std::vector<std::string> required_parameters;
  int64_t min_wrapping_ttl = 0;  // seconds, 0 = unset
  int64_t max_wrapping_ttl = 0;
};

struct Policy {
  std::string name;
  std::string raw;  // the text as submitted
  std::vector<PathRule> rules;
  bool templated = false;  // some path holds a {{...}}
};

// Parses HCL v1 or JSON policy text. Errors are InvalidArgument with Vault's
// messages ("failed to parse policy: invalid key \"x\" on line 3", "path
// \"a\": invalid capability \"y\"", unbalanced braces, "+*" in a path).
StatusOr<Policy> ParsePolicy(std::string_view name, std::string_view text);

// What templates can refer to: the token's entity, its aliases and groups.
struct EntityView {
  struct AliasView {
    std::string id, name;
    std::map<std::string, std::string> metadata, custom_metadata;
  };
  struct GroupView {
    std::string id, name;
    std::map<std::string, std::string> metadata;
  };
  std::string id, name;
  std::map<std::string, std::string> metadata;
  std::map<std::string, AliasView> aliases_by_accessor;  // mount accessor → alias
  std::vector<GroupView> groups;
};

struct AclResult {
  bool allowed = false;
  bool sudo = false;  // the matching rule grants sudo
  std::vector<std::string> granting_policies;
  std::string reason;  // why denied, for the audit log (not sent to clients)
};

class Acl {
 public:
  // Builds the ACL of `policies` for a token with `entity` (null: no entity;
  // templated paths then never match). A policy named "root" makes the ACL
  // allow everything.
  static StatusOr<Acl> Build(const std::vector<std::shared_ptr<const Policy>>& policies,
                             const EntityView* entity, int64_t unix_now);

  bool is_root() const { return root_; }

  // Decides one request: operation on the full logical path with its data
  // (parameter constraints) and wrap TTL (wrapping constraints). `need_sudo`
  // adds the sudo requirement of root-protected paths.
  AclResult Check(logical::Operation op, std::string_view path, const logical::Json& data,
                  std::optional<int64_t> wrap_ttl, bool need_sudo) const;

  // Sorted capability names for a path ("create", "read", ...); ["root"] for
  // root; ["deny"] when nothing is granted.
  std::vector<std::string> Capabilities(std::string_view path) const;

  // Whether any rule grants a non-deny capability on `prefix` or below it
  // (the sys/internal/ui/mounts preflight check).
  bool HasAnyAccessUnder(std::string_view prefix) const;

 private:
  struct Rules;
  bool root_ = false;
  std::shared_ptr<const Rules> rules_;
};

}  // namespace arca::core
