// arca: ReadCache implementation (sharded LRU with write generations).
#include "core/read_cache.h"

#include <deque>
#include <functional>

#include "base/secure.h"

namespace arca::core {

namespace {
// Lets the maps be searched by string_view without building a std::string.
struct KeyHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view k) const { return std::hash<std::string_view>{}(k); }
};
}  // namespace

struct ReadCache::Entry {
  Cached value;
  std::list<std::string>::iterator lru;  // position in Shard::order
};

struct ReadCache::Shard {
  std::mutex mu;
  uint64_t generation = 0;
  // Keys written (BeginWrite, FinishWrite, Invalidate), each with the
  // generation it made, oldest first; bounded. A ticket older than
  // `forgotten` cannot be checked against it (Clear, or entries dropped).
  std::deque<std::pair<uint64_t, std::string>> log;
  uint64_t forgotten = 0;
  std::size_t bytes = 0;
  std::list<std::string> order;  // most recently used first
  std::unordered_map<std::string, Entry, KeyHash, std::equal_to<>> entries;
};

namespace {
std::size_t Cost(std::string_view key, const ReadCache::Cached& v) {
  return key.size() + (v.plain ? v.plain->size() : 0) + v.sealed.size() + 96;
}
void WipeCached(ReadCache::Cached& v) {
  if (v.plain) Wipe(*v.plain);
}
constexpr std::size_t kLogEntries = 256;  // per shard
}  // namespace

namespace {
// Records a write of `key` at the shard's (just bumped) generation.
template <typename Shard>
void Touch(Shard& s, std::string_view key) {
  s.log.emplace_back(s.generation, std::string(key));
  if (s.log.size() > kLogEntries) {
    s.forgotten = s.log.front().first;
    s.log.pop_front();
  }
}
// Whether a write may have touched `key` since the ticket's generation.
template <typename Shard>
bool WrittenSince(const Shard& s, std::string_view key, uint64_t generation) {
  if (generation == s.generation) return false;
  if (generation < s.forgotten) return true;
  for (auto it = s.log.rbegin(); it != s.log.rend() && it->first > generation; ++it) {
    if (it->second == key) return true;
  }
  return false;
}
}  // namespace

ReadCache::ReadCache(std::size_t max_entries, std::size_t max_bytes, std::size_t max_value_bytes)
    : max_entries_(max_entries),
      max_value_bytes_(max_value_bytes),
      shard_entries_(std::max<std::size_t>(1, max_entries / kShards)),
      shard_bytes_(std::max<std::size_t>(1, max_bytes / kShards)) {
  for (auto& s : shards_) s = std::make_unique<Shard>();
}

ReadCache::~ReadCache() { Clear(); }

std::size_t ReadCache::ShardOf(std::string_view key) const {
  return std::hash<std::string_view>{}(key) % kShards;
}

void ReadCache::EraseLocked(Shard& s, std::string_view key) {
  auto it = s.entries.find(key);
  if (it == s.entries.end()) return;
  s.bytes -= Cost(it->first, it->second.value);
  WipeCached(it->second.value);
  s.order.erase(it->second.lru);
  s.entries.erase(it);
}

ReadCache::Entry* ReadCache::FindLocked(Shard& s, std::string_view key) {
  auto it = s.entries.find(key);
  if (it == s.entries.end()) return nullptr;
  s.order.splice(s.order.begin(), s.order, it->second.lru);
  return &it->second;
}

std::optional<ReadCache::Cached> ReadCache::Lookup(std::string_view key) {
  if (!enabled()) return std::nullopt;
  Shard& s = *shards_[ShardOf(key)];
  std::lock_guard lock(s.mu);
  Entry* e = FindLocked(s, key);
  if (e == nullptr) return std::nullopt;
  return e->value;
}

