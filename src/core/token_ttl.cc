// arca: token TTL arithmetic. See token_ttl.h.
#include "core/token_ttl.h"

#include <algorithm>

#include "base/time.h"

namespace arca::core {

std::string HumanDuration(int64_t seconds) {
  if (seconds == 0) return "0s";
  std::string s = FormatGoDuration(seconds);
  auto ends_with = [&s](std::string_view suf) {
    return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
  };
  if (ends_with("m0s")) s.resize(s.size() - 2);
  if (auto idx = s.find("h0m"); idx != std::string::npos && idx > 0) {
    s = s.substr(0, idx + 1) + s.substr(idx + 3);
  }
  return s;
}

StatusOr<int64_t> CalculateTtl(const TtlInputs& in, std::vector<std::string>* warnings) {
  auto warn = [warnings](std::string w) {
    if (warnings) warnings->push_back(std::move(w));
  };
  const int64_t now = in.now;
  const int64_t start = in.start_time == 0 ? now : in.start_time;

  int64_t max_ttl = in.mount_max_ttl;
  if (in.backend_max_ttl > 0 && in.backend_max_ttl < max_ttl) max_ttl = in.backend_max_ttl;
  if (in.explicit_max_ttl > 0 && in.explicit_max_ttl < max_ttl) max_ttl = in.explicit_max_ttl;
  if (max_ttl <= 0) return Internal("max TTL must be greater than zero");

  int64_t ttl = 0;
  bool bounded = false;
  int64_t max_valid_time = 0;
  if (in.period > 0) {
    int64_t period = in.period;
    if (period > max_ttl) {
      warn("period of \"" + HumanDuration(period) + "\" exceeded the effective max_ttl of \"" +
           HumanDuration(max_ttl) + "\"; period value is capped accordingly");
      period = max_ttl;
    }
    ttl = period;
    if (in.explicit_max_ttl > 0) {
      bounded = true;
      max_valid_time = start + in.explicit_max_ttl;
    }
  } else {
    if (in.increment > 0) {
      ttl = in.increment;
    } else if (in.backend_ttl > 0) {
      ttl = in.backend_ttl;
    } else {
      ttl = in.mount_default_ttl;
    }
    bounded = true;
    max_valid_time = start + max_ttl;
  }

  if (bounded) {
    int64_t max_valid_ttl = max_valid_time - now;
    if (max_valid_ttl <= 0) return InvalidArgument("past the max TTL, cannot renew");
    if (ttl > max_valid_ttl) {
      warn("TTL of \"" + HumanDuration(ttl) + "\" exceeded the effective max_ttl of \"" +
           HumanDuration(max_valid_ttl) + "\"; TTL value is capped accordingly");
      ttl = max_valid_ttl;
    }
  }
  return ttl;
}

StatusOr<int64_t> CreationTtl(const CreateTtlInputs& in, std::vector<std::string>* warnings) {
  int64_t ttl = in.ttl > 0 ? in.ttl : in.role_ttl;
  if (in.period > 0 || ttl > 0 || !in.root) {
    TtlInputs t;
    t.backend_ttl = ttl;
    t.period = in.period;
    t.backend_max_ttl = in.role_max_ttl;
    t.explicit_max_ttl = in.explicit_max_ttl;
    t.mount_default_ttl = in.mount_default_ttl;
    t.mount_max_ttl = in.mount_max_ttl;
    t.start_time = in.now;
    t.now = in.now;
    ARCA_ASSIGN_OR_RETURN(ttl, CalculateTtl(t, warnings));
  }
  // Root tokens are still bound by an explicit max TTL.
  if (ttl == 0 && in.explicit_max_ttl > 0) ttl = in.explicit_max_ttl;
  return ttl;
}

}  // namespace arca::core
