#include "core/token_backend.h"

#include <gtest/gtest.h>

#include <set>

#include "base/time.h"
#include "storage/inmem.h"
#include "support/fake_clock.h"

namespace arca::core {
namespace {

using logical::Json;
using logical::Operation;
using logical::Request;
using logical::Response;
using std::chrono::hours;
using std::chrono::seconds;

constexpr int64_t kHour = 3600;
constexpr int64_t kSys = 2764800;  // 768h

class TokenBackendTest : public ::testing::Test {
 protected:
  TokenBackendTest()
      : store_(mem_, clock_),
        backend_(
            store_,
            [this](std::string_view p) { return known_policies_.count(std::string(p)) > 0; },
            clock_) {
    TokenEntry root;
    root.policies = {"root"};
    root.display_name = "root";
    root.path = "auth/token/root";
    root.renewable = false;
    root_ = *store_.Create(root);
  }

  Request Req(Operation op, std::string path, Json data, const TokenEntry& caller, bool sudo) {
    Request r;
    r.operation = op;
    r.path = std::move(path);
    r.data = std::move(data);
    r.client_token = caller.id;
    r.token_key = caller.hash;
    r.policies = caller.policies;
    r.sudo = sudo;
    r.mount_point = "auth/token/";
    r.mount_type = "token";
    r.mount_default_ttl = kSys;
    r.mount_max_ttl = kSys;
    return r;
  }

  StatusOr<Response> Call(Operation op, std::string path, Json data, const TokenEntry& caller,
                          bool sudo = false) {
    Request r = Req(op, std::move(path), std::move(data), caller, sudo);
    return backend_.HandleRequest(r);
  }
  StatusOr<Response> Write(std::string path, Json data, const TokenEntry& caller,
                           bool sudo = false) {
    return Call(Operation::kUpdate, std::move(path), std::move(data), caller, sudo);
  }
  StatusOr<Response> AsRoot(std::string path, Json data) {
    return Write(std::move(path), std::move(data), root_, true);
  }

  // Creates through the API and returns the stored entry (with its id).
  TokenEntry Create(const TokenEntry& caller, Json data, bool sudo = false,
                    std::string path = "create") {
    auto resp = Write(std::move(path), std::move(data), caller, sudo);
    EXPECT_TRUE(resp.ok()) << resp.status().ToString();
    if (!resp.ok() || !resp->auth) return {};
    auto e = store_.Lookup(resp->auth->client_token);
    EXPECT_TRUE(e.ok() && e->has_value());
    return e.ok() && e->has_value() ? **e : TokenEntry{};
  }

  // A non-root token as a JWT login would mint it.
  TokenEntry Login(std::vector<std::string> policies, int64_t ttl = kHour) {
    logical::Auth auth;
    auth.policies = std::move(policies);
    auth.display_name = "jwt-alice";
    auth.entity_id = "ent-1";
    auth.ttl = ttl;
    auth.metadata = {{"role", "dev"}};
    auto e = CreateTokenFromAuth(store_, auth, "auth/jwt/login", kSys, kSys, nullptr);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return *e;
  }

  static void ExpectError(const StatusOr<Response>& r, Code code, const std::string& msg) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), code);
    EXPECT_EQ(r.status().message(), msg);
  }

  storage::InMemBackend mem_;
  testing::FakeClock clock_;
  std::set<std::string> known_policies_{"default", "root", "user"};
  TokenStore store_;
  TokenBackend backend_;
  TokenEntry root_;
};

// --- create ---------------------------------------------------------------------

TEST_F(TokenBackendTest, RootChildInheritsRootAndNeverExpires) {
  auto r = AsRoot("create", Json::object());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->auth);
  EXPECT_TRUE(r->data.is_null());
  const logical::Auth& a = *r->auth;
  EXPECT_EQ(a.client_token.substr(0, 4), "hvs.");
  EXPECT_EQ(a.accessor.size(), 24u);
  EXPECT_EQ(a.policies, std::vector<std::string>{"root"});
  EXPECT_EQ(a.token_policies, std::vector<std::string>{"root"});
  EXPECT_EQ(a.lease_duration, 0);
  EXPECT_FALSE(a.renewable);
  EXPECT_FALSE(a.orphan);
  EXPECT_EQ(a.token_type, "service");
  EXPECT_EQ(a.num_uses, 0);
  EXPECT_TRUE(r->warnings.empty());
  auto e = store_.Lookup(a.client_token);
  ASSERT_TRUE(e->has_value());
  EXPECT_EQ((*e)->ExpireTime(), 0);
  EXPECT_EQ((*e)->parent_hash, root_.hash);
  EXPECT_EQ((*e)->path, "auth/token/create");
  EXPECT_EQ((*e)->display_name, "token");
}

