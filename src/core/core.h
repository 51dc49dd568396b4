// arca: Core, the server's heart: seal state, mounts and the request pipeline.
//
// Core owns the barrier over the physical backend, the mount table (secrets
// engines and auth methods on the router), the token and policy stores and
// the audit broker. src/http calls the raw endpoints (init, seal-status,
// unseal, health, leader) directly and sends every other /v1/ request through
// HandleRequest, which runs Vault's order of checks:
//   sealed? → token → ACL (existence check for create/update) → audit request
//   → backend → token creation for logins → audit response → use count.
// Safe for concurrent use; HandleRequest runs on many threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/secure.h"
#include "base/status.h"
#include "core/ha.h"
#include "logical/backend.h"
#include "logical/request.h"
#include "storage/backend.h"

namespace arca::core {

struct CoreConfig {
  storage::Backend* physical = nullptr;  // outlives Core
  Clock* clock = nullptr;                // outlives Core
  std::string storage_type = "inmem";    // reported by seal-status
  std::string api_addr;
  std::string cluster_addr;
  // HA (storage "etcd" with ha_enabled): unsealing only opens the barrier;
  // the node is a standby until HaCoordinator calls BecomeActive (core/ha.h).
  bool ha_enabled = false;
  int64_t default_lease_ttl = 2764800;   // seconds (768h)
  int64_t max_lease_ttl = 2764800;
  // Secrets engines and auth methods that can be mounted, by type ("kv").
  std::map<std::string, logical::Factory> engines;
  std::map<std::string, logical::Factory> auth_methods;
  // When set, sys/ha-status adds its result as data.dns (the DNS publishers'
  // status, src/dns). Called on request threads; must be thread-safe.
  std::function<nlohmann::json()> dns_status;
};

struct InitParams {
  int secret_shares = 0;
  int secret_threshold = 0;
  std::string root_token_id;  // dev mode only; empty = random
};

struct InitResult {
  std::vector<std::string> keys_hex;
  std::vector<std::string> keys_base64;
  std::string root_token;
};

struct SealStatus {
  bool initialized = false;
  bool sealed = true;
  int threshold = 0;  // t
  int shares = 0;     // n
  int progress = 0;
  std::string nonce;
  std::string storage_type;
  std::string cluster_name;  // empty while sealed
  std::string cluster_id;
};

struct HealthStatus {
  bool initialized = false;
  bool sealed = true;
  bool standby = false;
  int64_t server_time_utc = 0;
  std::string cluster_name;
  std::string cluster_id;
};

struct LeaderStatus {
  bool ha_enabled = false;
  bool is_self = false;
  std::string active_time;  // RFC 3339, zero time when not active
  std::string leader_address;
  std::string leader_cluster_address;
};

class Core {
 public:
  explicit Core(CoreConfig config);
  ~Core();
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  StatusOr<bool> Initialized();
  // sys/init. Errors: InvalidArgument with Vault's messages.
  StatusOr<InitResult> Init(const InitParams& params);
  SealStatus GetSealStatus();
  // sys/unseal with one key share (hex or base64). Errors: InvalidArgument
  // ("'key' must be a valid hex or base64 string", "Unseal failed, invalid
  // key", "Vault is not initialized").
  StatusOr<SealStatus> SubmitUnsealKey(std::string_view key);
  StatusOr<SealStatus> ResetUnseal();
  bool Sealed() const;
  HealthStatus Health();
  StatusOr<LeaderStatus> Leader();

  // Every other /v1/ request; req.path is the full logical path. Returns the
  // response or a Status for the error envelope.
  StatusOr<logical::Response> HandleRequest(logical::Request& req);

  // `arca server -dev`: init with one share, unseal, mount secret/ as KV v2.
  StatusOr<InitResult> SetupDev(std::string_view root_token_id);

  // --- High availability (core/ha.h) ---
  // Sets the coordinator (not owned; outlives Core or is detached with
  // nullptr before it dies). Call before the first unseal.
  void AttachHa(HaCoordinator* ha);
  // The coordinator won the lock: reload the keyring, load mounts, policies,
  // tokens and audit devices, start expiry, then serve. FailedPrecondition
  // if sealed or not ha_enabled; on any other error the node stays standby.
  Status BecomeActive();
  // Lost the lock: stop serving and unload everything but the open barrier.
  // No-op unless active. Waits for in-flight requests, so never call it on
  // a request thread (a fenced write must only wake the coordinator).
  void BecomeStandby();
  // Unsealed, HA enabled and not active.
  bool Standby() const;
  bool Active() const;
  // The secret nodes of one cluster share to authenticate forwarded client
  // addresses (derived from the root key); nullopt while sealed.
  std::optional<SecureBytes> ForwardingKey();

  // Reopens audit log files (after log rotation; SIGHUP).
  void ReopenAuditFiles();

  // Stops background work (expiry); seals. Idempotent.
  void Shutdown();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace arca::core
