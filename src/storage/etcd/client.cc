// arca: etcd::Client over gRPC, etcd's own protos (see client.h).
//
// Failover. Each call walks the endpoints once, starting at the one that
// last answered. An endpoint whose channel is in TRANSIENT_FAILURE is
// skipped at first (it failed to connect recently) and only waited for, up
// to dial_timeout, when no other endpoint answered. Because the channel is
// READY before the RPC is started, an RPC that then fails with UNAVAILABLE or
// DEADLINE_EXCEEDED may have reached etcd: reads move on to the next
// endpoint, writes report Unavailable ("outcome unknown") and stop.
#include "storage/etcd/client.h"

#include <grpc/support/time.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <fstream>
#include <set>

#include "base/secure.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"
#include "storage/internal_list.h"

namespace arca::storage::etcd {

namespace pb = ::etcdserverpb;

std::string PrefixEnd(std::string_view prefix) {
  auto end = internal::PrefixSuccessor(prefix);
  return end ? *end : std::string(1, '\0');
}

Compare Compare::KeyMissing(std::string key) {
  return {std::move(key), Target::kVersion, Result::kEqual, 0, {}};
}
Compare Compare::KeyExists(std::string key) {
  return {std::move(key), Target::kVersion, Result::kGreater, 0, {}};
}
Compare Compare::ValueIs(std::string key, std::string value) {
  return {std::move(key), Target::kValue, Result::kEqual, 0, std::move(value)};
}
Compare Compare::CreateRevisionIs(std::string key, int64_t rev) {
  return {std::move(key), Target::kCreateRevision, Result::kEqual, rev, {}};
}

TxnOp TxnOp::Put(std::string key, std::string value, int64_t lease) {
  TxnOp op;
  op.kind = Kind::kPut;
  op.key = std::move(key);
  op.value = std::move(value);
  op.lease = lease;
  return op;
}
TxnOp TxnOp::Delete(std::string key, std::string range_end) {
  TxnOp op;
  op.kind = Kind::kDeleteRange;
  op.key = std::move(key);
  op.range_end = std::move(range_end);
  return op;
}
TxnOp TxnOp::Get(std::string key, std::string range_end) {
  TxnOp op;
  op.kind = Kind::kRange;
  op.key = std::move(key);
  op.range_end = std::move(range_end);
  return op;
}
TxnOp TxnOp::Nested(std::vector<Compare> compares, std::vector<TxnOp> success,
                    std::vector<TxnOp> failure) {
  TxnOp op;
  op.kind = Kind::kTxn;
  op.compares = std::move(compares);
  op.success = std::move(success);
  op.failure = std::move(failure);
  return op;
}

namespace {

// etcd itself has no bound; this one only stops runaway recursion.
constexpr int kMaxTxnDepth = 8;
constexpr std::size_t kMaxTlsFileBytes = 1 << 20;

struct ParsedEndpoint {
  bool tls = false;
  std::string target;  // host:port for gRPC
};

StatusOr<ParsedEndpoint> ParseEndpoint(std::string_view url) {
  ParsedEndpoint p;
  std::string_view rest;
  if (url.starts_with("https://")) {
    p.tls = true;
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    return InvalidArgument("etcd endpoint must start with http:// or https://: " +
                           std::string(url));
  }
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty() || rest.find_first_of("/?#@ ") != std::string_view::npos) {
    return InvalidArgument("bad etcd endpoint: " + std::string(url));
  }
  p.target = std::string(rest);
  // No port: etcd's default client port.
  auto bracket = rest.rfind(']');
  auto colon = rest.rfind(':');
  if (colon == std::string_view::npos || (bracket != std::string_view::npos && colon < bracket)) {
    p.target += ":2379";
  }
  return p;
}

StatusOr<std::string> ReadSmallFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument(std::string("etcd: cannot read ") + what + " " + path);
  std::string data;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    data.append(buf, static_cast<std::size_t>(in.gcount()));
    if (data.size() > kMaxTlsFileBytes) {
      Wipe(data);
      return InvalidArgument(std::string("etcd: ") + what + " too large: " + path);
    }
  }
  if (in.bad()) {
    Wipe(data);
    return InvalidArgument(std::string("etcd: cannot read ") + what + " " + path);
  }
  return data;
}

