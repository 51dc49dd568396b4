#include "base/clock.h"

namespace arca {

int64_t Clock::UnixNow() const {
  return std::chrono::duration_cast<std::chrono::seconds>(SystemNow().time_since_epoch()).count();
}

namespace {
class SystemClockImpl final : public Clock {
 public:
  SystemTime SystemNow() const override { return std::chrono::system_clock::now(); }
  SteadyTime SteadyNow() const override { return std::chrono::steady_clock::now(); }
};
}  // namespace

Clock& RealClock() {
  static SystemClockImpl* clock = new SystemClockImpl();  // intentionally leaked
  return *clock;
}

}  // namespace arca
