// arca: the Beast server. One C++20 coroutine per connection, on its own
// strand; handler calls run on a separate worker pool so that a request
// blocked in storage does not hold an I/O thread. Requests are parsed by
// Beast; responses are rendered by hand into one buffer (one write, one TLS
// record for small answers). Timeouts are per-connection deadlines checked
// by one periodic sweep, instead of a timer armed and cancelled around every
// read and write.
#include "http/server.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <iterator>
#include <limits>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/container/small_vector.hpp>

#include "base/secure.h"
#include "http/errors.h"
#include "http/handler.h"
#include "http/internal/listener.h"

namespace arca::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using asio::as_tuple;
using asio::use_awaitable;

namespace {

constexpr std::size_t kReadChunk = 16 * 1024;
constexpr int64_t kDefaultMaxRequestSize = 32 << 20;
// After an error response sent before the request was fully read, unread
// input is drained for this long (and up to this much) before closing, so
// the client sees the response instead of a reset.
constexpr std::chrono::milliseconds kLingerTime{1000};
constexpr std::size_t kLingerBytes = 1 << 20;
// The deadline sweep runs this often, or at a quarter of the shortest
// configured timeout when that is less (not below kMinSweepInterval).
constexpr std::chrono::milliseconds kMaxSweepInterval{250};
constexpr std::chrono::milliseconds kMinSweepInterval{10};
constexpr int64_t kNoDeadline = std::numeric_limits<int64_t>::max();
// A connection keeps its response buffer for the next response unless it
// grew past this.
constexpr std::size_t kKeptWireCapacity = 64 * 1024;

// State of one connection shared with Stop() and the deadline sweep. Touched
// only on the connection's strand, except `executor` (immutable) and
// `deadline_ms` (written on the strand, read by the sweep).
struct Conn {
  asio::any_io_executor executor;
  tcp::socket* socket = nullptr;  // null once the session has ended
  bool idle = false;              // waiting for the next request (or the TLS handshake)
  // Clock::SteadyNow() in ms past which the sweep closes the socket.
  std::atomic<int64_t> deadline_ms{kNoDeadline};
};

struct Listener {
  ListenerConfig config;
  std::unique_ptr<asio::ssl::context> tls;  // null: plain TCP
  std::unique_ptr<tcp::acceptor> acceptor;
  std::string bound;
  uint16_t port = 0;
};

bool IsHttpSyntaxError(const beast::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
         ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
}

std::chrono::milliseconds SweepInterval(const ServerOptions& o) {
  auto shortest = std::min(o.header_timeout, o.idle_timeout);
  if (o.request_timeout.count() > 0) shortest = std::min(shortest, o.request_timeout);
  return std::clamp(shortest / 4, kMinSweepInterval, kMaxSweepInterval);
}

// One response header as it will be written (views into the HttpResponse).
struct Field {
  std::string_view name;
  std::string_view value;
};
using Fields = boost::container::small_vector<Field, 16>;

bool HasLineBreakOrNul(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

// Optional whitespace around a field value (Beast's basic_fields trims it).
std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// basic_fields::set: drops every field of that name, then appends.
void SetField(Fields& fields, std::string_view name, std::string_view value) {
  fields.erase(std::remove_if(fields.begin(), fields.end(),
                              [&](const Field& f) { return beast::iequals(f.name, name); }),
               fields.end());
  fields.push_back({name, value});
}

bool IsFramingHeader(std::string_view name) {
  return beast::iequals(name, "Connection") || beast::iequals(name, "Content-Length") ||
         beast::iequals(name, "Transfer-Encoding");
}

}  // namespace

void SerializeResponse(const HttpResponse& res, unsigned http_version, bool keep_alive,
                       std::string* out) {
  Fields fields;
  fields.push_back({"Cache-Control", "no-store"});
  auto add = [&fields](std::string_view name, std::string_view value) {
    if (name.empty() || HasLineBreakOrNul(name) || HasLineBreakOrNul(value)) {
      // Values can carry client-derived text: never let one split the response.
      spdlog::warn("http: dropped a response header with an empty name or a CR, LF or NUL byte");
      return;
    }
    SetField(fields, name, TrimOws(value));
  };
  if (!res.content_type.empty()) add("Content-Type", res.content_type);
  for (const auto& [name, value] : res.headers) {
    if (!IsFramingHeader(name)) add(name, value);
  }

  const bool bodiless = res.status < 200 || res.status == 204 || res.status == 304;
  char length_buf[24];
  std::string_view length;
  if (!bodiless) {
    auto [end, ec] = std::to_chars(length_buf, length_buf + sizeof length_buf, res.body.size());
    length = std::string_view(length_buf, static_cast<std::size_t>(end - length_buf));
  }
  // What beast's message::keep_alive(bool) leaves in Connection.
  std::string_view connection;
  if (http_version < 11) {
    if (keep_alive) connection = "keep-alive";
  } else if (!keep_alive) {
    connection = "close";
  }
  const unsigned code = static_cast<unsigned>(res.status);
  const auto beast_reason = bhttp::obsolete_reason(static_cast<bhttp::status>(code));
  const std::string_view reason(beast_reason.data(), beast_reason.size());

  std::size_t size = 13 + reason.size() + 2 + 2;  // "HTTP/x.y ### " reason CRLF ... CRLF
  for (const Field& f : fields) size += f.name.size() + 2 + f.value.size() + 2;
  if (!bodiless) size += 16 + length.size() + 2 + res.body.size();
  if (!connection.empty()) size += 12 + connection.size() + 2;
  out->reserve(out->size() + size);

  // The digits as Beast writes them.
  char status_line[] = "HTTP/x.y ### ";
  status_line[5] = static_cast<char>('0' + http_version / 10);
  status_line[7] = static_cast<char>('0' + http_version % 10);
  status_line[9] = static_cast<char>('0' + code / 100);
  status_line[10] = static_cast<char>('0' + (code / 10) % 10);
  status_line[11] = static_cast<char>('0' + code % 10);
  out->append(status_line, 13);
  out->append(reason);
  out->append("\r\n");
  for (const Field& f : fields) {
    out->append(f.name);
    out->append(": ");
    out->append(f.value);
    out->append("\r\n");
  }
  if (!bodiless) {
    out->append("Content-Length: ");
    out->append(length);
    out->append("\r\n");
  }
  if (!connection.empty()) {
    out->append("Connection: ");
    out->append(connection);
    out->append("\r\n");
  }
  out->append("\r\n");
  if (!bodiless) out->append(res.body);
}

struct Server::Impl {
  Impl(Api& a, ServerOptions o)
      : options(o),
        clock(o.clock != nullptr ? o.clock : &RealClock()),
        api(a),
        handler(a, *clock, o.registry != nullptr ? *o.registry : metrics::DefaultRegistry(),
                MakeHandlerOptions(o)),
        ioc(std::make_unique<asio::io_context>()) {}

