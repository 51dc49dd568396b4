// arca CLI: `status` and `operator init|unseal|seal|key-status|rotate`.
#include <ctime>
#include <fstream>
#include <sstream>

#include "base/encoding.h"
#include "base/secure.h"
#include "base/time.h"
#include "cli/command.h"

namespace arca::cli {
namespace {

std::string Str(const Json& v) { return v.is_string() ? v.get<std::string>() : ""; }
bool Bool(const Json& v) { return v.is_boolean() && v.get<bool>(); }
int64_t Int(const Json& v) { return v.is_number_integer() ? v.get<int64_t>() : 0; }

StatusOr<Json> ParseObject(const std::string& body) {
  Json j = Json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Internal("unexpected response body: not a JSON object");
  return j;
}

// Vault's OutputSealStatus: seal status plus sys/leader. Returns 0, or 1 when
// sys/leader fails for another reason than "sealed".
int OutputSealStatus(Command& c, Client& client, const Json& seal) {
  Json leader = Json::object();
  auto resp = client.Do("GET", "sys/leader");
  if (!resp.ok()) {
    if (!IsSealed(resp.status())) {
      c.ui().Error("Error checking leader status: " + resp.status().message());
      return 1;
    }
    leader["ha_enabled"] = true;
  } else {
    auto parsed = ParseObject(resp->body);
    if (!parsed.ok()) {
      c.ui().Error("Error checking leader status: " + parsed.status().message());
      return 1;
    }
    leader = std::move(*parsed);
  }
  bool ha = Bool(Field(leader, "ha_enabled"));
  bool is_self = Bool(Field(leader, "is_self"));
  std::string active_time = Str(Field(leader, "active_time"));
  if (active_time.empty()) active_time = ZeroTimeRfc3339();
  std::string leader_addr = Str(Field(leader, "leader_address"));
  std::string leader_cluster = Str(Field(leader, "leader_cluster_address"));
  int64_t committed = Int(Field(leader, "raft_committed_index"));
  int64_t applied = Int(Field(leader, "raft_applied_index"));

  if (c.ui().format != "table") {
    Json out = seal.is_object() ? seal : Json::object();
    out["ha_enabled"] = ha;
    if (is_self) out["is_self"] = true;
    out["active_time"] = active_time;
    if (!leader_addr.empty()) out["leader_address"] = leader_addr;
    if (!leader_cluster.empty()) out["leader_cluster_address"] = leader_cluster;
    if (committed > 0) out["raft_committed_index"] = committed;
    if (applied > 0) out["raft_applied_index"] = applied;
    return OutputData(c.ui(), out);
  }

  bool sealed = Bool(Field(seal, "sealed"));
  bool recovery = Bool(Field(seal, "recovery_seal"));
  std::vector<std::string> rows = {"Key | Value", "Seal Type | " + Str(Field(seal, "type"))};
  if (recovery) rows.push_back("Recovery Seal Type | " + Str(Field(seal, "recovery_seal_type")));
  rows.push_back(std::string("Initialized | ") + (Bool(Field(seal, "initialized")) ? "true" : "false"));
  rows.push_back(std::string("Sealed | ") + (sealed ? "true" : "false"));
  rows.push_back(std::string("Total ") + (recovery ? "Recovery " : "") + "Shares | " +
                 std::to_string(Int(Field(seal, "n"))));
  rows.push_back("Threshold | " + std::to_string(Int(Field(seal, "t"))));
  if (sealed) {
    rows.push_back("Unseal Progress | " + std::to_string(Int(Field(seal, "progress"))) + "/" +
                   std::to_string(Int(Field(seal, "t"))));
    rows.push_back("Unseal Nonce | " + Str(Field(seal, "nonce")));
  }
  if (Bool(Field(seal, "migration"))) rows.push_back("Seal Migration in Progress | true");
  if (auto v = Str(Field(seal, "version")); !v.empty()) rows.push_back("Version | " + v);
  if (auto v = Str(Field(seal, "build_date")); !v.empty()) rows.push_back("Build Date | " + v);
  if (auto v = Str(Field(seal, "storage_type")); !v.empty()) rows.push_back("Storage Type | " + v);
  std::string cname = Str(Field(seal, "cluster_name")), cid = Str(Field(seal, "cluster_id"));
  if (!cname.empty() && !cid.empty()) {
    rows.push_back("Cluster Name | " + cname);
    rows.push_back("Cluster ID | " + cid);
  }
  rows.push_back(std::string("HA Enabled | ") + (ha ? "true" : "false"));
  if (ha && !sealed) {
    rows.push_back("HA Cluster | " + leader_cluster);
    rows.push_back(std::string("HA Mode | ") + (is_self ? "active" : "standby"));
    if (is_self && active_time != ZeroTimeRfc3339()) rows.push_back("Active Since | " + active_time);
    if (!is_self && !leader_addr.empty()) rows.push_back("Active Node Address | " + leader_addr);
  }
  if (committed > 0) rows.push_back("Raft Committed Index | " + std::to_string(committed));
  if (applied > 0) rows.push_back("Raft Applied Index | " + std::to_string(applied));
  c.ui().Output(TableOutput(rows, "|"));
  return 0;
}

StatusOr<Json> SealStatus(Client& client) {
  ARCA_ASSIGN_OR_RETURN(ApiResponse resp, client.Do("GET", "sys/seal-status"));
  return ParseObject(resp.body);
}

int StatusCmd(Command& c, const std::vector<std::string>& raw) {
  if (auto rc = c.ParseNoArgs(raw)) return *rc;
  Client* client = c.client();
  if (!client) return 1;  // 2 means "sealed" here
  auto seal = SealStatus(*client);
  if (!seal.ok()) {
    c.ui().Error("Error checking seal status: " + seal.status().message());
    return 1;
  }
  int code = OutputSealStatus(c, *client, *seal);
  if (Bool(Field(*seal, "sealed"))) return 2;
  return code;
}

// -pgp-keys: comma-separated files holding a binary or base64 public key.
StatusOr<Json> ReadPgpKeys(const std::vector<std::string>& values) {
  Json keys = Json::array();
  for (const auto& v : values) {
    std::stringstream ss(v);
    std::string item;
    while (std::getline(ss, item, ',')) {
      if (item.empty()) continue;
      if (item.rfind("keybase:", 0) == 0)
        return InvalidArgument("keybase keys are not supported; pass a key file");
      std::ifstream f(item, std::ios::binary);
      if (!f) return InvalidArgument("error reading file " + item);
      std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      std::string trimmed = data;
      while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.back()))) trimmed.pop_back();
      keys.push_back(Base64Decode(trimmed) ? trimmed : Base64Encode(data));
    }
  }
  return keys;
}

