// arca test support for dns: Eventually, a bounded poll for what another
// thread or process (named, the publisher's thread) does in real time.
#pragma once

#include <chrono>
#include <thread>

#include "base/clock.h"

namespace arca::dns::testing {

template <typename Pred>
bool Eventually(Pred pred, std::chrono::milliseconds bound = std::chrono::milliseconds(10000)) {
  SteadyTime end = RealClock().SteadyNow() + bound;
  for (;;) {
    if (pred()) return true;
    if (RealClock().SteadyNow() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace arca::dns::testing
