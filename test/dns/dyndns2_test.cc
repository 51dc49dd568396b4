// dns::UpdateOnce with the dyndns2 updater against a scripted loopback
// server, and a Publisher on top of it.
#include <gtest/gtest.h>

#include "base/encoding.h"
#include "base/metrics.h"
#include "dns/publisher.h"
#include "eventually.h"
#include "fake_dyndns2.h"
#include "support/fake_clock.h"

namespace arca::dns {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::Eventually;
using testing::FakeDyndns2;

class Dyndns2Test : public ::testing::Test {
 protected:
  PublisherConfig Config() const {
    PublisherConfig c;
    c.hostname = "vault.services.fedcloud.eu.";
    c.addresses = {"192.0.2.10"};
    c.updater = "dyndns2";
    c.url = server_.url();
    c.password = "s3cr3t-update";
    c.timeout = milliseconds(2000);
    c.reassert = seconds(30);
    return c;
  }
  Status Update(std::string* result, std::vector<std::string> addrs = {"192.0.2.10"}) {
    return UpdateOnce(Config(), addrs, result);
  }

  FakeDyndns2 server_;
};

TEST_F(Dyndns2Test, GoodSendsHostnameMyipAndBasicAuth) {
  server_.Reply(200, "good 192.0.2.10\n");
  std::string result;
  Status st = Update(&result);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(result, "good");
  auto seen = server_.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target, "/nic/update?hostname=vault.services.fedcloud.eu&myip=192.0.2.10");
  // The username defaults to the host's FQDN, as nsupdate.info expects.
  EXPECT_EQ(seen[0].authorization,
            "Basic " + Base64Encode("vault.services.fedcloud.eu:s3cr3t-update"));
  EXPECT_NE(seen[0].user_agent.find("arca"), std::string::npos);
}

TEST_F(Dyndns2Test, ExplicitUsernameIsUsed) {
  server_.Reply(200, "good 192.0.2.10");
  PublisherConfig c = Config();
  c.username = "updater";
  std::string result;
  ASSERT_TRUE(UpdateOnce(c, c.addresses, &result).ok());
  EXPECT_EQ(server_.requests().at(0).authorization, "Basic " + Base64Encode("updater:s3cr3t-update"));
}

TEST_F(Dyndns2Test, NochgIsSuccess) {
  server_.Reply(200, "nochg 192.0.2.10");
  std::string result;
  EXPECT_TRUE(Update(&result).ok());
  EXPECT_EQ(result, "nochg");
}

TEST_F(Dyndns2Test, BadauthWith401) {
  server_.Reply(401, "badauth");
  std::string result;
  Status st = Update(&result);
  EXPECT_EQ(st.code(), Code::kPermissionDenied);
  EXPECT_EQ(result, "badauth");
  EXPECT_EQ(st.message().find("s3cr3t-update"), std::string::npos);
}

TEST_F(Dyndns2Test, Bare401IsBadauth) {
  server_.Reply(401, "");
  std::string result;
  EXPECT_EQ(Update(&result).code(), Code::kPermissionDenied);
  EXPECT_EQ(result, "badauth");
}

TEST_F(Dyndns2Test, AbuseNeedsAnOperator) {
  server_.Reply(403, "abuse");
  std::string result;
  EXPECT_EQ(Update(&result).code(), Code::kPermissionDenied);
  EXPECT_EQ(result, "abuse");
}

TEST_F(Dyndns2Test, NotfqdnNohostBadagentNeedAnOperator) {
  for (const char* answer : {"notfqdn", "nohost", "badagent"}) {
    server_.Reply(200, answer);
    std::string result;
    EXPECT_EQ(Update(&result).code(), Code::kInvalidArgument) << answer;
    EXPECT_EQ(result, answer);
  }
}

TEST_F(Dyndns2Test, DnserrAnd911AreRetried) {
  for (const char* answer : {"dnserr", "911"}) {
    server_.Reply(200, answer);
    std::string result;
    EXPECT_EQ(Update(&result).code(), Code::kUnavailable) << answer;
    EXPECT_EQ(result, answer);
  }
}

