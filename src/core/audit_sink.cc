// arca: the file audit device's writer: append-only file, stdout or discard.
#include "core/audit_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>

namespace arca::core::audit_internal {

namespace {

// Go's syscall error texts are glibc's with a lowercase first letter.
std::string ErrnoText(int err) {
  std::string s = std::error_code(err, std::generic_category()).message();
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
  return s;
}

std::string OsError(const char* op, const std::string& path, int err) {
  return std::string(op) + " " + path + ": " + ErrnoText(err);
}

bool IsDir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// os.MkdirAll: creates `dir` and its missing parents.
Status MkdirAll(const std::string& dir) {
  if (dir.empty() || IsDir(dir)) return OkStatus();
  std::size_t i = 0;
  while (i < dir.size()) {
    std::size_t next = dir.find('/', i + 1);
    if (next == std::string::npos) next = dir.size();
    std::string prefix = dir.substr(0, next);
    i = next;
    if (prefix.empty() || prefix == "/") continue;
    if (::mkdir(prefix.c_str(), 0700) != 0) {
      int err = errno;
      if (err == EEXIST) {
        if (!IsDir(prefix)) return Status(Code::kInvalidArgument, OsError("mkdir", prefix, ENOTDIR));
        continue;
      }
      return Status(Code::kInvalidArgument, OsError("mkdir", prefix, err));
    }
  }
  return OkStatus();
}

std::string ParentDir(const std::string& path) {
  std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return "";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status WriteAll(int fd, std::string_view data, const std::string& name) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Internal(OsError("write", name, errno));
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return OkStatus();
}

}  // namespace

AuditSink::AuditSink(Kind kind, std::string path, uint32_t mode)
    : kind_(kind), path_(std::move(path)), mode_(mode) {}

AuditSink::~AuditSink() {
  std::lock_guard lock(mu_);
  CloseLocked();
}

StatusOr<std::unique_ptr<AuditSink>> AuditSink::Open(Kind kind, std::string path, uint32_t mode) {
  std::unique_ptr<AuditSink> s(new AuditSink(kind, std::move(path), mode));
  if (kind == Kind::kFile) {
    std::lock_guard lock(s->mu_);
    ARCA_RETURN_IF_ERROR(s->OpenLocked());
  }
  return s;
}

Status AuditSink::OpenLocked() {
  if (fd_ >= 0) return OkStatus();
  ARCA_RETURN_IF_ERROR(MkdirAll(ParentDir(path_)));
  int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
                  static_cast<mode_t>(mode_ == 0 ? 0600 : mode_));
  if (fd < 0) return Status(Code::kInvalidArgument, OsError("open", path_, errno));
  // As Vault, set the mode on a file that already existed (or was narrowed by
  // the umask); unlike Vault only on regular files, never on devices.
  struct stat st {};
  if (mode_ != 0 && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
      (st.st_mode & 0777) != mode_ && ::fchmod(fd, static_cast<mode_t>(mode_)) != 0) {
    int err = errno;
    ::close(fd);
    return Status(Code::kInvalidArgument, OsError("chmod", path_, err));
  }
  fd_ = fd;
  return OkStatus();
}

void AuditSink::CloseLocked() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status AuditSink::Write(std::string_view line) {
  switch (kind_) {
    case Kind::kDiscard:
      return OkStatus();
    case Kind::kStdout: {
      std::lock_guard lock(mu_);
      return WriteAll(STDOUT_FILENO, line, "/dev/stdout");
    }
    case Kind::kFile:
      break;
  }
  std::lock_guard lock(mu_);
  if (fd_ < 0) {
    Status st = OpenLocked();
    if (!st.ok()) return Internal(st.message());
  }
  if (WriteAll(fd_, line, path_).ok()) return OkStatus();
  // Opportunistically reopen once (the file may have been rotated away).
  CloseLocked();
  Status st = OpenLocked();
  if (!st.ok()) return Internal(st.message());
  return WriteAll(fd_, line, path_);
}

Status AuditSink::Reopen() {
  if (kind_ != Kind::kFile) return OkStatus();
  std::lock_guard lock(mu_);
  CloseLocked();
  return OpenLocked();
}

}  // namespace arca::core::audit_internal
