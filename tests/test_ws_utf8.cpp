// tests/test_ws_utf8.cpp: the incremental UTF-8 validator: Markus Kuhn's stress-test cases,
// every split point, fail-fast positions, the ASCII fast path, finish()
#include "netco/ws/utf8.hpp"

#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

using netco::ws::is_valid_utf8;
using netco::ws::utf8_validator;

namespace {

std::string u8(std::initializer_list<int> v) {
  std::string s;
  for (int b : v) s += static_cast<char>(b);
  return s;
}

// Encodes a code point the plain way (for the boundary sweeps; surrogates included on purpose).
std::string encode(std::uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xc0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xe0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    s += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    s += static_cast<char>(0xf0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    s += static_cast<char>(0x80 | (cp & 0x3f));
  }
  return s;
}

// The index of the first byte at which feed() fails, fed one byte at a time; npos if none.
std::size_t fail_index(const std::string& s) {
  utf8_validator v;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (!v.feed(std::string_view(s).substr(i, 1))) return i;
  return std::string::npos;
}

}  // namespace

TEST_CASE("Kuhn 1: correct text") {
  CHECK(is_valid_utf8(u8({0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5})));
  CHECK(is_valid_utf8(std::string_view("Hello-µ@ßöäüàá-UTF-8!!")));
  CHECK(is_valid_utf8(std::string_view("")));
}

TEST_CASE("Kuhn 2: boundary conditions") {
  // first and last sequences of each length, and other boundaries
  for (std::uint32_t cp : {0x0u, 0x7fu, 0x80u, 0x7ffu, 0x800u, 0xffffu, 0x10000u, 0x10ffffu,
                           0xd7ffu, 0xe000u, 0xfffdu, 0xfffeu})
    CHECK_MESSAGE(is_valid_utf8(encode(cp)), cp);
  // past U+10FFFF: f4 90 80 80, and 5- and 6-byte forms
  CHECK(!is_valid_utf8(u8({0xf4, 0x90, 0x80, 0x80})));
  CHECK(!is_valid_utf8(u8({0xf7, 0xbf, 0xbf, 0xbf})));
  CHECK(!is_valid_utf8(u8({0xf8, 0x88, 0x80, 0x80, 0x80})));
  CHECK(!is_valid_utf8(u8({0xfb, 0xbf, 0xbf, 0xbf, 0xbf})));
  CHECK(!is_valid_utf8(u8({0xfc, 0x84, 0x80, 0x80, 0x80, 0x80})));
  CHECK(!is_valid_utf8(u8({0xfd, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf})));
}

TEST_CASE("Kuhn 3: malformed sequences") {
  // 3.1 unexpected continuation bytes, alone and in runs
  for (int b = 0x80; b <= 0xbf; ++b) CHECK(!is_valid_utf8(u8({b})));
  CHECK(!is_valid_utf8(u8({0x80, 0xbf, 0x80, 0xbf})));
  // 3.2 lonely start characters followed by a space
  for (int b = 0xc0; b <= 0xfd; ++b) CHECK(!is_valid_utf8(u8({b, 0x20})));
  // 3.3 sequences with the last continuation byte missing
  for (const std::string& s :
       {u8({0xc0}), u8({0xe0, 0x80}), u8({0xf0, 0x80, 0x80}), u8({0xdf}), u8({0xef, 0xbf}),
        u8({0xf4, 0x8f, 0xbf}), u8({0xc2}), u8({0xe1, 0x80}), u8({0xf1, 0x80, 0x80})})
    CHECK(!is_valid_utf8(s));
  // 3.4 concatenation of incomplete sequences
  CHECK(!is_valid_utf8(u8({0xc0, 0xe0, 0x80, 0xf0, 0x80, 0x80, 0xdf, 0xef, 0xbf})));
  // 3.5 impossible bytes
  CHECK(!is_valid_utf8(u8({0xfe})));
  CHECK(!is_valid_utf8(u8({0xff})));
  CHECK(!is_valid_utf8(u8({0xfe, 0xfe, 0xff, 0xff})));
}

TEST_CASE("Kuhn 4: overlong sequences") {
  // '/' in 2, 3, 4 bytes
  CHECK(!is_valid_utf8(u8({0xc0, 0xaf})));
  CHECK(!is_valid_utf8(u8({0xe0, 0x80, 0xaf})));
  CHECK(!is_valid_utf8(u8({0xf0, 0x80, 0x80, 0xaf})));
  // maximum overlongs
  CHECK(!is_valid_utf8(u8({0xc1, 0xbf})));
  CHECK(!is_valid_utf8(u8({0xe0, 0x9f, 0xbf})));
  CHECK(!is_valid_utf8(u8({0xf0, 0x8f, 0xbf, 0xbf})));
  // overlong NUL
  CHECK(!is_valid_utf8(u8({0xc0, 0x80})));
  CHECK(!is_valid_utf8(u8({0xe0, 0x80, 0x80})));
  CHECK(!is_valid_utf8(u8({0xf0, 0x80, 0x80, 0x80})));
}

TEST_CASE("Kuhn 5: surrogates are refused; noncharacters U+FFFE/U+FFFF are valid") {
  for (std::uint32_t cp = 0xd800; cp <= 0xdfff; ++cp) CHECK_MESSAGE(!is_valid_utf8(encode(cp)), cp);
  CHECK(!is_valid_utf8(u8({0xed, 0xa0, 0x80, 0xed, 0xb0, 0x80})));  // a paired surrogate
  CHECK(!is_valid_utf8(u8({0xed, 0xaf, 0xbf, 0xed, 0xbf, 0xbf})));
  CHECK(is_valid_utf8(u8({0xef, 0xbf, 0xbe})));
  CHECK(is_valid_utf8(u8({0xef, 0xbf, 0xbf})));
}

