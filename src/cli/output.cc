// arca CLI: Vault-compatible table, JSON and raw-field output.
#include "cli/output.h"

#include <algorithm>
#include <climits>
#include <sstream>

namespace arca::cli {
namespace {

constexpr int kMaxLineLength = 78;
constexpr std::string_view kHopeDelim = "\xe2\x99\xa8";  // "♨", never in a secret (we hope)

std::size_t RuneCount(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

std::string TrimSpace(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::vector<std::string> Split(std::string_view s, std::string_view delim) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    std::size_t pos = s.find(delim, start);
    if (pos == std::string_view::npos) {
      out.emplace_back(s.substr(start));
      return out;
    }
    out.emplace_back(s.substr(start, pos - start));
    start = pos + delim.size();
  }
}

std::vector<std::string> SortedKeys(const Json& obj) {
  std::vector<std::string> keys;
  if (!obj.is_object()) return keys;
  for (auto it = obj.begin(); it != obj.end(); ++it) keys.push_back(it.key());
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::string Row(std::string_view k, std::string_view v) {
  std::string r(k);
  r += " ";
  r += kHopeDelim;
  r += " ";
  r += v;
  return r;
}

std::string KeyValueTable(std::vector<std::string> rows) {
  if (rows.empty()) return "";
  rows.insert(rows.begin(), "Key" + std::string(kHopeDelim) + "Value");
  return TableOutput(std::move(rows), kHopeDelim);
}

std::optional<int64_t> AsInt(const Json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  return std::nullopt;
}

void ReplaceAll(std::string& s, std::string_view from, std::string_view to) {
  std::size_t pos = 0;
  while ((pos = s.find(from, pos)) != std::string::npos) {
    s.replace(pos, from.size(), to);
    pos += to.size();
  }
}

}  // namespace

void Ui::Output(std::string_view s) const {
  if (out) *out << s << "\n" << std::flush;
}

void Ui::Error(std::string_view s) const {
  if (err) *err << s << "\n" << std::flush;
}

const Json& Field(const Json& obj, std::string_view key) {
  static const Json kNull;
  if (!obj.is_object()) return kNull;
  auto it = obj.find(std::string(key));
  return it == obj.end() ? kNull : *it;
}

std::string GoValueString(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      return "<nil>";
    case Json::value_t::string:
      return v.get<std::string>();
    case Json::value_t::boolean:
      return v.get<bool>() ? "true" : "false";
    case Json::value_t::array: {
      std::string out = "[";
      bool first = true;
      for (const auto& e : v) {
        if (!first) out += " ";
        first = false;
        out += GoValueString(e);
      }
      return out + "]";
    }
    case Json::value_t::object: {
      std::string out = "map[";
      bool first = true;
      for (const auto& k : SortedKeys(v)) {
        if (!first) out += " ";
        first = false;
        out += k + ":" + GoValueString(v.at(k));
      }
      return out + "]";
    }
    default:
      return v.dump();
  }
}

std::string GoQuotedList(const Json& v) {
  std::string out = "[";
  if (v.is_array()) {
    bool first = true;
    for (const auto& e : v) {
      if (!first) out += " ";
      first = false;
      out += Json(e.is_string() ? e.get<std::string>() : GoValueString(e)).dump();
    }
  }
  return out + "]";
}

std::string HumanDuration(int64_t seconds) {
  if (seconds == 0) return "0s";
  std::string s;
  uint64_t u = seconds < 0 ? uint64_t(-(seconds + 1)) + 1 : uint64_t(seconds);
  if (seconds < 0) s = "-";
  uint64_t h = u / 3600, m = (u % 3600) / 60, sec = u % 60;
  if (h > 0) s += std::to_string(h) + "h" + std::to_string(m) + "m";
  else if (m > 0) s += std::to_string(m) + "m";
  s += std::to_string(sec) + "s";
  if (s.size() >= 3 && s.compare(s.size() - 3, 3, "m0s") == 0) s.resize(s.size() - 2);
  if (auto idx = s.find("h0m"); idx != std::string::npos && idx > 0) s.erase(idx + 1, 2);
  return s;
}

Json HumanDurationValue(const Json& v) {
  if (auto i = AsInt(v)) return HumanDuration(*i);
  return v;
}

bool LooksLikeDuration(std::string_view k) {
  auto ends = [&](std::string_view suf) {
    return k.size() >= suf.size() && k.substr(k.size() - suf.size()) == suf;
  };
  return k == "period" || ends("_period") || k == "ttl" || ends("_ttl") || k == "duration" ||
         ends("_duration") || k == "lease_max" || k == "ttl_max";
}

std::string Columnize(const std::vector<std::string>& lines, std::string_view delim,
                      std::string_view glue, std::string_view empty) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::size_t> widths;
  for (const auto& line : lines) {
    std::vector<std::string> cells = Split(line, delim);
    for (auto& c : cells) {
      c = TrimSpace(c);
      if (c.empty()) c = std::string(empty);
    }
    for (std::size_t i = 0; i < cells.size(); ++i) {
      std::size_t w = RuneCount(cells[i]);
      if (widths.size() <= i) widths.push_back(w);
      else widths[i] = std::max(widths[i], w);
    }
    rows.push_back(std::move(cells));
  }
  std::string out;
  for (const auto& cells : rows) {
    for (std::size_t i = 0; i < cells.size(); ++i) {
      out += cells[i];
      if (i + 1 < cells.size()) {
        out.append(widths[i] - RuneCount(cells[i]), ' ');
        out += glue;
      }
    }
    out += "\n";
  }
  if (!out.empty()) out.pop_back();
  return out;
}

