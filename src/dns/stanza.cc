// arca: parsing the `dns` stanza and loading its secret files.
#include "dns/stanza.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cctype>
#include <fstream>
#include <map>
#include <optional>
#include <set>

#include "base/secure.h"
#include "dns/internal/updaters.h"

namespace arca::dns {

namespace {

using std::chrono::milliseconds;

enum class Kind { kString, kStringList, kInt, kDuration, kBool };

struct KeySpec {
  const char* name;
  Kind kind;
  const char* only;  // nullptr: both updaters
};

const std::vector<KeySpec>& Keys() {
  static const std::vector<KeySpec> kKeys = {
      {"hostname", Kind::kString, nullptr},        {"addresses", Kind::kStringList, nullptr},
      {"ttl", Kind::kInt, nullptr},                {"reassert", Kind::kDuration, nullptr},
      {"timeout", Kind::kDuration, nullptr},       {"publish", Kind::kBool, nullptr},
      {"pause_file", Kind::kString, nullptr},      {"server", Kind::kString, "rfc2136"},
      {"zone", Kind::kString, "rfc2136"},          {"tsig_key_name", Kind::kString, "rfc2136"},
      {"tsig_algorithm", Kind::kString, "rfc2136"}, {"tsig_secret", Kind::kString, "rfc2136"},
      {"tsig_secret_file", Kind::kString, "rfc2136"}, {"url", Kind::kString, "dyndns2"},
      {"username", Kind::kString, "dyndns2"},      {"password", Kind::kString, "dyndns2"},
      {"password_file", Kind::kString, "dyndns2"}, {"ca_file", Kind::kString, "dyndns2"},
  };
  return kKeys;
}

// Stands in for a secret given as a file while the stanza is validated.
constexpr char kPlaceholderSecret[] = "cGxhY2Vob2xkZXI=";
constexpr char kPlaceholderAddress[] = "192.0.2.1";
constexpr std::size_t kMaxSecretFile = 64 * 1024;

// Go durations with ms precision: "500ms", "1m30s", "2h", "1.5s"; plain
// integers are seconds. nullopt on anything else or a negative value.
std::optional<milliseconds> ParseMillis(std::string_view s) {
  if (s.empty() || s.size() > 32) return std::nullopt;
  bool digits = true;
  for (char c : s) digits = digits && std::isdigit(static_cast<unsigned char>(c));
  if (digits) {
    if (s.size() > 9) return std::nullopt;
    return milliseconds(std::stoll(std::string(s)) * 1000);
  }
  double total = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t start = i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (i == start) return std::nullopt;
    double v = 0;
    try {
      v = std::stod(std::string(s.substr(start, i - start)));
    } catch (const std::exception&) {
      return std::nullopt;
    }
    std::size_t u = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    std::string_view unit = s.substr(u, i - u);
    if (unit == "ms") total += v;
    else if (unit == "s") total += v * 1e3;
    else if (unit == "m") total += v * 60e3;
    else if (unit == "h") total += v * 3600e3;
    else return std::nullopt;
  }
  if (total > 1e12) return std::nullopt;
  return milliseconds(static_cast<int64_t>(total));
}

class Parser {
 public:
  Parser(std::string file, std::string updater) : file_(std::move(file)), updater_(std::move(updater)) {}

  Status Err(int line, const std::string& what) const {
    return InvalidArgument(file_ + ":" + std::to_string(line) + ": " + what);
  }
  std::string Where() const { return " in dns " + hcl::Quote(updater_); }
  Status Wrong(const hcl::Item& item, const char* want) const {
    return Err(item.value.line ? item.value.line : item.line(),
               "invalid value for " + hcl::Quote(item.name()) + Where() + ": expected " + want +
                   ", got " + hcl::KindName(item.value.kind));
  }
  Status BadValue(const hcl::Item& item, const std::string& why) const {
    return Err(item.value.line ? item.value.line : item.line(),
               "invalid value for " + hcl::Quote(item.name()) + Where() + ": " + why);
  }

