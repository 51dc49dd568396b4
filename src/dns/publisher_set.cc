// arca: dns::PublisherSet.
#include "dns/publisher_set.h"

#include <sys/stat.h>

#include "base/secure.h"
#include "base/time.h"

namespace arca::dns {

namespace {

bool Exists(const std::string& path) {
  struct stat st {};
  return !path.empty() && ::stat(path.c_str(), &st) == 0;
}

nlohmann::json Time(int64_t unix_seconds) {
  if (unix_seconds == 0) return nullptr;
  return FormatRfc3339Nano(SystemTime(std::chrono::seconds(unix_seconds)));
}

}  // namespace

StatusOr<std::unique_ptr<PublisherSet>> PublisherSet::Create(std::vector<StanzaConfig> stanzas,
                                                             std::string_view config_file,
                                                             std::function<bool()> may_publish,
                                                             Clock& clock,
                                                             metrics::Registry& registry) {
  std::unique_ptr<PublisherSet> set(new PublisherSet());
  for (StanzaConfig& s : stanzas) {
    ARCA_RETURN_IF_ERROR(LoadSecretFiles(s, config_file));
    Entry e;
    if (s.publish) {
      std::string pause = s.pause_file;
      auto allowed = [may_publish, pause] {
        return (!may_publish || may_publish()) && !Exists(pause);
      };
      e.publisher = std::make_unique<Publisher>(s.publisher, allowed, clock, registry);
    }
    Wipe(s.publisher.tsig_secret);
    Wipe(s.publisher.password);
    s.publisher.tsig_secret.clear();
    s.publisher.password.clear();
    e.stanza = std::move(s);
    set->entries_.push_back(std::move(e));
  }
  return set;
}

PublisherSet::~PublisherSet() { Stop(); }

void PublisherSet::Start() {
  for (auto& e : entries_)
    if (e.publisher) e.publisher->Start();
}

void PublisherSet::Stop() {
  for (auto& e : entries_)
    if (e.publisher) e.publisher->Stop();
}

void PublisherSet::SetActive(bool active) {
  for (auto& e : entries_)
    if (e.publisher) e.publisher->SetActive(active);
}

nlohmann::json PublisherSet::StatusJson() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : entries_) {
    const PublisherConfig& c = e.stanza.publisher;
    PublisherStatus st;
    if (e.publisher) st = e.publisher->Status();
    out.push_back({{"hostname", c.hostname},
                   {"updater", c.updater},
                   {"addresses", c.addresses},
                   {"publish", e.stanza.publish},
                   {"publishing", st.publishing},
                   {"paused", Exists(e.stanza.pause_file)},
                   {"last_result", st.last_result},
                   {"last_ok", st.last_ok},
                   {"last_error", st.last_error},
                   {"last_attempt", Time(st.last_attempt_unix)},
                   {"last_success", Time(st.last_success_unix)},
                   {"consecutive_failures", st.failures}});
  }
  return out;
}

}  // namespace arca::dns
