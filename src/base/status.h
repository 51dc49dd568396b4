// arca: Status and StatusOr, the error values passed across every layer.
//
// A Status is a code from a small fixed set plus a message meant for the
// client. The codes are chosen so that src/http can map each one to the HTTP
// status Vault answers with (see http/errors.cc); nothing ever branches on the
// message text. An OK status carries no message and costs one enum.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace arca {

enum class Code {
  kOk = 0,
  kInvalidArgument,       // 400: bad input, failed validation, error responses
  kPermissionDenied,      // 403: missing/invalid token, ACL denies
  kNotFound,              // 404: nothing at this path
  kUnsupportedPath,       // 404: mount has no such route
  kUnsupportedOperation,  // 405: route exists, verb does not
  kFailedPrecondition,    // 412: required state missing
  kTooLarge,              // 413: request body over the limit
  kUnsupportedMediaType,  // 415: PATCH without merge-patch content type
  kResourceExhausted,     // 429: quota
  kInternal,              // 500: a bug or a broken invariant
  kUnavailable,           // 503: storage unreachable, no active node
  kSealed,                // 503: "Vault is sealed"
  kAborted,               // transaction condition failed (CAS); callers translate
  kDataLoss,              // stored bytes failed authentication
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

  bool operator==(const Status& o) const { return code_ == o.code_ && message_ == o.message_; }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status OkStatus() { return Status(); }
inline Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Status PermissionDenied(std::string m = "permission denied") {
  return {Code::kPermissionDenied, std::move(m)};
}
inline Status NotFound(std::string m = "") { return {Code::kNotFound, std::move(m)}; }
inline Status UnsupportedPath(std::string m = "unsupported path") {
  return {Code::kUnsupportedPath, std::move(m)};
}
inline Status UnsupportedOperation(std::string m = "unsupported operation") {
  return {Code::kUnsupportedOperation, std::move(m)};
}
inline Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
inline Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
inline Status SealedError() { return {Code::kSealed, "Vault is sealed"}; }
inline Status FailedPrecondition(std::string m) { return {Code::kFailedPrecondition, std::move(m)}; }
inline Status Aborted(std::string m) { return {Code::kAborted, std::move(m)}; }
inline Status DataLoss(std::string m) { return {Code::kDataLoss, std::move(m)}; }
inline Status TooLarge(std::string m) { return {Code::kTooLarge, std::move(m)}; }

inline bool IsNotFound(const Status& s) { return s.code() == Code::kNotFound; }
inline bool IsSealed(const Status& s) { return s.code() == Code::kSealed; }
inline bool IsAborted(const Status& s) { return s.code() == Code::kAborted; }

// StatusOr<T>: either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(const T& v) : v_(v) {}                      // NOLINT: implicit by design
  StatusOr(T&& v) : v_(std::move(v)) {}                 // NOLINT
  StatusOr(Status s) : v_(std::move(s)) {               // NOLINT
    if (std::get<Status>(v_).ok()) v_ = Status(Code::kInternal, "OK status given to StatusOr");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<Status, T> v_;
};

}  // namespace arca

#define ARCA_CONCAT_INNER(a, b) a##b
#define ARCA_CONCAT(a, b) ARCA_CONCAT_INNER(a, b)

#define ARCA_RETURN_IF_ERROR(expr)            \
  do {                                        \
    ::arca::Status arca_status_ = (expr);     \
    if (!arca_status_.ok()) return arca_status_; \
  } while (0)

#define ARCA_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()

#define ARCA_ASSIGN_OR_RETURN(lhs, expr) \
  ARCA_ASSIGN_OR_RETURN_IMPL(ARCA_CONCAT(arca_so_, __LINE__), lhs, expr)
