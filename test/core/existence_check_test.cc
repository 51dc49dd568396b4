// The request pipeline's existence check (create or update): made where its
// answer can change the outcome, skipped where it cannot (the backend
// treats both alike, the ACL grants or refuses both alike, no audit device
// records the operation). Through Core, with a probe engine mounted at
// probe/ that counts the checks and records the operation it is given.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>

#include "core/core.h"
#include "core_setup.h"
#include "engines/engines.h"
#include "storage/inmem.h"
#include "support/fake_clock.h"

namespace arca::core {
namespace {

using logical::Json;
using logical::Operation;
using logical::Request;
using logical::Response;

struct ProbeState {
  std::mutex mu;
  bool create_is_update = true;
  std::set<std::string> existing;  // paths Exists answers true for
  int exists_calls = 0;
  std::vector<Operation> ops;  // operations HandleRequest saw, in order
};

class Probe final : public logical::Backend {
 public:
  explicit Probe(std::shared_ptr<ProbeState> s) : s_(std::move(s)) {}
  StatusOr<Response> HandleRequest(Request& req) override {
    std::lock_guard l(s_->mu);
    s_->ops.push_back(req.operation);
    return Response::WithData(Json{{"path", req.path}});
  }
  StatusOr<bool> Exists(Request& req) override {
    std::lock_guard l(s_->mu);
    ++s_->exists_calls;
    return s_->existing.count(req.path) > 0;
  }
  bool CreateIsUpdate(std::string_view) const override {
    std::lock_guard l(s_->mu);
    return s_->create_is_update;
  }

 private:
  std::shared_ptr<ProbeState> s_;
};

class ExistenceCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CoreConfig c;
    c.physical = &physical_;
    c.clock = &clock_;
    auto state = state_;
    c.engines = {
        {"kv", engines::KvFactory()},
        {"cubbyhole", engines::CubbyholeFactory()},
        {"probe",
         [state](const logical::BackendConfig&) -> StatusOr<std::unique_ptr<logical::Backend>> {
           return std::unique_ptr<logical::Backend>(std::make_unique<Probe>(state));
         }}};
    core_ = std::make_unique<Core>(std::move(c));
    root_ = testing::InitAndUnseal(*core_);
    ASSERT_FALSE(root_.empty());
    ASSERT_TRUE(Call(Operation::kUpdate, "sys/mounts/probe", {{"type", "probe"}}, root_).ok());
  }
  void TearDown() override {
    core_->Shutdown();
    if (!audit_dir_.empty()) std::filesystem::remove_all(audit_dir_);
  }

  StatusOr<Response> Call(Operation op, std::string path, Json data, const std::string& token) {
    Request r;
    r.operation = op;
    r.path = std::move(path);
    r.data = std::move(data);
    r.client_token = token;
    r.remote_address = "127.0.0.1";
    return core_->HandleRequest(r);
  }

  // A token with one policy granting `caps` on probe/*.
  std::string TokenWith(const std::string& caps) {
    const std::string name = "p" + std::to_string(++policies_);
    auto put = Call(Operation::kUpdate, "sys/policies/acl/" + name,
                    {{"policy", "path \"probe/*\" { capabilities = [" + caps + "] }"}}, root_);
    EXPECT_TRUE(put.ok()) << put.status().ToString();
    auto t = Call(Operation::kUpdate, "auth/token/create", {{"policies", {name}}}, root_);
    EXPECT_TRUE(t.ok() && t->auth) << t.status().ToString();
    return t.ok() && t->auth ? t->auth->client_token : std::string();
  }

  StatusOr<Response> Write(const std::string& path, const std::string& token) {
    return Call(Operation::kUpdate, "probe/" + path, {{"v", 1}}, token);
  }

  int ExistsCalls() {
    std::lock_guard l(state_->mu);
    return state_->exists_calls;
  }
  Operation LastOp() {
    std::lock_guard l(state_->mu);
    return state_->ops.empty() ? Operation::kRead : state_->ops.back();
  }
  void Set(bool create_is_update, std::set<std::string> existing) {
    std::lock_guard l(state_->mu);
    state_->create_is_update = create_is_update;
    state_->existing = std::move(existing);
  }

  storage::InMemBackend physical_;
  testing::FakeClock clock_;
  std::shared_ptr<ProbeState> state_ = std::make_shared<ProbeState>();
  std::unique_ptr<Core> core_;
  std::string root_;
  int policies_ = 0;
  std::filesystem::path audit_dir_;
};

