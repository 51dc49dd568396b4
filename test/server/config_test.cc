#include "server/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace arca::server {
namespace {

ServerConfig MustParse(std::string_view text, std::string_view file = "config.hcl") {
  auto c = ParseConfig(text, file);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  if (!c.ok()) return ServerConfig{};
  return *std::move(c);
}

std::string Err(std::string_view text, std::string_view file = "config.hcl") {
  auto c = ParseConfig(text, file);
  EXPECT_FALSE(c.ok()) << text;
  if (c.ok()) return "";
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
  return c.status().message();
}

constexpr char kStorage[] = "storage \"inmem\" {}\n";
constexpr char kListener[] = "listener \"tcp\" {\n  tls_disable = true\n}\n";

TEST(ConfigTest, FullHclConfig) {
  ServerConfig c = MustParse(R"(# arca server
listener "tcp" {
  address              = "0.0.0.0:8200"
  tls_cert_file        = "/etc/arca/cert.pem"
  tls_key_file         = "/etc/arca/key.pem"
  tls_min_version      = "tls13"
  max_request_size     = 1048576
  max_request_duration = "30s"
}
listener "tcp" {
  address     = "[::1]:8300"
  tls_disable = 1
  max_request_size = -1
  max_request_duration = 15
}
storage "file" {
  path = "/var/lib/arca"
}
api_addr          = "https://arca.example:8200"
cluster_addr      = "https://arca.example:8201"
cluster_name      = "prod"
ui                = true
log_level         = "err"
disable_mlock     = "true"
default_lease_ttl = "1h"
max_lease_ttl     = "48h"
)");
  EXPECT_EQ(c.file, "config.hcl");
  ASSERT_EQ(c.listeners.size(), 2u);
  const ListenerConfig& a = c.listeners[0];
  EXPECT_EQ(a.type, "tcp");
  EXPECT_EQ(a.address, "0.0.0.0:8200");
  EXPECT_FALSE(a.tls_disable);
  EXPECT_EQ(a.tls_cert_file, "/etc/arca/cert.pem");
  EXPECT_EQ(a.tls_key_file, "/etc/arca/key.pem");
  EXPECT_EQ(a.tls_min_version, "tls13");
  EXPECT_EQ(a.max_request_size, 1048576);
  EXPECT_EQ(a.max_request_duration, 30);
  EXPECT_EQ(a.line, 2);
  const ListenerConfig& b = c.listeners[1];
  EXPECT_EQ(b.address, "[::1]:8300");
  EXPECT_TRUE(b.tls_disable);
  EXPECT_EQ(b.max_request_size, -1);
  EXPECT_EQ(b.max_request_duration, 15);
  EXPECT_EQ(b.tls_min_version, "tls12");
  EXPECT_EQ(c.storage.type, "file");
  EXPECT_EQ(c.storage.options.at("path"), "/var/lib/arca");
  EXPECT_EQ(c.storage.option_lines.at("path"), 17);
  EXPECT_EQ(c.storage.line, 16);
  EXPECT_EQ(c.api_addr, "https://arca.example:8200");
  EXPECT_EQ(c.cluster_addr, "https://arca.example:8201");
  EXPECT_EQ(c.cluster_name, "prod");
  EXPECT_TRUE(c.ui);
  EXPECT_EQ(c.log_level, "error");
  EXPECT_TRUE(c.disable_mlock);
  EXPECT_EQ(c.default_lease_ttl, 3600);
  EXPECT_EQ(c.max_lease_ttl, 48 * 3600);
}

TEST(ConfigTest, Defaults) {
  ServerConfig c = MustParse(std::string(kListener) + kStorage);
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].address, "127.0.0.1:8200");
  EXPECT_EQ(c.listeners[0].max_request_size, 32 << 20);
  EXPECT_EQ(c.listeners[0].max_request_duration, 90);
  EXPECT_EQ(c.storage.type, "inmem");
  EXPECT_TRUE(c.storage.options.empty());
  EXPECT_EQ(c.log_level, "info");
  EXPECT_FALSE(c.ui);
  EXPECT_EQ(c.default_lease_ttl, 768 * 3600);
  EXPECT_EQ(c.max_lease_ttl, 768 * 3600);
  ServerConfig z = MustParse(std::string(kListener) + kStorage +
                             "default_lease_ttl = 0\nmax_lease_ttl = \"0s\"\n");
  EXPECT_EQ(z.default_lease_ttl, 768 * 3600);
  ServerConfig m = MustParse(
      "listener \"tcp\" {\n tls_disable = true\n max_request_size = 0\n max_request_duration = 0\n}\n" +
      std::string(kStorage));
  EXPECT_EQ(m.listeners[0].max_request_size, 32 << 20);
  EXPECT_EQ(m.listeners[0].max_request_duration, 90);
}

