// arca: `arca server`: flags, config, storage, core, engines, listeners,
// signals. The only place that knows every concrete component.
#include "server/command.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/secure.h"
#include "auth/auth.h"
#include "core/core.h"
#include "dns/publisher_set.h"
#include "engines/engines.h"
#include "http/core_api.h"
#include "http/server.h"
#include "server/config.h"
#include "ha/manager.h"
#include "storage/etcd/backend.h"
#include "storage/etcd/client.h"
#include "storage/file.h"
#include "storage/inmem.h"
#include "storage/metered.h"

namespace arca::server {

namespace {

constexpr int64_t kDefaultLockTtl = 2;         // seconds (docs/operations.md)
constexpr int64_t kDefaultEtcdTimeout = 5;     // seconds

int64_t OptionInt(const ServerConfig& cfg, const std::string& key, int64_t fallback) {
  auto it = cfg.storage.options.find(key);
  if (it == cfg.storage.options.end() || it->second.empty()) return fallback;
  try {
    int64_t v = std::stoll(it->second);
    return v > 0 ? v : fallback;
  } catch (const std::exception&) {
    return fallback;
  }
}

std::string Option(const ServerConfig& cfg, const std::string& key, std::string fallback = "") {
  auto it = cfg.storage.options.find(key);
  return it == cfg.storage.options.end() || it->second.empty() ? fallback : it->second;
}

std::string NodeId(const ServerConfig& cfg) {
  std::string id = Option(cfg, "node_id");
  if (!id.empty()) return id;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) == 0 && host[0] != '\0') return host;
  return "arca-node";
}

struct OpenedEtcd {
  std::unique_ptr<storage::etcd::Client> client;
  std::unique_ptr<storage::etcd::EtcdBackend> backend;
  bool ha_enabled = false;
};

StatusOr<OpenedEtcd> OpenEtcd(const ServerConfig& cfg) {
  std::string api = Option(cfg, "etcd_api", "v3");
  if (api != "v3")
    return InvalidArgument("etcd_api \"" + api + "\" is not supported (only v3)");
  storage::etcd::ClientOptions o;
  std::string list = Option(cfg, "address", "http://127.0.0.1:2379");
  for (std::size_t start = 0; start <= list.size();) {
    std::size_t comma = std::min(list.find(',', start), list.size());
    std::string a = list.substr(start, comma - start);
    while (!a.empty() && a.front() == ' ') a.erase(0, 1);
    while (!a.empty() && a.back() == ' ') a.pop_back();
    if (!a.empty()) o.endpoints.push_back(a);
    start = comma + 1;
  }
  if (o.endpoints.empty()) return InvalidArgument("etcd address is empty");
  o.tls_ca_file = Option(cfg, "tls_ca_file");
  o.tls_cert_file = Option(cfg, "tls_cert_file");
  o.tls_key_file = Option(cfg, "tls_key_file");
  o.tls_server_name = Option(cfg, "tls_server_name");
  o.request_timeout = std::chrono::seconds(OptionInt(cfg, "request_timeout", kDefaultEtcdTimeout));
  o.max_receive_bytes = OptionInt(cfg, "max_receive_size", o.max_receive_bytes);
  // A quarter of the lease: a stuck renewal leaves time for two more tries.
  o.keepalive_timeout = std::min<std::chrono::milliseconds>(
      o.request_timeout, std::chrono::milliseconds(OptionInt(cfg, "lock_timeout", kDefaultLockTtl) * 250));
  OpenedEtcd out;
  ARCA_ASSIGN_OR_RETURN(out.client, storage::etcd::Client::Create(o));
  std::string prefix = Option(cfg, "path", "/vault/");
  if (prefix.back() != '/') prefix += '/';
  out.backend = std::make_unique<storage::etcd::EtcdBackend>(*out.client, prefix);
  out.ha_enabled = Option(cfg, "ha_enabled", "false") == "true";
  return out;
}

struct Flags {
  std::vector<std::string> config_files;
  bool dev = false;
  std::string dev_listen = "127.0.0.1:8200";
  std::string dev_root_token;
  std::string log_level;
};

