// arca CLI: the terminal side — Ui streams and Vault's output formats.
//
// Table output follows Vault 1.14's TableFormatter (ryanuber/columnize with a
// four-space glue and "n/a" for empty cells); JSON output is the value
// indented by two spaces as Go's json.MarshalIndent writes it (including its
// \u003c-style escaping of <, > and &). A "secret" here is the whole JSON
// response envelope of a logical endpoint. Pure functions except Ui, which
// writes to the streams it was given; not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace arca::cli {

using Json = nlohmann::ordered_json;

struct Ui {
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  std::string format = "table";  // "table" | "json" | "yaml"
  bool out_is_tty = false;

  void Output(std::string_view s) const;  // stdout, newline added
  void Info(std::string_view s) const { Output(s); }
  void Error(std::string_view s) const;   // stderr, newline added
  void Warn(std::string_view s) const { Error(s); }
};

// The value of obj[key], or a null Json if obj is not an object or lacks key.
const Json& Field(const Json& obj, std::string_view key);

// Go's fmt "%v" of a decoded JSON value: strings bare, null "<nil>",
// arrays "[a b]", objects "map[k:v ...]" with sorted keys.
std::string GoValueString(const Json& v);
// Go's "%q" of a string list: ["a" "b"]; a non-array prints [].
std::string GoQuotedList(const Json& v);

// Vault's humanDuration: "0s", "768h", "1h30m", "45s".
std::string HumanDuration(int64_t seconds);
// Integers (or integer strings from json.Number) become HumanDuration; other
// values are returned as they are.
Json HumanDurationValue(const Json& v);
// period, ttl, duration (and *_period, *_ttl, *_duration), lease_max, ttl_max.
bool LooksLikeDuration(std::string_view key);

// ryanuber/columnize: splits each line on `delim`, trims cells, replaces empty
// cells with `empty`, pads every column but the last to its widest cell.
std::string Columnize(const std::vector<std::string>& lines, std::string_view delim,
                      std::string_view glue = "    ", std::string_view empty = "n/a");
// Columnize with a dashed underline inserted after the header line.
std::string TableOutput(std::vector<std::string> lines, std::string_view delim = "|");

// kr/text minimal-raggedness wrap at 78 - pad columns, each line indented by
// `pad` spaces.
std::string WrapAtLength(std::string_view s, int pad = 0);

// "==== Header ====" for a table of total width `total`.
std::string PadEqualSigns(std::string_view header, int total);
// The header above a Key/Value table of `data` (width from its longest key).
std::string HeaderForMap(std::string_view header, const Json& data);

// Go's json.MarshalIndent(v, "", "  ").
std::string FormatJson(const Json& v);
// A small YAML rendering (sorted keys, as sigs.k8s.io/yaml emits).
std::string FormatYaml(const Json& v);

// Key/Value table of an envelope: lease/refresh lines, auth, wrap_info, then
// the sorted data keys. "" when there is nothing to print.
std::string SecretTable(const Json& secret);
// Key/Value table of an object's sorted keys.
std::string MapTable(const Json& obj);
// "Keys / ----" table of sorted strings.
std::string KeysTable(const Json& keys);

// Vault's helpers; return the exit code (0, or 1 on a formatting error).
void PrintWarnings(const Ui& ui, const Json& secret);  // table mode only
int OutputSecret(const Ui& ui, const Json& secret);
int OutputData(const Ui& ui, const Json& data);
int OutputList(const Ui& ui, const Json& secret);  // data.keys
// A field of an envelope as Vault's RawField picks it; nullopt if absent.
std::optional<Json> RawField(const Json& secret, std::string_view field);
// Prints the field without a trailing newline unless stdout is a terminal.
// `is_secret`: `data` is an envelope (RawField) rather than a plain object.
int PrintRawField(const Ui& ui, const Json& data, bool is_secret, std::string_view field);
int PrintRaw(const Ui& ui, std::string_view s);

// "====== Secret Path ======\n<path>\n" followed by an empty line.
void OutputPath(const Ui& ui, std::string_view path, std::string_view title);

}  // namespace arca::cli
