// arca: the HCL v1 / JSON scanner and recursive-descent parser behind
// hcl::Parse. One scanner serves both syntaxes (JSON mode adds ':' and
// `null` and JSON's string escapes); recursion depth is bounded by kMaxDepth.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>
#include <system_error>

#include "hcl/hcl.h"

namespace arca::hcl {

namespace {

enum class Tok {
  kEof,
  kIdent,
  kString,  // quoted string or heredoc; `text` holds the decoded value
  kInt,
  kFloat,
  kBool,
  kNull,
  kLBrace,
  kRBrace,
  kLBrack,
  kRBrack,
  kComma,
  kAssign,
  kColon,
};

const char* TokName(Tok t) {
  switch (t) {
    case Tok::kEof: return "end of input";
    case Tok::kIdent: return "identifier";
    case Tok::kString: return "string";
    case Tok::kInt: return "number";
    case Tok::kFloat: return "number";
    case Tok::kBool: return "bool";
    case Tok::kNull: return "null";
    case Tok::kLBrace: return "'{'";
    case Tok::kRBrace: return "'}'";
    case Tok::kLBrack: return "'['";
    case Tok::kRBrack: return "']'";
    case Tok::kComma: return "','";
    case Tok::kAssign: return "'='";
    case Tok::kColon: return "':'";
  }
  return "token";
}

struct Token {
  Tok type = Tok::kEof;
  std::string text;  // identifier text or decoded string
  int64_t ival = 0;
  double fval = 0;
  bool bval = false;
  int line = 1;
  int col = 1;
};

// Thrown only inside this file and always caught by Parse.
struct ParseFailure {
  int line;
  int col;
  std::string message;
};

bool IsDigit(int c) { return c >= '0' && c <= '9'; }
bool IsHex(int c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsLetter(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}
int HexVal(int c) {
  if (IsDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Scanner {
 public:
  Scanner(std::string_view src, bool json) : src_(src), json_(json) {}

  Token Next() {
    SkipSpaceAndComments();
    Token t;
    t.line = line_;
    t.col = col_;
    if (pos_ >= src_.size()) return t;
    int c = Peek();
    if (IsLetter(c)) {
      ScanIdent(t);
    } else if (IsDigit(c) || (c == '-' && IsDigit(Peek(1)))) {
      ScanNumber(t);
    } else if (c == '"') {
      Advance();
      ScanString(t);
    } else if (c == '<' && Peek(1) == '<' && !json_) {
      ScanHeredoc(t);
    } else {
      Advance();
      switch (c) {
        case '{': t.type = Tok::kLBrace; break;
        case '}': t.type = Tok::kRBrace; break;
        case '[': t.type = Tok::kLBrack; break;
        case ']': t.type = Tok::kRBrack; break;
        case ',': t.type = Tok::kComma; break;
        case '=':
          if (json_) Fail(t, "illegal char '='");
          t.type = Tok::kAssign;
          break;
        case ':':
          if (!json_) Fail(t, "illegal char ':'");
          t.type = Tok::kColon;
          break;
        default:
          Fail(t, IllegalChar(c));
      }
    }
    return t;
  }

 private:
  int Peek(std::size_t ahead = 0) const {
    return pos_ + ahead < src_.size() ? static_cast<unsigned char>(src_[pos_ + ahead]) : -1;
  }
  void Advance() {
    if (pos_ >= src_.size()) return;
    if (src_[pos_] == '\n') {
      ++line_;
      col_ = 1;
    } else {
      ++col_;
    }
    ++pos_;
  }
  [[noreturn]] void Fail(int line, int col, std::string msg) const {
    throw ParseFailure{line, col, std::move(msg)};
  }
  [[noreturn]] void Fail(const Token& t, std::string msg) const {
    Fail(t.line, t.col, std::move(msg));
  }
  static std::string IllegalChar(int c) {
    if (c >= 0x20 && c < 0x7F) return std::string("illegal char '") + static_cast<char>(c) + "'";
    char buf[32];
    std::snprintf(buf, sizeof buf, "illegal char 0x%02x", c);
    return buf;
  }

  void SkipSpaceAndComments() {
    for (;;) {
      int c = Peek();
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        Advance();
      } else if (c == '#' || (c == '/' && Peek(1) == '/')) {
        while (pos_ < src_.size() && src_[pos_] != '\n') Advance();
      } else if (c == '/' && Peek(1) == '*') {
        int line = line_, col = col_;
        Advance();
        Advance();
        for (;;) {
          if (pos_ >= src_.size()) Fail(line, col, "comment not terminated");
          if (Peek() == '*' && Peek(1) == '/') {
            Advance();
            Advance();
            break;
          }
          Advance();
        }
      } else {
        return;
      }
    }
  }

  void ScanIdent(Token& t) {
    std::size_t start = pos_;
    while (IsLetter(Peek()) || IsDigit(Peek()) || Peek() == '-' || Peek() == '.') Advance();
    t.text.assign(src_.substr(start, pos_ - start));
    if (t.text == "true" || t.text == "false") {
      t.type = Tok::kBool;
      t.bval = t.text == "true";
    } else if (json_ && t.text == "null") {
      t.type = Tok::kNull;
    } else if (json_) {
      Fail(t, "invalid JSON token \"" + t.text.substr(0, 32) + "\"");
    } else {
      t.type = Tok::kIdent;
    }
  }

  void ScanNumber(Token& t) {
    std::size_t start = pos_;
    bool neg = Peek() == '-';
    if (neg) Advance();
    bool is_float = false;
    int base = 10;
    if (!json_ && Peek() == '0' && (Peek(1) == 'x' || Peek(1) == 'X')) {
      Advance();
      Advance();
      base = 16;
      if (!IsHex(Peek())) Fail(t, "illegal hexadecimal number");
      while (IsHex(Peek())) Advance();
    } else {
      if (!json_ && Peek() == '0' && IsDigit(Peek(1))) base = 8;
      while (IsDigit(Peek())) Advance();
      if (Peek() == '.' && IsDigit(Peek(1))) {
        is_float = true;
        Advance();
        while (IsDigit(Peek())) Advance();
      }
      if (Peek() == 'e' || Peek() == 'E') {
        std::size_t k = 1;
        if (Peek(1) == '+' || Peek(1) == '-') k = 2;
        if (IsDigit(Peek(k))) {
          is_float = true;
          for (std::size_t j = 0; j < k; ++j) Advance();
          while (IsDigit(Peek())) Advance();
        }
      }
    }
    std::string_view text = src_.substr(start, pos_ - start);
    t.text.assign(text);
    if (is_float) {
      double v = 0;
      auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || p != text.data() + text.size() || !std::isfinite(v))
        Fail(t, "invalid number " + t.text.substr(0, 40));
      t.type = Tok::kFloat;
      t.fval = v;
      return;
    }
    std::string_view digits = text.substr(neg ? 1 : 0);
    if (base == 16) digits.remove_prefix(2);
    if (base == 8) {
      for (char c : digits)
        if (c == '8' || c == '9') Fail(t, "illegal octal number " + t.text.substr(0, 40));
    }
    uint64_t mag = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), mag, base);
    uint64_t limit = neg ? uint64_t(INT64_MAX) + 1 : uint64_t(INT64_MAX);
    if (ec != std::errc() || p != digits.data() + digits.size() || mag > limit)
      Fail(t, "invalid number " + t.text.substr(0, 40));
    t.type = Tok::kInt;
    t.ival = neg ? static_cast<int64_t>(0 - mag) : static_cast<int64_t>(mag);
  }

