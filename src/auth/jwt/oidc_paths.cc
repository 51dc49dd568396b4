// arca auth/jwt: oidc/auth_url and oidc/callback (Vault's path_oidc.go, v0.16,
// with PKCE S256 toward the provider).
#include <spdlog/spdlog.h>

#include "auth/jwt/backend.h"
#include "auth/jwt/fetch.h"
#include "auth/jwt/userinfo.h"
#include "auth/jwt/verify.h"
#include "base/encoding.h"
#include "base/secure.h"
#include "logical/fields.h"

namespace arca::auth::jwt {

namespace {

constexpr const char* kLoginFailed = "Vault login failed.";
constexpr const char* kTokenFailed = "Token verification failed.";
constexpr const char* kNoCode = "no_code";

StatusOr<std::string> Field(const Json& data, const char* name) {
  ARCA_ASSIGN_OR_RETURN(auto v, logical::GetString(data, name));
  return v.value_or("");
}

// Go's %q, for the code exchange error.
std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      static const char* kHex = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// The auth mount named in a UI redirect ".../auth/<mount>/oidc/callback".
std::string ParseMount(const std::string& redirect) {
  const std::string tail = "/oidc/callback";
  auto end = redirect.find(tail);
  auto start = redirect.rfind("/auth/", end);
  if (end == std::string::npos || start == std::string::npos) return "";
  return redirect.substr(start + 6, end - start - 6);
}

logical::Response Html(int status, std::string body) {
  logical::Response r;
  r.http_status = status;
  r.raw_body = std::move(body);
  r.content_type = "text/html";
  return r;
}

}  // namespace

StatusOr<logical::Response> JwtBackend::AuthUrl(Request& req) {
  Response empty = Response::WithData(Json{{"auth_url", ""}});
  WarnIgnored(empty, req.data, {"role", "redirect_uri", "client_nonce"});
  storage::Backend& s = Storage(req);
  ARCA_ASSIGN_OR_RETURN(auto provider, LoadProvider(s));
  if (!provider) return InvalidArgument("could not load configuration");
  const JwtConfig& config = provider->config();
  if (provider->type() != AuthType::kOidcFlow) {
    return InvalidArgument("OIDC login is not configured for this mount");
  }
  ARCA_ASSIGN_OR_RETURN(std::string role_name, Field(req.data, "role"));
  role_name = LowerAscii(role_name);
  if (role_name.empty()) role_name = config.default_role;
  if (role_name.empty()) return InvalidArgument("missing role");
  ARCA_ASSIGN_OR_RETURN(std::string redirect, Field(req.data, "redirect_uri"));
  if (redirect.empty()) return InvalidArgument("missing redirect_uri");
  ARCA_ASSIGN_OR_RETURN(std::string client_nonce, Field(req.data, "client_nonce"));
  if (redirect.size() > 4096 || client_nonce.size() > 1024) return empty;
  ARCA_ASSIGN_OR_RETURN(auto role, LoadRole(s, role_name));
  if (!role) return InvalidArgument("role \"" + role_name + "\" could not be found");

  if (!ValidRedirect(redirect, role->allowed_redirect_uris.value_or(std::vector<std::string>{}))) {
    spdlog::warn("jwt: unauthorized redirect_uri for role {}", role_name);
    return empty;
  }
  const bool form_post = config.oidc_response_mode == "form_post";
  if (form_post) {
    if (auto pos = redirect.find("ui/vault"); pos != std::string::npos) {
      redirect.replace(pos, 8, "v1");
    }
  }
  auto doc = provider->Discovery();
  if (!doc.ok()) {
    spdlog::warn("jwt: error getting provider for login operation: {}", doc.status().message());
    return empty;
  }

  OidcState st;
  st.role = role_name;
  st.redirect_uri = redirect;
  st.client_nonce = client_nonce;
  st.nonce = RandomHex(20);
  const bool code = HasResponseType(config, "code");
  const bool id_token = HasResponseType(config, "id_token");
  if (code) st.code_verifier = NewCodeVerifier();

  AuthUrlParams p;
  p.client_id = config.oidc_client_id;
  p.redirect_uri = redirect;
  p.scopes = role->oidc_scopes.value_or(std::vector<std::string>{});
  p.nonce = st.nonce;
  if (code) p.code_challenge = CodeChallenge(st.code_verifier);
  p.max_age = role->max_age;
  p.form_post = form_post;
  p.response_type = code && id_token ? "code id_token" : code ? "code" : "id_token";
  p.state = states_.Create(std::move(st));
  empty.data["auth_url"] = BuildAuthUrl(doc->authorization_endpoint, p);
  return empty;
}

StatusOr<logical::Response> JwtBackend::CallbackPost(Request& req) {
  ARCA_ASSIGN_OR_RETURN(auto provider, LoadProvider(Storage(req)));
  if (!provider) {
    return InvalidArgument(std::string(kLoginFailed) + " Could not load configuration.");
  }
  if (provider->config().oidc_response_mode != "form_post") return UnsupportedOperation();
  ARCA_ASSIGN_OR_RETURN(std::string state_id, Field(req.data, "state"));
  ARCA_ASSIGN_OR_RETURN(std::string code, Field(req.data, "code"));
  ARCA_ASSIGN_OR_RETURN(std::string id_token, Field(req.data, "id_token"));
  auto state = states_.Amend(state_id, code, id_token);
  if (!state) {
    return Html(400, "<!DOCTYPE html><html><body><p>" + std::string(kLoginFailed) +
                         " Expired or missing OAuth state.</p></body></html>");
  }
  const std::string mount = ParseMount(state->redirect_uri);
  if (mount.empty()) {
    return Html(400, "<!DOCTYPE html><html><body><p>" + std::string(kLoginFailed) +
                         " Invalid redirect path.</p></body></html>");
  }
  const std::string target = "/ui/vault/auth/" + HtmlEscape(mount) +
                             "/oidc/callback?state=" + HtmlEscape(FormEscape(state_id)) +
                             "&amp;code=" + kNoCode;
  return Html(200,
              "<!DOCTYPE html><html><head><meta http-equiv=\"refresh\" content=\"0;url=" + target +
                  "\"></head><body><a href=\"" + target + "\">Continue</a></body></html>");
}

StatusOr<logical::Response> JwtBackend::Callback(Request& req) {
  storage::Backend& s = Storage(req);
  ARCA_ASSIGN_OR_RETURN(auto provider, LoadProvider(s));
  if (!provider)
    return InvalidArgument(std::string(kLoginFailed) + " Could not load configuration");
  const JwtConfig& config = provider->config();

  ARCA_ASSIGN_OR_RETURN(std::string state_id, Field(req.data, "state"));
  auto state = states_.Take(state_id);
  if (!state)
    return InvalidArgument(std::string(kLoginFailed) + " Expired or missing OAuth state.");
  ARCA_ASSIGN_OR_RETURN(std::string client_nonce, Field(req.data, "client_nonce"));
  if (!state->client_nonce.empty() && !ConstantTimeEquals(client_nonce, state->client_nonce)) {
    return InvalidArgument("invalid client_nonce");
  }
  ARCA_ASSIGN_OR_RETURN(auto role, LoadRole(s, state->role));
  if (!role) return InvalidArgument(std::string(kLoginFailed) + " Role could not be found");
  ARCA_RETURN_IF_ERROR(CheckCidrs(req, *role));

  auto doc = provider->Discovery();
  if (!doc.ok()) {
    return Unavailable("error getting provider for login operation: " + doc.status().message());
  }

  ARCA_ASSIGN_OR_RETURN(std::string code, Field(req.data, "code"));
  if (code == kNoCode) code = state->code;
  std::string raw_token;
  std::string access_token;
  if (code.empty()) {
    if (state->id_token.empty()) {
      return InvalidArgument(std::string(kLoginFailed) + " No code or id_token received.");
    }
    raw_token = state->id_token;
  } else {
    auto tokens = ExchangeCode(*doc, config.oidc_client_id, config.oidc_client_secret, code,
                               state->redirect_uri, state->code_verifier, provider->ca_pem());
    if (!tokens.ok()) {
      return InvalidArgument(std::string(kLoginFailed) + " Error exchanging oidc code: " +
                             GoQuote(tokens.status().message()) + ".");
    }
    if (tokens->id_token.empty()) {
      return InvalidArgument(std::string(kTokenFailed) + " No id_token found in response.");
    }
    raw_token = std::move(tokens->id_token);
    access_token = std::move(tokens->access_token);
  }

  auto keys = provider->Keys();
  if (!keys.ok()) {
    return Unavailable("error getting provider for login operation: " + keys.status().message());
  }
  Expected expected;
  expected.issuer = config.oidc_discovery_url;
  expected.subject = role->bound_subject;
  expected.audiences = role->bound_audiences.value_or(std::vector<std::string>{});
  if (expected.audiences.empty()) expected.audiences = {config.oidc_client_id};
  expected.algs = config.jwt_supported_algs.empty() ? std::vector<std::string>{"RS256"}
                                                    : config.jwt_supported_algs;
  expected.not_before_leeway = role->not_before_leeway;
  expected.expiration_leeway = role->expiration_leeway;
  expected.clock_skew_leeway = role->clock_skew_leeway;
  auto claims = ValidateToken(raw_token, **keys, expected, clock_);
  Wipe(raw_token);
  const std::string failed = std::string(kTokenFailed) + " ";
  if (!claims.ok()) return InvalidArgument(failed + claims.status().message());
  if (!claims->contains("exp")) return InvalidArgument(failed + "id_token is missing exp claim");
  auto auds = Audiences(*claims);
  if (auds && auds->size() > 1) {
    auto azp = claims->find("azp");
    if (azp == claims->end() || !azp->is_string() || *azp != config.oidc_client_id) {
      return InvalidArgument(failed + "invalid id_token authorized party (azp)");
    }
  }
  auto nonce = claims->find("nonce");
  if (nonce == claims->end() || !nonce->is_string() ||
      !ConstantTimeEquals(nonce->get_ref<const std::string&>(), state->nonce)) {
    return InvalidArgument(failed + "Invalid ID token nonce.");
  }
  claims->erase("nonce");
  if (role->max_age > 0) {
    auto at = claims->find("auth_time");
    if (at == claims->end() || !at->is_number()) {
      return InvalidArgument(failed + "missing auth_time claim (max_age is set)");
    }
    const int64_t skew = role->clock_skew_leeway < 0    ? 0
                         : role->clock_skew_leeway == 0 ? 60
                                                        : role->clock_skew_leeway;
    if (clock_.UnixNow() - int64_t(at->get<double>()) > role->max_age + skew) {
      return InvalidArgument(failed + "auth_time is older than max_age");
    }
  }

  // As Vault: userinfo claims are merged in when an access token came back;
  // a failure here does not fail the login.
  if (!access_token.empty() && !doc->userinfo_endpoint.empty()) {
    auto info = FetchUserinfo(doc->userinfo_endpoint, access_token, provider->ca_pem());
    if (!info.ok()) {
      spdlog::warn("jwt: error reading /userinfo endpoint: {}", info.status().message());
    } else if (!CheckUserinfoSubject(*claims, *info).ok()) {
      spdlog::warn("jwt: ignoring userinfo whose sub differs from the ID token's");
    } else {
      for (auto it = info->begin(); it != info->end(); ++it) (*claims)[it.key()] = it.value();
    }
  }
  Wipe(access_token);

  ARCA_ASSIGN_OR_RETURN(Response resp, FinishLogin(*claims, *role, state->role));
  WarnIgnored(resp, req.data, {"state", "code", "id_token", "client_nonce"});
  return resp;
}

}  // namespace arca::auth::jwt
