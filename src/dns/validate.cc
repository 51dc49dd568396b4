// arca: dns::Validate and the name, address and algorithm checks it uses.
#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>

#include "base/encoding.h"
#include "base/secure.h"
#include "dns/internal/ldns.h"
#include "dns/internal/updaters.h"
#include "dns/publisher.h"

namespace arca::dns {

namespace internal {

bool IsIpv4(std::string_view s) {
  if (s.empty() || s.size() > 15) return false;
  std::string z(s);
  in_addr a{};
  return inet_pton(AF_INET, z.c_str(), &a) == 1;
}

bool IsIpv6(std::string_view s) {
  if (s.empty() || s.size() > 45) return false;
  std::string z(s);
  in6_addr a{};
  return inet_pton(AF_INET6, z.c_str(), &a) == 1;
}

bool IsDnsName(std::string_view s) {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  if (s.empty() || s.size() > 253) return false;
  std::size_t label = 0;
  for (char c : s) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
    if (++label > 63) return false;
  }
  return label > 0;
}

std::string Absolute(std::string_view name) {
  std::string out(name);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (out.empty() || out.back() != '.') out += '.';
  return out;
}

std::string ParentZone(std::string_view name) {
  std::string abs = Absolute(name);
  std::size_t dot = abs.find('.');
  if (dot == std::string::npos || dot + 1 >= abs.size()) return ".";
  return abs.substr(dot + 1);
}

namespace {

// The configured names and what ldns calls them on the wire.
const std::vector<std::pair<std::string, std::string>>& Candidates() {
  static const std::vector<std::pair<std::string, std::string>> kNames = {
      {"hmac-md5", "hmac-md5.sig-alg.reg.int."}, {"hmac-sha1", "hmac-sha1."},
      {"hmac-sha224", "hmac-sha224."},           {"hmac-sha256", "hmac-sha256."},
      {"hmac-sha384", "hmac-sha384."},           {"hmac-sha512", "hmac-sha512."},
  };
  return kNames;
}

// ldns knows an algorithm when it can sign an empty packet with it.
bool LdnsCanSign(const std::string& wire_name) {
  ldns_pkt* p = ldns_pkt_new();
  if (p == nullptr) return false;
  ldns_status st = ldns_pkt_tsig_sign(p, "probe.", "cHJvYmVwcm9iZQ==", 300, wire_name.c_str(),
                                      nullptr);
  ldns_pkt_free(p);
  return st == LDNS_STATUS_OK;
}

}  // namespace

std::string LdnsAlgorithm(std::string_view configured) {
  std::string name(configured);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!name.empty() && name.back() == '.') name.pop_back();
  if (name == "hmac-md5.sig-alg.reg.int") name = "hmac-md5";
  static std::mutex mu;
  static std::map<std::string, std::string> cache;
  std::lock_guard g(mu);
  if (auto it = cache.find(name); it != cache.end()) return it->second;
  std::string wire;
  for (const auto& [cfg, w] : Candidates())
    if (cfg == name && LdnsCanSign(w)) wire = w;
  if (cache.size() < 64) cache[name] = wire;
  return wire;
}

std::string SupportedAlgorithms() {
  std::string out;
  for (const auto& c : Candidates())
    if (!LdnsAlgorithm(c.first).empty()) out += (out.empty() ? "" : ", ") + c.first;
  return out;
}

}  // namespace internal

namespace {

using internal::IsDnsName;
using internal::IsIpv4;
using internal::IsIpv6;

// Set by Bad(): the key the last failure is about (for config messages).
thread_local std::string* failed_key = nullptr;

Status Bad(const char* key, const std::string& why) {
  if (failed_key != nullptr) *failed_key = key;
  return InvalidArgument(std::string(key) + ": " + why);
}

std::string Q(std::string_view s) { return "\"" + std::string(s.substr(0, 200)) + "\""; }

bool ValidServer(std::string_view s) {
  std::string_view host = s, port;
  if (!s.empty() && s.front() == '[') {
    std::size_t close = s.find(']');
    if (close == std::string_view::npos) return false;
    host = s.substr(1, close - 1);
    if (!IsIpv6(host)) return false;
    if (close + 1 == s.size()) return true;
    if (s[close + 1] != ':') return false;
    port = s.substr(close + 2);
  } else if (std::count(s.begin(), s.end(), ':') == 1) {
    std::size_t colon = s.find(':');
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  } else if (IsIpv6(s)) {
    return true;  // a bare IPv6 address: port 53
  }
  bool bracketed = !s.empty() && s.front() == '[';
  if (!bracketed && !IsIpv4(host) && !IsDnsName(host)) return false;
  if (!bracketed && s.find(':') == std::string_view::npos) return true;
  if (port.empty() || port.size() > 5) return false;
  int p = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    p = p * 10 + (c - '0');
  }
  return p > 0 && p <= 65535;
}

