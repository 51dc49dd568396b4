// arca: Core::Impl, shared by core.cc (seal lifecycle), pipeline.cc (the
// request path) and the sys backend files. Not a public header.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/secure.h"
#include "core/audit.h"
#include "core/barrier.h"
#include "core/identity_store.h"
#include "core/core.h"
#include "core/mount_table.h"
#include "core/policy.h"
#include "core/policy_store.h"
#include "core/token_store.h"

namespace arca::core {

struct Core::Impl {
  explicit Impl(CoreConfig c);

  CoreConfig config;
  Clock& clock;
  Barrier barrier;

  // Seal state. `state_mu` is held exclusively while unsealing or sealing,
  // shared by every request, so a request never sees half a mount table.
  mutable std::shared_mutex state_mu;
  std::atomic<bool> sealed{true};
  std::mutex unseal_mu;  // guards the fields below
  std::vector<SecureBytes> unseal_shares;
  std::string unseal_nonce;
  int seal_shares = 0;
  int seal_threshold = 0;
  bool initialized_cached = false;

  std::string cluster_name, cluster_id;
  SystemTime active_since{};

  // HA (core/ha.h). `loaded`: mounts, tokens, policies and audit are set up
  // and requests are served — always once unsealed without HA; only while
  // active with HA. Both change with state_mu held exclusively.
  HaCoordinator* ha = nullptr;
  std::atomic<bool> loaded{false};
  std::atomic<bool> active{false};

  Router router;
  std::mutex mounts_mu;  // serialises mount table changes and their persistence
  std::unique_ptr<storage::View> sys_view;  // "sys/" of the barrier
  std::unique_ptr<storage::View> token_view;
  std::unique_ptr<storage::View> audit_view;
  std::unique_ptr<PolicyStore> policies;
  std::unique_ptr<storage::View> identity_view;  // "sys/identity/"
  std::unique_ptr<IdentityStore> identity;
  std::unique_ptr<TokenStore> tokens;
  std::unique_ptr<AuditBroker> audit;

  // Compiled ACLs by policy set; cleared whenever a policy changes.
  std::mutex acl_mu;
  std::unordered_map<std::string, std::shared_ptr<const Acl>> acl_cache;

  // Background expiry of tokens.
  std::thread expiry_thread;
  std::mutex expiry_mu;
  std::condition_variable expiry_cv;
  bool expiry_stop = false;

  // --- core.cc ---
  StatusOr<bool> Initialized();
  Status LoadSealConfig();
  Status PostUnseal();  // state_mu held exclusively
  void PreSeal();       // state_mu held exclusively
  Status LoadState();   // state_mu held exclusively: mounts, tokens, policies, audit
  void UnloadState();   // state_mu held exclusively
  // Whether this node may serve requests now (loaded, and with HA active
  // with a valid lease).
  bool Serving() const;
  void StartExpiry();
  void StopExpiry();
  SealStatus SealStatusLocked();

  // --- mounts.cc ---
  Status SetupDefaultMounts();
  Status LoadMounts();
  Status PersistMounts(bool auth);
  // Tells the identity store which auth mounts exist (accessor → type, path).
  void SyncIdentityMounts();
  StatusOr<Route> MakeRoute(const MountEntry& e);
  Status MountEngine(MountEntry e, bool persist);
  Status Unmount(std::string route_path);
  Status RemountLocked(const std::string& from, const std::string& to);
  Status RevokeMountTokens(const std::string& route_path);
  Status Remount(std::string from, std::string to);
  // Applies the mount config fields present in `fields` (TTLs, with "system"
  // meaning the default; header lists; listing_visibility; token_type for
  // auth mounts) to `c`, validating each. InvalidArgument on a bad value.
  Status ApplyMountConfig(const logical::Json& fields, bool auth, MountConfig* c) const;
  Status TuneMount(const std::string& route_path, const logical::Json& data,
                   std::vector<std::string>* warnings);
  int64_t EffectiveDefaultTtl(const MountEntry& e) const;
  int64_t EffectiveMaxTtl(const MountEntry& e) const;
  Status LoadAuditTable();
  Status PersistAuditTable();

  // --- pipeline.cc ---
  StatusOr<logical::Response> Handle(logical::Request& req);
  StatusOr<std::shared_ptr<const Acl>> AclFor(const TokenEntry& token);
  void InvalidateAcls();
  bool IsUnauthenticated(const Route* route, std::string_view path) const;
  bool IsRootPath(const Route* route, std::string_view path) const;
  void OnTokenRevoked(const TokenEntry& entry);

  // --- sys_backend.cc, token backend wiring ---
  std::shared_ptr<logical::Backend> MakeSystemBackend();
  std::shared_ptr<logical::Backend> MakeTokenBackend();
  Status SealNow();  // state_mu must NOT be held
};

}  // namespace arca::core
