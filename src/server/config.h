// arca: the server configuration file (Vault's command/server/config.go).
//
// ParseConfig reads Vault's syntax, in HCL or JSON (JSON when the file name
// ends in ".json" or the first non-space character is '{'):
//
//   listener "tcp" {                 # one or more
//     address              = "127.0.0.1:8200"
//     tls_disable          = true    # bool, 0/1 or "true"/"false"
//     tls_cert_file        = "/etc/arca/cert.pem"  # required unless tls_disable
//     tls_key_file         = "/etc/arca/key.pem"
//     tls_min_version      = "tls12" # or "tls13"
//     max_request_size     = 33554432  # bytes; 0 = default 32 MiB; < 0 = no limit
//     max_request_duration = "90s"   # duration or seconds; 0 = default 90s
//   }
//   storage "file" { path = "/var/lib/arca" }   # exactly one; also "inmem" {}
//                                               # `backend` is the legacy name
//   storage "etcd" {                 # a cluster on etcd v3 (docs/operations.md)
//     address = "https://a:2379,https://b:2379"  # default http://127.0.0.1:2379
//     path = "/vault/"  ha_enabled = "true"  etcd_api = "v3"
//     tls_ca_file = "..."  tls_cert_file = "..."  tls_key_file = "..."
//     tls_server_name = "..."  request_timeout = "5s"  lock_timeout = "2s"
//     max_receive_size = 67108864  node_id = "node1"   # default: hostname
//   }
//   forwarding_ca_file = "/etc/arca/ca.pem"   # HA: verifies the active node
//   disable_forwarding = false       # HA: standbys answer 307 instead
//   api_addr = "https://arca.example:8200"
//   cluster_addr = "https://arca.example:8201"
//   cluster_name = "arca"
//   ui = false
//   log_level = "info"               # trace|debug|info|warn|err|error
//   disable_mlock = true
//   default_lease_ttl = "768h"
//   max_lease_ttl = "768h"
//   dns "rfc2136" { hostname = "arca.example.org." ... }  # zero or more;
//                                    # the keys: src/dns/stanza.h
//
// Every problem (unknown key, wrong type, bad duration, unknown storage or
// listener type, TLS enabled without cert and key, default_lease_ttl above
// max_lease_ttl, duplicate keys) is an InvalidArgument whose message names
// file, line and key: `config.hcl:7: unknown key "adress" in listener "tcp"`.
// Pure functions, safe for concurrent use.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "dns/stanza.h"

namespace arca::server {

inline constexpr int64_t kDefaultMaxRequestSize = 32 << 20;  // bytes
inline constexpr int64_t kDefaultMaxRequestDuration = 90;     // seconds
inline constexpr int64_t kDefaultLeaseTtl = 768 * 3600;       // 32 days, as Vault
inline constexpr int64_t kDefaultMaxLeaseTtl = 768 * 3600;

struct ListenerConfig {
  std::string type = "tcp";
  std::string address = "127.0.0.1:8200";
  bool tls_disable = false;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_min_version = "tls12";  // "tls12" or "tls13"
  // Bytes; -1 means no limit (a negative value in the file).
  int64_t max_request_size = kDefaultMaxRequestSize;
  int64_t max_request_duration = kDefaultMaxRequestDuration;  // seconds
  int line = 0;  // of the listener stanza
};

// One storage stanza. `options` holds the stanza's keys, validated against
// the type's schema (see config.cc) and rendered as strings: strings as is,
// bools "true"/"false", integers and durations in decimal (durations in
// seconds), lists joined with ",".
struct StorageConfig {
  std::string type;  // "inmem", "file"
  std::map<std::string, std::string> options;
  std::map<std::string, int> option_lines;  // key → line, for later errors
  int line = 0;
};

struct ServerConfig {
  std::string file;  // as given to ParseConfig, used in messages
  std::vector<ListenerConfig> listeners;  // at least one
  StorageConfig storage;
  std::string api_addr;
  std::string cluster_addr;
  std::string cluster_name;
  // HA: the CA that signs the other nodes' listener certificates (requests
  // forwarded by a standby are sent to the active over TLS; empty = system
  // roots), and whether standbys answer 307 instead of forwarding.
  std::string forwarding_ca_file;
  bool disable_forwarding = false;
  bool ui = false;
  std::string log_level = "info";  // normalized: trace|debug|info|warn|error
  bool disable_mlock = false;
  int64_t default_lease_ttl = kDefaultLeaseTtl;  // seconds
  int64_t max_lease_ttl = kDefaultMaxLeaseTtl;   // seconds
  // The generic DNS name this node points at itself while active, one per
  // `dns` stanza (secret files not read yet: dns::LoadSecretFiles).
  std::vector<dns::StanzaConfig> dns;
};

// Parses config text; `filename` is used in messages and picks JSON syntax
// when it ends in ".json". Errors: InvalidArgument "<file>:<line>: <what>".
StatusOr<ServerConfig> ParseConfig(std::string_view text, std::string_view filename);

// Reads (at most 1 MiB) and parses the file at `path`. Errors:
// InvalidArgument as ParseConfig, or "<path>: cannot read: <reason>".
StatusOr<ServerConfig> ParseConfigFile(const std::string& path);

}  // namespace arca::server