Status FromGrpc(const grpc::Status& s, std::string_view what) {
  std::string msg = "etcd " + std::string(what) + ": " + s.error_message();
  switch (s.error_code()) {
    case grpc::StatusCode::OK:
      return OkStatus();
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::CANCELLED:
      return Unavailable(std::move(msg));
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::FAILED_PRECONDITION:
      return InvalidArgument(std::move(msg));
    case grpc::StatusCode::NOT_FOUND:
      return NotFound(std::move(msg));
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return Status(Code::kResourceExhausted, std::move(msg));
    default:
      return Internal(std::move(msg));
  }
}

bool Transient(grpc::StatusCode c) {
  return c == grpc::StatusCode::UNAVAILABLE || c == grpc::StatusCode::DEADLINE_EXCEEDED;
}

gpr_timespec DeadlineAfter(std::chrono::milliseconds d) {
  return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(d.count(), GPR_TIMESPAN));
}

// ---- message conversions ----

KeyValue FromPb(const ::mvccpb::KeyValue& kv) {
  KeyValue out;
  out.key = kv.key();
  out.value = kv.value();
  out.create_revision = kv.create_revision();
  out.mod_revision = kv.mod_revision();
  out.version = kv.version();
  out.lease = kv.lease();
  return out;
}

RangeResult FromPb(const pb::RangeResponse& r) {
  RangeResult out;
  out.kvs.reserve(static_cast<std::size_t>(r.kvs_size()));
  for (const auto& kv : r.kvs()) out.kvs.push_back(FromPb(kv));
  out.revision = r.header().revision();
  out.more = r.more();
  out.count = r.count();
  return out;
}

void ToPb(const Compare& c, pb::Compare* out) {
  out->set_key(c.key);
  switch (c.result) {
    case Compare::Result::kEqual:
      out->set_result(pb::Compare::EQUAL);
      break;
    case Compare::Result::kGreater:
      out->set_result(pb::Compare::GREATER);
      break;
    case Compare::Result::kLess:
      out->set_result(pb::Compare::LESS);
      break;
    case Compare::Result::kNotEqual:
      out->set_result(pb::Compare::NOT_EQUAL);
      break;
  }
  switch (c.target) {
    case Compare::Target::kVersion:
      out->set_target(pb::Compare::VERSION);
      out->set_version(c.number);
      break;
    case Compare::Target::kCreateRevision:
      out->set_target(pb::Compare::CREATE);
      out->set_create_revision(c.number);
      break;
    case Compare::Target::kModRevision:
      out->set_target(pb::Compare::MOD);
      out->set_mod_revision(c.number);
      break;
    case Compare::Target::kValue:
      out->set_target(pb::Compare::VALUE);
      out->set_value(c.value);
      break;
    case Compare::Target::kLease:
      out->set_target(pb::Compare::LEASE);
      out->set_lease(c.number);
      break;
  }
}

Status ToPb(const std::vector<Compare>& compares, const std::vector<TxnOp>& success,
            const std::vector<TxnOp>& failure, int depth, pb::TxnRequest* out);

Status ToPb(const TxnOp& op, int depth, pb::RequestOp* out) {
  switch (op.kind) {
    case TxnOp::Kind::kPut: {
      auto* p = out->mutable_request_put();
      p->set_key(op.key);
      p->set_value(op.value);
      p->set_lease(op.lease);
      return OkStatus();
    }
    case TxnOp::Kind::kDeleteRange: {
      auto* d = out->mutable_request_delete_range();
      d->set_key(op.key);
      d->set_range_end(op.range_end);
      return OkStatus();
    }
    case TxnOp::Kind::kRange: {
      auto* r = out->mutable_request_range();
      r->set_key(op.key);
      r->set_range_end(op.range_end);
      r->set_serializable(op.serializable);
      return OkStatus();
    }
    case TxnOp::Kind::kTxn:
      if (depth >= kMaxTxnDepth) return InvalidArgument("etcd: transactions nested too deep");
      return ToPb(op.compares, op.success, op.failure, depth + 1, out->mutable_request_txn());
  }
  return Internal("etcd: unknown txn op");
}