int OperatorInit(Command& c, const std::vector<std::string>& raw) {
  bool status = false;
  int64_t shares = 0, threshold = 0, stored = -1, rshares = 0, rthreshold = 0;
  std::vector<std::string> pgp, rpgp;
  std::string root_pgp;
  FlagSet& f = c.flags();
  f.Section("Common Options");
  f.Bool("status", &status, false,
         Usage("Print the current initialization status. An exit code of 0 means the server "
                   "is already initialized. An exit code of 1 means an error occurred. An exit "
                   "code of 2 means the server is not initialized."));
  f.Int("key-shares", &shares, 0,
        Usage("Number of key shares to split the generated root key into.").Alias("n"));
  f.Int("key-threshold", &threshold, 0,
        Usage("Number of key shares required to reconstruct the root key.").Alias("t"));
  f.StringSlice("pgp-keys", &pgp, Usage("Comma-separated list of paths to files on disk containing public PGP keys."));
  f.String("root-token-pgp-key", &root_pgp, "", Usage("Path to a file on disk containing a public PGP key."));
  f.Int("stored-shares", &stored, -1, Usage("DEPRECATED: This flag does nothing."));
  f.Section("Auto Unseal Options");
  f.Int("recovery-shares", &rshares, 0, Usage("Number of key shares to split the recovery key into."));
  f.Int("recovery-threshold", &rthreshold, 0, Usage("Number of key shares required to reconstruct the recovery key."));
  f.StringSlice("recovery-pgp-keys", &rpgp, Usage("Behaves like -pgp-keys, but for the recovery key shares."));
  if (auto rc = c.Parse(raw)) return *rc;
  const Ui& ui = c.ui();
  if (!c.args().empty()) {
    ui.Error(TooMany("0", c.args().size()));
    return 1;
  }
  if (stored != -1) ui.Warn("-stored-shares has no effect and will be removed in Vault 1.3.\n");
  Client* client = c.client();
  if (!client) return 2;
  auto seal = SealStatus(*client);
  if (!seal.ok()) {
    ui.Error(seal.status().message());
    return 2;
  }
  if (Bool(Field(*seal, "recovery_seal"))) {
    if (rshares == 0) rshares = 5;
    if (rthreshold == 0) rthreshold = 3;
  } else {
    if (shares == 0) shares = 5;
    if (threshold == 0) threshold = 3;
  }

  if (status) {
    auto resp = client->Do("GET", "sys/init");
    StatusOr<Json> parsed = resp.ok() ? ParseObject(resp->body) : StatusOr<Json>(resp.status());
    if (!parsed.ok()) {
      ui.Error("Error checking init status: " + parsed.status().message());
      return 1;
    }
    bool inited = Bool(Field(*parsed, "initialized"));
    if (ui.format == "table") ui.Output(inited ? "Vault is initialized" : "Vault is not initialized");
    else OutputData(ui, Json{{"initialized", inited}});
    return inited ? 0 : 2;
  }

  auto pgp_keys = ReadPgpKeys(pgp);
  auto rpgp_keys = ReadPgpKeys(rpgp);
  auto root_keys = ReadPgpKeys(root_pgp.empty() ? std::vector<std::string>{} : std::vector<std::string>{root_pgp});
  for (const auto* k : {&pgp_keys, &rpgp_keys, &root_keys}) {
    if (!k->ok()) {
      ui.Error("Error initializing: " + k->status().message());
      return 1;
    }
  }
  Json req = Json::object();
  req["secret_shares"] = shares;
  req["secret_threshold"] = threshold;
  req["stored_shares"] = 0;
  req["pgp_keys"] = pgp_keys->empty() ? Json() : *pgp_keys;
  req["recovery_shares"] = rshares;
  req["recovery_threshold"] = rthreshold;
  req["recovery_pgp_keys"] = rpgp_keys->empty() ? Json() : *rpgp_keys;
  req["root_token_pgp_key"] = root_keys->empty() ? "" : (*root_keys)[0].get<std::string>();

  auto resp = client->Do("PUT", "sys/init", {}, req);
  StatusOr<Json> parsed = resp.ok() ? ParseObject(resp->body) : StatusOr<Json>(resp.status());
  if (!parsed.ok()) {
    ui.Error("Error initializing: " + parsed.status().message());
    return 2;
  }
  const Json& keys = Field(*parsed, "keys");
  const Json& keys_b64 = Field(*parsed, "keys_base64");
  const Json& rkeys = Field(*parsed, "recovery_keys");
  const Json& rkeys_b64 = Field(*parsed, "recovery_keys_base64");
  std::string root_token = Str(Field(*parsed, "root_token"));
  auto list = [](const Json& v) { return v.is_array() ? v : Json::array(); };

  if (ui.format != "table") {
    Json out = Json::object();
    out["unseal_keys_b64"] = list(keys_b64);
    out["unseal_keys_hex"] = list(keys);
    bool have_keys = keys.is_array() && !keys.empty();
    out["unseal_shares"] = have_keys ? shares : 1;
    out["unseal_threshold"] = have_keys ? threshold : 1;
    out["recovery_keys_b64"] = list(rkeys_b64);
    out["recovery_keys_hex"] = list(rkeys);
    out["recovery_keys_shares"] = rshares;
    out["recovery_keys_threshold"] = rthreshold;
    out["root_token"] = root_token;
    int rc = OutputData(ui, out);
    Wipe(root_token);
    return rc;
  }

  auto print_keys = [&](const Json& hex, const Json& b64, const std::string& label) {
    if (!hex.is_array()) return;
    bool use_b64 = b64.is_array() && b64.size() == hex.size();
    for (std::size_t i = 0; i < hex.size(); ++i)
      ui.Output(label + " " + std::to_string(i + 1) + ": " + Str(use_b64 ? b64[i] : hex[i]));
  };
  print_keys(keys, keys_b64, "Unseal Key");
  print_keys(rkeys, rkeys_b64, "Recovery Key");
  ui.Output("");
  ui.Output("Initial Root Token: " + root_token);
  Wipe(root_token);
  if (keys.is_array() && !keys.empty()) {
    std::string t = std::to_string(threshold);
    ui.Output("");
    ui.Output(WrapAtLength("Vault initialized with " + std::to_string(shares) +
                           " key shares and a key threshold of " + t +
                           ". Please securely distribute the key shares printed above. When the "
                           "Vault is re-sealed, restarted, or stopped, you must supply at least " +
                           t + " of these keys to unseal it before it can start servicing requests."));
    ui.Output("");
    ui.Output(WrapAtLength("Vault does not store the generated root key. Without at least " + t +
                           " keys to reconstruct the root key, Vault will remain permanently sealed!"));
    ui.Output("");
    ui.Output(WrapAtLength("It is possible to generate new unseal keys, provided you have a quorum "
                           "of existing unseal keys shares. See \"vault operator rekey\" for more "
                           "information."));
  } else {
    ui.Output("");
    ui.Output("Success! Vault is initialized");
  }
  if (rkeys.is_array() && !rkeys.empty()) {
    ui.Output("");
    ui.Output(WrapAtLength("Recovery key initialized with " + std::to_string(rshares) +
                           " key shares and a key threshold of " + std::to_string(rthreshold) +
                           ". Please securely distribute the key shares printed above."));
  }
  return 0;
}

