// arca: InMemBackend, a storage::Backend kept in process memory.
//
// For `storage "inmem"`, dev mode and tests. Nothing survives the process.
// Keys live in one sorted map under a reader-writer lock: reads run in
// parallel, writes and transactions take the lock exclusively, so a Txn is
// trivially atomic. Safe for concurrent use. Never returns an error except
// Aborted from Txn.
#pragma once

#include <map>
#include <shared_mutex>
#include <string>

#include "storage/backend.h"

namespace arca::storage {

class InMemBackend final : public Backend {
 public:
  InMemBackend() = default;

  StatusOr<std::optional<std::string>> Get(std::string_view key) override;
  Status Put(std::string_view key, std::string_view value) override;
  Status Delete(std::string_view key) override;
  StatusOr<std::vector<std::string>> List(std::string_view prefix) override;
  Status Txn(const std::vector<Condition>& conditions, const std::vector<Op>& ops) override;

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, std::string, std::less<>> data_;  // guarded by mu_
};

}  // namespace arca::storage
