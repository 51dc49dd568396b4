// The identity/ endpoints, driven as hvac 0.11.2 drives them (paths, verbs,
// bodies with nulls), through the logical::Backend of an IdentityStore.
#include <gtest/gtest.h>

#include <regex>

#include "core/identity_store.h"
#include "storage/inmem.h"
#include "support/fake_clock.h"

namespace arca::core {
namespace {

using logical::Json;
using logical::Operation;
using logical::Request;
using logical::Response;

const MountRef kJwt{"auth_jwt_1a2b3c4d", "jwt", "auth/jwt/"};
const MountRef kUserpass{"auth_userpass_0f0f0f0f", "userpass", "auth/userpass/"};

class IdentityBackendTest : public ::testing::Test {
 protected:
  IdentityBackendTest() : store_(mem_, clock_), backend_(store_.MakeBackend()) {
    store_.SetAuthMounts({kJwt, kUserpass});
  }

  StatusOr<Response> Call(Operation op, std::string path, Json data = nullptr) {
    Request r;
    r.operation = op;
    r.path = std::move(path);
    r.data = std::move(data);
    return backend_->HandleRequest(r);
  }
  StatusOr<Response> Post(std::string path, Json data) {
    return Call(Operation::kUpdate, std::move(path), std::move(data));
  }
  // A write that must succeed; its data (null for 204).
  Json Ok(std::string path, Json data) {
    auto r = Post(std::move(path), std::move(data));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->data : Json();
  }
  Json Get(std::string path) {
    auto r = Call(Operation::kRead, std::move(path));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->data : Json();
  }
  Json List(std::string path) {
    auto r = Call(Operation::kList, std::move(path));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->data : Json();
  }
  // The message of a write that must fail with InvalidArgument.
  std::string Bad(std::string path, Json data) {
    auto r = Post(std::move(path), std::move(data));
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << r.status().ToString();
    return r.status().message();
  }
  Code CodeOf(Operation op, std::string path, Json data = nullptr) {
    return Call(op, std::move(path), std::move(data)).status().code();
  }

  storage::InMemBackend mem_;
  testing::FakeClock clock_;
  IdentityStore store_;
  std::unique_ptr<logical::Backend> backend_;
};

// --- entities ------------------------------------------------------------------------

TEST_F(IdentityBackendTest, EntityCreateReadUpdateDelete) {
  // hvac create_or_update_entity(name, metadata, policies)
  auto created = Post("entity", {{"name", "alice"},
                                 {"metadata", {{"team", "a"}, {"level", 3}}},
                                 {"policies", {"p2", "p1", "p2"}}});
  ASSERT_TRUE(created.ok());
  const std::string id = created->data["id"];
  EXPECT_EQ(created->data["name"], "alice");
  EXPECT_TRUE(created->data["aliases"].is_null());
  EXPECT_TRUE(created->warnings.empty());

  Json e = Get("entity/id/" + id);
  EXPECT_EQ(e["id"], id);
  EXPECT_EQ(e["name"], "alice");
  EXPECT_EQ(e["metadata"], Json({{"team", "a"}, {"level", "3"}}));
  EXPECT_EQ(e["policies"], Json::array({"p1", "p2"}));
  EXPECT_EQ(e["disabled"], false);
  EXPECT_EQ(e["namespace_id"], "root");
  EXPECT_EQ(e["aliases"], Json::array());
  EXPECT_EQ(e["direct_group_ids"], Json::array());
  EXPECT_EQ(e["group_ids"], Json::array());
  EXPECT_EQ(e["creation_time"], "2024-01-01T00:00:00Z");
  EXPECT_TRUE(e["merged_entity_ids"].is_null());

  // hvac update_entity: POST entity/id/<id>, 204.
  clock_.Advance(std::chrono::milliseconds(1500));
  auto upd = Post("entity/id/" + id, {{"policies", "p3"}, {"disabled", true}});
  ASSERT_TRUE(upd.ok());
  EXPECT_TRUE(upd->Empty());
  e = Get("entity/name/alice");
  EXPECT_EQ(e["policies"], Json::array({"p3"}));
  EXPECT_EQ(e["disabled"], true);
  EXPECT_EQ(e["metadata"]["team"], "a");  // untouched fields stay
  EXPECT_EQ(e["last_update_time"], "2024-01-01T00:00:01.5Z");

  auto del = Call(Operation::kDelete, "entity/id/" + id);
  ASSERT_TRUE(del.ok());
  EXPECT_TRUE(del->Empty());
  EXPECT_EQ(CodeOf(Operation::kRead, "entity/id/" + id), Code::kNotFound);
  EXPECT_TRUE(Call(Operation::kDelete, "entity/id/" + id).ok());  // again: still fine
}

TEST_F(IdentityBackendTest, EntityCreateWithAnExistingNameUpdatesIt) {
  std::string id = Ok("entity", {{"name", "alice"}})["id"];
  auto again = Post("entity", {{"name", "ALICE"}, {"policies", {"p"}}});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->Empty());
  Json e = Get("entity/id/" + id);
  EXPECT_EQ(e["policies"], Json::array({"p"}));
  EXPECT_EQ(e["name"], "ALICE");
}

TEST_F(IdentityBackendTest, EntityByName) {
  // hvac create_or_update_entity_by_name: 200 with the id when created, 204 after.
  auto first = Post("entity/name/bob", {{"metadata", {{"k", "v"}}}, {"policies", nullptr}});
  ASSERT_TRUE(first.ok());
  std::string id = first->data["id"];
  EXPECT_EQ(first->data["name"], "bob");
  auto second = Post("entity/name/bob", {{"policies", {"x"}}, {"name", "ignored"}});
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->Empty());
  EXPECT_EQ(Get("entity/name/bob")["id"], id);
  EXPECT_EQ(Get("entity/name/bob")["policies"], Json::array({"x"}));
  ASSERT_TRUE(Call(Operation::kDelete, "entity/name/bob").ok());
  EXPECT_EQ(CodeOf(Operation::kRead, "entity/name/bob"), Code::kNotFound);
}

