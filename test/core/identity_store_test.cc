#include "core/identity_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <regex>
#include <thread>

#include "storage/inmem.h"
#include "support/error_backend.h"
#include "support/fake_clock.h"

namespace arca::core {
namespace {

using logical::Json;
using logical::Operation;
using logical::Request;
using logical::Response;

const MountRef kJwt{"auth_jwt_1a2b3c4d", "jwt", "auth/jwt/"};
const MountRef kOidc{"auth_oidc_5e6f7a8b", "oidc", "auth/oidc/"};

logical::Alias A(std::string name, std::map<std::string, std::string> md = {}) {
  return logical::Alias{std::move(name), std::move(md)};
}

class IdentityStoreTest : public ::testing::Test {
 protected:
  IdentityStoreTest() : errors_(mem_), store_(errors_, clock_), backend_(store_.MakeBackend()) {
    store_.SetAuthMounts({kJwt, kOidc});
  }

  StatusOr<Response> Call(Operation op, std::string path, Json data = nullptr) {
    Request r;
    r.operation = op;
    r.path = std::move(path);
    r.data = std::move(data);
    return backend_->HandleRequest(r);
  }
  Json Write(std::string path, Json data) {
    auto r = Call(Operation::kUpdate, std::move(path), std::move(data));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->data : Json();
  }
  Json Read(std::string path) {
    auto r = Call(Operation::kRead, std::move(path));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->data : Json();
  }

  // An external group with `policies`, aliased as `alias` on `mount`.
  std::string ExternalGroup(const std::string& name, const std::string& alias,
                            const MountRef& mount, std::vector<std::string> policies = {}) {
    Json g = Write("group", {{"name", name}, {"type", "external"}, {"policies", policies}});
    std::string id = g["id"];
    Write("group-alias",
          {{"name", alias}, {"mount_accessor", mount.accessor}, {"canonical_id", id}});
    return id;
  }

  LoginIdentity Login(const MountRef& m, const std::string& name,
                      std::vector<logical::Alias> groups = {},
                      std::map<std::string, std::string> md = {}) {
    auto r = store_.ResolveLogin(m, A(name, md), groups);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : LoginIdentity{};
  }

  storage::InMemBackend mem_;
  testing::ErrorBackend errors_;
  testing::FakeClock clock_;
  IdentityStore store_;
  std::unique_ptr<logical::Backend> backend_;
};

TEST_F(IdentityStoreTest, LoginCreatesEntityAndAlias) {
  LoginIdentity li = Login(kJwt, "alice@example.org", {}, {{"role", "dev"}});
  ASSERT_FALSE(li.entity_id.empty());
  EXPECT_TRUE(li.identity_policies.empty());

  auto v = store_.View(li.entity_id);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->id, li.entity_id);
  EXPECT_TRUE(std::regex_match(v->name, std::regex("entity_[0-9a-f]{8}"))) << v->name;
  ASSERT_EQ(v->aliases_by_accessor.count(kJwt.accessor), 1u);
  const auto& alias = v->aliases_by_accessor.at(kJwt.accessor);
  EXPECT_EQ(alias.name, "alice@example.org");
  EXPECT_EQ(alias.metadata.at("role"), "dev");

  Json e = Read("entity/id/" + li.entity_id);
  ASSERT_EQ(e["aliases"].size(), 1u);
  EXPECT_EQ(e["aliases"][0]["canonical_id"], li.entity_id);
  EXPECT_EQ(e["aliases"][0]["mount_accessor"], kJwt.accessor);
  EXPECT_EQ(e["aliases"][0]["mount_type"], "jwt");
  EXPECT_EQ(e["aliases"][0]["mount_path"], "auth/jwt/");
  EXPECT_EQ(e["aliases"][0]["metadata"]["role"], "dev");
  EXPECT_EQ(e["creation_time"], "2024-01-01T00:00:00Z");
}

TEST_F(IdentityStoreTest, SecondLoginFindsTheSameEntity) {
  LoginIdentity first = Login(kJwt, "alice");
  int txns = errors_.Calls(testing::ErrorBackend::Method::kTxn);
  LoginIdentity second = Login(kJwt, "alice");
  EXPECT_EQ(first.entity_id, second.entity_id);
  EXPECT_EQ(errors_.Calls(testing::ErrorBackend::Method::kTxn), txns);  // nothing written
  // Names match case-insensitively, as in Vault.
  EXPECT_EQ(Login(kJwt, "ALICE").entity_id, first.entity_id);
  // The same name on another mount is another person.
  EXPECT_NE(Login(kOidc, "alice").entity_id, first.entity_id);
  auto list = Call(Operation::kList, "entity/id/");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->data["keys"].size(), 2u);
}

