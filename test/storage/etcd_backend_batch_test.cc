// EtcdBackend's group commit against a real etcd on loopback: writes that
// queue behind one in flight share the next etcd transaction, each with its
// own outcome; fences, key conflicts and etcd's limits split batches.
//
// GatedClient forwards to the real client and can park every write request
// at its door, so a test queues writes behind parked ones and knows exactly
// which batches form when it lets go. The tests of batch formation run with
// one request in flight (OneInFlight), so every write queues behind the one
// parked; the tests of several requests in flight, and the concurrent ones,
// use four (FourInFlight).
#include <atomic>
#include <condition_variable>
#include <cstdio>
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
using ::arca::storage::test::StatusIs;
using ::arca::testing::EtcdProcess;
using ::arca::testing::EtcdProcessOptions;
using ::testing::Optional;

constexpr std::chrono::milliseconds kBound{10000};

BatchOptions OneInFlight() {
  BatchOptions b;
  b.max_in_flight = 1;
  return b;
}

BatchOptions FourInFlight() {
  BatchOptions b;
  b.max_in_flight = 4;
  return b;
}

// Polls `pred` until it holds or kBound passes (the threads under test act
// on their own; the pause only paces the polling).
template <typename Pred>
bool WaitFor(Pred pred) {
  const SteadyTime end = RealClock().SteadyNow() + kBound;
  while (!pred()) {
    if (RealClock().SteadyNow() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

class GatedClient final : public ForwardingClient {
 public:
  explicit GatedClient(Client& inner) : ForwardingClient(inner) {}

  // While held, every write request waits at the door.
  void Hold() { door_.Hold(); }
  void Release() { door_.Release(); }
  void ReleaseParked() { door_.ReleaseParked(); }
  int parked() const { return door_.parked(); }
  int writes() const {
    std::lock_guard g(mu_);
    return writes_;
  }

  // Ranges seen so far: {linearizable, serializable}.
  std::pair<int, int> ranges() const {
    std::lock_guard g(mu_);
    return {linearizable_, serializable_};
  }

  StatusOr<RangeResult> Range(const std::string& key, const RangeOptions& o) override {
    {
      std::lock_guard g(mu_);
      ++(o.serializable ? serializable_ : linearizable_);
    }
    return inner_.Range(key, o);
  }
  Status Put(const std::string& key, const std::string& value, int64_t lease) override {
    Door();
    return inner_.Put(key, value, lease);
  }
  StatusOr<int64_t> DeleteRange(const std::string& key, const std::string& end) override {
    Door();
    return inner_.DeleteRange(key, end);
  }
  StatusOr<TxnResult> Txn(const std::vector<Compare>& c, const std::vector<TxnOp>& s,
                          const std::vector<TxnOp>& f) override {
    if (!IsReadBatch(c, s, f)) Door();  // reads: etcd_backend_reads_test
    return inner_.Txn(c, s, f);
  }

 private:
  void Door() {
    {
      std::lock_guard g(mu_);
      ++writes_;
    }
    door_.Pass(kBound);
  }

  arca::storage::etcd::Door door_;
  mutable std::mutex mu_;
  int writes_ = 0;
  int linearizable_ = 0;
  int serializable_ = 0;
};

class EtcdBatchTest : public ::testing::Test {
 protected:
  ~EtcdBatchTest() override {
    if (gated_) gated_->Release();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  // Starts etcd with `args` and a backend (prefix "/vault/") over the gated client.
  void Open(std::vector<std::string> args = {}, BatchOptions batch = OneInFlight(),
            std::chrono::milliseconds request_timeout = kBound) {
    EtcdProcessOptions o;
    o.extra_args = std::move(args);
    etcd_ = std::make_unique<EtcdProcess>(o);
    ASSERT_THAT(etcd_->Start(), IsOk());
    ClientOptions co = etcd_->client_options();
    co.request_timeout = request_timeout;
    auto c = Client::Create(co);
    ASSERT_THAT(c, IsOk());
    raw_ = std::move(c).value();
    gated_ = std::make_unique<GatedClient>(*raw_);
    backend_ = std::make_unique<EtcdBackend>(*gated_, "/vault/", batch);
  }

  // Runs `fn` on a new thread; its status lands in results_[slot].
  void Spawn(std::size_t slot, std::function<Status()> fn) {
    if (results_.size() <= slot) results_.resize(slot + 1, Internal("not run"));
    threads_.emplace_back([this, slot, fn = std::move(fn)] {
      Status s = fn();
      std::lock_guard g(results_mu_);
      results_[slot] = std::move(s);
    });
  }
  // Spawns one write per call and waits until it is queued, so writes
  // queue in call order.
  void Queue(std::size_t slot, std::function<Status()> fn) {
    const std::size_t before = backend_->write_stats().queued;
    Spawn(slot, std::move(fn));
    ASSERT_TRUE(WaitFor([&] { return backend_->write_stats().queued == before + 1; }));
  }
  // Holds the door and parks one write ("parked") in it: the writes queued
  // next form batches only once Unpark lets it through.
  void Park() {
    gated_->Hold();
    Spawn(0, [this] { return backend_->Put("parked", "x"); });
    ASSERT_TRUE(WaitFor([&] { return gated_->parked() == 1; }));
  }
  void UnparkAndJoin() {
    gated_->Release();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    threads_.clear();
  }
  Status Result(std::size_t slot) {
    std::lock_guard g(results_mu_);
    return results_.at(slot);
  }

  std::optional<std::string> Raw(const std::string& key) {
    auto r = raw_->Range("/vault/" + key, {});
    EXPECT_THAT(r, IsOk());
    if (!r.ok() || r->kvs.empty()) return std::nullopt;
    return r->kvs[0].value;
  }
  int64_t Revision() {
    auto r = raw_->Range("/vault/none", {});
    EXPECT_THAT(r, IsOk());
    return r.ok() ? r->revision : 0;
  }

  // Takes the lock on a lease (as ha::Manager) and fences the backend with it.
  int64_t HoldLockAndFence() {
    auto lease = raw_->GrantLease(30);
    EXPECT_THAT(lease, IsOk());
    if (!lease.ok()) return 0;
    auto won = raw_->Txn({Compare::KeyMissing(kLock)}, {TxnOp::Put(kLock, "{}", lease->id)}, {});
    EXPECT_TRUE(won.ok() && won->succeeded);
    if (!won.ok()) return 0;
    backend_->SetFence(Fence{kLock, won->revision});
    return lease->id;
  }

  static constexpr const char* kLock = "/vault/core/lock";
  std::unique_ptr<EtcdProcess> etcd_;
  std::unique_ptr<Client> raw_;
  std::unique_ptr<GatedClient> gated_;
  std::unique_ptr<EtcdBackend> backend_;
  std::vector<std::thread> threads_;
  std::mutex results_mu_;
  std::vector<Status> results_;
};

TEST_F(EtcdBatchTest, AnIdleWriteIsSentAtOnceAlone) {
  Open();
  ASSERT_THAT(backend_->Put("a", "1"), IsOk());
  ASSERT_THAT(backend_->Txn({Condition::Absent("b")}, {Op::Put("b", "2")}), IsOk());
  EXPECT_EQ(gated_->writes(), 2);
  WriteStats s = backend_->write_stats();
  EXPECT_EQ(s.requests, 2u);
  EXPECT_EQ(s.writes, 2u);
  EXPECT_EQ(s.batched, 0u);
  EXPECT_EQ(s.queued, 0u);
  EXPECT_THAT(Raw("a"), Optional(std::string("1")));
}

TEST_F(EtcdBatchTest, WritesQueuedBehindOneInFlightShareOneTransaction) {
  Open();
  Park();
  for (std::size_t i = 1; i <= 20; ++i) {
    const std::string k = "k" + std::to_string(i);
    Queue(i, [this, k] { return backend_->Txn({Condition::Absent(k)}, {Op::Put(k, "v" + k)}); });
  }
  const int64_t before = Revision();
  UnparkAndJoin();
  for (std::size_t i = 0; i <= 20; ++i) EXPECT_THAT(Result(i), IsOk()) << i;
  EXPECT_EQ(gated_->writes(), 2);     // the parked write, then one batch
  EXPECT_EQ(Revision(), before + 2);  // one etcd revision for the twenty
  EXPECT_EQ(backend_->write_stats().batched, 20u);
  for (int i = 1; i <= 20; ++i) {
    const std::string k = "k" + std::to_string(i);
    EXPECT_THAT(Raw(k), Optional("v" + k));
  }
}

TEST_F(EtcdBatchTest, EachWriteOfABatchGetsItsOwnOutcome) {
  Open();
  ASSERT_THAT(backend_->Put("cas", "1"), IsOk());
  Park();
  Queue(1, [this] { return backend_->Txn({Condition::Equals("x", "0")}, {Op::Put("a", "x")}); });
  Queue(2, [this] { return backend_->Txn({Condition::Absent("b")}, {Op::Put("b", "1")}); });
  Queue(3, [this] { return backend_->Txn({Condition::Exists("gone")}, {Op::Put("c", "1")}); });
  Queue(4, [this] { return backend_->Put("d", "1"); });
  Queue(5, [this] {
    return backend_->Txn({Condition::Equals("cas", "1")}, {Op::Put("cas", "2"), Op::Delete("d0")});
  });
  UnparkAndJoin();
  EXPECT_EQ(gated_->writes(), 3);  // "cas", the parked write, one batch
  EXPECT_THAT(Result(1), StatusIs(Code::kAborted));
  EXPECT_THAT(Result(2), IsOk());
  EXPECT_THAT(Result(3), StatusIs(Code::kAborted));
  EXPECT_THAT(Result(4), IsOk());
  EXPECT_THAT(Result(5), IsOk());
  EXPECT_EQ(Raw("a"), std::nullopt);
  EXPECT_THAT(Raw("b"), Optional(std::string("1")));
  EXPECT_EQ(Raw("c"), std::nullopt);
  EXPECT_THAT(Raw("d"), Optional(std::string("1")));
  EXPECT_THAT(Raw("cas"), Optional(std::string("2")));
}

TEST_F(EtcdBatchTest, LosingTheFenceWhileWritesQueueFailsThemAll) {
  Open();
  const int64_t lease = HoldLockAndFence();
  ASSERT_NE(lease, 0);
  std::atomic<int> fenced{0};
  backend_->SetOnFenced([&] { ++fenced; });
  ASSERT_THAT(backend_->Put("before", "1"), IsOk());
  Park();
  Queue(1, [this] { return backend_->Put("p", "1"); });
  Queue(2, [this] { return backend_->Delete("before"); });
  Queue(3, [this] { return backend_->Txn({Condition::Absent("t")}, {Op::Put("t", "1")}); });
  Queue(4, [this] { return backend_->Txn({}, {Op::Put("u", "1"), Op::Put("v", "1")}); });
  ASSERT_THAT(raw_->RevokeLease(lease), IsOk());  // the lock is gone
  UnparkAndJoin();
  for (std::size_t i = 0; i <= 4; ++i) {
    EXPECT_THAT(Result(i), StatusIs(Code::kFailedPrecondition)) << i;
  }
  EXPECT_EQ(fenced.load(), 5);  // once per failed write, as before
  EXPECT_EQ(gated_->writes(), 3);
  EXPECT_EQ(Raw("parked"), std::nullopt);
  EXPECT_EQ(Raw("p"), std::nullopt);
  EXPECT_THAT(Raw("before"), Optional(std::string("1")));
  EXPECT_EQ(Raw("t"), std::nullopt);
  EXPECT_EQ(Raw("u"), std::nullopt);
}

TEST_F(EtcdBatchTest, WritesUnderDifferentFencesGoInDifferentBatches) {
  Open();
  ASSERT_NE(HoldLockAndFence(), 0);
  const Fence good = *backend_->fence();
  Park();
  Queue(1, [this] { return backend_->Put("old-fence", "1"); });
  backend_->SetFence(Fence{good.key, good.create_revision + 1000});  // not the lock's
  Queue(2, [this] { return backend_->Put("new-fence", "1"); });
  backend_->SetFence(good);
  Queue(3, [this] { return backend_->Put("good-again", "1"); });
  UnparkAndJoin();
  EXPECT_THAT(Result(0), IsOk());
  EXPECT_THAT(Result(1), IsOk());
  EXPECT_THAT(Result(2), StatusIs(Code::kFailedPrecondition));
  EXPECT_THAT(Result(3), IsOk());
  EXPECT_EQ(gated_->writes(), 4);  // parked; then each alone
  EXPECT_THAT(Raw("old-fence"), Optional(std::string("1")));
  EXPECT_EQ(Raw("new-fence"), std::nullopt);
  EXPECT_THAT(Raw("good-again"), Optional(std::string("1")));
}

TEST_F(EtcdBatchTest, AWriteTouchingAKeyOfTheBatchWaitsAndOrderIsKept) {
  Open();
  Park();
  Queue(1, [this] { return backend_->Put("k", "1"); });
  Queue(2, [this] { return backend_->Put("k", "2"); });
  // Touches "k" by its compare only; in arrival order it sees "2".
  Queue(3, [this] {
    return backend_->Txn({Condition::Equals("k", "1")}, {Op::Put("saw-one", "yes")});
  });
  Queue(4, [this] { return backend_->Put("other", "1"); });
  UnparkAndJoin();
  for (std::size_t i : {0u, 1u, 2u, 4u}) EXPECT_THAT(Result(i), IsOk()) << i;
  EXPECT_THAT(Result(3), StatusIs(Code::kAborted));
  // parked; {k=1, other}; {k=2}; {compare k}.
  EXPECT_EQ(gated_->writes(), 4);
  EXPECT_EQ(backend_->write_stats().batched, 2u);
  EXPECT_THAT(Raw("k"), Optional(std::string("2")));
  EXPECT_EQ(Raw("saw-one"), std::nullopt);
  EXPECT_THAT(Raw("other"), Optional(std::string("1")));
}

TEST_F(EtcdBatchTest, UpToMaxInFlightRequestsAreSentAtOnceThenWritesQueue) {
  Open({}, FourInFlight());
  gated_->Hold();
  for (std::size_t i = 0; i < 4; ++i) {
    Spawn(i, [this, i] { return backend_->Put("p" + std::to_string(i), "1"); });
  }
  ASSERT_TRUE(WaitFor([&] { return gated_->parked() == 4; }));  // four at the door at once
  EXPECT_EQ(backend_->write_stats().in_flight, 4u);
  Queue(4, [this] { return backend_->Put("q1", "1"); });
  Queue(5, [this] { return backend_->Txn({Condition::Absent("q2")}, {Op::Put("q2", "1")}); });
  EXPECT_EQ(gated_->parked(), 4);  // no slot: the two wait unsent
  EXPECT_EQ(gated_->writes(), 4);
  UnparkAndJoin();
  for (std::size_t i = 0; i <= 5; ++i) EXPECT_THAT(Result(i), IsOk()) << i;
  WriteStats s = backend_->write_stats();
  EXPECT_EQ(gated_->writes(), 5);  // the four; then the two queued share the first free slot
  EXPECT_EQ(s.peak_in_flight, 4u);
  EXPECT_EQ(s.in_flight, 0u);
  EXPECT_EQ(s.batched, 2u);
  EXPECT_THAT(Raw("p3"), Optional(std::string("1")));
  EXPECT_THAT(Raw("q2"), Optional(std::string("1")));
}

// Linger: with nothing in flight, a sender that finds fewer writes queued
// than were outstanding at the recent peak waits for more, and sends them
// as one batch once that many are queued.
TEST_F(EtcdBatchTest, AfterABurstASenderLingersUntilEnoughWritesAreQueued) {
  BatchOptions batch = OneInFlight();
  batch.max_linger = std::chrono::seconds(20);  // the wait ends on the queue or the last request
  Open({}, batch);
  Park();
  for (std::size_t i = 1; i <= 7; ++i) {
    Queue(i, [this, i] { return backend_->Put("a" + std::to_string(i), "1"); });
  }
  // Eight outstanding at once. The parked write goes; the sender of the
  // seven queued waits for an eighth, no longer than the parked request
  // took, then sends them as one batch, which parks in turn.
  gated_->ReleaseParked();
  ASSERT_TRUE(WaitFor([&] { return gated_->writes() == 2 && gated_->parked() == 1; }));
  EXPECT_EQ(backend_->write_stats().lingered, 1u);
  Queue(8, [this] { return backend_->Put("b1", "1"); });
  // Keep that request at the door long enough for the test to queue the
  // writes below within the next linger.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  gated_->ReleaseParked();
  // b1's caller sends the next batch: one write queued where eight were
  // outstanding, so it waits for eight.
  ASSERT_TRUE(WaitFor([&] { return backend_->write_stats().lingered == 2; }));
  for (std::size_t i = 2; i <= 7; ++i) {
    Queue(7 + i, [this, i] { return backend_->Put("b" + std::to_string(i), "1"); });
  }
  EXPECT_EQ(gated_->writes(), 2);  // still lingering with seven queued
  Spawn(15, [this] { return backend_->Put("b8", "1"); });
  ASSERT_TRUE(WaitFor([&] { return gated_->parked() == 1; }));
  EXPECT_EQ(gated_->writes(), 3);  // the eight as one request
  EXPECT_EQ(backend_->write_stats().queued, 0u);
  UnparkAndJoin();
  for (std::size_t i = 0; i <= 15; ++i) EXPECT_THAT(Result(i), IsOk()) << i;
  for (int i = 1; i <= 8; ++i) EXPECT_THAT(Raw("b" + std::to_string(i)), Optional(std::string("1")));

  // The load is gone: the next lone write still sees eight from the last
  // request and waits (at most that request's time); the ones after it do not.
  ASSERT_THAT(backend_->Put("c1", "1"), IsOk());
  EXPECT_EQ(backend_->write_stats().lingered, 3u);
  for (int i = 2; i <= 5; ++i) ASSERT_THAT(backend_->Put("c" + std::to_string(i), "1"), IsOk());
  EXPECT_EQ(backend_->write_stats().lingered, 3u);
  EXPECT_EQ(gated_->writes(), 8);
}

// Writes to one key go one per batch: after a batch that left some queued,
// a sender does not wait for more (they could not join it).
TEST_F(EtcdBatchTest, NoLingerAfterABatchThatLeftWritesQueued) {
  Open();
  Park();
  for (std::size_t i = 1; i <= 7; ++i) {
    Queue(i, [this, i] { return backend_->Put("hot", std::to_string(i)); });
  }
  UnparkAndJoin();
  for (std::size_t i = 0; i <= 7; ++i) EXPECT_THAT(Result(i), IsOk()) << i;
  // The first sender after the parked write waited (seven queued, eight
  // outstanding) and took one write of "hot"; the six after it did not wait.
  EXPECT_EQ(backend_->write_stats().lingered, 1u);
  EXPECT_EQ(gated_->writes(), 8);
  EXPECT_THAT(Raw("hot"), Optional(std::string("7")));  // arrival order kept
}

TEST_F(EtcdBatchTest, ALoneWriterOrAFewNeverLinger) {
  Open();
  for (int i = 0; i < 30; ++i) ASSERT_THAT(backend_->Put("k" + std::to_string(i), "1"), IsOk());
  // Three writers at once, over and over: fewer than kMinLingerTarget.
  for (int round = 0; round < 10; ++round) {
    for (std::size_t t = 0; t < 3; ++t) {
      Spawn(t, [this, t, round] {
        return backend_->Put("t" + std::to_string(t) + "/" + std::to_string(round), "1");
      });
    }
    UnparkAndJoin();
    for (std::size_t t = 0; t < 3; ++t) EXPECT_THAT(Result(t), IsOk());
  }
  EXPECT_EQ(backend_->write_stats().lingered, 0u);
}

TEST_F(EtcdBatchTest, NoLingerWhenMaxLingerIsZero) {
  BatchOptions batch = OneInFlight();
  batch.max_linger = std::chrono::microseconds(0);
  Open({}, batch);
  Park();
  for (std::size_t i = 1; i <= 7; ++i) {
    Queue(i, [this, i] { return backend_->Put("a" + std::to_string(i), "1"); });
  }
  UnparkAndJoin();
  ASSERT_THAT(backend_->Put("b1", "1"), IsOk());  // would linger: 1 queued after 8 outstanding
  EXPECT_EQ(backend_->write_stats().lingered, 0u);
  EXPECT_EQ(gated_->writes(), 3);
}

TEST_F(EtcdBatchTest, WritesToOneKeyKeepArrivalOrderAcrossRequestsInFlight) {
  Open({}, FourInFlight());
  gated_->Hold();
  Spawn(0, [this] { return backend_->Put("k", "1"); });
  ASSERT_TRUE(WaitFor([&] { return gated_->parked() == 1; }));
  Queue(1, [this] { return backend_->Put("k", "2"); });      // "k" is in flight: waits
  Spawn(2, [this] { return backend_->Put("other", "1"); });  // no conflict: a slot of its own
  ASSERT_TRUE(WaitFor([&] { return gated_->parked() == 2; }));
  Queue(3, [this] {
    return backend_->Txn({Condition::Equals("k", "2")}, {Op::Put("saw-two", "yes")});
  });
  Queue(4, [this] {
    return backend_->Txn({Condition::Equals("k", "1")}, {Op::Put("saw-one", "yes")});
  });
  WriteStats before = backend_->write_stats();
  EXPECT_EQ(before.in_flight, 2u);
  EXPECT_EQ(before.queued, 3u);
  UnparkAndJoin();
  for (std::size_t i : {0u, 1u, 2u, 3u}) EXPECT_THAT(Result(i), IsOk()) << i;
  EXPECT_THAT(Result(4), StatusIs(Code::kAborted));  // "k" was 2 by then, in arrival order
  EXPECT_EQ(gated_->writes(), 5);  // k=1, other; then k=2; then each compare alone
  EXPECT_EQ(backend_->write_stats().batched, 0u);
  EXPECT_THAT(Raw("k"), Optional(std::string("2")));
  EXPECT_THAT(Raw("saw-two"), Optional(std::string("yes")));
  EXPECT_EQ(Raw("saw-one"), std::nullopt);
}

TEST_F(EtcdBatchTest, ARangeDeleteWaitsForTheRequestsInFlightAndHoldsLaterWritesBack) {
  Open({}, FourInFlight());
  gated_->Hold();
  Spawn(0, [this] { return backend_->Put("a", "1"); });
  ASSERT_TRUE(WaitFor([&] { return gated_->parked() == 1; }));
  // ReplaceAll's first write deletes ranges: it waits for "a" to complete.
  Queue(1, [this] { return backend_->ReplaceAll({{"x", "1"}}); });
  // Free slot, no shared key, but queued after the range delete: it waits.
  Queue(2, [this] { return backend_->Put("b", "1"); });
  EXPECT_EQ(gated_->parked(), 1);
  EXPECT_EQ(backend_->write_stats().in_flight, 1u);
  UnparkAndJoin();
  for (std::size_t i = 0; i <= 2; ++i) EXPECT_THAT(Result(i), IsOk()) << i;
  EXPECT_EQ(Raw("a"), std::nullopt);                  // applied before the delete
  EXPECT_THAT(Raw("b"), Optional(std::string("1")));  // after it
  EXPECT_THAT(Raw("x"), Optional(std::string("1")));
}

TEST_F(EtcdBatchTest, GetForUpdateIsOneSerializableRangeAndGetStaysLinearizable) {
  Open();
  ASSERT_THAT(backend_->Put("k", "v"), IsOk());
  const auto before = gated_->ranges();
  auto v = backend_->GetForUpdate("k");
  ASSERT_THAT(v, IsOk());
  EXPECT_THAT(*v, Optional(std::string("v")));
  auto missing = backend_->GetForUpdate("none");
  ASSERT_THAT(missing, IsOk());
  EXPECT_EQ(*missing, std::nullopt);
  EXPECT_EQ(gated_->ranges(), std::make_pair(before.first, before.second + 2));
  auto linear = backend_->Get("k");
  ASSERT_THAT(linear, IsOk());
  EXPECT_THAT(*linear, Optional(std::string("v")));
  EXPECT_EQ(gated_->ranges(), std::make_pair(before.first + 1, before.second + 2));
}

// 28 puts on keys of its own.
Status WideWrite(EtcdBackend& b, std::size_t n) {
  std::vector<Op> ops;
  for (int j = 0; j < 28; ++j) {
    ops.push_back(Op::Put("w/" + std::to_string(n) + "/" + std::to_string(j), "v"));
  }
  return b.Txn({}, ops);
}

TEST_F(EtcdBatchTest, BatchesFillEtcdsOpLimitExactly) {
  // etcd (--max-txn-ops 128) counts a batch of N writes as N ops, and lets
  // each nested write use 128 - N: 100 writes of 28 ops are one batch.
  Open();
  Park();
  for (std::size_t i = 1; i <= 101; ++i) Queue(i, [this, i] { return WideWrite(*backend_, i); });
  UnparkAndJoin();
  for (std::size_t i = 0; i <= 101; ++i) ASSERT_THAT(Result(i), IsOk()) << i;
  WriteStats s = backend_->write_stats();
  EXPECT_EQ(s.refused, 0u);
  EXPECT_EQ(gated_->writes(), 3);  // parked; 100 writes; the last one
  EXPECT_EQ(s.batched, 100u);
  auto all = backend_->ReadAll();
  ASSERT_THAT(all, IsOk());
  EXPECT_EQ(all->size(), 101u * 28u + 1u);
}

TEST_F(EtcdBatchTest, ABatchEtcdRefusesIsResentOneWriteAtATime) {
  // One op past etcd's limit: refused whole, nothing applied, then each
  // write goes alone and gets its own answer.
  BatchOptions batch = OneInFlight();
  batch.max_txn_ops = 129;
  Open({}, batch);
  Park();
  for (std::size_t i = 1; i <= 101; ++i) Queue(i, [this, i] { return WideWrite(*backend_, i); });
  UnparkAndJoin();
  for (std::size_t i = 0; i <= 101; ++i) ASSERT_THAT(Result(i), IsOk()) << i;
  WriteStats s = backend_->write_stats();
  EXPECT_EQ(s.refused, 1u);
  EXPECT_EQ(gated_->writes(), 1 + 1 + 101);
  EXPECT_EQ(s.requests, 103u);
  auto all = backend_->ReadAll();
  ASSERT_THAT(all, IsOk());
  EXPECT_EQ(all->size(), 101u * 28u + 1u);
}

TEST_F(EtcdBatchTest, BatchesStayBelowTheByteLimit) {
  Open();
  const std::string big(300 << 10, 'b');
  Park();
  for (std::size_t i = 1; i <= 5; ++i) {
    Queue(i, [this, i, &big] { return backend_->Put("big" + std::to_string(i), big); });
  }
  UnparkAndJoin();
  for (std::size_t i = 0; i <= 5; ++i) ASSERT_THAT(Result(i), IsOk()) << i;
  EXPECT_EQ(gated_->writes(), 3);  // parked; three (900 KiB); two
  EXPECT_THAT(Raw("big5"), Optional(big));
}

TEST_F(EtcdBatchTest, AWriteTooLargeToShareIsSentAlone) {
  Open({"--max-txn-ops=1000"});
  std::vector<Op> many;
  for (int j = 0; j < 500; ++j) many.push_back(Op::Put("many/" + std::to_string(j), "v"));
  const std::string huge(1200 << 10, 'h');  // under etcd's 1.5 MiB, over a batch's 1 MiB
  Park();
  Queue(1, [this] { return backend_->Put("s1", "1"); });
  Queue(2, [this, &many] { return backend_->Txn({}, many); });
  Queue(3, [this] { return backend_->Put("s2", "1"); });
  Queue(4, [this, &huge] { return backend_->Put("huge", huge); });
  Queue(5, [this] { return backend_->Put("s3", "1"); });
  UnparkAndJoin();
  for (std::size_t i = 0; i <= 5; ++i) ASSERT_THAT(Result(i), IsOk()) << i;
  EXPECT_EQ(gated_->writes(), 6);  // each alone: neither large one fits with another
  EXPECT_EQ(backend_->write_stats().batched, 0u);
  EXPECT_THAT(Raw("many/499"), Optional(std::string("v")));
  EXPECT_THAT(Raw("huge"), Optional(huge));
  EXPECT_THAT(Raw("s3"), Optional(std::string("1")));
}

TEST_F(EtcdBatchTest, AQueuedWriteGivesUpAfterTheRequestTimeoutUnsent) {
  BatchOptions batch = OneInFlight();
  batch.max_queued = 1;
  Open({}, batch, std::chrono::milliseconds(300));
  Park();
  Queue(1, [this] { return backend_->Put("queued", "1"); });
  Spawn(2, [this] { return backend_->Put("no-room", "1"); });  // waits for room
  threads_[1].join();
  threads_[2].join();
  EXPECT_THAT(Result(1), StatusIs(Code::kUnavailable));
  EXPECT_THAT(Result(2), StatusIs(Code::kUnavailable));
  EXPECT_EQ(backend_->write_stats().queued, 0u);
  UnparkAndJoin();
  EXPECT_THAT(Result(0), IsOk());
  EXPECT_EQ(gated_->writes(), 1);  // neither was sent
  EXPECT_EQ(Raw("queued"), std::nullopt);
  EXPECT_EQ(Raw("no-room"), std::nullopt);
  EXPECT_THAT(backend_->Put("later", "1"), IsOk());
}

TEST_F(EtcdBatchTest, EtcdDownFailsEveryQueuedWriteUnavailable) {
  Open();
  Park();
  for (std::size_t i = 1; i <= 5; ++i) {
    Queue(i, [this, i] { return backend_->Put("q" + std::to_string(i), "1"); });
  }
  etcd_->Kill();
  UnparkAndJoin();
  for (std::size_t i = 0; i <= 5; ++i) EXPECT_THAT(Result(i), StatusIs(Code::kUnavailable)) << i;
  EXPECT_EQ(gated_->writes(), 2);  // never resent
}

// Many threads: conditional writes on keys of their own (the first applies,
// the repeat aborts) and CAS increments of shared counters. Every OK write
// is there, no aborted one is, each counter ends at its successful CASes,
// and batches formed.
void RunConcurrentWrites(EtcdBackend& b, GatedClient& gated) {
  constexpr int kThreads = 32;
  constexpr int kRounds = 30;
  constexpr int kCounters = 4;
  for (int c = 0; c < kCounters; ++c) ASSERT_THAT(b.Put("ctr/" + std::to_string(c), "0"), IsOk());
  std::atomic<int> wins[kCounters] = {};
  std::atomic<int> errors{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        const std::string own = "own/" + std::to_string(t) + "/" + std::to_string(i);
        if (!b.Txn({Condition::Absent(own)}, {Op::Put(own, "ok")}).ok()) ++errors;
        if (!IsAborted(b.Txn({Condition::Absent(own)}, {Op::Put(own, "bad")}))) ++errors;
        const int c = (t + i) % kCounters;
        const std::string key = "ctr/" + std::to_string(c);
        auto v = b.Get(key);
        if (!v.ok() || !v->has_value()) {
          ++errors;
          continue;
        }
        const std::string next = std::to_string(std::stoi(**v) + 1);
        Status s = b.Txn({Condition::Equals(key, **v)}, {Op::Put(key, next)});
        if (s.ok()) {
          ++wins[c];
        } else if (!IsAborted(s)) {
          ++errors;
        }
      }
    });
  }
  for (auto& th : ts) th.join();
  EXPECT_EQ(errors.load(), 0);
  for (int c = 0; c < kCounters; ++c) {
    auto v = b.Get("ctr/" + std::to_string(c));
    ASSERT_THAT(v, IsOk());
    EXPECT_THAT(*v, Optional(std::to_string(wins[c].load()))) << c;
  }
  auto all = b.ReadAll();
  ASSERT_THAT(all, IsOk());
  std::map<std::string, std::string> got(all->begin(), all->end());
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kRounds; ++i) {
      EXPECT_EQ(got["own/" + std::to_string(t) + "/" + std::to_string(i)], "ok");
    }
  }
  WriteStats s = b.write_stats();
  EXPECT_GT(s.batched, 0u);
  EXPECT_LT(s.requests, s.writes);
  EXPECT_EQ(static_cast<uint64_t>(gated.writes()), s.requests);
  std::printf("%llu writes in %llu etcd requests\n", static_cast<unsigned long long>(s.writes),
              static_cast<unsigned long long>(s.requests));
}

TEST_F(EtcdBatchTest, ConcurrentConditionalWritesAndCasCountersAreExact) {
  Open({}, FourInFlight());
  RunConcurrentWrites(*backend_, *gated_);
  EXPECT_LE(backend_->write_stats().peak_in_flight, 4u);
}

TEST_F(EtcdBatchTest, ConcurrentWritesWithOneInFlightAreExact) {
  Open();
  RunConcurrentWrites(*backend_, *gated_);
  EXPECT_EQ(backend_->write_stats().peak_in_flight, 1u);
}

TEST_F(EtcdBatchTest, ConcurrentFencedWritesAndCasCountersAreExact) {
  Open({}, FourInFlight());
  ASSERT_NE(HoldLockAndFence(), 0);
  int fenced = 0;
  backend_->SetOnFenced([&] { ++fenced; });
  RunConcurrentWrites(*backend_, *gated_);
  EXPECT_EQ(fenced, 0);
}

}  // namespace
}  // namespace arca::storage::etcd
