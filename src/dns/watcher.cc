// arca: the decision rule of `arca endpoint watch`.
#include "dns/watcher.h"

namespace arca::dns {

NodeHealth HealthFromHttpStatus(long status) {
  if (status == 200) return NodeHealth::kActive;
  if (status == 429 || status == 473) return NodeHealth::kStandby;
  return NodeHealth::kDown;
}

std::optional<std::size_t> ChooseTarget(const std::vector<NodeHealth>& health,
                                        std::optional<std::size_t> current,
                                        std::optional<std::size_t> pin, bool follow_active) {
  auto healthy = [&](std::optional<std::size_t> i) {
    return i && *i < health.size() && health[*i] != NodeHealth::kDown;
  };
  std::optional<std::size_t> active, standby;
  for (std::size_t i = 0; i < health.size(); ++i) {
    if (health[i] == NodeHealth::kActive && !active) active = i;
    if (health[i] == NodeHealth::kStandby && !standby) standby = i;
  }
  if (healthy(pin)) return pin;
  if (healthy(current) && !(follow_active && active && *active != *current)) return current;
  if (active) return active;
  return standby;
}

}  // namespace arca::dns
