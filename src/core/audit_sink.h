// arca: where a file audit device writes (internal to the audit broker).
//
// An AuditSink is a file opened O_WRONLY|O_APPEND|O_CREAT, or stdout, or
// nothing ("discard"). Each line goes out through write(2) directly (no user
// space buffer), under the sink's mutex, so lines never interleave and a
// crash loses no completed line. As Vault's file device: when a write to a
// file fails, the file is reopened once and the line written again.
// Error texts follow Go's os errors ("open <p>: permission denied").
// Safe for concurrent use.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "base/status.h"

namespace arca::core::audit_internal {

class AuditSink {
 public:
  enum class Kind { kFile, kStdout, kDiscard };

  // For kFile, opens `path` now (creating missing parent directories 0700 and
  // the file with `mode`, then setting `mode` on an existing regular file;
  // mode 0 leaves it alone). InvalidArgument with the OS error if it cannot.
  static StatusOr<std::unique_ptr<AuditSink>> Open(Kind kind, std::string path, uint32_t mode);
  ~AuditSink();
  AuditSink(const AuditSink&) = delete;
  AuditSink& operator=(const AuditSink&) = delete;

  // Writes all of `line`. Internal with the OS error if it cannot.
  Status Write(std::string_view line);

  // Closes and reopens a file (no-op for stdout/discard). On failure the sink
  // stays closed and the next Write tries to open it again.
  Status Reopen();

 private:
  AuditSink(Kind kind, std::string path, uint32_t mode);
  Status OpenLocked();
  void CloseLocked();

  const Kind kind_;
  const std::string path_;
  const uint32_t mode_;
  std::mutex mu_;
  int fd_ = -1;  // guarded by mu_
};

}  // namespace arca::core::audit_internal
