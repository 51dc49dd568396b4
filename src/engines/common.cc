// arca engines: helpers shared by the KV and cubbyhole backends.
#include "engines/internal/common.h"

#include <chrono>
#include <cmath>
#include <exception>
#include <limits>

#include "base/time.h"

namespace arca::engines::internal {

std::optional<Json> ParseJsonObject(std::string_view s) {
  auto j = logical::ParseJsonKeepingNumbers(s);
  if (!j || !j->is_object()) return std::nullopt;
  return j;
}

std::string ListPrefix(std::string_view path) {
  std::string p(path);
  if (!p.empty() && p.back() != '/') p.push_back('/');
  return p;
}

StatusOr<Response> ListResponse(std::vector<std::string> keys) {
  if (keys.empty()) return NotFound();
  Json arr = Json::array();
  for (auto& k : keys) arr.push_back(std::move(k));
  return Response::WithData(Json{{"keys", std::move(arr)}});
}

int64_t NowNs(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             clock.SystemNow().time_since_epoch())
      .count();
}

std::string FormatNs(int64_t ns) {
  return FormatRfc3339Nano(SystemTime(
      std::chrono::duration_cast<SystemTime::duration>(std::chrono::nanoseconds(ns))));
}

namespace {

// strconv.ParseInt(s, 0, 64): optional sign, then 0x/0o/0b/0 prefixes.
std::optional<int64_t> ParseIntBase0(std::string_view s) {
  if (s.empty()) return std::nullopt;
  bool neg = false;
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  int base = 10;
  if (s.size() > 1 && s[0] == '0') {
    char p = s[1];
    if (p == 'x' || p == 'X') {
      base = 16;
      s.remove_prefix(2);
    } else if (p == 'o' || p == 'O') {
      base = 8;
      s.remove_prefix(2);
    } else if (p == 'b' || p == 'B') {
      base = 2;
      s.remove_prefix(2);
    } else {
      base = 8;
      s.remove_prefix(1);
    }
    if (s.empty()) return std::nullopt;
  }
  uint64_t v = 0;
  const uint64_t limit = neg ? uint64_t(std::numeric_limits<int64_t>::max()) + 1
                             : uint64_t(std::numeric_limits<int64_t>::max());
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return std::nullopt;
    if (d >= base) return std::nullopt;
    if (v > (limit - uint64_t(d)) / uint64_t(base)) return std::nullopt;
    v = v * uint64_t(base) + uint64_t(d);
  }
  if (neg) return v == uint64_t(std::numeric_limits<int64_t>::max()) + 1
                      ? std::numeric_limits<int64_t>::min()
                      : -int64_t(v);
  return int64_t(v);
}

// Decodes one UTF-8 code point at s[i], advancing i; nullopt if malformed.
std::optional<uint32_t> NextCodePoint(std::string_view s, std::size_t& i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  uint32_t cp;
  std::size_t n;
  if (c < 0x80) {
    ++i;
    return c;
  } else if ((c & 0xE0) == 0xC0) {
    cp = c & 0x1F;
    n = 1;
  } else if ((c & 0xF0) == 0xE0) {
    cp = c & 0x0F;
    n = 2;
  } else if ((c & 0xF8) == 0xF0) {
    cp = c & 0x07;
    n = 3;
  } else {
    return std::nullopt;
  }
  for (std::size_t k = 1; k <= n; ++k) {
    if (i + k >= s.size() || (b(i + k) & 0xC0) != 0x80) return std::nullopt;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  // Overlong forms, surrogates and out-of-range values are malformed.
  if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000)) return std::nullopt;
  if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return std::nullopt;
  i += n + 1;
  return cp;
}

bool PrintableCodePoint(uint32_t c) {
  if (c < 0x20 || (c >= 0x7F && c <= 0xA0)) return false;  // controls, C1, NBSP
  if (c < 0x7F) return true;
  switch (c) {
    case 0xAD: case 0x61C: case 0x6DD: case 0x70F: case 0x8E2: case 0x1680: case 0x180E:
    case 0x202F: case 0x205F: case 0x3000: case 0xFEFF: case 0x110BD: case 0x110CD:
    case 0xE0001:
      return false;
    default:
      break;
  }
  if (c >= 0x600 && c <= 0x605) return false;
  if (c >= 0x2000 && c <= 0x200F) return false;  // spaces, ZW*, LRM/RLM
  if (c >= 0x2028 && c <= 0x202E) return false;  // line/para separators, bidi
  if (c >= 0x2060 && c <= 0x206F) return false;
  if (c >= 0xFFF9 && c <= 0xFFFB) return false;
  if (c == 0xFFFE || c == 0xFFFF) return false;
  if (c >= 0xE000 && c <= 0xF8FF) return false;   // private use
  if (c >= 0xF0000) return false;                 // supplementary private use
  if (c >= 0x1D173 && c <= 0x1D17A) return false;
  if (c >= 0xE0020 && c <= 0xE007F) return false;
  return true;
}

}  // namespace

std::optional<int64_t> WeakInt(const Json& v) {
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > uint64_t(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return int64_t(u);
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (!std::isfinite(d) || std::fabs(d) >= 9.2e18) return std::nullopt;
    return int64_t(d);
  }
  if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s.empty()) return 0;
    return ParseIntBase0(s);
  }
  return std::nullopt;
}

bool IsPrintable(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto cp = NextCodePoint(s, i);
    if (!cp || !PrintableCodePoint(*cp)) return false;
  }
  return true;
}

std::string GoQuote(std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

StatusOr<Response> Guarded(const std::function<StatusOr<Response>()>& fn) {
  try {
    return fn();
  } catch (const std::exception&) {
    return Internal("internal error");
  }
}

std::shared_mutex& KeyLocks::For(std::string_view key) {
  return locks_[std::hash<std::string_view>{}(key) % locks_.size()];
}

StatusOr<std::optional<Json>> PassthroughRead(storage::Backend& s, const std::string& key) {
  ARCA_ASSIGN_OR_RETURN(auto raw, s.Get(key));
  if (!raw) return std::optional<Json>();
  auto obj = ParseJsonObject(*raw);
  if (!obj) return Internal("json decoding failed");
  return std::optional<Json>(std::move(*obj));
}

Status PassthroughWrite(storage::Backend& s, const std::string& key, const Json& data) {
  if (!data.is_object() || data.empty()) return InvalidArgument("missing data fields");
  return s.Put(key, DumpJson(data));
}

}  // namespace arca::engines::internal
