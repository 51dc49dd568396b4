// Tests for the cubbyhole engine and DestroyCubbyhole.
#include <gtest/gtest.h>

#include "engines/engines.h"
#include "map_backend.h"

namespace arca::engines::test {
namespace {

using logical::Json;
using logical::Operation;

constexpr char kAlice[] = "aaaa1111";
constexpr char kBob[] = "bbbb2222";

class CubbyholeTest : public EngineFixture {
 protected:
  void SetUp() override {
    logical::BackendConfig c;
    c.type = "cubbyhole";
    c.storage = &storage_;
    c.clock = &clock_;
    auto b = CubbyholeFactory()(c);
    ASSERT_TRUE(b.ok());
    cubby_ = std::move(*b);
    ASSERT_TRUE(cubby_->Initialize().ok());
  }
  std::unique_ptr<logical::Backend> cubby_;
};

TEST_F(CubbyholeTest, WriteReadAndLeaseIsZero) {
  Json secret = {{"foo", "bar"}, {"n", 1}};
  ASSERT_OK_AND_ASSIGN(auto w, Do(*cubby_, Operation::kCreate, "my/secret", secret, kAlice));
  EXPECT_TRUE(w.Empty());
  ASSERT_OK_AND_ASSIGN(auto r, Do(*cubby_, Operation::kRead, "my/secret", nullptr, kAlice));
  EXPECT_EQ(r.data, secret);
  EXPECT_EQ(r.lease_duration, 0);
  EXPECT_EQ(storage_.Snapshot().count(std::string(kAlice) + "/my/secret"), 1u);
}

TEST_F(CubbyholeTest, TokensAreIsolated) {
  ASSERT_TRUE(Do(*cubby_, Operation::kUpdate, "s", Json{{"who", "alice"}}, kAlice).ok());
  auto r = Do(*cubby_, Operation::kRead, "s", nullptr, kBob);
  EXPECT_CODE(r, Code::kNotFound);
  ASSERT_TRUE(Do(*cubby_, Operation::kUpdate, "s", Json{{"who", "bob"}}, kBob).ok());
  ASSERT_OK_AND_ASSIGN(auto a, Do(*cubby_, Operation::kRead, "s", nullptr, kAlice));
  EXPECT_EQ(a.data["who"], "alice");
  auto list = Do(*cubby_, Operation::kList, "", nullptr, "cccc3333");
  EXPECT_CODE(list, Code::kNotFound);
}

TEST_F(CubbyholeTest, RequestWithoutTokenIsDenied) {
  for (Operation op : {Operation::kRead, Operation::kUpdate, Operation::kList, Operation::kDelete}) {
    auto r = Do(*cubby_, op, "s", Json{{"a", 1}});
    EXPECT_CODE(r, Code::kPermissionDenied);
  }
  EXPECT_FALSE(Exists(*cubby_, Operation::kUpdate, "s"));
}

TEST_F(CubbyholeTest, EmptyWriteAndMissingPath) {
  for (Json body : {Json(nullptr), Json::object()}) {
    auto r = Do(*cubby_, Operation::kUpdate, "s", body, kAlice);
    EXPECT_CODE(r, Code::kInvalidArgument);
    EXPECT_EQ(r.status().message(), "missing data fields");
  }
  auto read_root = Do(*cubby_, Operation::kRead, "", nullptr, kAlice);
  EXPECT_EQ(read_root.status().message(), "missing path");
  auto missing = Do(*cubby_, Operation::kRead, "none", nullptr, kAlice);
  EXPECT_CODE(missing, Code::kNotFound);
  EXPECT_EQ(missing.status().message(), "");
}

TEST_F(CubbyholeTest, ListAndDelete) {
  for (const char* k : {"a", "b/c", "b/d/e"}) {
    ASSERT_TRUE(Do(*cubby_, Operation::kUpdate, k, Json{{"v", 1}}, kAlice).ok());
  }
  ASSERT_TRUE(Do(*cubby_, Operation::kUpdate, "x", Json{{"v", 1}}, kBob).ok());
  ASSERT_OK_AND_ASSIGN(auto root, Do(*cubby_, Operation::kList, "", nullptr, kAlice));
  EXPECT_EQ(root.data["keys"], (Json{"a", "b/"}));
  ASSERT_OK_AND_ASSIGN(auto b, Do(*cubby_, Operation::kList, "b", nullptr, kAlice));
  EXPECT_EQ(b.data["keys"], (Json{"c", "d/"}));
  ASSERT_OK_AND_ASSIGN(auto d, Do(*cubby_, Operation::kDelete, "a", nullptr, kAlice));
  EXPECT_TRUE(d.Empty());
  ASSERT_OK_AND_ASSIGN(auto d2, Do(*cubby_, Operation::kDelete, "a", nullptr, kAlice));
  EXPECT_TRUE(d2.Empty());
  ASSERT_OK_AND_ASSIGN(auto after, Do(*cubby_, Operation::kList, "", nullptr, kAlice));
  EXPECT_EQ(after.data["keys"], (Json{"b/"}));
}

TEST_F(CubbyholeTest, ExistsPerToken) {
  EXPECT_FALSE(Exists(*cubby_, Operation::kUpdate, "s", kAlice));
  ASSERT_TRUE(Do(*cubby_, Operation::kUpdate, "s", Json{{"a", 1}}, kAlice).ok());
  EXPECT_TRUE(Exists(*cubby_, Operation::kUpdate, "s", kAlice));
  EXPECT_FALSE(Exists(*cubby_, Operation::kUpdate, "s", kBob));
}

TEST_F(CubbyholeTest, PatchIsUnsupported) {
  auto r = Do(*cubby_, Operation::kPatch, "s", Json{{"a", 1}}, kAlice);
  EXPECT_CODE(r, Code::kUnsupportedOperation);
}

TEST_F(CubbyholeTest, DestroyRemovesOnlyThatToken) {
  for (const char* k : {"a", "b/c", "b/d/e"}) {
    ASSERT_TRUE(Do(*cubby_, Operation::kUpdate, k, Json{{"v", 1}}, kAlice).ok());
  }
  ASSERT_TRUE(Do(*cubby_, Operation::kUpdate, "x", Json{{"v", 1}}, kBob).ok());
  ASSERT_TRUE(DestroyCubbyhole(storage_, kAlice).ok());
  auto snap = storage_.Snapshot();
  ASSERT_EQ(snap.size(), 1u);
  EXPECT_EQ(snap.begin()->first, std::string(kBob) + "/x");
  auto gone = Do(*cubby_, Operation::kRead, "b/c", nullptr, kAlice);
  EXPECT_CODE(gone, Code::kNotFound);
  EXPECT_TRUE(DestroyCubbyhole(storage_, "nobody").ok());
  EXPECT_EQ(DestroyCubbyhole(storage_, "").code(), Code::kInvalidArgument);
  EXPECT_EQ(DestroyCubbyhole(storage_, "a/b").code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace arca::engines::test
