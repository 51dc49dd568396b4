// arca auth/jwt: role validation (Vault's pathRoleCreateUpdate and
// tokenutil.ParseTokenFields), read rendering and storage encoding.
#include "auth/jwt/role.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <set>

#include "base/cidr.h"
#include "base/time.h"
#include "logical/fields.h"
#include "logical/json.h"

namespace arca::auth::jwt {

namespace {

using logical::GetBool;
using logical::GetDuration;
using logical::GetInt;
using logical::GetObject;
using logical::GetString;
using logical::GetStringMap;
using logical::GetStringSlice;

constexpr std::size_t kMaxListItems = 1000;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(const std::string& s) {
  std::size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return s.substr(a, b - a);
}

// policyutil.ParsePolicies: trimmed, lowercased, no empties, sorted, unique.
std::vector<std::string> ParsePolicies(const std::vector<std::string>& in) {
  std::set<std::string> out;
  for (const auto& p : in) {
    std::string t = Lower(Trim(p));
    if (!t.empty()) out.insert(std::move(t));
  }
  return {out.begin(), out.end()};
}

bool Present(const Json& data, const char* field) {
  if (!data.is_object()) return false;
  auto it = data.find(field);
  return it != data.end() && !it->is_null();
}

Status CheckSize(const std::vector<std::string>& v, const char* field) {
  if (v.size() > kMaxListItems) {
    return InvalidArgument(std::string("too many values for '") + field + "'");
  }
  return OkStatus();
}

StatusOr<std::optional<std::vector<std::string>>> Slice(const Json& data, const char* field) {
  ARCA_ASSIGN_OR_RETURN(auto v, GetStringSlice(data, field));
  if (v) ARCA_RETURN_IF_ERROR(CheckSize(*v, field));
  return v;
}

// Go's %v of a JSON value, closely enough for messages.
std::string GoValue(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? " " : "") + GoValue(v[i]);
    return out + "]";
  }
  return logical::DumpJson(v);  // number literals as written
}

// Go's time.Duration.String() quoted with %q, for the period message.
std::string QuotedDuration(int64_t seconds) { return "\"" + FormatGoDuration(seconds) + "\""; }

Status ParseTokenFields(JwtRole& r, const Json& d) {
  ARCA_ASSIGN_OR_RETURN(auto cidrs, Slice(d, "token_bound_cidrs"));
  if (cidrs) {
    ARCA_ASSIGN_OR_RETURN(r.token_bound_cidrs, ParseAddrs(*cidrs));
  }
  ARCA_ASSIGN_OR_RETURN(auto explicit_max, GetDuration(d, "token_explicit_max_ttl"));
  if (explicit_max) r.token_explicit_max_ttl = *explicit_max;
  ARCA_ASSIGN_OR_RETURN(auto max_ttl, GetDuration(d, "token_max_ttl"));
  if (max_ttl) r.token_max_ttl = *max_ttl;
  ARCA_ASSIGN_OR_RETURN(auto no_default, GetBool(d, "token_no_default_policy"));
  if (no_default) r.token_no_default_policy = *no_default;
  ARCA_ASSIGN_OR_RETURN(auto period, GetDuration(d, "token_period"));
  if (period) r.token_period = *period;
  ARCA_ASSIGN_OR_RETURN(auto policies, Slice(d, "token_policies"));
  if (policies) r.token_policies = *policies;
  ARCA_ASSIGN_OR_RETURN(auto type, GetString(d, "token_type"));
  if (type) {
    if (*type == "" || *type == "default") {
      r.token_type = "default";
    } else if (*type == "service") {
      r.token_type = "service";
    } else if (*type == "batch") {
      // arca mints service tokens only (see the token store).
      return InvalidArgument(
          "invalid 'token_type' value \"batch\": batch tokens are not supported");
    } else {
      return InvalidArgument("invalid 'token_type' value \"" + *type + "\"");
    }
  }
  ARCA_ASSIGN_OR_RETURN(auto ttl, GetDuration(d, "token_ttl"));
  if (ttl) r.token_ttl = *ttl;
  if (r.token_ttl > 0 && r.token_max_ttl > 0 && r.token_ttl > r.token_max_ttl) {
    return InvalidArgument("'token_ttl' cannot be greater than 'token_max_ttl'");
  }
  ARCA_ASSIGN_OR_RETURN(auto uses, GetInt(d, "token_num_uses"));
  if (uses) r.token_num_uses = *uses;
  if (r.token_num_uses < 0) return InvalidArgument("'token_num_uses' cannot be negative");
  return OkStatus();
}

