// arca CLI: `secrets enable|disable|list|tune|move`, `auth
// enable|disable|list|tune` and `audit enable|disable|list`.
#include <algorithm>

#include "base/time.h"
#include "cli/command.h"
#include "cli/commands_util.h"
#include "cli/kv_paths.h"

namespace arca::cli {
namespace {

std::string Str(const Json& v) { return v.is_string() ? v.get<std::string>() : ""; }

bool ArgCount(Command& c, std::size_t n) {
  const auto& args = c.args();
  if (args.size() == n) return true;
  std::string want = std::to_string(n);
  c.ui().Error(args.size() < n ? NotEnough(want, args.size()) : TooMany(want, args.size()));
  return false;
}

// The API path of a mount: no leading or trailing slash.
std::string ApiMountPath(std::string_view p) { return SanitizePath(p); }

struct MountFlags {
  std::string description, path, default_ttl, max_ttl, listing_visibility, plugin_name,
      plugin_version, token_type;
  std::vector<std::string> audit_req, audit_resp, passthrough, allowed_resp;
  std::map<std::string, std::string> options;
  bool force_no_cache = false, local = false, seal_wrap = false, external_entropy = false;
  int64_t version = 0;
};

void RegisterMountFlags(Command& c, MountFlags& m, bool is_auth, bool is_tune) {
  FlagSet& f = c.flags();
  f.Section("Command Options");
  f.String("description", &m.description, "",
           Usage("Human-friendly description for the purpose of this mount."));
  if (!is_tune)
    f.String("path", &m.path, "",
             Usage("Place where the mount will be accessible. This must be unique across all "
                       "mounts. This defaults to the \"type\" of the mount."));
  f.String("default-lease-ttl", &m.default_ttl, "",
           Usage("The default lease TTL for this mount. If unspecified, this defaults to the "
                     "server's globally configured default lease TTL (\"system\").").Example("duration"));
  f.String("max-lease-ttl", &m.max_ttl, "",
           Usage("The maximum lease TTL for this mount. If unspecified, this defaults to the "
                     "server's globally configured maximum lease TTL (\"system\").").Example("duration"));
  f.StringSlice("audit-non-hmac-request-keys", &m.audit_req,
                Usage("Key that will not be HMAC'd by audit devices in the request data "
                          "object. To specify multiple values, specify this flag multiple times."));
  f.StringSlice("audit-non-hmac-response-keys", &m.audit_resp,
                Usage("Key that will not be HMAC'd by audit devices in the response data "
                          "object. To specify multiple values, specify this flag multiple times."));
  f.String("listing-visibility", &m.listing_visibility, "",
           Usage("Determines the visibility of the mount in the UI-specific listing endpoint."));
  f.StringSlice("passthrough-request-headers", &m.passthrough,
                Usage("Request header value that will be sent to the plugin."));
  f.StringSlice("allowed-response-headers", &m.allowed_resp,
                Usage("Response header value that plugins will be allowed to set."));
  f.StringMap("options", &m.options,
              Usage("Key-value pair provided as key=value for the mount options. This can be "
                        "specified multiple times."));
  f.Int("version", &m.version, 0,
        Usage("Select the version of the engine to run. Not supported by all engines."));
  f.String("plugin-version", &m.plugin_version, "", Usage("Select the semantic version of the plugin to enable."));
  if (is_auth) f.String("token-type", &m.token_type, "", Usage("Sets a forced token type for the mount."));
  if (!is_tune) {
    if (!is_auth)
      f.Bool("force-no-cache", &m.force_no_cache, false,
             Usage("Force the secrets engine to disable caching."));
    f.String("plugin-name", &m.plugin_name, "", Usage("Name of the plugin to enable."));
    f.Bool("local", &m.local, false,
           Usage("Mark the mount as a local-only mount. Local mounts are not replicated nor "
                     "removed by replication."));
    f.Bool("seal-wrap", &m.seal_wrap, false, Usage("Enable seal wrapping of critical values."));
    f.Bool("external-entropy-access", &m.external_entropy, false,
           Usage("Enable engine to have access to external entropy source."));
  }
}

// "" stays unset, "system" passes through, durations become Go's form.
StatusOr<std::string> TtlToApi(const std::string& flag, const std::string& v) {
  if (v.empty() || v == "system") return v;
  auto secs = ParseDurationSeconds(v);
  if (!secs || *secs < 0)
    return InvalidArgument("invalid value \"" + v + "\" for flag -" + flag +
                           ": time: invalid duration \"" + v + "\"");
  return FormatGoDuration(*secs);
}

// The `config` object; only fields that were given.
StatusOr<Json> MountConfig(Command& c, const MountFlags& m) {
  Json config = Json::object();
  ARCA_ASSIGN_OR_RETURN(std::string dttl, TtlToApi("default-lease-ttl", m.default_ttl));
  ARCA_ASSIGN_OR_RETURN(std::string mttl, TtlToApi("max-lease-ttl", m.max_ttl));
  if (!dttl.empty()) config["default_lease_ttl"] = dttl;
  if (!mttl.empty()) config["max_lease_ttl"] = mttl;
  if (m.force_no_cache) config["force_no_cache"] = true;
  FlagSet& f = c.flags();
  if (f.IsSet("audit-non-hmac-request-keys")) config["audit_non_hmac_request_keys"] = m.audit_req;
  if (f.IsSet("audit-non-hmac-response-keys")) config["audit_non_hmac_response_keys"] = m.audit_resp;
  if (f.IsSet("listing-visibility")) config["listing_visibility"] = m.listing_visibility;
  if (f.IsSet("passthrough-request-headers")) config["passthrough_request_headers"] = m.passthrough;
  if (f.IsSet("allowed-response-headers")) config["allowed_response_headers"] = m.allowed_resp;
  if (f.IsSet("token-type")) config["token_type"] = m.token_type;
  if (!m.plugin_version.empty()) config["plugin_version"] = m.plugin_version;
  return config;
}

Json MountOptions(const MountFlags& m) {
  Json options = Json::object();
  for (const auto& [k, v] : m.options) options[k] = v;
  if (m.version > 0) options["version"] = std::to_string(m.version);
  return options;
}

int MountEnable(Command& c, const std::vector<std::string>& raw, bool is_auth) {
  MountFlags m;
  RegisterMountFlags(c, m, is_auth, false);
  if (auto rc = c.Parse(raw)) return *rc;
  if (!ArgCount(c, 1)) return 1;
  const Ui& ui = c.ui();
  std::string type = c.args()[0];
  type.erase(0, type.find_first_not_of(" \t"));
  if (type == "plugin") type = m.plugin_name;
  std::string path = EnsureTrailingSlash(EnsureNoLeadingSlash(m.path.empty() ? type : m.path));
  auto config = MountConfig(c, m);
  if (!config.ok()) {
    ui.Error(config.status().message());
    return 1;
  }
  Client* client = c.client();
  if (!client) return 2;
  Json body = Json::object();
  body["type"] = type;
  body["description"] = m.description;
  body["config"] = *config;
  body["local"] = m.local;
  body["seal_wrap"] = m.seal_wrap;
  body["external_entropy_access"] = m.external_entropy;
  if (Json opts = MountOptions(m); !opts.empty()) body["options"] = opts;
  if (!m.plugin_name.empty()) body["plugin_name"] = m.plugin_name;
  std::string api = (is_auth ? "sys/auth/" : "sys/mounts/") + ApiMountPath(path);
  auto resp = client->Do("POST", api, {}, body);
  if (!resp.ok()) {
    ui.Error(is_auth ? "Error enabling " + type + " auth: " + resp.status().message()
                     : "Error enabling: " + resp.status().message());
    return 2;
  }
  ui.Output(is_auth ? "Success! Enabled " + type + " auth method at: " + path
                    : "Success! Enabled the " + type + " secrets engine at: " + path);
  return 0;
}

int MountTune(Command& c, const std::vector<std::string>& raw, bool is_auth) {
  MountFlags m;
  RegisterMountFlags(c, m, is_auth, true);
  if (auto rc = c.Parse(raw)) return *rc;
  if (!ArgCount(c, 1)) return 1;
  const Ui& ui = c.ui();
  std::string path = EnsureTrailingSlash(SanitizePath(c.args()[0]));
  auto config = MountConfig(c, m);
  if (!config.ok()) {
    ui.Error(config.status().message());
    return 1;
  }
  Client* client = c.client();
  if (!client) return 2;
  Json body = *config;
  if (c.flags().IsSet("description")) body["description"] = m.description;
  if (Json opts = MountOptions(m); !opts.empty()) body["options"] = opts;
  std::string api = (is_auth ? "sys/auth/" : "sys/mounts/") + ApiMountPath(path) + "/tune";
  auto resp = client->Do("POST", api, {}, body);
  if (!resp.ok()) {
    ui.Error((is_auth ? "Error tuning auth method " : "Error tuning secrets engine ") + path + ": " +
             resp.status().message());
    return 2;
  }
  ui.Output((is_auth ? "Success! Tuned the auth method at: " : "Success! Tuned the secrets engine at: ") + path);
  return 0;
}

int MountDisable(Command& c, const std::vector<std::string>& raw, bool is_auth) {
  if (auto rc = c.Parse(raw)) return *rc;
  if (!ArgCount(c, 1)) return 1;
  const Ui& ui = c.ui();
  std::string path = EnsureTrailingSlash(SanitizePath(c.args()[0]));
  Client* client = c.client();
  if (!client) return 2;
  auto resp = client->Do("DELETE", (is_auth ? "sys/auth/" : "sys/mounts/") + ApiMountPath(path));
  if (!resp.ok()) {
    ui.Error((is_auth ? "Error disabling auth method at " : "Error disabling secrets engine at ") +
             path + ": " + resp.status().message());
    return 2;
  }
  ui.Output(is_auth ? "Success! Disabled the auth method (if it existed) at: " + path
                    : "Success! Disabled the secrets engine (if it existed) at: " + path);
  return 0;
}

// The `data` of a sys/mounts, sys/auth or sys/audit listing (entries only).
Json MountEntries(const Json& secret) {
  const Json& data = Field(secret, "data");
  Json out = Json::object();
  const Json& src = data.is_object() ? data : secret;
  for (auto it = src.begin(); it != src.end(); ++it)
    if (it->is_object() && !it.key().empty() && it.key().back() == '/') out[it.key()] = *it;
  return out;
}

std::vector<std::string> SortedKeys(const Json& obj) {
  std::vector<std::string> keys;
  for (auto it = obj.begin(); it != obj.end(); ++it) keys.push_back(it.key());
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::string CalcTtl(const std::string& type, const Json& ttl) {
  if (type == "system" || type == "cubbyhole") return "";
  int64_t v = ttl.is_number_integer() ? ttl.get<int64_t>() : 0;
  return v != 0 ? std::to_string(v) : "system";
}

std::string OptionsString(const Json& options) {
  return options.is_object() ? GoValueString(options) : "map[]";
}

int MountList(Command& c, const std::vector<std::string>& raw, bool is_auth) {
  bool detailed = false;
  c.flags().Section("Command Options");
  c.flags().Bool("detailed", &detailed, false,
                 Usage("Print detailed information such as TTLs and replication status."));
  if (auto rc = c.Parse(raw)) return *rc;
  if (!ArgCount(c, 0)) return 1;
  const Ui& ui = c.ui();
  Client* client = c.client();
  if (!client) return 2;
  LogicalResult r = LogicalRead(*client, is_auth ? "sys/auth" : "sys/mounts");
  if (r.error.ok() && !r.secret) r.error = Internal("empty response");
  if (!r.error.ok()) {
    ui.Error((is_auth ? "Error listing enabled authentications: " : "Error listing secrets engines: ") +
             r.error.message());
    return 2;
  }
  Json mounts = MountEntries(*r.secret);
  if (ui.format != "table") return OutputData(ui, mounts);
  std::vector<std::string> rows;
  if (detailed) {
    rows.push_back(std::string("Path | Plugin | Accessor | Default TTL | Max TTL | ") +
                   (is_auth ? "Token Type" : "Force No Cache") +
                   " | Replication | Seal Wrap | External Entropy Access | Options | Description | "
                   "UUID | Version | Running Version | Running SHA256 | Deprecation Status");
  } else {
    rows.push_back(is_auth ? "Path | Type | Accessor | Description | Version"
                           : "Path | Type | Accessor | Description");
  }
  for (const auto& path : SortedKeys(mounts)) {
    const Json& m = mounts.at(path);
    std::string type = Str(Field(m, "type"));
    const Json& config = Field(m, "config");
    if (!detailed) {
      std::string row = path + " | " + type + " | " + Str(Field(m, "accessor")) + " | " +
                        Str(Field(m, "description"));
      if (is_auth) row += " | " + Str(Field(m, "plugin_version"));
      rows.push_back(row);
      continue;
    }
    std::string plugin = type == "plugin" ? Str(Field(config, "plugin_name")) : type;
    std::string col6 = is_auth ? Str(Field(config, "token_type"))
                               : GoValueString(Field(config, "force_no_cache").is_boolean()
                                                   ? Field(config, "force_no_cache") : Json(false));
    auto b = [&](const char* k) { return Field(m, k).is_boolean() && Field(m, k).get<bool>() ? "true" : "false"; };
    rows.push_back(path + " | " + plugin + " | " + Str(Field(m, "accessor")) + " | " +
                   CalcTtl(type, Field(config, "default_lease_ttl")) + " | " +
                   CalcTtl(type, Field(config, "max_lease_ttl")) + " | " + col6 + " | " +
                   (Field(m, "local").is_boolean() && Field(m, "local").get<bool>() ? "local" : "replicated") +
                   " | " + b("seal_wrap") + " | " + b("external_entropy_access") + " | " +
                   OptionsString(Field(m, "options")) + " | " + Str(Field(m, "description")) + " | " +
                   Str(Field(m, "uuid")) + " | " + Str(Field(m, "plugin_version")) + " | " +
                   Str(Field(m, "running_plugin_version")) + " | " + Str(Field(m, "running_sha256")) +
                   " | " + Str(Field(m, "deprecation_status")));
  }
  ui.Output(TableOutput(rows, "|"));
  return 0;
}

int SecretsEnable(Command& c, const std::vector<std::string>& a) { return MountEnable(c, a, false); }
int SecretsDisable(Command& c, const std::vector<std::string>& a) { return MountDisable(c, a, false); }
int SecretsList(Command& c, const std::vector<std::string>& a) { return MountList(c, a, false); }
int SecretsTune(Command& c, const std::vector<std::string>& a) { return MountTune(c, a, false); }
int AuthEnable(Command& c, const std::vector<std::string>& a) { return MountEnable(c, a, true); }
int AuthDisable(Command& c, const std::vector<std::string>& a) { return MountDisable(c, a, true); }
int AuthList(Command& c, const std::vector<std::string>& a) { return MountList(c, a, true); }
int AuthTune(Command& c, const std::vector<std::string>& a) { return MountTune(c, a, true); }

int SecretsMove(Command& c, const std::vector<std::string>& raw) {
  if (auto rc = c.Parse(raw)) return *rc;
  if (!ArgCount(c, 2)) return 1;
  const Ui& ui = c.ui();
  std::string from = EnsureTrailingSlash(SanitizePath(c.args()[0]));
  std::string to = EnsureTrailingSlash(SanitizePath(c.args()[1]));
  Client* client = c.client();
  if (!client) return 2;
  auto resp = client->Do("POST", "sys/remount", {}, Json{{"from", from}, {"to", to}});
  if (!resp.ok()) {
    ui.Error("Error moving secrets engine " + from + " to " + to + ": " + resp.status().message());
    return 2;
  }
  auto secret = ParseSecret(resp->body);
  std::string id;
  if (secret.ok() && *secret) {
    id = Str(Field(Field(**secret, "data"), "migration_id"));
    if (id.empty()) id = Str(Field(**secret, "migration_id"));
  }
  if (!id.empty()) ui.Output("Started moving secrets engine " + from + " to " + to + ", with migration ID " + id);
  else ui.Output("Success! Moved secrets engine " + from + " to: " + to);
  return 0;
}

int AuditEnable(Command& c, const std::vector<std::string>& raw) {
  std::string description, path;
  bool local = false;
  FlagSet& f = c.flags();
  f.Section("Command Options");
  f.String("description", &description, "",
           Usage("Human-friendly description for the purpose of this audit device."));
  f.String("path", &path, "",
           Usage("Place where the audit device will be accessible. This must be unique across "
                     "all audit devices. This defaults to the \"type\" of the audit device."));
  f.Bool("local", &local, false,
         Usage("Mark the audit device as a local-only device. Local devices are not replicated "
                   "or removed by replication."));
  if (auto rc = c.Parse(raw)) return *rc;
  const Ui& ui = c.ui();
  const auto& args = c.args();
  if (args.empty()) {
    ui.Error("Error enabling audit device: audit type missing. Valid types include 'file', "
             "'socket' and 'syslog'.");
    return 1;
  }
  std::string type = args[0];
  auto options = ParseDataArgsStrings({args.begin() + 1, args.end()}, c.env().in);
  if (!options.ok()) {
    ui.Error("Error parsing options: " + options.status().message());
    return 1;
  }
  std::string mount = EnsureTrailingSlash(path.empty() ? type : path);
  Client* client = c.client();
  if (!client) return 2;
  Json body = Json::object();
  body["type"] = type;
  body["description"] = description;
  body["options"] = *options;
  body["local"] = local;
  auto resp = client->Do("PUT", "sys/audit/" + ApiMountPath(mount), {}, body);
  if (!resp.ok()) {
    ui.Error("Error enabling audit device: " + resp.status().message());
    return 2;
  }
  ui.Output("Success! Enabled the " + type + " audit device at: " + mount);
  return 0;
}

int AuditDisable(Command& c, const std::vector<std::string>& raw) {
  if (auto rc = c.Parse(raw)) return *rc;
  if (!ArgCount(c, 1)) return 1;
  const Ui& ui = c.ui();
  std::string path = EnsureTrailingSlash(SanitizePath(c.args()[0]));
  Client* client = c.client();
  if (!client) return 2;
  auto resp = client->Do("DELETE", "sys/audit/" + ApiMountPath(path));
  if (!resp.ok()) {
    ui.Error("Error disabling audit device: " + resp.status().message());
    return 2;
  }
  ui.Output("Success! Disabled audit device (if it was enabled) at: " + path);
  return 0;
}

int AuditList(Command& c, const std::vector<std::string>& raw) {
  bool detailed = false;
  c.flags().Section("Command Options");
  c.flags().Bool("detailed", &detailed, false,
                 Usage("Print detailed information such as options and replication status "
                           "about each audit device."));
  if (auto rc = c.Parse(raw)) return *rc;
  if (!ArgCount(c, 0)) return 1;
  const Ui& ui = c.ui();
  Client* client = c.client();
  if (!client) return 2;
  LogicalResult r = LogicalRead(*client, "sys/audit");
  Json audits = Json::object();
  if (!r.error.ok()) {
    ui.Error("Error listing audits: " + r.error.message());
    return 2;
  }
  if (r.secret) audits = MountEntries(*r.secret);
  if (ui.format != "table") return OutputData(ui, audits);
  if (audits.empty()) {
    ui.Output("No audit devices are enabled.");
    return 2;
  }
  std::vector<std::string> rows = {detailed ? "Path | Type | Description | Replication | Options"
                                            : "Path | Type | Description"};
  for (const auto& key : SortedKeys(audits)) {
    const Json& a = audits.at(key);
    std::string p = Str(Field(a, "path"));
    if (p.empty()) p = key;
    std::string row = (detailed ? key : p) + " | " + Str(Field(a, "type")) + " | " + Str(Field(a, "description"));
    if (detailed) {
      std::string opts;
      const Json& o = Field(a, "options");
      if (o.is_object())
        for (const auto& k : SortedKeys(o)) opts += (opts.empty() ? "" : " ") + k + "=" + GoValueString(o.at(k));
      bool is_local = Field(a, "local").is_boolean() && Field(a, "local").get<bool>();
      row += std::string(" | ") + (is_local ? "local" : "replicated") + " | " + opts;
    }
    rows.push_back(row);
  }
  ui.Output(TableOutput(rows, "|"));
  return 0;
}

}  // namespace

const std::vector<CommandDef>& AdminCommands() {
  static const std::vector<CommandDef> defs = [] {
    std::vector<CommandDef> v = {
        {"secrets", "Interact with secrets engines",
         "Usage: arca secrets <subcommand> [options] [args]\n\n"
         "  This command groups subcommands for interacting with secrets engines.",
         nullptr},
        {"secrets enable", "Enable a secrets engine",
         "Usage: arca secrets enable [options] TYPE\n\n"
         "  Enables a secrets engine. By default, it is enabled at a path named TYPE.\n\n"
         "      $ arca secrets enable -path=kv -version=2 kv",
         SecretsEnable},
        {"secrets disable", "Disable a secrets engine",
         "Usage: arca secrets disable [options] PATH\n\n"
         "  Disables a secrets engine at the given PATH, revoking its leases and deleting\n  its data.",
         SecretsDisable},
        {"secrets list", "List enabled secrets engines",
         "Usage: arca secrets list [options]\n\n  Lists the enabled secrets engines.", SecretsList},
        {"secrets tune", "Tune a secrets engine configuration",
         "Usage: arca secrets tune [options] PATH\n\n"
         "  Tunes the configuration options for the secrets engine at the given PATH.\n\n"
         "      $ arca secrets tune -default-lease-ttl=72h pki/",
         SecretsTune},
        {"secrets move", "Move a secrets engine to a new path",
         "Usage: arca secrets move [options] SOURCE DESTINATION\n\n"
         "  Moves an existing secrets engine to a new path.",
         SecretsMove},
        {"auth", "Interact with auth methods",
         "Usage: arca auth <subcommand> [options] [args]\n\n"
         "  This command groups subcommands for interacting with auth methods.",
         nullptr},
        {"auth enable", "Enables a new auth method",
         "Usage: arca auth enable [options] TYPE\n\n"
         "  Enables a new auth method at a path named TYPE unless -path is given.\n\n"
         "      $ arca auth enable -path=oidc jwt",
         AuthEnable},
        {"auth disable", "Disables an auth method",
         "Usage: arca auth disable [options] PATH\n\n  Disables the auth method at the given PATH.",
         AuthDisable},
        {"auth list", "Lists enabled auth methods",
         "Usage: arca auth list [options]\n\n  Lists the enabled auth methods.", AuthList},
        {"auth tune", "Tunes an auth method configuration",
         "Usage: arca auth tune [options] PATH\n\n"
         "  Tunes the configuration options for the auth method at the given PATH.",
         AuthTune},
        {"audit", "Interact with audit devices",
         "Usage: arca audit <subcommand> [options] [args]\n\n"
         "  This command groups subcommands for interacting with audit devices.",
         nullptr},
        {"audit enable", "Enables an audit device",
         "Usage: arca audit enable [options] TYPE [CONFIG K=V...]\n\n"
         "  Enables an audit device at a given path.\n\n"
         "      $ arca audit enable file file_path=/tmp/my-file.txt",
         AuditEnable},
        {"audit disable", "Disables an audit device",
         "Usage: arca audit disable [options] PATH\n\n  Disables the audit device at the given PATH.",
         AuditDisable},
        {"audit list", "Lists enabled audit devices",
         "Usage: arca audit list [options]\n\n  Lists the enabled audit devices.", AuditList},
    };
    const auto& policy = PolicyCommands();
    v.insert(v.end(), policy.begin(), policy.end());
    return v;
  }();
  return defs;
}

}  // namespace arca::cli
