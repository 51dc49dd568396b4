#include "storage/inmem.h"

#include <mutex>

#include "storage/internal_list.h"

namespace arca::storage {

StatusOr<std::optional<std::string>> InMemBackend::Get(std::string_view key) {
  std::shared_lock lock(mu_);
  auto it = data_.find(key);
  if (it == data_.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

Status InMemBackend::Put(std::string_view key, std::string_view value) {
  std::string v(value);  // copy outside the lock
  std::unique_lock lock(mu_);
  auto it = data_.find(key);
  if (it == data_.end()) {
    data_.emplace(std::string(key), std::move(v));
  } else {
    it->second.swap(v);
  }
  return OkStatus();
}

Status InMemBackend::Delete(std::string_view key) {
  std::unique_lock lock(mu_);
  auto it = data_.find(key);
  if (it != data_.end()) data_.erase(it);
  return OkStatus();
}

StatusOr<std::vector<std::string>> InMemBackend::List(std::string_view prefix) {
  std::vector<std::string> out;
  std::shared_lock lock(mu_);
  auto it = data_.lower_bound(prefix);
  while (it != data_.end()) {
    std::string_view key = it->first;
    if (key.substr(0, prefix.size()) != prefix) break;
    std::string_view child = internal::ChildName(key.substr(prefix.size()));
    if (child.empty()) {
      ++it;
      continue;
    }
    out.emplace_back(child);
    if (child.back() == '/') {
      it = data_.lower_bound(internal::SkipFolder(prefix, child));
    } else {
      ++it;
    }
  }
  return out;
}

Status InMemBackend::Txn(const std::vector<Condition>& conditions, const std::vector<Op>& ops) {
  std::unique_lock lock(mu_);
  for (const auto& c : conditions) {
    auto it = data_.find(c.key);
    bool holds = false;
    switch (c.kind) {
      case Condition::Kind::kExists:
        holds = it != data_.end();
        break;
      case Condition::Kind::kAbsent:
        holds = it == data_.end();
        break;
      case Condition::Kind::kEquals:
        holds = it != data_.end() && it->second == c.value;
        break;
    }
    if (!holds) return Aborted("transaction condition failed");
  }
  for (const auto& op : ops) {
    if (op.kind == Op::Kind::kPut) {
      data_.insert_or_assign(op.key, op.value);
    } else {
      data_.erase(op.key);
    }
  }
  return OkStatus();
}

}  // namespace arca::storage
