// arca: logical::Backend, the interface of a mounted secrets engine or auth
// method, and the Factory that creates one per mount.
//
// Core calls a Backend concurrently from many threads; implementations must be
// safe for concurrent use. A Backend owns no storage of its own: everything it
// keeps goes through Request::storage (or BackendConfig::storage), the mount's
// view under the barrier.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "logical/request.h"

namespace arca::logical {

class Backend {
 public:
  virtual ~Backend() = default;

  // Handles one request. Returns the response, or a Status whose code src/http
  // maps to the HTTP status (InvalidArgument → 400, NotFound → 404, ...). A
  // response with no data, auth or warnings is sent as 204.
  virtual StatusOr<Response> HandleRequest(Request& req) = 0;

  // Whether the item at req.path exists, so core can tell a create from an
  // update for the ACL check. Backends without the notion return true (every
  // write is an update).
  virtual StatusOr<bool> Exists(Request& req) {
    (void)req;
    return true;
  }

  // Whether a create and an update of `path` (relative to the mount) are the
  // same operation to this backend: one handler, one outcome (KV writes).
  // Core then skips Exists when the caller's ACL grants or refuses both
  // alike and no audit device records the operation, since the answer
  // could change nothing.
  virtual bool CreateIsUpdate(std::string_view path) const {
    (void)path;
    return false;
  }

  // Auth methods: approves the renewal of a token this mount minted (Vault's
  // AuthRenew), called by core on auth/token/renew, renew-self and
  // renew-accessor before the token is extended, with no token-store lock
  // held. `auth` describes the token as stored: policies, metadata,
  // display_name, entity_id, bound_cidrs, num_uses, renewable, ttl (the TTL
  // granted last), max_ttl, period and explicit_max_ttl; client_token is
  // empty. `req.path` is the token's creation path relative to the mount
  // ("login"); the mount fields, storage and remote address are set. Returns
  // the Auth to renew with: its ttl (0 = the mount default), max_ttl, period
  // and explicit_max_ttl feed the TTL calculation. An error refuses the
  // renewal (core prefixes its message with "failed to renew entry: ").
  // Default: `auth` unchanged.
  virtual StatusOr<Auth> Renew(Request& req, const Auth& auth) {
    (void)req;
    return auth;
  }

  // Paths (relative to the mount) that need no token, e.g. "login". A trailing
  // '*' is a prefix glob.
  virtual std::vector<std::string> UnauthenticatedPaths() const { return {}; }
  // Paths that need `sudo` in addition to the operation's capability.
  virtual std::vector<std::string> RootPaths() const { return {}; }

  // Called once after construction (e.g. to migrate data) and before the
  // mount is removed, respectively.
  virtual Status Initialize() { return OkStatus(); }
  virtual void Cleanup() {}
};

struct BackendConfig {
  std::string type;                            // "kv", "cubbyhole", ...
  std::string mount_path;                      // "secret/"
  std::map<std::string, std::string> options;  // e.g. {"version": "2"}
  storage::Backend* storage = nullptr;         // the mount's view; outlives the backend
  Clock* clock = nullptr;                      // outlives the backend
};

using Factory = std::function<StatusOr<std::unique_ptr<Backend>>(const BackendConfig&)>;

}  // namespace arca::logical
