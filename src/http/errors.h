// arca: the one table from Status codes to HTTP statuses and Vault's error
// envelope `{"errors":[...]}`. Pure functions, safe for concurrent use.
#pragma once

#include <string_view>

#include "base/status.h"
#include "http/codec.h"

namespace arca::http {

// The HTTP status Vault answers with for `code` (kInvalidArgument → 400,
// kSealed → 503, ...; kAborted → 400, a failed check-and-set being a bad
// request; kOk → 500, since no error response should carry it).
int HttpStatusFor(Code code);

// The error envelope for a non-OK status. An empty message gives an empty
// `errors` list, except for the codes that have a default text (kInternal
// and kDataLoss "internal error", kSealed "Vault is sealed",
// kPermissionDenied "permission denied").
HttpResponse ErrorResponse(const Status& status);

// `{"errors":[message]}` with `http_status`; `{"errors":[]}` when empty.
HttpResponse ErrorResponse(int http_status, std::string_view message);

}  // namespace arca::http
