// arca engines: MetadataMemo implementation.
#include "engines/internal/kv_v2_memo.h"

#include "base/encoding.h"
#include "base/secure.h"

namespace arca::engines::internal {

const std::string& MetadataMemo::Decoded::VersionPrefix() const {
  std::call_once(prefix_once_, [this] {
    version_prefix_ = VersionKey(path, 0);
    version_prefix_.pop_back();  // the "0"
  });
  return version_prefix_;
}

const Json& MetadataMemo::Decoded::CurrentVersionJson() const {
  std::call_once(json_once_, [this] {
    if (auto it = meta.versions.find(meta.current_version); it != meta.versions.end())
      current_version_json_ = VersionJson(it->first, it->second, meta);
  });
  return current_version_json_;
}

MetadataMemo::MetadataMemo(std::size_t max_entries, std::size_t max_bytes,
                           std::size_t max_total_bytes)
    : max_entries_(max_entries), max_bytes_(max_bytes), max_total_bytes_(max_total_bytes) {}

MetadataMemo::~MetadataMemo() {
  std::lock_guard lock(mu_);
  ClearLocked();
}

void MetadataMemo::ClearLocked() {
  for (auto& [path, e] : entries_) Wipe(e.raw);
  entries_.clear();
  total_bytes_ = 0;
}

StatusOr<std::shared_ptr<const MetadataMemo::Decoded>> MetadataMemo::Decode(const std::string& path,
                                                                            std::string_view raw) {
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(path);
    if (it != entries_.end() && ConstantTimeEquals(it->second.raw, raw)) return it->second.decoded;
  }
  ARCA_ASSIGN_OR_RETURN(KeyMetadata meta, DecodeMetadata(raw));
  return Insert(path, raw, std::move(meta));
}

void MetadataMemo::Remember(const std::string& path, std::string raw, KeyMetadata meta) {
  (void)Insert(path, raw, std::move(meta));
  Wipe(raw);
}

std::shared_ptr<const MetadataMemo::Decoded> MetadataMemo::Insert(const std::string& path,
                                                                  std::string_view raw,
                                                                  KeyMetadata meta) {
  if (meta.key.empty()) meta.key = path;
  auto d = std::make_shared<Decoded>();
  d->meta = std::move(meta);
  d->path = path;
  std::shared_ptr<const Decoded> out = std::move(d);
  if (raw.size() > max_bytes_ || max_entries_ == 0) return out;
  std::lock_guard lock(mu_);
  // A simple bound: a full memo starts over (hot keys come straight back).
  auto old = entries_.find(path);
  const std::size_t old_bytes = old == entries_.end() ? 0 : old->second.raw.size();
  if ((old == entries_.end() && entries_.size() >= max_entries_) ||
      total_bytes_ - old_bytes + raw.size() > max_total_bytes_)
    ClearLocked();
  Entry& e = entries_[path];
  total_bytes_ -= e.raw.size();
  Wipe(e.raw);
  e.raw.assign(raw);
  total_bytes_ += e.raw.size();
  e.decoded = out;
  return out;
}

std::size_t MetadataMemo::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace arca::engines::internal
