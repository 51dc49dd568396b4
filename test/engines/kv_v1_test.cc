// Tests for KV version 1 and KvFactory.
#include <gtest/gtest.h>

#include "engines/engines.h"
#include "map_backend.h"

namespace arca::engines::test {
namespace {

using logical::Json;
using logical::Operation;

class KvV1Test : public EngineFixture {
 protected:
  void SetUp() override { kv_ = MakeKv(storage_, clock_, "1"); }
  std::unique_ptr<logical::Backend> kv_;
};

TEST_F(KvV1Test, FactoryChoosesVersionFromOptions) {
  logical::BackendConfig c;
  c.storage = &storage_;
  c.clock = &clock_;
  for (const char* v : {"", "1"}) {
    c.options["version"] = v;
    auto b = KvFactory()(c);
    ASSERT_TRUE(b.ok());
    // A v1 backend serves arbitrary paths; v2 would answer "foo" with a warning 404.
    ASSERT_TRUE(Do(**b, Operation::kUpdate, "foo", Json{{"a", "b"}}).ok());
  }
  c.options.clear();
  ASSERT_TRUE(KvFactory()(c).ok());
  c.options["version"] = "3";
  auto bad = KvFactory()(c);
  EXPECT_CODE(bad, Code::kInvalidArgument);
  c.options["version"] = "2";
  c.storage = nullptr;
  auto no_storage = KvFactory()(c);
  EXPECT_CODE(no_storage, Code::kInvalidArgument);
}

TEST_F(KvV1Test, WriteThenReadReturnsBodyAndMountTtl) {
  Json secret = {{"foo", "bar"}, {"n", 12345678901234567890ULL}, {"nested", {{"x", {1, 2}}}}};
  ASSERT_OK_AND_ASSIGN(auto w, Do(*kv_, Operation::kCreate, "app/db", secret));
  EXPECT_TRUE(w.Empty());
  ASSERT_OK_AND_ASSIGN(auto r, Do(*kv_, Operation::kRead, "app/db"));
  EXPECT_EQ(r.data, secret);
  EXPECT_EQ(r.data["n"].get<uint64_t>(), 12345678901234567890ULL);
  EXPECT_EQ(r.lease_duration, kDefaultTtl);
  EXPECT_EQ(r.lease_id, "");
  EXPECT_FALSE(r.renewable);
  EXPECT_EQ(r.http_status, 0);
}

TEST_F(KvV1Test, WriteOverwrites) {
  ASSERT_TRUE(Do(*kv_, Operation::kCreate, "k", Json{{"a", 1}, {"b", 2}}).ok());
  ASSERT_TRUE(Do(*kv_, Operation::kUpdate, "k", Json{{"c", 3}}).ok());
  ASSERT_OK_AND_ASSIGN(auto r, Do(*kv_, Operation::kRead, "k"));
  EXPECT_EQ(r.data, (Json{{"c", 3}}));
}

TEST_F(KvV1Test, TtlOrLeaseKeySetsLeaseDuration) {
  ASSERT_TRUE(Do(*kv_, Operation::kUpdate, "a", Json{{"ttl", "1h"}, {"lease", "5s"}}).ok());
  ASSERT_TRUE(Do(*kv_, Operation::kUpdate, "b", Json{{"lease", 30}}).ok());
  ASSERT_TRUE(Do(*kv_, Operation::kUpdate, "c", Json{{"ttl", "not a duration"}}).ok());
  ASSERT_TRUE(Do(*kv_, Operation::kUpdate, "d", Json{{"ttl", "90"}}).ok());
  ASSERT_OK_AND_ASSIGN(auto a, Do(*kv_, Operation::kRead, "a"));
  EXPECT_EQ(a.lease_duration, 3600);
  ASSERT_OK_AND_ASSIGN(auto b, Do(*kv_, Operation::kRead, "b"));
  EXPECT_EQ(b.lease_duration, 30);
  ASSERT_OK_AND_ASSIGN(auto c, Do(*kv_, Operation::kRead, "c"));
  EXPECT_EQ(c.lease_duration, kDefaultTtl);
  ASSERT_OK_AND_ASSIGN(auto d, Do(*kv_, Operation::kRead, "d"));
  EXPECT_EQ(d.lease_duration, 90);
}

TEST_F(KvV1Test, EmptyWriteIsMissingDataFields) {
  for (Json body : {Json(nullptr), Json::object()}) {
    auto r = Do(*kv_, Operation::kUpdate, "k", body);
    EXPECT_CODE(r, Code::kInvalidArgument);
    EXPECT_EQ(r.status().message(), "missing data fields");
  }
  auto r = Do(*kv_, Operation::kRead, "k");
  EXPECT_CODE(r, Code::kNotFound);
}

TEST_F(KvV1Test, ReservedUpgradePrefixCannotBeWritten) {
  auto r = Do(*kv_, Operation::kUpdate, "_kv2/meta/x", Json{{"a", 1}});
  EXPECT_CODE(r, Code::kInvalidArgument);
  EXPECT_TRUE(Do(*kv_, Operation::kUpdate, "_kv2x", Json{{"a", 1}}).ok());
}

TEST_F(KvV1Test, ReadMissingIsPlainNotFound) {
  auto r = Do(*kv_, Operation::kRead, "nope");
  EXPECT_CODE(r, Code::kNotFound);
  EXPECT_EQ(r.status().message(), "");
  auto root = Do(*kv_, Operation::kRead, "");
  EXPECT_CODE(root, Code::kNotFound);
}

TEST_F(KvV1Test, DeleteSucceedsEvenWhenMissing) {
  ASSERT_TRUE(Do(*kv_, Operation::kUpdate, "k", Json{{"a", 1}}).ok());
  ASSERT_OK_AND_ASSIGN(auto d, Do(*kv_, Operation::kDelete, "k"));
  EXPECT_TRUE(d.Empty());
  auto r = Do(*kv_, Operation::kRead, "k");
  EXPECT_CODE(r, Code::kNotFound);
  ASSERT_OK_AND_ASSIGN(auto again, Do(*kv_, Operation::kDelete, "k"));
  EXPECT_TRUE(again.Empty());
}

TEST_F(KvV1Test, ListReturnsImmediateChildrenWithFolders) {
  for (const char* k : {"a", "b/c", "b/d/e", "b/d/f", "z"}) {
    ASSERT_TRUE(Do(*kv_, Operation::kUpdate, k, Json{{"v", k}}).ok());
  }
  ASSERT_OK_AND_ASSIGN(auto root, Do(*kv_, Operation::kList, ""));
  EXPECT_EQ(root.data["keys"], (Json{"a", "b/", "z"}));
  ASSERT_OK_AND_ASSIGN(auto b, Do(*kv_, Operation::kList, "b/"));
  EXPECT_EQ(b.data["keys"], (Json{"c", "d/"}));
  ASSERT_OK_AND_ASSIGN(auto b_noslash, Do(*kv_, Operation::kList, "b"));
  EXPECT_EQ(b_noslash.data["keys"], (Json{"c", "d/"}));
  auto none = Do(*kv_, Operation::kList, "nothing/");
  EXPECT_CODE(none, Code::kNotFound);
}

TEST_F(KvV1Test, ExistsReflectsStoredKey) {
  EXPECT_FALSE(Exists(*kv_, Operation::kUpdate, "k"));
  ASSERT_TRUE(Do(*kv_, Operation::kUpdate, "k", Json{{"a", 1}}).ok());
  EXPECT_TRUE(Exists(*kv_, Operation::kUpdate, "k"));
  EXPECT_FALSE(Exists(*kv_, Operation::kUpdate, ""));
}

TEST_F(KvV1Test, PatchAndHelpAreUnsupported) {
  auto p = Do(*kv_, Operation::kPatch, "k", Json{{"a", 1}});
  EXPECT_CODE(p, Code::kUnsupportedOperation);
  auto h = Do(*kv_, Operation::kHelp, "k");
  EXPECT_CODE(h, Code::kUnsupportedOperation);
}

TEST_F(KvV1Test, WriteToEmptyPathFails) {
  auto r = Do(*kv_, Operation::kUpdate, "", Json{{"a", 1}});
  EXPECT_CODE(r, Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "missing path");
}

TEST_F(KvV1Test, WorksThroughAStorageView) {
  storage::View view(storage_, "logical/abc/");
  auto r = MakeRequest(Operation::kUpdate, "x/y", Json{{"a", 1}});
  r.storage = &view;
  ASSERT_TRUE(kv_->HandleRequest(r).ok());
  auto snap = storage_.Snapshot();
  EXPECT_EQ(snap.count("logical/abc/x/y"), 1u);
}

}  // namespace
}  // namespace arca::engines::test
