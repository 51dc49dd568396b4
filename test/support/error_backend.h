// arca test support: ErrorBackend, a storage::Backend that forwards every
// call to another backend and fails chosen calls on demand (leveldb's
// ErrorEnv / EnvWrapper idea). A failed call never reaches the target.
//
// Rules are checked in the order they were added; the first that matches a
// call fails it. A rule matches a method and, optionally, a key prefix (for
// List the listed prefix, for Txn any condition or op key). Thread-safe.
#pragma once

#include <array>
#include <mutex>
#include <string>
#include <vector>

#include "storage/backend.h"

namespace arca::testing {

class ErrorBackend final : public storage::Backend {
 public:
  enum class Method { kGet = 0, kPut, kDelete, kList, kTxn };

  explicit ErrorBackend(storage::Backend& target) : target_(target) {}

  // Fails the next `times` matching calls of `m` with `error` (every matching
  // call if times < 0).
  void FailNext(Method m, Status error, int times = 1, std::string key_prefix = "");
  // Fails every call of every method with `error` until Clear().
  void FailAll(Status error);
  // Removes every rule.
  void Clear();

  // Calls of `m` seen so far, failed or forwarded.
  int Calls(Method m) const;
  // Calls failed by a rule so far.
  int Injected() const;

  storage::Backend& target() { return target_; }

  StatusOr<std::optional<std::string>> Get(std::string_view key) override;
  Status Put(std::string_view key, std::string_view value) override;
  Status Delete(std::string_view key) override;
  StatusOr<std::vector<std::string>> List(std::string_view prefix) override;
  Status Txn(const std::vector<storage::Condition>& conditions,
             const std::vector<storage::Op>& ops) override;

 private:
  struct Rule {
    bool any_method = false;
    Method method = Method::kGet;
    std::string key_prefix;
    int remaining = -1;  // < 0: unlimited
    Status error;
  };
  // Counts the call and returns the error to inject, or OK to forward.
  Status Check(Method m, const std::vector<std::string_view>& keys);

  storage::Backend& target_;
  mutable std::mutex mu_;
  std::vector<Rule> rules_;     // guarded by mu_
  std::array<int, 5> calls_{};  // guarded by mu_
  int injected_ = 0;            // guarded by mu_
};

}  // namespace arca::testing
