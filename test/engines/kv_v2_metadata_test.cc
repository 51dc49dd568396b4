// Tests for KV v2 metadata/: read, write, patch, delete, list and
// custom_metadata validation.
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

class KvV2MetadataTest : public EngineFixture {
 protected:
  void SetUp() override { kv_ = MakeKv(storage_, clock_, "2"); }

  StatusOr<Response> Put(const std::string& key, Json data) {
    return Do(*kv_, Operation::kUpdate, "data/" + key, Json{{"data", std::move(data)}});
  }
  StatusOr<Response> WriteMeta(const std::string& key, Json body) {
    return Do(*kv_, Operation::kUpdate, "metadata/" + key, std::move(body));
  }
  StatusOr<Response> PatchMeta(const std::string& key, Json body) {
    return Do(*kv_, Operation::kPatch, "metadata/" + key, std::move(body));
  }
  Json Meta(const std::string& key) {
    auto r = Do(*kv_, Operation::kRead, "metadata/" + key);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->data : Json();
  }

  std::unique_ptr<logical::Backend> kv_;
};

TEST_F(KvV2MetadataTest, ReadShowsEveryVersion) {
  ASSERT_TRUE(Put("foo", Json{{"v", 1}}).ok());
  clock_.Advance(1s);
  ASSERT_TRUE(Put("foo", Json{{"v", 2}}).ok());
  clock_.Advance(1s);
  ASSERT_TRUE(Put("foo", Json{{"v", 3}}).ok());
  ASSERT_TRUE(Do(*kv_, Operation::kUpdate, "destroy/foo", Json{{"versions", {2}}}).ok());
  ASSERT_OK_AND_ASSIGN(auto r, Do(*kv_, Operation::kRead, "metadata/foo"));
  EXPECT_EQ(r.lease_duration, 0);
  Json expected = {
      {"cas_required", false},
      {"created_time", kT0},
      {"updated_time", "2024-01-01T00:00:02Z"},
      {"current_version", 3},
      {"oldest_version", 0},
      {"max_versions", 0},
      {"delete_version_after", "0s"},
      {"custom_metadata", nullptr},
      {"versions",
       {{"1", {{"created_time", kT0}, {"deletion_time", ""}, {"destroyed", false}}},
        {"2",
         {{"created_time", "2024-01-01T00:00:01Z"}, {"deletion_time", ""}, {"destroyed", true}}},
        {"3",
         {{"created_time", "2024-01-01T00:00:02Z"},
          {"deletion_time", ""},
          {"destroyed", false}}}}}};
  EXPECT_EQ(r.data, expected);
  auto missing = Do(*kv_, Operation::kRead, "metadata/none");
  EXPECT_CODE(missing, Code::kNotFound);
  auto root = Do(*kv_, Operation::kRead, "metadata/");
  EXPECT_CODE(root, Code::kNotFound);
}

TEST_F(KvV2MetadataTest, WriteCreatesEntryWithoutVersions) {
  ASSERT_OK_AND_ASSIGN(auto w,
                       WriteMeta("foo", Json{{"max_versions", 4},
                                             {"cas_required", true},
                                             {"delete_version_after", "3h"},
                                             {"custom_metadata", {{"owner", "ops"}, {"n", 2}}}}));
  EXPECT_TRUE(w.Empty());
  Json m = Meta("foo");
  EXPECT_EQ(m["current_version"], 0);
  EXPECT_EQ(m["versions"], Json::object());
  EXPECT_EQ(m["max_versions"], 4);
  EXPECT_EQ(m["cas_required"], true);
  EXPECT_EQ(m["delete_version_after"], "3h0m0s");
  EXPECT_EQ(m["custom_metadata"], (Json{{"owner", "ops"}, {"n", "2"}}));
  EXPECT_EQ(m["created_time"], kT0);
  auto data = Do(*kv_, Operation::kRead, "data/foo");
  EXPECT_CODE(data, Code::kNotFound);

  // Data responses carry the key's custom metadata.
  ASSERT_OK_AND_ASSIGN(auto put, Do(*kv_, Operation::kUpdate, "data/foo",
                                    Json{{"data", {{"a", 1}}}, {"options", {{"cas", 0}}}}));
  EXPECT_EQ(put.data["custom_metadata"], (Json{{"owner", "ops"}, {"n", "2"}}));
  ASSERT_OK_AND_ASSIGN(auto read, Do(*kv_, Operation::kRead, "data/foo"));
  EXPECT_EQ(read.data["metadata"]["custom_metadata"]["owner"], "ops");
}

