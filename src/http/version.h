// arca: the Vault version arca reports on the wire (seal-status, health).
//
// Clients compare it with the Vault releases they know, so arca reports the
// Vault release whose API it implements (see vault-api.md), not its own.
#pragma once

namespace arca::http {

inline constexpr const char* kVaultVersion = "1.14.9";
inline constexpr const char* kBuildDate = "2024-01-01T00:00:00Z";

}  // namespace arca::http