// tokenutil.UpgradeValue for one legacy/new pair of scalars.
template <typename T>
Status Upgrade(const Json& d, const char* old_key, const char* new_key, T& old_val, T& new_val,
               const std::function<StatusOr<std::optional<T>>(const char*)>& get) {
  if (!Present(d, new_key)) {
    ARCA_ASSIGN_OR_RETURN(auto raw, get(old_key));
    if (raw) old_val = new_val = *raw;
  } else {
    old_val = Present(d, old_key) ? new_val : T{};
  }
  return OkStatus();
}

Status UpgradeLegacy(JwtRole& r, const Json& d) {
  using Strs = std::vector<std::string>;
  auto policies = [&](const char* f) -> StatusOr<std::optional<Strs>> {
    ARCA_ASSIGN_OR_RETURN(auto v, Slice(d, f));
    if (v) return std::optional<Strs>(ParsePolicies(*v));
    return std::optional<Strs>();
  };
  auto cidrs = [&](const char* f) -> StatusOr<std::optional<Strs>> {
    ARCA_ASSIGN_OR_RETURN(auto v, Slice(d, f));
    if (v) {
      ARCA_ASSIGN_OR_RETURN(*v, ParseAddrs(*v));
    }
    return v;
  };
  auto dur = [&](const char* f) { return GetDuration(d, f); };
  auto integer = [&](const char* f) { return GetInt(d, f); };
  ARCA_RETURN_IF_ERROR(
      Upgrade<Strs>(d, "policies", "token_policies", r.policies, r.token_policies, policies));
  ARCA_RETURN_IF_ERROR(Upgrade<Strs>(d, "bound_cidrs", "token_bound_cidrs", r.bound_cidrs,
                                     r.token_bound_cidrs, cidrs));
  ARCA_RETURN_IF_ERROR(
      Upgrade<int64_t>(d, "num_uses", "token_num_uses", r.num_uses, r.token_num_uses, integer));
  ARCA_RETURN_IF_ERROR(Upgrade<int64_t>(d, "ttl", "token_ttl", r.ttl, r.token_ttl, dur));
  ARCA_RETURN_IF_ERROR(
      Upgrade<int64_t>(d, "max_ttl", "token_max_ttl", r.max_ttl, r.token_max_ttl, dur));
  ARCA_RETURN_IF_ERROR(
      Upgrade<int64_t>(d, "period", "token_period", r.period, r.token_period, dur));
  return OkStatus();
}

// normalizeList of Vault v0.16: a string or bool is a one-element list.
bool NormalizeList(const Json& v, std::vector<Json>& out) {
  if (v.is_array()) {
    out.assign(v.begin(), v.end());
    return true;
  }
  if (v.is_string() || v.is_boolean()) {
    out = {v};
    return true;
  }
  return false;
}

Json NullableList(const std::optional<std::vector<std::string>>& v) {
  return v ? Json(*v) : Json(nullptr);
}

std::optional<std::vector<std::string>> ListField(const Json& j, const char* f) {
  auto it = j.find(f);
  if (it == j.end() || !it->is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& e : *it) {
    if (e.is_string()) out.push_back(e.get<std::string>());
  }
  return out;
}

}  // namespace

bool ValidRoleName(const std::string& name) {
  if (name.empty() || name.size() > 512) return false;
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  if (!word(name.front()) || !word(name.back())) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return word(c) || c == '-' || c == '.'; });
}

