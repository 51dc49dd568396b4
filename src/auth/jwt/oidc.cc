// arca auth/jwt: discovery, authorization states, auth URL, code exchange.
#include "auth/jwt/oidc.h"

#include <algorithm>
#include <cctype>

#include "auth/jwt/fetch.h"
#include "base/encoding.h"
#include "base/secure.h"

namespace arca::auth::jwt {

namespace {

std::string JsonString(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

struct UrlParts {
  std::string scheme, authority, host, rest;  // host without port or brackets
};

std::optional<UrlParts> SplitUrl(const std::string& url) {
  auto colon = url.find("://");
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  UrlParts p;
  p.scheme = url.substr(0, colon);
  for (char& c : p.scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::size_t start = colon + 3;
  std::size_t end = url.find_first_of("/?#", start);
  if (end == std::string::npos) end = url.size();
  p.authority = url.substr(start, end - start);
  p.rest = url.substr(end);
  std::string hostport = p.authority;
  if (auto at = hostport.rfind('@'); at != std::string::npos) hostport = hostport.substr(at + 1);
  if (!hostport.empty() && hostport.front() == '[') {
    auto close = hostport.find(']');
    if (close == std::string::npos) return std::nullopt;
    p.host = hostport.substr(1, close - 1);
  } else {
    p.host = hostport.substr(0, hostport.find(':'));
  }
  return p;
}

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "127.0.0.1" || host == "::1";
}

std::string BasicAuth(const std::string& id, const std::string& secret) {
  std::string raw = FormEscape(id) + ":" + FormEscape(secret);
  std::string out = "Basic " + Base64Encode(raw);
  Wipe(raw);
  return out;
}

}  // namespace

StatusOr<DiscoveryDoc> FetchDiscovery(const std::string& issuer, const std::string& ca_pem) {
  std::string base = issuer;
  while (!base.empty() && base.back() == '/') base.pop_back();
  HttpRequest req;
  req.url = base + "/.well-known/openid-configuration";
  req.ca_pem = ca_pem;
  req.headers = {{"Accept", "application/json"}};
  ARCA_ASSIGN_OR_RETURN(HttpResponse resp, Fetch(req));
  if (resp.status != 200) {
    return Unavailable(StatusLine(resp.status) + ": " + resp.body.substr(0, 512));
  }
  Json doc = Json::parse(resp.body, nullptr, false);
  if (!doc.is_object()) {
    return InvalidArgument("failed to decode OIDC discovery document: expected a JSON object");
  }
  DiscoveryDoc d;
  d.issuer = JsonString(doc, "issuer");
  if (d.issuer != issuer) {
    return InvalidArgument("issuer did not match the returned issuer, expected \"" + issuer +
                           "\" got \"" + d.issuer + "\"");
  }
  d.authorization_endpoint = JsonString(doc, "authorization_endpoint");
  d.token_endpoint = JsonString(doc, "token_endpoint");
  d.userinfo_endpoint = JsonString(doc, "userinfo_endpoint");
  d.jwks_uri = JsonString(doc, "jwks_uri");
  if (d.jwks_uri.empty()) {
    return InvalidArgument("failed to decode OIDC discovery document: no jwks_uri");
  }
  if (auto it = doc.find("token_endpoint_auth_methods_supported");
      it != doc.end() && it->is_array()) {
    for (const Json& m : *it) {
      if (m.is_string()) d.token_endpoint_auth_methods.push_back(m.get<std::string>());
    }
  }
  return d;
}

void StateStore::DropExpiredLocked(SteadyTime now) {
  for (auto it = states_.begin(); it != states_.end();) {
    it = it->second.expires <= now ? states_.erase(it) : std::next(it);
  }
}

std::string StateStore::Create(OidcState s) {
  const SteadyTime now = clock_.SteadyNow();
  s.expires = now + kStateTtl;
  std::string id = RandomHex(20);
  std::lock_guard l(mu_);
  if (states_.size() >= max_) DropExpiredLocked(now);
  while (states_.size() >= max_) {
    auto oldest = std::min_element(
        states_.begin(), states_.end(),
        [](const auto& a, const auto& b) { return a.second.expires < b.second.expires; });
    states_.erase(oldest);
  }
  states_[id] = std::move(s);
  return id;
}

std::optional<OidcState> StateStore::Take(const std::string& id) {
  std::lock_guard l(mu_);
  auto it = states_.find(id);
  if (it == states_.end()) return std::nullopt;
  OidcState s = std::move(it->second);
  states_.erase(it);
  if (s.expires <= clock_.SteadyNow()) return std::nullopt;
  return s;
}

std::optional<OidcState> StateStore::Amend(const std::string& id, const std::string& code,
                                           const std::string& id_token) {
  std::lock_guard l(mu_);
  auto it = states_.find(id);
  if (it == states_.end()) return std::nullopt;
  if (it->second.expires <= clock_.SteadyNow()) {
    states_.erase(it);
    return std::nullopt;
  }
  it->second.code = code;
  it->second.id_token = id_token;
  return it->second;
}

std::size_t StateStore::SizeForTest() const {
  std::lock_guard l(mu_);
  return states_.size();
}

std::string NewCodeVerifier() {
  SecureBytes raw = RandomBytes(32);
  return Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()));
}

