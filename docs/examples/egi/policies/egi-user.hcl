# egi-user: what every EGI Check-in user (and service account) gets at login,
# from the token_policies of the jwt and oidc roles.
#
# The private space is secrets/users/<sub>/, where <sub> is the Check-in
# `sub` (e.g. 4f2a…e9@egi.eu), which the roles' user_claim = "sub" makes the
# name of the login's entity alias. A policy template names the alias by the
# auth mount's *accessor*, which exists only once the mount is enabled:
# setup.sh replaces AUTH_JWT_ACCESSOR and AUTH_OIDC_ACCESSOR with the values
# from `arca auth list` (e.g. auth_jwt_1a2b3c4d) before writing the policy.
# By hand:
#
#   arca auth list -format=json | jq -r '."jwt/".accessor, ."oidc/".accessor'
#   sed -e s/AUTH_JWT_ACCESSOR/auth_jwt_1a2b3c4d/ -e s/AUTH_OIDC_ACCESSOR/auth_oidc_5e6f7a8b/ \
#       egi-user.hcl | arca policy write egi-user -
#
# A jwt login and an oidc login of the same person create two entities (one
# alias each), so there is one block per mount; on a token of the other mount
# the template does not resolve and that block is ignored.

# Private space, JWT logins (fedcloudclient, hvac, the CLI, service accounts).
path "secrets/users/{{identity.entity.aliases.AUTH_JWT_ACCESSOR.name}}/*" {
  capabilities = ["create", "read", "update", "delete", "list"]
}

# Private space, OIDC logins (the web UI, `arca login -method=oidc`).
path "secrets/users/{{identity.entity.aliases.AUTH_OIDC_ACCESSOR.name}}/*" {
  capabilities = ["create", "read", "update", "delete", "list"]
}

# Browsing: the top folder and the list of user folders (as EGI's store
# allows today; drop these two blocks to hide other users' ids).
path "secrets/" {
  capabilities = ["list"]
}
path "secrets/users/" {
  capabilities = ["list"]
}

# Lockers and one-time tokens: a child token with the default policy
# (cubbyhole, lookup/renew/revoke-self), `fedcloud secret locker create`.
path "auth/token/create" {
  capabilities = ["update"]
}
