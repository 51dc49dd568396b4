// The raw sys endpoints, driven through Handler with a FakeApi.
#include <gtest/gtest.h>

#include "base/metrics.h"
#include "http/handler.h"
#include "http/version.h"
#include "fake_api.h"
#include "support/fake_clock.h"

namespace arca::http {
namespace {

class SysRawTest : public ::testing::Test {
 protected:
  HttpResponse Call(std::string method, std::string target, std::string body = "") {
    HttpRequest r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.body = std::move(body);
    return handler_.Handle(r);
  }
  static Json Body(const HttpResponse& r) { return Json::parse(r.body); }
  static std::string FirstError(const HttpResponse& r) {
    Json j = Body(r);
    return j["errors"].empty() ? "" : j["errors"][0].get<std::string>();
  }

  testing::FakeApi api_;
  arca::testing::FakeClock clock_;
  metrics::Registry registry_;
  Handler handler_{api_, clock_, registry_};
};

// --- sys/init ------------------------------------------------------------

TEST_F(SysRawTest, InitGetReportsState) {
  api_.initialized = false;
  HttpResponse r = Call("GET", "/v1/sys/init");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, "{\"initialized\":false}\n");
  EXPECT_EQ(api_.RequestCount(), 0u);  // never reaches HandleRequest
}

TEST_F(SysRawTest, InitPutDecodesTypedBody) {
  core::InitResult res;
  res.keys_hex = {"aa", "bb"};
  res.keys_base64 = {"qg==", "uw=="};
  res.root_token = "hvs.root";
  api_.init_result = res;
  HttpResponse r = Call("PUT", "/v1/sys/init",
                        R"({"Secret_Shares":2,"SECRET_THRESHOLD":2,"root_token_pgp_key":null,
                            "pgp_keys":null,"stored_shares":0,"recovery_shares":0,
                            "recovery_threshold":0,"recovery_pgp_keys":null,"unknown":"x"})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Body(r), (Json{{"keys", {"aa", "bb"}},
                           {"keys_base64", {"qg==", "uw=="}},
                           {"root_token", "hvs.root"}}));
  ASSERT_EQ(api_.init_calls.size(), 1u);
  EXPECT_EQ(api_.init_calls[0].secret_shares, 2);
  EXPECT_EQ(api_.init_calls[0].secret_threshold, 2);
}

TEST_F(SysRawTest, InitEmptyBodyReachesCore) {
  api_.init_result = InvalidArgument("invalid seal configuration: shares must be at least one");
  HttpResponse r = Call("POST", "/v1/sys/init");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(FirstError(r), "invalid seal configuration: shares must be at least one");
  ASSERT_EQ(api_.init_calls.size(), 1u);
  EXPECT_EQ(api_.init_calls[0].secret_shares, 0);
}

TEST_F(SysRawTest, InitRejectsWrongTypes) {
  HttpResponse s = Call("PUT", "/v1/sys/init", R"({"secret_shares":"5","secret_threshold":3})");
  EXPECT_EQ(s.status, 400);
  EXPECT_EQ(FirstError(s),
            "failed to parse JSON input: json: cannot unmarshal string into Go struct field "
            "InitRequest.secret_shares of type int");
  HttpResponse f = Call("PUT", "/v1/sys/init", R"({"secret_shares":1.5})");
  EXPECT_EQ(f.status, 400);
  EXPECT_EQ(FirstError(f).rfind("failed to parse JSON input: ", 0), 0u);
  HttpResponse l = Call("PUT", "/v1/sys/init", R"({"pgp_keys":"a"})");
  EXPECT_EQ(l.status, 400);
  HttpResponse bad = Call("PUT", "/v1/sys/init", "{nope");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(FirstError(bad).rfind("failed to parse JSON input: ", 0), 0u);
  HttpResponse arr = Call("PUT", "/v1/sys/init", "[1]");
  EXPECT_EQ(arr.status, 400);
  EXPECT_TRUE(api_.init_calls.empty());
}

TEST_F(SysRawTest, InitRejectsRecoveryAndPgpParameters) {
  HttpResponse r =
      Call("PUT", "/v1/sys/init", R"({"secret_shares":1,"recovery_shares":1,"recovery_threshold":1})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(FirstError(r),
            "parameters recovery_shares,recovery_threshold not applicable to seal type shamir");
  HttpResponse m = Call("PUT", "/v1/sys/init", R"({"secret_shares":2,"pgp_keys":["a"]})");
  EXPECT_EQ(FirstError(m),
            "count mismatch between number of provided PGP keys and number of shares");
  HttpResponse p = Call("PUT", "/v1/sys/init", R"({"secret_shares":1,"pgp_keys":["a"]})");
  EXPECT_EQ(p.status, 400);
  EXPECT_TRUE(api_.init_calls.empty());
}

