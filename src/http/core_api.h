// arca: the http::Api over a core::Core.
#pragma once

#include <memory>

#include "core/core.h"
#include "http/api.h"

namespace arca::http {

// `core` must outlive the returned object. Thread-safe as Core is.
std::unique_ptr<Api> NewCoreApi(core::Core& core);

}  // namespace arca::http
