#include "storage/inmem.h"

#include "backend_conformance.h"

namespace arca::storage::test {
namespace {

INSTANTIATE_TEST_SUITE_P(InMem, BackendConformanceTest,
                         ::testing::Values(BackendParam{
                             "InMem",
                             [](const std::string&) -> StatusOr<std::unique_ptr<Backend>> {
                               return std::unique_ptr<Backend>(std::make_unique<InMemBackend>());
                             }}),
                         BackendParamName);

TEST(InMemBackendTest, ListDoesNotIncludeThePrefixKeyItself) {
  InMemBackend b;
  ASSERT_THAT(b.Put("a/", "folder marker"), IsOk());
  ASSERT_THAT(b.Put("a/b", "v"), IsOk());
  auto l = b.List("a/");
  ASSERT_THAT(l, IsOk());
  EXPECT_THAT(*l, ::testing::ElementsAre("b"));
}

}  // namespace
}  // namespace arca::storage::test
