// arca: handling of key material and secrets.
//
// SecureBytes zeroes its buffer on destruction and on every reallocation
// (OPENSSL_cleanse), so key material does not linger in freed memory.
// ConstantTimeEquals compares secrets without leaking where they differ.
// RandomBytes draws from OpenSSL's CSPRNG; it aborts if the RNG fails, since
// continuing without randomness would be worse than stopping.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace arca {

// Allocator that wipes memory before releasing it.
template <typename T>
struct ZeroingAllocator {
  using value_type = T;
  ZeroingAllocator() = default;
  template <typename U>
  ZeroingAllocator(const ZeroingAllocator<U>&) {}  // NOLINT
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n);
  template <typename U>
  bool operator==(const ZeroingAllocator<U>&) const {
    return true;
  }
};

void SecureZero(void* p, std::size_t n);

template <typename T>
void ZeroingAllocator<T>::deallocate(T* p, std::size_t n) {
  SecureZero(p, n * sizeof(T));
  ::operator delete(p);
}

using SecureBytes = std::vector<uint8_t, ZeroingAllocator<uint8_t>>;
using SecureString = std::basic_string<char, std::char_traits<char>, ZeroingAllocator<char>>;

// Wipes a std::string in place (for values that had to pass through one).
void Wipe(std::string& s);

bool ConstantTimeEquals(std::string_view a, std::string_view b);

SecureBytes RandomBytes(std::size_t n);
std::string RandomString(std::size_t n);  // n random bytes in a std::string
// n random bytes for values that are not secret (AES-GCM nonces, ids),
// drawn from a per-thread buffer of CSPRNG output refilled 4 KiB at a time:
// one RAND_bytes call per value costs more than what it is for. Never for
// keys or tokens (the buffer holds future values in memory).
void PublicRandom(unsigned char* out, std::size_t n);

// Tries to lock all current and future pages in RAM (mlockall). Returns false
// if the platform refuses; the caller decides whether that is fatal.
bool LockMemory();

}  // namespace arca
