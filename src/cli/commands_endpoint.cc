// arca CLI: `arca endpoint watch`, the seed's generic-endpoint cron script
// as a small daemon, for sites that want an outside check besides the
// active node publishing the name itself (src/dns).
//
// Every -interval it probes GET <node>/v1/sys/health on every node at once
// (each probe bounded by -timeout) and, by dns::ChooseTarget, points the
// name at the pinned node, else keeps the current target while it is
// healthy (or, with -follow-active, while it is the active), else moves it
// to the active node or a healthy standby. The update goes through the
// same updaters as the server's `dns` stanza (dns::UpdateOnce), configured
// by -config=FILE (one `dns` stanza) or flags; secrets only from files, never
// on the command line. A failed update is retried on the next round.
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <fstream>
#include <future>
#include <optional>
#include <set>
#include <sstream>

#include "base/clock.h"
#include "base/time.h"
#include "cli/command.h"
#include "dns/publisher.h"
#include "dns/stanza.h"
#include "dns/watcher.h"

namespace arca::cli {
namespace {

struct WatchNode {
  std::string url;                     // without a trailing '/'
  std::vector<std::string> addresses;  // from -node-address; empty: resolve the URL's host
};

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s + ",") {
    if (c == ',') {
      while (!cur.empty() && cur.back() == ' ') cur.pop_back();
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else if (c != ' ' || !cur.empty()) {
      cur += c;
    }
  }
  return out;
}

std::string TrimSlash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

// The host of an http(s) URL ("[::1]" -> "::1").
std::string UrlHost(const std::string& url) {
  std::size_t start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  std::string rest = url.substr(start);
  if (!rest.empty() && rest.front() == '[') {
    std::size_t close = rest.find(']');
    return close == std::string::npos ? rest : rest.substr(1, close - 1);
  }
  return rest.substr(0, rest.find_first_of(":/?"));
}

// The node's A and AAAA addresses, as the seed's gethostbyname did.
StatusOr<std::vector<std::string>> Resolve(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0) return Unavailable("resolving " + host + ": " + gai_strerror(rc));
  std::vector<std::string> out;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    char buf[NI_MAXHOST] = {};
    if (::getnameinfo(ai->ai_addr, ai->ai_addrlen, buf, sizeof buf, nullptr, 0, NI_NUMERICHOST) != 0)
      continue;
    if (std::find(out.begin(), out.end(), buf) == out.end()) out.push_back(buf);
  }
  ::freeaddrinfo(res);
  if (out.empty()) return Unavailable("resolving " + host + ": no address");
  return out;
}

StatusOr<dns::StanzaConfig> StanzaFromFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return InvalidArgument(path + ": cannot read");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (text.size() > hcl::kMaxInputBytes) return InvalidArgument(path + ": file too large");
  hcl::Error err;
  auto root = hcl::Parse(text, hcl::Syntax::kAuto, &err);
  if (!root.ok()) return InvalidArgument(path + ":" + std::to_string(err.line) + ": " + err.message);
  auto blocks = hcl::Blocks(*root, "dns", 1, &err);
  if (!blocks.ok()) return InvalidArgument(path + ":" + std::to_string(err.line) + ": " + err.message);
  if (blocks->size() != 1)
    return InvalidArgument(path + ": expected exactly one dns stanza, found " +
                           std::to_string(blocks->size()));
  for (const auto& item : root->items)
    if (item.name() != "dns")
      return InvalidArgument(path + ":" + std::to_string(item.line()) + ": unknown key " +
                             hcl::Quote(item.name()) + " (only a dns stanza is expected)");
  ARCA_ASSIGN_OR_RETURN(dns::StanzaConfig s, dns::ParseStanza((*blocks)[0], path, false));
  ARCA_RETURN_IF_ERROR(dns::LoadSecretFiles(s, path));
  return s;
}

struct UpdaterFlags {
  std::string updater, hostname, server, zone, tsig_key_name, tsig_algorithm, tsig_secret_file;
  std::string url, username, password_file, ca_file;
  int64_t ttl = 60;
  int64_t dns_timeout = 5;
};

StatusOr<dns::StanzaConfig> StanzaFromFlags(const UpdaterFlags& f) {
  dns::StanzaConfig s;
  dns::PublisherConfig& p = s.publisher;
  p.updater = f.updater;
  p.hostname = f.hostname;
  p.ttl = f.ttl;
  p.timeout = std::chrono::seconds(f.dns_timeout);
  p.server = f.server;
  p.zone = f.zone;
  p.tsig_key_name = f.tsig_key_name;
  if (!f.tsig_algorithm.empty()) p.tsig_algorithm = f.tsig_algorithm;
  s.tsig_secret_file = f.tsig_secret_file;
  p.url = f.url;
  p.username = f.username;
  s.password_file = f.password_file;
  p.ca_file = f.ca_file;
  ARCA_RETURN_IF_ERROR(dns::LoadSecretFiles(s, "flags"));
  return s;
}

