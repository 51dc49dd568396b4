// arca test support: EtcdProcess (see etcd_process.h).
#include "etcd_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace arca::testing {
namespace {

constexpr const char* kEtcd = "/usr/bin/etcd";
constexpr const char* kOpenssl = "/usr/bin/openssl";
constexpr std::size_t kLogTail = 4000;

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Binds `n` sockets to port 0 on loopback together (so the ports differ)
// and returns their ports.
std::vector<int> FreePorts(int n) {
  std::vector<std::unique_ptr<Fd>> socks;
  std::vector<int> ports;
  for (int i = 0; i < n; ++i) {
    auto s = std::make_unique<Fd>(::socket(AF_INET, SOCK_STREAM, 0));
    if (s->get() < 0) return {};
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(s->get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(s->get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      return {};
    }
    ports.push_back(ntohs(addr.sin_port));
    socks.push_back(std::move(s));
  }
  return ports;
}

// One GET /health on 127.0.0.1:port; true when etcd reports itself healthy.
bool Healthy(int port) {
  Fd s(::socket(AF_INET, SOCK_STREAM, 0));
  if (s.get() < 0) return false;
  timeval tv{1, 0};
  ::setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(s.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return false;
  const std::string req = "GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (::send(s.get(), req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    return false;
  }
  std::string resp;
  char buf[1024];
  while (resp.size() < 16384) {
    ssize_t n = ::recv(s.get(), buf, sizeof buf, 0);
    if (n <= 0) break;
    resp.append(buf, static_cast<std::size_t>(n));
  }
  return resp.find("\"health\":\"true\"") != std::string::npos;
}

// Runs argv[0] with argv, output appended to `log`; true on exit status 0.
bool Run(const std::vector<std::string>& argv, const std::string& log) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

std::string ReadTail(const std::string& path, std::size_t max) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > max ? s.substr(s.size() - max) : s;
}

}  // namespace

EtcdProcess::EtcdProcess(EtcdProcessOptions options) : options_(std::move(options)) {
  std::error_code ec;
  std::filesystem::path base = std::filesystem::temp_directory_path();
  if (options_.tmpfs && std::filesystem::is_directory("/dev/shm", ec)) base = "/dev/shm";
  std::string tmpl = (base / "arca-etcd-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    setup_ = Internal("etcd test: mkdtemp failed");
    return;
  }
  dir_ = tmpl;
  auto ports = FreePorts(3);
  if (ports.size() != 3) {
    setup_ = Internal("etcd test: no free loopback ports");
    return;
  }
  client_port_ = ports[0];
  peer_port_ = ports[1];
  metrics_port_ = ports[2];
}