int OperatorUnseal(Command& c, const std::vector<std::string>& raw) {
  bool reset = false, migrate = false;
  c.flags().Section("Command Options");
  c.flags().Bool("reset", &reset, false, Usage("Discard any previously entered keys to the unseal process."));
  c.flags().Bool("migrate", &migrate, false,
                 Usage("Indicate that this share is provided with the intent that it is part "
                           "of a seal migration process."));
  if (auto rc = c.Parse(raw)) return *rc;
  const Ui& ui = c.ui();
  std::string key;
  if (c.args().size() > 1) {
    ui.Error(TooMany("1", c.args().size()));
    return 1;
  }
  if (c.args().size() == 1) key = c.args()[0];
  Client* client = c.client();
  if (!client) return 2;

  if (reset) {
    auto resp = client->Do("PUT", "sys/unseal", {}, Json{{"reset", true}});
    StatusOr<Json> parsed = resp.ok() ? ParseObject(resp->body) : StatusOr<Json>(resp.status());
    if (!parsed.ok()) {
      ui.Error("Error resetting unseal process: " + parsed.status().message());
      return 2;
    }
    return OutputSealStatus(c, *client, *parsed);
  }
  if (key.empty()) {
    if (c.globals().non_interactive) {
      ui.Error(WrapAtLength("Refusing to read from stdin with -non-interactive specified; specify "
                            "unseal key as an argument to this command"));
      return 1;
    }
    auto read = c.env().read_secret ? c.env().read_secret("Unseal Key (will be hidden): ", false)
                                    : StatusOr<std::string>(Unavailable("no terminal"));
    if (!read.ok()) {
      ui.Error(WrapAtLength("An error occurred attempting to ask for an unseal key. The raw error "
                            "message is shown below, but usually this is because you attempted to "
                            "pipe a value into the unseal command or you are executing outside of "
                            "a terminal (tty). The raw error was:\n\n" + read.status().message()));
      return 1;
    }
    key = std::move(*read);
  }
  std::size_t b = 0, e = key.size();
  while (b < e && std::isspace(static_cast<unsigned char>(key[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(key[e - 1]))) --e;
  Json body = Json::object();
  body["key"] = key.substr(b, e - b);
  body["reset"] = false;
  body["migrate"] = migrate;
  Wipe(key);
  auto resp = client->Do("PUT", "sys/unseal", {}, body);
  Wipe(body["key"].get_ref<std::string&>());
  StatusOr<Json> parsed = resp.ok() ? ParseObject(resp->body) : StatusOr<Json>(resp.status());
  if (!parsed.ok()) {
    ui.Error("Error unsealing: " + parsed.status().message());
    return 2;
  }
  return OutputSealStatus(c, *client, *parsed);
}

int OperatorSeal(Command& c, const std::vector<std::string>& raw) {
  if (auto rc = c.ParseNoArgs(raw)) return *rc;
  Client* client = c.client();
  if (!client) return 2;
  auto resp = client->Do("PUT", "sys/seal");
  if (!resp.ok()) {
    c.ui().Error("Error sealing: " + resp.status().message());
    return 2;
  }
  c.ui().Output("Success! Vault is sealed.");
  return 0;
}

std::string Rfc822(const std::string& rfc3339) {
  auto t = ParseRfc3339(rfc3339);
  if (!t) return rfc3339;
  std::time_t tt = std::chrono::system_clock::to_time_t(*t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%d %b %y %H:%M UTC", &tm);
  return buf;
}

StatusOr<Json> KeyStatus(Client& client) {
  ARCA_ASSIGN_OR_RETURN(ApiResponse resp, client.Do("GET", "sys/key-status"));
  ARCA_ASSIGN_OR_RETURN(Json j, ParseObject(resp.body));
  const Json& data = Field(j, "data");
  Json src = data.is_object() ? data : j;
  Json out = Json::object();
  out["term"] = Field(src, "term");
  out["install_time"] = Field(src, "install_time");
  if (!Field(src, "encryptions").is_null()) out["encryptions"] = Field(src, "encryptions");
  return out;
}

std::string KeyStatusTable(const Json& ks) {
  std::vector<std::string> rows = {"Key Term | " + GoValueString(Field(ks, "term")),
                                   "Install Time | " + Rfc822(Str(Field(ks, "install_time")))};
  if (!Field(ks, "encryptions").is_null())
    rows.push_back("Encryption Count | " + GoValueString(Field(ks, "encryptions")));
  return Columnize(rows, "|");
}

int OperatorKeyStatus(Command& c, const std::vector<std::string>& raw) {
  if (auto rc = c.ParseNoArgs(raw)) return *rc;
  Client* client = c.client();
  if (!client) return 2;
  auto ks = KeyStatus(*client);
  if (!ks.ok()) {
    c.ui().Error("Error reading key status: " + ks.status().message());
    return 2;
  }
  if (c.ui().format == "table") {
    c.ui().Output(KeyStatusTable(*ks));
    return 0;
  }
  return OutputData(c.ui(), *ks);
}

int OperatorRotate(Command& c, const std::vector<std::string>& raw) {
  if (auto rc = c.ParseNoArgs(raw)) return *rc;
  Client* client = c.client();
  if (!client) return 2;
  auto resp = client->Do("PUT", "sys/rotate");
  if (!resp.ok()) {
    c.ui().Error("Error rotating key: " + resp.status().message());
    return 2;
  }
  auto ks = KeyStatus(*client);
  if (!ks.ok()) {
    c.ui().Error("Error reading key status: " + ks.status().message());
    return 2;
  }
  if (c.ui().format == "table") {
    c.ui().Output("Success! Rotated key\n\n" + KeyStatusTable(*ks));
    return 0;
  }
  return OutputData(c.ui(), *ks);
}

}  // namespace

const std::vector<CommandDef>& SysCommands() {
  static const std::vector<CommandDef> defs = {
      {"status", "Print seal and HA status",
       "Usage: arca status [options]\n\n"
       "  Prints the current state of the server including whether it is sealed and if HA\n"
       "  mode is enabled. This command prints regardless of whether the server is\n"
       "  sealed.\n\n  The exit code reflects the seal status:\n\n"
       "      - 0 - unsealed\n      - 1 - error\n      - 2 - sealed",
       StatusCmd},
      {"operator", "Perform operator-specific tasks",
       "Usage: arca operator <subcommand> [options] [args]\n\n"
       "  This command groups subcommands for operators interacting with the server.",
       nullptr},
      {"operator init", "Initializes a server",
       "Usage: arca operator init [options]\n\n"
       "  Initializes a server: generates the root key, splits it into -key-shares\n"
       "  unseal keys of which -key-threshold reconstruct it, and prints them with the\n"
       "  initial root token.\n\n      $ arca operator init -key-shares=5 -key-threshold=3",
       OperatorInit},
      {"operator unseal", "Unseals the server",
       "Usage: arca operator unseal [options] [KEY]\n\n"
       "  Provide a portion of the root key to unseal the server. Without an argument\n"
       "  the key is prompted for without echo:\n\n      $ arca operator unseal\n"
       "      Unseal Key (will be hidden):",
       OperatorUnseal},
      {"operator seal", "Seals the server",
       "Usage: arca operator seal [options]\n\n"
       "  Seals the server. Sealing discards the in-memory root key; the server must be\n"
       "  unsealed again before it can serve requests.",
       OperatorSeal},
      {"operator key-status", "Provides information about the active encryption key",
       "Usage: arca operator key-status [options]\n\n"
       "  Provides information about the active encryption key: its term and install time.",
       OperatorKeyStatus},
      {"operator rotate", "Rotates the underlying encryption key",
       "Usage: arca operator rotate [options]\n\n"
       "  Rotates the underlying encryption key used to protect data written to storage.",
       OperatorRotate},
  };
  return defs;
}

}  // namespace arca::cli
