// arca: HCL v1 parser (HashiCorp's original HCL, as Vault uses for its config
// file and ACL policies).
//
// Parse turns text into a tree of Values. JSON is valid HCL: text whose first
// non-space character is '{' is parsed as JSON (or always, with
// Syntax::kJson). Supported: comments (#, //, /* */), `key = value`, blocks
// `name "label" label2 { ... }`, strings with escapes, heredocs (<<EOF and
// <<-EOF), integers (decimal, 0x hex, 0 octal), floats, bools, lists with
// trailing commas, objects. Repeated keys and blocks are all kept, in source
// order. Every Value, Item and Key carries its 1-based source line.
//
// Input is bounded (kMaxInputBytes, kMaxDepth); hostile input yields an
// error, never a crash. Pure functions, safe for concurrent use; the tree is
// a plain value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace arca::hcl {

inline constexpr std::size_t kMaxInputBytes = 1 << 20;  // 1 MiB
inline constexpr int kMaxDepth = 64;                     // nested objects and lists

enum class Syntax { kAuto, kHcl, kJson };

enum class Kind { kNull, kBool, kInt, kFloat, kString, kList, kObject };
const char* KindName(Kind k);  // "null", "bool", "number", "number", "string", "list", "object"

struct Item;

struct Value {
  Kind kind = Kind::kNull;  // kNull only from JSON `null`
  int line = 0;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;            // kString (heredocs included)
  std::vector<Value> list;  // kList
  std::vector<Item> items;  // kObject, in source order (duplicates kept)

  bool is_string() const { return kind == Kind::kString; }
  bool is_object() const { return kind == Kind::kObject; }
  bool is_list() const { return kind == Kind::kList; }
  bool is_number() const { return kind == Kind::kInt || kind == Kind::kFloat; }
};

struct Key {
  std::string text;  // unquoted
  int line = 0;
};

// One entry of an object: `a = 1` (keys ["a"], assign) or a block
// `path "x" { ... }` (keys ["path", "x"], no assign, value an object).
struct Item {
  std::vector<Key> keys;  // never empty
  bool assign = false;
  Value value;
  int line() const { return keys.front().line; }
  const std::string& name() const { return keys.front().text; }
};

// Where and why parsing (or shape checking) failed. `message` has no position.
struct Error {
  int line = 0;
  int column = 0;  // 0 when unknown
  std::string message;
};

// Parses `text`; the result is always an object. Errors: InvalidArgument
// "At <line>:<col>: <message>" (also stored in *error when given), e.g. for
// input over kMaxInputBytes, nesting over kMaxDepth, bad tokens.
StatusOr<Value> Parse(std::string_view text, Syntax syntax = Syntax::kAuto,
                      Error* error = nullptr);

// A block `name "l1" "l2" { body }` found in an object.
struct Block {
  std::vector<Key> labels;
  const Value* body = nullptr;  // an object, pointing into the parsed tree
  int line = 0;                 // line of the block's name
};

// Every block called `name` with exactly `labels` labels in `object`, in
// source order. Accepts the HCL block form, the nested assignment form
// `name = { l1 = { ... } }` and the JSON forms `"name": {"l1": {...}}` and
// `"name": [{"l1": {...}}, ...]`. Errors: InvalidArgument "line N: ..." (and
// *error) when an item called `name` does not have that shape.
StatusOr<std::vector<Block>> Blocks(const Value& object, std::string_view name,
                                    std::size_t labels, Error* error = nullptr);

// Converts to JSON. Objects: `k = v` sets k (a repeated key: the last wins);
// a block `a "b" { body }` sets a.b = body, and a block path that repeats
// becomes a list of the bodies in source order. Never throws.
nlohmann::json ToJson(const Value& value);

// `s` with quotes and escapes, for messages: "a\"b" → "\"a\\\"b\"" (Go's %q).
std::string Quote(std::string_view s);

}  // namespace arca::hcl
