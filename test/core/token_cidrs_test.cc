// Bound CIDRs on tokens (storage, lookup, token roles, inheritance) and the
// renewal of login tokens through their auth method (Backend::Renew), at the
// token store/backend level and through Core's request pipeline with a fake
// auth method mounted at auth/fake/.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <set>

#include "core/core.h"
#include "core/token_backend.h"
#include "core_setup.h"
#include "engines/engines.h"
#include "storage/inmem.h"
#include "support/fake_clock.h"

namespace arca::core {
namespace {

using logical::Json;
using logical::Operation;
using logical::Request;
using logical::Response;

constexpr int64_t kHour = 3600;
constexpr int64_t kSys = 2764800;  // 768h

// --- the token store and auth/token/ ---------------------------------------------

class TokenCidrsTest : public ::testing::Test {
 protected:
  TokenCidrsTest()
      : store_(mem_, clock_),
        backend_(
            store_, [](std::string_view) { return true; }, clock_) {
    TokenEntry root;
    root.policies = {"root"};
    root.path = "auth/token/root";
    root.renewable = false;
    root_ = *store_.Create(root);
  }

  StatusOr<Response> Write(const std::string& path, Json data, const TokenEntry& caller,
                           bool sudo = true) {
    Request r;
    r.operation = Operation::kUpdate;
    r.path = path;
    r.data = std::move(data);
    r.client_token = caller.id;
    r.sudo = sudo;
    r.mount_point = "auth/token/";
    r.mount_type = "token";
    r.mount_default_ttl = kSys;
    r.mount_max_ttl = kSys;
    return backend_.HandleRequest(r);
  }

  Json ReadRole(const std::string& name) {
    Request r;
    r.operation = Operation::kRead;
    r.path = "roles/" + name;
    auto resp = backend_.HandleRequest(r);
    EXPECT_TRUE(resp.ok()) << resp.status().ToString();
    return resp.ok() ? resp->data : Json();
  }

  TokenEntry Create(const TokenEntry& caller, const std::string& path, Json data = Json::object(),
                    bool sudo = true) {
    auto resp = Write(path, std::move(data), caller, sudo);
    EXPECT_TRUE(resp.ok()) << resp.status().ToString();
    if (!resp.ok() || !resp->auth) return {};
    auto e = store_.Lookup(resp->auth->client_token);
    EXPECT_TRUE(e.ok() && e->has_value());
    return e.ok() && e->has_value() ? **e : TokenEntry{};
  }

  // A token as an auth method's login mints it.
  TokenEntry Login(std::vector<std::string> cidrs) {
    logical::Auth auth;
    auth.policies = {"user"};
    auth.metadata = {{"role", "dev"}};
    auth.ttl = kHour;
    auth.bound_cidrs = std::move(cidrs);
    auto e = CreateTokenFromAuth(store_, auth, "auth/jwt/login", kSys, kSys, nullptr);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return e.ok() ? *e : TokenEntry{};
  }

  Json LookupData(const TokenEntry& e) {
    auto resp = Write("lookup", {{"token", e.id}}, root_);
    EXPECT_TRUE(resp.ok()) << resp.status().ToString();
    return resp.ok() ? resp->data : Json();
  }

