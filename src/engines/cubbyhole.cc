// arca engines: cubbyhole, per-token private storage (Vault's
// logical_cubbyhole.go). Every entry lives under "<token_key>/" in the mount
// view, so one token never sees another's data; core removes the prefix with
// DestroyCubbyhole when the token is revoked.
#include <memory>

#include "engines/engines.h"
#include "engines/internal/common.h"

namespace arca::engines {

namespace {

using logical::Operation;
using logical::Request;
using logical::Response;

class CubbyholeBackend final : public logical::Backend {
 public:
  explicit CubbyholeBackend(storage::Backend* storage) : storage_(storage) {}

  StatusOr<Response> HandleRequest(Request& req) override {
    return internal::Guarded([&]() -> StatusOr<Response> { return Handle(req); });
  }

  bool CreateIsUpdate(std::string_view) const override { return true; }

  StatusOr<bool> Exists(Request& req) override {
    if (req.token_key.empty() || req.path.empty()) return false;
    storage::Backend* s = req.storage ? req.storage : storage_;
    ARCA_ASSIGN_OR_RETURN(auto raw, s->Get(req.token_key + "/" + req.path));
    return raw.has_value();
  }

 private:
  StatusOr<Response> Handle(Request& req) {
    if (req.token_key.empty() || req.token_key.find('/') != std::string::npos) {
      return PermissionDenied();
    }
    storage::Backend& s = req.storage ? *req.storage : *storage_;
    const std::string prefix = req.token_key + "/";
    const std::string& path = req.path;
    switch (req.operation) {
      case Operation::kRead: {
        if (path.empty()) return InvalidArgument("missing path");
        ARCA_ASSIGN_OR_RETURN(auto obj, internal::PassthroughRead(s, prefix + path));
        if (!obj) return NotFound();
        return Response::WithData(std::move(*obj));
      }
      case Operation::kCreate:
      case Operation::kUpdate:
        if (!req.data.is_object() || req.data.empty()) {
          return InvalidArgument("missing data fields");
        }
        if (path.empty()) return InvalidArgument("missing path");
        ARCA_RETURN_IF_ERROR(internal::PassthroughWrite(s, prefix + path, req.data));
        return Response();
      case Operation::kDelete:
        if (!path.empty()) ARCA_RETURN_IF_ERROR(s.Delete(prefix + path));
        return Response();
      case Operation::kList: {
        ARCA_ASSIGN_OR_RETURN(auto keys, s.List(prefix + internal::ListPrefix(path)));
        return internal::ListResponse(std::move(keys));
      }
      default:
        return UnsupportedOperation();
    }
  }

  storage::Backend* storage_;
};

}  // namespace

logical::Factory CubbyholeFactory() {
  return [](const logical::BackendConfig& conf) -> StatusOr<std::unique_ptr<logical::Backend>> {
    if (conf.storage == nullptr) return InvalidArgument("cubbyhole: no storage view");
    return std::unique_ptr<logical::Backend>(std::make_unique<CubbyholeBackend>(conf.storage));
  };
}

Status DestroyCubbyhole(storage::Backend& cubbyhole_mount_storage, std::string_view token_key) {
  if (token_key.empty() || token_key.find('/') != std::string_view::npos) {
    return InvalidArgument("cubbyhole: invalid token key");
  }
  return storage::DeletePrefix(cubbyhole_mount_storage, std::string(token_key) + "/");
}

}  // namespace arca::engines
