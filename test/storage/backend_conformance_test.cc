// The storage::Backend conformance suite; instantiated per engine in
// inmem_test.cc and file_test.cc.
#include "backend_conformance.h"

#include <algorithm>
#include <atomic>
#include <random>
#include <thread>

namespace arca::storage::test {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Optional;

std::optional<std::string> MustGet(Backend& b, std::string_view key) {
  auto v = b.Get(key);
  EXPECT_THAT(v, IsOk());
  return v.ok() ? *v : std::nullopt;
}

std::vector<std::string> MustList(Backend& b, std::string_view prefix) {
  auto v = b.List(prefix);
  EXPECT_THAT(v, IsOk());
  return v.ok() ? *v : std::vector<std::string>{};
}

TEST_P(BackendConformanceTest, GetMissingIsNotAnError) {
  EXPECT_EQ(MustGet(b(), "nope"), std::nullopt);
}

TEST_P(BackendConformanceTest, PutGetOverwrite) {
  ASSERT_THAT(b().Put("foo", "bar"), IsOk());
  EXPECT_THAT(MustGet(b(), "foo"), Optional(std::string("bar")));
  ASSERT_THAT(b().Put("foo", "baz"), IsOk());
  EXPECT_THAT(MustGet(b(), "foo"), Optional(std::string("baz")));
  EXPECT_EQ(MustGet(b(), "fo"), std::nullopt);
  EXPECT_EQ(MustGet(b(), "foo/"), std::nullopt);
}

TEST_P(BackendConformanceTest, DeleteRemovesAndMissingDeleteSucceeds) {
  ASSERT_THAT(b().Put("a/b", "1"), IsOk());
  ASSERT_THAT(b().Delete("a/b"), IsOk());
  EXPECT_EQ(MustGet(b(), "a/b"), std::nullopt);
  EXPECT_THAT(b().Delete("a/b"), IsOk());
  EXPECT_THAT(b().Delete("never/was"), IsOk());
  EXPECT_THAT(MustList(b(), "a/"), IsEmpty());
}

TEST_P(BackendConformanceTest, EmptyValueIsPresent) {
  ASSERT_THAT(b().Put("empty", ""), IsOk());
  EXPECT_THAT(MustGet(b(), "empty"), Optional(std::string()));
}

TEST_P(BackendConformanceTest, BinaryValuesKeepEveryByte) {
  std::string v;
  for (int i = 0; i < 256; ++i) v.push_back(static_cast<char>(i));
  v += std::string("\0\0tail\0", 7);
  ASSERT_THAT(b().Put("bin", v), IsOk());
  auto got = MustGet(b(), "bin");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->size(), v.size());
  EXPECT_EQ(*got, v);
}

TEST_P(BackendConformanceTest, LargeValue) {
  std::string v(1 << 20, '\0');
  std::mt19937 rng(7);
  for (auto& c : v) c = static_cast<char>(rng());
  ASSERT_THAT(b().Put("big", v), IsOk());
  auto got = MustGet(b(), "big");
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(*got == v);
}

TEST_P(BackendConformanceTest, ListImmediateChildrenSortedWithFoldersOnce) {
  for (const char* k : {"a/e", "a/c/d", "a/b", "a/c/e", "a/d/x/y", "b", "a/c/f/g", "ab"}) {
    ASSERT_THAT(b().Put(k, "v"), IsOk());
  }
  EXPECT_THAT(MustList(b(), "a/"), ElementsAre("b", "c/", "d/", "e"));
  EXPECT_THAT(MustList(b(), ""), ElementsAre("a/", "ab", "b"));
  EXPECT_THAT(MustList(b(), "a/c/"), ElementsAre("d", "e", "f/"));
  EXPECT_THAT(MustList(b(), "a/d/"), ElementsAre("x/"));
  EXPECT_THAT(MustList(b(), "a/d/x/"), ElementsAre("y"));
  EXPECT_THAT(MustList(b(), "missing/"), IsEmpty());
  EXPECT_THAT(MustList(b(), "a/b/"), IsEmpty());
}

TEST_P(BackendConformanceTest, ListFolderAndKeyOfSameName) {
  ASSERT_THAT(b().Put("x/y", "1"), IsOk());
  ASSERT_THAT(b().Put("x/y/z", "2"), IsOk());
  ASSERT_THAT(b().Put("x/y0", "3"), IsOk());
  ASSERT_THAT(b().Put("x/y.", "4"), IsOk());
  EXPECT_THAT(MustList(b(), "x/"), ElementsAre("y", "y.", "y/", "y0"));
}

