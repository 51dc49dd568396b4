#include "core/policy.h"

#include <gtest/gtest.h>

#include "core/policy_store.h"
#include "logical/json.h"

namespace arca::core {
namespace {

using logical::Json;
using logical::Operation;

std::shared_ptr<const Policy> P(std::string_view name, std::string_view text) {
  auto p = ParsePolicy(name, text);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  if (!p.ok()) return std::make_shared<const Policy>();
  return std::make_shared<const Policy>(*std::move(p));
}

Acl MakeAcl(std::vector<std::shared_ptr<const Policy>> ps, const EntityView* e = nullptr,
            int64_t now = 1700000000) {
  auto acl = Acl::Build(ps, e, now);
  EXPECT_TRUE(acl.ok()) << acl.status().ToString();
  return *std::move(acl);
}

Acl OneAcl(std::string_view text) { return MakeAcl({P("p", text)}); }

bool Allowed(const Acl& acl, Operation op, std::string_view path, const Json& data = nullptr,
             std::optional<int64_t> wrap = std::nullopt, bool sudo = false) {
  return acl.Check(op, path, data, wrap, sudo).allowed;
}

std::string ParseErr(std::string_view text) {
  auto p = ParsePolicy("x", text);
  EXPECT_FALSE(p.ok());
  if (p.ok()) return "";
  EXPECT_EQ(p.status().code(), Code::kInvalidArgument);
  return p.status().message();
}

using Caps = std::vector<std::string>;

// ---------------------------------------------------------------- parsing

TEST(PolicyTest, ParsesHclPathBlocks) {
  auto p = ParsePolicy("dev", R"(
name = "ignored"
path "/secret/data/*" {
  capabilities = ["create", "read"]
  allowed_parameters = { "Type" = ["kv", "kv-v2"], "*" = [] }
  denied_parameters = { "seal_wrap" = [] }
  required_parameters = ["type"]
  min_wrapping_ttl = "1m"
  max_wrapping_ttl = 5400
  comment = "hello"
  mfa_methods = ["m"]
  control_group = { factor "x" { } }
}
path "sys/*" { policy = "read" }
)");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->name, "dev");
  EXPECT_FALSE(p->templated);
  ASSERT_EQ(p->rules.size(), 2u);
  const PathRule& r = p->rules[0];
  EXPECT_EQ(r.path, "secret/data/*");
  EXPECT_EQ(r.capabilities, uint32_t(kCapCreate | kCapRead));
  ASSERT_EQ(r.allowed_parameters.count("type"), 1u);
  EXPECT_EQ(r.allowed_parameters.at("type"), (std::vector<Json>{"kv", "kv-v2"}));
  EXPECT_TRUE(r.allowed_parameters.at("*").empty());
  EXPECT_TRUE(r.denied_parameters.at("seal_wrap").empty());
  EXPECT_EQ(r.required_parameters, std::vector<std::string>{"type"});
  EXPECT_EQ(r.min_wrapping_ttl, 60);
  EXPECT_EQ(r.max_wrapping_ttl, 5400);
  EXPECT_EQ(p->rules[1].capabilities, uint32_t(kCapRead | kCapList));
}

TEST(PolicyTest, ParsesHvacJson) {
  // hvac's create_or_update_policy: json.dumps(policy, indent=4, sort_keys=True).
  auto p = ParsePolicy("j", R"({
    "path": {
        "secret/*": {
            "capabilities": [
                "read",
                "list"
            ]
        },
        "sys/mounts/+": {
            "allowed_parameters": {"type": ["kv"]},
            "capabilities": ["update"]
        }
    }
})");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->rules.size(), 2u);
  EXPECT_EQ(p->rules[0].path, "secret/*");
  EXPECT_EQ(p->rules[0].capabilities, uint32_t(kCapRead | kCapList));
  EXPECT_EQ(p->rules[1].allowed_parameters.at("type")[0], "kv");
}

TEST(PolicyTest, LegacyPolicyMapping) {
  auto p = ParsePolicy("l", R"(
path "a" { policy = "deny" }
path "b" { policy = "read" }
path "c" { policy = "write" }
path "d" { policy = "sudo" }
path "e" { policy = "read" capabilities = ["patch"] }
)");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->rules[0].capabilities, uint32_t(kCapDeny));
  EXPECT_EQ(p->rules[1].capabilities, uint32_t(kCapRead | kCapList));
  EXPECT_EQ(p->rules[2].capabilities,
            uint32_t(kCapCreate | kCapRead | kCapUpdate | kCapDelete | kCapList));
  EXPECT_EQ(p->rules[3].capabilities,
            uint32_t(kCapCreate | kCapRead | kCapUpdate | kCapDelete | kCapList | kCapSudo));
  EXPECT_EQ(p->rules[4].capabilities, uint32_t(kCapPatch | kCapRead | kCapList));
}

TEST(PolicyTest, DenyDiscardsOtherCapabilitiesAndConstraints) {
  auto p = ParsePolicy("d", R"(path "x" {
  capabilities = ["read", "deny", "update"]
  allowed_parameters = { "a" = [] }
})");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->rules[0].capabilities, uint32_t(kCapDeny));
  EXPECT_TRUE(p->rules[0].allowed_parameters.empty());
}

