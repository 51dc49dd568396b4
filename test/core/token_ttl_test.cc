#include "core/token_ttl.h"

#include <gtest/gtest.h>

namespace arca::core {
namespace {

constexpr int64_t kHour = 3600;
constexpr int64_t kSys = 768 * kHour;  // system default and max
constexpr int64_t kNow = 1'704'067'200;

TEST(HumanDurationTest, DropsZeroUnits) {
  EXPECT_EQ(HumanDuration(0), "0s");
  EXPECT_EQ(HumanDuration(kSys), "768h");
  EXPECT_EQ(HumanDuration(90 * 60), "1h30m");
  EXPECT_EQ(HumanDuration(kHour + 30), "1h30s");
  EXPECT_EQ(HumanDuration(90), "1m30s");
  EXPECT_EQ(HumanDuration(60), "1m");
  EXPECT_EQ(HumanDuration(45), "45s");
  EXPECT_EQ(HumanDuration(kHour + 61), "1h1m1s");
}

struct CreateCase {
  const char* name;
  CreateTtlInputs in;
  int64_t want_ttl;
  std::vector<std::string> want_warnings;
};

CreateTtlInputs In(int64_t ttl, int64_t period, int64_t explicit_max, bool root,
                   int64_t mount_default = kSys, int64_t mount_max = kSys) {
  CreateTtlInputs in;
  in.ttl = ttl;
  in.period = period;
  in.explicit_max_ttl = explicit_max;
  in.root = root;
  in.mount_default_ttl = mount_default;
  in.mount_max_ttl = mount_max;
  in.now = kNow;
  return in;
}

class CreationTtlTest : public ::testing::TestWithParam<CreateCase> {};

TEST_P(CreationTtlTest, MatchesVault) {
  const CreateCase& c = GetParam();
  std::vector<std::string> warnings;
  auto ttl = CreationTtl(c.in, &warnings);
  ASSERT_TRUE(ttl.ok()) << ttl.status().ToString();
  EXPECT_EQ(*ttl, c.want_ttl);
  EXPECT_EQ(warnings, c.want_warnings);
}

INSTANTIATE_TEST_SUITE_P(
    Table, CreationTtlTest,
    ::testing::Values(
        CreateCase{"DefaultIsMountDefault", In(0, 0, 0, false), kSys, {}},
        CreateCase{"MountDefaultTuned", In(0, 0, 0, false, kHour, kSys), kHour, {}},
        CreateCase{"ExplicitTtl", In(24 * kHour, 0, 0, false), 24 * kHour, {}},
        CreateCase{"CappedAtMountMax",
                   In(1000 * kHour, 0, 0, false),
                   kSys,
                   {"TTL of \"1000h\" exceeded the effective max_ttl of \"768h\"; TTL value is "
                    "capped accordingly"}},
        CreateCase{"CappedAtExplicitMax",
                   In(48 * kHour, 0, 24 * kHour, false),
                   24 * kHour,
                   {"TTL of \"48h\" exceeded the effective max_ttl of \"24h\"; TTL value is "
                    "capped accordingly"}},
        CreateCase{"DefaultCappedAtExplicitMax",
                   In(0, 0, kHour, false),
                   kHour,
                   {"TTL of \"768h\" exceeded the effective max_ttl of \"1h\"; TTL value is "
                    "capped accordingly"}},
        CreateCase{"PeriodicGetsPeriod", In(kHour, 24 * kHour, 0, false), 24 * kHour, {}},
        CreateCase{"PeriodCappedAtMountMax",
                   In(0, 1000 * kHour, 0, false),
                   kSys,
                   {"period of \"1000h\" exceeded the effective max_ttl of \"768h\"; period "
                    "value is capped accordingly"}},
        CreateCase{"PeriodWithExplicitMax",
                   In(0, 24 * kHour, 12 * kHour, false),
                   12 * kHour,
                   {"period of \"24h\" exceeded the effective max_ttl of \"12h\"; period value "
                    "is capped accordingly"}},
        CreateCase{"PeriodUnderExplicitMax", In(0, kHour, 12 * kHour, false), kHour, {}},
        CreateCase{"RootChildNeverExpires", In(0, 0, 0, true), 0, {}},
        CreateCase{"RootChildWithTtlExpires", In(kHour, 0, 0, true), kHour, {}},
        CreateCase{"RootChildWithExplicitMaxExpires", In(0, 0, 2 * kHour, true), 2 * kHour, {}},
        CreateCase{"PeriodicRoot", In(0, kHour, 0, true), kHour, {}}),
    [](const ::testing::TestParamInfo<CreateCase>& info) { return std::string(info.param.name); });

TEST(CalculateTtlTest, RoleMaxLowersMountMax) {
  CreateTtlInputs in = In(0, 0, 0, false);
  in.role_max_ttl = 2 * kHour;
  std::vector<std::string> warnings;
  auto ttl = CreationTtl(in, &warnings);
  ASSERT_TRUE(ttl.ok());
  EXPECT_EQ(*ttl, 2 * kHour);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0],
            "TTL of \"768h\" exceeded the effective max_ttl of \"2h\"; TTL value is capped "
            "accordingly");
}

