// arca: Status → HTTP status and error body. Every error the server sends
// goes through this table, so the mapping lives in exactly one place.
#include "http/errors.h"

#include <string>

namespace arca::http {

namespace {

struct Mapping {
  Code code;
  int http_status;
  const char* default_message;  // used when the status has no message
};

constexpr Mapping kTable[] = {
    {Code::kOk, 500, "internal error"},
    {Code::kInvalidArgument, 400, nullptr},
    {Code::kPermissionDenied, 403, "permission denied"},
    {Code::kNotFound, 404, nullptr},
    {Code::kUnsupportedPath, 404, nullptr},
    {Code::kUnsupportedOperation, 405, nullptr},
    {Code::kFailedPrecondition, 412, nullptr},
    {Code::kTooLarge, 413, nullptr},
    {Code::kUnsupportedMediaType, 415, nullptr},
    {Code::kResourceExhausted, 429, nullptr},
    {Code::kInternal, 500, "internal error"},
    {Code::kUnavailable, 503, nullptr},
    {Code::kSealed, 503, "Vault is sealed"},
    {Code::kAborted, 400, nullptr},
    {Code::kDataLoss, 500, "internal error"},
};

const Mapping& Lookup(Code code) {
  for (const Mapping& m : kTable) {
    if (m.code == code) return m;
  }
  return kTable[0];
}

}  // namespace

int HttpStatusFor(Code code) { return Lookup(code).http_status; }

HttpResponse ErrorResponse(const Status& status) {
  const Mapping& m = Lookup(status.code());
  std::string_view message = status.message();
  if (message.empty() && m.default_message != nullptr) message = m.default_message;
  return ErrorResponse(m.http_status, message);
}

HttpResponse ErrorResponse(int http_status, std::string_view message) {
  Json errors = Json::array();
  if (!message.empty()) errors.push_back(std::string(message));
  return JsonResponse(http_status, Json{{"errors", std::move(errors)}});
}

}  // namespace arca::http
