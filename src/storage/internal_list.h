// arca storage internals: helpers shared by the engines' List and range scans.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace arca::storage::internal {

// The smallest string greater than every string that starts with `prefix`
// (last byte below 0xff incremented, trailing 0xff bytes dropped); nullopt if
// there is none (empty or all-0xff prefix: the range is unbounded above).
std::optional<std::string> PrefixSuccessor(std::string_view prefix);

// For a key below the listed prefix, `rest` is the key with the prefix
// removed. Returns the child name to list: `rest` itself for a direct child,
// "folder/" for a deeper key.
inline std::string_view ChildName(std::string_view rest) {
  auto slash = rest.find('/');
  return slash == std::string_view::npos ? rest : rest.substr(0, slash + 1);
}

// The first key after every key below folder `prefix + child` (child ends in
// '/'): the same string with its final '/' replaced by '0', the next byte.
inline std::string SkipFolder(std::string_view prefix, std::string_view child) {
  std::string next(prefix);
  next.append(child);
  next.back() = static_cast<char>('/' + 1);
  return next;
}

}  // namespace arca::storage::internal