  StatusOr<std::string> String(const hcl::Item& item) const {
    if (!item.assign || !item.value.is_string()) return Wrong(item, "a string");
    return item.value.s;
  }
  StatusOr<std::vector<std::string>> List(const hcl::Item& item) const {
    std::vector<std::string> out;
    const hcl::Value& v = item.value;
    if (item.assign && v.is_string()) {
      std::string cur;
      for (char c : v.s + ",") {
        if (c == ',') {
          while (!cur.empty() && cur.back() == ' ') cur.pop_back();
          if (!cur.empty()) out.push_back(cur);
          cur.clear();
        } else if (c != ' ' || !cur.empty()) {
          cur += c;
        }
      }
      return out;
    }
    if (!item.assign || !v.is_list()) return Wrong(item, "a list of strings");
    for (const auto& e : v.list) {
      if (!e.is_string()) return Wrong(item, "a list of strings");
      out.push_back(e.s);
    }
    return out;
  }
  StatusOr<int64_t> Int(const hcl::Item& item) const {
    const hcl::Value& v = item.value;
    if (item.assign && v.kind == hcl::Kind::kInt) return v.i;
    if (item.assign && v.is_string() && !v.s.empty() && v.s.size() <= 18) {
      bool digits = true;
      for (char c : v.s) digits = digits && std::isdigit(static_cast<unsigned char>(c));
      if (digits) return std::stoll(v.s);
    }
    return Wrong(item, "an integer");
  }
  StatusOr<milliseconds> Duration(const hcl::Item& item) const {
    const hcl::Value& v = item.value;
    if (item.assign && v.kind == hcl::Kind::kInt) {
      if (v.i < 0 || v.i > 86400 * 365) return BadValue(item, "out of range");
      return milliseconds(v.i * 1000);
    }
    if (!item.assign || !v.is_string()) return Wrong(item, "a duration");
    auto ms = ParseMillis(v.s);
    if (!ms) return BadValue(item, "invalid duration " + hcl::Quote(v.s));
    return *ms;
  }
  StatusOr<bool> Bool(const hcl::Item& item) const {
    const hcl::Value& v = item.value;
    if (item.assign && v.kind == hcl::Kind::kBool) return v.b;
    if (item.assign && v.is_string() && (v.s == "true" || v.s == "false")) return v.s == "true";
    return Wrong(item, "a bool");
  }

 private:
  std::string file_;
  std::string updater_;
};

Status ReadSmallFile(const std::string& path, std::string* out) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return InvalidArgument("cannot read " + path);
  if (!S_ISREG(st.st_mode)) return InvalidArgument(path + " is not a regular file");
  if (static_cast<std::size_t>(st.st_size) > kMaxSecretFile)
    return InvalidArgument(path + " is larger than 64 KiB");
  if (st.st_mode & 077) spdlog::warn("dns: {} is readable by group or others", path);
  std::ifstream f(path, std::ios::binary);
  if (!f) return InvalidArgument("cannot read " + path);
  out->assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  if (f.bad()) return InvalidArgument("cannot read " + path);
  return OkStatus();
}

std::string Trim(std::string s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  std::string out = s.substr(b, e - b);
  Wipe(s);
  return out;
}

// Words of a BIND key file: quoted strings and bare words; comments dropped.
std::vector<std::string> KeyFileWords(const std::string& text) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (std::isspace(static_cast<unsigned char>(c)) || c == ';' || c == '{' || c == '}') {
      ++i;
    } else if (c == '#' || (c == '/' && i + 1 < text.size() && text[i + 1] == '/')) {
      while (i < text.size() && text[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
      std::size_t end = text.find("*/", i + 2);
      i = end == std::string::npos ? text.size() : end + 2;
    } else if (c == '"') {
      std::size_t end = text.find('"', i + 1);
      if (end == std::string::npos) end = text.size();
      words.push_back(text.substr(i + 1, end - i - 1));
      i = end + 1;
    } else {
      std::size_t b = i;
      while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i])) &&
             text[i] != ';' && text[i] != '{' && text[i] != '}' && text[i] != '"')
        ++i;
      words.push_back(text.substr(b, i - b));
    }
  }
  return words;
}

struct KeyEntry {
  std::string name, algorithm, secret;
};