TEST(PolicyTest, ParseErrorsNameKeyAndLine) {
  EXPECT_EQ(ParseErr("path \"a\" {\n  capabilities = [\"read\"]\n}\nbogus = 1\n"),
            "failed to parse policy: invalid key \"bogus\" on line 4");
  EXPECT_EQ(ParseErr("path \"a\" {\n  capabilities = [\"read\"]\n  capabilites = []\n}\n"),
            "failed to parse policy: path \"a\": invalid key \"capabilites\" on line 3");
  EXPECT_EQ(ParseErr("path \"a\" { capabilities = [\"read\", \"fly\"] }"),
            "failed to parse policy: path \"a\": invalid capability \"fly\"");
  EXPECT_EQ(ParseErr("path \"a\" { policy = \"all\" }"),
            "failed to parse policy: path \"a\": invalid policy \"all\"");
  EXPECT_EQ(ParseErr("path \"/a/+*\" { capabilities = [\"read\"] }"),
            "failed to parse policy: path \"a/+*\": invalid use of wildcards ('+*' is forbidden)");
  EXPECT_EQ(ParseErr("path \"a\" { capabilities = [\"read\"] min_wrapping_ttl = \"10m\" "
                     "max_wrapping_ttl = \"1m\" }"),
            "failed to parse policy: max_wrapping_ttl cannot be less than min_wrapping_ttl");
  EXPECT_NE(ParseErr("path \"a\" { min_wrapping_ttl = \"soon\" }").find("min_wrapping_ttl"),
            std::string::npos);
  EXPECT_NE(ParseErr("path \"a\" {\n capabilities = \"read\" \n capabilities = [1] }")
                .find("line 3"),
            std::string::npos);
  EXPECT_NE(ParseErr("path = \"a\"").find("failed to parse policy: "), std::string::npos);
  EXPECT_NE(ParseErr("path \"a\" {\n capabilities = [\"read\"\n").find("failed to parse policy: At"),
            std::string::npos);
  EXPECT_EQ(ParseErr(R"({"path": {"a": {"capability": ["read"]}}})"),
            "failed to parse policy: path \"a\": invalid key \"capability\" on line 1");
}

TEST(PolicyTest, UnbalancedTemplateBracesAreParseErrors) {
  const std::string want =
      "failed to parse policy: failed to validate policy templating: unbalanced templating "
      "characters";
  for (const char* path : {"a/{{identity.entity.id}", "a/}}", "a/{{x}}}}", "a/{{x", "a}}/{{x}}",
                           "{{a{{b}}"}) {
    EXPECT_EQ(ParseErr(std::string("path \"") + path + "\" { capabilities = [\"read\"] }"), want)
        << path;
  }
  auto p = ParsePolicy("t", R"(path "a/{{ identity.entity.id }}/{{nonsense}}" { capabilities = ["read"] })");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->templated);
}

TEST(PolicyTest, EmptyPolicyParses) {
  auto p = ParsePolicy("e", "");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->rules.empty());
  auto j = ParsePolicy("e", "{}");
  ASSERT_TRUE(j.ok());
}

TEST(PolicyTest, DefaultPolicyTextParses) {
  auto p = ParsePolicy("default", DefaultPolicyText());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(p->templated);
  EXPECT_EQ(p->rules.size(), 18u);
  Acl acl = MakeAcl({std::make_shared<const Policy>(*p)});
  EXPECT_EQ(acl.Capabilities("auth/token/lookup-self"), Caps{"read"});
  EXPECT_EQ(acl.Capabilities("cubbyhole/x/y"), (Caps{"create", "delete", "list", "read", "update"}));
  EXPECT_EQ(acl.Capabilities("identity/oidc/provider/p1/authorize"), (Caps{"read", "update"}));
  EXPECT_EQ(acl.Capabilities("sys/tools/hash/sha2-256"), Caps{"update"});
  EXPECT_EQ(acl.Capabilities("secret/data/x"), Caps{"deny"});
  // Without an entity the templated identity paths are gone.
  EXPECT_EQ(acl.Capabilities("identity/entity/id/{{identity.entity.id}}"), Caps{"deny"});
}

// --------------------------------------------------------------- matching

