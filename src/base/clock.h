// arca: Clock, the only source of time.
//
// Wall time (for display and TTL bookkeeping that must survive restarts) and
// monotonic time (for intervals) are kept apart, as in Envoy's TimeSource.
// Components take a Clock& so tests can use FakeClock (test/support).
// Only clock.cc reads std::chrono clocks directly. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>

namespace arca {

using SystemTime = std::chrono::system_clock::time_point;
using SteadyTime = std::chrono::steady_clock::time_point;
using Seconds = std::chrono::seconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SystemTime SystemNow() const = 0;
  virtual SteadyTime SteadyNow() const = 0;

  // Whole seconds since the Unix epoch of SystemNow().
  int64_t UnixNow() const;
};

// The real clock. Never destroyed.
Clock& RealClock();

}  // namespace arca
