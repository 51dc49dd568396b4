#include "cli/args.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "cli_fakes.h"

namespace arca::cli {
namespace {

class FlagSetTest : public ::testing::Test {
 protected:
  FlagSetTest() : flags_([this](const std::string& n) -> std::optional<std::string> {
      auto it = env_.find(n);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    }) {}

  void Register() {
    flags_.Bool("force", &force_, false, Usage("force it").Alias("f"));
    flags_.String("mount", &mount_, "", Usage("mount"));
    flags_.Int("version", &version_, 0, Usage("version"));
    flags_.Duration("ttl", &ttl_, 0, Usage("ttl"));
    flags_.StringSlice("policy", &policies_, Usage("policy"));
    flags_.StringMap("metadata", &meta_, Usage("meta"));
    flags_.String("address", &address_, "https://127.0.0.1:8200", Usage("addr").Env("VAULT_ADDR"));
  }

  std::map<std::string, std::string> env_;
  FlagSet flags_;
  bool force_ = false;
  std::string mount_, address_;
  int64_t version_ = 0, ttl_ = 0;
  std::vector<std::string> policies_;
  std::map<std::string, std::string> meta_;
};

TEST_F(FlagSetTest, ParsesEqualsAndSeparateValues) {
  Register();
  ASSERT_TRUE(flags_.Parse({"-mount=secret", "-version", "3", "--ttl=1h30m", "foo", "bar=baz"}).ok());
  EXPECT_EQ(mount_, "secret");
  EXPECT_EQ(version_, 3);
  EXPECT_EQ(ttl_, 5400);
  EXPECT_EQ(flags_.Args(), (std::vector<std::string>{"foo", "bar=baz"}));
  EXPECT_TRUE(flags_.IsSet("mount"));
  EXPECT_FALSE(flags_.IsSet("force"));
}

TEST_F(FlagSetTest, BoolFlagsTakeNoSeparateValue) {
  Register();
  ASSERT_TRUE(flags_.Parse({"-f", "true"}).ok());
  EXPECT_TRUE(force_);
  EXPECT_EQ(flags_.Args(), std::vector<std::string>{"true"});
  ASSERT_TRUE(flags_.Parse({"-force=false"}).ok());
  EXPECT_FALSE(force_);
  Status st = flags_.Parse({"-force=maybe"});
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "invalid boolean value \"maybe\" for -force: parse error");
}

TEST_F(FlagSetTest, StopsAtFirstPositionalDashAndDoubleDash) {
  Register();
  ASSERT_TRUE(flags_.Parse({"secret/foo", "-mount=x"}).ok());
  EXPECT_EQ(mount_, "");
  EXPECT_EQ(flags_.Args(), (std::vector<std::string>{"secret/foo", "-mount=x"}));
  EXPECT_EQ(flags_.LeftoverFlagWarning(),
            "Command flags must be provided before positional arguments. The following arguments "
            "will not be parsed as flags: [-mount=x]");
  ASSERT_TRUE(flags_.Parse({"-", "-f"}).ok());
  EXPECT_EQ(flags_.Args(), (std::vector<std::string>{"-", "-f"}));
  ASSERT_TRUE(flags_.Parse({"--", "-f"}).ok());
  EXPECT_EQ(flags_.Args(), std::vector<std::string>{"-f"});
  EXPECT_EQ(flags_.LeftoverFlagWarning(), "Command flags must be provided before positional "
                                          "arguments. The following arguments will not be parsed "
                                          "as flags: [-f]");
}

TEST_F(FlagSetTest, ReportsGoFlagErrors) {
  Register();
  EXPECT_EQ(flags_.Parse({"-nope"}).message(), "flag provided but not defined: -nope");
  EXPECT_EQ(flags_.Parse({"-mount"}).message(), "flag needs an argument: -mount");
  EXPECT_EQ(flags_.Parse({"-version=x"}).message(), "invalid value \"x\" for flag -version: parse error");
  EXPECT_EQ(flags_.Parse({"---x"}).message(), "bad flag syntax: ---x");
  EXPECT_EQ(flags_.Parse({"-ttl=abc"}).code(), Code::kInvalidArgument);
  EXPECT_EQ(flags_.Parse({"-metadata=novalue"}).code(), Code::kInvalidArgument);
}

TEST_F(FlagSetTest, HelpIsNotAnError) {
  Register();
  ASSERT_TRUE(flags_.Parse({"-h"}).ok());
  EXPECT_TRUE(flags_.help_requested());
  EXPECT_NE(flags_.Help().find("  -mount=<string>\n      mount"), std::string::npos);
}

TEST_F(FlagSetTest, RepeatedAndMapFlagsAccumulate) {
  Register();
  ASSERT_TRUE(flags_.Parse({"-policy=a", "-policy", " b ", "-metadata=k=v=w", "-metadata", "x=y"}).ok());
  EXPECT_EQ(policies_, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(meta_, (std::map<std::string, std::string>{{"k", "v=w"}, {"x", "y"}}));
}

TEST_F(FlagSetTest, EnvironmentGivesDefaultsAndFlagsWin) {
  env_["VAULT_ADDR"] = "http://10.0.0.1:8200";
  Register();
  EXPECT_EQ(address_, "http://10.0.0.1:8200");
  ASSERT_TRUE(flags_.Parse({"-address=http://127.0.0.1:1"}).ok());
  EXPECT_EQ(address_, "http://127.0.0.1:1");
}

TEST_F(FlagSetTest, IntegersFollowStrconvParseInt) {
  Register();
  ASSERT_TRUE(flags_.Parse({"-version=0x10"}).ok());
  EXPECT_EQ(version_, 16);
  ASSERT_TRUE(flags_.Parse({"-version=-1"}).ok());
  EXPECT_EQ(version_, -1);
}

TEST(ParseGoBoolTest, AcceptsGoSpellings) {
  for (auto s : {"1", "t", "T", "true", "TRUE", "True"}) EXPECT_EQ(ParseGoBool(s), true) << s;
  for (auto s : {"0", "f", "F", "false", "FALSE", "False"}) EXPECT_EQ(ParseGoBool(s), false) << s;
  EXPECT_FALSE(ParseGoBool("yes"));
}

class DataArgsTest : public ::testing::Test {
 protected:
  std::string WriteFile(const std::string& name, const std::string& content) {
    std::string p = dir_.path() + "/" + name;
    std::ofstream(p) << content;
    return p;
  }
  testing::TempDir dir_;
};

TEST_F(DataArgsTest, KeyValuePairsAndRepeatedKeys) {
  auto r = ParseDataArgs({"a=1", "b=x=y", "a=2", "empty=", ""}, nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["a"], Json::array({"1", "2"}));
  EXPECT_EQ((*r)["b"], "x=y");
  EXPECT_EQ((*r)["empty"], "");
  EXPECT_EQ(r->size(), 3u);
}

TEST_F(DataArgsTest, ValuesFromFilesAndStdin) {
  std::string f = WriteFile("cert.pem", "-----BEGIN-----\n");
  std::istringstream in("abcd1234\n");
  auto r = ParseDataArgs({"cert=@" + f, "lit=\\@notafile", "pw=-"}, &in);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)["cert"], "-----BEGIN-----\n");
  EXPECT_EQ((*r)["lit"], "@notafile");
  EXPECT_EQ((*r)["pw"], "abcd1234\n");  // Vault keeps the newline
}

