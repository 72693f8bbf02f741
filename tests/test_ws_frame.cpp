// tests/test_ws_frame.cpp: frame headers (RFC 6455 §5.2, the §5.7 examples), incremental
// decoding at every split, masking at every offset
#include "netco/ws/frame.hpp"

#include <doctest/doctest.h>

#include <cstring>
#include <ostream>  // doctest prints error_codes
#include <random>
#include <string>
#include <vector>

using netco::ws::frame_header;
using netco::ws::header_decoder;

namespace {

std::vector<std::byte> bytes(std::initializer_list<int> v) {
  std::vector<std::byte> out;
  for (int b : v) out.push_back(static_cast<std::byte>(b));
  return out;
}

std::uint32_t key_of(int a, int b, int c, int d) {
  const std::byte k[4] = {std::byte(a), std::byte(b), std::byte(c), std::byte(d)};
  std::uint32_t key;
  std::memcpy(&key, k, 4);
  return key;
}

std::vector<std::byte> encode(const frame_header& h) {
  std::array<std::byte, netco::ws::max_header_size> out{};
  const std::size_t n = netco::ws::encode_header(h, out);
  return {out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n)};
}

}  // namespace

TEST_CASE("RFC 6455 5.7: an unmasked text 'Hello'") {
  frame_header h;
  h.opcode = 1;
  h.payload_length = 5;
  CHECK(encode(h) == bytes({0x81, 0x05}));
  const auto wire = bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});
  frame_header d;
  std::error_code ec;
  CHECK(netco::ws::decode_header(wire, d, ec) == 2);
  CHECK(!ec);
  CHECK(d.fin);
  CHECK(d.opcode == 1);
  CHECK(!d.masked);
  CHECK(d.payload_length == 5);
}

TEST_CASE("RFC 6455 5.7: a masked text 'Hello' unmasks to Hello") {
  auto wire = bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
  frame_header d;
  std::error_code ec;
  REQUIRE(netco::ws::decode_header(wire, d, ec) == 6);
  CHECK(d.masked);
  CHECK(d.mask_key == key_of(0x37, 0xfa, 0x21, 0x3d));
  netco::ws::apply_mask(std::span(wire).subspan(6), d.mask_key);
  CHECK(std::string(reinterpret_cast<const char*>(wire.data() + 6), 5) == "Hello");
  // and encodes back
  frame_header h;
  h.opcode = 1;
  h.masked = true;
  h.mask_key = key_of(0x37, 0xfa, 0x21, 0x3d);
  h.payload_length = 5;
  CHECK(encode(h) == bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d}));
}

TEST_CASE("RFC 6455 5.7: a fragmented text, ping and pong headers") {
  frame_header first;
  first.fin = false;
  first.opcode = 1;
  first.payload_length = 3;
  CHECK(encode(first) == bytes({0x01, 0x03}));
  frame_header last;
  last.opcode = 0;
  last.payload_length = 2;
  CHECK(encode(last) == bytes({0x80, 0x02}));
  frame_header ping;
  ping.opcode = 9;
  ping.payload_length = 5;
  CHECK(encode(ping) == bytes({0x89, 0x05}));
  frame_header pong = ping;
  pong.opcode = 0xA;
  pong.masked = true;
  pong.mask_key = key_of(0x37, 0xfa, 0x21, 0x3d);
  CHECK(encode(pong) == bytes({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d}));
}

TEST_CASE("RFC 6455 5.7: 256 bytes and 64 KiB binary lengths") {
  frame_header h;
  h.opcode = 2;
  h.payload_length = 256;
  CHECK(encode(h) == bytes({0x82, 0x7e, 0x01, 0x00}));
  h.payload_length = 65536;
  CHECK(encode(h) == bytes({0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}));
}

TEST_CASE("length boundaries: 125, 126, 65535, 65536, and 2^63-1 round trip") {
  for (std::uint64_t len :
       {0ull, 1ull, 125ull, 126ull, 127ull, 65535ull, 65536ull, 0x7fffffffffffffffull}) {
    for (bool masked : {false, true}) {
      frame_header h;
      h.opcode = 2;
      h.payload_length = len;
      h.masked = masked;
      h.mask_key = key_of(1, 2, 3, 4);
      const auto wire = encode(h);
      CHECK(wire.size() == netco::ws::header_size(h));
      frame_header d;
      std::error_code ec;
      CHECK(netco::ws::decode_header(wire, d, ec) == wire.size());
      CHECK(d.payload_length == len);
      CHECK(d.masked == masked);
      // one byte short is "need more"
      CHECK(netco::ws::decode_header(std::span(wire).first(wire.size() - 1), d, ec) == 0);
      CHECK(!ec);
    }
  }
}

TEST_CASE("non-minimal length forms are accepted; a 64-bit length with its top bit is not") {
  frame_header d;
  std::error_code ec;
  CHECK(netco::ws::decode_header(bytes({0x82, 0x7e, 0x00, 0x05}), d, ec) == 4);
  CHECK(d.payload_length == 5);
  CHECK(netco::ws::decode_header(bytes({0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0, 5}), d, ec) == 10);
  CHECK(d.payload_length == 5);
  CHECK(netco::ws::decode_header(bytes({0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0}), d, ec) == 0);
  CHECK(ec == netco::ws::errc::unsupported_data_payload_length);
}

