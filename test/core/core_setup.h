// arca core tests: a Core initialised with one key share and unsealed.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "core/core.h"

namespace arca::testing {

// Initialises `core` (1 share, threshold 1) and unseals it; returns the root
// token, or "" after a failed expectation.
inline std::string InitAndUnseal(core::Core& core) {
  core::InitParams p;
  p.secret_shares = 1;
  p.secret_threshold = 1;
  auto init = core.Init(p);
  EXPECT_TRUE(init.ok()) << init.status().ToString();
  if (!init.ok()) return "";
  EXPECT_TRUE(core.SubmitUnsealKey(init->keys_hex.front()).ok());
  return init->root_token;
}

}  // namespace arca::testing
