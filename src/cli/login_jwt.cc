// arca CLI: `arca login -method=jwt`, a direct login with a JWT (e.g. an EGI
// Check-in access token) against auth/<mount>/login.
#include <cctype>

#include "base/secure.h"
#include "cli/args.h"
#include "cli/login_methods.h"

namespace arca::cli {
namespace {

std::string MountOf(const std::map<std::string, std::string>& config, std::string_view fallback) {
  auto it = config.find("mount");
  std::string m = it == config.end() ? std::string() : it->second;
  while (!m.empty() && m.back() == '/') m.pop_back();
  while (!m.empty() && m.front() == '/') m.erase(m.begin());
  return m.empty() ? std::string(fallback) : m;
}

class JwtLogin final : public LoginMethod {
 public:
  std::string_view Name() const override { return "jwt"; }

  std::string_view Help() const override {
    return "Usage: arca login -method=jwt [CONFIG K=V...]\n\n"
           "  The JWT auth method logs in with a signed JSON Web Token, such as an OIDC\n"
           "  access or ID token from your identity provider.\n\n"
           "      $ arca login -method=jwt role=demo jwt=eyJhbGciOi...\n"
           "      $ oidc-token egi | arca login -method=jwt jwt=-\n\n"
           "Configuration:\n\n"
           "  jwt=<string>\n"
           "      The token. \"-\" reads it from stdin, \"@file\" from a file. Prompted\n"
           "      for when not given.\n\n"
           "  role=<string>\n"
           "      The role to log in against. Defaults to the mount's default_role.";
  }

  StatusOr<Json> Authenticate(LoginContext& ctx,
                              const std::map<std::string, std::string>& config) const override {
    std::string raw;
    if (auto it = config.find("jwt"); it != config.end()) {
      raw = it->second;
    } else if (!ctx.non_interactive && ctx.env.read_secret) {
      auto read = ctx.env.read_secret("JWT (will be hidden): ", true);
      if (!read.ok()) return InvalidArgument("'jwt' must be specified");
      raw = std::move(*read);
    }
    std::string jwt = Trim(raw);
    Wipe(raw);
    if (jwt.empty()) return InvalidArgument("'jwt' must be specified");

    Json body = Json::object();
    if (auto it = config.find("role"); it != config.end() && !it->second.empty()) body["role"] = it->second;
    body["jwt"] = jwt;
    Wipe(jwt);
    LogicalResult r = LogicalWrite(ctx.client, "auth/" + MountOf(config, "jwt") + "/login", body);
    Wipe(body["jwt"].get_ref<std::string&>());
    if (!r.error.ok()) return r.error;
    if (!r.secret) return Internal("empty response from credential provider");
    return std::move(*r.secret);
  }
};

}  // namespace

std::unique_ptr<LoginMethod> MakeJwtLoginMethod() { return std::make_unique<JwtLogin>(); }

}  // namespace arca::cli
