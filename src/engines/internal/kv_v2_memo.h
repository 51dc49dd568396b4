// arca engines (internal): MetadataMemo, the KV v2 read path's memo of
// decoded key metadata.
//
// Decoding a key's metadata (JSON) is the largest cost of a KV v2 read whose
// bytes the barrier already holds in memory. The memo maps a secret path to
// the metadata bytes last decoded for it and the result; a lookup with the
// same bytes returns the shared result, other bytes are decoded and replace
// it. It is therefore never stale: it is keyed by content, not invalidated.
// A write remembers the record it stored (Remember), so the key's next read
// or write of those bytes is a hit.
// Also memoised, on first use: the path's version-key prefix (a SHA-256)
// and the current version's metadata JSON. Bounded by entry
// count, entry size and total size; bytes dropped are wiped.
//
// Safe for concurrent use.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/status.h"
#include "engines/internal/kv_v2.h"

namespace arca::engines::internal {

class MetadataMemo {
 public:
  struct Decoded {
    KeyMetadata meta;
    std::string path;
    // VersionKey(path, n) == VersionPrefix() + to_string(n).
    const std::string& VersionPrefix() const;
    // VersionJson of the current version; null if none.
    const Json& CurrentVersionJson() const;

   private:
    // Made on first use: a write that keeps its data inline and is not read
    // back needs neither (a SHA-256 and a JSON tree per write saved).
    mutable std::once_flag prefix_once_;
    mutable std::string version_prefix_;
    mutable std::once_flag json_once_;
    mutable Json current_version_json_;
  };

  // Bounds: paths, bytes of one path's metadata, bytes of all of them.
  explicit MetadataMemo(std::size_t max_entries = 16384, std::size_t max_bytes = 16 * 1024,
                        std::size_t max_total_bytes = 16 << 20);
  ~MetadataMemo();
  MetadataMemo(const MetadataMemo&) = delete;
  MetadataMemo& operator=(const MetadataMemo&) = delete;

  // The decoding of `raw`, the stored metadata of `path` (meta.key set to
  // `path` when the stored one is empty). Errors as DecodeMetadata.
  StatusOr<std::shared_ptr<const Decoded>> Decode(const std::string& path, std::string_view raw);
  // Records that `raw` decodes to `meta` (a write just encoded `meta` as
  // `raw` and stored it), so the next Decode of those bytes is a hit.
  void Remember(const std::string& path, std::string raw, KeyMetadata meta);

  std::size_t size() const;

 private:
  struct Entry {
    std::string raw;
    std::shared_ptr<const Decoded> decoded;
  };
  void ClearLocked();
  // Builds the Decoded of `meta` and keeps it for `raw` (within the bounds).
  std::shared_ptr<const Decoded> Insert(const std::string& path, std::string_view raw,
                                        KeyMetadata meta);

  const std::size_t max_entries_;
  const std::size_t max_bytes_;
  const std::size_t max_total_bytes_;
  mutable std::mutex mu_;
  std::size_t total_bytes_ = 0;                     // guarded by mu_; raw bytes kept
  std::unordered_map<std::string, Entry> entries_;  // guarded by mu_
};

}  // namespace arca::engines::internal
