#include "support/error_backend.h"

namespace arca::testing {

void ErrorBackend::FailNext(Method m, Status error, int times, std::string key_prefix) {
  if (times == 0) return;
  std::lock_guard lock(mu_);
  rules_.push_back(Rule{false, m, std::move(key_prefix), times, std::move(error)});
}

void ErrorBackend::FailAll(Status error) {
  std::lock_guard lock(mu_);
  rules_.push_back(Rule{true, Method::kGet, "", -1, std::move(error)});
}

void ErrorBackend::Clear() {
  std::lock_guard lock(mu_);
  rules_.clear();
}

int ErrorBackend::Calls(Method m) const {
  std::lock_guard lock(mu_);
  return calls_[static_cast<int>(m)];
}

int ErrorBackend::Injected() const {
  std::lock_guard lock(mu_);
  return injected_;
}

Status ErrorBackend::Check(Method m, const std::vector<std::string_view>& keys) {
  std::lock_guard lock(mu_);
  ++calls_[static_cast<int>(m)];
  for (auto it = rules_.begin(); it != rules_.end(); ++it) {
    if (!it->any_method && it->method != m) continue;
    bool key_match = it->key_prefix.empty();
    for (auto k : keys) {
      if (key_match) break;
      key_match = k.substr(0, it->key_prefix.size()) == it->key_prefix;
    }
    if (!key_match) continue;
    Status err = it->error;
    if (it->remaining > 0 && --it->remaining == 0) rules_.erase(it);
    ++injected_;
    return err.ok() ? Status(Code::kInternal, "injected error") : err;
  }
  return OkStatus();
}

StatusOr<std::optional<std::string>> ErrorBackend::Get(std::string_view key) {
  ARCA_RETURN_IF_ERROR(Check(Method::kGet, {key}));
  return target_.Get(key);
}

Status ErrorBackend::Put(std::string_view key, std::string_view value) {
  ARCA_RETURN_IF_ERROR(Check(Method::kPut, {key}));
  return target_.Put(key, value);
}

Status ErrorBackend::Delete(std::string_view key) {
  ARCA_RETURN_IF_ERROR(Check(Method::kDelete, {key}));
  return target_.Delete(key);
}

StatusOr<std::vector<std::string>> ErrorBackend::List(std::string_view prefix) {
  ARCA_RETURN_IF_ERROR(Check(Method::kList, {prefix}));
  return target_.List(prefix);
}

Status ErrorBackend::Txn(const std::vector<storage::Condition>& conditions,
                         const std::vector<storage::Op>& ops) {
  std::vector<std::string_view> keys;
  for (const auto& c : conditions) keys.push_back(c.key);
  for (const auto& o : ops) keys.push_back(o.key);
  ARCA_RETURN_IF_ERROR(Check(Method::kTxn, keys));
  return target_.Txn(conditions, ops);
}

}  // namespace arca::testing