Status ToPb(const std::vector<Compare>& compares, const std::vector<TxnOp>& success,
            const std::vector<TxnOp>& failure, int depth, pb::TxnRequest* out) {
  for (const auto& c : compares) ToPb(c, out->add_compare());
  for (const auto& op : success) ARCA_RETURN_IF_ERROR(ToPb(op, depth, out->add_success()));
  for (const auto& op : failure) ARCA_RETURN_IF_ERROR(ToPb(op, depth, out->add_failure()));
  return OkStatus();
}

TxnOpResult FromPb(const pb::ResponseOp& r);

std::vector<TxnOpResult> FromPb(const pb::TxnResponse& t) {
  std::vector<TxnOpResult> out;
  out.reserve(static_cast<std::size_t>(t.responses_size()));
  for (const auto& r : t.responses()) out.push_back(FromPb(r));
  return out;
}

TxnOpResult FromPb(const pb::ResponseOp& r) {
  TxnOpResult out;
  switch (r.response_case()) {
    case pb::ResponseOp::kResponseRange:
      out.kind = TxnOp::Kind::kRange;
      out.range = FromPb(r.response_range());
      break;
    case pb::ResponseOp::kResponseDeleteRange:
      out.kind = TxnOp::Kind::kDeleteRange;
      out.deleted = r.response_delete_range().deleted();
      break;
    case pb::ResponseOp::kResponseTxn:
      out.kind = TxnOp::Kind::kTxn;
      out.nested_succeeded = r.response_txn().succeeded();
      out.nested = FromPb(r.response_txn());
      break;
    default:
      out.kind = TxnOp::Kind::kPut;
      break;
  }
  return out;
}

bool ReadOnly(const std::vector<TxnOp>& ops) {
  return std::all_of(ops.begin(), ops.end(), [](const TxnOp& op) {
    if (op.kind == TxnOp::Kind::kRange) return true;
    if (op.kind != TxnOp::Kind::kTxn) return false;
    return ReadOnly(op.success) && ReadOnly(op.failure);
  });
}

// ---- the client ----

struct Endpoint {
  std::string url;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<pb::KV::Stub> kv;
  std::unique_ptr<pb::Lease::Stub> lease;
  std::unique_ptr<pb::Cluster::Stub> cluster;
  std::unique_ptr<pb::Maintenance::Stub> maintenance;
};

// Whether an RPC may be sent again to another endpoint after it may have
// reached etcd.
enum class Retry { kSafe, kNever };

class GrpcClient final : public Client {
 public:
  GrpcClient(ClientOptions options, std::vector<Endpoint> endpoints)
      : options_(std::move(options)), endpoints_(std::move(endpoints)) {}

  StatusOr<RangeResult> Range(const std::string& key, const RangeOptions& o) override;
  Status Put(const std::string& key, const std::string& value, int64_t lease) override;
  StatusOr<int64_t> DeleteRange(const std::string& key, const std::string& range_end) override;
  StatusOr<TxnResult> Txn(const std::vector<Compare>& compares, const std::vector<TxnOp>& success,
                          const std::vector<TxnOp>& failure) override;
  StatusOr<LeaseGrant> GrantLease(int64_t ttl_seconds) override;
  StatusOr<int64_t> KeepAliveOnce(int64_t lease_id) override;
  Status RevokeLease(int64_t lease_id) override;
  StatusOr<std::vector<Member>> MemberList() override;
  std::vector<EndpointStatus> StatusAll() override;
  const ClientOptions& options() const override { return options_; }

 private:
  enum class Conn { kReady, kFailedFast, kFailed };
  Conn Connect(Endpoint& ep, bool fail_fast, gpr_timespec deadline);

  // Runs `rpc(endpoint, context)` with failover (see the file comment).
  template <typename Rpc>
  // `timeout` bounds each attempt; 0 = ClientOptions::request_timeout.
  Status Call(Retry retry, std::string_view what, Rpc&& rpc,
              std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

  const ClientOptions options_;
  std::vector<Endpoint> endpoints_;
  std::atomic<std::size_t> current_{0};
};

GrpcClient::Conn GrpcClient::Connect(Endpoint& ep, bool fail_fast, gpr_timespec deadline) {
  grpc_connectivity_state state = ep.channel->GetState(/*try_to_connect=*/true);
  // Second pass: no other endpoint answered, so try this one again now
  // rather than after the rest of its reconnect backoff.
  if (state == GRPC_CHANNEL_TRANSIENT_FAILURE && !fail_fast) {
    grpc::experimental::ChannelResetConnectionBackoff(ep.channel.get());
  }
  while (state != GRPC_CHANNEL_READY) {
    if (state == GRPC_CHANNEL_SHUTDOWN) return Conn::kFailed;
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE && fail_fast) return Conn::kFailedFast;
    if (!ep.channel->WaitForStateChange(state, deadline)) return Conn::kFailed;
    state = ep.channel->GetState(/*try_to_connect=*/true);
  }
  return Conn::kReady;
}