  storage::InMemBackend mem_;
  testing::FakeClock clock_;
  TokenStore store_;
  TokenBackend backend_;
  TokenEntry root_;
};

TEST_F(TokenCidrsTest, StoredEntriesWithoutTheFieldDecodeUnbound) {
  // An entry as written before bound_cidrs existed.
  Json old = {{"accessor", "abc"},           {"parent", ""},
              {"policies", {"default"}},     {"meta", Json::object()},
              {"path", "auth/token/create"}, {"ttl", 60},
              {"creation_time", 1700000000}, {"num_uses", 0}};
  auto e = TokenEntry::FromStorageJson(old);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_TRUE(e->bound_cidrs.empty());
  EXPECT_TRUE(e->UsableFrom("192.0.2.1"));
  // Unbound entries are written without the field; bound ones round-trip.
  EXPECT_FALSE(e->ToStorageJson().contains("bound_cidrs"));
  e->bound_cidrs = {"10.0.0.0/8", "::1"};
  Json j = e->ToStorageJson();
  EXPECT_EQ(j["bound_cidrs"], (Json{"10.0.0.0/8", "::1"}));
  auto back = TokenEntry::FromStorageJson(j);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->bound_cidrs, e->bound_cidrs);
  // A malformed field is data loss, not an unbound token.
  j["bound_cidrs"] = "10.0.0.0/8";
  EXPECT_EQ(TokenEntry::FromStorageJson(j).status().code(), Code::kDataLoss);
}

TEST_F(TokenCidrsTest, UsableFromChecksTheAddress) {
  TokenEntry e;
  e.ttl = kHour;
  e.bound_cidrs = {"10.255.0.0/16", "::1"};
  EXPECT_TRUE(e.UsableFrom("10.255.3.4"));
  EXPECT_TRUE(e.UsableFrom("::1"));
  EXPECT_FALSE(e.UsableFrom("127.0.0.1"));
  EXPECT_FALSE(e.UsableFrom(""));
  EXPECT_FALSE(e.UsableFrom("not-an-ip"));
  // As Vault, a token that never expires (a root token) is not CIDR-bound.
  e.ttl = 0;
  EXPECT_TRUE(e.UsableFrom("127.0.0.1"));
}

TEST_F(TokenCidrsTest, LoginTokenCarriesTheAuthCidrsAndLookupShowsThem) {
  TokenEntry bound = Login({"127.0.0.1/32", "10.0.0.0/8"});
  EXPECT_EQ(bound.bound_cidrs, (std::vector<std::string>{"127.0.0.1", "10.0.0.0/8"}));
  Json d = LookupData(bound);
  EXPECT_EQ(d["bound_cidrs"], (Json{"127.0.0.1", "10.0.0.0/8"}));
  // lookup-accessor and lookup-self show it too.
  auto acc = Write("lookup-accessor", {{"accessor", bound.accessor}}, root_);
  ASSERT_TRUE(acc.ok());
  EXPECT_EQ(acc->data["bound_cidrs"], (Json{"127.0.0.1", "10.0.0.0/8"}));
  auto self = Write("lookup-self", Json::object(), bound, false);
  ASSERT_TRUE(self.ok());
  EXPECT_EQ(self->data["bound_cidrs"], (Json{"127.0.0.1", "10.0.0.0/8"}));
  // Vault shows the key only when the token is bound.
  EXPECT_FALSE(LookupData(Login({})).contains("bound_cidrs"));
  EXPECT_FALSE(LookupData(root_).contains("bound_cidrs"));
  // An auth method handing core a bad CIDR mints nothing.
  logical::Auth bad;
  bad.ttl = kHour;
  bad.bound_cidrs = {"10.0.0.0/99"};
  EXPECT_EQ(CreateTokenFromAuth(store_, bad, "auth/jwt/login", kSys, kSys, nullptr).status().code(),
            Code::kInvalidArgument);
}

TEST_F(TokenCidrsTest, RoleTokenBoundCidrs) {
  auto w = Write("roles/net", {{"token_bound_cidrs", "10.255.0.0/16, 127.0.0.1/32"}}, root_);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_TRUE(w->warnings.empty());
  Json d = ReadRole("net");
  EXPECT_EQ(d["token_bound_cidrs"], (Json{"10.255.0.0/16", "127.0.0.1"}));
  EXPECT_FALSE(d.contains("bound_cidrs"));

  TokenEntry t = Create(root_, "create/net", {{"policies", {"user"}}});
  EXPECT_EQ(t.bound_cidrs, (std::vector<std::string>{"10.255.0.0/16", "127.0.0.1"}));
  EXPECT_EQ(LookupData(t)["bound_cidrs"], (Json{"10.255.0.0/16", "127.0.0.1"}));

  // An update without the field keeps it; an empty list clears it.
  ASSERT_TRUE(Write("roles/net", {{"orphan", true}}, root_).ok());
  EXPECT_EQ(ReadRole("net")["token_bound_cidrs"], (Json{"10.255.0.0/16", "127.0.0.1"}));
  ASSERT_TRUE(Write("roles/net", {{"token_bound_cidrs", Json::array()}}, root_).ok());
  EXPECT_FALSE(ReadRole("net").contains("token_bound_cidrs"));
  EXPECT_TRUE(Create(root_, "create/net", {{"policies", {"user"}}}).bound_cidrs.empty());
}

TEST_F(TokenCidrsTest, RoleLegacyBoundCidrsUpgradeAsVault) {
  // The legacy name sets both; read shows both.
  ASSERT_TRUE(Write("roles/old", {{"bound_cidrs", {"192.168.0.0/24"}}}, root_).ok());
  Json d = ReadRole("old");
  EXPECT_EQ(d["bound_cidrs"], (Json{"192.168.0.0/24"}));
  EXPECT_EQ(d["token_bound_cidrs"], (Json{"192.168.0.0/24"}));
  EXPECT_EQ(Create(root_, "create/old", {{"policies", {"user"}}}).bound_cidrs,
            (std::vector<std::string>{"192.168.0.0/24"}));

  // The new name wins and drops the legacy one, with Vault's warning when both are given.
  auto w =
      Write("roles/old", {{"bound_cidrs", {"1.2.3.4"}}, {"token_bound_cidrs", {"5.6.7.8"}}}, root_);
  ASSERT_TRUE(w.ok());
  ASSERT_EQ(w->warnings.size(), 1u);
  EXPECT_EQ(w->warnings[0],
            "Both 'token_bound_cidrs' and deprecated 'bound_cidrs' value supplied, ignoring the "
            "deprecated value");
  d = ReadRole("old");
  EXPECT_EQ(d["token_bound_cidrs"], (Json{"5.6.7.8"}));
  EXPECT_FALSE(d.contains("bound_cidrs"));

  // A stored role with only the legacy field is upgraded when loaded.
  Json stored = {{"name", "legacy"}, {"bound_cidrs", {"10.1.0.0/16"}}};
  auto role = TokenRole::FromStorageJson(stored);
  ASSERT_TRUE(role.ok());
  EXPECT_EQ(role->token_bound_cidrs, (std::vector<std::string>{"10.1.0.0/16"}));
  // Stored without either field (written before they existed): unbound.
  auto older = TokenRole::FromStorageJson(Json{{"name", "older"}});
  ASSERT_TRUE(older.ok());
  EXPECT_TRUE(older->token_bound_cidrs.empty());
}

TEST_F(TokenCidrsTest, ChildrenInheritTheParentsCidrsAsVault) {
  // Vault's handleCreateCommon: a non-orphan child created without a role
  // keeps its parent's bound CIDRs (so a bound token cannot mint an
  // unbound one); orphans do not; a role's CIDRs replace the parent's.
  TokenEntry parent = Login({"10.0.0.0/8"});
  TokenEntry child = Create(parent, "create", {{"policies", {"user"}}}, false);
  EXPECT_EQ(child.bound_cidrs, (std::vector<std::string>{"10.0.0.0/8"}));
  EXPECT_EQ(Create(child, "create", Json::object(), false).bound_cidrs,
            (std::vector<std::string>{"10.0.0.0/8"}));

  TokenEntry orphan = Create(parent, "create-orphan", Json::object(), false);
  EXPECT_TRUE(orphan.bound_cidrs.empty());
  TokenEntry no_parent = Create(parent, "create", {{"no_parent", true}}, true);
  EXPECT_TRUE(no_parent.bound_cidrs.empty());

  ASSERT_TRUE(
      Write("roles/wide", {{"allowed_policies", "user"}, {"token_bound_cidrs", "0.0.0.0/0"}}, root_)
          .ok());
  EXPECT_EQ(Create(parent, "create/wide", Json::object(), false).bound_cidrs,
            (std::vector<std::string>{"0.0.0.0/0"}));
  ASSERT_TRUE(Write("roles/plain", {{"allowed_policies", "user"}}, root_).ok());
  EXPECT_TRUE(Create(parent, "create/plain", Json::object(), false).bound_cidrs.empty());

  // Tokens that never expire are never bound, even against a bound role.
  ASSERT_TRUE(Write("roles/rootish", {{"token_bound_cidrs", "10.0.0.0/8"}}, root_).ok());
  TokenEntry forever = Create(root_, "create/rootish");
  EXPECT_EQ(forever.ttl, 0);
  EXPECT_TRUE(forever.bound_cidrs.empty());
}

// --- through Core, with a fake auth method ----------------------------------------

// What the fake auth method saw and will answer; shared with the test.
struct FakeAuthState {
  std::mutex mu;
  std::vector<std::string> login_cidrs;  // handed to core on login
  int64_t login_ttl = kHour;
  bool refuse_renewal = false;
  int64_t renew_ttl = 0;  // the TTL the method asks for on renewal
  int renew_calls = 0;
  Request last_renew_req;
  logical::Auth last_renew_auth;
};

class FakeAuth final : public logical::Backend {
 public:
  explicit FakeAuth(std::shared_ptr<FakeAuthState> s) : s_(std::move(s)) {}
  StatusOr<Response> HandleRequest(Request& req) override {
    if (req.path != "login") return UnsupportedPath();
    std::lock_guard l(s_->mu);
    logical::Auth a;
    a.policies = {"user"};
    a.metadata = {{"role", "dev"}};
    a.display_name = "alice";
    a.ttl = s_->login_ttl;
    a.bound_cidrs = s_->login_cidrs;
    Response r;
    r.auth = std::move(a);
    return r;
  }
  StatusOr<logical::Auth> Renew(Request& req, const logical::Auth& auth) override {
    std::lock_guard l(s_->mu);
    ++s_->renew_calls;
    s_->last_renew_req = req;
    s_->last_renew_auth = auth;
    if (s_->refuse_renewal) return Internal("role dev does not exist during renewal");
    logical::Auth out = auth;
    out.ttl = s_->renew_ttl;
    return out;
  }
  std::vector<std::string> UnauthenticatedPaths() const override { return {"login"}; }

