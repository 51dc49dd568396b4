// The records ha::Manager keeps in etcd and the raft-shaped JSON it builds
// from etcd's member list and statuses.
#include "ha/internal/records.h"

#include <gtest/gtest.h>

#include "base/time.h"

namespace arca::ha::internal {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using storage::etcd::EndpointStatus;
using storage::etcd::Member;

TEST(RecordsTest, LockRecordRoundTrips) {
  LockRecord r{"node1", "https://127.0.0.1:8200", "https://127.0.0.1:8201",
               "2024-01-01T00:00:00Z"};
  auto back = DecodeLockRecord(EncodeLockRecord(r));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->node_id, "node1");
  EXPECT_EQ(back->api_addr, "https://127.0.0.1:8200");
  EXPECT_EQ(back->cluster_addr, "https://127.0.0.1:8201");
  EXPECT_EQ(back->acquired, "2024-01-01T00:00:00Z");
  auto j = nlohmann::json::parse(EncodeLockRecord(r));
  EXPECT_EQ(j.size(), 4u);
}

TEST(RecordsTest, DecodeRefusesWhatIsNotARecord) {
  EXPECT_FALSE(DecodeLockRecord("").has_value());
  EXPECT_FALSE(DecodeLockRecord("not json").has_value());
  EXPECT_FALSE(DecodeLockRecord("[1,2]").has_value());
  EXPECT_FALSE(DecodeLockRecord(R"({"node_id": 7})").has_value());
  EXPECT_FALSE(DecodeNodeRecord(R"({"api_addr": "x"})").has_value());
  auto partial = DecodeNodeRecord(R"({"node_id": "n", "version": 3})");
  ASSERT_TRUE(partial.has_value());
  EXPECT_EQ(partial->version, "");  // wrong types read as empty
}

TEST(RecordsTest, EncodeSurvivesInvalidUtf8) {
  NodeRecord r{"bad\xff", "", "", "", ""};
  auto back = DecodeNodeRecord(EncodeNodeRecord(r));
  ASSERT_TRUE(back.has_value());
  EXPECT_NE(back->node_id, "bad\xff");  // replaced, not thrown
}

TEST(RecordsTest, NodeRecordRoundTrips) {
  NodeRecord r{"n2", "https://a:8200", "https://a:8201", "0.1.0", "2024-01-01T00:00:01.5Z"};
  auto back = DecodeNodeRecord(EncodeNodeRecord(r));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->node_id, "n2");
  EXPECT_EQ(back->version, "0.1.0");
  EXPECT_EQ(back->last_echo, "2024-01-01T00:00:01.5Z");
}

