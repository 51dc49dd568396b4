// EtcdBackend's revision conditions against a real etcd on loopback: under a
// fence, a value condition on a value the backend last read or wrote is sent
// as a condition on that write's mod revision, with the same outcome as the
// value condition except after an identical rewrite (Aborted, and the retry
// after a read holds); without a fence, or for values it has not seen, the
// value is sent.
#include <gtest/gtest.h>

#include <mutex>

#include "forwarding_client.h"
#include "storage/etcd/backend.h"
#include "storage_test_util.h"
#include "support/etcd_process.h"

namespace arca::storage::etcd {
namespace {

using ::arca::storage::test::IsOk;
using ::arca::testing::EtcdProcess;

constexpr char kLock[] = "/vault/core/lock";

// Records the compares of every write txn (one with ops other than Ranges).
class RecordingClient final : public ForwardingClient {
 public:
  using ForwardingClient::ForwardingClient;
  StatusOr<TxnResult> Txn(const std::vector<Compare>& c, const std::vector<TxnOp>& s,
                          const std::vector<TxnOp>& f) override {
    if (!IsReadBatch(c, s, f)) {
      std::lock_guard g(mu_);
      last_.clear();
      Collect(c, s);
    }
    return inner_.Txn(c, s, f);
  }
  // The compares of the last write txn on `key` (nested ones included).
  std::vector<Compare> On(const std::string& key) {
    std::lock_guard g(mu_);
    std::vector<Compare> out;
    for (const auto& c : last_)
      if (c.key == key) out.push_back(c);
    return out;
  }

 private:
  void Collect(const std::vector<Compare>& c, const std::vector<TxnOp>& ops) {
    last_.insert(last_.end(), c.begin(), c.end());
    for (const auto& op : ops)
      if (op.kind == TxnOp::Kind::kTxn) Collect(op.compares, op.success);
  }
  std::mutex mu_;
  std::vector<Compare> last_;
};

class EtcdRevisionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(etcd_.Start(), IsOk());
    auto c = Client::Create(etcd_.client_options());
    ASSERT_THAT(c, IsOk());
    raw_ = std::move(c).value();
    rec_ = std::make_unique<RecordingClient>(*raw_);
    backend_ = std::make_unique<EtcdBackend>(*rec_, "/vault/");
  }
  void HoldFence() {
    auto won = raw_->Txn({Compare::KeyMissing(kLock)}, {TxnOp::Put(kLock, "{}")}, {});
    ASSERT_THAT(won, IsOk());
    auto kv = raw_->Range(kLock, {});
    ASSERT_THAT(kv, IsOk());
    ASSERT_FALSE(kv->kvs.empty());
    backend_->SetFence(etcd::Fence{kLock, kv->kvs[0].create_revision});
  }
  Status CasPut(const std::string& key, const std::string& expect, const std::string& value) {
    return backend_->Txn({Condition::Equals(key, expect)}, {Op::Put(key, value)});
  }
  Compare::Target SentTarget(const std::string& key) {
    auto cs = rec_->On("/vault/" + key);
    EXPECT_EQ(cs.size(), 1u);
    return cs.empty() ? Compare::Target::kLease : cs.front().target;
  }
  std::optional<std::string> Value(const std::string& key) {
    auto v = backend_->Get(key);
    EXPECT_THAT(v, IsOk());
    return v.ok() ? *v : std::nullopt;
  }

  EtcdProcess etcd_;
  std::unique_ptr<Client> raw_;
  std::unique_ptr<RecordingClient> rec_;
  std::unique_ptr<EtcdBackend> backend_;
};

TEST_F(EtcdRevisionsTest, AConditionOnAValueItWroteIsSentAsItsModRevision) {
  HoldFence();
  ASSERT_THAT(backend_->Put("k", "v1"), IsOk());
  ASSERT_THAT(CasPut("k", "v1", "v2"), IsOk());
  EXPECT_EQ(SentTarget("k"), Compare::Target::kModRevision);
  EXPECT_EQ(rec_->On("/vault/k").front().value, "");  // the old value is not sent
  EXPECT_EQ(Value("k"), std::optional<std::string>("v2"));
  // And on the value that write stored.
  ASSERT_THAT(CasPut("k", "v2", "v3"), IsOk());
  EXPECT_EQ(SentTarget("k"), Compare::Target::kModRevision);
  EXPECT_EQ(Value("k"), std::optional<std::string>("v3"));
}