TEST(CalculateTtlTest, RoleTtlIsTheDefault) {
  CreateTtlInputs in = In(0, 0, 0, false);
  in.role_ttl = 30 * 60;
  auto ttl = CreationTtl(in, nullptr);
  ASSERT_TRUE(ttl.ok());
  EXPECT_EQ(*ttl, 30 * 60);
}

TtlInputs Renewal(int64_t increment, int64_t last_ttl, int64_t elapsed) {
  TtlInputs in;
  in.increment = increment;
  in.backend_ttl = last_ttl;
  in.mount_default_ttl = kSys;
  in.mount_max_ttl = kSys;
  in.start_time = kNow;
  in.now = kNow + elapsed;
  return in;
}

TEST(CalculateTtlTest, RenewIncrementFromNow) {
  auto ttl = CalculateTtl(Renewal(24 * kHour, kHour, 10 * kHour), nullptr);
  ASSERT_TRUE(ttl.ok());
  EXPECT_EQ(*ttl, 24 * kHour);
}

TEST(CalculateTtlTest, RenewWithoutIncrementReusesLastTtl) {
  auto ttl = CalculateTtl(Renewal(0, 2 * kHour, 10 * kHour), nullptr);
  ASSERT_TRUE(ttl.ok());
  EXPECT_EQ(*ttl, 2 * kHour);
}

TEST(CalculateTtlTest, RenewCappedByMaxFromCreation) {
  std::vector<std::string> warnings;
  auto ttl = CalculateTtl(Renewal(100 * kHour, kHour, 700 * kHour), &warnings);
  ASSERT_TRUE(ttl.ok());
  EXPECT_EQ(*ttl, 68 * kHour);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0],
            "TTL of \"100h\" exceeded the effective max_ttl of \"68h\"; TTL value is capped "
            "accordingly");
}

TEST(CalculateTtlTest, RenewPastMaxFails) {
  auto ttl = CalculateTtl(Renewal(kHour, kHour, kSys), nullptr);
  ASSERT_FALSE(ttl.ok());
  EXPECT_EQ(ttl.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ttl.status().message(), "past the max TTL, cannot renew");
}

TEST(CalculateTtlTest, PeriodicRenewalIgnoresMountMaxFromCreation) {
  TtlInputs in = Renewal(5 * kHour, kHour, 2000 * kHour);
  in.period = 24 * kHour;
  auto ttl = CalculateTtl(in, nullptr);
  ASSERT_TRUE(ttl.ok());
  EXPECT_EQ(*ttl, 24 * kHour);
}

TEST(CalculateTtlTest, PeriodicRenewalBoundByExplicitMax) {
  TtlInputs in = Renewal(0, kHour, 40 * kHour);
  in.period = 24 * kHour;
  in.explicit_max_ttl = 48 * kHour;
  auto ttl = CalculateTtl(in, nullptr);
  ASSERT_TRUE(ttl.ok());
  EXPECT_EQ(*ttl, 8 * kHour);
}

TEST(CalculateTtlTest, NoMountMaxIsInternal) {
  TtlInputs in = Renewal(0, kHour, 0);
  in.mount_max_ttl = 0;
  auto ttl = CalculateTtl(in, nullptr);
  ASSERT_FALSE(ttl.ok());
  EXPECT_EQ(ttl.status().code(), Code::kInternal);
}

}  // namespace
}  // namespace arca::core
