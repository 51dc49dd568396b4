// EtcdBackend's read batching against a real etcd on loopback: reads that
// queue behind the reads in flight share one read-only etcd transaction,
// each caller getting the value of its own key.
//
// ReadGate forwards to the real client, records every read request (a
// Range, or a txn of Ranges with its serializable flags) and can park them
// at its door, so a test queues reads behind parked ones and knows exactly
// which batches form when it lets go.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "base/clock.h"
#include "forwarding_client.h"
#include "storage/etcd/backend.h"
#include "storage_test_util.h"
#include "support/etcd_process.h"

namespace arca::storage::etcd {
namespace {

using ::arca::storage::test::IsOk;
using ::arca::testing::EtcdProcess;
using ::arca::testing::EtcdProcessOptions;
using ::testing::Optional;

constexpr std::chrono::milliseconds kBound{10000};

template <typename Pred>
bool WaitFor(Pred pred) {
  const SteadyTime end = RealClock().SteadyNow() + kBound;
  while (!pred()) {
    if (RealClock().SteadyNow() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// One read request as etcd saw it.
struct SeenRead {
  bool txn = false;                // a txn of Ranges, not a Range
  std::vector<bool> serializable;  // per range
};

class ReadGate final : public ForwardingClient {
 public:
  explicit ReadGate(Client& inner) : ForwardingClient(inner) {}

  void Hold() { door_.Hold(); }
  void Release() { door_.Release(); }
  int parked() const { return door_.parked(); }
  std::vector<SeenRead> seen() const {
    std::lock_guard g(mu_);
    return seen_;
  }

  StatusOr<RangeResult> Range(const std::string& key, const RangeOptions& o) override {
    Door({false, {o.serializable}});
    return inner_.Range(key, o);
  }
  StatusOr<TxnResult> Txn(const std::vector<Compare>& c, const std::vector<TxnOp>& s,
                          const std::vector<TxnOp>& f) override {
    if (IsReadBatch(c, s, f)) {
      SeenRead r{true, {}};
      for (const auto& op : s) r.serializable.push_back(op.serializable);
      Door(std::move(r));
    }
    return inner_.Txn(c, s, f);
  }

 private:
  void Door(SeenRead r) {
    {
      std::lock_guard g(mu_);
      seen_.push_back(std::move(r));
    }
    door_.Pass(kBound);
  }

  arca::storage::etcd::Door door_;
  mutable std::mutex mu_;
  std::vector<SeenRead> seen_;
};

using ReadResult = StatusOr<std::optional<std::string>>;

class EtcdReadsTest : public ::testing::Test {
 protected:
  ~EtcdReadsTest() override {
    if (gate_) gate_->Release();
    Join();
  }

  void Open(BatchOptions batch, std::vector<std::string> args = {}) {
    EtcdProcessOptions o;
    o.extra_args = std::move(args);
    etcd_ = std::make_unique<EtcdProcess>(o);
    ASSERT_THAT(etcd_->Start(), IsOk());
    ClientOptions co = etcd_->client_options();
    co.request_timeout = kBound;
    co.dial_timeout = std::chrono::milliseconds(500);
    auto c = Client::Create(co);
    ASSERT_THAT(c, IsOk());
    raw_ = std::move(c).value();
    gate_ = std::make_unique<ReadGate>(*raw_);
    backend_ = std::make_unique<EtcdBackend>(*gate_, "/vault/", batch);
  }
  static BatchOptions OneReadInFlight() {
    BatchOptions b;
    b.max_reads_in_flight = 1;
    return b;
  }

  void Spawn(std::size_t slot, std::function<ReadResult()> fn) {
    {
      std::lock_guard g(mu_);
      if (results_.size() <= slot) results_.resize(slot + 1, Internal("not run"));
    }
    threads_.emplace_back([this, slot, fn = std::move(fn)] {
      ReadResult r = fn();
      std::lock_guard g(mu_);
      results_[slot] = std::move(r);
    });
  }
  // Parks one read in the door; reads spawned next queue behind it.
  void Park() {
    gate_->Hold();
    Spawn(0, [this] { return backend_->Get("parked"); });
    ASSERT_TRUE(WaitFor([&] { return gate_->parked() == 1; }));
  }
  void Queue(std::size_t slot, std::function<ReadResult()> fn) {
    const std::size_t before = backend_->read_stats().queued;
    Spawn(slot, std::move(fn));
    ASSERT_TRUE(WaitFor([&] { return backend_->read_stats().queued == before + 1; }));
  }
  void Join() {
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    threads_.clear();
  }
  ReadResult Result(std::size_t slot) {
    std::lock_guard g(mu_);
    return results_.at(slot);
  }

  std::unique_ptr<EtcdProcess> etcd_;
  std::unique_ptr<Client> raw_;
  std::unique_ptr<ReadGate> gate_;
  std::unique_ptr<EtcdBackend> backend_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::vector<ReadResult> results_;
};

TEST_F(EtcdReadsTest, AnIdleReadIsOneRangeSentAtOnce) {
  Open(OneReadInFlight());
  ASSERT_THAT(backend_->Put("a", "1"), IsOk());
  auto v = backend_->Get("a");
  ASSERT_THAT(v, IsOk());
  EXPECT_THAT(*v, Optional(std::string("1")));
  auto seen = gate_->seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_FALSE(seen[0].txn);
  EXPECT_EQ(seen[0].serializable, std::vector<bool>{false});
  ReadStats s = backend_->read_stats();
  EXPECT_EQ(s.requests, 1u);
  EXPECT_EQ(s.reads, 1u);
  EXPECT_EQ(s.batched, 0u);
}

TEST_F(EtcdReadsTest, ReadsQueuedBehindTheOneInFlightShareOneTxnEachWithItsOwnValue) {
  Open(OneReadInFlight());
  for (int i = 1; i <= 8; ++i) {
    ASSERT_THAT(backend_->Put("k" + std::to_string(i), "v" + std::to_string(i)), IsOk());
  }
  Park();
  for (std::size_t i = 1; i <= 10; ++i) {  // k9 and k10 do not exist
    const std::string k = "k" + std::to_string(i);
    Queue(i, [this, k] { return backend_->Get(k); });
  }
  gate_->Release();
  Join();
  EXPECT_THAT(Result(0), IsOk());
  for (std::size_t i = 1; i <= 8; ++i) {
    ASSERT_THAT(Result(i), IsOk()) << i;
    EXPECT_THAT(*Result(i), Optional("v" + std::to_string(i))) << i;
  }
  for (std::size_t i = 9; i <= 10; ++i) {
    ASSERT_THAT(Result(i), IsOk()) << i;
    EXPECT_EQ(*Result(i), std::nullopt) << i;
  }
  auto seen = gate_->seen();
  ASSERT_EQ(seen.size(), 2u);  // the parked Range, then one txn for the ten
  EXPECT_TRUE(seen[1].txn);
  EXPECT_EQ(seen[1].serializable, std::vector<bool>(10, false));
  ReadStats s = backend_->read_stats();
  EXPECT_EQ(s.requests, 2u);
  EXPECT_EQ(s.reads, 11u);
  EXPECT_EQ(s.batched, 10u);
  EXPECT_EQ(s.queued, 0u);
}

TEST_F(EtcdReadsTest,
       ABatchOfReadsForUpdateIsSerializableAndOneLinearizableReadMakesItLinearizable) {
  Open(OneReadInFlight());
  ASSERT_THAT(backend_->Put("a", "1"), IsOk());
  Park();
  Queue(1, [this] { return backend_->GetForUpdate("a"); });
  Queue(2, [this] { return backend_->GetForUpdate("b"); });
  gate_->Release();
  Join();
  Park();
  Queue(3, [this] { return backend_->GetForUpdate("a"); });
  Queue(4, [this] { return backend_->Get("a"); });
  gate_->Release();
  Join();
  for (std::size_t i : {1, 3, 4}) {
    ASSERT_THAT(Result(i), IsOk());
    EXPECT_THAT(*Result(i), Optional(std::string("1")));
  }
  ASSERT_THAT(Result(2), IsOk());
  EXPECT_EQ(*Result(2), std::nullopt);
  auto seen = gate_->seen();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_TRUE(seen[1].txn);
  EXPECT_EQ(seen[1].serializable, (std::vector<bool>{true, true}));
  EXPECT_TRUE(seen[3].txn);
  EXPECT_EQ(seen[3].serializable, (std::vector<bool>{false, false}));
}

TEST_F(EtcdReadsTest, ABatchEtcdRefusesIsReadAgainByEachCallerAlone) {
  Open(OneReadInFlight(), {"--max-txn-ops=2"});  // the backend still batches up to 128
  ASSERT_THAT(backend_->Put("a", "1"), IsOk());
  ASSERT_THAT(backend_->Put("b", "2"), IsOk());
  Park();
  Queue(1, [this] { return backend_->Get("a"); });
  Queue(2, [this] { return backend_->Get("b"); });
  Queue(3, [this] { return backend_->GetForUpdate("c"); });
  gate_->Release();
  Join();
  ASSERT_THAT(Result(1), IsOk());
  EXPECT_THAT(*Result(1), Optional(std::string("1")));
  ASSERT_THAT(Result(2), IsOk());
  EXPECT_THAT(*Result(2), Optional(std::string("2")));
  ASSERT_THAT(Result(3), IsOk());
  EXPECT_EQ(*Result(3), std::nullopt);
  auto seen = gate_->seen();
  ASSERT_EQ(seen.size(), 5u);  // parked, the refused txn, then three Ranges
  EXPECT_TRUE(seen[1].txn);
  for (std::size_t i = 2; i < 5; ++i) EXPECT_FALSE(seen[i].txn) << i;
  EXPECT_EQ(backend_->read_stats().requests, 5u);
}

TEST_F(EtcdReadsTest, BatchingOffSendsEveryReadAlone) {
  BatchOptions b = OneReadInFlight();
  b.batch_reads = false;
  Open(b);
  gate_->Hold();
  for (std::size_t i = 0; i < 3; ++i) Spawn(i, [this] { return backend_->Get("x"); });
  ASSERT_TRUE(WaitFor([&] { return gate_->parked() == 3; }));
  gate_->Release();
  Join();
  for (std::size_t i = 0; i < 3; ++i) EXPECT_THAT(Result(i), IsOk());
  for (const auto& r : gate_->seen()) EXPECT_FALSE(r.txn);
}

TEST_F(EtcdReadsTest, EtcdDownFailsQueuedReadsUnavailable) {
  Open(OneReadInFlight());
  Park();
  Queue(1, [this] { return backend_->Get("a"); });
  Queue(2, [this] { return backend_->Get("b"); });
  etcd_->Kill();
  gate_->Release();
  Join();
  for (std::size_t i = 0; i <= 2; ++i) {
    ASSERT_FALSE(Result(i).ok()) << i;
    EXPECT_EQ(Result(i).status().code(), Code::kUnavailable) << i;
  }
}

// Many readers and a writer at once: every read returns the value of its
// own key, as written before the reads began or by the writer since.
TEST_F(EtcdReadsTest, ConcurrentReadsEachGetTheirOwnKey) {
  Open(BatchOptions{});
  constexpr int kKeys = 40;
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_THAT(backend_->Put("c" + std::to_string(i), "c" + std::to_string(i) + ":0"), IsOk());
  }
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::atomic<int> failed{0};
  std::thread writer([&] {
    for (int round = 1; round <= 50 && !stop; ++round) {
      const std::string k = "c" + std::to_string(round % kKeys);
      if (!backend_->Put(k, k + ":" + std::to_string(round)).ok()) ++failed;
    }
  });
  std::vector<std::thread> readers;
  for (int t = 0; t < 12; ++t) {
    readers.emplace_back([&, t] {
      for (int n = 0; n < 100; ++n) {
        const std::string k = "c" + std::to_string((t * 7 + n) % kKeys);
        auto v = (n % 2) ? backend_->Get(k) : backend_->GetForUpdate(k);
        if (!v.ok() || !*v) {
          ++failed;
        } else if (v->value().rfind(k + ":", 0) != 0) {
          ++wrong;
        }
      }
    });
  }
  for (auto& r : readers) r.join();
  stop = true;
  writer.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(failed.load(), 0);
  ReadStats s = backend_->read_stats();
  EXPECT_EQ(s.reads, 1200u);
  EXPECT_EQ(s.queued, 0u);
  EXPECT_EQ(s.in_flight, 0u);
  EXPECT_LE(s.requests, s.reads);
}

}  // namespace
}  // namespace arca::storage::etcd