TEST(ConfigTest, LegacyBackendStanza) {
  ServerConfig c = MustParse(std::string(kListener) + "backend \"file\" { path = \"/d\" }\n");
  EXPECT_EQ(c.storage.type, "file");
  EXPECT_EQ(c.storage.options.at("path"), "/d");
}

TEST(ConfigTest, JsonConfigByExtension) {
  ServerConfig c = MustParse(R"({
  "listener": [
    {"tcp": {"address": "127.0.0.1:8200", "tls_disable": true}},
    {"tcp": {"address": "127.0.0.1:8300", "tls_disable": "1", "max_request_duration": "2m"}}
  ],
  "storage": {"file": {"path": "/data"}},
  "ui": false,
  "log_level": "debug",
  "max_lease_ttl": "100h",
  "default_lease_ttl": 3600
})",
                             "config.json");
  ASSERT_EQ(c.listeners.size(), 2u);
  EXPECT_EQ(c.listeners[1].address, "127.0.0.1:8300");
  EXPECT_EQ(c.listeners[1].max_request_duration, 120);
  EXPECT_EQ(c.storage.options.at("path"), "/data");
  EXPECT_EQ(c.storage.line, 6);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.default_lease_ttl, 3600);
  EXPECT_EQ(c.max_lease_ttl, 360000);
}

TEST(ConfigTest, JsonConfigByFirstCharacter) {
  ServerConfig c = MustParse(
      R"(  {"listener": {"tcp": {"tls_disable": true}}, "storage": {"inmem": {}}})", "arca.conf");
  EXPECT_EQ(c.storage.type, "inmem");
  EXPECT_TRUE(c.listeners[0].tls_disable);
  // A .json file must be JSON.
  EXPECT_EQ(Err("storage \"inmem\" {}\n", "x.json").rfind("x.json:1: ", 0), 0u);
}

TEST(ConfigTest, UnknownKeysNameFileLineAndStanza) {
  EXPECT_EQ(Err("storage \"inmem\" {}\nlistener \"tcp\" {\n  tls_disable = true\n  adress = \"x\"\n}\n"),
            "config.hcl:4: unknown key \"adress\" in listener \"tcp\"");
  EXPECT_EQ(Err(std::string(kListener) + kStorage + "\napi_adr = \"x\"\n"),
            "config.hcl:6: unknown key \"api_adr\"");
  EXPECT_EQ(Err(std::string(kListener) + "storage \"file\" {\n path = \"/x\"\n  paht = \"/y\"\n}\n"),
            "config.hcl:6: unknown key \"paht\" in storage \"file\"");
  EXPECT_EQ(Err(std::string(kListener) + "storage \"inmem\" {\n  path = \"/x\"\n}\n"),
            "config.hcl:5: unknown key \"path\" in storage \"inmem\"");
  EXPECT_EQ(Err(std::string(kListener) + kStorage + "telemetry {\n}\n"),
            "config.hcl:5: unknown key \"telemetry\"");
  EXPECT_EQ(Err(R"({"listener": {"tcp": {"tls_disable": true}},
"storage": {"inmem": {}},
"bogus": 1})", "c.json"),
            "c.json:3: unknown key \"bogus\"");
}

TEST(ConfigTest, WrongTypes) {
  EXPECT_EQ(Err(std::string(kStorage) + "listener \"tcp\" {\n  tls_disable = [true]\n}\n"),
            "config.hcl:3: invalid value for \"tls_disable\" in listener \"tcp\": expected a bool, "
            "got list");
  EXPECT_EQ(Err(std::string(kListener) + kStorage + "ui = \"maybe\"\n"),
            "config.hcl:5: invalid value for \"ui\": expected a bool, got string");
  EXPECT_EQ(Err(std::string(kListener) + kStorage + "api_addr = 8200\n"),
            "config.hcl:5: invalid value for \"api_addr\": expected a string, got number");
  EXPECT_EQ(Err(std::string(kListener) + "storage \"file\" {\n  path = true\n}\n"),
            "config.hcl:5: invalid value for \"path\" in storage \"file\": expected a string, got "
            "bool");
  EXPECT_EQ(Err(std::string(kStorage) +
                "listener \"tcp\" {\n tls_disable = true\n max_request_size = \"big\"\n}\n"),
            "config.hcl:4: invalid value for \"max_request_size\" in listener \"tcp\": expected an "
            "integer, got string");
  EXPECT_EQ(Err(std::string(kStorage) +
                "listener \"tcp\" {\n tls_disable = true\n address = \"localhost\"\n}\n"),
            "config.hcl:4: invalid value for \"address\" in listener \"tcp\": expected host:port");
  EXPECT_EQ(Err(std::string(kStorage) +
                "listener \"tcp\" {\n tls_disable = true\n tls_min_version = \"tls10\"\n}\n"),
            "config.hcl:4: invalid value for \"tls_min_version\" in listener \"tcp\": \"tls10\" is "
            "not one of \"tls12\", \"tls13\"");
  EXPECT_EQ(Err(std::string(kListener) + kStorage + "log_level = \"verbose\"\n"),
            "config.hcl:5: invalid value for \"log_level\": \"verbose\" is not one of trace, debug, "
            "info, warn, err, error");
}

