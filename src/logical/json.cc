// arca: number-keeping JSON parse and dump.
#include "logical/json.h"

#include <cstdlib>
#include <vector>

namespace arca::logical {

namespace {

using Dom = nlohmann::detail::json_sax_dom_parser<Json>;

// nlohmann's DOM builder, except for numbers whose double loses their text.
class KeepingNumbers {
 public:
  explicit KeepingNumbers(Json& root) : dom_(root, /*allow_exceptions=*/false) {}

  bool null() { return dom_.null(); }
  bool boolean(bool v) { return dom_.boolean(v); }
  bool number_integer(Json::number_integer_t v) { return dom_.number_integer(v); }
  bool number_unsigned(Json::number_unsigned_t v) { return dom_.number_unsigned(v); }
  bool number_float(Json::number_float_t v, const Json::string_t& text) {
    if (Json(v).dump() == text) return dom_.number_float(v, text);
    Json::binary_t lit(std::vector<std::uint8_t>(text.begin(), text.end()), kNumberLiteralSubtype);
    return dom_.binary(lit);
  }
  bool string(Json::string_t& v) { return dom_.string(v); }
  bool binary(Json::binary_t& v) { return dom_.binary(v); }
  bool start_object(std::size_t n) { return dom_.start_object(n); }
  bool key(Json::string_t& k) { return dom_.key(k); }
  bool end_object() { return dom_.end_object(); }
  bool start_array(std::size_t n) { return dom_.start_array(n); }
  bool end_array() { return dom_.end_array(); }
  bool parse_error(std::size_t pos, const std::string& token,
                   const nlohmann::detail::exception& ex) {
    return dom_.parse_error(pos, token, ex);
  }
  bool is_errored() const { return dom_.is_errored(); }

 private:
  Dom dom_;
};

bool HasLiteral(const Json& j) {
  switch (j.type()) {
    case Json::value_t::object:
    case Json::value_t::array:
      for (const auto& e : j)
        if (HasLiteral(e)) return true;
      return false;
    case Json::value_t::binary:
      return IsNumberLiteral(j);
    default:
      return false;
  }
}

void Dump(std::string& out, const Json& j) {
  switch (j.type()) {
    case Json::value_t::object: {
      out.push_back('{');
      bool first = true;
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (!first) out.push_back(',');
        first = false;
        out += Json(it.key()).dump(-1, ' ', false, Json::error_handler_t::replace);
        out.push_back(':');
        Dump(out, it.value());
      }
      out.push_back('}');
      return;
    }
    case Json::value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& e : j) {
        if (!first) out.push_back(',');
        first = false;
        Dump(out, e);
      }
      out.push_back(']');
      return;
    }
    case Json::value_t::binary:
      if (IsNumberLiteral(j)) {
        out += NumberLiteralText(j);
        return;
      }
      [[fallthrough]];
    default:
      out += j.dump(-1, ' ', false, Json::error_handler_t::replace);
  }
}

}  // namespace

std::optional<Json> ParseJsonKeepingNumbers(std::string_view text) {
  Json root;
  KeepingNumbers sax(root);
  bool ok = false;
  try {
    ok = Json::sax_parse(text.begin(), text.end(), &sax, nlohmann::detail::input_format_t::json,
                         /*strict=*/true);
  } catch (const std::exception&) {
    ok = false;
  }
  if (!ok || sax.is_errored() || root.is_discarded()) return std::nullopt;
  return root;
}

bool IsNumberLiteral(const Json& j) {
  if (!j.is_binary()) return false;
  const auto& b = j.get_binary();
  return b.has_subtype() && b.subtype() == kNumberLiteralSubtype;
}

std::string_view NumberLiteralText(const Json& j) {
  if (!IsNumberLiteral(j)) return {};
  const auto& b = j.get_binary();
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}

double NumberLiteralValue(const Json& j) {
  if (!IsNumberLiteral(j)) return 0;
  return std::strtod(std::string(NumberLiteralText(j)).c_str(), nullptr);
}

Json NumberLiteral(std::string_view text) {
  return Json::binary(std::vector<std::uint8_t>(text.begin(), text.end()), kNumberLiteralSubtype);
}

void AppendJson(std::string& out, const Json& j) {
  if (!HasLiteral(j)) {
    out += j.dump(-1, ' ', false, Json::error_handler_t::replace);
    return;
  }
  Dump(out, j);
}

std::string DumpJson(const Json& j) {
  std::string out;
  AppendJson(out, j);
  return out;
}

}  // namespace arca::logical
