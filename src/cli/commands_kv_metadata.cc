// arca CLI: `kv metadata get|put|patch|delete` (KV v2 only).
#include <algorithm>

#include "base/time.h"
#include "cli/commands_kv.h"
#include "cli/commands_util.h"
#include "cli/kv_paths.h"

namespace arca::cli {
namespace {

constexpr char kMountUsage[] =
    "Specifies the path where the KV backend is mounted. If specified, the next argument will be "
    "interpreted as the secret path. If this flag is not specified, the next argument will be "
    "interpreted as the combined mount path and secret path, with /metadata/ automatically "
    "appended between KV v2 secrets.";

// Resolves a metadata path; nullopt after printing the error (exit code in `rc`).
std::optional<std::string> MetadataPath(Command& c, Client& client, const std::string& mount, int& rc) {
  auto t = ResolveKv(c, client, mount, SanitizePath(c.args()[0]));
  if (!t) {
    rc = 2;
    return std::nullopt;
  }
  if (!t->v2) {
    c.ui().Error("Metadata not supported on KV Version 1");
    rc = 1;
    return std::nullopt;
  }
  return t->V2Path("metadata");
}

bool ExactlyOneArg(Command& c) {
  const auto& args = c.args();
  if (args.size() == 1) return true;
  c.ui().Error(args.empty() ? NotEnough("1", 0) : TooMany("1", args.size()));
  return false;
}

int MetadataGet(Command& c, const std::vector<std::string>& raw) {
  std::string mount;
  c.flags().Section("Common Options");
  c.flags().String("mount", &mount, "", Usage(kMountUsage));
  if (auto rc = c.Parse(raw)) return *rc;
  if (!ExactlyOneArg(c)) return 1;
  const Ui& ui = c.ui();
  Client* client = c.client();
  if (!client) return 2;
  int rc = 0;
  auto full = MetadataPath(c, *client, mount, rc);
  if (!full) return rc;
  LogicalResult r = LogicalRead(*client, *full);
  if (!r.error.ok()) {
    ui.Error("Error reading " + *full + ": " + r.error.message());
    return 2;
  }
  if (!r.secret) {
    ui.Error("No value found at " + *full);
    return 2;
  }
  Json secret = *r.secret;
  if (!c.globals().field.empty()) return PrintRawField(ui, secret, true, c.globals().field);
  if (Field(secret, "wrap_info").is_object() || ui.format != "table") return OutputSecret(ui, secret);

  const Json& versions_raw = Field(Field(secret, "data"), "versions");
  if (!versions_raw.is_object()) {
    ui.Error("No value found at " + *full);
    OutputSecret(ui, secret);
    return 2;
  }
  Json versions = versions_raw;
  secret["data"].erase("versions");
  OutputPath(ui, *full, "Metadata Path");
  ui.Info(HeaderForMap("Metadata", secret["data"]));
  OutputSecret(ui, secret);

  std::vector<int64_t> numbers;
  for (auto it = versions.begin(); it != versions.end(); ++it) {
    char* end = nullptr;
    long long n = std::strtoll(it.key().c_str(), &end, 10);
    if (!end || *end != '\0' || it.key().empty()) {
      ui.Error("Error parsing version " + it.key());
      return 2;
    }
    numbers.push_back(n);
  }
  std::sort(numbers.begin(), numbers.end());
  for (int64_t n : numbers) {
    const Json& v = versions.at(std::to_string(n));
    ui.Info("\n" + HeaderForMap("Version " + std::to_string(n), v));
    OutputData(ui, v);
  }
  return 0;
}

struct MetadataFlags {
  int64_t max_versions = -1;
  bool cas_required = false;
  int64_t delete_version_after = -1;
  std::map<std::string, std::string> custom;
  std::vector<std::string> remove_custom;
  std::string mount;
};

void RegisterMetadataFlags(Command& c, MetadataFlags& m, bool patch) {
  FlagSet& f = c.flags();
  f.Section("Common Options");
  f.Int("max-versions", &m.max_versions, -1,
        Usage("The number of versions to keep. If not set, the backend's configured max "
                  "version is used."));
  f.Bool("cas-required", &m.cas_required, false,
         Usage("If true the key will require the cas parameter to be set on all write "
                   "requests. If false, the backend's configuration will be used."));
  f.Duration("delete-version-after", &m.delete_version_after, -1,
             Usage("Specifies the length of time before a version is deleted. If not set, "
                       "the backend's configured delete-version-after is used. Cannot be greater "
                       "than the backend's delete-version-after. The delete-version-after is "
                       "specified as a numeric string with a suffix like \"30s\" or \"3h0m0s\"."));
  f.StringMap("custom-metadata", &m.custom,
              Usage("Specifies arbitrary version-agnostic key=value metadata meant to "
                        "describe a secret. This can be specified multiple times to add multiple "
                        "pieces of metadata."));
  if (patch)
    f.StringSlice("remove-custom-metadata", &m.remove_custom,
                  Usage("Key to remove from custom metadata. To specify multiple values, "
                            "specify this flag multiple times."));
  f.String("mount", &m.mount, "", Usage(kMountUsage));
}

Json MetadataBody(Command& c, const MetadataFlags& m, bool patch) {
  Json body = Json::object();
  if (m.max_versions >= 0) body["max_versions"] = m.max_versions;
  if (c.flags().IsSet("cas-required")) body["cas_required"] = m.cas_required;
  if (c.flags().IsSet("delete-version-after") && m.delete_version_after >= 0)
    body["delete_version_after"] = FormatGoDuration(m.delete_version_after);
  if (!m.custom.empty() || (patch && !m.remove_custom.empty())) {
    Json custom = Json::object();
    for (const auto& [k, v] : m.custom) custom[k] = v;
    for (const auto& k : m.remove_custom) custom[k] = nullptr;
    body["custom_metadata"] = custom;
  }
  return body;
}

int MetadataWrite(Command& c, const std::vector<std::string>& raw, bool patch) {
  MetadataFlags m;
  RegisterMetadataFlags(c, m, patch);
  if (auto rc = c.Parse(raw)) return *rc;
  if (!ExactlyOneArg(c)) return 1;
  Client* client = c.client();
  if (!client) return 2;
  int rc = 0;
  auto full = MetadataPath(c, *client, m.mount, rc);
  if (!full) return rc;
  Json body = MetadataBody(c, m, patch);
  LogicalResult r = patch ? LogicalMergePatch(*client, *full, body) : LogicalWrite(*client, *full, body);
  if (!r.error.ok()) {
    c.ui().Error("Error writing data to " + *full + ": " + r.error.message());
    if (r.secret) OutputSecret(c.ui(), *r.secret);
    return 2;
  }
  if (!r.secret) {
    if (c.ui().format == "table") c.ui().Info("Success! Data written to: " + *full);
    return 0;
  }
  return OutputSecret(c.ui(), *r.secret);
}

int MetadataPut(Command& c, const std::vector<std::string>& raw) { return MetadataWrite(c, raw, false); }
int MetadataPatch(Command& c, const std::vector<std::string>& raw) { return MetadataWrite(c, raw, true); }

int MetadataDelete(Command& c, const std::vector<std::string>& raw) {
  std::string mount;
  c.flags().Section("Common Options");
  c.flags().String("mount", &mount, "", Usage(kMountUsage));
  if (auto rc = c.Parse(raw)) return *rc;
  if (!ExactlyOneArg(c)) return 1;
  Client* client = c.client();
  if (!client) return 2;
  int rc = 0;
  auto full = MetadataPath(c, *client, mount, rc);
  if (!full) return rc;
  return HandleDeleteOutput(c, *full, LogicalDelete(*client, *full));
}

}  // namespace

const std::vector<CommandDef>& KvMetadataCommands() {
  static const std::vector<CommandDef> defs = {
      {"kv metadata", "Interact with KV metadata",
       "Usage: arca kv metadata <subcommand> [options] [args]\n\n"
       "  This command has subcommands for interacting with the metadata endpoint in KV\n"
       "  version 2.",
       nullptr},
      {"kv metadata get", "Retrieves key metadata from the KV store",
       "Usage: arca kv metadata get [options] KEY\n\n"
       "  Retrieves the metadata of the key at the given path.\n\n"
       "      $ arca kv metadata get -mount=secret foo",
       MetadataGet},
      {"kv metadata put", "Sets or updates key settings in the KV store",
       "Usage: arca kv metadata put [options] KEY\n\n"
       "  Creates or updates the metadata of a key.\n\n"
       "      $ arca kv metadata put -mount=secret -max-versions=5 foo",
       MetadataPut},
      {"kv metadata patch", "Patches key settings in the KV store",
       "Usage: arca kv metadata patch [options] KEY\n\n"
       "  Patches the metadata of a key, leaving fields that are not given unchanged.\n\n"
       "      $ arca kv metadata patch -mount=secret -custom-metadata=owner=ops foo",
       MetadataPatch},
      {"kv metadata delete", "Deletes all versions and metadata for a key in the KV store",
       "Usage: arca kv metadata delete [options] PATH\n\n"
       "  Deletes all versions and metadata for the key at the given path.\n\n"
       "      $ arca kv metadata delete -mount=secret foo",
       MetadataDelete},
  };
  return defs;
}

}  // namespace arca::cli