 private:
  std::shared_ptr<FakeAuthState> s_;
};

class CoreTokenCidrsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CoreConfig c;
    c.physical = &physical_;
    c.clock = &clock_;
    c.engines = {{"kv", engines::KvFactory()}, {"cubbyhole", engines::CubbyholeFactory()}};
    auto state = state_;
    c.auth_methods = {
        {"fake",
         [state](const logical::BackendConfig&) -> StatusOr<std::unique_ptr<logical::Backend>> {
           return std::unique_ptr<logical::Backend>(std::make_unique<FakeAuth>(state));
         }}};
    core_ = std::make_unique<Core>(std::move(c));
    root_ = testing::InitAndUnseal(*core_);
    ASSERT_FALSE(root_.empty());
    ASSERT_TRUE(Call(Operation::kUpdate, "sys/auth/fake", {{"type", "fake"}}, root_).ok());
  }
  void TearDown() override { core_->Shutdown(); }

  StatusOr<Response> Call(Operation op, std::string path, Json data, const std::string& token,
                          const std::string& from = "127.0.0.1") {
    Request r;
    r.operation = op;
    r.path = std::move(path);
    r.data = std::move(data);
    r.client_token = token;
    r.remote_address = from;
    return core_->HandleRequest(r);
  }

  std::string CreateWithRole(const std::string& role, Json data = Json::object()) {
    auto r = Call(Operation::kUpdate, "auth/token/create/" + role, std::move(data), root_);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() && r->auth ? r->auth->client_token : std::string();
  }

  Json LookupAsRoot(const std::string& token) {
    auto r = Call(Operation::kUpdate, "auth/token/lookup", {{"token", token}}, root_);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->data : Json();
  }

  StatusOr<Response> FakeLogin(const std::string& from = "127.0.0.1") {
    return Call(Operation::kUpdate, "auth/fake/login", Json::object(), "", from);
  }

  storage::InMemBackend physical_;
  testing::FakeClock clock_;
  std::shared_ptr<FakeAuthState> state_ = std::make_shared<FakeAuthState>();
  std::unique_ptr<Core> core_;
  std::string root_;
};

