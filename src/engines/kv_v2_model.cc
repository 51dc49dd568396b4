// arca engines: the KV v2 data model — key metadata, mount config, version
// bookkeeping and custom_metadata validation — and its storage encoding.
#include <algorithm>
#include <cassert>
#include <limits>
#include <type_traits>

#include "base/encoding.h"
#include "base/secure.h"
#include "engines/internal/kv_v2.h"
#include "logical/json.h"

namespace arca::engines::internal {

std::string MetaKey(std::string_view path) {
  std::string k = "_kv2/meta/";
  k.append(path);
  return k;
}

std::string VersionKey(std::string_view path, uint64_t ver) {
  // Hashing keeps version keys flat, so a secret "a" and a secret "a/1" can
  // never collide, and the layout does not depend on the path's characters.
  return "_kv2/ver/" + Sha256Hex(path) + "/" + std::to_string(ver);
}

KeyMetadata::~KeyMetadata() {
  for (auto& [n, text] : inline_data) Wipe(text);
}

void StoreVersionData(KeyMetadata& m, uint64_t n, std::string text, std::vector<storage::Op>& ops) {
  std::size_t used = 0;
  for (const auto& [v, t] : m.inline_data) used += t.size();
  if (text.size() <= kInlineVersionMax && used + text.size() <= kInlineBudget) {
    m.inline_data[n] = std::move(text);
  } else {
    ops.push_back(storage::Op::Put(VersionKey(m.key, n), std::move(text)));
  }
}

void DropVersionData(KeyMetadata& m, uint64_t n, std::vector<storage::Op>& ops) {
  if (auto it = m.inline_data.find(n); it != m.inline_data.end()) {
    Wipe(it->second);
    m.inline_data.erase(it);
    return;
  }
  ops.push_back(storage::Op::Delete(VersionKey(m.key, n)));
}

namespace {

// Reads an integer member; false when present with the wrong type.
template <typename T>
bool GetInt(const Json& j, const char* name, T& out) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return true;
  if (!it->is_number_integer()) return false;
  if (it->is_number_unsigned()) {
    uint64_t u = it->get<uint64_t>();
    if (u > uint64_t(std::numeric_limits<T>::max())) return false;
    out = T(u);
  } else {
    int64_t v = it->get<int64_t>();
    if (v < int64_t(std::numeric_limits<T>::min()) ||
        (v > 0 && uint64_t(v) > uint64_t(std::numeric_limits<T>::max())))
      return false;
    out = T(v);
  }
  return true;
}

bool GetBoolMember(const Json& j, const char* name, bool& out) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return true;
  if (!it->is_boolean()) return false;
  out = it->get<bool>();
  return true;
}

Status Corrupt() { return Internal("kv: corrupt metadata in storage"); }

}  // namespace

// The record, in a compact binary form (every write of a key encodes it, and
// etcd's cost grows with its size):
//   kRecordFormat, key, current_version, oldest_version, max_versions,
//   flags (1: cas_required), delete_version_after, created_ns,
//   updated_ns - created_ns,
//   count, then per custom_metadata entry: name, value,
//   count, then per version in increasing order: number - previous number,
//     created_ns - previous created_ns (the first: - the record's created_ns),
//     flags (1: destroyed, 2: has deletion), [deletion_ns - created_ns],
//   count, then per inline version in increasing order: number - previous
//     number, data.
// Integers are varints; differences wrap modulo 2^64 (so any int64 round
// trips); strings are length-prefixed bytes. Records written before start
// with '{' and are read as JSON (DecodeMetadataJson).
namespace {

constexpr char kRecordFormat = 1;
constexpr uint64_t kCasRequired = 1;
constexpr uint64_t kDestroyed = 1;
constexpr uint64_t kHasDeletion = 2;

uint64_t Diff(int64_t a, int64_t b) { return uint64_t(a) - uint64_t(b); }
int64_t AddDiff(int64_t base, uint64_t d) { return int64_t(uint64_t(base) + d); }

}  // namespace

