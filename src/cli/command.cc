// arca CLI: Command (global flags, client construction) and the system Env.
#include "cli/command.h"

#include <pwd.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "base/secure.h"
#include "base/time.h"
#include "cli/token_helper.h"

namespace arca::cli {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool HasPrefixIgnoreCase(std::string_view s, std::string_view p) {
  if (s.size() < p.size()) return false;
  for (std::size_t i = 0; i < p.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(p[i])))
      return false;
  return true;
}

StatusOr<std::string> ReadLineNoEcho(std::istream& in, bool is_tty) {
  termios saved{};
  bool restore = false;
  if (is_tty && ::tcgetattr(STDIN_FILENO, &saved) == 0) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    restore = ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet) == 0;
  }
  std::string line;
  bool got = static_cast<bool>(std::getline(in, line));
  if (restore) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  if (!got && line.empty()) return Unavailable("EOF");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace

std::string TooMany(std::string_view expected, std::size_t got) {
  return "Too many arguments (expected " + std::string(expected) + ", got " + std::to_string(got) + ")";
}

std::string NotEnough(std::string_view expected, std::size_t got) {
  return "Not enough arguments (expected " + std::string(expected) + ", got " + std::to_string(got) + ")";
}

Command::Command(Env& env, std::string help) : env_(env), help_(std::move(help)), flags_(env.getenv) {
  ui_.out = env.out;
  ui_.err = env.err;
  ui_.out_is_tty = env.stdout_is_tty;
  RegisterGlobalFlags();
}

void Command::RegisterGlobalFlags() {
  FlagSet& f = flags_;
  f.Section("HTTP Options");
  f.String("address", &g_.address, "https://127.0.0.1:8200",
           Usage("Address of the arca server.").Env("VAULT_ADDR"));
  f.String("agent-address", &g_.agent_address, "",
           Usage("Address of the Agent.").Env("VAULT_AGENT_ADDR"));
  f.String("ca-cert", &g_.ca_cert, "",
           Usage("Path on the local disk to a single PEM-encoded CA certificate to verify the "
                     "server's SSL certificate. This takes precedence over -ca-path.").Env("VAULT_CACERT"));
  f.String("ca-path", &g_.ca_path, "",
           Usage("Path on the local disk to a directory of PEM-encoded CA certificates to "
                     "verify the server's SSL certificate.").Env("VAULT_CAPATH"));
  f.String("client-cert", &g_.client_cert, "",
           Usage("Path on the local disk to a single PEM-encoded CA certificate to use for TLS "
                     "authentication to the server. If this flag is specified, -client-key is also "
                     "required.").Env("VAULT_CLIENT_CERT"));
  f.String("client-key", &g_.client_key, "",
           Usage("Path on the local disk to a single PEM-encoded private key matching the "
                     "client certificate from -client-cert.").Env("VAULT_CLIENT_KEY"));
  f.String("namespace", &g_.namespace_name, "",
           Usage("The namespace to use for the command.").Env("VAULT_NAMESPACE"));
  f.String("ns", &g_.ns, "", Usage("Alias for -namespace.").Hidden());
  f.String("tls-server-name", &g_.tls_server_name, "",
           Usage("Name to use as the SNI host when connecting to the server via TLS.").Env("VAULT_TLS_SERVER_NAME"));
  f.Bool("tls-skip-verify", &g_.tls_skip_verify, false,
         Usage("Disable verification of TLS certificates. Using this option is highly "
                   "discouraged as it decreases the security of data transmissions to and from "
                   "the server.").Env("VAULT_SKIP_VERIFY"));
  f.Bool("disable-redirects", &g_.disable_redirects, false,
         Usage("Disable the default client behavior, which honors a single redirect "
                   "response from a request").Env("VAULT_DISABLE_REDIRECTS"));
  f.Bool("policy-override", &g_.policy_override, false,
         Usage("Override a Sentinel policy that has a soft-mandatory enforcement_level "
                   "specified"));
  f.Duration("wrap-ttl", &g_.wrap_ttl, 0,
             Usage("Wraps the response in a cubbyhole token with the requested TTL.").Env("VAULT_WRAP_TTL"));
  f.StringSlice("mfa", &g_.mfa, Usage("Supply MFA credentials as part of X-Vault-MFA header."));
  f.StringMap("header", &g_.headers,
              Usage("Key-value pair provided as key=value to provide http header added to any "
                        "request done by the CLI. This can be specified multiple times."));
  f.Bool("non-interactive", &g_.non_interactive, false,
         Usage("When set true, prevents asking the user for input via the terminal."));
  f.Section("Output Options");
  f.String("field", &g_.field, "",
           Usage("Print only the field with the given name. Specifying this option will take "
                     "precedence over other formatting directives. The result will not have a "
                     "trailing newline making it ideal for piping to other processes."));
  f.String("format", &g_.format, "table",
           Usage("Print the output in the given format. Valid formats are \"table\", "
                     "\"json\", or \"yaml\".").Env("VAULT_FORMAT"));
}

