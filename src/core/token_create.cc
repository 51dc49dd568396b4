// arca: auth/token/create, create-orphan and create/<role>: Vault 1.14's
// handleCreateCommon, check for check (vault-api.md §4.1, §4.3).
#include <algorithm>
#include <cctype>

#include "core/token_backend.h"
#include "core/token_ttl.h"
#include "logical/fields.h"

namespace arca::core {

using logical::Json;
using logical::Request;
using logical::Response;
using tokenutil::Contains;
using tokenutil::ContainsGlob;
using tokenutil::QuoteList;

namespace {

// Policies that exist for internal use and may not be put on a token.
const std::vector<std::string> kNonAssignablePolicies = {"response-wrapping", "control-group"};

const std::vector<std::string> kCreateFields = {
    "display_name", "explicit_max_ttl", "entity_alias", "num_uses", "period",  "renewable",
    "ttl",          "lease",            "type",         "no_default_policy", "id", "meta",
    "no_parent",    "policies",         "role_name"};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "token-<name>" with everything but [a-zA-Z0-9-] turned into '-', and one
// trailing '-' dropped.
std::string SanitizeDisplayName(std::string_view name) {
  std::string full = "token-" + std::string(name);
  for (char& c : full) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') c = '-';
  }
  if (!full.empty() && full.back() == '-') full.pop_back();
  return full;
}

bool Subset(const std::vector<std::string>& super, const std::vector<std::string>& sub) {
  return std::all_of(sub.begin(), sub.end(),
                     [&super](const std::string& s) { return Contains(super, s); });
}

// Vault's framework warning for body fields the endpoint does not know.
void WarnIgnoredCreate(Response& resp, const Json& data) {
  auto unknown = logical::UnknownFields(data, kCreateFields);
  if (unknown.empty()) return;
  std::string list;
  for (const auto& u : unknown) list += (list.empty() ? "" : " ") + u;
  resp.warnings.push_back("Endpoint ignored these unrecognized parameters: [" + list + "]");
}

// A duration field that must not be negative, with Vault's message.
StatusOr<int64_t> NonNegativeDuration(const Json& data, const char* field, const char* negative) {
  ARCA_ASSIGN_OR_RETURN(auto v, logical::GetDuration(data, field, /*allow_negative=*/true));
  if (!v) return int64_t{0};
  if (*v < 0) return InvalidArgument(negative);
  return *v;
}

}  // namespace

