// arca: storage::Backend, the one storage interface of every layer.
//
// A Backend maps string keys ("sys/token/id/ab12") to opaque byte values. The
// physical engines (inmem, file, etcd) implement it; so do the barrier, which
// encrypts every value on its way down, and View, which confines a mount to
// its own prefix. Physical backends are untrusted: they only ever see the
// barrier's ciphertext.
//
// Contract, for every implementation:
// * All methods are safe for concurrent use.
// * Get of a missing key is not an error: it returns std::nullopt.
// * Delete of a missing key succeeds.
// * List(prefix) returns the immediate children of `prefix`, sorted: keys
//   directly below it, and each deeper folder once, with a trailing '/'.
//   ("a/b", "a/c/d" listed at "a/" → ["b", "c/"]). A missing prefix lists [].
// * Txn applies every op or none: if any condition does not hold, nothing is
//   written and it returns Aborted. Ops apply in order.
// * A successful Put, Delete or Txn is durable when it returns (for durable
//   engines: on disk, or committed by a quorum).
// * Errors: Unavailable (engine down or unreachable), Internal, DataLoss
//   (stored bytes failed authentication, barrier only), Sealed (barrier only).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace arca::storage {

struct Condition {
  enum class Kind { kExists, kAbsent, kEquals };
  Kind kind = Kind::kExists;
  std::string key;
  std::string value;  // for kEquals

  static Condition Exists(std::string k) { return {Kind::kExists, std::move(k), {}}; }
  static Condition Absent(std::string k) { return {Kind::kAbsent, std::move(k), {}}; }
  static Condition Equals(std::string k, std::string v) {
    return {Kind::kEquals, std::move(k), std::move(v)};
  }
};

struct Op {
  enum class Kind { kPut, kDelete };
  Kind kind = Kind::kPut;
  std::string key;
  std::string value;  // for kPut

  static Op Put(std::string k, std::string v) { return {Kind::kPut, std::move(k), std::move(v)}; }
  static Op Delete(std::string k) { return {Kind::kDelete, std::move(k), {}}; }
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual StatusOr<std::optional<std::string>> Get(std::string_view key) = 0;
  // A read for update: as Get, but it may return a value older than the
  // latest write (etcd: a serializable read, no consensus round). Use it
  // only to build a write conditioned on what it returned (Txn with Equals
  // or Absent on the key): were it stale, that write is Aborted and the
  // caller retries with Get. Never base a decision that writes nothing on
  // it. The default is Get.
  virtual StatusOr<std::optional<std::string>> GetForUpdate(std::string_view key) {
    return Get(key);
  }
  // A guess for update: as GetForUpdate, but a layer that answers from
  // memory may say "missing" for a key it holds nothing of, without any
  // storage read (the barrier over etcd, on a cache miss: a write to a new
  // key then costs no read, a write to an uncached existing key one aborted
  // Txn). Same contract as GetForUpdate. The default is GetForUpdate.
  virtual StatusOr<std::optional<std::string>> GuessForUpdate(std::string_view key) {
    return GetForUpdate(key);
  }
  virtual Status Put(std::string_view key, std::string_view value) = 0;
  virtual Status Delete(std::string_view key) = 0;
  virtual StatusOr<std::vector<std::string>> List(std::string_view prefix) = 0;
  virtual Status Txn(const std::vector<Condition>& conditions, const std::vector<Op>& ops) = 0;
};

// Recursively lists every key below `prefix` (full keys relative to prefix,
// e.g. "a/b"), walking folders with List. Bounded by `limit` keys; returns
// ResourceExhausted past it.
StatusOr<std::vector<std::string>> ListRecursive(Backend& b, std::string_view prefix,
                                                 std::size_t limit = 10'000'000);
// Deletes every key below `prefix`.
Status DeletePrefix(Backend& b, std::string_view prefix);

// View: a Backend confined below `prefix` of another Backend (a mount's
// "chroot", as Vault's BarrierView). Keys given to a View must not contain
// ".." segments; such keys are refused with InvalidArgument.
class View final : public Backend {
 public:
  View(Backend& parent, std::string prefix) : parent_(parent), prefix_(std::move(prefix)) {}

  const std::string& prefix() const { return prefix_; }

  StatusOr<std::optional<std::string>> Get(std::string_view key) override;
  StatusOr<std::optional<std::string>> GetForUpdate(std::string_view key) override;
  StatusOr<std::optional<std::string>> GuessForUpdate(std::string_view key) override;
  Status Put(std::string_view key, std::string_view value) override;
  Status Delete(std::string_view key) override;
  StatusOr<std::vector<std::string>> List(std::string_view prefix) override;
  Status Txn(const std::vector<Condition>& conditions, const std::vector<Op>& ops) override;

 private:
  StatusOr<std::string> Full(std::string_view key) const;
  Backend& parent_;
  std::string prefix_;
};

}  // namespace arca::storage
