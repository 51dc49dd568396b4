// arca: forwards http::Api calls to core::Core.
#include "http/core_api.h"

namespace arca::http {

namespace {

class CoreApi final : public Api {
 public:
  explicit CoreApi(core::Core& core) : core_(core) {}

  StatusOr<bool> Initialized() override { return core_.Initialized(); }
  StatusOr<core::InitResult> Init(const core::InitParams& params) override {
    return core_.Init(params);
  }
  core::SealStatus GetSealStatus() override { return core_.GetSealStatus(); }
  StatusOr<core::SealStatus> SubmitUnsealKey(std::string_view key) override {
    return core_.SubmitUnsealKey(key);
  }
  StatusOr<core::SealStatus> ResetUnseal() override { return core_.ResetUnseal(); }
  bool Sealed() override { return core_.Sealed(); }
  core::HealthStatus Health() override { return core_.Health(); }
  StatusOr<core::LeaderStatus> Leader() override { return core_.Leader(); }
  StatusOr<logical::Response> HandleRequest(logical::Request& req) override {
    return core_.HandleRequest(req);
  }
  StandbyInfo Standby() override {
    if (!core_.Standby()) return {};
    StandbyInfo info;
    info.standby = true;
    if (auto l = core_.Leader(); l.ok() && !l->is_self) info.leader_api_addr = l->leader_address;
    return info;
  }
  std::optional<SecureBytes> ForwardingKey() override { return core_.ForwardingKey(); }

 private:
  core::Core& core_;
};

}  // namespace

std::unique_ptr<Api> NewCoreApi(core::Core& core) { return std::make_unique<CoreApi>(core); }

}  // namespace arca::http
