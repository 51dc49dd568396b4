// arca: one binary, server and client. `arca server ...` runs the server;
// every other command is a client talking to a server over HTTP(S).
#include <cstring>

#include "cli/cli.h"
#include "server/command.h"

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "server") == 0) return arca::server::Run(argc, argv);
  return arca::cli::Run(argc, argv);
}
