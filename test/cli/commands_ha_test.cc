// The HA commands over a scripted transport: operator step-down, members,
// raft list-peers and raft snapshot save/restore.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "cli/command.h"
#include "cli_fakes.h"

namespace arca::cli {
namespace {

using testing::HeaderOf;
using testing::PathOf;

constexpr char kRaftConfig[] =
    R"({"request_id":"r1","lease_id":"","renewable":false,"lease_duration":0,"data":{"config":)"
    R"({"index":24,"servers":[)"
    R"({"node_id":"node1","address":"127.0.0.1:2380","leader":true,"voter":true,"protocol_version":"3"},)"
    R"({"node_id":"node2","address":"127.0.0.1:2381","leader":false,"voter":false,"protocol_version":"3"}]}},)"
    R"("wrap_info":null,"warnings":null,"auth":null})";

constexpr char kHaStatus[] =
    R"({"nodes":[)"
    R"({"hostname":"node1","api_address":"https://127.0.0.1:8200","cluster_address":"https://127.0.0.1:8201","active_node":true,"last_echo":null,"version":"1.15.0"},)"
    R"({"hostname":"node2","api_address":"https://127.0.0.1:8210","cluster_address":"https://127.0.0.1:8211","active_node":false,"last_echo":"2024-01-01T10:00:00.123456Z","version":"1.15.0"}],)"
    R"("request_id":"r2","data":{"nodes":[]}})";

const std::string kSnapshot("\x1f\x8b\x08\x00\x00\r\n\xff", 8);

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

class HaCommandsTest : public ::testing::Test {
 protected:
  std::string InHome(const std::string& name) { return t_.home.path() + "/" + name; }

  // Answers every request for `path` with `status` and a binary body.
  void ServeBinary(const std::string& method, const std::string& path, long status,
                   const std::string& body) {
    t_.transport.handler = [=](const HttpRequest& r) -> std::optional<HttpResponse> {
      if (r.method != method || PathOf(r.url) != path) return std::nullopt;
      HttpResponse resp;
      resp.status = status;
      resp.headers = {{"Content-Type", "application/octet-stream"}};
      resp.body = body;
      return resp;
    };
  }