StatusOr<RoleWrite> ApplyRoleWrite(const std::optional<JwtRole>& existing, const Json& d,
                                   int64_t mount_max_ttl) {
  RoleWrite out;
  JwtRole& r = out.role;
  if (existing) r = *existing;

  ARCA_ASSIGN_OR_RETURN(auto role_type, GetString(d, "role_type"));
  std::string type = role_type.value_or("");
  if (type.empty()) type = "oidc";
  if (type != "jwt" && type != "oidc") return InvalidArgument("invalid 'role_type': " + type);
  r.role_type = type;

  ARCA_RETURN_IF_ERROR(ParseTokenFields(r, d));
  ARCA_RETURN_IF_ERROR(UpgradeLegacy(r, d));

  if (mount_max_ttl > 0 && r.token_period > mount_max_ttl) {
    return InvalidArgument("'period' of '" + QuotedDuration(r.token_period) +
                           "' is greater than the backend's maximum lease TTL of '" +
                           QuotedDuration(mount_max_ttl) + "'");
  }

  ARCA_ASSIGN_OR_RETURN(auto exp_leeway, GetDuration(d, "expiration_leeway", true));
  if (exp_leeway) r.expiration_leeway = *exp_leeway;
  ARCA_ASSIGN_OR_RETURN(auto nbf_leeway, GetDuration(d, "not_before_leeway", true));
  if (nbf_leeway) r.not_before_leeway = *nbf_leeway;
  ARCA_ASSIGN_OR_RETURN(auto skew, GetDuration(d, "clock_skew_leeway", true));
  if (skew) r.clock_skew_leeway = *skew;
  ARCA_ASSIGN_OR_RETURN(auto auds, Slice(d, "bound_audiences"));
  if (auds) r.bound_audiences = *auds;
  ARCA_ASSIGN_OR_RETURN(auto subject, GetString(d, "bound_subject"));
  if (subject) r.bound_subject = *subject;
  ARCA_ASSIGN_OR_RETURN(auto verbose, GetBool(d, "verbose_oidc_logging"));
  if (verbose) r.verbose_oidc_logging = *verbose;
  ARCA_ASSIGN_OR_RETURN(auto max_age, GetDuration(d, "max_age"));
  if (max_age) r.max_age = *max_age;

  ARCA_ASSIGN_OR_RETURN(auto claims_type, GetString(d, "bound_claims_type"));
  std::string bct = claims_type.value_or("string");
  if (bct != "string" && bct != "glob")
    return InvalidArgument("invalid 'bound_claims_type': " + bct);
  r.bound_claims_type = bct;

  ARCA_ASSIGN_OR_RETURN(auto bound_claims, GetObject(d, "bound_claims"));
  if (bound_claims) {
    if (bound_claims->size() > kMaxListItems) return InvalidArgument("too many bound_claims");
    r.bound_claims = *bound_claims;
    if (bct == "glob") {
      for (const auto& [claim, values] : r.bound_claims.items()) {
        std::vector<Json> list;
        if (!NormalizeList(values, list)) {
          return InvalidArgument("claim is not a string or list: " + GoValue(values));
        }
        for (const Json& v : list) {
          if (!v.is_string()) return InvalidArgument("claim is not a string: " + GoValue(v));
        }
      }
    }
  }

  ARCA_ASSIGN_OR_RETURN(auto mappings, GetStringMap(d, "claim_mappings"));
  if (mappings) {
    if (mappings->size() > kMaxListItems) return InvalidArgument("too many claim_mappings");
    std::set<std::string> targets;
    for (const auto& [claim, key] : *mappings) {
      if (key == "role") {
        return InvalidArgument(
            "metadata key \"role\" is reserved and may not be a mapping destination");
      }
      if (!targets.insert(key).second) {
        return InvalidArgument("multiple keys are mapped to metadata key \"" + key + "\"");
      }
    }
    r.claim_mappings = *mappings;
  }

  ARCA_ASSIGN_OR_RETURN(auto user_claim, GetString(d, "user_claim"));
  if (user_claim) r.user_claim = *user_claim;
  if (r.user_claim.empty()) return InvalidArgument("a user claim must be defined on the role");
  ARCA_ASSIGN_OR_RETURN(auto pointer, GetBool(d, "user_claim_json_pointer"));
  if (pointer) r.user_claim_json_pointer = *pointer;
  ARCA_ASSIGN_OR_RETURN(auto groups, GetString(d, "groups_claim"));
  if (groups) r.groups_claim = *groups;
  ARCA_ASSIGN_OR_RETURN(auto scopes, Slice(d, "oidc_scopes"));
  if (scopes) r.oidc_scopes = *scopes;
  ARCA_ASSIGN_OR_RETURN(auto redirects, Slice(d, "allowed_redirect_uris"));
  if (redirects) r.allowed_redirect_uris = *redirects;
  ARCA_ASSIGN_OR_RETURN(auto userinfo, GetBool(d, "userinfo_claims"));
  if (userinfo) r.userinfo_claims = *userinfo;

  if (r.role_type == "oidc" && (!r.allowed_redirect_uris || r.allowed_redirect_uris->empty())) {
    return InvalidArgument(
        "'allowed_redirect_uris' must be set if 'role_type' is 'oidc' or unspecified.");
  }
  if (r.role_type != "oidc") {
    const bool no_aud = !r.bound_audiences || r.bound_audiences->empty();
    const bool no_claims = !r.bound_claims.is_object() || r.bound_claims.empty();
    if (no_aud && r.token_bound_cidrs.empty() && r.bound_subject.empty() && no_claims) {
      return InvalidArgument(
          "must have at least one bound constraint when creating/updating a role");
    }
  }
  if (r.token_max_ttl > 0 && r.token_ttl > r.token_max_ttl) {
    return InvalidArgument("ttl should not be greater than max ttl");
  }
  if (mount_max_ttl > 0 && r.token_max_ttl > mount_max_ttl) {
    out.warnings.push_back(
        "token max ttl is greater than the system or backend mount's maximum TTL value; issued "
        "tokens' max TTL value will be truncated");
  }
  if (r.verbose_oidc_logging) {
    out.warnings.push_back(
        "verbose_oidc_logging has been enabled for this role. This is not recommended in "
        "production since sensitive information may be present in OIDC responses.");
  }
  return out;
}