template <typename Rpc>
Status GrpcClient::Call(Retry retry, std::string_view what, Rpc&& rpc,
                        std::chrono::milliseconds timeout) {
  if (timeout.count() <= 0) timeout = options_.request_timeout;
  const std::size_t n = endpoints_.size();
  const std::size_t start = current_.load(std::memory_order_relaxed) % n;
  std::vector<bool> skipped(n, false);
  Status last = Unavailable("etcd " + std::string(what) + ": no endpoint reachable");
  for (int pass = 0; pass < 2; ++pass) {
    const bool fail_fast = pass == 0;
    const gpr_timespec pass_deadline = DeadlineAfter(options_.dial_timeout);
    bool any_skipped = false;
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t i = (start + k) % n;
      if (!fail_fast && !skipped[i]) continue;
      Endpoint& ep = endpoints_[i];
      const gpr_timespec connect_deadline =
          fail_fast ? DeadlineAfter(options_.dial_timeout) : pass_deadline;
      Conn c = Connect(ep, fail_fast, connect_deadline);
      if (c != Conn::kReady) {
        if (c == Conn::kFailedFast) skipped[i] = any_skipped = true;
        last = Unavailable("etcd " + std::string(what) + ": cannot connect to " + ep.url);
        continue;
      }
      grpc::ClientContext ctx;
      ctx.set_deadline(DeadlineAfter(timeout));
      grpc::Status s = rpc(ep, ctx);
      if (s.ok()) {
        current_.store(i, std::memory_order_relaxed);
        return OkStatus();
      }
      if (!Transient(s.error_code())) return FromGrpc(s, what);
      if (retry == Retry::kNever) {
        return Unavailable("etcd " + std::string(what) + ": outcome unknown (" + ep.url +
                           "): " + s.error_message());
      }
      last = FromGrpc(s, std::string(what) + " at " + ep.url);
    }
    if (!any_skipped) break;
  }
  return last;
}

StatusOr<RangeResult> GrpcClient::Range(const std::string& key, const RangeOptions& o) {
  pb::RangeRequest req;
  req.set_key(key);
  req.set_range_end(o.range_end);
  req.set_limit(o.limit);
  req.set_revision(o.revision);
  req.set_keys_only(o.keys_only);
  req.set_count_only(o.count_only);
  req.set_serializable(o.serializable);
  pb::RangeResponse resp;
  ARCA_RETURN_IF_ERROR(Call(Retry::kSafe, "range", [&](Endpoint& ep, grpc::ClientContext& ctx) {
    resp.Clear();
    return ep.kv->Range(&ctx, req, &resp);
  }));
  return FromPb(resp);
}

Status GrpcClient::Put(const std::string& key, const std::string& value, int64_t lease) {
  pb::PutRequest req;
  req.set_key(key);
  req.set_value(value);
  req.set_lease(lease);
  pb::PutResponse resp;
  return Call(Retry::kNever, "put",
              [&](Endpoint& ep, grpc::ClientContext& ctx) { return ep.kv->Put(&ctx, req, &resp); });
}

StatusOr<int64_t> GrpcClient::DeleteRange(const std::string& key, const std::string& range_end) {
  pb::DeleteRangeRequest req;
  req.set_key(key);
  req.set_range_end(range_end);
  pb::DeleteRangeResponse resp;
  ARCA_RETURN_IF_ERROR(Call(Retry::kNever, "delete", [&](Endpoint& ep, grpc::ClientContext& ctx) {
    return ep.kv->DeleteRange(&ctx, req, &resp);
  }));
  return resp.deleted();
}

