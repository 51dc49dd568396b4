// arca CLI: output helpers shared by the commands (defined in
// commands_logical.cc), mirroring Vault's handleWriteSecretOutput and the
// list/delete endings of its commands. Each returns the exit code.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cli/api_client.h"
#include "cli/command.h"

namespace arca::cli {

// "Error writing data to <path>: ..." (2), "Success! Data written to: <path>"
// for an empty response in table mode, else -field or the secret.
int HandleWriteOutput(Command& c, const std::string& path, const LogicalResult& r);
// "Error deleting <path>: ..." (2) or "Success! Data deleted (if it existed) at: <path>".
int HandleDeleteOutput(Command& c, const std::string& path, const LogicalResult& r);
// A list response: "No value found at" / "No entries found at" (2), or the keys.
int PrintListResult(Command& c, const std::string& path, const LogicalResult& r);
// policy * (commands_policy.cc), part of AdminCommands().
const std::vector<CommandDef>& PolicyCommands();

// Data args as query parameters.
QueryParams ToQuery(const std::map<std::string, std::vector<std::string>>& data);

}  // namespace arca::cli
