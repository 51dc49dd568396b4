// arca CLI: `login` and `token create|lookup|renew|revoke|capabilities`.
#include <algorithm>
#include <sstream>

#include "base/secure.h"
#include "base/time.h"
#include "cli/args.h"
#include "cli/command.h"
#include "cli/kv_paths.h"
#include "cli/login_methods.h"
#include "cli/token_helper.h"

namespace arca::cli {
namespace {

// Envelope of a response that must have a body.
StatusOr<Json> ParseEnvelope(const ApiResponse& resp) {
  ARCA_ASSIGN_OR_RETURN(std::optional<Json> s, ParseSecret(resp.body));
  if (!s) return Json();
  return std::move(*s);
}

int OutputSecretOrField(Command& c, const Json& secret) {
  if (!c.globals().field.empty()) return PrintRawField(c.ui(), secret, true, c.globals().field);
  return OutputSecret(c.ui(), secret);
}

int TokenCreate(Command& c, const std::vector<std::string>& raw) {
  std::string id, display_name, role, type, entity_alias;
  int64_t ttl = 0, explicit_max_ttl = 0, period = 0, use_limit = 0;
  bool renewable = true, orphan = false, no_default_policy = false;
  std::vector<std::string> policies;
  std::map<std::string, std::string> metadata;
  FlagSet& f = c.flags();
  f.Section("Command Options");
  f.String("id", &id, "", Usage("Value for the token. By default, this is an auto-generated string."));
  f.String("display-name", &display_name, "", Usage("Name to associate with this token."));
  f.Duration("ttl", &ttl, 0, Usage("Initial TTL to associate with the token."));
  f.Duration("explicit-max-ttl", &explicit_max_ttl, 0,
             Usage("Explicit maximum lifetime for the token. Unlike normal TTLs, the maximum "
                       "TTL is a hard limit and cannot be exceeded."));
  f.Duration("period", &period, 0,
             Usage("If specified, every renewal will use the given period. Periodic tokens "
                       "do not expire as long as they are actively being renewed."));
  f.Bool("renewable", &renewable, true, Usage("Allow the token to be renewed up to it's maximum TTL."));
  f.Bool("orphan", &orphan, false, Usage("Create the token with no parent."));
  f.Bool("no-default-policy", &no_default_policy, false,
         Usage("Detach the \"default\" policy from the policy set for this token."));
  f.Int("use-limit", &use_limit, 0, Usage("Number of times this token can be used."));
  f.String("role", &role, "", Usage("Name of the role to create the token against."));
  f.String("type", &type, "service", Usage("The type of token to create. Can be \"service\" or \"batch\"."));
  f.StringSlice("policy", &policies, Usage("Name of a policy to associate with this token. This can be specified multiple times."));
  f.StringMap("metadata", &metadata, Usage("Arbitrary key=value metadata to associate with the token."));
  f.String("entity-alias", &entity_alias, "", Usage("Name of the entity alias to associate with during token creation."));
  if (auto rc = c.ParseNoArgs(raw)) return *rc;
  Client* client = c.client();
  if (!client) return 2;
  Json body = Json::object();
  if (!id.empty()) body["id"] = id;
  Json pols = Json::array();
  for (const auto& p : ParseVersionsFlags(policies)) pols.push_back(p);  // comma lists too
  if (!pols.empty()) body["policies"] = pols;
  if (!metadata.empty()) body["meta"] = metadata;
  if (ttl > 0) body["ttl"] = FormatGoDuration(ttl);
  if (explicit_max_ttl > 0) body["explicit_max_ttl"] = FormatGoDuration(explicit_max_ttl);
  if (period > 0) body["period"] = FormatGoDuration(period);
  if (orphan) body["no_parent"] = true;
  if (no_default_policy) body["no_default_policy"] = true;
  if (!display_name.empty()) body["display_name"] = display_name;
  if (use_limit > 0) body["num_uses"] = use_limit;
  body["renewable"] = renewable;
  if (!type.empty()) body["type"] = type;
  if (!entity_alias.empty()) body["entity_alias"] = entity_alias;
  std::string path = role.empty() ? "auth/token/create" : "auth/token/create/" + role;
  auto resp = client->Do("POST", path, {}, body);
  StatusOr<Json> secret = resp.ok() ? ParseEnvelope(*resp) : StatusOr<Json>(resp.status());
  if (!secret.ok()) {
    c.ui().Error("Error creating token: " + secret.status().message());
    return 2;
  }
  return OutputSecretOrField(c, *secret);
}

int TokenLookup(Command& c, const std::vector<std::string>& raw) {
  bool accessor = false;
  c.flags().Section("Command Options");
  c.flags().Bool("accessor", &accessor, false,
                 Usage("Treat the argument as an accessor instead of a token."));
  if (auto rc = c.Parse(raw)) return *rc;
  const Ui& ui = c.ui();
  const auto& args = c.args();
  if (accessor && args.size() != 1) {
    ui.Error(std::string(args.empty() ? "Not enough" : "Too many") +
             " arguments with -accessor (expected 1, got " + std::to_string(args.size()) + ")");
    return 1;
  }
  if (args.size() > 1) {
    ui.Error(TooMany("0-1", args.size()));
    return 1;
  }
  std::string token = args.empty() ? "" : Trim(args[0]);
  Client* client = c.client();
  if (!client) return 2;
  StatusOr<ApiResponse> resp = Unavailable("unset");
  if (token.empty()) resp = client->Do("GET", "auth/token/lookup-self");
  else if (accessor) resp = client->Do("POST", "auth/token/lookup-accessor", {}, Json{{"accessor", token}});
  else resp = client->Do("POST", "auth/token/lookup", {}, Json{{"token", token}});
  Wipe(token);
  StatusOr<Json> secret = resp.ok() ? ParseEnvelope(*resp) : StatusOr<Json>(resp.status());
  if (!secret.ok()) {
    ui.Error("Error looking up token: " + secret.status().message());
    return 2;
  }
  return OutputSecretOrField(c, *secret);
}

int TokenRenew(Command& c, const std::vector<std::string>& raw) {
  bool accessor = false;
  int64_t increment = 0;
  c.flags().Section("Command Options");
  c.flags().Bool("accessor", &accessor, false,
                 Usage("Treat the argument as an accessor instead of a token."));
  c.flags().Duration("increment", &increment, 0,
                     Usage("Request a specific increment for renewal. This increment may not "
                               "be honored, for instance in the case of periodic tokens.").Alias("i"));
  if (auto rc = c.Parse(raw)) return *rc;
  const Ui& ui = c.ui();
  const auto& args = c.args();
  if (accessor && args.size() != 1) {
    ui.Error(std::string(args.empty() ? "Not enough" : "Too many") +
             " arguments with -accessor (expected 1, got " + std::to_string(args.size()) + ")");
    return 1;
  }
  if (args.size() > 1) {
    ui.Error(TooMany("1", args.size()));
    return 1;
  }
  std::string token = args.empty() ? "" : Trim(args[0]);
  Client* client = c.client();
  if (!client) return 2;
  int64_t inc = increment < 1 ? 0 : increment;
  StatusOr<ApiResponse> resp = Unavailable("unset");
  if (token.empty()) {
    resp = client->Do("PUT", "auth/token/renew-self", {}, Json{{"increment", inc}});
  } else if (accessor) {
    resp = client->Do("PUT", "auth/token/renew-accessor", {}, Json{{"accessor", token}, {"increment", inc}});
  } else {
    resp = client->Do("PUT", "auth/token/renew", {}, Json{{"token", token}, {"increment", inc}});
  }
  Wipe(token);
  StatusOr<Json> secret = resp.ok() ? ParseEnvelope(*resp) : StatusOr<Json>(resp.status());
  if (!secret.ok()) {
    ui.Error("Error renewing token: " + secret.status().message());
    return 2;
  }
  return OutputSecretOrField(c, *secret);
}

int TokenRevoke(Command& c, const std::vector<std::string>& raw) {
  bool accessor = false, self = false;
  std::string mode;
  c.flags().Section("Command Options");
  c.flags().Bool("accessor", &accessor, false, Usage("Treat the argument as an accessor instead of a token."));
  c.flags().Bool("self", &self, false, Usage("Perform the revocation on the currently authenticated token."));
  c.flags().String("mode", &mode, "",
                   Usage("Type of revocation to perform. If unspecified, the token and all its "
                             "children are revoked. \"orphan\" revokes only the token and orphans "
                             "its children; \"path\" revokes tokens created at the given path prefix."));
  if (auto rc = c.Parse(raw)) return *rc;
  const Ui& ui = c.ui();
  const auto& args = c.args();
  std::string token = args.empty() ? "" : Trim(args[0]);
  if (mode != "" && mode != "orphan" && mode != "path") {
    ui.Error("Invalid mode: " + mode);
    return 1;
  }
  std::string err;
  if (self && !args.empty()) err = "Too many arguments with -self (expected 0, got " + std::to_string(args.size()) + ")";
  else if (!self && args.size() > 1) err = "Too many arguments (expected 1 or -self, got " + std::to_string(args.size()) + ")";
  else if (!self && args.empty()) err = "Not enough arguments (expected 1 or -self, got 0)";
  else if (self && accessor) err = "Cannot use -self with -accessor!";
  else if (self && !mode.empty()) err = "Cannot use -self with -mode!";
  else if (accessor && mode == "orphan") err = "Cannot use -accessor with -mode=orphan!";
  else if (accessor && mode == "path") err = "Cannot use -accessor with -mode=path!";
  if (!err.empty()) {
    ui.Error(err);
    return 1;
  }
  Client* client = c.client();
  if (!client) return 2;
  StatusOr<ApiResponse> resp = Unavailable("unset");
  if (self) resp = client->Do("PUT", "auth/token/revoke-self");
  else if (accessor) resp = client->Do("PUT", "auth/token/revoke-accessor", {}, Json{{"accessor", token}});
  else if (mode == "orphan") resp = client->Do("PUT", "auth/token/revoke-orphan", {}, Json{{"token", token}});
  else if (mode == "path") resp = client->Do("PUT", "sys/leases/revoke-prefix/" + token);
  else resp = client->Do("PUT", "auth/token/revoke", {}, Json{{"token", token}});
  Wipe(token);
  if (!resp.ok()) {
    ui.Error("Error revoking token: " + resp.status().message());
    return 2;
  }
  ui.Output("Success! Revoked token (if it existed)");
  return 0;
}

int TokenCapabilities(Command& c, const std::vector<std::string>& raw) {
  bool accessor = false;
  c.flags().Section("Command Options");
  c.flags().Bool("accessor", &accessor, false, Usage("Treat the argument as an accessor instead of a token."));
  if (auto rc = c.Parse(raw)) return *rc;
  const Ui& ui = c.ui();
  const auto& args = c.args();
  if (args.empty() || args.size() > 2) {
    ui.Error(args.empty() ? NotEnough("1-2", 0) : TooMany("1-2", args.size()));
    return 1;
  }
  if (accessor && args.size() != 2) {
    ui.Error("Not enough arguments with -accessor (expected 2, got " + std::to_string(args.size()) + ")");
    return 1;
  }
  std::string path = args.size() == 1 ? args[0] : args[1];
  Client* client = c.client();
  if (!client) return 2;
  StatusOr<ApiResponse> resp = Unavailable("unset");
  Json paths = Json::array({path});
  if (args.size() == 1) resp = client->Do("POST", "sys/capabilities-self", {}, Json{{"paths", paths}});
  else if (accessor) resp = client->Do("POST", "sys/capabilities-accessor", {}, Json{{"accessor", args[0]}, {"paths", paths}});
  else resp = client->Do("POST", "sys/capabilities", {}, Json{{"token", args[0]}, {"paths", paths}});
  StatusOr<Json> secret = resp.ok() ? ParseEnvelope(*resp) : StatusOr<Json>(resp.status());
  if (!secret.ok()) {
    ui.Error("Error listing capabilities: " + secret.status().message());
    return 2;
  }
  const Json& data = Field(*secret, "data");
  Json caps = Field(data, path);
  if (!caps.is_array()) caps = Field(data, "capabilities");
  std::vector<std::string> list;
  if (caps.is_array())
    for (const auto& v : caps) list.push_back(GoValueString(v));
  std::sort(list.begin(), list.end());
  if (ui.format == "table") {
    std::string joined;
    for (const auto& s : list) joined += (joined.empty() ? "" : ", ") + s;
    ui.Output(joined);
    return 0;
  }
  return OutputData(ui, Json(list));
}

int Login(Command& c, const std::vector<std::string>& raw) {
  std::string method, path;
  bool no_store = false, no_print = false, token_only = false;
  FlagSet& f = c.flags();
  f.Section("Command Options");
  f.String("method", &method, "token",
           Usage("Type of authentication to use such as \"token\" or \"jwt\". Note this "
                     "corresponds to the TYPE, not the enabled path. Use -path to specify the "
                     "path where the authentication is enabled."));
  f.String("path", &path, "",
           Usage("Remote path in the server where the auth method is enabled. This defaults "
                     "to the TYPE of method (e.g. jwt -> jwt/)."));
  f.Bool("no-store", &no_store, false,
         Usage("Do not persist the token to the token helper (usually the local filesystem) "
                   "after authentication for use in future requests. The token will only be "
                   "displayed in the command output."));
  f.Bool("no-print", &no_print, false,
         Usage("Do not display the token. The token will be still be stored to the "
                   "configured token helper."));
  f.Bool("token-only", &token_only, false,
         Usage("Output only the token with no verification. This flag is a shortcut for "
                   "\"-field=token -no-store\". Setting those flags to other values will have no "
                   "affect."));
  if (auto rc = c.Parse(raw)) return *rc;
  const Ui& ui = c.ui();
  std::vector<std::string> args = c.args();
  if (token_only) {
    no_store = true;
    c.globals().field = "token";
  }
  if (no_store && no_print) {
    ui.Error(WrapAtLength("-no-store and -no-print cannot be used together"));
    return 1;
  }
  std::string auth_method = SanitizePath(method);
  if (auth_method.empty()) auth_method = "token";
  std::string auth_path = path.empty() ? EnsureTrailingSlash(auth_method) : path;
  const LoginMethod* handler = BuiltinLoginMethods().Find(auth_method);
  if (!handler) {
    ui.Error(WrapAtLength("Unknown auth method: " + auth_method +
                          ". Use \"arca auth list\" to see the complete list of auth methods. "
                          "Additionally, some auth methods are only available via the HTTP API."));
    return 1;
  }
  if (auth_method == "token" && !args.empty() && args[0].find('=') == std::string::npos)
    args[0] = "token=" + args[0];
  std::istringstream empty_stdin;
  std::istream* in = c.globals().non_interactive ? &empty_stdin : c.env().in;
  auto config = ParseDataArgsStrings(args, in);
  for (auto& a : args) Wipe(a);
  if (!config.ok()) {
    ui.Error("Error parsing configuration: " + config.status().message());
    return 1;
  }
  if ((*config)["mount"].empty()) (*config)["mount"] = auth_path;
  Client* client = c.client(/*with_token=*/false);
  if (!client) return 2;
  LoginContext ctx{*client, c.env(), ui, c.globals().non_interactive};
  auto authed = handler->Authenticate(ctx, *config);
  for (auto& [k, v] : *config) Wipe(v);
  if (!authed.ok()) {
    ui.Error("Error authenticating: " + authed.status().message());
    return 2;
  }
  Json secret = std::move(*authed);
  // A wrapped login: unwrap unless the wrapping token itself was asked for.
  if (!Field(secret, "auth").is_object() && Field(secret, "wrap_info").is_object()) {
    const Json& wrap = Field(secret, "wrap_info");
    const Json& wrapped_accessor = Field(wrap, "wrapped_accessor");
    if (!wrapped_accessor.is_string() || wrapped_accessor.get<std::string>().empty()) {
      ui.Error("Error extracting token: wrapped response does not contain a token");
      return 2;
    }
    if (token_only) return PrintRawField(ui, secret, true, "wrapping_token");
    if (no_store) return OutputSecret(ui, secret);
    client->set_token(GoValueString(Field(wrap, "token")));
    auto resp = client->Do("PUT", "sys/wrapping/unwrap");
    StatusOr<Json> unwrapped = resp.ok() ? ParseEnvelope(*resp) : StatusOr<Json>(resp.status());
    if (!unwrapped.ok()) {
      ui.Error("Error extracting token: " + unwrapped.status().message());
      return 2;
    }
    secret = std::move(*unwrapped);
  }
  const Json& auth = Field(secret, "auth");
  if (!auth.is_object()) {
    ui.Error(WrapAtLength("Vault returned a secret, but the secret has no authentication "
                          "information attached. This should never happen and is likely a bug."));
    return 2;
  }
  std::string token = Field(auth, "client_token").is_string() ? Field(auth, "client_token").get<std::string>() : "";
  bool env_token = c.env().getenv && !c.env().getenv("VAULT_TOKEN").value_or("").empty();
  if (!no_store) {
    Status st = StoreTokenFile(c.TokenFile(), token);
    Wipe(token);
    if (!st.ok()) {
      ui.Error("Error storing token: " + st.message());
      ui.Error(WrapAtLength("Authentication was successful, but the token was not persisted. The "
                            "resulting token is shown below for your records.") + "\n");
      OutputSecret(ui, secret);
      return 2;
    }
    if (env_token)
      ui.Warn(WrapAtLength("WARNING! The VAULT_TOKEN environment variable is set! The value of "
                           "this variable will take precedence; if this is unwanted please unset "
                           "VAULT_TOKEN or update its value accordingly.") + "\n");
  } else if (!token_only) {
    Wipe(token);
    ui.Warn(WrapAtLength("The token was not stored in token helper. Set the VAULT_TOKEN "
                         "environment variable or pass the token below with each request to "
                         "Vault.") + "\n");
  }
  if (no_print) return 0;
  if (!c.globals().field.empty()) return PrintRawField(ui, secret, true, c.globals().field);
  if (ui.format == "table")
    ui.Output(WrapAtLength("Success! You are now authenticated. The token information displayed "
                           "below is already stored in the token helper. You do NOT need to run "
                           "\"arca login\" again. Future requests will automatically use this "
                           "token.") + "\n");
  return OutputSecret(ui, secret);
}

std::string LoginHelp() {
  std::string help =
      "Usage: arca login [options] [AUTH K=V...]\n\n"
      "  Authenticates users or machines using the provided arguments. A successful\n"
      "  authentication results in a token, which is stored in ~/.vault-token for\n"
      "  future requests unless -no-store is given.\n\n"
      "  The default auth method is \"token\". If not supplied via the CLI, the token is\n"
      "  prompted for. If the argument is \"-\", the values are read from stdin.\n\n"
      "      $ arca login s.abcd1234\n      $ arca login -method=token -no-store s.abcd1234\n\n"
      "  Available methods:";
  for (auto name : BuiltinLoginMethods().Names()) help += " " + std::string(name);
  return help;
}

}  // namespace

const std::vector<CommandDef>& TokenCommands() {
  static const std::string login_help = LoginHelp();
  static const std::vector<CommandDef> defs = {
      {"login", "Authenticate locally", login_help, Login},
      {"token", "Interact with tokens",
       "Usage: arca token <subcommand> [options] [args]\n\n"
       "  This command groups subcommands for interacting with tokens.",
       nullptr},
      {"token create", "Create a new token",
       "Usage: arca token create [options]\n\n"
       "  Creates a new token that can be used for authentication. The new token is a\n"
       "  child of the current token unless -orphan is given.\n\n"
       "      $ arca token create -policy=my-policy -ttl=1h",
       TokenCreate},
      {"token lookup", "Display information about a token",
       "Usage: arca token lookup [options] [TOKEN | ACCESSOR]\n\n"
       "  Displays information about a token or accessor. If no token is given, the\n"
       "  locally authenticated token is looked up.",
       TokenLookup},
      {"token renew", "Renew a token lease",
       "Usage: arca token renew [options] [TOKEN]\n\n"
       "  Renews a token's lease, extending the amount of time it can be used. Without a\n"
       "  token the locally authenticated token is renewed.\n\n"
       "      $ arca token renew -increment=30m",
       TokenRenew},
      {"token revoke", "Revoke a token and its children",
       "Usage: arca token revoke [options] [TOKEN | ACCESSOR]\n\n"
       "  Revokes a token and all its children (or only the token with -mode=orphan).\n\n"
       "      $ arca token revoke -self",
       TokenRevoke},
      {"token capabilities", "Print capabilities of a token on a path",
       "Usage: arca token capabilities [options] [TOKEN] PATH\n\n"
       "  Fetches the capabilities of a token for a given path.",
       TokenCapabilities},
  };
  return defs;
}

}  // namespace arca::cli
