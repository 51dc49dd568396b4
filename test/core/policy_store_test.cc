#include "core/policy_store.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/encoding.h"
#include "storage/inmem.h"
#include "support/error_backend.h"

namespace arca::core {
namespace {

class PolicyStoreTest : public ::testing::Test {
 protected:
  storage::InMemBackend mem_;
  PolicyStore store_{mem_};
};

constexpr char kDev[] = R"(path "secret/*" { capabilities = ["read"] })";

TEST_F(PolicyStoreTest, BuiltinsAlwaysListed) {
  auto names = store_.List();
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"default", "root"}));
  ASSERT_TRUE(store_.Setup().ok());
  ASSERT_TRUE(store_.Put("zeta", kDev).ok());
  ASSERT_TRUE(store_.Put("alpha", kDev).ok());
  names = store_.List();
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"alpha", "default", "root", "zeta"}));
}

TEST_F(PolicyStoreTest, SetupStoresDefaultOnce) {
  ASSERT_TRUE(store_.Setup().ok());
  auto raw = mem_.Get("sys/policy/default");
  ASSERT_TRUE(raw.ok());
  ASSERT_TRUE(raw->has_value());
  auto j = nlohmann::json::parse(**raw);
  EXPECT_EQ(j["name"], "default");
  EXPECT_EQ(j["policy"], std::string(DefaultPolicyText()));

  // An updated default survives a second Setup.
  ASSERT_TRUE(store_.Put("default", kDev).ok());
  ASSERT_TRUE(store_.Setup().ok());
  auto p = store_.Get("default");
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(*p);
  EXPECT_EQ((*p)->raw, kDev);
}

TEST_F(PolicyStoreTest, DefaultIsPresentEvenBeforeSetup) {
  auto p = store_.Get("default");
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(*p);
  EXPECT_EQ((*p)->raw, DefaultPolicyText());
}

TEST_F(PolicyStoreTest, RootIsBuiltinAndImmutable) {
  auto p = store_.Get("ROOT");
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(*p);
  EXPECT_EQ((*p)->name, "root");
  EXPECT_TRUE((*p)->rules.empty());
  Status put = store_.Put("root", kDev);
  EXPECT_EQ(put.code(), Code::kInvalidArgument);
  EXPECT_EQ(put.message(), "cannot update \"root\" policy");
  Status del = store_.Delete("Root");
  EXPECT_EQ(del.code(), Code::kInvalidArgument);
  EXPECT_EQ(del.message(), "cannot delete \"root\" policy");
  auto acl = Acl::Build({*p}, nullptr, 0);
  ASSERT_TRUE(acl.ok());
  EXPECT_TRUE(acl->is_root());
}

TEST_F(PolicyStoreTest, DefaultCannotBeDeleted) {
  ASSERT_TRUE(store_.Setup().ok());
  Status del = store_.Delete("default");
  EXPECT_EQ(del.code(), Code::kInvalidArgument);
  EXPECT_EQ(del.message(), "cannot delete default policy");
  auto p = store_.Get("default");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(*p);
}

TEST_F(PolicyStoreTest, PutGetDeleteRoundTrip) {
  ASSERT_TRUE(store_.Put("dev", kDev).ok());
  auto raw = mem_.Get("sys/policy/dev");
  ASSERT_TRUE(raw.ok() && raw->has_value());
  auto j = nlohmann::json::parse(**raw);
  EXPECT_EQ(j, (nlohmann::json{{"name", "dev"}, {"policy", kDev}}));

  auto p = store_.Get("dev");
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(*p);
  EXPECT_EQ((*p)->name, "dev");
  EXPECT_EQ((*p)->raw, kDev);
  ASSERT_EQ((*p)->rules.size(), 1u);

  ASSERT_TRUE(store_.Delete("dev").ok());
  p = store_.Get("dev");
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(*p);
  EXPECT_TRUE(store_.Delete("never-existed").ok());
}

TEST_F(PolicyStoreTest, NamesAreLowercased) {
  ASSERT_TRUE(store_.Put("MixedCase", kDev).ok());
  auto names = store_.List();
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"default", "mixedcase", "root"}));
  auto p = store_.Get("MIXEDCASE");
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(*p);
  EXPECT_EQ((*p)->name, "mixedcase");
  ASSERT_TRUE(store_.Delete("mixedCASE").ok());
  p = store_.Get("mixedcase");
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(*p);
}

TEST_F(PolicyStoreTest, Base64PolicyTextIsDecoded) {
  std::string b64 = Base64Encode(kDev);
  ASSERT_TRUE(store_.Put("enc", b64).ok());
  auto p = store_.Get("enc");
  ASSERT_TRUE(p.ok() && *p);
  EXPECT_EQ((*p)->raw, kDev);
  ASSERT_EQ((*p)->rules.size(), 1u);
  EXPECT_EQ((*p)->rules[0].path, "secret/*");
}

TEST_F(PolicyStoreTest, TextThatLooksLikeBase64IsKeptWhenDecodingDoesNotParse) {
  // "abcd" is valid base64 (decodes to binary), and valid HCL? No: so it
  // must fail as HCL too. An empty-object JSON policy is plain text.
  EXPECT_FALSE(store_.Put("bin", "abcd").ok());
  ASSERT_TRUE(store_.Put("json", "{}").ok());
  auto p = store_.Get("json");
  ASSERT_TRUE(p.ok() && *p);
  EXPECT_EQ((*p)->raw, "{}");
}

TEST_F(PolicyStoreTest, ParseErrorsAreInvalidArgument) {
  Status s = store_.Put("bad", "path \"a\" {\n  capabilities = [\"fly\"]\n}\n");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "failed to parse policy: path \"a\": invalid capability \"fly\"");
  auto p = store_.Get("bad");
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(*p);
  EXPECT_EQ(store_.Put("", kDev).code(), Code::kInvalidArgument);
  EXPECT_EQ(store_.Put("a/b", kDev).code(), Code::kInvalidArgument);
}

TEST_F(PolicyStoreTest, PutInvalidatesTheCache) {
  ASSERT_TRUE(store_.Put("dev", kDev).ok());
  auto first = store_.Get("dev");
  ASSERT_TRUE(first.ok() && *first);
  auto again = store_.Get("dev");
  EXPECT_EQ(first->get(), again->get());  // cached
  ASSERT_TRUE(store_.Put("dev", R"(path "other" { capabilities = ["list"] })").ok());
  auto after = store_.Get("dev");
  ASSERT_TRUE(after.ok() && *after);
  EXPECT_EQ((*after)->rules[0].path, "other");
}

TEST_F(PolicyStoreTest, InvalidateCacheRereadsStorage) {
  ASSERT_TRUE(store_.Put("dev", kDev).ok());
  ASSERT_TRUE(store_.Get("dev").ok());
  // Another node rewrote the entry.
  nlohmann::json j = {{"name", "dev"}, {"policy", R"(path "x" { capabilities = ["update"] })"}};
  ASSERT_TRUE(mem_.Put("sys/policy/dev", j.dump()).ok());
  EXPECT_EQ((*store_.Get("dev"))->rules[0].path, "secret/*");
  store_.InvalidateCache();
  EXPECT_EQ((*store_.Get("dev"))->rules[0].path, "x");
}

TEST_F(PolicyStoreTest, StorageErrorsPropagate) {
  testing::ErrorBackend errs(mem_);
  PolicyStore store(errs);
  errs.FailNext(testing::ErrorBackend::Method::kPut, Unavailable("down"));
  EXPECT_EQ(store.Put("dev", kDev).code(), Code::kUnavailable);
  errs.FailNext(testing::ErrorBackend::Method::kGet, Unavailable("down"));
  EXPECT_EQ(store.Get("dev").status().code(), Code::kUnavailable);
  errs.FailNext(testing::ErrorBackend::Method::kList, Unavailable("down"));
  EXPECT_EQ(store.List().status().code(), Code::kUnavailable);
}

TEST_F(PolicyStoreTest, CorruptEntryIsAnError) {
  ASSERT_TRUE(mem_.Put("sys/policy/broken", "not json").ok());
  EXPECT_FALSE(store_.Get("broken").ok());
}

}  // namespace
}  // namespace arca::core
