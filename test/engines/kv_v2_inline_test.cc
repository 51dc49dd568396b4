// KV v2 version data kept inline in the key's metadata record (small
// versions, within the key's inline budget) or at its own version key (the
// others): a write of a small secret is one storage put; reads, patch,
// pruning, destroy and metadata delete find the data wherever it is; records
// written before inline data existed still read.
#include <gtest/gtest.h>

#include "engines/internal/kv_v2.h"
#include "map_backend.h"

namespace arca::engines::test {
namespace {

using internal::kInlineBudget;
using internal::kInlineVersionMax;
using logical::Json;
using logical::Operation;
using logical::Response;

// Counts the ops of each Txn: puts and deletes.
class CountingMapBackend final : public MapBackend {
 public:
  Status Txn(const std::vector<storage::Condition>& c,
             const std::vector<storage::Op>& ops) override {
    {
      std::lock_guard g(mu_);
      last_ops_ = ops.size();
    }
    return MapBackend::Txn(c, ops);
  }
  std::size_t last_ops() const {
    std::lock_guard g(mu_);
    return last_ops_;
  }

 private:
  mutable std::mutex mu_;
  std::size_t last_ops_ = 0;
};

class KvV2InlineTest : public KvV2Over<CountingMapBackend> {
 protected:
  Json Read(const std::string& key, int version = 0) {
    auto r =
        Do(Operation::kRead, "data/" + key, version ? Json{{"version", version}} : Json(nullptr));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->data["data"] : Json();
  }
  // A string value making the version's JSON text about `bytes` long.
  static std::string Filler(std::size_t bytes) { return std::string(bytes - 10, 'x'); }
};

TEST_F(KvV2InlineTest, ASmallVersionIsInlineAndItsWriteIsOnePut) {
  ASSERT_OK_AND_ASSIGN(auto w, Put("a", Json{{"password", "s3cr3t"}}));
  EXPECT_EQ(w.data["version"], 1);
  EXPECT_EQ(storage_.last_ops(), 1u);  // the metadata record alone
  EXPECT_EQ(storage_.VersionKeys(), 0u);
  EXPECT_EQ(storage_.InlineVersions(), 1u);
  EXPECT_EQ(Read("a"), (Json{{"password", "s3cr3t"}}));
  ASSERT_TRUE(Put("a", Json{{"password", "other"}}).ok());
  EXPECT_EQ(storage_.last_ops(), 1u);
  EXPECT_EQ(Read("a", 1), (Json{{"password", "s3cr3t"}}));
  EXPECT_EQ(Read("a", 2), (Json{{"password", "other"}}));
}

TEST_F(KvV2InlineTest, ALargeVersionGoesToItsVersionKey) {
  const std::string big(kInlineVersionMax + 1, 'b');
  ASSERT_TRUE(Put("big", Json{{"v", big}}).ok());
  EXPECT_EQ(storage_.last_ops(), 2u);
  EXPECT_EQ(storage_.VersionKeys(), 1u);
  EXPECT_EQ(storage_.InlineVersions(), 0u);
  EXPECT_EQ(Read("big"), (Json{{"v", big}}));
}

TEST_F(KvV2InlineTest, VersionsPastTheBudgetGoToVersionKeysAndAllRead) {
  const std::size_t each = kInlineBudget * 2 / 5;  // two fit, the third does not
  std::vector<std::string> values;
  for (int i = 0; i < 3; ++i) {
    values.push_back(Filler(each) + std::to_string(i));
    ASSERT_TRUE(Put("k", Json{{"v", values.back()}}).ok());
  }
  EXPECT_EQ(storage_.InlineVersions(), 2u);
  EXPECT_EQ(storage_.VersionKeys(), 1u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Read("k", i + 1), (Json{{"v", values[i]}})) << i;
}

TEST_F(KvV2InlineTest, PruningAndDestroyDropInlineData) {
  ASSERT_TRUE(Do(Operation::kUpdate, "metadata/k", Json{{"max_versions", 2}}).ok());
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(Put("k", Json{{"n", i}}).ok());
  EXPECT_EQ(storage_.InlineVersions(), 2u);  // version 1 was pruned
  ASSERT_TRUE(Do(Operation::kUpdate, "destroy/k", Json{{"versions", {3}}}).ok());
  EXPECT_EQ(storage_.InlineVersions(), 1u);
  auto gone = Do(Operation::kRead, "data/k");
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->http_status, 404);
  EXPECT_EQ(gone->data["metadata"]["destroyed"], true);
  EXPECT_EQ(Read("k", 2), (Json{{"n", 2}}));
  ASSERT_TRUE(Do(Operation::kDelete, "metadata/k").ok());
  EXPECT_EQ(storage_.Snapshot().count("_kv2/meta/k"), 0u);
  EXPECT_EQ(storage_.StoredVersions(), 0u);
}

TEST_F(KvV2InlineTest, PatchMergesIntoAnInlineVersion) {
  ASSERT_TRUE(Put("p", Json{{"a", 1}, {"b", 2}}).ok());
  ASSERT_OK_AND_ASSIGN(auto p, Do(Operation::kPatch, "data/p", Json{{"data", {{"b", 3}}}}));
  EXPECT_EQ(p.data["version"], 2);
  EXPECT_EQ(Read("p"), (Json{{"a", 1}, {"b", 3}}));
  EXPECT_EQ(storage_.VersionKeys(), 0u);
}

TEST_F(KvV2InlineTest, MetadataAnswersNeverCarryTheData) {
  ASSERT_TRUE(Put("m", Json{{"password", "hunter2-inline"}}).ok());
  ASSERT_OK_AND_ASSIGN(auto meta, Do(Operation::kRead, "metadata/m"));
  EXPECT_EQ(meta.data.dump().find("hunter2-inline"), std::string::npos) << meta.data.dump();
  EXPECT_FALSE(meta.data.contains("inline"));
  ASSERT_OK_AND_ASSIGN(auto sub, Do(Operation::kRead, "subkeys/m"));
  EXPECT_EQ(sub.data.dump().find("hunter2-inline"), std::string::npos);
  EXPECT_EQ(sub.data["subkeys"], (Json{{"password", nullptr}}));
}

TEST_F(KvV2InlineTest, ARecordWrittenBeforeInlineDataStillReadsAndGrows) {
  internal::KeyMetadata old;
  old.key = "legacy";
  old.current_version = 1;
  old.created_ns = old.updated_ns = 1'700'000'000'000'000'000;
  old.versions[1].created_ns = old.created_ns;
  ASSERT_TRUE(storage_.Put(internal::MetaKey("legacy"), internal::EncodeMetadata(old)).ok());
  ASSERT_TRUE(storage_.Put(internal::VersionKey("legacy", 1), R"({"v":"one"})").ok());
  EXPECT_EQ(Read("legacy"), (Json{{"v", "one"}}));
  ASSERT_TRUE(Put("legacy", Json{{"v", "two"}}).ok());
  EXPECT_EQ(Read("legacy", 1), (Json{{"v", "one"}}));
  EXPECT_EQ(Read("legacy", 2), (Json{{"v", "two"}}));
  EXPECT_EQ(storage_.VersionKeys(), 1u);
  EXPECT_EQ(storage_.InlineVersions(), 1u);
  // Metadata delete removes the old version key too.
  ASSERT_TRUE(Do(Operation::kDelete, "metadata/legacy").ok());
  EXPECT_EQ(storage_.StoredVersions(), 0u);
}

TEST_F(KvV2InlineTest, CorruptInlineDataIsAnInternalError) {
  ASSERT_TRUE(Put("c", Json{{"v", 1}}).ok());
  auto raw = storage_.Get(internal::MetaKey("c"));
  ASSERT_TRUE(raw.ok() && raw->has_value());
  auto j = Json::parse(**raw);
  j["inline"] = 5;
  ASSERT_TRUE(storage_.Put(internal::MetaKey("c"), j.dump()).ok());
  auto r = Do(Operation::kRead, "data/c");
  EXPECT_CODE(r, Code::kInternal);
  EXPECT_EQ(r.status().message(), "kv: corrupt metadata in storage");
}

TEST_F(KvV2InlineTest, TheRecordKeepsEveryFieldThroughAnyCharacters) {
  internal::KeyMetadata m;
  m.key = "a\"b\\c\n\x01/\xc3\xbc/\xe2\x80\xa8";
  m.current_version = 12;
  m.oldest_version = 3;
  m.max_versions = 7;
  m.cas_required = true;
  m.delete_version_after = 3600;
  m.created_ns = 1'700'000'000'000'000'001;
  m.updated_ns = 1'700'000'000'000'000'002;
  m.custom_metadata = {{"owner", "vo \"x\""}, {"t\tab", "\xc3\xa9"}};
  m.versions[11] = internal::VersionMeta{5, 6, false};
  m.versions[12] = internal::VersionMeta{7, std::nullopt, true};
  m.inline_data[11] = "{\"p\":\"\\u0000\\n\\\"\",\"u\":\"\xf0\x9f\x94\x91\"}";
  const std::string raw = internal::EncodeMetadata(m);
  ASSERT_TRUE(Json::accept(raw)) << raw;
  ASSERT_OK_AND_ASSIGN(auto back, internal::DecodeMetadata(raw));
  EXPECT_EQ(back.key, m.key);
  EXPECT_EQ(back.current_version, 12u);
  EXPECT_EQ(back.oldest_version, 3u);
  EXPECT_EQ(back.max_versions, 7u);
  EXPECT_TRUE(back.cas_required);
  EXPECT_EQ(back.delete_version_after, 3600);
  EXPECT_EQ(back.created_ns, m.created_ns);
  EXPECT_EQ(back.updated_ns, m.updated_ns);
  EXPECT_EQ(back.custom_metadata, m.custom_metadata);
  ASSERT_EQ(back.versions.size(), 2u);
  EXPECT_EQ(back.versions[11].created_ns, 5);
  EXPECT_EQ(back.versions[11].deletion_ns, std::optional<int64_t>(6));
  EXPECT_FALSE(back.versions[11].destroyed);
  EXPECT_TRUE(back.versions[12].destroyed);
  EXPECT_EQ(back.versions[12].deletion_ns, std::nullopt);
  EXPECT_EQ(back.inline_data, m.inline_data);
  // Defaults are left out; a record without them reads as the defaults.
  internal::KeyMetadata plain;
  plain.key = "k";
  const std::string small = internal::EncodeMetadata(plain);
  EXPECT_EQ(small.find("cas_required"), std::string::npos) << small;
  EXPECT_EQ(small.find("custom_metadata"), std::string::npos) << small;
  ASSERT_OK_AND_ASSIGN(auto p, internal::DecodeMetadata(small));
  EXPECT_FALSE(p.cas_required);
  EXPECT_EQ(p.max_versions, 0u);
  EXPECT_TRUE(p.custom_metadata.empty());
}

TEST_F(KvV2InlineTest, InvalidUtf8IsReplacedAndStillReads) {
  internal::KeyMetadata m;
  m.key = "bad\xff\xfekey";
  m.inline_data[1] = "{\"v\":\"x\"}";
  m.versions[1].created_ns = 1;
  m.current_version = 1;
  const std::string raw = internal::EncodeMetadata(m);
  ASSERT_TRUE(Json::accept(raw)) << raw;
  ASSERT_OK_AND_ASSIGN(auto back, internal::DecodeMetadata(raw));
  EXPECT_EQ(back.key, "bad\xef\xbf\xbd\xef\xbf\xbdkey");  // U+FFFD each
  EXPECT_EQ(back.inline_data, m.inline_data);
}

TEST_F(KvV2InlineTest, EncodeAndDecodeKeepInlineData) {
  internal::KeyMetadata m;
  m.key = "x";
  m.current_version = 2;
  m.versions[1].created_ns = 1;
  m.versions[2].created_ns = 2;
  m.inline_data[2] = R"({"a":"\"quoted\"\n"})";
  ASSERT_OK_AND_ASSIGN(auto back, internal::DecodeMetadata(internal::EncodeMetadata(m)));
  EXPECT_EQ(back.inline_data, m.inline_data);
  EXPECT_EQ(back.versions.size(), 2u);
}

}  // namespace
}  // namespace arca::engines::test