StatusOr<Response> TokenBackend::HandleCreate(Request& req, bool orphan, const TokenRole* role) {
  const Json& d = req.data;
  std::vector<std::string> warnings;

  // The caller may be on its last use; it still is a restricted-use token.
  ARCA_ASSIGN_OR_RETURN(auto parent, store_.LookupForRequest(req.client_token));
  if (!parent) return InvalidArgument("parent token lookup failed: no parent found");
  if (parent->num_uses != 0)
    return InvalidArgument("restricted use token cannot generate child tokens");
  const bool sudo = req.sudo;

  ARCA_ASSIGN_OR_RETURN(auto policies_in, logical::GetStringSlice(d, "policies"));
  std::vector<std::string> policies = policies_in.value_or(std::vector<std::string>{});

  ARCA_ASSIGN_OR_RETURN(auto type_in, logical::GetString(d, "type"));
  std::string type = type_in.value_or("");
  if (role && role->token_type == "service") type = "service";
  if (type == "batch") return InvalidArgument("batch tokens are not supported by this server");
  if (!type.empty() && type != "service") return InvalidArgument("invalid 'token_type' value");

  ARCA_ASSIGN_OR_RETURN(auto renewable_in, logical::GetBool(d, "renewable"));
  bool renewable = renewable_in.value_or(true);
  ARCA_ASSIGN_OR_RETURN(auto num_uses_in, logical::GetInt(d, "num_uses"));
  const int64_t num_uses = num_uses_in.value_or(0);
  if (num_uses < 0) return InvalidArgument("number of uses cannot be negative");

  std::string explicit_entity_id;
  ARCA_ASSIGN_OR_RETURN(auto alias, logical::GetString(d, "entity_alias"));
  if (alias && !alias->empty()) {
    if (!role)
      return InvalidArgument("'entity_alias' is only allowed in combination with token role");
    const std::string lower = Lower(*alias);
    const auto allowed = role->allowed_entity_aliases.value_or(std::vector<std::string>{});
    if (!Contains(allowed, lower) && !ContainsGlob(allowed, lower))
      return InvalidArgument("invalid 'entity_alias' value");
    if (!entity_alias_) return InvalidArgument("'entity_alias' is not supported by this server");
    ARCA_ASSIGN_OR_RETURN(explicit_entity_id, entity_alias_(*alias, req.mount_accessor));
  }

  ARCA_ASSIGN_OR_RETURN(auto meta, logical::GetStringMap(d, "meta"));

  TokenEntry te;
  te.parent_hash = parent->hash;
  te.path = "auth/token/" + req.path;
  if (meta) te.meta = std::move(*meta);
  te.display_name = "token";
  te.num_uses = num_uses;
  te.creation_time = clock_.UnixNow();
  te.type = "service";

  if (role) {
    te.role = role->name;
    if (renewable && !role->renewable) renewable = false;
    // 0 means unlimited, so any role limit is lower than that.
    if (role->token_num_uses != 0 && (te.num_uses == 0 || role->token_num_uses < te.num_uses))
      te.num_uses = role->token_num_uses;
    if (!role->path_suffix.empty()) te.path += "/" + role->path_suffix;
    te.max_ttl = role->token_max_ttl;
  }

  ARCA_ASSIGN_OR_RETURN(auto display_name, logical::GetString(d, "display_name"));
  if (display_name && !display_name->empty()) te.display_name = SanitizeDisplayName(*display_name);

  ARCA_ASSIGN_OR_RETURN(auto id, logical::GetString(d, "id"));
  if (id && !id->empty()) {
    if (!sudo) return InvalidArgument("root or sudo privileges required to specify token id");
    te.id = *id;
  }

  // Policies. As in Vault, "default" is computed for the subset checks and
  // stripped at the end when no_default_policy is set.
  ARCA_ASSIGN_OR_RETURN(auto no_default_in, logical::GetBool(d, "no_default_policy"));
  const bool no_default = no_default_in.value_or(false);
  bool add_default = false;
  if (role && (!role->allowed_policies.empty() || !role->disallowed_policies.empty() ||
               !role->allowed_policies_glob.empty() || !role->disallowed_policies_glob.empty())) {
    const bool local_add_default = !no_default && !role->token_no_default_policy &&
                                   !Contains(role->disallowed_policies, "default") &&
                                   !ContainsGlob(role->disallowed_policies_glob, "default");
    std::vector<std::string> final_policies;
    if (!policies.empty()) final_policies = SanitizePolicies(policies, local_add_default);
    if (!role->allowed_policies.empty() || !role->allowed_policies_glob.empty()) {
      auto role_allowed = SanitizePolicies(role->allowed_policies, local_add_default);
      if (final_policies.empty()) {
        final_policies = role_allowed;
      } else {
        auto role_glob = SanitizePolicies(role->allowed_policies_glob, false);
        for (const auto& p : final_policies) {
          if (!Contains(role_allowed, p) && !ContainsGlob(role_glob, p)) {
            return InvalidArgument("token policies (" + QuoteList(final_policies) +
                                   ") must be subset of the role's allowed policies (" +
                                   QuoteList(role_allowed) + ") or glob policies (" +
                                   QuoteList(role_glob) + ")");
          }
        }
      }
    } else if (final_policies.empty()) {
      final_policies = SanitizePolicies(parent->policies, local_add_default);
    }
    if (!role->disallowed_policies.empty() || !role->disallowed_policies_glob.empty()) {
      auto disallowed = RemoveDuplicatesLower(role->disallowed_policies);
      auto disallowed_glob = RemoveDuplicatesLower(role->disallowed_policies_glob);
      for (const auto& p : final_policies) {
        if (Contains(disallowed, p) || ContainsGlob(disallowed_glob, p))
          return InvalidArgument("token policy " + Json(p).dump() + " is disallowed by this role");
      }
    }
    policies = std::move(final_policies);
  } else if (policies.empty()) {
    // Inherit the parent's; "default" only if the parent has it.
    policies = SanitizePolicies(parent->policies, false);
  } else if (!sudo) {
    if (!Subset(SanitizePolicies(parent->policies, false), SanitizePolicies(policies, false)))
      return InvalidArgument("child policies must be subset of parent");
    add_default = !no_default && Contains(parent->policies, "default");
  } else {
    add_default = !no_default;
  }
  te.policies = SanitizePolicies(policies, add_default);
  if (no_default) std::erase(te.policies, "default");

  for (const auto& p : te.policies) {
    if (Contains(kNonAssignablePolicies, p))
      return InvalidArgument("cannot assign policy " + Json(p).dump());
  }
  if (te.IsRoot() && !parent->IsRoot())
    return InvalidArgument("root tokens may not be created without parent token being root");

  // Parentage and entity.
  ARCA_ASSIGN_OR_RETURN(auto no_parent, logical::GetBool(d, "no_parent"));
  if (role) {
    if (role->orphan) te.parent_hash.clear();
  } else if (no_parent.value_or(false)) {
    if (!sudo) return InvalidArgument("root or sudo privileges required to create orphan token");
    te.parent_hash.clear();
  } else if (orphan) {
    te.parent_hash.clear();  // create-orphan, which the ACL guards
  }
  if (!explicit_entity_id.empty()) {
    te.entity_id = explicit_entity_id;
  } else if (!te.parent_hash.empty()) {
    te.entity_id = parent->entity_id;
  }
  // Bound CIDRs as Vault: a role's replace the parent's (roles may widen
  // them); otherwise a child keeps its parent's, an orphan has none.
  if (role) {
    te.bound_cidrs = role->token_bound_cidrs;
  } else if (!te.parent_hash.empty()) {
    te.bound_cidrs = parent->bound_cidrs;
  }

  // TTLs.
  ARCA_ASSIGN_OR_RETURN(int64_t explicit_max,
                        NonNegativeDuration(d, "explicit_max_ttl", "explicit_max_ttl must be positive"));
  te.explicit_max_ttl = explicit_max;
  ARCA_ASSIGN_OR_RETURN(int64_t period, NonNegativeDuration(d, "period", "period must be positive"));
  if (period > 0) {
    if (!sudo)
      return InvalidArgument("root or sudo privileges required to create periodic token");
    te.period = period;
  }
  ARCA_ASSIGN_OR_RETURN(int64_t ttl, NonNegativeDuration(d, "ttl", "ttl must be positive"));
  if (ttl == 0) {
    ARCA_ASSIGN_OR_RETURN(ttl, NonNegativeDuration(d, "lease", "lease must be positive"));
  }
  if (role) {
    if (role->token_explicit_max_ttl != 0) {
      if (explicit_max == 0) {
        explicit_max = role->token_explicit_max_ttl;
      } else {
        explicit_max = std::min(explicit_max, role->token_explicit_max_ttl);
        warnings.push_back(
            "Explicit max TTL specified both during creation call and in role; using the lesser "
            "value of " + std::to_string(explicit_max) + " seconds");
      }
    }
    if (role->token_period != 0) {
      if (period == 0) {
        period = role->token_period;
      } else {
        period = std::min(period, role->token_period);
        warnings.push_back(
            "Period specified both during creation call and in role; using the lesser value of " +
            std::to_string(period) + " seconds");
      }
    }
  }
  CreateTtlInputs ttl_in;
  ttl_in.ttl = ttl;
  ttl_in.period = period;
  ttl_in.explicit_max_ttl = explicit_max;
  ttl_in.role_ttl = role ? role->token_ttl : 0;
  ttl_in.role_max_ttl = role ? role->token_max_ttl : 0;
  ttl_in.root = te.IsRoot();
  ttl_in.mount_default_ttl = req.mount_default_ttl;
  ttl_in.mount_max_ttl = req.mount_max_ttl;
  ttl_in.now = te.creation_time;
  ARCA_ASSIGN_OR_RETURN(te.ttl, CreationTtl(ttl_in, &warnings));
  if (te.ttl == 0) {
    if (parent->ttl != 0)
      return InvalidArgument("expiring root tokens cannot create non-expiring root tokens");
    renewable = false;  // renewing a non-expiring token is refused anyway
    te.bound_cidrs.clear();  // and, as in Vault, it is not CIDR-restricted
  }
  te.creation_ttl = te.ttl;
  te.renewable = renewable;

  if (!te.id.empty()) {
    if (te.id.rfind("hvs.", 0) == 0)
      return InvalidArgument("custom token ID cannot have the 'hvs.' prefix");
    if (te.id.find('.') != std::string::npos)
      return InvalidArgument("custom token ID cannot have a '.' in the value");
    warnings.push_back(
        "Supplying a custom ID for the token uses the weaker SHA1 hashing instead of the more "
        "secure SHA2-256 HMAC for token obfuscation. SHA1 hashed tokens on the wire leads to "
        "less secure lookups.");
  }

  ARCA_ASSIGN_OR_RETURN(TokenEntry created, store_.Create(std::move(te)));

  Response resp;
  resp.auth = TokenToAuth(created, clock_);
  resp.warnings = std::move(warnings);
  if (policy_exists_) {
    for (const auto& p : created.policies) {
      if (!policy_exists_(p)) resp.warnings.push_back("Policy " + Json(p).dump() + " does not exist");
    }
  }
  WarnIgnoredCreate(resp, d);
  return resp;
}

}  // namespace arca::core
