#include "core/audit.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "audit_map_backend.h"
#include "base/encoding.h"
#include "support/fake_clock.h"

namespace arca::core {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

class AuditBrokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/arca-audit-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    broker_ = std::make_unique<AuditBroker>(storage_, clock_);
  }
  void TearDown() override {
    broker_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string File(const std::string& name) const { return dir_ + "/" + name; }

  Status EnableFile(const std::string& path, const std::string& file,
                    std::map<std::string, std::string> extra = {}) {
    AuditDeviceInfo info;
    info.path = path;
    info.type = "file";
    info.options = std::move(extra);
    info.options["file_path"] = file;
    return broker_->Enable(info);
  }

  static std::vector<std::string> Lines(const std::string& file) {
    std::ifstream in(file);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }
  static std::vector<Json> Entries(const std::string& file) {
    std::vector<Json> out;
    for (const auto& l : Lines(file)) out.push_back(Json::parse(l));
    return out;
  }

  // The HMAC recomputed from the salt the broker stored, independently of Hash().
  std::string Expected(const std::string& device, const std::string& value) {
    auto salt = storage_.Get(device + "salt");
    EXPECT_TRUE(salt.ok() && salt->has_value());
    return "hmac-sha256:" + HexEncode(HmacSha256(**salt, value));
  }
  std::string H(const std::string& device, const std::string& value) {
    auto h = broker_->Hash(device, value);
    EXPECT_TRUE(h.ok());
    return h.ok() ? *h : "";
  }

  static AuditAuth SampleAuth() {
    AuditAuth a;
    a.client_token = "hvs.caller";
    a.accessor = "acc-caller";
    a.display_name = "token-alice";
    a.entity_id = "ent-1";
    a.policies = {"default", "dev"};
    a.token_policies = {"default", "dev"};
    a.identity_policies = {"ops"};
    a.metadata = {{"user", "alice"}};
    a.token_ttl = 3600;
    a.token_issue_time = "2024-01-01T00:00:00Z";
    a.allowed = true;
    a.granting_policies = {"dev"};
    return a;
  }
  static AuditRequest SampleRequest() {
    AuditRequest r;
    r.id = "req-1";
    r.operation = "update";
    r.mount_type = "kv";
    r.mount_accessor = "kv_1234";
    r.mount_point = "secret/";
    r.client_token = "hvs.caller";
    r.client_token_accessor = "acc-caller";
    r.path = "secret/data/foo";
    r.remote_address = "127.0.0.1";
    r.remote_port = 51000;
    r.data = Json{{"password", "hunter2"}, {"n", 42}};
    r.wrap_ttl = 60;
    r.headers = {{"x-custom", "v"}};
    return r;
  }

  std::string dir_;
  testing::AuditMapBackend storage_;
  testing::FakeClock clock_;
  std::unique_ptr<AuditBroker> broker_;
};

TEST_F(AuditBrokerTest, EnableListDisable) {
  EXPECT_FALSE(broker_->HasDevices());
  AuditDeviceInfo info;
  info.path = "file";
  info.type = "file";
  info.description = "main log";
  info.local = true;
  info.options = {{"file_path", File("audit.log")}};
  ASSERT_TRUE(broker_->Enable(info).ok());
  ASSERT_TRUE(EnableFile("/other/", File("other.log")).ok());
  EXPECT_TRUE(broker_->HasDevices());

  auto list = broker_->List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].path, "file/");
  EXPECT_EQ(list[0].type, "file");
  EXPECT_EQ(list[0].description, "main log");
  EXPECT_TRUE(list[0].local);
  EXPECT_EQ(list[0].options.at("file_path"), File("audit.log"));
  EXPECT_EQ(list[1].path, "other/");
  EXPECT_TRUE(fs::exists(File("audit.log")));

  EXPECT_TRUE(broker_->Disable("file").ok());
  EXPECT_TRUE(broker_->Disable("missing/").ok());
  ASSERT_EQ(broker_->List().size(), 1u);
  EXPECT_TRUE(broker_->HasDevices());
  EXPECT_TRUE(broker_->Disable("other/").ok());
  EXPECT_TRUE(broker_->List().empty());
  EXPECT_FALSE(broker_->HasDevices());
}