TEST_F(DataArgsTest, JsonObjectFromStdinOrFileIsMerged) {
  std::istringstream in(R"({"n": 5, "nested": {"x": true}})");
  std::string f = WriteFile("d.json", R"({"from_file": "yes"})");
  auto r = ParseDataArgs({"-", "@" + f, "k=v"}, &in);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)["n"], 5);
  EXPECT_EQ((*r)["nested"]["x"], true);
  EXPECT_EQ((*r)["from_file"], "yes");
  EXPECT_EQ((*r)["k"], "v");
}

TEST_F(DataArgsTest, Errors) {
  std::istringstream in("x");
  EXPECT_EQ(ParseDataArgs({"novalue"}, &in).status().message(),
            "invalid key/value pair \"novalue\": format must be key=value");
  std::istringstream in2("abc");
  EXPECT_EQ(ParseDataArgs({"a=-", "b=-"}, &in2).status().message(),
            "invalid key/value pair \"b=-\": stdin already consumed");
  std::istringstream in3("[1,2]");
  EXPECT_EQ(ParseDataArgs({"-"}, &in3).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseDataArgs({"a=@/nonexistent/file"}, nullptr).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseDataArgs({"-"}, nullptr).status().message(),
            "invalid key/value pair \"-\": stdin is not supported");
}

TEST_F(DataArgsTest, StringConversions) {
  std::istringstream in(R"({"n": 5, "b": true})");
  auto s = ParseDataArgsStrings({"-", "k=v"}, &in);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)["n"], "5");
  EXPECT_EQ((*s)["b"], "1");
  EXPECT_EQ((*s)["k"], "v");
  EXPECT_FALSE(ParseDataArgsStrings({"a=1", "a=2"}, nullptr).ok());
  auto l = ParseDataArgsStringLists({"a=1", "a=2", "b=x"}, nullptr);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ((*l)["a"], (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ((*l)["b"], std::vector<std::string>{"x"});
}

}  // namespace
}  // namespace arca::cli
