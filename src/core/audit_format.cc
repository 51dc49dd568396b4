// arca: audit entry layout, hashing and serialisation (JSON and JSONx).
#include "core/audit_format.h"

#include <openssl/evp.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "base/encoding.h"
#include "logical/json.h"

namespace arca::core::audit_internal {

// ---- AuditHasher ----------------------------------------------------------

// HMAC-SHA256 done by hand over EVP digests: the SHA-256 states after
// absorbing key^ipad and key^opad are computed once, and each hash copies
// them into a per-thread working context. That is several times cheaper than
// duplicating an EVP_MAC context (or a one-shot HMAC()) per value.
struct AuditHasher::Ctx {
  EVP_MD_CTX* inner = nullptr;
  EVP_MD_CTX* outer = nullptr;
  SecureBytes key;  // for the one-shot fallback if OpenSSL fails mid-way
  ~Ctx() {
    EVP_MD_CTX_free(inner);
    EVP_MD_CTX_free(outer);
  }
};

namespace {

struct WorkCtx {
  EVP_MD_CTX* c = EVP_MD_CTX_new();
  ~WorkCtx() { EVP_MD_CTX_free(c); }
};

constexpr std::size_t kBlock = 64;  // SHA-256 block size

}  // namespace

AuditHasher::AuditHasher(std::unique_ptr<Ctx> ctx) : ctx_(std::move(ctx)) {}
AuditHasher::~AuditHasher() = default;

StatusOr<std::unique_ptr<AuditHasher>> AuditHasher::Create(const SecureBytes& key) {
  if (key.empty()) return Internal("audit: empty salt");
  auto c = std::make_unique<Ctx>();
  c->key = key;
  SecureBytes k(kBlock, 0);
  if (key.size() > kBlock) {
    std::string d = Sha256(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
    std::copy(d.begin(), d.end(), k.begin());
    Wipe(d);
  } else {
    std::copy(key.begin(), key.end(), k.begin());
  }
  SecureBytes ipad(kBlock), opad(kBlock);
  for (std::size_t i = 0; i < kBlock; ++i) {
    ipad[i] = static_cast<uint8_t>(k[i] ^ 0x36);
    opad[i] = static_cast<uint8_t>(k[i] ^ 0x5c);
  }
  c->inner = EVP_MD_CTX_new();
  c->outer = EVP_MD_CTX_new();
  if (!c->inner || !c->outer || EVP_DigestInit_ex(c->inner, EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(c->inner, ipad.data(), kBlock) != 1 ||
      EVP_DigestInit_ex(c->outer, EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(c->outer, opad.data(), kBlock) != 1) {
    return Internal("audit: cannot initialise HMAC-SHA256");
  }
  return std::unique_ptr<AuditHasher>(new AuditHasher(std::move(c)));
}

std::string AuditHasher::Hash(std::string_view input) const {
  thread_local WorkCtx work;
  unsigned char mid[EVP_MAX_MD_SIZE];
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  std::string mac;
  EVP_MD_CTX* w = work.c;
  if (w && EVP_MD_CTX_copy_ex(w, ctx_->inner) == 1 &&
      EVP_DigestUpdate(w, input.data(), input.size()) == 1 &&
      EVP_DigestFinal_ex(w, mid, &n) == 1 && EVP_MD_CTX_copy_ex(w, ctx_->outer) == 1 &&
      EVP_DigestUpdate(w, mid, n) == 1 && EVP_DigestFinal_ex(w, out, &n) == 1) {
    mac.assign(reinterpret_cast<const char*>(out), n);
  } else {
    mac = HmacSha256(
        std::string_view(reinterpret_cast<const char*>(ctx_->key.data()), ctx_->key.size()), input);
  }
  return "hmac-sha256:" + HexEncode(mac);
}

// ---- entry layout -----------------------------------------------------------

namespace {

using OJson = nlohmann::ordered_json;
using Json = nlohmann::json;

// Deeper values are replaced by a marker, so the walkers' recursion is bounded.
constexpr int kMaxDepth = 128;
constexpr char kTooDeep[] = "[nested too deep]";

void PutStr(OJson& o, const char* k, std::string v) {
  if (!v.empty()) o[k] = std::move(v);
}
void PutList(OJson& o, const char* k, const std::vector<std::string>& v) {
  if (!v.empty()) o[k] = v;
}
void PutMap(OJson& o, const char* k, const std::map<std::string, std::string>& m) {
  if (m.empty()) return;
  OJson obj = OJson::object();
  for (const auto& [mk, mv] : m) obj[mk] = mv;
  o[k] = std::move(obj);
}
// Appends to an object whose keys are known to be unique (from a std::map),
// avoiding ordered_map's linear lookup per insertion.
void Append(OJson& obj, const std::string& k, OJson v) {
  obj.get_ref<OJson::object_t&>().emplace_back(k, std::move(v));
}

class Builder {
 public:
  Builder(const FormatOptions& o, const AuditHasher* h) : o_(o), h_(h) {}

  std::string H(std::string_view s) const {
    if (o_.log_raw || s.empty() || h_ == nullptr) return std::string(s);
    return h_->Hash(s);
  }
  std::string Acc(std::string_view s) const { return o_.hmac_accessor ? H(s) : std::string(s); }

  // Copies `v` hashing every string, except those whose nearest enclosing
  // object key is in `exempt` (Vault's audit_non_hmac_*_keys rule).
  OJson Data(const Json& v, const std::vector<std::string>& exempt, const std::string* key,
             int depth) const {
    switch (v.type()) {
      case Json::value_t::object: {
        if (depth >= kMaxDepth) return OJson(kTooDeep);
        OJson out = OJson::object();
        for (auto it = v.begin(); it != v.end(); ++it)
          Append(out, it.key(), Data(it.value(), exempt, &it.key(), depth + 1));
        return out;
      }
      case Json::value_t::array: {
        if (depth >= kMaxDepth) return OJson(kTooDeep);
        OJson out = OJson::array();
        for (const auto& e : v) out.push_back(Data(e, exempt, key, depth + 1));
        return out;
      }
      case Json::value_t::string: {
        const auto& s = v.get_ref<const std::string&>();
        if (key && std::find(exempt.begin(), exempt.end(), *key) != exempt.end()) return OJson(s);
        return OJson(H(s));
      }
      case Json::value_t::boolean:
        return OJson(v.get<bool>());
      case Json::value_t::number_integer:
        return OJson(v.get<int64_t>());
      case Json::value_t::number_unsigned:
        return OJson(v.get<uint64_t>());
      case Json::value_t::number_float:
        return OJson(v.get<double>());
      case Json::value_t::binary:  // a number literal (logical/json.h): its value
        if (logical::IsNumberLiteral(v)) return OJson(logical::NumberLiteralValue(v));
        return OJson(nullptr);
      default:  // null, discarded
        return OJson(nullptr);
    }
  }

  // Top-level request/response data: omitted when null or empty.
  bool TopData(OJson& o, const Json& data, const std::vector<std::string>& exempt,
               bool elide) const {
    if (data.is_null() || (data.is_object() && data.empty())) return false;
    if (!data.is_object()) {
      o["data"] = Data(data, exempt, nullptr, 0);
      return true;
    }
    OJson out = OJson::object();
    for (auto it = data.begin(); it != data.end(); ++it) {
      const Json& v = it.value();
      if (elide && it.key() == "keys" && v.is_array()) {
        Append(out, it.key(), OJson(v.size()));
      } else if (elide && it.key() == "key_info" && v.is_object()) {
        Append(out, it.key(), OJson(v.size()));
      } else {
        Append(out, it.key(), Data(v, exempt, &it.key(), 1));
      }
    }
    o["data"] = std::move(out);
    return true;
  }

  OJson Auth(const AuditAuth& a) const {
    OJson o = OJson::object();
    PutStr(o, "client_token", H(a.client_token));
    PutStr(o, "accessor", Acc(a.accessor));
    PutStr(o, "display_name", a.display_name);
    PutList(o, "policies", a.policies);
    PutList(o, "token_policies", a.token_policies);
    PutList(o, "identity_policies", a.identity_policies);
    OJson pr = OJson::object();
    pr["allowed"] = a.allowed;
    if (!a.granting_policies.empty()) {
      OJson arr = OJson::array();
      for (const auto& p : a.granting_policies) {
        OJson pi = OJson::object();
        PutStr(pi, "name", p);
        pi["namespace_id"] = "root";
        pi["type"] = "acl";
        arr.push_back(std::move(pi));
      }
      pr["granting_policies"] = std::move(arr);
    }
    o["policy_results"] = std::move(pr);
    PutMap(o, "metadata", a.metadata);
    PutStr(o, "entity_id", a.entity_id);
    PutStr(o, "token_type", a.token_type);
    if (a.token_ttl != 0) o["token_ttl"] = a.token_ttl;
    PutStr(o, "token_issue_time", a.token_issue_time);
    return o;
  }

  OJson Request(const AuditRequest& r) const {
    OJson o = OJson::object();
    PutStr(o, "id", r.id);
    PutStr(o, "operation", r.operation);
    PutStr(o, "mount_point", r.mount_point);
    PutStr(o, "mount_type", r.mount_type);
    PutStr(o, "mount_accessor", r.mount_accessor);
    PutStr(o, "client_token", H(r.client_token));
    PutStr(o, "client_token_accessor", Acc(r.client_token_accessor));
    o["namespace"] = OJson::object({{"id", "root"}});
    PutStr(o, "path", r.path);
    TopData(o, r.data, r.non_hmac_keys, false);
    PutStr(o, "remote_address", r.remote_address);
    if (r.remote_port != 0) o["remote_port"] = r.remote_port;
    if (r.wrap_ttl && *r.wrap_ttl != 0) o["wrap_ttl"] = *r.wrap_ttl;
    if (!r.headers.empty()) {
      OJson h = OJson::object();
      for (const auto& [k, v] : r.headers) Append(h, k, OJson::array({v}));
      o["headers"] = std::move(h);
    }
    return o;
  }

  OJson ResponseAuth(const logical::Auth& a) const {
    OJson o = OJson::object();
    PutStr(o, "client_token", H(a.client_token));
    PutStr(o, "accessor", Acc(a.accessor));
    PutStr(o, "display_name", a.display_name);
    PutList(o, "policies", a.policies);
    PutList(o, "token_policies", a.token_policies);
    PutList(o, "identity_policies", a.identity_policies);
    if (a.no_default_policy) o["no_default_policy"] = true;
    PutMap(o, "metadata", a.metadata);
    if (a.num_uses != 0) o["num_uses"] = a.num_uses;
    PutStr(o, "entity_id", a.entity_id);
    PutStr(o, "token_type", a.token_type);
    int64_t ttl = a.lease_duration != 0 ? a.lease_duration : a.ttl;
    if (ttl != 0) o["token_ttl"] = ttl;
    return o;
  }

  OJson Response(const AuditResponse& r, bool list_op) const {
    OJson o = OJson::object();
    if (r.auth) o["auth"] = ResponseAuth(*r.auth);
    PutStr(o, "mount_type", r.mount_type);
    PutStr(o, "mount_accessor", r.mount_accessor);
    if (!r.lease_id.empty()) o["secret"] = OJson::object({{"lease_id", r.lease_id}});
    TopData(o, r.data, r.non_hmac_keys, o_.elide_list_responses && list_op);
    PutList(o, "warnings", r.warnings);
    if (r.wrap_info) {
      const AuditWrapInfo& w = *r.wrap_info;
      OJson wi = OJson::object();
      wi["ttl"] = w.ttl;
      wi["token"] = H(w.token);
      wi["accessor"] = Acc(w.accessor);
      wi["creation_time"] = w.creation_time;
      wi["creation_path"] = w.creation_path;
      PutStr(wi, "wrapped_accessor", Acc(w.wrapped_accessor));
      o["wrap_info"] = std::move(wi);
    }
    return o;
  }

 private:
  const FormatOptions& o_;
  const AuditHasher* h_;
};

// ---- JSONx (as github.com/jefferai/jsonx, which Vault uses) -----------------

void XmlEscape(std::string_view s, std::string& out) {
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      case '\t': out += "&#x9;"; break;
      case '\n': out += "&#xA;"; break;
      case '\r': out += "&#xD;"; break;
      default:
        if (c < 0x20) out += "\xEF\xBF\xBD";  // not representable in XML 1.0
        else out += ch;
    }
  }
}

void JsonxChildren(const OJson& obj, std::string& out);

void Jsonx(const OJson& v, const std::string* name, std::string& out) {
  std::string attr;
  if (name) {
    attr = " name=\"";
    XmlEscape(*name, attr);
    attr += '"';
  }
  switch (v.type()) {
    case OJson::value_t::object:
      out += "<json:object" + attr + ">";
      JsonxChildren(v, out);
      out += "</json:object>";
      break;
    case OJson::value_t::array:
      out += "<json:array" + attr + ">";
      for (const auto& e : v) Jsonx(e, nullptr, out);
      out += "</json:array>";
      break;
    case OJson::value_t::string:
      out += "<json:string" + attr + ">";
      XmlEscape(v.get_ref<const std::string&>(), out);
      out += "</json:string>";
      break;
    case OJson::value_t::boolean:
      out += "<json:boolean" + attr + ">" + (v.get<bool>() ? "true" : "false") + "</json:boolean>";
      break;
    case OJson::value_t::number_integer:
    case OJson::value_t::number_unsigned:
    case OJson::value_t::number_float:
      out += "<json:number" + attr + ">" + v.dump() + "</json:number>";
      break;
    default:
      out += "<json:null" + attr + " />";
  }
}

// Children of an object, sorted by name as jsonx does.
void JsonxChildren(const OJson& obj, std::string& out) {
  std::vector<std::pair<const std::string*, const OJson*>> kids;
  for (auto it = obj.begin(); it != obj.end(); ++it) kids.emplace_back(&it.key(), &it.value());
  std::sort(kids.begin(), kids.end(), [](const auto& a, const auto& b) { return *a.first < *b.first; });
  for (const auto& [k, v] : kids) Jsonx(*v, k, out);
}

std::string Serialise(const FormatOptions& opts, const OJson& entry) {
  std::string line = opts.prefix;
  if (opts.jsonx) {
    // As Vault: the root object's children without an XML header or wrapper.
    JsonxChildren(entry, line);
  } else {
    line += entry.dump(-1, ' ', false, OJson::error_handler_t::replace);
  }
  line += '\n';
  return line;
}

}  // namespace

std::string FormatRequestLine(const FormatOptions& opts, const AuditHasher* hasher,
                              const std::string& time, const AuditAuth& auth,
                              const AuditRequest& req, const std::string& error) {
  Builder b(opts, hasher);
  OJson e = OJson::object();
  e["time"] = time;
  e["type"] = "request";
  e["auth"] = b.Auth(auth);
  e["request"] = b.Request(req);
  PutStr(e, "error", error);
  return Serialise(opts, e);
}

std::string FormatResponseLine(const FormatOptions& opts, const AuditHasher* hasher,
                               const std::string& time, const AuditAuth& auth,
                               const AuditRequest& req, const AuditResponse& resp,
                               const std::string& error) {
  Builder b(opts, hasher);
  OJson e = OJson::object();
  e["time"] = time;
  e["type"] = "response";
  e["auth"] = b.Auth(auth);
  e["request"] = b.Request(req);
  e["response"] = b.Response(resp, req.operation == "list");
  PutStr(e, "error", error);
  return Serialise(opts, e);
}

}  // namespace arca::core::audit_internal