Json RoleReadData(const JwtRole& r) {
  Json d = {
      {"role_type", r.role_type},
      {"expiration_leeway", r.expiration_leeway},
      {"not_before_leeway", r.not_before_leeway},
      {"clock_skew_leeway", r.clock_skew_leeway},
      {"bound_audiences", NullableList(r.bound_audiences)},
      {"bound_subject", r.bound_subject},
      {"bound_claims_type", r.bound_claims_type},
      {"bound_claims", r.bound_claims.is_object() ? r.bound_claims : Json(nullptr)},
      {"claim_mappings", r.claim_mappings ? Json(*r.claim_mappings) : Json(nullptr)},
      {"user_claim", r.user_claim},
      {"user_claim_json_pointer", r.user_claim_json_pointer},
      {"groups_claim", r.groups_claim},
      {"allowed_redirect_uris", NullableList(r.allowed_redirect_uris)},
      {"oidc_scopes", NullableList(r.oidc_scopes)},
      {"verbose_oidc_logging", r.verbose_oidc_logging},
      {"max_age", r.max_age},
      {"userinfo_claims", r.userinfo_claims},
      {"token_bound_cidrs", r.token_bound_cidrs},
      {"token_explicit_max_ttl", r.token_explicit_max_ttl},
      {"token_max_ttl", r.token_max_ttl},
      {"token_no_default_policy", r.token_no_default_policy},
      {"token_period", r.token_period},
      {"token_policies", r.token_policies},
      {"token_type", r.token_type},
      {"token_ttl", r.token_ttl},
      {"token_num_uses", r.token_num_uses},
  };
  if (!r.policies.empty()) d["policies"] = r.token_policies;
  if (!r.bound_cidrs.empty()) d["bound_cidrs"] = r.token_bound_cidrs;
  if (r.ttl > 0) d["ttl"] = r.ttl;
  if (r.max_ttl > 0) d["max_ttl"] = r.max_ttl;
  if (r.period > 0) d["period"] = r.period;
  if (r.num_uses > 0) d["num_uses"] = r.num_uses;
  return d;
}

