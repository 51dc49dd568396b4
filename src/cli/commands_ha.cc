// arca CLI: the HA commands — `operator step-down`, `operator members`,
// `operator raft list-peers` and `operator raft snapshot save|restore`, as
// Vault 1.15 prints them.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "base/secure.h"
#include "cli/command.h"

namespace arca::cli {
namespace {

constexpr char kSnapshotPath[] = "sys/storage/raft/snapshot";
constexpr char kSnapshotForcePath[] = "sys/storage/raft/snapshot-force";
// Largest snapshot file `restore` reads into memory.
constexpr std::uintmax_t kMaxSnapshotFile = 1ull << 30;

std::string Str(const Json& v) { return v.is_string() ? v.get<std::string>() : ""; }
bool Bool(const Json& v) { return v.is_boolean() && v.get<bool>(); }

std::string TrimSpace(std::string s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::string IncorrectArgs(std::size_t got) {
  return "Incorrect arguments (expected 1, got " + std::to_string(got) + ")";
}

// Go's time.Time.Format(time.RFC3339) of an RFC 3339 string: the fraction
// of a second dropped, the offset kept.
std::string Rfc3339Seconds(const std::string& t) {
  if (t.size() < 20 || t[19] != '.') return t;
  std::size_t zone = t.find_first_not_of("0123456789", 20);
  return zone == std::string::npos ? t : t.substr(0, 19) + t.substr(zone);
}

// Writes `data` to `path` with mode 0600 through a temporary file in the
// same directory, so a failed save never leaves a truncated snapshot.
Status WriteFileAtomically(const std::string& path, const std::string& data) {
  std::string tmpl = path + ".tmp-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  int fd = ::mkstemp(buf.data());  // created 0600
  if (fd < 0) return Internal("error creating snapshot file: " + std::string(std::strerror(errno)));
  std::string tmp(buf.data());
  auto fail = [&](const char* what) {
    Status st = Internal(std::string(what) + ": " + std::strerror(errno));
    ::close(fd);
    ::unlink(tmp.c_str());
    return st;
  };
  if (::fchmod(fd, 0600) != 0) return fail("error setting snapshot file mode");
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("error writing snapshot file");
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("error writing snapshot file");
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return Internal("error writing snapshot file: " + std::string(std::strerror(errno)));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status st = Internal("error writing snapshot file: " + std::string(std::strerror(errno)));
    ::unlink(tmp.c_str());
    return st;
  }
  return OkStatus();
}

StatusOr<std::string> ReadSnapshotFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Internal("open " + path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return Internal("open " + path + ": not a regular file");
  if (static_cast<std::uintmax_t>(st.st_size) > kMaxSnapshotFile) {
    return Internal("open " + path + ": file larger than 1 GiB");
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) return Internal("open " + path + ": " + std::strerror(errno));
  std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) return Internal("read " + path + ": I/O error");
  return data;
}

int OperatorStepDown(Command& c, const std::vector<std::string>& raw) {
  if (auto rc = c.ParseNoArgs(raw)) return *rc;
  Client* client = c.client();
  if (!client) return 2;
  auto resp = client->Do("PUT", "sys/step-down");
  if (!resp.ok()) {
    c.ui().Error("Error stepping down: " + resp.status().message());
    return 2;
  }
  c.ui().Output("Success! Stepped down: " + client->address());
  return 0;
}

int OperatorMembers(Command& c, const std::vector<std::string>& raw) {
  if (auto rc = c.ParseNoArgs(raw)) return *rc;
  Client* client = c.client();
  if (!client) return 2;
  auto resp = client->Do("GET", "sys/ha-status");
  if (!resp.ok()) {
    c.ui().Error(resp.status().message());
    return 2;
  }
  Json body = Json::parse(resp->body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    c.ui().Error("unexpected response body: not a JSON object");
    return 2;
  }
  // The Go client decodes the envelope into {Nodes []HANode}; sys/ha-status
  // injects data.nodes at the top level.
  Json nodes = Field(body, "nodes");
  if (!nodes.is_array()) nodes = Field(Field(body, "data"), "nodes");
  Json out_nodes = Json::array();
  if (nodes.is_array()) {
    for (const Json& n : nodes) {
      Json node = Json::object();
      node["hostname"] = Str(Field(n, "hostname"));
      node["api_address"] = Str(Field(n, "api_address"));
      node["cluster_address"] = Str(Field(n, "cluster_address"));
      node["active_node"] = Bool(Field(n, "active_node"));
      node["last_echo"] = Field(n, "last_echo").is_string() ? Field(n, "last_echo") : Json();
      node["version"] = Str(Field(n, "version"));
      if (auto v = Str(Field(n, "upgrade_version")); !v.empty()) node["upgrade_version"] = v;
      if (auto v = Str(Field(n, "redundancy_zone")); !v.empty()) node["redundancy_zone"] = v;
      out_nodes.push_back(std::move(node));
    }
  }
  if (c.ui().format != "table") return OutputData(c.ui(), Json{{"Nodes", out_nodes}});

  std::vector<std::string> rows = {
      "Host Name | API Address | Cluster Address | Active Node | Version | Upgrade Version | "
      "Redundancy Zone | Last Echo"};
  for (const Json& n : out_nodes) {
    const Json& echo = Field(n, "last_echo");
    rows.push_back(Str(Field(n, "hostname")) + " | " + Str(Field(n, "api_address")) + " | " +
                   Str(Field(n, "cluster_address")) + " | " +
                   (Bool(Field(n, "active_node")) ? "true" : "false") + " | " +
                   Str(Field(n, "version")) + " | " + Str(Field(n, "upgrade_version")) + " | " +
                   Str(Field(n, "redundancy_zone")) + " | " +
                   (echo.is_string() ? Rfc3339Seconds(echo.get<std::string>()) : ""));
  }
  c.ui().Output(TableOutput(rows, "|"));
  return 0;
}

int OperatorRaftListPeers(Command& c, const std::vector<std::string>& raw) {
  if (auto rc = c.ParseNoArgs(raw)) return *rc;
  Client* client = c.client();
  if (!client) return 2;
  LogicalResult r = LogicalRead(*client, "sys/storage/raft/configuration");
  if (!r.error.ok()) {
    c.ui().Error("Error reading the raft cluster configuration: " + r.error.message());
    return 2;
  }
  if (!r.secret) {
    c.ui().Error("No raft cluster configuration found");
    return 2;
  }
  if (c.ui().format != "table") return OutputSecret(c.ui(), *r.secret);

  const Json& servers = Field(Field(Field(*r.secret, "data"), "config"), "servers");
  std::vector<std::string> rows = {"Node | Address | State | Voter"};
  if (servers.is_array()) {
    for (const Json& s : servers) {
      rows.push_back(Str(Field(s, "node_id")) + " | " + Str(Field(s, "address")) + " | " +
                     (Bool(Field(s, "leader")) ? "leader" : "follower") + " | " +
                     (Bool(Field(s, "voter")) ? "true" : "false"));
    }
  }
  c.ui().Output(TableOutput(rows, "|"));
  return 0;
}

int OperatorRaftSnapshotSave(Command& c, const std::vector<std::string>& raw) {
  if (auto rc = c.Parse(raw)) return *rc;
  if (c.args().size() != 1) {
    c.ui().Error(IncorrectArgs(c.args().size()));
    return 1;
  }
  std::string path = TrimSpace(c.args()[0]);
  Client* client = c.client();
  if (!client) return 2;
  auto resp = client->RawBytes("GET", kSnapshotPath, {}, std::nullopt, "");
  Status st =
      resp.ok() ? (resp->status >= 400 ? ResponseErrorStatus(*resp) : OkStatus()) : resp.status();
  if (st.ok()) st = WriteFileAtomically(path, resp->body);
  if (resp.ok()) Wipe(resp->body);
  if (!st.ok()) {
    c.ui().Error("Error taking the snapshot: " + st.message());
    return 2;
  }
  return 0;
}

int OperatorRaftSnapshotRestore(Command& c, const std::vector<std::string>& raw) {
  bool force = false;
  c.flags().Section("Command Options");
  c.flags().Bool("force", &force, false,
                 Usage("This bypasses checks ensuring the Autounseal or shamir keys are "
                       "consistent with the snapshot data."));
  if (auto rc = c.Parse(raw)) return *rc;
  if (c.args().size() != 1) {
    c.ui().Error(IncorrectArgs(c.args().size()));
    return 1;
  }
  std::string path = TrimSpace(c.args()[0]);
  auto data = ReadSnapshotFile(path);
  if (!data.ok()) {
    c.ui().Error("Error opening snapshot file: " + data.status().message());
    return 2;
  }
  Client* client = c.client();
  if (!client) return 2;
  auto resp = client->RawBytes("POST", force ? kSnapshotForcePath : kSnapshotPath, {}, *data,
                               "application/octet-stream");
  Wipe(*data);
  Status st =
      resp.ok() ? (resp->status >= 400 ? ResponseErrorStatus(*resp) : OkStatus()) : resp.status();
  if (!st.ok()) {
    c.ui().Error("Error installing the snapshot: " + st.message());
    return 2;
  }
  return 0;
}

}  // namespace