TEST_F(Dyndns2Test, GarbageAnswerIsAnError) {
  server_.Reply(200, "<html><body>Welcome to the captive portal</body></html>");
  std::string result;
  Status st = Update(&result);
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_EQ(result, "badanswer");
  EXPECT_NE(st.message().find("captive portal"), std::string::npos) << st.message();
}

TEST_F(Dyndns2Test, ServerErrorIsRetried) {
  server_.Reply(502, "Bad Gateway");
  std::string result;
  EXPECT_EQ(Update(&result).code(), Code::kUnavailable);
  EXPECT_EQ(result, "badanswer");
}

TEST_F(Dyndns2Test, GoodWithAnErrorStatusIsNotTrusted) {
  server_.Reply(500, "good 192.0.2.10");
  std::string result;
  EXPECT_FALSE(Update(&result).ok());
}

TEST_F(Dyndns2Test, OneRequestPerAddress) {
  server_.Reply(200, "good");
  std::string result;
  ASSERT_TRUE(Update(&result, {"192.0.2.10", "2001:db8::10"}).ok());
  auto seen = server_.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_NE(seen[0].target.find("myip=192.0.2.10"), std::string::npos);
  EXPECT_NE(seen[1].target.find("myip=2001%3Adb8%3A%3A10"), std::string::npos) << seen[1].target;
}

TEST_F(Dyndns2Test, SilentServerTimesOut) {
  server_.Silent(true);
  PublisherConfig c = Config();
  c.timeout = milliseconds(300);
  std::string result;
  SteadyTime t0 = RealClock().SteadyNow();
  Status st = UpdateOnce(c, c.addresses, &result);
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_EQ(result, "timeout");
  EXPECT_LT(RealClock().SteadyNow() - t0, std::chrono::seconds(3));
}

TEST_F(Dyndns2Test, NothingListeningIsRefused) {
  PublisherConfig c = Config();
  c.url = "http://127.0.0.1:1/nic/update";
  std::string result;
  EXPECT_EQ(UpdateOnce(c, c.addresses, &result).code(), Code::kUnavailable);
  EXPECT_EQ(result, "refused");
}

TEST_F(Dyndns2Test, PublisherRetriesBadauthOnlyEveryReassert) {
  server_.Reply(401, "badauth");
  arca::testing::FakeClock clock;
  metrics::Registry registry;
  Publisher p(Config(), [] { return true; }, clock, registry);
  p.Start();
  p.SetActive(true);
  ASSERT_TRUE(Eventually([&] { return p.Status().failures == 1; }));
  EXPECT_EQ(p.Status().last_result, "badauth");
  clock.Advance(seconds(10));
  EXPECT_FALSE(Eventually([&] { return server_.requests().size() > 1; }, milliseconds(200)));
  server_.Reply(200, "good 192.0.2.10");  // the operator fixed the password
  clock.Advance(seconds(20));
  ASSERT_TRUE(Eventually([&] { return p.Status().last_ok; }));
  EXPECT_EQ(p.Status().last_result, "good");
  EXPECT_EQ(server_.requests().size(), 2u);
  auto& c = registry.AddCounter("arca_dns_updates_total", "", {"name", "result"});
  EXPECT_EQ(c.Value({"vault.services.fedcloud.eu.", "badauth"}), 1);
  EXPECT_EQ(c.Value({"vault.services.fedcloud.eu.", "good"}), 1);
}

TEST_F(Dyndns2Test, PublisherBacksOffOnDnserr) {
  server_.Reply(200, "dnserr");
  arca::testing::FakeClock clock;
  metrics::Registry registry;
  Publisher p(Config(), [] { return true; }, clock, registry);
  p.Start();
  p.SetActive(true);
  ASSERT_TRUE(Eventually([&] { return p.Status().failures == 1; }));
  clock.Advance(milliseconds(250));
  ASSERT_TRUE(Eventually([&] { return p.Status().failures == 2; }));
  EXPECT_EQ(p.Status().last_result, "dnserr");
}

}  // namespace
}  // namespace arca::dns
