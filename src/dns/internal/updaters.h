// arca: the two DNS updaters behind dns::UpdateOnce, and the checks they
// share with Validate. Internal to arca_dns.
//
// Both updaters return OK on success, else a Status whose code tells the
// publisher how to retry: kPermissionDenied or kInvalidArgument need an
// operator (wrong key, refused, unknown host: retried every `reassert`),
// anything else (kUnavailable: timeout, unreachable, SERVFAIL, dnserr, 911,
// a garbled answer) is retried with backoff. `*result` always gets the short
// outcome ("NOERROR", "NOTAUTH", "good", "badauth", "timeout", ...).
// Messages never contain a secret. Safe for concurrent use.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "dns/publisher.h"

namespace arca::dns::internal {

bool IsIpv4(std::string_view s);
bool IsIpv6(std::string_view s);
// A host name of letters, digits, '-' and '_' labels (1..63 bytes each,
// at most 253 in all), with or without the trailing dot.
bool IsDnsName(std::string_view s);
// "a.b." for "a.b" or "a.b.", lowercase.
std::string Absolute(std::string_view name);
// The name minus its first label: "arca.example.org." -> "example.org.".
std::string ParentZone(std::string_view name);

// The algorithm name ldns signs with for a configured one ("hmac-sha256"
// -> "hmac-sha256.", "hmac-md5" -> "hmac-md5.sig-alg.reg.int."), or "" when
// this ldns cannot sign with it (probed once per name).
std::string LdnsAlgorithm(std::string_view configured);
// The configured names this ldns can sign with, for messages.
std::string SupportedAlgorithms();

Status Rfc2136Update(const PublisherConfig& config, const std::vector<std::string>& addresses,
                     std::string* result);
Status Dyndns2Update(const PublisherConfig& config, const std::vector<std::string>& addresses,
                     std::string* result);

// Validate, also naming in *key the config key a failure is about.
Status ValidateNamingKey(const PublisherConfig& config, std::string* key);

// Whether a failure of this kind is left to the operator (retried only
// every `reassert`) instead of being retried with backoff.
inline bool NeedsOperator(const Status& s) {
  return s.code() == Code::kPermissionDenied || s.code() == Code::kInvalidArgument;
}

}  // namespace arca::dns::internal