  // Reads `n` hex digits of an escape.
  uint32_t HexDigits(const Token& t, int n) {
    uint32_t v = 0;
    for (int k = 0; k < n; ++k) {
      if (!IsHex(Peek())) Fail(line_, col_, "invalid escape sequence in string");
      v = v * 16 + HexVal(Peek());
      Advance();
    }
    (void)t;
    return v;
  }

  // After the opening quote.
  void ScanString(Token& t) {
    t.type = Tok::kString;
    int braces = 0;  // inside ${ ... } interpolation, quotes do not end the string
    for (;;) {
      int c = Peek();
      if (c < 0) Fail(t, "literal not terminated");
      if (c == '\n' && braces == 0) Fail(t, "literal not terminated");
      if (c == '"' && braces == 0) {
        Advance();
        return;
      }
      if (c == '\\') {
        ScanEscape(t);
        continue;
      }
      if (!json_) {
        if (braces == 0 && c == '$' && Peek(1) == '{') {
          braces = 1;
          t.text += "${";
          Advance();
          Advance();
          continue;
        }
        if (braces > 0 && c == '{') ++braces;
        if (braces > 0 && c == '}') --braces;
      } else if (c < 0x20) {
        Fail(line_, col_, "invalid control character in string");
      }
      t.text += static_cast<char>(c);
      Advance();
    }
  }

