// arca: the Beast server. One C++20 coroutine per connection, on its own
// strand; handler calls run on a separate worker pool so that a request
// blocked in storage does not hold an I/O thread.
#include "http/server.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <spdlog/spdlog.h>

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

// State of one connection shared with Stop(). Touched only on the
// connection's strand, except `executor`, which is immutable.
struct Conn {
  asio::any_io_executor executor;
  beast::tcp_stream* stream = nullptr;  // null once the session has ended
  bool idle = false;                    // waiting for the next request
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

}  // namespace

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
  asio::awaitable<void> SendErrorAndClose(Stream& stream, int status, std::string_view message);
  void CancelConnections(bool idle_only);
  bool WaitForConnections(std::chrono::milliseconds timeout);

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
    conn_->stream = nullptr;
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
asio::awaitable<void> Server::Impl::SendErrorAndClose(Stream& stream, int status,
                                                      std::string_view message) {
  auto& tcp = beast::get_lowest_layer(stream);
  HttpResponse r = ErrorResponse(status, message);
  bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(status), 11};
  out.set(bhttp::field::cache_control, "no-store");
  out.set(bhttp::field::content_type, r.content_type);
  out.keep_alive(false);
  out.body() = std::move(r.body);
  out.content_length(out.body().size());
  tcp.expires_after(kLingerTime);
  auto [ec, n] = co_await bhttp::async_write(stream, out, as_tuple(use_awaitable));
  if (ec) co_return;
  // Lingering close: stop sending, then discard what the client still sends.
  beast::error_code ignored;
  tcp.socket().shutdown(tcp::socket::shutdown_send, ignored);
  std::size_t drained = 0;
  std::vector<char> scratch(kReadChunk);
  while (drained < kLingerBytes) {
    auto [rec, rn] =
        co_await tcp.async_read_some(asio::buffer(scratch), as_tuple(use_awaitable));
    if (rec) break;
    drained += rn;
  }
}