TEST_F(KvV2MetadataTest, WriteWithoutKnownFieldsDoesNothing) {
  ASSERT_OK_AND_ASSIGN(auto w, WriteMeta("foo", Json{{"other", 1}}));
  EXPECT_TRUE(w.Empty());
  auto r = Do(*kv_, Operation::kRead, "metadata/foo");
  EXPECT_CODE(r, Code::kNotFound);
  ASSERT_OK_AND_ASSIGN(auto nulls, WriteMeta("foo", Json{{"max_versions", nullptr}}));
  EXPECT_TRUE(nulls.Empty());
  auto r2 = Do(*kv_, Operation::kRead, "metadata/foo");
  EXPECT_CODE(r2, Code::kNotFound);
}

TEST_F(KvV2MetadataTest, WriteUpdatesOnlyGivenFields) {
  ASSERT_TRUE(WriteMeta("foo", Json{{"max_versions", 4}, {"custom_metadata", {{"a", "1"}}}}).ok());
  ASSERT_TRUE(WriteMeta("foo", Json{{"cas_required", true}, {"delete_version_after", "0s"}}).ok());
  Json m = Meta("foo");
  EXPECT_EQ(m["max_versions"], 4);
  EXPECT_EQ(m["cas_required"], true);
  EXPECT_EQ(m["custom_metadata"], (Json{{"a", "1"}}));
  // custom_metadata is replaced as a whole by a write.
  ASSERT_TRUE(WriteMeta("foo", Json{{"custom_metadata", {{"b", "2"}}}}).ok());
  EXPECT_EQ(Meta("foo")["custom_metadata"], (Json{{"b", "2"}}));
  ASSERT_TRUE(WriteMeta("foo", Json{{"custom_metadata", Json::object()}}).ok());
  EXPECT_EQ(Meta("foo")["custom_metadata"], nullptr);
  auto negative = WriteMeta("foo", Json{{"delete_version_after", "-1s"}});
  EXPECT_CODE(negative, Code::kInvalidArgument);
}

TEST_F(KvV2MetadataTest, CasRequiredFalseAgainstConfigWarns) {
  ASSERT_TRUE(Do(*kv_, Operation::kUpdate, "config", Json{{"cas_required", true}}).ok());
  ASSERT_OK_AND_ASSIGN(auto w, WriteMeta("foo", Json{{"cas_required", false}}));
  EXPECT_EQ(w.http_status, 0);
  ASSERT_EQ(w.warnings.size(), 1u);
  EXPECT_EQ(w.warnings[0],
            "\"cas_required\" set to false, but is mandated by backend config. This value will be "
            "ignored.");
}

