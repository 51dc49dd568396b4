// arca auth/jwt: Fetch over libcurl.
#include "auth/jwt/fetch.h"

#include <curl/curl.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>

#include "base/secure.h"

namespace arca::auth::jwt {

namespace {

constexpr long kTimeoutSeconds = 10;

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

struct Sink {
  std::string body;
  bool overflow = false;
};

size_t OnData(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t len = size * n;
  if (sink->body.size() + len > kMaxResponseBytes) {
    sink->overflow = true;
    return 0;  // makes curl fail with CURLE_WRITE_ERROR
  }
  sink->body.append(data, len);
  return len;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool HasHttpScheme(const std::string& url) {
  std::string l = Lower(url.substr(0, 8));
  return l.rfind("http://", 0) == 0 || l.rfind("https://", 0) == 0;
}

std::string Verb(const std::string& method) { return method == "POST" ? "Post" : "Get"; }

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

bool ValidCaPem(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), int(pem.size())),
                                                &BIO_free);
  if (!bio) return false;
  X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  if (cert == nullptr) return false;
  X509_free(cert);
  return true;
}

std::string StatusLine(long status) {
  static const std::pair<long, const char*> kReasons[] = {{200, "OK"},
                                                          {201, "Created"},
                                                          {204, "No Content"},
                                                          {301, "Moved Permanently"},
                                                          {302, "Found"},
                                                          {400, "Bad Request"},
                                                          {401, "Unauthorized"},
                                                          {403, "Forbidden"},
                                                          {404, "Not Found"},
                                                          {405, "Method Not Allowed"},
                                                          {429, "Too Many Requests"},
                                                          {500, "Internal Server Error"},
                                                          {502, "Bad Gateway"},
                                                          {503, "Service Unavailable"},
                                                          {504, "Gateway Timeout"}};
  for (const auto& [code, reason] : kReasons) {
    if (code == status) return std::to_string(status) + " " + reason;
  }
  return std::to_string(status);
}

std::string FormEscape(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

StatusOr<HttpResponse> Fetch(const HttpRequest& req) {
  const std::string prefix = Verb(req.method) + " \"" + req.url + "\": ";
  if (!HasHttpScheme(req.url)) return Unavailable(prefix + "unsupported protocol scheme");
  if (!req.ca_pem.empty() && !ValidCaPem(req.ca_pem)) {
    return Unavailable(prefix + "could not parse CA PEM value successfully");
  }
  GlobalInit();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return Unavailable(prefix + "cannot initialise libcurl");
  CURL* c = curl.get();

  Sink sink;
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, kTimeoutSeconds);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, kTimeoutSeconds);
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(kMaxResponseBytes));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &OnData);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "arca-jwt-auth");
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!req.ca_pem.empty()) {
    curl_blob blob{const_cast<char*>(req.ca_pem.data()), req.ca_pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
    curl_easy_setopt(c, CURLOPT_CAPATH, nullptr);
  }
  if (req.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(req.body.size()));
  } else {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  }
  curl_slist* raw = nullptr;
  for (const auto& [name, value] : req.headers) {
    std::string line = name + ": " + value;
    curl_slist* next = curl_slist_append(raw, line.c_str());
    Wipe(line);
    if (next == nullptr) {
      curl_slist_free_all(raw);
      return Unavailable(prefix + "out of memory");
    }
    raw = next;
  }
  std::unique_ptr<curl_slist, SlistDeleter> headers(raw);
  if (headers) curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());

  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    if (sink.overflow || rc == CURLE_FILESIZE_EXCEEDED) {
      return Unavailable(prefix + "response body exceeds 1 MiB");
    }
    std::string why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    return Unavailable(prefix + why);
  }
  HttpResponse resp;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  char* ct = nullptr;
  if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct != nullptr) {
    std::string t = Lower(ct);
    auto semi = t.find(';');
    if (semi != std::string::npos) t.resize(semi);
    while (!t.empty() && t.back() == ' ') t.pop_back();
    resp.content_type = std::move(t);
  }
  resp.body = std::move(sink.body);
  return resp;
}

}  // namespace arca::auth::jwt
