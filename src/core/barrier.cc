// arca: the security barrier (AES-256-GCM, term-tagged keyring), after
// OpenBao's internal/vault/barrier/aes_gcm.go.
//
// Framing of every sealed value: term (4 bytes, big-endian) | 0x02 | nonce
// (12) | ciphertext | tag (16), with the storage path as associated data.
// The keyring itself is framed the same way under the root key, with term 0
// (never a data term), so it cannot be opened through the data path.
//
// Keyring JSON (inside that ciphertext):
//   {"active_term":2,"keys":[{"term":1,"key":"<base64>","install_time":1704067200},...]}
// It is parsed and printed with a json type whose strings are SecureString,
// so every temporary copy of key material is wiped when freed.
#include "core/barrier.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <atomic>
#include <climits>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

namespace arca::core {
namespace {

constexpr std::size_t kKeySize = 32;
constexpr std::size_t kNonceSize = 12;
constexpr std::size_t kTagSize = 16;
constexpr std::size_t kTermSize = 4;
constexpr uint8_t kVersion = 0x2;
constexpr std::size_t kOverhead = kTermSize + 1 + kNonceSize + kTagSize;
constexpr std::size_t kMaxPlaintext = std::size_t{1} << 30;
constexpr uint32_t kRootKeyTerm = 0;

using SecureJson = nlohmann::basic_json<std::map, std::vector, SecureString>;

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter>;

const EVP_CIPHER* Aes256Gcm() {
  // Fetched once (OpenSSL 3 explicit fetch); lives for the process.
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

const unsigned char* U8(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// Seals `plaintext` under `key` as term|version|nonce|ciphertext|tag.
StatusOr<std::string> SealValue(const SecureBytes& key, uint32_t term, std::string_view aad,
                                std::string_view plaintext) {
  if (key.size() != kKeySize) return Internal("barrier: bad key size");
  if (plaintext.size() > kMaxPlaintext) return TooLarge("value too large to encrypt");
  const EVP_CIPHER* cipher = Aes256Gcm();
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (cipher == nullptr || !ctx) return Internal("barrier: cannot create AES-GCM context");

  std::string out(kOverhead + plaintext.size(), '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  p[0] = static_cast<unsigned char>(term >> 24);
  p[1] = static_cast<unsigned char>(term >> 16);
  p[2] = static_cast<unsigned char>(term >> 8);
  p[3] = static_cast<unsigned char>(term);
  p[4] = kVersion;
  unsigned char* nonce = p + kTermSize + 1;
  PublicRandom(nonce, kNonceSize);
  unsigned char* body = nonce + kNonceSize;

  int len = 0;
  bool ok = EVP_EncryptInit_ex2(ctx.get(), cipher, key.data(), nonce, nullptr) == 1;
  if (ok && !aad.empty()) {
    ok = EVP_EncryptUpdate(ctx.get(), nullptr, &len, U8(aad), static_cast<int>(aad.size())) == 1;
  }
  int written = 0;
  if (ok && !plaintext.empty()) {
    ok = EVP_EncryptUpdate(ctx.get(), body, &len, U8(plaintext),
                           static_cast<int>(plaintext.size())) == 1;
    written = len;
  }
  if (ok) ok = EVP_EncryptFinal_ex(ctx.get(), body + written, &len) == 1;
  unsigned char* tag = body + plaintext.size();
  if (ok) ok = EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize, tag) == 1;
  if (!ok) return Internal("barrier: encryption failed");
  return out;
}

uint32_t TermOf(std::string_view sealed) {
  const unsigned char* p = U8(sealed);
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// Opens a value framed by SealValue into *out (std::string or SecureString).
template <typename Str>
Status OpenValue(const SecureBytes& key, std::string_view aad, std::string_view sealed, Str* out) {
  if (sealed.size() < kOverhead || static_cast<uint8_t>(sealed[kTermSize]) != kVersion ||
      sealed.size() - kOverhead > kMaxPlaintext) {
    return DataLoss("failed to decrypt: malformed ciphertext");
  }
  const EVP_CIPHER* cipher = Aes256Gcm();
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (cipher == nullptr || !ctx) return Internal("barrier: cannot create AES-GCM context");

  const unsigned char* nonce = U8(sealed) + kTermSize + 1;
  const unsigned char* body = nonce + kNonceSize;
  const std::size_t body_len = sealed.size() - kOverhead;
  Str pt(body_len, '\0');
  auto* dst = reinterpret_cast<unsigned char*>(pt.data());

  int len = 0;
  bool ok = EVP_DecryptInit_ex2(ctx.get(), cipher, key.data(), nonce, nullptr) == 1;
  if (ok && !aad.empty()) {
    ok = EVP_DecryptUpdate(ctx.get(), nullptr, &len, U8(aad), static_cast<int>(aad.size())) == 1;
  }
  int written = 0;
  if (ok && body_len > 0) {
    ok = EVP_DecryptUpdate(ctx.get(), dst, &len, body, static_cast<int>(body_len)) == 1;
    written = len;
  }
  if (ok) {
    ok = EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize,
                             const_cast<unsigned char*>(body + body_len)) == 1;
  }
  if (ok) ok = EVP_DecryptFinal_ex(ctx.get(), dst + written, &len) > 0;
  if (!ok) {
    SecureZero(pt.data(), pt.size());  // unauthenticated output never escapes
    return DataLoss("failed to decrypt: message authentication failed");
  }
  *out = std::move(pt);
  return OkStatus();
}

SecureString Base64(const SecureBytes& in) {
  SecureString out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), in.data(),
                          static_cast<int>(in.size()));
  out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
  return out;
}

std::optional<SecureBytes> Unbase64(const SecureString& in) {
  if (in.empty() || in.size() % 4 != 0 || in.size() > 1024) return std::nullopt;
  SecureBytes out(in.size() / 4 * 3);
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  std::size_t pad = (in.back() == '=') + (in.size() > 1 && in[in.size() - 2] == '=');
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

}  // namespace

struct Barrier::Keyring {
  struct Key {
    int64_t install_time = 0;
    SecureBytes key;
  };
  SecureBytes root_key;
  std::map<uint32_t, Key> keys;  // by term
  uint32_t active_term = 0;
  std::atomic<uint64_t> encryptions{0};  // under the active term, since unseal

