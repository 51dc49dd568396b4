// dns::ChooseTarget, the rule of `arca endpoint watch`.
#include "dns/watcher.h"

#include <gtest/gtest.h>

namespace arca::dns {
namespace {

constexpr NodeHealth A = NodeHealth::kActive;
constexpr NodeHealth S = NodeHealth::kStandby;
constexpr NodeHealth D = NodeHealth::kDown;
using Opt = std::optional<std::size_t>;

TEST(WatcherTest, HealthFromStatus) {
  EXPECT_EQ(HealthFromHttpStatus(200), A);
  EXPECT_EQ(HealthFromHttpStatus(429), S);
  EXPECT_EQ(HealthFromHttpStatus(473), S);
  EXPECT_EQ(HealthFromHttpStatus(503), D);
  EXPECT_EQ(HealthFromHttpStatus(501), D);
  EXPECT_EQ(HealthFromHttpStatus(0), D);
}

TEST(WatcherTest, UnknownTargetGoesToTheActive) {
  EXPECT_EQ(ChooseTarget({S, A, S}, std::nullopt, std::nullopt, false), Opt(1));
}

TEST(WatcherTest, HealthyTargetIsKept) {
  // The seed's rule: a standby target still serves (it forwards).
  EXPECT_EQ(ChooseTarget({A, S, S}, Opt(2), std::nullopt, false), Opt(2));
  EXPECT_EQ(ChooseTarget({A, S, S}, Opt(0), std::nullopt, false), Opt(0));
}

TEST(WatcherTest, FollowActiveMovesOffAStandby) {
  EXPECT_EQ(ChooseTarget({A, S, S}, Opt(2), std::nullopt, true), Opt(0));
  EXPECT_EQ(ChooseTarget({D, S, S}, Opt(2), std::nullopt, true), Opt(2));
}

TEST(WatcherTest, FailedTargetMovesToTheActiveElseAStandby) {
  EXPECT_EQ(ChooseTarget({D, S, A}, Opt(0), std::nullopt, false), Opt(2));
  EXPECT_EQ(ChooseTarget({D, S, S}, Opt(0), std::nullopt, false), Opt(1));
}

TEST(WatcherTest, NothingHealthyIsNullopt) {
  EXPECT_EQ(ChooseTarget({D, D, D}, Opt(0), std::nullopt, false), std::nullopt);
  EXPECT_EQ(ChooseTarget({}, std::nullopt, std::nullopt, false), std::nullopt);
}

TEST(WatcherTest, PinWinsWhileHealthy) {
  EXPECT_EQ(ChooseTarget({A, S, S}, Opt(0), Opt(2), false), Opt(2));
  EXPECT_EQ(ChooseTarget({A, S, S}, Opt(0), Opt(2), true), Opt(2));
  EXPECT_EQ(ChooseTarget({A, S, D}, Opt(2), Opt(2), false), Opt(0));  // pinned node down
}

TEST(WatcherTest, OutOfRangeIndexesAreIgnored) {
  EXPECT_EQ(ChooseTarget({S, A}, Opt(7), Opt(9), false), Opt(1));
}

}  // namespace
}  // namespace arca::dns
