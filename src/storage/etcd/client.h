// arca: etcd::Client, a native etcd v3 client over gRPC.
//
// Speaks the KV, Lease, Cluster and Maintenance services of etcd 3.4 with
// messages generated from etcd's own .proto files (Debian's
// golang-etcd-server-dev; gogoproto and HTTP annotations stripped at build
// time). One gRPC channel per endpoint; calls go to the current endpoint and
// move to the next one when it is unreachable.
//
// Retries: a call is retried on the next endpoint only when it is safe:
// reads (Range, a Txn of Range ops only, MemberList) and KeepAliveOnce on
// Unavailable or DeadlineExceeded, and any call that never reached etcd (no
// connection to that endpoint could be made within dial_timeout; endpoints
// that failed to connect recently are tried last). A write whose fate is
// unknown returns Unavailable and is never resent: the caller must treat it
// as maybe applied.
//
// Every RPC attempt has a deadline of ClientOptions::request_timeout (so a
// call takes at most about endpoints x (dial_timeout + request_timeout)).
// Errors: Unavailable (no endpoint answered, or the fate of a write is
// unknown; DeadlineExceeded is reported as Unavailable), InvalidArgument
// (etcd refused the request: too many ops, a key written twice in one txn,
// request too large, compacted revision), NotFound (lease operations on a
// lease that is gone), ResourceExhausted (etcd out of space, or a response
// above max_receive_bytes), Internal. Error messages never carry keys or
// values. Safe for concurrent use.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace arca::storage::etcd {

struct ClientOptions {
  // "https://127.0.0.1:2379" or "http://..."; at least one.
  std::vector<std::string> endpoints;
  // PEM files. With https endpoints and no ca file, the system roots are used.
  std::string tls_ca_file;
  std::string tls_cert_file;  // client certificate (mutual TLS), optional
  std::string tls_key_file;
  std::string tls_server_name;  // overrides the name checked in the server cert
  std::chrono::milliseconds request_timeout{5000};
  // Bounds each KeepAliveOnce attempt: a renewal stuck on a member that lost
  // its raft leader must give way to a retry well before the lease ends.
  std::chrono::milliseconds keepalive_timeout{500};
  std::chrono::milliseconds dial_timeout{2000};
  int64_t max_receive_bytes = 64 << 20;
};

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  int64_t lease = 0;
};

struct RangeResult {
  std::vector<KeyValue> kvs;
  int64_t revision = 0;  // store revision the read was served at
  bool more = false;
  int64_t count = 0;
};

struct RangeOptions {
  // Empty: just `key`. "\0" (one NUL byte): every key >= key. Otherwise the
  // half-open range [key, range_end). PrefixEnd(p) gives the end of prefix p.
  std::string range_end;
  int64_t limit = 0;     // 0 = no limit
  int64_t revision = 0;  // 0 = latest; else read at that revision
  bool keys_only = false;
  bool count_only = false;
  bool serializable = false;  // false = linearizable (the default)
};

// The end of the range of keys that start with `prefix`.
std::string PrefixEnd(std::string_view prefix);

// A comparison in a transaction (etcd's Compare).
struct Compare {
  enum class Target { kVersion, kCreateRevision, kModRevision, kValue, kLease };
  enum class Result { kEqual, kGreater, kLess, kNotEqual };
  std::string key;
  Target target = Target::kVersion;
  Result result = Result::kEqual;
  int64_t number = 0;  // for every target but kValue
  std::string value;   // for kValue

  // Helpers for the common cases.
  static Compare KeyMissing(std::string key);  // version == 0
  static Compare KeyExists(std::string key);   // version > 0
  static Compare ValueIs(std::string key, std::string value);
  static Compare CreateRevisionIs(std::string key, int64_t rev);
};

struct TxnOp;
// A request in a transaction branch (etcd's RequestOp).
struct TxnOp {
  enum class Kind { kPut, kDeleteRange, kRange, kTxn };
  Kind kind = Kind::kPut;
  std::string key;
  std::string value;      // kPut
  std::string range_end;  // kDeleteRange, kRange (as RangeOptions::range_end)
  int64_t lease = 0;      // kPut
  // kRange: served from the member's local state. etcd serves a read-only
  // txn without a consensus round only when every range in it is serializable.
  bool serializable = false;
  // kTxn: a nested transaction (etcd 3.3+).
  std::vector<Compare> compares;
  std::vector<TxnOp> success;
  std::vector<TxnOp> failure;

  static TxnOp Put(std::string key, std::string value, int64_t lease = 0);
  static TxnOp Delete(std::string key, std::string range_end = {});
  static TxnOp Get(std::string key, std::string range_end = {});
  static TxnOp Nested(std::vector<Compare> compares, std::vector<TxnOp> success,
                      std::vector<TxnOp> failure);
};

// The result of one TxnOp of the branch that ran, in order.
struct TxnOpResult {
  TxnOp::Kind kind = TxnOp::Kind::kPut;
  RangeResult range;                // kRange
  int64_t deleted = 0;              // kDeleteRange
  bool nested_succeeded = false;    // kTxn
  std::vector<TxnOpResult> nested;  // kTxn
};

struct TxnResult {
  bool succeeded = false;  // the compares held, the success branch ran
  int64_t revision = 0;
  std::vector<TxnOpResult> results;
};

struct LeaseGrant {
  int64_t id = 0;
  int64_t ttl_seconds = 0;  // as granted (etcd may raise it to its minimum)
};

struct Member {
  uint64_t id = 0;
  std::string name;
  std::vector<std::string> peer_urls;
  std::vector<std::string> client_urls;
  bool is_learner = false;
};

struct EndpointStatus {
  std::string endpoint;
  bool reachable = false;
  std::string error;  // when not reachable
  std::string version;
  uint64_t member_id = 0;
  uint64_t leader = 0;  // member id of the raft leader as seen by this member
  uint64_t raft_index = 0;
  uint64_t raft_term = 0;
  int64_t db_size = 0;
};

class Client {
 public:
  // Builds channels (connects lazily). InvalidArgument on a bad endpoint URL
  // or unreadable TLS files.
  static StatusOr<std::unique_ptr<Client>> Create(const ClientOptions& options);
  virtual ~Client() = default;

  virtual StatusOr<RangeResult> Range(const std::string& key, const RangeOptions& options) = 0;
  virtual Status Put(const std::string& key, const std::string& value, int64_t lease = 0) = 0;
  // Returns the number of keys deleted.
  virtual StatusOr<int64_t> DeleteRange(const std::string& key, const std::string& range_end) = 0;
  virtual StatusOr<TxnResult> Txn(const std::vector<Compare>& compares,
                                  const std::vector<TxnOp>& success,
                                  const std::vector<TxnOp>& failure) = 0;

  virtual StatusOr<LeaseGrant> GrantLease(int64_t ttl_seconds) = 0;
  // One keep-alive round trip. Returns the remaining TTL in seconds; NotFound
  // when the lease no longer exists (expired or revoked).
  virtual StatusOr<int64_t> KeepAliveOnce(int64_t lease_id) = 0;
  virtual Status RevokeLease(int64_t lease_id) = 0;

  virtual StatusOr<std::vector<Member>> MemberList() = 0;
  // Status of every configured endpoint, asked directly (no failover);
  // unreachable endpoints are reported, not errors.
  virtual std::vector<EndpointStatus> StatusAll() = 0;

  virtual const ClientOptions& options() const = 0;
};

}  // namespace arca::storage::etcd
