#include "core/barrier.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "storage/inmem.h"
#include "support/error_backend.h"
#include "support/fake_clock.h"

namespace arca::core {
namespace {

using storage::Condition;
using storage::Op;

uint32_t PhysicalTerm(const std::string& v) {
  auto b = [&](int i) { return uint32_t(static_cast<uint8_t>(v[i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

class BarrierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = RandomBytes(32);
    ASSERT_TRUE(barrier_.Initialize(root_).ok());
    ASSERT_TRUE(barrier_.Unseal(root_).ok());
  }

  std::string Physical(const std::string& key) {
    auto v = mem_.Get(key);
    EXPECT_TRUE(v.ok() && v->has_value()) << key;
    return v.ok() && v->has_value() ? **v : std::string();
  }

  Code GetCode(std::string_view key) { return barrier_.Get(key).status().code(); }

  storage::InMemBackend mem_;
  testing::ErrorBackend faulty_{mem_};
  testing::FakeClock clock_;
  Barrier barrier_{faulty_, clock_};
  SecureBytes root_;
};

TEST(BarrierLifecycleTest, InitializeLeavesSealedAndRefusesTwice) {
  storage::InMemBackend mem;
  testing::FakeClock clock;
  Barrier b(mem, clock);
  SecureBytes root = RandomBytes(32);
  EXPECT_FALSE(*b.Initialized());
  EXPECT_EQ(b.Unseal(root).code(), Code::kFailedPrecondition);
  EXPECT_EQ(b.Initialize(SecureBytes(16)).code(), Code::kInvalidArgument);
  ASSERT_TRUE(b.Initialize(root).ok());
  EXPECT_TRUE(*b.Initialized());
  EXPECT_TRUE(b.Sealed());
  EXPECT_EQ(b.Initialize(root).code(), Code::kFailedPrecondition);
  ASSERT_TRUE(b.Unseal(root).ok());
  EXPECT_FALSE(b.Sealed());
  auto key = b.CurrentKey();
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->term, 1u);
  EXPECT_EQ(key->install_time, clock.UnixNow());
}

TEST(BarrierLifecycleTest, KeyringIsSealedByRootKey) {
  storage::InMemBackend mem;
  testing::FakeClock clock;
  Barrier b(mem, clock);
  ASSERT_TRUE(b.Initialize(RandomBytes(32)).ok());
  std::string raw = **mem.Get(kKeyringPath);
  EXPECT_EQ(raw.find("keys"), std::string::npos);
  EXPECT_EQ(raw.find("term"), std::string::npos);
  EXPECT_EQ(raw[4], '\x02');
  EXPECT_EQ(b.Unseal(RandomBytes(32)).code(), Code::kInvalidArgument);
}

TEST_F(BarrierTest, RoundTripDeleteAndList) {
  ASSERT_TRUE(barrier_.Put("secret/a", "hello").ok());
  ASSERT_TRUE(barrier_.Put("secret/sub/b", "").ok());
  EXPECT_EQ(**barrier_.Get("secret/a"), "hello");
  EXPECT_EQ(**barrier_.Get("secret/sub/b"), "");
  EXPECT_FALSE(barrier_.Get("secret/none")->has_value());
  auto l = barrier_.List("secret/");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(*l, (std::vector<std::string>{"a", "sub/"}));
  ASSERT_TRUE(barrier_.Delete("secret/a").ok());
  EXPECT_FALSE(barrier_.Get("secret/a")->has_value());
  EXPECT_FALSE(mem_.Get("secret/a")->has_value());
}

TEST_F(BarrierTest, PhysicalBytesAreConfidential) {
  const std::string plain = "super-secret-password-value";
  ASSERT_TRUE(barrier_.Put("k", plain).ok());
  std::string raw = Physical("k");
  EXPECT_EQ(raw.find(plain), std::string::npos);
  EXPECT_EQ(raw.find("super"), std::string::npos);
  EXPECT_EQ(raw.size(), plain.size() + 4 + 1 + 12 + 16);
  EXPECT_EQ(PhysicalTerm(raw), 1u);
  EXPECT_EQ(raw[4], '\x02');
  // Fresh nonce per write: the same plaintext never gives the same bytes.
  ASSERT_TRUE(barrier_.Put("k", plain).ok());
  EXPECT_NE(Physical("k"), raw);
}

TEST_F(BarrierTest, FlippingAnyByteIsDataLoss) {
  ASSERT_TRUE(barrier_.Put("k", "integrity matters").ok());
  const std::string raw = Physical("k");
  for (std::size_t i = 0; i < raw.size(); ++i) {
    for (uint8_t bit : {uint8_t{0x01}, uint8_t{0x80}}) {
      std::string bad = raw;
      bad[i] = static_cast<char>(bad[i] ^ bit);
      ASSERT_TRUE(mem_.Put("k", bad).ok());
      barrier_.ClearCache();  // the cache holds what we wrote; storage is re-read
      auto got = barrier_.Get("k");
      ASSERT_EQ(got.status().code(), Code::kDataLoss) << "byte " << i;
      EXPECT_EQ(got.status().message().find("integrity"), std::string::npos);
    }
  }
  for (std::size_t len : {std::size_t{0}, std::size_t{5}, std::size_t{32}, raw.size() - 1}) {
    ASSERT_TRUE(mem_.Put("k", raw.substr(0, len)).ok());
    barrier_.ClearCache();  // the cache holds what we wrote; storage is re-read
    EXPECT_EQ(GetCode("k"), Code::kDataLoss) << "truncated to " << len;
  }
  ASSERT_TRUE(mem_.Put("k", raw + "x").ok());
  barrier_.ClearCache();  // the cache holds what we wrote; storage is re-read
  EXPECT_EQ(GetCode("k"), Code::kDataLoss);
  ASSERT_TRUE(mem_.Put("k", raw).ok());
  barrier_.ClearCache();  // the cache holds what we wrote; storage is re-read
  EXPECT_EQ(**barrier_.Get("k"), "integrity matters");
}

TEST_F(BarrierTest, CiphertextMovedToAnotherKeyIsDataLoss) {
  ASSERT_TRUE(barrier_.Put("sys/token/id/a", "root policy").ok());
  ASSERT_TRUE(mem_.Put("sys/token/id/b", Physical("sys/token/id/a")).ok());
  EXPECT_EQ(GetCode("sys/token/id/b"), Code::kDataLoss);
  EXPECT_EQ(**barrier_.Get("sys/token/id/a"), "root policy");
}

TEST_F(BarrierTest, WrongRootKeyDoesNotUnseal) {
  barrier_.Seal();
  SecureBytes wrong = root_;
  wrong[0] ^= 1;
  EXPECT_EQ(barrier_.Unseal(wrong).code(), Code::kInvalidArgument);
  EXPECT_TRUE(barrier_.Sealed());
  EXPECT_EQ(barrier_.Unseal(SecureBytes(31)).code(), Code::kInvalidArgument);
  EXPECT_EQ(barrier_.VerifyRootKey(wrong).code(), Code::kInvalidArgument);
  EXPECT_TRUE(barrier_.VerifyRootKey(root_).ok());
  EXPECT_TRUE(barrier_.Sealed());  // verifying does not unseal
  EXPECT_TRUE(barrier_.Unseal(root_).ok());
}

TEST_F(BarrierTest, RotationKeepsOldDataAndWritesUnderNewTerm) {
  ASSERT_TRUE(barrier_.Put("old", "written under term 1").ok());
  clock_.Advance(std::chrono::hours(1));
  auto k = barrier_.Rotate();
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->term, 2u);
  EXPECT_EQ(k->install_time, clock_.UnixNow());
  EXPECT_EQ(barrier_.CurrentKey()->term, 2u);
  ASSERT_TRUE(barrier_.Put("new", "written under term 2").ok());
  EXPECT_EQ(PhysicalTerm(Physical("old")), 1u);
  EXPECT_EQ(PhysicalTerm(Physical("new")), 2u);
  EXPECT_EQ(**barrier_.Get("old"), "written under term 1");
  EXPECT_EQ(**barrier_.Get("new"), "written under term 2");
  ASSERT_TRUE(barrier_.Rotate().ok());
  ASSERT_TRUE(barrier_.Put("newer", "3").ok());
  EXPECT_EQ(PhysicalTerm(Physical("newer")), 3u);

  // The rotated keyring was persisted: a fresh unseal sees all terms.
  barrier_.Seal();
  ASSERT_TRUE(barrier_.Unseal(root_).ok());
  EXPECT_EQ(barrier_.CurrentKey()->term, 3u);
  EXPECT_EQ(**barrier_.Get("old"), "written under term 1");
  EXPECT_EQ(**barrier_.Get("new"), "written under term 2");
  EXPECT_EQ(**barrier_.Get("newer"), "3");
  Barrier other(mem_, clock_);
  ASSERT_TRUE(other.Unseal(root_).ok());
  EXPECT_EQ(**other.Get("new"), "written under term 2");
}

TEST_F(BarrierTest, FailedRotationChangesNothing) {
  faulty_.FailNext(testing::ErrorBackend::Method::kPut, Unavailable("disk gone"), 1, kKeyringPath);
  EXPECT_EQ(barrier_.Rotate().status().code(), Code::kUnavailable);
  EXPECT_EQ(barrier_.CurrentKey()->term, 1u);
  ASSERT_TRUE(barrier_.Put("k", "v").ok());
  EXPECT_EQ(PhysicalTerm(Physical("k")), 1u);
  barrier_.Seal();
  ASSERT_TRUE(barrier_.Unseal(root_).ok());
  EXPECT_EQ(**barrier_.Get("k"), "v");
  EXPECT_EQ(barrier_.Rotate()->term, 2u);
}

TEST_F(BarrierTest, UnknownTermIsDataLoss) {
  ASSERT_TRUE(barrier_.Put("k", "v").ok());
  std::string raw = Physical("k");
  raw[3] = 9;
  ASSERT_TRUE(mem_.Put("k", raw).ok());
  barrier_.ClearCache();  // the cache holds what we wrote; storage is re-read
  EXPECT_EQ(GetCode("k"), Code::kDataLoss);
}

TEST_F(BarrierTest, SealWipesAndRefusesEveryDataMethod) {
  ASSERT_TRUE(barrier_.Put("k", "v").ok());
  barrier_.Seal();
  EXPECT_TRUE(barrier_.Sealed());
  EXPECT_EQ(GetCode("k"), Code::kSealed);
  EXPECT_EQ(barrier_.Put("k", "v2").code(), Code::kSealed);
  EXPECT_EQ(barrier_.Delete("k").code(), Code::kSealed);
  EXPECT_EQ(barrier_.List("").status().code(), Code::kSealed);
  EXPECT_EQ(barrier_.Txn({}, {Op::Put("x", "y")}).code(), Code::kSealed);
  EXPECT_EQ(barrier_.Rotate().status().code(), Code::kSealed);
  EXPECT_EQ(barrier_.CurrentKey().status().code(), Code::kSealed);
  EXPECT_EQ(barrier_.Get("k").status().message(), "Vault is sealed");
  // Nothing reached physical storage while sealed.
  EXPECT_TRUE(mem_.Get("k")->has_value());
  EXPECT_FALSE(mem_.Get("x")->has_value());
  ASSERT_TRUE(barrier_.Unseal(root_).ok());
  EXPECT_EQ(**barrier_.Get("k"), "v");
}

TEST_F(BarrierTest, TxnEqualsComparesPlaintext) {
  ASSERT_TRUE(barrier_.Put("k", "v1").ok());
  EXPECT_TRUE(barrier_.Txn({Condition::Equals("k", "v1")}, {Op::Put("k", "v2")}).ok());
  EXPECT_EQ(**barrier_.Get("k"), "v2");
  EXPECT_EQ(barrier_.Txn({Condition::Equals("k", "v1")}, {Op::Put("k", "v3")}).code(),
            Code::kAborted);
  EXPECT_EQ(barrier_.Txn({Condition::Equals("missing", "")}, {Op::Put("k", "v3")}).code(),
            Code::kAborted);
  EXPECT_EQ(**barrier_.Get("k"), "v2");
  EXPECT_TRUE(barrier_
                  .Txn({Condition::Exists("k"), Condition::Absent("n")},
                       {Op::Put("n", "new"), Op::Delete("k")})
                  .ok());
  EXPECT_EQ(**barrier_.Get("n"), "new");
  EXPECT_FALSE(barrier_.Get("k")->has_value());
  EXPECT_EQ(Physical("n").find("new"), std::string::npos);
  EXPECT_EQ(barrier_.Txn({Condition::Absent("n")}, {Op::Put("z", "z")}).code(), Code::kAborted);
  EXPECT_FALSE(mem_.Get("z")->has_value());
}

TEST_F(BarrierTest, TxnEqualsOnTamperedValueIsDataLoss) {
  ASSERT_TRUE(barrier_.Put("k", "v1").ok());
  std::string raw = Physical("k");
  raw.back() ^= 1;
  ASSERT_TRUE(mem_.Put("k", raw).ok());
  barrier_.ClearCache();  // the cache holds what we wrote; storage is re-read
  EXPECT_EQ(barrier_.Txn({Condition::Equals("k", "v1")}, {Op::Put("k", "v2")}).code(),
            Code::kDataLoss);
}

// A backend that, once armed, rewrites "k" with the same plaintext (through
// the barrier) just before the next Txn reaches physical storage: kEquals
// must then fail, since the value changed between its read and the Txn.
class RacingBackend final : public storage::Backend {
 public:
  explicit RacingBackend(storage::Backend& target) : target_(target) {}
  Barrier* barrier = nullptr;
  void Arm() { raced_ = false; }
  StatusOr<std::optional<std::string>> Get(std::string_view k) override { return target_.Get(k); }
  Status Put(std::string_view k, std::string_view v) override { return target_.Put(k, v); }
  Status Delete(std::string_view k) override { return target_.Delete(k); }
  StatusOr<std::vector<std::string>> List(std::string_view p) override { return target_.List(p); }
  Status Txn(const std::vector<Condition>& c, const std::vector<Op>& o) override {
    if (!raced_.exchange(true)) {
      auto cur = barrier->Get("k");
      if (!cur.ok() || !barrier->Put("k", **cur).ok()) return Internal("race setup failed");
    }
    return target_.Txn(c, o);
  }

 private:
  storage::Backend& target_;
  std::atomic<bool> raced_{true};
};

TEST(BarrierRaceTest, TxnEqualsBindsTheExactCiphertextRead) {
  storage::InMemBackend mem;
  RacingBackend racing(mem);
  testing::FakeClock clock;
  Barrier b(racing, clock);
  racing.barrier = &b;
  SecureBytes root = RandomBytes(32);
  ASSERT_TRUE(b.Initialize(root).ok());
  ASSERT_TRUE(b.Unseal(root).ok());
  ASSERT_TRUE(b.Put("k", "same").ok());
  racing.Arm();
  EXPECT_EQ(b.Txn({Condition::Equals("k", "same")}, {Op::Put("k", "mine")}).code(), Code::kAborted);
  EXPECT_EQ(**b.Get("k"), "same");
  EXPECT_TRUE(b.Txn({Condition::Equals("k", "same")}, {Op::Put("k", "mine")}).ok());
  EXPECT_EQ(**b.Get("k"), "mine");
}

TEST_F(BarrierTest, KeyringPathIsReserved) {
  EXPECT_EQ(barrier_.Put(kKeyringPath, "x").code(), Code::kInvalidArgument);
  EXPECT_EQ(barrier_.Delete(kKeyringPath).code(), Code::kInvalidArgument);
  EXPECT_EQ(GetCode(kKeyringPath), Code::kInvalidArgument);
  EXPECT_EQ(barrier_.Txn({}, {Op::Delete(kKeyringPath)}).code(), Code::kInvalidArgument);
  barrier_.Seal();
  EXPECT_TRUE(barrier_.Unseal(root_).ok());
}

TEST_F(BarrierTest, PhysicalErrorsPassThrough) {
  faulty_.FailNext(testing::ErrorBackend::Method::kGet, Unavailable("down"));
  EXPECT_EQ(GetCode("k"), Code::kUnavailable);
  faulty_.FailNext(testing::ErrorBackend::Method::kPut, Unavailable("down"));
  EXPECT_EQ(barrier_.Put("k", "v").code(), Code::kUnavailable);
  faulty_.FailNext(testing::ErrorBackend::Method::kList, Internal("bug"));
  EXPECT_EQ(barrier_.List("").status().code(), Code::kInternal);
  faulty_.FailNext(testing::ErrorBackend::Method::kGet, Unavailable("down"), 1, kKeyringPath);
  barrier_.Seal();
  EXPECT_EQ(barrier_.Unseal(root_).code(), Code::kUnavailable);
  EXPECT_TRUE(barrier_.Unseal(root_).ok());
}

TEST_F(BarrierTest, CountsEncryptionsUnderActiveKey) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(barrier_.Put("k" + std::to_string(i), "v").ok());
  ASSERT_TRUE(barrier_.Txn({}, {Op::Put("a", "1"), Op::Put("b", "2"), Op::Delete("c")}).ok());
  EXPECT_EQ(barrier_.CurrentKey()->encryptions, 5u);
  ASSERT_TRUE(barrier_.Rotate().ok());
  EXPECT_EQ(barrier_.CurrentKey()->encryptions, 0u);
}

TEST_F(BarrierTest, LargeAndBinaryValues) {
  std::string big = RandomString(1 << 20);
  big[10] = '\0';
  ASSERT_TRUE(barrier_.Put("big", big).ok());
  EXPECT_TRUE(**barrier_.Get("big") == big);
}

TEST_F(BarrierTest, ConcurrentUseWithRotation) {
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        std::string k = "c/" + std::to_string(t) + "/" + std::to_string(i);
        if (!barrier_.Put(k, k).ok()) ++errors;
        auto v = barrier_.Get(k);
        if (!v.ok() || !v->has_value() || **v != k) ++errors;
      }
    });
  }
  for (int r = 0; r < 5; ++r) {
    if (!barrier_.Rotate().ok()) ++errors;
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(barrier_.CurrentKey()->term, 6u);
}

}  // namespace
}  // namespace arca::core
