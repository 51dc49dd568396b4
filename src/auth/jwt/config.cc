// arca auth/jwt: config decoding, Vault's pathConfigWrite checks, storage.
#include "auth/jwt/config.h"

#include <algorithm>
#include <cctype>

#include "auth/jwt/fetch.h"
#include "auth/jwt/keyset.h"
#include "auth/jwt/oidc.h"
#include "auth/jwt/verify.h"
#include "logical/fields.h"

namespace arca::auth::jwt {

namespace {

constexpr std::size_t kMaxPubkeys = 100;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

StatusOr<std::string> Str(const Json& d, const char* f) {
  ARCA_ASSIGN_OR_RETURN(auto v, logical::GetString(d, f));
  return v.value_or("");
}

StatusOr<std::vector<std::string>> List(const Json& d, const char* f) {
  ARCA_ASSIGN_OR_RETURN(auto v, logical::GetStringSlice(d, f));
  return v.value_or(std::vector<std::string>{});
}

// Go's %v of a []string: [a b].
std::string GoList(const std::vector<std::string>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? " " : "") + v[i];
  return out + "]";
}

std::vector<std::string> Strings(const Json& j, const char* f) {
  std::vector<std::string> out;
  auto it = j.find(f);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& e : *it) {
    if (e.is_string()) out.push_back(e.get<std::string>());
  }
  return out;
}

Json ToJson(const JwtConfig& c, bool with_secret) {
  Json j = {
      {"oidc_discovery_url", c.oidc_discovery_url},
      {"oidc_discovery_ca_pem", c.oidc_discovery_ca_pem},
      {"oidc_client_id", c.oidc_client_id},
      {"oidc_response_mode", c.oidc_response_mode},
      {"oidc_response_types", c.oidc_response_types},
      {"default_role", c.default_role},
      {"jwt_validation_pubkeys", c.jwt_validation_pubkeys},
      {"jwt_supported_algs", c.jwt_supported_algs},
      {"jwks_url", c.jwks_url},
      {"jwks_ca_pem", c.jwks_ca_pem},
      {"bound_issuer", c.bound_issuer},
      {"provider_config", c.provider_config},
      {"namespace_in_state", c.namespace_in_state},
  };
  if (with_secret) j["oidc_client_secret"] = c.oidc_client_secret;
  return j;
}

}  // namespace

AuthType TypeOf(const JwtConfig& c) {
  if (!c.jwt_validation_pubkeys.empty()) return AuthType::kStaticKeys;
  if (!c.jwks_url.empty()) return AuthType::kJwks;
  if (!c.oidc_discovery_url.empty()) {
    return !c.oidc_client_id.empty() && !c.oidc_client_secret.empty() ? AuthType::kOidcFlow
                                                                      : AuthType::kOidcDiscovery;
  }
  return AuthType::kUnconfigured;
}

bool HasResponseType(const JwtConfig& c, const std::string& t) {
  if (c.oidc_response_types.empty() && t == "code") return true;
  return std::find(c.oidc_response_types.begin(), c.oidc_response_types.end(), t) !=
         c.oidc_response_types.end();
}

