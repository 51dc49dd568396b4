// arca CLI: Go-style flag parsing and Vault's key=value data arguments.
#include "cli/args.h"

#include <fstream>
#include <sstream>

#include "base/time.h"
#include "cli/output.h"

namespace arca::cli {

std::string Trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

namespace {

// strconv.ParseInt(s, 0, 64): decimal, 0x hex, 0o/leading-0 octal, 0b binary.
std::optional<int64_t> ParseGoInt(std::string_view s) {
  if (s.empty()) return std::nullopt;
  bool neg = false;
  std::size_t i = 0;
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    i = 1;
  }
  int base = 10;
  if (s.size() - i > 1 && s[i] == '0') {
    char p = static_cast<char>(std::tolower(static_cast<unsigned char>(s[i + 1])));
    if (p == 'x') base = 16, i += 2;
    else if (p == 'b') base = 2, i += 2;
    else if (p == 'o') base = 8, i += 2;
    else base = 8, i += 1;
  }
  if (i >= s.size()) return std::nullopt;
  unsigned __int128 v = 0;
  for (; i < s.size(); ++i) {
    char ch = s[i];
    if (ch == '_') continue;
    int d;
    if (ch >= '0' && ch <= '9') d = ch - '0';
    else if (ch >= 'a' && ch <= 'f') d = ch - 'a' + 10;
    else if (ch >= 'A' && ch <= 'F') d = ch - 'A' + 10;
    else return std::nullopt;
    if (d >= base) return std::nullopt;
    v = v * base + d;
    if (v > (static_cast<unsigned __int128>(1) << 63)) return std::nullopt;
  }
  if (!neg && v > static_cast<unsigned __int128>(INT64_MAX)) return std::nullopt;
  return neg ? static_cast<int64_t>(-static_cast<__int128>(v)) : static_cast<int64_t>(v);
}

Status Invalid(std::string m) { return InvalidArgument(std::move(m)); }

std::string Quote(std::string_view s) { return Json(std::string(s)).dump(); }

}  // namespace

std::optional<bool> ParseGoBool(std::string_view s) {
  if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True") return true;
  if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False") return false;
  return std::nullopt;
}

void FlagSet::Section(std::string title) { sections_.emplace_back(std::move(title), flags_.size()); }

void FlagSet::Add(Flag f) { flags_.push_back(std::move(f)); }

std::optional<std::string> FlagSet::EnvValue(const FlagOptions& o) const {
  if (o.env.empty() || !env_) return std::nullopt;
  auto v = env_(o.env);
  if (!v || v->empty()) return std::nullopt;
  return v;
}

void FlagSet::Bool(const std::string& name, bool* target, bool def, FlagOptions o) {
  if (auto v = EnvValue(o)) {
    if (auto b = ParseGoBool(*v)) def = *b;
  }
  *target = def;
  Add({name, target, false, std::move(o), ""});
}

void FlagSet::String(const std::string& name, std::string* target, std::string def, FlagOptions o) {
  if (auto v = EnvValue(o)) def = *v;
  *target = std::move(def);
  Add({name, target, false, std::move(o), "string"});
}

void FlagSet::Int(const std::string& name, int64_t* target, int64_t def, FlagOptions o) {
  if (auto v = EnvValue(o)) {
    if (auto i = ParseGoInt(*v)) def = *i;
  }
  *target = def;
  Add({name, target, false, std::move(o), "int"});
}

void FlagSet::Duration(const std::string& name, int64_t* seconds, int64_t def, FlagOptions o) {
  if (auto v = EnvValue(o)) {
    if (auto d = ParseDurationSeconds(*v)) def = *d;
  }
  *seconds = def;
  Add({name, seconds, true, std::move(o), "duration"});
}

void FlagSet::StringSlice(const std::string& name, std::vector<std::string>* target, FlagOptions o) {
  Add({name, target, false, std::move(o), "string"});
}

void FlagSet::StringMap(const std::string& name, std::map<std::string, std::string>* target,
                        FlagOptions o) {
  Add({name, target, false, std::move(o), "key=value"});
}

FlagSet::Flag* FlagSet::Find(std::string_view name) {
  for (auto& f : flags_) {
    if (f.name == name) return &f;
    for (const auto& a : f.opts.aliases)
      if (a == name) return &f;
  }
  return nullptr;
}

bool FlagSet::IsSet(std::string_view name) const {
  for (const auto& s : set_)
    if (s == name) return true;
  return false;
}

