// arca CLI tests: a scripted HTTP transport and an Env around string streams.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/http_client.h"

namespace arca::cli::testing {

inline HttpResponse JsonResponse(long status, const std::string& body) {
  HttpResponse r;
  r.status = status;
  r.headers = {{"Content-Type", "application/json"}};
  r.body = body;
  return r;
}

// The path of a URL without scheme, host and query ("/v1/secret/data/foo").
inline std::string PathOf(const std::string& url) {
  auto scheme = url.find("://");
  auto slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  std::string p = slash == std::string::npos ? "/" : url.substr(slash);
  auto q = p.find('?');
  return q == std::string::npos ? p : p.substr(0, q);
}

inline std::string QueryOf(const std::string& url) {
  auto q = url.find('?');
  return q == std::string::npos ? "" : url.substr(q + 1);
}

inline std::string HeaderOf(const HttpRequest& r, const std::string& name) {
  return HeaderValue(r.headers, name);
}

// Records every request and answers with `handler` ("GET /v1/sys/leader" →
// response). Unhandled requests get a 404 with {"errors":[]}.
class FakeTransport : public HttpTransport {
 public:
  using Handler = std::function<std::optional<HttpResponse>(const HttpRequest&)>;

  StatusOr<HttpResponse> Send(const HttpRequest& req) override {
    requests.push_back(req);
    if (fail_transport) return Unavailable("dial tcp 127.0.0.1:8200: connect: connection refused");
    if (handler) {
      if (auto r = handler(req)) return *r;
    }
    return JsonResponse(404, R"({"errors":[]})");
  }

  // Adds a canned answer for "METHOD /v1/path" (query ignored); later calls
  // for the same key replace it.
  void On(const std::string& method, const std::string& path, long status, const std::string& body) {
    canned[method + " " + path] = JsonResponse(status, body);
    handler = [this](const HttpRequest& r) -> std::optional<HttpResponse> {
      auto it = canned.find(r.method + " " + PathOf(r.url));
      if (it == canned.end()) return std::nullopt;
      return it->second;
    };
  }

  const HttpRequest* Find(const std::string& method, const std::string& path) const {
    for (const auto& r : requests)
      if (r.method == method && PathOf(r.url) == path) return &r;
    return nullptr;
  }

  std::vector<HttpRequest> requests;
  std::map<std::string, HttpResponse> canned;
  Handler handler;
  bool fail_transport = false;
};

// Forwards to a FakeTransport owned by the test (Command owns its transport).
class ForwardingTransport : public HttpTransport {
 public:
  explicit ForwardingTransport(FakeTransport& t) : t_(t) {}
  StatusOr<HttpResponse> Send(const HttpRequest& req) override { return t_.Send(req); }

 private:
  FakeTransport& t_;
};

// A temporary directory removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "arca-cli-XXXXXX").string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    char* p = ::mkdtemp(buf.data());
    path_ = p ? p : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// An Env over string streams, a variable map, a temp $HOME and a FakeTransport.
struct TestEnv {
  TestEnv() {
    env.in = &in;
    env.out = &out;
    env.err = &err;
    env.home = home.path();
    env.getenv = [this](const std::string& name) -> std::optional<std::string> {
      auto it = vars.find(name);
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
    env.make_transport = [this](const HttpOptions& o) -> std::unique_ptr<HttpTransport> {
      last_options = o;
      return std::make_unique<ForwardingTransport>(transport);
    };
    env.read_secret = [this](std::string_view prompt, bool to_stderr) -> StatusOr<std::string> {
      prompts.emplace_back(prompt);
      prompt_to_stderr = to_stderr;
      if (!secret_input) return Unavailable("not a terminal");
      return *secret_input;
    };
    env.sleep = [this](int64_t ms) { sleeps.push_back(ms); };
    vars["VAULT_ADDR"] = "http://127.0.0.1:8200";
  }

  int Run(const std::vector<std::string>& args) {
    out.str("");
    err.str("");
    return RunArgs(args, env);
  }

  void SetStdin(const std::string& s) {
    in.str(s);
    in.clear();
  }

  Env env;
  std::istringstream in;
  std::ostringstream out, err;
  std::map<std::string, std::string> vars;
  TempDir home;
  FakeTransport transport;
  std::optional<HttpOptions> last_options;
  std::optional<std::string> secret_input;
  std::vector<std::string> prompts;
  bool prompt_to_stderr = false;
  std::vector<int64_t> sleeps;
};

}  // namespace arca::cli::testing
