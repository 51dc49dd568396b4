#include "base/status.h"

namespace arca {

namespace {
const char* CodeName(Code c) {
  switch (c) {
    case Code::kOk: return "OK";
    case Code::kInvalidArgument: return "invalid argument";
    case Code::kPermissionDenied: return "permission denied";
    case Code::kNotFound: return "not found";
    case Code::kUnsupportedPath: return "unsupported path";
    case Code::kUnsupportedOperation: return "unsupported operation";
    case Code::kFailedPrecondition: return "failed precondition";
    case Code::kTooLarge: return "too large";
    case Code::kUnsupportedMediaType: return "unsupported media type";
    case Code::kResourceExhausted: return "resource exhausted";
    case Code::kInternal: return "internal";
    case Code::kUnavailable: return "unavailable";
    case Code::kSealed: return "sealed";
    case Code::kAborted: return "aborted";
    case Code::kDataLoss: return "data loss";
  }
  return "unknown";
}
}  // namespace

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s = CodeName(code_);
  if (!message_.empty()) s += ": " + message_;
  return s;
}

}  // namespace arca