TEST_F(KvV2MetadataTest, CustomMetadataValidation) {
  const std::string prefix = "custom_metadata validation failed: ";
  Json many = Json::object();
  for (int i = 0; i < 65; ++i) many["k" + std::to_string(i)] = "v";
  auto too_many = WriteMeta("foo", Json{{"custom_metadata", many}});
  EXPECT_CODE(too_many, Code::kInvalidArgument);
  EXPECT_EQ(too_many.status().message(),
            prefix + "payload must contain at most 64 keys, provided 65");

  Json sixty_four = Json::object();
  for (int i = 0; i < 64; ++i) sixty_four["k" + std::to_string(i)] = "v";
  EXPECT_TRUE(WriteMeta("ok", Json{{"custom_metadata", sixty_four}}).ok());

  std::string long_key(129, 'k');
  auto key_len = WriteMeta("foo", Json{{"custom_metadata", {{long_key, "v"}}}});
  EXPECT_EQ(key_len.status().message(),
            prefix + "length of key \"" + long_key + "\" is 129 but must be 0 < len(key) <= 128");
  auto value_len = WriteMeta("foo", Json{{"custom_metadata", {{"k", std::string(513, 'v')}}}});
  EXPECT_EQ(value_len.status().message(),
            prefix + "length of value for key \"k\" is 513 but must be 0 < len(value) <= 512");
  EXPECT_TRUE(
      WriteMeta("ok", Json{{"custom_metadata", {{std::string(128, 'k'), std::string(512, 'v')}}}})
          .ok());
  auto empty_value = WriteMeta("foo", Json{{"custom_metadata", {{"k", ""}}}});
  EXPECT_CODE(empty_value, Code::kInvalidArgument);
  auto null_value = WriteMeta("foo", Json{{"custom_metadata", {{"k", nullptr}}}});
  EXPECT_CODE(null_value, Code::kInvalidArgument);
  auto unprintable = WriteMeta("foo", Json{{"custom_metadata", {{"k", "a\x01"}}}});
  EXPECT_EQ(unprintable.status().message(),
            prefix + "value for key \"k\" contains unprintable characters");
  auto unprintable_key = WriteMeta("foo", Json{{"custom_metadata", {{"a\tb", "v"}}}});
  EXPECT_CODE(unprintable_key, Code::kInvalidArgument);
  auto nested = WriteMeta("foo", Json{{"custom_metadata", {{"k", {{"x", 1}}}}}});
  EXPECT_CODE(nested, Code::kInvalidArgument);
  auto not_map = WriteMeta("foo", Json{{"custom_metadata", "k=v"}});
  EXPECT_CODE(not_map, Code::kInvalidArgument);
  EXPECT_TRUE(WriteMeta("ok", Json{{"custom_metadata", {{"ünïcode", "välue ✓"}}}}).ok());
  auto nbsp = WriteMeta("foo", Json{{"custom_metadata",
                                     {{"k",
                                       "a\xc2\xa0"
                                       "b"}}}});
  EXPECT_CODE(nbsp, Code::kInvalidArgument);
  auto missing = Do(*kv_, Operation::kRead, "metadata/foo");
  EXPECT_CODE(missing, Code::kNotFound);
}

TEST_F(KvV2MetadataTest, PatchMergesFields) {
  ASSERT_TRUE(WriteMeta("foo", Json{{"max_versions", 4},
                                    {"cas_required", true},
                                    {"custom_metadata", {{"a", "1"}, {"b", "2"}}}})
                  .ok());
  ASSERT_OK_AND_ASSIGN(auto p,
                       PatchMeta("foo", Json{{"custom_metadata", {{"a", nullptr}, {"c", "3"}}},
                                             {"delete_version_after", "1m"}}));
  EXPECT_TRUE(p.Empty());
  Json m = Meta("foo");
  EXPECT_EQ(m["custom_metadata"], (Json{{"b", "2"}, {"c", "3"}}));
  EXPECT_EQ(m["max_versions"], 4);
  EXPECT_EQ(m["cas_required"], true);
  EXPECT_EQ(m["delete_version_after"], "1m0s");
  // null resets a field to its default.
  ASSERT_TRUE(PatchMeta("foo", Json{{"max_versions", nullptr}, {"cas_required", false}}).ok());
  m = Meta("foo");
  EXPECT_EQ(m["max_versions"], 0);
  EXPECT_EQ(m["cas_required"], false);
  EXPECT_EQ(m["custom_metadata"], (Json{{"b", "2"}, {"c", "3"}}));
  ASSERT_TRUE(PatchMeta("foo", Json{{"custom_metadata", nullptr}}).ok());
  EXPECT_EQ(Meta("foo")["custom_metadata"], nullptr);

  auto bad = PatchMeta("foo", Json{{"custom_metadata", {{"k", ""}}}});
  EXPECT_CODE(bad, Code::kInvalidArgument);
}

TEST_F(KvV2MetadataTest, PatchOfMissingKeyIsEmptyNotFound) {
  ASSERT_OK_AND_ASSIGN(auto p, PatchMeta("none", Json{{"max_versions", 2}}));
  EXPECT_EQ(p.http_status, 404);
  ASSERT_TRUE(p.raw_body.has_value());
  EXPECT_EQ(*p.raw_body, "");
  auto r = Do(*kv_, Operation::kRead, "metadata/none");
  EXPECT_CODE(r, Code::kNotFound);
}

