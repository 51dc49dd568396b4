// `arca login -method=oidc`: the auth_url call, the local callback listener
// (the test plays the browser over a real loopback socket) and the callback
// call, over a scripted Vault transport.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>

#include "cli/token_helper.h"
#include "cli_fakes.h"

namespace arca::cli {
namespace {

using testing::JsonResponse;
using testing::PathOf;
using testing::QueryOf;

constexpr char kLoginOk[] =
    R"({"request_id":"r1","lease_id":"","renewable":false,"lease_duration":0,"data":null,"warnings":null,)"
    R"("auth":{"client_token":"hvs.oidc","accessor":"acc-o","policies":["default"],)"
    R"("token_policies":["default"],"metadata":{"role":"demo"},"lease_duration":600,)"
    R"("renewable":true,"entity_id":"e1","token_type":"service","orphan":true}})";

// Sends `request` to 127.0.0.1:port and returns everything the server wrote.
std::string BrowserExchange(int port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return out;
}

std::string Get(const std::string& target) {
  return "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nUser-Agent: test\r\n\r\n";
}

class LoginOidcTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (browser_.joinable()) browser_.join();
  }

  // Answers auth_url with `auth_url` and, once it was asked (the listener is
  // up by then), sends `browser_requests` to the port named in redirect_uri.
  void Script(const std::string& auth_url, std::vector<std::string> browser_requests,
              const std::string& mount = "oidc") {
    t_.transport.handler = [=, this](const HttpRequest& r) -> std::optional<HttpResponse> {
      if (r.method == "PUT" && PathOf(r.url) == "/v1/auth/" + mount + "/oidc/auth_url") {
        auth_url_body_ = Json::parse(r.body.value_or("null"));
        std::string uri = auth_url_body_.value("redirect_uri", "");
        auto colon = uri.rfind(':');
        int port = std::atoi(uri.c_str() + colon + 1);
        if (!browser_requests.empty()) {
          browser_ = std::thread([this, port, browser_requests] {
            for (const auto& req : browser_requests) browser_replies_.push_back(BrowserExchange(port, req));
          });
        }
        return JsonResponse(200, Json{{"data", {{"auth_url", auth_url}}}}.dump());
      }
      if (r.method == "GET" && PathOf(r.url) == "/v1/auth/" + mount + "/oidc/callback") {
        callback_query_ = QueryOf(r.url);
        return JsonResponse(200, kLoginOk);
      }
      if (r.method == "PUT" && PathOf(r.url) == "/v1/auth/" + mount + "/oidc/callback") {
        callback_body_ = Json::parse(r.body.value_or("null"));
        return JsonResponse(200, kLoginOk);
      }
      return std::nullopt;
    };
  }

  testing::TestEnv t_;
  std::thread browser_;
  std::vector<std::string> browser_replies_;
  Json auth_url_body_;
  std::string callback_query_;
  Json callback_body_;
};

TEST_F(LoginOidcTest, FullFlowThroughTheLocalListener) {
  Script("https://idp.example/authorize?client_id=c&state=st1",
         {Get("/oidc/callback?state=st1&code=c%2F0de&id_token=")});
  EXPECT_EQ(t_.Run({"login", "-method=oidc", "port=0", "role=demo"}), 0);
  browser_.join();

  // auth_url body: role, the redirect URI on the bound port, a 20-char base62 nonce.
  ASSERT_TRUE(auth_url_body_.is_object());
  EXPECT_EQ(auth_url_body_["role"], "demo");
  const std::string uri = auth_url_body_["redirect_uri"];
  EXPECT_EQ(uri.rfind("http://localhost:", 0), 0u);
  EXPECT_EQ(uri.substr(uri.size() - 14), "/oidc/callback");
  const std::string nonce = auth_url_body_["client_nonce"];
  EXPECT_EQ(nonce.size(), 20u);
  for (char c : nonce) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)));

  // Callback forwarded to Vault with the browser's values plus client_nonce.
  EXPECT_EQ(callback_query_, "client_nonce=" + nonce + "&code=c%2F0de&id_token=&state=st1");

  ASSERT_EQ(browser_replies_.size(), 1u);
  EXPECT_EQ(browser_replies_[0].rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_NE(browser_replies_[0].find("Signed in via your OIDC provider"), std::string::npos);
  EXPECT_NE(browser_replies_[0].find("You can now close this window"), std::string::npos);

  EXPECT_NE(t_.err.str().find("Complete the login via your OIDC provider. Launching browser to:\n\n"
                              "    https://idp.example/authorize?client_id=c&state=st1\n\n\n"),
            std::string::npos);
  EXPECT_NE(t_.err.str().find("Waiting for OIDC authentication to complete..."), std::string::npos);
  EXPECT_EQ(*ReadTokenFile(TokenFilePath(t_.home.path())), "hvs.oidc");
  EXPECT_EQ(t_.out.str().rfind("Success! You are now authenticated.", 0), 0u);
  EXPECT_NE(t_.out.str().find("token                hvs.oidc\n"), std::string::npos);
}

