# egi-vo: the VO spaces, secrets/vos/<vo>/, each for the members of its VO.
# A token policy of the login roles (next to egi-user), written by setup.sh:
# the header block once, then the two VO blocks below once per VO, with
#   VO_NAME   the VO, e.g. vo.access.egi.eu
#   VO_GROUP  its groups' base name, the VO with "." replaced by "_"
#             (e.g. vo_access_egi_eu; a template key ends at the first ".")
#
# Membership: per VO and auth mount there is an external group
# (VO_GROUP-jwt, VO_GROUP-oidc) with metadata vo=VO_NAME and, as group alias
# on that mount, the Check-in entitlement
#   urn:mace:egi.eu:group:VO_NAME:role=member#aai.egi.eu
# The roles' groups_claim eduperson_entitlement puts the login's entity into
# the groups whose alias it holds and takes it out of the others. The
# template {{identity.groups.names.VO_GROUP-jwt.metadata.vo}} resolves (to
# VO_NAME) only for members; for anyone else the block is dropped.
#
# Why a membership-gated token policy and not a policy on each VO group:
# group policies are identity policies, and every child token inherits its
# parent's entity — so a locker (`fedcloud secret locker create`, policy
# "default" only) would reach the VO spaces of its creator. A token policy is
# not inherited: lockers stay confined to their cubbyhole.

path "secrets/vos/" {
  capabilities = ["list"]
}

# --- per VO (setup.sh repeats this part) ---
path "secrets/vos/{{identity.groups.names.VO_GROUP-jwt.metadata.vo}}/*" {
  capabilities = ["create", "read", "update", "delete", "list"]
}
path "secrets/vos/{{identity.groups.names.VO_GROUP-oidc.metadata.vo}}/*" {
  capabilities = ["create", "read", "update", "delete", "list"]
}
