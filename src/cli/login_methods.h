// arca CLI: login methods for `arca login -method=<name>`.
//
// A LoginMethod turns the command's `key=value` arguments into an envelope
// that carries `auth` (client_token, accessor, policies, ...), usually by
// calling its auth mount's login endpoint. The login command owns everything
// else: flags, storing the token, printing. To add a method (jwt, oidc, ...),
// implement LoginMethod in its own src/cli/login_<name>.cc and add it in
// BuiltinLoginMethods() (login_methods.cc) — registration is explicit because
// static initialisers in a static library are not reliably linked.
// Methods are stateless and used from one thread.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "cli/api_client.h"
#include "cli/command.h"

namespace arca::cli {

struct LoginContext {
  Client& client;  // carries no token unless the method sets one
  Env& env;
  const Ui& ui;
  bool non_interactive = false;  // never prompt
};

class LoginMethod {
 public:
  virtual ~LoginMethod() = default;
  // The -method name ("token", "jwt", ...).
  virtual std::string_view Name() const = 0;
  // One paragraph for `arca login -h`.
  virtual std::string_view Help() const = 0;
  // `config` holds the k=v arguments plus "mount": the auth path ("jwt/"),
  // from -path or the method name. Returns the envelope with `auth` (or
  // `wrap_info` for a wrapped login). On failure the Status message is what
  // follows "Error authenticating: ".
  virtual StatusOr<Json> Authenticate(LoginContext& ctx,
                                      const std::map<std::string, std::string>& config) const = 0;
};

class LoginRegistry {
 public:
  void Register(std::unique_ptr<LoginMethod> m);
  // nullptr for an unknown name.
  const LoginMethod* Find(std::string_view name) const;
  std::vector<std::string_view> Names() const;

 private:
  std::vector<std::unique_ptr<LoginMethod>> methods_;
};

// The methods the CLI knows (built once, never destroyed).
const LoginRegistry& BuiltinLoginMethods();

// -method=token: the token from the argument, `token=`, or a prompt; checked
// with GET auth/token/lookup-self unless lookup=false.
std::unique_ptr<LoginMethod> MakeTokenLoginMethod();

// -method=jwt (login_jwt.cc): PUT auth/<mount>/login {"role", "jwt"}; role is
// optional (the role's default_role applies), `jwt=-` / `jwt=@file` read the
// token from stdin / a file, and without `jwt` it is prompted for.
std::unique_ptr<LoginMethod> MakeJwtLoginMethod();

// -method=oidc (login_oidc.cc), as Vault's CLI: asks auth/<mount>/oidc/auth_url
// for the provider URL, prints it (never launches a browser), then waits on
// a local listener (listenaddress:port, default 127.0.0.1:8250; port=0 picks
// a free one) for the browser's GET /oidc/callback and completes the login
// with GET auth/<mount>/oidc/callback. Blocks up to `timeout` (default 2m).
std::unique_ptr<LoginMethod> MakeOidcLoginMethod();

}  // namespace arca::cli
