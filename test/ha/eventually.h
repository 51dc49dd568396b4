// arca test support for ha: Eventually, a bounded poll.
//
// The HA tests watch threads react (and, on a real etcd, leases expire in
// real time). Eventually polls `pred` until it holds or `bound` has passed;
// the bound is what a test asserts, the short pause only paces the polling.
#pragma once

#include <chrono>
#include <thread>

#include "base/clock.h"

namespace arca::ha::testing {

template <typename Pred>
bool Eventually(Pred pred, std::chrono::milliseconds bound) {
  SteadyTime end = RealClock().SteadyNow() + bound;
  for (;;) {
    if (pred()) return true;
    if (RealClock().SteadyNow() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace arca::ha::testing