TEST_CASE("flags: FIN, RSV1-3 and the raw opcode survive a round trip") {
  for (int bits = 0; bits < 256; ++bits) {
    frame_header h;
    h.fin = bits & 1;
    h.rsv1 = bits & 2;
    h.rsv2 = bits & 4;
    h.rsv3 = bits & 8;
    h.opcode = static_cast<std::uint8_t>(bits >> 4);
    const auto wire = encode(h);
    frame_header d;
    std::error_code ec;
    REQUIRE(netco::ws::decode_header(wire, d, ec) == 2);
    CHECK(d.fin == h.fin);
    CHECK(d.rsv1 == h.rsv1);
    CHECK(d.rsv2 == h.rsv2);
    CHECK(d.rsv3 == h.rsv3);
    CHECK(d.opcode == h.opcode);
  }
}

TEST_CASE("header_decoder: a header split at every byte, and byte by byte") {
  for (std::uint64_t len : {5ull, 300ull, 70000ull}) {
    frame_header h;
    h.opcode = 2;
    h.masked = true;
    h.mask_key = key_of(9, 8, 7, 6);
    h.payload_length = len;
    auto wire = encode(h);
    wire.push_back(std::byte{0x42});  // the first payload byte: never taken
    for (std::size_t split = 0; split <= wire.size(); ++split) {
      header_decoder dec;
      std::error_code ec;
      std::size_t taken = dec.feed(std::span(wire).first(split), ec);
      taken += dec.feed(std::span(wire).subspan(taken), ec);
      CHECK(!ec);
      REQUIRE(dec.done());
      CHECK(taken == wire.size() - 1);
      CHECK(dec.header().payload_length == len);
      CHECK(dec.header().mask_key == h.mask_key);
    }
    header_decoder dec;
    std::size_t taken = 0;
    std::error_code ec;
    for (std::size_t i = 0; i + 1 < wire.size(); ++i) {
      CHECK(!dec.done());
      taken += dec.feed(std::span(wire).subspan(i, 1), ec);
    }
    CHECK(dec.done());
    CHECK(taken == wire.size() - 1);
    CHECK(dec.feed(std::span(wire).subspan(taken), ec) == 0);  // done: takes nothing more
    dec.reset();
    CHECK(!dec.done());
  }
}

TEST_CASE("header_decoder: the invalid 64-bit length is refused when it completes") {
  const auto wire = bytes({0x82, 0x7f, 0xff, 0, 0, 0, 0, 0, 0, 1});
  header_decoder dec;
  std::error_code ec;
  dec.feed(std::span(wire).first(3), ec);
  CHECK(!ec);
  CHECK(dec.feed(std::span(wire).subspan(3), ec) == 0);
  CHECK(ec == netco::ws::errc::unsupported_data_payload_length);
  CHECK(!dec.done());
}

TEST_CASE("masking: word-at-a-time equals byte-by-byte at every offset and length") {
  std::mt19937 rng(7);
  std::vector<std::byte> data(300);
  for (auto& b : data) b = static_cast<std::byte>(rng());
  const std::uint32_t key = key_of(0xa1, 0xb2, 0xc3, 0xd4);
  const std::byte kb[4] = {std::byte{0xa1}, std::byte{0xb2}, std::byte{0xc3}, std::byte{0xd4}};
  for (std::size_t offset = 0; offset < 9; ++offset) {
    for (std::size_t len = 0; len < 100; ++len) {
      std::vector<std::byte> expect(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(len));
      for (std::size_t i = 0; i < len; ++i) expect[i] ^= kb[(offset + i) % 4];
      std::vector<std::byte> got(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(len));
      netco::ws::apply_mask(got, key, offset);
      CHECK(got == expect);
      std::vector<std::byte> copy(len);
      netco::ws::apply_mask_copy(copy.data(), std::span(data).first(len), key, offset);
      CHECK(copy == expect);
    }
  }
}

TEST_CASE("masking a payload in pieces (a frame split across reads) equals masking it whole") {
  std::vector<std::byte> data(1000);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i * 7);
  const std::uint32_t key = key_of(1, 22, 133, 244);
  auto whole = data;
  netco::ws::apply_mask(whole, key);
  std::mt19937 rng(3);
  for (int round = 0; round < 50; ++round) {
    auto pieces = data;
    std::size_t at = 0;
    while (at < pieces.size()) {
      const std::size_t n = std::min<std::size_t>(pieces.size() - at, 1 + rng() % 61);
      netco::ws::apply_mask(std::span(pieces).subspan(at, n), key, at);
      at += n;
    }
    CHECK(pieces == whole);
  }
  netco::ws::apply_mask(whole, key);
  CHECK(whole == data);  // masking is its own inverse
}

TEST_CASE("frame_header_buffer holds the encoded header for a gathered write") {
  frame_header h;
  h.opcode = 2;
  h.payload_length = 70000;
  h.masked = true;
  netco::ws::frame_header_buffer b(h);
  CHECK(b.size() == 14);
  CHECK(std::vector<std::byte>(b.bytes().begin(), b.bytes().end()) == encode(h));
}

TEST_CASE("mask keys vary from frame to frame") {
  std::uint32_t a = netco::ws::make_mask_key();
  int same = 0;
  for (int i = 0; i < 100; ++i) {
    const std::uint32_t b = netco::ws::make_mask_key();
    same += a == b;
    a = b;
  }
  CHECK(same < 3);
}