  const Key& Active() const { return keys.at(active_term); }

  SecureString ToJson() const {
    SecureJson j = SecureJson::object();
    j["active_term"] = active_term;
    SecureJson arr = SecureJson::array();
    for (const auto& [term, k] : keys) {
      SecureJson e = SecureJson::object();
      e["term"] = term;
      e["key"] = Base64(k.key);
      e["install_time"] = k.install_time;
      arr.push_back(std::move(e));
    }
    j["keys"] = std::move(arr);
    return j.dump();
  }

  // Parses ToJson's output; nullptr if malformed. Never throws.
  static std::unique_ptr<Keyring> FromJson(const SecureString& text) {
    try {
      SecureJson j = SecureJson::parse(text.begin(), text.end(), nullptr, false);
      if (!j.is_object()) return nullptr;
      auto at = j.find("active_term");
      auto ks = j.find("keys");
      if (at == j.end() || !at->is_number_unsigned() || ks == j.end() || !ks->is_array()) {
        return nullptr;
      }
      auto ring = std::make_unique<Keyring>();
      for (const auto& e : *ks) {
        if (!e.is_object()) return nullptr;
        auto t = e.find("term");
        auto k = e.find("key");
        auto it = e.find("install_time");
        if (t == e.end() || !t->is_number_unsigned() || k == e.end() || !k->is_string() ||
            it == e.end() || !it->is_number_integer()) {
          return nullptr;
        }
        uint64_t term = t->get<uint64_t>();
        if (term == kRootKeyTerm || term > UINT32_MAX) return nullptr;
        auto key = Unbase64(k->get_ref<const SecureString&>());
        if (!key || key->size() != kKeySize) return nullptr;
        auto [pos, inserted] = ring->keys.emplace(static_cast<uint32_t>(term), Key{});
        if (!inserted) return nullptr;
        pos->second.install_time = it->get<int64_t>();
        pos->second.key = std::move(*key);
      }
      uint64_t active = at->get<uint64_t>();
      if (active > UINT32_MAX || ring->keys.count(static_cast<uint32_t>(active)) == 0) {
        return nullptr;
      }
      ring->active_term = static_cast<uint32_t>(active);
      return ring;
    } catch (const std::exception&) {
      return nullptr;
    }
  }
};

namespace {

Status CheckRootKey(const SecureBytes& root_key) {
  if (root_key.size() != kKeySize) return InvalidArgument("root key must be 32 bytes");
  return OkStatus();
}

Status RefuseReserved(std::string_view key) {
  if (key == kKeyringPath) return InvalidArgument("cannot access reserved path");
  return OkStatus();
}

}  // namespace

// Read cache bounds: enough for the hot set of a busy server (tokens, KV
// metadata and versions, policies) while staying small next to idle RSS.
constexpr std::size_t kCacheEntries = 20'000;
constexpr std::size_t kCacheBytes = 32 << 20;
constexpr std::size_t kCacheMaxValue = 64 << 10;

Barrier::Barrier(storage::Backend& physical, Clock& clock)
    : physical_(physical), clock_(clock), cache_(kCacheEntries, kCacheBytes, kCacheMaxValue) {}

Barrier::~Barrier() = default;

StatusOr<bool> Barrier::Initialized() {
  ARCA_ASSIGN_OR_RETURN(auto v, physical_.Get(kKeyringPath));
  return v.has_value();
}

Status Barrier::Initialize(const SecureBytes& root_key) {
  ARCA_RETURN_IF_ERROR(CheckRootKey(root_key));
  ARCA_ASSIGN_OR_RETURN(bool exists, Initialized());
  if (exists) return Status(Code::kFailedPrecondition, "barrier is already initialized");

  Keyring ring;
  ring.active_term = 1;
  ring.keys[1] = Keyring::Key{clock_.UnixNow(), RandomBytes(kKeySize)};
  SecureString json = ring.ToJson();
  ARCA_ASSIGN_OR_RETURN(std::string sealed, SealValue(root_key, kRootKeyTerm, kKeyringPath, json));
  Status s = physical_.Txn({storage::Condition::Absent(kKeyringPath)},
                           {storage::Op::Put(kKeyringPath, std::move(sealed))});
  if (IsAborted(s)) return Status(Code::kFailedPrecondition, "barrier is already initialized");
  return s;
}

StatusOr<std::unique_ptr<Barrier::Keyring>> Barrier::LoadKeyring(const SecureBytes& root_key) {
  ARCA_RETURN_IF_ERROR(CheckRootKey(root_key));
  ARCA_ASSIGN_OR_RETURN(auto stored, physical_.Get(kKeyringPath));
  if (!stored) return Status(Code::kFailedPrecondition, "barrier is not initialized");
  SecureString json;
  if (stored->size() < kOverhead || TermOf(*stored) != kRootKeyTerm ||
      !OpenValue(root_key, kKeyringPath, *stored, &json).ok()) {
    return InvalidArgument("root key does not open the keyring");
  }
  std::unique_ptr<Keyring> ring = Keyring::FromJson(json);
  if (!ring) return DataLoss("keyring is malformed");
  ring->root_key = root_key;
  return ring;
}

Status Barrier::Unseal(const SecureBytes& root_key) {
  ARCA_ASSIGN_OR_RETURN(auto ring, LoadKeyring(root_key));
  std::unique_lock lock(mu_);
  keyring_ = std::move(ring);
  return OkStatus();
}

Status Barrier::VerifyRootKey(const SecureBytes& root_key) {
  return LoadKeyring(root_key).status();
}

void Barrier::Seal() {
  std::unique_lock lock(mu_);
  keyring_.reset();  // SecureBytes wipe every key as they are freed
  cache_.Clear();
}

Status Barrier::ReloadKeyring() {
  SecureBytes root_key;
  {
    std::shared_lock lock(mu_);
    if (!keyring_) return SealedError();
    root_key = keyring_->root_key;
  }
  ARCA_ASSIGN_OR_RETURN(auto ring, LoadKeyring(root_key));
  std::unique_lock lock(mu_);
  if (!keyring_) return SealedError();
  keyring_ = std::move(ring);
  return OkStatus();
}

void Barrier::ClearCache() { cache_.Clear(); }

Status Barrier::VerifyKeyringBlob(std::string_view sealed_keyring) const {
  std::shared_lock lock(mu_);
  if (!keyring_) return SealedError();
  SecureString json;
  if (!OpenValue(keyring_->root_key, kKeyringPath, sealed_keyring, &json).ok())
    return InvalidArgument("keyring does not open with this cluster's key");
  return OkStatus();
}

StatusOr<SecureBytes> Barrier::DeriveKey(std::string_view label) const {
  std::shared_lock lock(mu_);
  if (!keyring_) return SealedError();
  SecureBytes out(32);
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), keyring_->root_key.data(), static_cast<int>(keyring_->root_key.size()),
           reinterpret_cast<const unsigned char*>(label.data()), label.size(), out.data(),
           &len) == nullptr ||
      len != out.size())
    return Internal("barrier: key derivation failed");
  return out;
}

