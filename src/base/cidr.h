// arca: IP addresses and CIDR blocks, as Vault's go-sockaddr parses and
// prints them for `token_bound_cidrs` (auth method roles, token roles and the
// tokens they mint).
//
// An entry is an IPv4 or IPv6 address ("10.1.2.3", "::1", "[::1]") or a
// block ("10.0.0.0/8", "2001:db8::/32"); surrounding whitespace is ignored.
// IPv4-mapped IPv6 addresses count as IPv4. Host bits of a block are kept,
// as go-sockaddr keeps them; only the prefix is compared. Pure functions,
// safe for concurrent use.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace arca {

// Whether `s` is a valid entry.
bool ValidCidr(std::string_view s);

// Whether the address `ip` lies in one of `cidrs`. False when `ip` is not an
// address; entries that do not parse match nothing.
bool AddressInCidrs(std::string_view ip, const std::vector<std::string>& cidrs);

// Vault's parseutil.ParseAddrs: every entry parsed and rendered as
// go-sockaddr prints it (a host block loses its prefix, "127.0.0.1/32" →
// "127.0.0.1"; IPv6 in RFC 5952 form). Errors: InvalidArgument
// `error parsing address "x": Unable to convert x to an IPv4 or IPv6
// address, or a UNIX Socket`.
StatusOr<std::vector<std::string>> ParseAddrs(const std::vector<std::string>& entries);

}  // namespace arca