TEST_F(CoreTokenCidrsTest, BoundTokenWorksInsideAndIsRefusedOutside) {
  ASSERT_TRUE(Call(Operation::kUpdate, "auth/token/roles/net",
                   {{"token_bound_cidrs", "10.255.0.0/16"}}, root_)
                  .ok());
  const std::string t = CreateWithRole("net", {{"num_uses", 5}, {"policies", {"user"}}});
  ASSERT_FALSE(t.empty());

  for (const char* from : {"127.0.0.1", "10.254.0.1", "", "garbage"}) {
    auto r = Call(Operation::kRead, "auth/token/lookup-self", nullptr, t, from);
    EXPECT_EQ(r.status().code(), Code::kPermissionDenied) << from;
    EXPECT_EQ(r.status().message(), "permission denied");
  }
  EXPECT_EQ(Call(Operation::kRead, "sys/mounts", nullptr, t, "127.0.0.1").status().code(),
            Code::kPermissionDenied);
  // As Vault, those refusals used up no use: CIDRs are checked before counting.
  EXPECT_EQ(LookupAsRoot(t)["num_uses"], 5);

  auto inside = Call(Operation::kRead, "auth/token/lookup-self", nullptr, t, "10.255.7.8");
  ASSERT_TRUE(inside.ok()) << inside.status().ToString();
  EXPECT_EQ(inside->data["bound_cidrs"], (Json{"10.255.0.0/16"}));
  EXPECT_EQ(LookupAsRoot(t)["num_uses"], 4);
  // From inside, an ACL refusal does use one up (also as Vault).
  EXPECT_EQ(Call(Operation::kRead, "sys/mounts", nullptr, t, "10.255.7.8").status().code(),
            Code::kPermissionDenied);
  EXPECT_EQ(LookupAsRoot(t)["num_uses"], 3);
}

