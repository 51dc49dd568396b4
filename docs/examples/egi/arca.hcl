# arca.hcl: one node of an EGI-like secrets store.
#
#   arca server -config=/etc/arca/arca.hcl
#
# Single node: file storage on local disk. The Check-in side (auth/jwt/,
# auth/oidc/, policies, VO groups) is configuration *inside* the store,
# written by setup.sh once the server is initialised and unsealed.

storage "file" {
  path = "/var/lib/arca"
}

listener "tcp" {
  address       = "0.0.0.0:8200"
  # The certificate must name every DNS name clients use: the node's own name,
  # the generic name (vault.services.fedcloud.eu-like) and secrets.egi.eu-like
  # aliases, if they point at the nodes.
  tls_cert_file = "/etc/arca/tls/node.pem"      # leaf first, then the chain
  tls_key_file  = "/etc/arca/tls/node-key.pem"
  tls_min_version = "tls12"
}

api_addr = "https://secrets.example.org:8200"

# Login tokens default to 1 h (the roles' token_ttl) and can be renewed up to
# 32 days: lockers renew their parent to 24 h first.
default_lease_ttl = "768h"
max_lease_ttl     = "768h"
log_level         = "info"

# Cluster (three sites, one active node, standbys forwarding to it): replace
# the storage block by the etcd one of docs/operations.md ("Clusters on
# etcd") on every node, and add
#
#   cluster_addr       = "https://site1.secrets.example.org:8201"
#   forwarding_ca_file = "/etc/arca/ca.pem"
#
# with api_addr set to the node's own name. Run setup.sh once, against any
# unsealed node: mounts, policies, roles and groups live in the shared storage.
