// arca CLI: the login method registry and the token method.
#include "cli/login_methods.h"

#include "base/secure.h"
#include "cli/args.h"

namespace arca::cli {

void LoginRegistry::Register(std::unique_ptr<LoginMethod> m) { methods_.push_back(std::move(m)); }

const LoginMethod* LoginRegistry::Find(std::string_view name) const {
  for (const auto& m : methods_)
    if (m->Name() == name) return m.get();
  return nullptr;
}

std::vector<std::string_view> LoginRegistry::Names() const {
  std::vector<std::string_view> out;
  for (const auto& m : methods_) out.push_back(m->Name());
  return out;
}

const LoginRegistry& BuiltinLoginMethods() {
  static const LoginRegistry registry = [] {
    LoginRegistry r;
    r.Register(MakeTokenLoginMethod());
    r.Register(MakeJwtLoginMethod());
    r.Register(MakeOidcLoginMethod());
    return r;
  }();
  return registry;
}

namespace {

class TokenLogin final : public LoginMethod {
 public:
  std::string_view Name() const override { return "token"; }

  std::string_view Help() const override {
    return "Usage: arca login TOKEN [CONFIG K=V...]\n\n"
           "  The token auth method allows logging in directly with a token. This can be a\n"
           "  token from the \"token create\" command or API. There are no configuration\n"
           "  options for this auth method.\n\n"
           "      $ arca login s.abcd1234\n\n"
           "  If no token is given, it is prompted for without echo; \"-\" reads it from stdin.\n"
           "  lookup=false stores the token without checking it.";
  }

  StatusOr<Json> Authenticate(LoginContext& ctx,
                              const std::map<std::string, std::string>& config) const override {
    bool lookup = true;
    if (auto it = config.find("lookup"); it != config.end()) {
      auto b = ParseGoBool(it->second);
      if (!b)
        return InvalidArgument("Failed to parse \"lookup\" as boolean: strconv.ParseBool: parsing " +
                               Json(it->second).dump() + ": invalid syntax");
      lookup = *b;
    }
    std::string token;
    if (auto it = config.find("token"); it != config.end()) {
      token = it->second;
    } else {
      if (ctx.non_interactive || !ctx.env.read_secret)
        return InvalidArgument("A token must be passed to auth. Please view the help for more information.");
      auto read = ctx.env.read_secret("Token (will be hidden): ", true);
      if (!read.ok())
        return InvalidArgument(
            "An error occurred attempting to ask for a token. The raw error message is shown "
            "below, but usually this is because you attempted to pipe a value into the command or "
            "you are executing outside of a terminal (tty). If you want to pipe the value, pass "
            "\"-\" as the argument to read from stdin. The raw error was: " + read.status().message());
      token = std::move(*read);
    }
    std::string trimmed = Trim(token);
    Wipe(token);
    if (trimmed.empty())
      return InvalidArgument("A token must be passed to auth. Please view the help for more information.");

    Json envelope = {{"request_id", ""}, {"lease_id", ""}, {"lease_duration", 0},
                     {"renewable", false}, {"data", nullptr}, {"warnings", nullptr}};
    if (!lookup) {
      envelope["auth"] = Json{{"client_token", trimmed}};
      Wipe(trimmed);
      return envelope;
    }
    ctx.client.set_token(trimmed);
    Wipe(trimmed);
    auto resp = ctx.client.Do("GET", "auth/token/lookup-self");
    if (!resp.ok()) return Status(resp.status().code(), "error looking up token: " + resp.status().message());
    auto secret = ParseSecret(resp->body);
    if (!secret.ok()) return Status(secret.status().code(), "error looking up token: " + secret.status().message());
    if (!*secret) return Internal("empty response from lookup-self");
    const Json& data = Field(**secret, "data");
    Json policies = Json::array();
    const Json& token_policies = Field(data, "policies");
    const Json& identity_policies = Field(data, "identity_policies");
    if (token_policies.is_array())
      for (const auto& p : token_policies) policies.push_back(p);
    if (identity_policies.is_array())
      for (const auto& p : identity_policies) policies.push_back(p);
    Json auth = Json::object();
    auth["client_token"] = Field(data, "id");
    auth["accessor"] = Field(data, "accessor");
    auth["policies"] = policies;
    auth["token_policies"] = token_policies.is_array() ? token_policies : Json::array();
    auth["identity_policies"] = identity_policies.is_array() ? identity_policies : Json::array();
    auth["metadata"] = Field(data, "meta");
    auth["orphan"] = Field(data, "orphan").is_boolean() ? Field(data, "orphan") : Json(false);
    auth["entity_id"] = Field(data, "entity_id").is_string() ? Field(data, "entity_id") : Json("");
    auth["lease_duration"] = Field(data, "ttl").is_number_integer() ? Field(data, "ttl") : Json(0);
    auth["renewable"] = Field(data, "renewable").is_boolean() ? Field(data, "renewable") : Json(false);
    envelope["auth"] = std::move(auth);
    return envelope;
  }
};

}  // namespace

std::unique_ptr<LoginMethod> MakeTokenLoginMethod() { return std::make_unique<TokenLogin>(); }

}  // namespace arca::cli