Status FlagSet::Set(Flag& f, const std::string& value, bool has_value) {
  const std::string dash = "-" + f.name;
  if (auto* b = std::get_if<bool*>(&f.target)) {
    if (!has_value) {
      **b = true;
    } else {
      auto v = ParseGoBool(value);
      if (!v) return Invalid("invalid boolean value " + Quote(value) + " for " + dash + ": parse error");
      **b = *v;
    }
  } else if (auto* s = std::get_if<std::string*>(&f.target)) {
    **s = value;
  } else if (auto* i = std::get_if<int64_t*>(&f.target)) {
    std::optional<int64_t> v = f.is_duration ? ParseDurationSeconds(Trim(value)) : ParseGoInt(value);
    if (!v) {
      std::string why = f.is_duration ? "time: invalid duration " + Quote(value) : "parse error";
      return Invalid("invalid value " + Quote(value) + " for flag " + dash + ": " + why);
    }
    **i = *v;
  } else if (auto* l = std::get_if<std::vector<std::string>*>(&f.target)) {
    (*l)->push_back(Trim(value));
  } else if (auto* m = std::get_if<std::map<std::string, std::string>*>(&f.target)) {
    auto eq = value.find('=');
    if (eq == std::string::npos)
      return Invalid("invalid value " + Quote(value) + " for flag " + dash +
                     ": missing = in KV pair: " + Quote(value));
    (**m)[value.substr(0, eq)] = value.substr(eq + 1);
  }
  if (!IsSet(f.name)) set_.push_back(f.name);
  return OkStatus();
}

Status FlagSet::Parse(const std::vector<std::string>& args) {
  std::size_t i = 0;
  rest_.clear();
  while (i < args.size()) {
    const std::string& s = args[i];
    if (s.size() < 2 || s[0] != '-') break;
    std::size_t minuses = 1;
    if (s[1] == '-') {
      minuses = 2;
      if (s.size() == 2) {  // "--" ends the flags
        ++i;
        break;
      }
    }
    std::string name = s.substr(minuses);
    if (name.empty() || name[0] == '-' || name[0] == '=') return Invalid("bad flag syntax: " + s);
    ++i;
    bool has_value = false;
    std::string value;
    if (auto eq = name.find('='); eq != std::string::npos && eq > 0) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    Flag* f = Find(name);
    if (!f) {
      if (name == "help" || name == "h") {
        help_ = true;
        return OkStatus();
      }
      return Invalid("flag provided but not defined: -" + name);
    }
    if (!std::holds_alternative<bool*>(f->target) && !has_value) {
      if (i >= args.size()) return Invalid("flag needs an argument: -" + name);
      value = args[i++];
      has_value = true;
    }
    ARCA_RETURN_IF_ERROR(Set(*f, value, has_value));
  }
  rest_.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  return OkStatus();
}

std::string FlagSet::LeftoverFlagWarning() const {
  std::string trailing;
  for (const auto& a : rest_) {
    if (a.empty() || a[0] != '-' || a == "-") continue;
    if (!trailing.empty()) trailing += ",";
    trailing += a;
  }
  if (trailing.empty()) return "";
  return "Command flags must be provided before positional arguments. The following arguments "
         "will not be parsed as flags: [" + trailing + "]";
}

std::string FlagSet::Help() const {
  std::ostringstream out;
  auto section_at = [&](std::size_t idx) -> const std::string* {
    for (const auto& [title, first] : sections_)
      if (first == idx) return &title;
    return nullptr;
  };
  for (std::size_t i = 0; i < flags_.size(); ++i) {
    if (const std::string* t = section_at(i)) out << *t << ":\n\n";
    const Flag& f = flags_[i];
    if (f.opts.hidden) continue;
    std::string example = f.opts.example.empty() ? f.type_hint : f.opts.example;
    out << "  -" << f.name;
    if (!example.empty()) out << "=<" << example << ">";
    out << "\n";
    std::string usage = f.opts.usage;
    if (!f.opts.env.empty()) usage += " This can also be specified via the " + f.opts.env +
                                      " environment variable.";
    if (!usage.empty()) out << WrapAtLength(usage, 6) << "\n";
    out << "\n";
  }
  std::string s = out.str();
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

// ---------------------------------------------------------------------------
// Data arguments.

namespace {

constexpr std::size_t kMaxDataBytes = 32u << 20;  // the server's own body limit

StatusOr<std::string> ReadAll(std::istream& in) {
  std::string out;
  char buf[8192];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    out.append(buf, static_cast<std::size_t>(in.gcount()));
    if (out.size() > kMaxDataBytes) return InvalidArgument("input larger than 32 MiB");
  }
  return out;
}

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return InvalidArgument("open " + path + ": no such file or directory");
  return ReadAll(f);
}

