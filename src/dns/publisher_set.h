// arca: dns::PublisherSet, a node's publishers (one per `dns` stanza with
// publish = true) as `arca server` wires them.
//
// Every publisher asks `may_publish` (the HA lease is held, or the single
// node is unsealed) and that its stanza's pause_file does not exist before
// each update. SetActive fans out to all of them. StatusJson is what
// sys/ha-status shows under data.dns:
//   [{"hostname","updater","addresses","publish","publishing","paused","last_result",
//     "last_ok","last_error","last_attempt","last_success",
//     "consecutive_failures"}]   (times RFC 3339, null when never)
// Thread-safe; Stop() (or the destructor) joins every publisher.
#pragma once

#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/metrics.h"
#include "base/status.h"
#include "dns/publisher.h"
#include "dns/stanza.h"

namespace arca::dns {

class PublisherSet {
 public:
  // Loads the stanzas' secret files (LoadSecretFiles; its errors) and
  // builds the publishers, not started. Stanzas with publish = false get no
  // publisher but are listed in StatusJson.
  static StatusOr<std::unique_ptr<PublisherSet>> Create(std::vector<StanzaConfig> stanzas,
                                                        std::string_view config_file,
                                                        std::function<bool()> may_publish,
                                                        Clock& clock, metrics::Registry& registry);
  ~PublisherSet();
  PublisherSet(const PublisherSet&) = delete;
  PublisherSet& operator=(const PublisherSet&) = delete;

  void Start();
  void Stop();
  void SetActive(bool active);
  nlohmann::json StatusJson() const;

 private:
  PublisherSet() = default;
  struct Entry {
    StanzaConfig stanza;  // secrets cleared once the publisher holds them
    std::unique_ptr<Publisher> publisher;  // null when publish = false
  };
  std::vector<Entry> entries_;
};

}  // namespace arca::dns