EtcdProcess::~EtcdProcess() {
  Kill();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string EtcdProcess::client_url() const {
  return std::string(options_.tls ? "https" : "http") + "://127.0.0.1:" +
         std::to_string(client_port_);
}

std::string EtcdProcess::peer_url() const {
  return "http://127.0.0.1:" + std::to_string(peer_port_);
}

std::string EtcdProcess::ca_file() const { return options_.tls ? dir_ + "/ca.pem" : ""; }
std::string EtcdProcess::client_cert_file() const {
  return options_.tls ? dir_ + "/client.pem" : "";
}
std::string EtcdProcess::client_key_file() const {
  return options_.tls ? dir_ + "/client-key.pem" : "";
}

storage::etcd::ClientOptions EtcdProcess::client_options() const {
  storage::etcd::ClientOptions o;
  o.endpoints = {client_url()};
  o.tls_ca_file = ca_file();
  o.tls_cert_file = client_cert_file();
  o.tls_key_file = client_key_file();
  o.request_timeout = std::chrono::milliseconds(2000);
  o.dial_timeout = std::chrono::milliseconds(1000);
  return o;
}

std::string EtcdProcess::Log() const { return ReadTail(dir_ + "/etcd.log", kLogTail); }

Status EtcdProcess::MakeCerts() {
  if (certs_made_) return OkStatus();
  const std::string log = dir_ + "/openssl.log";
  const std::string d = dir_ + "/";
  if (!WriteFile(d + "server.ext",
                 "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                 "extendedKeyUsage=serverAuth,clientAuth\n") ||
      !WriteFile(d + "client.ext", "extendedKeyUsage=clientAuth\n")) {
    return Internal("etcd test: cannot write openssl extension files");
  }
  auto key = [&](const std::string& name) {
    return Run({kOpenssl, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-out", d + name},
               log);
  };
  auto sign = [&](const std::string& name, const std::string& cn) {
    return Run({kOpenssl, "req", "-new", "-key", d + name + "-key.pem", "-subj", "/CN=" + cn,
                "-out", d + name + ".csr"},
               log) &&
           Run({kOpenssl, "x509", "-req", "-in", d + name + ".csr", "-CA", d + "ca.pem", "-CAkey",
                d + "ca-key.pem", "-CAcreateserial", "-days", "2", "-extfile",
                d + name + ".ext", "-out", d + name + ".pem"},
               log);
  };
  bool ok = key("ca-key.pem") &&
            Run({kOpenssl, "req", "-x509", "-new", "-key", d + "ca-key.pem", "-subj",
                 "/CN=arca-test-ca", "-days", "2", "-out", d + "ca.pem"},
                log) &&
            key("server-key.pem") && sign("server", "etcd-server") && key("client-key.pem") &&
            sign("client", "arca-client");
  if (!ok) return Internal("etcd test: openssl failed: " + ReadTail(log, kLogTail));
  certs_made_ = true;
  return OkStatus();
}

Status EtcdProcess::Start() {
  ARCA_RETURN_IF_ERROR(setup_);
  if (running()) return Status(Code::kFailedPrecondition, "etcd test: already running");
  if (options_.tls) ARCA_RETURN_IF_ERROR(MakeCerts());

  std::vector<std::string> argv = {
      kEtcd,
      "--name=" + options_.name,
      "--data-dir=" + dir_ + "/data",
      "--listen-client-urls=" + client_url(),
      "--advertise-client-urls=" + client_url(),
      "--listen-peer-urls=" + peer_url(),
      "--initial-advertise-peer-urls=" + peer_url(),
      "--initial-cluster=" + options_.name + "=" + peer_url(),
      "--initial-cluster-state=new",
      "--listen-metrics-urls=http://127.0.0.1:" + std::to_string(metrics_port_),
      "--logger=zap",
      "--log-level=error",
  };
  if (options_.tls) {
    argv.push_back("--client-cert-auth");
    argv.push_back("--trusted-ca-file=" + dir_ + "/ca.pem");
    argv.push_back("--cert-file=" + dir_ + "/server.pem");
    argv.push_back("--key-file=" + dir_ + "/server-key.pem");
  }
  for (const auto& a : options_.extra_args) argv.push_back(a);

  // Everything the child needs is prepared before fork (only
  // async-signal-safe calls may follow it in a threaded process).
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const std::string log = dir_ + "/etcd.log";
  const pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) return Internal("etcd test: fork failed");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);  // the parent died already
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  pid_ = pid;
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  Status ready = WaitReady();
  if (!ready.ok()) Kill();
  return ready;
}

// True once the child has exited, waiting at most `d` (on its pidfd).
bool EtcdProcess::ExitedWithin(std::chrono::milliseconds d) {
  if (pidfd_ >= 0) {
    pollfd p{pidfd_, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(d.count())) > 0;
  }
  ::poll(nullptr, 0, static_cast<int>(d.count()));
  return ::waitpid(pid_, nullptr, WNOHANG) == pid_;
}

Status EtcdProcess::WaitReady() {
  const auto step = std::chrono::milliseconds(20);
  const long attempts = options_.start_timeout / step;
  for (long i = 0; i < attempts; ++i) {
    if (Healthy(metrics_port_)) return OkStatus();
    if (ExitedWithin(step)) {
      return Internal("etcd test: etcd exited during startup; log:\n" + Log());
    }
  }
  return Internal("etcd test: etcd did not become healthy in time; log:\n" + Log());
}

void EtcdProcess::Stop() {
  if (!running()) return;
  ::kill(pid_, SIGCONT);  // a paused etcd cannot handle SIGTERM
  ::kill(pid_, SIGTERM);
  if (!ExitedWithin(std::chrono::milliseconds(5000))) ::kill(pid_, SIGKILL);
  Kill();
}

void EtcdProcess::Kill() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  if (pidfd_ >= 0) ::close(pidfd_);
  pidfd_ = -1;
  pid_ = -1;
  paused_ = false;
}

// kill(2) returns before every thread has stopped; waitpid reports the
// group stop (or continue) once it is complete.
Status EtcdProcess::Pause() {
  if (!running() || ::kill(pid_, SIGSTOP) != 0) return Internal("etcd test: cannot pause");
  int status = 0;
  while (true) {
    pid_t r = ::waitpid(pid_, &status, WUNTRACED);
    if (r == pid_ && WIFSTOPPED(status)) {
      paused_ = true;
      return OkStatus();
    }
    if (r < 0 && errno == EINTR) continue;
    return Internal("etcd test: etcd did not stop");
  }
}

Status EtcdProcess::Resume() {
  if (!running() || ::kill(pid_, SIGCONT) != 0) return Internal("etcd test: cannot resume");
  if (!paused_) return OkStatus();  // no continue event would come
  paused_ = false;
  int status = 0;
  while (true) {
    pid_t r = ::waitpid(pid_, &status, WCONTINUED);
    if (r == pid_ && WIFCONTINUED(status)) return OkStatus();
    if (r < 0 && errno == EINTR) continue;
    return Internal("etcd test: etcd did not continue");
  }
}

}  // namespace arca::testing
