// arca CLI: libcurl implementation of HttpTransport.
#include "cli/http_client.h"

#include <curl/curl.h>

#include <cctype>
#include <mutex>

namespace arca::cli {
namespace {

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

void EnsureCurlGlobal() {
  static std::once_flag once;
  std::call_once(once, [] { static CurlGlobal global; });
}

struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct CurlStrDeleter {
  void operator()(char* p) const { curl_free(p); }
};

struct Sink {
  HttpResponse* resp;
  std::size_t limit;
  bool overflow = false;
};

size_t WriteBody(char* ptr, size_t size, size_t nmemb, void* user) {
  auto* sink = static_cast<Sink*>(user);
  std::size_t n = size * nmemb;
  if (sink->resp->body.size() + n > sink->limit) {
    sink->overflow = true;
    return 0;  // makes curl abort the transfer
  }
  sink->resp->body.append(ptr, n);
  return n;
}

size_t WriteHeader(char* ptr, size_t size, size_t nmemb, void* user) {
  auto* resp = static_cast<HttpResponse*>(user);
  std::size_t n = size * nmemb;
  std::string_view line(ptr, n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.rfind("HTTP/", 0) == 0) {
    resp->headers.clear();  // a new response (e.g. after 100 Continue)
    return n;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  resp->headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  return n;
}

// Host and port of `url` for CURLOPT_CONNECT_TO; nullopt if unparsable.
std::optional<std::pair<std::string, std::string>> HostPort(const std::string& url) {
  std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return std::nullopt;
  char* host = nullptr;
  char* port = nullptr;
  if (curl_url_get(u.get(), CURLUPART_HOST, &host, 0) != CURLUE_OK) return std::nullopt;
  std::unique_ptr<char, CurlStrDeleter> host_owner(host);
  if (curl_url_get(u.get(), CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
    return std::nullopt;
  std::unique_ptr<char, CurlStrDeleter> port_owner(port);
  return std::make_pair(std::string(host), std::string(port));
}

// `url` with its host replaced by `host`.
std::optional<std::string> WithHost(const std::string& url, const std::string& host) {
  std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return std::nullopt;
  if (curl_url_set(u.get(), CURLUPART_HOST, host.c_str(), 0) != CURLUE_OK) return std::nullopt;
  char* out = nullptr;
  if (curl_url_get(u.get(), CURLUPART_URL, &out, 0) != CURLUE_OK) return std::nullopt;
  std::unique_ptr<char, CurlStrDeleter> owner(out);
  return std::string(out);
}

}  // namespace

std::string HeaderValue(const HeaderList& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (k.size() != name.size()) continue;
    bool eq = true;
    for (std::size_t i = 0; i < k.size() && eq; ++i)
      eq = std::tolower(static_cast<unsigned char>(k[i])) ==
           std::tolower(static_cast<unsigned char>(name[i]));
    if (eq) return v;
  }
  return "";
}

CurlTransport::CurlTransport(HttpOptions opts) : opts_(std::move(opts)) { EnsureCurlGlobal(); }

StatusOr<HttpResponse> CurlTransport::Send(const HttpRequest& req) {
  std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
  if (!easy) return Unavailable("unable to initialise libcurl");
  CURL* c = easy.get();
  HttpResponse resp;
  Sink sink{&resp, opts_.max_body_bytes};
  char errbuf[CURL_ERROR_SIZE] = {0};

  std::string url = req.url;
  std::unique_ptr<curl_slist, SlistDeleter> connect_to;
  if (!opts_.tls.server_name.empty()) {
    // Talk to the original host but name the server `server_name` for SNI,
    // the Host header and certificate verification.
    auto hp = HostPort(req.url);
    auto renamed = WithHost(req.url, opts_.tls.server_name);
    if (!hp || !renamed) return Unavailable("invalid URL " + req.url);
    std::string rule = opts_.tls.server_name + ":" + hp->second + ":" + hp->first + ":" + hp->second;
    connect_to.reset(curl_slist_append(nullptr, rule.c_str()));
    url = *renamed;
    curl_easy_setopt(c, CURLOPT_CONNECT_TO, connect_to.get());
  }

  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(opts_.timeout_seconds));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(std::min<int64_t>(opts_.timeout_seconds, 30)));
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, WriteHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &resp);

  if (req.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (req.method != "GET" || req.body) {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  if (req.body) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body->data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body->size()));
  }

  std::unique_ptr<curl_slist, SlistDeleter> headers;
  auto add_header = [&](const std::string& line) {
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (next) {
      headers.release();
      headers.reset(next);
    }
  };
  for (const auto& [k, v] : req.headers) add_header(k + ": " + v);
  add_header("Expect:");  // no 100-continue round trip
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());

  const TlsOptions& tls = opts_.tls;
  if (!tls.ca_cert.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, tls.ca_cert.c_str());
  if (!tls.ca_path.empty()) curl_easy_setopt(c, CURLOPT_CAPATH, tls.ca_path.c_str());
  if (!tls.client_cert.empty()) curl_easy_setopt(c, CURLOPT_SSLCERT, tls.client_cert.c_str());
  if (!tls.client_key.empty()) curl_easy_setopt(c, CURLOPT_SSLKEY, tls.client_key.c_str());
  if (tls.skip_verify) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));

  CURLcode rc = curl_easy_perform(c);
  if (sink.overflow) return Unavailable("response body larger than the client limit");
  if (rc != CURLE_OK) {
    std::string msg = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    return Unavailable(msg);
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  return resp;
}

std::unique_ptr<HttpTransport> MakeCurlTransport(const HttpOptions& opts) {
  return std::make_unique<CurlTransport>(opts);
}

}  // namespace arca::cli