TEST(RecordsTest, GoDurationStrings) {
  EXPECT_EQ(FormatGoDurationNanos(0), "0s");
  EXPECT_EQ(FormatGoDurationNanos(999), "999ns");
  EXPECT_EQ(FormatGoDurationNanos(1500), "1.5\u00b5s");
  EXPECT_EQ(FormatGoDurationNanos(516'495'950), "516.49595ms");
  EXPECT_EQ(FormatGoDurationNanos(1'000'000), "1ms");
  EXPECT_EQ(FormatGoDurationNanos(1'500'000'000), "1.5s");
  EXPECT_EQ(FormatGoDurationNanos(3'969'159'375), "3.969159375s");
  EXPECT_EQ(FormatGoDurationNanos(int64_t(123) * 1'000'000'000 + 500'000'000), "2m3.5s");
  EXPECT_EQ(FormatGoDurationNanos(int64_t(3600) * 1'000'000'000), "1h0m0s");
  EXPECT_EQ(FormatGoDurationNanos(-1'500'000'000), "-1.5s");
  EXPECT_FALSE(FormatGoDurationNanos(INT64_MIN).empty());
}

TEST(RecordsTest, StripSchemeKeepsHostAndPort) {
  EXPECT_EQ(StripScheme("https://10.0.0.1:2380"), "10.0.0.1:2380");
  EXPECT_EQ(StripScheme("http://[::1]:2380"), "[::1]:2380");
  EXPECT_EQ(StripScheme("10.0.0.1:2380"), "10.0.0.1:2380");
}

std::vector<Member> ThreeMembers() {
  return {{1, "etcd1", {"https://127.0.0.1:2380"}, {"https://127.0.0.1:2379"}, false},
          {2, "etcd2", {"https://127.0.0.1:2382"}, {"https://127.0.0.1:2381"}, false},
          {3, "", {"http://127.0.0.1:2384"}, {}, true}};
}

std::vector<EndpointStatus> Statuses(bool second_reachable) {
  EndpointStatus a{"https://127.0.0.1:2379", true, "", "3.4.23", 1, 2, 100, 4, 0};
  EndpointStatus b{"https://127.0.0.1:2381", second_reachable, "", "3.4.23", 2, 2, 101, 4, 0};
  if (!second_reachable) {
    b = EndpointStatus{};
    b.endpoint = "https://127.0.0.1:2381";
    b.error = "connection refused";
  }
  return {a, b};
}

TEST(RecordsTest, RaftConfigurationHasVaultsShape) {
  auto j = RaftConfigurationJson(ThreeMembers(), Statuses(true));
  EXPECT_EQ(j["index"], 101);  // the leader's
  ASSERT_EQ(j["servers"].size(), 3u);
  const auto& s0 = j["servers"][0];
  EXPECT_EQ(s0["node_id"], "etcd1");
  EXPECT_EQ(s0["address"], "127.0.0.1:2380");
  EXPECT_EQ(s0["leader"], false);
  EXPECT_EQ(s0["protocol_version"], "3");
  EXPECT_EQ(s0["voter"], true);
  EXPECT_EQ(j["servers"][1]["leader"], true);
  EXPECT_EQ(j["servers"][2]["node_id"], "3");  // no name yet: its id in hex
  EXPECT_EQ(j["servers"][2]["voter"], false);
}

TEST(RecordsTest, RaftConfigurationWithoutAnyStatusHasNoLeader) {
  auto j = RaftConfigurationJson(ThreeMembers(), {});
  EXPECT_EQ(j["index"], 0);
  for (const auto& s : j["servers"]) EXPECT_EQ(s["leader"], false);
}

TEST(RecordsTest, AutopilotStateHealthyCluster) {
  ClusterHistory h;
  SystemTime wall = *ParseRfc3339("2024-01-01T00:00:00Z");
  auto j = AutopilotStateJson(ThreeMembers(), Statuses(true), SteadyTime(seconds(10)), wall, h);
  EXPECT_EQ(j["leader"], "etcd2");
  EXPECT_EQ(j["voters"], nlohmann::json::array({"etcd1", "etcd2"}));
  EXPECT_EQ(j["non_voters"], nlohmann::json::array({"3"}));
  // Two voters, both healthy: quorum 2, nothing to spare.
  EXPECT_EQ(j["failure_tolerance"], 0);
  EXPECT_EQ(j["healthy"], true);
  const auto& s1 = j["servers"]["etcd1"];
  EXPECT_EQ(s1["id"], "etcd1");
  EXPECT_EQ(s1["name"], "etcd1");
  EXPECT_EQ(s1["address"], "127.0.0.1:2380");
  EXPECT_EQ(s1["node_status"], "alive");
  EXPECT_EQ(s1["last_contact"], "0s");
  EXPECT_EQ(s1["last_index"], 100);
  EXPECT_EQ(s1["last_term"], 4);
  EXPECT_EQ(s1["healthy"], true);
  EXPECT_EQ(s1["status"], "voter");
  EXPECT_EQ(s1["version"], "3.4.23");
  EXPECT_EQ(s1["stable_since"], "2024-01-01T00:00:00Z");
  EXPECT_EQ(j["servers"]["etcd2"]["status"], "leader");
  EXPECT_EQ(j["servers"]["3"]["status"], "non-voter");
  EXPECT_EQ(j["servers"]["3"]["node_status"], "left");  // never answered
}

TEST(RecordsTest, AutopilotStateRemembersLastContactAndStableSince) {
  ClusterHistory h;
  SystemTime wall = *ParseRfc3339("2024-01-01T00:00:00Z");
  (void)AutopilotStateJson(ThreeMembers(), Statuses(true), SteadyTime(seconds(10)), wall, h);
  // Later: still healthy, stable_since unchanged.
  auto later = AutopilotStateJson(ThreeMembers(), Statuses(true), SteadyTime(seconds(11)),
                                  wall + seconds(1), h);
  EXPECT_EQ(later["servers"]["etcd1"]["stable_since"], "2024-01-01T00:00:00Z");
  // etcd2 (the leader) stops answering; etcd1 still names it leader.
  auto down = AutopilotStateJson(ThreeMembers(), Statuses(false),
                                 SteadyTime(seconds(11) + milliseconds(2500)), wall + seconds(3), h);
  const auto& s2 = down["servers"]["etcd2"];
  EXPECT_EQ(s2["node_status"], "left");
  EXPECT_EQ(s2["healthy"], false);
  EXPECT_EQ(s2["last_contact"], "2.5s");
  EXPECT_EQ(s2["stable_since"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(down["healthy"], false);
  EXPECT_EQ(down["failure_tolerance"], 0);
  // Back: a new stable run starts.
  auto back = AutopilotStateJson(ThreeMembers(), Statuses(true), SteadyTime(seconds(20)),
                                 wall + seconds(10), h);
  EXPECT_EQ(back["servers"]["etcd2"]["stable_since"], "2024-01-01T00:00:10Z");
  EXPECT_EQ(back["servers"]["etcd1"]["stable_since"], "2024-01-01T00:00:00Z");
}

TEST(RecordsTest, AutopilotFailureToleranceOfThreeVoters) {
  std::vector<Member> m = {{1, "a", {"http://h:1"}, {}, false},
                           {2, "b", {"http://h:2"}, {}, false},
                           {3, "c", {"http://h:3"}, {}, false}};
  std::vector<EndpointStatus> st = {{"e1", true, "", "3.4", 1, 1, 10, 2, 0},
                                    {"e2", true, "", "3.4", 2, 1, 10, 2, 0},
                                    {"e3", true, "", "3.4", 3, 1, 10 + kMaxTrailingLogs + 1, 2, 0}};
  ClusterHistory h;
  // c runs ahead of the leader: healthy.
  auto j = AutopilotStateJson(m, st, SteadyTime(seconds(1)), SystemTime(seconds(1)), h);
  EXPECT_EQ(j["failure_tolerance"], 1);
  EXPECT_EQ(j["healthy"], true);
  st[1].raft_index = 10;
  st[0].raft_index = 10 + 2 * kMaxTrailingLogs;  // b now trails the leader
  j = AutopilotStateJson(m, st, SteadyTime(seconds(2)), SystemTime(seconds(2)), h);
  EXPECT_EQ(j["servers"]["b"]["healthy"], false);
  EXPECT_EQ(j["failure_tolerance"], 0);
  EXPECT_EQ(j["healthy"], false);
}

}  // namespace
}  // namespace arca::ha::internal
