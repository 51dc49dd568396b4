// arca: logical::Request and logical::Response, what mounted backends see.
//
// This is the mount contract (Vault's sdk/logical): engines and auth methods
// link only arca_logical, arca_storage and arca_base, never core internals.
// The HTTP codec builds a Request from the wire; core authenticates it, checks
// the ACL, routes it, and hands the backend a copy whose `path` is relative to
// the mount and whose `storage` is the mount's barrier view. A Response is
// turned back into Vault's JSON envelope by src/http.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "storage/backend.h"

namespace arca::logical {

using Json = nlohmann::json;

enum class Operation { kRead, kList, kCreate, kUpdate, kPatch, kDelete, kHelp };
const char* OperationName(Operation op);  // "read", "list", "create", ...

// An identity alias an auth method reports at login (Vault's logical.Alias).
struct Alias {
  std::string name;                           // e.g. the JWT user_claim value
  std::map<std::string, std::string> metadata;
};

// What an auth method returns on a successful login, and what core fills in
// once it has minted the token (Vault's logical.Auth).
struct Auth {
  // Set by the auth method.
  std::vector<std::string> policies;
  std::map<std::string, std::string> metadata;
  std::string display_name;
  int64_t ttl = 0;               // seconds; 0 = mount/system default
  int64_t max_ttl = 0;           // seconds; 0 = mount/system max
  int64_t explicit_max_ttl = 0;
  int64_t period = 0;
  int64_t num_uses = 0;
  bool renewable = true;
  bool no_default_policy = false;
  // Addresses or CIDR blocks the token may be used from (base/cidr.h);
  // empty = anywhere. Core binds the minted token to them.
  std::vector<std::string> bound_cidrs;
  std::optional<Alias> alias;
  std::vector<Alias> group_aliases;

  // Set by core when it creates the token.
  std::string client_token;
  std::string accessor;
  std::vector<std::string> token_policies;
  std::vector<std::string> identity_policies;
  std::string entity_id;
  std::string token_type = "service";
  bool orphan = false;
  int64_t lease_duration = 0;
};

struct Request {
  std::string id;  // request UUID, echoed as request_id
  Operation operation = Operation::kRead;
  // Before routing: the full logical path ("secret/data/foo"); after: relative
  // to the mount ("data/foo").
  std::string path;
  Json data;  // object, or null when the request carried no data
  std::map<std::string, std::string> headers;  // lowercased names
  std::string remote_address;
  uint16_t remote_port = 0;

  // Set by core from the authenticated token. The raw token itself is passed
  // to backends only where they need it (token store); others get `token_key`,
  // a stable per-token identifier (used by cubbyhole).
  std::string client_token;
  std::string token_key;
  std::string token_accessor;
  std::string entity_id;
  std::string display_name;
  std::vector<std::string> policies;
  bool sudo = false;  // the ACL grants sudo on this path (always for root)

  // Set by the router.
  std::string mount_point;      // "secret/"
  std::string mount_type;       // "kv"
  std::string mount_accessor;   // "kv_1a2b3c4d"
  int64_t mount_default_ttl = 0;  // effective, seconds (mount config or system)
  int64_t mount_max_ttl = 0;
  storage::Backend* storage = nullptr;  // the mount's view

  std::optional<int64_t> wrap_ttl;

  // The unparsed body of a binary upload (POST/PUT sys/storage/raft/snapshot
  // and snapshot-force); `data` stays null for those. Empty otherwise.
  std::string raw_body;
};

struct Response {
  Json data;  // object or null
  std::optional<Auth> auth;
  std::vector<std::string> warnings;
  std::string lease_id;
  bool renewable = false;
  int64_t lease_duration = 0;

  // 0: the HTTP layer decides (200 with a body, 204 without). Otherwise this
  // status is sent with the envelope, e.g. KV's 404 for a deleted version.
  int http_status = 0;
  // Set for responses that are not an envelope: the body is sent verbatim
  // with `content_type` (raw sys endpoints, metrics, KV's empty 404).
  std::optional<std::string> raw_body;
  std::string content_type = "application/json";

  bool Empty() const {
    return (data.is_null() || (data.is_object() && data.empty())) && !auth && warnings.empty() &&
           lease_id.empty() && !raw_body && http_status == 0;
  }

  static Response WithData(Json d) {
    Response r;
    r.data = std::move(d);
    return r;
  }
  // An error response: `{"errors":[msg]}` with the given status.
  static Response Error(int status, std::string msg);
};

}  // namespace arca::logical
