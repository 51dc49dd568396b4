// arca: ACL policy parsing (Vault's vault/policy.go), identity templating
// (sdk/helper/identitytpl) and evaluation (vault/acl.go).
//
// An Acl is compiled once per token policy set: rules whose path strings are
// identical are merged, then split into an exact-path hash map, a prefix
// hash map probed by each distinct prefix length (longest first) and a list
// of "+" segment rules with their priority keys precomputed. Check does no
// allocation unless it denies or reports granting policies.
#include "core/policy.h"

#include <algorithm>
#include <set>
#include <unordered_map>

#include "base/time.h"
#include "hcl/hcl.h"
#include "logical/json.h"

namespace arca::core {

using logical::Json;
using logical::Operation;

namespace {

constexpr std::string_view kParseError = "failed to parse policy: ";

Status PolicyError(std::string msg) { return InvalidArgument(std::string(kParseError) + msg); }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool HasUpper(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

// ---------------------------------------------------------------- templates

// Calls `fn(expr)` for each "{{ expr }}" of `s` (expr trimmed) and `lit(text)`
// for the text between them. Returns false on unbalanced braces, as Vault's
// identitytpl.PopulateString: text before the first "{{" may not hold "}}",
// and each "{{" must be followed by exactly one "}}" before the next "{{".
template <typename Lit, typename Fn>
bool WalkTemplate(std::string_view s, Lit&& lit, Fn&& fn) {
  std::size_t open = s.find("{{");
  std::string_view head = s.substr(0, open);
  if (head.find("}}") != std::string_view::npos) return false;
  if (!lit(head)) return false;
  while (open != std::string_view::npos) {
    std::size_t start = open + 2;
    std::size_t next = s.find("{{", start);
    std::string_view piece = s.substr(start, next == std::string_view::npos ? next : next - start);
    std::size_t close = piece.find("}}");
    if (close == std::string_view::npos) return false;
    if (piece.find("}}", close + 2) != std::string_view::npos) return false;
    if (!fn(Trim(piece.substr(0, close)))) return false;
    if (!lit(piece.substr(close + 2))) return false;
    open = next;
  }
  return true;
}

bool IsTemplated(std::string_view s) { return s.find("{{") != std::string_view::npos; }

std::optional<std::string> NonEmpty(const std::string& v) {
  if (v.empty()) return std::nullopt;
  return v;
}

std::optional<std::string> FromMap(const std::map<std::string, std::string>& m,
                                   std::string_view key) {
  auto it = m.find(std::string(key));
  if (it == m.end()) return std::nullopt;
  return NonEmpty(it->second);
}

bool Consume(std::string_view& s, std::string_view prefix) {
  if (s.substr(0, prefix.size()) != prefix) return false;
  s.remove_prefix(prefix.size());
  return true;
}

std::optional<std::string> AliasValue(const EntityView::AliasView& a, std::string_view sel) {
  if (sel == "id") return NonEmpty(a.id);
  if (sel == "name") return NonEmpty(a.name);
  if (Consume(sel, "metadata.")) return FromMap(a.metadata, sel);
  if (Consume(sel, "custom_metadata.")) return FromMap(a.custom_metadata, sel);
  return std::nullopt;
}

std::optional<std::string> EntityValue(const EntityView& e, std::string_view sel) {
  if (e.id.empty()) return std::nullopt;
  if (sel == "id") return NonEmpty(e.id);
  if (sel == "name") return NonEmpty(e.name);
  if (Consume(sel, "metadata.")) return FromMap(e.metadata, sel);
  if (Consume(sel, "aliases.")) {
    std::size_t dot = sel.find('.');
    if (dot == std::string_view::npos) return std::nullopt;
    auto it = e.aliases_by_accessor.find(std::string(sel.substr(0, dot)));
    if (it == e.aliases_by_accessor.end()) return std::nullopt;
    return AliasValue(it->second, sel.substr(dot + 1));
  }
  return std::nullopt;
}

std::optional<std::string> GroupValue(const EntityView& e, std::string_view sel) {
  bool by_id;
  if (Consume(sel, "ids.")) by_id = true;
  else if (Consume(sel, "names.")) by_id = false;
  else return std::nullopt;
  std::size_t dot = sel.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string_view key = sel.substr(0, dot), attr = sel.substr(dot + 1);
  for (const auto& g : e.groups) {
    if ((by_id ? g.id : g.name) != key) continue;
    if (attr == "id") return NonEmpty(g.id);
    if (attr == "name") return NonEmpty(g.name);
    if (Consume(attr, "metadata.")) return FromMap(g.metadata, attr);
    return std::nullopt;
  }
  return std::nullopt;
}

std::optional<std::string> TimeValue(std::string_view sel, int64_t now) {
  if (sel == "now") return std::to_string(now);
  int sign;
  if (Consume(sel, "now.plus.")) sign = 1;
  else if (Consume(sel, "now.minus.")) sign = -1;
  else return std::nullopt;
  auto d = ParseDurationSeconds(sel);
  if (!d) return std::nullopt;
  return std::to_string(now + sign * *d);
}

std::optional<std::string> ResolveExpr(std::string_view expr, const EntityView& e, int64_t now) {
  if (Consume(expr, "identity.entity.")) return EntityValue(e, expr);
  if (Consume(expr, "identity.groups.")) {
    if (e.groups.empty()) return std::nullopt;
    return GroupValue(e, expr);
  }
  if (Consume(expr, "time.")) return TimeValue(expr, now);
  return std::nullopt;
}

std::optional<std::string> ResolveTemplates(std::string_view s, const EntityView& e,
                                            int64_t now) {
  std::string out;
  bool ok = WalkTemplate(
      s,
      [&](std::string_view lit) {
        out.append(lit);
        return true;
      },
      [&](std::string_view expr) {
        auto v = ResolveExpr(expr, e, now);
        if (!v) return false;
        out += *v;
        return true;
      });
  if (!ok) return std::nullopt;
  return out;
}

// ------------------------------------------------------------------ parsing

const std::set<std::string, std::less<>> kPathKeys = {
    "comment",          "policy",           "capabilities",       "allowed_parameters",
    "denied_parameters", "required_parameters", "min_wrapping_ttl", "max_wrapping_ttl",
    "mfa_methods",      "control_group"};

StatusOr<uint32_t> CapabilityBit(std::string_view c) {
  if (c == "deny") return uint32_t{kCapDeny};
  if (c == "create") return uint32_t{kCapCreate};
  if (c == "read") return uint32_t{kCapRead};
  if (c == "update") return uint32_t{kCapUpdate};
  if (c == "delete") return uint32_t{kCapDelete};
  if (c == "list") return uint32_t{kCapList};
  if (c == "sudo") return uint32_t{kCapSudo};
  if (c == "patch") return uint32_t{kCapPatch};
  return InvalidArgument("");
}

// A list of strings (a lone string counts as a one-element list).
StatusOr<std::vector<std::string>> StringList(const hcl::Value& v, std::string_view where) {
  std::vector<std::string> out;
  if (v.is_string()) {
    out.push_back(v.s);
    return out;
  }
  if (!v.is_list())
    return InvalidArgument(std::string(where) + ": expected a list of strings on line " +
                           std::to_string(v.line));
  for (const auto& e : v.list) {
    if (!e.is_string())
      return InvalidArgument(std::string(where) + ": expected a list of strings on line " +
                             std::to_string(e.line));
    out.push_back(e.s);
  }
  return out;
}

// allowed_parameters / denied_parameters: { key = [values...] }.
Status ParameterMap(const hcl::Value& v, std::string_view where,
                    std::map<std::string, std::vector<Json>>& out) {
  if (!v.is_object())
    return InvalidArgument(std::string(where) + ": expected an object on line " +
                           std::to_string(v.line));
  for (const auto& item : v.items) {
    if (item.keys.size() != 1)
      return InvalidArgument(std::string(where) + ": unexpected block on line " +
                             std::to_string(item.line()));
    std::vector<Json> values;
    if (item.value.is_list()) {
      for (const auto& e : item.value.list) values.push_back(hcl::ToJson(e));
    } else {
      values.push_back(hcl::ToJson(item.value));
    }
    out[Lower(item.name())] = std::move(values);
  }
  return OkStatus();
}

StatusOr<int64_t> WrappingTtl(const hcl::Value& v, std::string_view key) {
  std::optional<int64_t> secs;
  if (v.kind == hcl::Kind::kInt) secs = v.i;
  else if (v.kind == hcl::Kind::kFloat && v.f > -9e15 && v.f < 9e15) secs = static_cast<int64_t>(v.f);
  else if (v.is_string()) secs = v.s.empty() ? std::optional<int64_t>(0) : ParseDurationSeconds(v.s);
  if (!secs || *secs < 0)
    return InvalidArgument("error parsing " + std::string(key) + ": invalid duration on line " +
                           std::to_string(v.line));
  return *secs;
}

// One `path "..." { ... }` block.
StatusOr<PathRule> ParsePath(const hcl::Block& block, bool* templated) {
  std::string key = block.labels[0].text;
  std::string qkey = hcl::Quote(key);
  bool balanced = WalkTemplate(
      key, [](std::string_view) { return true; }, [](std::string_view) { return true; });
  if (!balanced)
    return PolicyError("failed to validate policy templating: unbalanced templating characters");
  if (IsTemplated(key)) *templated = true;

  const hcl::Value& body = *block.body;
  for (const auto& item : body.items) {
    if (!kPathKeys.count(item.name()))
      return PolicyError("path " + qkey + ": invalid key " + hcl::Quote(item.name()) +
                         " on line " + std::to_string(item.line()));
  }

  PathRule rule;
  rule.path = key;
  if (!rule.path.empty() && rule.path[0] == '/') rule.path.erase(0, 1);
  if (rule.path.find("+*") != std::string::npos)
    return PolicyError("path " + hcl::Quote(rule.path) +
                       ": invalid use of wildcards ('+*' is forbidden)");

  std::vector<std::string> caps, required;
  std::string legacy;
  const hcl::Value* min_ttl = nullptr;
  const hcl::Value* max_ttl = nullptr;
  const std::string where = "path " + qkey;
  for (const auto& item : body.items) {
    const std::string& k = item.name();
    const hcl::Value& v = item.value;
    auto wrap = [&](const Status& s) { return PolicyError(s.message()); };
    if (k == "capabilities") {
      auto l = StringList(v, where + ": capabilities");
      if (!l.ok()) return wrap(l.status());
      caps.insert(caps.end(), l->begin(), l->end());
    } else if (k == "policy") {
      if (!v.is_string())
        return PolicyError(where + ": policy: expected a string on line " + std::to_string(v.line));
      legacy = v.s;
    } else if (k == "required_parameters") {
      auto l = StringList(v, where + ": required_parameters");
      if (!l.ok()) return wrap(l.status());
      for (auto& r : *l)
        if (std::find(required.begin(), required.end(), r) == required.end()) required.push_back(r);
    } else if (k == "allowed_parameters") {
      Status s = ParameterMap(v, where + ": allowed_parameters", rule.allowed_parameters);
      if (!s.ok()) return wrap(s);
    } else if (k == "denied_parameters") {
      Status s = ParameterMap(v, where + ": denied_parameters", rule.denied_parameters);
      if (!s.ok()) return wrap(s);
    } else if (k == "min_wrapping_ttl") {
      min_ttl = &v;
    } else if (k == "max_wrapping_ttl") {
      max_ttl = &v;
    } else if (k == "mfa_methods") {
      auto l = StringList(v, where + ": mfa_methods");
      if (!l.ok()) return wrap(l.status());
    } else if (k == "control_group") {
      if (!v.is_object())
        return PolicyError(where + ": control_group: expected an object on line " +
                           std::to_string(v.line));
    }
    // "comment" is accepted and ignored.
  }

  if (!legacy.empty()) {
    if (legacy == "deny") caps = {"deny"};
    else if (legacy == "read") caps.insert(caps.end(), {"read", "list"});
    else if (legacy == "write")
      caps.insert(caps.end(), {"create", "read", "update", "delete", "list"});
    else if (legacy == "sudo")
      caps.insert(caps.end(), {"create", "read", "update", "delete", "list", "sudo"});
    else return PolicyError(where + ": invalid policy " + hcl::Quote(legacy));
  }

  for (const auto& c : caps) {
    auto bit = CapabilityBit(c);
    if (!bit.ok()) return PolicyError(where + ": invalid capability " + hcl::Quote(c));
    if (*bit == kCapDeny) {
      // deny discards every other capability and constraint of the block.
      rule.capabilities = kCapDeny;
      rule.allowed_parameters.clear();
      rule.denied_parameters.clear();
      return rule;
    }
    rule.capabilities |= *bit;
  }
  if (min_ttl) {
    auto t = WrappingTtl(*min_ttl, "min_wrapping_ttl");
    if (!t.ok()) return PolicyError(t.status().message());
    rule.min_wrapping_ttl = *t;
  }
  if (max_ttl) {
    auto t = WrappingTtl(*max_ttl, "max_wrapping_ttl");
    if (!t.ok()) return PolicyError(t.status().message());
    rule.max_wrapping_ttl = *t;
  }
  if (rule.min_wrapping_ttl != 0 && rule.max_wrapping_ttl != 0 &&
      rule.max_wrapping_ttl < rule.min_wrapping_ttl)
    return PolicyError("max_wrapping_ttl cannot be less than min_wrapping_ttl");
  rule.required_parameters = std::move(required);
  return rule;
}

}  // namespace

StatusOr<Policy> ParsePolicy(std::string_view name, std::string_view text) {
  auto root = hcl::Parse(text);
  if (!root.ok()) return PolicyError(root.status().message());
  for (const auto& item : root->items) {
    if (item.name() != "name" && item.name() != "path")
      return PolicyError("invalid key " + hcl::Quote(item.name()) + " on line " +
                         std::to_string(item.line()));
  }
  auto blocks = hcl::Blocks(*root, "path", 1);
  if (!blocks.ok()) return PolicyError(blocks.status().message());

  Policy p;
  p.name = std::string(name);
  p.raw = std::string(text);
  for (const auto& b : *blocks) {
    ARCA_ASSIGN_OR_RETURN(PathRule rule, ParsePath(b, &p.templated));
    p.rules.push_back(std::move(rule));
  }
  return p;
}

// ------------------------------------------------------------------- the ACL

namespace {

struct Perm {
  uint32_t caps = 0;
  std::map<std::string, std::vector<Json>, std::less<>> allowed, denied;
  std::vector<std::string> required;
  int64_t min_wrap = 0, max_wrap = 0;
  std::vector<std::pair<std::string, uint32_t>> grants;  // policy → capabilities it gave
};

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using PermMap = std::unordered_map<std::string, Perm, StringHash, std::equal_to<>>;

struct SegmentRule {
  std::string pattern;             // without the trailing '*'
  std::vector<std::string> parts;  // pattern split on '/'
  bool is_prefix = false;
  int first_wc = 0;   // position of the first '+' in the full path
  int wildcards = 0;  // number of "+" segments
  Perm perm;
};

// Priority key of one non-exact candidate (vault/acl.go CheckAllowedFromNonExactPaths).
struct Candidate {
  int first_wc;
  bool is_prefix;
  int wildcards;
  std::string_view pattern;
  const Perm* perm;
};

// Whether `a` outranks `b`: later first wildcard/glob, then not a prefix,
// then fewer "+" segments, then longer, then lexicographically greater.
bool Outranks(const Candidate& a, const Candidate& b) {
  if (a.first_wc != b.first_wc) return a.first_wc > b.first_wc;
  if (a.is_prefix != b.is_prefix) return !a.is_prefix;
  if (a.wildcards != b.wildcards) return a.wildcards < b.wildcards;
  if (a.pattern.size() != b.pattern.size()) return a.pattern.size() > b.pattern.size();
  return a.pattern > b.pattern;
}

std::vector<std::string> Split(std::string_view s) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  for (;;) {
    std::size_t slash = s.find('/', pos);
    if (slash == std::string_view::npos) {
      out.emplace_back(s.substr(pos));
      return out;
    }
    out.emplace_back(s.substr(pos, slash - pos));
    pos = slash + 1;
  }
}

bool SegmentMatches(const SegmentRule& r, std::string_view path, std::size_t path_parts) {
  if (path_parts < r.parts.size()) return false;
  if (!r.is_prefix && path_parts != r.parts.size()) return false;
  std::size_t pos = 0;
  for (std::size_t i = 0; i < r.parts.size(); ++i) {
    std::size_t slash = path.find('/', pos);
    std::string_view part =
        path.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
    const std::string& acl = r.parts[i];
    bool last = i + 1 == r.parts.size();
    if (acl != "+" && acl != part && !(r.is_prefix && last && part.starts_with(acl)))
      return false;
    pos = slash == std::string_view::npos ? path.size() : slash + 1;
  }
  return true;
}

void MergeParams(std::map<std::string, std::vector<Json>, std::less<>>& into,
                 const std::map<std::string, std::vector<Json>>& from) {
  for (const auto& [k, v] : from) {
    auto it = into.find(k);
    if (v.empty() || (it != into.end() && it->second.empty())) {
      into[k].clear();
    } else if (it == into.end()) {
      into.emplace(k, v);
    } else {
      it->second.insert(it->second.end(), v.begin(), v.end());
    }
  }
}

void MergeInto(Perm& p, const PathRule& r, const std::string& policy, bool first) {
  if (first) {
    p.caps = r.capabilities;
    p.allowed.insert(r.allowed_parameters.begin(), r.allowed_parameters.end());
    p.denied.insert(r.denied_parameters.begin(), r.denied_parameters.end());
    p.required = r.required_parameters;
    p.min_wrap = r.min_wrapping_ttl;
    p.max_wrap = r.max_wrapping_ttl;
    p.grants.emplace_back(policy, r.capabilities);
    return;
  }
  if (p.caps & kCapDeny) return;  // an explicit deny is final
  if (r.capabilities & kCapDeny) {
    p.caps = kCapDeny;
    p.allowed.clear();
    p.denied.clear();
    return;
  }
  p.caps |= r.capabilities;
  p.grants.emplace_back(policy, r.capabilities);
  if (r.max_wrapping_ttl > 0 && (p.max_wrap == 0 || r.max_wrapping_ttl < p.max_wrap))
    p.max_wrap = r.max_wrapping_ttl;
  if (r.min_wrapping_ttl > 0 && (p.min_wrap == 0 || r.min_wrapping_ttl < p.min_wrap))
    p.min_wrap = r.min_wrapping_ttl;
  MergeParams(p.allowed, r.allowed_parameters);
  MergeParams(p.denied, r.denied_parameters);
  for (const auto& q : r.required_parameters)
    if (std::find(p.required.begin(), p.required.end(), q) == p.required.end())
      p.required.push_back(q);
}

uint32_t OperationCapability(Operation op) {
  switch (op) {
    case Operation::kRead: return kCapRead;
    case Operation::kList: return kCapList;
    case Operation::kCreate: return kCapCreate;
    case Operation::kUpdate: return kCapUpdate;
    case Operation::kPatch: return kCapPatch;
    case Operation::kDelete: return kCapDelete;
    case Operation::kHelp: return 0;
  }
  return 0;
}

// Go's strutil.GlobbedStringsMatch: '*' only at the start and/or the end.
bool GlobMatch(std::string_view item, std::string_view val) {
  if (item.size() < 2) return val == item;
  bool pre = item.front() == '*', suf = item.back() == '*';
  if (pre && suf) return val.find(item.substr(1, item.size() - 2)) != std::string_view::npos;
  if (pre) return val.ends_with(item.substr(1));
  if (suf) return val.starts_with(item.substr(0, item.size() - 1));
  return val == item;
}

// Empty list: any value.
bool ValueInList(const Json& v, const std::vector<Json>& list) {
  if (list.empty()) return true;
  for (const Json& el : list) {
    if (el.is_null() || v.is_null()) {
      if (el.is_null() && v.is_null()) return true;
    } else if (el.is_string()) {
      if (v.is_string() && GlobMatch(el.get_ref<const std::string&>(), v.get_ref<const std::string&>()))
        return true;
    } else if (el == v) {
      return true;
    } else if (el.is_number() && logical::IsNumberLiteral(v)) {
      // "1.10" in a body matches 1.1 in a policy, as before numbers kept
      // their text (D36): a denied value cannot be dodged by rewriting it.
      if (logical::NumberLiteralValue(v) == el.get<double>()) return true;
    }
  }
  return false;
}

template <typename Map>
auto FindLowered(const Map& m, const std::string& key) {
  if (!HasUpper(key)) return m.find(std::string_view(key));
  return m.find(std::string_view(Lower(key)));
}

}  // namespace

struct Acl::Rules {
  PermMap exact;
  PermMap prefix;
  std::vector<std::size_t> prefix_lengths;  // distinct, longest first
  std::vector<SegmentRule> segments;

