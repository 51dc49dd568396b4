// arca: token roles (`auth/token/roles/<name>`), the stored shape and the
// field rules of a role write, plus the policy-list helpers roles and token
// creation share (Vault's policyutil / strutil).
//
// Pure value types and functions; safe for concurrent use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "logical/request.h"

namespace arca::core {

struct TokenRole {
  std::string name;
  std::vector<std::string> allowed_policies;
  std::vector<std::string> disallowed_policies;
  std::vector<std::string> allowed_policies_glob;
  std::vector<std::string> disallowed_policies_glob;
  std::optional<std::vector<std::string>> allowed_entity_aliases;  // null until set
  bool orphan = false;
  bool renewable = true;
  std::string path_suffix;
  std::string token_type = "default-service";
  int64_t period = 0;            // legacy field, shown on read
  int64_t token_period = 0;
  int64_t explicit_max_ttl = 0;  // legacy field, shown on read
  int64_t token_explicit_max_ttl = 0;
  int64_t token_ttl = 0;      // arca extension: default TTL of the role's tokens
  int64_t token_max_ttl = 0;  // arca extension: max TTL of the role's tokens
  int64_t token_num_uses = 0;
  bool token_no_default_policy = false;
  // As base/cidr.h ParseAddrs renders them. The legacy field is shown on
  // read; token_bound_cidrs is what tokens get (upgraded from the legacy
  // field when only that one was stored, as Vault).
  std::vector<std::string> bound_cidrs;
  std::vector<std::string> token_bound_cidrs;

  logical::Json ToStorageJson() const;
  // Errors: DataLoss if `j` is not a stored role.
  static StatusOr<TokenRole> FromStorageJson(const logical::Json& j);
  // The `data` of `GET auth/token/roles/<name>`.
  logical::Json ReadData() const;
};

// Role names: Vault's GenericNameRegex, `\w(([\w-.]+)?\w)?`, at most 128 chars.
bool ValidRoleName(std::string_view name);

// Applies the fields of a role write to `role`. With `is_create`, fields the
// request leaves out take their defaults; otherwise they keep their values.
// Appends Vault's advisory warnings. Errors: InvalidArgument with Vault's
// messages (bad path_suffix, token_type, unparseable token_bound_cidrs /
// bound_cidrs), field validation errors; batch token types are refused (not
// supported).
Status ApplyRoleWrite(TokenRole& role, const logical::Json& data, bool is_create,
                      int64_t mount_max_ttl, std::vector<std::string>* warnings);

// Vault's policyutil.SanitizePolicies: trims and lowercases, drops empty
// names, keeps only "root" if present, adds "default" when `add_default`
// (and not root), then de-duplicates and sorts.
std::vector<std::string> SanitizePolicies(std::vector<std::string> policies, bool add_default);
// Vault's strutil.RemoveDuplicates(items, lowercase=true): trimmed,
// lowercased, empty dropped, sorted, unique.
std::vector<std::string> RemoveDuplicatesLower(std::vector<std::string> items);
namespace tokenutil {
// A '*' glob (any run of characters) as go-glob does it.
bool GlobMatch(std::string_view pattern, std::string_view s);
bool Contains(const std::vector<std::string>& list, std::string_view item);
bool ContainsGlob(const std::vector<std::string>& patterns, std::string_view item);
// Go's %q of a []string: ["a" "b"].
std::string QuoteList(const std::vector<std::string>& list);
}  // namespace tokenutil

}  // namespace arca::core
