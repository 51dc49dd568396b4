#include "base/secure.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>

namespace arca {

void SecureZero(void* p, std::size_t n) {
  if (p != nullptr && n > 0) OPENSSL_cleanse(p, n);
}

void Wipe(std::string& s) {
  SecureZero(s.data(), s.size());
  s.clear();
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

SecureBytes RandomBytes(std::size_t n) {
  SecureBytes out(n);
  if (n > 0 && RAND_bytes(out.data(), static_cast<int>(n)) != 1) std::abort();
  return out;
}

std::string RandomString(std::size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    std::abort();
  return out;
}

void PublicRandom(unsigned char* out, std::size_t n) {
  constexpr std::size_t kBuffer = 4096;
  thread_local std::array<unsigned char, kBuffer> pool;
  thread_local std::size_t used = kBuffer;
  while (n > 0) {
    if (used == kBuffer) {
      if (RAND_bytes(pool.data(), static_cast<int>(pool.size())) != 1) std::abort();
      used = 0;
    }
    const std::size_t take = std::min(n, kBuffer - used);
    std::memcpy(out, pool.data() + used, take);
    used += take;
    out += take;
    n -= take;
  }
}

bool LockMemory() { return mlockall(MCL_CURRENT | MCL_FUTURE) == 0; }

}  // namespace arca
