// arca CLI: what every command runs with — the process environment (Env),
// the global flags, the Ui and a lazily built API client (Command).
//
// Env abstracts the process (streams, environment variables, $HOME, the
// terminal, the HTTP transport, sleeping) so commands can be driven from
// tests. A Command serves one command invocation on one thread.
#pragma once

#include <functional>
#include <istream>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "cli/api_client.h"
#include "cli/args.h"
#include "cli/http_client.h"
#include "cli/output.h"

namespace arca::cli {

struct Env {
  std::istream* in = nullptr;
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  bool stdin_is_tty = false;
  bool stdout_is_tty = false;
  EnvLookup getenv;  // nullopt when unset
  std::string home;  // where .vault-token lives
  // Builds the transport for a client; the real one is CurlTransport.
  std::function<std::unique_ptr<HttpTransport>(const HttpOptions&)> make_transport;
  // Prints `prompt` (to stderr if `to_stderr`, else stdout) and reads one
  // line without echo when stdin is a terminal (a plain line otherwise).
  std::function<StatusOr<std::string>(std::string_view prompt, bool to_stderr)> read_secret;
  std::function<void(int64_t millis)> sleep;
};

// The process's real Env (std streams, getenv, $HOME, curl, termios).
Env SystemEnv();

struct GlobalFlags {
  std::string address;
  std::string agent_address;
  std::string ca_cert, ca_path, client_cert, client_key, tls_server_name;
  bool tls_skip_verify = false;
  bool disable_redirects = false;
  bool policy_override = false;
  bool non_interactive = false;
  std::string namespace_name, ns;
  int64_t wrap_ttl = 0;
  std::vector<std::string> mfa;
  std::map<std::string, std::string> headers;
  std::string format;
  std::string field;
};

class Command {
 public:
  // `help` is the command's usage text, printed with the flags for -h.
  Command(Env& env, std::string help);

  Env& env() { return env_; }
  const Ui& ui() const { return ui_; }
  GlobalFlags& globals() { return g_; }
  FlagSet& flags() { return flags_; }

  // Parses the command's arguments (after the command words) with the flags
  // registered so far plus the global ones. Returns nullopt to continue, or
  // the exit code to return: 0 after -h, 1 after a flag error (printed).
  std::optional<int> Parse(const std::vector<std::string>& args);
  // Parse for a command that takes no positional arguments: any is an error
  // ("Too many arguments (expected 0, got N)", exit code 1).
  std::optional<int> ParseNoArgs(const std::vector<std::string>& args);
  const std::vector<std::string>& args() const { return flags_.Args(); }

  // The API client configured from flags and environment, with the token from
  // VAULT_TOKEN or the token file unless `with_token` is false. On failure
  // prints the error and returns nullptr (the command returns 2).
  Client* client(bool with_token = true);
  std::string TokenFile() const;

 private:
  void RegisterGlobalFlags();

  Env& env_;
  std::string help_;
  Ui ui_;
  GlobalFlags g_;
  FlagSet flags_;
  std::unique_ptr<HttpTransport> transport_;
  std::unique_ptr<Client> client_;
};

using CommandFn = int (*)(Command& cmd, const std::vector<std::string>& args);

struct CommandDef {
  std::string_view name;      // "kv get"
  std::string_view synopsis;  // one line for the command list
  std::string_view help;      // "Usage: arca kv get [options] KEY\n\n  ..."
  CommandFn run;              // nullptr for a group ("kv", "operator")
};

// Every command, grouped by area (one list per commands_*.cc).
const std::vector<CommandDef>& SysCommands();      // status, operator *
const std::vector<CommandDef>& LogicalCommands();  // read, write, list, delete, patch
const std::vector<CommandDef>& KvCommands();       // kv *
const std::vector<CommandDef>& TokenCommands();    // token *, login
const std::vector<CommandDef>& AdminCommands();    // policy, secrets, auth, audit
const std::vector<CommandDef>& HaCommands();       // operator step-down|members|raft *
const std::vector<CommandDef>& EndpointCommands(); // endpoint watch

// Runs one command line; args[0] is the first command word.
int RunArgs(const std::vector<std::string>& args, Env& env);

// "Too many arguments (expected 1, got 2)", "Not enough arguments (expected
// >1, got 0)".
std::string TooMany(std::string_view expected, std::size_t got);
std::string NotEnough(std::string_view expected, std::size_t got);

}  // namespace arca::cli