  testing::TestEnv t_;
};

TEST_F(HaCommandsTest, StepDownPutsAndNamesTheAddress) {
  t_.transport.On("PUT", "/v1/sys/step-down", 204, "");
  EXPECT_EQ(t_.Run({"operator", "step-down"}), 0);
  EXPECT_EQ(t_.out.str(), "Success! Stepped down: http://127.0.0.1:8200\n");
  ASSERT_NE(t_.transport.Find("PUT", "/v1/sys/step-down"), nullptr);

  t_.transport.On("PUT", "/v1/sys/step-down", 403, R"({"errors":["permission denied"]})");
  EXPECT_EQ(t_.Run({"operator", "step-down"}), 2);
  EXPECT_EQ(t_.err.str().rfind("Error stepping down: Error making API request.", 0), 0u);
  EXPECT_NE(t_.err.str().find("Code: 403"), std::string::npos);

  EXPECT_EQ(t_.Run({"operator", "step-down", "extra"}), 1);
  EXPECT_EQ(t_.err.str(), "Too many arguments (expected 0, got 1)\n");
}

TEST_F(HaCommandsTest, ListPeersPrintsTheTable) {
  t_.transport.On("GET", "/v1/sys/storage/raft/configuration", 200, kRaftConfig);
  EXPECT_EQ(t_.Run({"operator", "raft", "list-peers"}), 0);
  EXPECT_EQ(t_.out.str(),
            "Node     Address           State       Voter\n"
            "----     -------           -----       -----\n"
            "node1    127.0.0.1:2380    leader      true\n"
            "node2    127.0.0.1:2381    follower    false\n");
}

TEST_F(HaCommandsTest, ListPeersJsonIsTheSecret) {
  t_.transport.On("GET", "/v1/sys/storage/raft/configuration", 200, kRaftConfig);
  EXPECT_EQ(t_.Run({"operator", "raft", "list-peers", "-format=json"}), 0);
  Json j = Json::parse(t_.out.str());
  EXPECT_EQ(j["data"]["config"]["servers"][1]["node_id"], "node2");
  EXPECT_EQ(j["data"]["config"]["index"], 24);
}

TEST_F(HaCommandsTest, ListPeersErrors) {
  t_.transport.On("GET", "/v1/sys/storage/raft/configuration", 400,
                  R"({"errors":["raft storage is not in use"]})");
  EXPECT_EQ(t_.Run({"operator", "raft", "list-peers"}), 2);
  EXPECT_EQ(t_.err.str().rfind("Error reading the raft cluster configuration: ", 0), 0u);
  EXPECT_NE(t_.err.str().find("raft storage is not in use"), std::string::npos);

  t_.transport.On("GET", "/v1/sys/storage/raft/configuration", 404, R"({"errors":[]})");
  EXPECT_EQ(t_.Run({"operator", "raft", "list-peers"}), 2);
  EXPECT_EQ(t_.err.str(), "No raft cluster configuration found\n");
}

TEST_F(HaCommandsTest, SnapshotSaveWritesTheBodyWithMode0600) {
  ServeBinary("GET", "/v1/sys/storage/raft/snapshot", 200, kSnapshot);
  std::string file = InHome("raft.snap");
  {
    std::ofstream old(file);
    old << "an older, longer snapshot file";
  }
  ::chmod(file.c_str(), 0644);
  EXPECT_EQ(t_.Run({"operator", "raft", "snapshot", "save", file}), 0);
  EXPECT_EQ(t_.out.str(), "");
  EXPECT_EQ(t_.err.str(), "");
  EXPECT_EQ(ReadFile(file), kSnapshot);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Nothing but the snapshot is left behind.
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(t_.home.path())) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
  EXPECT_EQ(HeaderOf(t_.transport.requests.back(), "X-Vault-Request"), "true");
}

TEST_F(HaCommandsTest, SnapshotSaveErrorLeavesNoFile) {
  t_.transport.On("GET", "/v1/sys/storage/raft/snapshot", 500, R"({"errors":["internal error"]})");
  std::string file = InHome("raft.snap");
  EXPECT_EQ(t_.Run({"operator", "raft", "snapshot", "save", file}), 2);
  EXPECT_EQ(t_.err.str().rfind("Error taking the snapshot: Error making API request.", 0), 0u);
  EXPECT_FALSE(std::filesystem::exists(file));

  EXPECT_EQ(t_.Run({"operator", "raft", "snapshot", "save"}), 1);
  EXPECT_EQ(t_.err.str(), "Incorrect arguments (expected 1, got 0)\n");
}

TEST_F(HaCommandsTest, SnapshotRestorePostsTheFileBytes) {
  std::string file = InHome("raft.snap");
  {
    std::ofstream f(file, std::ios::binary);
    f << kSnapshot;
  }
  t_.transport.On("POST", "/v1/sys/storage/raft/snapshot", 204, "");
  EXPECT_EQ(t_.Run({"operator", "raft", "snapshot", "restore", file}), 0);
  EXPECT_EQ(t_.out.str(), "");
  const HttpRequest* r = t_.transport.Find("POST", "/v1/sys/storage/raft/snapshot");
  ASSERT_NE(r, nullptr);
  ASSERT_TRUE(r->body.has_value());
  EXPECT_EQ(*r->body, kSnapshot);
  EXPECT_EQ(HeaderOf(*r, "Content-Type"), "application/octet-stream");

  t_.transport.On("POST", "/v1/sys/storage/raft/snapshot-force", 204, "");
  EXPECT_EQ(t_.Run({"operator", "raft", "snapshot", "restore", "-force", file}), 0);
  const HttpRequest* forced = t_.transport.Find("POST", "/v1/sys/storage/raft/snapshot-force");
  ASSERT_NE(forced, nullptr);
  EXPECT_EQ(*forced->body, kSnapshot);
}

TEST_F(HaCommandsTest, SnapshotRestoreFollowsA307WithTheBody) {
  std::string file = InHome("raft.snap");
  {
    std::ofstream f(file, std::ios::binary);
    f << kSnapshot;
  }
  t_.transport.handler = [](const HttpRequest& r) -> std::optional<HttpResponse> {
    HttpResponse resp;
    if (r.url.rfind("http://127.0.0.1:8200/", 0) == 0) {
      resp.status = 307;
      resp.headers = {{"Location", "http://127.0.0.1:8210/v1/sys/storage/raft/snapshot"}};
    } else {
      resp.status = 204;
    }
    return resp;
  };
  EXPECT_EQ(t_.Run({"operator", "raft", "snapshot", "restore", file}), 0);
  ASSERT_EQ(t_.transport.requests.size(), 2u);
  const HttpRequest& second = t_.transport.requests[1];
  EXPECT_EQ(second.method, "POST");
  EXPECT_EQ(second.url, "http://127.0.0.1:8210/v1/sys/storage/raft/snapshot");
  EXPECT_EQ(second.body, kSnapshot);
}

TEST_F(HaCommandsTest, SnapshotRestoreErrors) {
  std::string file = InHome("raft.snap");
  EXPECT_EQ(t_.Run({"operator", "raft", "snapshot", "restore", file}), 2);
  EXPECT_EQ(t_.err.str().rfind("Error opening snapshot file: ", 0), 0u);
  EXPECT_TRUE(t_.transport.requests.empty());

  {
    std::ofstream f(file, std::ios::binary);
    f << kSnapshot;
  }
  t_.transport.On(
      "POST", "/v1/sys/storage/raft/snapshot", 400,
      R"({"errors":["could not verify hash file, possibly the snapshot is using a different set of unseal keys; use the snapshot-force API to bypass this check"]})");
  EXPECT_EQ(t_.Run({"operator", "raft", "snapshot", "restore", file}), 2);
  EXPECT_EQ(t_.err.str().rfind("Error installing the snapshot: ", 0), 0u);
  EXPECT_NE(t_.err.str().find("snapshot-force"), std::string::npos);

  EXPECT_EQ(t_.Run({"operator", "raft", "snapshot", "restore", file, "other"}), 1);
  EXPECT_EQ(t_.err.str(), "Incorrect arguments (expected 1, got 2)\n");
}

TEST_F(HaCommandsTest, MembersPrintsVaultsTable) {
  t_.transport.On("GET", "/v1/sys/ha-status", 200, kHaStatus);
  EXPECT_EQ(t_.Run({"operator", "members"}), 0);
  EXPECT_EQ(t_.out.str(),
            "Host Name    API Address               Cluster Address           Active Node    "
            "Version    Upgrade Version    Redundancy Zone    Last Echo\n"
            "---------    -----------               ---------------           -----------    "
            "-------    ---------------    ---------------    ---------\n"
            "node1        https://127.0.0.1:8200    https://127.0.0.1:8201    true           "
            "1.15.0     n/a                n/a                n/a\n"
            "node2        https://127.0.0.1:8210    https://127.0.0.1:8211    false          "
            "1.15.0     n/a                n/a                2024-01-01T10:00:00Z\n");
}

TEST_F(HaCommandsTest, MembersJsonHasTheGoClientShape) {
  t_.transport.On("GET", "/v1/sys/ha-status", 200, kHaStatus);
  EXPECT_EQ(t_.Run({"operator", "members", "-format=json"}), 0);
  Json j = Json::parse(t_.out.str());
  ASSERT_EQ(j["Nodes"].size(), 2u);
  EXPECT_EQ(j["Nodes"][0]["hostname"], "node1");
  EXPECT_EQ(j["Nodes"][0]["active_node"], true);
  EXPECT_TRUE(j["Nodes"][0]["last_echo"].is_null());
  EXPECT_EQ(j["Nodes"][1]["last_echo"], "2024-01-01T10:00:00.123456Z");
  EXPECT_FALSE(j["Nodes"][1].contains("upgrade_version"));

  t_.transport.On("GET", "/v1/sys/ha-status", 403, R"({"errors":["permission denied"]})");
  EXPECT_EQ(t_.Run({"operator", "members"}), 2);
  EXPECT_EQ(t_.err.str().rfind("Error making API request.", 0), 0u);
}

TEST_F(HaCommandsTest, GroupsListTheirSubcommands) {
  EXPECT_EQ(t_.Run({"operator", "raft"}), 127);
  EXPECT_NE(t_.err.str().find("list-peers"), std::string::npos);
  EXPECT_NE(t_.err.str().find("snapshot"), std::string::npos);
  EXPECT_EQ(t_.Run({"operator", "raft", "snapshot", "-h"}), 0);
  EXPECT_NE(t_.err.str().find("restore"), std::string::npos);
  EXPECT_NE(t_.err.str().find("save"), std::string::npos);
  EXPECT_EQ(t_.Run({"operator"}), 127);
  EXPECT_NE(t_.err.str().find("step-down"), std::string::npos);
  EXPECT_NE(t_.err.str().find("members"), std::string::npos);
}

}  // namespace
}  // namespace arca::cli
