// tests/test_ws_handshake.cpp: SHA-1 (FIPS vectors), base64 (RFC 4648 vectors), the RFC 6455
// 1.3 accept key, key checks, and the Sec-WebSocket-Protocol / -Extensions grammars
#include "netco/ws/handshake.hpp"

#include <doctest/doctest.h>

#include <ostream>  // doctest prints error_codes
#include <set>
#include <string>
#include <vector>

using namespace netco::ws;

namespace {

std::string hex(const std::array<std::uint8_t, 20>& d) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (std::uint8_t b : d) {
    s += digits[b >> 4];
    s += digits[b & 15];
  }
  return s;
}

std::string b64(std::string_view s) {
  return base64_encode(std::as_bytes(std::span(s.data(), s.size())));
}

std::vector<extension> parse(std::string_view v, std::error_code& ec) {
  std::vector<extension> out;
  ec = parse_extensions(v, out);
  return out;
}

}  // namespace

TEST_CASE("SHA-1: the FIPS 180 example vectors") {
  CHECK(hex(sha1("abc")) == "a9993e364706816aba3e25717850c26c9cd0d89d");
  CHECK(hex(sha1("")) == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  CHECK(hex(sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
        "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  CHECK(hex(sha1("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
                 "klmnopqrlmnopqrsmnopqrstnopqrstu")) ==
        "a49b2446a02c645bf419f995b67091253a04a259");
  CHECK(hex(sha1(std::string(1000000, 'a'))) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

TEST_CASE(
    "SHA-1: lengths at the one-block / two-block padding edge (digests from Python hashlib)") {
  // Lengths 55, 56, 63, 64, 119, 120 cross the one-block / two-block padding edge.
  CHECK(hex(sha1(std::string(55, 'a'))) == "c1c8bbdc22796e28c0e15163d20899b65621d65a");
  CHECK(hex(sha1(std::string(56, 'a'))) == "c2db330f6083854c99d4b5bfb6e8f29f201be699");
  CHECK(hex(sha1(std::string(64, 'a'))) == "0098ba824b5c16427bd7a1122a5a442a25ec644d");
}

TEST_CASE("base64: the RFC 4648 section 10 vectors, both ways") {
  const std::pair<const char*, const char*> v[] = {{"", ""},
                                                   {"f", "Zg=="},
                                                   {"fo", "Zm8="},
                                                   {"foo", "Zm9v"},
                                                   {"foob", "Zm9vYg=="},
                                                   {"fooba", "Zm9vYmE="},
                                                   {"foobar", "Zm9vYmFy"}};
  for (auto [plain, encoded] : v) {
    CHECK(b64(plain) == encoded);
    std::string out;
    CHECK(base64_decode(encoded, out));
    CHECK(out == plain);
  }
}

TEST_CASE("base64_decode refuses what is not padded, canonical base64") {
  std::string out;
  for (const char* bad : {"Zg", "Zg=", "Z===", "Zh==", "Zm9=", "Zm8", "Zm 9v",
                          "Zm9v!A==", "Zg==Zg==", "====", "Zm9vYmFy="})
    CHECK_MESSAGE(!base64_decode(bad, out), bad);
  // all 256 byte values round trip
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  CHECK(base64_decode(b64(all), out));
  CHECK(out == all);
}

TEST_CASE("RFC 6455 1.3: the accept key of the sample nonce") {
  CHECK(accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_CASE("Sec-WebSocket-Key: 22 base64 characters and ==") {
  CHECK(is_valid_key("dGhlIHNhbXBsZSBub25jZQ=="));
  CHECK(is_valid_key("AAAAAAAAAAAAAAAAAAAAAA=="));
  CHECK(is_valid_key("+/+/+/+/+/+/+/+/+/+/+w=="));
  for (const char* bad :
       {"", "dGhlIHNhbXBsZSBub25jZQ=", "dGhlIHNhbXBsZSBub25jZQ===", "dGhlIHNhbXBsZSBub25jZQ",
        "dGhlIHNhbXBsZSBub25jZ===", "dGhlIHNhbXBsZSBub25jZ-==", "dGhlIHNhbXBsZSBub25j ZQ==",
        "ZGhlIHNhbXBsZSBub25jZWE=" /* 17 bytes */})
    CHECK_MESSAGE(!is_valid_key(bad), bad);
}

TEST_CASE("generate_key: valid, decodes to 16 bytes, and differs each time") {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    const std::string k = generate_key();
    CHECK(is_valid_key(k));
    std::string raw;
    CHECK(base64_decode(k, raw));
    CHECK(raw.size() == 16);
    seen.insert(k);
  }
  CHECK(seen.size() == 50);
}

TEST_CASE("Sec-WebSocket-Protocol: token lists") {
  std::vector<std::string_view> out;
  CHECK(!parse_protocols("chat", out));
  CHECK(out == std::vector<std::string_view>{"chat"});
  CHECK(!parse_protocols("chat, superchat,v2.json", out));
  CHECK(out == std::vector<std::string_view>{"chat", "superchat", "v2.json"});
  CHECK(!parse_protocols(" \tchat ,\t, superchat , ", out));  // whitespace, empty elements
  CHECK(out == std::vector<std::string_view>{"chat", "superchat"});
  for (const char* bad : {"", " ", ",", "chat superchat", "chat;x", "chat, chat", "ch\"at",
                          "chat,\x01", "chat/1", "ĉat"})
    CHECK_MESSAGE(parse_protocols(bad, out) == errc::invalid_protocol_header, bad);
  const std::string_view list[] = {"a", "b.c"};
  CHECK(format_protocols(list) == "a, b.c");
}

TEST_CASE("Sec-WebSocket-Extensions: offers with parameters and quoted values") {
  std::error_code ec;
  auto e = parse(
      "permessage-deflate; client_max_window_bits; server_max_window_bits=10, "
      "permessage-deflate ;client_max_window_bits = \"12\" , x-foo",
      ec);
  REQUIRE(!ec);
  REQUIRE(e.size() == 3);
  CHECK(e[0].name == "permessage-deflate");
  REQUIRE(e[0].params.size() == 2);
  CHECK(e[0].params[0].name == "client_max_window_bits");
  CHECK(!e[0].params[0].has_value);
  CHECK(e[0].params[1].value == "10");
  CHECK(e[0].params[1].has_value);
  REQUIRE(e[1].params.size() == 1);
  CHECK(e[1].params[0].value == "12");  // unquoted
  CHECK(e[2].name == "x-foo");
  CHECK(e[2].params.empty());
  CHECK(e[0].find("SERVER_MAX_WINDOW_BITS") == &e[0].params[1]);
  CHECK(e[0].find("nope") == nullptr);
  // a quoted-pair that unescapes to a token
  e = parse("foo; bar=\"b\\az\"", ec);
  REQUIRE(!ec);
  CHECK(e[0].params[0].value == "baz");
  // empty list elements are skipped
  e = parse(", foo ,, bar,", ec);
  REQUIRE(!ec);
  CHECK(e.size() == 2);
}

TEST_CASE("Sec-WebSocket-Extensions: malformed values are refused") {
  for (const char* bad : {"",
                          " ",
                          ",",
                          ";",
                          "foo;",
                          "foo; ;x",
                          "foo; =1",
                          "foo; x=",
                          "foo; x==1",
                          "foo bar",
                          "foo; x=1 2",
                          "foo; x=\"\"",
                          "foo; x=\"a b\"",
                          "foo; x=\"abc",
                          "foo; x=\"a,b\"",
                          "foo; x=\"\x01\"",
                          "foo, ;x",
                          "fo\"o",
                          "foo; x=\"a\"b",
                          "foo; x=(1)",
                          "foo;x=1;",
                          "foo\x7f"}) {
    std::error_code ec;
    std::vector<extension> out{extension{"kept"}};
    ec = parse_extensions(bad, out);
    CHECK_MESSAGE(ec == errc::invalid_extensions_header, bad);
    CHECK(out.size() == 1);  // nothing of a refused value is left behind
  }
}

TEST_CASE("format_extensions writes what parse_extensions reads") {
  std::vector<extension> e;
  e.push_back({"permessage-deflate",
               {{"server_no_context_takeover"}, {"client_max_window_bits", "10", true}}});
  e.push_back({"x-y"});
  const std::string s = format_extensions(e);
  CHECK(s == "permessage-deflate; server_no_context_takeover; client_max_window_bits=10, x-y");
  std::error_code ec;
  const auto back = parse(s, ec);
  REQUIRE(!ec);
  CHECK(format_extensions(back) == s);
}
