// arca: PolicyStore (Vault's vault/policy_store.go, ACL policies only).
#include "core/policy_store.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "base/encoding.h"

namespace arca::core {

namespace {

constexpr std::string_view kPrefix = "sys/policy/";
constexpr std::size_t kMaxNameBytes = 512;

constexpr std::string_view kDefaultPolicy = R"(# Every token may read its own properties through lookup-self.
path "auth/token/lookup-self" {
    capabilities = ["read"]
}

# ... and extend its own lifetime.
path "auth/token/renew-self" {
    capabilities = ["update"]
}

# ... and revoke itself.
path "auth/token/revoke-self" {
    capabilities = ["update"]
}

# A token may ask which capabilities it holds on a path.
path "sys/capabilities-self" {
    capabilities = ["update"]
}

# A token may read the entity it belongs to, by id or by name.
path "identity/entity/id/{{identity.entity.id}}" {
  capabilities = ["read"]
}
path "identity/entity/name/{{identity.entity.name}}" {
  capabilities = ["read"]
}

# The resultant ACL of all of the token's policies, for UIs. Internal: its
# format follows the ACL implementation and may change.
path "sys/internal/ui/resultant-acl" {
    capabilities = ["read"]
}

# Renewing a lease by lease_id in the body: the old path and the new one.
path "sys/renew" {
    capabilities = ["update"]
}
path "sys/leases/renew" {
    capabilities = ["update"]
}

# Looking up a lease's properties needs its id and reveals nothing secret.
path "sys/leases/lookup" {
    capabilities = ["update"]
}

# Every token owns a private cubbyhole.
path "cubbyhole/*" {
    capabilities = ["create", "read", "update", "delete", "list"]
}

# Wrapping arbitrary data in a response-wrapping token.
path "sys/wrapping/wrap" {
    capabilities = ["update"]
}

# Looking up the creation time and TTL of a response-wrapping token.
path "sys/wrapping/lookup" {
    capabilities = ["update"]
}

# Unwrapping a response-wrapping token without swapping the client token
# (the response-wrapping policy allows it too).
path "sys/wrapping/unwrap" {
    capabilities = ["update"]
}

# General purpose tools.
path "sys/tools/hash" {
    capabilities = ["update"]
}
path "sys/tools/hash/*" {
    capabilities = ["update"]
}

# Checking the status of a control group request, given its accessor.
path "sys/control-group/request" {
    capabilities = ["update"]
}

# Requests to the authorization endpoint of OIDC providers.
path "identity/oidc/provider/+/authorize" {
    capabilities = ["read", "update"]
}
)";

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool ValidUtf8Text(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 && c != '\n' && c != '\r' && c != '\t') return false;
      ++i;
      continue;
    }
    std::size_t n;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) n = 1, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0) n = 2, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0) n = 3, cp = c & 0x07;
    else return false;
    for (std::size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

Status CheckName(std::string_view name) {
  if (name.empty()) return InvalidArgument("policy name missing");
  if (name.size() > kMaxNameBytes) return InvalidArgument("policy name too long");
  if (name.find('/') != std::string_view::npos || name == "." || name == "..")
    return InvalidArgument("invalid policy name " + std::string(name));
  return OkStatus();
}

std::shared_ptr<const Policy> RootPolicy() {
  static const std::shared_ptr<const Policy> root = [] {
    auto p = std::make_shared<Policy>();
    p->name = "root";
    return p;
  }();
  return root;
}

}  // namespace

std::string_view DefaultPolicyText() { return kDefaultPolicy; }

PolicyStore::PolicyStore(storage::Backend& storage) : storage_(storage) {}

Status PolicyStore::Setup() {
  std::string key = std::string(kPrefix) + "default";
  ARCA_ASSIGN_OR_RETURN(auto existing, storage_.Get(key));
  if (existing) return OkStatus();
  nlohmann::json entry = {{"name", "default"}, {"policy", std::string(kDefaultPolicy)}};
  ARCA_RETURN_IF_ERROR(storage_.Put(key, entry.dump()));
  InvalidateCache();
  return OkStatus();
}

