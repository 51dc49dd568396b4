// arca engines (internal): the versioned KV backend (KV v2) and its model.
//
// KvV2Backend is safe for concurrent use. Every change to a key runs under
// that key's striped lock and commits the key's metadata together with any
// version data in ONE storage Txn, conditioned on the metadata bytes read
// (or their absence), so writers in other processes or backend instances are
// detected and the change is retried a bounded number of times.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "engines/internal/common.h"
#include "logical/backend.h"
#include "storage/backend.h"

namespace arca::engines::internal {

// Storage keys (see engines.h for the layout).
inline constexpr std::string_view kV2Root = "_kv2/";
inline constexpr std::string_view kConfigKey = "_kv2/config";
inline constexpr std::string_view kUpgradeKey = "_kv2/upgraded";
std::string MetaKey(std::string_view path);                   // "_kv2/meta/<path>"
std::string VersionKey(std::string_view path, uint64_t ver);  // "_kv2/ver/<sha256hex>/<n>"

struct VersionMeta {
  int64_t created_ns = 0;
  std::optional<int64_t> deletion_ns;
  bool destroyed = false;
};

struct KeyMetadata {
  KeyMetadata() = default;
  KeyMetadata(const KeyMetadata&) = default;
  KeyMetadata(KeyMetadata&&) = default;
  KeyMetadata& operator=(const KeyMetadata&) = default;
  KeyMetadata& operator=(KeyMetadata&&) = default;
  ~KeyMetadata();  // wipes inline_data

  std::string key;
  uint64_t current_version = 0;
  uint64_t oldest_version = 0;
  uint32_t max_versions = 0;  // 0: the mount config decides
  bool cas_required = false;
  int64_t delete_version_after = 0;  // seconds; 0: unset
  int64_t created_ns = 0;
  int64_t updated_ns = 0;
  std::map<std::string, std::string> custom_metadata;
  std::map<uint64_t, VersionMeta> versions;
  // Data (JSON text) of the versions kept in the metadata record itself, so
  // that a write of a small secret is one storage put, not two; the data of
  // the other versions lives at VersionKey. See StoreVersionData.
  std::map<uint64_t, std::string> inline_data;
};

// A version's data is kept inline when it is at most kInlineVersionMax bytes
// and the key's inline data stays within kInlineBudget bytes; otherwise at
// its version key. Bounds what every write of the key rewrites.
inline constexpr std::size_t kInlineVersionMax = 1024;
inline constexpr std::size_t kInlineBudget = 2048;

struct KvConfig {
  uint32_t max_versions = 0;
  bool cas_required = false;
  int64_t delete_version_after = 0;  // seconds; 0 unset, -1 disabled
  bool DeleteVersionAfterDisabled() const { return delete_version_after < 0; }
};

inline constexpr uint32_t kDefaultMaxVersions = 10;

std::string EncodeMetadata(const KeyMetadata& m);
// Internal when the bytes are not metadata written by EncodeMetadata.
StatusOr<KeyMetadata> DecodeMetadata(std::string_view raw);
std::string EncodeConfig(const KvConfig& c);
StatusOr<KvConfig> DecodeConfig(std::string_view raw);

// A version reads as deleted once its deletion time is not in the future.
bool IsDeleted(const VersionMeta& v, int64_t now_ns);
// from + the smallest non-zero of the config's and the key's
// delete_version_after; nullopt when both are zero or the config disables it.
std::optional<int64_t> DeletionTime(int64_t from_ns, const KvConfig& c, const KeyMetadata& m);
// Appends a version (Vault's KeyMetadata.AddVersion) and prunes the oldest
// past the effective max_versions (the key's if set, else the config's, 0 →
// 10), appending the pruned version numbers to *pruned. Returns the new number.
uint64_t AddVersion(KeyMetadata& m, int64_t created_ns, std::optional<int64_t> deletion_ns,
                    uint32_t config_max_versions, std::vector<uint64_t>* pruned);

// Records `text` as the data of version n of m.key: inline when it fits
// (see kInlineBudget), else a Put at VersionKey appended to *ops.
void StoreVersionData(KeyMetadata& m, uint64_t n, std::string text, std::vector<storage::Op>& ops);
// Drops the data of version n: from inline_data, or a Delete of its
// VersionKey appended to *ops.
void DropVersionData(KeyMetadata& m, uint64_t n, std::vector<storage::Op>& ops);

// {"version","created_time","deletion_time","destroyed","custom_metadata"}.
Json VersionJson(uint64_t ver, const VersionMeta& v, const KeyMetadata& m);
Json CustomMetadataJson(const KeyMetadata& m);  // null when empty

// custom_metadata values weakly decoded to strings; with `skip_nulls` null
// values are left out (PATCH removes them), else they become "". A nested
// value → InvalidArgument "custom_metadata validation failed: ...".
StatusOr<std::map<std::string, std::string>> ParseCustomMetadata(const Json& obj, bool skip_nulls);
// At most 64 keys; each key 1..128 bytes, value 1..512 bytes, printable.
Status ValidateCustomMetadata(const std::map<std::string, std::string>& cm);

// The changes a mutation of one key wants committed with its metadata.
struct Mutation {
  bool commit = false;                         // false: nothing is written
  bool delete_meta = false;                    // delete the metadata instead of writing it
  std::vector<storage::Condition> conditions;  // besides the metadata's own
  std::vector<storage::Op> ops;                // besides the metadata write
};

class KvV2Backend final : public logical::Backend {
 public:
  KvV2Backend(storage::Backend* storage, Clock& clock);
  ~KvV2Backend() override;

