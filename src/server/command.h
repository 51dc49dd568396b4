// arca: `arca server`, parsing its flags and config, wiring storage, core,
// engines and the HTTP listeners, and running until SIGTERM/SIGINT.
#pragma once

namespace arca::server {

// argv[1] is "server". Returns the process exit code.
int Run(int argc, char** argv);

}  // namespace arca::server