TEST_F(EtcdRevisionsTest, AConditionOnAValueItReadIsSentAsItsModRevision) {
  HoldFence();
  ASSERT_THAT(raw_->Put("/vault/r", "x", 0), IsOk());
  EXPECT_EQ(Value("r"), std::optional<std::string>("x"));
  ASSERT_THAT(CasPut("r", "x", "y"), IsOk());
  EXPECT_EQ(SentTarget("r"), Compare::Target::kModRevision);
  EXPECT_EQ(Value("r"), std::optional<std::string>("y"));
}

TEST_F(EtcdRevisionsTest, AKeyChangedBehindItsBackFailsTheCondition) {
  HoldFence();
  ASSERT_THAT(backend_->Put("k", "v1"), IsOk());
  ASSERT_THAT(raw_->Put("/vault/k", "other", 0), IsOk());
  EXPECT_EQ(CasPut("k", "v1", "lost").code(), Code::kAborted);
  EXPECT_EQ(SentTarget("k"), Compare::Target::kModRevision);
  EXPECT_EQ(Value("k"), std::optional<std::string>("other"));
}

TEST_F(EtcdRevisionsTest, AnIdenticalRewriteAbortsOnceAndTheRetryAfterAReadHolds) {
  HoldFence();
  ASSERT_THAT(backend_->Put("k", "same"), IsOk());
  ASSERT_THAT(raw_->Put("/vault/k", "same", 0), IsOk());  // new revision, same bytes
  EXPECT_EQ(CasPut("k", "same", "next").code(), Code::kAborted);
  EXPECT_EQ(Value("k"), std::optional<std::string>("same"));  // read again: learnt anew
  ASSERT_THAT(CasPut("k", "same", "next"), IsOk());
  EXPECT_EQ(Value("k"), std::optional<std::string>("next"));
}

TEST_F(EtcdRevisionsTest, AValueItHasNotSeenIsSentAsAValue) {
  HoldFence();
  ASSERT_THAT(backend_->Put("k", "v1"), IsOk());
  EXPECT_EQ(CasPut("k", "not-v1", "x").code(), Code::kAborted);
  EXPECT_EQ(SentTarget("k"), Compare::Target::kValue);
  EXPECT_EQ(Value("k"), std::optional<std::string>("v1"));
}

TEST_F(EtcdRevisionsTest, WithoutAFenceTheValueIsSent) {
  ASSERT_THAT(backend_->Put("k", "v1"), IsOk());
  ASSERT_THAT(CasPut("k", "v1", "v2"), IsOk());
  EXPECT_EQ(SentTarget("k"), Compare::Target::kValue);
}

TEST_F(EtcdRevisionsTest, ANewFenceForgetsWhatWasSeen) {
  HoldFence();
  ASSERT_THAT(backend_->Put("k", "v1"), IsOk());
  auto f = backend_->fence();
  ASSERT_TRUE(f.has_value());
  backend_->SetFence(f);  // a new term, same key
  ASSERT_THAT(CasPut("k", "v1", "v2"), IsOk());
  EXPECT_EQ(SentTarget("k"), Compare::Target::kValue);
}

TEST_F(EtcdRevisionsTest, ADeleteForgetsTheKey) {
  HoldFence();
  ASSERT_THAT(backend_->Put("k", "v1"), IsOk());
  ASSERT_THAT(backend_->Delete("k"), IsOk());
  ASSERT_THAT(raw_->Put("/vault/k", "v1", 0), IsOk());
  EXPECT_EQ(Value("k"), std::optional<std::string>("v1"));
  ASSERT_THAT(CasPut("k", "v1", "v2"), IsOk());
  EXPECT_EQ(Value("k"), std::optional<std::string>("v2"));
}

TEST_F(EtcdRevisionsTest, ConcurrentCasWritersLoseNoUpdate) {
  HoldFence();
  ASSERT_THAT(backend_->Put("n", "0"), IsOk());
  std::vector<std::thread> ts;
  std::atomic<int> done{0};
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        for (int attempt = 0; attempt < 200; ++attempt) {
          auto cur = backend_->Get("n");
          if (!cur.ok() || !cur->has_value()) continue;
          const std::string next = std::to_string(std::stoi(**cur) + 1);
          if (CasPut("n", **cur, next).ok()) {
            ++done;
            break;
          }
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(done.load(), 100);
  EXPECT_EQ(Value("n"), std::optional<std::string>("100"));
}

}  // namespace
}  // namespace arca::storage::etcd
