#include "storage/file.h"

#include <sys/stat.h>

#include <atomic>
#include <thread>

#include "backend_conformance.h"

namespace arca::storage::test {
namespace {

using ::testing::ElementsAre;
using ::testing::Optional;

StatusOr<std::unique_ptr<Backend>> OpenFile(const std::string& dir) {
  ARCA_ASSIGN_OR_RETURN(auto b, FileBackend::Open(dir + "/data"));
  return std::unique_ptr<Backend>(std::move(b));
}

INSTANTIATE_TEST_SUITE_P(File, BackendConformanceTest,
                         ::testing::Values(BackendParam{"File", OpenFile}), BackendParamName);

class FileBackendTest : public ::testing::Test {
 protected:
  std::string Dir() const { return tmp_.path() + "/store"; }
  std::unique_ptr<FileBackend> MustOpen() {
    auto b = FileBackend::Open(Dir());
    EXPECT_THAT(b, IsOk());
    return b.ok() ? std::move(b).value() : nullptr;
  }

  ScopedTempDir tmp_;
};

TEST_F(FileBackendTest, ReopenKeepsEverything) {
  std::string big(300000, 'q');
  {
    auto b = MustOpen();
    ASSERT_TRUE(b);
    ASSERT_THAT(b->Put("a/b", "1"), IsOk());
    ASSERT_THAT(b->Put("a/c/d", std::string("\0bin\0", 5)), IsOk());
    ASSERT_THAT(b->Put("big", big), IsOk());
    ASSERT_THAT(b->Put("gone", "x"), IsOk());
    ASSERT_THAT(b->Delete("gone"), IsOk());
    ASSERT_THAT(b->Txn({Condition::Absent("t")}, {Op::Put("t", "txn")}), IsOk());
  }
  auto b = MustOpen();
  ASSERT_TRUE(b);
  EXPECT_THAT(*b->Get("a/b"), Optional(std::string("1")));
  EXPECT_THAT(*b->Get("a/c/d"), Optional(std::string("\0bin\0", 5)));
  EXPECT_THAT(*b->Get("big"), Optional(big));
  EXPECT_EQ(*b->Get("gone"), std::nullopt);
  EXPECT_THAT(*b->Get("t"), Optional(std::string("txn")));
  EXPECT_THAT(*b->List(""), ElementsAre("a/", "big", "t"));
}

TEST_F(FileBackendTest, CreatesPrivateDirectoryAndDatabase) {
  auto b = MustOpen();
  ASSERT_TRUE(b);
  struct stat st {};
  ASSERT_EQ(::stat(Dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_THAT(b->Put("k", "v"), IsOk());
  for (const char* f : {"/arca.db", "/arca.db-wal", "/arca.db-shm", "/arca.lock"}) {
    ASSERT_EQ(::stat((Dir() + f).c_str(), &st), 0) << f;
    EXPECT_EQ(st.st_mode & 0077, 0u) << f;
  }
}

TEST_F(FileBackendTest, SecondOpenOfSameDirectoryIsUnavailable) {
  auto b = MustOpen();
  ASSERT_TRUE(b);
  EXPECT_THAT(FileBackend::Open(Dir()), StatusIs(Code::kUnavailable));
  b.reset();
  EXPECT_THAT(FileBackend::Open(Dir()), IsOk());
}

TEST_F(FileBackendTest, OpenFailsCleanlyOnUnusablePath) {
  std::string file = tmp_.path() + "/plain";
  ASSERT_THAT(FileBackend::Open(tmp_.path() + "/d"), IsOk());
  FILE* f = std::fopen(file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  EXPECT_THAT(FileBackend::Open(file), StatusIs(Code::kUnavailable));
  EXPECT_THAT(FileBackend::Open(""), StatusIs(Code::kInvalidArgument));
}

TEST_F(FileBackendTest, CorruptDatabaseFailsOpen) {
  ASSERT_EQ(::mkdir(Dir().c_str(), 0700), 0);
  FILE* f = std::fopen((Dir() + "/arca.db").c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("this is not a database, only some text that is long enough to not be empty....", f);
  std::fclose(f);
  auto b = FileBackend::Open(Dir());
  EXPECT_FALSE(b.ok());
  EXPECT_THAT(b, ::testing::AnyOf(StatusIs(Code::kInternal), StatusIs(Code::kUnavailable)));
}

// Holds the committer before its first batch until every other writer is
// queued, so the group commit must take them in one transaction.
TEST_F(FileBackendTest, GroupCommitSharesCommitsAmongConcurrentWriters) {
  constexpr int kWriters = 16;
  auto b = MustOpen();
  ASSERT_TRUE(b);
  std::atomic<bool> first{true};
  FileBackend* raw = b.get();
  b->SetBeforeBatchForTest([&] {
    if (!first.exchange(false)) return;
    while (raw->QueuedForTest() < kWriters) std::this_thread::yield();
  });
  uint64_t before = b->CommitsForTest();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kWriters; ++t) {
    threads.emplace_back([&, t] {
      if (!raw->Put("g/" + std::to_string(t), "v").ok()) ++failures;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(b->CommitsForTest() - before, 1u);
  EXPECT_EQ(b->List("g/")->size(), std::size_t{kWriters});
}

// An aborted Txn in the same batch as successful writes fails alone.
TEST_F(FileBackendTest, AbortedTxnInBatchDoesNotAffectOthers) {
  auto b = MustOpen();
  ASSERT_TRUE(b);
  ASSERT_THAT(b->Put("exists", "1"), IsOk());
  std::atomic<bool> first{true};
  FileBackend* raw = b.get();
  b->SetBeforeBatchForTest([&] {
    if (!first.exchange(false)) return;
    while (raw->QueuedForTest() < 3) std::this_thread::yield();
  });
  Status s1, s2, s3;
  std::thread t1([&] { s1 = raw->Put("p1", "a"); });
  std::thread t2([&] {
    s2 = raw->Txn({Condition::Absent("exists")}, {Op::Put("bad1", "x"), Op::Put("bad2", "y")});
  });
  std::thread t3([&] { s3 = raw->Txn({Condition::Exists("exists")}, {Op::Put("p2", "b")}); });
  t1.join(), t2.join(), t3.join();
  EXPECT_THAT(s1, IsOk());
  EXPECT_THAT(s2, StatusIs(Code::kAborted));
  EXPECT_THAT(s3, IsOk());
  EXPECT_THAT(*b->Get("p1"), Optional(std::string("a")));
  EXPECT_THAT(*b->Get("p2"), Optional(std::string("b")));
  EXPECT_EQ(*b->Get("bad1"), std::nullopt);
  EXPECT_EQ(*b->Get("bad2"), std::nullopt);
}

// Later writes in a batch see earlier ones (the batch is applied in order).
TEST_F(FileBackendTest, TxnConditionsSeeEarlierWritesOfSameBatch) {
  auto b = MustOpen();
  ASSERT_TRUE(b);
  std::atomic<bool> first{true};
  FileBackend* raw = b.get();
  b->SetBeforeBatchForTest([&] {
    if (!first.exchange(false)) return;
    while (raw->QueuedForTest() < 2) std::this_thread::yield();
  });
  Status s1, s2;
  std::thread t1([&] { s1 = raw->Txn({Condition::Absent("lock")}, {Op::Put("lock", "one")}); });
  std::thread t2([&] { s2 = raw->Txn({Condition::Absent("lock")}, {Op::Put("lock", "two")}); });
  t1.join(), t2.join();
  EXPECT_NE(s1.ok(), s2.ok()) << s1.ToString() << " / " << s2.ToString();
  EXPECT_TRUE(IsAborted(s1.ok() ? s2 : s1));
  EXPECT_THAT(*b->Get("lock"), Optional(std::string(s1.ok() ? "one" : "two")));
}

}  // namespace
}  // namespace arca::storage::test