TEST_F(KvV2MetadataTest, PatchMergedCustomMetadataIsBounded) {
  Json sixty_four = Json::object();
  for (int i = 0; i < 64; ++i) sixty_four["k" + std::to_string(i)] = "v";
  ASSERT_TRUE(WriteMeta("foo", Json{{"custom_metadata", sixty_four}}).ok());
  auto over = PatchMeta("foo", Json{{"custom_metadata", {{"extra", "v"}}}});
  EXPECT_CODE(over, Code::kInvalidArgument);
  EXPECT_EQ(Meta("foo")["custom_metadata"].size(), 64u);
}

TEST_F(KvV2MetadataTest, DeleteRemovesEveryVersionAndRestartsNumbering) {
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(Put("foo", Json{{"v", i}}).ok());
  ASSERT_TRUE(Put("other", Json{{"v", 1}}).ok());
  ASSERT_OK_AND_ASSIGN(auto d, Do(*kv_, Operation::kDelete, "metadata/foo"));
  EXPECT_TRUE(d.Empty());
  auto meta = Do(*kv_, Operation::kRead, "metadata/foo");
  EXPECT_CODE(meta, Code::kNotFound);
  auto data = Do(*kv_, Operation::kRead, "data/foo");
  EXPECT_CODE(data, Code::kNotFound);
  EXPECT_EQ(storage_.StoredVersions(), 1u);  // only "other"
  ASSERT_OK_AND_ASSIGN(auto w, Put("foo", Json{{"v", "new"}}));
  EXPECT_EQ(w.data["version"], 1);
  ASSERT_OK_AND_ASSIGN(auto missing, Do(*kv_, Operation::kDelete, "metadata/none"));
  EXPECT_TRUE(missing.Empty());
}

TEST_F(KvV2MetadataTest, ListChildrenOfMetadata) {
  for (const char* k : {"a", "b/c", "b/d/e", "z"}) ASSERT_TRUE(Put(k, Json{{"v", 1}}).ok());
  ASSERT_TRUE(WriteMeta("m", Json{{"max_versions", 1}}).ok());
  ASSERT_OK_AND_ASSIGN(auto root, Do(*kv_, Operation::kList, "metadata/"));
  EXPECT_EQ(root.data["keys"], (Json{"a", "b/", "m", "z"}));
  ASSERT_OK_AND_ASSIGN(auto bare, Do(*kv_, Operation::kList, "metadata"));
  EXPECT_EQ(bare.data["keys"], root.data["keys"]);
  ASSERT_OK_AND_ASSIGN(auto b, Do(*kv_, Operation::kList, "metadata/b/"));
  EXPECT_EQ(b.data["keys"], (Json{"c", "d/"}));
  ASSERT_OK_AND_ASSIGN(auto b2, Do(*kv_, Operation::kList, "metadata/b"));
  EXPECT_EQ(b2.data["keys"], (Json{"c", "d/"}));
  auto none = Do(*kv_, Operation::kList, "metadata/nothing/");
  EXPECT_CODE(none, Code::kNotFound);
  ASSERT_TRUE(Do(*kv_, Operation::kDelete, "metadata/b/c").ok());
  ASSERT_TRUE(Do(*kv_, Operation::kDelete, "metadata/b/d/e").ok());
  auto empty_dir = Do(*kv_, Operation::kList, "metadata/b/");
  EXPECT_CODE(empty_dir, Code::kNotFound);
  // Soft-deleted keys still list.
  ASSERT_TRUE(Do(*kv_, Operation::kDelete, "data/a").ok());
  ASSERT_OK_AND_ASSIGN(auto after, Do(*kv_, Operation::kList, "metadata"));
  EXPECT_EQ(after.data["keys"], (Json{"a", "m", "z"}));
}

TEST_F(KvV2MetadataTest, MissingPathOnWrite) {
  for (Operation op : {Operation::kUpdate, Operation::kPatch}) {
    auto r = Do(*kv_, op, "metadata/", Json{{"max_versions", 1}});
    EXPECT_CODE(r, Code::kInvalidArgument);
    EXPECT_EQ(r.status().message(), "missing path");
  }
}

}  // namespace
}  // namespace arca::engines::test