StatusOr<std::shared_ptr<const Policy>> PolicyStore::Get(std::string_view raw_name) {
  std::string name = Lower(raw_name);
  if (name == "root") return RootPolicy();
  if (!CheckName(name).ok()) return std::shared_ptr<const Policy>();
  uint64_t generation;
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(name);
    if (it != cache_.end()) return it->second;
    generation = generation_;
  }

  // Storage is read outside the lock; the result is cached only if no Put or
  // Delete happened meanwhile.
  ARCA_ASSIGN_OR_RETURN(auto stored, storage_.Get(std::string(kPrefix) + name));
  std::string text;
  if (stored) {
    nlohmann::json entry = nlohmann::json::parse(*stored, nullptr, /*allow_exceptions=*/false);
    if (!entry.is_object() || !entry.contains("policy") || !entry["policy"].is_string())
      return Internal("corrupt stored policy " + name);
    text = entry["policy"].get<std::string>();
  } else if (name == "default") {
    text = std::string(kDefaultPolicy);
  } else {
    return std::shared_ptr<const Policy>();
  }
  auto parsed = ParsePolicy(name, text);
  if (!parsed.ok()) return Internal("stored policy " + name + ": " + parsed.status().message());
  auto policy = std::make_shared<const Policy>(std::move(parsed).value());

  std::lock_guard lock(mu_);
  if (generation == generation_) cache_[name] = policy;
  return std::shared_ptr<const Policy>(policy);
}

Status PolicyStore::Put(std::string_view raw_name, std::string_view text) {
  std::string name = Lower(raw_name);
  ARCA_RETURN_IF_ERROR(CheckName(name));
  if (name == "root" || name == "response-wrapping")
    return InvalidArgument("cannot update \"" + name + "\" policy");

  // Vault accepts base64-encoded policy text.
  std::string raw(text);
  StatusOr<Policy> parsed = InvalidArgument("");
  if (auto decoded = Base64Decode(text); decoded && !decoded->empty() && ValidUtf8Text(*decoded)) {
    parsed = ParsePolicy(name, *decoded);
    if (parsed.ok()) raw = std::move(*decoded);
  }
  if (!parsed.ok()) parsed = ParsePolicy(name, raw);
  if (!parsed.ok()) return parsed.status();

  nlohmann::json entry = {{"name", name}, {"policy", raw}};
  std::string value;
  try {
    value = entry.dump();
  } catch (const nlohmann::json::exception&) {
    return InvalidArgument("failed to parse policy: policy text is not valid UTF-8");
  }
  {
    std::lock_guard lock(mu_);
    ++generation_;
    cache_.erase(name);
  }
  ARCA_RETURN_IF_ERROR(storage_.Put(std::string(kPrefix) + name, value));
  std::lock_guard lock(mu_);
  ++generation_;
  cache_.erase(name);
  return OkStatus();
}

Status PolicyStore::Delete(std::string_view raw_name) {
  std::string name = Lower(raw_name);
  if (name == "root" || name == "response-wrapping")
    return InvalidArgument("cannot delete \"" + name + "\" policy");
  if (name == "default") return InvalidArgument("cannot delete default policy");
  ARCA_RETURN_IF_ERROR(CheckName(name));
  ARCA_RETURN_IF_ERROR(storage_.Delete(std::string(kPrefix) + name));
  std::lock_guard lock(mu_);
  ++generation_;
  cache_.erase(name);
  return OkStatus();
}

StatusOr<std::vector<std::string>> PolicyStore::List() {
  ARCA_ASSIGN_OR_RETURN(auto keys, storage_.List(kPrefix));
  std::vector<std::string> out;
  for (auto& k : keys)
    if (!k.empty() && k.back() != '/') out.push_back(std::move(k));
  out.push_back("root");
  out.push_back("default");
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void PolicyStore::InvalidateCache() {
  std::lock_guard lock(mu_);
  ++generation_;
  cache_.clear();
}

}  // namespace arca::core
