// arca CLI: `kv get|put|patch|list|delete|undelete|destroy` (the metadata
// subcommands live in commands_kv_metadata.cc). Each resolves the mount and
// its KV version with the preflight request, then rewrites the path for v2.
#include "cli/commands_kv.h"

#include "cli/commands_util.h"
#include "cli/kv_paths.h"

namespace arca::cli {

std::optional<KvTarget> ResolveKv(Command& c, Client& client, const std::string& mount_flag,
                                  std::string partial) {
  KvTarget t;
  t.mount_flag = !mount_flag.empty();
  std::string probe = t.mount_flag ? SanitizePath(mount_flag) : partial;
  auto mount = KvPreflight(client, probe);
  if (!mount.ok()) {
    c.ui().Error(mount.status().message());
    return std::nullopt;
  }
  t.mount_path = mount->mount_path;
  t.v2 = mount->version == 2;
  if (t.mount_flag) {
    // Vault joins with the mount path the server reported; when the server did
    // not report one (404, "assume v1") the mount named by the flag is used.
    std::string base = t.mount_path.empty() ? EnsureTrailingSlash(SanitizePath(mount_flag)) : t.mount_path;
    if (t.mount_path.empty()) t.mount_path = base;
    if (t.v2) partial = GoPathJoin({t.mount_path, partial});
  }
  t.partial = std::move(partial);
  return t;
}

std::string KvTarget::V1Path() const {
  return mount_flag ? GoPathJoin({mount_path, partial}) : partial;
}

std::string KvTarget::V2Path(std::string_view prefix, bool skip_if_exists) const {
  return AddPrefixToKvPath(partial, mount_path, prefix, skip_if_exists);
}

namespace {

constexpr char kMountUsage[] =
    "Specifies the path where the KV backend is mounted. If specified, the next argument will be "
    "interpreted as the secret path. If this flag is not specified, the next argument will be "
    "interpreted as the combined mount path and secret path, with /data/ automatically appended "
    "between KV v2 secrets.";

bool ExactlyOneArg(Command& c) {
  const auto& args = c.args();
  if (args.size() == 1) return true;
  c.ui().Error(args.empty() ? NotEnough("1", 0) : TooMany("1", args.size()));
  return false;
}

int KvGet(Command& c, const std::vector<std::string>& raw) {
  int64_t version = 0;
  std::string mount;
  c.flags().Section("Common Options");
  c.flags().Int("version", &version, 0,
                Usage("If passed, the value at the version number will be returned."));
  c.flags().String("mount", &mount, "", Usage(kMountUsage));
  if (auto rc = c.Parse(raw)) return *rc;
  if (!ExactlyOneArg(c)) return 1;
  const Ui& ui = c.ui();
  Client* client = c.client();
  if (!client) return 2;
  std::string partial = c.args()[0];
  if (!partial.empty() && partial[0] == '/') partial.erase(0, 1);
  auto t = ResolveKv(c, *client, mount, partial);
  if (!t) return 2;

  QueryParams query;
  std::string full;
  if (t->v2) {
    full = t->V2Path("data");
    if (version > 0) query.emplace_back("version", std::to_string(version));
  } else {
    full = t->V1Path();
  }
  LogicalResult r = LogicalRead(*client, full, query);
  if (!r.error.ok()) {
    ui.Error("Error reading " + full + ": " + r.error.message());
    if (r.secret) OutputSecret(ui, *r.secret);
    return 2;
  }
  if (!r.secret) {
    ui.Error("No value found at " + full);
    return 2;
  }
  const Json& secret = *r.secret;
  const std::string& field = c.globals().field;
  if (!field.empty()) {
    if (!t->v2) return PrintRawField(ui, secret, true, field);
    const Json& data = Field(Field(secret, "data"), "data");
    if (data.is_null()) {
      ui.Error("No data found at " + full);
      return 2;
    }
    if (field == "data") {
      if (data.is_object() && data.contains("data")) return PrintRawField(ui, data, false, field);
      return PrintRawField(ui, secret, true, field);
    }
    return PrintRawField(ui, data, false, field);
  }
  if (Field(secret, "wrap_info").is_object() || ui.format != "table") return OutputSecret(ui, secret);

  PrintWarnings(ui, secret);
  if (t->v2) OutputPath(ui, full, "Secret Path");
  const Json& metadata = Field(Field(secret, "data"), "metadata");
  if (!metadata.is_null()) {
    ui.Info(HeaderForMap("Metadata", metadata));
    OutputData(ui, metadata);
    ui.Info("");
  }
  const Json& data = t->v2 ? Field(Field(secret, "data"), "data") : Field(secret, "data");
  if (data.is_object()) {
    ui.Info(HeaderForMap("Data", data));
    OutputData(ui, data);
  }
  return 0;
}

// kv put / kv patch output of a write response.
int OutputKvWrite(Command& c, const std::string& full, const Json& secret) {
  const Ui& ui = c.ui();
  if (!c.globals().field.empty()) return PrintRawField(ui, secret, true, c.globals().field);
  const Json& wrap = Field(secret, "wrap_info");
  if (wrap.is_object() && Field(wrap, "ttl") != Json(0)) return OutputSecret(ui, secret);
  if (ui.format == "table") {
    OutputPath(ui, full, "Secret Path");
    const Json& metadata = Field(secret, "data");
    ui.Info(HeaderForMap("Metadata", metadata));
    return OutputData(ui, metadata.is_null() ? Json::object() : metadata);
  }
  return OutputSecret(ui, secret);
}

int KvPut(Command& c, const std::vector<std::string>& raw) {
  int64_t cas = -1;
  std::string mount;
  c.flags().Section("Common Options");
  c.flags().Int("cas", &cas, -1,
                Usage("Specifies to use a Check-And-Set operation. If not set the write will "
                          "be allowed. If set to 0 a write will only be allowed if the key doesn't "
                          "exist. If the index is non-zero the write will only be allowed if the "
                          "key's current version matches the version specified in the cas "
                          "parameter."));
  c.flags().String("mount", &mount, "", Usage(kMountUsage));
  if (auto rc = c.Parse(raw)) return *rc;
  const Ui& ui = c.ui();
  const auto& args = c.args();
  if (args.empty()) {
    ui.Error(NotEnough(">1", 0));
    return 1;
  }
  if (args.size() == 1) {
    ui.Error("Must supply data");
    return 1;
  }
  Client* client = c.client();
  if (!client) return 2;
  auto data = ParseDataArgs({args.begin() + 1, args.end()}, c.env().in);
  if (!data.ok()) {
    ui.Error("Failed to parse K=V data: " + data.status().message());
    return 1;
  }
  auto t = ResolveKv(c, *client, mount, SanitizePath(args[0]));
  if (!t) return 2;
  std::string full;
  Json body;
  if (t->v2) {
    full = t->V2Path("data");
    body = Json::object();
    body["data"] = *data;
    body["options"] = Json::object();
    if (cas > -1) body["options"]["cas"] = cas;
  } else {
    full = t->V1Path();
    body = *data;
  }
  LogicalResult r = LogicalWrite(*client, full, body);
  if (!r.error.ok()) {
    ui.Error("Error writing data to " + full + ": " + r.error.message());
    if (r.secret) OutputSecret(ui, *r.secret);
    return 2;
  }
  if (!r.secret) {
    if (ui.format == "table") ui.Info("Success! Data written to: " + full);
    return 0;
  }
  return OutputKvWrite(c, full, *r.secret);
}

// Vault's readThenWrite: read the current version, merge, write with cas.
// Returns the exit code; `out` gets the write response, if any.
int PatchReadThenWrite(Command& c, Client& client, const std::string& path, const Json& patch,
                       std::optional<Json>& out) {
  const Ui& ui = c.ui();
  LogicalResult r = LogicalRead(client, path);
  if (!r.error.ok()) {
    ui.Error("Error doing pre-read at " + path + ": " + r.error.message());
    return 2;
  }
  if (!r.secret || !Field(*r.secret, "data").is_object()) {
    ui.Error("No value found at " + path);
    return 2;
  }
  const Json& outer = Field(*r.secret, "data");
  const Json& meta = Field(outer, "metadata");
  if (meta.is_null()) {
    ui.Error("No metadata found at " + path + "; patch only works on existing data");
    return 2;
  }
  if (!meta.is_object()) {
    ui.Error("Metadata found at " + path + " is not the expected type (JSON object)");
    return 2;
  }
  const Json& current = Field(outer, "data");
  if (current.is_null()) {
    ui.Error("No data found at " + path + "; patch only works on existing data");
    return 2;
  }
  if (!current.is_object()) {
    ui.Error("Data found at " + path + " is not the expected type (JSON object)");
    return 2;
  }
  Json merged = current;
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (it->is_null()) merged.erase(it.key());  // -remove-data
    else merged[it.key()] = *it;
  }
  Json body = Json::object();
  body["data"] = merged;
  body["options"] = Json{{"cas", Field(meta, "version")}};
  LogicalResult w = LogicalWrite(client, path, body);
  if (!w.error.ok()) {
    ui.Error("Error writing data to " + path + ": " + w.error.message());
    return 2;
  }
  if (!w.secret) {
    if (ui.format == "table") ui.Info("Success! Data written to: " + path);
    return 0;
  }
  out = std::move(w.secret);
  return 0;
}

int KvPatch(Command& c, const std::vector<std::string>& raw) {
  int64_t cas = 0;
  std::string method, mount;
  std::vector<std::string> remove;
  c.flags().Section("Common Options");
  c.flags().Int("cas", &cas, 0,
                Usage("Specifies to use a Check-And-Set operation. If set to 0 or not set, "
                          "the patch will be allowed. If the index is non-zero the patch will only "
                          "be allowed if the key's current version matches the version specified "
                          "in the cas parameter."));
  c.flags().String("method", &method, "",
                   Usage("Specifies which method of patching to use. If set to \"patch\", then "
                             "an HTTP PATCH request will be issued. If set to \"rw\", then a read "
                             "will be performed, then a local update, followed by a remote update."));
  c.flags().String("mount", &mount, "", Usage(kMountUsage));
  c.flags().StringSlice("remove-data", &remove,
                        Usage("Key to remove from data. To specify multiple values, specify "
                                  "this flag multiple times."));
  if (auto rc = c.Parse(raw)) return *rc;
  const Ui& ui = c.ui();
  const auto& args = c.args();
  if (args.empty()) {
    ui.Error(NotEnough(">1", 0));
    return 1;
  }
  if (remove.empty() && args.size() == 1) {
    ui.Error("Must supply data");
    return 1;
  }
  Client* client = c.client();
  if (!client) return 2;
  auto data = ParseDataArgs({args.begin() + 1, args.end()}, c.env().in);
  if (!data.ok()) {
    ui.Error("Failed to parse K=V data: " + data.status().message());
    return 1;
  }
  auto t = ResolveKv(c, *client, mount, SanitizePath(args[0]));
  if (!t) return 2;
  if (!t->v2) {
    ui.Error("K/V engine mount must be version 2 for patch support");
    return 2;
  }
  std::string full = t->V2Path("data");
  Json patch = *data;
  for (const auto& k : remove) patch[k] = nullptr;

  std::optional<Json> secret;
  int code = 0;
  if (method == "rw") {
    code = PatchReadThenWrite(c, *client, full, patch, secret);
  } else if (method == "patch" || method.empty()) {
    Json body = Json::object();
    body["data"] = patch;
    body["options"] = Json::object();
    if (cas > 0) body["options"]["cas"] = cas;
    LogicalResult r = LogicalMergePatch(*client, full, body);
    bool fallback = method.empty();
    if (!r.error.ok()) {
      if (fallback && r.error.code() == Code::kUnsupportedOperation) {
        code = PatchReadThenWrite(c, *client, full, patch, secret);
      } else if (fallback && r.error.code() == Code::kPermissionDenied) {
        ui.Warn("Data was written to " + full + " but we recommend that you add the \"patch\" "
                "capability to your ACL policy in order to use HTTP PATCH in the future.");
        code = PatchReadThenWrite(c, *client, full, patch, secret);
      } else {
        ui.Error("Error writing data to " + full + ": " + r.error.message());
        return 2;
      }
    } else if (!r.secret) {
      if (ui.format == "table") ui.Info("Success! Data written to: " + full);
      return 0;
    } else {
      secret = std::move(r.secret);
    }
  } else {
    ui.Error("Unsupported method provided to -method flag: " + method);
    return 2;
  }
  if (code != 0 || !secret) return code;
  return OutputKvWrite(c, full, *secret);
}

int KvList(Command& c, const std::vector<std::string>& raw) {
  std::string mount;
  c.flags().Section("Common Options");
  c.flags().String("mount", &mount, "", Usage(kMountUsage));
  if (auto rc = c.Parse(raw)) return *rc;
  const Ui& ui = c.ui();
  std::vector<std::string> args = c.args();
  if (args.empty()) {
    if (mount.empty()) {
      ui.Error(NotEnough("1", 0));
      return 1;
    }
    args = {""};
  } else if (args.size() > 1) {
    ui.Error(TooMany("1", args.size()));
    return 1;
  }
  Client* client = c.client();
  if (!client) return 2;
  std::string path = args[0];
  if (path.empty() || path.back() != '/') path += '/';
  auto t = ResolveKv(c, *client, mount, SanitizePath(path));
  if (!t) return 2;
  std::string full = t->v2 ? t->V2Path("metadata") : t->V1Path();
  LogicalResult r = LogicalList(*client, full);
  if (!r.error.ok()) {
    ui.Error("Error listing " + full + ": " + r.error.message());
    return 2;
  }
  const Json& data = r.secret ? Field(*r.secret, "data") : Field(Json(), "data");
  const Json& wrap = r.secret ? Field(*r.secret, "wrap_info") : data;
  if (wrap.is_object() && Field(wrap, "ttl") != Json(0)) return OutputSecret(ui, *r.secret);
  bool has_keys = Field(data, "keys").is_array();
  if (ui.format != "table" && (!r.secret || !data.is_object() || !has_keys)) {
    OutputData(ui, Json::object());
    return 2;
  }
  if (!r.secret || !data.is_object()) {
    ui.Error("No value found at " + full);
    return 2;
  }
  if (!has_keys) {
    ui.Error("No entries found at " + full);
    return 2;
  }
  return OutputList(ui, *r.secret);
}

int KvDelete(Command& c, const std::vector<std::string>& raw) {
  std::vector<std::string> versions;
  std::string mount;
  c.flags().Section("Common Options");
  c.flags().StringSlice("versions", &versions,
                        Usage("Specifies the version numbers to delete."));
  c.flags().String("mount", &mount, "", Usage(kMountUsage));
  if (auto rc = c.Parse(raw)) return *rc;
  if (!ExactlyOneArg(c)) return 1;
  Client* client = c.client();
  if (!client) return 2;
  auto t = ResolveKv(c, *client, mount, SanitizePath(c.args()[0]));
  if (!t) return 2;
  if (!t->v2) {
    std::string full = t->V1Path();
    return HandleDeleteOutput(c, full, LogicalDelete(*client, full));
  }
  std::string full = t->V2Path("data");
  if (!versions.empty()) {
    Json body = Json::object();
    body["versions"] = ParseVersionsFlags(versions);
    return HandleDeleteOutput(c, full, LogicalWrite(*client, t->V2Path("delete"), body));
  }
  return HandleDeleteOutput(c, full, LogicalDelete(*client, full));
}

// kv undelete and kv destroy: POST <mount>/<prefix>/<path> {"versions": [...]}.
int KvVersionsOp(Command& c, const std::vector<std::string>& raw, std::string_view prefix,
                 std::string_view verb, std::string_view v1_error) {
  std::vector<std::string> versions;
  std::string mount;
  c.flags().Section("Common Options");
  c.flags().StringSlice("versions", &versions,
                        Usage("Specifies the version numbers to " + std::string(verb) + "."));
  c.flags().String("mount", &mount, "", Usage(kMountUsage));
  if (auto rc = c.Parse(raw)) return *rc;
  const Ui& ui = c.ui();
  if (versions.empty()) {
    ui.Error("No versions provided, use the \"-versions\" flag to specify the version to " +
             std::string(verb) + ".");
    return 1;
  }
  if (!ExactlyOneArg(c)) return 1;
  Client* client = c.client();
  if (!client) return 2;
  auto t = ResolveKv(c, *client, mount, SanitizePath(c.args()[0]));
  if (!t) return 2;
  if (!t->v2) {
    ui.Error(std::string(v1_error));
    return 1;
  }
  std::string full = t->V2Path(prefix);
  Json body = Json::object();
  body["versions"] = ParseVersionsFlags(versions);
  return HandleWriteOutput(c, full, LogicalWrite(*client, full, body));
}

int KvUndelete(Command& c, const std::vector<std::string>& raw) {
  return KvVersionsOp(c, raw, "undelete", "undelete", "Undelete not supported on KV Version 1");
}

int KvDestroy(Command& c, const std::vector<std::string>& raw) {
  return KvVersionsOp(c, raw, "destroy", "destroy", "Destroy not supported on KV Version 1");
}

}  // namespace

