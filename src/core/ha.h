// arca: what core needs from high availability, and what it offers it.
//
// Core does no election itself. With CoreConfig::ha_enabled, unsealing only
// opens the barrier: the node is an unsealed *standby* that serves nothing
// but the raw sys endpoints, until the coordinator (ha::Manager, src/ha)
// wins the election and calls Core::BecomeActive. Core::BecomeStandby undoes
// that without sealing. Core asks the coordinator, through HaCoordinator,
// for the leader's address (sys/leader, health, forwarding) and hands it the
// sys endpoints that are about the cluster.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/status.h"

namespace arca::core {

struct HaState {
  bool active = false;  // this node holds the lock and has loaded its state
  // The active node's api_addr / cluster_addr as published in the election
  // key; empty when none is known.
  std::string leader_api_addr;
  std::string leader_cluster_addr;
  SystemTime active_since{};  // this node's, when active
};

// One arca node as sys/ha-status reports it.
struct HaNode {
  std::string hostname;  // node id
  std::string api_address;
  std::string cluster_address;
  bool active_node = false;
  std::string last_echo;  // RFC 3339; empty for the active node
  std::string version;
};

class HaCoordinator {
 public:
  virtual ~HaCoordinator() = default;

  virtual HaState State() = 0;
  // True while this node's lease is known to be valid: active, and the
  // steady clock is before (last keep-alive *sent* + lock_ttl - margin).
  // Core checks it at the start of every request, so an active that was
  // paused or cut off stops serving at once, before the coordinator thread
  // has stepped it down. Cheap (atomics only).
  virtual bool HoldsLease() = 0;
  // sys/step-down on the active: give up the lock now; stay out of the
  // election for a short while so another node takes it.
  virtual Status StepDown() = 0;
  virtual StatusOr<std::vector<HaNode>> Nodes() = 0;
  // sys/storage/raft/configuration's `config` object and
  // sys/storage/raft/autopilot/state's data (etcd members and health).
  virtual StatusOr<nlohmann::json> RaftConfiguration() = 0;
  virtual StatusOr<nlohmann::json> AutopilotState() = 0;
  // Every stored key and value (physical ciphertext), read at one point in
  // time, and replacing them (fenced). For sys/storage/raft/snapshot.
  virtual StatusOr<std::vector<std::pair<std::string, std::string>>> ReadAll() = 0;
  virtual Status ReplaceAll(const std::vector<std::pair<std::string, std::string>>& entries) = 0;
};

}  // namespace arca::core
