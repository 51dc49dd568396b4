#include "cli/kv_paths.h"

#include <gtest/gtest.h>

#include "cli_fakes.h"

namespace arca::cli {
namespace {

TEST(KvPathsTest, SanitizeAndSlashes) {
  EXPECT_EQ(SanitizePath(" //secret/foo// "), "secret/foo");
  EXPECT_EQ(EnsureTrailingSlash("kv"), "kv/");
  EXPECT_EQ(EnsureTrailingSlash("kv/"), "kv/");
  EXPECT_EQ(EnsureTrailingSlash(""), "");
  EXPECT_EQ(EnsureNoLeadingSlash("/a/"), "a/");
}

TEST(KvPathsTest, GoPathJoinCleans) {
  EXPECT_EQ(GoPathJoin({"secret/", "data", "foo"}), "secret/data/foo");
  EXPECT_EQ(GoPathJoin({"secret/", "data", ""}), "secret/data");
  EXPECT_EQ(GoPathJoin({"a//b", "./c", "../d/"}), "a/b/d");
  EXPECT_EQ(GoPathJoin({"", ""}), "");
  EXPECT_EQ(GoPathClean("/../x"), "/x");
  EXPECT_EQ(GoPathClean(""), ".");
}

TEST(KvPathsTest, AddPrefixForV2) {
  EXPECT_EQ(AddPrefixToKvPath("secret/foo", "secret/", "data", false), "secret/data/foo");
  EXPECT_EQ(AddPrefixToKvPath("secret/a/b", "secret/", "metadata", false), "secret/metadata/a/b");
  EXPECT_EQ(AddPrefixToKvPath("secret", "secret/", "metadata", false), "secret/metadata");
  EXPECT_EQ(AddPrefixToKvPath("secret/", "secret/", "metadata", false), "secret/metadata");
  EXPECT_EQ(AddPrefixToKvPath("kv/team/x", "kv/team/", "delete", false), "kv/team/delete/x");
  // A path that already names the prefix is kept when asked to.
  EXPECT_EQ(AddPrefixToKvPath("secret/data/foo", "secret/", "data", true), "secret/data/foo");
  EXPECT_EQ(AddPrefixToKvPath("secret/data/foo", "secret/", "data", false), "secret/data/data/foo");
  // Mount paths with leading parts (namespaces) the user's path lacks.
  EXPECT_EQ(AddPrefixToKvPath("secret/foo", "ns1/secret/", "data", false), "secret/data/foo");
}

TEST(KvPathsTest, VersionsFlagsSplitOnCommas) {
  EXPECT_EQ(ParseVersionsFlags({"1,2", " 3 ", ""}), (std::vector<std::string>{"1", "2", "3"}));
}

ClientConfig TestConfig() {
  ClientConfig c;
  c.address = "http://127.0.0.1:8200";
  c.token = "tok";
  return c;
}

class KvPreflightTest : public ::testing::Test {
 protected:
  KvPreflightTest() : client_(TestConfig(), transport_) {}
  testing::FakeTransport transport_;
  Client client_;
};

TEST_F(KvPreflightTest, DetectsV2FromStringVersion) {
  transport_.On("GET", "/v1/sys/internal/ui/mounts/secret/foo", 200,
                R"({"data":{"path":"secret/","type":"kv","options":{"version":"2"}}})");
  auto m = KvPreflight(client_, "secret/foo");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->mount_path, "secret/");
  EXPECT_EQ(m->version, 2);
  EXPECT_EQ(testing::HeaderOf(transport_.requests[0], "X-Vault-Token"), "tok");
}

TEST_F(KvPreflightTest, NoOptionsMeansV1And404AssumesV1) {
  transport_.On("GET", "/v1/sys/internal/ui/mounts/kv/x", 200,
                R"({"data":{"path":"kv/","type":"kv","options":null}})");
  auto m = KvPreflight(client_, "kv/x");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->version, 1);
  EXPECT_EQ(m->mount_path, "kv/");
  auto missing = KvPreflight(client_, "old/x");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->version, 1);
  EXPECT_EQ(missing->mount_path, "");
}

TEST_F(KvPreflightTest, ForbiddenIsAnError) {
  transport_.On("GET", "/v1/sys/internal/ui/mounts/secret/foo", 403,
                R"({"errors":["preflight capability check returned 403, please ensure client's policies grant access to path \"secret/foo/\""]})");
  auto m = KvPreflight(client_, "secret/foo");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(m.status().message(),
            "Error making API request.\n\nURL: GET http://127.0.0.1:8200/v1/sys/internal/ui/mounts/"
            "secret/foo\nCode: 403. Errors:\n\n* preflight capability check returned 403, please "
            "ensure client's policies grant access to path \"secret/foo/\"");
}

}  // namespace
}  // namespace arca::cli