void Usage() {
  std::fprintf(stderr,
               "Usage: arca server [options]\n\n"
               "  -config=<path>               Path to a config file (HCL or JSON); repeatable\n"
               "  -dev                         In-memory, unsealed dev server (KV v2 at secret/)\n"
               "  -dev-listen-address=<addr>   Dev listener address (default 127.0.0.1:8200)\n"
               "  -dev-root-token-id=<id>      Dev root token (default: random)\n"
               "  -log-level=<level>           trace, debug, info, warn, error\n");
}

// Vault-style flags: -name=value, -name value, --name=value.
bool ParseFlags(int argc, char** argv, Flags* f, std::string* err) {
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) == 0) a.erase(0, 1);
    if (a.empty() || a[0] != '-') {
      *err = "unexpected argument \"" + a + "\"";
      return false;
    }
    std::string name = a.substr(1), value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    auto need = [&]() -> bool {
      if (has_value) return true;
      if (i + 1 >= argc) {
        *err = "flag -" + name + " needs a value";
        return false;
      }
      value = argv[++i];
      return true;
    };
    if (name == "dev") {
      f->dev = !has_value || value == "true" || value == "1";
    } else if (name == "config") {
      if (!need()) return false;
      f->config_files.push_back(value);
    } else if (name == "dev-listen-address") {
      if (!need()) return false;
      f->dev_listen = value;
    } else if (name == "dev-root-token-id") {
      if (!need()) return false;
      f->dev_root_token = value;
    } else if (name == "log-level") {
      if (!need()) return false;
      f->log_level = value;
    } else if (name == "h" || name == "help") {
      Usage();
      std::exit(0);
    } else {
      *err = "flag provided but not defined: -" + name;
      return false;
    }
  }
  return true;
}

void SetLogLevel(const std::string& level) {
  if (level.empty() || level == "info") spdlog::set_level(spdlog::level::info);
  else if (level == "trace") spdlog::set_level(spdlog::level::trace);
  else if (level == "debug") spdlog::set_level(spdlog::level::debug);
  else if (level == "warn" || level == "warning") spdlog::set_level(spdlog::level::warn);
  else if (level == "err" || level == "error") spdlog::set_level(spdlog::level::err);
}

std::map<std::string, logical::Factory> Engines() {
  return {{"kv", engines::KvFactory()}, {"cubbyhole", engines::CubbyholeFactory()}};
}

// Blocks SIGINT/SIGTERM in every thread (inherited by threads created later)
// so that only sigwait in the main thread sees them.
sigset_t BlockSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return set;
}

int WaitForShutdown(const sigset_t& set, core::Core& core) {
  while (true) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) return 1;
    if (sig == SIGHUP) {
      spdlog::info("server: SIGHUP received, reopening audit files");
      core.ReopenAuditFiles();
      continue;
    }
    spdlog::info("server: {} received, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    return 0;
  }
}

}  // namespace