const std::vector<CommandDef>& KvCommands() {
  static const std::vector<CommandDef> defs = [] {
    std::vector<CommandDef> v = {
        {"kv", "Interact with the key-value secrets engine",
         "Usage: arca kv <subcommand> [options] [args]\n\n"
         "  This command has subcommands for interacting with the key-value secrets engine.\n"
         "  Both KV v1 and KV v2 mounts are handled; the version is detected from the mount.\n\n"
         "      $ arca kv put -mount=secret foo bar=baz\n      $ arca kv get secret/foo",
         nullptr},
        {"kv get", "Retrieves data from the KV store",
         "Usage: arca kv get [options] KEY\n\n"
         "  Retrieves the value from the key-value store at the given key name.\n\n"
         "      $ arca kv get -mount=secret foo\n      $ arca kv get -version=1 secret/foo",
         KvGet},
        {"kv put", "Sets or updates data in the KV store",
         "Usage: arca kv put [options] KEY [DATA]\n\n"
         "  Writes the data to the given path in the key-value store.\n\n"
         "      $ arca kv put -mount=secret foo bar=baz\n"
         "      $ arca kv put -mount=secret foo @data.json\n"
         "      $ echo \"abcd1234\" | arca kv put -mount=secret foo bar=-",
         KvPut},
        {"kv patch", "Sets or updates data in the KV store without overwriting",
         "Usage: arca kv patch [options] KEY [DATA]\n\n"
         "  Patches the data at the given path (KV v2 only). An HTTP PATCH is tried first;\n"
         "  on 403 or 405 it falls back to read, merge and write with check-and-set.\n\n"
         "      $ arca kv patch -mount=secret foo bar=baz",
         KvPatch},
        {"kv list", "List data or secrets",
         "Usage: arca kv list [options] PATH\n\n"
         "  Lists data from the key-value store at the given path.\n\n"
         "      $ arca kv list secret/my-app/",
         KvList},
        {"kv delete", "Deletes versions in the KV store",
         "Usage: arca kv delete [options] PATH\n\n"
         "  Soft-deletes the latest version (or the -versions given) of the data at PATH.\n\n"
         "      $ arca kv delete -mount=secret foo",
         KvDelete},
        {"kv undelete", "Undeletes versions in the KV store",
         "Usage: arca kv undelete [options] KEY\n\n"
         "  Undeletes the -versions given of the data at KEY (KV v2 only).\n\n"
         "      $ arca kv undelete -mount=secret -versions=3 foo",
         KvUndelete},
        {"kv destroy", "Permanently removes one or more versions in the KV store",
         "Usage: arca kv destroy [options] KEY\n\n"
         "  Permanently removes the -versions given of the data at KEY (KV v2 only).\n\n"
         "      $ arca kv destroy -mount=secret -versions=3 foo",
         KvDestroy},
    };
    const auto& meta = KvMetadataCommands();
    v.insert(v.end(), meta.begin(), meta.end());
    return v;
  }();
  return defs;
}

}  // namespace arca::cli