std::string EncodeMetadata(const KeyMetadata& m) {
  // An upper bound (a varint takes at most 10 bytes), so that `out` never
  // reallocates: a reallocation would free a copy of the inline data
  // unwiped. The caller wipes `out`.
  constexpr std::size_t kV = 10;
  std::size_t reserve = 1 + kV + m.key.size() + 7 * kV + 3 * kV + 4 * kV * m.versions.size();
  for (const auto& [k, v] : m.custom_metadata) reserve += 2 * kV + k.size() + v.size();
  for (const auto& [n, text] : m.inline_data) reserve += 2 * kV + text.size();
  std::string out;
  out.reserve(reserve);
  out.push_back(kRecordFormat);
  PutLengthPrefixed(out, m.key);
  PutVarint(out, m.current_version);
  PutVarint(out, m.oldest_version);
  PutVarint(out, m.max_versions);
  PutVarint(out, m.cas_required ? kCasRequired : 0);
  PutVarint(out, uint64_t(m.delete_version_after));
  PutVarint(out, uint64_t(m.created_ns));
  PutVarint(out, Diff(m.updated_ns, m.created_ns));
  PutVarint(out, m.custom_metadata.size());
  for (const auto& [k, v] : m.custom_metadata) {
    PutLengthPrefixed(out, k);
    PutLengthPrefixed(out, v);
  }
  PutVarint(out, m.versions.size());
  uint64_t prev = 0;
  int64_t prev_created = m.created_ns;
  for (const auto& [n, v] : m.versions) {
    PutVarint(out, n - prev);
    PutVarint(out, Diff(v.created_ns, prev_created));
    PutVarint(out, (v.destroyed ? kDestroyed : 0) | (v.deletion_ns ? kHasDeletion : 0));
    if (v.deletion_ns) PutVarint(out, Diff(*v.deletion_ns, v.created_ns));
    prev = n;
    prev_created = v.created_ns;
  }
  PutVarint(out, m.inline_data.size());
  prev = 0;
  for (const auto& [n, text] : m.inline_data) {
    PutVarint(out, n - prev);
    PutLengthPrefixed(out, text);
    prev = n;
  }
  assert(out.size() <= reserve);
  return out;
}

namespace {

StatusOr<KeyMetadata> DecodeMetadataBinary(std::string_view in) {
  KeyMetadata m;
  std::string_view key;
  uint64_t current = 0, oldest = 0, max_versions = 0, flags = 0, dva = 0, created = 0, updated = 0,
           count = 0;
  if (!GetLengthPrefixed(in, key) || !GetVarint(in, current) || !GetVarint(in, oldest) ||
      !GetVarint(in, max_versions) || max_versions > std::numeric_limits<uint32_t>::max() ||
      !GetVarint(in, flags) || (flags & ~kCasRequired) != 0 || !GetVarint(in, dva) ||
      !GetVarint(in, created) || !GetVarint(in, updated)) {
    return Corrupt();
  }
  m.key.assign(key);
  m.current_version = current;
  m.oldest_version = oldest;
  m.max_versions = uint32_t(max_versions);
  m.cas_required = (flags & kCasRequired) != 0;
  m.delete_version_after = int64_t(dva);
  m.created_ns = int64_t(created);
  m.updated_ns = AddDiff(m.created_ns, updated);
  // Every entry takes at least one byte, so a count above what is left is
  // corrupt (and never sizes an allocation).
  if (!GetVarint(in, count) || count > in.size()) return Corrupt();
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view k, v;
    if (!GetLengthPrefixed(in, k) || !GetLengthPrefixed(in, v)) return Corrupt();
    if (!m.custom_metadata.emplace(std::string(k), std::string(v)).second) return Corrupt();
  }
  if (!GetVarint(in, count) || count > in.size()) return Corrupt();
  uint64_t n = 0;
  int64_t prev_created = m.created_ns;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t step = 0, created_diff = 0, vflags = 0, deletion = 0;
    if (!GetVarint(in, step) || step == 0 || n + step < n || !GetVarint(in, created_diff) ||
        !GetVarint(in, vflags) || (vflags & ~(kDestroyed | kHasDeletion)) != 0) {
      return Corrupt();
    }
    n += step;
    VersionMeta v;
    v.created_ns = AddDiff(prev_created, created_diff);
    v.destroyed = (vflags & kDestroyed) != 0;
    if (vflags & kHasDeletion) {
      if (!GetVarint(in, deletion)) return Corrupt();
      v.deletion_ns = AddDiff(v.created_ns, deletion);
    }
    prev_created = v.created_ns;
    m.versions.emplace_hint(m.versions.end(), n, v);
  }
  if (!GetVarint(in, count) || count > in.size()) return Corrupt();
  n = 0;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t step = 0;
    std::string_view text;
    if (!GetVarint(in, step) || step == 0 || n + step < n || !GetLengthPrefixed(in, text)) {
      return Corrupt();
    }
    n += step;
    m.inline_data.emplace_hint(m.inline_data.end(), n, std::string(text));
  }
  if (!in.empty()) return Corrupt();
  return m;
}

