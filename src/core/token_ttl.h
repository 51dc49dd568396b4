// arca: token TTL arithmetic (Vault's framework.CalculateTTL and the token
// store's creation rules), as pure functions over whole seconds.
//
// Everything here is a pure function of its inputs (time is passed in), safe
// for concurrent use and unit-tested in test/core/token_ttl_test.cc.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace arca::core {

// Vault's humanDuration: Go's Duration.String() with zero trailing units
// dropped ("768h", "1h30m", "1m30s", "45s", "0s").
std::string HumanDuration(int64_t seconds);

// The inputs of CalculateTtl. Every duration is in seconds; 0 means unset.
struct TtlInputs {
  int64_t increment = 0;          // requested on renewal (0 on creation)
  int64_t backend_ttl = 0;        // the TTL asked for (request ttl, role, previous grant)
  int64_t period = 0;             // periodic tokens: every grant is `period`
  int64_t backend_max_ttl = 0;    // a role's max (token_max_ttl); lowers the mount max
  int64_t explicit_max_ttl = 0;   // hard cap from start_time; lowers the mount max
  int64_t mount_default_ttl = 0;  // effective default of the mount (system 768h)
  int64_t mount_max_ttl = 0;      // effective max of the mount (system 768h)
  int64_t start_time = 0;         // unix seconds the lease was issued; 0 = now
  int64_t now = 0;                // unix seconds
};

// Vault's framework.CalculateTTL. Returns the TTL to grant from `now`:
// * periodic: min(period, max) where max = min(mount max, backend max,
//   explicit max), with the warning `period of "X" exceeded the effective
//   max_ttl of "Y"; period value is capped accordingly`; then capped by
//   start_time + explicit_max_ttl when that is set;
// * otherwise: increment, else backend_ttl, else the mount default, capped by
//   start_time + max with the warning `TTL of "X" exceeded the effective
//   max_ttl of "Y"; TTL value is capped accordingly` (Y is what is left).
// Warnings are appended to `warnings` (may be null).
// Errors: Internal `max TTL must be greater than zero` (no mount max),
// InvalidArgument `past the max TTL, cannot renew`.
StatusOr<int64_t> CalculateTtl(const TtlInputs& in, std::vector<std::string>* warnings);

// The inputs of a token creation (auth/token/create and role-based create).
struct CreateTtlInputs {
  int64_t ttl = 0;               // requested ttl (or `lease`), 0 = none
  int64_t period = 0;            // effective period (request or role, lesser)
  int64_t explicit_max_ttl = 0;  // effective explicit max (request or role, lesser)
  int64_t role_ttl = 0;          // role token_ttl (default when no ttl requested)
  int64_t role_max_ttl = 0;      // role token_max_ttl
  bool root = false;             // the final policies contain "root"
  int64_t mount_default_ttl = 0;
  int64_t mount_max_ttl = 0;
  int64_t now = 0;
};

// The TTL a new token gets, 0 meaning it never expires. A token is given no
// expiry only when it holds the root policy, asks for no TTL and is not
// periodic; a root token with an explicit max TTL still expires at it.
// Errors as CalculateTtl.
StatusOr<int64_t> CreationTtl(const CreateTtlInputs& in, std::vector<std::string>* warnings);

}  // namespace arca::core