  static HandlerOptions MakeHandlerOptions(const ServerOptions& o) {
    HandlerOptions h;
    h.standby_redirect = o.standby_redirect;
    h.forwarding.ca_file = o.forwarding_ca_file;
    if (o.request_timeout.count() > 0) h.forwarding.timeout = o.request_timeout;
    return h;
  }

  asio::awaitable<void> AcceptLoop(Listener& l);
  asio::awaitable<void> Session(Listener& l, tcp::socket socket);
  template <class Stream>
  asio::awaitable<void> Serve(Listener& l, Stream& stream, Conn& conn, const std::string& addr,
                              uint16_t port);
  template <class Stream>
  asio::awaitable<void> SendErrorAndClose(Stream& stream, Conn& conn, int status,
                                          std::string_view message);
  void CancelConnections(bool idle_only);
  bool WaitForConnections(std::chrono::milliseconds timeout);

  // Deadlines, in Clock::SteadyNow() milliseconds.
  int64_t NowMs() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               clock->SteadyNow().time_since_epoch())
        .count();
  }
  void ExpiresAfter(Conn& conn, std::chrono::milliseconds d) const {
    const int64_t now = NowMs();
    const int64_t ms = std::max<int64_t>(0, d.count());
    conn.deadline_ms.store(ms >= kNoDeadline - now ? kNoDeadline : now + ms,
                           std::memory_order_relaxed);
  }
  static void ExpiresNever(Conn& conn) {
    conn.deadline_ms.store(kNoDeadline, std::memory_order_relaxed);
  }
  // The sweep: every sweep_interval, closes the connections past their deadline.
  void ScheduleSweep();
  void Sweep();

  ServerOptions options;
  Clock* clock;
  Api& api;
  Handler handler;
  std::atomic<bool> stopping{false};
  bool started = false;
  bool stopped = false;

  std::mutex mu;
  std::condition_variable conns_changed;
  std::set<std::shared_ptr<Conn>> conns;  // guarded by mu

  std::vector<std::unique_ptr<Listener>> listeners;
  std::unique_ptr<asio::thread_pool> workers;
  // Declared after everything the coroutines touch, so that destroying it
  // (and any coroutine frame still queued in it) happens first.
  std::unique_ptr<asio::io_context> ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> io_threads;
  std::chrono::milliseconds sweep_interval{kMaxSweepInterval};
  bool sweep_stopped = false;  // touched on the sweeper's strand
  // After ioc, so that it is destroyed first (Stop resets it earlier).
  std::unique_ptr<asio::steady_timer> sweeper;  // on its own strand
};