TEST(ConfigTest, BadDurations) {
  EXPECT_EQ(Err(std::string(kListener) + kStorage + "max_lease_ttl = \"5 weeks\"\n"),
            "config.hcl:5: invalid value for \"max_lease_ttl\": invalid duration \"5 weeks\"");
  EXPECT_EQ(Err(std::string(kListener) + kStorage + "\ndefault_lease_ttl = \"-1h\"\n"),
            "config.hcl:6: invalid value for \"default_lease_ttl\": negative duration");
  EXPECT_EQ(Err(std::string(kStorage) +
                "listener \"tcp\" {\n tls_disable = true\n max_request_duration = \"soon\"\n}\n"),
            "config.hcl:4: invalid value for \"max_request_duration\" in listener \"tcp\": invalid "
            "duration \"soon\"");
}

TEST(ConfigTest, StorageStanzaRules) {
  EXPECT_EQ(Err(std::string(kListener) + "\nstorage \"consul\" {}\n"),
            "config.hcl:5: unknown storage type \"consul\"");
  EXPECT_EQ(Err(std::string(kListener)),
            "config.hcl: no storage stanza (e.g. storage \"file\" { path = \"...\" })");
  EXPECT_EQ(Err(std::string(kListener) + kStorage + "backend \"file\" { path = \"/x\" }\n"),
            "config.hcl:5: only one storage stanza is allowed (another is on line 4)");
  EXPECT_EQ(Err(std::string(kListener) + "storage \"file\" {\n}\n"),
            "config.hcl:4: storage \"file\": missing required key \"path\"");
  EXPECT_EQ(Err(std::string(kListener) + "storage {\n  path = \"/x\"\n}\n"),
            "config.hcl:4: block \"storage\" expects 1 label(s), got 0");
}

TEST(ConfigTest, ListenerRules) {
  EXPECT_EQ(Err(kStorage), "config.hcl: no listener stanza (e.g. listener \"tcp\" { ... })");
  EXPECT_EQ(Err(std::string(kStorage) + "listener \"unix\" {\n}\n"),
            "config.hcl:2: unknown listener type \"unix\"");
  EXPECT_EQ(Err(std::string(kStorage) + "listener \"tcp\" {\n  address = \"127.0.0.1:8200\"\n}\n"),
            "config.hcl:2: listener \"tcp\": tls_cert_file and tls_key_file are required unless "
            "tls_disable is true");
  EXPECT_EQ(Err(std::string(kStorage) +
                "listener \"tcp\" {\n  tls_disable = false\n  tls_cert_file = \"/c\"\n}\n"),
            "config.hcl:3: listener \"tcp\": tls_cert_file and tls_key_file are required unless "
            "tls_disable is true");
  EXPECT_EQ(Err(std::string(kStorage) +
                "listener \"tcp\" {\n tls_disable = true\n tls_disable = false\n}\n"),
            "config.hcl:4: duplicate key \"tls_disable\" in listener \"tcp\"");
}

TEST(ConfigTest, DefaultLeaseAboveMax) {
  EXPECT_EQ(Err(std::string(kListener) + kStorage + "default_lease_ttl = \"2h\"\nmax_lease_ttl = \"1h\"\n"),
            "config.hcl:5: default_lease_ttl (2h0m0s) cannot be greater than max_lease_ttl (1h0m0s)");
  EXPECT_EQ(Err(std::string(kListener) + kStorage + "\n\nmax_lease_ttl = \"1h\"\n"),
            "config.hcl:7: default_lease_ttl (768h0m0s) cannot be greater than max_lease_ttl "
            "(1h0m0s)");
  EXPECT_EQ(Err(std::string(kListener) + kStorage + "ui = true\nui = false\n"),
            "config.hcl:6: duplicate key \"ui\"");
}

