#include "logical/fields.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "base/time.h"
#include "logical/json.h"

namespace arca::logical {

namespace {

Status ConvError(const Json& v, std::string_view field, std::string_view why) {
  std::string shown = v.is_string() ? v.get<std::string>() : DumpJson(v);
  if (shown.size() > 64) shown = shown.substr(0, 64) + "...";
  return InvalidArgument("Field validation failed: error converting input " + shown +
                         " for field \"" + std::string(field) + "\": " + std::string(why));
}

const Json* Find(const Json& data, std::string_view field) {
  if (!data.is_object()) return nullptr;
  auto it = data.find(std::string(field));
  if (it == data.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string Trim(std::string_view s) {
  std::size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return std::string(s.substr(a, b - a));
}

std::optional<int64_t> ParseInt(std::string_view s) {
  std::string t = Trim(s);
  if (t.empty()) return std::nullopt;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || p != t.data() + t.size()) return std::nullopt;
  return v;
}

std::string Stringify(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_null()) return "";
  return DumpJson(v);  // a number literal gives its text, as Go's json.Number
}

// A number as written, or a number literal (logical/json.h).
bool IsNumeric(const Json& v) { return v.is_number() || IsNumberLiteral(v); }

}  // namespace

std::optional<bool> ParseBool(std::string_view s) {
  if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True") return true;
  if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False")
    return false;
  return std::nullopt;
}

StatusOr<std::optional<bool>> GetBool(const Json& data, std::string_view field) {
  const Json* v = Find(data, field);
  if (!v) return std::optional<bool>();
  if (v->is_boolean()) return std::optional<bool>(v->get<bool>());
  if (v->is_number()) return std::optional<bool>(v->get<double>() != 0);
  if (IsNumberLiteral(*v)) return std::optional<bool>(NumberLiteralValue(*v) != 0);
  if (v->is_string()) {
    std::string s = v->get<std::string>();
    if (s.empty()) return std::optional<bool>(false);
    if (auto b = ParseBool(s)) return std::optional<bool>(*b);
  }
  return ConvError(*v, field, "cannot parse as bool");
}

StatusOr<std::optional<int64_t>> GetInt(const Json& data, std::string_view field) {
  const Json* v = Find(data, field);
  if (!v) return std::optional<int64_t>();
  if (v->is_number_integer()) return std::optional<int64_t>(v->get<int64_t>());
  if (v->is_number_float()) {
    double d = v->get<double>();
    if (std::floor(d) == d && std::fabs(d) < 9e18) return std::optional<int64_t>(int64_t(d));
    return ConvError(*v, field, "not an integer");
  }
  if (v->is_string()) {
    if (v->get<std::string>().empty()) return std::optional<int64_t>(0);
    if (auto i = ParseInt(v->get<std::string>())) return std::optional<int64_t>(*i);
  }
  // A number literal ("1e3", a 30-digit integer) is not an int64, as for
  // json.Number.Int64().
  return ConvError(*v, field, "cannot parse as integer");
}

StatusOr<std::optional<int64_t>> GetDuration(const Json& data, std::string_view field,
                                             bool allow_negative) {
  const Json* v = Find(data, field);
  if (!v) return std::optional<int64_t>();
  std::optional<int64_t> secs;
  if (v->is_number_integer()) {
    secs = v->get<int64_t>();
  } else if (v->is_number_float()) {
    secs = int64_t(v->get<double>());
  } else if (IsNumberLiteral(*v)) {  // "1e3": seconds, as a double gives them
    const double d = NumberLiteralValue(*v);
    if (std::isfinite(d) && std::fabs(d) < 9e18) secs = int64_t(d);
  } else if (v->is_string()) {
    std::string s = Trim(v->get<std::string>());
    if (s.empty()) return std::optional<int64_t>(0);
    secs = ParseDurationSeconds(s);
  }
  if (!secs) return ConvError(*v, field, "invalid duration");
  if (*secs < 0 && !allow_negative) return ConvError(*v, field, "cannot be negative");
  return secs;
}

StatusOr<std::optional<std::string>> GetString(const Json& data, std::string_view field) {
  const Json* v = Find(data, field);
  if (!v) return std::optional<std::string>();
  if (v->is_string()) return std::optional<std::string>(v->get<std::string>());
  if (IsNumeric(*v) || v->is_boolean()) return std::optional<std::string>(Stringify(*v));
  return ConvError(*v, field, "expected a string");
}

StatusOr<std::optional<std::vector<std::string>>> GetStringSlice(const Json& data,
                                                                 std::string_view field) {
  const Json* v = Find(data, field);
  using R = std::optional<std::vector<std::string>>;
  if (!v) return R();
  std::vector<std::string> out;
  auto add = [&out](std::string_view s) {
    std::size_t start = 0;
    while (start <= s.size()) {
      std::size_t end = s.find(',', start);
      if (end == std::string_view::npos) end = s.size();
      std::string t = Trim(s.substr(start, end - start));
      if (!t.empty()) out.push_back(std::move(t));
      start = end + 1;
    }
  };
  if (v->is_string()) {
    add(v->get<std::string>());
    return R(std::move(out));
  }
  if (v->is_array()) {
    for (const auto& e : *v) {
      if (e.is_string()) {
        std::string t = Trim(e.get<std::string>());
        if (!t.empty()) out.push_back(std::move(t));
      } else if (IsNumeric(e) || e.is_boolean()) {
        out.push_back(Stringify(e));
      } else {
        return ConvError(*v, field, "expected a list of strings");
      }
    }
    return R(std::move(out));
  }
  if (IsNumeric(*v)) {
    out.push_back(Stringify(*v));
    return R(std::move(out));
  }
  return ConvError(*v, field, "expected a list of strings");
}

StatusOr<std::optional<std::map<std::string, std::string>>> GetStringMap(const Json& data,
                                                                         std::string_view field) {
  const Json* v = Find(data, field);
  using M = std::map<std::string, std::string>;
  if (!v) return std::optional<M>();
  M out;
  if (v->is_object()) {
    for (auto it = v->begin(); it != v->end(); ++it) {
      if (it->is_object() || it->is_array()) return ConvError(*v, field, "values must be strings");
      out[it.key()] = Stringify(*it);
    }
    return std::optional<M>(std::move(out));
  }
  if (v->is_array() || v->is_string()) {
    std::vector<std::string> items;
    if (v->is_string()) {
      if (!v->get<std::string>().empty()) items.push_back(v->get<std::string>());
    } else {
      for (const auto& e : *v) {
        if (!e.is_string()) return ConvError(*v, field, "expected k=v strings");
        items.push_back(e.get<std::string>());
      }
    }
    for (const auto& item : items) {
      auto eq = item.find('=');
      if (eq == std::string::npos) return ConvError(*v, field, "expected k=v strings");
      out[Trim(item.substr(0, eq))] = Trim(item.substr(eq + 1));
    }
    return std::optional<M>(std::move(out));
  }
  return ConvError(*v, field, "expected a map of strings");
}

StatusOr<std::optional<Json>> GetObject(const Json& data, std::string_view field) {
  const Json* v = Find(data, field);
  if (!v) return std::optional<Json>();
  if (!v->is_object()) return ConvError(*v, field, "expected an object");
  return std::optional<Json>(*v);
}

std::vector<std::string> UnknownFields(const Json& data, const std::vector<std::string>& known) {
  std::vector<std::string> out;
  if (!data.is_object()) return out;
  for (auto it = data.begin(); it != data.end(); ++it) {
    if (std::find(known.begin(), known.end(), it.key()) == known.end()) out.push_back(it.key());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace arca::logical
