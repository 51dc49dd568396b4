#include "cli/output.h"

#include <gtest/gtest.h>

#include <sstream>

namespace arca::cli {
namespace {

TEST(OutputTest, ColumnizePadsAllButLastColumn) {
  EXPECT_EQ(Columnize({"a | bb | c", "ccc | d | eeee", "x"}, "|"),
            "a      bb    c\n"
            "ccc    d     eeee\n"
            "x");
  EXPECT_EQ(Columnize({"k | ", "key | v"}, "|"), "k      n/a\nkey    v");
}

TEST(OutputTest, TableOutputUnderlinesHeaders) {
  EXPECT_EQ(TableOutput({"Path | Type | Description", "secret/ | kv | key/value secret storage",
                         "sys/ | system | "}),
            "Path       Type      Description\n"
            "----       ----      -----------\n"
            "secret/    kv        key/value secret storage\n"
            "sys/       system    n/a");
}

TEST(OutputTest, HumanDurationDropsZeroUnits) {
  EXPECT_EQ(HumanDuration(0), "0s");
  EXPECT_EQ(HumanDuration(45), "45s");
  EXPECT_EQ(HumanDuration(90), "1m30s");
  EXPECT_EQ(HumanDuration(3600), "1h");
  EXPECT_EQ(HumanDuration(3660), "1h1m");
  EXPECT_EQ(HumanDuration(3601), "1h1s");
  EXPECT_EQ(HumanDuration(2764800), "768h");
  EXPECT_EQ(HumanDuration(2764790), "767h59m50s");
  EXPECT_EQ(HumanDuration(600), "10m");
}

TEST(OutputTest, GoValueStringMatchesPercentV) {
  EXPECT_EQ(GoValueString(Json("x")), "x");
  EXPECT_EQ(GoValueString(Json()), "<nil>");
  EXPECT_EQ(GoValueString(Json(12)), "12");
  EXPECT_EQ(GoValueString(Json(true)), "true");
  EXPECT_EQ(GoValueString(Json::array({"default", "dev"})), "[default dev]");
  EXPECT_EQ(GoValueString(Json::parse(R"({"b":1,"a":{"c":"d"}})")), "map[a:map[c:d] b:1]");
  EXPECT_EQ(GoQuotedList(Json::array({"default", "dev"})), "[\"default\" \"dev\"]");
  EXPECT_EQ(GoQuotedList(Json()), "[]");
}

TEST(OutputTest, SecretTableForKvV1Read) {
  Json secret = Json::parse(R"({"request_id":"r","lease_id":"","renewable":false,
      "lease_duration":2764800,"data":{"foo":"bar","ttl":3600,"zed":null},"warnings":null})");
  EXPECT_EQ(SecretTable(secret),
            "Key                 Value\n"
            "---                 -----\n"
            "refresh_interval    768h\n"
            "foo                 bar\n"
            "ttl                 1h\n"
            "zed                 <nil>");
}

TEST(OutputTest, SecretTableForAuth) {
  Json secret = Json::parse(R"({"lease_duration":0,"data":null,"auth":{
      "client_token":"hvs.abc","accessor":"acc","policies":["default","dev"],
      "token_policies":["default","dev"],"metadata":{"role":"x"},"lease_duration":3600,
      "renewable":true}})");
  EXPECT_EQ(SecretTable(secret),
            "Key                  Value\n"
            "---                  -----\n"
            "token                hvs.abc\n"
            "token_accessor       acc\n"
            "token_duration       1h\n"
            "token_renewable      true\n"
            "token_policies       [\"default\" \"dev\"]\n"
            "identity_policies    []\n"
            "policies             [\"default\" \"dev\"]\n"
            "token_meta_role      x");
  Json root = Json::parse(R"({"auth":{"client_token":"t","lease_duration":0}})");
  EXPECT_NE(SecretTable(root).find("token_duration       \xe2\x88\x9e"), std::string::npos);
}

TEST(OutputTest, MapTableAndKeysTable) {
  EXPECT_EQ(MapTable(Json::parse(R"({"version":2,"deletion_time":"","destroyed":false})")),
            "Key              Value\n"
            "---              -----\n"
            "deletion_time    n/a\n"
            "destroyed        false\n"
            "version          2");
  EXPECT_EQ(KeysTable(Json::array({"foo", "bar/"})), "Keys\n----\nbar/\nfoo");
  EXPECT_EQ(MapTable(Json::object()), "");
}