namespace {

// Registers a connection for Stop() for the lifetime of a session.
class ConnGuard {
 public:
  ConnGuard(Server::Impl& s, std::shared_ptr<Conn> conn) : s_(s), conn_(std::move(conn)) {
    std::lock_guard lock(s_.mu);
    s_.conns.insert(conn_);
  }
  ~ConnGuard() {
    conn_->socket = nullptr;
    std::lock_guard lock(s_.mu);
    s_.conns.erase(conn_);
    s_.conns_changed.notify_all();
  }
  ConnGuard(const ConnGuard&) = delete;
  ConnGuard& operator=(const ConnGuard&) = delete;

 private:
  Server::Impl& s_;
  std::shared_ptr<Conn> conn_;
};

}  // namespace

template <class Stream>
asio::awaitable<void> Server::Impl::SendErrorAndClose(Stream& stream, Conn& conn, int status,
                                                      std::string_view message) {
  tcp::socket& socket = beast::get_lowest_layer(stream);
  HttpResponse r = ErrorResponse(status, message);
  bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(status), 11};
  out.set(bhttp::field::cache_control, "no-store");
  out.set(bhttp::field::content_type, r.content_type);
  out.keep_alive(false);
  out.body() = std::move(r.body);
  out.content_length(out.body().size());
  ExpiresAfter(conn, kLingerTime);  // covers the write and the drain
  auto [ec, n] = co_await bhttp::async_write(stream, out, as_tuple(use_awaitable));
  if (ec) co_return;
  // Lingering close: stop sending, then discard what the client still sends.
  beast::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  std::size_t drained = 0;
  std::vector<char> scratch(kReadChunk);
  while (drained < kLingerBytes) {
    auto [rec, rn] =
        co_await socket.async_read_some(asio::buffer(scratch), as_tuple(use_awaitable));
    if (rec) break;
    drained += rn;
  }
}