TEST_F(CoreTokenCidrsTest, UnauthenticatedPathIgnoresATokenUsedFromElsewhere) {
  ASSERT_TRUE(Call(Operation::kUpdate, "auth/token/roles/net",
                   {{"token_bound_cidrs", "10.255.0.0/16"}}, root_)
                  .ok());
  const std::string t = CreateWithRole("net", {{"policies", {"user"}}});
  // hvac keeps its old token when logging in: the login still works.
  auto r = Call(Operation::kUpdate, "auth/fake/login", Json::object(), t, "127.0.0.1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->auth->client_token.empty());
}

TEST_F(CoreTokenCidrsTest, LoginTokenIsBoundToTheMethodsCidrs) {
  ASSERT_TRUE(
      Call(Operation::kUpdate, "sys/policies/acl/user",
           {{"policy", "path \"auth/token/create\" { capabilities = [\"create\", \"update\"] }"}},
           root_)
          .ok());
  state_->login_cidrs = {"127.0.0.1/32"};
  auto login = FakeLogin();
  ASSERT_TRUE(login.ok()) << login.status().ToString();
  const std::string t = login->auth->client_token;
  auto self = Call(Operation::kRead, "auth/token/lookup-self", nullptr, t, "127.0.0.1");
  ASSERT_TRUE(self.ok()) << self.status().ToString();
  EXPECT_EQ(self->data["bound_cidrs"], (Json{"127.0.0.1"}));
  EXPECT_EQ(self->data["path"], "auth/fake/login");
  EXPECT_EQ(
      Call(Operation::kRead, "auth/token/lookup-self", nullptr, t, "10.0.0.1").status().code(),
      Code::kPermissionDenied);

  // A child it creates stays bound (Vault copies the parent's CIDRs).
  auto child = Call(Operation::kUpdate, "auth/token/create", Json::object(), t, "127.0.0.1");
  ASSERT_TRUE(child.ok()) << child.status().ToString();
  EXPECT_EQ(LookupAsRoot(child->auth->client_token)["bound_cidrs"], (Json{"127.0.0.1"}));
  EXPECT_EQ(Call(Operation::kRead, "auth/token/lookup-self", nullptr, child->auth->client_token,
                 "10.0.0.1")
                .status()
                .code(),
            Code::kPermissionDenied);
}

TEST_F(CoreTokenCidrsTest, RenewalAsksTheAuthMethod) {
  auto login = FakeLogin();
  ASSERT_TRUE(login.ok()) << login.status().ToString();
  const std::string t = login->auth->client_token;
  EXPECT_EQ(login->auth->lease_duration, kHour);

  {
    std::lock_guard l(state_->mu);
    state_->renew_ttl = 7200;  // e.g. the role's token_ttl was raised
  }
  clock_.Advance(std::chrono::seconds(100));
  auto renewed = Call(Operation::kUpdate, "auth/token/renew-self", Json::object(), t);
  ASSERT_TRUE(renewed.ok()) << renewed.status().ToString();
  EXPECT_EQ(renewed->auth->lease_duration, 7200);
  EXPECT_EQ(LookupAsRoot(t)["ttl"], 7200);
  {
    std::lock_guard l(state_->mu);
    EXPECT_EQ(state_->renew_calls, 1);
    const Request& rq = state_->last_renew_req;
    EXPECT_EQ(rq.path, "login");
    EXPECT_EQ(rq.mount_point, "auth/fake/");
    EXPECT_EQ(rq.mount_type, "fake");
    EXPECT_NE(rq.storage, nullptr);
    EXPECT_EQ(rq.remote_address, "127.0.0.1");
    const logical::Auth& a = state_->last_renew_auth;
    EXPECT_TRUE(a.client_token.empty());  // the raw token never reaches a method
    EXPECT_EQ(a.metadata.at("role"), "dev");
    EXPECT_EQ(a.ttl, kHour);  // the TTL granted last
    state_->renew_ttl = 0;    // 0 = the mount default (768h)
  }
  auto by_root = Call(Operation::kUpdate, "auth/token/renew", {{"token", t}}, root_);
  ASSERT_TRUE(by_root.ok()) << by_root.status().ToString();
  EXPECT_EQ(by_root->auth->lease_duration, kSys - 100);  // capped by the max from creation

  // A refusal fails the renewal with Vault's wrapping and leaves the token alone.
  {
    std::lock_guard l(state_->mu);
    state_->refuse_renewal = true;
  }
  const int64_t ttl_before = LookupAsRoot(t)["ttl"].get<int64_t>();
  auto refused = Call(Operation::kUpdate, "auth/token/renew-self", Json::object(), t);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kInternal);
  EXPECT_EQ(refused.status().message(),
            "failed to renew entry: role dev does not exist during renewal");
  EXPECT_EQ(LookupAsRoot(t)["ttl"].get<int64_t>(), ttl_before);
  auto acc = Call(Operation::kUpdate, "auth/token/renew-accessor",
                  {{"accessor", login->auth->accessor}}, root_);
  EXPECT_EQ(acc.status().code(), Code::kInternal);
}

TEST_F(CoreTokenCidrsTest, TokenStoreTokensDoNotAskAnAuthMethod) {
  auto created = Call(Operation::kUpdate, "auth/token/create", {{"ttl", "1h"}}, root_);
  ASSERT_TRUE(created.ok());
  auto r = Call(Operation::kUpdate, "auth/token/renew-self", Json::object(),
                created->auth->client_token);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->auth->lease_duration, kHour);
  std::lock_guard l(state_->mu);
  EXPECT_EQ(state_->renew_calls, 0);
}

}  // namespace
}  // namespace arca::core