TEST(PolicyTest, ExactAndPrefixMatching) {
  Acl acl = OneAcl(R"(
path "secret/exact" { capabilities = ["read"] }
path "secret/pre*" { capabilities = ["update"] }
path "mid/*/literal" { capabilities = ["read"] }
)");
  EXPECT_TRUE(Allowed(acl, Operation::kRead, "secret/exact"));
  EXPECT_TRUE(Allowed(acl, Operation::kRead, "/secret/exact"));
  EXPECT_FALSE(Allowed(acl, Operation::kRead, "secret/exact/more"));
  EXPECT_FALSE(Allowed(acl, Operation::kRead, "secret/exac"));
  EXPECT_TRUE(Allowed(acl, Operation::kUpdate, "secret/pre"));
  EXPECT_TRUE(Allowed(acl, Operation::kUpdate, "secret/prefix/and/below"));
  EXPECT_FALSE(Allowed(acl, Operation::kRead, "secret/prefix"));
  EXPECT_FALSE(Allowed(acl, Operation::kUpdate, "secret/pr"));
  // '*' is a glob only at the end.
  EXPECT_TRUE(Allowed(acl, Operation::kRead, "mid/*/literal"));
  EXPECT_FALSE(Allowed(acl, Operation::kRead, "mid/x/literal"));
}

TEST(PolicyTest, LongestPrefixWins) {
  Acl acl = OneAcl(R"(
path "secret/*" { capabilities = ["read"] }
path "secret/team/*" { capabilities = ["update"] }
path "*" { capabilities = ["list"] }
)");
  EXPECT_EQ(acl.Capabilities("secret/team/x"), Caps{"update"});
  EXPECT_EQ(acl.Capabilities("secret/other"), Caps{"read"});
  EXPECT_EQ(acl.Capabilities("elsewhere"), Caps{"list"});
}

TEST(PolicyTest, PlusSegmentWildcards) {
  Acl acl = OneAcl(R"(
path "secret/+/config" { capabilities = ["read"] }
path "+" { capabilities = ["list"] }
path "+/x" { capabilities = ["update"] }
path "kv/+/teams/+/data*" { capabilities = ["create"] }
)");
  EXPECT_TRUE(Allowed(acl, Operation::kRead, "secret/app/config"));
  EXPECT_FALSE(Allowed(acl, Operation::kRead, "secret/app/sub/config"));
  EXPECT_FALSE(Allowed(acl, Operation::kRead, "secret/app/config/more"));
  EXPECT_TRUE(Allowed(acl, Operation::kList, "anything"));
  EXPECT_FALSE(Allowed(acl, Operation::kList, "any/thing"));
  EXPECT_TRUE(Allowed(acl, Operation::kUpdate, "foo/x"));
  EXPECT_TRUE(Allowed(acl, Operation::kCreate, "kv/a/teams/b/data"));
  EXPECT_TRUE(Allowed(acl, Operation::kCreate, "kv/a/teams/b/database/deeper/still"));
  EXPECT_FALSE(Allowed(acl, Operation::kCreate, "kv/a/teams/b/dat"));
  EXPECT_FALSE(Allowed(acl, Operation::kCreate, "kv/a/players/b/data"));
}

// The priority examples of Vault's policy documentation and acl_test.go.
TEST(PolicyTest, PriorityLaterFirstWildcardWins) {
  Acl acl = OneAcl(R"(
path "foo/bar/+/baz" { capabilities = ["read"] }
path "foo/+/bar/baz" { capabilities = ["update"] }
path "foo/a*" { capabilities = ["list"] }
path "foo/+" { capabilities = ["delete"] }
path "secret/data/*" { capabilities = ["create"] }
path "secret/+/foo" { capabilities = ["patch"] }
)");
  EXPECT_EQ(acl.Capabilities("foo/bar/bar/baz"), Caps{"read"});
  EXPECT_EQ(acl.Capabilities("foo/x/bar/baz"), Caps{"update"});
  EXPECT_EQ(acl.Capabilities("foo/ab"), Caps{"list"});  // foo/a* over foo/+
  EXPECT_EQ(acl.Capabilities("foo/b"), Caps{"delete"});
  EXPECT_EQ(acl.Capabilities("secret/data/foo"), Caps{"create"});
  EXPECT_EQ(acl.Capabilities("secret/meta/foo"), Caps{"patch"});
}

TEST(PolicyTest, PriorityNonPrefixBeatsPrefix) {
  Acl acl = OneAcl(R"(
path "foo/+/bar" { capabilities = ["read"] }
path "foo/+/ba*" { capabilities = ["update"] }
path "x/+" { capabilities = ["list"] }
path "x/*" { capabilities = ["delete"] }
)");
  EXPECT_EQ(acl.Capabilities("foo/1/bar"), Caps{"read"});
  EXPECT_EQ(acl.Capabilities("foo/1/baz"), Caps{"update"});
  EXPECT_EQ(acl.Capabilities("x/y"), Caps{"list"});
  EXPECT_EQ(acl.Capabilities("x/y/z"), Caps{"delete"});
}