TEST(ConfigTest, SyntaxErrorsCarryLines) {
  EXPECT_EQ(Err("listener \"tcp\" {\n  tls_disable = true\n\nstorage \"inmem\" {}\n").rfind(
                "config.hcl:5: ", 0),
            0u);
  EXPECT_EQ(Err("ui = true\nlog_level = \"info\n").rfind("config.hcl:2: ", 0), 0u);
}

TEST(ConfigTest, ParseConfigFile) {
  std::string path = ::testing::TempDir() + "arca_config_test.hcl";
  {
    std::ofstream out(path);
    out << kListener << "storage \"file\" { path = \"/srv\" }\n";
  }
  auto c = ParseConfigFile(path);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->file, path);
  EXPECT_EQ(c->storage.options.at("path"), "/srv");
  {
    std::ofstream out(path);
    out << kListener << "storage \"file\" { path = 1 }\n";
  }
  auto bad = ParseConfigFile(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind(path + ":4: ", 0), 0u) << bad.status().message();
  std::remove(path.c_str());

  auto missing = ParseConfigFile(::testing::TempDir() + "does/not/exist.hcl");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("cannot read"), std::string::npos);
}

TEST(ConfigTest, DnsStanzas) {
  ServerConfig none = MustParse(std::string(kListener) + kStorage);
  EXPECT_TRUE(none.dns.empty());

  ServerConfig c = MustParse(std::string(kListener) + kStorage + R"(
dns "rfc2136" {
  hostname       = "arca.example.org."
  addresses      = ["192.0.2.10", "2001:db8::10"]
  ttl            = 60
  reassert       = "30s"
  server         = "127.0.0.1:5353"
  zone           = "example.org."
  tsig_key_name  = "arca-update"
  tsig_algorithm = "hmac-sha256"
  tsig_secret_file = "/etc/arca/tsig.key"
  timeout        = "5s"
}
dns "dyndns2" {
  hostname  = "vault.services.fedcloud.eu"
  addresses = ["192.0.2.10"]
  url       = "https://nsupdate.fedcloud.eu/nic/update"
  username  = "vault.services.fedcloud.eu"
  password  = "pw"
}
)");
  ASSERT_EQ(c.dns.size(), 2u);
  EXPECT_EQ(c.dns[0].publisher.updater, "rfc2136");
  EXPECT_EQ(c.dns[0].publisher.server, "127.0.0.1:5353");
  EXPECT_EQ(c.dns[0].tsig_secret_file, "/etc/arca/tsig.key");
  EXPECT_EQ(c.dns[0].publisher.tsig_secret, "");  // read at startup, not while parsing
  EXPECT_EQ(c.dns[0].line, 6);
  EXPECT_EQ(c.dns[1].publisher.updater, "dyndns2");
  EXPECT_EQ(c.dns[1].publisher.password, "pw");
  EXPECT_EQ(c.dns[1].line, 18);
}

TEST(ConfigTest, DnsStanzaErrorsNameFileLineAndKey) {
  std::string head = std::string(kListener) + kStorage;  // 4 lines
  EXPECT_EQ(Err(head + "dns \"rfc2136\" {\n  hostname = \"a.example.org\"\n  srever = \"x\"\n}\n"),
            "config.hcl:7: unknown key \"srever\" in dns \"rfc2136\"");
  EXPECT_EQ(Err(head + "dns \"dyndns2\" {\n  hostname = \"a.example.org\"\n"
                       "  addresses = [\"192.0.2.1\"]\n  url = \"https://x/nic/update\"\n"
                       "  password = \"pw\"\n  ttl = true\n}\n"),
            "config.hcl:10: invalid value for \"ttl\" in dns \"dyndns2\": expected an integer, got "
            "bool");
  std::string why = Err(head + "dns \"dyndns2\" {\n  hostname = \"a.example.org\"\n"
                               "  addresses = [\"192.0.2.1\"]\n  url = \"gopher://x\"\n"
                               "  password = \"pw\"\n}\n");
  EXPECT_EQ(why.rfind("config.hcl:8: dns \"dyndns2\": url: ", 0), 0u) << why;
  EXPECT_EQ(Err(head + "dns \"bind\" {\n}\n").rfind("config.hcl:5: unknown dns updater", 0), 0u);
}

}  // namespace
}  // namespace arca::server
