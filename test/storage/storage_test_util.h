// arca storage tests: a scoped temporary directory and Status matchers.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "base/status.h"

namespace arca::storage::test {

inline const Status& StatusOf(const Status& s) { return s; }
template <typename T>
Status StatusOf(const StatusOr<T>& s) {
  return s.status();
}

MATCHER_P(StatusIs, code, "has status code " + ::testing::PrintToString(static_cast<int>(code))) {
  Status s = StatusOf(arg);
  *result_listener << "status " << s.ToString();
  return s.code() == code;
}

MATCHER(IsOk, "is OK") {
  Status s = StatusOf(arg);
  *result_listener << "status " << s.ToString();
  return s.ok();
}

// A fresh directory under the system temp dir, removed with its contents.
class ScopedTempDir {
 public:
  ScopedTempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "arca-storage-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~ScopedTempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace arca::storage::test
