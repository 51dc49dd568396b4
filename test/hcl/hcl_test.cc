#include "hcl/hcl.h"

#include <gtest/gtest.h>

namespace arca::hcl {
namespace {

Value MustParse(std::string_view text, Syntax syntax = Syntax::kAuto) {
  auto v = Parse(text, syntax);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  if (!v.ok()) return Value{};
  return *std::move(v);
}

Error ParseError(std::string_view text, Syntax syntax = Syntax::kAuto) {
  Error e;
  auto v = Parse(text, syntax, &e);
  EXPECT_FALSE(v.ok()) << "parsed: " << text;
  if (!v.ok()) {
    EXPECT_EQ(v.status().code(), Code::kInvalidArgument);
  }
  return e;
}

TEST(HclTest, KeyValuesOfEveryLiteralKind) {
  Value v = MustParse(R"(
a = "x"
b = 12
c = -7
d = 1.5
e = -2.5e3
f = true
g = false
h = 0x1F
i = 017
)");
  ASSERT_EQ(v.items.size(), 9u);
  EXPECT_EQ(v.items[0].name(), "a");
  EXPECT_TRUE(v.items[0].assign);
  EXPECT_EQ(v.items[0].value.s, "x");
  EXPECT_EQ(v.items[0].line(), 2);
  EXPECT_EQ(v.items[1].value.kind, Kind::kInt);
  EXPECT_EQ(v.items[1].value.i, 12);
  EXPECT_EQ(v.items[2].value.i, -7);
  EXPECT_EQ(v.items[3].value.kind, Kind::kFloat);
  EXPECT_DOUBLE_EQ(v.items[3].value.f, 1.5);
  EXPECT_DOUBLE_EQ(v.items[4].value.f, -2500);
  EXPECT_TRUE(v.items[5].value.b);
  EXPECT_EQ(v.items[6].value.kind, Kind::kBool);
  EXPECT_FALSE(v.items[6].value.b);
  EXPECT_EQ(v.items[7].value.i, 31);
  EXPECT_EQ(v.items[8].value.i, 15);
  EXPECT_EQ(v.items[8].line(), 10);
  EXPECT_EQ(v.items[8].value.line, 10);
}

TEST(HclTest, Comments) {
  Value v = MustParse(R"(# hash
// slashes
/* block
   comment */ a = 1 # trailing
b /* inline */ = 2
)");
  ASSERT_EQ(v.items.size(), 2u);
  EXPECT_EQ(v.items[0].line(), 4);
  EXPECT_EQ(v.items[1].value.i, 2);
  EXPECT_EQ(v.items[1].line(), 5);
}

TEST(HclTest, StringEscapes) {
  Value v = MustParse(R"(a = "q\"b\\s\n\t\u00e9\U0001F600\x41\101 ${var.x} ${f("y")}")");
  EXPECT_EQ(v.items[0].value.s, "q\"b\\s\n\t\xc3\xa9\xf0\x9f\x98\x80" "AA ${var.x} ${f(\"y\")}");
}

TEST(HclTest, BlocksWithLabelsAndRepeats) {
  Value v = MustParse(R"(
path "secret/*" {
  capabilities = ["read"]
}
path "secret/*" {
  capabilities = ["list"]
}
listener tcp "second label" {
  address = "127.0.0.1:8200"
}
telemetry {}
)");
  ASSERT_EQ(v.items.size(), 4u);
  EXPECT_FALSE(v.items[0].assign);
  ASSERT_EQ(v.items[0].keys.size(), 2u);
  EXPECT_EQ(v.items[0].keys[1].text, "secret/*");
  EXPECT_EQ(v.items[1].line(), 5);
  EXPECT_EQ(v.items[2].keys.size(), 3u);
  EXPECT_EQ(v.items[2].keys[2].text, "second label");
  EXPECT_EQ(v.items[2].value.items[0].line(), 9);
  EXPECT_TRUE(v.items[3].value.is_object());
  EXPECT_TRUE(v.items[3].value.items.empty());

  auto paths = Blocks(v, "path", 1);
  ASSERT_TRUE(paths.ok());
  ASSERT_EQ(paths->size(), 2u);
  EXPECT_EQ((*paths)[1].labels[0].text, "secret/*");
  EXPECT_EQ((*paths)[1].line, 5);
  EXPECT_EQ((*paths)[1].body->items[0].value.list[0].s, "list");
}

TEST(HclTest, ListsAndObjects) {
  Value v = MustParse(R"(
l = [1, "two", [3], { k = "v" },]
o = { a = 1, b = "x" }
p = {
  "quoted key" = [
    "x",   # comment in a list
    "y",
  ]
  nested "lbl" { z = 1 }
}
e = []
)");
  const Value& l = v.items[0].value;
  ASSERT_TRUE(l.is_list());
  ASSERT_EQ(l.list.size(), 4u);
  EXPECT_EQ(l.list[2].list[0].i, 3);
  EXPECT_EQ(l.list[3].items[0].value.s, "v");
  const Value& o = v.items[1].value;
  ASSERT_EQ(o.items.size(), 2u);
  EXPECT_EQ(o.items[1].value.s, "x");
  const Value& p = v.items[2].value;
  EXPECT_EQ(p.items[0].name(), "quoted key");
  EXPECT_EQ(p.items[0].value.list.size(), 2u);
  EXPECT_EQ(p.items[0].value.list[1].line, 7);
  EXPECT_EQ(p.items[1].keys.size(), 2u);
  EXPECT_TRUE(v.items[3].value.is_list());
  EXPECT_TRUE(v.items[3].value.list.empty());
}

TEST(HclTest, Heredocs) {
  Value v = MustParse("a = <<EOF\nline one\n  line two\nEOF\n"
                      "b = <<-EOT\n    indented\n      more\n\n    EOT\n"
                      "c = <<EOF\nEOF\n"
                      "d = 1\n");
  ASSERT_EQ(v.items.size(), 4u);
  EXPECT_EQ(v.items[0].value.s, "line one\n  line two\n");
  EXPECT_EQ(v.items[1].value.s, "indented\n  more\n\n");
  EXPECT_EQ(v.items[2].value.s, "");
  EXPECT_EQ(v.items[3].line(), 12);
}

TEST(HclTest, HeredocAnchorAtEndOfInput) {
  Value v = MustParse("a = <<EOF\nx\nEOF");
  EXPECT_EQ(v.items[0].value.s, "x\n");
}

TEST(HclTest, HeredocWithUnevenIndentKeepsText) {
  Value v = MustParse("a = <<-EOF\n    x\n  y\n    EOF\n");
  EXPECT_EQ(v.items[0].value.s, "    x\n  y\n");
}

TEST(HclTest, JsonIsAccepted) {
  Value v = MustParse(R"({
  "path": {
    "secret/*": {"capabilities": ["read", "list"]},
    "sys/+/x": {"capabilities": ["deny"]}
  },
  "n": null, "f": 1.25, "i": -3, "s": "a\/b\u00e9"
})");
  ASSERT_EQ(v.items.size(), 5u);
  EXPECT_EQ(v.items[0].line(), 2);
  EXPECT_EQ(v.items[1].value.kind, Kind::kNull);
  EXPECT_EQ(v.items[4].value.s, "a/b\xc3\xa9");
  auto paths = Blocks(v, "path", 1);
  ASSERT_TRUE(paths.ok());
  ASSERT_EQ(paths->size(), 2u);
  EXPECT_EQ((*paths)[0].labels[0].text, "secret/*");
  EXPECT_EQ((*paths)[0].labels[0].line, 3);
  EXPECT_EQ((*paths)[1].labels[0].text, "sys/+/x");
}

TEST(HclTest, JsonListOfBlocks) {
  Value v = MustParse(R"({"listener": [{"tcp": {"address": "a"}}, {"tcp": {"address": "b"}}]})");
  auto ls = Blocks(v, "listener", 1);
  ASSERT_TRUE(ls.ok());
  ASSERT_EQ(ls->size(), 2u);
  EXPECT_EQ((*ls)[1].body->items[0].value.s, "b");
}

TEST(HclTest, JsonSurrogatePairs) {
  Value v = MustParse(R"({"s": "\ud83d\ude00 \ud800x"})");
  EXPECT_EQ(v.items[0].value.s, "\xf0\x9f\x98\x80 \xef\xbf\xbdx");
}

TEST(HclTest, ForcedJsonSyntax) {
  EXPECT_TRUE(Parse(" {\"a\": 1}", Syntax::kJson).ok());
  Error e = ParseError("a = 1", Syntax::kJson);
  EXPECT_EQ(e.line, 1);
}

TEST(HclTest, ByteOrderMarkIsSkipped) {
  Value v = MustParse("\xEF\xBB\xBFpath \"a\" {}\n");
  ASSERT_EQ(v.items.size(), 1u);
  EXPECT_EQ(v.items[0].name(), "path");
  EXPECT_TRUE(Parse("\xEF\xBB\xBF{\"a\": 1}").ok());
}

TEST(HclTest, EmptyInputIsEmptyObject) {
  Value v = MustParse("  \n# only a comment\n");
  EXPECT_TRUE(v.is_object());
  EXPECT_TRUE(v.items.empty());
}

TEST(HclTest, BlocksNestedAssignmentForm) {
  Value v = MustParse(R"(storage = { file = { path = "/x" } })");
  auto b = Blocks(v, "storage", 1);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_EQ(b->size(), 1u);
  EXPECT_EQ((*b)[0].labels[0].text, "file");
}

TEST(HclTest, BlocksWrongLabelCountIsAnError) {
  Value v = MustParse("a = 1\nlistener {\n  address = \"x\"\n}\n");
  Error e;
  auto b = Blocks(v, "listener", 1, &e);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(e.line, 2);
  EXPECT_NE(b.status().message().find("line 2"), std::string::npos);

  Value v2 = MustParse("listener \"a\" \"b\" {}\n");
  EXPECT_FALSE(Blocks(v2, "listener", 1).ok());
  Value v3 = MustParse("\n\nlistener = \"tcp\"\n");
  auto b3 = Blocks(v3, "listener", 1, &e);
  ASSERT_FALSE(b3.ok());
  EXPECT_EQ(e.line, 3);
}

TEST(HclTest, ErrorsCarryLines) {
  EXPECT_EQ(ParseError("a = 1\nb = \n").line, 3);
  EXPECT_EQ(ParseError("a = 1\n\nb = \"unterminated\n").line, 3);
  EXPECT_EQ(ParseError("a = 1\n/* never closed\n").line, 2);
  EXPECT_EQ(ParseError("a = 1\nb = [1 2]\n").line, 2);
  EXPECT_EQ(ParseError("x {\n a = 1\n").line, 3);
  EXPECT_EQ(ParseError("a = 1\nb = <<EOF\nno end\n").line, 2);
  EXPECT_EQ(ParseError("a = 1\n\n\"k\" \"l\" = 2\n").line, 3);
  EXPECT_EQ(ParseError("a = bareword\n").line, 1);
  EXPECT_EQ(ParseError("a = 1\n}\n").line, 2);
  EXPECT_EQ(ParseError("a = \"\\q\"\n").line, 1);
  EXPECT_EQ(ParseError("a = 99999999999999999999\n").line, 1);
  EXPECT_EQ(ParseError("a = 09\n").line, 1);
  EXPECT_EQ(ParseError("a = 1\n@\n").line, 2);
  EXPECT_EQ(ParseError("a : 1\n").line, 1);
  EXPECT_EQ(ParseError("{\"a\": 1,\n\"b\" 2}").line, 2);
  EXPECT_EQ(ParseError("{\"a\": [1,]}").line, 1);
  EXPECT_EQ(ParseError("{\"a\": 1} extra").line, 1);
  EXPECT_EQ(ParseError("{a: 1}").line, 1);
  EXPECT_EQ(ParseError("{\"a\": tru}").line, 1);
}

TEST(HclTest, ErrorStatusMessageHasPosition) {
  auto v = Parse("a = 1\nb = ]\n");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message().rfind("At 2:5: ", 0), 0u) << v.status().message();
}