std::string TableOutput(std::vector<std::string> lines, std::string_view delim) {
  if (lines.empty()) return "";
  std::string underline;
  std::vector<std::string> headers = Split(lines[0], delim);
  for (std::size_t i = 0; i < headers.size(); ++i) {
    underline.append(TrimSpace(headers[i]).size(), '-');
    if (i + 1 < headers.size()) underline += delim;
  }
  lines.insert(lines.begin() + 1, underline);
  return Columnize(lines, delim);
}

std::string WrapAtLength(std::string_view s, int pad) {
  const int lim = kMaxLineLength - pad;
  // kr/text.Wrap: newlines become spaces, words split on single spaces.
  std::string text = TrimSpace(s);
  for (char& c : text)
    if (c == '\n') c = ' ';
  std::vector<std::string> words = Split(text, " ");
  const std::size_t n = words.size();
  std::vector<std::size_t> breaks(n, n);
  if (n <= 4000) {
    std::vector<long long> cost(n, LLONG_MAX);
    std::vector<long long> word_len(n);
    for (std::size_t i = 0; i < n; ++i) word_len[i] = static_cast<long long>(RuneCount(words[i]));
    for (std::size_t ii = n; ii-- > 0;) {
      long long len_to_end = 0;
      for (std::size_t j = ii; j < n; ++j) len_to_end += word_len[j] + (j > ii ? 1 : 0);
      if (len_to_end <= lim || ii == n - 1) {
        cost[ii] = 0;
        breaks[ii] = n;
        continue;
      }
      long long len = word_len[ii];  // length of words[ii..j-1]
      for (std::size_t j = ii + 1; j < n; ++j) {
        long long d = lim - len;
        long long c = d * d + cost[j];
        if (len > lim) c += 100000;
        if (c < cost[ii]) {
          cost[ii] = c;
          breaks[ii] = j;
        }
        len += 1 + word_len[j];
      }
    }
  } else {  // greedy for very long inputs
    std::size_t i = 0;
    while (i < n) {
      std::size_t len = RuneCount(words[i]);
      std::size_t j = i + 1;
      while (j < n && len + 1 + RuneCount(words[j]) <= static_cast<std::size_t>(lim))
        len += 1 + RuneCount(words[j++]);
      breaks[i] = j;
      i = j;
    }
  }
  std::string out;
  std::string indent(static_cast<std::size_t>(pad), ' ');
  for (std::size_t i = 0; i < n;) {
    if (!out.empty()) out += "\n";
    out += indent;
    for (std::size_t j = i; j < breaks[i]; ++j) {
      if (j > i) out += " ";
      out += words[j];
    }
    i = breaks[i];
  }
  return out;
}