TEST_F(LoginOidcTest, FormPostCallbackIsWrittenToTheServer) {
  // oidc_response_mode=form_post: the provider's page POSTs the form; as
  // Vault's CLI, its values (the body winning over the query) are written.
  const std::string form = "state=st2&code=c%2B1&id_token=eyJ.x.y";
  Script("https://idp/a", {"POST /oidc/callback?state=ignored HTTP/1.1\r\nHost: localhost\r\n"
                           "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
                           std::to_string(form.size()) + "\r\n\r\n" + form});
  EXPECT_EQ(t_.Run({"login", "-method=oidc", "port=0"}), 0);
  browser_.join();
  ASSERT_TRUE(callback_body_.is_object());
  EXPECT_EQ(callback_body_["state"], "st2");
  EXPECT_EQ(callback_body_["code"], "c+1");
  EXPECT_EQ(callback_body_["id_token"], "eyJ.x.y");
  EXPECT_EQ(callback_body_["client_nonce"], auth_url_body_["client_nonce"]);
  ASSERT_EQ(browser_replies_.size(), 1u);
  EXPECT_NE(browser_replies_[0].find("Signed in via your OIDC provider"), std::string::npos);
}

TEST_F(LoginOidcTest, FormPostWithoutALengthIsRefusedAndTheWaitContinues) {
  Script("https://idp/a", {"POST /oidc/callback HTTP/1.1\r\nHost: localhost\r\n\r\n",
                           Get("/oidc/callback?state=s&code=k")});
  EXPECT_EQ(t_.Run({"login", "-method=oidc", "port=0"}), 0);
  browser_.join();
  ASSERT_EQ(browser_replies_.size(), 2u);
  EXPECT_EQ(browser_replies_[0].rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u);
  EXPECT_NE(callback_query_.find("code=k"), std::string::npos);
}

TEST_F(LoginOidcTest, StrayAndOversizedRequestsAreAnsweredAndTheWaitContinues) {
  std::string huge = "GET /oidc/callback?x=" + std::string(20000, 'a') + " HTTP/1.1\r\n\r\n";
  Script("https://idp/a", {Get("/favicon.ico"), huge, "PUT /oidc/callback HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
                           Get("/oidc/callback?state=s&code=k")},
         "sso");
  EXPECT_EQ(t_.Run({"login", "-method=oidc", "-path=sso", "-no-store", "port=0", "callbackhost=127.0.0.1",
                    "skip_browser=true"}),
            0);
  browser_.join();
  EXPECT_EQ(auth_url_body_["role"], "");
  EXPECT_EQ(std::string(auth_url_body_["redirect_uri"]).rfind("http://127.0.0.1:", 0), 0u);
  ASSERT_EQ(browser_replies_.size(), 4u);
  EXPECT_EQ(browser_replies_[0].rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u);
  EXPECT_EQ(browser_replies_[2].rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0), 0u);
  EXPECT_NE(browser_replies_[3].find("Signed in via your OIDC provider"), std::string::npos);
  EXPECT_NE(callback_query_.find("code=k"), std::string::npos);
  EXPECT_NE(callback_query_.find("id_token=&"), std::string::npos);
  EXPECT_NE(t_.err.str().find("Open the following link in your browser:\n\n    https://idp/a\n"),
            std::string::npos);
}

TEST_F(LoginOidcTest, CallbackErrorIsShownToBrowserAndUser) {
  Script("https://idp/a", {Get("/oidc/callback?state=gone&code=k")});
  auto base = t_.transport.handler;
  t_.transport.handler = [base](const HttpRequest& r) -> std::optional<HttpResponse> {
    if (PathOf(r.url) == "/v1/auth/oidc/oidc/callback") {
      base(r);
      return JsonResponse(400, R"({"errors":["Expired or missing OAuth state. <b>"]})");
    }
    return base(r);
  };
  EXPECT_EQ(t_.Run({"login", "-method=oidc", "port=0"}), 2);
  browser_.join();
  ASSERT_EQ(browser_replies_.size(), 1u);
  EXPECT_NE(browser_replies_[0].find("Login error"), std::string::npos);
  EXPECT_NE(browser_replies_[0].find("Expired or missing OAuth state. &lt;b&gt;"), std::string::npos);
  EXPECT_NE(t_.err.str().find("Error authenticating: Error making API request.\n\nURL: GET "
                              "http://127.0.0.1:8200/v1/auth/oidc/oidc/callback?client_nonce="),
            std::string::npos);
  EXPECT_EQ(*ReadTokenFile(TokenFilePath(t_.home.path())), "");
}

