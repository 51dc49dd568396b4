// arca: server config parsing. Stanzas are checked against small schemas;
// to add a storage type, add a row to kStorageSchemas (and teach the server
// wiring to build it); a new labelled stanza (e.g. `dns "name" {}`) follows
// the ParseListener pattern.
#include "server/config.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>

#include "base/time.h"
#include "hcl/hcl.h"

namespace arca::server {

namespace {

enum class FieldKind { kString, kBool, kInt, kDuration, kStringList };

struct Field {
  const char* name;
  FieldKind kind;
  bool required;
};

struct StorageSchema {
  const char* type;
  std::vector<Field> fields;
};

const std::vector<StorageSchema>& StorageSchemas() {
  static const std::vector<StorageSchema> kSchemas = {
      {"inmem", {}},
      {"file", {{"path", FieldKind::kString, true}}},
      {"etcd",
       {{"address", FieldKind::kString, false},
        {"path", FieldKind::kString, false},
        {"etcd_api", FieldKind::kString, false},
        {"ha_enabled", FieldKind::kBool, false},
        {"tls_ca_file", FieldKind::kString, false},
        {"tls_cert_file", FieldKind::kString, false},
        {"tls_key_file", FieldKind::kString, false},
        {"tls_server_name", FieldKind::kString, false},
        {"request_timeout", FieldKind::kDuration, false},
        {"lock_timeout", FieldKind::kDuration, false},
        {"max_receive_size", FieldKind::kInt, false},
        {"node_id", FieldKind::kString, false}}},
  };
  return kSchemas;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::optional<bool> WeakBool(const hcl::Value& v) {
  switch (v.kind) {
    case hcl::Kind::kBool: return v.b;
    case hcl::Kind::kInt:
      if (v.i == 0 || v.i == 1) return v.i == 1;
      return std::nullopt;
    case hcl::Kind::kString: {
      const std::string& s = v.s;
      if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True") return true;
      if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False")
        return false;
      return std::nullopt;
    }
    default: return std::nullopt;
  }
}

// Error messages: "<file>:<line>: <what>".
class Checker {
 public:
  explicit Checker(std::string file) : file_(std::move(file)) {}

  Status Err(int line, const std::string& what) const {
    if (line <= 0) return InvalidArgument(file_ + ": " + what);
    return InvalidArgument(file_ + ":" + std::to_string(line) + ": " + what);
  }

  // `where` is "" at the top level or " in listener \"tcp\"".
  Status BadValue(const hcl::Item& item, const std::string& where, const std::string& why) const {
    return Err(item.value.line ? item.value.line : item.line(),
               "invalid value for " + hcl::Quote(item.name()) + where + ": " + why);
  }

  Status WrongType(const hcl::Item& item, const std::string& where, const char* want) const {
    return BadValue(item, where,
                    std::string("expected ") + want + ", got " + hcl::KindName(item.value.kind));
  }

  StatusOr<std::string> String(const hcl::Item& item, const std::string& where) const {
    if (!item.assign || !item.value.is_string()) return WrongType(item, where, "a string");
    return item.value.s;
  }

  StatusOr<bool> Bool(const hcl::Item& item, const std::string& where) const {
    auto b = item.assign ? WeakBool(item.value) : std::nullopt;
    if (!b) return WrongType(item, where, "a bool");
    return *b;
  }

  StatusOr<int64_t> Int(const hcl::Item& item, const std::string& where) const {
    const hcl::Value& v = item.value;
    if (item.assign && v.kind == hcl::Kind::kInt) return v.i;
    if (item.assign && v.kind == hcl::Kind::kFloat && v.f == static_cast<double>(int64_t(v.f)) &&
        v.f > -9e18 && v.f < 9e18)
      return static_cast<int64_t>(v.f);
    if (item.assign && v.is_string() && !v.s.empty()) {
      std::size_t k = v.s[0] == '-' ? 1 : 0;
      bool digits = k < v.s.size() && v.s.size() - k <= 18;
      for (std::size_t j = k; j < v.s.size() && digits; ++j)
        digits = v.s[j] >= '0' && v.s[j] <= '9';
      if (digits) return std::stoll(v.s);
    }
    return WrongType(item, where, "an integer");
  }

  // Seconds; integers are seconds, strings Go durations ("90s", "1h30m", "2d").
  StatusOr<int64_t> Duration(const hcl::Item& item, const std::string& where) const {
    const hcl::Value& v = item.value;
    std::optional<int64_t> secs;
    if (item.assign && v.kind == hcl::Kind::kInt) {
      secs = v.i;
    } else if (item.assign && v.is_string()) {
      secs = ParseDurationSeconds(v.s);
      if (!secs) return BadValue(item, where, "invalid duration " + hcl::Quote(v.s));
    } else {
      return WrongType(item, where, "a duration");
    }
    if (*secs < 0) return BadValue(item, where, "negative duration");
    return *secs;
  }

  StatusOr<std::vector<std::string>> StringList(const hcl::Item& item,
                                                const std::string& where) const {
    const hcl::Value& v = item.value;
    std::vector<std::string> out;
    if (item.assign && v.is_string()) {
      std::size_t pos = 0;
      while (pos <= v.s.size()) {
        std::size_t comma = v.s.find(',', pos);
        if (comma == std::string::npos) comma = v.s.size();
        std::string part = v.s.substr(pos, comma - pos);
        while (!part.empty() && part.front() == ' ') part.erase(0, 1);
        while (!part.empty() && part.back() == ' ') part.pop_back();
        if (!part.empty()) out.push_back(part);
        pos = comma + 1;
      }
      return out;
    }
    if (!item.assign || !v.is_list()) return WrongType(item, where, "a list of strings");
    for (const auto& e : v.list) {
      if (!e.is_string()) return WrongType(item, where, "a list of strings");
      out.push_back(e.s);
    }
    return out;
  }

  // Duplicate keys inside one stanza (or at the top level) are errors.
  Status Once(std::set<std::string>& seen, const hcl::Item& item, const std::string& where) const {
    if (!seen.insert(item.name()).second)
      return Err(item.line(), "duplicate key " + hcl::Quote(item.name()) + where);
    return OkStatus();
  }

 private:
  std::string file_;
};

bool ValidAddress(std::string_view a) {
  std::size_t colon = a.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string_view host = a.substr(0, colon), port = a.substr(colon + 1);
  if (host.find(':') != std::string_view::npos &&
      !(host.size() >= 2 && host.front() == '[' && host.back() == ']'))
    return false;
  if (port.empty() || port.size() > 5) return false;
  int p = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    p = p * 10 + (c - '0');
  }
  return p <= 65535;
}

StatusOr<ListenerConfig> ParseListener(const Checker& ck, const hcl::Block& b) {
  ListenerConfig l;
  l.type = b.labels[0].text;
  l.line = b.line;
  if (l.type != "tcp") return ck.Err(b.labels[0].line, "unknown listener type " + hcl::Quote(l.type));
  const std::string where = " in listener " + hcl::Quote(l.type);
  std::set<std::string> seen;
  const hcl::Item* tls_item = nullptr;
  for (const hcl::Item& item : b.body->items) {
    const std::string& k = item.name();
    if (k == "address") {
      ARCA_ASSIGN_OR_RETURN(l.address, ck.String(item, where));
      if (!ValidAddress(l.address)) return ck.BadValue(item, where, "expected host:port");
    } else if (k == "tls_disable") {
      ARCA_ASSIGN_OR_RETURN(l.tls_disable, ck.Bool(item, where));
      tls_item = &item;
    } else if (k == "tls_cert_file") {
      ARCA_ASSIGN_OR_RETURN(l.tls_cert_file, ck.String(item, where));
    } else if (k == "tls_key_file") {
      ARCA_ASSIGN_OR_RETURN(l.tls_key_file, ck.String(item, where));
    } else if (k == "tls_min_version") {
      ARCA_ASSIGN_OR_RETURN(l.tls_min_version, ck.String(item, where));
      if (l.tls_min_version != "tls12" && l.tls_min_version != "tls13")
        return ck.BadValue(item, where,
                           hcl::Quote(l.tls_min_version) + " is not one of \"tls12\", \"tls13\"");
    } else if (k == "max_request_size") {
      ARCA_ASSIGN_OR_RETURN(l.max_request_size, ck.Int(item, where));
      if (l.max_request_size == 0) l.max_request_size = kDefaultMaxRequestSize;
      if (l.max_request_size < 0) l.max_request_size = -1;
    } else if (k == "max_request_duration") {
      ARCA_ASSIGN_OR_RETURN(l.max_request_duration, ck.Duration(item, where));
      if (l.max_request_duration == 0) l.max_request_duration = kDefaultMaxRequestDuration;
    } else {
      return ck.Err(item.line(), "unknown key " + hcl::Quote(k) + where);
    }
    ARCA_RETURN_IF_ERROR(ck.Once(seen, item, where));
  }
  if (!l.tls_disable && (l.tls_cert_file.empty() || l.tls_key_file.empty())) {
    int line = tls_item ? tls_item->line() : b.line;
    return ck.Err(line, "listener " + hcl::Quote(l.type) +
                            ": tls_cert_file and tls_key_file are required unless "
                            "tls_disable is true");
  }
  return l;
}

StatusOr<StorageConfig> ParseStorage(const Checker& ck, const hcl::Block& b) {
  StorageConfig s;
  s.type = b.labels[0].text;
  s.line = b.line;
  const StorageSchema* schema = nullptr;
  for (const auto& sc : StorageSchemas())
    if (s.type == sc.type) schema = &sc;
  if (!schema) return ck.Err(b.labels[0].line, "unknown storage type " + hcl::Quote(s.type));
  const std::string where = " in storage " + hcl::Quote(s.type);
  std::set<std::string> seen;
  for (const hcl::Item& item : b.body->items) {
    const Field* field = nullptr;
    for (const auto& f : schema->fields)
      if (item.name() == f.name) field = &f;
    if (!field) return ck.Err(item.line(), "unknown key " + hcl::Quote(item.name()) + where);
    ARCA_RETURN_IF_ERROR(ck.Once(seen, item, where));
    std::string value;
    switch (field->kind) {
      case FieldKind::kString: {
        ARCA_ASSIGN_OR_RETURN(value, ck.String(item, where));
        break;
      }
      case FieldKind::kBool: {
        ARCA_ASSIGN_OR_RETURN(bool v, ck.Bool(item, where));
        value = v ? "true" : "false";
        break;
      }
      case FieldKind::kInt: {
        ARCA_ASSIGN_OR_RETURN(int64_t v, ck.Int(item, where));
        value = std::to_string(v);
        break;
      }
      case FieldKind::kDuration: {
        ARCA_ASSIGN_OR_RETURN(int64_t v, ck.Duration(item, where));
        value = std::to_string(v);
        break;
      }
      case FieldKind::kStringList: {
        ARCA_ASSIGN_OR_RETURN(auto v, ck.StringList(item, where));
        for (std::size_t k = 0; k < v.size(); ++k) value += (k ? "," : "") + v[k];
        break;
      }
    }
    s.options[item.name()] = std::move(value);
    s.option_lines[item.name()] = item.line();
  }
  for (const auto& f : schema->fields) {
    if (f.required && (!s.options.count(f.name) || s.options[f.name].empty()))
      return ck.Err(b.line, "storage " + hcl::Quote(s.type) + ": missing required key " +
                                hcl::Quote(f.name));
  }
  return s;
}

std::string NormalizeLogLevel(std::string_view v) {
  if (v == "trace" || v == "debug" || v == "info" || v == "warn" || v == "error") return std::string(v);
  if (v == "err") return "error";
  return "";
}

}  // namespace

StatusOr<ServerConfig> ParseConfig(std::string_view text, std::string_view filename) {
  Checker ck{std::string(filename)};
  hcl::Error perr;
  auto root = hcl::Parse(text, EndsWith(filename, ".json") ? hcl::Syntax::kJson : hcl::Syntax::kAuto,
                         &perr);
  if (!root.ok()) return ck.Err(perr.line, perr.message);

  ServerConfig cfg;
  cfg.file = std::string(filename);

  hcl::Error berr;
  auto listeners = hcl::Blocks(*root, "listener", 1, &berr);
  if (!listeners.ok()) return ck.Err(berr.line, berr.message);
  for (const auto& b : *listeners) {
    ARCA_ASSIGN_OR_RETURN(ListenerConfig l, ParseListener(ck, b));
    cfg.listeners.push_back(std::move(l));
  }

  std::vector<hcl::Block> storages;
  for (const char* name : {"storage", "backend"}) {
    auto bs = hcl::Blocks(*root, name, 1, &berr);
    if (!bs.ok()) return ck.Err(berr.line, berr.message);
    storages.insert(storages.end(), bs->begin(), bs->end());
  }
  std::sort(storages.begin(), storages.end(),
            [](const hcl::Block& a, const hcl::Block& b) { return a.line < b.line; });
  if (storages.size() > 1)
    return ck.Err(storages[1].line, "only one storage stanza is allowed (another is on line " +
                                        std::to_string(storages[0].line) + ")");

  auto dns_blocks = hcl::Blocks(*root, "dns", 1, &berr);
  if (!dns_blocks.ok()) return ck.Err(berr.line, berr.message);
  for (const auto& b : *dns_blocks) {
    ARCA_ASSIGN_OR_RETURN(dns::StanzaConfig d, dns::ParseStanza(b, cfg.file));
    cfg.dns.push_back(std::move(d));
  }

  std::set<std::string> seen;
  const hcl::Item* default_ttl_item = nullptr;
  const hcl::Item* max_ttl_item = nullptr;
  for (const hcl::Item& item : root->items) {
    const std::string& k = item.name();
    if (k == "listener" || k == "storage" || k == "backend" || k == "dns") continue;
    if (k == "api_addr") {
      ARCA_ASSIGN_OR_RETURN(cfg.api_addr, ck.String(item, ""));
    } else if (k == "cluster_addr") {
      ARCA_ASSIGN_OR_RETURN(cfg.cluster_addr, ck.String(item, ""));
    } else if (k == "forwarding_ca_file") {
      ARCA_ASSIGN_OR_RETURN(cfg.forwarding_ca_file, ck.String(item, ""));
    } else if (k == "disable_forwarding") {
      ARCA_ASSIGN_OR_RETURN(cfg.disable_forwarding, ck.Bool(item, ""));
    } else if (k == "cluster_name") {
      ARCA_ASSIGN_OR_RETURN(cfg.cluster_name, ck.String(item, ""));
    } else if (k == "ui") {
      ARCA_ASSIGN_OR_RETURN(cfg.ui, ck.Bool(item, ""));
    } else if (k == "disable_mlock") {
      ARCA_ASSIGN_OR_RETURN(cfg.disable_mlock, ck.Bool(item, ""));
    } else if (k == "log_level") {
      ARCA_ASSIGN_OR_RETURN(std::string level, ck.String(item, ""));
      cfg.log_level = NormalizeLogLevel(level);
      if (cfg.log_level.empty())
        return ck.BadValue(item, "",
                           hcl::Quote(level) +
                               " is not one of trace, debug, info, warn, err, error");
    } else if (k == "default_lease_ttl") {
      ARCA_ASSIGN_OR_RETURN(cfg.default_lease_ttl, ck.Duration(item, ""));
      if (cfg.default_lease_ttl == 0) cfg.default_lease_ttl = kDefaultLeaseTtl;
      default_ttl_item = &item;
    } else if (k == "max_lease_ttl") {
      ARCA_ASSIGN_OR_RETURN(cfg.max_lease_ttl, ck.Duration(item, ""));
      if (cfg.max_lease_ttl == 0) cfg.max_lease_ttl = kDefaultMaxLeaseTtl;
      max_ttl_item = &item;
    } else {
      return ck.Err(item.line(), "unknown key " + hcl::Quote(k));
    }
    ARCA_RETURN_IF_ERROR(ck.Once(seen, item, ""));
  }

  if (storages.empty())
    return ck.Err(0, "no storage stanza (e.g. storage \"file\" { path = \"...\" })");
  ARCA_ASSIGN_OR_RETURN(cfg.storage, ParseStorage(ck, storages[0]));
  if (cfg.listeners.empty()) return ck.Err(0, "no listener stanza (e.g. listener \"tcp\" { ... })");

  if (cfg.default_lease_ttl > cfg.max_lease_ttl) {
    const hcl::Item* at = default_ttl_item ? default_ttl_item : max_ttl_item;
    return ck.Err(at ? at->line() : 0,
                  "default_lease_ttl (" + FormatGoDuration(cfg.default_lease_ttl) +
                      ") cannot be greater than max_lease_ttl (" +
                      FormatGoDuration(cfg.max_lease_ttl) + ")");
  }
  return cfg;
}

StatusOr<ServerConfig> ParseConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument(path + ": cannot read: " + std::strerror(errno));
  std::string text;
  text.resize(hcl::kMaxInputBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return InvalidArgument(path + ": cannot read: I/O error");
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > hcl::kMaxInputBytes)
    return InvalidArgument(path + ": file too large (limit " + std::to_string(hcl::kMaxInputBytes) +
                           " bytes)");
  return ParseConfig(text, path);
}

}  // namespace arca::server