TEST_F(AuditBrokerTest, ConflictingPathsAreInUse) {
  ASSERT_TRUE(EnableFile("file/", File("a.log")).ok());
  for (const char* p : {"file", "file/", "file/nested/", "/file"}) {
    Status st = EnableFile(p, File("b.log"));
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << p;
    EXPECT_EQ(st.message(), "path already in use") << p;
  }
  ASSERT_TRUE(EnableFile("files/", File("b.log")).ok());  // a sibling, not nested
  Status st = EnableFile("", File("c.log"));
  EXPECT_EQ(st.message(), "backend path must be specified");
}

TEST_F(AuditBrokerTest, OptionErrorsUseVaultTexts) {
  AuditDeviceInfo info;
  info.path = "sys/";
  info.type = "syslog";
  EXPECT_EQ(broker_->Enable(info).message(), "unknown backend type: \"syslog\"");
  info.type = "file";
  EXPECT_EQ(broker_->Enable(info).message(), "file_path is required");
  info.options = {{"file_path", File("a.log")}, {"format", "xml"}};
  EXPECT_EQ(broker_->Enable(info).message(), "unknown format type \"xml\"");
  info.options = {{"file_path", File("a.log")}, {"log_raw", "yes"}};
  EXPECT_EQ(broker_->Enable(info).message(), "strconv.ParseBool: parsing \"yes\": invalid syntax");
  info.options = {{"file_path", File("a.log")}, {"mode", "0999"}};
  EXPECT_EQ(broker_->Enable(info).message(), "strconv.ParseUint: parsing \"0999\": invalid syntax");
  info.options = {{"file_path", File("missing.log")}, {"mode", "0"}};
  EXPECT_EQ(broker_->Enable(info).message(),
            "stat " + File("missing.log") + ": no such file or directory");
  EXPECT_FALSE(broker_->HasDevices());
  EXPECT_EQ(storage_.Size(), 0u);  // no salt created for a device that failed
}

TEST_F(AuditBrokerTest, UnopenableFileIsSanityCheckError) {
  std::ofstream(File("plain")) << "x";
  Status st = EnableFile("file/", File("plain") + "/audit.log");
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "sanity check failed; unable to open \"" + File("plain") +
                              "/audit.log\" for writing: mkdir " + File("plain") +
                              ": not a directory");
  fs::create_directory(File("adir"));
  st = EnableFile("file/", File("adir"));
  EXPECT_EQ(st.message(), "sanity check failed; unable to open \"" + File("adir") +
                              "\" for writing: open " + File("adir") + ": is a directory");
  EXPECT_FALSE(broker_->HasDevices());
}

