#include "storage/backend.h"

namespace arca::storage {

StatusOr<std::vector<std::string>> ListRecursive(Backend& b, std::string_view prefix,
                                                 std::size_t limit) {
  std::vector<std::string> out;
  std::vector<std::string> dirs{""};
  while (!dirs.empty()) {
    std::string dir = std::move(dirs.back());
    dirs.pop_back();
    ARCA_ASSIGN_OR_RETURN(auto keys, b.List(std::string(prefix) + dir));
    for (auto& k : keys) {
      if (!k.empty() && k.back() == '/') {
        dirs.push_back(dir + k);
      } else {
        out.push_back(dir + k);
        if (out.size() > limit) return Status(Code::kResourceExhausted, "too many keys");
      }
    }
  }
  return out;
}

Status DeletePrefix(Backend& b, std::string_view prefix) {
  ARCA_ASSIGN_OR_RETURN(auto keys, ListRecursive(b, prefix));
  for (const auto& k : keys) ARCA_RETURN_IF_ERROR(b.Delete(std::string(prefix) + k));
  return OkStatus();
}

namespace {
bool HasDotDot(std::string_view key) {
  std::size_t start = 0;
  while (start <= key.size()) {
    std::size_t end = key.find('/', start);
    if (end == std::string_view::npos) end = key.size();
    if (key.substr(start, end - start) == "..") return true;
    start = end + 1;
  }
  return false;
}
}  // namespace

StatusOr<std::string> View::Full(std::string_view key) const {
  if (HasDotDot(key)) return InvalidArgument("invalid path: '..' segment");
  std::string full = prefix_;
  full.append(key);
  return full;
}

StatusOr<std::optional<std::string>> View::Get(std::string_view key) {
  ARCA_ASSIGN_OR_RETURN(auto full, Full(key));
  return parent_.Get(full);
}

StatusOr<std::optional<std::string>> View::GetForUpdate(std::string_view key) {
  ARCA_ASSIGN_OR_RETURN(auto full, Full(key));
  return parent_.GetForUpdate(full);
}

StatusOr<std::optional<std::string>> View::GuessForUpdate(std::string_view key) {
  ARCA_ASSIGN_OR_RETURN(auto full, Full(key));
  return parent_.GuessForUpdate(full);
}

Status View::Put(std::string_view key, std::string_view value) {
  ARCA_ASSIGN_OR_RETURN(auto full, Full(key));
  return parent_.Put(full, value);
}

Status View::Delete(std::string_view key) {
  ARCA_ASSIGN_OR_RETURN(auto full, Full(key));
  return parent_.Delete(full);
}

StatusOr<std::vector<std::string>> View::List(std::string_view prefix) {
  ARCA_ASSIGN_OR_RETURN(auto full, Full(prefix));
  return parent_.List(full);
}

Status View::Txn(const std::vector<Condition>& conditions, const std::vector<Op>& ops) {
  std::vector<Condition> c = conditions;
  std::vector<Op> o = ops;
  for (auto& x : c) {
    ARCA_ASSIGN_OR_RETURN(x.key, Full(x.key));
  }
  for (auto& x : o) {
    ARCA_ASSIGN_OR_RETURN(x.key, Full(x.key));
  }
  return parent_.Txn(c, o);
}

}  // namespace arca::storage