TEST_P(BackendConformanceTest, ListHighBytesAndUnboundedPrefix) {
  ASSERT_THAT(b().Put("\xff/a", "1"), IsOk());
  ASSERT_THAT(b().Put("\xff\xff", "2"), IsOk());
  ASSERT_THAT(b().Put("\xff/\xff/b", "3"), IsOk());
  EXPECT_THAT(MustList(b(), "\xff"), ElementsAre("/", "\xff"));
  EXPECT_THAT(MustList(b(), "\xff/"), ElementsAre("a", "\xff/"));
  EXPECT_THAT(MustList(b(), ""), ElementsAre("\xff/", "\xff\xff"));
}

TEST_P(BackendConformanceTest, ListManyKeysSorted) {
  std::vector<std::string> keys;
  for (int i = 0; i < 300; ++i) keys.push_back("k" + std::to_string(i * 7919 % 1000));
  std::vector<Op> ops;
  for (const auto& k : keys) ops.push_back(Op::Put("m/" + k, k));
  ASSERT_THAT(b().Txn({}, ops), IsOk());
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  EXPECT_EQ(MustList(b(), "m/"), keys);
}

TEST_P(BackendConformanceTest, ListSkipsLargeNestedFolder) {
  std::vector<Op> ops;
  for (int i = 0; i < 20000; ++i) {
    ops.push_back(Op::Put("t/big/" + std::to_string(i % 100) + "/" + std::to_string(i), "v"));
  }
  ops.push_back(Op::Put("t/a", "v"));
  ops.push_back(Op::Put("t/z", "v"));
  ops.push_back(Op::Put("t/big0", "v"));
  ASSERT_THAT(b().Txn({}, ops), IsOk());
  EXPECT_THAT(MustList(b(), "t/"), ElementsAre("a", "big/", "big0", "z"));
  EXPECT_EQ(MustList(b(), "t/big/").size(), 100u);
  EXPECT_EQ(MustList(b(), "t/big/7/").size(), 200u);
}

TEST_P(BackendConformanceTest, ListAfterFolderEmptied) {
  ASSERT_THAT(b().Put("f/g/h", "v"), IsOk());
  EXPECT_THAT(MustList(b(), "f/"), ElementsAre("g/"));
  ASSERT_THAT(b().Delete("f/g/h"), IsOk());
  EXPECT_THAT(MustList(b(), "f/"), IsEmpty());
  EXPECT_THAT(MustList(b(), ""), IsEmpty());
}

TEST_P(BackendConformanceTest, ListRecursiveAndDeletePrefix) {
  for (const char* k : {"p/a", "p/b/c", "p/b/d/e", "q/x"}) ASSERT_THAT(b().Put(k, "v"), IsOk());
  auto all = ListRecursive(b(), "p/");
  ASSERT_THAT(all, IsOk());
  auto keys = *all;
  std::sort(keys.begin(), keys.end());
  EXPECT_THAT(keys, ElementsAre("a", "b/c", "b/d/e"));
  ASSERT_THAT(DeletePrefix(b(), "p/"), IsOk());
  EXPECT_THAT(MustList(b(), "p/"), IsEmpty());
  EXPECT_THAT(MustGet(b(), "q/x"), Optional(std::string("v")));
}

TEST_P(BackendConformanceTest, TxnAppliesWhenConditionsHold) {
  ASSERT_THAT(b().Put("has", "1"), IsOk());
  ASSERT_THAT(b().Put("eq", "val"), IsOk());
  ASSERT_THAT(
      b().Txn({Condition::Exists("has"), Condition::Absent("not"), Condition::Equals("eq", "val")},
              {Op::Put("n1", "a"), Op::Put("n2", "b"), Op::Delete("has")}),
      IsOk());
  EXPECT_THAT(MustGet(b(), "n1"), Optional(std::string("a")));
  EXPECT_THAT(MustGet(b(), "n2"), Optional(std::string("b")));
  EXPECT_EQ(MustGet(b(), "has"), std::nullopt);
}

TEST_P(BackendConformanceTest, TxnFailedConditionAbortsEverything) {
  ASSERT_THAT(b().Put("has", "1"), IsOk());
  ASSERT_THAT(b().Put("eq", "val"), IsOk());
  const std::vector<Op> ops = {Op::Put("w1", "a"), Op::Delete("has"), Op::Put("eq", "new")};
  EXPECT_THAT(b().Txn({Condition::Exists("has"), Condition::Exists("not")}, ops),
              StatusIs(Code::kAborted));
  EXPECT_THAT(b().Txn({Condition::Absent("has")}, ops), StatusIs(Code::kAborted));
  EXPECT_THAT(b().Txn({Condition::Equals("eq", "other")}, ops), StatusIs(Code::kAborted));
  EXPECT_THAT(b().Txn({Condition::Equals("eq", "va")}, ops), StatusIs(Code::kAborted));
  EXPECT_THAT(b().Txn({Condition::Equals("missing", "")}, ops), StatusIs(Code::kAborted));
  EXPECT_EQ(MustGet(b(), "w1"), std::nullopt);
  EXPECT_THAT(MustGet(b(), "has"), Optional(std::string("1")));
  EXPECT_THAT(MustGet(b(), "eq"), Optional(std::string("val")));
}