StatusOr<TxnResult> GrpcClient::Txn(const std::vector<Compare>& compares,
                                    const std::vector<TxnOp>& success,
                                    const std::vector<TxnOp>& failure) {
  pb::TxnRequest req;
  ARCA_RETURN_IF_ERROR(ToPb(compares, success, failure, 0, &req));
  const Retry retry = ReadOnly(success) && ReadOnly(failure) ? Retry::kSafe : Retry::kNever;
  pb::TxnResponse resp;
  ARCA_RETURN_IF_ERROR(Call(retry, "txn", [&](Endpoint& ep, grpc::ClientContext& ctx) {
    resp.Clear();
    return ep.kv->Txn(&ctx, req, &resp);
  }));
  TxnResult out;
  out.succeeded = resp.succeeded();
  out.revision = resp.header().revision();
  out.results = FromPb(resp);
  return out;
}

StatusOr<LeaseGrant> GrpcClient::GrantLease(int64_t ttl_seconds) {
  if (ttl_seconds <= 0) return InvalidArgument("etcd: lease TTL must be positive");
  pb::LeaseGrantRequest req;
  req.set_ttl(ttl_seconds);
  pb::LeaseGrantResponse resp;
  ARCA_RETURN_IF_ERROR(
      Call(Retry::kNever, "lease grant", [&](Endpoint& ep, grpc::ClientContext& ctx) {
        return ep.lease->LeaseGrant(&ctx, req, &resp);
      }));
  if (!resp.error().empty()) return Internal("etcd lease grant: " + resp.error());
  return LeaseGrant{resp.id(), resp.ttl()};
}

StatusOr<int64_t> GrpcClient::KeepAliveOnce(int64_t lease_id) {
  pb::LeaseKeepAliveRequest req;
  req.set_id(lease_id);
  pb::LeaseKeepAliveResponse resp;
  // Renewing twice is harmless, so this one may go to another endpoint.
  ARCA_RETURN_IF_ERROR(Call(
      Retry::kSafe, "lease keep-alive",
      [&](Endpoint& ep, grpc::ClientContext& ctx) {
        resp.Clear();
        auto stream = ep.lease->LeaseKeepAlive(&ctx);
        if (!stream->Write(req)) return stream->Finish();
        stream->WritesDone();
        bool got = stream->Read(&resp);
        pb::LeaseKeepAliveResponse extra;
        while (got && stream->Read(&extra)) {
        }
        grpc::Status s = stream->Finish();
        if (s.ok() && !got) {
          return grpc::Status(grpc::StatusCode::UNAVAILABLE, "stream closed without a response");
        }
        return s;
      },
      options_.keepalive_timeout));
  if (resp.ttl() <= 0) return NotFound("etcd: lease not found or expired");
  return resp.ttl();
}

Status GrpcClient::RevokeLease(int64_t lease_id) {
  pb::LeaseRevokeRequest req;
  req.set_id(lease_id);
  pb::LeaseRevokeResponse resp;
  return Call(Retry::kNever, "lease revoke", [&](Endpoint& ep, grpc::ClientContext& ctx) {
    return ep.lease->LeaseRevoke(&ctx, req, &resp);
  });
}

StatusOr<std::vector<Member>> GrpcClient::MemberList() {
  pb::MemberListRequest req;
  pb::MemberListResponse resp;
  ARCA_RETURN_IF_ERROR(
      Call(Retry::kSafe, "member list", [&](Endpoint& ep, grpc::ClientContext& ctx) {
        resp.Clear();
        return ep.cluster->MemberList(&ctx, req, &resp);
      }));
  std::vector<Member> out;
  for (const auto& m : resp.members()) {
    Member x;
    x.id = m.id();
    x.name = m.name();
    x.peer_urls.assign(m.peerurls().begin(), m.peerurls().end());
    x.client_urls.assign(m.clienturls().begin(), m.clienturls().end());
    x.is_learner = m.islearner();
    out.push_back(std::move(x));
  }
  return out;
}