template <class Stream>
asio::awaitable<void> Server::Impl::Serve(Listener& l, Stream& stream, Conn& conn,
                                          const std::string& addr, uint16_t port) {
  const auto request_timeout =
      options.request_timeout.count() > 0
          ? options.request_timeout
          : std::chrono::milliseconds(std::max<int64_t>(1, l.config.max_request_duration_seconds) *
                                      1000);
  const uint64_t body_limit = static_cast<uint64_t>(
      l.config.max_request_size > 0 ? l.config.max_request_size : kDefaultMaxRequestSize);
  beast::flat_buffer buffer;
  std::string wire;  // the response being written; kept for the next one

  for (bool first = true;; first = false) {
    // Wait for the first byte of the next request (idle keep-alive time).
    if (buffer.size() == 0) {
      if (stopping) co_return;
      conn.idle = true;
      ExpiresAfter(conn, first ? options.header_timeout : options.idle_timeout);
      auto [ec, n] =
          co_await stream.async_read_some(buffer.prepare(kReadChunk), as_tuple(use_awaitable));
      conn.idle = false;
      if (ec) co_return;
      buffer.commit(n);
    }
    const SteadyTime start = clock->SteadyNow();

    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
    parser.body_limit(body_limit);
    ExpiresAfter(conn, std::min(options.header_timeout, request_timeout));
    {
      auto [ec, n] =
          co_await bhttp::async_read_header(stream, buffer, parser, as_tuple(use_awaitable));
      if (ec == bhttp::error::body_limit) {
        co_await SendErrorAndClose(stream, conn, 413, "http: request body too large");
        co_return;
      }
      if (ec == bhttp::error::header_limit) {
        co_await SendErrorAndClose(stream, conn, 431, "request header fields too large");
        co_return;
      }
      if (ec) {
        if (IsHttpSyntaxError(ec)) {
          co_await SendErrorAndClose(stream, conn, 400, "malformed HTTP request");
        }
        co_return;  // timeout, reset, EOF: just close
      }
    }

    // RFC 9112 6.3: a Transfer-Encoding other than chunked cannot be framed;
    // answering as if there were no body would let the rest be read as the
    // next request (smuggling). Refuse and close.
    if (auto te = parser.get().find(bhttp::field::transfer_encoding);
        te != parser.get().end() && !parser.chunked()) {
      co_await SendErrorAndClose(stream, conn, 400, "unsupported Transfer-Encoding");
      co_return;
    }

    if (!parser.is_done()) {
      if (beast::iequals(parser.get()[bhttp::field::expect], "100-continue")) {
        bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
        auto [ec, n] = co_await bhttp::async_write(stream, cont, as_tuple(use_awaitable));
        if (ec) co_return;
      }
      auto elapsed =
          std::chrono::duration_cast<std::chrono::milliseconds>(clock->SteadyNow() - start);
      if (elapsed >= request_timeout) co_return;
      ExpiresAfter(conn, request_timeout - elapsed);
      auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, as_tuple(use_awaitable));
      if (ec == bhttp::error::body_limit) {
        co_await SendErrorAndClose(stream, conn, 413, "http: request body too large");
        co_return;
      }
      if (ec) {
        if (IsHttpSyntaxError(ec)) {
          co_await SendErrorAndClose(stream, conn, 400, "malformed HTTP request");
        }
        co_return;
      }
    }
    ExpiresNever(conn);

    bhttp::request<bhttp::string_body>& msg = parser.get();
    HttpRequest req;
    const auto method = msg.method_string();
    req.method.assign(method.data(), method.size());
    const auto target = msg.target();
    req.target.assign(target.data(), target.size());
    req.headers.reserve(static_cast<std::size_t>(std::distance(msg.begin(), msg.end())));
    for (const auto& field : msg) {
      auto& [name, value] = req.headers.emplace_back();
      name.assign(field.name_string().data(), field.name_string().size());
      value.assign(field.value().data(), field.value().size());
    }
    req.body = std::move(msg.body());
    req.remote_address = addr;
    req.remote_port = port;
    const unsigned version = msg.version();
    bool keep_alive = msg.keep_alive();

    // Reads run inline on this io thread, saving two thread hops; anything
    // that may wait on a storage sync (writes) or on the active node (every
    // request of a standby) runs on the worker pool, so it never stalls
    // other connections. Without a pool everything is inline.
    // (An if, not a ?: with co_await: g++ 12 miscompiles the latter.)
    HttpResponse res;
    bool may_block = (req.method != "GET" && req.method != "HEAD" && req.method != "LIST") ||
                     api.Standby().standby;
    if (workers && may_block) {
      res = co_await asio::co_spawn(
          workers->get_executor(),
          [this, &req]() -> asio::awaitable<HttpResponse> { co_return handler.Handle(req); },
          use_awaitable);
    } else {
      res = handler.Handle(req);
    }
    Wipe(req.body);  // may hold unseal keys or secrets

    keep_alive = keep_alive && !stopping;
    SerializeResponse(res, version, keep_alive, &wire);
    Wipe(res.body);                // the wire copy is wiped after the write
    std::string().swap(res.body);  // one copy held while a slow client reads, not two
    ExpiresAfter(conn, request_timeout);
    auto [ec, n] = co_await asio::async_write(stream, asio::buffer(wire), as_tuple(use_awaitable));
    Wipe(wire);  // may hold secrets
    if (wire.capacity() > kKeptWireCapacity) std::string().swap(wire);
    if (ec || !keep_alive) co_return;
  }
}

