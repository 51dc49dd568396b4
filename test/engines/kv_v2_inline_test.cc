// KV v2 version data kept inline in the key's metadata record (small
// versions, within the key's inline budget) or at its own version key (the
// others): a write of a small secret is one storage put; reads, patch,
// pruning, destroy and metadata delete find the data wherever it is; records
// written before inline data existed still read.
#include <gtest/gtest.h>

#include <limits>

#include "base/encoding.h"
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

TEST_F(KvV2InlineTest, CorruptRecordsAreAnInternalError) {
  ASSERT_TRUE(Put("c", Json{{"v", 1}}).ok());
  auto raw = storage_.Get(internal::MetaKey("c"));
  ASSERT_TRUE(raw.ok() && raw->has_value());
  const std::string good = **raw;
  const std::string bad[] = {
      good + "x",                                       // trailing bytes
      good.substr(0, good.size() - 1),                  // truncated
      std::string("\x07") + good.substr(1),             // an unknown format
      R"({"key":"c","current_version":1,"inline":5})",  // an older (JSON) record
  };
  for (const std::string& b : bad) {
    ASSERT_TRUE(storage_.Put(internal::MetaKey("c"), b).ok());
    auto r = Do(Operation::kRead, "data/c");
    EXPECT_CODE(r, Code::kInternal);
    EXPECT_EQ(r.status().message(), "kv: corrupt metadata in storage");
  }
}

// Every prefix of a full record, and every single-byte change of it, either
// decodes or is Corrupt: the decoder never reads past the end or sizes an
// allocation from a count it has not checked.
TEST_F(KvV2InlineTest, DamagedBinaryRecordsNeverCrashTheDecoder) {
  internal::KeyMetadata m;
  m.key = "k";
  m.current_version = 3;
  m.oldest_version = 1;
  m.created_ns = 1'700'000'000'000'000'000;
  m.updated_ns = m.created_ns + 5;
  m.custom_metadata = {{"owner", "vo"}};
  m.versions[2] = internal::VersionMeta{m.created_ns + 1, m.created_ns + 9, false};
  m.versions[3] = internal::VersionMeta{m.created_ns + 5, std::nullopt, true};
  m.inline_data[3] = R"({"a":1})";
  const std::string raw = internal::EncodeMetadata(m);
  for (std::size_t n = 0; n < raw.size(); ++n) {
    EXPECT_FALSE(internal::DecodeMetadata(raw.substr(0, n)).ok()) << n;
  }
  for (std::size_t i = 0; i < raw.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string changed = raw;
      changed[i] = static_cast<char>(changed[i] ^ (1 << bit));
      auto d = internal::DecodeMetadata(changed);
      if (!d.ok()) {
        EXPECT_EQ(d.status().message(), "kv: corrupt metadata in storage");
      }
    }
  }
  std::string huge_count = raw.substr(0, 1);
  PutLengthPrefixed(huge_count, "k");
  for (int i = 0; i < 7; ++i) PutVarint(huge_count, 0);
  PutVarint(huge_count, ~uint64_t(0));  // custom_metadata entries
  EXPECT_FALSE(internal::DecodeMetadata(huge_count).ok());
}