TEST_F(IdentityStoreTest, LoginUpdatesAliasMetadata) {
  LoginIdentity li = Login(kJwt, "alice", {}, {{"team", "a"}});
  std::string alias_id = Read("entity/id/" + li.entity_id)["aliases"][0]["id"];
  clock_.Advance(std::chrono::seconds(5));
  Login(kJwt, "alice", {}, {{"team", "b"}});
  Json a = Read("entity-alias/id/" + alias_id);
  EXPECT_EQ(a["metadata"]["team"], "b");
  EXPECT_EQ(a["creation_time"], "2024-01-01T00:00:00Z");
  EXPECT_EQ(a["last_update_time"], "2024-01-01T00:00:05Z");
  EXPECT_EQ(store_.View(li.entity_id)->aliases_by_accessor.at(kJwt.accessor).metadata.at("team"),
            "b");
}

TEST_F(IdentityStoreTest, ExternalGroupMembershipFollowsEachLogin) {
  std::string devs = ExternalGroup("devs", "developers", kJwt, {"dev-pol"});
  std::string ops = ExternalGroup("ops", "operators", kJwt, {"ops-pol"});

  LoginIdentity li = Login(kJwt, "alice", {A("developers"), A("unknown")});
  EXPECT_EQ(li.identity_policies, std::vector<std::string>{"dev-pol"});
  EXPECT_EQ(Read("group/id/" + devs)["member_entity_ids"], Json::array({li.entity_id}));

  li = Login(kJwt, "alice", {A("operators")});
  EXPECT_EQ(li.identity_policies, std::vector<std::string>{"ops-pol"});
  EXPECT_EQ(Read("group/id/" + devs)["member_entity_ids"], Json::array());
  EXPECT_EQ(Read("group/id/" + ops)["member_entity_ids"], Json::array({li.entity_id}));
  EXPECT_EQ(store_.IdentityPolicies(li.entity_id), std::vector<std::string>{"ops-pol"});

  li = Login(kJwt, "alice");
  EXPECT_TRUE(li.identity_policies.empty());
  EXPECT_EQ(Read("group/id/" + ops)["member_entity_ids"], Json::array());
}

TEST_F(IdentityStoreTest, LoginNeverCreatesGroups) {
  Login(kJwt, "alice", {A("admins"), A("devs")});
  auto list = Call(Operation::kList, "group/id");
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.status().code(), Code::kNotFound);
}

TEST_F(IdentityStoreTest, GroupAliasOnAnotherAccessorIsIgnored) {
  std::string oidc_devs = ExternalGroup("oidc-devs", "devs", kOidc, {"oidc-pol"});
  LoginIdentity li = Login(kJwt, "alice", {A("devs")});
  EXPECT_TRUE(li.identity_policies.empty());
  EXPECT_EQ(Read("group/id/" + oidc_devs)["member_entity_ids"], Json::array());

  // A membership synced from the oidc mount is left alone by jwt logins.
  std::string jwt_devs = ExternalGroup("jwt-devs", "devs", kJwt, {"jwt-pol"});
  LoginIdentity o = Login(kOidc, "bob", {A("devs")});
  Write("entity-alias",
        {{"name", "bob"}, {"mount_accessor", kJwt.accessor}, {"canonical_id", o.entity_id}});
  LoginIdentity j = Login(kJwt, "bob", {A("devs")});
  EXPECT_EQ(j.entity_id, o.entity_id);
  EXPECT_EQ(j.identity_policies, (std::vector<std::string>{"jwt-pol", "oidc-pol"}));
  j = Login(kJwt, "bob");
  EXPECT_EQ(j.identity_policies, std::vector<std::string>{"oidc-pol"});
  (void)jwt_devs;
}

