// arca: IP address and CIDR matching for bound CIDRs. See cidr.h.
#include "base/cidr.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace arca {

namespace {

constexpr std::size_t kMaxEntryLength = 128;

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// The 4 (IPv4, also for v4-mapped IPv6) or 16 address bytes.
bool ParseIp(std::string_view text, std::string& bytes) {
  if (text.size() > 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  if (text.empty() || text.size() > kMaxEntryLength) return false;
  const std::string ip(text);
  unsigned char buf[16];
  if (inet_pton(AF_INET, ip.c_str(), buf) == 1) {
    bytes.assign(reinterpret_cast<char*>(buf), 4);
    return true;
  }
  if (inet_pton(AF_INET6, ip.c_str(), buf) == 1) {
    static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(buf, kMapped, sizeof(kMapped)) == 0) {
      bytes.assign(reinterpret_cast<char*>(buf + 12), 4);
    } else {
      bytes.assign(reinterpret_cast<char*>(buf), 16);
    }
    return true;
  }
  return false;
}

bool ParseCidr(std::string_view s, std::string& net, int& prefix) {
  std::string_view addr = TrimSpace(s);
  std::string_view bits;
  const auto slash = addr.find('/');
  if (slash != std::string_view::npos) {
    bits = addr.substr(slash + 1);
    addr = addr.substr(0, slash);
  }
  if (!ParseIp(addr, net)) return false;
  const int max = int(net.size()) * 8;
  if (slash == std::string_view::npos) {
    prefix = max;
    return true;
  }
  if (bits.empty() || bits.size() > 3 ||
      !std::all_of(bits.begin(), bits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  prefix = std::stoi(std::string(bits));
  return prefix <= max;
}

std::string Render(const std::string& net, int prefix) {
  char buf[INET6_ADDRSTRLEN];
  const int family = net.size() == 4 ? AF_INET : AF_INET6;
  if (inet_ntop(family, net.data(), buf, sizeof(buf)) == nullptr) return std::string();
  std::string out(buf);
  if (prefix != int(net.size()) * 8) out += "/" + std::to_string(prefix);
  return out;
}

}  // namespace

bool ValidCidr(std::string_view s) {
  std::string net;
  int prefix = 0;
  return ParseCidr(s, net, prefix);
}

bool AddressInCidrs(std::string_view ip, const std::vector<std::string>& cidrs) {
  std::string addr;
  if (!ParseIp(TrimSpace(ip), addr)) return false;
  for (const auto& c : cidrs) {
    std::string net;
    int prefix = 0;
    if (!ParseCidr(c, net, prefix) || net.size() != addr.size()) continue;
    bool match = true;
    for (int bit = 0; bit < prefix && match; ++bit) {
      const int byte = bit / 8, mask = 0x80 >> (bit % 8);
      match = (net[byte] & mask) == (addr[byte] & mask);
    }
    if (match) return true;
  }
  return false;
}

StatusOr<std::vector<std::string>> ParseAddrs(const std::vector<std::string>& entries) {
  std::vector<std::string> out;
  out.reserve(entries.size());
  for (const auto& e : entries) {
    std::string net;
    int prefix = 0;
    std::string rendered;
    if (ParseCidr(e, net, prefix)) rendered = Render(net, prefix);
    if (rendered.empty()) {
      return InvalidArgument("error parsing address \"" + e + "\": Unable to convert " + e +
                             " to an IPv4 or IPv6 address, or a UNIX Socket");
    }
    out.push_back(std::move(rendered));
  }
  return out;
}

}  // namespace arca