bool Barrier::Sealed() const {
  std::shared_lock lock(mu_);
  return keyring_ == nullptr;
}

StatusOr<KeyStatus> Barrier::Rotate() {
  std::unique_lock lock(mu_);
  if (!keyring_) return SealedError();
  const uint32_t next = keyring_->keys.rbegin()->first + 1;
  if (next == 0) return Internal("barrier: key terms exhausted");
  const int64_t now = clock_.UnixNow();

  // Persist first; the in-memory keyring changes only once storage has it.
  keyring_->keys[next] = Keyring::Key{now, RandomBytes(kKeySize)};
  const uint32_t prev_active = keyring_->active_term;
  keyring_->active_term = next;
  SecureString json = keyring_->ToJson();
  StatusOr<std::string> sealed = SealValue(keyring_->root_key, kRootKeyTerm, kKeyringPath, json);
  Status s = sealed.ok() ? physical_.Put(kKeyringPath, *sealed) : sealed.status();
  if (!s.ok()) {
    keyring_->active_term = prev_active;
    keyring_->keys.erase(next);
    return s;
  }
  keyring_->encryptions = 0;
  return KeyStatus{next, now, 0};
}

StatusOr<KeyStatus> Barrier::CurrentKey() const {
  std::shared_lock lock(mu_);
  if (!keyring_) return SealedError();
  return KeyStatus{keyring_->active_term, keyring_->Active().install_time,
                   keyring_->encryptions.load()};
}

