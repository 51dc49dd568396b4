// The commands end to end over a scripted transport: requests sent, output
// printed, exit codes.
#include <gtest/gtest.h>

#include <fstream>

#include "cli/command.h"
#include "cli/token_helper.h"
#include "cli_fakes.h"

namespace arca::cli {
namespace {

using testing::HeaderOf;
using testing::QueryOf;

constexpr char kUnsealed[] =
    R"({"type":"shamir","initialized":true,"sealed":false,"t":3,"n":5,"progress":0,"nonce":"",)"
    R"("version":"1.14.9","build_date":"2024-01-01T00:00:00Z","migration":false,)"
    R"("cluster_name":"vault-cluster-1","cluster_id":"cid","recovery_seal":false,"storage_type":"inmem"})";
constexpr char kSealed[] =
    R"({"type":"shamir","initialized":true,"sealed":true,"t":3,"n":5,"progress":1,"nonce":"n-1",)"
    R"("version":"1.14.9","migration":false,"recovery_seal":false,"storage_type":"raft"})";
constexpr char kV2Mount[] = R"({"data":{"path":"secret/","type":"kv","options":{"version":"2"}}})";

class CommandsTest : public ::testing::Test {
 protected:
  Json BodyOf(const std::string& method, const std::string& path) {
    const HttpRequest* r = t_.transport.Find(method, path);
    if (!r || !r->body) return Json();
    return Json::parse(*r->body);
  }
  std::string TokenFile() { return TokenFilePath(t_.home.path()); }

