// arca engines: KV version 1 (Vault's passthrough backend) and KvFactory.
//
// The whole request body is the secret, stored as JSON at the request path.
// Reads report lease_duration = the mount's default TTL, or the secret's own
// `ttl` (or `lease`) value parsed as a duration.
#include <memory>

#include "base/time.h"
#include "engines/engines.h"
#include "engines/internal/common.h"
#include "engines/internal/kv_v2.h"

namespace arca::engines {

namespace {

using internal::Json;
using logical::Operation;
using logical::Request;
using logical::Response;

// parseutil.ParseDurationSecond of a value found in the secret; nullopt when
// it does not parse (the default TTL is kept then).
std::optional<int64_t> LeaseValue(const Json& v) {
  if (v.is_null()) return 0;
  if (v.is_number_integer() || v.is_number_float()) {
    auto i = internal::WeakInt(v);
    if (!i || *i < 0) return std::nullopt;
    return i;
  }
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s.empty()) return 0;
    auto d = ParseDurationSeconds(s);
    if (!d || *d < 0) return std::nullopt;
    return d;
  }
  return std::nullopt;
}

bool IsReserved(std::string_view path) { return path == "_kv2" || path.substr(0, 5) == "_kv2/"; }

class KvV1Backend final : public logical::Backend {
 public:
  explicit KvV1Backend(storage::Backend* storage) : storage_(storage) {}

  StatusOr<Response> HandleRequest(Request& req) override {
    return internal::Guarded([&]() -> StatusOr<Response> { return Handle(req); });
  }

  bool CreateIsUpdate(std::string_view) const override { return true; }

  StatusOr<bool> Exists(Request& req) override {
    if (req.path.empty()) return false;
    storage::Backend* s = req.storage ? req.storage : storage_;
    ARCA_ASSIGN_OR_RETURN(auto raw, s->Get(req.path));
    return raw.has_value();
  }

 private:
  StatusOr<Response> Handle(Request& req) {
    storage::Backend& s = req.storage ? *req.storage : *storage_;
    const std::string& path = req.path;
    switch (req.operation) {
      case Operation::kRead: {
        if (path.empty()) return NotFound();
        ARCA_ASSIGN_OR_RETURN(auto obj, internal::PassthroughRead(s, path));
        if (!obj) return NotFound();
        int64_t ttl = req.mount_default_ttl;
        auto it = obj->find("ttl");
        if (it == obj->end()) it = obj->find("lease");
        if (it != obj->end()) {
          if (auto d = LeaseValue(*it)) ttl = *d;
        }
        Response r = Response::WithData(std::move(*obj));
        r.lease_duration = ttl;
        return r;
      }
      case Operation::kCreate:
      case Operation::kUpdate:
        if (path.empty()) return InvalidArgument("missing path");
        if (IsReserved(path)) return InvalidArgument("cannot write to a reserved path");
        ARCA_RETURN_IF_ERROR(internal::PassthroughWrite(s, path, req.data));
        return Response();
      case Operation::kDelete:
        if (!path.empty()) ARCA_RETURN_IF_ERROR(s.Delete(path));
        return Response();
      case Operation::kList: {
        ARCA_ASSIGN_OR_RETURN(auto keys, s.List(internal::ListPrefix(path)));
        return internal::ListResponse(std::move(keys));
      }
      default:
        return UnsupportedOperation();
    }
  }

  storage::Backend* storage_;
};

}  // namespace

logical::Factory KvFactory() {
  return [](const logical::BackendConfig& conf) -> StatusOr<std::unique_ptr<logical::Backend>> {
    if (conf.storage == nullptr) return InvalidArgument("kv: no storage view");
    std::string version;
    if (auto it = conf.options.find("version"); it != conf.options.end()) version = it->second;
    if (version == "" || version == "1") {
      return std::unique_ptr<logical::Backend>(std::make_unique<KvV1Backend>(conf.storage));
    }
    if (version == "2") {
      Clock& clock = conf.clock ? *conf.clock : RealClock();
      return std::unique_ptr<logical::Backend>(
          std::make_unique<internal::KvV2Backend>(conf.storage, clock));
    }
    return InvalidArgument("kv: unsupported version \"" + version + "\"");
  };
}

}  // namespace arca::engines