TEST_F(IdentityBackendTest, EntityGetsAGeneratedName) {
  Json d = Ok("entity", {{"metadata", nullptr}});
  EXPECT_TRUE(std::regex_match(std::string(d["name"]), std::regex("entity_[0-9a-f]{8}")));
}

TEST_F(IdentityBackendTest, EntityWriteErrors) {
  Ok("entity", {{"name", "alice"}});
  std::string bob = Ok("entity", {{"name", "bob"}})["id"];
  EXPECT_EQ(Bad("entity/id/" + bob, {{"name", "alice"}}), "entity name is already in use");
  EXPECT_EQ(Bad("entity", {{"id", "no-such-id"}}), "entity not found from id");
  EXPECT_EQ(Bad("entity/id/nosuch", {{"name", "x"}}), "entity not found from id");
  EXPECT_EQ(Bad("entity", {{"name", "c"}, {"policies", {"a", "root"}}}),
            "policies cannot contain root");
  EXPECT_EQ(CodeOf(Operation::kRead, "entity/name/carol"), Code::kNotFound);
}

TEST_F(IdentityBackendTest, EntityHostileInput) {
  Bad("entity", {{"name", {{"a", 1}}}});
  Bad("entity", {{"name", std::string(513, 'n')}});
  Bad("entity", {{"name", "x"}, {"metadata", {{"k", {{"nested", 1}}}}}});
  Bad("entity", {{"name", "x"}, {"metadata", Json::array({1, 2})}});
  Bad("entity", {{"name", "x"}, {"metadata", "not-a-pair"}});
  Bad("entity", {{"name", "x"}, {"metadata", {{std::string(513, 'k'), "v"}}}});
  Bad("entity", {{"name", "x"}, {"metadata", {{"k", std::string(8193, 'v')}}}});
  Bad("entity", {{"name", "x"}, {"disabled", "maybe"}});
  Bad("entity", {{"name", "x"}, {"policies", {{"o", 1}}}});
  Json many = Json::object();
  for (int i = 0; i < 1001; ++i) many["k" + std::to_string(i)] = "v";
  Bad("entity", {{"name", "x"}, {"metadata", many}});
  Json pols = Json::array();
  for (int i = 0; i < 1001; ++i) pols.push_back("p" + std::to_string(i));
  Bad("entity", {{"name", "x"}, {"policies", pols}});
  Bad("entity", {{"name", "x"}, {"policies", {std::string(513, 'p')}}});
  EXPECT_EQ(CodeOf(Operation::kList, "entity/id"), Code::kNotFound);  // nothing was created

  // Body that is not an object, paths that are not names.
  EXPECT_TRUE(Post("entity", Json::array({1, 2})).ok());
  EXPECT_EQ(CodeOf(Operation::kRead, "entity/name/a b"), Code::kUnsupportedPath);
  EXPECT_EQ(CodeOf(Operation::kRead, "entity/id/../x"), Code::kUnsupportedPath);
  EXPECT_EQ(CodeOf(Operation::kRead, "entity/id/"), Code::kUnsupportedPath);
  EXPECT_EQ(CodeOf(Operation::kRead, "entity/id/" + std::string(600, 'a')), Code::kUnsupportedPath);
  EXPECT_EQ(CodeOf(Operation::kRead, "entity/id/unknown-id"), Code::kNotFound);
}

