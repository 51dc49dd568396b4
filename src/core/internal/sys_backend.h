// arca: the sys/ backend (Vault's SystemBackend): mounts, auth, policies,
// capabilities, audit, tools, key rotation. Internal to core: it reaches into
// Core::Impl. Handlers are split by area over sys_*.cc.
#pragma once

#include <string>
#include <vector>

#include "core/internal/core_impl.h"

namespace arca::core {

// Helpers shared by the sys_*.cc handlers.
inline bool IsWrite(logical::Operation op) {
  return op == logical::Operation::kCreate || op == logical::Operation::kUpdate;
}
// "/a/b" or "a/b" → "a/b/": a mount or device path with one trailing '/'.
inline std::string WithSlash(std::string_view p) {
  std::string s(p);
  while (!s.empty() && s.front() == '/') s.erase(0, 1);
  if (s.empty() || s.back() != '/') s += '/';
  return s;
}

class SystemBackend final : public logical::Backend {
 public:
  explicit SystemBackend(Core::Impl& core) : core_(core) {}
  StatusOr<logical::Response> HandleRequest(logical::Request& req) override;
  StatusOr<bool> Exists(logical::Request& req) override;

 private:
  using Req = logical::Request;
  using Resp = StatusOr<logical::Response>;

  Resp Mounts(Req& req, std::string_view rest, bool auth);
  Resp MountTune(Req& req, const std::string& route_path);
  Resp Remount(Req& req);
  Resp PolicyLegacy(Req& req, std::string_view name);
  Resp PolicyAcl(Req& req, std::string_view name);
  Resp Capabilities(Req& req, std::string_view which);
  Resp UiMounts(Req& req, std::string_view rest);
  Resp Audit(Req& req, std::string_view rest);
  Resp AuditHash(Req& req, std::string_view rest);
  Resp ToolsRandom(Req& req, std::string_view rest);
  Resp ToolsHash(Req& req, std::string_view rest);
  Resp Metrics(Req& req);
  Resp Rotate(Req& req);
  Resp KeyStatus(Req& req);
  // sys_ha.cc
  Resp StepDown(Req& req);
  Resp HaStatus(Req& req);
  Resp Raft(Req& req, std::string_view rest);  // storage/raft/<rest>
  Resp SnapshotSave(Req& req);
  Resp SnapshotRestore(Req& req, bool force);

  Core::Impl& core_;
};

}  // namespace arca::core
