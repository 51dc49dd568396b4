// arca: token roles and the shared policy-list helpers. See token_role.h.
#include "core/token_role.h"

#include <algorithm>
#include <cctype>
#include <regex>

#include "base/cidr.h"
#include "logical/fields.h"

namespace arca::core {

namespace {

using logical::Json;

std::string TrimLower(std::string_view s) {
  std::size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  std::string out(s.substr(a, b - a));
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

Json ListOrEmpty(const std::vector<std::string>& v) { return v.empty() ? Json::array() : Json(v); }

}  // namespace

std::vector<std::string> RemoveDuplicatesLower(std::vector<std::string> items) {
  std::vector<std::string> out;
  out.reserve(items.size());
  for (auto& item : items) {
    std::string t = TrimLower(item);
    if (!t.empty()) out.push_back(std::move(t));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<std::string> SanitizePolicies(std::vector<std::string> policies, bool add_default) {
  bool default_found = false;
  std::vector<std::string> cleaned;
  for (const auto& p : policies) {
    std::string t = TrimLower(p);
    if (t.empty()) continue;
    if (t == "root") {
      cleaned = {"root"};
      default_found = true;
      break;
    }
    if (t == "default") default_found = true;
    cleaned.push_back(std::move(t));
  }
  if (add_default && (cleaned.empty() || !default_found)) cleaned.push_back("default");
  return RemoveDuplicatesLower(std::move(cleaned));
}

namespace tokenutil {

bool GlobMatch(std::string_view pattern, std::string_view s) {
  if (pattern.empty()) return s.empty();
  if (pattern == "*") return true;
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    std::size_t star = pattern.find('*', start);
    if (star == std::string_view::npos) {
      parts.push_back(pattern.substr(start));
      break;
    }
    parts.push_back(pattern.substr(start, star - start));
    start = star + 1;
  }
  if (parts.size() == 1) return pattern == s;
  const bool leading = pattern.front() == '*';
  const bool trailing = pattern.back() == '*';
  const std::size_t end = parts.size() - 1;
  std::size_t pos = 0;
  for (std::size_t i = 0; i < end; ++i) {
    std::size_t idx = s.find(parts[i], pos);
    if (i == 0) {
      if (!leading && idx != 0) return false;
    } else if (idx == std::string_view::npos) {
      return false;
    }
    if (idx == std::string_view::npos) return false;
    pos = idx + parts[i].size();
  }
  if (trailing) return true;
  std::string_view last = parts[end];
  return s.size() >= pos + last.size() && s.substr(s.size() - last.size()) == last;
}

bool Contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

bool ContainsGlob(const std::vector<std::string>& patterns, std::string_view item) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [item](const std::string& p) { return GlobMatch(p, item); });
}

std::string QuoteList(const std::vector<std::string>& list) {
  std::string out = "[";
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (i) out += ' ';
    out += Json(list[i]).dump();
  }
  return out + "]";
}

}  // namespace tokenutil

bool ValidRoleName(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  if (!IsWordChar(name.front()) || !IsWordChar(name.back())) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return IsWordChar(c) || c == '-' || c == '.'; });
}

Json TokenRole::ToStorageJson() const {
  Json j = {{"name", name},
            {"allowed_policies", allowed_policies},
            {"disallowed_policies", disallowed_policies},
            {"allowed_policies_glob", allowed_policies_glob},
            {"disallowed_policies_glob", disallowed_policies_glob},
            {"orphan", orphan},
            {"renewable", renewable},
            {"path_suffix", path_suffix},
            {"token_type", token_type},
            {"period", period},
            {"token_period", token_period},
            {"explicit_max_ttl", explicit_max_ttl},
            {"token_explicit_max_ttl", token_explicit_max_ttl},
            {"token_ttl", token_ttl},
            {"token_max_ttl", token_max_ttl},
            {"token_num_uses", token_num_uses},
            {"token_no_default_policy", token_no_default_policy},
            {"bound_cidrs", bound_cidrs},
            {"token_bound_cidrs", token_bound_cidrs}};
  j["allowed_entity_aliases"] = allowed_entity_aliases ? Json(*allowed_entity_aliases) : Json();
  return j;
}

