// arca CLI: KV v1/v2 detection and path rewriting.
#include "cli/args.h"
#include "cli/kv_paths.h"

#include <cctype>

namespace arca::cli {
namespace {

bool HasPrefix(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::string_view TrimPrefix(std::string_view s, std::string_view p) {
  return HasPrefix(s, p) ? s.substr(p.size()) : s;
}

std::string_view TrimSuffix(std::string_view s, std::string_view suf) {
  if (s.size() >= suf.size() && s.substr(s.size() - suf.size()) == suf)
    return s.substr(0, s.size() - suf.size());
  return s;
}

}  // namespace

std::string EnsureTrailingSlash(std::string_view s) {
  std::string t = Trim(s);
  if (t.empty()) return t;
  if (t.back() != '/') t += '/';
  return t;
}

std::string EnsureNoTrailingSlash(std::string_view s) {
  std::string t = Trim(s);
  while (!t.empty() && t.back() == '/') t.pop_back();
  return t;
}

std::string EnsureNoLeadingSlash(std::string_view s) {
  std::string t = Trim(s);
  std::size_t i = 0;
  while (i < t.size() && t[i] == '/') ++i;
  return t.substr(i);
}

std::string SanitizePath(std::string_view s) { return EnsureNoTrailingSlash(EnsureNoLeadingSlash(s)); }

std::string GoPathClean(std::string_view p) {
  if (p.empty()) return ".";
  bool rooted = p[0] == '/';
  std::vector<std::string_view> parts;
  std::size_t i = 0;
  while (i <= p.size()) {
    std::size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    std::string_view elem = p.substr(i, j - i);
    if (elem.empty() || elem == ".") {
      // skip
    } else if (elem == "..") {
      if (!parts.empty() && parts.back() != "..") parts.pop_back();
      else if (!rooted) parts.push_back(elem);
    } else {
      parts.push_back(elem);
    }
    i = j + 1;
  }
  std::string out = rooted ? "/" : "";
  for (std::size_t k = 0; k < parts.size(); ++k) {
    if (k > 0) out += '/';
    out += parts[k];
  }
  if (out.empty()) return ".";
  return out;
}

std::string GoPathJoin(const std::vector<std::string_view>& elems) {
  std::string joined;
  bool any = false;
  for (auto e : elems) {
    if (e.empty()) continue;
    if (any) joined += '/';
    joined += e;
    any = true;
  }
  if (!any) return "";
  return GoPathClean(joined);
}

std::string AddPrefixToKvPath(std::string_view path, std::string_view mount_path,
                              std::string_view api_prefix, bool skip_if_exists) {
  if (path == mount_path || path == TrimSuffix(mount_path, "/"))
    return GoPathJoin({mount_path, api_prefix});
  std::string mount(mount_path);
  std::string suffix(TrimPrefix(path, mount));
  while (suffix == path) {
    // The mount path may carry leading parts (namespaces) that the path does not.
    auto slash = mount.find('/');
    if (slash == std::string::npos || slash + 1 >= mount.size()) break;
    mount = std::string(TrimSuffix(std::string_view(mount).substr(slash + 1), "/"));
    suffix = std::string(TrimPrefix(suffix, mount));
  }
  if (skip_if_exists) {
    if (HasPrefix(suffix, api_prefix) || HasPrefix(suffix, "/" + std::string(api_prefix)))
      return GoPathJoin({mount, suffix});
  }
  return GoPathJoin({mount, api_prefix, suffix});
}

std::vector<std::string> ParseVersionsFlags(const std::vector<std::string>& versions) {
  std::vector<std::string> out;
  for (const auto& v : versions) {
    std::size_t start = 0;
    while (start <= v.size()) {
      std::size_t comma = v.find(',', start);
      if (comma == std::string::npos) comma = v.size();
      std::string part = Trim(std::string_view(v).substr(start, comma - start));
      if (!part.empty()) out.push_back(part);
      start = comma + 1;
    }
  }
  return out;
}

StatusOr<KvMount> KvPreflight(Client& client, std::string_view path) {
  auto resp = client.Raw("GET", "sys/internal/ui/mounts/" + std::string(path));
  if (!resp.ok()) return resp.status();
  if (resp->status == 404) return KvMount{"", 1};
  if (resp->status >= 400) return ResponseErrorStatus(*resp);
  auto secret = ParseSecret(resp->body);
  if (!secret.ok()) return secret.status();
  if (!*secret) return Internal("nil response from pre-flight request");
  const Json& data = Field(**secret, "data");
  KvMount out;
  if (const Json& p = Field(data, "path"); p.is_string()) out.mount_path = p.get<std::string>();
  const Json& version = Field(Field(data, "options"), "version");
  if ((version.is_string() && version.get<std::string>() == "2") ||
      (version.is_number_integer() && version.get<int64_t>() == 2))
    out.version = 2;
  return out;
}

}  // namespace arca::cli
