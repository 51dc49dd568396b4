// Tests for KV v2: data/, versions, CAS, delete/undelete/destroy, pruning,
// delete_version_after, patch, subkeys, routing and config.
#include <gtest/gtest.h>

#include <chrono>

#include "engines/engines.h"
#include "map_backend.h"

namespace arca::engines::test {
namespace {

using logical::Json;
using logical::Operation;
using logical::Response;
using namespace std::chrono_literals;

constexpr char kT0[] = "2024-01-01T00:00:00Z";

class KvV2Test : public EngineFixture {
 protected:
  void SetUp() override { kv_ = MakeKv(storage_, clock_, "2"); }

  StatusOr<Response> Put(const std::string& key, Json data, Json options = Json::object()) {
    return Do(*kv_, Operation::kUpdate, "data/" + key,
              Json{{"data", std::move(data)}, {"options", std::move(options)}});
  }
  StatusOr<Response> Get(const std::string& key, Json query = nullptr) {
    return Do(*kv_, Operation::kRead, "data/" + key, std::move(query));
  }
  Json Meta(const std::string& key) {
    auto r = Do(*kv_, Operation::kRead, "metadata/" + key);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->data : Json();
  }
  // Versions whose data is stored (inline or at a version key).
  std::size_t StoredVersions() { return storage_.StoredVersions(); }

