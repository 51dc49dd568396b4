// Fuzz-style robustness: random bytes, token soup and every truncation and
// single-byte mutation of valid documents must parse or fail cleanly.
#include <gtest/gtest.h>

#include <random>

#include "hcl/hcl.h"

namespace arca::hcl {
namespace {

const char* kSeeds[] = {
    R"(path "secret/*" {
  capabilities = ["create", "read"]
  allowed_parameters = { "type" = ["kv", "kv-v2"], "*" = [] }
  min_wrapping_ttl = "1m"
}
# comment
listener "tcp" { address = "127.0.0.1:8200", tls_disable = 1 }
x = <<-EOF
    heredoc
    EOF
y = [1, 2.5, -3, 0x10, true, "s\n\u00e9", { a = "b" },]
/* block */ z = "${var.interp("q")}"
)",
    R"({"path": {"a/+/b": {"capabilities": ["read"]}, "c": {"policy": "write"}},
 "n": null, "l": [1, -2.5e3, {"k": "v\/\ud83d\ude00"}], "b": false})",
};

void ExerciseAll(std::string_view text) {
  for (Syntax s : {Syntax::kAuto, Syntax::kHcl, Syntax::kJson}) {
    Error e;
    auto v = Parse(text, s, &e);
    if (v.ok()) {
      (void)ToJson(*v);
      (void)Blocks(*v, "path", 1);
      (void)Blocks(*v, "listener", 2);
    } else {
      EXPECT_GE(e.line, 1);
      EXPECT_FALSE(e.message.empty());
    }
  }
}

TEST(HclFuzzTest, TruncationsAndMutationsOfSeeds) {
  std::mt19937 rng(1234);
  for (const char* seed : kSeeds) {
    std::string s(seed);
    ASSERT_TRUE(Parse(s).ok()) << Parse(s).status().ToString();
    for (std::size_t n = 0; n <= s.size(); ++n) ExerciseAll(std::string_view(s).substr(0, n));
    const std::string alphabet = "{}[]\"=,:<-\\/*#\n \t0x.e$u";
    for (int k = 0; k < 3000; ++k) {
      std::string m = s;
      std::size_t at = rng() % m.size();
      switch (rng() % 3) {
        case 0: m[at] = alphabet[rng() % alphabet.size()]; break;
        case 1: m.erase(at, 1 + rng() % 4); break;
        default: m.insert(at, 1, static_cast<char>(rng() % 256)); break;
      }
      ExerciseAll(m);
    }
  }
}

TEST(HclFuzzTest, RandomBytesAndTokenSoup) {
  std::mt19937 rng(99);
  const char* tokens[] = {"{", "}", "[", "]", "=", ",", ":", "\"s\"", "ident", "12", "-1.5",
                          "true", "null", "<<EOF\n", "EOF\n", "<<-X\n", "#c\n", "/*", "*/",
                          "\n", "\"\\u12", "\\", "0x", "\"${", "}\""};
  for (int k = 0; k < 3000; ++k) {
    std::string s;
    int n = rng() % 64;
    if (k % 2 == 0) {
      for (int j = 0; j < n; ++j) s += static_cast<char>(rng() % 256);
    } else {
      for (int j = 0; j < n; ++j) s += tokens[rng() % (sizeof tokens / sizeof *tokens)];
    }
    ExerciseAll(s);
  }
}

}  // namespace
}  // namespace arca::hcl