  StatusOr<Response> HandleRequest(Request& req) override;
  StatusOr<bool> Exists(Request& req) override;
  bool CreateIsUpdate(std::string_view path) const override;
  // Migrates KV v1 secrets found in the view (the upgrade from version 1).
  Status Initialize() override;

 private:
  enum class Kind {
    kConfig,
    kData,
    kMetadata,
    kDelete,
    kUndelete,
    kDestroy,
    kSubkeys,
    kRoot,
    kInvalid
  };
  struct Route {
    Kind kind = Kind::kInvalid;
    std::string key;  // the secret path captured after the prefix
  };
  static Route Parse(std::string_view path, Operation op);

  StatusOr<Response> Dispatch(Request& req, const Route& r, storage::Backend& s);

  // kv_v2.cc: data, delete/undelete/destroy, subkeys.
  StatusOr<Response> ReadData(storage::Backend& s, const std::string& key, const Json& data,
                              bool subkeys);
  StatusOr<Response> WriteData(storage::Backend& s, const std::string& key, const Json& data);
  StatusOr<Response> PatchData(storage::Backend& s, const std::string& key, const Json& data);
  StatusOr<Response> DeleteLatest(storage::Backend& s, const std::string& key);
  StatusOr<Response> ChangeVersions(storage::Backend& s, Kind kind, const std::string& key,
                                    const Json& data);

  // kv_v2_metadata.cc: metadata, config, upgrade.
  StatusOr<Response> ReadMetadata(storage::Backend& s, const std::string& key);
  StatusOr<Response> WriteMetadata(storage::Backend& s, const std::string& key, const Json& data);
  StatusOr<Response> PatchMetadata(storage::Backend& s, const std::string& key, const Json& data);
  StatusOr<Response> DeleteMetadata(storage::Backend& s, const std::string& key);
  StatusOr<Response> ListMetadata(storage::Backend& s, const std::string& key);
  StatusOr<Response> ReadConfig(storage::Backend& s);
  StatusOr<Response> WriteConfig(storage::Backend& s, const Json& data);
  Status MigrateV1Key(storage::Backend& s, const std::string& key);

  // Shared machinery.
  using MutateFn = std::function<StatusOr<Response>(std::optional<KeyMetadata>& meta, Mutation& m)>;
  // Runs `fn` on the key's current metadata under the key's lock and commits
  // what it asks for in one Txn; `fn` may run several times (retries).
  StatusOr<Response> Mutate(storage::Backend& s, const std::string& key, const MutateFn& fn);
  // Adds a version holding `data` to `meta`, queuing its ops in `m`; returns
  // the write response.
  Response CommitNewVersion(KeyMetadata& meta, const KvConfig& config, const Json& data,
                            Mutation& m);
  static StatusOr<std::optional<KeyMetadata>> LoadMetadata(storage::Backend& s,
                                                           const std::string& key);
  static StatusOr<KvConfig> LoadConfig(storage::Backend& s);
  // Version `ver`'s data: inline, or read from the key `version_key()`
  // makes (called only then: it costs a SHA-256). Internal when missing or
  // corrupt.
  template <typename KeyFn>
  static StatusOr<Json> LoadVersionData(storage::Backend& s, const KeyMetadata& meta, uint64_t ver,
                                        KeyFn version_key);
  int64_t Now() const { return NowNs(clock_); }

  storage::Backend* storage_;
  Clock& clock_;
  KeyLocks locks_;
  std::unique_ptr<class MetadataMemo> memo_;  // the read path's decoded metadata
};

}  // namespace arca::engines::internal