  void ScanEscape(Token& t) {
    Advance();  // the backslash
    int c = Peek();
    if (c < 0) Fail(t, "literal not terminated");
    Advance();
    switch (c) {
      case '"': t.text += '"'; return;
      case '\\': t.text += '\\'; return;
      case 'b': t.text += '\b'; return;
      case 'f': t.text += '\f'; return;
      case 'n': t.text += '\n'; return;
      case 'r': t.text += '\r'; return;
      case 't': t.text += '\t'; return;
      case 'u': {
        uint32_t cp = HexDigits(t, 4);
        if (cp >= 0xD800 && cp <= 0xDBFF && Peek() == '\\' && Peek(1) == 'u') {
          Advance();
          Advance();
          uint32_t lo = HexDigits(t, 4);
          if (lo >= 0xDC00 && lo <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else {
            AppendUtf8(t.text, 0xFFFD);
            cp = lo;
          }
        }
        AppendUtf8(t.text, cp);
        return;
      }
      default:
        break;
    }
    if (json_) {
      if (c == '/') {
        t.text += '/';
        return;
      }
      Fail(line_, col_ - 1, "invalid escape sequence in string");
    }
    switch (c) {
      case 'a': t.text += '\a'; return;
      case 'v': t.text += '\v'; return;
      case 'x': t.text += static_cast<char>(HexDigits(t, 2)); return;
      case 'U': AppendUtf8(t.text, HexDigits(t, 8)); return;
      default: break;
    }
    if (c >= '0' && c <= '7') {
      uint32_t v = c - '0';
      for (int k = 0; k < 2; ++k) {
        if (Peek() < '0' || Peek() > '7') Fail(line_, col_, "invalid octal escape in string");
        v = v * 8 + (Peek() - '0');
        Advance();
      }
      if (v > 255) Fail(line_, col_, "invalid octal escape in string");
      t.text += static_cast<char>(v);
      return;
    }
    Fail(line_, col_ - 1, "invalid escape sequence in string");
  }

  // <<EOF / <<-EOF, through the line holding only the anchor (leading
  // whitespace allowed). With '-', the anchor line's indentation is removed
  // from every content line when they all carry it.
  void ScanHeredoc(Token& t) {
    Advance();
    Advance();
    bool indent = false;
    if (Peek() == '-') {
      indent = true;
      Advance();
    }
    std::size_t start = pos_;
    while (IsLetter(Peek()) || IsDigit(Peek())) Advance();
    std::string_view anchor = src_.substr(start, pos_ - start);
    if (anchor.empty()) Fail(t, "zero-length heredoc anchor");
    while (Peek() == '\r') Advance();
    if (Peek() != '\n') Fail(line_, col_, "heredoc expected newline after anchor");
    Advance();
    std::vector<std::string_view> lines;
    std::string_view anchor_indent;
    for (;;) {
      if (pos_ >= src_.size()) Fail(t, "heredoc not terminated");
      std::size_t ls = pos_;
      while (pos_ < src_.size() && src_[pos_] != '\n') Advance();
      std::string_view line = src_.substr(ls, pos_ - ls);
      bool had_newline = pos_ < src_.size();
      if (had_newline) Advance();
      std::string_view trimmed = line;
      std::size_t ws = 0;
      while (ws < trimmed.size() && (trimmed[ws] == ' ' || trimmed[ws] == '\t')) ++ws;
      trimmed.remove_prefix(ws);
      while (!trimmed.empty() && trimmed.back() == '\r') trimmed.remove_suffix(1);
      if (trimmed == anchor) {
        anchor_indent = line.substr(0, ws);
        break;
      }
      if (!had_newline) Fail(t, "heredoc not terminated");
      lines.push_back(line);
    }
    bool strip = indent && !anchor_indent.empty();
    if (strip) {
      for (std::string_view l : lines)
        if (!l.empty() && l.substr(0, anchor_indent.size()) != anchor_indent) strip = false;
    }
    t.type = Tok::kString;
    for (std::string_view l : lines) {
      if (strip && !l.empty()) l.remove_prefix(anchor_indent.size());
      t.text.append(l);
      t.text += '\n';
    }
  }

  std::string_view src_;
  bool json_;
  std::size_t pos_ = 0;
  int line_ = 1;
  int col_ = 1;
};

class Parser {
 public:
  Parser(std::string_view src, bool json) : scanner_(src, json), json_(json) { Shift(); }

