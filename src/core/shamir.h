// arca: Shamir's secret sharing over GF(2^8), as Vault's shamir package.
//
// Each share is the secret's length plus one byte: the polynomial values at a
// random distinct non-zero x, followed by that x as the last byte (Vault's
// layout, so a 32-byte root key gives 33-byte shares, 66 hex characters).
// Pure functions, safe for concurrent use; coefficients are wiped after use.
#pragma once

#include <vector>

#include "base/secure.h"
#include "base/status.h"

namespace arca::core {

// Errors (InvalidArgument): parts < threshold, parts > 255, threshold < 2,
// empty secret.
StatusOr<std::vector<SecureBytes>> ShamirSplit(const SecureBytes& secret, int parts,
                                               int threshold);

// Errors (InvalidArgument): fewer than 2 shares, shares of different or too
// short length, duplicate x coordinates. Combining the wrong shares yields a
// wrong secret, not an error: the caller authenticates the result.
StatusOr<SecureBytes> ShamirCombine(const std::vector<SecureBytes>& shares);

}  // namespace arca::core
