// arca: Metered, a Backend that forwards every call to another and records
// its latency in the histogram arca_storage_operation_seconds{op} of
// metrics::DefaultRegistry(). Safe for concurrent use as the wrapped backend.
#pragma once

#include "storage/backend.h"

namespace arca::storage {

class Metered final : public Backend {
 public:
  explicit Metered(Backend& inner);  // `inner` must outlive this

  StatusOr<std::optional<std::string>> Get(std::string_view key) override;
  StatusOr<std::optional<std::string>> GetForUpdate(std::string_view key) override;  // op "get_for_update"
  Status Put(std::string_view key, std::string_view value) override;
  Status Delete(std::string_view key) override;
  StatusOr<std::vector<std::string>> List(std::string_view prefix) override;
  Status Txn(const std::vector<Condition>& conditions, const std::vector<Op>& ops) override;

 private:
  Backend& inner_;
};

}  // namespace arca::storage