// A record written before the binary form.
StatusOr<KeyMetadata> DecodeMetadataJson(std::string_view raw) {
  auto j = ParseJsonObject(raw);
  if (!j) return Corrupt();
  KeyMetadata m;
  if (auto it = j->find("key"); it != j->end() && it->is_string()) m.key = it->get<std::string>();
  if (!GetInt(*j, "current_version", m.current_version) ||
      !GetInt(*j, "oldest_version", m.oldest_version) ||
      !GetInt(*j, "max_versions", m.max_versions) ||
      !GetBoolMember(*j, "cas_required", m.cas_required) ||
      !GetInt(*j, "delete_version_after", m.delete_version_after) ||
      !GetInt(*j, "created", m.created_ns) || !GetInt(*j, "updated", m.updated_ns)) {
    return Corrupt();
  }
  if (auto it = j->find("custom_metadata"); it != j->end() && !it->is_null()) {
    if (!it->is_object()) return Corrupt();
    for (auto e = it->begin(); e != it->end(); ++e) {
      if (!e->is_string()) return Corrupt();
      m.custom_metadata[e.key()] = e->get<std::string>();
    }
  }
  if (auto it = j->find("versions"); it != j->end() && !it->is_null()) {
    if (!it->is_object()) return Corrupt();
    for (auto e = it->begin(); e != it->end(); ++e) {
      auto n = WeakInt(Json(e.key()));
      if (!n || *n <= 0 || !e->is_object()) return Corrupt();
      VersionMeta v;
      int64_t deletion = 0;
      bool has_deletion = e->contains("deletion") && !(*e)["deletion"].is_null();
      if (!GetInt(*e, "created", v.created_ns) || !GetBoolMember(*e, "destroyed", v.destroyed) ||
          !GetInt(*e, "deletion", deletion)) {
        return Corrupt();
      }
      if (has_deletion) v.deletion_ns = deletion;
      m.versions[uint64_t(*n)] = v;
    }
  }
  if (auto it = j->find("inline"); it != j->end() && !it->is_null()) {
    if (!it->is_object()) return Corrupt();
    for (auto e = it->begin(); e != it->end(); ++e) {
      auto n = WeakInt(Json(e.key()));
      if (!n || *n <= 0 || !e->is_string()) return Corrupt();
      m.inline_data[uint64_t(*n)] = std::move(e->get_ref<std::string&>());
    }
  }
  return m;
}

}  // namespace

StatusOr<KeyMetadata> DecodeMetadata(std::string_view raw) {
  if (!raw.empty() && raw.front() == kRecordFormat) return DecodeMetadataBinary(raw.substr(1));
  if (!raw.empty() && raw.front() == '{') return DecodeMetadataJson(raw);
  return Corrupt();
}

std::string EncodeConfig(const KvConfig& c) {
  return DumpJson(Json{{"max_versions", c.max_versions},
                       {"cas_required", c.cas_required},
                       {"delete_version_after", c.delete_version_after}});
}

StatusOr<KvConfig> DecodeConfig(std::string_view raw) {
  auto j = ParseJsonObject(raw);
  KvConfig c;
  if (!j || !GetInt(*j, "max_versions", c.max_versions) ||
      !GetBoolMember(*j, "cas_required", c.cas_required) ||
      !GetInt(*j, "delete_version_after", c.delete_version_after)) {
    return Internal("kv: corrupt config in storage");
  }
  return c;
}

bool IsDeleted(const VersionMeta& v, int64_t now_ns) {
  return v.deletion_ns.has_value() && *v.deletion_ns <= now_ns;
}

std::optional<int64_t> DeletionTime(int64_t from_ns, const KvConfig& c, const KeyMetadata& m) {
  if (c.DeleteVersionAfterDisabled()) return std::nullopt;
  int64_t mount = c.delete_version_after, meta = m.delete_version_after;
  if (mount <= 0 && meta <= 0) return std::nullopt;
  int64_t secs = meta > 0 ? meta : 0;
  if (mount > 0 && (secs == 0 || mount < secs)) secs = mount;
  constexpr int64_t kMaxSecs = std::numeric_limits<int64_t>::max() / 1'000'000'000 - 1;
  int64_t add = std::min(secs, kMaxSecs) * 1'000'000'000;
  if (from_ns > std::numeric_limits<int64_t>::max() - add) {
    return std::numeric_limits<int64_t>::max();
  }
  return from_ns + add;
}