TEST_F(SysRawTest, InitOtherMethods405) {
  EXPECT_EQ(Call("DELETE", "/v1/sys/init").status, 405);
  EXPECT_EQ(Call("DELETE", "/v1/sys/init").body, "{\"errors\":[]}\n");
}

// --- sys/seal-status -----------------------------------------------------

TEST_F(SysRawTest, SealStatusUnsealed) {
  Json j = Body(Call("GET", "/v1/sys/seal-status"));
  EXPECT_EQ(j, (Json{{"type", "shamir"},
                     {"initialized", true},
                     {"sealed", false},
                     {"t", 1},
                     {"n", 1},
                     {"progress", 0},
                     {"nonce", ""},
                     {"version", kVaultVersion},
                     {"build_date", kBuildDate},
                     {"migration", false},
                     {"recovery_seal", false},
                     {"storage_type", "inmem"},
                     {"cluster_name", "vault-cluster-1a2b3c4d"},
                     {"cluster_id", "c0ffee00-0000-4000-8000-000000000000"}}));
}

TEST_F(SysRawTest, SealStatusSealedOmitsCluster) {
  api_.seal.sealed = true;
  api_.seal.threshold = 3;
  api_.seal.shares = 5;
  api_.seal.progress = 1;
  api_.seal.nonce = "n-1";
  Json j = Body(Call("GET", "/v1/sys/seal-status"));
  EXPECT_EQ(j["sealed"], true);
  EXPECT_EQ(j["t"], 3);
  EXPECT_EQ(j["n"], 5);
  EXPECT_EQ(j["progress"], 1);
  EXPECT_EQ(j["nonce"], "n-1");
  EXPECT_FALSE(j.contains("cluster_name"));
  EXPECT_FALSE(j.contains("cluster_id"));
  EXPECT_EQ(Call("PUT", "/v1/sys/seal-status").status, 405);
}

// --- sys/unseal ----------------------------------------------------------

TEST_F(SysRawTest, UnsealSubmitsKeyCaseInsensitively) {
  api_.seal.sealed = true;
  HttpResponse r = Call("PUT", "/v1/sys/unseal", R"({"Key":"abcd","migrate":false})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Body(r)["sealed"], true);
  EXPECT_EQ(Body(r)["type"], "shamir");
  ASSERT_EQ(api_.unseal_keys.size(), 1u);
  EXPECT_EQ(api_.unseal_keys[0], "abcd");
}

TEST_F(SysRawTest, UnsealErrors) {
  api_.seal.sealed = true;
  HttpResponse none = Call("PUT", "/v1/sys/unseal", R"({"migrate":false})");
  EXPECT_EQ(none.status, 400);
  EXPECT_EQ(FirstError(none),
            "'key' must be specified in request body as JSON, or 'reset' set to true");
  EXPECT_EQ(FirstError(Call("PUT", "/v1/sys/unseal", "")),
            "'key' must be specified in request body as JSON, or 'reset' set to true");
  HttpResponse typed = Call("PUT", "/v1/sys/unseal", R"({"reset":"true"})");
  EXPECT_EQ(typed.status, 400);
  EXPECT_EQ(FirstError(typed),
            "failed to parse JSON input: json: cannot unmarshal string into Go struct field "
            "UnsealRequest.reset of type bool");
  EXPECT_EQ(Call("PUT", "/v1/sys/unseal", R"({"key":5})").status, 400);
  HttpResponse migrate = Call("PUT", "/v1/sys/unseal", R"({"key":"ab","migrate":true})");
  EXPECT_EQ(migrate.status, 400);
  api_.unseal_error = InvalidArgument("Unseal failed, invalid key");
  HttpResponse bad = Call("POST", "/v1/sys/unseal", R"({"key":"zz"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(FirstError(bad), "Unseal failed, invalid key");
  EXPECT_EQ(Call("GET", "/v1/sys/unseal").status, 405);
}

TEST_F(SysRawTest, UnsealReset) {
  api_.seal.sealed = true;
  HttpResponse r = Call("PUT", "/v1/sys/unseal", R"({"reset":true,"migrate":false})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(api_.resets, 1);
  EXPECT_TRUE(api_.unseal_keys.empty());
  api_.seal.sealed = false;
  HttpResponse unsealed = Call("PUT", "/v1/sys/unseal", R"({"reset":true})");
  EXPECT_EQ(unsealed.status, 400);
  EXPECT_EQ(FirstError(unsealed), "vault is unsealed");
}

// --- sys/health ----------------------------------------------------------

TEST_F(SysRawTest, HealthActiveBody) {
  HttpResponse r = Call("GET", "/v1/sys/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Body(r), (Json{{"initialized", true},
                           {"sealed", false},
                           {"standby", false},
                           {"performance_standby", false},
                           {"replication_performance_mode", "disabled"},
                           {"replication_dr_mode", "disabled"},
                           {"server_time_utc", 1704067200},
                           {"version", kVaultVersion},
                           {"cluster_name", "vault-cluster-1a2b3c4d"},
                           {"cluster_id", "c0ffee00-0000-4000-8000-000000000000"}}));
}

TEST_F(SysRawTest, HealthStatusDecisionOrder) {
  api_.health.initialized = false;
  api_.health.sealed = true;
  EXPECT_EQ(Call("GET", "/v1/sys/health").status, 501);
  EXPECT_EQ(Call("GET", "/v1/sys/health?uninitcode=200&sealedcode=201").status, 200);
  api_.health.initialized = true;
  HttpResponse sealed = Call("GET", "/v1/sys/health");
  EXPECT_EQ(sealed.status, 503);
  Json j = Body(sealed);
  EXPECT_EQ(j["replication_dr_mode"], "unknown");
  EXPECT_EQ(j["replication_performance_mode"], "unknown");
  EXPECT_FALSE(j.contains("cluster_name"));
  EXPECT_EQ(Call("GET", "/v1/sys/health?sealedcode=200").status, 200);
  api_.health.sealed = false;
  api_.health.standby = true;
  EXPECT_EQ(Call("GET", "/v1/sys/health").status, 429);
  EXPECT_EQ(Call("GET", "/v1/sys/health?standbycode=200").status, 200);
  EXPECT_EQ(Call("GET", "/v1/sys/health?standbyok=True").status, 200);
  EXPECT_EQ(Call("GET", "/v1/sys/health?standbyok=true&activecode=299").status, 299);
  EXPECT_EQ(Call("GET", "/v1/sys/health?standbyok=0").status, 429);
  api_.health.standby = false;
  EXPECT_EQ(Call("GET", "/v1/sys/health?activecode=204&standbycode=500").status, 204);
}

TEST_F(SysRawTest, HealthBadParameters) {
  for (const char* q : {"standbyok=yes", "perfstandbyok=2", "activecode=abc", "sealedcode=",
                        "uninitcode=2x", "drsecondarycode=1e3", "performancestandbycode=-1",
                        "standbycode=99", "activecode=600", "standbyok="}) {
    HttpResponse r = Call("GET", std::string("/v1/sys/health?") + q);
    EXPECT_EQ(r.status, 400) << q;
    EXPECT_EQ(r.body, "{\"errors\":[]}\n") << q;
  }
  EXPECT_EQ(Call("GET", "/v1/sys/health?activecode=%2B200").status, 200);
}

TEST_F(SysRawTest, HealthHeadHasNoBody) {
  api_.health.sealed = true;
  HttpResponse r = Call("HEAD", "/v1/sys/health");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.content_type, "application/json");
  HttpResponse bad = Call("HEAD", "/v1/sys/health?activecode=x");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body, "");
  EXPECT_EQ(Call("POST", "/v1/sys/health").status, 405);
}

