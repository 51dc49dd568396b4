// logical/json: numbers come back exactly as written (Vault's json.Number),
// numbers that survive a double stay ordinary numbers, and the dump matches
// nlohmann's compact dump everywhere else.
#include "logical/json.h"

#include <gtest/gtest.h>

#include "logical/fields.h"

namespace arca::logical {
namespace {

std::string RoundTrip(std::string_view text) {
  auto j = ParseJsonKeepingNumbers(text);
  EXPECT_TRUE(j.has_value()) << text;
  return j ? DumpJson(*j) : std::string();
}

TEST(JsonTest, NumbersRoundTripAsWritten) {
  EXPECT_EQ(RoundTrip(R"({"a":1e3,"b":1.10,"c":123456789012345678901234567890})"),
            R"({"a":1e3,"b":1.10,"c":123456789012345678901234567890})");
  EXPECT_EQ(RoundTrip(R"([0.1,2.50,1E-7,-3.0e+2,18446744073709551616])"),
            R"([0.1,2.50,1E-7,-3.0e+2,18446744073709551616])");
  // Integers in range stay integers; the keys come out sorted, as nlohmann's.
  EXPECT_EQ(RoundTrip(R"({"z":1,"a":-5,"m":18446744073709551615})"),
            R"({"a":-5,"m":18446744073709551615,"z":1})");
}

TEST(JsonTest, NumbersThatSurviveADoubleStayNumbers) {
  auto j = ParseJsonKeepingNumbers(R"({"f":1.5,"g":2.0,"i":7,"l":1.10})");
  ASSERT_TRUE(j.has_value());
  EXPECT_TRUE((*j)["f"].is_number_float());
  EXPECT_TRUE((*j)["g"].is_number_float());
  EXPECT_TRUE((*j)["i"].is_number_integer());
  EXPECT_FALSE(IsNumberLiteral((*j)["f"]));
  ASSERT_TRUE(IsNumberLiteral((*j)["l"]));
  EXPECT_EQ(NumberLiteralText((*j)["l"]), "1.10");
  EXPECT_EQ(NumberLiteralText((*j)["f"]), "");
}

TEST(JsonTest, EverythingElseDumpsAsNlohmannDoes) {
  const std::string text =
      R"({"s":"q\"\\\n\u0001\u00e9","t":true,"n":null,"a":[[],{}],"o":{"x":{"y":[1,"2"]}}})";
  auto j = ParseJsonKeepingNumbers(text);
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ(DumpJson(*j), j->dump(-1, ' ', false, Json::error_handler_t::replace));
  // With a literal somewhere, the rest still matches nlohmann byte for byte.
  Json mixed = *j;
  mixed["lit"] = NumberLiteral("1.10");
  Json plain = *j;
  plain["lit"] = 7;
  std::string want = plain.dump(-1, ' ', false, Json::error_handler_t::replace);
  want.replace(want.find("\"lit\":7"), 7, "\"lit\":1.10");
  EXPECT_EQ(DumpJson(mixed), want);
  // Invalid UTF-8 in a string (or a key) is replaced, never thrown.
  Json bad = {{"k\xff", std::string("v\xfe")}, {"l", NumberLiteral("1e3")}};
  EXPECT_EQ(DumpJson(bad), "{\"k\xef\xbf\xbd\":\"v\xef\xbf\xbd\",\"l\":1e3}");
}

TEST(JsonTest, InvalidTextIsRefused) {
  // (A number past a double's range, "1e400", is refused as before; Go
  // would keep it as a json.Number.)
  for (const char* t :
       {"", "{", R"({"a":})", "[1,]", "01", "1.", "-", R"({"a":1}x)", "nul", "[1e400]"}) {
    EXPECT_FALSE(ParseJsonKeepingNumbers(t).has_value()) << t;
  }
  EXPECT_TRUE(ParseJsonKeepingNumbers("null").has_value());
}

TEST(JsonTest, FieldsReadLiteralsAsGoReadsJsonNumbers) {
  auto j = ParseJsonKeepingNumbers(R"({"i":1e3,"s":1.10,"b":0.0e1,"l":[1.10,2]})");
  ASSERT_TRUE(j.has_value());
  EXPECT_FALSE(GetInt(*j, "i").ok());  // json.Number("1e3").Int64() fails too
  auto s = GetString(*j, "s");
  ASSERT_TRUE(s.ok() && s->has_value());
  EXPECT_EQ(**s, "1.10");
  auto b = GetBool(*j, "b");
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_FALSE(**b);
  auto d = GetDuration(*j, "i", false);  // durations take the value in seconds
  ASSERT_TRUE(d.ok() && d->has_value());
  EXPECT_EQ(**d, 1000);
  auto l = GetStringSlice(*j, "l");
  ASSERT_TRUE(l.ok() && l->has_value());
  EXPECT_EQ(**l, (std::vector<std::string>{"1.10", "2"}));
}

}  // namespace
}  // namespace arca::logical
