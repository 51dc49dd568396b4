// arca CLI: shared pieces of the `kv` commands.
//
// ResolveKv runs the preflight for the user's path (or -mount) and keeps what
// the path rewriting needs; KvTarget builds the API paths from it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/command.h"

namespace arca::cli {

struct KvTarget {
  std::string mount_path;  // "secret/" (from the server, or from -mount)
  std::string partial;     // the user's path; with -mount on v2, joined with the mount
  bool v2 = false;
  bool mount_flag = false;  // -mount was given

  std::string V1Path() const;
  // e.g. V2Path("data") → "secret/data/foo".
  std::string V2Path(std::string_view prefix, bool skip_if_exists = false) const;
};

// Prints the preflight error and returns nullopt on failure (exit code 2).
std::optional<KvTarget> ResolveKv(Command& c, Client& client, const std::string& mount_flag,
                                  std::string partial);

// kv metadata get|put|patch|delete (commands_kv_metadata.cc).
const std::vector<CommandDef>& KvMetadataCommands();

}  // namespace arca::cli
