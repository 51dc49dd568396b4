// arca: http::Api, what the HTTP layer needs from core.
//
// The server and the handler depend only on this interface, so tests can
// drive them with a fake; NewCoreApi (core_api.h) adapts core::Core. The
// methods mirror core::Core's raw endpoints and HandleRequest, with the same
// contracts. Implementations must be safe for concurrent use: the server
// calls them from many threads at once, and a call may block briefly (e.g.
// on a storage fsync).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/secure.h"
#include "base/status.h"
#include "core/core.h"
#include "logical/request.h"

namespace arca::http {

class Api {
 public:
  virtual ~Api() = default;

  virtual StatusOr<bool> Initialized() = 0;
  virtual StatusOr<core::InitResult> Init(const core::InitParams& params) = 0;
  virtual core::SealStatus GetSealStatus() = 0;
  virtual StatusOr<core::SealStatus> SubmitUnsealKey(std::string_view key) = 0;
  virtual StatusOr<core::SealStatus> ResetUnseal() = 0;
  virtual bool Sealed() = 0;
  virtual core::HealthStatus Health() = 0;
  virtual StatusOr<core::LeaderStatus> Leader() = 0;
  virtual StatusOr<logical::Response> HandleRequest(logical::Request& req) = 0;

  // Whether this node is an unsealed HA standby, and the active node's
  // api_addr if known. A standby forwards (or redirects) every request but
  // the raw sys endpoints. Cheap: called for every request.
  struct StandbyInfo {
    bool standby = false;
    std::string leader_api_addr;  // empty: no active node known
  };
  virtual StandbyInfo Standby() { return {}; }

  // The cluster's shared secret that authenticates forwarded requests'
  // client addresses between nodes (HMAC key, 32 bytes); nullopt while
  // sealed or outside a cluster.
  virtual std::optional<SecureBytes> ForwardingKey() { return std::nullopt; }
};

}  // namespace arca::http
