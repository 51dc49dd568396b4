// dns::Publisher against a real BIND9 named, with a FakeClock driving the
// re-assert and backoff intervals.
#include "dns/publisher.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>

#include "base/metrics.h"
#include "eventually.h"
#include "named_process.h"
#include "support/fake_clock.h"

namespace arca::dns {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::Eventually;
using testing::NamedProcess;
using testing::NewTsigSecret;
using testing::TsigKey;
using Set = std::set<std::string>;

class PublisherTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::access("/usr/sbin/named", X_OK) != 0) return;
    key_ = new TsigKey{"arca-update", "hmac-sha256", NewTsigSecret(), true};
    named_ = new NamedProcess({*key_});
    start_ = new Status(named_->Start());
  }
  static void TearDownTestSuite() {
    delete named_;
    delete key_;
    delete start_;
    named_ = nullptr;
  }
  void SetUp() override {
    if (named_ == nullptr) GTEST_SKIP() << "/usr/sbin/named is not installed";
    ASSERT_TRUE(start_->ok()) << start_->ToString();
  }

  PublisherConfig Config(const std::string& host) const {
    PublisherConfig c;
    c.hostname = host;
    c.addresses = {"192.0.2.10", "2001:db8::10"};
    c.updater = "rfc2136";
    c.server = named_->server();
    c.tsig_key_name = key_->name;
    c.tsig_algorithm = key_->algorithm;
    c.tsig_secret = key_->secret;
    c.reassert = seconds(30);
    c.timeout = milliseconds(2000);
    return c;
  }
  // Someone else points the name elsewhere.
  void Overwrite(const std::string& host, const std::string& ip) const {
    std::string result;
    ASSERT_TRUE(UpdateOnce(Config(host), {ip}, &result).ok()) << result;
  }
  double Updates(const std::string& host, const std::string& result) const {
    return registry_.AddCounter("arca_dns_updates_total", "", {"name", "result"})
        .Value({host, result});
  }

  static NamedProcess* named_;
  static TsigKey* key_;
  static Status* start_;
  arca::testing::FakeClock clock_;
  mutable metrics::Registry registry_;
};

NamedProcess* PublisherTest::named_ = nullptr;
TsigKey* PublisherTest::key_ = nullptr;
Status* PublisherTest::start_ = nullptr;

TEST_F(PublisherTest, PublishesAtOnceWhenSetActive) {
  const std::string host = "active.arca.test.";
  Overwrite(host, "198.51.100.1");
  Publisher p(Config(host), [] { return true; }, clock_, registry_);
  p.Start();
  EXPECT_FALSE(p.Status().publishing);
  p.SetActive(true);
  ASSERT_TRUE(Eventually([&] { return p.Status().last_ok; }));
  EXPECT_EQ(named_->Lookup(host, "A"), Set{"192.0.2.10"});
  EXPECT_EQ(named_->Lookup(host, "AAAA"), Set{"2001:db8::10"});
  PublisherStatus st = p.Status();
  EXPECT_TRUE(st.publishing);
  EXPECT_EQ(st.hostname, host);
  EXPECT_EQ(st.updater, "rfc2136");
  EXPECT_EQ(st.last_result, "NOERROR");
  EXPECT_EQ(st.last_success_unix, clock_.UnixNow());
  EXPECT_EQ(st.failures, 0u);
  EXPECT_EQ(Updates(host, "NOERROR"), 1);
  EXPECT_EQ(registry_.AddGauge("arca_dns_last_success_seconds", "", {"name"}).Value({host}),
            static_cast<double>(clock_.UnixNow()));
}

TEST_F(PublisherTest, ReassertsAfterSomeoneElseChangedTheRecord) {
  const std::string host = "reassert.arca.test.";
  Publisher p(Config(host), [] { return true; }, clock_, registry_);
  p.Start();
  p.SetActive(true);
  ASSERT_TRUE(Eventually([&] { return Updates(host, "NOERROR") == 1; }));
  Overwrite(host, "198.51.100.2");
  EXPECT_EQ(named_->Lookup(host, "A"), Set{"198.51.100.2"});
  clock_.Advance(seconds(29));
  EXPECT_FALSE(Eventually([&] { return Updates(host, "NOERROR") > 1; }, milliseconds(200)));
  clock_.Advance(seconds(1));
  ASSERT_TRUE(Eventually([&] { return Updates(host, "NOERROR") == 2; }));
  EXPECT_EQ(named_->Lookup(host, "A"), Set{"192.0.2.10"});
}

TEST_F(PublisherTest, NeverPublishesWhileMayPublishIsFalse) {
  const std::string host = "nolease.arca.test.";
  Overwrite(host, "198.51.100.3");
  std::atomic<int> asked{0};
  std::atomic<bool> lease{false};
  Publisher p(Config(host), [&] { ++asked; return lease.load(); }, clock_, registry_);
  p.Start();
  p.SetActive(true);
  for (int i = 1; i <= 4; ++i) {
    ASSERT_TRUE(Eventually([&] { return asked.load() >= i; })) << i;
    clock_.Advance(milliseconds(250));
  }
  EXPECT_EQ(p.Status().last_attempt_unix, 0);
  EXPECT_EQ(named_->Lookup(host, "A"), Set{"198.51.100.3"});
  lease = true;  // the lease is (again) held
  clock_.Advance(milliseconds(250));
  ASSERT_TRUE(Eventually([&] { return p.Status().last_ok; }));
  EXPECT_EQ(named_->Lookup(host, "A"), Set{"192.0.2.10"});
}

