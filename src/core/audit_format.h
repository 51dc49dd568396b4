// arca: how one audit line is built (internal to the audit broker).
//
// AuditHasher is HMAC-SHA256 under a device salt, with the keyed SHA-256
// states built once; concurrent Hash calls are safe. The Format*
// functions lay out Vault 1.14's request/response entries (field order as
// Vault's structs, empty fields omitted as Go's omitempty), hash them with
// the device's options and serialise them as one line ending in '\n'.
// Pure functions of their arguments; safe for concurrent use. They throw
// nothing but std::bad_alloc: invalid UTF-8 is replaced by U+FFFD as Go does.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/secure.h"
#include "base/status.h"
#include "core/audit.h"

namespace arca::core::audit_internal {

class AuditHasher {
 public:
  // Internal if OpenSSL cannot build the HMAC context.
  static StatusOr<std::unique_ptr<AuditHasher>> Create(const SecureBytes& key);
  ~AuditHasher();
  AuditHasher(const AuditHasher&) = delete;
  AuditHasher& operator=(const AuditHasher&) = delete;

  // "hmac-sha256:" + lowercase hex of HMAC-SHA256(key, input).
  std::string Hash(std::string_view input) const;

 private:
  struct Ctx;
  explicit AuditHasher(std::unique_ptr<Ctx> ctx);
  std::unique_ptr<Ctx> ctx_;
};

struct FormatOptions {
  bool jsonx = false;
  bool log_raw = false;
  bool hmac_accessor = true;
  bool elide_list_responses = false;
  std::string prefix;
};

// `hasher` may be null only when opts.log_raw. `time` is RFC3339Nano.
std::string FormatRequestLine(const FormatOptions& opts, const AuditHasher* hasher,
                              const std::string& time, const AuditAuth& auth,
                              const AuditRequest& req, const std::string& error);
std::string FormatResponseLine(const FormatOptions& opts, const AuditHasher* hasher,
                               const std::string& time, const AuditAuth& auth,
                               const AuditRequest& req, const AuditResponse& resp,
                               const std::string& error);

}  // namespace arca::core::audit_internal