std::string Now() { return FormatRfc3339Nano(RealClock().SystemNow()); }

const char* HealthName(dns::NodeHealth h) {
  switch (h) {
    case dns::NodeHealth::kActive: return "active";
    case dns::NodeHealth::kStandby: return "standby";
    default: return "down";
  }
}

int EndpointWatch(Command& c, const std::vector<std::string>& raw) {
  std::string nodes_flag, config_file, pin;
  std::vector<std::string> node_addresses;
  int64_t interval = 5, timeout = 4;
  bool once = false, follow_active = false;
  UpdaterFlags uf;
  FlagSet& f = c.flags();
  f.Section("Watch Options");
  f.String("nodes", &nodes_flag, "",
           Usage("Comma-separated API addresses of every node, e.g. "
                 "https://a:8200,https://b:8200 (required)."));
  f.StringSlice("node-address", &node_addresses,
                Usage("URL=IP: the address to publish for a node (repeatable; default: the "
                      "addresses the node URL's host resolves to)."));
  f.Duration("interval", &interval, 5, Usage("How often to probe the nodes."));
  f.Duration("timeout", &timeout, 4, Usage("Timeout of one sys/health probe."));
  f.String("pin", &pin, "",
           Usage("Node URL to keep the name on while it is healthy (planned maintenance)."));
  f.Bool("follow-active", &follow_active, false,
         Usage("Move the name to the active node even while the current target is a healthy "
               "standby."));
  f.Bool("once", &once, false, Usage("Probe and update once, then exit (0: the name points at a "
                                     "healthy node; 2: it could not be)."));
  f.Section("Updater Options");
  f.String("config", &config_file, "",
           Usage("File with one dns stanza, as in the server config (addresses not needed)."));
  f.String("updater", &uf.updater, "", Usage("rfc2136 or dyndns2 (without -config)."));
  f.String("hostname", &uf.hostname, "", Usage("The generic name."));
  f.Int("ttl", &uf.ttl, 60, Usage("TTL of the records, in seconds."));
  f.Duration("dns-timeout", &uf.dns_timeout, 5, Usage("Timeout of one DNS update."));
  f.String("server", &uf.server, "", Usage("rfc2136: primary server host[:port]."));
  f.String("zone", &uf.zone, "", Usage("rfc2136: zone (default: the hostname's parent)."));
  f.String("tsig-key-name", &uf.tsig_key_name, "", Usage("rfc2136: TSIG key name."));
  f.String("tsig-algorithm", &uf.tsig_algorithm, "", Usage("rfc2136: TSIG algorithm (hmac-sha256)."));
  f.String("tsig-secret-file", &uf.tsig_secret_file, "",
           Usage("rfc2136: BIND key file or a file holding the base64 secret."));
  f.String("url", &uf.url, "", Usage("dyndns2: update URL, e.g. https://nsupdate.fedcloud.eu/nic/update."));
  f.String("username", &uf.username, "", Usage("dyndns2: user (default: the hostname)."));
  f.String("password-file", &uf.password_file, "", Usage("dyndns2: file holding the password."));
  f.String("dns-ca-file", &uf.ca_file, "", Usage("dyndns2: CA file for the update URL."));
  if (auto rc = c.ParseNoArgs(raw)) return *rc;

  std::vector<WatchNode> nodes;
  for (const auto& u : SplitList(nodes_flag)) nodes.push_back({TrimSlash(u), {}});
  if (nodes.empty()) {
    c.ui().Error("-nodes is required (e.g. -nodes=https://a:8200,https://b:8200)");
    return 1;
  }
  for (const auto& na : node_addresses) {
    std::size_t eq = na.rfind('=');
    std::string url = eq == std::string::npos ? "" : TrimSlash(na.substr(0, eq));
    auto it = std::find_if(nodes.begin(), nodes.end(), [&](const WatchNode& n) { return n.url == url; });
    if (it == nodes.end()) {
      c.ui().Error("-node-address " + na + ": expected URL=IP with a URL from -nodes");
      return 1;
    }
    it->addresses.push_back(na.substr(eq + 1));
  }
  std::optional<std::size_t> pin_index;
  if (!pin.empty()) {
    for (std::size_t i = 0; i < nodes.size(); ++i)
      if (nodes[i].url == TrimSlash(pin)) pin_index = i;
    if (!pin_index) {
      c.ui().Error("-pin " + pin + " is not one of -nodes");
      return 1;
    }
  }
  if (interval <= 0 || timeout <= 0) {
    c.ui().Error("-interval and -timeout must be positive");
    return 1;
  }
  if (!config_file.empty() && (!uf.updater.empty() || !uf.hostname.empty())) {
    c.ui().Error("give -config or the updater flags, not both");
    return 1;
  }
  auto stanza = config_file.empty() ? StanzaFromFlags(uf) : StanzaFromFile(config_file);
  if (!stanza.ok()) {
    c.ui().Error("Error loading the updater settings: " + stanza.status().message());
    return 1;
  }
  const dns::PublisherConfig& updater = stanza->publisher;
  for (const auto& n : nodes)
    for (const auto& a : n.addresses) {
      dns::PublisherConfig probe = updater;
      probe.addresses = {a};
      if (Status st = dns::Validate(probe); !st.ok()) {
        c.ui().Error("-node-address " + n.url + "=" + a + ": " + st.message());
        return 1;
      }
    }

  HttpOptions http;
  http.tls.ca_cert = c.globals().ca_cert;
  http.tls.ca_path = c.globals().ca_path;
  http.tls.client_cert = c.globals().client_cert;
  http.tls.client_key = c.globals().client_key;
  http.tls.server_name = c.globals().tls_server_name;
  http.tls.skip_verify = c.globals().tls_skip_verify;
  http.timeout_seconds = timeout;
  http.max_body_bytes = 64 * 1024;
  Env& env = c.env();
  if (!env.make_transport) {
    c.ui().Error("no HTTP transport");
    return 2;
  }

  std::optional<std::size_t> current;
  bool published = false;  // the name was set to `current` by us
  c.ui().Output(Now() + " watching " + std::to_string(nodes.size()) + " nodes for " +
                updater.hostname + " (" + updater.updater + ")");
  while (true) {
    std::vector<std::future<long>> probes;
    for (const auto& n : nodes) {
      probes.push_back(std::async(std::launch::async, [&env, &http, url = n.url]() -> long {
        auto t = env.make_transport(http);
        HttpRequest req{"GET", url + "/v1/sys/health", {{"X-Vault-Request", "true"}}, std::nullopt};
        auto resp = t->Send(req);
        return resp.ok() ? resp->status : 0;
      }));
    }
    std::vector<dns::NodeHealth> health;
    for (auto& p : probes) health.push_back(dns::HealthFromHttpStatus(p.get()));
    std::optional<std::size_t> target = dns::ChooseTarget(health, current, pin_index, follow_active);
    int rc = 0;
    if (!target) {
      std::string states;
      for (std::size_t i = 0; i < nodes.size(); ++i)
        states += (i ? ", " : "") + nodes[i].url + " " + HealthName(health[i]);
      c.ui().Error(Now() + " no healthy node (" + states + "): raise alarm");
      rc = 2;
    } else if (target != current || !published) {
      const WatchNode& n = nodes[*target];
      StatusOr<std::vector<std::string>> addrs = n.addresses;
      if (addrs->empty()) addrs = Resolve(UrlHost(n.url));
      std::string result;
      Status st = addrs.ok() ? dns::UpdateOnce(updater, *addrs, &result) : addrs.status();
      if (st.ok()) {
        std::string list;
        for (const auto& a : *addrs) list += (list.empty() ? "" : ",") + a;
        c.ui().Output(Now() + " " + updater.hostname + " -> " + n.url + " (" +
                      HealthName(health[*target]) + ") " + list + ": " + result);
        current = target;
        published = true;
      } else {
        c.ui().Error(Now() + " pointing " + updater.hostname + " at " + n.url + " failed (" +
                     (result.empty() ? "error" : result) + "): " + st.message());
        published = false;
        rc = 2;
      }
    }
    if (once) return rc;
    if (env.sleep) env.sleep(interval * 1000);
  }
}

}  // namespace

const std::vector<CommandDef>& EndpointCommands() {
  static const std::vector<CommandDef> defs = {
      {"endpoint", "Keep the generic DNS name on a healthy node",
       "Usage: arca endpoint <subcommand> [options]\n\n"
       "  The active node publishes the generic name itself (the server's dns stanza).\n"
       "  `endpoint watch` is an outside check for sites that want one as well.",
       nullptr},
      {"endpoint watch", "Point the generic DNS name at the active node when the target fails",
       "Usage: arca endpoint watch -nodes=URL,URL [options]\n\n"
       "  Probes every node's sys/health each -interval and points the generic name at\n"
       "  the active node (or a healthy standby) when the current target fails, with\n"
       "  the updater of a dns stanza (-config=FILE) or the updater flags. With -pin the\n"
       "  name stays on that node while it is healthy (planned maintenance: set\n"
       "  pause_file on the servers so the active does not move it back).\n\n"
       "      $ arca endpoint watch -nodes=https://a:8200,https://b:8200 \\\n"
       "          -config=/etc/arca/endpoint.hcl -interval=5s -timeout=4s",
       EndpointWatch},
  };
  return defs;
}

}  // namespace arca::cli