TEST_F(TokenBackendTest, PoliciesSanitisedSortedWithDefaultAndWarned) {
  auto r = AsRoot("create", {{"policies", "web, DB,web"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->auth->policies, (std::vector<std::string>{"db", "default", "web"}));
  EXPECT_EQ(r->auth->lease_duration, kSys);
  EXPECT_TRUE(r->auth->renewable);
  EXPECT_EQ(r->warnings, (std::vector<std::string>{"Policy \"db\" does not exist",
                                                   "Policy \"web\" does not exist"}));
  r = AsRoot("create", {{"policies", Json::array({"user"})}, {"no_default_policy", true}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->auth->policies, std::vector<std::string>{"user"});
}

TEST_F(TokenBackendTest, NonSudoChildPoliciesMustBeSubset) {
  TokenEntry parent = Login({"user"});
  ASSERT_EQ(parent.policies, (std::vector<std::string>{"default", "user"}));

  TokenEntry inherit = Create(parent, Json::object());
  EXPECT_EQ(inherit.policies, (std::vector<std::string>{"default", "user"}));

  TokenEntry only_user = Create(parent, {{"policies", "user"}});
  EXPECT_EQ(only_user.policies, (std::vector<std::string>{"default", "user"}));  // default added

  TokenEntry no_default = Create(parent, {{"policies", "user"}, {"no_default_policy", true}});
  EXPECT_EQ(no_default.policies, std::vector<std::string>{"user"});

  ExpectError(Write("create", {{"policies", Json::array({"admin"})}}, parent),
              Code::kInvalidArgument, "child policies must be subset of parent");
  ExpectError(Write("create", {{"policies", "user,root"}}, parent), Code::kInvalidArgument,
              "child policies must be subset of parent");
}

TEST_F(TokenBackendTest, SudoCallerMayGrantOtherPoliciesButNotRoot) {
  TokenEntry admin = Login({"admin"});
  TokenEntry t = Create(admin, {{"policies", "ops"}}, /*sudo=*/true);
  EXPECT_EQ(t.policies, (std::vector<std::string>{"default", "ops"}));
  ExpectError(Write("create", {{"policies", "root"}}, admin, true), Code::kInvalidArgument,
              "root tokens may not be created without parent token being root");
}

TEST_F(TokenBackendTest, SudoOnlyFieldsRefusedWithoutSudo) {
  TokenEntry parent = Login({"user"});
  ExpectError(Write("create", {{"id", "custom"}}, parent), Code::kInvalidArgument,
              "root or sudo privileges required to specify token id");
  ExpectError(Write("create", {{"no_parent", true}}, parent), Code::kInvalidArgument,
              "root or sudo privileges required to create orphan token");
  ExpectError(Write("create", {{"period", "1h"}}, parent), Code::kInvalidArgument,
              "root or sudo privileges required to create periodic token");
  // A zero period is no period.
  EXPECT_TRUE(Write("create", {{"period", "0"}}, parent).ok());
}

TEST_F(TokenBackendTest, OrphansOnlyViaCreateOrphanOrSudo) {
  TokenEntry parent = Login({"user"});
  TokenEntry child = Create(parent, Json::object());
  EXPECT_FALSE(child.orphan);
  EXPECT_EQ(child.entity_id, "ent-1");  // inherited from a non-orphan parent

  TokenEntry orphan = Create(parent, Json::object(), false, "create-orphan");
  EXPECT_TRUE(orphan.orphan);
  EXPECT_TRUE(orphan.entity_id.empty());
  EXPECT_EQ(orphan.path, "auth/token/create-orphan");

  TokenEntry by_root = Create(root_, {{"no_parent", true}}, true);
  EXPECT_TRUE(by_root.orphan);
}

TEST_F(TokenBackendTest, CustomIdRules) {
  auto r = AsRoot("create", {{"id", "my-token"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->auth->client_token, "my-token");
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_NE(r->warnings[0].find("custom ID"), std::string::npos);
  ExpectError(AsRoot("create", {{"id", "my-token"}}), Code::kInvalidArgument,
              "cannot create a token with a duplicate ID");
  ExpectError(AsRoot("create", {{"id", "hvs.abc"}}), Code::kInvalidArgument,
              "custom token ID cannot have the 'hvs.' prefix");
  ExpectError(AsRoot("create", {{"id", "s.abc"}}), Code::kInvalidArgument,
              "custom token ID cannot have a '.' in the value");
}

TEST_F(TokenBackendTest, NumUsesRules) {
  ExpectError(AsRoot("create", {{"num_uses", -1}}), Code::kInvalidArgument,
              "number of uses cannot be negative");
  TokenEntry limited = Create(root_, {{"num_uses", 3}, {"policies", "user"}}, true);
  EXPECT_EQ(limited.num_uses, 3);
  ExpectError(Write("create", Json::object(), limited), Code::kInvalidArgument,
              "restricted use token cannot generate child tokens");
}

TEST_F(TokenBackendTest, DisplayNameAndMeta) {
  TokenEntry t = Create(root_, {{"display_name", "my app!"}, {"meta", {{"team", "x"}, {"n", 2}}}},
                        true);
  EXPECT_EQ(t.display_name, "token-my-app");
  EXPECT_EQ(t.meta, (std::map<std::string, std::string>{{"n", "2"}, {"team", "x"}}));
}

TEST_F(TokenBackendTest, TtlCappedWithWarning) {
  auto r = AsRoot("create", {{"policies", "user"}, {"ttl", "1000h"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->auth->lease_duration, kSys);
  EXPECT_EQ(r->warnings, std::vector<std::string>{
                             "TTL of \"1000h\" exceeded the effective max_ttl of \"768h\"; TTL "
                             "value is capped accordingly"});
  r = AsRoot("create", {{"policies", "user"}, {"lease", 600}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->auth->lease_duration, 600);
  ExpectError(AsRoot("create", {{"ttl", "-1h"}}), Code::kInvalidArgument, "ttl must be positive");
}

TEST_F(TokenBackendTest, PeriodicAndExplicitMax) {
  TokenEntry p = Create(root_, {{"policies", "user"}, {"period", "24h"}, {"ttl", "1h"}}, true);
  EXPECT_EQ(p.ttl, 24 * kHour);
  EXPECT_EQ(p.period, 24 * kHour);
  TokenEntry e = Create(root_, {{"policies", "user"}, {"explicit_max_ttl", "2h"}}, true);
  EXPECT_EQ(e.ttl, 2 * kHour);
  EXPECT_EQ(e.explicit_max_ttl, 2 * kHour);
  // A root child with an explicit max still expires.
  TokenEntry r = Create(root_, {{"explicit_max_ttl", "2h"}}, true);
  EXPECT_EQ(r.policies, std::vector<std::string>{"root"});
  EXPECT_EQ(r.ttl, 2 * kHour);
  // An expiring root token cannot create a non-expiring one.
  ExpectError(Write("create", Json::object(), r, true), Code::kInvalidArgument,
              "expiring root tokens cannot create non-expiring root tokens");
}

TEST_F(TokenBackendTest, BatchTokensRefused) {
  ExpectError(AsRoot("create", {{"type", "batch"}}), Code::kInvalidArgument,
              "batch tokens are not supported by this server");
  ExpectError(AsRoot("create", {{"type", "odd"}}), Code::kInvalidArgument,
              "invalid 'token_type' value");
  EXPECT_TRUE(AsRoot("create", {{"type", "service"}}).ok());
}

TEST_F(TokenBackendTest, IgnoredParametersWarned) {
  auto r = AsRoot("create", {{"policies", "user"}, {"bogus", 1}, {"another", "x"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->warnings.back(), "Endpoint ignored these unrecognized parameters: [another bogus]");
}

// --- lookup -----------------------------------------------------------------------

TEST_F(TokenBackendTest, LookupDataShape) {
  TokenEntry t = Create(root_, {{"policies", "user"}, {"ttl", "2h"}, {"meta", {{"a", "b"}}}}, true);
  clock_.Advance(seconds(100));
  auto r = Write("lookup", {{"token", t.id}}, root_, true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Json& d = r->data;
  ASSERT_TRUE(d.is_object());
  EXPECT_EQ(d["id"], t.id);
  EXPECT_EQ(d["accessor"], t.accessor);
  EXPECT_TRUE(d["creation_time"].is_number_integer());
  EXPECT_EQ(d["creation_time"], t.creation_time);
  EXPECT_EQ(d["creation_ttl"], 2 * kHour);
  EXPECT_EQ(d["ttl"], 2 * kHour - 100);
  EXPECT_TRUE(d["ttl"].is_number_integer());
  ASSERT_TRUE(d["expire_time"].is_string());
  EXPECT_TRUE(ParseRfc3339(d["expire_time"].get<std::string>()).has_value());
  EXPECT_EQ(d["expire_time"], "2024-01-01T02:00:00Z");
  ASSERT_TRUE(d["issue_time"].is_string());
  EXPECT_EQ(d["issue_time"], "2024-01-01T00:00:00Z");
  EXPECT_EQ(d["explicit_max_ttl"], 0);
  EXPECT_EQ(d["display_name"], "token");
  EXPECT_EQ(d["entity_id"], "");
  EXPECT_EQ(d["meta"], (Json{{"a", "b"}}));
  EXPECT_EQ(d["num_uses"], 0);
  EXPECT_EQ(d["orphan"], false);
  EXPECT_EQ(d["path"], "auth/token/create");
  EXPECT_EQ(d["policies"], (Json{"default", "user"}));
  EXPECT_EQ(d["renewable"], true);
  EXPECT_EQ(d["type"], "service");
  EXPECT_FALSE(d.contains("role"));
  EXPECT_FALSE(d.contains("period"));
  EXPECT_FALSE(d.contains("last_renewal_time"));
  EXPECT_FALSE(d.contains("identity_policies"));
}

TEST_F(TokenBackendTest, LookupRootToken) {
  auto r = Call(Operation::kRead, "lookup-self", Json(), root_, true);
  ASSERT_TRUE(r.ok());
  const Json& d = r->data;
  EXPECT_EQ(d["id"], root_.id);
  EXPECT_EQ(d["policies"], Json{"root"});
  EXPECT_EQ(d["ttl"], 0);
  EXPECT_TRUE(d["expire_time"].is_null());
  EXPECT_EQ(d["creation_ttl"], 0);
  EXPECT_TRUE(d["meta"].is_null());
  EXPECT_EQ(d["orphan"], true);
  EXPECT_EQ(d["path"], "auth/token/root");
  EXPECT_FALSE(d.contains("issue_time"));
  EXPECT_FALSE(d.contains("renewable"));
}

TEST_F(TokenBackendTest, LookupVariants) {
  TokenEntry t = Login({"user"});
  // GET lookup without a token is lookup-self.
  auto r = Call(Operation::kRead, "lookup", Json(), t);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->data["id"], t.id);
  EXPECT_EQ(r->data["display_name"], "jwt-alice");
  EXPECT_EQ(r->data["path"], "auth/jwt/login");
  EXPECT_EQ(r->data["meta"], (Json{{"role", "dev"}}));
  EXPECT_EQ(r->data["entity_id"], "ent-1");

  ExpectError(Write("lookup", {{"token", "hvs.unknown"}}, root_, true), Code::kPermissionDenied,
              "bad token");

  r = Write("lookup-accessor", {{"accessor", t.accessor}}, root_, true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->data["id"], "");
  EXPECT_EQ(r->data["accessor"], t.accessor);
  ExpectError(Write("lookup-accessor", {{"accessor", "nope"}}, root_, true),
              Code::kInvalidArgument, "invalid accessor");
  ExpectError(Write("lookup-accessor", Json::object(), root_, true), Code::kInvalidArgument,
              "missing accessor");
}

TEST_F(TokenBackendTest, LookupShowsIdentityPoliciesWhenWired) {
  backend_.SetIdentityPolicies([](std::string_view entity) {
    return entity == "ent-1" ? std::vector<std::string>{"grp"} : std::vector<std::string>{};
  });
  TokenEntry t = Login({"user"});
  auto r = Call(Operation::kRead, "lookup-self", Json(), t);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->data["identity_policies"], Json{"grp"});
  EXPECT_TRUE(r->data["external_namespace_policies"].is_object());
}

// --- renew ------------------------------------------------------------------------

TEST_F(TokenBackendTest, RenewSelfWithIncrement) {
  TokenEntry t = Login({"user"}, kHour);
  clock_.Advance(seconds(600));
  auto r = Write("renew-self", {{"increment", "24h"}}, t);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->auth);
  EXPECT_EQ(r->auth->client_token, t.id);
  EXPECT_EQ(r->auth->lease_duration, 24 * kHour);
  EXPECT_TRUE(r->auth->renewable);
  EXPECT_EQ(r->auth->policies, (std::vector<std::string>{"default", "user"}));
  EXPECT_EQ(r->auth->metadata, (std::map<std::string, std::string>{{"role", "dev"}}));

  r = Write("renew-self", {{"increment", 7200}}, t);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->auth->lease_duration, 7200);

  auto look = Call(Operation::kRead, "lookup-self", Json(), t);
  EXPECT_EQ(look->data["ttl"], 7200);
  EXPECT_EQ(look->data["last_renewal_time"], clock_.UnixNow());
  EXPECT_TRUE(look->data["last_renewal"].is_string());
  EXPECT_EQ(look->data["creation_ttl"], kHour);
}

TEST_F(TokenBackendTest, RenewErrors) {
  ExpectError(Write("renew", {{"token", "hvs.unknown"}}, root_, true), Code::kInvalidArgument,
              "token not found");
  ExpectError(Write("renew", Json::object(), root_, true), Code::kInvalidArgument,
              "missing token ID");
  ExpectError(Write("renew-self", Json::object(), root_, true), Code::kInvalidArgument,
              "invalid lease ID");
  TokenEntry fixed = Create(root_, {{"policies", "user"}, {"renewable", false}}, true);
  ExpectError(Write("renew-self", Json::object(), fixed), Code::kInvalidArgument,
              "lease is not renewable");
  ExpectError(Write("renew-accessor", {{"accessor", "nope"}}, root_, true),
              Code::kInvalidArgument, "invalid accessor");
}

TEST_F(TokenBackendTest, RenewByTokenAndAccessor) {
  TokenEntry t = Create(root_, {{"policies", "user"}, {"ttl", "1h"}}, true);
  auto r = Write("renew", {{"token", t.id}, {"increment", "3h"}}, root_, true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->auth->lease_duration, 3 * kHour);
  r = Write("renew-accessor", {{"accessor", t.accessor}, {"increment", "2h"}}, root_, true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->auth->lease_duration, 2 * kHour);
  EXPECT_TRUE(r->auth->client_token.empty());
  EXPECT_EQ(r->auth->accessor, t.accessor);
}

TEST_F(TokenBackendTest, RenewCappedByMountMaxWithWarning) {
  TokenEntry u = Create(root_, {{"policies", "user"}, {"ttl", "700h"}}, true);
  clock_.Advance(hours(600));
  auto r = Write("renew", {{"token", u.id}, {"increment", "500h"}}, root_, true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->auth->lease_duration, 168 * kHour);
  EXPECT_EQ(r->warnings, std::vector<std::string>{
                             "TTL of \"500h\" exceeded the effective max_ttl of \"168h\"; TTL "
                             "value is capped accordingly"});
}

TEST_F(TokenBackendTest, RenewUsesTheTokensMountTtls) {
  backend_.SetMountTtlResolver(
      [](std::string_view path) -> std::optional<TokenBackend::MountTtls> {
        if (path.substr(0, 9) == "auth/jwt/") return TokenBackend::MountTtls{kHour, 2 * kHour};
        return std::nullopt;
      });
  TokenEntry t = Login({"user"}, kHour);
  auto r = Write("renew-self", {{"increment", "24h"}}, t);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->auth->lease_duration, 2 * kHour);
}

// --- revoke -----------------------------------------------------------------------

TEST_F(TokenBackendTest, RevokeEndpoints) {
  TokenEntry parent = Login({"user"});
  TokenEntry child = Create(parent, Json::object());
  TokenEntry orphan = Create(parent, Json::object(), false, "create-orphan");

  auto r = Write("revoke", {{"token", parent.id}}, root_, true);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->Empty());  // 204
  EXPECT_FALSE(store_.Lookup(parent.id)->has_value());
  EXPECT_FALSE(store_.Lookup(child.id)->has_value());
  EXPECT_TRUE(store_.Lookup(orphan.id)->has_value());

  r = Write("revoke", {{"token", "hvs.unknown"}}, root_, true);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->Empty());

  r = Write("revoke-accessor", {{"accessor", "unknownaccessor"}}, root_, true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->warnings, std::vector<std::string>{"No token found with this accessor"});
  r = Write("revoke-accessor", {{"accessor", orphan.accessor}}, root_, true);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->Empty());
  EXPECT_FALSE(store_.Lookup(orphan.id)->has_value());

  TokenEntry self = Login({"user"});
  r = Write("revoke-self", Json::object(), self);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->Empty());
  EXPECT_FALSE(store_.Lookup(self.id)->has_value());
}

TEST_F(TokenBackendTest, RevokeOrphanNeedsSudoAndKeepsChildren) {
  TokenEntry parent = Create(root_, {{"policies", "user"}}, true);
  TokenEntry child = Create(parent, Json::object());
  ExpectError(Write("revoke-orphan", {{"token", parent.id}}, parent), Code::kInvalidArgument,
              "root or sudo privileges required to revoke and orphan");
  ExpectError(Write("revoke-orphan", {{"token", "hvs.x"}}, root_, true), Code::kInvalidArgument,
              "token to revoke not found");
  auto r = Write("revoke-orphan", {{"token", parent.id}}, root_, true);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(store_.Lookup(parent.id)->has_value());
  auto c = store_.Lookup(child.id);
  ASSERT_TRUE(c->has_value());
  EXPECT_TRUE((*c)->orphan);
  EXPECT_EQ(backend_.RootPaths(), (std::vector<std::string>{"revoke-orphan*", "accessors*"}));
}

TEST_F(TokenBackendTest, ListAccessors) {
  TokenEntry t = Login({"user"});
  auto r = Call(Operation::kList, "accessors/", Json(), root_, true);
  ASSERT_TRUE(r.ok());
  std::vector<std::string> want{root_.accessor, t.accessor};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(r->data["keys"], Json(want));
  ExpectError(Call(Operation::kRead, "accessors", Json(), root_, true),
              Code::kUnsupportedOperation, "unsupported operation");
}

// --- roles ------------------------------------------------------------------------

TEST_F(TokenBackendTest, RoleCrudAndReadShape) {
  Request probe = Req(Operation::kUpdate, "roles/web", Json(), root_, true);
  EXPECT_FALSE(*backend_.Exists(probe));
  auto r = Call(Operation::kCreate, "roles/web",
                {{"allowed_policies", "Web,db"}, {"orphan", true}, {"token_period", "1h"}}, root_,
                true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->Empty());
  EXPECT_TRUE(*backend_.Exists(probe));

  r = Call(Operation::kRead, "roles/web", Json(), root_, true);
  ASSERT_TRUE(r.ok());
  const Json& d = r->data;
  EXPECT_EQ(d["name"], "web");
  EXPECT_EQ(d["allowed_policies"], (Json{"db", "web"}));
  EXPECT_EQ(d["disallowed_policies"], Json::array());
  EXPECT_EQ(d["orphan"], true);
  EXPECT_EQ(d["renewable"], true);
  EXPECT_EQ(d["token_period"], kHour);
  EXPECT_EQ(d["period"], 0);
  EXPECT_EQ(d["path_suffix"], "");
  EXPECT_EQ(d["token_type"], "default-service");
  EXPECT_TRUE(d["allowed_entity_aliases"].is_null());
  EXPECT_FALSE(d.contains("token_num_uses"));

  // An update keeps the fields it does not name.
  r = Write("roles/web", {{"renewable", false}}, root_, true);
  ASSERT_TRUE(r.ok());
  r = Call(Operation::kRead, "roles/web", Json(), root_, true);
  EXPECT_EQ(r->data["renewable"], false);
  EXPECT_EQ(r->data["orphan"], true);

  ASSERT_TRUE(Write("roles/db", Json::object(), root_, true).ok());
  r = Call(Operation::kList, "roles/", Json(), root_, true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->data["keys"], (Json{"db", "web"}));

  r = Call(Operation::kDelete, "roles/web", Json(), root_, true);
  ASSERT_TRUE(r.ok());
  ExpectError(Call(Operation::kRead, "roles/web", Json(), root_, true), Code::kNotFound, "");
  ExpectError(Write("create/web", Json::object(), root_, true), Code::kInvalidArgument,
              "unknown role web");
}

TEST_F(TokenBackendTest, RoleWriteValidation) {
  ExpectError(Write("roles/x", {{"token_type", "batch"}}, root_, true), Code::kInvalidArgument,
              "batch tokens are not supported by this server");
  ExpectError(Write("roles/x", {{"path_suffix", "abc/../def"}}, root_, true), Code::kInvalidArgument,
              "error registering path suffix: path cannot contain parent references");
  ExpectError(Write("roles/x", {{"token_bound_cidrs", "10.0.0.0/33"}}, root_, true),
              Code::kInvalidArgument,
              "error parsing role fields: error parsing address \"10.0.0.0/33\": Unable to "
              "convert 10.0.0.0/33 to an IPv4 or IPv6 address, or a UNIX Socket");
  ExpectError(Write("roles/x", {{"bound_cidrs", "nope"}}, root_, true), Code::kInvalidArgument,
              "error parsing bound_cidrs: error parsing address \"nope\": Unable to convert nope "
              "to an IPv4 or IPv6 address, or a UNIX Socket");
  ExpectError(Call(Operation::kRead, "roles/bad name", Json(), root_, true),
              Code::kUnsupportedPath, "unsupported path");
}

TEST_F(TokenBackendTest, RoleAllowedPoliciesReplaceSubsetRule) {
  ASSERT_TRUE(Write("roles/web", {{"allowed_policies", "web,db"}}, root_, true).ok());
  // A non-sudo caller without those policies may still mint them via the role.
  TokenEntry caller = Login({"user"});
  TokenEntry all = Create(caller, Json::object(), false, "create/web");
  EXPECT_EQ(all.policies, (std::vector<std::string>{"db", "default", "web"}));
  EXPECT_EQ(all.role, "web");
  EXPECT_EQ(all.path, "auth/token/create/web");
  EXPECT_FALSE(all.orphan);

  TokenEntry some = Create(caller, {{"policies", "db"}}, false, "create/web");
  EXPECT_EQ(some.policies, (std::vector<std::string>{"db", "default"}));

  auto bad = Write("create/web", {{"policies", "admin"}}, caller);
  ExpectError(bad, Code::kInvalidArgument,
              "token policies ([\"admin\" \"default\"]) must be subset of the role's allowed "
              "policies ([\"db\" \"default\" \"web\"]) or glob policies ([])");
}

TEST_F(TokenBackendTest, RoleDisallowedGlobAndOptions) {
  ASSERT_TRUE(Write("roles/ops",
                    {{"disallowed_policies_glob", "adm*"},
                     {"disallowed_policies", "default"},
                     {"orphan", true},
                     {"renewable", false},
                     {"path_suffix", "v1x"},
                     {"token_explicit_max_ttl", "2h"},
                     {"token_num_uses", 5}},
                    root_, true)
                  .ok());
  TokenEntry caller = Create(root_, {{"policies", "user,admin"}}, true);
  ExpectError(Write("create/ops", {{"policies", "admin"}}, caller), Code::kInvalidArgument,
              "token policy \"admin\" is disallowed by this role");
  TokenEntry t = Create(caller, {{"policies", "user"}, {"ttl", "5h"}}, false, "create/ops");
  EXPECT_EQ(t.policies, std::vector<std::string>{"user"});  // default disallowed: not added
  EXPECT_TRUE(t.orphan);
  EXPECT_FALSE(t.renewable);
  EXPECT_EQ(t.path, "auth/token/create/ops/v1x");
  EXPECT_EQ(t.ttl, 2 * kHour);
  EXPECT_EQ(t.num_uses, 5);
}

TEST_F(TokenBackendTest, RolePeriodWithoutSudoAndRenewalUsesRole) {
  ASSERT_TRUE(Write("roles/p", {{"token_period", "2h"}}, root_, true).ok());
  TokenEntry caller = Login({"user"});
  TokenEntry t = Create(caller, Json::object(), false, "create/p");
  EXPECT_EQ(t.ttl, 2 * kHour);
  EXPECT_EQ(t.period, 0);  // the role's period is not copied onto the token
  // Change the role: renewals follow it.
  ASSERT_TRUE(Write("roles/p", {{"token_period", "3h"}}, root_, true).ok());
  auto r = Write("renew-self", Json::object(), t);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->auth->lease_duration, 3 * kHour);
  ASSERT_TRUE(Call(Operation::kDelete, "roles/p", Json(), root_, true).ok());
  ExpectError(Write("renew-self", Json::object(), t), Code::kInternal,
              "original token role \"p\" could not be found, not renewing");
}

TEST_F(TokenBackendTest, EntityAliasNeedsRoleAndResolver) {
  ExpectError(AsRoot("create", {{"entity_alias", "bob"}}), Code::kInvalidArgument,
              "'entity_alias' is only allowed in combination with token role");
  ASSERT_TRUE(Write("roles/e", {{"allowed_entity_aliases", "bob*"}}, root_, true).ok());
  ExpectError(AsRoot("create/e", {{"entity_alias", "alice"}}), Code::kInvalidArgument,
              "invalid 'entity_alias' value");
  ExpectError(AsRoot("create/e", {{"entity_alias", "Bobby"}}), Code::kInvalidArgument,
              "'entity_alias' is not supported by this server");
  backend_.SetEntityAliasResolver(
      [](std::string_view alias, std::string_view) -> StatusOr<std::string> {
        return "entity-of-" + std::string(alias);
      });
  TokenEntry t = Create(root_, {{"entity_alias", "Bobby"}}, true, "create/e");
  EXPECT_EQ(t.entity_id, "entity-of-Bobby");
}

// --- misc -------------------------------------------------------------------------

TEST_F(TokenBackendTest, RoutingErrors) {
  ExpectError(AsRoot("nope", Json::object()), Code::kUnsupportedPath, "unsupported path");
  ExpectError(Call(Operation::kRead, "create", Json(), root_, true), Code::kUnsupportedOperation,
              "unsupported operation");
  ExpectError(Call(Operation::kDelete, "lookup-self", Json(), root_, true),
              Code::kUnsupportedOperation, "unsupported operation");
}

TEST_F(TokenBackendTest, Tidy) {
  auto r = AsRoot("tidy", Json::object());
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_NE(r->warnings[0].find("Tidy operation successfully started"), std::string::npos);
}

TEST_F(TokenBackendTest, CreateTokenFromAuthShape) {
  logical::Auth auth;
  auth.policies = {"User", "admin"};
  auth.display_name = "jwt-bob";
  auth.entity_id = "ent-9";
  auth.ttl = 1000 * kHour;
  auth.num_uses = 0;
  std::vector<std::string> warnings;
  auto t = CreateTokenFromAuth(store_, auth, "auth/jwt/login", kHour, kSys, &warnings);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->orphan);
  EXPECT_EQ(t->policies, (std::vector<std::string>{"admin", "default", "user"}));
  EXPECT_EQ(t->ttl, kSys);
  EXPECT_EQ(t->path, "auth/jwt/login");
  EXPECT_EQ(t->display_name, "jwt-bob");
  ASSERT_EQ(warnings.size(), 1u);

  logical::Auth a = TokenToAuth(*t, clock_);
  EXPECT_EQ(a.client_token, t->id);
  EXPECT_EQ(a.accessor, t->accessor);
  EXPECT_EQ(a.lease_duration, kSys);
  EXPECT_TRUE(a.renewable);
  EXPECT_TRUE(a.orphan);
  EXPECT_EQ(a.entity_id, "ent-9");
  EXPECT_EQ(a.token_type, "service");

  auth.ttl = 0;
  auth.no_default_policy = true;
  t = CreateTokenFromAuth(store_, auth, "auth/jwt/login", kHour, kSys, nullptr);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->ttl, kHour);  // the mount default
  EXPECT_EQ(t->policies, (std::vector<std::string>{"admin", "user"}));

  auth.num_uses = -1;
  EXPECT_FALSE(CreateTokenFromAuth(store_, auth, "auth/jwt/login", kHour, kSys, nullptr).ok());
}

