#include "cli/token_helper.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "cli_fakes.h"

namespace arca::cli {
namespace {

class TokenHelperTest : public ::testing::Test {
 protected:
  std::string Path() const { return TokenFilePath(home_.path()); }
  testing::TempDir home_;
};

TEST_F(TokenHelperTest, PathIsDotVaultTokenInHome) {
  EXPECT_EQ(TokenFilePath("/home/u"), "/home/u/.vault-token");
  EXPECT_EQ(TokenFilePath("/home/u/"), "/home/u/.vault-token");
  EXPECT_EQ(TokenFilePath(""), "");
}

TEST_F(TokenHelperTest, MissingFileReadsAsNoToken) {
  auto t = ReadTokenFile(Path());
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, "");
}

TEST_F(TokenHelperTest, StoreWritesMode0600AndReadTrims) {
  ::umask(022);
  ASSERT_TRUE(StoreTokenFile(Path(), "hvs.secret").ok());
  struct stat st {};
  ASSERT_EQ(::stat(Path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(*ReadTokenFile(Path()), "hvs.secret");
  std::ofstream(Path()) << "  hvs.other\n";
  EXPECT_EQ(*ReadTokenFile(Path()), "hvs.other");
  // Replacing keeps the mode and leaves no temporary file behind.
  ASSERT_TRUE(StoreTokenFile(Path(), "hvs.third").ok());
  EXPECT_EQ(*ReadTokenFile(Path()), "hvs.third");
  EXPECT_NE(::stat((Path() + ".tmp").c_str(), &st), 0);
}

TEST_F(TokenHelperTest, EraseIsIdempotent) {
  ASSERT_TRUE(StoreTokenFile(Path(), "x").ok());
  EXPECT_TRUE(EraseTokenFile(Path()).ok());
  EXPECT_TRUE(EraseTokenFile(Path()).ok());
  EXPECT_EQ(*ReadTokenFile(Path()), "");
}

TEST_F(TokenHelperTest, UnwritableDirectoryFails) {
  Status st = StoreTokenFile(home_.path() + "/no/such/dir/.vault-token", "x");
  EXPECT_EQ(st.code(), Code::kUnavailable);
}

}  // namespace
}  // namespace arca::cli
