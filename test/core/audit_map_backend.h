// arca test: a tiny std::map storage::Backend for the audit tests, with
// switchable failures for writes and deletes.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>

#include "storage/backend.h"

namespace arca::testing {

class AuditMapBackend final : public storage::Backend {
 public:
  StatusOr<std::optional<std::string>> Get(std::string_view key) override {
    std::lock_guard lock(mu_);
    auto it = data_.find(std::string(key));
    if (it == data_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  Status Put(std::string_view key, std::string_view value) override {
    if (fail_writes) return Unavailable("storage down");
    std::lock_guard lock(mu_);
    data_[std::string(key)] = std::string(value);
    return OkStatus();
  }
  Status Delete(std::string_view key) override {
    if (fail_writes) return Unavailable("storage down");
    std::lock_guard lock(mu_);
    data_.erase(std::string(key));
    return OkStatus();
  }
  StatusOr<std::vector<std::string>> List(std::string_view prefix) override {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& [k, v] : data_) {
      if (k.compare(0, prefix.size(), prefix) != 0) continue;
      std::string rest = k.substr(prefix.size());
      auto slash = rest.find('/');
      if (slash != std::string::npos) rest.resize(slash + 1);
      if (out.empty() || out.back() != rest) out.push_back(rest);
    }
    return out;
  }
  Status Txn(const std::vector<storage::Condition>&, const std::vector<storage::Op>&) override {
    return Internal("not used by the audit broker");
  }

  std::size_t Size() {
    std::lock_guard lock(mu_);
    return data_.size();
  }

  std::atomic<bool> fail_writes{false};

 private:
  std::mutex mu_;
  std::map<std::string, std::string> data_;
};

}  // namespace arca::testing
