// arca: the built-in secrets engines, KV (versions 1 and 2) and cubbyhole.
//
// Each factory returns a logical::Backend that keeps everything in the
// mount's storage view (BackendConfig::storage, the same object core passes
// as Request::storage) and reads time only from BackendConfig::clock. The
// backends are safe for concurrent use; they follow section 5 of the Vault
// API reference (paths, fields, status codes and messages of Vault 1.14's kv
// plugin and cubbyhole).
//
// Storage layout inside a mount view:
//   KV v1       <path>                          the secret, a JSON object
//   KV v2       _kv2/meta/<path>                key metadata (compact binary record),
//                                               with the data of small versions inline
//               _kv2/ver/<sha256hex(path)>/<n>  data of any other version n (JSON object)
//               _kv2/config                     mount config (max_versions, ...)
//               _kv2/upgraded                   set once the v1 data is migrated
//   cubbyhole   <token_key>/<path>              one token's secret
// KV v1 refuses writes below "_kv2/" so a later upgrade cannot collide.
#pragma once

#include <string_view>

#include "base/status.h"
#include "logical/backend.h"
#include "storage/backend.h"

namespace arca::engines {

// Creates a KV backend: options["version"] "2" → versioned KV (v2); "1", ""
// or absent → KV v1. Any other version → InvalidArgument. A v2 backend's
// Initialize() migrates v1-layout secrets found in the view into version 1 of
// a v2 secret (the 1 → 2 upgrade after a tune); it is idempotent and resumes
// an interrupted migration. Requires BackendConfig::storage (InvalidArgument
// otherwise); a null clock means the real clock.
logical::Factory KvFactory();

// Creates the cubbyhole backend: per-token private KV v1-like storage under
// "<Request::token_key>/". Requests without token_key fail PermissionDenied.
logical::Factory CubbyholeFactory();

// Removes every cubbyhole entry of the token identified by `token_key` from
// the cubbyhole mount's storage view (core calls it when a token is revoked).
// Returns InvalidArgument for an empty key or one containing '/', else the
// storage error, if any.
Status DestroyCubbyhole(storage::Backend& cubbyhole_mount_storage, std::string_view token_key);

}  // namespace arca::engines