TEST_F(IdentityBackendTest, EntityListing) {
  EXPECT_EQ(CodeOf(Operation::kList, "entity/id"), Code::kNotFound);
  std::string a = Ok("entity", {{"name", "zed"}})["id"];
  std::string b = Ok("entity", {{"name", "amy"}})["id"];
  std::string alias =
      Ok("entity-alias",
         {{"name", "amy@x"}, {"mount_accessor", kJwt.accessor}, {"canonical_id", b}})["id"];
  Json ids = List("entity/id");
  std::vector<std::string> want = {a, b};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(ids["keys"], Json(want));
  EXPECT_EQ(ids["key_info"][a], Json({{"name", "zed"}}));
  Json amy_alias = ids["key_info"][b]["aliases"][0];
  EXPECT_EQ(amy_alias["id"], alias);
  EXPECT_EQ(amy_alias["name"], "amy@x");
  EXPECT_EQ(amy_alias["mount_type"], "jwt");
  EXPECT_EQ(amy_alias["mount_path"], "auth/jwt/");

  Json names = List("entity/name/");
  EXPECT_EQ(names["keys"], Json::array({"amy", "zed"}));
  EXPECT_EQ(names["key_info"][b]["name"], "amy");  // keyed by id, as Vault does
}

TEST_F(IdentityBackendTest, EntityBatchDelete) {
  std::string a = Ok("entity", {{"name", "a"}})["id"];
  std::string b = Ok("entity", {{"name", "b"}})["id"];
  std::string c = Ok("entity", {{"name", "c"}})["id"];
  EXPECT_EQ(Bad("entity/batch-delete", {{"entity_ids", Json::array()}}),
            "missing entity ids to delete");
  ASSERT_TRUE(Post("entity/batch-delete", {{"entity_ids", {a, b, "unknown"}}}).ok());
  EXPECT_EQ(List("entity/id")["keys"], Json::array({c}));
}

TEST_F(IdentityBackendTest, DeletingAnEntityDeletesItsAliasesAndMemberships) {
  std::string e = Ok("entity", {{"name", "alice"}})["id"];
  std::string alias =
      Ok("entity-alias",
         {{"name", "alice"}, {"mount_accessor", kJwt.accessor}, {"canonical_id", e}})["id"];
  std::string g = Ok("group", {{"name", "g"}, {"member_entity_ids", {e}}})["id"];
  ASSERT_TRUE(Call(Operation::kDelete, "entity/name/alice").ok());
  EXPECT_EQ(CodeOf(Operation::kRead, "entity-alias/id/" + alias), Code::kNotFound);
  EXPECT_EQ(Get("group/id/" + g)["member_entity_ids"], Json::array());
  // The alias name is free for a new entity.
  auto again = Post("entity-alias", {{"name", "alice"}, {"mount_accessor", kJwt.accessor}});
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->data["canonical_id"], e);
}

TEST_F(IdentityBackendTest, UnsupportedPathsAndOperations) {
  EXPECT_EQ(CodeOf(Operation::kRead, "entity"), Code::kUnsupportedOperation);
  EXPECT_EQ(CodeOf(Operation::kRead, "entity/id"), Code::kUnsupportedOperation);
  EXPECT_EQ(CodeOf(Operation::kUpdate, "entity/id", Json::object()), Code::kUnsupportedOperation);
  EXPECT_EQ(CodeOf(Operation::kList, "entity/id/abc"), Code::kUnsupportedOperation);
  EXPECT_EQ(CodeOf(Operation::kRead, "nope"), Code::kUnsupportedPath);
  EXPECT_EQ(CodeOf(Operation::kRead, "entity-alias/x"), Code::kUnsupportedPath);
  EXPECT_EQ(CodeOf(Operation::kRead, "lookup/entity"), Code::kUnsupportedOperation);
  // merge_entities and the oidc endpoints answer a clear 400.
  EXPECT_EQ(Bad("entity/merge", {{"from_entity_ids", {"a"}}, {"to_entity_id", "b"}}),
            "entity merging is not supported by this server");
  EXPECT_EQ(CodeOf(Operation::kUpdate, "oidc/config", {{"issuer", "https://x"}}),
            Code::kInvalidArgument);
  EXPECT_EQ(CodeOf(Operation::kRead, "oidc/token/role"), Code::kInvalidArgument);
  EXPECT_EQ(CodeOf(Operation::kList, "oidc/key"), Code::kInvalidArgument);
}