TEST_F(AuditBrokerTest, CreatesMissingDirectoriesAndSetsMode) {
  ASSERT_TRUE(EnableFile("a/", File("sub/dir/a.log")).ok());
  struct stat st {};
  ASSERT_EQ(::stat(File("sub/dir/a.log").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  std::ofstream(File("b.log")) << "";
  ::chmod(File("b.log").c_str(), 0644);
  ASSERT_TRUE(EnableFile("b/", File("b.log"), {{"mode", "0640"}}).ok());
  ASSERT_EQ(::stat(File("b.log").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);

  std::ofstream(File("c.log")) << "";
  ::chmod(File("c.log").c_str(), 0604);
  ASSERT_TRUE(EnableFile("c/", File("c.log"), {{"mode", "0"}}).ok());
  ASSERT_EQ(::stat(File("c.log").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0604u);  // mode 0 keeps the existing mode
}

TEST_F(AuditBrokerTest, RequestLineHasEveryFieldHashed) {
  ASSERT_TRUE(EnableFile("file/", File("audit.log")).ok());
  clock_.Advance(std::chrono::milliseconds(1500));
  ASSERT_TRUE(broker_->LogRequest(SampleAuth(), SampleRequest(), "").ok());

  auto entries = Entries(File("audit.log"));
  ASSERT_EQ(entries.size(), 1u);
  const Json& e = entries[0];
  EXPECT_EQ(e["time"], "2024-01-01T00:00:01.5Z");
  EXPECT_EQ(e["type"], "request");
  EXPECT_FALSE(e.contains("error"));
  EXPECT_FALSE(e.contains("response"));

  const Json& a = e["auth"];
  EXPECT_EQ(a["client_token"], H("file/", "hvs.caller"));
  EXPECT_EQ(a["client_token"], Expected("file/", "hvs.caller"));
  EXPECT_EQ(a["accessor"], H("file/", "acc-caller"));
  EXPECT_EQ(a["display_name"], "token-alice");
  EXPECT_EQ(a["policies"], Json({"default", "dev"}));
  EXPECT_EQ(a["token_policies"], Json({"default", "dev"}));
  EXPECT_EQ(a["identity_policies"], Json({"ops"}));
  EXPECT_EQ(a["policy_results"],
            Json::parse(R"({"allowed":true,"granting_policies":[{"name":"dev","namespace_id":"root","type":"acl"}]})"));
  EXPECT_EQ(a["metadata"], Json({{"user", "alice"}}));
  EXPECT_EQ(a["entity_id"], "ent-1");
  EXPECT_EQ(a["token_type"], "service");
  EXPECT_EQ(a["token_ttl"], 3600);
  EXPECT_EQ(a["token_issue_time"], "2024-01-01T00:00:00Z");

  const Json& r = e["request"];
  EXPECT_EQ(r["id"], "req-1");
  EXPECT_EQ(r["operation"], "update");
  EXPECT_EQ(r["mount_type"], "kv");
  EXPECT_EQ(r["mount_accessor"], "kv_1234");
  EXPECT_EQ(r["mount_point"], "secret/");
  EXPECT_EQ(r["client_token"], H("file/", "hvs.caller"));
  EXPECT_EQ(r["client_token_accessor"], H("file/", "acc-caller"));
  EXPECT_EQ(r["namespace"], Json({{"id", "root"}}));
  EXPECT_EQ(r["path"], "secret/data/foo");
  EXPECT_EQ(r["data"]["password"], H("file/", "hunter2"));
  EXPECT_EQ(r["data"]["n"], 42);
  EXPECT_EQ(r["remote_address"], "127.0.0.1");
  EXPECT_EQ(r["remote_port"], 51000);
  EXPECT_EQ(r["wrap_ttl"], 60);
  EXPECT_EQ(r["headers"], Json::parse(R"({"x-custom":["v"]})"));

  // Nothing secret reaches the file in the clear.
  std::string raw = Lines(File("audit.log"))[0];
  EXPECT_EQ(raw.find("hunter2"), std::string::npos);
  EXPECT_EQ(raw.find("hvs.caller"), std::string::npos);
  EXPECT_EQ(raw.find("acc-caller"), std::string::npos);
}

TEST_F(AuditBrokerTest, ErrorAndDeniedRequestsAreLogged) {
  ASSERT_TRUE(EnableFile("file/", File("audit.log")).ok());
  AuditAuth a = SampleAuth();
  a.allowed = false;
  a.granting_policies.clear();
  ASSERT_TRUE(broker_->LogRequest(a, SampleRequest(), "permission denied").ok());
  auto e = Entries(File("audit.log")).at(0);
  EXPECT_EQ(e["error"], "permission denied");
  EXPECT_EQ(e["auth"]["policy_results"], Json::parse(R"({"allowed":false})"));
}

TEST_F(AuditBrokerTest, EmptyFieldsAreOmitted) {
  ASSERT_TRUE(EnableFile("file/", File("audit.log")).ok());
  AuditAuth a;
  AuditRequest r;
  r.operation = "read";
  r.path = "sys/health";
  ASSERT_TRUE(broker_->LogRequest(a, r, "").ok());
  auto e = Entries(File("audit.log")).at(0);
  EXPECT_EQ(e["auth"], Json::parse(R"({"policy_results":{"allowed":true},"token_type":"service"})"));
  EXPECT_EQ(e["request"],
            Json::parse(R"({"operation":"read","namespace":{"id":"root"},"path":"sys/health"})"));
}

TEST_F(AuditBrokerTest, ResponseLineHasEveryFieldHashed) {
  ASSERT_TRUE(EnableFile("file/", File("audit.log")).ok());
  AuditResponse resp;
  resp.mount_type = "jwt";
  resp.mount_accessor = "auth_jwt_1";
  resp.data = Json{{"token", "s3cret"}, {"ttl", 30}, {"ok", true}};
  resp.warnings = {"careful"};
  logical::Auth la;
  la.client_token = "hvs.newtoken";
  la.accessor = "acc-new";
  la.display_name = "jwt-bob";
  la.policies = {"default"};
  la.token_policies = {"default"};
  la.metadata = {{"role", "r1"}};
  la.entity_id = "ent-2";
  la.lease_duration = 7200;
  la.num_uses = 3;
  resp.auth = la;
  resp.lease_id = "kv/creds/abc";
  resp.wrap_info = AuditWrapInfo{300, "hvs.wrap", "acc-wrap", "2024-01-01T00:00:00Z",
                                 "sys/wrapping/wrap", "acc-wrapped"};
  ASSERT_TRUE(broker_->LogResponse(SampleAuth(), SampleRequest(), resp, "").ok());

  auto e = Entries(File("audit.log")).at(0);
  EXPECT_EQ(e["type"], "response");
  EXPECT_EQ(e["auth"]["client_token"], H("file/", "hvs.caller"));
  EXPECT_EQ(e["request"]["data"]["password"], H("file/", "hunter2"));
  const Json& r = e["response"];
  EXPECT_EQ(r["mount_type"], "jwt");
  EXPECT_EQ(r["mount_accessor"], "auth_jwt_1");
  EXPECT_EQ(r["data"]["token"], Expected("file/", "s3cret"));
  EXPECT_EQ(r["data"]["ttl"], 30);
  EXPECT_EQ(r["data"]["ok"], true);
  EXPECT_EQ(r["warnings"], Json({"careful"}));
  EXPECT_EQ(r["secret"], Json({{"lease_id", "kv/creds/abc"}}));
  const Json& ra = r["auth"];
  EXPECT_EQ(ra["client_token"], H("file/", "hvs.newtoken"));
  EXPECT_EQ(ra["accessor"], H("file/", "acc-new"));
  EXPECT_EQ(ra["display_name"], "jwt-bob");
  EXPECT_EQ(ra["policies"], Json({"default"}));
  EXPECT_EQ(ra["metadata"], Json({{"role", "r1"}}));
  EXPECT_EQ(ra["entity_id"], "ent-2");
  EXPECT_EQ(ra["token_type"], "service");
  EXPECT_EQ(ra["token_ttl"], 7200);
  EXPECT_EQ(ra["num_uses"], 3);
  const Json& w = r["wrap_info"];
  EXPECT_EQ(w["ttl"], 300);
  EXPECT_EQ(w["token"], H("file/", "hvs.wrap"));
  EXPECT_EQ(w["accessor"], H("file/", "acc-wrap"));
  EXPECT_EQ(w["wrapped_accessor"], H("file/", "acc-wrapped"));
  EXPECT_EQ(w["creation_path"], "sys/wrapping/wrap");
  std::string raw = Lines(File("audit.log"))[0];
  for (const char* secret : {"s3cret", "hvs.newtoken", "hvs.wrap", "acc-new"})
    EXPECT_EQ(raw.find(secret), std::string::npos) << secret;
}

TEST_F(AuditBrokerTest, NestedAndArrayStringsAreHashedOthersUntouched) {
  ASSERT_TRUE(EnableFile("file/", File("audit.log")).ok());
  AuditRequest r = SampleRequest();
  r.data = Json::parse(R"({
    "a": {"b": {"c": "deep"}, "list": ["x", 1, {"y": "z"}, [ "w" ]]},
    "num": 1.5, "neg": -3, "flag": false, "nothing": null, "empty": ""})");
  ASSERT_TRUE(broker_->LogRequest(SampleAuth(), r, "").ok());
  const Json d = Entries(File("audit.log")).at(0)["request"]["data"];
  EXPECT_EQ(d["a"]["b"]["c"], H("file/", "deep"));
  EXPECT_EQ(d["a"]["list"][0], H("file/", "x"));
  EXPECT_EQ(d["a"]["list"][1], 1);
  EXPECT_EQ(d["a"]["list"][2]["y"], H("file/", "z"));
  EXPECT_EQ(d["a"]["list"][3][0], H("file/", "w"));
  EXPECT_EQ(d["num"], 1.5);
  EXPECT_EQ(d["neg"], -3);
  EXPECT_EQ(d["flag"], false);
  EXPECT_TRUE(d["nothing"].is_null());
  EXPECT_EQ(d["empty"], "");
}

TEST_F(AuditBrokerTest, NonHmacKeysStayRaw) {
  ASSERT_TRUE(EnableFile("file/", File("audit.log")).ok());
  AuditRequest r = SampleRequest();
  r.data = Json::parse(R"({"visible": "plain", "other": "x", "nested": {"visible": ["p"]}})");
  r.non_hmac_keys = {"visible"};
  AuditResponse resp;
  resp.data = Json{{"visible", "a"}, {"shown", "b"}};
  resp.non_hmac_keys = {"shown"};
  ASSERT_TRUE(broker_->LogResponse(SampleAuth(), r, resp, "").ok());
  auto e = Entries(File("audit.log")).at(0);
  EXPECT_EQ(e["request"]["data"]["visible"], "plain");
  EXPECT_EQ(e["request"]["data"]["nested"]["visible"][0], "p");
  EXPECT_EQ(e["request"]["data"]["other"], H("file/", "x"));
  EXPECT_EQ(e["response"]["data"]["visible"], H("file/", "a"));
  EXPECT_EQ(e["response"]["data"]["shown"], "b");
}

TEST_F(AuditBrokerTest, LogRawWritesPlainValues) {
  ASSERT_TRUE(EnableFile("file/", File("audit.log"), {{"log_raw", "true"}}).ok());
  ASSERT_TRUE(broker_->LogRequest(SampleAuth(), SampleRequest(), "").ok());
  auto e = Entries(File("audit.log")).at(0);
  EXPECT_EQ(e["auth"]["client_token"], "hvs.caller");
  EXPECT_EQ(e["auth"]["accessor"], "acc-caller");
  EXPECT_EQ(e["request"]["client_token"], "hvs.caller");
  EXPECT_EQ(e["request"]["data"]["password"], "hunter2");
  // audit-hash still uses the device's salt.
  EXPECT_EQ(H("file/", "hunter2"), Expected("file/", "hunter2"));
}

TEST_F(AuditBrokerTest, HmacAccessorFalseKeepsAccessors) {
  ASSERT_TRUE(EnableFile("file/", File("audit.log"), {{"hmac_accessor", "false"}}).ok());
  AuditResponse resp;
  logical::Auth la;
  la.client_token = "hvs.new";
  la.accessor = "acc-new";
  resp.auth = la;
  ASSERT_TRUE(broker_->LogResponse(SampleAuth(), SampleRequest(), resp, "").ok());
  auto e = Entries(File("audit.log")).at(0);
  EXPECT_EQ(e["auth"]["accessor"], "acc-caller");
  EXPECT_EQ(e["request"]["client_token_accessor"], "acc-caller");
  EXPECT_EQ(e["response"]["auth"]["accessor"], "acc-new");
  EXPECT_EQ(e["auth"]["client_token"], H("file/", "hvs.caller"));
  EXPECT_EQ(e["response"]["auth"]["client_token"], H("file/", "hvs.new"));
}

TEST_F(AuditBrokerTest, PrefixPrependsEachLine) {
  ASSERT_TRUE(EnableFile("file/", File("audit.log"), {{"prefix", "AUDIT: "}}).ok());
  ASSERT_TRUE(broker_->LogRequest(SampleAuth(), SampleRequest(), "").ok());
  ASSERT_TRUE(broker_->LogResponse(SampleAuth(), SampleRequest(), AuditResponse{}, "").ok());
  auto lines = Lines(File("audit.log"));
  ASSERT_EQ(lines.size(), 2u);
  for (const auto& l : lines) {
    ASSERT_EQ(l.rfind("AUDIT: {", 0), 0u) << l;
    EXPECT_NO_THROW(Json::parse(l.substr(7)));
  }
}

TEST_F(AuditBrokerTest, ElideListResponsesReplacesKeysWithCounts) {
  ASSERT_TRUE(EnableFile("file/", File("audit.log"), {{"elide_list_responses", "true"}}).ok());
  AuditRequest r = SampleRequest();
  r.operation = "list";
  AuditResponse resp;
  resp.data = Json::parse(R"({"keys":["a","b","c"],"key_info":{"a":{},"b":{}}})");
  ASSERT_TRUE(broker_->LogResponse(SampleAuth(), r, resp, "").ok());
  r.operation = "read";
  ASSERT_TRUE(broker_->LogResponse(SampleAuth(), r, resp, "").ok());
  auto e = Entries(File("audit.log"));
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0]["response"]["data"]["keys"], 3);
  EXPECT_EQ(e[0]["response"]["data"]["key_info"], 2);
  EXPECT_EQ(e[1]["response"]["data"]["keys"][0], H("file/", "a"));  // not a list: kept
}

TEST_F(AuditBrokerTest, JsonxFormat) {
  ASSERT_TRUE(EnableFile("file/", File("audit.xml"), {{"format", "jsonx"}}).ok());
  AuditRequest r;
  r.operation = "read";
  r.path = "a<b";
  ASSERT_TRUE(broker_->LogRequest(AuditAuth{}, r, "").ok());
  auto lines = Lines(File("audit.xml"));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0],
            "<json:object name=\"auth\"><json:object name=\"policy_results\">"
            "<json:boolean name=\"allowed\">true</json:boolean></json:object>"
            "<json:string name=\"token_type\">service</json:string></json:object>"
            "<json:object name=\"request\"><json:object name=\"namespace\">"
            "<json:string name=\"id\">root</json:string></json:object>"
            "<json:string name=\"operation\">read</json:string>"
            "<json:string name=\"path\">a&lt;b</json:string></json:object>"
            "<json:string name=\"time\">2024-01-01T00:00:00Z</json:string>"
            "<json:string name=\"type\">request</json:string>");
}

