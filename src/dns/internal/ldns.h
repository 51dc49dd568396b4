// arca: includes ldns. ldns/common.h defines `bool`, `true` and `false` as
// macros unless <stdbool.h> was seen first, which breaks C++ headers.
#pragma once

#include <stdbool.h>  // NOLINT: must precede ldns
#include <ldns/ldns.h>
