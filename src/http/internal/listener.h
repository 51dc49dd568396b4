// arca internal: pieces of listener setup kept apart from the server loop:
// address parsing and the TLS context. Pure or self-contained; thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/ssl/context.hpp>

#include "base/status.h"
#include "http/server.h"

namespace arca::http::internal {

struct HostPort {
  std::string host;  // without brackets; "0.0.0.0" when empty in the input
  uint16_t port = 0;
};

// "127.0.0.1:8200", "[::1]:8200", ":8200", "localhost:0". Errors:
// InvalidArgument.
StatusOr<HostPort> SplitHostPort(std::string_view address);

// A server TLS context from the listener's cert chain, key and minimum
// version. Errors: InvalidArgument naming the file or setting at fault.
StatusOr<std::unique_ptr<boost::asio::ssl::context>> MakeTlsContext(const ListenerConfig& config);

}  // namespace arca::http::internal