TEST_F(IdentityStoreTest, DisabledEntityIsRefused) {
  LoginIdentity li = Login(kJwt, "alice");
  EXPECT_FALSE(store_.IsEntityDisabled(li.entity_id));
  ASSERT_TRUE(Call(Operation::kUpdate, "entity/id/" + li.entity_id, {{"disabled", true}}).ok());
  EXPECT_TRUE(store_.IsEntityDisabled(li.entity_id));
  auto r = store_.ResolveLogin(kJwt, A("alice"), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
  ASSERT_TRUE(Call(Operation::kUpdate, "entity/id/" + li.entity_id, {{"disabled", "false"}}).ok());
  EXPECT_TRUE(store_.ResolveLogin(kJwt, A("alice"), {}).ok());
}

TEST_F(IdentityStoreTest, PoliciesAreInheritedThroughParentGroups) {
  std::string ext = ExternalGroup("ext", "devs", kJwt, {"ext-pol"});
  Json parent = Write(
      "group", {{"name", "parent"}, {"policies", {"parent-pol"}}, {"member_group_ids", {ext}}});
  Json grand = Write(
      "group",
      {{"name", "grand"}, {"policies", "grand-pol,shared"}, {"member_group_ids", {parent["id"]}}});
  LoginIdentity li = Login(kJwt, "alice", {A("devs")});
  Write("entity/id/" + li.entity_id, {{"policies", {"own", "shared"}}});

  EXPECT_EQ(store_.IdentityPolicies(li.entity_id),
            (std::vector<std::string>{"ext-pol", "grand-pol", "own", "parent-pol", "shared"}));
  EXPECT_EQ(li.identity_policies,
            (std::vector<std::string>{"ext-pol", "grand-pol", "parent-pol", "shared"}));
  auto v = store_.View(li.entity_id);
  ASSERT_TRUE(v.has_value());
  std::set<std::string> names;
  for (const auto& g : v->groups) names.insert(g.name);
  EXPECT_EQ(names, (std::set<std::string>{"ext", "parent", "grand"}));

  Json e = Read("entity/id/" + li.entity_id);
  EXPECT_EQ(e["direct_group_ids"], Json::array({ext}));
  EXPECT_EQ(e["inherited_group_ids"].size(), 2u);
  EXPECT_EQ(e["group_ids"].size(), 3u);
  EXPECT_EQ(Read("group/id/" + ext)["parent_group_ids"], Json::array({parent["id"]}));

  // Live: a policy change on an ancestor shows at once.
  Write("group/id/" + std::string(grand["id"]), {{"policies", {"new-pol"}}});
  EXPECT_EQ(store_.IdentityPolicies(li.entity_id),
            (std::vector<std::string>{"ext-pol", "new-pol", "own", "parent-pol", "shared"}));
}

TEST_F(IdentityStoreTest, GroupCyclesAreRefused) {
  std::string a = Write("group", {{"name", "a"}})["id"];
  std::string b = Write("group", {{"name", "b"}, {"member_group_ids", {a}}})["id"];
  std::string c = Write("group", {{"name", "c"}, {"member_group_ids", {b}}})["id"];

  auto r = Call(Operation::kUpdate, "group/id/" + a, {{"member_group_ids", {c}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "cyclic relationship detected for member group ID \"" + c + "\"");
  r = Call(Operation::kUpdate, "group/id/" + b, {{"member_group_ids", {a, b}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "member group ID \"" + b + "\" is same as the ID of the group");
  EXPECT_EQ(Read("group/id/" + b)["member_group_ids"], Json::array({a}));  // unchanged

  // The chain c → b → a still passes policies down to a's members.
  Write("group/id/" + c, {{"policies", {"pc"}}});
  LoginIdentity li = Login(kJwt, "alice");
  Write("group/id/" + a, {{"member_entity_ids", {li.entity_id}}, {"policies", {"pa"}}});
  EXPECT_EQ(store_.IdentityPolicies(li.entity_id), (std::vector<std::string>{"pa", "pc"}));
}

TEST_F(IdentityStoreTest, StoredCycleIsWalkedSafely) {
  // Two groups that name each other as members, written behind the API.
  Json ga = {{"id", "ga"},
             {"name", "ga"},
             {"type", "internal"},
             {"policies", {"p1"}},
             {"member_entity_ids", {"e1"}},
             {"member_group_ids", {"gb"}}};
  Json gb = {{"id", "gb"},
             {"name", "gb"},
             {"type", "internal"},
             {"policies", {"p2"}},
             {"member_group_ids", {"ga"}}};
  Json e1 = {{"id", "e1"}, {"name", "e1"}};
  ASSERT_TRUE(mem_.Put("group/ga", ga.dump()).ok());
  ASSERT_TRUE(mem_.Put("group/gb", gb.dump()).ok());
  ASSERT_TRUE(mem_.Put("entity/e1", e1.dump()).ok());
  ASSERT_TRUE(store_.Load().ok());
  EXPECT_EQ(store_.IdentityPolicies("e1"), (std::vector<std::string>{"p1", "p2"}));
  EXPECT_EQ(store_.View("e1")->groups.size(), 2u);
}

TEST_F(IdentityStoreTest, SecondStoreSeesEverythingAfterLoad) {
  std::string devs = ExternalGroup("devs", "developers", kJwt, {"dev-pol"});
  std::string parent =
      Write("group", {{"name", "parent"}, {"policies", {"p"}}, {"member_group_ids", {devs}}})["id"];
  LoginIdentity li = Login(kJwt, "alice", {A("developers")}, {{"k", "v"}});
  Write("entity/id/" + li.entity_id, {{"name", "alice"}, {"metadata", {{"team", "x"}}}});
  Json before_entity = Read("entity/id/" + li.entity_id);
  Json before_group = Read("group/id/" + devs);

  IdentityStore other(mem_, clock_);
  other.SetAuthMounts({kJwt, kOidc});
  EXPECT_FALSE(other.View(li.entity_id).has_value());
  ASSERT_TRUE(other.Load().ok());
  auto b = other.MakeBackend();
  Request r;
  r.operation = Operation::kRead;
  r.path = "entity/id/" + li.entity_id;
  auto e = b->HandleRequest(r);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->data, before_entity);
  r.path = "group/id/" + devs;
  auto g = b->HandleRequest(r);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->data, before_group);
  EXPECT_EQ(other.IdentityPolicies(li.entity_id), (std::vector<std::string>{"dev-pol", "p"}));
  auto again = other.ResolveLogin(kJwt, A("alice", {{"k", "v"}}), {A("developers")});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->entity_id, li.entity_id);
  EXPECT_EQ(other.View(li.entity_id)->name, "alice");
  (void)parent;
}

TEST_F(IdentityStoreTest, LoadRefusesMalformedRecords) {
  ASSERT_TRUE(mem_.Put("entity/x", "{not json").ok());
  EXPECT_EQ(store_.Load().code(), Code::kInternal);
  ASSERT_TRUE(mem_.Put("entity/x", R"({"id":"x","name":7})").ok());
  EXPECT_EQ(store_.Load().code(), Code::kInternal);
  ASSERT_TRUE(mem_.Put("entity/x", R"({"id":"x","name":"x","policies":"p"})").ok());
  EXPECT_EQ(store_.Load().code(), Code::kInternal);
  ASSERT_TRUE(mem_.Put("entity/x", R"({"id":"x","name":"x","policies":["p"]})").ok());
  EXPECT_TRUE(store_.Load().ok());
}

TEST_F(IdentityStoreTest, LoadDropsDanglingReferences) {
  Json g = {{"id", "g1"},
            {"name", "g"},
            {"type", "internal"},
            {"member_entity_ids", {"gone", "e1"}},
            {"member_group_ids", {"nogroup"}}};
  Json alias = {
      {"id", "a1"}, {"canonical_id", "gone"}, {"name", "x"}, {"mount_accessor", kJwt.accessor}};
  ASSERT_TRUE(mem_.Put("group/g1", g.dump()).ok());
  ASSERT_TRUE(mem_.Put("entity/e1", Json({{"id", "e1"}, {"name", "e1"}}).dump()).ok());
  ASSERT_TRUE(mem_.Put("alias/a1", alias.dump()).ok());
  ASSERT_TRUE(store_.Load().ok());
  Json gr = Read("group/id/g1");
  EXPECT_EQ(gr["member_entity_ids"], Json::array({"e1"}));
  EXPECT_EQ(gr["member_group_ids"], Json::array());
  EXPECT_FALSE(Call(Operation::kRead, "entity-alias/id/a1").ok());
  // The alias factors are free again: a login creates a fresh entity.
  LoginIdentity li = Login(kJwt, "x");
  EXPECT_NE(li.entity_id, "gone");
}

TEST_F(IdentityStoreTest, FailedWriteLeavesMemoryUnchanged) {
  std::string devs = ExternalGroup("devs", "developers", kJwt, {"dev-pol"});
  errors_.FailNext(testing::ErrorBackend::Method::kTxn, Unavailable("storage down"));
  auto r = store_.ResolveLogin(kJwt, A("alice"), {A("developers")});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_EQ(Read("group/id/" + devs)["member_entity_ids"], Json::array());
  EXPECT_FALSE(Call(Operation::kList, "entity/id").ok());

  LoginIdentity li = Login(kJwt, "alice", {A("developers")});
  errors_.FailNext(testing::ErrorBackend::Method::kTxn, Unavailable("storage down"));
  auto d = Call(Operation::kDelete, "entity/id/" + li.entity_id);
  EXPECT_EQ(d.status().code(), Code::kUnavailable);
  EXPECT_TRUE(store_.View(li.entity_id).has_value());
  EXPECT_EQ(Read("group/id/" + devs)["member_entity_ids"], Json::array({li.entity_id}));
}

TEST_F(IdentityStoreTest, LargeChangesAreWrittenInBatches) {
  // Deleting an entity that is in 150 groups touches 152 records.
  LoginIdentity li = Login(kJwt, "alice");
  for (int i = 0; i < 150; ++i) {
    Write("group", {{"name", "g" + std::to_string(i)}, {"member_entity_ids", {li.entity_id}}});
  }
  int before = errors_.Calls(testing::ErrorBackend::Method::kTxn);
  ASSERT_TRUE(Call(Operation::kDelete, "entity/id/" + li.entity_id).ok());
  EXPECT_EQ(errors_.Calls(testing::ErrorBackend::Method::kTxn) - before, 3);
  IdentityStore other(mem_, clock_);
  ASSERT_TRUE(other.Load().ok());
  auto b = other.MakeBackend();
  Request r;
  r.operation = Operation::kRead;
  r.path = "group/name/g149";
  auto g = b->HandleRequest(r);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->data["member_entity_ids"], Json::array());
}

TEST_F(IdentityStoreTest, ResolveLoginValidatesInput) {
  EXPECT_EQ(store_.ResolveLogin(kJwt, A(""), {}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store_.ResolveLogin(kJwt, A(std::string(513, 'a')), {}).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(store_.ResolveLogin(MountRef{}, A("alice"), {}).status().code(),
            Code::kInvalidArgument);
}

TEST_F(IdentityStoreTest, UnknownEntityHasNoViewNorPolicies) {
  EXPECT_FALSE(store_.View("nope").has_value());
  EXPECT_TRUE(store_.IdentityPolicies("nope").empty());
  EXPECT_FALSE(store_.IsEntityDisabled("nope"));
}

TEST_F(IdentityStoreTest, ConcurrentFirstLoginsMakeOneEntity) {
  std::vector<std::string> ids(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto r = store_.ResolveLogin(kJwt, A("carol"), {});
      if (r.ok()) ids[i] = r->entity_id;
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& id : ids) EXPECT_EQ(id, ids[0]);
  auto list = Call(Operation::kList, "entity/id");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->data["keys"].size(), 1u);
}

TEST_F(IdentityStoreTest, ReadersAndWritersRunTogether) {
  std::string devs = ExternalGroup("devs", "developers", kJwt, {"dev-pol"});
  LoginIdentity first = Login(kJwt, "u0", {A("developers")});
  std::atomic<bool> bad{false};
  std::vector<std::thread> threads;
  for (int w = 0; w < 3; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < 40; ++i) {
        std::string user = "w" + std::to_string(w) + "-" + std::to_string(i % 7);
        std::vector<logical::Alias> groups;
        if (i % 2) groups.push_back(A("developers"));
        if (!store_.ResolveLogin(kJwt, A(user), groups).ok()) bad = true;
      }
    });
  }
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        auto v = store_.View(first.entity_id);
        if (!v || v->groups.size() != 1) bad = true;
        if (store_.IdentityPolicies(first.entity_id) != std::vector<std::string>{"dev-pol"})
          bad = true;
        Request req;
        req.operation = Operation::kRead;
        req.path = "group/id/" + devs;
        if (!backend_->HandleRequest(req).ok()) bad = true;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_FALSE(bad.load());
  auto list = Call(Operation::kList, "entity/id");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->data["keys"].size(), 1u + 3 * 7);
}

}  // namespace
}  // namespace arca::core