// --- entity aliases ------------------------------------------------------------------

TEST_F(IdentityBackendTest, EntityAliasLifecycle) {
  std::string e = Ok("entity", {{"name", "alice"}})["id"];
  // hvac create_or_update_entity_alias(name, canonical_id, mount_accessor)
  Json created = Ok("entity-alias", {{"name", "alice@x"},
                                     {"canonical_id", e},
                                     {"mount_accessor", kJwt.accessor},
                                     {"custom_metadata", {{"dept", "it"}}}});
  std::string id = created["id"];
  EXPECT_EQ(created["canonical_id"], e);

  Json a = Get("entity-alias/id/" + id);
  EXPECT_EQ(a["id"], id);
  EXPECT_EQ(a["canonical_id"], e);
  EXPECT_EQ(a["name"], "alice@x");
  EXPECT_EQ(a["mount_accessor"], kJwt.accessor);
  EXPECT_EQ(a["mount_type"], "jwt");
  EXPECT_EQ(a["mount_path"], "auth/jwt/");
  EXPECT_EQ(a["custom_metadata"], Json({{"dept", "it"}}));
  EXPECT_TRUE(a["metadata"].is_null());
  EXPECT_EQ(a["local"], false);
  EXPECT_EQ(a["namespace_id"], "root");
  EXPECT_EQ(a["creation_time"], "2024-01-01T00:00:00Z");
  EXPECT_EQ(Get("entity/id/" + e)["aliases"][0]["id"], id);

  Json listed = List("entity-alias/id");
  EXPECT_EQ(listed["keys"], Json::array({id}));
  EXPECT_EQ(listed["key_info"][id]["canonical_id"], e);
  EXPECT_EQ(listed["key_info"][id]["mount_type"], "jwt");

  // hvac update_entity_alias(alias_id, name, canonical_id, mount_accessor)
  Json upd = Ok("entity-alias/id/" + id,
                {{"name", "alice2"}, {"canonical_id", e}, {"mount_accessor", kUserpass.accessor}});
  EXPECT_EQ(upd["id"], id);
  a = Get("entity-alias/id/" + id);
  EXPECT_EQ(a["name"], "alice2");
  EXPECT_EQ(a["mount_type"], "userpass");
  EXPECT_EQ(a["custom_metadata"], Json({{"dept", "it"}}));  // kept when not sent

  // Nothing to change: 204.
  auto same = Post("entity-alias/id/" + id, Json::object());
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same->Empty());

  ASSERT_TRUE(Call(Operation::kDelete, "entity-alias/id/" + id).ok());
  EXPECT_EQ(CodeOf(Operation::kRead, "entity-alias/id/" + id), Code::kNotFound);
  EXPECT_EQ(Get("entity/id/" + e)["aliases"], Json::array());  // the entity stays
  EXPECT_EQ(CodeOf(Operation::kList, "entity-alias/id"), Code::kNotFound);
}

TEST_F(IdentityBackendTest, EntityAliasWithoutCanonicalIdCreatesAnEntity) {
  Json d = Ok("entity-alias", {{"name", "dave"}, {"mount_accessor", kJwt.accessor}});
  Json e = Get("entity/id/" + std::string(d["canonical_id"]));
  EXPECT_TRUE(std::regex_match(std::string(e["name"]), std::regex("entity_[0-9a-f]{8}")));
  EXPECT_EQ(e["aliases"][0]["name"], "dave");
}

TEST_F(IdentityBackendTest, AnAliasBelongsToOneEntity) {
  std::string e1 = Ok("entity", {{"name", "one"}})["id"];
  std::string e2 = Ok("entity", {{"name", "two"}})["id"];
  std::string id =
      Ok("entity-alias",
         {{"name", "x"}, {"mount_accessor", kJwt.accessor}, {"canonical_id", e1}})["id"];
  // Same (mount, name) again with another entity: the alias moves.
  Json moved =
      Ok("entity-alias", {{"name", "X"}, {"mount_accessor", kJwt.accessor}, {"canonical_id", e2}});
  EXPECT_EQ(moved["id"], id);
  EXPECT_EQ(moved["canonical_id"], e2);
  EXPECT_EQ(Get("entity/id/" + e1)["aliases"], Json::array());
  EXPECT_EQ(Get("entity/id/" + e2)["aliases"][0]["id"], id);
  EXPECT_EQ(List("entity-alias/id")["keys"].size(), 1u);
}

