// arca: listener address parsing and TLS context setup (OpenSSL 3).
#include "http/internal/listener.h"

#include <charconv>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace arca::http::internal {

namespace {

// The most recent OpenSSL error as text, draining the error queue.
std::string OpenSslError(const boost::system::error_code& ec) {
  unsigned long e = ERR_get_error();  // NOLINT(runtime/int): OpenSSL's type
  ERR_clear_error();
  if (e == 0) return ec ? ec.message() : "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

}  // namespace

StatusOr<HostPort> SplitHostPort(std::string_view address) {
  HostPort hp;
  std::string_view port;
  if (!address.empty() && address.front() == '[') {
    std::size_t close = address.find("]:");
    if (close == std::string_view::npos) {
      return InvalidArgument("invalid listener address \"" + std::string(address) + "\"");
    }
    hp.host = std::string(address.substr(1, close - 1));
    port = address.substr(close + 2);
  } else {
    std::size_t colon = address.rfind(':');
    if (colon == std::string_view::npos ||
        address.substr(0, colon).find(':') != std::string_view::npos) {
      return InvalidArgument("invalid listener address \"" + std::string(address) +
                             "\": expected host:port");
    }
    hp.host = std::string(address.substr(0, colon));
    port = address.substr(colon + 1);
  }
  unsigned value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || p != port.data() + port.size() || value > 65535) {
    return InvalidArgument("invalid port in listener address \"" + std::string(address) + "\"");
  }
  hp.port = static_cast<uint16_t>(value);
  if (hp.host.empty()) hp.host = "0.0.0.0";
  return hp;
}

StatusOr<std::unique_ptr<boost::asio::ssl::context>> MakeTlsContext(const ListenerConfig& config) {
  namespace ssl = boost::asio::ssl;
  if (config.tls_cert_file.empty() || config.tls_key_file.empty()) {
    return InvalidArgument("listener " + config.address +
                           ": tls_cert_file and tls_key_file are required unless tls_disable "
                           "is set");
  }
  int min_version = 0;
  if (config.tls_min_version.empty() || config.tls_min_version == "tls12") {
    min_version = TLS1_2_VERSION;
  } else if (config.tls_min_version == "tls13") {
    min_version = TLS1_3_VERSION;
  } else {
    return InvalidArgument("listener " + config.address + ": unsupported tls_min_version \"" +
                           config.tls_min_version + "\" (use tls12 or tls13)");
  }

  std::unique_ptr<ssl::context> ctx;
  try {
    ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("cannot create a TLS context: ") + e.what());
  }
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::single_dh_use,
                   ec);
  SSL_CTX_set_options(ctx->native_handle(), SSL_OP_NO_RENEGOTIATION);
  if (ec || SSL_CTX_set_min_proto_version(ctx->native_handle(), min_version) != 1) {
    return InvalidArgument("cannot set the minimum TLS version: " + OpenSslError(ec));
  }
  ctx->use_certificate_chain_file(config.tls_cert_file, ec);
  if (ec) {
    return InvalidArgument("error loading TLS certificate file " + config.tls_cert_file + ": " +
                           OpenSslError(ec));
  }
  ctx->use_private_key_file(config.tls_key_file, ssl::context::pem, ec);
  if (ec) {
    return InvalidArgument("error loading TLS key file " + config.tls_key_file + ": " +
                           OpenSslError(ec));
  }
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    return InvalidArgument("TLS key file " + config.tls_key_file +
                           " does not match the certificate: " + OpenSslError(ec));
  }
  return ctx;
}

}  // namespace arca::http::internal