TEST_F(AuditBrokerTest, HashIsStableAcrossBrokerRecreation) {
  ASSERT_TRUE(EnableFile("file/", File("audit.log")).ok());
  std::string before = H("file/", "input");
  EXPECT_EQ(before.rfind("hmac-sha256:", 0), 0u);
  EXPECT_EQ(before.size(), 12u + 64u);
  auto salt = storage_.Get("file/salt");
  ASSERT_TRUE(salt.ok() && salt->has_value());
  EXPECT_EQ((*salt)->size(), 32u);

  broker_ = std::make_unique<AuditBroker>(storage_, clock_);
  EXPECT_FALSE(broker_->HasDevices());
  ASSERT_TRUE(EnableFile("file", File("audit.log")).ok());
  EXPECT_EQ(H("file/", "input"), before);
  EXPECT_EQ(H("file", "input"), before);  // path normalised

  // Another device has its own salt.
  ASSERT_TRUE(EnableFile("second/", File("second.log")).ok());
  EXPECT_NE(H("second/", "input"), before);

  // Disable forgets the salt: a device enabled again later hashes afresh.
  ASSERT_TRUE(broker_->Disable("file/").ok());
  EXPECT_FALSE(storage_.Get("file/salt")->has_value());
  ASSERT_TRUE(EnableFile("file/", File("audit.log")).ok());
  EXPECT_NE(H("file/", "input"), before);
}