TEST_F(IdentityBackendTest, EntityAliasErrors) {
  std::string e = Ok("entity", {{"name", "alice"}})["id"];
  std::string e2 = Ok("entity", {{"name", "bob"}})["id"];
  std::string a =
      Ok("entity-alias",
         {{"name", "alice"}, {"mount_accessor", kJwt.accessor}, {"canonical_id", e}})["id"];
  Ok("entity-alias", {{"name", "bob"}, {"mount_accessor", kJwt.accessor}, {"canonical_id", e2}});
  EXPECT_EQ(Bad("entity-alias",
                {{"name", "alice2"}, {"mount_accessor", kJwt.accessor}, {"canonical_id", e}}),
            "Alias already exists for requested entity and mount accessor");
  EXPECT_EQ(Bad("entity-alias", {{"name", "x"}, {"mount_accessor", "auth_nope_1"}}),
            "invalid mount accessor \"auth_nope_1\"");
  EXPECT_EQ(Bad("entity-alias", {{"name", "x"}}),
            "'id' or 'mount_accessor' and 'name' must be provided");
  EXPECT_EQ(Bad("entity-alias",
                {{"name", "x"}, {"mount_accessor", kJwt.accessor}, {"canonical_id", "nosuch"}}),
            "invalid canonical ID");
  EXPECT_EQ(Bad("entity-alias", {{"id", "nosuch"}, {"name", "x"}}), "invalid alias ID provided");
  EXPECT_EQ(Bad("entity-alias/id/" + a, {{"name", "bob"}}),
            "alias with combination of mount accessor and name already exists");
  EXPECT_EQ(Bad("entity-alias/id/" + a, {{"canonical_id", e2}}),
            "Alias cannot be updated as the given entity already has an alias for this mount ");
  EXPECT_EQ(Bad("entity-alias/id/" + a, {{"canonical_id", "nosuch"}}),
            "given 'canonical_id' is not associated with an entity");
  Json cm = Json::object();
  for (int i = 0; i < 65; ++i) cm["k" + std::to_string(i)] = "v";
  EXPECT_EQ(Bad("entity-alias",
                {{"name", "y"}, {"mount_accessor", kJwt.accessor}, {"custom_metadata", cm}}),
            "custom_metadata validation failed: payload must contain at most 64 keys, provided 65");
  Bad("entity-alias", {{"name", "y"},
                       {"mount_accessor", kJwt.accessor},
                       {"custom_metadata", {{"k", std::string(513, 'v')}}}});
  Bad("entity-alias", {{"name", "y"},
                       {"mount_accessor", kJwt.accessor},
                       {"custom_metadata", {{"k", "bad\x01value"}}}});
  Bad("entity-alias", {{"name", std::string(513, 'y')}, {"mount_accessor", kJwt.accessor}});
  EXPECT_EQ(List("entity-alias/id")["keys"].size(), 2u);
}

// --- groups --------------------------------------------------------------------------

TEST_F(IdentityBackendTest, GroupCreateReadUpdateDelete) {
  std::string e = Ok("entity", {{"name", "alice"}})["id"];
  std::string child = Ok("group", {{"name", "child"}})["id"];
  // hvac create_or_update_group sends nulls for the unset member lists.
  auto created = Post("group", {{"name", "Parent"},
                                {"type", "internal"},
                                {"metadata", {{"k", "v"}}},
                                {"policies", {"Pol-B", "pol-a", "pol-b"}},
                                {"member_entity_ids", {e}},
                                {"member_group_ids", {child}}});
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  std::string id = created->data["id"];
  EXPECT_EQ(created->data["name"], "Parent");

  Json g = Get("group/id/" + id);
  EXPECT_EQ(g["id"], id);
  EXPECT_EQ(g["name"], "Parent");
  EXPECT_EQ(g["type"], "internal");
  EXPECT_EQ(g["policies"], Json::array({"pol-b", "pol-a"}));  // lowercased, first order kept
  EXPECT_EQ(g["metadata"], Json({{"k", "v"}}));
  EXPECT_EQ(g["member_entity_ids"], Json::array({e}));
  EXPECT_EQ(g["member_group_ids"], Json::array({child}));
  EXPECT_EQ(g["parent_group_ids"], Json::array());
  EXPECT_EQ(g["alias"], Json::object());
  EXPECT_EQ(g["modify_index"], 1);
  EXPECT_EQ(g["namespace_id"], "root");
  EXPECT_EQ(Get("group/id/" + child)["parent_group_ids"], Json::array({id}));
  EXPECT_EQ(Get("entity/id/" + e)["direct_group_ids"], Json::array({id}));

  // hvac update_group: POST group/id/<id>, 204.
  auto upd = Post("group/id/" + id, {{"name", "parent"},
                                     {"type", "internal"},
                                     {"member_entity_ids", nullptr},
                                     {"member_group_ids", nullptr},
                                     {"policies", "x"}});
  ASSERT_TRUE(upd.ok()) << upd.status().ToString();
  EXPECT_TRUE(upd->Empty());
  g = Get("group/name/PARENT");
  EXPECT_EQ(g["name"], "parent");
  EXPECT_EQ(g["policies"], Json::array({"x"}));
  EXPECT_EQ(g["member_entity_ids"], Json::array({e}));  // null left them alone
  EXPECT_EQ(g["modify_index"], 2);

  ASSERT_TRUE(Call(Operation::kDelete, "group/id/" + id).ok());
  EXPECT_EQ(CodeOf(Operation::kRead, "group/id/" + id), Code::kNotFound);
  EXPECT_EQ(Get("group/id/" + child)["parent_group_ids"], Json::array());
  EXPECT_EQ(Get("entity/id/" + e)["direct_group_ids"], Json::array());
  EXPECT_TRUE(Call(Operation::kDelete, "group/id/" + id).ok());
}

