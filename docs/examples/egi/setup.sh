#!/usr/bin/env bash
# Configures an arca server as an EGI-like secrets store (see README.md):
#   * KV version 1 at secrets/ (private spaces secrets/users/<sub>/, VO spaces
#     secrets/vos/<vo>/);
#   * auth/jwt/ for Check-in access tokens (default role "egi": users, VO
#     memberships from userinfo; role "service": client-credentials service
#     accounts);
#   * auth/oidc/ for the browser flow (web UI, `arca login -method=oidc`), when
#     OIDC_CLIENT_ID and OIDC_CLIENT_SECRET are set;
#   * the policies egi-user (private space) and egi-vo (VO spaces, one block
#     per VO and mount, gated by group membership), and per VO one external
#     group per auth mount whose group alias is the VO's entitlement.
#
# Re-running it is safe (it updates what exists; add VOs to EGI_VOS and run it
# again). Needs the arca CLI and jq, and a token allowed to configure the
# server (root or an admin policy):
#
#   export VAULT_ADDR=https://arca.example.org:8200 VAULT_TOKEN=...
#   OIDC_CLIENT_ID=... OIDC_CLIENT_SECRET=... EGI_VOS="vo.access.egi.eu cloud.egi.eu" ./setup.sh
#
# Settings (environment):
#   ARCA                 the CLI                      (default: arca)
#   OIDC_ISSUER          Check-in's issuer            (default: https://aai.egi.eu/auth/realms/egi)
#   OIDC_CA_PEM_FILE     CA bundle for the issuer, if not in the system store
#   OIDC_CLIENT_ID       the OIDC client registered at Check-in for this server
#   OIDC_CLIENT_SECRET   its secret (both empty: no auth/oidc/ mount)
#   OIDC_REDIRECT_URIS   comma-separated redirect URIs allowed for the oidc role
#                        (default: https://$(hostname -f):8200/ui/vault/auth/oidc/oidc/callback,
#                         http://localhost:8250/oidc/callback)
#   EGI_VOS              space-separated VO names     (default: vo.access.egi.eu)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
ARCA=${ARCA:-arca}
OIDC_ISSUER=${OIDC_ISSUER:-https://aai.egi.eu/auth/realms/egi}
OIDC_CA_PEM_FILE=${OIDC_CA_PEM_FILE:-}
OIDC_CLIENT_ID=${OIDC_CLIENT_ID:-}
OIDC_CLIENT_SECRET=${OIDC_CLIENT_SECRET:-}
OIDC_REDIRECT_URIS=${OIDC_REDIRECT_URIS:-https://$(hostname -f 2>/dev/null || hostname):8200/ui/vault/auth/oidc/oidc/callback,http://localhost:8250/oidc/callback}
EGI_VOS=${EGI_VOS:-vo.access.egi.eu}

die() { echo "setup.sh: $*" >&2; exit 1; }
arca() { "$ARCA" "$@"; }

[ -n "${VAULT_ADDR:-}" ] || die "VAULT_ADDR is not set"
command -v jq >/dev/null || die "jq is needed"
if { [ -n "$OIDC_CLIENT_ID" ] && [ -z "$OIDC_CLIENT_SECRET" ]; } ||
   { [ -z "$OIDC_CLIENT_ID" ] && [ -n "$OIDC_CLIENT_SECRET" ]; }; then
  die "set both OIDC_CLIENT_ID and OIDC_CLIENT_SECRET, or neither"
fi
for vo in $EGI_VOS; do
  [[ $vo =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || die "bad VO name: $vo"
done
ca_args=()
if [ -n "$OIDC_CA_PEM_FILE" ]; then
  [ -r "$OIDC_CA_PEM_FILE" ] || die "cannot read $OIDC_CA_PEM_FILE"
  ca_args=("oidc_discovery_ca_pem=@$OIDC_CA_PEM_FILE")
fi

# --- mounts -------------------------------------------------------------------

if ! arca secrets list -format=json | jq -e 'has("secrets/")' >/dev/null; then
  arca secrets enable -path=secrets -version=1 -description="EGI secrets (KV v1)" kv
fi

auth_mounts=$(arca auth list -format=json)
if ! jq -e 'has("jwt/")' <<<"$auth_mounts" >/dev/null; then
  arca auth enable -path=jwt -description="EGI Check-in access tokens" jwt
fi
if [ -n "$OIDC_CLIENT_ID" ] && ! jq -e 'has("oidc/")' <<<"$auth_mounts" >/dev/null; then
  arca auth enable -path=oidc -description="EGI Check-in login (browser)" oidc
fi
auth_mounts=$(arca auth list -format=json)
jwt_accessor=$(jq -r '."jwt/".accessor' <<<"$auth_mounts")
oidc_accessor=$(jq -r '."oidc/".accessor // empty' <<<"$auth_mounts")
[ -n "$jwt_accessor" ] && [ "$jwt_accessor" != null ] || die "no accessor for auth/jwt/"

# --- policies -----------------------------------------------------------------

# The oidc block of egi-user never matches without an oidc mount: a template
# naming an accessor that does not exist does not resolve.
sed -e "s/AUTH_JWT_ACCESSOR/$jwt_accessor/g" \
    -e "s/AUTH_OIDC_ACCESSOR/${oidc_accessor:-auth_oidc_not_enabled}/g" \
    "$here/policies/egi-user.hcl" | arca policy write egi-user -
# egi-vo: its header, then the per-VO part once per VO.
{
  sed -n '1,/^# --- per VO/p' "$here/policies/egi-vo.hcl"
  for vo in $EGI_VOS; do
    sed -n '/^# --- per VO/,$p' "$here/policies/egi-vo.hcl" | sed 1d |
      sed -e "s/VO_GROUP/${vo//./_}/g" -e "s/VO_NAME/$vo/g"
  done
} | arca policy write egi-vo -

# --- auth/jwt/ ------------------------------------------------------------------

arca write auth/jwt/config oidc_discovery_url="$OIDC_ISSUER" bound_issuer="$OIDC_ISSUER" \
  default_role=egi "${ca_args[@]}" >/dev/null
arca write auth/jwt/role/egi "@$here/roles/jwt-egi.json" >/dev/null
arca write auth/jwt/role/service "@$here/roles/jwt-service.json" >/dev/null

# --- auth/oidc/ -----------------------------------------------------------------

if [ -n "$OIDC_CLIENT_ID" ]; then
  arca write auth/oidc/config oidc_discovery_url="$OIDC_ISSUER" bound_issuer="$OIDC_ISSUER" \
    oidc_client_id="$OIDC_CLIENT_ID" oidc_client_secret="$OIDC_CLIENT_SECRET" \
    default_role=egi "${ca_args[@]}" >/dev/null
  arca write auth/oidc/role/egi "@$here/roles/oidc-egi.json" \
    allowed_redirect_uris="$OIDC_REDIRECT_URIS" >/dev/null
fi

# --- VO groups ------------------------------------------------------------------

# ensure_group NAME VO ACCESSOR ALIAS: an external group with metadata vo=VO
# (what egi-vo's templates read) whose group alias on the mount ACCESSOR is ALIAS.
ensure_group() {
  local name=$1 vo=$2 accessor=$3 alias=$4 group id current
  group=$(arca read -format=json "identity/group/name/$name" 2>/dev/null || true)
  if [ -n "$group" ] && [ "$(jq -r '.data.metadata.vo // empty' <<<"$group")" != "$vo" ]; then
    die "group $name exists and is not the group of VO $vo"
  fi
  jq -n --arg vo "$vo" '{type: "external", metadata: {vo: $vo}, policies: []}' |
    arca write "identity/group/name/$name" - >/dev/null
  group=$(arca read -format=json "identity/group/name/$name")
  id=$(jq -r '.data.id' <<<"$group")
  current=$(jq -r '.data.alias.name // empty' <<<"$group")
  if [ -z "$current" ]; then
    arca write identity/group-alias name="$alias" mount_accessor="$accessor" \
      canonical_id="$id" >/dev/null
  elif [ "$current" != "$alias" ]; then
    die "group $name already has the alias $current"
  fi
}

for vo in $EGI_VOS; do
  entitlement="urn:mace:egi.eu:group:$vo:role=member#aai.egi.eu"
  ensure_group "${vo//./_}-jwt" "$vo" "$jwt_accessor" "$entitlement"
  if [ -n "$oidc_accessor" ]; then
    ensure_group "${vo//./_}-oidc" "$vo" "$oidc_accessor" "$entitlement"
  fi
done

echo "EGI setup done: secrets/ (kv v1), auth/jwt/ ($jwt_accessor)${oidc_accessor:+, auth/oidc/ ($oidc_accessor)}; VOs: $EGI_VOS"
