// arca storage tests: the conformance suite every storage::Backend passes.
//
// A value-parameterized abstract suite (GoogleTest "Creating
// Value-Parameterized Abstract Tests"): the TEST_Ps live in
// backend_conformance_test.cc; each engine's test file instantiates them with
// a BackendParam that opens a fresh backend in a temporary directory.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "storage/backend.h"
#include "storage_test_util.h"

namespace arca::storage::test {

struct BackendParam {
  std::string name;  // test-name suffix, [A-Za-z0-9]
  // Opens a backend storing under `dir`; called again with the same dir to
  // reopen it (engines without persistence just return a fresh one).
  std::function<StatusOr<std::unique_ptr<Backend>>(const std::string& dir)> open;
};

inline std::string BackendParamName(const ::testing::TestParamInfo<BackendParam>& info) {
  return info.param.name;
}

class BackendConformanceTest : public ::testing::TestWithParam<BackendParam> {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    auto b = GetParam().open(dir_.path());
    ASSERT_THAT(b, IsOk());
    backend_ = std::move(b).value();
  }

  Backend& b() { return *backend_; }

  ScopedTempDir dir_;
  std::unique_ptr<Backend> backend_;
};

}  // namespace arca::storage::test