TEST_F(KvV2InlineTest, AJsonRecordWrittenBeforeTheBinaryFormStillReadsAndIsRewritten) {
  const std::string legacy =
      R"({"key":"old","current_version":2,"oldest_version":1,"max_versions":5,)"
      R"("cas_required":true,"created":1700000000000000000,"updated":1700000000000000100,)"
      R"("custom_metadata":{"owner":"vo"},"versions":{"1":{"created":1700000000000000000,)"
      R"("deletion":4000000000000000000},"2":{"created":1700000000000000100}},)"
      R"("inline":{"2":"{\"v\":\"two\"}"}})";
  ASSERT_OK_AND_ASSIGN(auto m, internal::DecodeMetadata(legacy));
  EXPECT_EQ(m.current_version, 2u);
  EXPECT_EQ(m.max_versions, 5u);
  EXPECT_TRUE(m.cas_required);
  EXPECT_EQ(m.custom_metadata.at("owner"), "vo");
  EXPECT_EQ(m.versions.at(1).deletion_ns, std::optional<int64_t>(4000000000000000000));
  EXPECT_EQ(m.inline_data.at(2), R"({"v":"two"})");
  ASSERT_TRUE(storage_.Put(internal::MetaKey("old"), legacy).ok());
  ASSERT_TRUE(storage_.Put(internal::VersionKey("old", 1), R"({"v":"one"})").ok());
  EXPECT_EQ(Read("old", 1), (Json{{"v", "one"}}));
  EXPECT_EQ(Read("old"), (Json{{"v", "two"}}));
  ASSERT_TRUE(Do(Operation::kUpdate, "data/old",
                 Json{{"options", {{"cas", 2}}}, {"data", {{"v", "three"}}}})
                  .ok());
  auto raw = storage_.Get(internal::MetaKey("old"));
  ASSERT_TRUE(raw.ok() && raw->has_value());
  EXPECT_NE((**raw)[0], '{');  // rewritten in the binary form
  EXPECT_EQ(Read("old", 1), (Json{{"v", "one"}}));
  EXPECT_EQ(Read("old", 2), (Json{{"v", "two"}}));
  EXPECT_EQ(Read("old"), (Json{{"v", "three"}}));
}

// The point of the binary form: a key with ten small versions stays well
// under a kilobyte (the JSON record of the same key was about 1.1 KB).
TEST_F(KvV2InlineTest, TenSmallVersionsMakeACompactRecord) {
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(Put("bench/t0/k10", Json{{"user", "alice"},
                                         {"password", "s3cr3t-" + std::to_string(10000 + i)},
                                         {"n", 10000 + i}})
                    .ok());
  }
  auto raw = storage_.Get(internal::MetaKey("bench/t0/k10"));
  ASSERT_TRUE(raw.ok() && raw->has_value());
  EXPECT_EQ(storage_.InlineVersions(), 10u);
  EXPECT_LT((**raw).size(), 700u);
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
  // Extreme values round trip (differences wrap).
  m.created_ns = std::numeric_limits<int64_t>::max();
  m.updated_ns = std::numeric_limits<int64_t>::min();
  m.delete_version_after = -1;
  m.versions[11].deletion_ns = std::numeric_limits<int64_t>::min();
  ASSERT_OK_AND_ASSIGN(auto wrapped, internal::DecodeMetadata(internal::EncodeMetadata(m)));
  EXPECT_EQ(wrapped.created_ns, m.created_ns);
  EXPECT_EQ(wrapped.updated_ns, m.updated_ns);
  EXPECT_EQ(wrapped.delete_version_after, -1);
  EXPECT_EQ(wrapped.versions[11].deletion_ns, m.versions[11].deletion_ns);
  EXPECT_EQ(wrapped.versions[12].created_ns, 7);
  // An empty record is a few bytes and reads as the defaults.
  internal::KeyMetadata plain;
  plain.key = "k";
  const std::string small = internal::EncodeMetadata(plain);
  EXPECT_LT(small.size(), 16u);
  ASSERT_OK_AND_ASSIGN(auto p, internal::DecodeMetadata(small));
  EXPECT_FALSE(p.cas_required);
  EXPECT_EQ(p.max_versions, 0u);
  EXPECT_TRUE(p.custom_metadata.empty());
}

TEST_F(KvV2InlineTest, AnyBytesRoundTripExactly) {
  internal::KeyMetadata m;
  m.key = std::string("bad\xff\xfe\0key", 9);
  m.inline_data[1] = "{\"v\":\"x\"}";
  m.versions[1].created_ns = 1;
  m.current_version = 1;
  ASSERT_OK_AND_ASSIGN(auto back, internal::DecodeMetadata(internal::EncodeMetadata(m)));
  EXPECT_EQ(back.key, m.key);
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