TEST_F(IdentityBackendTest, GroupByName) {
  // hvac create_or_update_group_by_name
  auto first = Post("group/name/devs", {{"type", "internal"}, {"policies", {"dev"}}});
  ASSERT_TRUE(first.ok());
  std::string id = first->data["id"];
  auto second = Post("group/name/devs", {{"type", "internal"}, {"policies", {"dev2"}}});
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->Empty());
  EXPECT_EQ(Get("group/name/devs")["policies"], Json::array({"dev2"}));
  // POST group with the name of an existing group updates it and answers its id.
  Json again = Ok("group", {{"name", "devs"}, {"metadata", {{"a", "b"}}}});
  EXPECT_EQ(again["id"], id);
  EXPECT_EQ(Get("group/id/" + id)["metadata"]["a"], "b");
  ASSERT_TRUE(Call(Operation::kDelete, "group/name/devs").ok());
  EXPECT_EQ(CodeOf(Operation::kRead, "group/name/devs"), Code::kNotFound);
}

TEST_F(IdentityBackendTest, GroupWriteErrors) {
  Ok("group", {{"name", "a"}});
  std::string b = Ok("group", {{"name", "b"}})["id"];
  std::string ext = Ok("group", {{"name", "ext"}, {"type", "external"}})["id"];
  EXPECT_EQ(Bad("group/id/" + b, {{"name", "A"}}), "group name is already in use");
  EXPECT_EQ(Bad("group", {{"id", "nosuch"}}), "invalid group ID");
  EXPECT_EQ(Bad("group", {{"id", ""}}), "empty group ID");
  EXPECT_EQ(Bad("group/id/" + b, {{"type", "external"}}), "group type cannot be changed");
  EXPECT_EQ(Bad("group", {{"name", "c"}, {"type", "weird"}}), "invalid group type \"weird\"");
  EXPECT_EQ(Bad("group", {{"name", "c"}, {"policies", {"root"}}}), "policies cannot contain root");
  EXPECT_EQ(Bad("group/id/" + ext, {{"member_entity_ids", {"x"}}}),
            "member entities can't be set manually for external groups");
  EXPECT_EQ(Bad("group/id/" + ext, {{"member_group_ids", {b}}}),
            "member groups can't be set for external groups");
  EXPECT_EQ(Bad("group", {{"name", "c"}, {"member_entity_ids", {"nosuch"}}}),
            "invalid entity ID \"nosuch\"");
  EXPECT_EQ(Bad("group", {{"name", "c"}, {"member_group_ids", "nosuch"}}),
            "invalid member group ID \"nosuch\"");
  Json many = Json::array();
  for (int i = 0; i < 513; ++i) many.push_back("e" + std::to_string(i));
  EXPECT_EQ(Bad("group", {{"name", "c"}, {"member_entity_ids", many}}),
            "member entity IDs exceeding the limit of 512");
  Bad("group", {{"name", "c"}, {"member_group_ids", {{"x", 1}}}});
  Bad("group", {{"name", std::string(513, 'g')}});
  EXPECT_EQ(CodeOf(Operation::kRead, "group/name/c"), Code::kNotFound);
  // Updating an external group without "type" keeps it external.
  EXPECT_TRUE(Post("group/id/" + ext, {{"policies", {"p"}}}).ok());
}