std::string RoleToStorage(const JwtRole& r) {
  Json j = RoleReadData(r);
  j["policies"] = r.policies;
  j["bound_cidrs"] = r.bound_cidrs;
  j["ttl"] = r.ttl;
  j["max_ttl"] = r.max_ttl;
  j["period"] = r.period;
  j["num_uses"] = r.num_uses;
  return logical::DumpJson(j);
}

StatusOr<JwtRole> RoleFromStorage(const std::string& raw) {
  Json j = Json::parse(raw, nullptr, false);
  if (!j.is_object()) return Internal("jwt: corrupt role record");
  try {
    JwtRole r;
    r.role_type = j.value("role_type", std::string("jwt"));
    if (r.role_type.empty()) r.role_type = "jwt";  // legacy roles, as Vault
    r.bound_audiences = ListField(j, "bound_audiences");
    r.bound_subject = j.value("bound_subject", std::string());
    r.bound_claims_type = j.value("bound_claims_type", std::string("string"));
    if (r.bound_claims_type.empty()) r.bound_claims_type = "string";
    if (j.contains("bound_claims") && j["bound_claims"].is_object())
      r.bound_claims = j["bound_claims"];
    if (j.contains("claim_mappings") && j["claim_mappings"].is_object()) {
      r.claim_mappings = j["claim_mappings"].get<std::map<std::string, std::string>>();
    }
    r.user_claim = j.value("user_claim", std::string());
    r.user_claim_json_pointer = j.value("user_claim_json_pointer", false);
    r.groups_claim = j.value("groups_claim", std::string());
    r.oidc_scopes = ListField(j, "oidc_scopes");
    r.allowed_redirect_uris = ListField(j, "allowed_redirect_uris");
    r.verbose_oidc_logging = j.value("verbose_oidc_logging", false);
    r.max_age = j.value("max_age", int64_t{0});
    r.expiration_leeway = j.value("expiration_leeway", int64_t{0});
    r.not_before_leeway = j.value("not_before_leeway", int64_t{0});
    r.clock_skew_leeway = j.value("clock_skew_leeway", int64_t{0});
    r.userinfo_claims = j.value("userinfo_claims", false);
    r.token_policies = ListField(j, "token_policies").value_or(std::vector<std::string>{});
    r.token_bound_cidrs = ListField(j, "token_bound_cidrs").value_or(std::vector<std::string>{});
    r.token_ttl = j.value("token_ttl", int64_t{0});
    r.token_max_ttl = j.value("token_max_ttl", int64_t{0});
    r.token_explicit_max_ttl = j.value("token_explicit_max_ttl", int64_t{0});
    r.token_period = j.value("token_period", int64_t{0});
    r.token_num_uses = j.value("token_num_uses", int64_t{0});
    r.token_no_default_policy = j.value("token_no_default_policy", false);
    r.token_type = j.value("token_type", std::string("default"));
    r.policies = ListField(j, "policies").value_or(std::vector<std::string>{});
    r.bound_cidrs = ListField(j, "bound_cidrs").value_or(std::vector<std::string>{});
    r.ttl = j.value("ttl", int64_t{0});
    r.max_ttl = j.value("max_ttl", int64_t{0});
    r.period = j.value("period", int64_t{0});
    r.num_uses = j.value("num_uses", int64_t{0});
    return r;
  } catch (const std::exception&) {
    return Internal("jwt: corrupt role record");
  }
}

}  // namespace arca::auth::jwt