std::optional<int> Command::ParseNoArgs(const std::vector<std::string>& args) {
  if (auto rc = Parse(args)) return rc;
  if (!this->args().empty()) {
    ui_.Error(TooMany("0", this->args().size()));
    return 1;
  }
  return std::nullopt;
}

std::optional<int> Command::Parse(const std::vector<std::string>& args) {
  Status st = flags_.Parse(args);
  ui_.format = Lower(g_.format.empty() ? "table" : g_.format);
  if (flags_.help_requested()) {
    ui_.Error(help_ + "\n\n" + flags_.Help());
    return 0;
  }
  if (ui_.format == "table") {
    std::string warn = flags_.LeftoverFlagWarning();
    if (!warn.empty()) ui_.Warn(warn);
  }
  if (!st.ok()) {
    ui_.Error(st.message());
    return 1;
  }
  return std::nullopt;
}

std::string Command::TokenFile() const { return TokenFilePath(env_.home); }

Client* Command::client(bool with_token) {
  if (client_) return client_.get();
  auto env = [&](const char* name) -> std::string {
    if (!env_.getenv) return "";
    return env_.getenv(name).value_or("");
  };

  ClientConfig cfg;
  cfg.address = !g_.agent_address.empty() ? g_.agent_address : g_.address;
  if (cfg.address.empty()) cfg.address = "https://127.0.0.1:8200";
  cfg.namespace_name = !g_.ns.empty() ? g_.ns : g_.namespace_name;
  if (g_.wrap_ttl > 0) cfg.wrap_ttl = FormatGoDuration(g_.wrap_ttl);
  cfg.disable_redirects = g_.disable_redirects;
  if (std::string r = env("VAULT_MAX_RETRIES"); !r.empty()) {
    char* end = nullptr;
    long v = std::strtol(r.c_str(), &end, 10);
    if (end && *end == '\0' && v >= 0) cfg.max_retries = static_cast<int>(std::min(v, 10L));
  }
  std::vector<std::string> forbidden;
  for (const auto& [k, v] : g_.headers) {
    if (HasPrefixIgnoreCase(k, "X-Vault-")) {
      forbidden.push_back(k);
      continue;
    }
    cfg.extra_headers.emplace_back(k, v);
  }
  if (!forbidden.empty()) {
    std::string list;
    for (const auto& k : forbidden) list += (list.empty() ? "" : ", ") + k;
    ui_.Error("failed to setup Headers[" + list +
              "]: Header starting by 'X-Vault-' are for internal usage only");
    return nullptr;
  }
  for (const auto& m : g_.mfa) cfg.extra_headers.emplace_back("X-Vault-MFA", m);
  if (g_.policy_override) cfg.extra_headers.emplace_back("X-Vault-Policy-Override", "true");

  if (with_token) {
    cfg.token = env("VAULT_TOKEN");
    if (cfg.token.empty()) {
      auto stored = ReadTokenFile(TokenFile());
      if (!stored.ok()) {
        ui_.Error("failed to get token from token helper: " + stored.status().message());
        return nullptr;
      }
      cfg.token = std::move(*stored);
    }
  }

  HttpOptions http;
  http.tls.ca_cert = g_.ca_cert;
  http.tls.ca_path = g_.ca_path;
  http.tls.client_cert = g_.client_cert;
  http.tls.client_key = g_.client_key;
  http.tls.server_name = g_.tls_server_name;
  http.tls.skip_verify = g_.tls_skip_verify;
  if (std::string t = env("VAULT_CLIENT_TIMEOUT"); !t.empty()) {
    if (auto secs = ParseDurationSeconds(t); secs && *secs > 0) http.timeout_seconds = *secs;
  }
  if (!env_.make_transport) {
    ui_.Error("failed to create client: no HTTP transport");
    return nullptr;
  }
  transport_ = env_.make_transport(http);
  client_ = std::make_unique<Client>(std::move(cfg), *transport_, env_.sleep);
  return client_.get();
}

Env SystemEnv() {
  Env env;
  env.in = &std::cin;
  env.out = &std::cout;
  env.err = &std::cerr;
  env.stdin_is_tty = ::isatty(STDIN_FILENO) == 1;
  const char* term = std::getenv("TERM");
  env.stdout_is_tty = ::isatty(STDOUT_FILENO) == 1 && !(term && std::string_view(term) == "dumb") &&
                      std::getenv("NO_COLOR") == nullptr;
  env.getenv = [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
  if (const char* h = std::getenv("HOME"); h && *h) {
    env.home = h;
  } else if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_dir) {
    env.home = pw->pw_dir;
  }
  env.make_transport = [](const HttpOptions& o) { return MakeCurlTransport(o); };
  bool tty = env.stdin_is_tty;
  env.read_secret = [tty](std::string_view prompt, bool to_stderr) -> StatusOr<std::string> {
    std::ostream& w = to_stderr ? std::cerr : std::cout;
    w << prompt << std::flush;
    auto line = ReadLineNoEcho(std::cin, tty);
    if (!tty) w << "\n";  // a terminal echoed the newline itself (ECHONL)
    w << std::flush;
    return line;
  };
  env.sleep = [](int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); };
  return env;
}

}  // namespace arca::cli