Status ValidateUrl(std::string_view url) {
  std::string_view rest;
  if (url.rfind("https://", 0) == 0) rest = url.substr(8);
  else if (url.rfind("http://", 0) == 0) rest = url.substr(7);
  else return Bad("url", "must start with http:// or https://");
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.empty()) return Bad("url", "has no host");
  if (authority.find('@') != std::string_view::npos)
    return Bad("url", "must not carry credentials; use username and password");
  if (url.find('#') != std::string_view::npos) return Bad("url", "must not have a fragment");
  for (char c : url)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f)
      return Bad("url", "contains a space or a non-ASCII byte");
  return OkStatus();
}

Status ValidateImpl(const PublisherConfig& c);

}  // namespace

Status Validate(const PublisherConfig& c) { return ValidateImpl(c); }

namespace internal {
Status ValidateNamingKey(const PublisherConfig& c, std::string* key) {
  failed_key = key;
  Status st = ValidateImpl(c);
  failed_key = nullptr;
  return st;
}
}  // namespace internal

namespace {

Status ValidateImpl(const PublisherConfig& c) {
  if (c.hostname.empty()) return Bad("hostname", "is required");
  if (!IsDnsName(c.hostname)) return Bad("hostname", Q(c.hostname) + " is not a DNS name");
  if (c.addresses.empty()) return Bad("addresses", "at least one address is required");
  if (c.addresses.size() > 16) return Bad("addresses", "at most 16 addresses");
  int v4 = 0, v6 = 0;
  for (const auto& a : c.addresses) {
    if (IsIpv4(a)) ++v4;
    else if (IsIpv6(a)) ++v6;
    else return Bad("addresses", Q(a) + " is not an IPv4 or IPv6 address");
  }
  if (c.ttl < 0 || c.ttl > 2147483647) return Bad("ttl", "must be between 0 and 2147483647");
  if (c.reassert.count() <= 0 || c.reassert > std::chrono::hours(24))
    return Bad("reassert", "must be between 1ms and 24h");
  if (c.timeout.count() <= 0 || c.timeout > std::chrono::minutes(1))
    return Bad("timeout", "must be between 1ms and 60s");
  if (c.updater == "rfc2136") {
    if (c.server.empty()) return Bad("server", "is required for rfc2136");
    if (!ValidServer(c.server)) return Bad("server", Q(c.server) + " is not host or host:port");
    if (!c.zone.empty()) {
      if (!IsDnsName(c.zone)) return Bad("zone", Q(c.zone) + " is not a DNS name");
      std::string host = internal::Absolute(c.hostname), zone = internal::Absolute(c.zone);
      if (host != zone && (host.size() <= zone.size() ||
                           host.compare(host.size() - zone.size() - 1, std::string::npos,
                                        "." + zone) != 0))
        return Bad("zone", Q(c.zone) + " does not contain " + Q(c.hostname));
    }
    if (c.tsig_key_name.empty()) return Bad("tsig_key_name", "is required for rfc2136");
    if (!IsDnsName(c.tsig_key_name))
      return Bad("tsig_key_name", Q(c.tsig_key_name) + " is not a DNS name");
    if (internal::LdnsAlgorithm(c.tsig_algorithm).empty())
      return Bad("tsig_algorithm", Q(c.tsig_algorithm) + " is not supported (this ldns knows " +
                                       internal::SupportedAlgorithms() + ")");
    if (c.tsig_secret.empty()) return Bad("tsig_secret", "is required for rfc2136");
    auto key = Base64Decode(c.tsig_secret);
    bool ok = key.has_value() && !key->empty();
    if (key) Wipe(*key);
    if (!ok) return Bad("tsig_secret", "is not base64 (as in a BIND key file)");
  } else if (c.updater == "dyndns2") {
    if (c.url.empty()) return Bad("url", "is required for dyndns2");
    ARCA_RETURN_IF_ERROR(ValidateUrl(c.url));
    if (c.password.empty()) return Bad("password", "is required for dyndns2");
    if (v4 > 1 || v6 > 1)
      return Bad("addresses", "dyndns2 sets one IPv4 and one IPv6 address at most");
    if (c.username.size() > 255) return Bad("username", "is too long");
  } else {
    return Bad("updater", Q(c.updater) + " is not one of \"rfc2136\", \"dyndns2\"");
  }
  return OkStatus();
}

}  // namespace

}  // namespace arca::dns
