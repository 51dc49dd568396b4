#include "core/shamir.h"

#include <gtest/gtest.h>

#include <set>

namespace arca::core {
namespace {

SecureBytes Bytes(std::initializer_list<uint8_t> b) { return SecureBytes(b); }

std::vector<SecureBytes> Subset(const std::vector<SecureBytes>& shares, unsigned mask) {
  std::vector<SecureBytes> out;
  for (std::size_t i = 0; i < shares.size(); ++i) {
    if (mask & (1u << i)) out.push_back(shares[i]);
  }
  return out;
}

TEST(ShamirTest, EverySubsetAtOrAboveThresholdRecoversSecret) {
  for (int threshold = 2; threshold <= 5; ++threshold) {
    for (int parts = threshold; parts <= 6; ++parts) {
      SecureBytes secret = RandomBytes(32);
      auto shares = ShamirSplit(secret, parts, threshold);
      ASSERT_TRUE(shares.ok()) << shares.status().ToString();
      ASSERT_EQ(shares->size(), std::size_t(parts));
      for (unsigned mask = 1; mask < (1u << parts); ++mask) {
        auto subset = Subset(*shares, mask);
        if (subset.size() < 2) continue;
        auto got = ShamirCombine(subset);
        ASSERT_TRUE(got.ok()) << got.status().ToString();
        if (static_cast<int>(subset.size()) >= threshold) {
          EXPECT_EQ(*got, secret) << "t=" << threshold << " n=" << parts << " mask=" << mask;
        } else {
          EXPECT_NE(*got, secret) << "t=" << threshold << " n=" << parts << " mask=" << mask;
        }
      }
    }
  }
}

TEST(ShamirTest, ShareLayoutIsSecretBytesThenDistinctNonZeroX) {
  SecureBytes secret = RandomBytes(32);
  auto shares = ShamirSplit(secret, 255, 3);
  ASSERT_TRUE(shares.ok());
  std::set<uint8_t> xs;
  for (const auto& s : *shares) {
    ASSERT_EQ(s.size(), 33u);  // 66 hex characters, as Vault's unseal keys
    EXPECT_NE(s.back(), 0);
    xs.insert(s.back());
  }
  EXPECT_EQ(xs.size(), 255u);
  auto got = ShamirCombine({(*shares)[0], (*shares)[100], (*shares)[254]});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, secret);
}

TEST(ShamirTest, RandomSecretsOfSeveralLengths) {
  for (std::size_t len : {1u, 2u, 16u, 32u, 64u}) {
    for (int round = 0; round < 5; ++round) {
      SecureBytes secret = RandomBytes(len);
      auto shares = ShamirSplit(secret, 5, 3);
      ASSERT_TRUE(shares.ok());
      auto got = ShamirCombine({(*shares)[4], (*shares)[1], (*shares)[2]});
      ASSERT_TRUE(got.ok());
      EXPECT_EQ(*got, secret);
    }
  }
}

// Hand-built shares of f(x) = 42 + 3x over GF(2^8): with Vault's field,
// 3*7 = 9 and 3*1 = 3, so f(7) = 42^9 and f(1) = 42^3. Checks the field
// arithmetic and the y-bytes-then-x layout against Vault's.
TEST(ShamirTest, CombinesHandBuiltVaultLayoutShares) {
  auto got = ShamirCombine({Bytes({42 ^ 9, 7}), Bytes({42 ^ 3, 1})});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, Bytes({42}));
  // Two bytes, second polynomial g(x) = 0x10 + 0x02x: g(1) = 0x12, g(7) = 0x10^0x0e.
  got = ShamirCombine({Bytes({42 ^ 3, 0x12, 1}), Bytes({42 ^ 9, 0x10 ^ 0x0e, 7})});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, Bytes({42, 0x10}));
  // FIPS 197's field example, 0x57 * 0x83 = 0xc1: h(x) = 0x99 + 0x57x.
  got = ShamirCombine({Bytes({0x99 ^ 0xc1, 0x83}), Bytes({0x99 ^ 0x57, 0x01})});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, Bytes({0x99}));
}

TEST(ShamirTest, SplitRejectsBadParameters) {
  SecureBytes secret = RandomBytes(32);
  EXPECT_EQ(ShamirSplit(secret, 2, 3).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ShamirSplit(secret, 256, 3).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ShamirSplit(secret, 3, 1).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ShamirSplit(secret, 1, 1).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ShamirSplit(SecureBytes(), 3, 2).status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(ShamirSplit(secret, 255, 255).ok());
}

TEST(ShamirTest, CombineRejectsBadShares) {
  SecureBytes secret = RandomBytes(32);
  auto shares = ShamirSplit(secret, 3, 2);
  ASSERT_TRUE(shares.ok());
  const auto& s = *shares;
  EXPECT_EQ(ShamirCombine({}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ShamirCombine({s[0]}).status().code(), Code::kInvalidArgument);
  SecureBytes shorter(s[1].begin() + 1, s[1].end());
  EXPECT_EQ(ShamirCombine({s[0], shorter}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ShamirCombine({s[0], s[0]}).status().code(), Code::kInvalidArgument);
  SecureBytes dup_x = s[1];
  dup_x.back() = s[0].back();
  EXPECT_EQ(ShamirCombine({s[0], dup_x}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ShamirCombine({Bytes({1}), Bytes({2})}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ShamirCombine({Bytes({}), Bytes({})}).status().code(), Code::kInvalidArgument);
}

TEST(ShamirTest, WrongShareGivesWrongSecretNotError) {
  SecureBytes secret = RandomBytes(32);
  auto shares = ShamirSplit(secret, 3, 2);
  ASSERT_TRUE(shares.ok());
  SecureBytes bad = (*shares)[1];
  bad[0] ^= 1;
  auto got = ShamirCombine({(*shares)[0], bad});
  ASSERT_TRUE(got.ok());
  EXPECT_NE(*got, secret);
  EXPECT_EQ(std::equal(got->begin() + 1, got->end(), secret.begin() + 1), true);
}

}  // namespace
}  // namespace arca::core
