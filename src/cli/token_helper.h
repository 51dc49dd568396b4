// arca CLI: the token helper — where `login` keeps the token (~/.vault-token,
// mode 0600), as Vault's built-in internal token helper does.
//
// Free functions over the filesystem; safe to call from one thread at a time
// per file.
#pragma once

#include <string>

#include "base/status.h"

namespace arca::cli {

// <home>/.vault-token. `home` "" means the token file cannot be located.
std::string TokenFilePath(const std::string& home);

// The stored token with surrounding whitespace removed; "" when the file does
// not exist. kUnavailable when it exists but cannot be read.
StatusOr<std::string> ReadTokenFile(const std::string& path);

// Writes `token` to a temporary file created with mode 0600 and renames it
// over `path`, so a failure never leaves a truncated token behind.
// kUnavailable on any filesystem error.
Status StoreTokenFile(const std::string& path, const std::string& token);

// Removes the file; OK if it does not exist.
Status EraseTokenFile(const std::string& path);

}  // namespace arca::cli