// --- sys/leader ----------------------------------------------------------

TEST_F(SysRawTest, LeaderWithoutHa) {
  HttpResponse r = Call("GET", "/v1/sys/leader");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Body(r), (Json{{"ha_enabled", false},
                           {"is_self", false},
                           {"active_time", "0001-01-01T00:00:00Z"},
                           {"leader_address", ""},
                           {"leader_cluster_address", ""},
                           {"performance_standby", false},
                           {"performance_standby_last_remote_wal", 0}}));
}

TEST_F(SysRawTest, LeaderActive) {
  core::LeaderStatus l;
  l.ha_enabled = true;
  l.is_self = true;
  l.active_time = "2024-01-01T10:00:00.123456789Z";
  l.leader_address = "https://10.0.0.1:8200";
  l.leader_cluster_address = "https://10.0.0.1:8201";
  api_.leader = l;
  Json j = Body(Call("GET", "/v1/sys/leader"));
  EXPECT_EQ(j["active_time"], "2024-01-01T10:00:00.123456789Z");
  EXPECT_EQ(j["leader_address"], "https://10.0.0.1:8200");
  l.active_time = "garbage";
  api_.leader = l;
  EXPECT_EQ(Body(Call("GET", "/v1/sys/leader"))["active_time"], "0001-01-01T00:00:00Z");
}

TEST_F(SysRawTest, LeaderSealedWithHaIs503) {
  api_.leader = SealedError();
  HttpResponse r = Call("GET", "/v1/sys/leader");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "{\"errors\":[\"Vault is sealed\"]}\n");
  EXPECT_EQ(Call("PUT", "/v1/sys/leader").status, 405);
}

TEST_F(SysRawTest, RawPathsMatchExactly) {
  // With a trailing slash these are logical requests, as with Go's mux.
  Call("GET", "/v1/sys/health/");
  EXPECT_EQ(api_.RequestCount(), 1u);
  EXPECT_EQ(api_.LastRequest().path, "sys/health/");
  // Collapsed slashes still reach the raw handler.
  EXPECT_EQ(Call("GET", "/v1//sys//health").status, 200);
  EXPECT_EQ(api_.RequestCount(), 1u);
}

}  // namespace
}  // namespace arca::http