asio::awaitable<void> Server::Impl::Session(Listener& l, tcp::socket socket) {
  beast::error_code ec;
  tcp::endpoint remote = socket.remote_endpoint(ec);
  std::string addr = ec ? std::string() : remote.address().to_string();
  uint16_t port = ec ? 0 : remote.port();
  socket.set_option(tcp::no_delay(true), ec);

  auto conn = std::make_shared<Conn>();
  conn->executor = socket.get_executor();
  if (l.tls) {
    beast::ssl_stream<tcp::socket> stream(std::move(socket), *l.tls);
    conn->socket = &beast::get_lowest_layer(stream);
    ConnGuard guard(*this, conn);
    if (stopping) co_return;
    conn->idle = true;
    ExpiresAfter(*conn, options.header_timeout);
    auto [hec] =
        co_await stream.async_handshake(asio::ssl::stream_base::server, as_tuple(use_awaitable));
    conn->idle = false;
    if (hec) {
      spdlog::debug("http: TLS handshake with a client failed: {}", hec.message());
      co_return;
    }
    co_await Serve(l, stream, *conn, addr, port);
    beast::get_lowest_layer(stream).shutdown(tcp::socket::shutdown_both, ec);
  } else {
    conn->socket = &socket;
    ConnGuard guard(*this, conn);
    co_await Serve(l, socket, *conn, addr, port);
    socket.shutdown(tcp::socket::shutdown_both, ec);
  }
}

asio::awaitable<void> Server::Impl::AcceptLoop(Listener& l) {
  for (;;) {
    tcp::socket socket(asio::make_strand(*ioc));
    auto [ec] = co_await l.acceptor->async_accept(socket, as_tuple(use_awaitable));
    if (ec) {
      if (stopping || ec == asio::error::operation_aborted || !l.acceptor->is_open()) co_return;
      spdlog::warn("http: accept on {} failed: {}", l.bound, ec.message());
      asio::steady_timer backoff(l.acceptor->get_executor(), std::chrono::milliseconds(100));
      co_await backoff.async_wait(as_tuple(use_awaitable));
      continue;
    }
    auto ex = socket.get_executor();
    asio::co_spawn(ex, Session(l, std::move(socket)), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::error("http: connection ended with an exception: {}", ex.what());
      } catch (...) {
        spdlog::error("http: connection ended with an unknown exception");
      }
    });
  }
}

void Server::Impl::CancelConnections(bool idle_only) {
  std::lock_guard lock(mu);
  for (const auto& c : conns) {
    asio::post(c->executor, [c, idle_only] {
      if (c->socket == nullptr || (idle_only && !c->idle)) return;
      beast::error_code ec;
      if (idle_only) {
        c->socket->cancel(ec);
      } else {
        c->socket->close(ec);
      }
    });
  }
}

void Server::Impl::ScheduleSweep() {
  sweeper->expires_after(sweep_interval);
  sweeper->async_wait([this](beast::error_code ec) {
    if (ec || sweep_stopped) return;
    Sweep();
    ScheduleSweep();
  });
}

void Server::Impl::Sweep() {
  const int64_t now = NowMs();
  std::lock_guard lock(mu);
  for (const auto& c : conns) {
    if (c->deadline_ms.load(std::memory_order_relaxed) > now) continue;
    // Checked again on the strand: the operation may have finished and the
    // session moved the deadline since.
    asio::post(c->executor, [c, now] {
      if (c->socket == nullptr || c->deadline_ms.load(std::memory_order_relaxed) > now) return;
      ExpiresNever(*c);
      beast::error_code ec;
      c->socket->close(ec);
    });
  }
}

bool Server::Impl::WaitForConnections(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu);
  return conns_changed.wait_for(lock, timeout, [this] { return conns.empty(); });
}

Server::Server(Api& api, ServerOptions options)
    : impl_(std::make_unique<Impl>(api, std::move(options))) {}

Server::~Server() { Stop(); }

