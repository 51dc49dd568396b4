// arca: ReadCache, the barrier's cache of decrypted values.
//
// A bounded LRU of plaintext by storage key, sharded to keep lock hold times
// short, that saves the physical read and the AES-GCM open on hot keys
// (tokens, KV metadata and versions, policies). It also remembers missing
// keys. Values are wiped when evicted, replaced or cleared.
//
// Each entry also keeps the stored (sealed) bytes, so a transaction
// condition on a cached key needs no storage read.
//
// Coherence: a writer calls BeginWrite(key) before the physical write and
// FinishWrite(...) after it: the new value is cached only if no other write
// touched the key in between, otherwise the key is dropped. A reader takes
// a ticket from BeginMiss() before it reads storage and its Insert() is
// dropped if any write touched the key since, so a value read before a
// write can never be cached after it. (Each shard logs the last keys
// written; when a ticket is older than that log, any write to the shard
// since drops the value, as if every key had been written.) The cache is only correct while this
// process is the only writer: core clears it when a node becomes active, and
// after a snapshot restore.
//
// Safe for concurrent use.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace arca::core {

class ReadCache {
 public:
  // Bounds: entries and plaintext bytes in all (spread over the shards);
  // values above max_value_bytes are never cached. max_entries 0 disables.
  ReadCache(std::size_t max_entries, std::size_t max_bytes, std::size_t max_value_bytes);
  ~ReadCache();
  ReadCache(const ReadCache&) = delete;
  ReadCache& operator=(const ReadCache&) = delete;

  struct Cached {
    std::optional<std::string> plain;  // nullopt: the key is known to be missing
    std::string sealed;                // as stored; empty when missing
  };
  // nullopt on a miss.
  std::optional<Cached> Lookup(std::string_view key);
  // As Lookup, copying only what the caller needs: the plaintext
  // (nullopt inside: known missing); or the stored bytes, when the cached
  // plaintext equals `plain` (compared in constant time; else nullopt).
  std::optional<std::optional<std::string>> LookupPlain(std::string_view key);
  std::optional<std::string> SealedIfPlainIs(std::string_view key, std::string_view plain);

  struct Ticket {
    std::size_t shard = 0;
    uint64_t generation = 0;
  };
  Ticket BeginMiss(std::string_view key);
  // Caches what storage returned for `key` (nullopt: missing), unless a write
  // to the shard happened since `ticket` was taken.
  void Insert(std::string_view key, const std::optional<std::string>& plain,
              std::string_view sealed, Ticket ticket);

  // Drops `key` and returns the ticket for FinishWrite.
  Ticket BeginWrite(std::string_view key);
  // After the physical write: `written` holds what is now stored when the
  // write succeeded (plain nullopt for a delete), nullopt when it failed or
  // its outcome is unknown (the key is then just dropped).
  void FinishWrite(std::string_view key, const std::optional<Cached>& written, Ticket ticket);

  void Invalidate(std::string_view key);
  // Drops (and wipes) everything.
  void Clear();

  std::size_t size() const;
  bool enabled() const { return max_entries_ > 0; }

 private:
  static constexpr std::size_t kShards = 16;
  struct Entry;
  struct Shard;
  Entry* FindLocked(Shard& s, std::string_view key);  // and marks it most recently used
  std::size_t ShardOf(std::string_view key) const;
  static void EraseLocked(Shard& s, std::string_view key);
  void InsertLocked(Shard& s, std::string_view key, Cached value);

  std::size_t max_entries_;
  std::size_t max_value_bytes_;
  std::size_t shard_entries_;
  std::size_t shard_bytes_;
  std::array<std::unique_ptr<Shard>, kShards> shards_;
};

}  // namespace arca::core