  testing::TestEnv t_;
};

TEST_F(CommandsTest, StatusUnsealedPrintsTableAndExitsZero) {
  t_.transport.On("GET", "/v1/sys/seal-status", 200, kUnsealed);
  t_.transport.On("GET", "/v1/sys/leader", 200,
                  R"({"ha_enabled":false,"is_self":false,"active_time":"0001-01-01T00:00:00Z","leader_address":"","leader_cluster_address":""})");
  EXPECT_EQ(t_.Run({"status"}), 0);
  EXPECT_EQ(t_.out.str(),
            "Key             Value\n"
            "---             -----\n"
            "Seal Type       shamir\n"
            "Initialized     true\n"
            "Sealed          false\n"
            "Total Shares    5\n"
            "Threshold       3\n"
            "Version         1.14.9\n"
            "Build Date      2024-01-01T00:00:00Z\n"
            "Storage Type    inmem\n"
            "Cluster Name    vault-cluster-1\n"
            "Cluster ID      cid\n"
            "HA Enabled      false\n");
  EXPECT_EQ(HeaderOf(t_.transport.requests[0], "X-Vault-Request"), "true");
}

TEST_F(CommandsTest, StatusSealedToleratesSealedLeaderAndExitsTwo) {
  t_.transport.On("GET", "/v1/sys/seal-status", 200, kSealed);
  t_.transport.On("GET", "/v1/sys/leader", 503, R"({"errors":["Vault is sealed"]})");
  EXPECT_EQ(t_.Run({"status"}), 2);
  EXPECT_NE(t_.out.str().find("Unseal Progress    1/3\n"), std::string::npos);
  EXPECT_NE(t_.out.str().find("Unseal Nonce       n-1\n"), std::string::npos);
  EXPECT_NE(t_.out.str().find("HA Enabled         true"), std::string::npos);
  EXPECT_EQ(t_.err.str(), "");
}

TEST_F(CommandsTest, StatusJsonMergesLeaderFields) {
  t_.transport.On("GET", "/v1/sys/seal-status", 200, kUnsealed);
  t_.transport.On("GET", "/v1/sys/leader", 200,
                  R"({"ha_enabled":true,"is_self":true,"active_time":"2024-01-01T10:00:00Z","leader_address":"https://a:8200","leader_cluster_address":"https://a:8201"})");
  EXPECT_EQ(t_.Run({"status", "-format=json"}), 0);
  Json j = Json::parse(t_.out.str());
  EXPECT_EQ(j["sealed"], false);
  EXPECT_EQ(j["ha_enabled"], true);
  EXPECT_EQ(j["is_self"], true);
  EXPECT_EQ(j["leader_cluster_address"], "https://a:8201");
  t_.Run({"status"});
  EXPECT_NE(t_.out.str().find("HA Mode         active\n"), std::string::npos);
  EXPECT_NE(t_.out.str().find("Active Since    2024-01-01T10:00:00Z\n"), std::string::npos);
}

TEST_F(CommandsTest, StatusConnectionErrorExitsOne) {
  t_.transport.fail_transport = true;
  EXPECT_EQ(t_.Run({"status"}), 1);
  EXPECT_EQ(t_.err.str(),
            "Error checking seal status: Get \"http://127.0.0.1:8200/v1/sys/seal-status\": dial "
            "tcp 127.0.0.1:8200: connect: connection refused\n");
}

TEST_F(CommandsTest, OperatorInitSendsEveryFieldAndPrintsKeys) {
  t_.transport.On("GET", "/v1/sys/seal-status", 200,
                  R"({"type":"shamir","initialized":false,"sealed":true,"t":0,"n":0,"progress":0,"nonce":"","recovery_seal":false})");
  t_.transport.On("PUT", "/v1/sys/init", 200,
                  R"({"keys":["aa","bb"],"keys_base64":["qg==","uw=="],"root_token":"hvs.ROOT"})");
  EXPECT_EQ(t_.Run({"operator", "init", "-key-shares=2", "-key-threshold=2"}), 0);
  Json body = BodyOf("PUT", "/v1/sys/init");
  EXPECT_EQ(body, Json::parse(R"({"secret_shares":2,"secret_threshold":2,"stored_shares":0,
      "pgp_keys":null,"recovery_shares":0,"recovery_threshold":0,"recovery_pgp_keys":null,
      "root_token_pgp_key":""})"));
  const std::string out = t_.out.str();
  EXPECT_EQ(out.rfind("Unseal Key 1: qg==\nUnseal Key 2: uw==\n\nInitial Root Token: hvs.ROOT\n\n", 0), 0u);
  EXPECT_NE(out.find("Vault initialized with 2 key shares and a key threshold of 2."), std::string::npos);

  EXPECT_EQ(t_.Run({"operator", "init", "-format=json"}), 0);
  Json j = Json::parse(t_.out.str());
  EXPECT_EQ(j["unseal_keys_b64"], Json::array({"qg==", "uw=="}));
  EXPECT_EQ(j["unseal_keys_hex"], Json::array({"aa", "bb"}));
  EXPECT_EQ(j["unseal_shares"], 5);
  EXPECT_EQ(j["unseal_threshold"], 3);
  EXPECT_EQ(j["root_token"], "hvs.ROOT");
}

TEST_F(CommandsTest, OperatorInitStatusExitCodes) {
  t_.transport.On("GET", "/v1/sys/seal-status", 200, kSealed);
  t_.transport.On("GET", "/v1/sys/init", 200, R"({"initialized":false})");
  EXPECT_EQ(t_.Run({"operator", "init", "-status"}), 2);
  EXPECT_EQ(t_.out.str(), "Vault is not initialized\n");
  t_.transport.On("GET", "/v1/sys/init", 200, R"({"initialized":true})");
  EXPECT_EQ(t_.Run({"operator", "init", "-status"}), 0);
  EXPECT_EQ(t_.out.str(), "Vault is initialized\n");
}

TEST_F(CommandsTest, OperatorUnsealFromArgumentAndPrompt) {
  t_.transport.On("PUT", "/v1/sys/unseal", 200, kSealed);
  t_.transport.On("GET", "/v1/sys/leader", 503, R"({"errors":["Vault is sealed"]})");
  EXPECT_EQ(t_.Run({"operator", "unseal", "key-one"}), 0);
  EXPECT_EQ(BodyOf("PUT", "/v1/sys/unseal"), Json::parse(R"({"key":"key-one","reset":false,"migrate":false})"));
  t_.transport.requests.clear();
  t_.secret_input = "  key-two\n";
  EXPECT_EQ(t_.Run({"operator", "unseal"}), 0);
  EXPECT_EQ(t_.prompts.back(), "Unseal Key (will be hidden): ");
  EXPECT_EQ(BodyOf("PUT", "/v1/sys/unseal")["key"], "key-two");
  t_.transport.requests.clear();
  EXPECT_EQ(t_.Run({"operator", "unseal", "-reset"}), 0);
  EXPECT_EQ(BodyOf("PUT", "/v1/sys/unseal"), Json::parse(R"({"reset":true})"));
}

TEST_F(CommandsTest, OperatorSealAndErrors) {
  t_.vars["VAULT_TOKEN"] = "hvs.root";
  t_.transport.On("PUT", "/v1/sys/seal", 204, "");
  EXPECT_EQ(t_.Run({"operator", "seal"}), 0);
  EXPECT_EQ(t_.out.str(), "Success! Vault is sealed.\n");
  t_.transport.On("PUT", "/v1/sys/seal", 403, R"({"errors":["permission denied"]})");
  EXPECT_EQ(t_.Run({"operator", "seal"}), 2);
  EXPECT_EQ(t_.err.str(), "Error sealing: Error making API request.\n\nURL: PUT "
                          "http://127.0.0.1:8200/v1/sys/seal\nCode: 403. Errors:\n\n* permission denied\n");
}

TEST_F(CommandsTest, LoginStoresTokenAndPrintsAuthTable) {
  t_.transport.On("GET", "/v1/auth/token/lookup-self", 200,
                  R"({"data":{"id":"hvs.root","accessor":"acc1","policies":["root"],"ttl":0,"renewable":false,"orphan":true,"meta":null}})");
  EXPECT_EQ(t_.Run({"login", "hvs.root"}), 0);
  EXPECT_EQ(HeaderOf(t_.transport.requests[0], "X-Vault-Token"), "hvs.root");
  EXPECT_EQ(*ReadTokenFile(TokenFile()), "hvs.root");
  const std::string out = t_.out.str();
  EXPECT_EQ(out.rfind("Success! You are now authenticated.", 0), 0u);
  EXPECT_NE(out.find("token                hvs.root\n"), std::string::npos);
  EXPECT_NE(out.find("token_duration       \xe2\x88\x9e\n"), std::string::npos);
  EXPECT_NE(out.find("token_policies       [\"root\"]\n"), std::string::npos);
  // Later commands use the stored token.
  t_.transport.On("GET", "/v1/secret/foo", 200, R"({"data":{"a":"b"},"lease_duration":0})");
  EXPECT_EQ(t_.Run({"read", "secret/foo"}), 0);
  EXPECT_EQ(HeaderOf(t_.transport.requests.back(), "X-Vault-Token"), "hvs.root");
  // VAULT_TOKEN wins over the file.
  t_.vars["VAULT_TOKEN"] = "hvs.env";
  EXPECT_EQ(t_.Run({"read", "secret/foo"}), 0);
  EXPECT_EQ(HeaderOf(t_.transport.requests.back(), "X-Vault-Token"), "hvs.env");
}

TEST_F(CommandsTest, LoginPromptsAndHonoursNoStoreAndTokenOnly) {
  t_.transport.On("GET", "/v1/auth/token/lookup-self", 200,
                  R"({"data":{"id":"hvs.p","accessor":"a","policies":["default"],"ttl":60,"renewable":true}})");
  t_.secret_input = "hvs.p";
  EXPECT_EQ(t_.Run({"login", "-no-store"}), 0);
  EXPECT_EQ(t_.prompts.back(), "Token (will be hidden): ");
  EXPECT_TRUE(t_.prompt_to_stderr);
  EXPECT_EQ(*ReadTokenFile(TokenFile()), "");
  EXPECT_NE(t_.err.str().find("The token was not stored in token helper."), std::string::npos);
  EXPECT_EQ(t_.Run({"login", "-token-only", "hvs.p"}), 0);
  EXPECT_EQ(t_.out.str(), "hvs.p");
  EXPECT_EQ(t_.Run({"login", "-format=json", "-no-store", "hvs.p"}), 0);
  Json j = Json::parse(t_.out.str());
  EXPECT_EQ(j["auth"]["client_token"], "hvs.p");
  EXPECT_EQ(j["auth"]["lease_duration"], 60);
  EXPECT_EQ(t_.Run({"login", "-no-store", "-no-print", "x"}), 1);
}

TEST_F(CommandsTest, LoginWithBadTokenFailsWithoutStoring) {
  t_.transport.On("GET", "/v1/auth/token/lookup-self", 403, R"({"errors":["permission denied"]})");
  EXPECT_EQ(t_.Run({"login", "bad"}), 2);
  EXPECT_EQ(t_.err.str(), "Error authenticating: error looking up token: Error making API request.\n\n"
                          "URL: GET http://127.0.0.1:8200/v1/auth/token/lookup-self\nCode: 403. "
                          "Errors:\n\n* permission denied\n");
  EXPECT_EQ(*ReadTokenFile(TokenFile()), "");
  EXPECT_EQ(t_.Run({"login", "-method=nope"}), 1);
  EXPECT_NE(t_.err.str().find("Unknown auth method: nope."), std::string::npos);
}

TEST_F(CommandsTest, KvGetV2PrintsSections) {
  t_.transport.On("GET", "/v1/sys/internal/ui/mounts/secret/creds", 200, kV2Mount);
  t_.transport.On("GET", "/v1/secret/data/creds", 200,
                  R"({"request_id":"r1","lease_id":"","renewable":false,"lease_duration":0,"data":{"data":{"passcode":"my-long-passcode"},"metadata":{"created_time":"2024-01-01T00:00:00Z","custom_metadata":null,"deletion_time":"","destroyed":false,"version":1}},"wrap_info":null,"warnings":null,"auth":null})");
  EXPECT_EQ(t_.Run({"kv", "get", "secret/creds"}), 0);
  EXPECT_EQ(t_.out.str(),
            "== Secret Path ==\n"
            "secret/data/creds\n"
            "\n"
            "======= Metadata =======\n"
            "Key                Value\n"
            "---                -----\n"
            "created_time       2024-01-01T00:00:00Z\n"
            "custom_metadata    <nil>\n"
            "deletion_time      n/a\n"
            "destroyed          false\n"
            "version            1\n"
            "\n"
            "====== Data ======\n"
            "Key         Value\n"
            "---         -----\n"
            "passcode    my-long-passcode\n");

  EXPECT_EQ(t_.Run({"kv", "get", "-field=passcode", "secret/creds"}), 0);
  EXPECT_EQ(t_.out.str(), "my-long-passcode");
  EXPECT_EQ(t_.Run({"kv", "get", "-format=json", "secret/creds"}), 0);
  Json j = Json::parse(t_.out.str());
  EXPECT_EQ(j["request_id"], "r1");
  EXPECT_EQ(j["data"]["data"]["passcode"], "my-long-passcode");
  t_.transport.On("GET", "/v1/sys/internal/ui/mounts/secret", 200, kV2Mount);
  EXPECT_EQ(t_.Run({"kv", "get", "-version=3", "-mount=secret", "creds"}), 0);
  EXPECT_EQ(QueryOf(t_.transport.requests.back().url), "version=3");
  EXPECT_EQ(testing::PathOf(t_.transport.requests[t_.transport.requests.size() - 2].url),
            "/v1/sys/internal/ui/mounts/secret");
}

TEST_F(CommandsTest, KvGetV1AndMissing) {
  t_.transport.On("GET", "/v1/kv/app", 200, R"({"lease_duration":2764800,"data":{"password":"x"}})");
  EXPECT_EQ(t_.Run({"kv", "get", "kv/app"}), 0);  // preflight 404: assume v1
  EXPECT_EQ(t_.out.str(), "====== Data ======\nKey         Value\n---         -----\npassword    x\n");
  EXPECT_EQ(t_.Run({"kv", "get", "-mount=kv", "app"}), 0);
  EXPECT_EQ(testing::PathOf(t_.transport.requests.back().url), "/v1/kv/app");
  EXPECT_EQ(t_.Run({"kv", "get", "kv/missing"}), 2);
  EXPECT_EQ(t_.err.str(), "No value found at kv/missing\n");
}

TEST_F(CommandsTest, KvGetDeletedVersionShowsMetadataOnly) {
  t_.transport.On("GET", "/v1/sys/internal/ui/mounts/secret/gone", 200, kV2Mount);
  t_.transport.On("GET", "/v1/secret/data/gone", 404,
                  R"({"data":{"data":null,"metadata":{"deletion_time":"2024-01-01T00:00:00Z","destroyed":false,"version":2}}})");
  EXPECT_EQ(t_.Run({"kv", "get", "secret/gone"}), 0);
  EXPECT_NE(t_.out.str().find("deletion_time    2024-01-01T00:00:00Z"), std::string::npos);
  EXPECT_EQ(t_.out.str().find("Data ="), std::string::npos);
  EXPECT_EQ(t_.Run({"kv", "get", "-field=x", "secret/gone"}), 2);
  EXPECT_EQ(t_.err.str(), "No data found at secret/data/gone\n");
}

TEST_F(CommandsTest, KvPutV2WrapsDataAndPrintsMetadata) {
  t_.transport.On("GET", "/v1/sys/internal/ui/mounts/secret/foo", 200, kV2Mount);
  t_.transport.On("PUT", "/v1/secret/data/foo", 200,
                  R"({"data":{"created_time":"2024-01-01T00:00:00Z","custom_metadata":null,"deletion_time":"","destroyed":false,"version":1}})");
  t_.SetStdin("s3cr3t\n");
  EXPECT_EQ(t_.Run({"kv", "put", "-cas=0", "secret/foo", "a=1", "pw=-"}), 0);
  EXPECT_EQ(BodyOf("PUT", "/v1/secret/data/foo"),
            Json::parse(R"({"data":{"a":"1","pw":"s3cr3t\n"},"options":{"cas":0}})"));
  EXPECT_EQ(t_.out.str().rfind("= Secret Path =\nsecret/data/foo\n\n======= Metadata =======\n", 0), 0u);
  EXPECT_EQ(t_.Run({"kv", "put", "secret/foo"}), 1);
  EXPECT_EQ(t_.err.str(), "Must supply data\n");
}

TEST_F(CommandsTest, KvPutV1WritesBareData) {
  t_.transport.On("PUT", "/v1/kv/x", 204, "");
  EXPECT_EQ(t_.Run({"kv", "put", "kv/x", "k=v"}), 0);
  EXPECT_EQ(BodyOf("PUT", "/v1/kv/x"), Json::parse(R"({"k":"v"})"));
  EXPECT_EQ(t_.out.str(), "Success! Data written to: kv/x\n");
}

TEST_F(CommandsTest, KvPatchUsesMergePatchThenFallsBackOn405) {
  t_.transport.On("GET", "/v1/sys/internal/ui/mounts/secret/foo", 200, kV2Mount);
  t_.transport.On("PATCH", "/v1/secret/data/foo", 200, R"({"data":{"version":2}})");
  EXPECT_EQ(t_.Run({"kv", "patch", "-remove-data=old", "secret/foo", "b=2"}), 0);
  EXPECT_EQ(BodyOf("PATCH", "/v1/secret/data/foo"),
            Json::parse(R"({"data":{"b":"2","old":null},"options":{}})"));

  t_.transport.requests.clear();
  t_.transport.On("PATCH", "/v1/secret/data/foo", 405, R"({"errors":[]})");
  t_.transport.On("GET", "/v1/secret/data/foo", 200,
                  R"({"data":{"data":{"a":"1","old":"x"},"metadata":{"version":4}}})");
  t_.transport.On("PUT", "/v1/secret/data/foo", 200, R"({"data":{"version":5}})");
  EXPECT_EQ(t_.Run({"kv", "patch", "-remove-data=old", "secret/foo", "b=2"}), 0);
  EXPECT_EQ(BodyOf("PUT", "/v1/secret/data/foo"),
            Json::parse(R"({"data":{"a":"1","b":"2"},"options":{"cas":4}})"));
  EXPECT_NE(t_.out.str().find("version    5"), std::string::npos);

  t_.transport.On("PATCH", "/v1/secret/data/foo", 403, R"({"errors":["permission denied"]})");
  EXPECT_EQ(t_.Run({"kv", "patch", "secret/foo", "b=3"}), 0);
  EXPECT_NE(t_.err.str().find("add the \"patch\" capability"), std::string::npos);
  EXPECT_EQ(t_.Run({"kv", "patch", "-method=patch", "secret/foo", "b=3"}), 2);
  EXPECT_NE(t_.err.str().find("Error writing data to secret/data/foo: Error making API request."),
            std::string::npos);
}

TEST_F(CommandsTest, KvPatchRequiresV2) {
  EXPECT_EQ(t_.Run({"kv", "patch", "kv/x", "a=b"}), 2);
  EXPECT_EQ(t_.err.str(), "K/V engine mount must be version 2 for patch support\n");
}

TEST_F(CommandsTest, KvListAndDeleteRewritePaths) {
  t_.transport.On("GET", "/v1/sys/internal/ui/mounts/secret/dir", 200, kV2Mount);
  t_.transport.On("GET", "/v1/secret/metadata/dir", 200, R"({"data":{"keys":["b","a/"]}})");
  EXPECT_EQ(t_.Run({"kv", "list", "secret/dir"}), 0);
  EXPECT_EQ(QueryOf(t_.transport.requests.back().url), "list=true");
  EXPECT_EQ(t_.out.str(), "Keys\n----\na/\nb\n");
  EXPECT_EQ(t_.Run({"kv", "list", "-format=json", "secret/dir"}), 0);
  EXPECT_EQ(Json::parse(t_.out.str()), Json::parse(R"(["b","a/"])"));

  t_.transport.On("GET", "/v1/sys/internal/ui/mounts/secret/x", 200, kV2Mount);
  t_.transport.On("DELETE", "/v1/secret/data/x", 204, "");
  EXPECT_EQ(t_.Run({"kv", "delete", "secret/x"}), 0);
  EXPECT_EQ(t_.out.str(), "Success! Data deleted (if it existed) at: secret/data/x\n");
  t_.transport.On("PUT", "/v1/secret/delete/x", 204, "");
  EXPECT_EQ(t_.Run({"kv", "delete", "-versions=1,2", "secret/x"}), 0);
  EXPECT_EQ(BodyOf("PUT", "/v1/secret/delete/x"), Json::parse(R"({"versions":["1","2"]})"));
  t_.transport.On("PUT", "/v1/secret/undelete/x", 204, "");
  EXPECT_EQ(t_.Run({"kv", "undelete", "-versions=2", "secret/x"}), 0);
  EXPECT_EQ(t_.out.str(), "Success! Data written to: secret/undelete/x\n");
  EXPECT_EQ(t_.Run({"kv", "destroy", "secret/x"}), 1);
  EXPECT_NE(t_.err.str().find("No versions provided"), std::string::npos);
}

TEST_F(CommandsTest, KvMetadataCommands) {
  t_.transport.On("GET", "/v1/sys/internal/ui/mounts/secret/m", 200, kV2Mount);
  t_.transport.On("GET", "/v1/secret/metadata/m", 200,
                  R"({"data":{"current_version":2,"max_versions":0,"versions":{"2":{"destroyed":false},"1":{"destroyed":true}}}})");
  EXPECT_EQ(t_.Run({"kv", "metadata", "get", "secret/m"}), 0);
  const std::string out = t_.out.str();
  EXPECT_EQ(out.rfind("= Metadata Path =\nsecret/metadata/m\n\n", 0), 0u);
  EXPECT_LT(out.find("Version 1"), out.find("Version 2"));
  t_.transport.On("PUT", "/v1/secret/metadata/m", 204, "");
  EXPECT_EQ(t_.Run({"kv", "metadata", "put", "-max-versions=5", "-cas-required",
                    "-delete-version-after=3h", "-custom-metadata=owner=ops", "secret/m"}), 0);
  EXPECT_EQ(BodyOf("PUT", "/v1/secret/metadata/m"),
            Json::parse(R"({"max_versions":5,"cas_required":true,"delete_version_after":"3h0m0s","custom_metadata":{"owner":"ops"}})"));
  t_.transport.On("DELETE", "/v1/secret/metadata/m", 204, "");
  EXPECT_EQ(t_.Run({"kv", "metadata", "delete", "secret/m"}), 0);
  EXPECT_EQ(t_.out.str(), "Success! Data deleted (if it existed) at: secret/metadata/m\n");
  EXPECT_EQ(t_.Run({"kv", "metadata", "get", "kv/v1"}), 1);
  EXPECT_EQ(t_.err.str(), "Metadata not supported on KV Version 1\n");
}

TEST_F(CommandsTest, ReadWriteListDelete) {
  t_.transport.On("GET", "/v1/secret/foo", 403, R"({"errors":["permission denied"]})");
  EXPECT_EQ(t_.Run({"read", "secret/foo"}), 2);
  EXPECT_EQ(t_.err.str(), "Error reading secret/foo: Error making API request.\n\nURL: GET "
                          "http://127.0.0.1:8200/v1/secret/foo\nCode: 403. Errors:\n\n* permission denied\n");
  EXPECT_EQ(t_.Run({"read", "secret/none"}), 2);
  EXPECT_EQ(t_.err.str(), "No value found at secret/none\n");

  t_.SetStdin(R"({"n": 12345678901234, "s": "v"})");
  t_.transport.On("PUT", "/v1/secret/j", 204, "");
  EXPECT_EQ(t_.Run({"write", "secret/j", "-"}), 0);
  EXPECT_EQ(BodyOf("PUT", "/v1/secret/j"), Json::parse(R"({"n": 12345678901234, "s": "v"})"));
  EXPECT_EQ(t_.out.str(), "Success! Data written to: secret/j\n");
  EXPECT_EQ(t_.Run({"write", "sys/rotate"}), 1);
  EXPECT_EQ(t_.err.str(), "Must supply data or use -force\n");
  t_.transport.On("PUT", "/v1/sys/rotate", 204, "");
  EXPECT_EQ(t_.Run({"write", "-f", "sys/rotate"}), 0);
  EXPECT_FALSE(t_.transport.requests.back().body && *t_.transport.requests.back().body != "{}");

  t_.transport.On("GET", "/v1/secret", 200, R"({"data":{"keys":["x","a"]}})");
  EXPECT_EQ(t_.Run({"list", "secret/"}), 0);
  EXPECT_EQ(t_.out.str(), "Keys\n----\na\nx\n");
  EXPECT_EQ(t_.Run({"list", "nothing/"}), 2);
  EXPECT_EQ(t_.err.str(), "No value found at nothing\n");

  t_.transport.On("DELETE", "/v1/secret/j", 204, "");
  EXPECT_EQ(t_.Run({"delete", "secret/j"}), 0);
  EXPECT_EQ(t_.out.str(), "Success! Data deleted (if it existed) at: secret/j\n");
  t_.transport.On("PATCH", "/v1/cfg/x", 204, "");
  EXPECT_EQ(t_.Run({"patch", "cfg/x", "a=b"}), 0);
  EXPECT_EQ(HeaderOf(t_.transport.requests.back(), "Content-Type"), "application/merge-patch+json");
}

TEST_F(CommandsTest, ReadWithFieldAndTableOutput) {
  t_.transport.On("GET", "/v1/secret/foo", 200,
                  R"({"lease_duration":2764800,"lease_id":"","data":{"foo":"bar","num":3}})");
  EXPECT_EQ(t_.Run({"read", "secret/foo"}), 0);
  EXPECT_EQ(t_.out.str(),
            "Key                 Value\n---                 -----\nrefresh_interval    768h\n"
            "foo                 bar\nnum                 3\n");
  EXPECT_EQ(t_.Run({"read", "-field=num", "secret/foo"}), 0);
  EXPECT_EQ(t_.out.str(), "3");
  EXPECT_EQ(t_.Run({"read", "-field=zzz", "secret/foo"}), 1);
}

TEST_F(CommandsTest, PolicyCommands) {
  t_.SetStdin("path \"secret/*\" { capabilities = [\"read\"] }\n");
  t_.transport.On("PUT", "/v1/sys/policies/acl/dev", 204, "");
  EXPECT_EQ(t_.Run({"policy", "write", "Dev", "-"}), 0);
  EXPECT_EQ(BodyOf("PUT", "/v1/sys/policies/acl/dev")["policy"],
            "path \"secret/*\" { capabilities = [\"read\"] }\n");
  EXPECT_EQ(t_.out.str(), "Success! Uploaded policy: dev\n");
  t_.transport.On("GET", "/v1/sys/policies/acl/dev", 200,
                  R"({"data":{"name":"dev","policy":"path \"x\" {}\n"}})");
  EXPECT_EQ(t_.Run({"policy", "read", "dev"}), 0);
  EXPECT_EQ(t_.out.str(), "path \"x\" {}\n");
  EXPECT_EQ(t_.Run({"policy", "read", "none"}), 2);
  EXPECT_EQ(t_.err.str(), "No policy named: none\n");
  t_.transport.On("GET", "/v1/sys/policies/acl", 200, R"({"data":{"keys":["default","dev","root"]}})");
  EXPECT_EQ(t_.Run({"policy", "list"}), 0);
  EXPECT_EQ(t_.out.str(), "default\ndev\nroot\n");
  EXPECT_EQ(QueryOf(t_.transport.requests.back().url), "list=true");
  t_.transport.On("DELETE", "/v1/sys/policies/acl/dev", 204, "");
  EXPECT_EQ(t_.Run({"policy", "delete", "dev"}), 0);
  EXPECT_EQ(t_.out.str(), "Success! Deleted policy: dev\n");
}

TEST_F(CommandsTest, TokenCreateLookupRenewRevoke) {
  t_.transport.On("POST", "/v1/auth/token/create", 200,
                  R"({"auth":{"client_token":"hvs.child","accessor":"acc","policies":["default","web"],"token_policies":["default","web"],"lease_duration":3600,"renewable":true}})");
  EXPECT_EQ(t_.Run({"token", "create", "-policy=web", "-ttl=1h", "-use-limit=3", "-orphan",
                    "-display-name=ci", "-metadata=team=x", "-field=token"}), 0);
  EXPECT_EQ(t_.out.str(), "hvs.child");
  Json body = BodyOf("POST", "/v1/auth/token/create");
  EXPECT_EQ(body["policies"], Json::array({"web"}));
  EXPECT_EQ(body["ttl"], "1h0m0s");
  EXPECT_EQ(body["num_uses"], 3);
  EXPECT_EQ(body["no_parent"], true);
  EXPECT_EQ(body["display_name"], "ci");
  EXPECT_EQ(body["meta"], Json::parse(R"({"team":"x"})"));
  EXPECT_EQ(body["renewable"], true);

  t_.transport.On("POST", "/v1/auth/token/lookup", 200, R"({"data":{"ttl":3599,"policies":["default"]}})");
  EXPECT_EQ(t_.Run({"token", "lookup", "hvs.child"}), 0);
  EXPECT_EQ(BodyOf("POST", "/v1/auth/token/lookup"), Json::parse(R"({"token":"hvs.child"})"));
  EXPECT_NE(t_.out.str().find("ttl         59m59s"), std::string::npos);
  t_.transport.On("GET", "/v1/auth/token/lookup-self", 200, R"({"data":{"id":"me"}})");
  EXPECT_EQ(t_.Run({"token", "lookup"}), 0);
  t_.transport.On("POST", "/v1/auth/token/lookup-accessor", 200, R"({"data":{"id":""}})");
  EXPECT_EQ(t_.Run({"token", "lookup", "-accessor", "acc"}), 0);
  EXPECT_EQ(BodyOf("POST", "/v1/auth/token/lookup-accessor"), Json::parse(R"({"accessor":"acc"})"));

  t_.transport.On("PUT", "/v1/auth/token/renew-self", 200, R"({"auth":{"client_token":"me","lease_duration":1800}})");
  EXPECT_EQ(t_.Run({"token", "renew", "-increment=30m"}), 0);
  EXPECT_EQ(BodyOf("PUT", "/v1/auth/token/renew-self"), Json::parse(R"({"increment":1800})"));

  t_.transport.On("PUT", "/v1/auth/token/revoke-self", 204, "");
  EXPECT_EQ(t_.Run({"token", "revoke", "-self"}), 0);
  EXPECT_EQ(t_.out.str(), "Success! Revoked token (if it existed)\n");
  t_.transport.On("PUT", "/v1/auth/token/revoke-orphan", 204, "");
  EXPECT_EQ(t_.Run({"token", "revoke", "-mode=orphan", "hvs.child"}), 0);
  EXPECT_EQ(BodyOf("PUT", "/v1/auth/token/revoke-orphan"), Json::parse(R"({"token":"hvs.child"})"));
  EXPECT_EQ(t_.Run({"token", "revoke"}), 1);
  EXPECT_EQ(t_.err.str(), "Not enough arguments (expected 1 or -self, got 0)\n");
  EXPECT_EQ(t_.Run({"token", "revoke", "-self", "-accessor"}), 1);
}

TEST_F(CommandsTest, SecretsAuthAuditCommands) {
  t_.transport.On("POST", "/v1/sys/mounts/kv", 204, "");
  EXPECT_EQ(t_.Run({"secrets", "enable", "-path=kv", "-version=2", "-description=team kv", "kv"}), 0);
  EXPECT_EQ(t_.out.str(), "Success! Enabled the kv secrets engine at: kv/\n");
  Json body = BodyOf("POST", "/v1/sys/mounts/kv");
  EXPECT_EQ(body["type"], "kv");
  EXPECT_EQ(body["description"], "team kv");
  EXPECT_EQ(body["options"], Json::parse(R"({"version":"2"})"));

  t_.transport.On("GET", "/v1/sys/mounts", 200,
                  R"({"secret/":{"type":"kv"},"data":{"secret/":{"type":"kv","accessor":"kv_1","description":"key/value secret storage","options":{"version":"2"},"config":{"default_lease_ttl":0,"max_lease_ttl":0}},"sys/":{"type":"system","accessor":"system_2","description":"","config":{}}}})");
  EXPECT_EQ(t_.Run({"secrets", "list"}), 0);
  EXPECT_EQ(t_.out.str(),
            "Path       Type      Accessor    Description\n"
            "----       ----      --------    -----------\n"
            "secret/    kv        kv_1        key/value secret storage\n"
            "sys/       system    system_2    n/a\n");
  EXPECT_EQ(t_.Run({"secrets", "list", "-format=json"}), 0);
  EXPECT_EQ(Json::parse(t_.out.str())["secret/"]["accessor"], "kv_1");

  t_.transport.On("POST", "/v1/sys/mounts/kv/tune", 204, "");
  EXPECT_EQ(t_.Run({"secrets", "tune", "-default-lease-ttl=1h", "-max-lease-ttl=system", "kv/"}), 0);
  EXPECT_EQ(BodyOf("POST", "/v1/sys/mounts/kv/tune"),
            Json::parse(R"({"default_lease_ttl":"1h0m0s","max_lease_ttl":"system"})"));
  t_.transport.On("DELETE", "/v1/sys/mounts/kv", 204, "");
  EXPECT_EQ(t_.Run({"secrets", "disable", "kv"}), 0);
  EXPECT_EQ(t_.out.str(), "Success! Disabled the secrets engine (if it existed) at: kv/\n");

  t_.transport.On("POST", "/v1/sys/auth/oidc", 204, "");
  EXPECT_EQ(t_.Run({"auth", "enable", "-path=oidc", "jwt"}), 0);
  EXPECT_EQ(t_.out.str(), "Success! Enabled jwt auth method at: oidc/\n");
  EXPECT_EQ(BodyOf("POST", "/v1/sys/auth/oidc")["type"], "jwt");
  t_.transport.On("GET", "/v1/sys/auth", 200,
                  R"({"data":{"token/":{"type":"token","accessor":"auth_token_1","description":"token based credentials"}}})");
  EXPECT_EQ(t_.Run({"auth", "list"}), 0);
  EXPECT_NE(t_.out.str().find("token/    token    auth_token_1    token based credentials    n/a"),
            std::string::npos);

  t_.transport.On("GET", "/v1/sys/audit", 200, R"({"data":{}})");
  EXPECT_EQ(t_.Run({"audit", "list"}), 2);
  EXPECT_EQ(t_.out.str(), "No audit devices are enabled.\n");
  t_.transport.On("PUT", "/v1/sys/audit/file", 204, "");
  EXPECT_EQ(t_.Run({"audit", "enable", "file", "file_path=/tmp/audit.log"}), 0);
  EXPECT_EQ(BodyOf("PUT", "/v1/sys/audit/file"),
            Json::parse(R"({"type":"file","description":"","options":{"file_path":"/tmp/audit.log"},"local":false})"));
  EXPECT_EQ(t_.out.str(), "Success! Enabled the file audit device at: file/\n");
}

TEST_F(CommandsTest, UsageErrorsAndHelp) {
  EXPECT_EQ(t_.Run({"read", "-bogus", "x"}), 1);
  EXPECT_EQ(t_.err.str(), "flag provided but not defined: -bogus\n");
  EXPECT_EQ(t_.Run({"read"}), 1);
  EXPECT_EQ(t_.err.str(), "Not enough arguments (expected 1, got 0)\n");
  EXPECT_EQ(t_.Run({"nonsense"}), 127);
  EXPECT_EQ(t_.Run({"kv"}), 127);
  EXPECT_NE(t_.err.str().find("    get "), std::string::npos);
  EXPECT_EQ(t_.Run({"kv", "get", "-h"}), 0);
  EXPECT_NE(t_.err.str().find("Usage: arca kv get"), std::string::npos);
  EXPECT_NE(t_.err.str().find("-mount=<string>"), std::string::npos);
  EXPECT_EQ(t_.Run({}), 127);
  EXPECT_NE(t_.err.str().find("Usage: arca <command> [args]"), std::string::npos);
  EXPECT_EQ(t_.Run({"version"}), 0);
  t_.transport.On("GET", "/v1/secret/foo", 200, R"({"data":{"a":"b"}})");
  EXPECT_EQ(t_.Run({"read", "secret/foo", "-format=json"}), 0);
  EXPECT_NE(t_.err.str().find("Command flags must be provided before positional arguments."),
            std::string::npos);
}

TEST_F(CommandsTest, GlobalFlagsConfigureTheClient) {
  t_.transport.On("GET", "/v1/secret/foo", 200, R"({"data":{"a":"b"}})");
  EXPECT_EQ(t_.Run({"read", "-address=http://127.0.0.9:1234", "-tls-skip-verify", "-ca-cert=/ca.pem",
                    "-namespace=team", "-header=X-Trace=1", "secret/foo"}), 0);
  const HttpRequest& r = t_.transport.requests.back();
  EXPECT_EQ(r.url, "http://127.0.0.9:1234/v1/secret/foo");
  EXPECT_EQ(HeaderOf(r, "X-Vault-Namespace"), "team");
  EXPECT_EQ(HeaderOf(r, "X-Trace"), "1");
  ASSERT_TRUE(t_.last_options);
  EXPECT_TRUE(t_.last_options->tls.skip_verify);
  EXPECT_EQ(t_.last_options->tls.ca_cert, "/ca.pem");
  t_.vars["VAULT_SKIP_VERIFY"] = "true";
  t_.vars["VAULT_CACERT"] = "/env-ca.pem";
  EXPECT_EQ(t_.Run({"read", "secret/foo"}), 0);
  EXPECT_TRUE(t_.last_options->tls.skip_verify);
  EXPECT_EQ(t_.last_options->tls.ca_cert, "/env-ca.pem");
  EXPECT_EQ(t_.Run({"read", "-header=X-Vault-Token=x", "secret/foo"}), 2);
}

}  // namespace
}  // namespace arca::cli