  std::unique_ptr<logical::Backend> kv_;
};

TEST_F(KvV2Test, WriteReturnsVersionMetadata) {
  ASSERT_OK_AND_ASSIGN(auto w, Put("foo", Json{{"a", "b"}}));
  EXPECT_EQ(w.http_status, 0);
  EXPECT_EQ(w.data, (Json{{"version", 1},
                          {"created_time", kT0},
                          {"deletion_time", ""},
                          {"destroyed", false},
                          {"custom_metadata", nullptr}}));
  EXPECT_TRUE(w.warnings.empty());
  clock_.Advance(1500ms);
  ASSERT_OK_AND_ASSIGN(auto w2, Put("foo", Json{{"a", "c"}}));
  EXPECT_EQ(w2.data["version"], 2);
  EXPECT_EQ(w2.data["created_time"], "2024-01-01T00:00:01.5Z");
}

TEST_F(KvV2Test, ReadLatestAndSpecificVersion) {
  ASSERT_TRUE(Put("foo", Json{{"v", 1}}).ok());
  ASSERT_TRUE(Put("foo", Json{{"v", 2}, {"big", 12345678901234567890ULL}}).ok());
  ASSERT_OK_AND_ASSIGN(auto latest, Get("foo"));
  EXPECT_EQ(latest.data["data"], (Json{{"v", 2}, {"big", 12345678901234567890ULL}}));
  EXPECT_EQ(latest.data["metadata"]["version"], 2);
  EXPECT_EQ(latest.data["metadata"]["deletion_time"], "");
  EXPECT_EQ(latest.data["metadata"]["custom_metadata"], nullptr);
  EXPECT_EQ(latest.lease_duration, 0);
  ASSERT_OK_AND_ASSIGN(auto v1, Get("foo", Json{{"version", "1"}}));
  EXPECT_EQ(v1.data["data"], (Json{{"v", 1}}));
  EXPECT_EQ(v1.data["metadata"]["version"], 1);
  ASSERT_OK_AND_ASSIGN(auto v0, Get("foo", Json{{"version", 0}}));
  EXPECT_EQ(v0.data["metadata"]["version"], 2);
}

TEST_F(KvV2Test, ReadMissingKeyOrVersionIsPlainNotFound) {
  auto missing = Get("nope");
  EXPECT_CODE(missing, Code::kNotFound);
  EXPECT_EQ(missing.status().message(), "");
  ASSERT_TRUE(Put("foo", Json{{"v", 1}}).ok());
  auto out_of_range = Get("foo", Json{{"version", 7}});
  EXPECT_CODE(out_of_range, Code::kNotFound);
  auto bad = Get("foo", Json{{"version", "abc"}});
  EXPECT_CODE(bad, Code::kInvalidArgument);
}

TEST_F(KvV2Test, WriteNeedsDataObject) {
  auto none = Do(*kv_, Operation::kUpdate, "data/foo", Json{{"options", Json::object()}});
  EXPECT_CODE(none, Code::kInvalidArgument);
  EXPECT_EQ(none.status().message(), "no data provided");
  auto null_data = Do(*kv_, Operation::kUpdate, "data/foo", Json{{"data", nullptr}});
  EXPECT_EQ(null_data.status().message(), "no data provided");
  auto no_body = Do(*kv_, Operation::kUpdate, "data/foo");
  EXPECT_EQ(no_body.status().message(), "no data provided");
  auto not_object = Do(*kv_, Operation::kUpdate, "data/foo", Json{{"data", "str"}});
  EXPECT_CODE(not_object, Code::kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(auto empty, Put("foo", Json::object()));
  EXPECT_EQ(empty.data["version"], 1);
  ASSERT_OK_AND_ASSIGN(auto r, Get("foo"));
  EXPECT_EQ(r.data["data"], Json::object());
  // Options may be absent.
  ASSERT_TRUE(Do(*kv_, Operation::kCreate, "data/bar", Json{{"data", {{"a", 1}}}}).ok());
}

TEST_F(KvV2Test, CheckAndSet) {
  auto mismatch_new = Put("foo", Json{{"a", 1}}, Json{{"cas", 1}});
  EXPECT_EQ(mismatch_new.status().message(),
            "check-and-set parameter did not match the current version");
  ASSERT_OK_AND_ASSIGN(auto first, Put("foo", Json{{"a", 1}}, Json{{"cas", 0}}));
  EXPECT_EQ(first.data["version"], 1);
  auto again_zero = Put("foo", Json{{"a", 2}}, Json{{"cas", 0}});
  EXPECT_CODE(again_zero, Code::kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(auto second, Put("foo", Json{{"a", 2}}, Json{{"cas", "1"}}));
  EXPECT_EQ(second.data["version"], 2);
  auto bad = Put("foo", Json{{"a", 3}}, Json{{"cas", "abc"}});
  EXPECT_EQ(bad.status().message(), "error parsing check-and-set parameter");
  auto bad_obj = Put("foo", Json{{"a", 3}}, Json{{"cas", {{"x", 1}}}});
  EXPECT_EQ(bad_obj.status().message(), "error parsing check-and-set parameter");
  ASSERT_OK_AND_ASSIGN(auto r, Get("foo"));
  EXPECT_EQ(r.data["data"], (Json{{"a", 2}}));
  auto bad_options =
      Do(*kv_, Operation::kUpdate, "data/foo", Json{{"data", {{"a", 1}}}, {"options", "cas=1"}});
  EXPECT_CODE(bad_options, Code::kInvalidArgument);
}

TEST_F(KvV2Test, CasRequiredByConfigOrKeyMetadata) {
  ASSERT_TRUE(Do(*kv_, Operation::kUpdate, "config", Json{{"cas_required", true}}).ok());
  auto need = Put("foo", Json{{"a", 1}});
  EXPECT_EQ(need.status().message(), "check-and-set parameter required for this call");
  ASSERT_TRUE(Put("foo", Json{{"a", 1}}, Json{{"cas", 0}}).ok());
  ASSERT_TRUE(Do(*kv_, Operation::kUpdate, "config", Json{{"cas_required", false}}).ok());
  ASSERT_TRUE(Put("foo", Json{{"a", 2}}).ok());

  ASSERT_TRUE(Do(*kv_, Operation::kUpdate, "metadata/bar", Json{{"cas_required", true}}).ok());
  auto need_key = Put("bar", Json{{"a", 1}});
  EXPECT_EQ(need_key.status().message(), "check-and-set parameter required for this call");
  ASSERT_OK_AND_ASSIGN(auto ok, Put("bar", Json{{"a", 1}}, Json{{"cas", 0}}));
  EXPECT_EQ(ok.data["version"], 1);
}

TEST_F(KvV2Test, DeletedVersionReadsAsNotFoundWithEnvelope) {
  ASSERT_TRUE(Put("foo", Json{{"a", 1}}).ok());
  ASSERT_OK_AND_ASSIGN(auto del, Do(*kv_, Operation::kDelete, "data/foo"));
  EXPECT_TRUE(del.Empty());
  ASSERT_OK_AND_ASSIGN(auto r, Get("foo"));
  EXPECT_EQ(r.http_status, 404);
  EXPECT_FALSE(r.raw_body.has_value());
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_TRUE(r.data["data"].is_null());
  EXPECT_EQ(r.data["metadata"]["version"], 1);
  EXPECT_EQ(r.data["metadata"]["deletion_time"], kT0);
  EXPECT_EQ(r.data["metadata"]["destroyed"], false);
  // Deleting again is a no-op that keeps the first deletion time.
  clock_.Advance(10s);
  ASSERT_TRUE(Do(*kv_, Operation::kDelete, "data/foo").ok());
  EXPECT_EQ(Meta("foo")["versions"]["1"]["deletion_time"], kT0);
  // Missing keys delete fine.
  ASSERT_OK_AND_ASSIGN(auto missing, Do(*kv_, Operation::kDelete, "data/none"));
  EXPECT_TRUE(missing.Empty());
}

TEST_F(KvV2Test, DeleteAndUndeleteListedVersions) {
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(Put("foo", Json{{"v", i}}).ok());
  ASSERT_TRUE(Do(*kv_, Operation::kUpdate, "delete/foo", Json{{"versions", {1, 2}}}).ok());
  ASSERT_OK_AND_ASSIGN(auto v1, Get("foo", Json{{"version", 1}}));
  EXPECT_EQ(v1.http_status, 404);
  ASSERT_OK_AND_ASSIGN(auto v3, Get("foo"));
  EXPECT_EQ(v3.http_status, 0);
  EXPECT_EQ(v3.data["data"], (Json{{"v", 3}}));

  ASSERT_TRUE(Do(*kv_, Operation::kUpdate, "undelete/foo", Json{{"versions", "1,2"}}).ok());
  ASSERT_OK_AND_ASSIGN(auto back, Get("foo", Json{{"version", 2}}));
  EXPECT_EQ(back.http_status, 0);
  EXPECT_EQ(back.data["data"], (Json{{"v", 2}}));
  EXPECT_EQ(back.data["metadata"]["deletion_time"], "");

  ASSERT_TRUE(Do(*kv_, Operation::kUpdate, "delete/foo", Json{{"versions", Json{"3", "1"}}}).ok());
  auto meta = Meta("foo");
  EXPECT_NE(meta["versions"]["1"]["deletion_time"], "");
  EXPECT_EQ(meta["versions"]["2"]["deletion_time"], "");
  EXPECT_NE(meta["versions"]["3"]["deletion_time"], "");

  for (const char* path : {"delete/foo", "undelete/foo"}) {
    auto empty = Do(*kv_, Operation::kUpdate, path, Json{{"versions", Json::array()}});
    EXPECT_EQ(empty.status().message(), "No version number provided");
    auto none = Do(*kv_, Operation::kUpdate, path, Json::object());
    EXPECT_EQ(none.status().message(), "No version number provided");
  }
  auto bad = Do(*kv_, Operation::kUpdate, "delete/foo", Json{{"versions", "1,x"}});
  EXPECT_CODE(bad, Code::kInvalidArgument);
  // Versions that do not exist and keys that do not exist are ignored.
  ASSERT_TRUE(Do(*kv_, Operation::kUpdate, "delete/foo", Json{{"versions", {99}}}).ok());
  ASSERT_TRUE(Do(*kv_, Operation::kUpdate, "undelete/none", Json{{"versions", {1}}}).ok());
}

TEST_F(KvV2Test, DestroyRemovesDataPermanently) {
  ASSERT_TRUE(Put("foo", Json{{"v", 1}}).ok());
  ASSERT_TRUE(Put("foo", Json{{"v", 2}}).ok());
  EXPECT_EQ(StoredVersions(), 2u);
  auto empty = Do(*kv_, Operation::kUpdate, "destroy/foo", Json{{"versions", Json::array()}});
  EXPECT_EQ(empty.status().message(), "no version number provided");
  ASSERT_OK_AND_ASSIGN(auto d, Do(*kv_, Operation::kUpdate, "destroy/foo", Json{{"versions", 1}}));
  EXPECT_TRUE(d.Empty());
  EXPECT_EQ(StoredVersions(), 1u);
  ASSERT_OK_AND_ASSIGN(auto r, Get("foo", Json{{"version", 1}}));
  EXPECT_EQ(r.http_status, 404);
  EXPECT_TRUE(r.data["data"].is_null());
  EXPECT_EQ(r.data["metadata"]["destroyed"], true);
  // Undelete cannot bring a destroyed version back.
  ASSERT_TRUE(Do(*kv_, Operation::kUpdate, "undelete/foo", Json{{"versions", {1}}}).ok());
  ASSERT_OK_AND_ASSIGN(auto still, Get("foo", Json{{"version", 1}}));
  EXPECT_EQ(still.http_status, 404);
  EXPECT_EQ(Meta("foo")["versions"]["1"]["destroyed"], true);
}

TEST_F(KvV2Test, MaxVersionsFromConfigPrunesOldest) {
  ASSERT_TRUE(Do(*kv_, Operation::kUpdate, "config", Json{{"max_versions", 3}}).ok());
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(Put("foo", Json{{"v", i}}).ok());
  auto meta = Meta("foo");
  EXPECT_EQ(meta["current_version"], 5);
  EXPECT_EQ(meta["oldest_version"], 3);
  EXPECT_EQ(meta["versions"].size(), 3u);
  EXPECT_TRUE(meta["versions"].contains("3"));
  EXPECT_FALSE(meta["versions"].contains("2"));
  EXPECT_EQ(StoredVersions(), 3u);
  auto gone = Get("foo", Json{{"version", 2}});
  EXPECT_CODE(gone, Code::kNotFound);
  ASSERT_OK_AND_ASSIGN(auto v3, Get("foo", Json{{"version", 3}}));
  EXPECT_EQ(v3.data["data"], (Json{{"v", 3}}));
}

TEST_F(KvV2Test, OldestVersionStaysZeroUntilPruning) {
  for (int i = 1; i <= 9; ++i) ASSERT_TRUE(Put("foo", Json{{"v", i}}).ok());
  EXPECT_EQ(Meta("foo")["oldest_version"], 0);
  ASSERT_TRUE(Put("foo", Json{{"v", 10}}).ok());
  ASSERT_TRUE(Put("foo", Json{{"v", 11}}).ok());
  auto meta = Meta("foo");  // default max_versions is 10
  EXPECT_EQ(meta["versions"].size(), 10u);
  EXPECT_EQ(meta["oldest_version"], 2);
  EXPECT_FALSE(meta["versions"].contains("1"));
  EXPECT_EQ(StoredVersions(), 10u);
}

TEST_F(KvV2Test, EffectiveMaxVersionsIsTheLargerOfKeyAndConfig) {
  // Wire reference 5.3: effective = max(key max_versions, config max_versions).
  ASSERT_TRUE(Do(*kv_, Operation::kUpdate, "config", Json{{"max_versions", 3}}).ok());
  ASSERT_TRUE(Do(*kv_, Operation::kUpdate, "metadata/foo", Json{{"max_versions", 2}}).ok());
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(Put("foo", Json{{"v", i}}).ok());
  auto meta = Meta("foo");
  EXPECT_EQ(meta["versions"].size(), 3u);
  EXPECT_EQ(meta["oldest_version"], 3);
  // Lowering max_versions prunes several versions on the next write, down to
  // the mount's 3.
  ASSERT_TRUE(Do(*kv_, Operation::kUpdate, "metadata/bar", Json{{"max_versions", 6}}).ok());
  for (int i = 1; i <= 6; ++i) ASSERT_TRUE(Put("bar", Json{{"v", i}}).ok());
  EXPECT_EQ(Meta("bar")["versions"].size(), 6u);
  ASSERT_TRUE(Do(*kv_, Operation::kUpdate, "metadata/bar", Json{{"max_versions", 2}}).ok());
  ASSERT_TRUE(Put("bar", Json{{"v", 7}}).ok());
  auto bar = Meta("bar");
  EXPECT_EQ(bar["versions"].size(), 3u);
  EXPECT_TRUE(bar["versions"].contains("5"));
  EXPECT_TRUE(bar["versions"].contains("7"));
  EXPECT_EQ(StoredVersions(), 6u);
}

TEST_F(KvV2Test, DeleteVersionAfterSetsFutureDeletionTime) {
  ASSERT_TRUE(Do(*kv_, Operation::kUpdate, "config", Json{{"delete_version_after", "1m"}}).ok());
  ASSERT_OK_AND_ASSIGN(auto w, Put("foo", Json{{"a", 1}}));
  EXPECT_EQ(w.data["deletion_time"], "2024-01-01T00:01:00Z");
  clock_.Advance(59s);
  ASSERT_OK_AND_ASSIGN(auto before, Get("foo"));
  EXPECT_EQ(before.http_status, 0);
  EXPECT_EQ(before.data["data"], (Json{{"a", 1}}));
  clock_.Advance(2s);
  ASSERT_OK_AND_ASSIGN(auto after, Get("foo"));
  EXPECT_EQ(after.http_status, 404);
  EXPECT_TRUE(after.data["data"].is_null());
  // Undelete restarts the clock from now.
  ASSERT_TRUE(Do(*kv_, Operation::kUpdate, "undelete/foo", Json{{"versions", {1}}}).ok());
  ASSERT_OK_AND_ASSIGN(auto undone, Get("foo"));
  EXPECT_EQ(undone.http_status, 0);
  EXPECT_EQ(undone.data["metadata"]["deletion_time"], "2024-01-01T00:02:01Z");
}

TEST_F(KvV2Test, DeleteVersionAfterTakesSmallestAndCanBeDisabled) {
  ASSERT_TRUE(Do(*kv_, Operation::kUpdate, "config", Json{{"delete_version_after", "1h"}}).ok());
  ASSERT_TRUE(
      Do(*kv_, Operation::kUpdate, "metadata/foo", Json{{"delete_version_after", "10s"}}).ok());
  ASSERT_OK_AND_ASSIGN(auto w, Put("foo", Json{{"a", 1}}));
  EXPECT_EQ(w.data["deletion_time"], "2024-01-01T00:00:10Z");
  ASSERT_OK_AND_ASSIGN(auto other, Put("bar", Json{{"a", 1}}));
  EXPECT_EQ(other.data["deletion_time"], "2024-01-01T01:00:00Z");

  ASSERT_TRUE(Do(*kv_, Operation::kUpdate, "config", Json{{"delete_version_after", -1}}).ok());
  ASSERT_OK_AND_ASSIGN(auto cfg, Do(*kv_, Operation::kRead, "config"));
  EXPECT_EQ(cfg.data["delete_version_after"], "-1s");
  ASSERT_OK_AND_ASSIGN(auto disabled, Put("foo", Json{{"a", 2}}));
  EXPECT_EQ(disabled.data["deletion_time"], "");
}

TEST_F(KvV2Test, PatchMergesIntoNewVersion) {
  ASSERT_TRUE(Put("foo", Json{{"a", 1}, {"b", {{"c", 2}, {"d", 3}}}, {"e", 4}}).ok());
  ASSERT_OK_AND_ASSIGN(auto p, Do(*kv_, Operation::kPatch, "data/foo",
                                  Json{{"data", {{"b", {{"c", nullptr}}}, {"e", 5}, {"f", "x"}}},
                                       {"options", Json::object()}}));
  EXPECT_EQ(p.data["version"], 2);
  ASSERT_OK_AND_ASSIGN(auto r, Get("foo"));
  EXPECT_EQ(r.data["data"], (Json{{"a", 1}, {"b", {{"d", 3}}}, {"e", 5}, {"f", "x"}}));
  auto cas = Do(*kv_, Operation::kPatch, "data/foo",
                Json{{"data", {{"a", 2}}}, {"options", {{"cas", 1}}}});
  EXPECT_EQ(cas.status().message(), "check-and-set parameter did not match the current version");
  ASSERT_TRUE(
      Do(*kv_, Operation::kPatch, "data/foo", Json{{"data", {{"a", 2}}}, {"options", {{"cas", 2}}}})
          .ok());
  auto no_data = Do(*kv_, Operation::kPatch, "data/foo", Json{{"options", Json::object()}});
  EXPECT_EQ(no_data.status().message(), "no data provided");
}

TEST_F(KvV2Test, PatchOfMissingOrDeletedKey) {
  ASSERT_OK_AND_ASSIGN(auto missing,
                       Do(*kv_, Operation::kPatch, "data/none", Json{{"data", {{"a", 1}}}}));
  EXPECT_EQ(missing.http_status, 404);
  ASSERT_TRUE(missing.raw_body.has_value());
  EXPECT_EQ(*missing.raw_body, "");

  // Metadata but no versions: also the empty 404.
  ASSERT_TRUE(Do(*kv_, Operation::kUpdate, "metadata/bare", Json{{"max_versions", 3}}).ok());
  ASSERT_OK_AND_ASSIGN(auto bare,
                       Do(*kv_, Operation::kPatch, "data/bare", Json{{"data", {{"a", 1}}}}));
  EXPECT_EQ(bare.http_status, 404);
  EXPECT_TRUE(bare.raw_body.has_value());

  ASSERT_TRUE(Put("foo", Json{{"a", 1}}).ok());
  ASSERT_TRUE(Do(*kv_, Operation::kDelete, "data/foo").ok());
  ASSERT_OK_AND_ASSIGN(auto deleted,
                       Do(*kv_, Operation::kPatch, "data/foo", Json{{"data", {{"a", 2}}}}));
  EXPECT_EQ(deleted.http_status, 404);
  EXPECT_FALSE(deleted.raw_body.has_value());
  EXPECT_EQ(deleted.data["version"], 1);
  EXPECT_EQ(deleted.data["deletion_time"], kT0);
  EXPECT_EQ(Meta("foo")["current_version"], 1);
}

TEST_F(KvV2Test, SubkeysStripValues) {
  Json secret = {
      {"a", 1}, {"b", {{"c", "x"}, {"d", {{"e", true}}}}}, {"f", Json::object()}, {"g", {1, 2}}};
  ASSERT_TRUE(Put("foo", secret).ok());
  ASSERT_OK_AND_ASSIGN(auto all, Do(*kv_, Operation::kRead, "subkeys/foo"));
  EXPECT_EQ(all.data["subkeys"], (Json{{"a", nullptr},
                                       {"b", {{"c", nullptr}, {"d", {{"e", nullptr}}}}},
                                       {"f", nullptr},
                                       {"g", nullptr}}));
  EXPECT_EQ(all.data["metadata"]["version"], 1);
  ASSERT_OK_AND_ASSIGN(auto d1, Do(*kv_, Operation::kRead, "subkeys/foo", Json{{"depth", "1"}}));
  EXPECT_EQ(d1.data["subkeys"],
            (Json{{"a", nullptr}, {"b", nullptr}, {"f", nullptr}, {"g", nullptr}}));
  ASSERT_OK_AND_ASSIGN(auto d2, Do(*kv_, Operation::kRead, "subkeys/foo", Json{{"depth", 2}}));
  EXPECT_EQ(d2.data["subkeys"]["b"], (Json{{"c", nullptr}, {"d", nullptr}}));

  ASSERT_TRUE(Do(*kv_, Operation::kDelete, "data/foo").ok());
  ASSERT_OK_AND_ASSIGN(auto deleted, Do(*kv_, Operation::kRead, "subkeys/foo"));
  EXPECT_EQ(deleted.http_status, 404);
  EXPECT_TRUE(deleted.data["subkeys"].is_null());
  EXPECT_NE(deleted.data["metadata"]["deletion_time"], "");
  auto missing = Do(*kv_, Operation::kRead, "subkeys/none");
  EXPECT_CODE(missing, Code::kNotFound);
  auto write = Do(*kv_, Operation::kUpdate, "subkeys/foo", Json{{"a", 1}});
  EXPECT_CODE(write, Code::kUnsupportedOperation);
}

TEST_F(KvV2Test, InvalidPathsAnswerWithWarning) {
  struct Case {
    Operation op;
    const char* path;
    const char* verb;
  };
  for (const Case& c :
       {Case{Operation::kRead, "foo", "get"}, Case{Operation::kUpdate, "foo", "put"},
        Case{Operation::kCreate, "a/b", "put"}, Case{Operation::kPatch, "foo", "patch"},
        Case{Operation::kList, "foo/", "list"}, Case{Operation::kDelete, "foo", "delete"},
        Case{Operation::kRead, "data/", "get"}, Case{Operation::kRead, "data/foo/", "get"},
        Case{Operation::kList, "data/", "list"}, Case{Operation::kRead, "subkeys", "get"}}) {
    ASSERT_OK_AND_ASSIGN(auto r, Do(*kv_, c.op, c.path, Json{{"a", 1}}));
    EXPECT_EQ(r.http_status, 404) << c.path;
    EXPECT_FALSE(r.raw_body.has_value());
    EXPECT_TRUE(r.data.is_null());
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_EQ(
        r.warnings[0],
        std::string("Invalid path for a versioned K/V secrets engine. See the API docs for "
                    "the appropriate API endpoints to use. If using the Vault CLI, use 'vault "
                    "kv ") +
            c.verb + "' for this operation.");
  }
  for (const char* root : {"data", "metadata", "delete", "undelete", "destroy"}) {
    ASSERT_OK_AND_ASSIGN(auto r, Do(*kv_, Operation::kRead, root));
    EXPECT_EQ(r.http_status, 404);
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_EQ(r.warnings[0],
              "Non-listing operations on the root of a K/V v2 mount are not supported.");
  }
}

TEST_F(KvV2Test, UnsupportedOperationsOnKnownPaths) {
  auto cfg_delete = Do(*kv_, Operation::kDelete, "config");
  EXPECT_CODE(cfg_delete, Code::kUnsupportedOperation);
  auto delete_read = Do(*kv_, Operation::kRead, "delete/foo");
  EXPECT_CODE(delete_read, Code::kUnsupportedOperation);
  auto data_list = Do(*kv_, Operation::kList, "data/foo");
  EXPECT_CODE(data_list, Code::kUnsupportedOperation);
}

TEST_F(KvV2Test, ConfigReadAndWrite) {
  ASSERT_OK_AND_ASSIGN(auto def, Do(*kv_, Operation::kRead, "config"));
  EXPECT_EQ(def.data,
            (Json{{"max_versions", 0}, {"cas_required", false}, {"delete_version_after", "0s"}}));
  ASSERT_OK_AND_ASSIGN(
      auto w,
      Do(*kv_, Operation::kUpdate, "config",
         Json{{"max_versions", "7"}, {"cas_required", "true"}, {"delete_version_after", "3h"}}));
  EXPECT_TRUE(w.Empty());
  ASSERT_OK_AND_ASSIGN(auto r, Do(*kv_, Operation::kRead, "config"));
  EXPECT_EQ(
      r.data,
      (Json{{"max_versions", 7}, {"cas_required", true}, {"delete_version_after", "3h0m0s"}}));
  // Partial update keeps the other fields; 0 clears delete_version_after.
  ASSERT_TRUE(Do(*kv_, Operation::kUpdate, "config", Json{{"delete_version_after", "0s"}}).ok());
  ASSERT_OK_AND_ASSIGN(auto r2, Do(*kv_, Operation::kRead, "config"));
  EXPECT_EQ(r2.data["delete_version_after"], "0s");
  EXPECT_EQ(r2.data["max_versions"], 7);
  ASSERT_OK_AND_ASSIGN(auto nothing, Do(*kv_, Operation::kUpdate, "config", Json{{"other", 1}}));
  EXPECT_TRUE(nothing.Empty());
  auto negative = Do(*kv_, Operation::kUpdate, "config", Json{{"max_versions", -1}});
  EXPECT_CODE(negative, Code::kInvalidArgument);
  auto bad_bool = Do(*kv_, Operation::kUpdate, "config", Json{{"cas_required", "maybe"}});
  EXPECT_CODE(bad_bool, Code::kInvalidArgument);
}

TEST_F(KvV2Test, UnknownAndPathFieldsProduceWarnings) {
  ASSERT_OK_AND_ASSIGN(auto w,
                       Do(*kv_, Operation::kUpdate, "data/foo",
                          Json{{"data", {{"a", 1}}}, {"zeta", 1}, {"alpha", 2}, {"path", "x"}}));
  ASSERT_EQ(w.warnings.size(), 2u);
  EXPECT_EQ(w.warnings[0], "Endpoint ignored these unrecognized parameters: [alpha zeta]");
  EXPECT_EQ(w.warnings[1],
            "Endpoint replaced the value of these parameters with the values captured from the "
            "endpoint's path: [path]");
  // 204s carry no warnings.
  ASSERT_OK_AND_ASSIGN(
      auto d, Do(*kv_, Operation::kUpdate, "delete/foo", Json{{"versions", {1}}, {"junk", 1}}));
  EXPECT_TRUE(d.Empty());
}

TEST_F(KvV2Test, ExistenceChecks) {
  EXPECT_FALSE(Exists(*kv_, Operation::kUpdate, "data/foo"));
  EXPECT_FALSE(Exists(*kv_, Operation::kUpdate, "metadata/foo"));
  EXPECT_TRUE(Exists(*kv_, Operation::kUpdate, "config"));
  EXPECT_TRUE(Exists(*kv_, Operation::kUpdate, "destroy/foo"));
  ASSERT_TRUE(Put("foo", Json{{"a", 1}}).ok());
  EXPECT_TRUE(Exists(*kv_, Operation::kUpdate, "data/foo"));
  EXPECT_TRUE(Exists(*kv_, Operation::kUpdate, "metadata/foo"));
  ASSERT_TRUE(Do(*kv_, Operation::kUpdate, "metadata/bar", Json{{"max_versions", 1}}).ok());
  EXPECT_TRUE(Exists(*kv_, Operation::kUpdate, "data/bar"));
}

TEST_F(KvV2Test, LargeValuesRoundTrip) {
  std::string big(2 * 1024 * 1024, 'x');
  ASSERT_TRUE(Put("big", Json{{"blob", big}}).ok());
  ASSERT_OK_AND_ASSIGN(auto r, Get("big"));
  EXPECT_EQ(r.data["data"]["blob"].get<std::string>().size(), big.size());
}

TEST_F(KvV2Test, InvalidUtf8DoesNotThrow) {
  ASSERT_OK_AND_ASSIGN(auto w, Put("bad", Json{{"s", std::string("\xff\xfe")}}));
  EXPECT_EQ(w.data["version"], 1);
  ASSERT_OK_AND_ASSIGN(auto r, Get("bad"));
  EXPECT_TRUE(r.data["data"]["s"].is_string());
}

}  // namespace
}  // namespace arca::engines::test
