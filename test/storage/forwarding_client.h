// arca test support: ForwardingClient, an etcd Client that passes every call
// to another one. Tests derive from it to watch or hold the calls they
// care about and leave the rest alone.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "storage/etcd/client.h"

namespace arca::storage::etcd {

// A door that test threads pass through; while held, Pass() waits there
// (at most `bound`) until Release().
class Door {
 public:
  void Hold() {
    std::lock_guard g(mu_);
    held_ = true;
  }
  void Release() {
    std::lock_guard g(mu_);
    held_ = false;
    cv_.notify_all();
  }
  // Lets the requests parked now through; the door stays held for later ones.
  void ReleaseParked() {
    std::lock_guard g(mu_);
    ++generation_;
    cv_.notify_all();
  }
  int parked() const {
    std::lock_guard g(mu_);
    return parked_;
  }
  void Pass(std::chrono::milliseconds bound) {
    std::unique_lock g(mu_);
    if (!held_) return;
    ++parked_;
    const uint64_t generation = generation_;
    cv_.wait_for(g, bound, [&] { return !held_ || generation_ != generation; });
    --parked_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;
  int parked_ = 0;
  uint64_t generation_ = 0;  // bumped by ReleaseParked
};

class ForwardingClient : public Client {
 public:
  explicit ForwardingClient(Client& inner) : inner_(inner) {}

  StatusOr<RangeResult> Range(const std::string& key, const RangeOptions& o) override {
    return inner_.Range(key, o);
  }
  Status Put(const std::string& key, const std::string& value, int64_t lease) override {
    return inner_.Put(key, value, lease);
  }
  StatusOr<int64_t> DeleteRange(const std::string& key, const std::string& end) override {
    return inner_.DeleteRange(key, end);
  }
  StatusOr<TxnResult> Txn(const std::vector<Compare>& c, const std::vector<TxnOp>& s,
                          const std::vector<TxnOp>& f) override {
    return inner_.Txn(c, s, f);
  }
  StatusOr<LeaseGrant> GrantLease(int64_t ttl) override { return inner_.GrantLease(ttl); }
  StatusOr<int64_t> KeepAliveOnce(int64_t id) override { return inner_.KeepAliveOnce(id); }
  Status RevokeLease(int64_t id) override { return inner_.RevokeLease(id); }
  StatusOr<std::vector<Member>> MemberList() override { return inner_.MemberList(); }
  std::vector<EndpointStatus> StatusAll() override { return inner_.StatusAll(); }
  const ClientOptions& options() const override { return inner_.options(); }

 protected:
  Client& inner_;
};

// A txn with no compares and only Ranges: a batch of reads, not a write.
inline bool IsReadBatch(const std::vector<Compare>& c, const std::vector<TxnOp>& s,
                        const std::vector<TxnOp>& f) {
  if (!c.empty() || !f.empty() || s.empty()) return false;
  for (const auto& op : s) {
    if (op.kind != TxnOp::Kind::kRange) return false;
  }
  return true;
}

}  // namespace arca::storage::etcd
