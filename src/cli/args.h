// arca CLI: flag parsing with Go's `flag` package rules (as Vault's CLI uses
// them) and the `key=value` data arguments of Vault's kv-builder.
//
// Flags: `-name=value`, `-name value`, `--name` works like `-name`; a bool
// flag takes no separate value (`-force`, `-force=false`); parsing stops at
// the first non-flag argument, at `-` alone, and after `--`. Flags after the
// first positional argument are therefore positional, as in Vault 1.14
// (LeftoverFlagWarning says so). Not thread-safe; one FlagSet per command run.
#pragma once

#include <cstdint>
#include <functional>
#include <istream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace arca::cli {

// `s` without leading and trailing ASCII whitespace.
std::string Trim(std::string_view s);

using Json = nlohmann::ordered_json;

// Environment lookup: nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

struct FlagOptions {
  std::vector<std::string> aliases;  // e.g. {"f"} for -force
  std::string env;                   // environment variable giving the default
  std::string usage;
  std::string example;  // shown as -name=<example> in help
  bool hidden = false;

  FlagOptions&& Env(std::string e) && { env = std::move(e); return std::move(*this); }
  FlagOptions&& Alias(std::string a) && { aliases.push_back(std::move(a)); return std::move(*this); }
  FlagOptions&& Example(std::string e) && { example = std::move(e); return std::move(*this); }
  FlagOptions&& Hidden() && { hidden = true; return std::move(*this); }
};

// Usage("...").Env("VAULT_ADDR").Alias("f")
inline FlagOptions Usage(std::string usage) {
  FlagOptions o;
  o.usage = std::move(usage);
  return o;
}

class FlagSet {
 public:
  explicit FlagSet(EnvLookup env = nullptr) : env_(std::move(env)) {}

  // Starts a new titled group of flags for Help().
  void Section(std::string title);

  void Bool(const std::string& name, bool* target, bool def, FlagOptions o = {});
  void String(const std::string& name, std::string* target, std::string def, FlagOptions o = {});
  void Int(const std::string& name, int64_t* target, int64_t def, FlagOptions o = {});
  // Go durations, "<n>d", or plain seconds; stored as whole seconds.
  void Duration(const std::string& name, int64_t* seconds, int64_t def, FlagOptions o = {});
  // Repeatable; each occurrence appends its (trimmed) value.
  void StringSlice(const std::string& name, std::vector<std::string>* target, FlagOptions o = {});
  // Repeatable `-name k=v`; fails on a value without '='.
  void StringMap(const std::string& name, std::map<std::string, std::string>* target,
                 FlagOptions o = {});

  // Parses `args`. On error returns kInvalidArgument whose message is Go's
  // ("flag provided but not defined: -x", "flag needs an argument: -x",
  // "invalid value \"v\" for flag -x: parse error", ...). `-h`/`-help`
  // returns OK with help_requested() true.
  Status Parse(const std::vector<std::string>& args);

  const std::vector<std::string>& Args() const { return rest_; }
  bool IsSet(std::string_view name) const;  // canonical name
  bool help_requested() const { return help_; }
  // Vault's warning for flag-looking arguments left after positional ones,
  // or "" if there are none.
  std::string LeftoverFlagWarning() const;
  std::string Help() const;

 private:
  using Target = std::variant<bool*, std::string*, int64_t*, std::vector<std::string>*,
                              std::map<std::string, std::string>*>;
  struct Flag {
    std::string name;
    Target target;
    bool is_duration = false;
    FlagOptions opts;
    std::string type_hint;
  };
  Flag* Find(std::string_view name);
  void Add(Flag f);
  std::optional<std::string> EnvValue(const FlagOptions& o) const;
  Status Set(Flag& f, const std::string& value, bool has_value);

  EnvLookup env_;
  std::vector<Flag> flags_;
  std::vector<std::pair<std::string, std::size_t>> sections_;  // title, first flag index
  std::vector<std::string> set_;
  std::vector<std::string> rest_;
  bool help_ = false;
};

// Go strconv.ParseBool.
std::optional<bool> ParseGoBool(std::string_view s);

// Vault's kv-builder: `k=v`, `k=@file` (file contents), `k=\@x` (literal
// "@x"), `k=-` (all of stdin, once), `@file` or `-` alone (a JSON object
// merged in). Repeated keys become a list. Errors (kInvalidArgument) read
// `invalid key/value pair "<arg>": <reason>`. `stdin` may be null.
StatusOr<Json> ParseDataArgs(const std::vector<std::string>& args, std::istream* stdin_stream);

// ParseDataArgs with every value converted to a string (numbers textually,
// bools as "1"/"0"); lists and objects are an error.
StatusOr<std::map<std::string, std::string>> ParseDataArgsStrings(
    const std::vector<std::string>& args, std::istream* stdin_stream);

// ParseDataArgs with every value a list of strings (for query parameters).
StatusOr<std::map<std::string, std::vector<std::string>>> ParseDataArgsStringLists(
    const std::vector<std::string>& args, std::istream* stdin_stream);

}  // namespace arca::cli