Status MergeJsonObject(const std::string& text, Json& result) {
  Json parsed = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return InvalidArgument("error parsing JSON");
  if (!parsed.is_object())
    return InvalidArgument("json: cannot unmarshal " + std::string(parsed.type_name()) +
                           " into Go value of type map[string]interface {}");
  for (auto& [k, v] : parsed.items()) result[k] = v;
  return OkStatus();
}

}  // namespace

StatusOr<Json> ParseDataArgs(const std::vector<std::string>& args, std::istream* stdin_stream) {
  Json result = Json::object();
  bool stdin_used = false;
  for (const std::string& raw : args) {
    auto fail = [&](const std::string& why) {
      return InvalidArgument("invalid key/value pair " + Quote(raw) + ": " + why);
    };
    if (raw.empty()) continue;
    auto eq = raw.find('=');
    if (eq == std::string::npos) {
      if (raw == "-" || raw[0] == '@') {
        std::string text;
        if (raw == "-") {
          if (!stdin_stream) return fail("stdin is not supported");
          if (stdin_used) return fail("stdin already consumed");
          stdin_used = true;
          auto all = ReadAll(*stdin_stream);
          if (!all.ok()) return fail(all.status().message());
          text = std::move(*all);
        } else {
          auto contents = ReadFile(raw.substr(1));
          if (!contents.ok()) return fail(contents.status().message());
          text = std::move(*contents);
        }
        Status st = MergeJsonObject(text, result);
        if (!st.ok()) return fail(st.message());
        continue;
      }
      return fail("format must be key=value");
    }
    std::string key = raw.substr(0, eq);
    std::string value = raw.substr(eq + 1);
    if (!value.empty()) {
      if (value[0] == '@') {
        auto contents = ReadFile(value.substr(1));
        if (!contents.ok()) return fail("error reading file: " + contents.status().message());
        value = std::move(*contents);
      } else if (value.size() >= 2 && value[0] == '\\' && value[1] == '@') {
        value = value.substr(1);
      } else if (value == "-") {
        if (!stdin_stream) return fail("stdin is not supported");
        if (stdin_used) return fail("stdin already consumed");
        stdin_used = true;
        auto all = ReadAll(*stdin_stream);
        if (!all.ok()) return fail(all.status().message());
        value = std::move(*all);
      }
    }
    if (result.contains(key)) {
      Json& existing = result[key];
      if (!existing.is_array()) existing = Json::array({existing});
      existing.push_back(value);
    } else {
      result[key] = value;
    }
  }
  return result;
}

namespace {

std::optional<std::string> WeakString(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "1" : "0";
  if (v.is_number()) return v.dump();
  if (v.is_null()) return "";
  return std::nullopt;
}

}  // namespace

StatusOr<std::map<std::string, std::string>> ParseDataArgsStrings(
    const std::vector<std::string>& args, std::istream* stdin_stream) {
  ARCA_ASSIGN_OR_RETURN(Json data, ParseDataArgs(args, stdin_stream));
  std::map<std::string, std::string> out;
  for (auto& [k, v] : data.items()) {
    auto s = WeakString(v);
    if (!s) return InvalidArgument("failed to convert values to strings: '" + k + "' expected a string");
    out[k] = *s;
  }
  return out;
}

StatusOr<std::map<std::string, std::vector<std::string>>> ParseDataArgsStringLists(
    const std::vector<std::string>& args, std::istream* stdin_stream) {
  ARCA_ASSIGN_OR_RETURN(Json data, ParseDataArgs(args, stdin_stream));
  std::map<std::string, std::vector<std::string>> out;
  for (auto& [k, v] : data.items()) {
    std::vector<std::string> list;
    if (v.is_array()) {
      for (const auto& e : v) {
        auto s = WeakString(e);
        if (!s) return InvalidArgument("failed to convert values to strings");
        list.push_back(*s);
      }
    } else {
      auto s = WeakString(v);
      if (!s) return InvalidArgument("failed to convert values to strings");
      list.push_back(*s);
    }
    out[k] = std::move(list);
  }
  return out;
}

}  // namespace arca::cli
