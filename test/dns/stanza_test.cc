// dns::ParseStanza and dns::LoadSecretFiles.
#include "dns/stanza.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace arca::dns {
namespace {

using std::chrono::milliseconds;

StatusOr<StanzaConfig> Parse(std::string_view text, bool require_addresses = true) {
  auto root = hcl::Parse(text);
  if (!root.ok()) return root.status();
  auto blocks = hcl::Blocks(*root, "dns", 1);
  if (!blocks.ok()) return blocks.status();
  if (blocks->size() != 1) return InvalidArgument("want one block");
  return ParseStanza((*blocks)[0], "config.hcl", require_addresses);
}

std::string Err(std::string_view text) {
  auto s = Parse(text);
  EXPECT_FALSE(s.ok()) << text;
  if (s.ok()) return "";
  EXPECT_EQ(s.status().code(), Code::kInvalidArgument);
  return s.status().message();
}

class StanzaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "arca-stanza-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    ::chmod(path.c_str(), 0600);
    return path;
  }
  std::string dir_;
};

constexpr char kSecret[] = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0";

TEST_F(StanzaTest, FullRfc2136Stanza) {
  auto s = Parse(R"(dns "rfc2136" {
  hostname  = "arca.example.org."
  addresses = ["192.0.2.10", "2001:db8::10"]
  ttl       = 60
  reassert  = "30s"
  server    = "127.0.0.1:5353"
  zone      = "example.org."
  tsig_key_name = "arca-update"
  tsig_algorithm = "hmac-sha512"
  tsig_secret = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"
  timeout = "500ms"
  pause_file = "/run/arca/dns.pause"
})");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  const PublisherConfig& p = s->publisher;
  EXPECT_EQ(p.updater, "rfc2136");
  EXPECT_EQ(p.hostname, "arca.example.org.");
  EXPECT_EQ(p.addresses, (std::vector<std::string>{"192.0.2.10", "2001:db8::10"}));
  EXPECT_EQ(p.ttl, 60);
  EXPECT_EQ(p.reassert, milliseconds(30000));
  EXPECT_EQ(p.timeout, milliseconds(500));
  EXPECT_EQ(p.server, "127.0.0.1:5353");
  EXPECT_EQ(p.zone, "example.org.");
  EXPECT_EQ(p.tsig_key_name, "arca-update");
  EXPECT_EQ(p.tsig_algorithm, "hmac-sha512");
  EXPECT_EQ(p.tsig_secret, kSecret);
  EXPECT_TRUE(s->publish);
  EXPECT_EQ(s->pause_file, "/run/arca/dns.pause");
  EXPECT_EQ(s->line, 1);
}

TEST_F(StanzaTest, Dyndns2StanzaAndDefaults) {
  auto s = Parse(R"(dns "dyndns2" {
  hostname = "vault.services.fedcloud.eu"
  addresses = "192.0.2.10, 2001:db8::10"
  url = "https://nsupdate.fedcloud.eu/nic/update"
  password = "pw"
  ca_file = "/etc/ssl/ca.pem"
  publish = false
})");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->publisher.updater, "dyndns2");
  EXPECT_EQ(s->publisher.addresses.size(), 2u);
  EXPECT_EQ(s->publisher.ttl, 60);
  EXPECT_EQ(s->publisher.reassert, milliseconds(30000));
  EXPECT_EQ(s->publisher.username, "");  // the hostname at update time
  EXPECT_EQ(s->publisher.ca_file, "/etc/ssl/ca.pem");
  EXPECT_FALSE(s->publish);
}

TEST_F(StanzaTest, ErrorsNameFileLineAndKey) {
  EXPECT_EQ(Err("dns \"route53\" {\n}\n"),
            "config.hcl:1: unknown dns updater \"route53\" (expected \"rfc2136\" or \"dyndns2\")");
  EXPECT_EQ(Err("dns \"rfc2136\" {\n  hostname = \"a.b.\"\n  adresses = []\n}\n"),
            "config.hcl:3: unknown key \"adresses\" in dns \"rfc2136\"");
  EXPECT_EQ(Err("dns \"dyndns2\" {\n  hostname = \"a.b.\"\n  server = \"x\"\n}\n"),
            "config.hcl:3: key \"server\" is only valid in dns \"rfc2136\", not in dns \"dyndns2\"");
  EXPECT_EQ(Err("dns \"rfc2136\" {\n  ttl = \"sixty\"\n}\n"),
            "config.hcl:2: invalid value for \"ttl\" in dns \"rfc2136\": expected an integer, got "
            "string");
  EXPECT_EQ(Err("dns \"rfc2136\" {\n  reassert = \"soon\"\n}\n"),
            "config.hcl:2: invalid value for \"reassert\" in dns \"rfc2136\": invalid duration "
            "\"soon\"");
  EXPECT_EQ(Err("dns \"rfc2136\" {\n  ttl = 1\n  ttl = 2\n}\n"),
            "config.hcl:3: duplicate key \"ttl\" in dns \"rfc2136\"");
}