TEST_F(LoginOidcTest, ProviderErrorIsForwardedAndNamedInTheFailure) {
  Script("https://idp/a",
         {Get("/oidc/callback?error=access_denied&error_description=End-User+aborted%0A%1B[2Jit&state=st1")});
  auto base = t_.transport.handler;
  t_.transport.handler = [base](const HttpRequest& r) -> std::optional<HttpResponse> {
    if (PathOf(r.url) == "/v1/auth/oidc/oidc/callback") {
      base(r);
      return JsonResponse(400, R"({"errors":["Vault login failed. No code or id_token received."]})");
    }
    return base(r);
  };
  EXPECT_EQ(t_.Run({"login", "-method=oidc", "port=0"}), 2);
  browser_.join();
  // Vault's CLI sends the server what it always sends (the state ends there).
  EXPECT_NE(callback_query_.find("&code=&id_token=&state=st1"), std::string::npos);
  EXPECT_EQ(callback_query_.find("error"), std::string::npos);
  // The user learns why, with the provider's text made terminal-safe.
  EXPECT_NE(t_.err.str().find("* Vault login failed. No code or id_token received.\n\n"
                              "The OIDC provider returned an error: access_denied "
                              "(End-User aborted??[2Jit)\n"),
            std::string::npos);
  ASSERT_EQ(browser_replies_.size(), 1u);
  EXPECT_NE(browser_replies_[0].find("The OIDC provider returned an error: access_denied"), std::string::npos);
  EXPECT_EQ(*ReadTokenFile(TokenFilePath(t_.home.path())), "");
}

TEST_F(LoginOidcTest, PortInUseIsGosListenError) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string port = std::to_string(ntohs(addr.sin_port));
  EXPECT_EQ(t_.Run({"login", "-method=oidc", "port=" + port}), 2);
  ::close(fd);
  EXPECT_EQ(t_.err.str(),
            "Error authenticating: listen tcp 127.0.0.1:" + port + ": bind: address already in use\n");
  EXPECT_TRUE(t_.transport.requests.empty());
}

TEST_F(LoginOidcTest, EmptyAuthUrlIsAnError) {
  Script("", {});
  EXPECT_EQ(t_.Run({"login", "-method=oidc", "port=0", "callbackport=8250", "role=demo"}), 2);
  EXPECT_EQ(t_.err.str(),
            "Error authenticating: Unable to authorize role \"demo\" with redirect_uri "
            "\"http://localhost:8250/oidc/callback\". Check Vault logs for more information and "
            "check the role's allowed_redirect_uris.\n");
  EXPECT_EQ(auth_url_body_["redirect_uri"], "http://localhost:8250/oidc/callback");
  EXPECT_EQ(t_.transport.requests.size(), 1u);
}

TEST_F(LoginOidcTest, TimesOutWithoutACallback) {
  Script("https://idp/a", {});
  EXPECT_EQ(t_.Run({"login", "-method=oidc", "port=0", "timeout=100ms"}), 2);
  EXPECT_NE(t_.err.str().find("Error authenticating: Timed out waiting for response from provider\n"),
            std::string::npos);
  EXPECT_TRUE(callback_query_.empty());
  EXPECT_EQ(*ReadTokenFile(TokenFilePath(t_.home.path())), "");
}

TEST_F(LoginOidcTest, BadOptionsFailBeforeAnyRequest) {
  EXPECT_EQ(t_.Run({"login", "-method=oidc", "port=99999"}), 2);
  EXPECT_EQ(t_.err.str(), "Error authenticating: invalid port \"99999\"\n");
  EXPECT_EQ(t_.Run({"login", "-method=oidc", "port=0", "skip_browser=maybe"}), 2);
  EXPECT_NE(t_.err.str().find("Failed to parse \"skip_browser\" as boolean"), std::string::npos);
  EXPECT_EQ(t_.Run({"login", "-method=oidc", "port=0", "timeout=soon"}), 2);
  EXPECT_EQ(t_.err.str(), "Error authenticating: invalid timeout \"soon\"\n");
  EXPECT_TRUE(t_.transport.requests.empty());
}

}  // namespace
}  // namespace arca::cli
