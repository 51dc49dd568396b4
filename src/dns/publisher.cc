// arca: dns::Publisher and dns::UpdateOnce.
//
// The publisher's thread sleeps on a condition variable until the next
// attempt is due. Time is read from the injected Clock; unless that is the
// real clock, the wait is cut into slices of at most kSlice so a FakeClock
// moved by a test is noticed promptly. An update runs outside the lock, so Status() and SetActive()
// never wait for the network.
#include "dns/publisher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "base/secure.h"
#include "dns/internal/updaters.h"

namespace arca::dns {

using std::chrono::milliseconds;

namespace {
// The copies of the secrets a config carries do not outlive their use.
struct WipeSecretsAtExit {
  PublisherConfig& c;
  ~WipeSecretsAtExit() {
    Wipe(c.tsig_secret);
    Wipe(c.password);
  }
};
}  // namespace

Status UpdateOnce(const PublisherConfig& config, const std::vector<std::string>& addresses,
                  std::string* result) {
  std::string ignored;
  if (result == nullptr) result = &ignored;
  PublisherConfig c = config;
  WipeSecretsAtExit wipe{c};
  c.addresses = addresses;
  if (Status st = Validate(c); !st.ok()) {
    *result = "invalid";
    return st;
  }
  if (c.updater == "rfc2136") return internal::Rfc2136Update(c, c.addresses, result);
  return internal::Dyndns2Update(c, c.addresses, result);
}

namespace {
constexpr milliseconds kFirstBackoff{250};
constexpr milliseconds kSlice{50};
// How soon to look again when may_publish() said no while told active.
constexpr milliseconds kNotAllowedRecheck{250};

std::string Joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}
}  // namespace

struct Publisher::Impl {
  Impl(PublisherConfig c, std::function<bool()> may, Clock& clk, metrics::Registry& reg)
      : config(std::move(c)),
        may_publish(std::move(may)),
        clock(clk),
        updates(reg.AddCounter("arca_dns_updates_total",
                               "DNS updates of the generic name, by result", {"name", "result"})),
        last_success(reg.AddGauge("arca_dns_last_success_seconds",
                                  "Unix time of the last successful DNS update", {"name"})),
        failing(reg.AddGauge("arca_dns_consecutive_failures",
                             "Failed DNS updates since the last success", {"name"})) {
    status.hostname = config.hostname;
    status.updater = config.updater;
  }

  ~Impl() {
    Wipe(config.tsig_secret);
    Wipe(config.password);
  }

  void Run();
  void Attempt();

  PublisherConfig config;  // not changed after construction
  const std::function<bool()> may_publish;
  Clock& clock;
  const bool real_clock = &clock == &RealClock();
  metrics::Counter& updates;
  metrics::Gauge& last_success;
  metrics::Gauge& failing;

  mutable std::mutex mu;
  std::condition_variable cv;
  bool started = false;
  bool stopping = false;
  bool active = false;
  SteadyTime next{};  // next attempt while active
  milliseconds backoff = kFirstBackoff;
  PublisherStatus status;
  std::string last_logged;  // result last logged at warn, to keep logs short
  std::thread thread;
};

void Publisher::Impl::Run() {
  std::unique_lock lk(mu);
  while (!stopping) {
    if (!active) {
      cv.wait(lk, [&] { return stopping || active; });
      continue;
    }
    SteadyTime now = clock.SteadyNow();
    if (now < next) {
      auto left = std::chrono::duration_cast<milliseconds>(next - now) + milliseconds(1);
      cv.wait_for(lk, real_clock ? left : std::min(left, kSlice));
      continue;
    }
    lk.unlock();
    bool allowed = !may_publish || may_publish();
    if (!allowed) {
      lk.lock();
      next = clock.SteadyNow() + kNotAllowedRecheck;
      continue;
    }
    Attempt();
    lk.lock();
  }
}

// One update; called without the lock.
void Publisher::Impl::Attempt() {
  std::string result;
  arca::Status st = UpdateOnce(config, config.addresses, &result);
  const std::string& name = config.hostname;
  updates.Increment({name, result.empty() ? "unknown" : result});
  std::lock_guard g(mu);
  int64_t now_unix = clock.UnixNow();
  status.last_attempt_unix = now_unix;
  status.last_result = result;
  status.last_ok = st.ok();
  if (st.ok()) {
    if (status.failures > 0 || last_logged.empty())
      spdlog::info("dns: {} now points at {} ({} {})", name, Joined(config.addresses),
                   config.updater, result);
    status.last_error.clear();
    status.last_success_unix = now_unix;
    status.failures = 0;
    backoff = kFirstBackoff;
    next = clock.SteadyNow() + config.reassert;
    last_success.Set({name}, static_cast<double>(now_unix));
    last_logged = "ok";
  } else {
    status.last_error = st.message();
    ++status.failures;
    milliseconds wait = internal::NeedsOperator(st) ? config.reassert : backoff;
    backoff = std::min(backoff * 2, config.reassert);
    next = clock.SteadyNow() + wait;
    if (last_logged != result) {
      spdlog::warn("dns: updating {} failed ({} {}): {}; retrying in {} ms", name, config.updater,
                   result, st.message(), wait.count());
      last_logged = result;
    } else {
      spdlog::debug("dns: updating {} failed again ({}): {}", name, result, st.message());
    }
  }
  failing.Set({name}, static_cast<double>(status.failures));
}

Publisher::Publisher(PublisherConfig config, std::function<bool()> may_publish, Clock& clock,
                     metrics::Registry& registry)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(may_publish), clock, registry)) {}

Publisher::~Publisher() { Stop(); }

void Publisher::Start() {
  std::lock_guard g(impl_->mu);
  if (impl_->started || impl_->stopping) return;
  impl_->started = true;
  impl_->thread = std::thread([this] { impl_->Run(); });
}

void Publisher::Stop() {
  {
    std::lock_guard g(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void Publisher::SetActive(bool active) {
  {
    std::lock_guard g(impl_->mu);
    if (active == impl_->active) return;
    impl_->active = active;
    impl_->status.publishing = active;
    if (active) {
      // Publish at once on becoming active, with a fresh backoff.
      impl_->next = impl_->clock.SteadyNow();
      impl_->backoff = kFirstBackoff;
    }
    spdlog::info("dns: {} publishing {} ({})", active ? "start" : "stop",
                 impl_->config.hostname, impl_->config.updater);
  }
  impl_->cv.notify_all();
}

PublisherStatus Publisher::Status() const {
  std::lock_guard g(impl_->mu);
  return impl_->status;
}

}  // namespace arca::dns