TEST(PolicyTest, PriorityFewerWildcardsThenLonger) {
  Acl acl = OneAcl(R"(
path "foo/+/bar/+" { capabilities = ["read"] }
path "foo/+/+/+" { capabilities = ["update"] }
path "foo/+/bar/ba*" { capabilities = ["list"] }
path "foo/+/bar/b*" { capabilities = ["delete"] }
)");
  EXPECT_EQ(acl.Capabilities("foo/1/bar/2"), Caps{"read"});
  EXPECT_EQ(acl.Capabilities("foo/1/baz/2"), Caps{"update"});
  EXPECT_EQ(acl.Capabilities("foo/1/bar/baz/deep"), Caps{"list"});
  EXPECT_EQ(acl.Capabilities("foo/1/bar/bo/deep"), Caps{"delete"});
}

TEST(PolicyTest, ExactBeatsEverything) {
  Acl acl = OneAcl(R"(
path "a/b/c" { capabilities = ["read"] }
path "a/b/*" { capabilities = ["update"] }
path "a/+/c" { capabilities = ["list"] }
)");
  EXPECT_EQ(acl.Capabilities("a/b/c"), Caps{"read"});
  EXPECT_EQ(acl.Capabilities("a/x/c"), Caps{"list"});
  EXPECT_EQ(acl.Capabilities("a/b/d"), Caps{"update"});
}

TEST(PolicyTest, ListWithTrailingSlash) {
  Acl acl = OneAcl(R"(
path "secret/metadata" { capabilities = ["list"] }
path "kv/+" { capabilities = ["list"] }
path "pre/*" { capabilities = ["list"] }
)");
  // Exact rule without the trailing slash.
  EXPECT_TRUE(Allowed(acl, Operation::kList, "secret/metadata/"));
  EXPECT_FALSE(Allowed(acl, Operation::kRead, "secret/metadata/"));
  // A "+" rule matched against the path without its trailing slash.
  EXPECT_TRUE(Allowed(acl, Operation::kList, "kv/team/"));
  EXPECT_FALSE(Allowed(acl, Operation::kList, "kv/team/sub/"));
  EXPECT_TRUE(Allowed(acl, Operation::kList, "pre/"));
  EXPECT_TRUE(Allowed(acl, Operation::kList, "pre/a/"));
  EXPECT_FALSE(Allowed(acl, Operation::kList, "pre"));
}