std::string CodeChallenge(const std::string& verifier) { return Base64UrlEncode(Sha256(verifier)); }

std::string BuildAuthUrl(const std::string& authorization_endpoint, const AuthUrlParams& p) {
  std::vector<std::string> scopes = {"openid"};
  for (const auto& s : p.scopes) {
    if (std::find(scopes.begin(), scopes.end(), s) == scopes.end()) scopes.push_back(s);
  }
  std::string scope;
  for (const auto& s : scopes) scope += (scope.empty() ? "" : " ") + s;
  std::map<std::string, std::string> q = {
      {"client_id", p.client_id},         {"nonce", p.nonce}, {"redirect_uri", p.redirect_uri},
      {"response_type", p.response_type}, {"scope", scope},   {"state", p.state},
  };
  if (!p.code_challenge.empty()) {
    q["code_challenge"] = p.code_challenge;
    q["code_challenge_method"] = "S256";
  }
  if (p.max_age > 0) q["max_age"] = std::to_string(p.max_age);
  if (p.form_post) q["response_mode"] = "form_post";
  std::string query;
  for (const auto& [k, v] : q)
    query += (query.empty() ? "" : "&") + FormEscape(k) + "=" + FormEscape(v);
  const char sep = authorization_endpoint.find('?') == std::string::npos ? '?' : '&';
  return authorization_endpoint + sep + query;
}

StatusOr<TokenResponse> ExchangeCode(const DiscoveryDoc& doc, const std::string& client_id,
                                     const std::string& client_secret, const std::string& code,
                                     const std::string& redirect_uri,
                                     const std::string& code_verifier, const std::string& ca_pem) {
  if (doc.token_endpoint.empty()) return Unavailable("oauth2: provider has no token endpoint");
  const auto& methods = doc.token_endpoint_auth_methods;
  const bool post_only =
      !methods.empty() &&
      std::find(methods.begin(), methods.end(), "client_secret_basic") == methods.end() &&
      std::find(methods.begin(), methods.end(), "client_secret_post") != methods.end();
  HttpRequest req;
  req.method = "POST";
  req.url = doc.token_endpoint;
  req.ca_pem = ca_pem;
  req.body = "grant_type=authorization_code&code=" + FormEscape(code) +
             "&redirect_uri=" + FormEscape(redirect_uri);
  if (!code_verifier.empty()) req.body += "&code_verifier=" + FormEscape(code_verifier);
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"Accept", "application/json"}};
  if (post_only) {
    req.body +=
        "&client_id=" + FormEscape(client_id) + "&client_secret=" + FormEscape(client_secret);
  } else {
    req.headers.emplace_back("Authorization", BasicAuth(client_id, client_secret));
  }
  auto resp = Fetch(req);
  Wipe(req.body);
  for (auto& h : req.headers) Wipe(h.second);
  if (!resp.ok()) return Unavailable("oauth2: cannot fetch token: " + resp.status().message());
  if (resp->status < 200 || resp->status > 299) {
    return Unavailable("oauth2: cannot fetch token: " + StatusLine(resp->status) +
                       "\nResponse: " + resp->body.substr(0, 512));
  }
  Json j = Json::parse(resp->body, nullptr, false);
  if (!j.is_object()) return Unavailable("oauth2: cannot parse json: not a JSON object");
  TokenResponse out;
  out.id_token = JsonString(j, "id_token");
  out.access_token = JsonString(j, "access_token");
  if (out.access_token.empty()) return Unavailable("oauth2: server response missing access_token");
  Wipe(resp->body);
  return out;
}

bool ValidRedirect(const std::string& uri, const std::vector<std::string>& allowed) {
  auto in = SplitUrl(uri);
  if (!in) return false;
  if (!IsLoopback(in->host)) {
    return std::find(allowed.begin(), allowed.end(), uri) != allowed.end();
  }
  for (const auto& a : allowed) {
    auto al = SplitUrl(a);
    if (!al) continue;
    if (al->scheme == in->scheme && al->host == in->host && al->rest == in->rest) return true;
  }
  return false;
}

}  // namespace arca::auth::jwt
