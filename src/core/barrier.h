// arca: the security barrier. Everything core stores passes through it.
//
// The barrier is a storage::Backend over a physical backend. Every value is
// sealed with AES-256-GCM under the current key of a term-tagged keyring,
// with the storage path bound as associated data, so a value copied to
// another key fails to decrypt. Ciphertext layout (as Vault's v2):
//   4-byte big-endian key term | version byte (0x2) | 12-byte nonce | GCM ciphertext+tag
// The keyring itself is stored at kKeyringPath, sealed by the root key (AAD =
// the path). Old terms stay in the keyring, so data written before a rotation
// stays readable. Key material lives in SecureBytes and is wiped on Seal().
//
// Reads are served from a ReadCache of decrypted values (core/read_cache.h)
// kept coherent with every write made through this barrier; ClearCache()
// must be called when another process may have written (a node becoming
// active in a cluster, a snapshot restore). Sealing clears it.
//
// While sealed, every data method returns Sealed. Decryption failures return
// DataLoss. Data methods refuse kKeyringPath itself (InvalidArgument), so
// nothing above the barrier can overwrite the keyring. Safe for concurrent use.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>

#include "base/clock.h"
#include "base/secure.h"
#include "core/read_cache.h"
#include "storage/backend.h"

namespace arca::core {

inline constexpr char kKeyringPath[] = "core/keyring";
inline constexpr char kSealConfigPath[] = "core/seal-config";  // plaintext seal config

struct KeyStatus {
  uint32_t term = 0;
  int64_t install_time = 0;  // unix seconds
  uint64_t encryptions = 0;  // since this process unsealed
};

class Barrier final : public storage::Backend {
 public:
  Barrier(storage::Backend& physical, Clock& clock);
  ~Barrier() override;

  // Whether a keyring exists in physical storage.
  StatusOr<bool> Initialized();
  // Creates a fresh keyring (term 1) sealed by `root_key` (32 bytes) and
  // stores it. FailedPrecondition if one exists. Leaves the barrier sealed.
  Status Initialize(const SecureBytes& root_key);
  // Loads and decrypts the keyring with `root_key`. InvalidArgument if the key
  // does not open it.
  Status Unseal(const SecureBytes& root_key);
  // Wipes all keys from memory.
  void Seal();
  bool Sealed() const;

  // Adds a new term and makes it the encryption key; persists the keyring.
  StatusOr<KeyStatus> Rotate();
  StatusOr<KeyStatus> CurrentKey() const;

  // Reads the keyring again from storage with the root key held in memory
  // (another node may have rotated it). Sealed if sealed.
  Status ReloadKeyring();
  void ClearCache();
  // HMAC-SHA256(root key, label): a 32-byte key every node unsealed with
  // the same root key derives alike. Sealed if sealed.
  StatusOr<SecureBytes> DeriveKey(std::string_view label) const;
  std::size_t CachedEntries() const { return cache_.size(); }

  // Whether a sealed keyring (as stored at kKeyringPath, e.g. in a
  // snapshot) opens with this barrier's root key. InvalidArgument if not.
  Status VerifyKeyringBlob(std::string_view sealed_keyring) const;

  // Checks that `root_key` opens the stored keyring, without unsealing.
  Status VerifyRootKey(const SecureBytes& root_key);

  StatusOr<std::optional<std::string>> Get(std::string_view key) override;
  // A cache hit is returned as is (the cache is kept by this process, the
  // only writer while it is active); a miss reads the physical backend's
  // GetForUpdate and is never cached (it may be older than the latest write).
  StatusOr<std::optional<std::string>> GetForUpdate(std::string_view key) override;
  // A cache hit; on a miss, "missing" when guessing is on (no read at all),
  // otherwise GetForUpdate.
  StatusOr<std::optional<std::string>> GuessForUpdate(std::string_view key) override;
  // Whether a cache miss in GuessForUpdate answers "missing" without a
  // read: worth it where a read is a network round trip (etcd), not where
  // it is a local file read. Off by default.
  void SetGuessMissing(bool on) { guess_missing_.store(on); }
  Status Put(std::string_view key, std::string_view value) override;
  Status Delete(std::string_view key) override;
  StatusOr<std::vector<std::string>> List(std::string_view prefix) override;
  // kEquals conditions compare plaintext: the barrier reads and decrypts the
  // current value and turns the condition into one on that exact ciphertext,
  // so the physical transaction stays atomic. The outcome is the same as if
  // that read were linearizable (it may be a read for update, redone
  // linearizably before Aborted is returned).
  Status Txn(const std::vector<storage::Condition>& conditions,
             const std::vector<storage::Op>& ops) override;

  storage::Backend& physical() { return physical_; }

 private:
  struct Keyring;
  // Reads the stored keyring and opens it with `root_key`.
  StatusOr<std::unique_ptr<Keyring>> LoadKeyring(const SecureBytes& root_key);
  StatusOr<std::string> Encrypt(std::string_view path, std::string_view plaintext);
  StatusOr<std::string> Decrypt(std::string_view path, std::string_view ciphertext) const;
  // `conditions` with every kEquals turned into one on the stored ciphertext
  // (see Txn). Aborted when one cannot hold. With `for_update`, uncached
  // values are read with GetForUpdate, and *maybe_stale says whether one of
  // them was used.
  StatusOr<std::vector<storage::Condition>> SealConditions(
      const std::vector<storage::Condition>& conditions, bool for_update, bool* maybe_stale);

  storage::Backend& physical_;
  Clock& clock_;
  mutable std::shared_mutex mu_;
  std::unique_ptr<Keyring> keyring_;  // null while sealed
  ReadCache cache_;
  std::atomic<bool> guess_missing_{false};
};

}  // namespace arca::core
