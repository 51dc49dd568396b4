// arca CLI: the generic logical commands `read`, `write`, `list`, `delete`,
// `patch`.
#include "cli/command.h"
#include "cli/commands_util.h"
#include "cli/kv_paths.h"

namespace arca::cli {

int HandleWriteOutput(Command& c, const std::string& path, const LogicalResult& r) {
  const Ui& ui = c.ui();
  if (!r.error.ok()) {
    ui.Error("Error writing data to " + path + ": " + r.error.message());
    if (r.secret) OutputSecret(ui, *r.secret);
    return 2;
  }
  if (!r.secret) {
    if (ui.format == "table") ui.Info("Success! Data written to: " + path);
    return 0;
  }
  if (!c.globals().field.empty()) return PrintRawField(ui, *r.secret, true, c.globals().field);
  return OutputSecret(ui, *r.secret);
}

QueryParams ToQuery(const std::map<std::string, std::vector<std::string>>& data) {
  QueryParams q;
  for (const auto& [k, vs] : data)
    for (const auto& v : vs) q.emplace_back(k, v);
  return q;
}

namespace {

int Read(Command& c, const std::vector<std::string>& raw) {
  if (auto rc = c.Parse(raw)) return *rc;
  const Ui& ui = c.ui();
  const auto& args = c.args();
  if (args.empty()) {
    ui.Error(NotEnough("1", 0));
    return 1;
  }
  Client* client = c.client();
  if (!client) return 2;
  std::string path = SanitizePath(args[0]);
  auto data = ParseDataArgsStringLists({args.begin() + 1, args.end()}, c.env().in);
  if (!data.ok()) {
    ui.Error("Failed to parse K=V data: " + data.status().message());
    return 1;
  }
  LogicalResult r = LogicalRead(*client, path, ToQuery(*data));
  if (!r.error.ok()) {
    ui.Error("Error reading " + path + ": " + r.error.message());
    return 2;
  }
  if (!r.secret) {
    ui.Error("No value found at " + path);
    return 2;
  }
  if (!c.globals().field.empty()) return PrintRawField(ui, *r.secret, true, c.globals().field);
  return OutputSecret(ui, *r.secret);
}

// `write` and `patch`: the same arguments, a different request.
template <typename Send>
int WriteWithData(Command& c, const std::vector<std::string>& raw, const char* force_usage,
                  Send send) {
  bool force = false;
  c.flags().Section("Command Options");
  c.flags().Bool("force", &force, false, Usage(force_usage).Alias("f"));
  if (auto rc = c.Parse(raw)) return *rc;
  const Ui& ui = c.ui();
  const auto& args = c.args();
  if (args.empty()) {
    ui.Error(NotEnough("1", 0));
    return 1;
  }
  if (args.size() == 1 && !force) {
    ui.Error("Must supply data or use -force");
    return 1;
  }
  std::string path = SanitizePath(args[0]);
  auto data = ParseDataArgs({args.begin() + 1, args.end()}, c.env().in);
  if (!data.ok()) {
    ui.Error("Failed to parse K=V data: " + data.status().message());
    return 1;
  }
  Client* client = c.client();
  if (!client) return 2;
  return HandleWriteOutput(c, path, send(*client, path, *data));
}

int Write(Command& c, const std::vector<std::string>& raw) {
  return WriteWithData(c, raw,
                       "Allow the operation to continue with no key=value pairs. This allows "
                       "writing to keys that do not need or expect data.",
                       [](Client& cl, const std::string& p, const auto& d) {
                         return LogicalWrite(cl, p, d);
                       });
}

int Patch(Command& c, const std::vector<std::string>& raw) {
  return WriteWithData(c, raw, "Allow the operation to continue with no key=value pairs.",
                       [](Client& cl, const std::string& p, const auto& d) {
                         return LogicalMergePatch(cl, p, d);
                       });
}

int List(Command& c, const std::vector<std::string>& raw) {
  if (auto rc = c.Parse(raw)) return *rc;
  const Ui& ui = c.ui();
  const auto& args = c.args();
  if (args.size() != 1) {
    ui.Error(args.empty() ? NotEnough("1", 0) : TooMany("1", args.size()));
    return 1;
  }
  Client* client = c.client();
  if (!client) return 2;
  std::string path = SanitizePath(args[0]);
  LogicalResult r = LogicalList(*client, path);
  if (!r.error.ok()) {
    ui.Error("Error listing " + path + ": " + r.error.message());
    return 2;
  }
  return PrintListResult(c, path, r);
}

int Delete(Command& c, const std::vector<std::string>& raw) {
  if (auto rc = c.Parse(raw)) return *rc;
  const Ui& ui = c.ui();
  const auto& args = c.args();
  if (args.empty()) {
    ui.Error(NotEnough("1", 0));
    return 1;
  }
  Client* client = c.client();
  if (!client) return 2;
  std::string path = SanitizePath(args[0]);
  auto data = ParseDataArgsStringLists({args.begin() + 1, args.end()}, c.env().in);
  if (!data.ok()) {
    ui.Error("Failed to parse K=V data: " + data.status().message());
    return 1;
  }
  return HandleDeleteOutput(c, path, LogicalDelete(*client, path, ToQuery(*data)));
}

}  // namespace

int PrintListResult(Command& c, const std::string& path, const LogicalResult& r) {
  const Ui& ui = c.ui();
  const Json& data = r.secret ? Field(*r.secret, "data") : Field(Json(), "data");
  bool has_keys = Field(data, "keys").is_array();
  if (ui.format != "table" && (!r.secret || !data.is_object() || !has_keys)) {
    OutputData(ui, Json::object());
    return 2;
  }
  if (!r.secret) {
    ui.Error("No value found at " + path);
    return 2;
  }
  if (!data.is_object()) return OutputSecret(ui, *r.secret);
  if (!has_keys) {
    ui.Error("No entries found at " + path);
    return 2;
  }
  return OutputList(ui, *r.secret);
}

int HandleDeleteOutput(Command& c, const std::string& path, const LogicalResult& r) {
  const Ui& ui = c.ui();
  if (!r.error.ok()) {
    ui.Error("Error deleting " + path + ": " + r.error.message());
    if (r.secret) OutputSecret(ui, *r.secret);
    return 2;
  }
  if (!r.secret) {
    if (ui.format == "table") ui.Info("Success! Data deleted (if it existed) at: " + path);
    return 0;
  }
  if (!c.globals().field.empty()) return PrintRawField(ui, *r.secret, true, c.globals().field);
  return OutputSecret(ui, *r.secret);
}

const std::vector<CommandDef>& LogicalCommands() {
  static const std::vector<CommandDef> defs = {
      {"read", "Read data and retrieves secrets",
       "Usage: arca read [options] PATH\n\n"
       "  Reads data from the server at the given path. This can be used to read\n"
       "  secrets, generate dynamic credentials, get configuration details, and more.\n\n"
       "      $ arca read secret/my-secret",
       Read},
      {"write", "Write data, configuration, and secrets",
       "Usage: arca write [options] PATH [DATA K=V...]\n\n"
       "  Writes data to the server at the given path. Data is specified as \"key=value\"\n"
       "  pairs. If the value begins with an \"@\", then it is loaded from a file. If the\n"
       "  value is \"-\", it is read from stdin; \"-\" alone reads a JSON object from stdin.\n\n"
       "      $ arca write secret/my-secret foo=bar\n"
       "      $ arca write -f sys/rotate",
       Write},
      {"list", "List data or secrets",
       "Usage: arca list [options] PATH\n\n"
       "  Lists data from the server at the given path.\n\n      $ arca list secret/my-app/",
       List},
      {"delete", "Delete secrets and configuration",
       "Usage: arca delete [options] PATH\n\n"
       "  Deletes secrets and configuration from the server at the given path.\n\n"
       "      $ arca delete secret/my-secret",
       Delete},
      {"patch", "Patch data, configuration, and secrets",
       "Usage: arca patch [options] PATH [DATA K=V...]\n\n"
       "  Patches data at the given path with an HTTP PATCH (JSON merge patch).\n\n"
       "      $ arca patch pki/roles/example allow_localhost=false",
       Patch},
  };
  return defs;
}

}  // namespace arca::cli
