#include "base/encoding.h"

#include <gtest/gtest.h>

#include "base/time.h"

namespace arca {
namespace {

TEST(EncodingTest, HexRoundTrip) {
  EXPECT_EQ(HexEncode("\x01\xab"), "01ab");
  EXPECT_EQ(*HexDecode("01AB"), "\x01\xab");
  EXPECT_FALSE(HexDecode("0g"));
  EXPECT_FALSE(HexDecode("abc"));
}

TEST(EncodingTest, Base64RoundTrip) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    EXPECT_EQ(*Base64Decode(Base64Encode(s)), s);
    EXPECT_EQ(*Base64UrlDecode(Base64UrlEncode(s)), s);
  }
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_FALSE(Base64Decode("Zm8"));
  EXPECT_FALSE(Base64Decode("Z!8="));
}

TEST(EncodingTest, RandomBase62HasLengthAndAlphabet) {
  std::string s = RandomBase62(24);
  ASSERT_EQ(s.size(), 24u);
  for (char c : s) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)));
  EXPECT_NE(RandomBase62(24), s);
}

TEST(EncodingTest, UuidShape) {
  std::string u = NewUuid();
  ASSERT_EQ(u.size(), 36u);
  EXPECT_EQ(u[14], '4');
  EXPECT_EQ(u[8], '-');
}

TEST(EncodingTest, PercentDecode) {
  EXPECT_EQ(*PercentDecode("a%40b%2Fc", false), "a@b/c");
  EXPECT_EQ(*PercentDecode("a+b", true), "a b");
  EXPECT_EQ(*PercentDecode("a+b", false), "a+b");
  EXPECT_FALSE(PercentDecode("%4", false));
  EXPECT_FALSE(PercentDecode("%zz", false));
}

TEST(EncodingTest, ValidatesUtf8) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
}

TEST(TimeTest, ParsesDurations) {
  EXPECT_EQ(*ParseDurationSeconds("30m"), 1800);
  EXPECT_EQ(*ParseDurationSeconds("1h30m"), 5400);
  EXPECT_EQ(*ParseDurationSeconds("768h"), 2764800);
  // Go's limit (int64 nanoseconds), as Vault: the largest holds, past it not.
  EXPECT_EQ(*ParseDurationSeconds("2562047h"), int64_t(2562047) * 3600);
  EXPECT_FALSE(ParseDurationSeconds("2562048h").has_value());
  EXPECT_FALSE(ParseDurationSeconds("1000000000000h").has_value());
  EXPECT_FALSE(ParseDurationSeconds("106752d").has_value());
  EXPECT_EQ(*ParseDurationSeconds("3600"), 3600);
  EXPECT_EQ(*ParseDurationSeconds("2d"), 172800);
  EXPECT_EQ(*ParseDurationSeconds("1.5h"), 5400);
  EXPECT_EQ(*ParseDurationSeconds("-1s"), -1);
  EXPECT_EQ(*ParseDurationSeconds("0"), 0);
  EXPECT_FALSE(ParseDurationSeconds("abc"));
  EXPECT_FALSE(ParseDurationSeconds("10x"));
  EXPECT_FALSE(ParseDurationSeconds(""));
}

TEST(TimeTest, FormatsGoDurations) {
  EXPECT_EQ(FormatGoDuration(0), "0s");
  EXPECT_EQ(FormatGoDuration(90), "1m30s");
  EXPECT_EQ(FormatGoDuration(10800), "3h0m0s");
  EXPECT_EQ(FormatGoDuration(-5), "-5s");
}

TEST(TimeTest, Rfc3339RoundTrip) {
  SystemTime t = std::chrono::system_clock::from_time_t(1700000000) +
                 std::chrono::duration_cast<SystemTime::duration>(std::chrono::microseconds(120));
  std::string s = FormatRfc3339Nano(t);
  EXPECT_EQ(s, "2023-11-14T22:13:20.00012Z");
  auto back = ParseRfc3339(s);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, t);
  EXPECT_EQ(FormatRfc3339Nano(std::chrono::system_clock::from_time_t(1700000000)),
            "2023-11-14T22:13:20Z");
  EXPECT_TRUE(ParseRfc3339("2023-11-14T22:13:20+01:00"));
  EXPECT_FALSE(ParseRfc3339("garbage"));
}

TEST(EncodingTest, VarintsRoundTripAtEveryLength) {
  const uint64_t values[] = {
      0, 1, 127, 128, 300, 16383, 16384, uint64_t(1) << 35, uint64_t(1) << 63, ~uint64_t(0)};
  std::string out;
  for (uint64_t v : values) PutVarint(out, v);
  EXPECT_EQ(out.size(), 1u + 1 + 1 + 2 + 2 + 2 + 3 + 6 + 10 + 10);
  std::string_view in = out;
  for (uint64_t v : values) {
    uint64_t got = 7;
    ASSERT_TRUE(GetVarint(in, got));
    EXPECT_EQ(got, v);
  }
  EXPECT_TRUE(in.empty());
}

TEST(EncodingTest, VarintsRefuseTruncatedAndOverlongInput) {
  uint64_t v = 0;
  std::string_view empty;
  EXPECT_FALSE(GetVarint(empty, v));
  std::string_view cut("\x80\x80", 2);  // continuation without an end
  EXPECT_FALSE(GetVarint(cut, v));
  EXPECT_EQ(cut.size(), 2u);  // nothing consumed
  const std::string eleven(10, '\x80');
  std::string_view overlong = eleven;
  EXPECT_FALSE(GetVarint(overlong, v));
  std::string too_big(9, '\xff');
  too_big.push_back('\x02');  // bit 64 and above
  std::string_view big = too_big;
  EXPECT_FALSE(GetVarint(big, v));
}

TEST(EncodingTest, LengthPrefixedBytesRoundTripAndRefuseShortInput) {
  std::string out;
  PutLengthPrefixed(out, std::string_view("a\0b", 3));
  PutLengthPrefixed(out, "");
  std::string_view in = out, a, b;
  ASSERT_TRUE(GetLengthPrefixed(in, a));
  ASSERT_TRUE(GetLengthPrefixed(in, b));
  EXPECT_EQ(a, std::string_view("a\0b", 3));
  EXPECT_TRUE(b.empty());
  EXPECT_TRUE(in.empty());
  std::string_view short_in(
      "\x05"
      "abc",
      4),
      got;
  EXPECT_FALSE(GetLengthPrefixed(short_in, got));
  EXPECT_EQ(short_in.size(), 4u);
}

}  // namespace
}  // namespace arca