TEST(HclTest, LimitsAreEnforced) {
  std::string big(kMaxInputBytes + 1, ' ');
  EXPECT_FALSE(Parse(big).ok());
  std::string deep = "a = " + std::string(1000, '[') + std::string(1000, ']');
  Error e = ParseError(deep);
  EXPECT_NE(e.message.find("too deep"), std::string::npos);
  std::string deep_json;
  for (int k = 0; k < 1000; ++k) deep_json += "{\"a\":";
  deep_json += "1";
  deep_json += std::string(1000, '}');
  EXPECT_FALSE(Parse(deep_json).ok());
  std::string deep_blocks;
  for (int k = 0; k < 1000; ++k) deep_blocks += "a {";
  deep_blocks += std::string(1000, '}');
  EXPECT_FALSE(Parse(deep_blocks).ok());
  std::string ok_depth = "a = " + std::string(kMaxDepth - 1, '[') + std::string(kMaxDepth - 1, ']');
  EXPECT_TRUE(Parse(ok_depth).ok());
  EXPECT_FALSE(Parse(std::string("a = \"x\0y\"", 9)).ok());
}

TEST(HclTest, ToJsonShapes) {
  Value v = MustParse(R"(
a = 1
a = 2
path "x" { capabilities = ["read"] }
path "y" { capabilities = ["list"] }
listener "tcp" { address = "a" }
listener "tcp" { address = "b" }
listener "tcp" { address = "c" }
obj = { k = [true, 1.5, "s"] }
)");
  nlohmann::json j = ToJson(v);
  EXPECT_EQ(j["a"], 2);
  EXPECT_EQ(j["path"]["x"]["capabilities"][0], "read");
  EXPECT_EQ(j["path"]["y"]["capabilities"][0], "list");
  ASSERT_TRUE(j["listener"]["tcp"].is_array());
  ASSERT_EQ(j["listener"]["tcp"].size(), 3u);
  EXPECT_EQ(j["listener"]["tcp"][2]["address"], "c");
  EXPECT_EQ(j["obj"]["k"], nlohmann::json::parse(R"([true, 1.5, "s"])"));
  Value jv = MustParse(R"({"x": null, "y": [1, {"z": "w"}]})");
  EXPECT_EQ(ToJson(jv), nlohmann::json::parse(R"({"x": null, "y": [1, {"z": "w"}]})"));
}

TEST(HclTest, QuoteEscapes) {
  EXPECT_EQ(Quote("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\x01\"");
}

TEST(HclTest, CrlfLineEndings) {
  Value v = MustParse("a = 1\r\nb = <<EOF\r\nx\r\nEOF\r\nc = 3\r\n");
  ASSERT_EQ(v.items.size(), 3u);
  EXPECT_EQ(v.items[1].value.s, "x\r\n");
  EXPECT_EQ(v.items[2].line(), 5);
}

}  // namespace
}  // namespace arca::hcl