TEST_F(AuditBrokerTest, HashOfUnknownPathIsInvalidArgument) {
  auto h = broker_->Hash("nope/", "x");
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(h.status().message(), "unknown audit backend \"nope/\"");
}

TEST_F(AuditBrokerTest, SaltStorageErrorsAreReturned) {
  storage_.fail_writes = true;
  Status st = EnableFile("file/", File("audit.log"));
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_FALSE(broker_->HasDevices());
  storage_.fail_writes = false;
  ASSERT_TRUE(EnableFile("file/", File("audit.log")).ok());
  storage_.fail_writes = true;
  EXPECT_EQ(broker_->Disable("file/").code(), Code::kUnavailable);
  EXPECT_TRUE(broker_->HasDevices());  // still enabled, salt still stored
}

TEST_F(AuditBrokerTest, NoDevicesLogsNothingAndSucceeds) {
  EXPECT_TRUE(broker_->LogRequest(SampleAuth(), SampleRequest(), "").ok());
  EXPECT_TRUE(broker_->LogResponse(SampleAuth(), SampleRequest(), AuditResponse{}, "").ok());
}

TEST_F(AuditBrokerTest, AllDevicesFailingIsInternal) {
  ASSERT_TRUE(EnableFile("full/", "/dev/full").ok());
  Status st = broker_->LogRequest(SampleAuth(), SampleRequest(), "");
  EXPECT_EQ(st.code(), Code::kInternal);
  EXPECT_EQ(st.message().rfind("no audit backend succeeded in logging the request", 0), 0u);
  EXPECT_EQ(st.message().find("hunter2"), std::string::npos);
  st = broker_->LogResponse(SampleAuth(), SampleRequest(), AuditResponse{}, "");
  EXPECT_EQ(st.code(), Code::kInternal);
  struct stat sb {};
  ASSERT_EQ(::stat("/dev/full", &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0666u);  // a device's mode is never changed
}

TEST_F(AuditBrokerTest, OneDeviceSucceedingIsEnough) {
  ASSERT_TRUE(EnableFile("full/", "/dev/full").ok());
  ASSERT_TRUE(EnableFile("file/", File("audit.log")).ok());
  EXPECT_TRUE(broker_->LogRequest(SampleAuth(), SampleRequest(), "").ok());
  EXPECT_TRUE(broker_->LogResponse(SampleAuth(), SampleRequest(), AuditResponse{}, "").ok());
  EXPECT_EQ(Lines(File("audit.log")).size(), 2u);
}

TEST_F(AuditBrokerTest, DiscardAlwaysSucceeds) {
  AuditDeviceInfo info;
  info.path = "null/";
  info.type = "file";
  info.options = {{"file_path", "DISCARD"}};
  ASSERT_TRUE(broker_->Enable(info).ok());
  EXPECT_TRUE(broker_->LogRequest(SampleAuth(), SampleRequest(), "").ok());
  EXPECT_TRUE(broker_->Hash("null/", "x").ok());
}

TEST_F(AuditBrokerTest, ReopenFilesFollowsRotation) {
  ASSERT_TRUE(EnableFile("file/", File("audit.log")).ok());
  ASSERT_TRUE(broker_->LogRequest(SampleAuth(), SampleRequest(), "").ok());
  fs::rename(File("audit.log"), File("audit.log.1"));
  broker_->ReopenFiles();
  ASSERT_TRUE(broker_->LogRequest(SampleAuth(), SampleRequest(), "").ok());
  EXPECT_EQ(Lines(File("audit.log.1")).size(), 1u);
  EXPECT_EQ(Lines(File("audit.log")).size(), 1u);
}

TEST_F(AuditBrokerTest, DeletedFileIsRecreatedByReopen) {
  ASSERT_TRUE(EnableFile("file/", File("audit.log")).ok());
  fs::remove(File("audit.log"));
  // The open descriptor still takes lines; the reopen creates the file anew.
  ASSERT_TRUE(broker_->LogRequest(SampleAuth(), SampleRequest(), "").ok());
  EXPECT_FALSE(fs::exists(File("audit.log")));
  broker_->ReopenFiles();
  ASSERT_TRUE(broker_->LogRequest(SampleAuth(), SampleRequest(), "").ok());
  EXPECT_EQ(Lines(File("audit.log")).size(), 1u);
}

TEST_F(AuditBrokerTest, ConcurrentLoggingWritesWholeLines) {
  ASSERT_TRUE(EnableFile("file/", File("audit.log")).ok());
  ASSERT_TRUE(EnableFile("second/", File("second.log"), {{"log_raw", "true"}}).ok());
  constexpr int kThreads = 8;
  constexpr int kPerThread = 150;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        AuditRequest r = SampleRequest();
        r.id = std::to_string(t) + "-" + std::to_string(i);
        r.data = Json{{"blob", std::string(2000 + i, 'a' + t)}, {"i", i}};
        if (!broker_->LogRequest(SampleAuth(), r, "").ok()) ++failures;
        if (!broker_->LogResponse(SampleAuth(), r, AuditResponse{}, "").ok()) ++failures;
        if (i == kPerThread / 2 && t == 0) broker_->ReopenFiles();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  for (const char* f : {"audit.log", "second.log"}) {
    auto lines = Lines(File(f));
    ASSERT_EQ(lines.size(), static_cast<std::size_t>(kThreads * kPerThread * 2)) << f;
    std::set<std::string> ids;
    for (const auto& l : lines) {
      Json j;
      ASSERT_NO_THROW(j = Json::parse(l)) << l.substr(0, 80);
      ids.insert(j["request"]["id"].get<std::string>() + j["type"].get<std::string>());
    }
    EXPECT_EQ(ids.size(), lines.size()) << f;
  }
}

TEST_F(AuditBrokerTest, EnableAndDisableWhileLogging) {
  ASSERT_TRUE(EnableFile("file/", File("audit.log")).ok());
  std::atomic<bool> stop{false};
  std::thread logger([&] {
    while (!stop) ASSERT_TRUE(broker_->LogRequest(SampleAuth(), SampleRequest(), "").ok());
  });
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(EnableFile("tmp/", File("tmp.log")).ok());
    ASSERT_TRUE(broker_->Disable("tmp/").ok());
  }
  stop = true;
  logger.join();
  for (const auto& l : Lines(File("audit.log"))) EXPECT_NO_THROW(Json::parse(l));
}

}  // namespace
}  // namespace arca::core