std::vector<EndpointStatus> GrpcClient::StatusAll() {
  struct Pending {
    grpc::ClientContext ctx;
    pb::StatusResponse resp;
    grpc::Status status;
    std::unique_ptr<grpc::ClientAsyncResponseReader<pb::StatusResponse>> rpc;
  };
  const std::size_t n = endpoints_.size();
  grpc::CompletionQueue cq;
  std::vector<std::unique_ptr<Pending>> pending;
  pb::StatusRequest req;
  for (std::size_t i = 0; i < n; ++i) {
    auto p = std::make_unique<Pending>();
    p->ctx.set_deadline(DeadlineAfter(options_.request_timeout));
    p->rpc = endpoints_[i].maintenance->AsyncStatus(&p->ctx, req, &cq);
    p->rpc->Finish(&p->resp, &p->status, reinterpret_cast<void*>(i + 1));
    pending.push_back(std::move(p));
  }
  // Every RPC has a deadline, so each tag comes back.
  for (std::size_t done = 0; done < n; ++done) {
    void* tag = nullptr;
    bool ok = false;
    if (!cq.Next(&tag, &ok)) break;
  }
  cq.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (cq.Next(&tag, &ok)) {
  }

  std::vector<EndpointStatus> out;
  for (std::size_t i = 0; i < n; ++i) {
    const Pending& p = *pending[i];
    EndpointStatus s;
    s.endpoint = endpoints_[i].url;
    if (!p.status.ok()) {
      s.error = FromGrpc(p.status, "status").message();
    } else {
      s.reachable = true;
      s.version = p.resp.version();
      s.member_id = p.resp.header().member_id();
      s.leader = p.resp.leader();
      s.raft_index = p.resp.raftindex();
      s.raft_term = p.resp.raftterm();
      s.db_size = p.resp.dbsize();
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

StatusOr<std::unique_ptr<Client>> Client::Create(const ClientOptions& options) {
  if (options.endpoints.empty()) return InvalidArgument("etcd: no endpoints");
  if (options.request_timeout.count() <= 0 || options.dial_timeout.count() <= 0) {
    return InvalidArgument("etcd: timeouts must be positive");
  }
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return InvalidArgument("etcd: tls_cert_file and tls_key_file go together");
  }
  std::vector<ParsedEndpoint> parsed;
  std::set<std::string> seen;
  for (const auto& url : options.endpoints) {
    ARCA_ASSIGN_OR_RETURN(auto p, ParseEndpoint(url));
    if (!seen.insert(p.target).second) return InvalidArgument("etcd: duplicate endpoint " + url);
    parsed.push_back(std::move(p));
  }

  // TLS files are read (and so checked) whatever the endpoints' schemes.
  grpc::SslCredentialsOptions ssl;
  if (!options.tls_ca_file.empty()) {
    ARCA_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadSmallFile(options.tls_ca_file, "tls_ca_file"));
  }
  if (!options.tls_cert_file.empty()) {
    ARCA_ASSIGN_OR_RETURN(ssl.pem_cert_chain,
                          ReadSmallFile(options.tls_cert_file, "tls_cert_file"));
    ARCA_ASSIGN_OR_RETURN(ssl.pem_private_key, ReadSmallFile(options.tls_key_file, "tls_key_file"));
  }
  std::shared_ptr<grpc::ChannelCredentials> tls_creds = grpc::SslCredentials(ssl);
  Wipe(ssl.pem_private_key);  // gRPC keeps its own copy
  auto insecure = grpc::InsecureChannelCredentials();

  const int max_receive =
      static_cast<int>(std::clamp<int64_t>(options.max_receive_bytes, 4 << 20, INT_MAX));
  std::vector<Endpoint> endpoints;
  for (std::size_t i = 0; i < parsed.size(); ++i) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(max_receive);
    args.SetMaxSendMessageSize(-1);
    // Reconnect quickly after an etcd restart; gRPC's default backoff grows
    // to two minutes, during which every call would fail.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    // Notice a dead connection (etcd allows a ping every 5 s with a call open).
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
    // Keep each endpoint on its own connection (no subchannel sharing).
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    if (parsed[i].tls && !options.tls_server_name.empty()) {
      args.SetSslTargetNameOverride(options.tls_server_name);
    }
    Endpoint ep;
    ep.url = options.endpoints[i];
    ep.channel =
        grpc::CreateCustomChannel(parsed[i].target, parsed[i].tls ? tls_creds : insecure, args);
    ep.kv = pb::KV::NewStub(ep.channel);
    ep.lease = pb::Lease::NewStub(ep.channel);
    ep.cluster = pb::Cluster::NewStub(ep.channel);
    ep.maintenance = pb::Maintenance::NewStub(ep.channel);
    endpoints.push_back(std::move(ep));
  }
  return std::unique_ptr<Client>(std::make_unique<GrpcClient>(options, std::move(endpoints)));
}

}  // namespace arca::storage::etcd
