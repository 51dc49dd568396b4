// arca: the dyndns2 updater (nsupdate.info, EGI's nsupdate.fedcloud.eu).
//
// One `GET <url>?hostname=<fqdn>&myip=<ip>` per address (the protocol sets
// one IPv4 and one IPv6 address per host, one per request), with HTTP Basic
// auth, no redirects, a bounded body and `timeout` for the whole exchange.
// The plain-text answer's first word decides: good and nochg succeed;
// badauth (also any 401), notfqdn, nohost, abuse, badagent need an operator;
// dnserr, 911, other HTTP errors and anything unrecognised are retried.
#include <curl/curl.h>

#include <cctype>
#include <memory>
#include <mutex>

#include "base/encoding.h"
#include "dns/internal/updaters.h"

namespace arca::dns::internal {

namespace {

constexpr std::size_t kMaxBody = 4096;
constexpr char kUserAgent[] = "arca/0.1.0 dyndns2";

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlFree {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};

size_t Collect(char* data, size_t size, size_t n, void* user) {
  auto* body = static_cast<std::string*>(user);
  std::size_t len = size * n;
  if (body->size() + len > kMaxBody) return 0;  // aborts the transfer
  body->append(data, len);
  return len;
}

std::string FirstWord(const std::string& body) {
  std::size_t b = 0;
  while (b < body.size() && std::isspace(static_cast<unsigned char>(body[b]))) ++b;
  std::size_t e = b;
  while (e < body.size() && !std::isspace(static_cast<unsigned char>(body[e]))) ++e;
  return body.substr(b, e - b);
}

// Printable prefix of an answer, for messages.
std::string Excerpt(const std::string& body) {
  std::string out;
  for (char c : body.substr(0, 80))
    out += (std::isprint(static_cast<unsigned char>(c)) ? c : ' ');
  return out;
}

Status OneRequest(const PublisherConfig& c, const std::string& ip, std::string* result) {
  GlobalInit();
  std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
  if (!curl) {
    *result = "error";
    return Internal("curl_easy_init failed");
  }
  std::string host = c.hostname;
  if (!host.empty() && host.back() == '.') host.pop_back();
  std::string url = c.url + (c.url.find('?') == std::string::npos ? "?" : "&") +
                    "hostname=" + PercentEncode(host) + "&myip=" + PercentEncode(ip);
  std::string user = c.username.empty() ? host : c.username;
  std::string body;
  char errbuf[CURL_ERROR_SIZE] = {};
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(c.timeout.count()));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(c.timeout.count()));
  curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
  curl_easy_setopt(h, CURLOPT_USERNAME, user.c_str());
  curl_easy_setopt(h, CURLOPT_PASSWORD, c.password.c_str());
  curl_easy_setopt(h, CURLOPT_USERAGENT, kUserAgent);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_PROXY, "");  // never through an environment proxy
  if (!c.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, c.ca_file.c_str());
  CURLcode rc = curl_easy_perform(h);
  // The request line carries no secret (the password goes in the header).
  std::string where = "dyndns2 " + c.url;
  if (rc != CURLE_OK) {
    std::string why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    if (rc == CURLE_OPERATION_TIMEDOUT) {
      *result = "timeout";
      return Unavailable(where + ": no answer in time");
    }
    if (rc == CURLE_WRITE_ERROR) {
      *result = "badanswer";
      return Unavailable(where + ": answer larger than " + std::to_string(kMaxBody) + " bytes");
    }
    *result = rc == CURLE_COULDNT_CONNECT ? "refused" : "unreachable";
    return Unavailable(where + ": " + why);
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  std::string word = FirstWord(body);
  if (word == "good" || word == "nochg") {
    *result = word;
    if (status != 200) {
      *result = "badanswer";
      return Unavailable(where + ": \"" + word + "\" with HTTP " + std::to_string(status));
    }
    return OkStatus();
  }
  const std::string answered = where + " answered \"" + Excerpt(body) + "\" (HTTP " +
                               std::to_string(status) + ") for " + host + " " + ip;
  if (word == "badauth" || status == 401) {
    *result = "badauth";
    return PermissionDenied(answered);
  }
  if (word == "abuse") {
    *result = word;
    return PermissionDenied(answered);
  }
  if (word == "notfqdn" || word == "nohost" || word == "badagent" || word == "!yours" ||
      word == "numhost") {
    *result = word;
    return InvalidArgument(answered);
  }
  if (word == "dnserr" || word == "911") {
    *result = word;
    return Unavailable(answered);
  }
  *result = "badanswer";
  return Unavailable(answered);
}

}  // namespace

Status Dyndns2Update(const PublisherConfig& c, const std::vector<std::string>& addresses,
                     std::string* result) {
  for (const std::string& ip : addresses) ARCA_RETURN_IF_ERROR(OneRequest(c, ip, result));
  return OkStatus();
}

}  // namespace arca::dns::internal
