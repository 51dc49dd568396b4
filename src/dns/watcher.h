// arca: the decision rule of `arca endpoint watch` (src/cli/commands_endpoint.cc),
// the outside check that points the generic name at a healthy node, as the
// seed's cron script did but every few seconds. Pure functions, safe for
// concurrent use.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

namespace arca::dns {

enum class NodeHealth { kActive, kStandby, kDown };

// sys/health's status: 200 active, 429 (standby) and 473 (performance
// standby) standby; anything else, or no answer (0), down.
NodeHealth HealthFromHttpStatus(long status);

// The node the name should point at:
//   1. the pinned node while it is healthy (active or standby);
//   2. the current target while it is healthy, unless follow_active and
//      another node is the active (the seed's rule: move only on failure);
//   3. the active node; 4. the first healthy standby;
//   5. nullopt: no node is healthy (raise an alarm, leave the name).
// `current` and `pin` are indexes into `health` (out of range: ignored).
std::optional<std::size_t> ChooseTarget(const std::vector<NodeHealth>& health,
                                        std::optional<std::size_t> current,
                                        std::optional<std::size_t> pin, bool follow_active);

}  // namespace arca::dns
