// arca: the rfc2136 updater: one DNS UPDATE signed with TSIG.
//
// The message (built with ldns): zone section `<zone> SOA IN`, no
// prerequisites, updates "delete <hostname> A", "delete <hostname> AAAA",
// then "add <hostname> <ttl> IN A|AAAA <address>" for each address, so the
// name carries exactly our addresses afterwards. It is signed with
// ldns_pkt_tsig_sign and sent over UDP to `server`; a truncated answer is
// retried over TCP. The answer must carry our ID and, for NOERROR, a TSIG
// that verifies against our request MAC (else it is not trusted). The
// sockets are our own, so the whole exchange stays within `timeout`.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "base/clock.h"
#include "dns/internal/ldns.h"
#include "dns/internal/updaters.h"

namespace arca::dns::internal {

namespace {

struct PktFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
struct RrListFree {
  void operator()(ldns_rr_list* l) const { ldns_rr_list_deep_free(l); }
};
struct RdfFree {
  void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};
struct LdnsFree {
  void operator()(uint8_t* p) const { LDNS_FREE(p); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktFree>;
using RrList = std::unique_ptr<ldns_rr_list, RrListFree>;
using Rdf = std::unique_ptr<ldns_rdf, RdfFree>;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

constexpr uint16_t kFudge = 300;  // seconds, RFC 8945's recommendation
constexpr std::size_t kMaxAnswer = 65535;

const char* RcodeName(int rcode) {
  static const char* const kNames[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                       "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                       "NXRRSET", "NOTAUTH", "NOTZONE"};
  if (rcode >= 0 && rcode < static_cast<int>(std::size(kNames))) return kNames[rcode];
  return "RCODE?";
}

std::string TsigErrorName(int e) {
  switch (e) {
    case 16: return "BADSIG";
    case 17: return "BADKEY";
    case 18: return "BADTIME";
    case 22: return "BADTRUNC";
    default: return std::to_string(e);
  }
}

// Milliseconds left until `deadline`, at least 0.
int MsLeft(SteadyTime deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                    RealClock().SteadyNow());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

struct Endpoint {
  std::string host;
  std::string port = "53";
};

Endpoint SplitServer(const std::string& s) {
  Endpoint e;
  if (!s.empty() && s.front() == '[') {
    std::size_t close = s.find(']');
    e.host = s.substr(1, close - 1);
    if (close + 1 < s.size()) e.port = s.substr(close + 2);
  } else if (IsIpv6(s)) {
    e.host = s;
  } else if (std::size_t colon = s.find(':'); colon != std::string::npos) {
    e.host = s.substr(0, colon);
    e.port = s.substr(colon + 1);
  } else {
    e.host = s;
  }
  return e;
}

// Waits until fd is ready for `events` or the deadline passes.
bool WaitFor(int fd, short events, SteadyTime deadline) {
  while (true) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, MsLeft(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

struct Exchange {
  Status status;
  std::string answer;
  std::string result;  // "timeout", "unreachable", ...
};

Exchange Fail(Status s, std::string result) { return {std::move(s), "", std::move(result)}; }

uint16_t WireId(std::string_view w) {
  return static_cast<uint16_t>((static_cast<uint8_t>(w[0]) << 8) | static_cast<uint8_t>(w[1]));
}

Exchange OverUdp(const addrinfo& ai, const std::string& query, uint16_t id,
                 SteadyTime deadline, const std::string& where) {
  Fd fd(::socket(ai.ai_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0) return Fail(Unavailable("socket: " + std::string(std::strerror(errno))), "error");
  if (::connect(fd.get(), ai.ai_addr, ai.ai_addrlen) != 0)
    return Fail(Unavailable(where + ": " + std::strerror(errno)), "unreachable");
  if (::send(fd.get(), query.data(), query.size(), 0) != static_cast<ssize_t>(query.size()))
    return Fail(Unavailable(where + ": send: " + std::strerror(errno)), "unreachable");
  std::string buf(kMaxAnswer, '\0');
  while (true) {
    if (!WaitFor(fd.get(), POLLIN, deadline))
      return Fail(Unavailable(where + ": no answer in time"), "timeout");
    ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return Fail(Unavailable(where + ": " + std::strerror(errno)),
                  errno == ECONNREFUSED ? "refused" : "unreachable");
    }
    if (n < 12) continue;  // not a DNS message
    std::string_view got(buf.data(), static_cast<std::size_t>(n));
    if (WireId(got) != id || (static_cast<uint8_t>(got[2]) & 0x80) == 0) continue;
    return {OkStatus(), std::string(got), ""};
  }
}

bool WriteAll(int fd, std::string_view data, SteadyTime deadline) {
  while (!data.empty()) {
    if (!WaitFor(fd, POLLOUT, deadline)) return false;
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool ReadExactly(int fd, char* out, std::size_t len, SteadyTime deadline) {
  while (len > 0) {
    if (!WaitFor(fd, POLLIN, deadline)) return false;
    ssize_t n = ::recv(fd, out, len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) return false;
    out += n;
    len -= static_cast<std::size_t>(n);
  }
  return true;
}

Exchange OverTcp(const addrinfo& ai, const std::string& query, uint16_t id,
                 SteadyTime deadline, const std::string& where) {
  Fd fd(::socket(ai.ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0) return Fail(Unavailable("socket: " + std::string(std::strerror(errno))), "error");
  if (::connect(fd.get(), ai.ai_addr, ai.ai_addrlen) != 0 && errno != EINPROGRESS)
    return Fail(Unavailable(where + " (tcp): " + std::strerror(errno)), "unreachable");
  if (!WaitFor(fd.get(), POLLOUT, deadline))
    return Fail(Unavailable(where + " (tcp): connect timed out"), "timeout");
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0)
    return Fail(Unavailable(where + " (tcp): " + std::strerror(err)),
                err == ECONNREFUSED ? "refused" : "unreachable");
  std::string framed;
  framed.push_back(static_cast<char>(query.size() >> 8));
  framed.push_back(static_cast<char>(query.size() & 0xff));
  framed += query;
  if (!WriteAll(fd.get(), framed, deadline))
    return Fail(Unavailable(where + " (tcp): send failed or timed out"), "timeout");
  char hdr[2];
  if (!ReadExactly(fd.get(), hdr, 2, deadline))
    return Fail(Unavailable(where + " (tcp): no answer in time"), "timeout");
  std::size_t n = (static_cast<uint8_t>(hdr[0]) << 8) | static_cast<uint8_t>(hdr[1]);
  if (n < 12) return Fail(Unavailable(where + " (tcp): short answer"), "badanswer");
  std::string answer(n, '\0');
  if (!ReadExactly(fd.get(), answer.data(), n, deadline))
    return Fail(Unavailable(where + " (tcp): answer cut short"), "timeout");
  if (WireId(answer) != id) return Fail(Unavailable(where + " (tcp): wrong message ID"), "badanswer");
  return {OkStatus(), std::move(answer), ""};
}

// Sends to each address of the server in turn until one answers.
Exchange Send(const std::string& server, const std::string& query, uint16_t id,
              SteadyTime deadline) {
  Endpoint ep = SplitServer(server);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(ep.host.c_str(), ep.port.c_str(), &hints, &res);
  if (rc != 0) return Fail(Unavailable("resolving " + server + ": " + gai_strerror(rc)), "unresolved");
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> hold(res, ::freeaddrinfo);
  Exchange last = Fail(Unavailable(server + ": no address"), "unresolved");
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    last = OverUdp(*ai, query, id, deadline, server);
    if (last.status.ok() && (static_cast<uint8_t>(last.answer[2]) & 0x02))  // TC
      last = OverTcp(*ai, query, id, deadline, server);
    if (last.status.ok() || MsLeft(deadline) == 0) break;
  }
  return last;
}

StatusOr<Pkt> BuildUpdate(const PublisherConfig& c, const std::vector<std::string>& addresses,
                          const std::string& host) {
  std::string zone = c.zone.empty() ? ParentZone(host) : Absolute(c.zone);
  ldns_rdf* zone_rdf = ldns_dname_new_frm_str(zone.c_str());
  if (zone_rdf == nullptr) return InvalidArgument("zone: " + zone + " is not a DNS name");
  RrList updates(ldns_rr_list_new());
  for (ldns_rr_type t : {LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA}) {
    ldns_rr* del = ldns_rr_new();
    ldns_rr_set_owner(del, ldns_dname_new_frm_str(host.c_str()));
    ldns_rr_set_type(del, t);
    ldns_rr_set_class(del, LDNS_RR_CLASS_ANY);
    ldns_rr_set_ttl(del, 0);
    ldns_rr_list_push_rr(updates.get(), del);
  }
  for (const std::string& a : addresses) {
    std::string text = host + " " + std::to_string(c.ttl) + " IN " + (IsIpv4(a) ? "A " : "AAAA ") + a;
    ldns_rr* add = nullptr;
    if (ldns_rr_new_frm_str(&add, text.c_str(), 0, nullptr, nullptr) != LDNS_STATUS_OK) {
      ldns_rdf_deep_free(zone_rdf);
      return InvalidArgument("addresses: cannot encode " + a);
    }
    ldns_rr_list_push_rr(updates.get(), add);
  }
  Pkt pkt(ldns_update_pkt_new(zone_rdf, LDNS_RR_CLASS_IN, nullptr, updates.get(), nullptr));
  if (!pkt) {
    ldns_rdf_deep_free(zone_rdf);
    return Internal("cannot build the DNS UPDATE message");
  }
  ldns_pkt_set_rd(pkt.get(), false);
  ldns_pkt_set_random_id(pkt.get());
  return pkt;
}

}  // namespace

Status Rfc2136Update(const PublisherConfig& c, const std::vector<std::string>& addresses,
                     std::string* result) {
  std::string host = Absolute(c.hostname);
  std::string algorithm = LdnsAlgorithm(c.tsig_algorithm);
  if (algorithm.empty()) {
    *result = "badalgorithm";
    return InvalidArgument("tsig_algorithm: " + c.tsig_algorithm + " is not supported");
  }
  ARCA_ASSIGN_OR_RETURN(Pkt query, BuildUpdate(c, addresses, host));
  std::string key_name = Absolute(c.tsig_key_name);
  if (ldns_pkt_tsig_sign(query.get(), key_name.c_str(), c.tsig_secret.c_str(), kFudge,
                         algorithm.c_str(), nullptr) != LDNS_STATUS_OK) {
    *result = "error";
    return InvalidArgument("tsig_secret: cannot sign with this key");
  }
  uint8_t* wire = nullptr;
  std::size_t wire_len = 0;
  if (ldns_pkt2wire(&wire, query.get(), &wire_len) != LDNS_STATUS_OK || wire == nullptr) {
    *result = "error";
    return Internal("cannot encode the DNS UPDATE message");
  }
  std::unique_ptr<uint8_t, LdnsFree> wire_hold(wire);
  std::string query_wire(reinterpret_cast<const char*>(wire), wire_len);
  uint16_t id = ldns_pkt_id(query.get());

  SteadyTime deadline = RealClock().SteadyNow() + c.timeout;
  Exchange ex = Send(c.server, query_wire, id, deadline);
  if (!ex.status.ok()) {
    *result = ex.result;
    return ex.status;
  }
  ldns_pkt* raw = nullptr;
  if (ldns_wire2pkt(&raw, reinterpret_cast<const uint8_t*>(ex.answer.data()), ex.answer.size()) !=
          LDNS_STATUS_OK ||
      raw == nullptr) {
    *result = "badanswer";
    return Unavailable(c.server + ": the answer is not a DNS message");
  }
  Pkt answer(raw);
  int rcode = ldns_pkt_get_rcode(answer.get());
  *result = RcodeName(rcode);
  const ldns_rr* tsig = ldns_pkt_tsig(answer.get());
  if (rcode != LDNS_RCODE_NOERROR) {
    std::string what = c.server + " answered " + *result;
    if (tsig != nullptr && ldns_rr_rd_count(tsig) > 5) {
      int err = ldns_rdf2native_int16(ldns_rr_rdf(tsig, 5));
      if (err != 0) what += " (TSIG error " + TsigErrorName(err) + ")";
    }
    what += " for the update of " + host + " in zone " +
            (c.zone.empty() ? ParentZone(host) : Absolute(c.zone));
    if (rcode == LDNS_RCODE_SERVFAIL) return Unavailable(what);
    if (rcode == LDNS_RCODE_NOTAUTH || rcode == LDNS_RCODE_REFUSED) return PermissionDenied(what);
    return InvalidArgument(what);
  }
  const ldns_rr* sent_tsig = ldns_pkt_tsig(query.get());
  const ldns_rdf* request_mac = sent_tsig ? ldns_rr_rdf(sent_tsig, 3) : nullptr;
  if (tsig == nullptr ||
      !ldns_pkt_tsig_verify(answer.get(), reinterpret_cast<const uint8_t*>(ex.answer.data()),
                            ex.answer.size(), key_name.c_str(), c.tsig_secret.c_str(),
                            request_mac)) {
    *result = "badsig";
    return Unavailable(c.server + " answered NOERROR without a valid TSIG signature");
  }
  return OkStatus();
}

}  // namespace arca::dns::internal