StatusOr<TokenRole> TokenRole::FromStorageJson(const Json& j) {
  if (!j.is_object()) return DataLoss("stored token role is not an object");
  try {
    TokenRole r;
    using V = std::vector<std::string>;
    r.name = j.value("name", std::string());
    r.allowed_policies = j.value("allowed_policies", V());
    r.disallowed_policies = j.value("disallowed_policies", V());
    r.allowed_policies_glob = j.value("allowed_policies_glob", V());
    r.disallowed_policies_glob = j.value("disallowed_policies_glob", V());
    if (auto it = j.find("allowed_entity_aliases"); it != j.end() && !it->is_null())
      r.allowed_entity_aliases = it->get<V>();
    r.orphan = j.value("orphan", false);
    r.renewable = j.value("renewable", true);
    r.path_suffix = j.value("path_suffix", std::string());
    r.token_type = j.value("token_type", std::string("default-service"));
    r.period = j.value("period", int64_t{0});
    r.token_period = j.value("token_period", int64_t{0});
    r.explicit_max_ttl = j.value("explicit_max_ttl", int64_t{0});
    r.token_explicit_max_ttl = j.value("token_explicit_max_ttl", int64_t{0});
    r.token_ttl = j.value("token_ttl", int64_t{0});
    r.token_max_ttl = j.value("token_max_ttl", int64_t{0});
    r.token_num_uses = j.value("token_num_uses", int64_t{0});
    r.token_no_default_policy = j.value("token_no_default_policy", false);
    r.bound_cidrs = j.value("bound_cidrs", V());
    r.token_bound_cidrs = j.value("token_bound_cidrs", V());
    if (r.token_bound_cidrs.empty()) r.token_bound_cidrs = r.bound_cidrs;
    return r;
  } catch (const Json::exception&) {
    return DataLoss("stored token role is malformed");
  }
}

Json TokenRole::ReadData() const {
  Json d = {{"period", period},
            {"token_period", token_period},
            {"explicit_max_ttl", explicit_max_ttl},
            {"token_explicit_max_ttl", token_explicit_max_ttl},
            {"disallowed_policies", ListOrEmpty(disallowed_policies)},
            {"allowed_policies", ListOrEmpty(allowed_policies)},
            {"disallowed_policies_glob", ListOrEmpty(disallowed_policies_glob)},
            {"allowed_policies_glob", ListOrEmpty(allowed_policies_glob)},
            {"name", name},
            {"orphan", orphan},
            {"path_suffix", path_suffix},
            {"renewable", renewable},
            {"token_type", token_type},
            {"token_no_default_policy", token_no_default_policy}};
  d["allowed_entity_aliases"] = allowed_entity_aliases ? Json(*allowed_entity_aliases) : Json();
  if (!token_bound_cidrs.empty()) d["token_bound_cidrs"] = token_bound_cidrs;
  if (!bound_cidrs.empty()) d["bound_cidrs"] = bound_cidrs;
  if (token_num_uses > 0) d["token_num_uses"] = token_num_uses;
  if (token_ttl > 0) d["token_ttl"] = token_ttl;
  if (token_max_ttl > 0) d["token_max_ttl"] = token_max_ttl;
  return d;
}

