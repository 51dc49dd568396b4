// arca: AuditBroker, Vault's audit broker with the `file` audit device.
//
// Core enables devices (sys/audit, and again from its stored table after each
// unseal) and hands the broker every request and response. Each enabled
// device writes one JSON object per line (`type` "request" or "response"),
// laid out as Vault 1.14's audit entries (reference section 2.13). Before a
// line is written, every string value inside request/response `data`
// (recursively, arrays too), every client token and, unless the device has
// hmac_accessor=false, every accessor is replaced by
// "hmac-sha256:" + hex(HMAC-SHA256(device salt, value)). Numbers, bools and
// nulls stay as they are, and so do empty strings. A device with log_raw=true
// writes values unhashed.
//
// Salts: one per device path, 32 random bytes kept at "<path>salt" in the
// storage given to the constructor (a barrier view). A salt is created on the
// first Enable of a path and reused afterwards, so hashes are stable across
// restarts; Disable deletes it (as in Vault, a device enabled again later gets
// a fresh salt). Salts are wiped from memory when the broker is destroyed, so
// at seal time core should destroy the broker rather than Disable devices.
//
// Safe for concurrent use. LogRequest/LogResponse/Hash/HasDevices run on many
// threads at once and never wait for the file or storage I/O of
// Enable/Disable; each device serialises its own writes, so lines never
// interleave. A device disabled while a line is being logged finishes that
// line.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/status.h"
#include "logical/request.h"
#include "storage/backend.h"

namespace arca::core {

// One entry of the audit table, as sys/audit lists it.
struct AuditDeviceInfo {
  std::string path;  // normalised by Enable: no leading '/', one trailing '/' ("file/")
  std::string type;  // only "file"
  std::string description;
  std::map<std::string, std::string> options;  // as given
  bool local = false;
};

// The caller's token and the ACL decision (raw values; the broker hashes).
struct AuditAuth {
  std::string client_token, accessor, display_name, entity_id, token_type = "service";
  std::vector<std::string> policies, token_policies, identity_policies;
  std::map<std::string, std::string> metadata;
  int64_t token_ttl = 0;         // seconds
  std::string token_issue_time;  // RFC 3339, "" = omitted
  bool allowed = true;
  std::vector<std::string> granting_policies;  // logged as {name, namespace_id:"root", type:"acl"}
};

struct AuditRequest {
  std::string id, operation, mount_type, mount_accessor, mount_point, client_token,
      client_token_accessor, path, remote_address;
  int remote_port = 0;
  nlohmann::json data;  // object or null
  std::optional<int64_t> wrap_ttl;
  std::map<std::string, std::string> headers;  // already selected by core; logged as {k:[v]}, unhashed
  // Mount tune audit_non_hmac_request_keys: data values under these keys are not hashed.
  std::vector<std::string> non_hmac_keys;
};

// Response wrapping information (Vault's wrap_info); token and accessors are hashed.
struct AuditWrapInfo {
  int64_t ttl = 0;
  std::string token, accessor, creation_time, creation_path, wrapped_accessor;
};

struct AuditResponse {
  std::string mount_type, mount_accessor;
  nlohmann::json data;  // object or null
  std::vector<std::string> warnings;
  std::optional<logical::Auth> auth;  // a login's new token (client_token/accessor hashed)
  int status = 200;                   // not logged: Vault 1.14's entry has no status field
  std::string lease_id;               // logged as secret{lease_id}, unhashed
  std::optional<AuditWrapInfo> wrap_info;
  // Mount tune audit_non_hmac_response_keys.
  std::vector<std::string> non_hmac_keys;
};

class AuditBroker {
 public:
  // `salt_storage` and `clock` must outlive the broker.
  AuditBroker(storage::Backend& salt_storage, Clock& clock);
  ~AuditBroker();
  AuditBroker(const AuditBroker&) = delete;
  AuditBroker& operator=(const AuditBroker&) = delete;

  // Enables a device. Options (strings): file_path (or legacy path; "stdout"
  // and "discard" are special, case-insensitive), format json|jsonx, prefix,
  // log_raw, hmac_accessor (default true), elide_list_responses (Go booleans:
  // 1 t T TRUE true True 0 f F FALSE false False), mode (octal, default 0600;
  // "0" keeps the mode of an existing file). The file is opened for append
  // (created with `mode`, missing parent directories 0700) before this returns.
  // Errors, all InvalidArgument with Vault's texts:
  //   `backend path must be specified`, `path already in use` (equal to or
  //   nested with an enabled path), `unknown backend type: "<t>"`,
  //   `file_path is required`, `unknown format type "<f>"`,
  //   `strconv.ParseBool: parsing "<v>": invalid syntax`, ... ,
  //   `sanity check failed; unable to open "<p>" for writing: <reason>`.
  // Storage errors reading or writing the salt are returned as they come.
  Status Enable(const AuditDeviceInfo& info);

  // Disables the device at `path` (normalised like Enable) and deletes its
  // salt. A path with no device is not an error. Storage errors deleting the
  // salt are returned and leave the device enabled.
  Status Disable(std::string_view path);

  // The enabled devices, sorted by path.
  std::vector<AuditDeviceInfo> List() const;

  // Whether any device is enabled. Cheap (one atomic load).
  bool HasDevices() const;

  // sys/audit-hash: "hmac-sha256:<hex>" of `input` with the salt of the
  // device at `path` (even for log_raw devices; "" is hashed too).
  // InvalidArgument `unknown audit backend "<path>"` if none.
  StatusOr<std::string> Hash(std::string_view path, std::string_view input);

  // Write one request (resp. response) line to every device. `error` is the
  // request's error text ("" = none). Return OK when no device is enabled or
  // at least one device wrote the line; Internal when every device failed
  // (the message names the devices and OS errors, never request values).
  Status LogRequest(const AuditAuth& auth, const AuditRequest& req, const std::string& error);
  Status LogResponse(const AuditAuth& auth, const AuditRequest& req, const AuditResponse& resp,
                     const std::string& error);

  // Closes and reopens every device file (SIGHUP, after log rotation). A file
  // that cannot be reopened is retried on its next write.
  void ReopenFiles();

  struct Device;

 private:
  using DeviceList = std::vector<std::shared_ptr<Device>>;
  std::shared_ptr<const DeviceList> Snapshot() const;
  void Publish(std::shared_ptr<const DeviceList> next);

  storage::Backend& storage_;
  Clock& clock_;
  std::mutex mu_;  // serialises Enable/Disable
  // Copy-on-write table, sorted by path: readers copy the pointer under a
  // shared lock held only for that copy, and log without any broker lock.
  mutable std::shared_mutex devices_mu_;
  std::shared_ptr<const DeviceList> devices_;  // guarded by devices_mu_
  std::atomic<bool> has_devices_{false};
};

}  // namespace arca::core