std::string PadEqualSigns(std::string_view header, int total) {
  int equals = total - (static_cast<int>(header.size()) + 2);
  if (equals <= 0) equals = 4;
  if (equals % 2 != 0) ++equals;
  std::string side(static_cast<std::size_t>(equals / 2), '=');
  return side + " " + std::string(header) + " " + side;
}

std::string HeaderForMap(std::string_view header, const Json& data) {
  std::size_t max_key = 0;
  if (data.is_object())
    for (auto it = data.begin(); it != data.end(); ++it) max_key = std::max(max_key, it.key().size());
  return PadEqualSigns(header, static_cast<int>(max_key) + 4 + 5);
}

std::string FormatJson(const Json& v) {
  std::string s = v.dump(2, ' ', false, Json::error_handler_t::replace);
  ReplaceAll(s, "<", "\\u003c");
  ReplaceAll(s, ">", "\\u003e");
  ReplaceAll(s, "&", "\\u0026");
  return s;
}

namespace {

bool YamlPlain(const std::string& s) {
  if (s.empty()) return false;
  static const char* kReserved[] = {"true", "false", "yes", "no", "on", "off", "null", "~",
                                    "True", "False", "Yes", "No", "On", "Off", "Null", "NULL",
                                    "TRUE", "FALSE", "y", "n", "Y", "N"};
  for (const char* r : kReserved)
    if (s == r) return false;
  if (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-' || s[0] == '.' || s[0] == '+')
    return false;
  if (std::isspace(static_cast<unsigned char>(s.front())) || std::isspace(static_cast<unsigned char>(s.back())))
    return false;
  for (char c : s)
    if (std::string_view(":#{}[],&*!|>'\"%@`\n\t\\").find(c) != std::string_view::npos) return false;
  return true;
}

std::string YamlScalar(const Json& v) {
  if (v.is_null()) return "null";
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    return YamlPlain(s) ? s : v.dump();
  }
  return v.dump();
}

void YamlEmit(const Json& v, int indent, std::string& out) {
  std::string pad(static_cast<std::size_t>(indent), ' ');
  if (v.is_object()) {
    for (const auto& k : SortedKeys(v)) {
      const Json& e = v.at(k);
      std::string key = YamlPlain(k) ? k : Json(k).dump();
      if ((e.is_object() && !e.empty()) || (e.is_array() && !e.empty())) {
        out += pad + key + ":\n";
        YamlEmit(e, e.is_array() ? indent : indent + 2, out);
      } else {
        out += pad + key + ": " + (e.is_object() ? "{}" : e.is_array() ? "[]" : YamlScalar(e)) + "\n";
      }
    }
  } else if (v.is_array()) {
    for (const auto& e : v) {
      if ((e.is_object() && !e.empty()) || (e.is_array() && !e.empty())) {
        std::string nested;
        YamlEmit(e, indent + 2, nested);
        nested.replace(0, static_cast<std::size_t>(indent) + 2, pad + "- ");
        out += nested;
      } else {
        out += pad + "- " + (e.is_object() ? "{}" : e.is_array() ? "[]" : YamlScalar(e)) + "\n";
      }
    }
  } else {
    out += pad + YamlScalar(v) + "\n";
  }
}

}  // namespace