uint64_t AddVersion(KeyMetadata& m, int64_t created_ns, std::optional<int64_t> deletion_ns,
                    uint32_t config_max_versions, std::vector<uint64_t>* pruned) {
  uint64_t n = ++m.current_version;
  VersionMeta v;
  v.created_ns = created_ns;
  v.deletion_ns = deletion_ns;
  m.versions[n] = v;
  m.updated_ns = created_ns;
  if (m.created_ns == 0) m.created_ns = created_ns;

  // As the wire reference (5.3): the larger of the key's and the mount's, 0 → 10.
  uint32_t max = std::max(m.max_versions, config_max_versions);
  if (max == 0) max = kDefaultMaxVersions;
  if (n - m.oldest_version >= max) {
    uint64_t to_delete = n - max;
    while (!m.versions.empty() && m.versions.begin()->first <= to_delete) {
      if (pruned) pruned->push_back(m.versions.begin()->first);
      m.versions.erase(m.versions.begin());
    }
    m.oldest_version = to_delete + 1;
  }
  return n;
}

Json CustomMetadataJson(const KeyMetadata& m) {
  if (m.custom_metadata.empty()) return nullptr;
  Json j = Json::object();
  for (const auto& [k, v] : m.custom_metadata) j[k] = v;
  return j;
}

Json VersionJson(uint64_t ver, const VersionMeta& v, const KeyMetadata& m) {
  return Json{{"version", ver},
              {"created_time", FormatNs(v.created_ns)},
              {"deletion_time", v.deletion_ns ? FormatNs(*v.deletion_ns) : std::string()},
              {"destroyed", v.destroyed},
              {"custom_metadata", CustomMetadataJson(m)}};
}

namespace {
constexpr std::size_t kMaxCustomMetadataKeys = 64;
constexpr std::size_t kMaxCustomMetadataKeyLength = 128;
constexpr std::size_t kMaxCustomMetadataValueLength = 512;
constexpr const char* kCmPrefix = "custom_metadata validation failed";
}  // namespace

StatusOr<std::map<std::string, std::string>> ParseCustomMetadata(const Json& obj, bool skip_nulls) {
  std::map<std::string, std::string> out;
  if (!obj.is_object()) return out;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const Json& v = *it;
    if (v.is_null()) {
      if (!skip_nulls) out[it.key()] = "";
    } else if (v.is_string()) {
      out[it.key()] = v.get<std::string>();
    } else if (v.is_boolean()) {
      out[it.key()] = v.get<bool>() ? "1" : "0";
    } else if (v.is_number() || logical::IsNumberLiteral(v)) {
      out[it.key()] = logical::DumpJson(v);
    } else {
      return InvalidArgument(std::string(kCmPrefix) + ": value for key " + GoQuote(it.key()) +
                             " must be a string");
    }
  }
  return out;
}

Status ValidateCustomMetadata(const std::map<std::string, std::string>& cm) {
  const std::string p = kCmPrefix;
  if (cm.size() > kMaxCustomMetadataKeys) {
    return InvalidArgument(p + ": payload must contain at most " +
                           std::to_string(kMaxCustomMetadataKeys) + " keys, provided " +
                           std::to_string(cm.size()));
  }
  std::vector<std::string> errs;
  for (const auto& [k, v] : cm) {
    if (k.empty() || k.size() > kMaxCustomMetadataKeyLength) {
      errs.push_back(p + ": length of key " + GoQuote(k) + " is " + std::to_string(k.size()) +
                     " but must be 0 < len(key) <= " + std::to_string(kMaxCustomMetadataKeyLength));
    }
    if (v.empty() || v.size() > kMaxCustomMetadataValueLength) {
      errs.push_back(
          p + ": length of value for key " + GoQuote(k) + " is " + std::to_string(v.size()) +
          " but must be 0 < len(value) <= " + std::to_string(kMaxCustomMetadataValueLength));
    }
    if (!IsPrintable(k)) {
      errs.push_back(p + ": key " + GoQuote(k) + " contains unprintable characters");
    }
    if (!IsPrintable(v)) {
      errs.push_back(p + ": value for key " + GoQuote(k) + " contains unprintable characters");
    }
  }
  if (errs.empty()) return OkStatus();
  std::string msg = errs[0];
  for (std::size_t i = 1; i < errs.size(); ++i) msg += "; " + errs[i];
  return InvalidArgument(std::move(msg));
}

}  // namespace arca::engines::internal
