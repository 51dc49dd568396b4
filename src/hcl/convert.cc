// arca: walking the HCL tree: block extraction (HCL and JSON shapes alike),
// conversion to nlohmann::json, quoting for messages.
#include <cstdio>
#include <map>

#include "hcl/hcl.h"

namespace arca::hcl {

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kNull: return "null";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "number";
    case Kind::kFloat: return "number";
    case Kind::kString: return "string";
    case Kind::kList: return "list";
    case Kind::kObject: return "object";
  }
  return "value";
}

std::string Quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

namespace {

struct BlockCollector {
  std::string_view name;
  std::size_t want;
  std::vector<Block>* out;
  Error* error;
  Status status;

  bool Fail(int line, std::string msg) {
    if (error) *error = Error{line, 0, msg};
    status = InvalidArgument("line " + std::to_string(line) + ": " + msg);
    return false;
  }

  bool LabelCountError(int line, std::size_t got) {
    return Fail(line, "block " + Quote(name) + " expects " + std::to_string(want) +
                          " label(s), got " + std::to_string(got));
  }

  static bool IsBlockish(const Value& v) {
    if (v.is_object()) return true;
    if (!v.is_list() || v.list.empty()) return false;
    for (const Value& e : v.list)
      if (!e.is_object()) return false;
    return true;
  }

  // `value` sits below `labels`; `line` is where the block was named.
  bool Collect(const Value& value, std::vector<Key>& labels, int line) {
    if (labels.size() > want) return LabelCountError(line, labels.size());
    if (value.is_list()) {
      if (!IsBlockish(value))
        return Fail(value.line, "block " + Quote(name) + ": expected an object, got " +
                                    KindName(value.kind));
      for (const Value& e : value.list)
        if (!Collect(e, labels, line)) return false;
      return true;
    }
    if (!value.is_object())
      return Fail(value.line,
                  "block " + Quote(name) + ": expected an object, got " + KindName(value.kind));
    if (labels.size() == want) {
      out->push_back(Block{labels, &value, line});
      return true;
    }
    for (const Item& sub : value.items) {
      if (!IsBlockish(sub.value)) return LabelCountError(line, labels.size());
      std::size_t before = labels.size();
      labels.insert(labels.end(), sub.keys.begin(), sub.keys.end());
      bool ok = Collect(sub.value, labels, line);
      labels.resize(before);
      if (!ok) return false;
    }
    return true;
  }
};

// Adds `v` at the key path of `item` into the object `obj`.
void Insert(nlohmann::json& obj, const Item& item, nlohmann::json v,
            std::map<std::string, int>& block_counts) {
  nlohmann::json* target = &obj;
  for (std::size_t k = 0; k + 1 < item.keys.size(); ++k) {
    nlohmann::json& next = (*target)[item.keys[k].text];
    if (!next.is_object()) next = nlohmann::json::object();
    target = &next;
  }
  const std::string& leaf = item.keys.back().text;
  if (item.assign) {
    (*target)[leaf] = std::move(v);
    return;
  }
  std::string id;
  for (const Key& k : item.keys) {
    id += k.text;
    id += '\0';
  }
  int& count = block_counts[id];
  ++count;
  nlohmann::json& slot = (*target)[leaf];
  if (count == 1 || !(slot.is_object() || slot.is_array())) {
    slot = std::move(v);
    count = 1;
  } else if (count == 2) {
    nlohmann::json first = std::move(slot);
    slot = nlohmann::json::array({std::move(first), std::move(v)});
  } else {
    slot.push_back(std::move(v));
  }
}

}  // namespace

StatusOr<std::vector<Block>> Blocks(const Value& object, std::string_view name,
                                    std::size_t labels, Error* error) {
  std::vector<Block> out;
  BlockCollector c{name, labels, &out, error, {}};
  for (const Item& item : object.items) {
    if (item.name() != name) continue;
    std::vector<Key> ls(item.keys.begin() + 1, item.keys.end());
    if (!c.Collect(item.value, ls, item.line())) return c.status;
  }
  return out;
}

nlohmann::json ToJson(const Value& value) {
  switch (value.kind) {
    case Kind::kNull: return nullptr;
    case Kind::kBool: return value.b;
    case Kind::kInt: return value.i;
    case Kind::kFloat: return value.f;
    case Kind::kString: return value.s;
    case Kind::kList: {
      nlohmann::json arr = nlohmann::json::array();
      for (const Value& e : value.list) arr.push_back(ToJson(e));
      return arr;
    }
    case Kind::kObject: {
      nlohmann::json obj = nlohmann::json::object();
      std::map<std::string, int> block_counts;
      for (const Item& item : value.items) Insert(obj, item, ToJson(item.value), block_counts);
      return obj;
    }
  }
  return nullptr;
}

}  // namespace arca::hcl