std::string FormatYaml(const Json& v) {
  std::string out;
  if ((v.is_object() || v.is_array()) && v.empty()) return v.is_object() ? "{}" : "[]";
  YamlEmit(v, 0, out);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string SecretTable(const Json& secret) {
  std::vector<std::string> rows;
  const Json& lease_duration = Field(secret, "lease_duration");
  if (auto ld = AsInt(lease_duration); ld && *ld > 0) {
    const Json& lease_id = Field(secret, "lease_id");
    if (lease_id.is_string() && !lease_id.get<std::string>().empty()) {
      rows.push_back(Row("lease_id", lease_id.get<std::string>()));
      rows.push_back(Row("lease_duration", HumanDuration(*ld)));
      rows.push_back(Row("lease_renewable", GoValueString(Field(secret, "renewable"))));
    } else {
      rows.push_back(Row("refresh_interval", HumanDuration(*ld)));
    }
  }
  const Json& auth = Field(secret, "auth");
  if (auth.is_object()) {
    const Json& mfa = Field(auth, "mfa_requirement");
    if (mfa.is_object()) {
      rows.push_back(Row("mfa_request_id", GoValueString(Field(mfa, "mfa_request_id"))));
    } else {
      rows.push_back(Row("token", GoValueString(Field(auth, "client_token"))));
      rows.push_back(Row("token_accessor", GoValueString(Field(auth, "accessor"))));
      auto ttl = AsInt(Field(auth, "lease_duration"));
      rows.push_back(Row("token_duration", !ttl || *ttl == 0 ? "\xe2\x88\x9e" : HumanDuration(*ttl)));
      rows.push_back(Row("token_renewable", Field(auth, "renewable").is_boolean()
                                                ? GoValueString(Field(auth, "renewable"))
                                                : "false"));
      rows.push_back(Row("token_policies", GoQuotedList(Field(auth, "token_policies"))));
      rows.push_back(Row("identity_policies", GoQuotedList(Field(auth, "identity_policies"))));
      rows.push_back(Row("policies", GoQuotedList(Field(auth, "policies"))));
      const Json& meta = Field(auth, "metadata");
      for (const auto& k : SortedKeys(meta)) rows.push_back(Row("token_meta_" + k, GoValueString(meta.at(k))));
    }
  }
  const Json& wrap = Field(secret, "wrap_info");
  if (wrap.is_object()) {
    rows.push_back(Row("wrapping_token:", GoValueString(Field(wrap, "token"))));
    rows.push_back(Row("wrapping_accessor:", GoValueString(Field(wrap, "accessor"))));
    rows.push_back(Row("wrapping_token_ttl:", GoValueString(HumanDurationValue(Field(wrap, "ttl")))));
    rows.push_back(Row("wrapping_token_creation_time:", GoValueString(Field(wrap, "creation_time"))));
    rows.push_back(Row("wrapping_token_creation_path:", GoValueString(Field(wrap, "creation_path"))));
    const Json& wa = Field(wrap, "wrapped_accessor");
    if (wa.is_string() && !wa.get<std::string>().empty())
      rows.push_back(Row("wrapped_accessor:", wa.get<std::string>()));
  }
  const Json& data = Field(secret, "data");
  for (const auto& k : SortedKeys(data)) {
    const Json& v = data.at(k);
    rows.push_back(Row(k, GoValueString(LooksLikeDuration(k) ? HumanDurationValue(v) : v)));
  }
  return KeyValueTable(std::move(rows));
}

std::string MapTable(const Json& obj) {
  std::vector<std::string> rows;
  for (const auto& k : SortedKeys(obj)) {
    const Json& v = obj.at(k);
    rows.push_back(Row(k, GoValueString(LooksLikeDuration(k) ? HumanDurationValue(v) : v)));
  }
  return KeyValueTable(std::move(rows));
}

std::string KeysTable(const Json& keys) {
  std::vector<std::string> rows;
  if (keys.is_array())
    for (const auto& k : keys) rows.push_back(GoValueString(k));
  if (rows.empty()) return "";
  std::sort(rows.begin(), rows.end());
  rows.insert(rows.begin(), "Keys");
  return TableOutput(std::move(rows), kHopeDelim);
}

void PrintWarnings(const Ui& ui, const Json& secret) {
  const Json& warnings = Field(secret, "warnings");
  if (!warnings.is_array() || warnings.empty()) return;
  ui.Warn("WARNING! The following warnings were returned from Vault:\n");
  for (const auto& w : warnings) {
    ui.Warn(WrapAtLength("* " + GoValueString(w), 2));
    ui.Warn("");
  }
}

namespace {

int EmitFormatted(const Ui& ui, const Json& v) {
  if (ui.format == "json") {
    ui.Output(FormatJson(v));
    return 0;
  }
  if (ui.format == "yaml" || ui.format == "yml") {
    ui.Output(FormatYaml(v));
    return 0;
  }
  ui.Error("Invalid output format: " + ui.format);
  return 1;
}

}  // namespace

int OutputSecret(const Ui& ui, const Json& secret) {
  if (ui.format != "table") return EmitFormatted(ui, secret);
  if (secret.is_null()) return 0;
  PrintWarnings(ui, secret);
  std::string table = SecretTable(secret);
  if (!table.empty()) ui.Output(table);
  return 0;
}

int OutputData(const Ui& ui, const Json& data) {
  if (ui.format != "table") return EmitFormatted(ui, data);
  if (data.is_object()) {
    std::string table = MapTable(data);
    if (!table.empty()) ui.Output(table);
    return 0;
  }
  if (data.is_array()) {
    std::string table = KeysTable(data);
    if (!table.empty()) ui.Output(table);
    return 0;
  }
  ui.Error("Could not parse output: cannot use the table formatter for this type");
  return 1;
}

int OutputList(const Ui& ui, const Json& secret) {
  const Json& keys = Field(Field(secret, "data"), "keys");
  if (ui.format != "table") return EmitFormatted(ui, keys);
  PrintWarnings(ui, secret);
  std::string table = KeysTable(keys);
  if (!table.empty()) ui.Output(table);
  return 0;
}

std::optional<Json> RawField(const Json& secret, std::string_view field) {
  const Json& data = Field(secret, "data");
  auto from_data = [&]() -> std::optional<Json> {
    const Json& v = Field(data, field);
    if (v.is_null()) return std::nullopt;
    return v;
  };
  auto present = [](const Json& v, Json fallback) -> std::optional<Json> {
    return v.is_null() ? fallback : v;
  };
  const Json& auth = Field(secret, "auth");
  if (auth.is_object()) {
    if (field == "token") return present(Field(auth, "client_token"), "");
    if (field == "token_accessor") return present(Field(auth, "accessor"), "");
    if (field == "token_duration") return present(Field(auth, "lease_duration"), 0);
    if (field == "token_renewable") return present(Field(auth, "renewable"), false);
    if (field == "token_policies") return present(Field(auth, "token_policies"), Json::array());
    if (field == "identity_policies") return present(Field(auth, "identity_policies"), Json::array());
    if (field == "policies") return present(Field(auth, "policies"), Json::array());
    return from_data();
  }
  const Json& wrap = Field(secret, "wrap_info");
  if (wrap.is_object()) {
    if (field == "wrapping_token") return present(Field(wrap, "token"), "");
    if (field == "wrapping_accessor") return present(Field(wrap, "accessor"), "");
    if (field == "wrapping_token_ttl") return present(Field(wrap, "ttl"), 0);
    if (field == "wrapping_token_creation_time") return present(Field(wrap, "creation_time"), "");
    if (field == "wrapping_token_creation_path") return present(Field(wrap, "creation_path"), "");
    if (field == "wrapped_accessor") return present(Field(wrap, "wrapped_accessor"), "");
    return from_data();
  }
  if (field == "lease_duration" || field == "refresh_interval")
    return present(Field(secret, "lease_duration"), 0);
  if (field == "lease_id") return present(Field(secret, "lease_id"), "");
  if (field == "request_id") return present(Field(secret, "request_id"), "");
  if (field == "renewable") return present(Field(secret, "renewable"), false);
  if (field == "data") {
    if (data.is_object() && data.contains("data")) return data.at("data");
    if (data.is_null()) return std::nullopt;
    return data;
  }
  return from_data();
}

int PrintRaw(const Ui& ui, std::string_view s) {
  if (ui.out_is_tty) {
    ui.Output(s);
  } else if (ui.out) {
    *ui.out << s << std::flush;
  }
  return 0;
}

int PrintRawField(const Ui& ui, const Json& data, bool is_secret, std::string_view field) {
  std::optional<Json> val;
  if (is_secret) {
    val = RawField(data, field);
  } else {
    const Json& v = Field(data, field);
    if (!v.is_null()) val = v;
  }
  if (!val) {
    ui.Error("Field \"" + std::string(field) + "\" not present in secret");
    return 1;
  }
  if (ui.format == "table" || ui.format.empty() || ui.format == "raw")
    return PrintRaw(ui, GoValueString(*val));
  if (ui.format == "json") return PrintRaw(ui, FormatJson(*val));
  if (ui.format == "yaml" || ui.format == "yml") return PrintRaw(ui, FormatYaml(*val));
  ui.Error("Invalid output format: " + ui.format);
  return 1;
}

void OutputPath(const Ui& ui, std::string_view path, std::string_view title) {
  ui.Info(PadEqualSigns(title, static_cast<int>(path.size())));
  ui.Info(path);
  ui.Info("");
}

}  // namespace arca::cli
