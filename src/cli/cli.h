// arca: the client commands (`arca status`, `arca kv get`, ...), Vault's CLI
// for the common work. They talk to a server only over HTTP(S).
#pragma once

namespace arca::cli {

// argv[1] is the command. Returns the process exit code (Vault's: 0 ok,
// 1 error, 2 usage error or sealed for `status`).
int Run(int argc, char** argv);

}  // namespace arca::cli
