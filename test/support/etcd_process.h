// arca test support: EtcdProcess, a real single-member etcd (/usr/bin/etcd)
// on loopback, for tests of the etcd client, backend and HA.
//
// Each instance owns a temporary directory (data dir, log, TLS files; on
// /dev/shm by default) and
// three free loopback ports (client, peer, metrics), chosen once: Start()
// after Stop() or Kill() brings the same member back on the same ports with
// its data. Start() waits until etcd answers /health on its metrics port,
// at most EtcdProcessOptions::start_timeout.
//
// With tls = true, the helper makes a CA, a server certificate (SANs
// 127.0.0.1 and localhost) and a client certificate with openssl(1), and
// runs etcd with https client URLs and --client-cert-auth: a client must
// present a certificate signed by ca_file().
//
// etcd is started with PR_SET_PDEATHSIG, so it dies with the thread that
// called Start(): call it from the test's main thread (or a thread that
// outlives the process). The destructor kills etcd and removes the directory.
// Not safe for concurrent use; one thread drives it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "base/status.h"
#include "storage/etcd/client.h"

namespace arca::testing {

struct EtcdProcessOptions {
  bool tls = false;
  std::string name = "arca-test";
  // Extra etcd flags, e.g. "--max-txn-ops=30000".
  std::vector<std::string> extra_args;
  std::chrono::milliseconds start_timeout{10000};
  // Keep the directory (data, log, certs) on /dev/shm when it exists: fsync
  // is then nearly free, which keeps write-heavy tests fast and steady. The
  // data still survives Stop()/Kill() and Start().
  bool tmpfs = true;
};

class EtcdProcess {
 public:
  explicit EtcdProcess(EtcdProcessOptions options = {});
  ~EtcdProcess();
  EtcdProcess(const EtcdProcess&) = delete;
  EtcdProcess& operator=(const EtcdProcess&) = delete;

  // Starts etcd and waits until it serves. Internal (with the tail of etcd's
  // log) when it exits or does not answer in time; FailedPrecondition when it
  // is already running.
  Status Start();
  // SIGTERM, then SIGKILL if it has not exited within 5 s. No-op when stopped.
  void Stop();
  // SIGKILL at once (also when paused). No-op when stopped.
  void Kill();
  // SIGSTOP / SIGCONT: the process freezes, its sockets stay open. Each
  // returns once every thread of etcd has stopped (or runs again).
  Status Pause();
  Status Resume();
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  // "http://127.0.0.1:<port>", or https with tls.
  std::string client_url() const;
  std::string peer_url() const;
  int client_port() const { return client_port_; }
  const std::string& dir() const { return dir_; }

  // TLS variant only (empty otherwise): PEM files in dir().
  std::string ca_file() const;
  std::string client_cert_file() const;
  std::string client_key_file() const;

  // Options for etcd::Client reaching this member (TLS files included), with
  // short timeouts suited to tests.
  storage::etcd::ClientOptions client_options() const;

  // Etcd's log so far (stdout and stderr), for failure messages.
  std::string Log() const;

 private:
  Status MakeCerts();
  Status WaitReady();
  bool ExitedWithin(std::chrono::milliseconds d);

  EtcdProcessOptions options_;
  std::string dir_;
  int client_port_ = 0;
  int peer_port_ = 0;
  int metrics_port_ = 0;
  bool certs_made_ = false;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  bool paused_ = false;
  Status setup_;  // error from the constructor (temp dir, ports), reported by Start()
};

}  // namespace arca::testing