TEST_P(BackendConformanceTest, TxnEqualsEmptyValueAndBinary) {
  ASSERT_THAT(b().Put("e", ""), IsOk());
  ASSERT_THAT(b().Put("z", std::string("\0x", 2)), IsOk());
  EXPECT_THAT(b().Txn({Condition::Equals("e", "")}, {Op::Put("ok1", "1")}), IsOk());
  EXPECT_THAT(b().Txn({Condition::Equals("z", std::string("\0x", 2))}, {Op::Put("ok2", "1")}),
              IsOk());
  EXPECT_THAT(b().Txn({Condition::Equals("z", std::string("\0", 1))}, {Op::Put("bad", "1")}),
              StatusIs(Code::kAborted));
  EXPECT_TRUE(MustGet(b(), "ok1").has_value());
  EXPECT_TRUE(MustGet(b(), "ok2").has_value());
  EXPECT_FALSE(MustGet(b(), "bad").has_value());
}

TEST_P(BackendConformanceTest, TxnOpsApplyInOrder) {
  ASSERT_THAT(b().Txn({}, {Op::Put("k", "1"), Op::Delete("k"), Op::Put("k", "2")}), IsOk());
  EXPECT_THAT(MustGet(b(), "k"), Optional(std::string("2")));
  ASSERT_THAT(b().Txn({Condition::Exists("k")}, {Op::Put("k", "3"), Op::Delete("k")}), IsOk());
  EXPECT_EQ(MustGet(b(), "k"), std::nullopt);
  EXPECT_THAT(b().Txn({}, {}), IsOk());
  EXPECT_THAT(b().Txn({Condition::Absent("k")}, {}), IsOk());
  EXPECT_THAT(b().Txn({Condition::Exists("k")}, {}), StatusIs(Code::kAborted));
}

TEST_P(BackendConformanceTest, ConcurrentWritersAllDurable) {
  constexpr int kThreads = 8, kPuts = 200;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPuts; ++i) {
        std::string k = "c/" + std::to_string(t) + "/" + std::to_string(i);
        if (!b().Put(k, k + "=v").ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPuts; ++i) {
      std::string k = "c/" + std::to_string(t) + "/" + std::to_string(i);
      ASSERT_THAT(MustGet(b(), k), Optional(k + "=v"));
    }
    EXPECT_EQ(MustList(b(), "c/" + std::to_string(t) + "/").size(), std::size_t{kPuts});
  }
  EXPECT_EQ(MustList(b(), "c/").size(), std::size_t{kThreads});
}

// Compare-and-swap increments from several threads: no update may be lost.
TEST_P(BackendConformanceTest, ConcurrentCasCounterLosesNothing) {
  constexpr int kThreads = 4, kIncrements = 50;
  ASSERT_THAT(b().Put("counter", "0"), IsOk());
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements;) {
        auto cur = b().Get("counter");
        if (!cur.ok() || !cur->has_value()) {
          ++errors;
          return;
        }
        std::string next = std::to_string(std::stoi(**cur) + 1);
        Status s = b().Txn({Condition::Equals("counter", **cur)}, {Op::Put("counter", next)});
        if (s.ok()) {
          ++i;
        } else if (s.code() != Code::kAborted) {
          ++errors;
          return;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_THAT(MustGet(b(), "counter"), Optional(std::to_string(kThreads * kIncrements)));
}

TEST_P(BackendConformanceTest, ConcurrentReadersSeeWholeValues) {
  const std::string a(4096, 'a'), z(4096, 'z');
  ASSERT_THAT(b().Put("r", a), IsOk());
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        auto v = b().Get("r");
        if (!v.ok() || !v->has_value() || (**v != a && **v != z)) ++torn;
        auto l = b().List("");
        if (!l.ok() || l->size() != 1) ++torn;
      }
    });
  }
  for (int i = 0; i < 50; ++i) {
    Status s = b().Put("r", i % 2 ? a : z);
    EXPECT_THAT(s, IsOk());
    if (!s.ok()) break;  // still stop and join the readers
  }
  stop = true;
  for (auto& th : readers) th.join();
  EXPECT_EQ(torn.load(), 0);
}

TEST_P(BackendConformanceTest, ViewConfinesToPrefix) {
  View v(b(), "mount/");
  ASSERT_THAT(v.Put("x/y", "1"), IsOk());
  EXPECT_THAT(MustGet(b(), "mount/x/y"), Optional(std::string("1")));
  EXPECT_THAT(MustList(v, ""), ElementsAre("x/"));
  EXPECT_THAT(v.Put("../escape", "1"), StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(v.Txn({Condition::Absent("n")}, {Op::Put("n", "2")}), IsOk());
  EXPECT_THAT(MustGet(b(), "mount/n"), Optional(std::string("2")));
}

}  // namespace
}  // namespace arca::storage::test
