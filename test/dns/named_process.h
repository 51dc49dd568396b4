// arca test support for dns: NamedProcess, a real BIND9 named on loopback
// serving the zone "arca.test." with dynamic updates allowed for TSIG keys.
//
// Each instance owns a temporary directory (named.conf, the zone, its
// journal, named's log) and a free 127.0.0.1 port (UDP and TCP). Start()
// writes the files, runs `/usr/sbin/named -g -n 1 -c <conf> -p <port>` (as
// the current user, no -u) with PR_SET_PDEATHSIG, and waits, at most
// start_timeout, until named answers the zone's SOA. Lookup() asks named
// directly (no recursion). The destructor stops named and removes the
// directory. Not safe for concurrent use. Header-only: the layer test
// executable compiles only *_test.cc.
#pragma once

#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/encoding.h"
#include "base/secure.h"
#include "base/status.h"
#include "dns/internal/ldns.h"

namespace arca::dns::testing {

struct TsigKey {
  std::string name;       // "arca-update"
  std::string algorithm;  // "hmac-sha256"
  std::string secret;     // base64
  bool may_update = true; // listed in the zone's allow-update
};

class NamedProcess {
 public:
  explicit NamedProcess(std::vector<TsigKey> keys);
  ~NamedProcess();
  NamedProcess(const NamedProcess&) = delete;
  NamedProcess& operator=(const NamedProcess&) = delete;

  // Internal (with the tail of named's log) when named exits or does not
  // answer in time.
  Status Start(std::chrono::milliseconds start_timeout = std::chrono::milliseconds(15000));
  void Stop();
  bool running() const { return pid_ > 0; }
  int port() const { return port_; }
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& dir() const { return dir_; }
  std::string LogTail() const;

  // The records of `type` ("A", "AAAA") at `name`, as text; empty when
  // there are none or named does not answer.
  std::set<std::string> Lookup(const std::string& name, const std::string& type) const;

 private:
  std::vector<TsigKey> keys_;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// A random TSIG secret (base64 of 32 bytes).
inline std::string NewTsigSecret() { return Base64Encode(RandomString(32)); }

namespace internal_named {

// A loopback port free for both UDP and TCP a moment ago.
inline int FreePort() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int t = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(t, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(t, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ::close(t);
      continue;
    }
    int u = ::socket(AF_INET, SOCK_DGRAM, 0);
    bool udp_ok = ::bind(u, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(u);
    ::close(t);
    if (udp_ok) return ntohs(a.sin_port);
  }
  return 0;
}

}  // namespace internal_named

inline NamedProcess::NamedProcess(std::vector<TsigKey> keys) : keys_(std::move(keys)) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "arca-named-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) != nullptr) dir_ = tmpl;
  port_ = internal_named::FreePort();
}

inline NamedProcess::~NamedProcess() {
  Stop();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

inline Status NamedProcess::Start(std::chrono::milliseconds start_timeout) {
  if (dir_.empty() || port_ == 0) return Internal("named test: no directory or port");
  if (running()) return FailedPrecondition("named test: already running");
  std::ostringstream conf;
  conf << "options {\n"
       << "  directory \"" << dir_ << "\";\n"
       << "  pid-file \"" << dir_ << "/named.pid\";\n"
       << "  session-keyfile \"" << dir_ << "/session.key\";\n"
       << "  managed-keys-directory \"" << dir_ << "\";\n"
       << "  listen-on port " << port_ << " { 127.0.0.1; };\n"
       << "  listen-on-v6 { none; };\n"
       << "  recursion no;\n  dnssec-validation no;\n  notify no;\n"
       << "};\ncontrols { };\n";
  std::string allowed;
  for (const auto& k : keys_) {
    conf << "key \"" << k.name << "\" { algorithm " << k.algorithm << "; secret \"" << k.secret
         << "\"; };\n";
    if (k.may_update) allowed += " key \"" + k.name + "\";";
  }
  conf << "zone \"arca.test\" { type primary; file \"" << dir_ << "/arca.test.zone\";"
       << " allow-update {" << (allowed.empty() ? " none;" : allowed) << " }; };\n";
  std::ofstream(dir_ + "/named.conf") << conf.str();
  std::ofstream(dir_ + "/arca.test.zone")
      << "$TTL 60\n"
      << "@ IN SOA ns.arca.test. hostmaster.arca.test. 1 3600 600 86400 60\n"
      << "@ IN NS ns.arca.test.\n"
      << "ns IN A 127.0.0.1\n";
  std::error_code ec;
  std::filesystem::remove(dir_ + "/arca.test.zone.jnl", ec);

  std::string conf_path = dir_ + "/named.conf", log_path = dir_ + "/named.log",
              port = std::to_string(port_);
  std::vector<std::string> argv_s = {"/usr/sbin/named", "-g", "-n", "1", "-c", conf_path, "-p", port};
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return Internal("named test: fork failed");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  pid_ = pid;
  SteadyTime end = RealClock().SteadyNow() + start_timeout;
  while (RealClock().SteadyNow() < end) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Internal("named test: named exited:\n" + LogTail());
    }
    // The zone is served once its NS is.
    if (!Lookup("ns.arca.test.", "A").empty()) return OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::string tail = LogTail();
  Stop();
  return Internal("named test: no answer within the start timeout:\n" + tail);
}

inline void NamedProcess::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  SteadyTime end = RealClock().SteadyNow() + std::chrono::seconds(5);
  while (RealClock().SteadyNow() < end) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

inline std::string NamedProcess::LogTail() const {
  std::ifstream f(dir_ + "/named.log");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return text.size() > 3000 ? text.substr(text.size() - 3000) : text;
}

inline std::set<std::string> NamedProcess::Lookup(const std::string& name,
                                                  const std::string& type) const {
  std::set<std::string> out;
  ldns_rr_type t = type == "AAAA" ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A;
  ldns_resolver* r = ldns_resolver_new();
  ldns_rdf* ns = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, "127.0.0.1");
  ldns_resolver_push_nameserver(r, ns);
  ldns_rdf_deep_free(ns);
  ldns_resolver_set_port(r, static_cast<uint16_t>(port_));
  ldns_resolver_set_recursive(r, false);
  ldns_resolver_set_timeout(r, timeval{1, 0});
  ldns_resolver_set_retry(r, 1);
  ldns_rdf* qname = ldns_dname_new_frm_str(name.c_str());
  ldns_pkt* p = ldns_resolver_query(r, qname, t, LDNS_RR_CLASS_IN, 0);
  if (p != nullptr) {
    ldns_rr_list* answers = ldns_pkt_answer(p);
    for (size_t i = 0; i < ldns_rr_list_rr_count(answers); ++i) {
      ldns_rr* rr = ldns_rr_list_rr(answers, i);
      if (ldns_rr_get_type(rr) != t || ldns_rr_rd_count(rr) < 1) continue;
      char* text = ldns_rdf2str(ldns_rr_rdf(rr, 0));
      if (text != nullptr) {
        out.insert(text);
        std::free(text);
      }
    }
    ldns_pkt_free(p);
  }
  ldns_rdf_deep_free(qname);
  ldns_resolver_deep_free(r);
  return out;
}

}  // namespace arca::dns::testing
