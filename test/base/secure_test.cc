// PublicRandom: per-thread buffered CSPRNG output for nonces and ids.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/secure.h"

namespace arca {
namespace {

std::string Draw(std::size_t n) {
  std::string out(n, '\0');
  PublicRandom(reinterpret_cast<unsigned char*>(out.data()), n);
  return out;
}

TEST(PublicRandomTest, NoValueRepeatsAcrossManyRefills) {
  std::set<std::string> seen;
  for (int i = 0; i < 5000; ++i) EXPECT_TRUE(seen.insert(Draw(12)).second) << i;  // ~15 refills
}

TEST(PublicRandomTest, FillsRequestsLargerThanItsBuffer) {
  const std::string a = Draw(10000);
  ASSERT_EQ(a.size(), 10000u);
  // 10,000 bytes of CSPRNG output have every byte value; zeros mark a gap.
  std::set<unsigned char> values(a.begin(), a.end());
  EXPECT_EQ(values.size(), 256u);
  EXPECT_EQ(a.find(std::string(16, '\0')), std::string::npos);
  Draw(0);  // nothing to fill
}

TEST(PublicRandomTest, ThreadsDrawDifferentValues) {
  std::vector<std::string> got(4);
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i) ts.emplace_back([&got, i] { got[i] = Draw(32); });
  for (auto& t : ts) t.join();
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()).size(), 4u);
}

}  // namespace
}  // namespace arca
