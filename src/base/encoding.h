// arca: byte encodings, digests and identifiers.
//
// Pure functions, safe for concurrent use. Decoders return std::nullopt on
// malformed input instead of throwing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace arca {

std::string HexEncode(std::string_view bytes);
std::optional<std::string> HexDecode(std::string_view hex);

std::string Base64Encode(std::string_view bytes);
std::optional<std::string> Base64Decode(std::string_view b64);     // standard alphabet, padded
std::string Base64UrlEncode(std::string_view bytes);               // unpadded
std::optional<std::string> Base64UrlDecode(std::string_view b64);  // padding optional

// n characters from [0-9A-Za-z], drawn uniformly from the CSPRNG.
std::string RandomBase62(std::size_t n);
// RFC 4122 version 4 UUID, lowercase.
std::string NewUuid();
// n random bytes as 2n lowercase hex characters.
std::string RandomHex(std::size_t n);

std::string Sha256(std::string_view data);  // raw 32 bytes
std::string Sha256Hex(std::string_view data);
std::string HmacSha256(std::string_view key, std::string_view data);  // raw 32 bytes

// Percent-decoding of a URL component; nullopt on a bad escape. `plus_is_space`
// is for form bodies and query strings.
std::optional<std::string> PercentDecode(std::string_view s, bool plus_is_space);
std::string PercentEncode(std::string_view s);  // keeps unreserved and '/'

// Whether `s` is well-formed UTF-8 (no overlongs, surrogates or values past
// U+10FFFF). JSON text and storage keys must be.
bool IsValidUtf8(std::string_view s);

// LEB128 varints (7 bits a byte, low bits first; at most 10 bytes), for
// compact internal records. GetVarint consumes from the front of `in`;
// false on a truncated, overlong (more than 10 bytes) or out-of-range value.
void PutVarint(std::string& out, uint64_t v);
bool GetVarint(std::string_view& in, uint64_t& v);
// A length-prefixed byte string; false when `in` holds fewer bytes.
void PutLengthPrefixed(std::string& out, std::string_view bytes);
bool GetLengthPrefixed(std::string_view& in, std::string_view& bytes);

}  // namespace arca