StatusOr<std::string> Barrier::Encrypt(std::string_view path, std::string_view plaintext) {
  std::shared_lock lock(mu_);
  if (!keyring_) return SealedError();
  ARCA_ASSIGN_OR_RETURN(std::string out,
                        SealValue(keyring_->Active().key, keyring_->active_term, path, plaintext));
  keyring_->encryptions.fetch_add(1, std::memory_order_relaxed);
  return out;
}

StatusOr<std::string> Barrier::Decrypt(std::string_view path, std::string_view ciphertext) const {
  std::shared_lock lock(mu_);
  if (!keyring_) return SealedError();
  if (ciphertext.size() < kOverhead) return DataLoss("failed to decrypt: malformed ciphertext");
  auto it = keyring_->keys.find(TermOf(ciphertext));
  if (it == keyring_->keys.end()) return DataLoss("failed to decrypt: unknown key term");
  std::string out;
  ARCA_RETURN_IF_ERROR(OpenValue(it->second.key, path, ciphertext, &out));
  return out;
}

StatusOr<std::optional<std::string>> Barrier::Get(std::string_view key) {
  if (Sealed()) return SealedError();
  ARCA_RETURN_IF_ERROR(RefuseReserved(key));
  if (auto hit = cache_.LookupPlain(key)) return std::move(*hit);
  ReadCache::Ticket ticket = cache_.BeginMiss(key);
  ARCA_ASSIGN_OR_RETURN(auto raw, physical_.Get(key));
  std::optional<std::string> plain;
  if (raw) {
    ARCA_ASSIGN_OR_RETURN(plain, Decrypt(key, *raw));
  }
  cache_.Insert(key, plain, raw ? std::string_view(*raw) : std::string_view(), ticket);
  return plain;
}

