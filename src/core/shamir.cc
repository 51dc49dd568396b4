// arca: Shamir's secret sharing over GF(2^8), a port of Vault's
// shamir/shamir.go. Field multiplication is the bitwise constant-time loop
// Vault uses (reduction polynomial x^8+x^4+x^3+x+1, 0x1B), so no
// secret-dependent table lookups.
#include "core/shamir.h"

#include <array>
#include <cstdint>

namespace arca::core {
namespace {

uint8_t Add(uint8_t a, uint8_t b) { return a ^ b; }

uint8_t Mult(uint8_t a, uint8_t b) {
  uint8_t r = 0;
  for (int i = 7; i >= 0; --i) {
    uint8_t bit = static_cast<uint8_t>(-((b >> i) & 1));
    uint8_t carry = static_cast<uint8_t>(-(r >> 7));
    r = static_cast<uint8_t>((bit & a) ^ (carry & 0x1B) ^ static_cast<uint8_t>(r + r));
  }
  return r;
}

// a^254 = a^-1 in GF(2^8), by Vault's fixed addition chain.
uint8_t Inverse(uint8_t a) {
  uint8_t b = Mult(a, a);
  uint8_t c = Mult(a, b);
  b = Mult(c, c);
  b = Mult(b, b);
  c = Mult(b, c);
  b = Mult(b, b);
  b = Mult(b, b);
  b = Mult(b, c);
  b = Mult(b, b);
  b = Mult(a, b);
  return Mult(b, b);
}

// b must be non-zero; a == 0 gives 0 (Inverse(0) is 0 too, so no branch).
uint8_t Div(uint8_t a, uint8_t b) { return Mult(a, Inverse(b)); }

// Horner evaluation of coefficients[0] + c1 x + ... at x.
uint8_t Evaluate(const SecureBytes& coefficients, uint8_t x) {
  if (x == 0) return coefficients[0];
  uint8_t out = coefficients.back();
  for (std::size_t i = coefficients.size() - 1; i-- > 0;) {
    out = Add(Mult(out, x), coefficients[i]);
  }
  return out;
}

// Lagrange interpolation of the samples at x.
uint8_t Interpolate(const SecureBytes& xs, const SecureBytes& ys, uint8_t x) {
  uint8_t result = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    uint8_t basis = 1;
    for (std::size_t j = 0; j < xs.size(); ++j) {
      if (i == j) continue;
      basis = Mult(basis, Div(Add(x, xs[j]), Add(xs[i], xs[j])));
    }
    result = Add(result, Mult(ys[i], basis));
  }
  return result;
}

// A uniformly random permutation of 1..255 from the CSPRNG (Fisher-Yates
// with rejection sampling), the x coordinates of the shares.
std::array<uint8_t, 255> RandomXCoordinates() {
  std::array<uint8_t, 255> xs{};
  for (int i = 0; i < 255; ++i) xs[i] = static_cast<uint8_t>(i + 1);
  for (int i = 254; i > 0; --i) {
    const int bound = i + 1;                // pick j in [0, i]
    const int limit = 256 - (256 % bound);  // reject bytes >= limit
    int j;
    do {
      j = RandomBytes(1)[0];
    } while (j >= limit);
    j %= bound;
    std::swap(xs[i], xs[j]);
  }
  return xs;
}

}  // namespace

StatusOr<std::vector<SecureBytes>> ShamirSplit(const SecureBytes& secret, int parts,
                                               int threshold) {
  if (parts < threshold) return InvalidArgument("parts cannot be less than threshold");
  if (parts > 255) return InvalidArgument("parts cannot exceed 255");
  if (threshold < 2) return InvalidArgument("threshold must be at least 2");
  if (secret.empty()) return InvalidArgument("cannot split an empty secret");

  const std::array<uint8_t, 255> xs = RandomXCoordinates();
  std::vector<SecureBytes> out(parts, SecureBytes(secret.size() + 1));
  for (int p = 0; p < parts; ++p) out[p][secret.size()] = xs[p];

  SecureBytes coefficients(threshold);  // wiped when it goes out of scope
  for (std::size_t idx = 0; idx < secret.size(); ++idx) {
    SecureBytes random = RandomBytes(threshold - 1);
    coefficients[0] = secret[idx];
    for (int k = 1; k < threshold; ++k) coefficients[k] = random[k - 1];
    for (int p = 0; p < parts; ++p) out[p][idx] = Evaluate(coefficients, xs[p]);
  }
  return out;
}

StatusOr<SecureBytes> ShamirCombine(const std::vector<SecureBytes>& shares) {
  if (shares.size() < 2) {
    return InvalidArgument("less than two parts cannot be used to reconstruct the secret");
  }
  if (shares.size() > 255) return InvalidArgument("too many parts");
  const std::size_t len = shares[0].size();
  if (len < 2) return InvalidArgument("parts must be at least two bytes");
  for (const auto& s : shares) {
    if (s.size() != len) return InvalidArgument("all parts must be the same length");
  }

  SecureBytes xs(shares.size());
  std::array<bool, 256> seen{};
  for (std::size_t i = 0; i < shares.size(); ++i) {
    uint8_t x = shares[i][len - 1];
    if (seen[x]) return InvalidArgument("duplicate part detected");
    seen[x] = true;
    xs[i] = x;
  }

  SecureBytes secret(len - 1);
  SecureBytes ys(shares.size());
  for (std::size_t idx = 0; idx < secret.size(); ++idx) {
    for (std::size_t i = 0; i < shares.size(); ++i) ys[i] = shares[i][idx];
    secret[idx] = Interpolate(xs, ys, 0);
  }
  return secret;
}

}  // namespace arca::core
