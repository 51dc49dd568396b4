// arca: lock and node records, and the raft-shaped JSON of the etcd cluster.
#include "ha/internal/records.h"

#include <algorithm>
#include <cstdio>

#include "base/time.h"

namespace arca::ha::internal {
namespace {

using nlohmann::json;
using storage::etcd::EndpointStatus;
using storage::etcd::Member;

std::optional<json> ParseObject(std::string_view s) {
  json j = json::parse(s, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

std::string StringField(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

std::string MemberName(const Member& m) {
  if (!m.name.empty()) return m.name;
  char buf[24];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(m.id));
  return buf;
}

// Integer part and up to `digits` fraction digits, trailing zeros trimmed.
std::string Fraction(uint64_t v, uint64_t unit, int digits) {
  std::string out = std::to_string(v / unit);
  uint64_t frac = v % unit;
  if (frac == 0) return out;
  std::string f(static_cast<std::size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i) {
    f[static_cast<std::size_t>(i)] = static_cast<char>('0' + frac % 10);
    frac /= 10;
  }
  while (!f.empty() && f.back() == '0') f.pop_back();
  return out + "." + f;
}

// The raft leader as the members report it: the one named by the status of
// the highest term. 0 when no reachable member knows a leader.
const EndpointStatus* Freshest(const std::vector<EndpointStatus>& statuses) {
  const EndpointStatus* best = nullptr;
  for (const auto& s : statuses) {
    if (!s.reachable || s.leader == 0) continue;
    if (best == nullptr || s.raft_term > best->raft_term) best = &s;
  }
  return best;
}

const EndpointStatus* StatusOf(const std::vector<EndpointStatus>& statuses, uint64_t member_id) {
  for (const auto& s : statuses)
    if (s.reachable && s.member_id == member_id) return &s;
  return nullptr;
}

uint64_t LeaderIndex(const std::vector<EndpointStatus>& statuses, uint64_t leader) {
  if (const EndpointStatus* s = StatusOf(statuses, leader)) return s->raft_index;
  uint64_t max = 0;
  for (const auto& s : statuses)
    if (s.reachable) max = std::max(max, s.raft_index);
  return max;
}

}  // namespace

std::string EncodeLockRecord(const LockRecord& r) {
  return json{{"node_id", r.node_id},
              {"api_addr", r.api_addr},
              {"cluster_addr", r.cluster_addr},
              {"acquired", r.acquired}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<LockRecord> DecodeLockRecord(std::string_view s) {
  auto j = ParseObject(s);
  if (!j) return std::nullopt;
  auto id = j->find("node_id");
  if (id == j->end() || !id->is_string()) return std::nullopt;
  return LockRecord{id->get<std::string>(), StringField(*j, "api_addr"),
                    StringField(*j, "cluster_addr"), StringField(*j, "acquired")};
}

std::string EncodeNodeRecord(const NodeRecord& r) {
  return json{{"node_id", r.node_id},
              {"api_addr", r.api_addr},
              {"cluster_addr", r.cluster_addr},
              {"version", r.version},
              {"last_echo", r.last_echo}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<NodeRecord> DecodeNodeRecord(std::string_view s) {
  auto j = ParseObject(s);
  if (!j) return std::nullopt;
  auto id = j->find("node_id");
  if (id == j->end() || !id->is_string()) return std::nullopt;
  return NodeRecord{id->get<std::string>(), StringField(*j, "api_addr"),
                    StringField(*j, "cluster_addr"), StringField(*j, "version"),
                    StringField(*j, "last_echo")};
}

std::string FormatGoDurationNanos(int64_t ns) {
  if (ns == 0) return "0s";
  std::string sign = ns < 0 ? "-" : "";
  // Magnitude without overflowing on INT64_MIN.
  uint64_t u = ns < 0 ? uint64_t(0) - static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
  constexpr uint64_t kUs = 1000, kMs = 1000 * kUs, kS = 1000 * kMs;
  if (u < kUs) return sign + std::to_string(u) + "ns";
  if (u < kMs) return sign + Fraction(u, kUs, 3) + "\u00b5s";
  if (u < kS) return sign + Fraction(u, kMs, 6) + "ms";
  uint64_t secs = u / kS;
  std::string out = sign;
  uint64_t h = secs / 3600, m = (secs / 60) % 60;
  if (h > 0) out += std::to_string(h) + "h" + std::to_string(m) + "m";
  else if (m > 0) out += std::to_string(m) + "m";
  return out + Fraction((secs % 60) * kS + u % kS, kS, 9) + "s";
}

std::string StripScheme(std::string_view url) {
  auto pos = url.find("://");
  if (pos == std::string_view::npos) return std::string(url);
  return std::string(url.substr(pos + 3));
}

json RaftConfigurationJson(const std::vector<Member>& members,
                           const std::vector<EndpointStatus>& statuses) {
  const EndpointStatus* fresh = Freshest(statuses);
  uint64_t leader = fresh ? fresh->leader : 0;
  json servers = json::array();
  for (const auto& m : members) {
    servers.push_back({{"node_id", MemberName(m)},
                       {"address", m.peer_urls.empty() ? "" : StripScheme(m.peer_urls.front())},
                       {"leader", leader != 0 && m.id == leader},
                       {"protocol_version", "3"},
                       {"voter", !m.is_learner}});
  }
  return json{{"index", LeaderIndex(statuses, leader)}, {"servers", std::move(servers)}};
}

json AutopilotStateJson(const std::vector<Member>& members,
                        const std::vector<EndpointStatus>& statuses, SteadyTime now,
                        SystemTime wall_now, ClusterHistory& history) {
  const EndpointStatus* fresh = Freshest(statuses);
  uint64_t leader = fresh ? fresh->leader : 0;
  uint64_t leader_index = LeaderIndex(statuses, leader);

  json servers = json::object();
  std::vector<std::string> voters, non_voters;
  std::string leader_name;
  int healthy_voters = 0;
  bool all_healthy = leader != 0;
  for (const auto& m : members) {
    std::string name = MemberName(m);
    const EndpointStatus* st = StatusOf(statuses, m.id);
    if (st) history.last_seen[m.id] = now;
    bool healthy = st != nullptr && leader != 0 && st->raft_index + kMaxTrailingLogs >= leader_index;

    std::string last_contact = "0s";
    if (!st) {
      auto seen = history.last_seen.find(m.id);
      if (seen != history.last_seen.end())
        last_contact = FormatGoDurationNanos(
            std::chrono::duration_cast<std::chrono::nanoseconds>(now - seen->second).count());
    }
    SystemTime stable_since{};
    if (healthy) stable_since = history.healthy_since.try_emplace(m.id, wall_now).first->second;
    else history.healthy_since.erase(m.id);

    std::string status = m.id == leader ? "leader" : (m.is_learner ? "non-voter" : "voter");
    if (m.id == leader) leader_name = name;
    if (m.is_learner) {
      non_voters.push_back(name);
    } else {
      voters.push_back(name);
      if (healthy) ++healthy_voters;
      else all_healthy = false;
    }
    servers[name] = {
        {"id", name},
        {"name", name},
        {"address", m.peer_urls.empty() ? "" : StripScheme(m.peer_urls.front())},
        {"node_status", st ? "alive" : "left"},
        {"last_contact", last_contact},
        {"last_term", st ? st->raft_term : 0},
        {"last_index", st ? st->raft_index : 0},
        {"healthy", healthy},
        {"stable_since", healthy ? FormatRfc3339Nano(stable_since) : ZeroTimeRfc3339()},
        {"status", status},
        {"node_type", m.is_learner ? "non-voter" : "voter"},
        {"version", st ? st->version : ""},
        {"meta", nullptr},
    };
  }
  int quorum = static_cast<int>(voters.size()) / 2 + 1;
  json nv = non_voters.empty() ? json(nullptr) : json(non_voters);
  return json{{"healthy", all_healthy && healthy_voters >= quorum},
              {"failure_tolerance", std::max(0, healthy_voters - quorum)},
              {"leader", leader_name},
              {"voters", voters},
              {"non_voters", std::move(nv)},
              {"servers", std::move(servers)}};
}

}  // namespace arca::ha::internal