// Not cached: a value read for update may be older than the latest write,
// and the cache must only ever hold what storage holds now.
StatusOr<std::optional<std::string>> Barrier::GetForUpdate(std::string_view key) {
  if (Sealed()) return SealedError();
  ARCA_RETURN_IF_ERROR(RefuseReserved(key));
  if (auto hit = cache_.LookupPlain(key)) return std::move(*hit);
  ARCA_ASSIGN_OR_RETURN(auto raw, physical_.GetForUpdate(key));
  if (!raw) return std::optional<std::string>();
  ARCA_ASSIGN_OR_RETURN(std::string plain, Decrypt(key, *raw));
  return std::optional<std::string>(std::move(plain));
}

StatusOr<std::optional<std::string>> Barrier::GuessForUpdate(std::string_view key) {
  if (!guess_missing_.load() || !cache_.enabled()) return GetForUpdate(key);
  if (Sealed()) return SealedError();
  ARCA_RETURN_IF_ERROR(RefuseReserved(key));
  if (auto hit = cache_.LookupPlain(key)) return std::move(*hit);
  return std::optional<std::string>();
}

Status Barrier::Put(std::string_view key, std::string_view value) {
  if (Sealed()) return SealedError();
  ARCA_RETURN_IF_ERROR(RefuseReserved(key));
  ARCA_ASSIGN_OR_RETURN(std::string sealed, Encrypt(key, value));
  ReadCache::Ticket ticket = cache_.BeginWrite(key);
  Status st = physical_.Put(key, sealed);
  std::optional<ReadCache::Cached> written;
  if (st.ok()) written = ReadCache::Cached{std::string(value), std::move(sealed)};
  cache_.FinishWrite(key, written, ticket);
  return st;
}

Status Barrier::Delete(std::string_view key) {
  if (Sealed()) return SealedError();
  ARCA_RETURN_IF_ERROR(RefuseReserved(key));
  ReadCache::Ticket ticket = cache_.BeginWrite(key);
  Status st = physical_.Delete(key);
  std::optional<ReadCache::Cached> written;
  if (st.ok()) written = ReadCache::Cached{std::nullopt, {}};
  cache_.FinishWrite(key, written, ticket);
  return st;
}

StatusOr<std::vector<std::string>> Barrier::List(std::string_view prefix) {
  if (Sealed()) return SealedError();
  return physical_.List(prefix);
}

