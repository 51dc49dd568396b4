#include "storage/metered.h"

#include <chrono>

#include "base/clock.h"
#include "base/metrics.h"

namespace arca::storage {

namespace {

metrics::Histogram& Latency() {
  static metrics::Histogram& h = metrics::DefaultRegistry().AddHistogram(
      "arca_storage_operation_seconds", "Latency of physical storage operations.", {"op"}, {});
  return h;
}

// Times one call on the steady clock (an interval, never a timestamp).
template <typename F>
auto Timed(const char* op, F&& f) {
  SteadyTime start = RealClock().SteadyNow();
  auto result = f();
  std::chrono::duration<double> d = RealClock().SteadyNow() - start;
  Latency().Observe({op}, d.count());
  return result;
}

}  // namespace

Metered::Metered(Backend& inner) : inner_(inner) { (void)Latency(); }

StatusOr<std::optional<std::string>> Metered::Get(std::string_view key) {
  return Timed("get", [&] { return inner_.Get(key); });
}
StatusOr<std::optional<std::string>> Metered::GetForUpdate(std::string_view key) {
  return Timed("get_for_update", [&] { return inner_.GetForUpdate(key); });
}
Status Metered::Put(std::string_view key, std::string_view value) {
  return Timed("put", [&] { return inner_.Put(key, value); });
}
Status Metered::Delete(std::string_view key) {
  return Timed("delete", [&] { return inner_.Delete(key); });
}
StatusOr<std::vector<std::string>> Metered::List(std::string_view prefix) {
  return Timed("list", [&] { return inner_.List(prefix); });
}
Status Metered::Txn(const std::vector<Condition>& conditions, const std::vector<Op>& ops) {
  return Timed("txn", [&] { return inner_.Txn(conditions, ops); });
}

}  // namespace arca::storage