TEST_F(PublisherTest, InactiveNeverPublishes) {
  const std::string host = "standby.arca.test.";
  Overwrite(host, "198.51.100.4");
  std::atomic<int> asked{0};
  Publisher p(Config(host), [&] { ++asked; return true; }, clock_, registry_);
  p.Start();
  for (int i = 0; i < 5; ++i) clock_.Advance(seconds(31));
  EXPECT_FALSE(Eventually([&] { return asked.load() > 0; }, milliseconds(200)));
  EXPECT_EQ(p.Status().last_attempt_unix, 0);
  EXPECT_FALSE(p.Status().publishing);
  EXPECT_EQ(named_->Lookup(host, "A"), Set{"198.51.100.4"});
}

TEST_F(PublisherTest, StopsReassertingOnceInactive) {
  const std::string host = "demoted.arca.test.";
  Publisher p(Config(host), [] { return true; }, clock_, registry_);
  p.Start();
  p.SetActive(true);
  ASSERT_TRUE(Eventually([&] { return Updates(host, "NOERROR") == 1; }));
  p.SetActive(false);
  EXPECT_FALSE(p.Status().publishing);
  Overwrite(host, "198.51.100.5");  // the new active moved the name
  clock_.Advance(seconds(31));
  clock_.Advance(seconds(31));
  EXPECT_FALSE(Eventually([&] { return Updates(host, "NOERROR") > 1; }, milliseconds(300)));
  EXPECT_EQ(named_->Lookup(host, "A"), Set{"198.51.100.5"});
  p.SetActive(true);  // active again: publishes at once
  ASSERT_TRUE(Eventually([&] { return Updates(host, "NOERROR") == 2; }));
  EXPECT_EQ(named_->Lookup(host, "A"), Set{"192.0.2.10"});
}

TEST_F(PublisherTest, BacksOffOnADeadServer) {
  const std::string host = "backoff.arca.test.";
  PublisherConfig c = Config(host);
  c.server = "127.0.0.1:" + std::to_string(testing::internal_named::FreePort());
  c.reassert = seconds(2);
  Publisher p(c, [] { return true; }, clock_, registry_);
  p.Start();
  p.SetActive(true);
  auto failures = [&] { return p.Status().failures; };
  ASSERT_TRUE(Eventually([&] { return failures() == 1; }));
  PublisherStatus st = p.Status();
  EXPECT_FALSE(st.last_ok);
  EXPECT_EQ(st.last_result, "refused");
  EXPECT_FALSE(st.last_error.empty());
  EXPECT_TRUE(st.publishing);
  // Retries after 250 ms, 500 ms, 1 s, then every 2 s (reassert).
  const int64_t waits[] = {250, 500, 1000, 2000, 2000};
  uint64_t want = 1;
  for (int64_t w : waits) {
    clock_.Advance(milliseconds(w - 1));
    EXPECT_FALSE(Eventually([&] { return failures() > want; }, milliseconds(150))) << w;
    clock_.Advance(milliseconds(1));
    ++want;
    ASSERT_TRUE(Eventually([&] { return failures() == want; })) << w;
  }
  EXPECT_EQ(Updates(host, "refused"), static_cast<double>(want));
  EXPECT_EQ(registry_.AddGauge("arca_dns_consecutive_failures", "", {"name"}).Value({host}),
            static_cast<double>(want));
}

TEST_F(PublisherTest, WrongKeyIsRetriedOnlyEveryReassert) {
  const std::string host = "badkey.arca.test.";
  PublisherConfig c = Config(host);
  c.tsig_secret = NewTsigSecret();
  Publisher p(c, [] { return true; }, clock_, registry_);
  p.Start();
  p.SetActive(true);
  ASSERT_TRUE(Eventually([&] { return p.Status().failures == 1; }));
  PublisherStatus st = p.Status();
  EXPECT_EQ(st.last_result, "NOTAUTH");
  EXPECT_NE(st.last_error.find("BADSIG"), std::string::npos) << st.last_error;
  clock_.Advance(seconds(5));  // no fast backoff: an operator must fix the key
  EXPECT_FALSE(Eventually([&] { return p.Status().failures > 1; }, milliseconds(200)));
  clock_.Advance(seconds(25));
  ASSERT_TRUE(Eventually([&] { return p.Status().failures == 2; }));
  EXPECT_EQ(Updates(host, "NOTAUTH"), 2);
}

TEST_F(PublisherTest, RecoversAfterFailures) {
  const std::string host = "recovers.arca.test.";
  PublisherConfig c = Config(host);
  int port = testing::internal_named::FreePort();
  c.server = "127.0.0.1:" + std::to_string(port);
  auto dead = std::make_unique<Publisher>(c, [] { return true; }, clock_, registry_);
  dead->Start();
  dead->SetActive(true);
  ASSERT_TRUE(Eventually([&] { return dead->Status().failures >= 1; }));
  dead->Stop();
  // Same name, now a live server: success resets the failure count.
  Publisher p(Config(host), [] { return true; }, clock_, registry_);
  p.Start();
  p.SetActive(true);
  ASSERT_TRUE(Eventually([&] { return p.Status().last_ok; }));
  EXPECT_EQ(p.Status().failures, 0u);
  EXPECT_EQ(registry_.AddGauge("arca_dns_consecutive_failures", "", {"name"}).Value({host}), 0);
}

TEST_F(PublisherTest, StopJoinsAndIsIdempotent) {
  Publisher p(Config("stop.arca.test."), [] { return true; }, clock_, registry_);
  p.Start();
  p.SetActive(true);
  p.Stop();
  p.Stop();
  p.SetActive(false);  // harmless after Stop
  EXPECT_FALSE(p.Status().publishing);
}

}  // namespace
}  // namespace arca::dns
