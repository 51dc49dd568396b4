// arca: the audit broker: device table, salts, option parsing and fan-out.
#include "core/audit.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <exception>
#include <system_error>
#include <utility>

#include <spdlog/spdlog.h>

#include "base/secure.h"
#include "base/time.h"
#include "core/audit_format.h"
#include "core/audit_sink.h"

namespace arca::core {

using audit_internal::AuditHasher;
using audit_internal::AuditSink;
using audit_internal::FormatOptions;

struct AuditBroker::Device {
  AuditDeviceInfo info;
  FormatOptions format;
  std::unique_ptr<AuditHasher> hasher;  // holds the salt; wiped when freed
  std::unique_ptr<AuditSink> sink;
};

namespace {

constexpr std::size_t kSaltBytes = 32;
constexpr std::size_t kMaxSaltBytes = 1024;  // refuse absurd stored values

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// Go's %q for the strings that appear in error messages.
std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
  return out;
}

// strconv.ParseBool.
StatusOr<bool> ParseGoBool(const std::string& s) {
  if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True") return true;
  if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False") return false;
  return InvalidArgument("strconv.ParseBool: parsing " + GoQuote(s) + ": invalid syntax");
}

// strconv.ParseUint(s, 8, 32).
StatusOr<uint32_t> ParseOctal32(const std::string& s) {
  if (s.empty()) return InvalidArgument("strconv.ParseUint: parsing \"\": invalid syntax");
  uint64_t v = 0;
  bool overflow = false;
  for (char c : s) {
    if (c < '0' || c > '7')
      return InvalidArgument("strconv.ParseUint: parsing " + GoQuote(s) + ": invalid syntax");
    if (!overflow) v = v * 8 + static_cast<uint64_t>(c - '0');
    if (v > 0xffffffffULL) overflow = true;
  }
  if (overflow)
    return InvalidArgument("strconv.ParseUint: parsing " + GoQuote(s) + ": value out of range");
  return static_cast<uint32_t>(v);
}

bool EqualsFold(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

std::optional<std::string> NormalizePath(std::string_view in) {
  while (!in.empty() && in.front() == '/') in.remove_prefix(1);
  if (in.empty()) return std::nullopt;
  std::string p(in);
  if (p.back() != '/') p += '/';
  return p;
}

struct FileOptions {
  AuditSink::Kind kind = AuditSink::Kind::kFile;
  std::string path;
  uint32_t mode = 0600;
  FormatOptions format;
};

// Mirrors the option handling of Vault's builtin/audit/file Factory.
StatusOr<FileOptions> ParseFileOptions(const std::map<std::string, std::string>& opts) {
  FileOptions f;
  auto get = [&](const char* k) -> const std::string* {
    auto it = opts.find(k);
    return it == opts.end() ? nullptr : &it->second;
  };
  const std::string* path = get("file_path");
  if (!path) path = get("path");
  if (!path) return InvalidArgument("file_path is required");
  f.path = *path;
  if (EqualsFold(f.path, "stdout")) f.kind = AuditSink::Kind::kStdout;
  if (EqualsFold(f.path, "discard")) f.kind = AuditSink::Kind::kDiscard;

  if (const std::string* fmt = get("format")) {
    if (*fmt == "jsonx") f.format.jsonx = true;
    else if (*fmt != "json") return InvalidArgument("unknown format type " + GoQuote(*fmt));
  }
  if (const std::string* v = get("hmac_accessor")) {
    ARCA_ASSIGN_OR_RETURN(f.format.hmac_accessor, ParseGoBool(*v));
  }
  if (const std::string* v = get("log_raw")) {
    ARCA_ASSIGN_OR_RETURN(f.format.log_raw, ParseGoBool(*v));
  }
  if (const std::string* v = get("elide_list_responses")) {
    ARCA_ASSIGN_OR_RETURN(f.format.elide_list_responses, ParseGoBool(*v));
  }
  if (const std::string* v = get("mode")) {
    ARCA_ASSIGN_OR_RETURN(uint32_t m, ParseOctal32(*v));
    if (m == 0 && f.kind == AuditSink::Kind::kFile) {
      struct stat st {};
      if (::stat(f.path.c_str(), &st) != 0) {
        std::string why = std::error_code(errno, std::generic_category()).message();
        if (!why.empty()) why[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(why[0])));
        return InvalidArgument("stat " + f.path + ": " + why);
      }
    }
    f.mode = m & 0777;  // Go's FileMode.Perm(): only permission bits reach chmod
  }
  if (const std::string* v = get("prefix")) f.format.prefix = *v;
  return f;
}

}  // namespace

AuditBroker::AuditBroker(storage::Backend& salt_storage, Clock& clock)
    : storage_(salt_storage), clock_(clock), devices_(std::make_shared<const DeviceList>()) {}

AuditBroker::~AuditBroker() = default;

std::shared_ptr<const AuditBroker::DeviceList> AuditBroker::Snapshot() const {
  std::shared_lock lock(devices_mu_);
  return devices_;
}

void AuditBroker::Publish(std::shared_ptr<const DeviceList> next) {
  bool any = !next->empty();
  {
    std::unique_lock lock(devices_mu_);
    devices_.swap(next);
  }
  has_devices_.store(any, std::memory_order_release);
  // `next` now holds the old table; devices still in use by a logger live on
  // until that logger drops its snapshot.
}

bool AuditBroker::HasDevices() const { return has_devices_.load(std::memory_order_acquire); }

