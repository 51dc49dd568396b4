// arca: the values ha::Manager keeps in etcd and the JSON it reports.
//
// Pure functions, safe for concurrent use, except ClusterHistory (one
// caller at a time; Manager guards it).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "storage/etcd/client.h"

namespace arca::ha::internal {

// The value of the lock key: who holds it.
struct LockRecord {
  std::string node_id;
  std::string api_addr;
  std::string cluster_addr;
  std::string acquired;  // RFC 3339
};
std::string EncodeLockRecord(const LockRecord& r);
// nullopt when `s` is not a JSON object with a string node_id.
std::optional<LockRecord> DecodeLockRecord(std::string_view s);

// The value of `<prefix>core/nodes/<node_id>`.
struct NodeRecord {
  std::string node_id;
  std::string api_addr;
  std::string cluster_addr;
  std::string version;
  std::string last_echo;  // RFC 3339 with nanoseconds
};
std::string EncodeNodeRecord(const NodeRecord& r);
std::optional<NodeRecord> DecodeNodeRecord(std::string_view s);

// Go's time.Duration.String() of `ns` nanoseconds: "0s", "516.49595ms",
// "1.5s", "2m3s", "1h0m0s".
std::string FormatGoDurationNanos(int64_t ns);

// "https://10.0.0.1:2380" → "10.0.0.1:2380"; a URL without "://" unchanged.
std::string StripScheme(std::string_view url);

// sys/storage/raft/configuration's `config`: {"index", "servers": [...]}.
nlohmann::json RaftConfigurationJson(const std::vector<storage::etcd::Member>& members,
                                     const std::vector<storage::etcd::EndpointStatus>& statuses);

// What autopilot state remembers between calls, per etcd member id.
struct ClusterHistory {
  std::map<uint64_t, SteadyTime> last_seen;      // last time it answered Status
  std::map<uint64_t, SystemTime> healthy_since;  // start of its current healthy run
};

// Members more than this many raft entries behind the leader are unhealthy
// (Vault's autopilot max_trailing_logs default).
inline constexpr uint64_t kMaxTrailingLogs = 1000;

// sys/storage/raft/autopilot/state's data; updates `history`.
nlohmann::json AutopilotStateJson(const std::vector<storage::etcd::Member>& members,
                                  const std::vector<storage::etcd::EndpointStatus>& statuses,
                                  SteadyTime now, SystemTime wall_now, ClusterHistory& history);

}  // namespace arca::ha::internal