TEST_F(IdentityBackendTest, GroupGetsAGeneratedName) {
  Json d = Ok("group", Json::object());
  EXPECT_TRUE(std::regex_match(std::string(d["name"]), std::regex("group_[0-9a-f]{8}")));
  EXPECT_EQ(Get("group/id/" + std::string(d["id"]))["type"], "internal");
}

TEST_F(IdentityBackendTest, GroupListing) {
  std::string e = Ok("entity", {{"name", "e"}})["id"];
  std::string x = Ok("group", {{"name", "x"}, {"member_entity_ids", {e}}})["id"];
  std::string y = Ok("group", {{"name", "y"}, {"type", "external"}})["id"];
  Ok("group", {{"name", "parent"}, {"member_group_ids", {x}}});
  std::string ga =
      Ok("group-alias",
         {{"name", "ya"}, {"mount_accessor", kJwt.accessor}, {"canonical_id", y}})["id"];
  Json ids = List("group/id/");
  EXPECT_EQ(ids["keys"].size(), 3u);
  EXPECT_EQ(ids["key_info"][x]["name"], "x");
  EXPECT_EQ(ids["key_info"][x]["num_member_entities"], 1);
  EXPECT_EQ(ids["key_info"][x]["num_parent_groups"], 1);
  EXPECT_EQ(ids["key_info"][y]["alias"]["id"], ga);
  EXPECT_EQ(ids["key_info"][y]["alias"]["mount_path"], "auth/jwt/");
  EXPECT_EQ(List("group/name")["keys"], Json::array({"parent", "x", "y"}));
}

// --- group aliases -------------------------------------------------------------------

TEST_F(IdentityBackendTest, GroupAliasLifecycle) {
  std::string g = Ok("group", {{"name", "devs"}, {"type", "external"}})["id"];
  // hvac create_or_update_group_alias(name, mount_accessor, canonical_id)
  Json created =
      Ok("group-alias",
         {{"name", "developers"}, {"mount_accessor", kJwt.accessor}, {"canonical_id", g}});
  std::string id = created["id"];
  EXPECT_EQ(created["canonical_id"], g);

  Json a = Get("group-alias/id/" + id);
  EXPECT_EQ(a["name"], "developers");
  EXPECT_EQ(a["canonical_id"], g);
  EXPECT_EQ(a["mount_type"], "jwt");
  EXPECT_EQ(a["mount_path"], "auth/jwt/");
  Json ga = Get("group/id/" + g)["alias"];
  EXPECT_EQ(ga["id"], id);
  EXPECT_EQ(ga["name"], "developers");
  EXPECT_EQ(ga["mount_accessor"], kJwt.accessor);

  Json listed = List("group-alias/id");
  EXPECT_EQ(listed["keys"], Json::array({id}));
  EXPECT_EQ(listed["key_info"][id]["canonical_id"], g);

  // hvac update_group_alias(id, name, mount_accessor, canonical_id)
  Json upd = Ok("group-alias/id/" + id,
                {{"name", "devs2"}, {"mount_accessor", kUserpass.accessor}, {"canonical_id", g}});
  EXPECT_EQ(upd["id"], id);
  EXPECT_EQ(Get("group-alias/id/" + id)["mount_type"], "userpass");

  ASSERT_TRUE(Call(Operation::kDelete, "group-alias/id/" + id).ok());
  EXPECT_EQ(CodeOf(Operation::kRead, "group-alias/id/" + id), Code::kNotFound);
  EXPECT_EQ(Get("group/id/" + g)["alias"], Json::object());  // the group stays

  // Deleting a group deletes its alias.
  std::string id2 =
      Ok("group-alias",
         {{"name", "developers"}, {"mount_accessor", kJwt.accessor}, {"canonical_id", g}})["id"];
  ASSERT_TRUE(Call(Operation::kDelete, "group/id/" + g).ok());
  EXPECT_EQ(CodeOf(Operation::kRead, "group-alias/id/" + id2), Code::kNotFound);
  EXPECT_EQ(CodeOf(Operation::kList, "group-alias/id"), Code::kNotFound);
}

TEST_F(IdentityBackendTest, GroupAliasWithoutCanonicalIdCreatesAnExternalGroup) {
  Json d = Ok("group-alias", {{"name", "admins"}, {"mount_accessor", kJwt.accessor}});
  Json g = Get("group/id/" + std::string(d["canonical_id"]));
  EXPECT_EQ(g["type"], "external");
  EXPECT_EQ(g["alias"]["name"], "admins");
}