TEST_F(StanzaTest, ValidationErrorsPointAtTheKeyLine) {
  std::string base = R"(dns "rfc2136" {
  hostname  = "arca.example.org."
  addresses = ["192.0.2.10", "192.0.2.999"]
  server    = "127.0.0.1:5353"
  tsig_key_name = "k"
  tsig_secret = "c2VjcmV0"
})";
  std::string why = Err(base);
  EXPECT_EQ(why.rfind("config.hcl:3: dns \"rfc2136\": addresses: ", 0), 0u) << why;
  why = Err(R"(dns "rfc2136" {
  hostname  = "arca.example.org."
  addresses = ["192.0.2.10"]
  tsig_key_name = "k"
  tsig_algorithm = "hmac-whirlpool"
  tsig_secret = "c2VjcmV0"
})");
  // Missing keys are reported at the stanza.
  EXPECT_EQ(why.rfind("config.hcl:1: dns \"rfc2136\": server: ", 0), 0u) << why;
  why = Err(R"(dns "rfc2136" {
  hostname  = "arca.example.org."
  addresses = ["192.0.2.10"]
  server = "127.0.0.1"
  tsig_key_name = "k"
  tsig_algorithm = "hmac-whirlpool"
  tsig_secret = "c2VjcmV0"
})");
  EXPECT_EQ(why.rfind("config.hcl:6: dns \"rfc2136\": tsig_algorithm: ", 0), 0u) << why;
  why = Err(R"(dns "dyndns2" {
  hostname  = "arca.example.org."
  url = "https://nsupdate.fedcloud.eu/nic/update"
  password = "pw"
})");
  EXPECT_EQ(why.rfind("config.hcl:1: dns \"dyndns2\": addresses: ", 0), 0u) << why;
}

TEST_F(StanzaTest, AddressesOptionalForTheWatcher) {
  auto s = Parse(R"(dns "dyndns2" {
  hostname = "a.example.org"
  url = "https://x.example/nic/update"
  password = "pw"
})", false);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(s->publisher.addresses.empty());
}

TEST_F(StanzaTest, SecretAndSecretFileAreExclusive) {
  EXPECT_NE(Err(R"(dns "rfc2136" {
  hostname = "a.example.org"
  addresses = ["192.0.2.1"]
  server = "127.0.0.1"
  tsig_key_name = "k"
  tsig_secret = "c2VjcmV0"
  tsig_secret_file = "/etc/arca/tsig.key"
})").find("config.hcl:7: give tsig_secret or tsig_secret_file"), std::string::npos);
}

StanzaConfig WithSecretFile(const std::string& path, const std::string& key_name = "arca-update") {
  StanzaConfig s;
  s.publisher.hostname = "arca.example.org.";
  s.publisher.addresses = {"192.0.2.10"};
  s.publisher.updater = "rfc2136";
  s.publisher.server = "127.0.0.1:5353";
  s.publisher.tsig_key_name = key_name;
  s.tsig_secret_file = path;
  return s;
}

TEST_F(StanzaTest, LoadsABindKeyFile) {
  std::string path = Write("tsig.key", std::string("# made by tsig-keygen\n"
                                                   "key \"other\" {\n  algorithm hmac-sha256;\n"
                                                   "  secret \"b3RoZXJvdGhlcg==\";\n};\n"
                                                   "key \"arca-update\" {\n"
                                                   "\talgorithm hmac-sha256;\n\tsecret \"") +
                                           kSecret + "\";\n};\n");
  StanzaConfig s = WithSecretFile(path);
  Status st = LoadSecretFiles(s, "config.hcl");
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(s.publisher.tsig_secret, kSecret);
}

TEST_F(StanzaTest, KeyFileNamesTheKeyWhenTheStanzaDoesNot) {
  std::string path = Write("tsig.key", std::string("key \"from-file\" { algorithm hmac-sha256; "
                                                   "secret \"") + kSecret + "\"; };\n");
  StanzaConfig s = WithSecretFile(path, "");
  ASSERT_TRUE(LoadSecretFiles(s, "config.hcl").ok());
  EXPECT_EQ(s.publisher.tsig_key_name, "from-file");
}

TEST_F(StanzaTest, LoadsARawBase64File) {
  std::string path = Write("tsig.b64", std::string(kSecret) + "\n");
  StanzaConfig s = WithSecretFile(path);
  ASSERT_TRUE(LoadSecretFiles(s, "config.hcl").ok());
  EXPECT_EQ(s.publisher.tsig_secret, kSecret);
}

TEST_F(StanzaTest, KeyFileAlgorithmMustMatch) {
  std::string path = Write("tsig.key", std::string("key \"arca-update\" { algorithm hmac-sha512; "
                                                   "secret \"") + kSecret + "\"; };\n");
  StanzaConfig s = WithSecretFile(path);
  Status st = LoadSecretFiles(s, "config.hcl");
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("hmac-sha512"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find(kSecret), std::string::npos);
}

TEST_F(StanzaTest, KeyFileWithoutOurKey) {
  std::string path = Write("tsig.key", "key \"other\" { algorithm hmac-sha256; secret \"b3RoZXI=\"; };\n");
  StanzaConfig s = WithSecretFile(path);
  EXPECT_EQ(LoadSecretFiles(s, "config.hcl").code(), Code::kInvalidArgument);
}

TEST_F(StanzaTest, MissingOrBadSecretFile) {
  StanzaConfig s = WithSecretFile(dir_ + "/missing");
  Status st = LoadSecretFiles(s, "config.hcl");
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("tsig_secret_file"), std::string::npos);
  std::string path = Write("bad.b64", "not base64 at all!\n");
  s = WithSecretFile(path);
  st = LoadSecretFiles(s, "config.hcl");
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message().find("not base64 at all"), std::string::npos);
}

TEST_F(StanzaTest, PasswordFileIsTrimmed) {
  StanzaConfig s;
  s.publisher.hostname = "vault.services.fedcloud.eu";
  s.publisher.addresses = {"192.0.2.10"};
  s.publisher.updater = "dyndns2";
  s.publisher.url = "https://nsupdate.fedcloud.eu/nic/update";
  s.password_file = Write("pw", "  s3cr3t\n");
  ASSERT_TRUE(LoadSecretFiles(s, "config.hcl").ok());
  EXPECT_EQ(s.publisher.password, "s3cr3t");
}

}  // namespace
}  // namespace arca::dns
