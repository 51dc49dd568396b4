// Tests for the KV v1 → v2 upgrade done by the v2 backend's Initialize().
#include <gtest/gtest.h>

#include "engines/engines.h"
#include "map_backend.h"

namespace arca::engines::test {
namespace {

using logical::Json;
using logical::Operation;

class KvUpgradeTest : public EngineFixture {
 protected:
  void WriteV1(const std::map<std::string, Json>& secrets) {
    auto v1 = MakeKv(storage_, clock_, "1");
    for (const auto& [k, v] : secrets) {
      ASSERT_TRUE(Do(*v1, Operation::kUpdate, k, v).ok()) << k;
    }
  }
  std::unique_ptr<logical::Backend> NewV2NoInit() {
    logical::BackendConfig c;
    c.options["version"] = "2";
    c.storage = &storage_;
    c.clock = &clock_;
    auto b = KvFactory()(c);
    EXPECT_TRUE(b.ok());
    return std::move(*b);
  }
};

TEST_F(KvUpgradeTest, MigratesEveryV1SecretToVersionOne) {
  std::map<std::string, Json> secrets = {{"a", {{"x", 1}}},
                                         {"b/c", {{"y", "two"}, {"ttl", "1h"}}},
                                         {"b/d/e", {{"z", {{"deep", true}}}}},
                                         {"meta/a", {{"collide", 1}}},
                                         {"_kv2x", {{"w", 0}}}};
  WriteV1(secrets);
  auto v2 = MakeKv(storage_, clock_, "2");  // Initialize runs the upgrade
  for (const auto& [k, v] : secrets) {
    ASSERT_OK_AND_ASSIGN(auto r, Do(*v2, Operation::kRead, "data/" + k));
    EXPECT_EQ(r.data["data"], v) << k;
    EXPECT_EQ(r.data["metadata"]["version"], 1) << k;
  }
  auto snap = storage_.Snapshot();
  for (const auto& [k, v] : secrets) EXPECT_EQ(snap.count(k), 0u) << k << " left behind";
  EXPECT_EQ(snap.count("_kv2/upgraded"), 1u);
  for (const auto& [k, v] : snap) EXPECT_EQ(k.rfind("_kv2/", 0), 0u) << k;
  ASSERT_OK_AND_ASSIGN(auto list, Do(*v2, Operation::kList, "metadata"));
  EXPECT_EQ(list.data["keys"], (Json{"_kv2x", "a", "b/", "meta/"}));
  // New writes continue the version sequence.
  ASSERT_OK_AND_ASSIGN(auto w, Do(*v2, Operation::kUpdate, "data/a", Json{{"data", {{"x", 2}}}}));
  EXPECT_EQ(w.data["version"], 2);
}

TEST_F(KvUpgradeTest, SecondInitializeChangesNothing) {
  WriteV1({{"a", {{"x", 1}}}, {"b/c", {{"y", 2}}}});
  auto v2 = MakeKv(storage_, clock_, "2");
  auto before = storage_.Snapshot();
  ASSERT_TRUE(v2->Initialize().ok());
  auto again = MakeKv(storage_, clock_, "2");
  EXPECT_EQ(storage_.Snapshot(), before);
}

TEST_F(KvUpgradeTest, InterruptedUpgradeResumes) {
  WriteV1({{"a", {{"x", 1}}}, {"b", {{"y", 2}}}});
  ASSERT_TRUE(MakeKv(storage_, clock_, "2") != nullptr);
  // Simulate a crash before the marker was written, with one key not yet moved.
  ASSERT_TRUE(storage_.Delete("_kv2/upgraded").ok());
  ASSERT_TRUE(storage_.Put("c", R"({"z":3})").ok());
  auto v2 = MakeKv(storage_, clock_, "2");
  for (const char* k : {"a", "b", "c"}) {
    ASSERT_OK_AND_ASSIGN(auto r, Do(*v2, Operation::kRead, std::string("data/") + k));
    EXPECT_EQ(r.data["metadata"]["version"], 1) << k;
  }
  ASSERT_OK_AND_ASSIGN(auto meta, Do(*v2, Operation::kRead, "metadata/a"));
  EXPECT_EQ(meta.data["current_version"], 1);
  EXPECT_EQ(storage_.Snapshot().count("_kv2/upgraded"), 1u);
}

TEST_F(KvUpgradeTest, FreshMountOnlyWritesMarker) {
  auto v2 = MakeKv(storage_, clock_, "2");
  auto snap = storage_.Snapshot();
  ASSERT_EQ(snap.size(), 1u);
  EXPECT_EQ(snap.begin()->first, "_kv2/upgraded");
}

TEST_F(KvUpgradeTest, NonJsonEntriesAreLeftAlone) {
  ASSERT_TRUE(storage_.Put("junk", "not json").ok());
  WriteV1({{"a", {{"x", 1}}}});
  auto v2 = MakeKv(storage_, clock_, "2");
  auto snap = storage_.Snapshot();
  EXPECT_EQ(snap.at("junk"), "not json");
  ASSERT_OK_AND_ASSIGN(auto r, Do(*v2, Operation::kRead, "data/a"));
  EXPECT_EQ(r.data["data"], (Json{{"x", 1}}));
}

TEST_F(KvUpgradeTest, RequestsWorkBeforeInitialize) {
  auto v2 = NewV2NoInit();
  ASSERT_OK_AND_ASSIGN(auto w, Do(*v2, Operation::kUpdate, "data/a", Json{{"data", {{"x", 1}}}}));
  EXPECT_EQ(w.data["version"], 1);
  ASSERT_TRUE(v2->Initialize().ok());
  ASSERT_OK_AND_ASSIGN(auto r, Do(*v2, Operation::kRead, "data/a"));
  EXPECT_EQ(r.data["data"], (Json{{"x", 1}}));
}

}  // namespace
}  // namespace arca::engines::test
