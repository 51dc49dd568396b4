// arca: the `dns` config stanza, shared by `arca server` (server/config.cc)
// and `arca endpoint watch`.
//
//   dns "rfc2136" {                       # or dns "dyndns2" { ... }; repeatable
//     hostname       = "arca.example.org."    # required
//     addresses      = ["192.0.2.10", "2001:db8::10"]  # or "a,b"; required
//     ttl            = 60                     # seconds
//     reassert       = "30s"                  # Go duration ("500ms", "1m") or seconds
//     timeout        = "5s"
//     publish        = true                   # false: this node never publishes
//     pause_file     = "/var/lib/arca/dns.pause"  # while it exists: no publishing
//     # rfc2136
//     server         = "127.0.0.1:5353"       # host[:port], port 53 by default
//     zone           = "example.org."         # default: hostname minus its first label
//     tsig_key_name  = "arca-update"
//     tsig_algorithm = "hmac-sha256"          # what this ldns signs with
//     tsig_secret    = "base64..."            # or tsig_secret_file (BIND key file or base64)
//     # dyndns2
//     url            = "https://nsupdate.fedcloud.eu/nic/update"
//     username       = "..."                  # default: the hostname without the dot
//     password       = "..."                  # or password_file
//     ca_file        = "..."                  # default: the system roots
//   }
//
// Every problem is an InvalidArgument "<file>:<line>: <what>" naming the key:
// unknown keys, keys of the other updater, wrong types, bad durations, and
// everything dns::Validate checks (reported at the offending key's line).
// Pure functions but LoadSecretFiles (reads files); safe for concurrent use.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "dns/publisher.h"
#include "hcl/hcl.h"

namespace arca::dns {

struct StanzaConfig {
  PublisherConfig publisher;     // secrets empty until LoadSecretFiles when given as files
  std::string tsig_secret_file;  // rfc2136
  std::string password_file;     // dyndns2
  bool publish = true;
  std::string pause_file;
  int line = 0;                  // of the stanza
};

// Parses one `dns "<updater>" { ... }` block of `file`. With
// `require_addresses` false (the watcher publishes the nodes' addresses),
// `addresses` may be absent.
StatusOr<StanzaConfig> ParseStanza(const hcl::Block& block, std::string_view file,
                                   bool require_addresses = true);

// Reads tsig_secret_file / password_file (regular files of at most 64 KiB)
// into the publisher config, then runs Validate. A BIND key file
// (`key "n" { algorithm hmac-sha256; secret "..."; };`) gives its secret;
// its algorithm must match tsig_algorithm. Errors: InvalidArgument
// "<file>:<stanza line>: dns \"rfc2136\": tsig_secret_file: ..." (never
// quoting the secret).
Status LoadSecretFiles(StanzaConfig& stanza, std::string_view config_file);

}  // namespace arca::dns
