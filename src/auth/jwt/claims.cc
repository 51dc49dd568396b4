// arca auth/jwt: JSON pointers, bound claims, identity from claims.
#include "auth/jwt/claims.h"

#include <algorithm>
#include <charconv>
#include <set>
#include "logical/json.h"

namespace arca::auth::jwt {

namespace {

// Go's %q of a string (printable ASCII kept, the rest escaped), for messages.
std::string Quote(std::string_view s) {
  static const char* kHex = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string GoValue(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? " " : "") + GoValue(v[i]);
    return out + "]";
  }
  if (v.is_object()) {
    std::string out = "map[";
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      out += (first ? "" : " ") + it.key() + ":" + GoValue(it.value());
      first = false;
    }
    return out + "]";
  }
  return logical::DumpJson(v);  // number literals as written
}

// normalizeList (v0.16): lists as they are, a string or bool as one element.
bool NormalizeList(const Json& v, std::vector<const Json*>& out) {
  out.clear();
  if (v.is_array()) {
    for (const Json& e : v) out.push_back(&e);
    return true;
  }
  if (v.is_string() || v.is_boolean()) {
    out.push_back(&v);
    return true;
  }
  return false;
}

bool Scalar(const Json& v) { return v.is_string() || v.is_boolean() || v.is_number(); }

StatusOr<bool> MatchFound(const std::vector<const Json*>& expected,
                          const std::vector<const Json*>& actual, bool globs) {
  for (const Json* e : expected) {
    for (const Json* a : actual) {
      if (globs) {
        if (!e->is_string()) {
          return InvalidArgument("received claim is not a glob string: " + GoValue(*e));
        }
        if (!a->is_string()) continue;
        if (GlobMatch(e->get_ref<const std::string&>(), a->get_ref<const std::string&>())) {
          return true;
        }
      } else if (Scalar(*e) && Scalar(*a) && *e == *a) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace

const Json* GetClaim(const Json& claims, std::string_view claim) {
  if (claim.empty() || claim.front() != '/') {
    if (!claims.is_object()) return nullptr;
    auto it = claims.find(std::string(claim));
    if (it == claims.end() || it->is_null()) return nullptr;
    return &*it;
  }
  const Json* cur = &claims;
  std::size_t pos = 0;
  while (pos < claim.size()) {
    std::size_t next = claim.find('/', pos + 1);
    if (next == std::string_view::npos) next = claim.size();
    std::string token;
    for (std::size_t i = pos + 1; i < next; ++i) {
      if (claim[i] == '~' && i + 1 < next && (claim[i + 1] == '0' || claim[i + 1] == '1')) {
        token += claim[i + 1] == '1' ? '/' : '~';
        ++i;
      } else {
        token += claim[i];
      }
    }
    if (cur->is_object()) {
      auto it = cur->find(token);
      if (it == cur->end()) return nullptr;
      cur = &*it;
    } else if (cur->is_array()) {
      std::size_t idx = 0;
      auto [p, ec] = std::from_chars(token.data(), token.data() + token.size(), idx);
      if (token.empty() || ec != std::errc() || p != token.data() + token.size() ||
          idx >= cur->size()) {
        return nullptr;
      }
      cur = &(*cur)[idx];
    } else {
      return nullptr;
    }
    pos = next;
  }
  return cur->is_null() ? nullptr : cur;
}

bool GlobMatch(std::string_view pattern, std::string_view subject) {
  if (pattern.empty()) return subject.empty();
  if (pattern == "*") return true;
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t star = pattern.find('*', start);
    parts.push_back(pattern.substr(start, star == std::string_view::npos ? star : star - start));
    if (star == std::string_view::npos) break;
    start = star + 1;
  }
  if (parts.size() == 1) return pattern == subject;
  const bool leading = pattern.front() == '*';
  const bool trailing = pattern.back() == '*';
  const std::size_t end = parts.size() - 1;
  for (std::size_t i = 0; i < end; ++i) {
    std::size_t idx = subject.find(parts[i]);
    if (i == 0 && !leading) {
      if (idx != 0) return false;
    } else if (idx == std::string_view::npos) {
      return false;
    }
    subject = subject.substr(idx + parts[i].size());
  }
  if (trailing) return true;
  const std::string_view last = parts[end];
  return subject.size() >= last.size() && subject.substr(subject.size() - last.size()) == last;
}

Status ValidateBoundClaims(const std::string& type, const Json& bound, const Json& claims) {
  if (!bound.is_object()) return OkStatus();
  const bool globs = type == "glob";
  std::vector<const Json*> actual, expected;
  for (auto it = bound.begin(); it != bound.end(); ++it) {
    const Json* value = GetClaim(claims, it.key());
    if (value == nullptr) return InvalidArgument("claim " + Quote(it.key()) + " is missing");
    if (!NormalizeList(*value, actual)) {
      return InvalidArgument("received claim is not a string or list: " + GoValue(*value));
    }
    if (!NormalizeList(it.value(), expected)) {
      return InvalidArgument("bound claim is not a string or list: " + GoValue(it.value()));
    }
    ARCA_ASSIGN_OR_RETURN(bool found, MatchFound(expected, actual, globs));
    if (!found) {
      return InvalidArgument("claim " + Quote(it.key()) +
                             " does not match any associated bound claim values");
    }
  }
  return OkStatus();
}

StatusOr<Identity> CreateIdentity(const Json& claims, const JwtRole& role) {
  const Json* user = nullptr;
  if (role.user_claim_json_pointer) {
    user = GetClaim(claims, role.user_claim);
  } else if (auto it = claims.find(role.user_claim); it != claims.end() && !it->is_null()) {
    user = &*it;
  }
  // An empty name would merge every such login into one entity: refused.
  if (user == nullptr || (user->is_string() && user->get_ref<const std::string&>().empty())) {
    return InvalidArgument("claim " + Quote(role.user_claim) + " not found in token");
  }
  if (!user->is_string()) {
    return InvalidArgument("claim " + Quote(role.user_claim) + " could not be converted to string");
  }
  Identity id;
  id.alias.name = user->get<std::string>();
  if (role.claim_mappings) {
    for (const auto& [source, target] : *role.claim_mappings) {
      const Json* v = GetClaim(claims, source);
      if (v == nullptr) continue;
      if (!v->is_string()) {
        return InvalidArgument("error converting claim '" + source + "' to string");
      }
      id.alias.metadata[target] = v->get<std::string>();
    }
  }
  if (role.groups_claim.empty()) return id;
  const Json* groups = GetClaim(claims, role.groups_claim);
  if (groups == nullptr) {
    // With userinfo_claims the groups come from the provider's userinfo,
    // which has none for e.g. a client-credentials service account: that is
    // "no groups", not an error (decisions.md D24).
    if (role.userinfo_claims) return id;
    return InvalidArgument("failed to fetch groups: " + Quote(role.groups_claim) +
                           " claim not found in token");
  }
  std::vector<const Json*> list;
  if (!NormalizeList(*groups, list)) {
    return InvalidArgument(Quote(role.groups_claim) +
                           " claim could not be converted to string list");
  }
  std::set<std::string> seen;
  for (const Json* g : list) {
    if (!g->is_string()) {
      return InvalidArgument("value " + GoValue(*g) +
                             " in groups claim could not be parsed as string");
    }
    const std::string& name = g->get_ref<const std::string&>();
    if (name.empty() || !seen.insert(name).second) continue;
    id.group_aliases.push_back(logical::Alias{name, {}});
  }
  return id;
}

}  // namespace arca::auth::jwt
