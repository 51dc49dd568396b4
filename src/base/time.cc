#include "base/time.h"

#include <cmath>
#include <cstdio>
#include <ctime>

namespace arca {

std::optional<int64_t> ParseDurationSeconds(std::string_view s) {
  if (s.empty()) return std::nullopt;
  // Plain integer seconds.
  {
    std::size_t i = 0;
    bool neg = false;
    if (s[0] == '-' || s[0] == '+') {
      neg = s[0] == '-';
      i = 1;
    }
    if (i < s.size()) {
      bool digits = true;
      for (std::size_t j = i; j < s.size(); ++j)
        if (s[j] < '0' || s[j] > '9') digits = false;
      if (digits) {
        if (s.size() - i > 18) return std::nullopt;
        int64_t v = 0;
        for (std::size_t j = i; j < s.size(); ++j) v = v * 10 + (s[j] - '0');
        return neg ? -v : v;
      }
    }
  }
  std::size_t i = 0;
  bool neg = false;
  if (s[0] == '-' || s[0] == '+') {
    neg = s[0] == '-';
    i = 1;
  }
  if (i >= s.size()) return std::nullopt;
  if (s.substr(i) == "0") return 0;
  long double total = 0;  // seconds
  while (i < s.size()) {
    std::size_t start = i;
    long double v = 0;
    bool any = false;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      v = v * 10 + (s[i] - '0');
      ++i;
      any = true;
    }
    if (i < s.size() && s[i] == '.') {
      ++i;
      long double scale = 0.1L;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        v += (s[i] - '0') * scale;
        scale /= 10;
        ++i;
        any = true;
      }
    }
    if (!any || i == start) return std::nullopt;
    std::size_t ustart = i;
    while (i < s.size() && !(s[i] >= '0' && s[i] <= '9') && s[i] != '.') ++i;
    std::string_view unit = s.substr(ustart, i - ustart);
    long double mult;
    if (unit == "ns")
      mult = 1e-9L;
    else if (unit == "us" || unit == "\xc2\xb5s" || unit == "\xce\xbcs")
      mult = 1e-6L;
    else if (unit == "ms")
      mult = 1e-3L;
    else if (unit == "s")
      mult = 1;
    else if (unit == "m")
      mult = 60;
    else if (unit == "h")
      mult = 3600;
    else if (unit == "d")
      mult = 86400;
    else
      return std::nullopt;
    total += v * mult;
    // Go's time.Duration is int64 nanoseconds: "2562048h" is out of range
    // there, and Vault answers "invalid duration".
    if (total > 9223372036.854775807L) return std::nullopt;
  }
  int64_t secs = static_cast<int64_t>(std::floor(total));
  return neg ? -secs : secs;
}

std::string FormatGoDuration(int64_t seconds) {
  if (seconds == 0) return "0s";
  std::string out;
  uint64_t u = seconds < 0 ? uint64_t(-(seconds + 1)) + 1 : uint64_t(seconds);
  if (seconds < 0) out = "-";
  uint64_t h = u / 3600, m = (u % 3600) / 60, s = u % 60;
  if (h > 0)
    out += std::to_string(h) + "h" + std::to_string(m) + "m";
  else if (m > 0)
    out += std::to_string(m) + "m";
  out += std::to_string(s) + "s";
  return out;
}

std::string FormatRfc3339Nano(SystemTime t) {
  auto since = t.time_since_epoch();
  int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(since).count();
  int64_t secs = ns / 1000000000;
  int64_t frac = ns % 1000000000;
  if (frac < 0) {
    frac += 1000000000;
    secs -= 1;
  }
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  std::string out = buf;
  if (frac != 0) {
    char fb[16];
    std::snprintf(fb, sizeof fb, ".%09lld", static_cast<long long>(frac));
    std::string f = fb;
    while (!f.empty() && f.back() == '0') f.pop_back();
    out += f;
  }
  out += "Z";
  return out;
}

std::string ZeroTimeRfc3339() { return "0001-01-01T00:00:00Z"; }

std::optional<SystemTime> ParseRfc3339(std::string_view s) {
  int Y, M, D, h, m, sec;
  if (s.size() < 20) return std::nullopt;
  std::string str(s);
  if (std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &Y, &M, &D, &h, &m, &sec) != 6)
    return std::nullopt;
  std::size_t i = 19;
  int64_t nanos = 0;
  if (i < str.size() && str[i] == '.') {
    ++i;
    int digits = 0;
    while (i < str.size() && std::isdigit(static_cast<unsigned char>(str[i]))) {
      if (digits < 9) {
        nanos = nanos * 10 + (str[i] - '0');
        ++digits;
      }
      ++i;
    }
    while (digits++ < 9) nanos *= 10;
  }
  int offset = 0;
  if (i < str.size() && (str[i] == 'Z' || str[i] == 'z')) {
    ++i;
  } else if (i + 5 < str.size() + 0 || i + 6 == str.size()) {
    int oh, om;
    char sign = str[i];
    if ((sign != '+' && sign != '-') || std::sscanf(str.c_str() + i + 1, "%2d:%2d", &oh, &om) != 2)
      return std::nullopt;
    offset = (oh * 3600 + om * 60) * (sign == '-' ? -1 : 1);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != str.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = Y - 1900;
  tm.tm_mon = M - 1;
  tm.tm_mday = D;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = sec;
  std::time_t tt = timegm(&tm);
  SystemTime t = std::chrono::system_clock::from_time_t(tt - offset);
  return t + std::chrono::duration_cast<SystemTime::duration>(std::chrono::nanoseconds(nanos));
}

}  // namespace arca
