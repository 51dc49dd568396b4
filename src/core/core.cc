// arca: Core's seal lifecycle: init, unseal, seal, dev setup, status.
#include "core/core.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "base/encoding.h"
#include "base/metrics.h"
#include "base/time.h"
#include "core/internal/core_impl.h"
#include "core/shamir.h"

namespace arca::core {

using Json = nlohmann::json;

namespace {
constexpr char kClusterPath[] = "core/cluster";

metrics::Gauge& SealedGauge() {
  static metrics::Gauge& g = metrics::DefaultRegistry().AddGauge(
      "arca_core_sealed", "1 while this server is sealed, 0 while unsealed.", {});
  return g;
}
constexpr std::size_t kRootKeySize = 32;
}  // namespace

Core::Impl::Impl(CoreConfig c)
    : config(std::move(c)), clock(*config.clock), barrier(*config.physical, *config.clock) {
  // An etcd read is a network round trip (and etcd CPU); a wrong guess of
  // "missing" costs one aborted, batched txn.
  barrier.SetGuessMissing(config.storage_type == "etcd");
}

Core::Core(CoreConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {
  SealedGauge().Set({}, 1);
}

Core::~Core() { Shutdown(); }

StatusOr<bool> Core::Impl::Initialized() {
  std::lock_guard lock(unseal_mu);
  if (initialized_cached) return true;
  ARCA_ASSIGN_OR_RETURN(auto cfg, config.physical->Get(kSealConfigPath));
  if (!cfg) return false;
  try {
    Json j = Json::parse(*cfg);
    seal_shares = j.at("secret_shares").get<int>();
    seal_threshold = j.at("secret_threshold").get<int>();
  } catch (const std::exception&) {
    return DataLoss("corrupt seal configuration");
  }
  initialized_cached = true;
  return true;
}

StatusOr<bool> Core::Initialized() { return impl_->Initialized(); }

StatusOr<InitResult> Core::Init(const InitParams& p) {
  Impl& im = *impl_;
  ARCA_ASSIGN_OR_RETURN(bool inited, im.Initialized());
  if (inited) return InvalidArgument("Vault is already initialized");
  const std::string prefix = "invalid seal configuration: ";
  if (p.secret_shares < 1) return InvalidArgument(prefix + "shares must be at least one");
  if (p.secret_threshold < 1) return InvalidArgument(prefix + "threshold must be at least one");
  if (p.secret_shares > 1 && p.secret_threshold == 1)
    return InvalidArgument(prefix + "threshold must be greater than one for multiple shares");
  if (p.secret_shares > 255) return InvalidArgument(prefix + "shares must be less than 256");
  if (p.secret_threshold > p.secret_shares)
    return InvalidArgument(prefix + "threshold cannot be larger than shares");

  std::unique_lock state(im.state_mu);
  SecureBytes root_key = RandomBytes(kRootKeySize);
  std::vector<SecureBytes> shares;
  if (p.secret_shares == 1) {
    shares.push_back(root_key);
  } else {
    ARCA_ASSIGN_OR_RETURN(shares, ShamirSplit(root_key, p.secret_shares, p.secret_threshold));
  }
  ARCA_RETURN_IF_ERROR(im.barrier.Initialize(root_key));
  ARCA_RETURN_IF_ERROR(im.barrier.Unseal(root_key));

  // First unseal: cluster identity, default mounts, root token. Then seal again.
  Json cluster = {{"name", "vault-cluster-" + RandomHex(4)}, {"id", NewUuid()}};
  ARCA_RETURN_IF_ERROR(im.barrier.Put(kClusterPath, cluster.dump()));
  Status st = im.LoadState();
  InitResult result;
  if (st.ok()) {
    TokenEntry root;
    root.id = p.root_token_id;
    root.policies = {"root"};
    root.display_name = "root";
    root.path = "auth/token/root";
    root.orphan = true;
    root.renewable = false;
    auto created = im.tokens->Create(std::move(root));
    if (!created.ok())
      st = created.status();
    else
      result.root_token = created->id;
  }
  im.PreSeal();
  im.barrier.Seal();
  if (!st.ok()) return st;

  Json seal_cfg = {{"type", "shamir"},
                   {"secret_shares", p.secret_shares},
                   {"secret_threshold", p.secret_threshold}};
  ARCA_RETURN_IF_ERROR(im.config.physical->Put(kSealConfigPath, seal_cfg.dump()));
  {
    std::lock_guard lock(im.unseal_mu);
    im.seal_shares = p.secret_shares;
    im.seal_threshold = p.secret_threshold;
    im.initialized_cached = true;
  }
  for (const auto& s : shares) {
    std::string_view v(reinterpret_cast<const char*>(s.data()), s.size());
    result.keys_hex.push_back(HexEncode(v));
    result.keys_base64.push_back(Base64Encode(v));
  }
  spdlog::info("core: initialized with {} key shares, threshold {}", p.secret_shares,
               p.secret_threshold);
  return result;
}

SealStatus Core::Impl::SealStatusLocked() {
  SealStatus s;
  s.storage_type = config.storage_type;
  s.initialized = initialized_cached;
  s.sealed = sealed.load();
  if (s.initialized) {
    s.threshold = seal_threshold;
    s.shares = seal_shares;
    s.progress = static_cast<int>(unseal_shares.size());
    s.nonce = unseal_nonce;
  }
  if (!s.sealed) {
    s.cluster_name = cluster_name;
    s.cluster_id = cluster_id;
  }
  return s;
}

SealStatus Core::GetSealStatus() {
  auto inited = impl_->Initialized();
  (void)inited;
  std::lock_guard lock(impl_->unseal_mu);
  return impl_->SealStatusLocked();
}

namespace {
std::optional<std::string> DecodeKey(std::string_view key) {
  if (auto h = HexDecode(key); h && h->size() >= 16 && h->size() <= 33) return h;
  if (auto b = Base64Decode(key)) return b;
  return std::nullopt;
}
}  // namespace

StatusOr<SealStatus> Core::SubmitUnsealKey(std::string_view key_text) {
  Impl& im = *impl_;
  ARCA_ASSIGN_OR_RETURN(bool inited, im.Initialized());
  if (!inited) return InvalidArgument("Vault is not initialized");
  std::optional<std::string> raw = DecodeKey(key_text);
  if (!raw) return InvalidArgument("'key' must be a valid hex or base64 string");
  SecureBytes key(raw->begin(), raw->end());
  Wipe(*raw);
  if (key.size() < 16) return InvalidArgument("key is shorter than minimum 16 bytes");
  if (key.size() > 33) return InvalidArgument("key is longer than maximum 33 bytes");

  std::unique_lock state(im.state_mu);
  std::lock_guard lock(im.unseal_mu);
  if (!im.sealed.load()) return im.SealStatusLocked();
  for (const auto& s : im.unseal_shares)
    if (s.size() == key.size() &&
        ConstantTimeEquals(std::string_view(reinterpret_cast<const char*>(s.data()), s.size()),
                           std::string_view(reinterpret_cast<const char*>(key.data()), key.size())))
      return im.SealStatusLocked();  // resubmitting a share is a no-op
  if (im.unseal_shares.empty()) im.unseal_nonce = NewUuid();
  im.unseal_shares.push_back(std::move(key));
  if (static_cast<int>(im.unseal_shares.size()) < im.seal_threshold) return im.SealStatusLocked();

  SecureBytes root_key;
  if (im.seal_threshold == 1) {
    root_key = im.unseal_shares.front();
  } else {
    auto combined = ShamirCombine(im.unseal_shares);
    if (!combined.ok()) {
      im.unseal_shares.clear();
      im.unseal_nonce.clear();
      return InvalidArgument("Unseal failed, invalid key");
    }
    root_key = std::move(*combined);
  }
  im.unseal_shares.clear();
  im.unseal_nonce.clear();
  if (root_key.size() != kRootKeySize || !im.barrier.Unseal(root_key).ok())
    return InvalidArgument("Unseal failed, invalid key");
  Status st = im.PostUnseal();
  if (!st.ok()) {
    im.PreSeal();
    im.barrier.Seal();
    spdlog::error("core: post-unseal setup failed: {}", st.ToString());
    return st;
  }
  spdlog::info("core: vault is unsealed");
  return im.SealStatusLocked();
}

StatusOr<SealStatus> Core::ResetUnseal() {
  Impl& im = *impl_;
  ARCA_ASSIGN_OR_RETURN(bool inited, im.Initialized());
  if (!inited) return InvalidArgument("Vault is not initialized");
  std::lock_guard lock(im.unseal_mu);
  if (!im.sealed.load()) return InvalidArgument("vault is unsealed");
  im.unseal_shares.clear();
  im.unseal_nonce.clear();
  return im.SealStatusLocked();
}

bool Core::Sealed() const { return impl_->sealed.load(); }

Status Core::Impl::PostUnseal() {
  ARCA_ASSIGN_OR_RETURN(auto cluster, barrier.Get(kClusterPath));
  if (cluster) {
    try {
      Json j = Json::parse(*cluster);
      cluster_name = j.value("name", "");
      cluster_id = j.value("id", "");
    } catch (const std::exception&) {
      return DataLoss("corrupt cluster record");
    }
  }
  if (!config.ha_enabled) ARCA_RETURN_IF_ERROR(LoadState());
  sealed.store(false);
  SealedGauge().Set({}, 0);
  return OkStatus();
}

Status Core::Impl::LoadState() {
  sys_view = std::make_unique<storage::View>(barrier, "sys/");
  token_view = std::make_unique<storage::View>(barrier, "sys/token/");
  audit_view = std::make_unique<storage::View>(barrier, "sys/audit-salt/");
  policies = std::make_unique<PolicyStore>(barrier);
  tokens = std::make_unique<TokenStore>(*token_view, clock);
  tokens->SetRevokeHook([this](const TokenEntry& e) { OnTokenRevoked(e); });
  audit = std::make_unique<AuditBroker>(*audit_view, clock);
  identity_view = std::make_unique<storage::View>(barrier, "sys/identity/");
  identity = std::make_unique<IdentityStore>(*identity_view, clock);
  Status st = policies->Setup();
  if (st.ok()) st = identity->Load();
  if (st.ok()) st = LoadMounts();
  if (st.ok()) SyncIdentityMounts();
  if (st.ok()) st = LoadAuditTable();
  if (!st.ok()) {
    UnloadState();
    return st;
  }
  InvalidateAcls();
  active_since = clock.SystemNow();
  loaded.store(true);
  StartExpiry();
  return OkStatus();
}

void Core::Impl::UnloadState() {
  loaded.store(false);
  StopExpiry();
  for (auto& r : router.All()) r.backend->Cleanup();
  router.Clear();
  InvalidateAcls();
  audit.reset();
  tokens.reset();
  identity.reset();
  identity_view.reset();
  policies.reset();
  audit_view.reset();
  token_view.reset();
  sys_view.reset();
}

void Core::Impl::PreSeal() {
  sealed.store(true);
  SealedGauge().Set({}, 1);
  active.store(false);
  if (loaded.load() || tokens) UnloadState();
}

bool Core::Impl::Serving() const {
  if (!loaded.load(std::memory_order_acquire)) return false;
  if (!config.ha_enabled) return true;
  return active.load(std::memory_order_acquire) && ha != nullptr && ha->HoldsLease();
}

void Core::Impl::StartExpiry() {
  {
    std::lock_guard lock(expiry_mu);
    expiry_stop = false;
  }
  expiry_thread = std::thread([this] {
    std::unique_lock lock(expiry_mu);
    while (!expiry_stop) {
      expiry_cv.wait_for(lock, std::chrono::seconds(1));
      if (expiry_stop) break;
      lock.unlock();
      {
        std::shared_lock state(state_mu, std::try_to_lock);
        if (state.owns_lock() && !sealed.load() && tokens) {
          auto n = tokens->ExpireDue();
          if (!n.ok())
            spdlog::warn("core: token expiry failed: {}", n.status().ToString());
          else if (*n > 0)
            spdlog::debug("core: revoked {} expired tokens", *n);
        }
      }
      lock.lock();
    }
  });
}

void Core::Impl::StopExpiry() {
  {
    std::lock_guard lock(expiry_mu);
    expiry_stop = true;
  }
  expiry_cv.notify_all();
  if (expiry_thread.joinable()) expiry_thread.join();
}

HealthStatus Core::Health() {
  HealthStatus h;
  auto inited = impl_->Initialized();
  h.initialized = inited.ok() && *inited;
  h.sealed = impl_->sealed.load();
  h.standby = !h.sealed && !impl_->Serving();
  h.server_time_utc = impl_->clock.UnixNow();
  if (!h.sealed) {
    h.cluster_name = impl_->cluster_name;
    h.cluster_id = impl_->cluster_id;
  }
  return h;
}

StatusOr<LeaderStatus> Core::Leader() {
  Impl& im = *impl_;
  LeaderStatus l;
  l.active_time = ZeroTimeRfc3339();
  if (!im.config.ha_enabled) return l;
  l.ha_enabled = true;
  if (im.sealed.load()) return SealedError();
  if (im.Serving()) {
    l.is_self = true;
    l.leader_address = im.config.api_addr;
    l.leader_cluster_address = im.config.cluster_addr;
    l.active_time = FormatRfc3339Nano(im.active_since);
    return l;
  }
  if (im.ha != nullptr) {
    HaState st = im.ha->State();
    if (!st.active) {
      l.leader_address = st.leader_api_addr;
      l.leader_cluster_address = st.leader_cluster_addr;
    }
  }
  return l;
}

void Core::AttachHa(HaCoordinator* ha) {
  std::unique_lock state(impl_->state_mu);
  impl_->ha = ha;
}

Status Core::BecomeActive() {
  Impl& im = *impl_;
  std::unique_lock state(im.state_mu);
  if (!im.config.ha_enabled) return FailedPrecondition("HA is not enabled");
  if (im.sealed.load()) return SealedError();
  if (im.active.load()) return OkStatus();
  const SteadyTime start = im.clock.SteadyNow();
  // Another node may have rotated the keyring or written anything while we
  // stood by: start from what storage holds.
  Status st = im.barrier.ReloadKeyring();
  if (!st.ok()) {
    if (st.code() == Code::kInvalidArgument) {
      // The stored keyring no longer opens with our root key (a forced
      // snapshot restore from another cluster): this node must be unsealed
      // again with that cluster's keys.
      spdlog::error("core: the stored keyring does not open with this node's key; sealing");
      im.PreSeal();
      im.barrier.Seal();
    }
    return st;
  }
  im.barrier.ClearCache();
  ARCA_RETURN_IF_ERROR(im.LoadState());
  im.active.store(true, std::memory_order_release);
  spdlog::info(
      "core: this node is now the active node (state loaded in {} ms)",
      std::chrono::duration_cast<std::chrono::milliseconds>(im.clock.SteadyNow() - start).count());
  return OkStatus();
}

void Core::BecomeStandby() {
  Impl& im = *impl_;
  std::unique_lock state(im.state_mu);
  if (!im.active.load()) return;
  im.active.store(false, std::memory_order_release);
  im.UnloadState();
  im.barrier.ClearCache();
  spdlog::info("core: this node is now a standby");
}

bool Core::Standby() const {
  return impl_->config.ha_enabled && !impl_->sealed.load() && !impl_->Serving();
}

bool Core::Active() const { return impl_->config.ha_enabled && impl_->Serving(); }

std::optional<SecureBytes> Core::ForwardingKey() {
  auto key = impl_->barrier.DeriveKey("arca request forwarding v1");
  if (!key.ok()) return std::nullopt;
  return std::move(*key);
}

StatusOr<logical::Response> Core::HandleRequest(logical::Request& req) {
  return impl_->Handle(req);
}

StatusOr<InitResult> Core::SetupDev(std::string_view root_token_id) {
  InitParams p;
  p.secret_shares = 1;
  p.secret_threshold = 1;
  p.root_token_id = std::string(root_token_id);
  ARCA_ASSIGN_OR_RETURN(InitResult r, Init(p));
  ARCA_ASSIGN_OR_RETURN(SealStatus s, SubmitUnsealKey(r.keys_hex.front()));
  if (s.sealed) return Internal("dev unseal failed");
  std::unique_lock state(impl_->state_mu);
  MountEntry kv;
  kv.path = "secret/";
  kv.type = "kv";
  kv.description = "key/value secret storage";
  kv.options = {{"version", "2"}};
  ARCA_RETURN_IF_ERROR(impl_->MountEngine(std::move(kv), true));
  return r;
}

void Core::ReopenAuditFiles() {
  std::shared_lock state(impl_->state_mu);
  if (impl_->audit) impl_->audit->ReopenFiles();
}

void Core::Shutdown() {
  if (!impl_) return;
  std::unique_lock state(impl_->state_mu);
  if (!impl_->sealed.load()) {
    impl_->PreSeal();
    impl_->barrier.Seal();
  }
  impl_->StopExpiry();
}

}  // namespace arca::core