  Value ParseDocument() {
    Value root;
    root.kind = Kind::kObject;
    root.line = 1;
    if (json_) {
      if (tok_.type != Tok::kLBrace) Fail("expected a JSON object");
      root = JsonObject(0);
      if (tok_.type != Tok::kEof) Fail("unexpected " + Describe(tok_) + " after the JSON object");
      return root;
    }
    root.items = ObjectList(/*nested=*/false, 0);
    return root;
  }

 private:
  void Shift() { tok_ = scanner_.Next(); }
  [[noreturn]] void Fail(std::string msg) const {
    throw ParseFailure{tok_.line, tok_.col, std::move(msg)};
  }
  static std::string Describe(const Token& t) {
    if (t.type == Tok::kIdent) return "identifier " + Quote(t.text.substr(0, 64));
    return TokName(t.type);
  }
  void CheckDepth(int depth) const {
    if (depth >= kMaxDepth) Fail("nesting too deep (limit " + std::to_string(kMaxDepth) + ")");
  }

  // HCL: items until EOF (top level) or '}' (nested); commas between items
  // are optional.
  std::vector<Item> ObjectList(bool nested, int depth) {
    std::vector<Item> items;
    for (;;) {
      if (tok_.type == Tok::kEof) {
        if (nested) Fail("object not closed: expected '}', got end of input");
        break;
      }
      if (nested && tok_.type == Tok::kRBrace) break;
      items.push_back(ObjectItem(depth));
      if (tok_.type == Tok::kComma) Shift();
    }
    return items;
  }

  Item ObjectItem(int depth) {
    Item item;
    while (tok_.type == Tok::kIdent || tok_.type == Tok::kString) {
      item.keys.push_back(Key{std::move(tok_.text), tok_.line});
      Shift();
    }
    if (item.keys.empty())
      Fail("expected a key (identifier or string), got " + Describe(tok_));
    if (tok_.type == Tok::kAssign) {
      if (item.keys.size() > 1)
        Fail("nested object expected: '{' after key " + Quote(item.keys.back().text) +
             ", got '='");
      item.assign = true;
      Shift();
      item.value = HclValue(depth);
    } else if (tok_.type == Tok::kLBrace) {
      item.value = HclObject(depth);
    } else {
      Fail("expected '=' or '{' after key " + Quote(item.keys.back().text) + ", got " +
           Describe(tok_));
    }
    return item;
  }

  Value HclObject(int depth) {
    CheckDepth(depth);
    Value v;
    v.kind = Kind::kObject;
    v.line = tok_.line;
    Shift();  // '{'
    v.items = ObjectList(/*nested=*/true, depth + 1);
    Shift();  // '}'
    return v;
  }

  Value HclValue(int depth) {
    switch (tok_.type) {
      case Tok::kLBrace: return HclObject(depth);
      case Tok::kLBrack: return List(depth);
      case Tok::kInt:
      case Tok::kFloat:
      case Tok::kBool:
      case Tok::kString: return Literal();
      default: Fail("expected a value, got " + Describe(tok_));
    }
  }

