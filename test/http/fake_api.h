// arca test support for src/http: a scriptable http::Api that records calls.
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "http/api.h"

namespace arca::http::testing {

class FakeApi : public Api {
 public:
  FakeApi() {
    seal.initialized = true;
    seal.sealed = false;
    seal.threshold = 1;
    seal.shares = 1;
    seal.storage_type = "inmem";
    seal.cluster_name = "vault-cluster-1a2b3c4d";
    seal.cluster_id = "c0ffee00-0000-4000-8000-000000000000";
    health.initialized = true;
    health.sealed = false;
    health.server_time_utc = 1704067200;
    health.cluster_name = seal.cluster_name;
    health.cluster_id = seal.cluster_id;
  }

  StatusOr<bool> Initialized() override { return initialized; }
  StatusOr<core::InitResult> Init(const core::InitParams& params) override {
    std::lock_guard lock(mu);
    init_calls.push_back(params);
    return init_result;
  }
  core::SealStatus GetSealStatus() override { return seal; }
  StatusOr<core::SealStatus> SubmitUnsealKey(std::string_view key) override {
    std::lock_guard lock(mu);
    unseal_keys.emplace_back(key);
    if (!unseal_error.ok()) return unseal_error;
    return seal;
  }
  StatusOr<core::SealStatus> ResetUnseal() override {
    std::lock_guard lock(mu);
    ++resets;
    return seal;
  }
  bool Sealed() override { return seal.sealed; }
  core::HealthStatus Health() override { return health; }
  StatusOr<core::LeaderStatus> Leader() override { return leader; }
  StatusOr<logical::Response> HandleRequest(logical::Request& req) override {
    {
      std::lock_guard lock(mu);
      requests.push_back(req);
    }
    if (handle) return handle(req);
    return logical::Response::WithData(logical::Json{{"path", req.path}});
  }

  StandbyInfo Standby() override { return standby_info; }
  std::optional<SecureBytes> ForwardingKey() override { return forwarding_key; }

  logical::Request LastRequest() {
    std::lock_guard lock(mu);
    return requests.empty() ? logical::Request{} : requests.back();
  }
  std::size_t RequestCount() {
    std::lock_guard lock(mu);
    return requests.size();
  }

  // Scripted state; set before the calls under test.
  bool initialized = true;
  core::SealStatus seal;
  core::HealthStatus health;
  StatusOr<core::LeaderStatus> leader = core::LeaderStatus{};
  StatusOr<core::InitResult> init_result = core::InitResult{};
  Status unseal_error;
  std::function<StatusOr<logical::Response>(logical::Request&)> handle;
  StandbyInfo standby_info;                   // default: not a standby
  std::optional<SecureBytes> forwarding_key;  // default: none

  // Recorded calls.
  std::mutex mu;
  std::vector<logical::Request> requests;
  std::vector<core::InitParams> init_calls;
  std::vector<std::string> unseal_keys;
  int resets = 0;
};

}  // namespace arca::http::testing
