// arca engines (internal): helpers shared by the KV and cubbyhole backends.
//
// Pure functions unless noted; KeyLocks is safe for concurrent use.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "logical/json.h"
#include "logical/request.h"
#include "storage/backend.h"

namespace arca::engines::internal {

using logical::Json;
using logical::Operation;
using logical::Request;
using logical::Response;

// Serialises JSON without ever throwing (invalid UTF-8 replaced by U+FFFD),
// number literals as written.
using logical::DumpJson;
// Parses `s` as a JSON object; nullopt when it is not valid JSON or not an object.
std::optional<Json> ParseJsonObject(std::string_view s);

// The storage prefix for a LIST of `path`: a non-empty path gets a trailing
// '/' (listing "" lists the root).
std::string ListPrefix(std::string_view path);
// A LIST response with data.keys, or NotFound when `keys` is empty.
StatusOr<Response> ListResponse(std::vector<std::string> keys);

// Nanoseconds since the Unix epoch of clock.SystemNow().
int64_t NowNs(const Clock& clock);
// RFC 3339 with nanoseconds (UTC) of a nanosecond timestamp.
std::string FormatNs(int64_t ns);

// Weak integer decoding as mapstructure's WeakDecode into an int: integers,
// integral floats, bools (0/1), strings in Go's strconv.ParseInt base 0 form
// ("" → 0). nullopt when the value does not convert.
std::optional<int64_t> WeakInt(const Json& v);

// Whether `s` is valid UTF-8 made only of printable characters (Go's
// unicode.IsPrint, approximated: no controls, no format characters, no
// spaces other than U+0020, no private-use code points).
bool IsPrintable(std::string_view s);

// Go's %q of a string, for error messages.
std::string GoQuote(std::string_view s);

// Runs `fn`, turning any escaping exception into Internal.
StatusOr<Response> Guarded(const std::function<StatusOr<Response>()>& fn);

// 256 reader-writer locks striped by key hash (Vault's locksutil).
class KeyLocks {
 public:
  std::shared_mutex& For(std::string_view key);

 private:
  std::array<std::shared_mutex, 256> locks_;
};

// The v1-style "passthrough" operations used by KV v1 and cubbyhole; `key`
// is the full storage key.
// Read: the stored JSON object, or nullopt when missing; Internal if corrupt.
StatusOr<std::optional<Json>> PassthroughRead(storage::Backend& s, const std::string& key);
// Write: `data` must be a non-empty object, else InvalidArgument "missing data fields".
Status PassthroughWrite(storage::Backend& s, const std::string& key, const Json& data);

}  // namespace arca::engines::internal
