// arca: the auth methods mounted under auth/ — today the jwt/oidc method
// (HashiCorp's vault-plugin-auth-jwt v0.16 behaviour, vault-api.md section 6).
//
// JwtFactory() creates one backend per mount; the same factory serves the
// mount types "jwt" and "oidc" (one plugin, as in Vault). The backend keeps
// its config at "config" and its roles at "role/<name>" in the mount's
// storage view (BackendConfig::storage, or Request::storage when set), reads
// time only from BackendConfig::clock (the real clock when null), and is safe
// for concurrent use.
//
// Paths (relative to the mount):
//   config                 read, write (204)
//   role/<name>            read, write, delete; role/ LIST
//   login                  write {role, jwt}                    (unauthenticated)
//   oidc/auth_url          write {role, redirect_uri, client_nonce} (unauthenticated)
//   oidc/callback          read {state, code, client_nonce}; write only in
//                          form_post response mode              (unauthenticated)
// Errors follow Vault's texts: InvalidArgument (400) for every rejected login
// ("error validating token: ...", `role "x" could not be found`, ...),
// PermissionDenied (403) for token_bound_cidrs, UnsupportedPath /
// UnsupportedOperation for unknown routes / verbs.
//
// Successful logins (login, oidc/callback) return a Response whose `auth`
// carries: policies = the role's token_policies; metadata = {"role": <role>}
// plus the claim_mappings targets; alias = {name: user_claim value,
// metadata: claim_mappings}; group_aliases = one per groups_claim value;
// display_name = the user_claim value (Vault's plugin does the same: the
// "<mount>-" prefix, e.g. "jwt-alice", is added by core when it mints the
// token); ttl / max_ttl / explicit_max_ttl / period / num_uses /
// no_default_policy / bound_cidrs from the role's token_* fields; renewable
// = true. Core binds the minted token to bound_cidrs: it is refused (403)
// when used from elsewhere, as in Vault.
//
// Renewal (Vault's pathLoginRenew): core calls Backend::Renew when such a
// token is renewed. The role named by the token's "role" metadata must
// still exist (else the renewal fails, 500 `failed to renew entry: role
// <name> does not exist during renewal`); the role's current token_ttl,
// token_max_ttl and token_period become the renewal's TTL, max TTL and
// period.
//
// Extension over Vault — role option `userinfo_claims` (bool, default
// false): after the presented JWT has been verified, the provider's userinfo
// endpoint (from the oidc_discovery_url discovery document, so the mount must
// use discovery) is called with that JWT as a Bearer token. Its claims are
// merged into the token's — the token's values win on conflicts, except for
// the groups claim, which userinfo may provide — and only then are
// user_claim, groups_claim, bound_claims and claim_mappings evaluated. The
// userinfo `sub` must equal the token's. Answers are cached per token
// (SHA-256) until the token's `exp`, at most 10,000 entries. A failed
// userinfo call fails the login ("error fetching userinfo: ..."). This lets
// EGI Check-in access tokens, which carry no eduperson_entitlement, map VO
// memberships to group aliases on the JWT mount too.
//
// Not implemented: provider_config (azure, gsuite, ...: refused when
// non-empty), token_type "batch" (refused), OIDC device flow / oidc/poll.
#pragma once

#include "logical/backend.h"

namespace arca::auth {

logical::Factory JwtFactory();

}  // namespace arca::auth