std::string NoDot(std::string s) {
  if (!s.empty() && s.back() == '.') s.pop_back();
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Status LoadTsig(StanzaConfig& s) {
  std::string text;
  ARCA_RETURN_IF_ERROR(ReadSmallFile(s.tsig_secret_file, &text));
  std::vector<std::string> words = KeyFileWords(text);
  std::vector<KeyEntry> keys;
  bool bind_format = false;
  for (std::size_t i = 0; i + 1 < words.size(); ++i) {
    if (words[i] == "key") {
      keys.push_back({words[i + 1], "", ""});
      bind_format = true;
    } else if (words[i] == "algorithm" && !keys.empty()) {
      keys.back().algorithm = words[i + 1];
    } else if (words[i] == "secret") {
      if (keys.empty()) keys.push_back({});
      keys.back().secret = words[i + 1];
      bind_format = true;
    }
  }
  for (auto& w : words) Wipe(w);
  PublisherConfig& p = s.publisher;
  if (!bind_format) {
    p.tsig_secret = Trim(std::move(text));
    return OkStatus();
  }
  Wipe(text);
  const KeyEntry* chosen = nullptr;
  for (const auto& k : keys)
    if (!k.secret.empty() && (p.tsig_key_name.empty() || NoDot(k.name) == NoDot(p.tsig_key_name)))
      chosen = chosen ? chosen : &k;
  Status st;
  if (chosen == nullptr) {
    st = InvalidArgument(s.tsig_secret_file + " holds no secret for key " +
                         hcl::Quote(p.tsig_key_name));
  } else if (!chosen->algorithm.empty() &&
             internal::LdnsAlgorithm(chosen->algorithm) != internal::LdnsAlgorithm(p.tsig_algorithm)) {
    st = InvalidArgument(s.tsig_secret_file + " gives algorithm " + hcl::Quote(chosen->algorithm) +
                         " but tsig_algorithm is " + hcl::Quote(p.tsig_algorithm));
  } else {
    if (p.tsig_key_name.empty()) p.tsig_key_name = chosen->name;
    p.tsig_secret = chosen->secret;
  }
  for (auto& k : keys) Wipe(k.secret);
  return st;
}

}  // namespace