  // The best non-exact rule for `path`, or null.
  const Perm* NonExact(std::string_view path) const {
    std::optional<Candidate> best;
    for (std::size_t len : prefix_lengths) {
      if (len > path.size()) continue;
      auto it = prefix.find(path.substr(0, len));
      if (it == prefix.end()) continue;
      if (segments.empty()) return &it->second;
      best = Candidate{static_cast<int>(len), true, 0, it->first, &it->second};
      break;
    }
    if (!segments.empty()) {
      std::size_t parts = static_cast<std::size_t>(std::count(path.begin(), path.end(), '/')) + 1;
      for (const auto& r : segments) {
        if (!SegmentMatches(r, path, parts)) continue;
        Candidate c{r.first_wc, r.is_prefix, r.wildcards, r.pattern, &r.perm};
        if (!best || Outranks(c, *best)) best = c;
      }
    }
    return best ? best->perm : nullptr;
  }

  // Vault's lookup order: exact; for lists the path without its trailing
  // '/' exactly, then non-exactly; then the best non-exact match.
  const Perm* Find(std::string_view path, bool list) const {
    if (auto it = exact.find(path); it != exact.end()) return &it->second;
    bool trailing = !path.empty() && path.back() == '/';
    std::string_view trimmed = trailing ? path.substr(0, path.size() - 1) : path;
    if (list) {
      if (auto it = exact.find(trimmed); it != exact.end()) return &it->second;
      if (trailing)
        if (const Perm* p = NonExact(trimmed)) return p;
    }
    return NonExact(path);
  }
};

StatusOr<Acl> Acl::Build(const std::vector<std::shared_ptr<const Policy>>& policies,
                         const EntityView* entity, int64_t unix_now) {
  Acl acl;
  std::size_t count = 0;
  bool root = false;
  for (const auto& p : policies) {
    if (!p) continue;
    ++count;
    if (p->name == "root") root = true;
  }
  if (root) {
    if (count != 1) return Internal("other policies present along with root");
    acl.root_ = true;
    acl.rules_ = std::make_shared<const Rules>();
    return acl;
  }

  // Merge by identical (kind, path) first, in policy order.
  enum Kind { kExact, kPrefix, kSegment };
  std::map<std::pair<int, std::string>, Perm> merged;
  for (const auto& p : policies) {
    if (!p) continue;
    for (const auto& r : p->rules) {
      std::string path = r.path;
      if (IsTemplated(path)) {
        if (!entity) continue;
        auto resolved = ResolveTemplates(path, *entity, unix_now);
        if (!resolved) continue;  // unresolvable: the block silently drops out
        path = std::move(*resolved);
        if (!path.empty() && path[0] == '/') path.erase(0, 1);
        if (path.find("+*") != std::string::npos) continue;
      }
      bool segment = path == "+" || path.find("/+") != std::string::npos || path.starts_with("+/");
      int kind = kExact;
      if (segment) {
        kind = kSegment;
      } else if (!path.empty() && path.back() == '*') {
        path.pop_back();
        kind = kPrefix;
      }
      auto key = std::make_pair(kind, std::move(path));
      auto it = merged.find(key);
      bool first = it == merged.end();
      if (first) it = merged.emplace(std::move(key), Perm{}).first;
      MergeInto(it->second, r, p->name, first);
    }
  }

  auto rules = std::make_shared<Rules>();
  std::set<std::size_t, std::greater<>> lengths;
  for (auto& [key, perm] : merged) {
    const std::string& path = key.second;
    switch (key.first) {
      case kExact: rules->exact.emplace(path, std::move(perm)); break;
      case kPrefix:
        lengths.insert(path.size());
        rules->prefix.emplace(path, std::move(perm));
        break;
      default: {
        if (path.empty()) break;
        SegmentRule s;
        s.first_wc = static_cast<int>(path.find('+'));
        s.pattern = path;
        if (s.pattern.back() == '*') {
          s.is_prefix = true;
          s.pattern.pop_back();
        }
        s.parts = Split(s.pattern);
        s.wildcards = static_cast<int>(std::count(s.parts.begin(), s.parts.end(), "+"));
        s.perm = std::move(perm);
        rules->segments.push_back(std::move(s));
      }
    }
  }
  rules->prefix_lengths.assign(lengths.begin(), lengths.end());
  acl.rules_ = std::move(rules);
  return acl;
}

AclResult Acl::Check(Operation op, std::string_view path, const Json& data,
                     std::optional<int64_t> wrap_ttl, bool need_sudo) const {
  AclResult res;
  if (root_) {
    res.allowed = true;
    res.sudo = true;
    res.granting_policies = {"root"};
    return res;
  }
  if (op == Operation::kHelp) {
    res.allowed = true;
    return res;
  }
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  const Perm* perm = rules_ ? rules_->Find(path, op == Operation::kList) : nullptr;
  if (!perm) {
    res.reason = "no policy grants access to this path";
    return res;
  }
  res.sudo = (perm->caps & kCapSudo) != 0;
  uint32_t need = OperationCapability(op);
  if (!(perm->caps & need)) {
    res.reason = std::string("the \"") + logical::OperationName(op) +
                 "\" capability is not granted on this path";
    return res;
  }
  if (need_sudo && !res.sudo) {
    res.reason = "this path requires the \"sudo\" capability";
    return res;
  }
  if (perm->max_wrap > 0 && (!wrap_ttl || *wrap_ttl > perm->max_wrap)) {
    res.reason = "wrapping TTL above max_wrapping_ttl (or missing)";
    return res;
  }
  if (perm->min_wrap > 0 && (!wrap_ttl || *wrap_ttl < perm->min_wrap)) {
    res.reason = "wrapping TTL below min_wrapping_ttl (or missing)";
    return res;
  }
  if (perm->min_wrap != 0 && perm->max_wrap != 0 && perm->max_wrap < perm->min_wrap) {
    res.reason = "merged wrapping TTL constraints cannot be met";
    return res;
  }

  if (op == Operation::kRead || op == Operation::kUpdate || op == Operation::kCreate ||
      op == Operation::kPatch) {
    for (const auto& q : perm->required) {
      if (!data.is_object() || !data.contains(Lower(q))) {
        res.reason = "missing required parameter " + hcl::Quote(q);
        return res;
      }
    }
    if (data.is_object() && !data.empty()) {
      if (!perm->denied.empty()) {
        if (perm->denied.count("*")) {
          res.reason = "all parameters are denied";
          return res;
        }
        for (const auto& [k, v] : data.items()) {
          auto it = FindLowered(perm->denied, k);
          if (it != perm->denied.end() && ValueInList(v, it->second)) {
            res.reason = "parameter " + hcl::Quote(k) + " is denied";
            return res;
          }
        }
      }
      bool allowed_all = perm->allowed.count("*") > 0;
      if (!perm->allowed.empty() && !(perm->allowed.size() == 1 && allowed_all)) {
        for (const auto& [k, v] : data.items()) {
          auto it = FindLowered(perm->allowed, k);
          if (it == perm->allowed.end() ? !allowed_all : !ValueInList(v, it->second)) {
            res.reason = "parameter " + hcl::Quote(k) + " is not allowed";
            return res;
          }
        }
      }
    }
  }

  res.allowed = true;
  for (const auto& [name, caps] : perm->grants) {
    if ((caps & need) && std::find(res.granting_policies.begin(), res.granting_policies.end(),
                                   name) == res.granting_policies.end())
      res.granting_policies.push_back(name);
  }
  return res;
}

std::vector<std::string> Acl::Capabilities(std::string_view path) const {
  if (root_) return {"root"};
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  const Perm* perm = rules_ ? rules_->Find(path, /*list=*/true) : nullptr;
  uint32_t caps = perm ? perm->caps : 0;
  if (caps == 0 || (caps & kCapDeny)) return {"deny"};
  // Alphabetical order.
  static constexpr std::pair<uint32_t, const char*> kNames[] = {
      {kCapCreate, "create"}, {kCapDelete, "delete"}, {kCapList, "list"},  {kCapPatch, "patch"},
      {kCapRead, "read"},     {kCapSudo, "sudo"},     {kCapUpdate, "update"}};
  std::vector<std::string> out;
  for (const auto& [bit, name] : kNames)
    if (caps & bit) out.emplace_back(name);
  return out;
}

bool Acl::HasAnyAccessUnder(std::string_view prefix) const {
  if (root_) return true;
  if (!rules_) return false;
  while (!prefix.empty() && prefix.front() == '/') prefix.remove_prefix(1);
  auto grants = [](const Perm& p) { return p.caps != 0 && !(p.caps & kCapDeny); };
  if (const Perm* p = rules_->Find(prefix, /*list=*/true); p && grants(*p)) return true;
  for (const auto* m : {&rules_->exact, &rules_->prefix})
    for (const auto& [k, p] : *m)
      if (std::string_view(k).starts_with(prefix) && grants(p)) return true;

  // "+" rules: their first segments must match the prefix's segments.
  std::string_view mount = prefix;
  if (!mount.empty() && mount.back() == '/') mount.remove_suffix(1);
  std::vector<std::string> mparts;
  if (!mount.empty()) mparts = Split(mount);
  for (const auto& r : rules_->segments) {
    if (!grants(r.perm)) continue;
    std::size_t n = r.parts.size(), k = mparts.size();
    bool match = true, covered = false;
    for (std::size_t i = 0; i < std::min(n, k) && match && !covered; ++i) {
      const std::string& acl = r.parts[i];
      if (acl == "+" || acl == mparts[i]) continue;
      if (r.is_prefix && i + 1 == n && std::string_view(mparts[i]).starts_with(acl)) covered = true;
      else match = false;
    }
    if (match && (covered || n >= k || r.is_prefix)) return true;
  }
  return false;
}

}  // namespace arca::core
