// arca auth/jwt: userinfo fetch, merge and cache.
#include "auth/jwt/userinfo.h"

#include "auth/jwt/fetch.h"
#include "base/encoding.h"
#include "base/secure.h"

namespace arca::auth::jwt {

StatusOr<Json> FetchUserinfo(const std::string& endpoint, std::string_view bearer,
                             const std::string& ca_pem) {
  HttpRequest req;
  req.url = endpoint;
  req.ca_pem = ca_pem;
  req.headers = {{"Authorization", "Bearer " + std::string(bearer)},
                 {"Accept", "application/json"}};
  auto resp = Fetch(req);
  Wipe(req.headers[0].second);
  if (!resp.ok()) return resp.status();
  if (resp->status != 200) {
    return InvalidArgument("userinfo request failed: " + StatusLine(resp->status));
  }
  if (resp->content_type == "application/jwt") {
    return InvalidArgument("userinfo responses in JWT form are not supported");
  }
  Json j = Json::parse(resp->body, nullptr, false);
  if (!j.is_object()) return InvalidArgument("userinfo response is not a JSON object");
  return j;
}

Status CheckUserinfoSubject(const Json& claims, const Json& userinfo) {
  if (!claims.is_object() || !userinfo.is_object()) {
    return InvalidArgument("userinfo response is not a JSON object");
  }
  auto sub = userinfo.find("sub");
  if (sub == userinfo.end() || !sub->is_string()) {
    return InvalidArgument("userinfo response has no sub claim");
  }
  auto token_sub = claims.find("sub");
  if (token_sub == claims.end() || !token_sub->is_string() || *token_sub != *sub) {
    return InvalidArgument("userinfo sub claim does not match the token's sub claim");
  }
  return OkStatus();
}

Status MergeUserinfo(Json& claims, const Json& userinfo, std::string_view groups_claim) {
  ARCA_RETURN_IF_ERROR(CheckUserinfoSubject(claims, userinfo));
  std::string groups_key(groups_claim);
  if (!groups_key.empty() && groups_key.front() == '/') {
    groups_key = groups_key.substr(1, groups_key.find('/', 1) - 1);
    // RFC 6901 escapes in the segment.
    std::string unescaped;
    for (std::size_t i = 0; i < groups_key.size(); ++i) {
      if (groups_key[i] == '~' && i + 1 < groups_key.size()) {
        unescaped += groups_key[i + 1] == '1' ? '/' : '~';
        ++i;
      } else {
        unescaped += groups_key[i];
      }
    }
    groups_key = unescaped;
  }
  for (auto it = userinfo.begin(); it != userinfo.end(); ++it) {
    if (!claims.contains(it.key()) || (!groups_key.empty() && it.key() == groups_key)) {
      claims[it.key()] = it.value();
    }
  }
  return OkStatus();
}

std::optional<Json> UserinfoCache::Get(std::string_view token) const {
  const std::string key = Sha256(token);
  std::lock_guard l(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.expires <= clock_.UnixNow()) return std::nullopt;
  return it->second.claims;
}

void UserinfoCache::Put(std::string_view token, Json userinfo, int64_t expires_unix) {
  const int64_t now = clock_.UnixNow();
  if (expires_unix <= now || max_ == 0) return;
  const std::string key = Sha256(token);
  std::lock_guard l(mu_);
  auto erase = [this](std::map<std::string, Entry>::iterator it) {
    auto range = by_expiry_.equal_range(it->second.expires);
    for (auto e = range.first; e != range.second; ++e) {
      if (e->second == it->first) {
        by_expiry_.erase(e);
        break;
      }
    }
    entries_.erase(it);
  };
  if (auto it = entries_.find(key); it != entries_.end()) erase(it);
  while (!by_expiry_.empty() && by_expiry_.begin()->first <= now) {
    entries_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
  }
  while (entries_.size() >= max_) {
    entries_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
  }
  entries_[key] = Entry{std::move(userinfo), expires_unix};
  by_expiry_.emplace(expires_unix, key);
}

std::size_t UserinfoCache::SizeForTest() const {
  std::lock_guard l(mu_);
  return entries_.size();
}

}  // namespace arca::auth::jwt
