// arca CLI: KV path handling for `arca kv ...`, as Vault 1.14's CLI does it.
//
// The CLI asks GET sys/internal/ui/mounts/<path> for the mount path and its
// options.version ("2" means KV v2; a 404 means "assume v1"), then rewrites
// the user's path for v2: secret/foo → secret/data/foo, secret/metadata/foo,
// secret/delete/foo, ... Pure functions except KvPreflight.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "cli/api_client.h"

namespace arca::cli {

std::string EnsureTrailingSlash(std::string_view s);    // trims spaces; "" stays ""
std::string EnsureNoTrailingSlash(std::string_view s);  // trims spaces
std::string EnsureNoLeadingSlash(std::string_view s);   // trims spaces
std::string SanitizePath(std::string_view s);           // no leading or trailing '/'

// Go's path.Clean and path.Join (empty elements skipped; "" if all empty).
std::string GoPathClean(std::string_view p);
std::string GoPathJoin(const std::vector<std::string_view>& elems);

// Vault's addPrefixToKVPath: inserts `api_prefix` ("data", "metadata",
// "delete", ...) after `mount_path` (which ends in '/'). With
// `skip_if_exists`, a path already holding the prefix is left as is.
std::string AddPrefixToKvPath(std::string_view path, std::string_view mount_path,
                              std::string_view api_prefix, bool skip_if_exists);

// -versions values "1,2" "3" → {"1","2","3"} (trimmed, empties dropped).
std::vector<std::string> ParseVersionsFlags(const std::vector<std::string>& versions);

struct KvMount {
  std::string mount_path;  // "secret/"; "" when the server did not say (404)
  int version = 1;
};

// The preflight request. Errors are the API error (e.g. 403) as Status.
StatusOr<KvMount> KvPreflight(Client& client, std::string_view path);

}  // namespace arca::cli