TEST(OutputTest, HeadersForKvSections) {
  EXPECT_EQ(PadEqualSigns("Secret Path", static_cast<int>(std::string("secret/data/creds").size())),
            "== Secret Path ==");
  EXPECT_EQ(PadEqualSigns("Secret Path", static_cast<int>(std::string("secret/data/foo").size())),
            "= Secret Path =");
  EXPECT_EQ(PadEqualSigns("Secret Path", 3), "== Secret Path ==");
  EXPECT_EQ(HeaderForMap("Data", Json::parse(R"({"password":"x"})")), "====== Data ======");
  EXPECT_EQ(HeaderForMap("Data", Json::parse(R"({"foo":"bar"})")), "=== Data ===");
  EXPECT_EQ(HeaderForMap("Metadata", Json::parse(R"({"custom_metadata":null})")),
            "======= Metadata =======");
}

TEST(OutputTest, FormatJsonEscapesLikeGo) {
  EXPECT_EQ(FormatJson(Json::parse(R"({"a":"<b>&","n":[1,2]})")),
            "{\n  \"a\": \"\\u003cb\\u003e\\u0026\",\n  \"n\": [\n    1,\n    2\n  ]\n}");
}

TEST(OutputTest, WrapAtLengthMinimisesRaggedness) {
  std::string s =
      "Success! You are now authenticated. The token information displayed below is already "
      "stored in the token helper. You do NOT need to run \"vault login\" again. Future Vault "
      "requests will automatically use this token.";
  std::string w = WrapAtLength(s);
  std::istringstream lines(w);
  std::string line, rejoined;
  while (std::getline(lines, line)) {
    EXPECT_LE(line.size(), 78u);
    rejoined += (rejoined.empty() ? "" : " ") + line;
  }
  EXPECT_EQ(rejoined, s);
  EXPECT_EQ(WrapAtLength("short text", 2), "  short text");
}

TEST(OutputTest, RawFieldPicksAuthThenData) {
  Json secret = Json::parse(R"({"lease_duration":5,"lease_id":"l","data":{"foo":"bar"},
      "auth":{"client_token":"tok","policies":["a"]}})");
  EXPECT_EQ(*RawField(secret, "token"), "tok");
  EXPECT_EQ(*RawField(secret, "foo"), "bar");
  EXPECT_EQ(*RawField(secret, "token_policies"), Json::array());
  EXPECT_FALSE(RawField(secret, "missing"));
  Json plain = Json::parse(R"({"lease_duration":5,"request_id":"r","data":{"data":{"x":1}}})");
  EXPECT_EQ(*RawField(plain, "refresh_interval"), 5);
  EXPECT_EQ(*RawField(plain, "data"), Json::parse(R"({"x":1})"));
}

TEST(OutputTest, PrintRawFieldHasNoNewlineWhenPiped) {
  std::ostringstream out, err;
  Ui ui{&out, &err, "table", false};
  Json secret = Json::parse(R"({"data":{"foo":"bar","list":["a","b"]}})");
  EXPECT_EQ(PrintRawField(ui, secret, true, "foo"), 0);
  EXPECT_EQ(out.str(), "bar");
  out.str("");
  ui.out_is_tty = true;
  EXPECT_EQ(PrintRawField(ui, secret, true, "list"), 0);
  EXPECT_EQ(out.str(), "[a b]\n");
  out.str("");
  ui.format = "json";
  EXPECT_EQ(PrintRawField(ui, secret, true, "list"), 0);
  EXPECT_EQ(out.str(), "[\n  \"a\",\n  \"b\"\n]\n");
  EXPECT_EQ(PrintRawField(ui, secret, true, "nope"), 1);
  EXPECT_EQ(err.str(), "Field \"nope\" not present in secret\n");
}

TEST(OutputTest, OutputSecretPrintsWarningsToStderr) {
  std::ostringstream out, err;
  Ui ui{&out, &err, "table", false};
  Json secret = Json::parse(R"({"data":{"a":"b"},"warnings":["careful"]})");
  OutputSecret(ui, secret);
  EXPECT_EQ(err.str(), "WARNING! The following warnings were returned from Vault:\n\n  * careful\n\n");
  EXPECT_EQ(out.str(), "Key    Value\n---    -----\na      b\n");
  out.str("");
  ui.format = "yaml";
  OutputSecret(ui, Json::parse(R"({"data":{"a":"b","list":[1],"y":"true"}})"));
  EXPECT_EQ(out.str(), "data:\n  a: b\n  list:\n  - 1\n  \"y\": \"true\"\n");
  ui.format = "xml";
  EXPECT_EQ(OutputSecret(ui, secret), 1);
}

}  // namespace
}  // namespace arca::cli
