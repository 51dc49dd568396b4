// arca: sys/capabilities*, sys/internal/ui/mounts, sys/audit*, sys/tools/*,
// sys/metrics, sys/rotate and sys/key-status.
#include <openssl/evp.h>

#include <algorithm>

#include "base/encoding.h"
#include "base/metrics.h"
#include "base/time.h"
#include "core/internal/sys_backend.h"
#include "logical/fields.h"

namespace arca::core {

using logical::Json;
using logical::Operation;
using logical::Response;

namespace {
bool IsReadOrWrite(Operation op) { return op == Operation::kRead || IsWrite(op); }

}  // namespace

StatusOr<Response> SystemBackend::Capabilities(logical::Request& req, std::string_view which) {
  if (!IsWrite(req.operation)) return UnsupportedOperation();
  ARCA_ASSIGN_OR_RETURN(auto paths, logical::GetStringSlice(req.data, "paths"));
  if (!paths || paths->empty()) {
    ARCA_ASSIGN_OR_RETURN(auto single, logical::GetString(req.data, "path"));
    if (single && !single->empty()) paths = std::vector<std::string>{*single};
  }
  if (!paths || paths->empty()) return InvalidArgument("paths must be supplied");

  std::optional<TokenEntry> token;
  if (which == "capabilities-self") {
    // The caller's token may be on its last use, spent by this very request.
    ARCA_ASSIGN_OR_RETURN(token, core_.tokens->LookupForRequest(req.client_token));
    if (!token) return PermissionDenied();
  } else if (which == "capabilities") {
    ARCA_ASSIGN_OR_RETURN(auto t, logical::GetString(req.data, "token"));
    if (!t || t->empty()) return InvalidArgument("missing token");
    ARCA_ASSIGN_OR_RETURN(token, core_.tokens->Lookup(*t));
    if (!token) return InvalidArgument("invalid token");
  } else {
    ARCA_ASSIGN_OR_RETURN(auto a, logical::GetString(req.data, "accessor"));
    if (!a || a->empty()) return InvalidArgument("missing accessor");
    ARCA_ASSIGN_OR_RETURN(token, core_.tokens->LookupByAccessor(*a));
    if (!token) return InvalidArgument("invalid accessor");
  }
  ARCA_ASSIGN_OR_RETURN(auto acl, core_.AclFor(*token));
  Json d = Json::object();
  for (std::string p : *paths) {
    while (!p.empty() && p.front() == '/') p.erase(0, 1);
    d[p] = acl->Capabilities(p);
  }
  if (paths->size() == 1) {
    std::string p = paths->front();
    while (!p.empty() && p.front() == '/') p.erase(0, 1);
    d["capabilities"] = d[p];
  }
  return Response::WithData(std::move(d));
}

StatusOr<Response> SystemBackend::UiMounts(logical::Request& req, std::string_view rest) {
  if (req.operation != Operation::kRead) return UnsupportedOperation();
  std::shared_ptr<const Acl> acl;
  if (!req.client_token.empty()) {
    ARCA_ASSIGN_OR_RETURN(auto token, core_.tokens->LookupForRequest(req.client_token));
    if (token) {
      ARCA_ASSIGN_OR_RETURN(acl, core_.AclFor(*token));
    }
  }
  if (rest.empty()) {
    Json secret = Json::object(), auth = Json::object();
    for (const auto& r : core_.router.All()) {
      bool visible = r.mount->config.listing_visibility == "unauth" ||
                     (acl && acl->HasAnyAccessUnder(r.mount->RoutePath()));
      if (!visible || r.mount->config.listing_visibility == "hidden") continue;
      (r.mount->is_auth ? auth : secret)[r.mount->path] = r.mount->ToApiJson();
    }
    return Response::WithData(Json{{"secret", secret}, {"auth", auth}});
  }
  if (!acl) return PermissionDenied();
  std::string path(rest);
  auto route = core_.router.Match(path.back() == '/' ? path : path + "/");
  std::string shown = WithSlash(path);
  if (!route || !acl->HasAnyAccessUnder(route->mount->RoutePath())) {
    return PermissionDenied(
        "preflight capability check returned 403, please ensure client's policies grant access "
        "to path \"" + shown + "\"");
  }
  Json d = route->mount->ToApiJson();
  d["path"] = route->mount->path;
  return Response::WithData(std::move(d));
}

StatusOr<Response> SystemBackend::Audit(logical::Request& req, std::string_view rest) {
  std::string path(rest);
  while (!path.empty() && path.back() == '/') path.pop_back();
  if (path.empty()) {
    if (req.operation != Operation::kRead) return UnsupportedOperation();
    Response resp;
    resp.http_status = 200;  // an empty table is still a 200 with data {}
    Json d = Json::object();
    for (const auto& dev : core_.audit->List()) {
      d[dev.path] = {{"type", dev.type},
                     {"description", dev.description},
                     {"options", dev.options},
                     {"local", dev.local},
                     {"path", dev.path}};
    }
    resp.data = std::move(d);
    return resp;
  }
  std::lock_guard mlock(core_.mounts_mu);
  if (IsWrite(req.operation)) {
    AuditDeviceInfo info;
    info.path = path + "/";
    ARCA_ASSIGN_OR_RETURN(auto type, logical::GetString(req.data, "type"));
    if (!type || type->empty()) return InvalidArgument("type is required");
    info.type = *type;
    ARCA_ASSIGN_OR_RETURN(auto desc, logical::GetString(req.data, "description"));
    info.description = desc.value_or("");
    ARCA_ASSIGN_OR_RETURN(auto local, logical::GetBool(req.data, "local"));
    info.local = local.value_or(false);
    ARCA_ASSIGN_OR_RETURN(auto opts, logical::GetStringMap(req.data, "options"));
    if (opts) info.options = *opts;
    ARCA_RETURN_IF_ERROR(core_.audit->Enable(info));
    Status st = core_.PersistAuditTable();
    if (!st.ok()) {
      (void)core_.audit->Disable(info.path);
      return st;
    }
    return Response{};
  }
  if (req.operation == Operation::kDelete) {
    ARCA_RETURN_IF_ERROR(core_.audit->Disable(path + "/"));
    ARCA_RETURN_IF_ERROR(core_.PersistAuditTable());
    return Response{};
  }
  return UnsupportedOperation();
}

StatusOr<Response> SystemBackend::AuditHash(logical::Request& req, std::string_view rest) {
  if (!IsWrite(req.operation)) return UnsupportedOperation();
  std::string path(rest);
  while (!path.empty() && path.back() == '/') path.pop_back();
  ARCA_ASSIGN_OR_RETURN(auto input, logical::GetString(req.data, "input"));
  if (!input) return InvalidArgument("the \"input\" parameter is empty");
  ARCA_ASSIGN_OR_RETURN(auto hash, core_.audit->Hash(path + "/", *input));
  return Response::WithData(Json{{"hash", hash}});
}

StatusOr<Response> SystemBackend::ToolsRandom(logical::Request& req, std::string_view rest) {
  if (!IsReadOrWrite(req.operation)) return UnsupportedOperation();
  int64_t bytes = 32;
  std::string format = "base64", source = "platform";
  ARCA_ASSIGN_OR_RETURN(auto b, logical::GetInt(req.data, "bytes"));
  if (b) bytes = *b;
  ARCA_ASSIGN_OR_RETURN(auto f, logical::GetString(req.data, "format"));
  if (f && !f->empty()) format = *f;
  ARCA_ASSIGN_OR_RETURN(auto s, logical::GetString(req.data, "source"));
  if (s && !s->empty()) source = *s;
  // Path parameters: [<source>/][<bytes>]
  std::string r(rest);
  while (!r.empty()) {
    auto slash = r.find('/');
    std::string seg = r.substr(0, slash);
    r = slash == std::string::npos ? "" : r.substr(slash + 1);
    if (seg.empty()) continue;
    if (std::all_of(seg.begin(), seg.end(), ::isdigit)) {
      if (seg.size() > 9) return InvalidArgument("\"bytes\" should be less than 131072");
      bytes = std::stoll(seg);
    } else {
      source = seg;
    }
  }
  if (source != "platform" && source != "seal" && source != "all")
    return InvalidArgument("unsupported entropy source \"" + source +
                           "\"; must be \"platform\", \"seal\", or \"all\"");
  if (bytes < 1) return InvalidArgument("\"bytes\" cannot be less than 1");
  if (bytes > 131072) return InvalidArgument("\"bytes\" should be less than 131072");
  if (format != "hex" && format != "base64")
    return InvalidArgument("unsupported encoding format \"" + format +
                           "\"; must be \"hex\" or \"base64\"");
  std::string raw = RandomString(static_cast<std::size_t>(bytes));
  std::string out = format == "hex" ? HexEncode(raw) : Base64Encode(raw);
  Wipe(raw);
  return Response::WithData(Json{{"random_bytes", out}});
}

StatusOr<Response> SystemBackend::ToolsHash(logical::Request& req, std::string_view rest) {
  if (!IsWrite(req.operation)) return UnsupportedOperation();
  std::string algorithm = "sha2-256", format = "hex";
  ARCA_ASSIGN_OR_RETURN(auto a, logical::GetString(req.data, "algorithm"));
  if (a && !a->empty()) algorithm = *a;
  if (!rest.empty()) algorithm = std::string(rest);
  ARCA_ASSIGN_OR_RETURN(auto f, logical::GetString(req.data, "format"));
  if (f && !f->empty()) format = *f;
  ARCA_ASSIGN_OR_RETURN(auto in, logical::GetString(req.data, "input"));
  if (!in) return InvalidArgument("the \"input\" parameter is empty");
  auto input = Base64Decode(*in);
  if (!input) return InvalidArgument("unable to decode input as base64");
  const EVP_MD* md = nullptr;
  if (algorithm == "sha2-224") md = EVP_sha224();
  else if (algorithm == "sha2-256") md = EVP_sha256();
  else if (algorithm == "sha2-384") md = EVP_sha384();
  else if (algorithm == "sha2-512") md = EVP_sha512();
  else if (algorithm == "sha3-224") md = EVP_sha3_224();
  else if (algorithm == "sha3-256") md = EVP_sha3_256();
  else if (algorithm == "sha3-384") md = EVP_sha3_384();
  else if (algorithm == "sha3-512") md = EVP_sha3_512();
  else return InvalidArgument("unsupported algorithm " + algorithm);
  if (format != "hex" && format != "base64")
    return InvalidArgument("unsupported encoding format " + format + "; must be \"hex\" or \"base64\"");
  unsigned char buf[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(input->data(), input->size(), buf, &len, md, nullptr) != 1)
    return Internal("digest failed");
  std::string sum(reinterpret_cast<char*>(buf), len);
  return Response::WithData(Json{{"sum", format == "hex" ? HexEncode(sum) : Base64Encode(sum)}});
}

StatusOr<Response> SystemBackend::Metrics(logical::Request& req) {
  if (req.operation != Operation::kRead) return UnsupportedOperation();
  std::string format;
  ARCA_ASSIGN_OR_RETURN(auto f, logical::GetString(req.data, "format"));
  if (f) format = *f;
  auto accept = req.headers.find("accept");
  if (format.empty() && accept != req.headers.end() &&
      accept->second.find("text/plain") != std::string::npos)
    format = "prometheus";
  if (!format.empty() && format != "prometheus")
    return InvalidArgument("unsupported metrics format \"" + format + "\"");
  // Only the Prometheus exposition is kept (decisions.md D8).
  Response r;
  r.http_status = 200;
  r.raw_body = metrics::DefaultRegistry().Render();
  r.content_type = "text/plain; version=0.0.4";
  return r;
}

StatusOr<Response> SystemBackend::Rotate(logical::Request& req) {
  if (!IsWrite(req.operation)) return UnsupportedOperation();
  ARCA_RETURN_IF_ERROR(core_.barrier.Rotate().status());
  return Response{};
}

StatusOr<Response> SystemBackend::KeyStatus(logical::Request& req) {
  if (req.operation != Operation::kRead) return UnsupportedOperation();
  ARCA_ASSIGN_OR_RETURN(auto k, core_.barrier.CurrentKey());
  return Response::WithData(
      Json{{"term", k.term},
           {"install_time",
            FormatRfc3339Nano(std::chrono::system_clock::from_time_t(k.install_time))},
           {"encryptions", k.encryptions}});
}

}  // namespace arca::core
