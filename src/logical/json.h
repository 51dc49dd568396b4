// arca: JSON text with numbers kept as written.
//
// Vault decodes request bodies with json.Number, so a secret's numbers come
// back exactly as the client wrote them ("1.10", "1e3", 30-digit integers);
// nlohmann's parser turns them into doubles. ParseJsonKeepingNumbers keeps
// every number whose double does not dump back to the same text as a
// *number literal*: a node holding the literal's text (a binary node with
// subtype kNumberLiteralSubtype, which JSON text never produces). Numbers
// that round-trip (integers, "1.5", "2.0") stay ordinary numbers, so code
// that reads numbers sees what it saw before. AppendJson/DumpJson write a
// literal's text back unchanged; nlohmann's own dump must not be used on
// trees that may hold literals.
//
// Pure functions, safe for concurrent use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace arca::logical {

using Json = nlohmann::json;

inline constexpr std::uint8_t kNumberLiteralSubtype = 0x6e;

// The JSON value of `text`, numbers kept as above; nullopt when `text` is
// not valid JSON.
std::optional<Json> ParseJsonKeepingNumbers(std::string_view text);

bool IsNumberLiteral(const Json& j);
// The literal's text ("1.10"); empty when `j` is not a literal.
std::string_view NumberLiteralText(const Json& j);
// The literal's value as a double (strtod: big or long literals round);
// 0 when `j` is not a literal.
double NumberLiteralValue(const Json& j);
// A literal node for `text`, which must be a valid JSON number.
Json NumberLiteral(std::string_view text);

// Compact JSON (no spaces), invalid UTF-8 in strings replaced by U+FFFD, as
// nlohmann's dump(-1, ' ', false, replace), with number literals written as
// they were parsed. Never throws.
void AppendJson(std::string& out, const Json& j);
std::string DumpJson(const Json& j);

}  // namespace arca::logical