int Run(int argc, char** argv) {
  Flags flags;
  std::string err;
  if (!ParseFlags(argc, argv, &flags, &err)) {
    std::fprintf(stderr, "Error: %s\n\n", err.c_str());
    Usage();
    return 2;
  }
  auto logger = spdlog::stderr_color_mt("arca");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ [%l] %v", spdlog::pattern_time_type::utc);

  ServerConfig cfg;
  if (flags.dev) {
    ListenerConfig l;
    l.address = flags.dev_listen;
    l.tls_disable = true;
    cfg.listeners.push_back(l);
    cfg.storage.type = "inmem";
    cfg.disable_mlock = true;
  } else {
    if (flags.config_files.empty()) {
      std::fprintf(stderr, "Error: no configuration given; use -config=<file> or -dev\n");
      return 2;
    }
    if (flags.config_files.size() > 1) {
      std::fprintf(stderr, "Error: give one -config file (several are not merged)\n");
      return 2;
    }
    auto parsed = ParseConfigFile(flags.config_files.front());
    if (!parsed.ok()) {
      std::fprintf(stderr, "Error loading configuration: %s\n", parsed.status().message().c_str());
      return 1;
    }
    cfg = std::move(*parsed);
    if (cfg.listeners.empty()) {
      std::fprintf(stderr, "Error: configuration has no listener \"tcp\" stanza\n");
      return 1;
    }
    if (cfg.storage.type.empty()) {
      std::fprintf(stderr, "Error: configuration has no storage stanza\n");
      return 1;
    }
  }
  SetLogLevel(flags.log_level.empty() ? cfg.log_level : flags.log_level);

  if (!cfg.disable_mlock && !LockMemory()) {
    std::fprintf(stderr,
                 "Error: failed to lock memory (mlockall): %s\n"
                 "Run as root or with CAP_IPC_LOCK, or set disable_mlock = true.\n",
                 std::strerror(errno));
    return 1;
  }

  sigset_t signals = BlockSignals();

  std::unique_ptr<storage::Backend> physical;
  std::unique_ptr<storage::etcd::Client> etcd_client;
  storage::etcd::EtcdBackend* etcd = nullptr;
  bool ha_enabled = false;
  if (cfg.storage.type == "etcd") {
    auto opened = OpenEtcd(cfg);
    if (!opened.ok()) {
      std::fprintf(stderr, "Error opening storage: %s\n", opened.status().message().c_str());
      return 1;
    }
    etcd_client = std::move(opened->client);
    etcd = opened->backend.get();
    physical = std::move(opened->backend);
    ha_enabled = opened->ha_enabled;
    if (ha_enabled && cfg.api_addr.empty()) {
      std::fprintf(stderr, "Error: api_addr is required with ha_enabled (the address other "
                           "nodes forward requests to)\n");
      return 1;
    }
  } else if (cfg.storage.type == "inmem") {
    physical = std::make_unique<storage::InMemBackend>();
  } else if (cfg.storage.type == "file") {
    auto opened = storage::FileBackend::Open(cfg.storage.options["path"]);
    if (!opened.ok()) {
      std::fprintf(stderr, "Error opening storage: %s\n", opened.status().message().c_str());
      return 1;
    }
    physical = std::move(*opened);
  } else {
    std::fprintf(stderr, "Error: unsupported storage type \"%s\"\n", cfg.storage.type.c_str());
    return 1;
  }

  // --- DNS (src/dns): the generic name follows the active node -------------
  // One publisher per `dns` stanza. It may publish only while this node
  // holds the HA lease (or, without HA, while unsealed); the manager's role
  // changes switch it on and off. Started after the listeners, stopped
  // before the manager.
  std::atomic<core::HaCoordinator*> dns_ha{nullptr};
  std::atomic<core::Core*> dns_core{nullptr};
  std::unique_ptr<dns::PublisherSet> dns_publishers;
  if (!cfg.dns.empty()) {
    auto may_publish = [&dns_ha, &dns_core, ha_enabled] {
      if (ha_enabled) {
        core::HaCoordinator* h = dns_ha.load();
        return h != nullptr && h->HoldsLease();
      }
      core::Core* c = dns_core.load();
      return c != nullptr && !c->Sealed();
    };
    auto made = dns::PublisherSet::Create(std::move(cfg.dns), cfg.file, may_publish, RealClock(),
                                          metrics::DefaultRegistry());
    if (!made.ok()) {
      std::fprintf(stderr, "Error loading configuration: %s\n", made.status().message().c_str());
      return 1;
    }
    dns_publishers = std::move(*made);
  }
  // --- end DNS ---------------------------------------------------------------

  storage::Metered metered(*physical);
  core::CoreConfig cc;
  cc.physical = &metered;
  cc.clock = &RealClock();
  cc.storage_type = cfg.storage.type;
  cc.api_addr = cfg.api_addr;
  cc.cluster_addr = cfg.cluster_addr;
  cc.ha_enabled = ha_enabled;
  if (cfg.default_lease_ttl > 0) cc.default_lease_ttl = cfg.default_lease_ttl;
  if (cfg.max_lease_ttl > 0) cc.max_lease_ttl = cfg.max_lease_ttl;
  if (cfg.default_lease_ttl <= 0 && cc.default_lease_ttl > cc.max_lease_ttl)
    cc.default_lease_ttl = cc.max_lease_ttl;
  cc.engines = Engines();
  cc.auth_methods = {{"jwt", auth::JwtFactory()}, {"oidc", auth::JwtFactory()}};
  if (dns_publishers) cc.dns_status = [&dns_publishers] { return dns_publishers->StatusJson(); };  // DNS
  core::Core core(std::move(cc));
  dns_core.store(&core);  // DNS

  std::string root_token;
  if (flags.dev) {
    auto dev = core.SetupDev(flags.dev_root_token);
    if (!dev.ok()) {
      std::fprintf(stderr, "Error setting up dev mode: %s\n", dev.status().message().c_str());
      return 1;
    }
    root_token = dev->root_token;
    for (auto& k : dev->keys_hex) Wipe(k);
    for (auto& k : dev->keys_base64) Wipe(k);
    // As Vault's dev server: the CLI on this machine is logged in at once.
    if (const char* home = std::getenv("HOME"); home && *home) {
      std::string path = std::string(home) + "/.vault-token";
      int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (fd >= 0) {
        ssize_t n = ::write(fd, root_token.data(), root_token.size());
        (void)n;
        ::close(fd);
      }
    }
  }

  std::unique_ptr<ha::Manager> manager;
  if (ha_enabled) {
    ha::ManagerOptions mo;
    mo.node_id = NodeId(cfg);
    mo.api_addr = cfg.api_addr;
    mo.cluster_addr = cfg.cluster_addr;
    mo.lock_ttl = std::chrono::seconds(OptionInt(cfg, "lock_timeout", kDefaultLockTtl));
    mo.version = "arca v0.1.0";
    if (dns_publishers)  // DNS
      mo.on_role_change = [&dns_publishers](bool active) { dns_publishers->SetActive(active); };
    manager = std::make_unique<ha::Manager>(core, *etcd_client, *etcd, mo, RealClock());
    core.AttachHa(manager.get());
    manager->Start();
    dns_ha.store(manager.get());  // DNS
  }

  auto api = http::NewCoreApi(core);
  // Reads run inline on one io thread per core; writes go to a pool large
  // enough that requests waiting on an fsync share it (group commit) without
  // holding up reads (docs/performance.md).
  http::ServerOptions options;
  options.worker_threads = 32;
  options.standby_redirect = cfg.disable_forwarding;
  options.forwarding_ca_file = cfg.forwarding_ca_file;
  http::Server server(*api, options);
  std::vector<http::ListenerConfig> listeners;
  for (const auto& l : cfg.listeners) {
    http::ListenerConfig h;
    h.address = l.address;
    h.tls_disable = l.tls_disable;
    h.tls_cert_file = l.tls_cert_file;
    h.tls_key_file = l.tls_key_file;
    h.tls_min_version = l.tls_min_version;
    // "No limit" (negative in the file) still gets a bound: 1 GiB.
    h.max_request_size = l.max_request_size < 0 ? (int64_t(1) << 30) : l.max_request_size;
    h.max_request_duration_seconds = l.max_request_duration;
    listeners.push_back(h);
  }
  if (Status st = server.Start(listeners); !st.ok()) {
    std::fprintf(stderr, "Error starting listeners: %s\n", st.message().c_str());
    return 1;
  }

  std::string addrs;
  for (const auto& a : server.Addresses()) addrs += (addrs.empty() ? "" : ", ") + a;
  std::fprintf(stderr,
               "==> arca server configuration:\n\n"
               "             Listener: %s\n"
               "              Storage: %s\n"
               "              Version: arca v0.1.0\n\n"
               "==> arca server started! Log data will stream in below:\n\n",
               addrs.c_str(), cfg.storage.type.c_str());
  if (flags.dev) {
    // The dev server's root token is the one secret we print. Unlike Vault we
    // do not print the unseal key: the in-memory dev server is never unsealed
    // again, and key material stays out of terminals and logs.
    std::fprintf(stderr,
                 "WARNING! dev mode is enabled! In this mode, arca runs entirely in-memory\n"
                 "and starts unsealed. The root token is already authenticated to the CLI\n"
                 "(~/.vault-token), so you can immediately begin using arca.\n\n"
                 "You may need to set the following environment variables:\n\n"
                 "    $ export VAULT_ADDR='http://%s'\n\n"
                 "Root Token: %s\n\n"
                 "Development mode should NOT be used in production installations!\n\n",
                 server.Addresses().front().c_str(), root_token.c_str());
  }
  std::fflush(stderr);

  if (dns_publishers) {  // DNS: a single node is always the active one
    dns_publishers->Start();
    if (!ha_enabled) dns_publishers->SetActive(true);
  }

  int rc = WaitForShutdown(signals, core);
  server.Stop();
  if (dns_publishers) dns_publishers->Stop();  // DNS
  if (manager) {
    manager->Stop();  // gives up the lock so a standby takes over at once
    core.AttachHa(nullptr);
  }
  core.Shutdown();
  spdlog::info("server: stopped");
  return rc;
}

}  // namespace arca::server
