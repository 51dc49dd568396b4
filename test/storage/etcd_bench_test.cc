// Put and Get rates of EtcdBackend against one local etcd. Prints only (no
// timing asserts); disabled by default. Run with
//   arca_storage_test --gtest_also_run_disabled_tests --gtest_filter='EtcdBench*'
#include <atomic>
#include <cstdio>
#include <thread>

#include "base/clock.h"
#include "storage/etcd/backend.h"
#include "storage_test_util.h"
#include "support/etcd_process.h"

namespace arca::storage::etcd {
namespace {

using ::arca::storage::test::IsOk;

// Runs `op(thread, i)` `per_thread` times on each of `threads` threads and
// returns operations per second; counts failures in `errors`.
template <typename Op>
double Rate(int threads, int per_thread, std::atomic<int>& errors, Op op) {
  const SteadyTime start = RealClock().SteadyNow();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        if (!op(t, i)) ++errors;
      }
    });
  }
  for (auto& th : ts) th.join();
  const double secs =
      std::chrono::duration<double>(RealClock().SteadyNow() - start).count();
  return threads * per_thread / secs;
}

TEST(EtcdBenchTest, DISABLED_PrintsPutAndGetRates) {
  ::arca::testing::EtcdProcessOptions options;
  options.tmpfs = false;  // measure with etcd's fsyncs on the real disk
  ::arca::testing::EtcdProcess etcd(options);
  ASSERT_THAT(etcd.Start(), IsOk());
  auto client = Client::Create(etcd.client_options());
  ASSERT_THAT(client, IsOk());
  EtcdBackend b(**client, "/vault/");
  const std::string value(256, 'v');
  std::atomic<int> errors{0};

  auto put = [&](int t, int i) {
    return b.Put("bench/" + std::to_string(t) + "/" + std::to_string(i), value).ok();
  };
  auto get = [&](int t, int i) {
    auto v = b.Get("bench/" + std::to_string(t) + "/" + std::to_string(i));
    return v.ok() && v->has_value();
  };
  const double seq_put = Rate(1, 500, errors, put);
  const double seq_get = Rate(1, 500, errors, get);
  const double par_put = Rate(32, 100, errors, put);
  const double par_get = Rate(32, 100, errors, get);
  std::printf("etcd backend, 256-byte values, one local etcd 3.4:\n");
  std::printf("  Put sequential   %8.0f /s\n", seq_put);
  std::printf("  Get sequential   %8.0f /s\n", seq_get);
  std::printf("  Put 32 threads   %8.0f /s\n", par_put);
  std::printf("  Get 32 threads   %8.0f /s\n", par_get);
  EXPECT_EQ(errors.load(), 0);
}

}  // namespace
}  // namespace arca::storage::etcd