TEST(PolicyTest, MergingIdenticalPathsAcrossPolicies) {
  Acl acl = MakeAcl({P("a", R"(path "s/*" { capabilities = ["read"] })"),
                     P("b", R"(path "s/*" { capabilities = ["list", "update"] })"),
                     P("c", R"(path "s/x" { capabilities = ["create"] })")});
  EXPECT_EQ(acl.Capabilities("s/y"), (Caps{"list", "read", "update"}));
  // Different path strings are not merged: the exact rule alone applies.
  EXPECT_EQ(acl.Capabilities("s/x"), Caps{"create"});
  auto r = acl.Check(Operation::kUpdate, "s/y", nullptr, std::nullopt, false);
  EXPECT_TRUE(r.allowed);
  EXPECT_EQ(r.granting_policies, std::vector<std::string>{"b"});
  r = acl.Check(Operation::kRead, "s/y", nullptr, std::nullopt, false);
  EXPECT_EQ(r.granting_policies, std::vector<std::string>{"a"});
}

TEST(PolicyTest, DenyWinsWhenMerged) {
  for (bool deny_first : {true, false}) {
    auto allow = P("allow", R"(path "s/*" { capabilities = ["read", "sudo"] })");
    auto deny = P("deny", R"(path "s/*" { capabilities = ["deny"] })");
    Acl acl = deny_first ? MakeAcl({deny, allow}) : MakeAcl({allow, deny});
    EXPECT_FALSE(Allowed(acl, Operation::kRead, "s/x"));
    EXPECT_EQ(acl.Capabilities("s/x"), Caps{"deny"});
  }
  // A more specific deny beats a broad allow.
  Acl acl = OneAcl(R"(
path "secret/*" { capabilities = ["read"] }
path "secret/super" { capabilities = ["deny"] }
)");
  EXPECT_TRUE(Allowed(acl, Operation::kRead, "secret/other"));
  EXPECT_FALSE(Allowed(acl, Operation::kRead, "secret/super"));
}

TEST(PolicyTest, OperationsMapToCapabilities) {
  Acl acl = OneAcl(R"(path "s/*" { capabilities = ["create", "patch"] })");
  EXPECT_TRUE(Allowed(acl, Operation::kCreate, "s/a"));
  EXPECT_TRUE(Allowed(acl, Operation::kPatch, "s/a"));
  EXPECT_FALSE(Allowed(acl, Operation::kUpdate, "s/a"));
  EXPECT_FALSE(Allowed(acl, Operation::kRead, "s/a"));
  EXPECT_FALSE(Allowed(acl, Operation::kDelete, "s/a"));
  EXPECT_FALSE(Allowed(acl, Operation::kList, "s/a"));
  EXPECT_TRUE(Allowed(acl, Operation::kHelp, "anything/at/all"));
  auto r = acl.Check(Operation::kRead, "nowhere", nullptr, std::nullopt, false);
  EXPECT_FALSE(r.allowed);
  EXPECT_FALSE(r.reason.empty());
}

TEST(PolicyTest, SudoRequirement) {
  Acl acl = OneAcl(R"(
path "sys/audit/*" { capabilities = ["update", "sudo"] }
path "sys/auth/*" { capabilities = ["update"] }
)");
  auto r = acl.Check(Operation::kUpdate, "sys/audit/file", nullptr, std::nullopt, true);
  EXPECT_TRUE(r.allowed);
  EXPECT_TRUE(r.sudo);
  EXPECT_FALSE(Allowed(acl, Operation::kUpdate, "sys/auth/jwt", nullptr, std::nullopt, true));
  EXPECT_TRUE(Allowed(acl, Operation::kUpdate, "sys/auth/jwt", nullptr, std::nullopt, false));
}

TEST(PolicyTest, RootPolicy) {
  Acl acl = MakeAcl({std::make_shared<const Policy>(Policy{"root", "", {}, false})});
  EXPECT_TRUE(acl.is_root());
  auto r = acl.Check(Operation::kDelete, "sys/raw/x", nullptr, std::nullopt, true);
  EXPECT_TRUE(r.allowed);
  EXPECT_TRUE(r.sudo);
  EXPECT_EQ(acl.Capabilities("any"), Caps{"root"});
  EXPECT_TRUE(acl.HasAnyAccessUnder("secret/"));
  auto mixed = Acl::Build({std::make_shared<const Policy>(Policy{"root", "", {}, false}),
                           P("default", DefaultPolicyText())},
                          nullptr, 0);
  ASSERT_FALSE(mixed.ok());
  EXPECT_EQ(mixed.status().code(), Code::kInternal);
}

TEST(PolicyTest, CapabilitiesSortedOrDeny) {
  Acl acl = OneAcl(
      R"(path "a" { capabilities = ["update", "sudo", "read", "patch", "list", "delete", "create"] })");
  EXPECT_EQ(acl.Capabilities("a"),
            (Caps{"create", "delete", "list", "patch", "read", "sudo", "update"}));
  EXPECT_EQ(acl.Capabilities("b"), Caps{"deny"});
  Acl empty = MakeAcl({});
  EXPECT_EQ(empty.Capabilities("a"), Caps{"deny"});
  EXPECT_FALSE(Allowed(empty, Operation::kRead, "a"));
}

// ------------------------------------------------------------- parameters

TEST(PolicyTest, AllowedParameters) {
  Acl acl = OneAcl(R"(
path "sys/mounts/*" {
  capabilities = ["create", "update", "read"]
  allowed_parameters = { "type" = ["kv", "kv-*"], "Description" = [], "version" = [2, true] }
}
)");
  EXPECT_TRUE(Allowed(acl, Operation::kUpdate, "sys/mounts/x", Json{{"type", "kv"}}));
  EXPECT_TRUE(Allowed(acl, Operation::kUpdate, "sys/mounts/x", Json{{"type", "kv-v2"}}));
  EXPECT_TRUE(Allowed(acl, Operation::kUpdate, "sys/mounts/x", Json{{"TYPE", "kv"}}));
  EXPECT_FALSE(Allowed(acl, Operation::kUpdate, "sys/mounts/x", Json{{"type", "pki"}}));
  EXPECT_TRUE(Allowed(acl, Operation::kUpdate, "sys/mounts/x", Json{{"description", "any"}}));
  EXPECT_FALSE(Allowed(acl, Operation::kUpdate, "sys/mounts/x", Json{{"other", 1}}));
  EXPECT_TRUE(Allowed(acl, Operation::kUpdate, "sys/mounts/x", Json{{"version", 2}}));
  EXPECT_TRUE(Allowed(acl, Operation::kUpdate, "sys/mounts/x", Json{{"version", true}}));
  EXPECT_FALSE(Allowed(acl, Operation::kUpdate, "sys/mounts/x", Json{{"version", "2"}}));
  // No data, or an operation without parameters: allowed.
  EXPECT_TRUE(Allowed(acl, Operation::kUpdate, "sys/mounts/x", nullptr));
  EXPECT_TRUE(Allowed(acl, Operation::kUpdate, "sys/mounts/x", Json::object()));
}

TEST(PolicyTest, AllowedParametersWildcardKey) {
  Acl acl = OneAcl(R"(
path "a" {
  capabilities = ["update"]
  allowed_parameters = { "type" = ["kv"], "*" = [] }
}
path "b" {
  capabilities = ["update"]
  allowed_parameters = { "*" = [] }
}
)");
  EXPECT_TRUE(Allowed(acl, Operation::kUpdate, "a", Json{{"anything", 1}}));
  EXPECT_FALSE(Allowed(acl, Operation::kUpdate, "a", Json{{"type", "pki"}}));
  EXPECT_TRUE(Allowed(acl, Operation::kUpdate, "b", Json{{"x", 1}, {"y", "z"}}));
}

TEST(PolicyTest, GlobbedStringValues) {
  Acl acl = OneAcl(R"(
path "g" {
  capabilities = ["update"]
  allowed_parameters = { "a" = ["pre*"], "b" = ["*suf"], "c" = ["*mid*"], "d" = ["*"] }
}
)");
  EXPECT_TRUE(Allowed(acl, Operation::kUpdate, "g", Json{{"a", "prefix"}}));
  EXPECT_FALSE(Allowed(acl, Operation::kUpdate, "g", Json{{"a", "xprefix"}}));
  EXPECT_TRUE(Allowed(acl, Operation::kUpdate, "g", Json{{"b", "the-suf"}}));
  EXPECT_FALSE(Allowed(acl, Operation::kUpdate, "g", Json{{"b", "sufx"}}));
  EXPECT_TRUE(Allowed(acl, Operation::kUpdate, "g", Json{{"c", "amidb"}}));
  EXPECT_TRUE(Allowed(acl, Operation::kUpdate, "g", Json{{"d", "*"}}));
  EXPECT_FALSE(Allowed(acl, Operation::kUpdate, "g", Json{{"d", "x"}}));
}

TEST(PolicyTest, DeniedParameters) {
  Acl acl = OneAcl(R"(
path "d" {
  capabilities = ["update", "create"]
  denied_parameters = { "seal_wrap" = [], "type" = ["pki", "ssh*"] }
}
path "all" {
  capabilities = ["update"]
  denied_parameters = { "*" = [] }
}
)");
  EXPECT_FALSE(Allowed(acl, Operation::kUpdate, "d", Json{{"seal_wrap", false}}));
  EXPECT_FALSE(Allowed(acl, Operation::kUpdate, "d", Json{{"Seal_Wrap", true}}));
  EXPECT_FALSE(Allowed(acl, Operation::kUpdate, "d", Json{{"type", "sshkeys"}}));
  EXPECT_TRUE(Allowed(acl, Operation::kUpdate, "d", Json{{"type", "kv"}}));
  EXPECT_TRUE(Allowed(acl, Operation::kCreate, "d", Json{{"other", 1}}));
  EXPECT_FALSE(Allowed(acl, Operation::kUpdate, "all", Json{{"x", 1}}));
  EXPECT_TRUE(Allowed(acl, Operation::kUpdate, "all", nullptr));
  // Parameters do not constrain list and delete.
  Acl del = OneAcl(R"(path "x" { capabilities = ["delete"] denied_parameters = { "*" = [] } })");
  EXPECT_TRUE(Allowed(del, Operation::kDelete, "x", Json{{"a", 1}}));
}

TEST(PolicyTest, NumberLiteralsMatchTheirValueInParameterLists) {
  Acl acl = OneAcl(R"(
path "n" {
  capabilities = ["update"]
  denied_parameters = { "level" = [1.1] }
}
path "a" {
  capabilities = ["update"]
  allowed_parameters = { "level" = [1.1, 2] }
}
)");
  // A body's "1.10" is kept as written (a literal) but is still the value 1.1.
  EXPECT_FALSE(
      Allowed(acl, Operation::kUpdate, "n", Json{{"level", logical::NumberLiteral("1.10")}}));
  EXPECT_FALSE(Allowed(acl, Operation::kUpdate, "n", Json{{"level", 1.1}}));
  EXPECT_TRUE(
      Allowed(acl, Operation::kUpdate, "n", Json{{"level", logical::NumberLiteral("1.20")}}));
  EXPECT_TRUE(
      Allowed(acl, Operation::kUpdate, "a", Json{{"level", logical::NumberLiteral("1.10")}}));
  EXPECT_FALSE(
      Allowed(acl, Operation::kUpdate, "a", Json{{"level", logical::NumberLiteral("1e3")}}));
}

TEST(PolicyTest, RequiredParameters) {
  Acl acl = OneAcl(R"(
path "r" {
  capabilities = ["update", "read", "list"]
  required_parameters = ["Name", "ttl"]
}
)");
  EXPECT_FALSE(Allowed(acl, Operation::kUpdate, "r", nullptr));
  EXPECT_FALSE(Allowed(acl, Operation::kUpdate, "r", Json{{"name", "x"}}));
  EXPECT_TRUE(Allowed(acl, Operation::kUpdate, "r", Json{{"name", "x"}, {"ttl", 1}}));
  EXPECT_FALSE(Allowed(acl, Operation::kRead, "r", Json::object()));
  EXPECT_TRUE(Allowed(acl, Operation::kList, "r", nullptr));
}

TEST(PolicyTest, ParameterMergingAcrossPolicies) {
  Acl acl = MakeAcl({P("a", R"(path "m" {
  capabilities = ["update"]
  allowed_parameters = { "type" = ["kv"], "desc" = ["x"] }
  required_parameters = ["type"]
  })"),
                     P("b", R"(path "m" {
  capabilities = ["update"]
  allowed_parameters = { "type" = ["pki"], "desc" = [] }
  required_parameters = ["type", "desc"]
  })")});
  EXPECT_TRUE(Allowed(acl, Operation::kUpdate, "m", Json{{"type", "kv"}, {"desc", "y"}}));
  EXPECT_TRUE(Allowed(acl, Operation::kUpdate, "m", Json{{"type", "pki"}, {"desc", "z"}}));
  EXPECT_FALSE(Allowed(acl, Operation::kUpdate, "m", Json{{"type", "ssh"}, {"desc", "z"}}));
  EXPECT_FALSE(Allowed(acl, Operation::kUpdate, "m", Json{{"type", "kv"}}));
}

TEST(PolicyTest, WrappingTtlConstraints) {
  Acl acl = MakeAcl({P("a", R"(path "w" {
  capabilities = ["update"]
  min_wrapping_ttl = "1m"
  max_wrapping_ttl = "1h"
})"),
                     P("b", R"(path "w" {
  capabilities = ["read"]
  max_wrapping_ttl = "30m"
})")});
  EXPECT_FALSE(Allowed(acl, Operation::kUpdate, "w"));
  EXPECT_FALSE(Allowed(acl, Operation::kUpdate, "w", nullptr, 30));
  EXPECT_TRUE(Allowed(acl, Operation::kUpdate, "w", nullptr, 60));
  EXPECT_TRUE(Allowed(acl, Operation::kUpdate, "w", nullptr, 1800));
  EXPECT_FALSE(Allowed(acl, Operation::kUpdate, "w", nullptr, 1801));  // merged: the lesser max
}

// -------------------------------------------------------------- templates

EntityView SampleEntity() {
  EntityView e;
  e.id = "ent-1";
  e.name = "alice";
  e.metadata = {{"team", "blue"}, {"empty", ""}};
  EntityView::AliasView a;
  a.id = "alias-1";
  a.name = "alice@example.com";
  a.metadata = {{"role", "dev"}};
  a.custom_metadata = {{"cost", "42"}};
  e.aliases_by_accessor["auth_jwt_1a2b3c4d"] = a;
  e.groups.push_back({"grp-1", "admins", {{"region", "eu"}}});
  return e;
}

TEST(PolicyTest, TemplatedPathsResolveFromTheEntity) {
  auto pol = P("t", R"(
path "e/{{identity.entity.id}}" { capabilities = ["read"] }
path "n/{{ identity.entity.name }}/*" { capabilities = ["read"] }
path "m/{{identity.entity.metadata.team}}" { capabilities = ["read"] }
path "a/{{identity.entity.aliases.auth_jwt_1a2b3c4d.name}}" { capabilities = ["read"] }
path "ai/{{identity.entity.aliases.auth_jwt_1a2b3c4d.id}}" { capabilities = ["read"] }
path "am/{{identity.entity.aliases.auth_jwt_1a2b3c4d.metadata.role}}" { capabilities = ["read"] }
path "ac/{{identity.entity.aliases.auth_jwt_1a2b3c4d.custom_metadata.cost}}" { capabilities = ["read"] }
path "gi/{{identity.groups.ids.grp-1.name}}" { capabilities = ["read"] }
path "gim/{{identity.groups.ids.grp-1.metadata.region}}" { capabilities = ["read"] }
path "gn/{{identity.groups.names.admins.id}}" { capabilities = ["read"] }
path "gnm/{{identity.groups.names.admins.metadata.region}}" { capabilities = ["read"] }
path "two/{{identity.entity.name}}/{{identity.entity.id}}" { capabilities = ["read"] }
path "time/{{time.now.plus.1h}}" { capabilities = ["read"] }
)");
  ASSERT_TRUE(pol->templated);
  EntityView e = SampleEntity();
  Acl acl = MakeAcl({pol}, &e, 1000);
  for (const char* path :
       {"e/ent-1", "n/alice/x", "m/blue", "a/alice@example.com", "ai/alias-1", "am/dev", "ac/42",
        "gi/admins", "gim/eu", "gn/grp-1", "gnm/eu", "two/alice/ent-1", "time/4600"}) {
    EXPECT_TRUE(Allowed(acl, Operation::kRead, path)) << path;
  }
  EXPECT_FALSE(Allowed(acl, Operation::kRead, "e/{{identity.entity.id}}"));
  EXPECT_FALSE(Allowed(acl, Operation::kRead, "e/other"));
}

TEST(PolicyTest, UnresolvableTemplatesDropTheirPath) {
  auto pol = P("t", R"(
path "ok/{{identity.entity.id}}" { capabilities = ["read"] }
path "x/{{identity.entity.metadata.missing}}" { capabilities = ["read"] }
path "x/{{identity.entity.metadata.empty}}" { capabilities = ["read"] }
path "x/{{identity.entity.aliases.auth_other.name}}" { capabilities = ["read"] }
path "x/{{identity.groups.names.nobody.id}}" { capabilities = ["read"] }
path "x/{{identity.entity.nonsense}}" { capabilities = ["read"] }
path "x/{{unknown}}" { capabilities = ["read"] }
path "x/*" { capabilities = ["list"] }
)");
  EntityView e = SampleEntity();
  Acl acl = MakeAcl({pol}, &e);
  EXPECT_TRUE(Allowed(acl, Operation::kRead, "ok/ent-1"));
  // Every templated x/ rule dropped: only the x/* list rule is left.
  EXPECT_EQ(acl.Capabilities("x/"), Caps{"list"});
  EXPECT_EQ(acl.Capabilities("x/blue"), Caps{"list"});

  // No entity: templated paths never match; plain ones still do.
  Acl none = MakeAcl({pol}, nullptr);
  EXPECT_FALSE(Allowed(none, Operation::kRead, "ok/ent-1"));
  EXPECT_EQ(none.Capabilities("x/y"), Caps{"list"});

  // Groups templates need groups.
  EntityView lonely = SampleEntity();
  lonely.groups.clear();
  Acl g = MakeAcl({P("g", R"(path "g/{{identity.groups.names.admins.id}}" { capabilities = ["read"] })")},
                  &lonely);
  EXPECT_EQ(g.Capabilities("g/grp-1"), Caps{"deny"});
}

TEST(PolicyTest, TemplatedAndPlainRulesMergeAfterResolution) {
  EntityView e = SampleEntity();
  Acl acl = MakeAcl({P("a", R"(path "u/{{identity.entity.name}}/*" { capabilities = ["read"] })"),
                     P("b", R"(path "u/alice/*" { capabilities = ["update"] })")},
                    &e);
  EXPECT_EQ(acl.Capabilities("u/alice/k"), (Caps{"read", "update"}));
}

// ------------------------------------------------------ HasAnyAccessUnder

TEST(PolicyTest, HasAnyAccessUnder) {
  Acl acl = OneAcl(R"(
path "secret/data/team/*" { capabilities = ["read"] }
path "kv/+/x" { capabilities = ["read"] }
path "exact/deep/path" { capabilities = ["update"] }
path "denied/*" { capabilities = ["deny"] }
path "nested/+/deeper/+" { capabilities = ["list"] }
path "plus/+/ab*" { capabilities = ["read"] }
)");
  EXPECT_TRUE(acl.HasAnyAccessUnder("secret/"));
  EXPECT_TRUE(acl.HasAnyAccessUnder("kv/"));
  EXPECT_TRUE(acl.HasAnyAccessUnder("exact/"));
  EXPECT_TRUE(acl.HasAnyAccessUnder("nested/a/"));
  EXPECT_TRUE(acl.HasAnyAccessUnder("plus/1/abc/"));
  EXPECT_FALSE(acl.HasAnyAccessUnder("plus/1/b/"));
  EXPECT_FALSE(acl.HasAnyAccessUnder("denied/"));
  EXPECT_FALSE(acl.HasAnyAccessUnder("other/"));
  EXPECT_FALSE(acl.HasAnyAccessUnder("nested/a/other/"));
}

// A coarse guard against a pathological Check: many rules, many lookups.
TEST(PolicyTest, CheckScalesWithManyRules) {
  std::string text;
  for (int k = 0; k < 2000; ++k) {
    text += "path \"app" + std::to_string(k) + "/*\" { capabilities = [\"read\"] }\n";
    text += "path \"exact/" + std::to_string(k) + "\" { capabilities = [\"read\"] }\n";
  }
  for (int k = 0; k < 20; ++k) text += "path \"seg/+/" + std::to_string(k) + "\" { capabilities = [\"update\"] }\n";
  Acl acl = OneAcl(text);
  for (int k = 0; k < 20000; ++k) {
    ASSERT_TRUE(Allowed(acl, Operation::kRead, "app" + std::to_string(k % 2000) + "/x/y"));
    ASSERT_TRUE(Allowed(acl, Operation::kRead, "exact/" + std::to_string(k % 2000)));
    ASSERT_TRUE(Allowed(acl, Operation::kUpdate, "seg/q/" + std::to_string(k % 20)));
  }
}

}  // namespace
}  // namespace arca::core
