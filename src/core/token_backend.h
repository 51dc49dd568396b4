// arca: TokenBackend, the `auth/token/` mount (Vault's token store
// endpoints), and the helpers core uses to mint login tokens and to render
// token entries on the wire.
//
// Core authenticates each request, sets req.sudo / req.policies / ... and
// hands TokenBackend the path relative to the mount ("create",
// "lookup-self", "roles/x"), the caller's raw token in req.client_token and
// the effective TTLs of the auth/token mount in req.mount_default_ttl /
// req.mount_max_ttl. Endpoints (Vault 1.14 semantics, see vault-api.md §4):
// create, create-orphan, create/<role>, lookup, lookup-self, lookup-accessor,
// renew, renew-self, renew-accessor, revoke, revoke-self, revoke-accessor,
// revoke-orphan (sudo), accessors (LIST, sudo), roles, roles/<name>, tidy.
// Batch tokens are not supported: `type=batch` is refused with 400.
// Renewing a token minted by another auth method asks that method first
// (AuthRenewFn); its refusal fails the renewal.
//
// Bound CIDRs (Vault semantics): a token created against a role gets the
// role's token_bound_cidrs; any other non-orphan child inherits its
// parent's; orphans without a role and tokens that never expire are
// unbound. Core refuses a bound token used from elsewhere (403).
//
// Roles are stored below the token store's view at "roles/<name>".
// Safe for concurrent use; the Set* wiring must happen before the backend
// serves requests.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "core/token_role.h"
#include "core/token_store.h"
#include "logical/backend.h"
#include "logical/request.h"

namespace arca::core {

// Mints the token of a login to another auth method: an orphan service token
// with path `path` ("auth/jwt/login"), the auth's entity_id, metadata,
// display_name (verbatim: the "<mount>-" prefix is the caller's job),
// num_uses, period, explicit max, bound_cidrs (rendered by ParseAddrs) and
// policies sanitised (sorted, "default" added unless no_default_policy). The
// TTL follows Vault's CalculateTTL with the auth method's ttl / max_ttl and
// the mount's effective TTLs; capping warnings are appended to `warnings`.
// Errors: InvalidArgument (negative num_uses, a bound CIDR that does not
// parse), storage errors.
StatusOr<TokenEntry> CreateTokenFromAuth(TokenStore& store, const logical::Auth& auth,
                                         std::string_view path, int64_t mount_default_ttl,
                                         int64_t mount_max_ttl,
                                         std::vector<std::string>* warnings);

// The response `auth` block for `entry`: client_token (entry.id), accessor,
// policies and token_policies, metadata, display_name, lease_duration (the
// seconds left at `clock`, 0 for a non-expiring token), renewable, entity_id,
// token_type, orphan, num_uses, and ttl / max_ttl / period /
// explicit_max_ttl / bound_cidrs as stored (not rendered on the wire).
// identity_policies is left to the caller.
logical::Auth TokenToAuth(const TokenEntry& entry, const Clock& clock);

// The `data` of lookup / lookup-self / lookup-accessor (vault-api.md §4.4) at
// unix time `now`. Tokens with an expiry carry issue_time, renewable,
// expire_time (RFC 3339) and ttl (seconds left); non-expiring ones have
// expire_time null and ttl 0 and no issue_time / renewable. `meta` is null
// when empty; bound_cidrs appears only when set. identity_policies (and
// external_namespace_policies {}) appear only when `identity_policies` is
// non-empty.
logical::Json TokenLookupData(const TokenEntry& entry, int64_t now,
                              const std::vector<std::string>& identity_policies = {});

class TokenBackend final : public logical::Backend {
 public:
  using PolicyExistsFn = std::function<bool(std::string_view policy)>;
  struct MountTtls {
    int64_t default_ttl = 0;
    int64_t max_ttl = 0;
  };
  // The effective TTLs of the mount a token was created on (its path, e.g.
  // "auth/jwt/login"); nullopt = unknown (the auth/token mount's are used).
  using MountTtlFn = std::function<std::optional<MountTtls>(std::string_view token_path)>;
  using IdentityPoliciesFn = std::function<std::vector<std::string>(std::string_view entity_id)>;
  // Creates or finds the entity for `entity_alias` on the token mount;
  // returns its id.
  using EntityAliasFn =
      std::function<StatusOr<std::string>(std::string_view alias_name,
                                          std::string_view mount_accessor)>;
  // Asks the auth method mounted at the token's creation path (e.g.
  // "auth/jwt/login") to approve a renewal: logical::Backend::Renew with
  // `auth` (the token as stored, client_token empty); `caller` is the
  // renew request (for its remote address). Returns the Auth to renew with,
  // `auth` unchanged when no auth method is mounted there. Called without
  // any token-store lock held.
  using AuthRenewFn = std::function<StatusOr<logical::Auth>(
      std::string_view token_path, const logical::Auth& auth, const logical::Request& caller)>;

  // `policy_exists` feeds the `Policy "x" does not exist` warnings of create.
  TokenBackend(TokenStore& store, PolicyExistsFn policy_exists, Clock& clock);

  // Optional wiring. Without a MountTtlFn renewals use the auth/token mount's
  // TTLs; without IdentityPoliciesFn lookups show no identity_policies;
  // without EntityAliasFn `entity_alias` is refused with 400; without an
  // AuthRenewFn login tokens renew without asking their auth method.
  void SetMountTtlResolver(MountTtlFn fn) { mount_ttls_ = std::move(fn); }
  void SetAuthRenewer(AuthRenewFn fn) { auth_renewer_ = std::move(fn); }
  void SetIdentityPolicies(IdentityPoliciesFn fn) { identity_policies_ = std::move(fn); }
  void SetEntityAliasResolver(EntityAliasFn fn) { entity_alias_ = std::move(fn); }

  StatusOr<logical::Response> HandleRequest(logical::Request& req) override;
  // roles/<name>: whether the role exists; everything else is an update.
  StatusOr<bool> Exists(logical::Request& req) override;
  std::vector<std::string> RootPaths() const override { return {"revoke-orphan*", "accessors*"}; }

 private:
  using Response = logical::Response;
  using Request = logical::Request;

  // token_create.cc
  StatusOr<Response> HandleCreate(Request& req, bool orphan, const TokenRole* role);

  // token_backend.cc
  StatusOr<Response> HandleLookup(Request& req, std::string_view token, bool self);
  StatusOr<Response> HandleLookupAccessor(Request& req);
  StatusOr<Response> HandleRenew(Request& req, const std::optional<TokenEntry>& entry,
                                 bool hide_token);
  StatusOr<Response> HandleRevoke(Request& req, std::string_view which);
  StatusOr<Response> HandleRoles(Request& req, std::string_view name);
  StatusOr<Response> HandleTidy(Request& req);
  StatusOr<std::optional<TokenRole>> LoadRole(std::string_view name);
  MountTtls TtlsFor(const Request& req, const TokenEntry& entry) const;
  std::vector<std::string> IdentityPoliciesOf(const TokenEntry& entry) const;

  TokenStore& store_;
  PolicyExistsFn policy_exists_;
  Clock& clock_;
  MountTtlFn mount_ttls_;
  IdentityPoliciesFn identity_policies_;
  EntityAliasFn entity_alias_;
  AuthRenewFn auth_renewer_;
};

}  // namespace arca::core