std::optional<std::optional<std::string>> ReadCache::LookupPlain(std::string_view key) {
  if (!enabled()) return std::nullopt;
  Shard& s = *shards_[ShardOf(key)];
  std::lock_guard lock(s.mu);
  Entry* e = FindLocked(s, key);
  if (e == nullptr) return std::nullopt;
  return e->value.plain;
}

std::optional<std::string> ReadCache::SealedIfPlainIs(std::string_view key,
                                                      std::string_view plain) {
  if (!enabled()) return std::nullopt;
  Shard& s = *shards_[ShardOf(key)];
  std::lock_guard lock(s.mu);
  Entry* e = FindLocked(s, key);
  if (e == nullptr || !e->value.plain || !ConstantTimeEquals(*e->value.plain, plain))
    return std::nullopt;
  return e->value.sealed;
}

ReadCache::Ticket ReadCache::BeginMiss(std::string_view key) {
  Ticket t;
  t.shard = ShardOf(key);
  Shard& s = *shards_[t.shard];
  std::lock_guard lock(s.mu);
  t.generation = s.generation;
  return t;
}

void ReadCache::Insert(std::string_view key, const std::optional<std::string>& plain,
                       std::string_view sealed, Ticket ticket) {
  if (!enabled()) return;
  if (plain && plain->size() > max_value_bytes_) return;
  Shard& s = *shards_[ticket.shard];
  std::lock_guard lock(s.mu);
  if (WrittenSince(s, key, ticket.generation)) return;  // a write raced this read
  InsertLocked(s, key, Cached{plain, plain ? std::string(sealed) : std::string()});
}

void ReadCache::InsertLocked(Shard& s, std::string_view key, Cached value) {
  const std::size_t cost = Cost(key, value);
  EraseLocked(s, key);
  if (cost > shard_bytes_) {
    WipeCached(value);
    return;
  }
  while (!s.order.empty() && (s.entries.size() >= shard_entries_ || s.bytes + cost > shard_bytes_))
    EraseLocked(s, std::string(s.order.back()));
  s.order.emplace_front(key);
  s.entries.emplace(std::string(key), Entry{std::move(value), s.order.begin()});
  s.bytes += cost;
}

ReadCache::Ticket ReadCache::BeginWrite(std::string_view key) {
  Ticket t;
  t.shard = ShardOf(key);
  Shard& s = *shards_[t.shard];
  std::lock_guard lock(s.mu);
  t.generation = ++s.generation;
  Touch(s, key);
  EraseLocked(s, key);
  return t;
}

void ReadCache::FinishWrite(std::string_view key, const std::optional<Cached>& written,
                            Ticket ticket) {
  if (!enabled()) return;
  Shard& s = *shards_[ticket.shard];
  std::lock_guard lock(s.mu);
  const bool alone = !WrittenSince(s, key, ticket.generation);
  ++s.generation;  // readers that started during the write must not insert
  Touch(s, key);
  if (alone && written && (!written->plain || written->plain->size() <= max_value_bytes_)) {
    InsertLocked(s, key, *written);
  } else {
    EraseLocked(s, key);
  }
}

void ReadCache::Invalidate(std::string_view key) {
  if (!enabled()) return;
  Shard& s = *shards_[ShardOf(key)];
  std::lock_guard lock(s.mu);
  ++s.generation;
  Touch(s, key);
  EraseLocked(s, key);
}

void ReadCache::Clear() {
  for (auto& sp : shards_) {
    Shard& s = *sp;
    std::lock_guard lock(s.mu);
    ++s.generation;
    s.forgotten = s.generation;  // every ticket from before is void
    s.log.clear();
    for (auto& [k, e] : s.entries) WipeCached(e.value);
    s.entries.clear();
    s.order.clear();
    s.bytes = 0;
  }
}

std::size_t ReadCache::size() const {
  std::size_t n = 0;
  for (const auto& sp : shards_) {
    std::lock_guard lock(sp->mu);
    n += sp->entries.size();
  }
  return n;
}

}  // namespace arca::core