// The fedcloudclient locker flow (egi-clients.md §1.3): a JWT-login token
// renews itself, creates a limited-use child, which is then used up.
TEST_F(TokenBackendTest, LockerFlow) {
  TokenEntry parent = Login({"user"}, kHour);
  ASSERT_EQ(parent.policies, (std::vector<std::string>{"default", "user"}));

  auto renewed = Write("renew-self", {{"increment", "24h"}}, parent);
  ASSERT_TRUE(renewed.ok()) << renewed.status().ToString();
  EXPECT_EQ(renewed->auth->lease_duration, 86400);

  auto created = Write("create",
                       {{"policies", Json::array({"default"})},
                        {"no_parent", false},
                        {"no_default_policy", false},
                        {"renewable", false},
                        {"ttl", "24h"},
                        {"display_name", "token"},
                        {"num_uses", 2}},
                       parent);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  ASSERT_TRUE(created->auth);
  const logical::Auth& a = *created->auth;
  EXPECT_TRUE(created->data.is_null());
  EXPECT_TRUE(created->warnings.empty());
  EXPECT_EQ(a.policies, std::vector<std::string>{"default"});
  EXPECT_FALSE(a.renewable);
  EXPECT_EQ(a.lease_duration, 86400);
  EXPECT_EQ(a.num_uses, 2);
  EXPECT_FALSE(a.orphan);
  EXPECT_EQ(a.entity_id, "ent-1");

  auto locker = store_.Lookup(a.client_token);
  ASSERT_TRUE(locker->has_value());
  EXPECT_EQ((*locker)->display_name, "token-token");

  // Request 1 (as core runs it: use, then handle): lookup-self.
  ASSERT_EQ(*store_.UseToken(**locker), 1);
  auto look = Call(Operation::kRead, "lookup-self", Json(), **locker);
  ASSERT_TRUE(look.ok());
  EXPECT_EQ(look->data["num_uses"], 1);
  EXPECT_EQ(look->data["renewable"], false);
  EXPECT_EQ(look->data["ttl"], 86400);

  // Renewing a non-renewable locker fails (request 2 would be spent on it,
  // so check it directly against the handler with a fresh lookup).
  ExpectError(Write("renew-self", {{"increment", "1h"}}, **locker), Code::kInvalidArgument,
              "lease is not renewable");

  // Request 2: the last use; the handler still sees the token.
  ASSERT_EQ(*store_.UseToken(**locker), 0);
  look = Call(Operation::kRead, "lookup-self", Json(), **locker);
  ASSERT_TRUE(look.ok()) << look.status().ToString();
  EXPECT_EQ(look->data["num_uses"], 0);
  // Core revokes after the request.
  ASSERT_TRUE(store_.RevokeTree(**locker).ok());
  EXPECT_FALSE(store_.Lookup(a.client_token)->has_value());
  EXPECT_FALSE(store_.UseToken(**locker).ok());
}

TEST_F(TokenBackendTest, LockerDiesWithItsParent) {
  TokenEntry parent = Login({"user"}, kHour);
  TokenEntry locker =
      Create(parent, {{"policies", "default"}, {"renewable", false}, {"ttl", "24h"}, {"num_uses", 10}});
  ASSERT_FALSE(locker.id.empty());
  clock_.Advance(hours(1) + seconds(1));
  auto n = store_.ExpireDue();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2);
  EXPECT_FALSE(store_.Lookup(locker.id)->has_value());
}

}  // namespace
}  // namespace arca::core
