// arca: dns::Publisher, the active node points the generic name at itself.
//
// One Publisher per `dns` config stanza. While told the node is active it
// publishes the stanza's records (A and/or AAAA of `hostname`, with `ttl`)
// through its updater at once, then re-asserts them every `reassert`; a
// failed update is retried with exponential backoff (from 250 ms, doubling,
// up to `reassert`). Before every update it asks `may_publish()` (the HA
// lease is still held) and skips the update if not, so a standby or a node
// that lost its lease never publishes. Updaters:
//   * rfc2136: a DNS UPDATE (delete the name's A/AAAA RRsets, add ours)
//     signed with TSIG (hmac-sha256 by default; any algorithm ldns knows),
//     sent over UDP (TCP on truncation) to `server` (host:port), zone
//     `zone` (default: the hostname's parent).
//     A NOERROR answer must carry a TSIG that verifies, else it is not
//     trusted (result "badsig").
//   * dyndns2: GET <url>?hostname=<fqdn>&myip=<ip> with HTTP Basic auth
//     (nsupdate.info, EGI's dynamic DNS), one request per address; answers
//     good, nochg (success), badauth, notfqdn, nohost, abuse, badagent,
//     dnserr, 911 (failure).
// Failures that need an operator (NOTAUTH, REFUSED and other refusals by
// the DNS server; badauth, notfqdn, nohost, abuse, badagent) are not
// retried faster than `reassert`; the others (timeouts, unreachable server,
// SERVFAIL, dnserr, 911, garbled answers) back off as above.
// Status() reports the last attempt and result for sys/ha-status and the
// metrics (arca_dns_updates_total{name,result}, arca_dns_last_success_seconds{name},
// arca_dns_consecutive_failures{name}). Secrets (TSIG key, dyndns2
// password) are never logged nor put in a message.
//
// Thread-safe; one background thread per publisher, stopped by Stop() or
// the destructor.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/metrics.h"
#include "base/status.h"

namespace arca::dns {

struct PublisherConfig {
  std::string hostname;                // the generic name, "arca.example.org."
  std::vector<std::string> addresses;  // this node's A and/or AAAA addresses
  int64_t ttl = 60;                    // seconds
  std::chrono::milliseconds reassert{30000};
  std::string updater;                 // "rfc2136" or "dyndns2"
  // rfc2136
  std::string server;                  // "ns1.example.org:53" or "127.0.0.1:5353"
  std::string zone;                    // default: hostname minus its first label
  std::string tsig_key_name;
  std::string tsig_algorithm = "hmac-sha256";
  std::string tsig_secret;             // base64, as in BIND's key files
  // dyndns2
  std::string url;                     // "https://nsupdate.fedcloud.eu/nic/update"
  std::string username;                // default: hostname without the trailing dot
  std::string password;
  std::string ca_file;                 // for https; empty = system roots
  std::chrono::milliseconds timeout{5000};
};

struct PublisherStatus {
  std::string hostname;
  std::string updater;
  bool publishing = false;   // told active
  std::string last_result;   // "good", "nochg", "NOERROR", "badauth", "REFUSED", "NOTAUTH", "timeout", ...
  bool last_ok = false;
  std::string last_error;    // human-readable, no secrets
  int64_t last_attempt_unix = 0;
  int64_t last_success_unix = 0;
  uint64_t failures = 0;     // consecutive
};

// Checks a stanza (hostname, addresses are IPs, known updater and TSIG
// algorithm, secret is base64, url is http(s)). InvalidArgument naming the key.
Status Validate(const PublisherConfig& config);

// One update now, outside any publisher (used by `arca endpoint watch` and
// the tests): points config.hostname at `addresses` (config.addresses is
// ignored). Validates first (InvalidArgument, result "invalid"). OK, or
// kPermissionDenied / kInvalidArgument for failures that need an operator,
// kUnavailable for the others. `*result` (may be null) gets the short
// outcome: "NOERROR", "NOTAUTH", "REFUSED", "good", "nochg", "badauth",
// "timeout", "refused", "unreachable", "badsig", "badanswer", ...
Status UpdateOnce(const PublisherConfig& config, const std::vector<std::string>& addresses,
                  std::string* result);

class Publisher {
 public:
  Publisher(PublisherConfig config, std::function<bool()> may_publish, Clock& clock,
            metrics::Registry& registry);
  ~Publisher();
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  void Start();
  void Stop();
  // Called by the HA manager on every role change.
  void SetActive(bool active);
  PublisherStatus Status() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace arca::dns