StatusOr<JwtConfig> ParseConfigWrite(const Json& d, const std::optional<JwtConfig>& existing) {
  JwtConfig c;
  ARCA_ASSIGN_OR_RETURN(c.oidc_discovery_url, Str(d, "oidc_discovery_url"));
  ARCA_ASSIGN_OR_RETURN(c.oidc_discovery_ca_pem, Str(d, "oidc_discovery_ca_pem"));
  ARCA_ASSIGN_OR_RETURN(c.oidc_client_id, Str(d, "oidc_client_id"));
  ARCA_ASSIGN_OR_RETURN(c.oidc_client_secret, Str(d, "oidc_client_secret"));
  ARCA_ASSIGN_OR_RETURN(c.oidc_response_mode, Str(d, "oidc_response_mode"));
  ARCA_ASSIGN_OR_RETURN(c.oidc_response_types, List(d, "oidc_response_types"));
  ARCA_ASSIGN_OR_RETURN(c.jwks_url, Str(d, "jwks_url"));
  ARCA_ASSIGN_OR_RETURN(c.jwks_ca_pem, Str(d, "jwks_ca_pem"));
  ARCA_ASSIGN_OR_RETURN(c.jwt_validation_pubkeys, List(d, "jwt_validation_pubkeys"));
  ARCA_ASSIGN_OR_RETURN(c.jwt_supported_algs, List(d, "jwt_supported_algs"));
  ARCA_ASSIGN_OR_RETURN(c.bound_issuer, Str(d, "bound_issuer"));
  ARCA_ASSIGN_OR_RETURN(std::string role, Str(d, "default_role"));
  c.default_role = Lower(role);
  ARCA_ASSIGN_OR_RETURN(auto provider, logical::GetObject(d, "provider_config"));
  if (provider) c.provider_config = *provider;
  ARCA_ASSIGN_OR_RETURN(auto ns, logical::GetBool(d, "namespace_in_state"));
  c.namespace_in_state = ns ? *ns : (existing ? existing->namespace_in_state : true);
  if (c.jwt_validation_pubkeys.size() > kMaxPubkeys) {
    return InvalidArgument("too many jwt_validation_pubkeys");
  }

  int methods = int(!c.oidc_discovery_url.empty()) + int(!c.jwt_validation_pubkeys.empty()) +
                int(!c.jwks_url.empty());
  if (methods != 1) {
    return InvalidArgument(
        "exactly one of 'jwt_validation_pubkeys', 'jwks_url' or 'oidc_discovery_url' must be set");
  }
  if (c.oidc_client_id.empty() != c.oidc_client_secret.empty()) {
    return InvalidArgument("both 'oidc_client_id' and 'oidc_client_secret' must be set for OIDC");
  }
  if (!c.oidc_discovery_url.empty()) {
    auto doc = FetchDiscovery(c.oidc_discovery_url, c.oidc_discovery_ca_pem);
    if (!doc.ok()) {
      return InvalidArgument("error checking oidc discovery URL: " + doc.status().message());
    }
  } else if (!c.oidc_client_id.empty()) {
    return InvalidArgument("'oidc_discovery_url' must be set for OIDC");
  } else if (!c.jwks_url.empty()) {
    if (!c.jwks_ca_pem.empty() && !ValidCaPem(c.jwks_ca_pem)) {
      return InvalidArgument(
          "error checking jwks_ca_pem: could not parse CA PEM value successfully");
    }
    auto keys = FetchJwks(c.jwks_url, c.jwks_ca_pem);
    if (!keys.ok()) {
      return InvalidArgument("error checking jwks URL: fetching keys " + keys.status().message());
    }
  } else {
    for (const auto& pem : c.jwt_validation_pubkeys) {
      auto key = ParsePublicKeyPem(pem);
      if (!key.ok()) return InvalidArgument("error parsing public key: " + key.status().message());
    }
  }

  for (const auto& alg : c.jwt_supported_algs) {
    if (!KnownAlg(alg)) {
      return InvalidArgument("invalid jwt_supported_algs: unsupported signing algorithm \"" + alg +
                             "\"");
    }
  }
  for (const auto& t : c.oidc_response_types) {
    if (t != "code" && t != "id_token") {
      return InvalidArgument("invalid response_types " + GoList(c.oidc_response_types) +
                             ". 'code' and 'id_token' are allowed");
    }
  }
  if (c.oidc_response_mode.empty() || c.oidc_response_mode == "query") {
    if (HasResponseType(c, "id_token")) {
      return InvalidArgument("query response_mode may not be used with an id_token response_type");
    }
  } else if (c.oidc_response_mode != "form_post") {
    return InvalidArgument("invalid response_mode: \"" + c.oidc_response_mode + "\"");
  }
  if (!c.provider_config.empty()) {
    return InvalidArgument(
        "invalid provider_config: provider-specific configuration is not supported");
  }
  return c;
}

Json ConfigReadData(const JwtConfig& c) { return ToJson(c, false); }

std::string ConfigToStorage(const JwtConfig& c) { return ToJson(c, true).dump(); }

StatusOr<JwtConfig> ConfigFromStorage(const std::string& raw) {
  Json j = Json::parse(raw, nullptr, false);
  if (!j.is_object()) return Internal("jwt: corrupt config record");
  try {
    JwtConfig c;
    c.oidc_discovery_url = j.value("oidc_discovery_url", std::string());
    c.oidc_discovery_ca_pem = j.value("oidc_discovery_ca_pem", std::string());
    c.oidc_client_id = j.value("oidc_client_id", std::string());
    c.oidc_client_secret = j.value("oidc_client_secret", std::string());
    c.oidc_response_mode = j.value("oidc_response_mode", std::string());
    c.oidc_response_types = Strings(j, "oidc_response_types");
    c.jwks_url = j.value("jwks_url", std::string());
    c.jwks_ca_pem = j.value("jwks_ca_pem", std::string());
    c.jwt_validation_pubkeys = Strings(j, "jwt_validation_pubkeys");
    c.jwt_supported_algs = Strings(j, "jwt_supported_algs");
    c.bound_issuer = j.value("bound_issuer", std::string());
    c.default_role = j.value("default_role", std::string());
    if (j.contains("provider_config") && j["provider_config"].is_object()) {
      c.provider_config = j["provider_config"];
    }
    c.namespace_in_state = j.value("namespace_in_state", true);
    return c;
  } catch (const std::exception&) {
    return Internal("jwt: corrupt config record");
  }
}

}  // namespace arca::auth::jwt