Status ApplyRoleWrite(TokenRole& role, const Json& data, bool is_create, int64_t mount_max_ttl,
                      std::vector<std::string>* warnings) {
  auto warn = [warnings](std::string w) {
    if (warnings) warnings->push_back(std::move(w));
  };
  auto present = [&data](const char* f) {
    return data.is_object() && data.contains(f) && !data.at(f).is_null();
  };

  ARCA_ASSIGN_OR_RETURN(auto orphan, logical::GetBool(data, "orphan"));
  if (orphan) role.orphan = *orphan;
  else if (is_create) role.orphan = false;

  ARCA_ASSIGN_OR_RETURN(auto renewable, logical::GetBool(data, "renewable"));
  if (renewable) role.renewable = *renewable;
  else if (is_create) role.renewable = true;

  ARCA_ASSIGN_OR_RETURN(auto suffix, logical::GetString(data, "path_suffix"));
  if (suffix) {
    static const std::regex kSuffix("\\w[\\w\\-.]+\\w");
    if (!suffix->empty() && !std::regex_search(*suffix, kSuffix)) {
      return InvalidArgument(
          "given role path suffix contains invalid characters; must match \\w[\\w-.]+\\w");
    }
    role.path_suffix = *suffix;
  } else if (is_create) {
    role.path_suffix.clear();
  }
  if (role.path_suffix.find("..") != std::string::npos)
    return InvalidArgument("error registering path suffix: path cannot contain parent references");

  struct ListField {
    const char* name;
    std::vector<std::string>* target;
    bool sanitize;  // SanitizePolicies (allowed) or RemoveDuplicates (disallowed)
  };
  for (const ListField& f : {ListField{"allowed_policies", &role.allowed_policies, true},
                             ListField{"disallowed_policies", &role.disallowed_policies, false},
                             ListField{"allowed_policies_glob", &role.allowed_policies_glob, true},
                             ListField{"disallowed_policies_glob", &role.disallowed_policies_glob,
                                       false}}) {
    ARCA_ASSIGN_OR_RETURN(auto v, logical::GetStringSlice(data, f.name));
    if (v) {
      *f.target = f.sanitize ? SanitizePolicies(std::move(*v), false)
                             : RemoveDuplicatesLower(std::move(*v));
    } else if (is_create) {
      f.target->clear();
    }
  }

  if (data.is_object() && data.contains("token_type")) {
    const Json& tt = data.at("token_type");
    if (tt.is_null()) return InvalidArgument("Invalid 'token_type' value: null");
    if (!tt.is_string()) return InvalidArgument("invalid 'token_type' value " + tt.dump());
    std::string t = tt.get<std::string>();
    if (t == "default") t = "default-service";
    if (t == "batch" || t == "default-batch")
      return InvalidArgument("batch tokens are not supported by this server");
    if (t != "service" && t != "default-service")
      return InvalidArgument("invalid 'token_type' value " + Json(t).dump());
    role.token_type = t;
  } else if (is_create) {
    role.token_type = "default-service";
  }

  // token_bound_cidrs / legacy bound_cidrs, as Vault's upgrade rules.
  ARCA_ASSIGN_OR_RETURN(auto cidrs, logical::GetStringSlice(data, "token_bound_cidrs"));
  ARCA_ASSIGN_OR_RETURN(auto legacy_cidrs, logical::GetStringSlice(data, "bound_cidrs"));
  if (cidrs) {
    auto parsed = ParseAddrs(*cidrs);
    if (!parsed.ok())
      return InvalidArgument("error parsing role fields: " + parsed.status().message());
    if (legacy_cidrs)
      warn("Both 'token_bound_cidrs' and deprecated 'bound_cidrs' value supplied, ignoring the "
           "deprecated value");
    role.token_bound_cidrs = std::move(*parsed);
    role.bound_cidrs.clear();
  } else if (legacy_cidrs) {
    auto parsed = ParseAddrs(*legacy_cidrs);
    if (!parsed.ok())
      return InvalidArgument("error parsing bound_cidrs: " + parsed.status().message());
    role.bound_cidrs = std::move(*parsed);
    role.token_bound_cidrs = role.bound_cidrs;
  } else if (is_create) {
    role.bound_cidrs.clear();
    role.token_bound_cidrs.clear();
  }

  // token_period / legacy period, as Vault's upgrade rules.
  ARCA_ASSIGN_OR_RETURN(auto token_period, logical::GetDuration(data, "token_period"));
  ARCA_ASSIGN_OR_RETURN(auto legacy_period, logical::GetDuration(data, "period"));
  if (token_period) {
    if (legacy_period)
      warn("Both 'token_period' and deprecated 'period' value supplied, ignoring the deprecated "
           "value");
    role.token_period = *token_period;
    role.period = 0;
  } else if (legacy_period) {
    role.period = *legacy_period;
    role.token_period = *legacy_period;
  } else if (is_create) {
    role.period = role.token_period = 0;
  }

  ARCA_ASSIGN_OR_RETURN(auto token_emt, logical::GetDuration(data, "token_explicit_max_ttl"));
  ARCA_ASSIGN_OR_RETURN(auto legacy_emt, logical::GetDuration(data, "explicit_max_ttl"));
  if (token_emt) {
    if (legacy_emt)
      warn("Both 'token_explicit_max_ttl' and deprecated 'explicit_max_ttl' value supplied, "
           "ignoring the deprecated value");
    role.token_explicit_max_ttl = *token_emt;
    role.explicit_max_ttl = 0;
  } else if (legacy_emt) {
    role.explicit_max_ttl = *legacy_emt;
    role.token_explicit_max_ttl = *legacy_emt;
  } else if (is_create) {
    role.explicit_max_ttl = role.token_explicit_max_ttl = 0;
  }
  if (role.token_explicit_max_ttl != 0 && mount_max_ttl != 0 &&
      role.token_explicit_max_ttl > mount_max_ttl) {
    warn("Given explicit max TTL of " + std::to_string(role.token_explicit_max_ttl) +
         " is greater than system/mount allowed value of " + std::to_string(mount_max_ttl) +
         " seconds; until this is fixed attempting to create tokens against this role will "
         "result in an error");
  }

  ARCA_ASSIGN_OR_RETURN(auto ttl, logical::GetDuration(data, "token_ttl"));
  if (ttl) role.token_ttl = *ttl;
  else if (is_create) role.token_ttl = 0;
  ARCA_ASSIGN_OR_RETURN(auto max_ttl, logical::GetDuration(data, "token_max_ttl"));
  if (max_ttl) role.token_max_ttl = *max_ttl;
  else if (is_create) role.token_max_ttl = 0;
  if (role.token_max_ttl > 0 && role.token_ttl > role.token_max_ttl)
    return InvalidArgument(
        "error parsing role fields: 'token_ttl' cannot be greater than 'token_max_ttl'");

  ARCA_ASSIGN_OR_RETURN(auto num_uses, logical::GetInt(data, "token_num_uses"));
  if (num_uses) {
    if (*num_uses < 0) return InvalidArgument("token_num_uses cannot be negative");
    role.token_num_uses = *num_uses;
  } else if (is_create) {
    role.token_num_uses = 0;
  }

  ARCA_ASSIGN_OR_RETURN(auto ndp, logical::GetBool(data, "token_no_default_policy"));
  if (ndp) role.token_no_default_policy = *ndp;
  else if (is_create) role.token_no_default_policy = false;

  if (present("allowed_entity_aliases")) {
    ARCA_ASSIGN_OR_RETURN(auto aliases, logical::GetStringSlice(data, "allowed_entity_aliases"));
    role.allowed_entity_aliases = RemoveDuplicatesLower(std::move(*aliases));
  }
  return OkStatus();
}

}  // namespace arca::core
