// arca: weak decoding of request fields, as Vault's plugin framework does it.
//
// Each Get* reads data[field]: absent or JSON null → std::nullopt; a value of
// the right type, or one that coerces (the string "true" for a bool, "30m"
// for a duration, "a,b" for a list) → the value; anything else →
// InvalidArgument `Field validation failed: error converting input <v> for
// field "<f>"...`. `data` may be null (no data). Pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "logical/request.h"

namespace arca::logical {

StatusOr<std::optional<bool>> GetBool(const Json& data, std::string_view field);
StatusOr<std::optional<int64_t>> GetInt(const Json& data, std::string_view field);
// Duration in whole seconds: integer seconds, a Go duration string or "<n>d".
// Negative values are refused unless `allow_negative`.
StatusOr<std::optional<int64_t>> GetDuration(const Json& data, std::string_view field,
                                             bool allow_negative = false);
StatusOr<std::optional<std::string>> GetString(const Json& data, std::string_view field);
// A JSON array of strings, or one comma-separated string; elements trimmed,
// empty elements dropped.
StatusOr<std::optional<std::vector<std::string>>> GetStringSlice(const Json& data,
                                                                  std::string_view field);
// A JSON object (values stringified: 2 → "2") or a list of "k=v" strings.
StatusOr<std::optional<std::map<std::string, std::string>>> GetStringMap(const Json& data,
                                                                         std::string_view field);
// A JSON object, kept as is.
StatusOr<std::optional<Json>> GetObject(const Json& data, std::string_view field);

// Parses Go's strconv.ParseBool spellings: 1 t T TRUE true True / 0 f F FALSE false False.
std::optional<bool> ParseBool(std::string_view s);

// The keys of `data` not in `known`, sorted (for the "ignored parameters" warning).
std::vector<std::string> UnknownFields(const Json& data, const std::vector<std::string>& known);

}  // namespace arca::logical
