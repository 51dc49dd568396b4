#include "logical/request.h"

namespace arca::logical {

const char* OperationName(Operation op) {
  switch (op) {
    case Operation::kRead: return "read";
    case Operation::kList: return "list";
    case Operation::kCreate: return "create";
    case Operation::kUpdate: return "update";
    case Operation::kPatch: return "patch";
    case Operation::kDelete: return "delete";
    case Operation::kHelp: return "help";
  }
  return "unknown";
}

Response Response::Error(int status, std::string msg) {
  Response r;
  r.http_status = status;
  Json body = {{"errors", Json::array({std::move(msg)})}};
  r.raw_body = body.dump();
  return r;
}

}  // namespace arca::logical