Status Server::Start(const std::vector<ListenerConfig>& listeners) {
  Impl& s = *impl_;
  if (s.started) return Internal("server already started");
  if (listeners.empty()) return InvalidArgument("no listener configured");

  std::vector<std::unique_ptr<Listener>> made;
  for (const ListenerConfig& cfg : listeners) {
    auto l = std::make_unique<Listener>();
    l->config = cfg;
    ARCA_ASSIGN_OR_RETURN(internal::HostPort hp, internal::SplitHostPort(cfg.address));
    if (!cfg.tls_disable) {
      ARCA_ASSIGN_OR_RETURN(l->tls, internal::MakeTlsContext(cfg));
    }
    beast::error_code ec;
    tcp::resolver resolver(*s.ioc);
    auto results = resolver.resolve(hp.host, std::to_string(hp.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || results.empty()) {
      return InvalidArgument("listener address \"" + cfg.address +
                             "\": cannot resolve host: " + ec.message());
    }
    tcp::endpoint endpoint = results.begin()->endpoint();
    l->acceptor = std::make_unique<tcp::acceptor>(asio::make_strand(*s.ioc));
    auto fail = [&](const char* what) {
      return Unavailable(std::string(what) + " tcp " + cfg.address + ": " + ec.message());
    };
    if (l->acceptor->open(endpoint.protocol(), ec)) return fail("listen");
    if (l->acceptor->set_option(asio::socket_base::reuse_address(true), ec)) return fail("listen");
    if (l->acceptor->bind(endpoint, ec)) return fail("listen");
    if (l->acceptor->listen(asio::socket_base::max_listen_connections, ec)) return fail("listen");
    tcp::endpoint local = l->acceptor->local_endpoint(ec);
    l->port = local.port();
    l->bound = local.address().is_v6()
                   ? "[" + local.address().to_string() + "]:" + std::to_string(l->port)
                   : local.address().to_string() + ":" + std::to_string(l->port);
    made.push_back(std::move(l));
  }

  s.started = true;
  s.listeners = std::move(made);
  if (s.options.worker_threads > 0)
    s.workers = std::make_unique<asio::thread_pool>(s.options.worker_threads);
  s.work.emplace(s.ioc->get_executor());
  s.sweep_interval = SweepInterval(s.options);
  s.sweeper = std::make_unique<asio::steady_timer>(asio::make_strand(*s.ioc));
  s.ScheduleSweep();
  int n = s.options.io_threads > 0
              ? s.options.io_threads
              : std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
  for (auto& l : s.listeners) {
    asio::co_spawn(l->acceptor->get_executor(), s.AcceptLoop(*l), asio::detached);
    spdlog::info("http: listening on {} ({})", l->bound, l->tls ? "TLS" : "plain HTTP");
  }
  for (int i = 0; i < n; ++i) {
    s.io_threads.emplace_back([&s] {
      for (;;) {
        try {
          s.ioc->run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("http: I/O thread caught an exception: {}", e.what());
        }
      }
    });
  }
  return OkStatus();
}

std::vector<std::string> Server::Addresses() const {
  std::vector<std::string> out;
  for (const auto& l : impl_->listeners) out.push_back(l->bound);
  return out;
}

std::vector<uint16_t> Server::Ports() const {
  std::vector<uint16_t> out;
  for (const auto& l : impl_->listeners) out.push_back(l->port);
  return out;
}

void Server::Stop() {
  Impl& s = *impl_;
  if (!s.started || s.stopped) return;
  s.stopped = true;
  s.stopping = true;
  for (auto& l : s.listeners) {
    tcp::acceptor* a = l->acceptor.get();
    asio::post(a->get_executor(), [a] {
      beast::error_code ec;
      a->close(ec);
    });
  }
  s.CancelConnections(/*idle_only=*/true);
  if (!s.WaitForConnections(s.options.shutdown_grace)) {
    spdlog::warn("http: closing connections still busy after the shutdown grace period");
    s.CancelConnections(/*idle_only=*/false);
    s.WaitForConnections(std::chrono::milliseconds(2000));
  }
  // The sweep runs until here: connections still draining in the grace
  // period keep their timeouts.
  asio::post(s.sweeper->get_executor(), [&s] {
    s.sweep_stopped = true;
    s.sweeper->cancel();
  });
  if (s.workers) s.workers->join();
  s.work.reset();
  s.ioc->stop();
  for (auto& t : s.io_threads) t.join();
  s.io_threads.clear();
  s.sweeper.reset();
  for (auto& l : s.listeners) l->acceptor.reset();  // before the io_context they use
  s.ioc.reset();                                    // destroys any coroutine frame still queued
  s.workers.reset();
  spdlog::info("http: server stopped");
}

}  // namespace arca::http
