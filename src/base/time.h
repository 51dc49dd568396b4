// arca: durations and timestamps as Vault writes them on the wire.
//
// Pure functions, safe for concurrent use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"

namespace arca {

// Parses a Go duration ("1h30m", "10s", "1.5h", "768h"), Vault's "<n>d" days,
// or plain integer seconds ("3600"). Returns whole seconds (fractions are
// truncated). Negative values are allowed ("-1s"); callers reject them where
// a field is unsigned. nullopt on anything else.
std::optional<int64_t> ParseDurationSeconds(std::string_view s);

// Formats seconds as Go's time.Duration.String() does: "0s", "1m30s", "3h0m0s".
std::string FormatGoDuration(int64_t seconds);

// RFC 3339 with nanoseconds, trailing zeros trimmed, UTC ("...Z"), as Go's
// time.RFC3339Nano.
std::string FormatRfc3339Nano(SystemTime t);
// Zero time "0001-01-01T00:00:00Z".
std::string ZeroTimeRfc3339();
std::optional<SystemTime> ParseRfc3339(std::string_view s);

}  // namespace arca