TEST_F(IdentityBackendTest, GroupAliasErrors) {
  std::string internal = Ok("group", {{"name", "int"}})["id"];
  std::string ext = Ok("group", {{"name", "ext"}, {"type", "external"}})["id"];
  std::string ext2 = Ok("group", {{"name", "ext2"}, {"type", "external"}})["id"];
  Ok("group-alias", {{"name", "a"}, {"mount_accessor", kJwt.accessor}, {"canonical_id", ext}});
  EXPECT_EQ(Bad("group-alias",
                {{"name", "b"}, {"mount_accessor", kJwt.accessor}, {"canonical_id", internal}}),
            "alias can't be set on an internal group");
  EXPECT_EQ(
      Bad("group-alias", {{"name", "b"}, {"mount_accessor", kJwt.accessor}, {"canonical_id", ext}}),
      "group already has an alias");
  EXPECT_EQ(Bad("group-alias",
                {{"name", "A"}, {"mount_accessor", kJwt.accessor}, {"canonical_id", ext2}}),
            "combination of mount and group alias name is already in use");
  EXPECT_EQ(Bad("group-alias", {{"mount_accessor", kJwt.accessor}}), "missing alias name");
  EXPECT_EQ(Bad("group-alias", {{"name", "b"}}), "missing mount_accessor");
  EXPECT_EQ(Bad("group-alias", {{"name", "b"}, {"mount_accessor", "nope"}}),
            "invalid mount accessor \"nope\"");
  EXPECT_EQ(Bad("group-alias",
                {{"name", "b"}, {"mount_accessor", kJwt.accessor}, {"canonical_id", "nosuch"}}),
            "invalid group ID given in 'canonical_id'");
  EXPECT_EQ(Bad("group-alias/id/nosuch", {{"name", "b"}, {"mount_accessor", kJwt.accessor}}),
            "invalid group alias ID");
  EXPECT_EQ(List("group-alias/id")["keys"].size(), 1u);
}

// --- lookups -------------------------------------------------------------------------

TEST_F(IdentityBackendTest, LookupEntity) {
  std::string e = Ok("entity", {{"name", "alice"}})["id"];
  std::string a =
      Ok("entity-alias",
         {{"name", "alice@x"}, {"mount_accessor", kJwt.accessor}, {"canonical_id", e}})["id"];
  for (const Json& q : {Json{{"name", "alice"}}, Json{{"id", e}}, Json{{"alias_id", a}},
                        Json{{"alias_name", "alice@x"}, {"alias_mount_accessor", kJwt.accessor}}}) {
    auto r = Post("lookup/entity", q);
    ASSERT_TRUE(r.ok()) << q.dump();
    EXPECT_EQ(r->data["id"], e) << q.dump();
    EXPECT_EQ(r->data["aliases"][0]["id"], a);
  }
  auto none = Post("lookup/entity", {{"name", "nobody"}});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->Empty());  // 204
  EXPECT_EQ(Bad("lookup/entity", Json::object()), "query parameter not supplied");
  EXPECT_EQ(Bad("lookup/entity", {{"name", "alice"}, {"id", e}}),
            "query parameter conflict; please supply distinct set of query parameters");
  EXPECT_EQ(Bad("lookup/entity", {{"alias_name", "alice@x"}}),
            "both 'alias_name' and 'alias_mount_accessor' needs to be set");
}

TEST_F(IdentityBackendTest, LookupGroup) {
  std::string g = Ok("group", {{"name", "devs"}, {"type", "external"}})["id"];
  std::string a =
      Ok("group-alias",
         {{"name", "developers"}, {"mount_accessor", kJwt.accessor}, {"canonical_id", g}})["id"];
  for (const Json& q :
       {Json{{"name", "devs"}}, Json{{"id", g}}, Json{{"alias_id", a}},
        Json{{"alias_name", "developers"}, {"alias_mount_accessor", kJwt.accessor}}}) {
    auto r = Post("lookup/group", q);
    ASSERT_TRUE(r.ok()) << q.dump();
    EXPECT_EQ(r->data["id"], g) << q.dump();
  }
  auto none = Post("lookup/group", {{"id", "nosuch"}});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->Empty());
  EXPECT_EQ(Bad("lookup/group", {{"alias_mount_accessor", kJwt.accessor}}),
            "both 'alias_name' and 'alias_mount_accessor' needs to be set");
}

TEST_F(IdentityBackendTest, UnknownFieldsAreReportedOnResponsesWithABody) {
  auto r = Post("group", {{"name", "g"}, {"colour", "red"}, {"age", 3}});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_EQ(r->warnings[0], "Endpoint ignored these unrecognized parameters: [age colour]");
}

}  // namespace
}  // namespace arca::core
