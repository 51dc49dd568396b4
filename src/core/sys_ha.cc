// arca: the cluster's sys endpoints: step-down, ha-status, storage/raft/*.
// They need an HA coordinator (storage "etcd" with ha_enabled); without one,
// step-down is a no-op (a single node is always active) and the others
// answer 400 as Vault does on non-raft storage.
#include <spdlog/spdlog.h>

#include "core/internal/sys_backend.h"
#include "core/snapshot.h"

namespace arca::core {

using logical::Json;
using logical::Operation;
using logical::Response;

namespace {
Status NoCluster() { return InvalidArgument("raft storage is not in use"); }
}  // namespace

StatusOr<Response> SystemBackend::StepDown(logical::Request& req) {
  if (!IsWrite(req.operation)) return UnsupportedOperation();
  if (core_.ha == nullptr) return Response{};
  ARCA_RETURN_IF_ERROR(core_.ha->StepDown());
  return Response{};
}

StatusOr<Response> SystemBackend::HaStatus(logical::Request& req) {
  if (req.operation != Operation::kRead) return UnsupportedOperation();
  if (core_.ha == nullptr) return InvalidArgument("HA is not enabled");
  ARCA_ASSIGN_OR_RETURN(std::vector<HaNode> nodes, core_.ha->Nodes());
  Json list = Json::array();
  for (const HaNode& n : nodes) {
    list.push_back({{"hostname", n.hostname},
                    {"api_address", n.api_address},
                    {"cluster_address", n.cluster_address},
                    {"active_node", n.active_node},
                    {"last_echo", n.last_echo.empty() ? Json(nullptr) : Json(n.last_echo)},
                    {"version", n.version},
                    {"upgrade_version", n.version},
                    {"redundancy_zone", ""}});
  }
  Json data{{"nodes", std::move(list)}};
  if (core_.config.dns_status) data["dns"] = core_.config.dns_status();
  return Response::WithData(std::move(data));
}

StatusOr<Response> SystemBackend::Raft(logical::Request& req, std::string_view rest) {
  if (rest == "configuration") {
    if (req.operation != Operation::kRead) return UnsupportedOperation();
    if (core_.ha == nullptr) return NoCluster();
    ARCA_ASSIGN_OR_RETURN(Json config, core_.ha->RaftConfiguration());
    return Response::WithData(Json{{"config", std::move(config)}});
  }
  if (rest == "autopilot/state") {
    if (req.operation != Operation::kRead) return UnsupportedOperation();
    if (core_.ha == nullptr) return NoCluster();
    ARCA_ASSIGN_OR_RETURN(Json state, core_.ha->AutopilotState());
    return Response::WithData(std::move(state));
  }
  if (rest == "snapshot" && req.operation == Operation::kRead) return SnapshotSave(req);
  if ((rest == "snapshot" || rest == "snapshot-force") && IsWrite(req.operation))
    return SnapshotRestore(req, rest == "snapshot-force");
  if (rest == "snapshot" || rest == "snapshot-force" || rest == "configuration" ||
      rest == "autopilot/state")
    return UnsupportedOperation();
  return UnsupportedPath();
}

StatusOr<Response> SystemBackend::SnapshotSave(logical::Request&) {
  if (core_.ha == nullptr) return NoCluster();
  ARCA_ASSIGN_OR_RETURN(SnapshotEntries all, core_.ha->ReadAll());
  SnapshotEntries kept;
  kept.reserve(all.size());
  for (auto& e : all)
    if (!IsEphemeralKey(e.first)) kept.push_back(std::move(e));
  Response r;
  r.raw_body = EncodeSnapshot(kept);
  r.content_type = "application/octet-stream";
  r.http_status = 200;
  spdlog::info("core: snapshot taken ({} entries)", kept.size());
  return r;
}

StatusOr<Response> SystemBackend::SnapshotRestore(logical::Request& req, bool force) {
  if (core_.ha == nullptr) return NoCluster();
  if (req.raw_body.empty()) return InvalidArgument("missing snapshot body");
  ARCA_ASSIGN_OR_RETURN(SnapshotEntries entries, DecodeSnapshot(req.raw_body));
  std::erase_if(entries, [](const auto& e) { return IsEphemeralKey(e.first); });
  const std::pair<std::string, std::string>* keyring = nullptr;
  for (const auto& e : entries)
    if (e.first == kKeyringPath) keyring = &e;
  if (keyring == nullptr) return InvalidArgument("invalid snapshot: it holds no keyring");
  if (!force && !core_.barrier.VerifyKeyringBlob(keyring->second).ok()) {
    return InvalidArgument(
        "could not verify hash file, possibly the snapshot is using a different set of unseal "
        "keys; use the snapshot-force API to bypass this check");
  }
  ARCA_RETURN_IF_ERROR(core_.ha->ReplaceAll(entries));
  core_.barrier.ClearCache();
  spdlog::info("core: snapshot restored ({} entries); stepping down to reload", entries.size());
  // The loaded mounts, tokens and policies are the old ones: hand the
  // active role over (possibly to this node again), which loads afresh.
  Status st = core_.ha->StepDown();
  if (!st.ok()) spdlog::warn("core: step-down after restore failed: {}", st.ToString());
  return Response{};
}

}  // namespace arca::core