template <class Stream>
asio::awaitable<void> Server::Impl::Serve(Listener& l, Stream& stream, Conn& conn,
                                          const std::string& addr, uint16_t port) {
  auto& tcp = beast::get_lowest_layer(stream);
  const auto request_timeout = options.request_timeout.count() > 0
                                   ? options.request_timeout
                                   : std::chrono::milliseconds(std::max<int64_t>(
                                         1, l.config.max_request_duration_seconds) * 1000);
  const uint64_t body_limit = static_cast<uint64_t>(
      l.config.max_request_size > 0 ? l.config.max_request_size : kDefaultMaxRequestSize);
  beast::flat_buffer buffer;

  for (bool first = true;; first = false) {
    // Wait for the first byte of the next request (idle keep-alive time).
    if (buffer.size() == 0) {
      if (stopping) co_return;
      conn.idle = true;
      tcp.expires_after(first ? options.header_timeout : options.idle_timeout);
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(kReadChunk),
                                                     as_tuple(use_awaitable));
      conn.idle = false;
      if (ec) co_return;
      buffer.commit(n);
    }
    const SteadyTime start = clock->SteadyNow();

    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
    parser.body_limit(body_limit);
    tcp.expires_after(std::min(options.header_timeout, request_timeout));
    {
      auto [ec, n] =
          co_await bhttp::async_read_header(stream, buffer, parser, as_tuple(use_awaitable));
      if (ec == bhttp::error::body_limit) {
        co_await SendErrorAndClose(stream, 413, "http: request body too large");
        co_return;
      }
      if (ec == bhttp::error::header_limit) {
        co_await SendErrorAndClose(stream, 431, "request header fields too large");
        co_return;
      }
      if (ec) {
        if (IsHttpSyntaxError(ec)) co_await SendErrorAndClose(stream, 400, "malformed HTTP request");
        co_return;  // timeout, reset, EOF: just close
      }
    }

    // RFC 9112 6.3: a Transfer-Encoding other than chunked cannot be framed;
    // answering as if there were no body would let the rest be read as the
    // next request (smuggling). Refuse and close.
    if (auto te = parser.get().find(bhttp::field::transfer_encoding);
        te != parser.get().end() && !parser.chunked()) {
      co_await SendErrorAndClose(stream, 400, "unsupported Transfer-Encoding");
      co_return;
    }

    if (!parser.is_done()) {
      if (beast::iequals(parser.get()[bhttp::field::expect], "100-continue")) {
        bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
        auto [ec, n] = co_await bhttp::async_write(stream, cont, as_tuple(use_awaitable));
        if (ec) co_return;
      }
      auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock->SteadyNow() -
                                                                           start);
      if (elapsed >= request_timeout) co_return;
      tcp.expires_after(request_timeout - elapsed);
      auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, as_tuple(use_awaitable));
      if (ec == bhttp::error::body_limit) {
        co_await SendErrorAndClose(stream, 413, "http: request body too large");
        co_return;
      }
      if (ec) {
        if (IsHttpSyntaxError(ec)) co_await SendErrorAndClose(stream, 400, "malformed HTTP request");
        co_return;
      }
    }
    tcp.expires_never();

    bhttp::request<bhttp::string_body> msg = parser.release();
    HttpRequest req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    for (const auto& field : msg) {
      req.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    req.body = std::move(msg.body());
    req.remote_address = addr;
    req.remote_port = port;
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

    bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(res.status),
                                            msg.version()};
    out.set(bhttp::field::cache_control, "no-store");
    if (!res.content_type.empty()) out.set(bhttp::field::content_type, res.content_type);
    for (const auto& [name, value] : res.headers) out.set(name, value);
    bool bodiless = res.status < 200 || res.status == 204 || res.status == 304;
    if (!bodiless) {
      out.body() = std::move(res.body);
      out.content_length(out.body().size());
    }
    keep_alive = keep_alive && !stopping;
    out.keep_alive(keep_alive);
    tcp.expires_after(request_timeout);
    auto [ec, n] = co_await bhttp::async_write(stream, out, as_tuple(use_awaitable));
    Wipe(out.body());
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
  beast::tcp_stream tcp_stream(std::move(socket));
  if (l.tls) {
    beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp_stream), *l.tls);
    conn->stream = &beast::get_lowest_layer(stream);
    ConnGuard guard(*this, conn);
    if (stopping) co_return;
    conn->idle = true;
    beast::get_lowest_layer(stream).expires_after(options.header_timeout);
    auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server,
                                                 as_tuple(use_awaitable));
    conn->idle = false;
    if (hec) {
      spdlog::debug("http: TLS handshake with a client failed: {}", hec.message());
      co_return;
    }
    co_await Serve(l, stream, *conn, addr, port);
    beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ec);
  } else {
    conn->stream = &tcp_stream;
    ConnGuard guard(*this, conn);
    co_await Serve(l, tcp_stream, *conn, addr, port);
    tcp_stream.socket().shutdown(tcp::socket::shutdown_both, ec);
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
      if (c->stream == nullptr || (idle_only && !c->idle)) return;
      beast::error_code ec;
      if (idle_only) {
        c->stream->cancel();
      } else {
        c->stream->socket().close(ec);
      }
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
    l->bound = local.address().is_v6() ? "[" + local.address().to_string() + "]:" +
                                             std::to_string(l->port)
                                       : local.address().to_string() + ":" +
                                             std::to_string(l->port);
    made.push_back(std::move(l));
  }

  s.started = true;
  s.listeners = std::move(made);
  if (s.options.worker_threads > 0)
    s.workers = std::make_unique<asio::thread_pool>(s.options.worker_threads);
  s.work.emplace(s.ioc->get_executor());
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
  if (s.workers) s.workers->join();
  s.work.reset();
  s.ioc->stop();
  for (auto& t : s.io_threads) t.join();
  s.io_threads.clear();
  for (auto& l : s.listeners) l->acceptor.reset();  // before the io_context they use
  s.ioc.reset();  // destroys any coroutine frame still queued
  s.workers.reset();
  spdlog::info("http: server stopped");
}

}  // namespace arca::http