const std::vector<CommandDef>& HaCommands() {
  static const std::vector<CommandDef> defs = {
      {"operator step-down", "Forces the active node to resign active duty",
       "Usage: arca operator step-down [options]\n\n"
       "  Forces the node it is sent to, if active, to step down from active duty. Another\n"
       "  standby takes over. Requires a token with sudo on sys/step-down.\n\n"
       "      $ arca operator step-down",
       OperatorStepDown},
      {"operator members", "Returns the list of nodes in the cluster",
       "Usage: arca operator members [options]\n\n"
       "  Provides the details of all the nodes in the cluster (sys/ha-status).\n\n"
       "      $ arca operator members",
       OperatorMembers},
      {"operator raft", "Interact with the cluster's storage peers and snapshots",
       "Usage: arca operator raft <subcommand> [options] [args]\n\n"
       "  This command groups subcommands for operators to manage the storage cluster:\n"
       "  list its peers, save and restore snapshots.",
       nullptr},
      {"operator raft list-peers", "Returns the storage peer set",
       "Usage: arca operator raft list-peers [options]\n\n"
       "  Provides the details of all the peers in the storage cluster.\n\n"
       "      $ arca operator raft list-peers",
       OperatorRaftListPeers},
      {"operator raft snapshot", "Restores and saves snapshots of the cluster",
       "Usage: arca operator raft snapshot <subcommand> [options] [args]\n\n"
       "  This command groups subcommands for operators to save and restore snapshots.",
       nullptr},
      {"operator raft snapshot save",
       "Saves a snapshot of the current state of the cluster into a file",
       "Usage: arca operator raft snapshot save [options] FILE\n\n"
       "  Saves a snapshot of the current state of the cluster into a file (mode 0600).\n\n"
       "      $ arca operator raft snapshot save raft.snap",
       OperatorRaftSnapshotSave},
      {"operator raft snapshot restore",
       "Installs the provided snapshot, returning the cluster to the state defined in it",
       "Usage: arca operator raft snapshot restore [options] FILE\n\n"
       "  Installs the provided snapshot, returning the cluster to the state defined in it.\n\n"
       "      $ arca operator raft snapshot restore raft.snap",
       OperatorRaftSnapshotRestore},
  };
  return defs;
}

}  // namespace arca::cli
