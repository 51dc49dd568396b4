// arca CLI: ~/.vault-token storage.
#include "cli/token_helper.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/secure.h"

namespace arca::cli {
namespace {

constexpr std::size_t kMaxTokenFileBytes = 64 * 1024;

std::string Errno(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

}  // namespace

std::string TokenFilePath(const std::string& home) {
  if (home.empty()) return "";
  std::string p = home;
  if (p.back() != '/') p += '/';
  return p + ".vault-token";
}

StatusOr<std::string> ReadTokenFile(const std::string& path) {
  if (path.empty()) return std::string();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::string();
    return Unavailable(Errno("open", path));
  }
  std::string data;
  char buf[4096];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      Wipe(data);
      return Unavailable(Errno("read", path));
    }
    if (n == 0) break;
    data.append(buf, static_cast<std::size_t>(n));
    if (data.size() > kMaxTokenFileBytes) {
      ::close(fd);
      Wipe(data);
      return Unavailable("token file " + path + " is too large");
    }
  }
  SecureZero(buf, sizeof buf);
  ::close(fd);
  std::size_t b = 0, e = data.size();
  while (b < e && std::isspace(static_cast<unsigned char>(data[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(data[e - 1]))) --e;
  std::string token = data.substr(b, e - b);
  Wipe(data);
  return token;
}

Status StoreTokenFile(const std::string& path, const std::string& token) {
  if (path.empty()) return Unavailable("unable to locate the home directory for the token file");
  std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Unavailable(Errno("open", tmp));
  ::fchmod(fd, 0600);  // whatever the umask
  std::size_t off = 0;
  while (off < token.size()) {
    ssize_t n = ::write(fd, token.data() + off, token.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string err = Errno("write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return Unavailable(err);
    }
    off += static_cast<std::size_t>(n);
  }
  int synced = ::fsync(fd);
  int closed = ::close(fd);
  if (synced != 0 || closed != 0) {
    std::string err = Errno("sync", tmp);
    ::unlink(tmp.c_str());
    return Unavailable(err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string err = Errno("rename", tmp);
    ::unlink(tmp.c_str());
    return Unavailable(err);
  }
  return OkStatus();
}

Status EraseTokenFile(const std::string& path) {
  if (path.empty()) return OkStatus();
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Unavailable(Errno("remove", path));
  return OkStatus();
}

}  // namespace arca::cli
