#include "base/cidr.h"

#include <gtest/gtest.h>

namespace arca {
namespace {

TEST(CidrTest, Matching) {
  EXPECT_TRUE(AddressInCidrs("10.1.2.3", {"10.0.0.0/8"}));
  EXPECT_FALSE(AddressInCidrs("11.1.2.3", {"10.0.0.0/8"}));
  EXPECT_TRUE(AddressInCidrs("192.168.1.7", {"192.168.1.7"}));
  EXPECT_FALSE(AddressInCidrs("192.168.1.8", {"192.168.1.7"}));
  EXPECT_TRUE(AddressInCidrs("127.0.0.1", {"10.0.0.0/8", "127.0.0.1/32"}));
  EXPECT_TRUE(AddressInCidrs("::ffff:10.0.0.1", {"10.0.0.0/24"}));
  EXPECT_TRUE(AddressInCidrs("10.0.0.1", {"::ffff:10.0.0.1"}));
  EXPECT_TRUE(AddressInCidrs("2001:db8::1", {"2001:db8::/32"}));
  EXPECT_FALSE(AddressInCidrs("2001:db9::1", {"2001:db8::/32"}));
  EXPECT_TRUE(AddressInCidrs("[::1]", {"::1"}));
  EXPECT_FALSE(AddressInCidrs("::1", {"127.0.0.1"}));  // families never mix
  EXPECT_FALSE(AddressInCidrs("garbage", {"0.0.0.0/0"}));
  EXPECT_FALSE(AddressInCidrs("", {"0.0.0.0/0"}));
  EXPECT_TRUE(AddressInCidrs("8.8.8.8", {"0.0.0.0/0"}));
  // Host bits of a block are ignored; an entry that does not parse matches nothing.
  EXPECT_TRUE(AddressInCidrs("10.255.9.9", {"10.255.1.2/16"}));
  EXPECT_FALSE(AddressInCidrs("10.0.0.1", {"10.0.0.0/33"}));
}

TEST(CidrTest, Validity) {
  EXPECT_TRUE(ValidCidr("10.0.0.0/8"));
  EXPECT_TRUE(ValidCidr(" 10.0.0.1 "));
  EXPECT_TRUE(ValidCidr("::1/128"));
  EXPECT_FALSE(ValidCidr("10.0.0.0/"));
  EXPECT_FALSE(ValidCidr("10.0.0.0/33"));
  EXPECT_FALSE(ValidCidr("::1/129"));
  EXPECT_FALSE(ValidCidr("10.0.0.0/8x"));
  EXPECT_FALSE(ValidCidr("example.org"));
  EXPECT_FALSE(ValidCidr(""));
}

TEST(CidrTest, ParseAddrsRendersAsVault) {
  auto r = ParseAddrs({"127.0.0.1/32", "10.255.0.0/16", " 192.168.0.1 ", "::1/128",
                       "2001:DB8:0:0::/32", "::ffff:10.1.2.3", "10.1.2.3/8"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, (std::vector<std::string>{"127.0.0.1", "10.255.0.0/16", "192.168.0.1", "::1",
                                          "2001:db8::/32", "10.1.2.3", "10.1.2.3/8"}));
  EXPECT_TRUE(ParseAddrs({})->empty());
  auto bad = ParseAddrs({"10.0.0.0/8", "10.0.0.0/33"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(bad.status().message(),
            "error parsing address \"10.0.0.0/33\": Unable to convert 10.0.0.0/33 to an IPv4 or "
            "IPv6 address, or a UNIX Socket");
}

}  // namespace
}  // namespace arca
