// arca engines tests: MapBackend, a tiny std::map storage::Backend, and
// helpers shared by the engine tests. Thread-safe (one mutex).
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "base/status.h"
#include "engines/engines.h"
#include "engines/internal/kv_v2.h"
#include "logical/backend.h"
#include "storage/backend.h"
#include "support/fake_clock.h"

namespace arca::engines::test {

class MapBackend : public storage::Backend {
 public:
  StatusOr<std::optional<std::string>> Get(std::string_view key) override {
    std::lock_guard l(mu_);
    auto it = data_.find(std::string(key));
    if (it == data_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  Status Put(std::string_view key, std::string_view value) override {
    std::lock_guard l(mu_);
    data_[std::string(key)] = std::string(value);
    return OkStatus();
  }
  Status Delete(std::string_view key) override {
    std::lock_guard l(mu_);
    data_.erase(std::string(key));
    return OkStatus();
  }
  StatusOr<std::vector<std::string>> List(std::string_view prefix) override {
    std::lock_guard l(mu_);
    std::set<std::string> out;
    for (auto it = data_.lower_bound(std::string(prefix)); it != data_.end(); ++it) {
      if (it->first.compare(0, prefix.size(), prefix) != 0) break;
      std::string rest = it->first.substr(prefix.size());
      if (rest.empty()) continue;
      auto slash = rest.find('/');
      out.insert(slash == std::string::npos ? rest : rest.substr(0, slash + 1));
    }
    return std::vector<std::string>(out.begin(), out.end());
  }
  Status Txn(const std::vector<storage::Condition>& conditions,
             const std::vector<storage::Op>& ops) override {
    std::lock_guard l(mu_);
    ++txns_;
    for (const auto& c : conditions) {
      auto it = data_.find(c.key);
      bool ok = false;
      switch (c.kind) {
        case storage::Condition::Kind::kExists:
          ok = it != data_.end();
          break;
        case storage::Condition::Kind::kAbsent:
          ok = it == data_.end();
          break;
        case storage::Condition::Kind::kEquals:
          ok = it != data_.end() && it->second == c.value;
          break;
      }
      if (!ok) return Aborted("condition failed");
    }
    for (const auto& op : ops) {
      if (op.kind == storage::Op::Kind::kPut)
        data_[op.key] = op.value;
      else
        data_.erase(op.key);
    }
    return OkStatus();
  }

  std::map<std::string, std::string> Snapshot() const {
    std::lock_guard l(mu_);
    return data_;
  }
  int Txns() const {
    std::lock_guard l(mu_);
    return txns_;
  }
  // KV v2: version data kept at version keys, and inline in metadata records.
  std::size_t VersionKeys() const {
    std::size_t n = 0;
    for (const auto& [k, v] : Snapshot())
      if (k.rfind("_kv2/ver/", 0) == 0) ++n;
    return n;
  }
  std::size_t InlineVersions() const {
    std::size_t n = 0;
    for (const auto& [k, v] : Snapshot()) {
      if (k.rfind("_kv2/meta/", 0) != 0) continue;
      auto m = internal::DecodeMetadata(v);
      if (m.ok()) n += m->inline_data.size();
    }
    return n;
  }
  std::size_t StoredVersions() const { return VersionKeys() + InlineVersions(); }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string> data_;
  int txns_ = 0;
};

// Changes a key behind the backend's back before each of the next `n`
// Txns, as a writer in another process would, so conditions fail.
class InterferingBackend : public MapBackend {
 public:
  void InterfereWith(std::string key, int n) {
    key_ = std::move(key);
    remaining_ = n;
  }
  Status Txn(const std::vector<storage::Condition>& conditions,
             const std::vector<storage::Op>& ops) override {
    if (remaining_ > 0) {
      --remaining_;
      auto cur = MapBackend::Get(key_);
      if (cur.ok() && cur->has_value()) {
        // Another writer's record: the same versions, different bytes.
        auto m = internal::DecodeMetadata(**cur);
        if (m.ok()) {
          ++m->updated_ns;
          (void)MapBackend::Put(key_, internal::EncodeMetadata(*m));
        }
      }
    }
    return MapBackend::Txn(conditions, ops);
  }

 private:
  std::string key_;
  std::atomic<int> remaining_{0};
};

inline logical::Request MakeRequest(logical::Operation op, std::string path,
                                    logical::Json data = nullptr) {
  logical::Request r;
  r.operation = op;
  r.path = std::move(path);
  r.data = std::move(data);
  return r;
}

inline std::unique_ptr<logical::Backend> MakeKv(storage::Backend& s, Clock& clock,
                                                std::string version) {
  logical::BackendConfig c;
  c.type = "kv";
  c.mount_path = "secret/";
  if (!version.empty()) c.options["version"] = version;
  c.storage = &s;
  c.clock = &clock;
  auto b = KvFactory()(c);
  EXPECT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_TRUE((*b)->Initialize().ok());
  return std::move(*b);
}

}  // namespace arca::engines::test

namespace arca::engines::test {

// Issues requests against one backend over `storage` with a FakeClock.
class EngineFixture : public ::testing::Test {
 protected:
  static constexpr int64_t kDefaultTtl = 2764800;

  StatusOr<logical::Response> Do(logical::Backend& b, logical::Operation op, std::string path,
                                 logical::Json data = nullptr, std::string token_key = "") {
    auto r = MakeRequest(op, std::move(path), std::move(data));
    r.storage = &storage_;
    r.mount_default_ttl = kDefaultTtl;
    r.token_key = std::move(token_key);
    return b.HandleRequest(r);
  }
  bool Exists(logical::Backend& b, logical::Operation op, std::string path,
              std::string token_key = "") {
    auto r = MakeRequest(op, std::move(path));
    r.storage = &storage_;
    r.token_key = std::move(token_key);
    auto e = b.Exists(r);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return e.ok() && *e;
  }

  InterferingBackend storage_;
  arca::testing::FakeClock clock_;
};

// A KV v2 backend over its own storage of type B (a MapBackend that counts
// or misbehaves), with request helpers.
template <typename B>
class KvV2Over : public ::testing::Test {
 protected:
  void SetUp() override { kv_ = MakeKv(storage_, clock_, "2"); }
  StatusOr<logical::Response> Do(logical::Operation op, std::string path,
                                 logical::Json data = nullptr) {
    auto r = MakeRequest(op, std::move(path), std::move(data));
    r.storage = &storage_;
    return kv_->HandleRequest(r);
  }
  StatusOr<logical::Response> Put(const std::string& key, logical::Json data,
                                  logical::Json options = logical::Json::object()) {
    return Do(logical::Operation::kUpdate, "data/" + key,
              logical::Json{{"data", std::move(data)}, {"options", std::move(options)}});
  }

  B storage_;
  arca::testing::FakeClock clock_;
  std::unique_ptr<logical::Backend> kv_;
};

#define ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, expr)   \
  auto tmp = (expr);                                \
  ASSERT_TRUE(tmp.ok()) << tmp.status().ToString(); \
  lhs = std::move(*tmp)
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL(ARCA_CONCAT(engines_so_, __LINE__), lhs, expr)

#define EXPECT_CODE(expr, c) EXPECT_EQ((expr).status().code(), (c)) << (expr).status().ToString()

}  // namespace arca::engines::test