StatusOr<StanzaConfig> ParseStanza(const hcl::Block& block, std::string_view file,
                                   bool require_addresses) {
  StanzaConfig out;
  out.line = block.line;
  const std::string updater = block.labels.empty() ? "" : block.labels[0].text;
  Parser ps{std::string(file), updater};
  if (updater != "rfc2136" && updater != "dyndns2")
    return ps.Err(block.labels.empty() ? block.line : block.labels[0].line,
                  "unknown dns updater " + hcl::Quote(updater) +
                      " (expected \"rfc2136\" or \"dyndns2\")");
  PublisherConfig& p = out.publisher;
  p.updater = updater;
  std::map<std::string, int> lines;
  std::set<std::string> seen;
  if (block.body == nullptr) return ps.Err(block.line, "empty dns stanza");
  for (const hcl::Item& item : block.body->items) {
    const std::string& k = item.name();
    const KeySpec* spec = nullptr;
    for (const auto& ks : Keys())
      if (k == ks.name) spec = &ks;
    if (spec == nullptr) return ps.Err(item.line(), "unknown key " + hcl::Quote(k) + ps.Where());
    if (spec->only != nullptr && updater != spec->only)
      return ps.Err(item.line(), "key " + hcl::Quote(k) + " is only valid in dns " +
                                     hcl::Quote(spec->only) + ", not" + ps.Where());
    if (!seen.insert(k).second)
      return ps.Err(item.line(), "duplicate key " + hcl::Quote(k) + ps.Where());
    lines[k] = item.value.line ? item.value.line : item.line();
    if (k == "hostname") {
      ARCA_ASSIGN_OR_RETURN(p.hostname, ps.String(item));
    } else if (k == "addresses") {
      ARCA_ASSIGN_OR_RETURN(p.addresses, ps.List(item));
    } else if (k == "ttl") {
      ARCA_ASSIGN_OR_RETURN(p.ttl, ps.Int(item));
    } else if (k == "reassert") {
      ARCA_ASSIGN_OR_RETURN(p.reassert, ps.Duration(item));
    } else if (k == "timeout") {
      ARCA_ASSIGN_OR_RETURN(p.timeout, ps.Duration(item));
    } else if (k == "publish") {
      ARCA_ASSIGN_OR_RETURN(out.publish, ps.Bool(item));
    } else if (k == "pause_file") {
      ARCA_ASSIGN_OR_RETURN(out.pause_file, ps.String(item));
    } else if (k == "server") {
      ARCA_ASSIGN_OR_RETURN(p.server, ps.String(item));
    } else if (k == "zone") {
      ARCA_ASSIGN_OR_RETURN(p.zone, ps.String(item));
    } else if (k == "tsig_key_name") {
      ARCA_ASSIGN_OR_RETURN(p.tsig_key_name, ps.String(item));
    } else if (k == "tsig_algorithm") {
      ARCA_ASSIGN_OR_RETURN(p.tsig_algorithm, ps.String(item));
    } else if (k == "tsig_secret") {
      ARCA_ASSIGN_OR_RETURN(p.tsig_secret, ps.String(item));
    } else if (k == "tsig_secret_file") {
      ARCA_ASSIGN_OR_RETURN(out.tsig_secret_file, ps.String(item));
    } else if (k == "url") {
      ARCA_ASSIGN_OR_RETURN(p.url, ps.String(item));
    } else if (k == "username") {
      ARCA_ASSIGN_OR_RETURN(p.username, ps.String(item));
    } else if (k == "password") {
      ARCA_ASSIGN_OR_RETURN(p.password, ps.String(item));
    } else if (k == "password_file") {
      ARCA_ASSIGN_OR_RETURN(out.password_file, ps.String(item));
    } else if (k == "ca_file") {
      ARCA_ASSIGN_OR_RETURN(p.ca_file, ps.String(item));
    }
  }
  if (seen.count("tsig_secret") && seen.count("tsig_secret_file"))
    return ps.Err(lines["tsig_secret_file"], "give tsig_secret or tsig_secret_file, not both" + ps.Where());
  if (seen.count("password") && seen.count("password_file"))
    return ps.Err(lines["password_file"], "give password or password_file, not both" + ps.Where());
  if (seen.count("tsig_secret_file") && out.tsig_secret_file.empty())
    return ps.Err(lines["tsig_secret_file"], "tsig_secret_file is empty" + ps.Where());
  if (seen.count("password_file") && out.password_file.empty())
    return ps.Err(lines["password_file"], "password_file is empty" + ps.Where());

  // Everything Validate checks, at the line of the key concerned.
  PublisherConfig check = p;
  if (!out.tsig_secret_file.empty()) check.tsig_secret = kPlaceholderSecret;
  if (!out.password_file.empty()) check.password = kPlaceholderSecret;
  if (!require_addresses && check.addresses.empty()) check.addresses = {kPlaceholderAddress};
  // A key file may name the key.
  if (!out.tsig_secret_file.empty() && check.tsig_key_name.empty()) check.tsig_key_name = "from-file";
  std::string key;
  if (Status st = internal::ValidateNamingKey(check, &key); !st.ok()) {
    auto it = lines.find(key);
    int line = it != lines.end() ? it->second : block.line;
    return ps.Err(line, "dns " + hcl::Quote(updater) + ": " + st.message());
  }
  return out;
}

Status LoadSecretFiles(StanzaConfig& s, std::string_view config_file) {
  std::string where = std::string(config_file) +
                      (s.line > 0 ? ":" + std::to_string(s.line) : std::string()) + ": dns " +
                      hcl::Quote(s.publisher.updater) + ": ";
  if (!s.tsig_secret_file.empty()) {
    if (Status st = LoadTsig(s); !st.ok())
      return InvalidArgument(where + "tsig_secret_file: " + st.message());
  }
  if (!s.password_file.empty()) {
    std::string text;
    if (Status st = ReadSmallFile(s.password_file, &text); !st.ok())
      return InvalidArgument(where + "password_file: " + st.message());
    s.publisher.password = Trim(std::move(text));
  }
  PublisherConfig check = s.publisher;
  if (check.addresses.empty()) check.addresses = {kPlaceholderAddress};
  if (Status st = Validate(check); !st.ok()) return InvalidArgument(where + st.message());
  return OkStatus();
}

}  // namespace arca::dns