  Value Literal() {
    Value v;
    v.line = tok_.line;
    switch (tok_.type) {
      case Tok::kInt: v.kind = Kind::kInt; v.i = tok_.ival; break;
      case Tok::kFloat: v.kind = Kind::kFloat; v.f = tok_.fval; break;
      case Tok::kBool: v.kind = Kind::kBool; v.b = tok_.bval; break;
      case Tok::kString: v.kind = Kind::kString; v.s = std::move(tok_.text); break;
      case Tok::kNull: v.kind = Kind::kNull; break;
      default: Fail("expected a value, got " + Describe(tok_));
    }
    Shift();
    return v;
  }

  // '[' elements ']' with ',' between them and an optional trailing ','.
  Value List(int depth) {
    CheckDepth(depth);
    Value v;
    v.kind = Kind::kList;
    v.line = tok_.line;
    Shift();  // '['
    for (;;) {
      if (tok_.type == Tok::kRBrack) break;
      v.list.push_back(json_ ? JsonValue(depth + 1) : HclValue(depth + 1));
      if (tok_.type == Tok::kComma) {
        Shift();
        if (json_ && tok_.type == Tok::kRBrack) Fail("trailing ',' in JSON list");
        continue;
      }
      if (tok_.type == Tok::kRBrack) break;
      Fail("expected ',' or ']' in list, got " + Describe(tok_));
    }
    Shift();  // ']'
    return v;
  }

  Value JsonValue(int depth) {
    switch (tok_.type) {
      case Tok::kLBrace: return JsonObject(depth);
      case Tok::kLBrack: return List(depth);
      case Tok::kInt:
      case Tok::kFloat:
      case Tok::kBool:
      case Tok::kNull:
      case Tok::kString: return Literal();
      default: Fail("expected a JSON value, got " + Describe(tok_));
    }
  }

  Value JsonObject(int depth) {
    CheckDepth(depth);
    Value v;
    v.kind = Kind::kObject;
    v.line = tok_.line;
    Shift();  // '{'
    if (tok_.type == Tok::kRBrace) {
      Shift();
      return v;
    }
    for (;;) {
      if (tok_.type != Tok::kString) Fail("expected a string key, got " + Describe(tok_));
      Item item;
      item.assign = true;
      item.keys.push_back(Key{std::move(tok_.text), tok_.line});
      Shift();
      if (tok_.type != Tok::kColon) Fail("expected ':' after object key, got " + Describe(tok_));
      Shift();
      item.value = JsonValue(depth + 1);
      v.items.push_back(std::move(item));
      if (tok_.type == Tok::kComma) {
        Shift();
        continue;
      }
      if (tok_.type == Tok::kRBrace) break;
      Fail("expected ',' or '}' in object, got " + Describe(tok_));
    }
    Shift();  // '}'
    return v;
  }

  Scanner scanner_;
  bool json_;
  Token tok_;
};

bool LooksLikeJson(std::string_view text) {
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    return c == '{';
  }
  return false;
}

}  // namespace

StatusOr<Value> Parse(std::string_view text, Syntax syntax, Error* error) {
  auto fail = [&](int line, int col, std::string msg) -> Status {
    std::string full = "At " + std::to_string(line) + ":" + std::to_string(col) + ": " + msg;
    if (error) *error = Error{line, col, std::move(msg)};
    return InvalidArgument(std::move(full));
  };
  if (text.size() > kMaxInputBytes)
    return fail(1, 1, "input too large (" + std::to_string(text.size()) + " bytes, limit " +
                          std::to_string(kMaxInputBytes) + ")");
  if (text.find('\0') != std::string_view::npos) {
    std::size_t at = text.find('\0');
    int line = 1;
    for (std::size_t k = 0; k < at; ++k)
      if (text[k] == '\n') ++line;
    return fail(line, 0, "NUL byte in input");
  }
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte order mark
  bool json = syntax == Syntax::kJson || (syntax == Syntax::kAuto && LooksLikeJson(text));
  try {
    Parser p(text, json);
    return p.ParseDocument();
  } catch (const ParseFailure& f) {
    return fail(f.line, f.col, f.message);
  } catch (const std::bad_alloc&) {
    return fail(1, 0, "out of memory");
  } catch (const std::exception& e) {
    return fail(1, 0, e.what());
  }
}

}  // namespace arca::hcl
