// arca: storage "etcd", a storage::Backend on an etcd v3 cluster.
//
// Keys live below `prefix` ("/vault/" by default, as Vault's etcd backend):
// arca key "sys/token/id/ab" is etcd key "/vault/sys/token/id/ab". Values
// are whatever the layer above gives (the barrier's ciphertext): etcd never
// sees plaintext.
//
// * Get is a linearizable Range of one key.
// * List is a keys-only Range of the prefix; children are folded as the
//   Backend contract says. Paged (1000 keys a page, all at one revision),
//   resuming after each folder, so a large subtree costs one page, not all
//   its keys. Bounded by kMaxListKeys (ResourceExhausted past it).
// * Put, Delete and Txn are one etcd transaction each; a storage::Txn with
//   several ops is one etcd transaction (etcd's --max-txn-ops, 128 by
//   default, bounds it: InvalidArgument past it). etcd refuses a txn that
//   writes a key twice, so only the last op on each key is sent (the
//   outcome is the same).
//
// Fencing. With a fence set, every write is a transaction whose outer
// compare is "the fence key still has this create_revision", with the
// caller's conditions in a nested transaction. When the outer compare fails
// the write is not applied and returns FailedPrecondition("fenced: ...");
// the owner of the fence (ha::Manager) then steps down. A node that lost
// its election therefore cannot write, however late its request arrives.
// Reads are not fenced: they are linearizable on their own.
//
// Safe for concurrent use.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "storage/backend.h"
#include "storage/etcd/client.h"

namespace arca::storage::etcd {

inline constexpr std::size_t kMaxListKeys = 1'000'000;

struct Fence {
  std::string key;  // full etcd key (with prefix) of the election key
  int64_t create_revision = 0;
};

class EtcdBackend final : public Backend {
 public:
  // `client` must outlive the backend. `prefix` should end in '/'.
  EtcdBackend(Client& client, std::string prefix);

  StatusOr<std::optional<std::string>> Get(std::string_view key) override;
  Status Put(std::string_view key, std::string_view value) override;
  Status Delete(std::string_view key) override;
  StatusOr<std::vector<std::string>> List(std::string_view prefix) override;
  Status Txn(const std::vector<Condition>& conditions, const std::vector<Op>& ops) override;

  // Installs or clears the write fence.
  void SetFence(std::optional<Fence> fence);
  std::optional<Fence> fence() const;
  // Called (once per failed write, on the writing thread, no lock held)
  // when a fenced write finds the fence gone. ha::Manager steps down in it.
  void SetOnFenced(std::function<void()> hook);

  // Every key and value below the prefix, read at one revision (a
  // consistent snapshot); keys relative to the prefix, sorted. Paged
  // internally. ResourceExhausted past `limit` keys.
  StatusOr<std::vector<std::pair<std::string, std::string>>> ReadAll(
      std::size_t limit = kMaxListKeys);
  // Replaces everything below the prefix with `entries` (fenced when a
  // fence is set). Not atomic across etcd's txn size: written in batches of
  // 100, after deleting what was there. The election's keys are kept as
  // they are, and entries for them ignored: `<prefix>core/lock`,
  // everything below `<prefix>core/nodes/`, and the fence key. Used by
  // snapshot restore only. FailedPrecondition when fenced (possibly after
  // some batches were written).
  Status ReplaceAll(const std::vector<std::pair<std::string, std::string>>& entries);

  Client& client() { return client_; }
  const std::string& prefix() const { return prefix_; }

 private:
  // One etcd transaction: `ops` if `compares` hold, fenced when a fence is
  // set. Aborted when the compares fail; FailedPrecondition when fenced.
  Status Write(std::vector<Compare> compares, std::vector<TxnOp> ops);

  Client& client_;
  std::string prefix_;
  mutable std::mutex mu_;
  std::optional<Fence> fence_;
  std::function<void()> on_fenced_;
};

}  // namespace arca::storage::etcd