TEST_CASE("every code point: valid exactly when it is a scalar value") {
  for (std::uint32_t cp = 0; cp <= 0x10ffff; cp += (cp < 0x20000 ? 1 : 97)) {
    const bool scalar = cp < 0xd800 || cp > 0xdfff;
    if (is_valid_utf8(encode(cp)) != scalar) FAIL_CHECK("code point ", cp);
  }
}

TEST_CASE("fail fast: the byte that breaks the sequence is the one that fails") {
  CHECK(fail_index(u8({'a', 'b', 0xc0, 0xaf})) == 2);    // C0 is never valid
  CHECK(fail_index(u8({'a', 0xe0, 0x80, 'z'})) == 2);    // E0 80: overlong, seen at the 80
  CHECK(fail_index(u8({0xed, 0xa0, 0x80})) == 1);        // a surrogate, seen at A0
  CHECK(fail_index(u8({0xf4, 0x90, 0x80, 0x80})) == 1);  // past U+10FFFF, seen at 90
  CHECK(fail_index(u8({0xce, 0xba, 'x'})) == std::string::npos);
  CHECK(fail_index(u8({0xce, 'x'})) == 1);  // a continuation missing
  // Autobahn 6.4.1: valid, then the invalid F4 90 in the middle of the message
  const std::string s = u8({0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5,
                            0xf4, 0x90, 0x80, 0x80, 0x65, 0x64, 0x69, 0x74, 0x65, 0x64});
  CHECK(fail_index(s) == 12);
  utf8_validator v;
  CHECK(!v.feed(std::string_view(s).substr(0, 13)));
  CHECK(v.failed());
  CHECK(!v.feed(std::string_view("more")));  // stays failed
  v.reset();
  CHECK(v.feed(std::string_view("fresh")));
}

TEST_CASE("finish: a sequence left open at the end is invalid; then it resets") {
  utf8_validator v;
  CHECK(v.feed(u8({'a', 0xe2, 0x82})));
  CHECK(!v.at_boundary());
  CHECK(!v.finish());
  CHECK(v.at_boundary());
  CHECK(v.feed(u8({0xe2, 0x82, 0xac})));
  CHECK(v.finish());
}

TEST_CASE("every split point of valid and invalid text agrees with the whole") {
  const std::string text = "ASCII then κόσμε, 𝄞 (U+1D11E), € and more ASCII to pass sixteen bytes";
  std::vector<std::string> inputs = {text, text + u8({0xed, 0xa0, 0x80}), u8({0xf0, 0x9d}) + text,
                                     text + u8({0xe2, 0x82})};
  for (const std::string& s : inputs) {
    const bool whole = is_valid_utf8(s);
    for (std::size_t a = 0; a <= s.size(); ++a) {
      for (std::size_t b = a; b <= s.size(); b += 3) {
        utf8_validator v;
        const bool ok = v.feed(std::string_view(s).substr(0, a)) &&
                        v.feed(std::string_view(s).substr(a, b - a)) &&
                        v.feed(std::string_view(s).substr(b)) && v.finish();
        if (ok != whole) FAIL_CHECK("split ", a, "/", b, " of ", s);
      }
    }
  }
}

TEST_CASE("the ASCII fast path: a non-ASCII byte at any position of a long run is seen") {
  std::mt19937 rng(11);
  for (std::size_t len : {15u, 16u, 17u, 31u, 32u, 33u, 100u}) {
    for (std::size_t at = 0; at < len; ++at) {
      std::string s(len, 'a');
      s[at] = static_cast<char>(0x80 + rng() % 64);  // a stray continuation byte
      CHECK(!is_valid_utf8(s));
      CHECK(fail_index(s) == at);
      utf8_validator v;
      CHECK(!v.feed(s));
    }
    CHECK(is_valid_utf8(std::string(len, 'z')));
  }
}

TEST_CASE("random bytes: the DFA agrees with a plain decoder") {
  // A plain decoder: lead byte, length, range checks.
  auto reference = [](const std::string& s) {
    std::size_t i = 0;
    while (i < s.size()) {
      const auto c = static_cast<unsigned char>(s[i]);
      std::size_t n;
      std::uint32_t cp, min;
      if (c < 0x80) {
        ++i;
        continue;
      }
      if (c >= 0xc2 && c <= 0xdf) {
        n = 1;
        cp = c & 0x1f;
        min = 0x80;
      } else if (c >= 0xe0 && c <= 0xef) {
        n = 2;
        cp = c & 0x0f;
        min = 0x800;
      } else if (c >= 0xf0 && c <= 0xf4) {
        n = 3;
        cp = c & 0x07;
        min = 0x10000;
      } else
        return false;
      if (s.size() - i - 1 < n) return false;
      for (std::size_t k = 1; k <= n; ++k) {
        const auto d = static_cast<unsigned char>(s[i + k]);
        if ((d & 0xc0) != 0x80) return false;
        cp = (cp << 6) | (d & 0x3f);
      }
      if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
      i += n + 1;
    }
    return true;
  };
  std::mt19937 rng(5);
  int valid = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string s;
    const std::size_t len = rng() % 12;
    for (std::size_t i = 0; i < len; ++i) {
      const unsigned r = rng() % 4;
      s += static_cast<char>(r == 0   ? rng() % 0x80
                             : r == 1 ? 0x80 + rng() % 0x40
                                      : 0xc0 + rng() % 0x40);
    }
    const bool expect = reference(s);
    valid += expect;
    if (is_valid_utf8(s) != expect) FAIL_CHECK("bytes of round ", round);
  }
  CHECK(valid > 100);
}