TEST_F(ExistenceCheckTest, RootWriteToABackendThatTreatsBothAlikeSkipsTheCheck) {
  auto r = Write("new", root_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(ExistsCalls(), 0);
  EXPECT_EQ(LastOp(), Operation::kUpdate);
}

TEST_F(ExistenceCheckTest, BackendThatTellsThemApartIsAlwaysChecked) {
  Set(false, {"old"});
  ASSERT_TRUE(Write("new", root_).ok());
  EXPECT_EQ(ExistsCalls(), 1);
  EXPECT_EQ(LastOp(), Operation::kCreate);
  ASSERT_TRUE(Write("old", root_).ok());
  EXPECT_EQ(ExistsCalls(), 2);
  EXPECT_EQ(LastOp(), Operation::kUpdate);
}

TEST_F(ExistenceCheckTest, PolicyGrantingBothSkipsTheCheck) {
  const std::string t = TokenWith("\"create\", \"update\"");
  ASSERT_TRUE(Write("new", t).ok());
  EXPECT_EQ(ExistsCalls(), 0);
}

TEST_F(ExistenceCheckTest, PolicyGrantingNeitherIsDeniedWithoutTheCheck) {
  const std::string t = TokenWith("\"read\"");
  auto r = Write("new", t);
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(ExistsCalls(), 0);
  std::lock_guard l(state_->mu);
  EXPECT_TRUE(state_->ops.empty());
}

TEST_F(ExistenceCheckTest, CreateOnlyPolicyIsCheckedAndMayNotUpdate) {
  Set(true, {"old"});
  const std::string t = TokenWith("\"create\"");
  ASSERT_TRUE(Write("new", t).ok());
  EXPECT_EQ(ExistsCalls(), 1);
  EXPECT_EQ(LastOp(), Operation::kCreate);
  EXPECT_EQ(Write("old", t).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(ExistsCalls(), 2);
}

TEST_F(ExistenceCheckTest, UpdateOnlyPolicyIsCheckedAndMayNotCreate) {
  Set(true, {"old"});
  const std::string t = TokenWith("\"update\"");
  EXPECT_EQ(Write("new", t).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(ExistsCalls(), 1);
  ASSERT_TRUE(Write("old", t).ok());
  EXPECT_EQ(ExistsCalls(), 2);
  EXPECT_EQ(LastOp(), Operation::kUpdate);
}

TEST_F(ExistenceCheckTest, WithAnAuditDeviceTheLoggedOperationIsChecked) {
  audit_dir_ = std::filesystem::temp_directory_path() /
               ("arca-existence-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::create_directories(audit_dir_);
  const std::string log = (audit_dir_ / "audit.log").string();
  ASSERT_TRUE(Call(Operation::kUpdate, "sys/audit/file",
                   {{"type", "file"}, {"options", {{"file_path", log}}}}, root_)
                  .ok());
  ASSERT_TRUE(Write("new", root_).ok());
  EXPECT_EQ(ExistsCalls(), 1);
  EXPECT_EQ(LastOp(), Operation::kCreate);
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("\"operation\":\"create\""), std::string::npos) << text.str();
}

TEST_F(ExistenceCheckTest, KvWritesThroughTheSkipKeepTheirVersions) {
  ASSERT_TRUE(Call(Operation::kUpdate, "sys/mounts/secret",
                   {{"type", "kv"}, {"options", {{"version", "2"}}}}, root_)
                  .ok());
  auto grant =
      Call(Operation::kUpdate, "sys/policies/acl/kv",
           {{"policy", "path \"secret/*\" { capabilities = [\"create\", \"update\", \"read\"] }"}},
           root_);
  ASSERT_TRUE(grant.ok());
  auto tok = Call(Operation::kUpdate, "auth/token/create", {{"policies", {"kv"}}}, root_);
  ASSERT_TRUE(tok.ok() && tok->auth);
  for (int i = 1; i <= 3; ++i) {
    auto w =
        Call(Operation::kUpdate, "secret/data/a", {{"data", {{"n", i}}}}, tok->auth->client_token);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    EXPECT_EQ(w->data["version"], i);
  }
  auto r = Call(Operation::kRead, "secret/data/a", Json::object(), tok->auth->client_token);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->data["data"]["n"], 3);
}

}  // namespace
}  // namespace arca::core
