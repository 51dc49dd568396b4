// arca CLI: `policy write|read|list|delete` (sys/policies/acl).
#include <fstream>
#include <sstream>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/commands_util.h"

namespace arca::cli {
namespace {

std::string PolicyName(std::string_view raw) {
  std::string name = Trim(raw);
  for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return name;
}

bool ArgCount(Command& c, std::size_t n) {
  const auto& args = c.args();
  if (args.size() == n) return true;
  std::string want = std::to_string(n);
  c.ui().Error(args.size() < n ? NotEnough(want, args.size()) : TooMany(want, args.size()));
  return false;
}

constexpr std::size_t kMaxPolicyBytes = 1u << 20;

int PolicyWrite(Command& c, const std::vector<std::string>& raw) {
  if (auto rc = c.Parse(raw)) return *rc;
  if (!ArgCount(c, 2)) return 1;
  const Ui& ui = c.ui();
  std::string name = PolicyName(c.args()[0]);
  const std::string& source = c.args()[1];
  std::string rules;
  if (source == "-") {
    if (!c.env().in) {
      ui.Error("Failed to read from stdin: no stdin");
      return 1;
    }
    std::ostringstream ss;
    ss << c.env().in->rdbuf();
    rules = ss.str();
  } else {
    std::ifstream f(source, std::ios::binary);
    if (!f) {
      ui.Error("Error opening policy file: open " + source + ": no such file or directory");
      return 2;
    }
    std::ostringstream ss;
    ss << f.rdbuf();
    rules = ss.str();
  }
  if (rules.size() > kMaxPolicyBytes) {
    ui.Error("Error reading policy: larger than 1 MiB");
    return 1;
  }
  Client* client = c.client();
  if (!client) return 2;
  auto resp = client->Do("PUT", "sys/policies/acl/" + name, {}, Json{{"policy", rules}});
  if (!resp.ok()) {
    ui.Error("Error uploading policy: " + resp.status().message());
    return 2;
  }
  ui.Output("Success! Uploaded policy: " + name);
  return 0;
}

int PolicyRead(Command& c, const std::vector<std::string>& raw) {
  if (auto rc = c.Parse(raw)) return *rc;
  if (!ArgCount(c, 1)) return 1;
  const Ui& ui = c.ui();
  std::string name = PolicyName(c.args()[0]);
  Client* client = c.client();
  if (!client) return 2;
  LogicalResult r = LogicalRead(*client, "sys/policies/acl/" + name);
  if (!r.error.ok()) {
    ui.Error("Error reading policy named " + name + ": " + r.error.message());
    return 2;
  }
  const Json& policy = r.secret ? Field(Field(*r.secret, "data"), "policy") : Field(Json(), "policy");
  if (!policy.is_string() || policy.get<std::string>().empty()) {
    ui.Error("No policy named: " + name);
    return 2;
  }
  if (ui.format == "table") {
    ui.Output(Trim(policy.get<std::string>()));
    return 0;
  }
  return OutputData(ui, Json{{"policy", policy}});
}

int PolicyList(Command& c, const std::vector<std::string>& raw) {
  if (auto rc = c.Parse(raw)) return *rc;
  if (!ArgCount(c, 0)) return 1;
  const Ui& ui = c.ui();
  Client* client = c.client();
  if (!client) return 2;
  LogicalResult r = LogicalList(*client, "sys/policies/acl");
  if (!r.error.ok()) {
    ui.Error("Error listing policies: " + r.error.message());
    return 2;
  }
  Json keys = r.secret ? Field(Field(*r.secret, "data"), "keys") : Json();
  if (!keys.is_array()) keys = Json::array();
  if (ui.format != "table") return OutputData(ui, keys);
  for (const auto& k : keys) ui.Output(GoValueString(k));
  return 0;
}

int PolicyDelete(Command& c, const std::vector<std::string>& raw) {
  if (auto rc = c.Parse(raw)) return *rc;
  if (!ArgCount(c, 1)) return 1;
  const Ui& ui = c.ui();
  std::string name = PolicyName(c.args()[0]);
  Client* client = c.client();
  if (!client) return 2;
  auto resp = client->Do("DELETE", "sys/policies/acl/" + name);
  if (!resp.ok()) {
    ui.Error("Error deleting " + name + ": " + resp.status().message());
    return 2;
  }
  ui.Output("Success! Deleted policy: " + name);
  return 0;
}

}  // namespace

const std::vector<CommandDef>& PolicyCommands() {
  static const std::vector<CommandDef> defs = {
      {"policy", "Interact with policies",
       "Usage: arca policy <subcommand> [options] [args]\n\n"
       "  This command groups subcommands for interacting with policies.",
       nullptr},
      {"policy write", "Uploads a named policy from a file",
       "Usage: arca policy write [options] NAME PATH\n\n"
       "  Uploads a policy with name NAME from the contents of a local file PATH or\n"
       "  stdin. If PATH is \"-\", the policy is read from stdin.\n\n"
       "      $ arca policy write my-policy /tmp/policy.hcl\n"
       "      $ cat my-policy.hcl | arca policy write my-policy -",
       PolicyWrite},
      {"policy read", "Prints the contents of a policy",
       "Usage: arca policy read [options] NAME\n\n  Prints the contents and metadata of the policy NAME.",
       PolicyRead},
      {"policy list", "Lists the installed policies",
       "Usage: arca policy list [options]\n\n  Lists the names of the policies that are installed.",
       PolicyList},
      {"policy delete", "Deletes a policy by name",
       "Usage: arca policy delete [options] NAME\n\n  Deletes the policy named NAME.",
       PolicyDelete},
  };
  return defs;
}

}  // namespace arca::cli