// kEquals on plaintext becomes kEquals on the exact ciphertext compared, so
// the physical Txn checks that nothing changed since (nonces make each
// stored ciphertext unique: the same bytes are the same write).
//
// Where the ciphertext comes from, and why the outcome is unchanged:
// * A cache hit whose plaintext matches: no read. Were it stale (another
//   writer), the physical compare fails; the key is dropped from the cache
//   below and the caller's retry reads storage.
// * Otherwise, first a read for update (etcd: serializable, no raft round).
//   If its plaintext matches, its ciphertext goes into the compare: when it
//   is still the stored one the condition truly holds; when it was stale the
//   physical compare fails and nothing is applied (Aborted). A stale value
//   can thus never make a write succeed that should not; it can only make
//   one fail that should not. So an Aborted after such a read is not
//   trusted: the conditions are resolved again with linearizable reads and
//   the Txn is sent once more (safe: the first was not applied). If the
//   read for update is missing or does not match, it decides nothing: the
//   linearizable read does. Either way the caller gets the outcome a
//   linearizable read would have given, and pays the consensus read only
//   when the cheap one disagrees with what it expects.
StatusOr<std::vector<storage::Condition>> Barrier::SealConditions(
    const std::vector<storage::Condition>& conditions, bool for_update, bool* maybe_stale) {
  std::vector<storage::Condition> conds;
  conds.reserve(conditions.size());
  for (const auto& c : conditions) {
    ARCA_RETURN_IF_ERROR(RefuseReserved(c.key));
    if (c.kind != storage::Condition::Kind::kEquals) {
      conds.push_back(c);
      continue;
    }
    if (auto sealed = cache_.SealedIfPlainIs(c.key, c.value)) {
      conds.push_back(storage::Condition::Equals(c.key, std::move(*sealed)));
      continue;
    }
    if (for_update) {
      ARCA_ASSIGN_OR_RETURN(auto raw, physical_.GetForUpdate(c.key));
      if (raw) {
        ARCA_ASSIGN_OR_RETURN(std::string plain, Decrypt(c.key, *raw));
        const bool equal = ConstantTimeEquals(plain, c.value);
        Wipe(plain);
        if (equal) {
          conds.push_back(storage::Condition::Equals(c.key, std::move(*raw)));
          *maybe_stale = true;
          continue;
        }
      }
    }
    ARCA_ASSIGN_OR_RETURN(auto raw, physical_.Get(c.key));
    if (!raw) return Aborted("transaction condition failed");
    ARCA_ASSIGN_OR_RETURN(std::string plain, Decrypt(c.key, *raw));
    const bool equal = ConstantTimeEquals(plain, c.value);
    Wipe(plain);
    if (!equal) return Aborted("transaction condition failed");
    conds.push_back(storage::Condition::Equals(c.key, std::move(*raw)));
  }
  return conds;
}

Status Barrier::Txn(const std::vector<storage::Condition>& conditions,
                    const std::vector<storage::Op>& ops) {
  if (Sealed()) return SealedError();
  for (const auto& c : conditions) ARCA_RETURN_IF_ERROR(RefuseReserved(c.key));
  std::vector<storage::Op> sealed_ops;
  sealed_ops.reserve(ops.size());
  // What each key holds after the Txn (the last op on a key wins).
  std::map<std::string, ReadCache::Cached, std::less<>> after;
  for (const auto& op : ops) {
    ARCA_RETURN_IF_ERROR(RefuseReserved(op.key));
    if (op.kind == storage::Op::Kind::kDelete) {
      sealed_ops.push_back(op);
      after[op.key] = ReadCache::Cached{std::nullopt, {}};
      continue;
    }
    ARCA_ASSIGN_OR_RETURN(std::string sealed, Encrypt(op.key, op.value));
    after[op.key] = ReadCache::Cached{op.value, sealed};
    sealed_ops.push_back(storage::Op::Put(op.key, std::move(sealed)));
  }
  auto commit = [&](const std::vector<storage::Condition>& conds) {
    std::vector<std::pair<const std::string*, ReadCache::Ticket>> tickets;
    tickets.reserve(after.size());
    for (const auto& [key, v] : after) tickets.emplace_back(&key, cache_.BeginWrite(key));
    Status st = physical_.Txn(conds, sealed_ops);
    for (const auto& [key, ticket] : tickets) {
      std::optional<ReadCache::Cached> written;
      if (st.ok()) written = std::move(after[*key]);
      cache_.FinishWrite(*key, written, ticket);
    }
    return st;
  };
  bool maybe_stale = false;
  StatusOr<std::vector<storage::Condition>> conds =
      SealConditions(conditions, /*for_update=*/true, &maybe_stale);
  Status st = conds.ok() ? commit(*conds) : conds.status();
  if (IsAborted(st) && maybe_stale) {
    // Not trusted (see SealConditions): once more, on linearizable reads.
    conds = SealConditions(conditions, /*for_update=*/false, nullptr);
    st = conds.ok() ? commit(*conds) : conds.status();
  }
  if (IsAborted(st))
    for (const auto& c : conditions) cache_.Invalidate(c.key);
  return st;
}

}  // namespace arca::core
