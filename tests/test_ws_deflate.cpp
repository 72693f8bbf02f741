// tests/test_ws_deflate.cpp: permessage-deflate: negotiation in both roles, round trips for every
// parameter combination, deflate bombs, the 8-bit window refusal, memory per connection
#include "netco/ws/deflate.hpp"

#include <doctest/doctest.h>

#include <ostream>  // doctest prints error_codes
#include <random>
#include <string>
#include <vector>

using namespace netco::ws;
using netco::detail::ws_growable_buffer;

namespace {

std::vector<extension> offers(std::string_view header) {
  std::vector<extension> out;
  REQUIRE(!parse_extensions(header, out));
  return out;
}

std::optional<deflate_agreement> negotiate(std::string_view header, const deflate_options& o = {}) {
  return negotiate_deflate(offers(header), o);
}

std::error_code answer(std::string_view header, const deflate_options& o,
                       std::optional<deflate_params>& out) {
  return accept_deflate_response(offers(header), o, out);
}

}  // namespace

#if defined(NETCO_HAS_ZLIB)

namespace {

std::span<const std::byte> as_bytes(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

std::string text(ws_growable_buffer& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

}  // namespace

TEST_CASE("server: the default offer of a browser or ws is accepted as is") {
  auto a = negotiate("permessage-deflate; client_max_window_bits");
  REQUIRE(a);
  CHECK(a->response == "permessage-deflate");
  CHECK(!a->params.server_no_context_takeover);
  CHECK(!a->params.client_no_context_takeover);
  CHECK(a->params.server_max_window_bits == 15);
  CHECK(a->params.client_max_window_bits == 15);
  CHECK(negotiate("permessage-deflate")->response == "permessage-deflate");
  CHECK(negotiate("PerMessage-Deflate")->response == "permessage-deflate");
}

TEST_CASE("server: the client's requests are granted and answered") {
  auto a = negotiate("permessage-deflate; server_no_context_takeover; client_no_context_takeover");
  REQUIRE(a);
  CHECK(a->response ==
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
  CHECK(a->params.server_no_context_takeover);
  CHECK(a->params.client_no_context_takeover);
  a = negotiate("permessage-deflate; server_max_window_bits=10; client_max_window_bits=12");
  REQUIRE(a);
  CHECK(a->response == "permessage-deflate; server_max_window_bits=10; client_max_window_bits=12");
  CHECK(a->params.server_max_window_bits == 10);
  CHECK(a->params.client_max_window_bits == 12);
}

TEST_CASE("server: its own options are added") {
  deflate_options o;
  o.server_no_context_takeover = true;
  o.client_no_context_takeover = true;
  o.server_max_window_bits = 12;
  o.client_max_window_bits = 11;
  auto a = negotiate("permessage-deflate; client_max_window_bits", o);
  REQUIRE(a);
  CHECK(a->response ==
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
        "client_max_window_bits=11");
  CHECK(a->params.server_max_window_bits == 12);  // used, not announced: it needs no consent
  CHECK(a->params.client_max_window_bits == 11);
  // the smaller of both limits
  a = negotiate("permessage-deflate; server_max_window_bits=14; client_max_window_bits=9", o);
  REQUIRE(a);
  CHECK(a->params.server_max_window_bits == 12);
  CHECK(a->params.client_max_window_bits == 9);
  CHECK(a->response.find("server_max_window_bits=12") != std::string::npos);
  // a client that cannot be limited is declined when the server wants a limit
  CHECK(!negotiate("permessage-deflate", o));
}

TEST_CASE("server: an offer forcing an 8-bit compressor window is declined; the next is taken") {
  CHECK(!negotiate("permessage-deflate; server_max_window_bits=8"));
  auto a = negotiate("permessage-deflate; server_max_window_bits=8, permessage-deflate");
  REQUIRE(a);
  CHECK(a->response == "permessage-deflate");
  // a client promising an 8-bit window is fine: only inflating happens with it
  a = negotiate("permessage-deflate; client_max_window_bits=8");
  REQUIRE(a);
  CHECK(a->params.client_max_window_bits == 8);
  // and an 8-bit option is refused outright
  deflate_options o;
  o.server_max_window_bits = 8;
  CHECK(!negotiate("permessage-deflate", o));
}

TEST_CASE("zlib itself refuses a raw 8-bit compressor window (the reason for the above)") {
  z_stream s{};
  CHECK(deflateInit2(&s, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -8, 8, Z_DEFAULT_STRATEGY) ==
        Z_STREAM_ERROR);
  z_stream i{};
  REQUIRE(inflateInit2(&i, -8) == Z_OK);
  inflateEnd(&i);
}

TEST_CASE("server: invalid offers are declined, others skipped") {
  for (const char* bad :
       {"permessage-deflate; foo", "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=010",
        "permessage-deflate; client_max_window_bits=+9",
        "permessage-deflate; client_max_window_bits=x",
        "permessage-deflate; client_max_window_bits; client_max_window_bits=9",
        "x-webkit-deflate-frame"})
    CHECK_MESSAGE(!negotiate(bad), bad);
  auto a =
      negotiate("x-foo, permessage-deflate; bogus, permessage-deflate; server_no_context_takeover");
  REQUIRE(a);
  CHECK(a->params.server_no_context_takeover);
}

TEST_CASE("client: the offer follows the options") {
  CHECK(deflate_offer({}) == "permessage-deflate; client_max_window_bits");
  deflate_options o;
  o.server_no_context_takeover = true;
  o.client_no_context_takeover = true;
  o.server_max_window_bits = 10;
  o.client_max_window_bits = 12;
  CHECK(deflate_offer(o) ==
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
        "server_max_window_bits=10; client_max_window_bits=12");
  o.client_max_window_bits = 8;
  CHECK(deflate_offer(o).empty());  // invalid options: no offer
}

TEST_CASE("client: the server's answer is checked against the offer") {
  std::optional<deflate_params> p;
  CHECK(!accept_deflate_response({}, {}, p));
  CHECK(!p);  // declined
  CHECK(!answer("permessage-deflate", {}, p));
  REQUIRE(p);
  CHECK(p->client_max_window_bits == 15);
  CHECK(
      !answer("permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
              "server_max_window_bits=11; client_max_window_bits=10",
              {}, p));
  REQUIRE(p);
  CHECK(p->server_no_context_takeover);
  CHECK(p->client_no_context_takeover);
  CHECK(p->server_max_window_bits == 11);
  CHECK(p->client_max_window_bits == 10);
  deflate_options o;
  o.server_no_context_takeover = true;
  o.server_max_window_bits = 10;
  o.client_max_window_bits = 12;
  CHECK(!answer("permessage-deflate; server_no_context_takeover; server_max_window_bits=9", o, p));
  CHECK(p->server_max_window_bits == 9);
  CHECK(p->client_max_window_bits == 12);
  const std::error_code refused = errc::unexpected_extension_response;
  for (const char* bad : {"x-foo", "permessage-deflate, permessage-deflate",
                          "permessage-deflate; foo", "permessage-deflate; client_max_window_bits",
                          "permessage-deflate; client_max_window_bits=8",
                          "permessage-deflate; server_max_window_bits=16"}) {
    CHECK_MESSAGE(answer(bad, {}, p) == refused, bad);
    CHECK(!p);
  }
  // requests the server did not grant, or limits it passed
  CHECK(answer("permessage-deflate; server_max_window_bits=10", o, p) == refused);   // no snct
  CHECK(answer("permessage-deflate; server_no_context_takeover", o, p) == refused);  // no smwb
  CHECK(answer("permessage-deflate; server_no_context_takeover; server_max_window_bits=11", o, p) ==
        refused);
  CHECK(answer("permessage-deflate; server_no_context_takeover; server_max_window_bits=10; "
               "client_max_window_bits=13",
               o, p) == refused);
}

namespace {

// Compresses messages one way with p's settings for that direction and inflates them back,
// in random pieces, checking every message.
void round_trip(bool no_takeover, std::uint8_t bits, int level, unsigned seed) {
  deflate_compressor c(bits, no_takeover, level);
  deflate_decompressor d(bits, no_takeover);
  std::mt19937 rng(seed);
  std::string previous = "the quick brown fox jumps over the lazy dog ";
  for (int m = 0; m < 12; ++m) {
    std::string msg;
    const std::size_t len = m == 0 ? 0 : (m == 5 ? 200000 : rng() % 3000);
    while (msg.size() < len)
      msg += (rng() % 3 == 0) ? previous : std::string(1, char('a' + rng() % 26));
    msg.resize(len);
    ws_growable_buffer wire;
    // a message sent as 1-3 fragments
    const std::size_t cut1 = len ? rng() % (len + 1) : 0, cut2 = cut1 + (len - cut1) / 2;
    const bool fragmented = rng() % 2;
    if (fragmented) {
      c.compress(as_bytes(std::string_view(msg).substr(0, cut1)), false, wire);
      c.compress(as_bytes(std::string_view(msg).substr(cut1, cut2 - cut1)), false, wire);
      c.compress(as_bytes(std::string_view(msg).substr(cut2)), true, wire);
    } else {
      c.compress(as_bytes(msg), true, wire);
    }
    CHECK(wire.size() > 0);
    ws_growable_buffer out;
    std::size_t at = 0;
    const std::string packed = text(wire);
    while (at < packed.size()) {
      const std::size_t n = std::min<std::size_t>(packed.size() - at, 1 + rng() % 700);
      REQUIRE(!d.decompress(as_bytes(std::string_view(packed).substr(at, n)), false, out, 0));
      at += n;
    }
    REQUIRE(!d.decompress({}, true, out, 0));
    REQUIRE(out.size() == msg.size());
    CHECK(text(out) == msg);
    previous = msg.substr(0, 64);
  }
}

}  // namespace

TEST_CASE("round trips: takeover or not, every window from 9 to 15, several levels") {
  unsigned seed = 1;
  for (bool no_takeover : {false, true})
    for (std::uint8_t bits = 9; bits <= 15; ++bits)
      for (int level : {-1, 1, 9}) {
        CAPTURE(no_takeover);
        CAPTURE(int(bits));
        CAPTURE(level);
        round_trip(no_takeover, bits, level, seed++);
      }
}

TEST_CASE("an empty message compresses to one byte, 00, and inflates to nothing") {
  deflate_compressor c(15, false);
  ws_growable_buffer wire;
  c.compress({}, true, wire);
  REQUIRE(wire.size() == 1);
  CHECK(wire.data()[0] == std::byte{0});
  wire.clear();
  c.compress({}, true, wire);  // again, right after a flush
  CHECK(wire.size() == 1);
  deflate_decompressor d(15, false);
  ws_growable_buffer out;
  CHECK(!d.decompress(std::span(wire.data(), wire.size()), true, out, 0));
  CHECK(out.size() == 0);
}

TEST_CASE("context takeover: a repeated message shrinks only when the window is kept") {
  const std::string msg(2000, 'x');
  std::string noise;
  std::mt19937 rng(9);
  for (int i = 0; i < 2000; ++i) noise += char(' ' + rng() % 90);
  for (bool no_takeover : {false, true}) {
    deflate_compressor c(15, no_takeover);
    ws_growable_buffer a, b;
    c.compress(as_bytes(noise), true, a);
    c.compress(as_bytes(noise), true, b);
    if (no_takeover)
      CHECK(b.size() == a.size());
    else
      CHECK(b.size() < a.size() / 4);
  }
}

TEST_CASE("a deflate bomb stops at the limit with message_too_big, memory bounded") {
  const std::string zeros(16 * 1024 * 1024, '\0');
  deflate_compressor c(15, true, 9);
  ws_growable_buffer wire;
  c.compress(as_bytes(zeros), true, wire);
  MESSAGE("16 MiB of zeros compress to ", wire.size(), " bytes");
  CHECK(wire.size() < 40000);
  const std::size_t limit = 1024 * 1024;
  deflate_decompressor d(15, true);
  ws_growable_buffer out;
  CHECK(d.decompress(std::span(wire.data(), wire.size()), true, out, limit) ==
        errc::message_too_big);
  CHECK(out.size() > limit);
  CHECK(out.capacity() <= limit + 1 + 16 * 1024);
  // exactly at the limit is allowed
  ws_growable_buffer small_wire, small_out;
  deflate_compressor c2(15, true);
  c2.compress(as_bytes(std::string_view(zeros).substr(0, 1000)), true, small_wire);
  deflate_decompressor d2(15, true);
  CHECK(!d2.decompress(std::span(small_wire.data(), small_wire.size()), true, small_out, 1000));
  CHECK(small_out.size() == 1000);
}

TEST_CASE("garbage is invalid_compressed_data") {
  deflate_decompressor d(15, false);
  ws_growable_buffer out;
  const std::string junk = "\xff\xff\xff\xff this is not deflate";
  CHECK(d.decompress(as_bytes(junk), true, out, 0) == errc::invalid_compressed_data);
}

TEST_CASE("streams are allocated lazily, and their memory is reported") {
  const std::string msg(4096, 'm');
  struct row {
    std::uint8_t bits;
    int mem_level;
  };
  for (row r : {row{15, 8}, row{12, 8}, row{9, 8}, row{15, 1}, row{9, 1}})
    for (bool no_takeover : {false, true}) {
      deflate_compressor c(r.bits, no_takeover, -1, r.mem_level);
      deflate_decompressor d(r.bits, no_takeover);
      CHECK(c.memory() == 0);
      CHECK(d.memory() == 0);
      ws_growable_buffer wire, out;
      c.compress(as_bytes(msg), true, wire);
      REQUIRE(!d.decompress(std::span(wire.data(), wire.size()), true, out, 0));
      CHECK(c.memory() > 0);
      CHECK(d.memory() > 0);
      // A reset keeps the stream: without context takeover the memory held is the same, until
      // release() (which the owner may call between messages to hold none while idle).
      MESSAGE("window ", int(r.bits), ", memLevel ", r.mem_level,
              std::string(no_takeover ? ", no context takeover" : ", context takeover"),
              ": compressor ", c.memory(), " B, decompressor ", d.memory(), " B");
      c.release();
      d.release();
      CHECK(c.memory() == 0);
      CHECK(d.memory() == 0);
    }
}

#else

TEST_CASE("without zlib, nothing is negotiated and nothing offered") {
  CHECK(!deflate_supported);
  CHECK(!negotiate("permessage-deflate"));
  CHECK(deflate_offer({}).empty());
  std::optional<deflate_params> p;
  CHECK(answer("permessage-deflate", {}, p) == errc::unexpected_extension_response);
  CHECK(!accept_deflate_response({}, {}, p));
}

#endif
