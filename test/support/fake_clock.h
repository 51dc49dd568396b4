// arca test support: FakeClock, a Clock that moves only when told.
#pragma once

#include <atomic>

#include "base/clock.h"

namespace arca::testing {

class FakeClock final : public Clock {
 public:
  // Starts at 2024-01-01T00:00:00Z.
  FakeClock() : sys_ns_(int64_t(1704067200) * 1000000000), steady_ns_(0) {}

  SystemTime SystemNow() const override {
    return SystemTime(std::chrono::duration_cast<SystemTime::duration>(
        std::chrono::nanoseconds(sys_ns_.load())));
  }
  SteadyTime SteadyNow() const override {
    return SteadyTime(std::chrono::duration_cast<SteadyTime::duration>(
        std::chrono::nanoseconds(steady_ns_.load())));
  }

  template <typename Rep, typename Period>
  void Advance(std::chrono::duration<Rep, Period> d) {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    sys_ns_ += ns;
    steady_ns_ += ns;
  }

 private:
  std::atomic<int64_t> sys_ns_;
  std::atomic<int64_t> steady_ns_;
};

}  // namespace arca::testing