Status AuditBroker::Enable(const AuditDeviceInfo& in) {
  std::optional<std::string> path = NormalizePath(in.path);
  if (!path) return InvalidArgument("backend path must be specified");

  std::lock_guard lock(mu_);
  auto current = Snapshot();
  for (const auto& d : *current) {
    if (StartsWith(d->info.path, *path) || StartsWith(*path, d->info.path))
      return InvalidArgument("path already in use");
  }
  if (in.type != "file") return InvalidArgument("unknown backend type: " + GoQuote(in.type));
  ARCA_ASSIGN_OR_RETURN(FileOptions fo, ParseFileOptions(in.options));

  auto sink = AuditSink::Open(fo.kind, fo.path, fo.mode);
  if (!sink.ok()) {
    return InvalidArgument("sanity check failed; unable to open " + GoQuote(fo.path) +
                           " for writing: " + sink.status().message());
  }

  // The salt: reuse the stored one so hashes survive restarts.
  const std::string salt_key = *path + "salt";
  ARCA_ASSIGN_OR_RETURN(std::optional<std::string> stored, storage_.Get(salt_key));
  SecureBytes salt;
  if (stored && !stored->empty()) {
    if (stored->size() > kMaxSaltBytes) {
      Wipe(*stored);
      return DataLoss("audit salt for " + *path + " is corrupt");
    }
    salt.assign(stored->begin(), stored->end());
    Wipe(*stored);
  } else {
    salt = RandomBytes(kSaltBytes);
    std::string raw(salt.begin(), salt.end());
    Status st = storage_.Put(salt_key, raw);
    Wipe(raw);
    ARCA_RETURN_IF_ERROR(st);
  }
  ARCA_ASSIGN_OR_RETURN(auto hasher, AuditHasher::Create(salt));

  auto dev = std::make_shared<Device>();
  dev->info = in;
  dev->info.path = *path;
  dev->format = std::move(fo.format);
  dev->hasher = std::move(hasher);
  dev->sink = std::move(*sink);

  auto next = std::make_shared<DeviceList>(*current);
  auto pos = std::lower_bound(next->begin(), next->end(), *path,
                              [](const auto& d, const std::string& p) { return d->info.path < p; });
  next->insert(pos, std::move(dev));
  Publish(std::move(next));
  return OkStatus();
}

Status AuditBroker::Disable(std::string_view raw_path) {
  std::optional<std::string> path = NormalizePath(raw_path);
  if (!path) return OkStatus();
  std::lock_guard lock(mu_);
  auto current = Snapshot();
  auto next = std::make_shared<DeviceList>();
  bool found = false;
  for (const auto& d : *current) {
    if (d->info.path == *path) found = true;
    else next->push_back(d);
  }
  if (!found) return OkStatus();
  ARCA_RETURN_IF_ERROR(storage_.Delete(*path + "salt"));
  Publish(std::move(next));
  return OkStatus();
}

std::vector<AuditDeviceInfo> AuditBroker::List() const {
  std::vector<AuditDeviceInfo> out;
  for (const auto& d : *Snapshot()) out.push_back(d->info);
  return out;
}

StatusOr<std::string> AuditBroker::Hash(std::string_view raw_path, std::string_view input) {
  std::optional<std::string> path = NormalizePath(raw_path);
  if (path) {
    for (const auto& d : *Snapshot())
      if (d->info.path == *path) return d->hasher->Hash(input);
  }
  return InvalidArgument("unknown audit backend " + GoQuote(path ? *path : std::string(raw_path)));
}

namespace {

// Writes the line `make(device)` to every device; OK if at least one took it.
template <typename DeviceList, typename MakeLine>
Status FanOut(const DeviceList& devices, const char* what, MakeLine make) {
  bool any = false;
  std::string failures;
  for (const auto& d : devices) {
    Status st;
    try {
      st = d->sink->Write(make(*d));
    } catch (const std::exception&) {
      st = Internal("formatting the entry failed");
    }
    if (st.ok()) {
      any = true;
      continue;
    }
    spdlog::error("audit: device {} failed to log {}: {}", d->info.path, what, st.message());
    if (!failures.empty()) failures += "; ";
    failures += d->info.path + ": " + st.message();
  }
  if (any || devices.empty()) return OkStatus();
  return Internal(std::string("no audit backend succeeded in logging the ") + what + " (" +
                  failures + ")");
}

}  // namespace

Status AuditBroker::LogRequest(const AuditAuth& auth, const AuditRequest& req,
                               const std::string& error) {
  auto devices = Snapshot();
  if (devices->empty()) return OkStatus();
  const std::string time = FormatRfc3339Nano(clock_.SystemNow());
  return FanOut(*devices, "request", [&](const Device& d) {
    return audit_internal::FormatRequestLine(d.format, d.hasher.get(), time, auth, req, error);
  });
}

Status AuditBroker::LogResponse(const AuditAuth& auth, const AuditRequest& req,
                                const AuditResponse& resp, const std::string& error) {
  auto devices = Snapshot();
  if (devices->empty()) return OkStatus();
  const std::string time = FormatRfc3339Nano(clock_.SystemNow());
  return FanOut(*devices, "response", [&](const Device& d) {
    return audit_internal::FormatResponseLine(d.format, d.hasher.get(), time, auth, req, resp,
                                              error);
  });
}

void AuditBroker::ReopenFiles() {
  for (const auto& d : *Snapshot()) {
    Status st = d->sink->Reopen();
    if (!st.ok()) spdlog::warn("audit: device {} cannot reopen its file: {}", d->info.path, st.message());
  }
}

}  // namespace arca::core
