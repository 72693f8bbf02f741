// tests/fuzz/fuzz_ws_receiver.cpp: libFuzzer target: netco's WebSocket receiver on random
// bytes in random chunks, both roles, with and without permessage-deflate
//
// Input: one mode byte (bit 0: role, bit 1: deflate negotiated, bit 2: shared chunks, bit 3:
// round trip, bits 4-7: split seed), then the rest.
//  - raw: the rest is the peer's byte stream. Fed whole and in random splits, the event
//    transcripts must agree; every text message and close reason is valid UTF-8, no message
//    passes max_payload, no control payload passes 125 bytes, nothing follows close or error.
//  - round trip: the rest is a recipe of messages (kind, size, fragments, bytes) that the
//    peer's sender frames (compressing with deflate); the receiver must give back exactly them.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "netco/ws/codec.hpp"

namespace {

using namespace netco::ws;
using netco::buffer;

constexpr std::size_t max_payload = 64 * 1024;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "WS RECEIVER: %s\n", what);
  std::abort();
}

// The transcript printable: bytes outside 0x20-0x7e as \\xNN.
std::string escape(std::string_view s) {
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && u != '\\') {
      out += c;
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", u);
      out += hex;
    }
  }
  return out;
}

struct transcript final : receiver_handler {
  std::string log;
  bool ended = false;
  void entry(char kind, std::string_view data, unsigned extra) {
    if (ended) fail("an event after close or error");
    log += kind;
    log += std::to_string(extra);
    log += ':';
    log += std::to_string(data.size());
    log += ':';
    log += data;
  }
  void on_message(buffer data, bool binary) override {
    if (data.size() > max_payload) fail("a message over max_payload");
    if (!binary && !is_valid_utf8(data.bytes())) fail("an invalid text message");
    entry('m', data.view(), binary);
  }
  void on_ping(buffer p) override {
    if (p.size() > 125) fail("a ping over 125 bytes");
    entry('i', p.view(), 0);
  }
  void on_pong(buffer p) override {
    if (p.size() > 125) fail("a pong over 125 bytes");
    entry('o', p.view(), 0);
  }
  void on_close(std::uint16_t code, buffer reason) override {
    if (code != 1005 && !is_valid_close_code(code)) fail("an invalid close code");
    if (!is_valid_utf8(reason.bytes())) fail("an invalid close reason");
    entry('c', reason.view(), code);
    ended = true;
  }
  void on_error(std::error_code ec, std::uint16_t code) override {
    if (code != close_code(static_cast<errc>(ec.value()))) fail("a close code off its errc");
    entry('e', {}, static_cast<unsigned>(ec.value()));
    ended = true;
  }
};

std::string run(role r, bool deflate, std::string_view stream, std::mt19937* split, bool shared) {
  transcript t;
  receiver rx(t, {.role = r, .max_payload = max_payload, .max_fragments = 64});
  if (deflate) rx.enable_deflate({});
  std::vector<buffer> kept;
  std::size_t at = 0;
  while (at < stream.size()) {
    std::size_t n = stream.size() - at;
    if (split) n = std::min<std::size_t>(n, 1 + (*split)() % 40);
    buffer b = buffer::from(stream.substr(at, n));
    if (shared) kept.push_back(b);
    rx.feed(std::move(b));
    at += n;
  }
  return t.log;
}

void raw(role r, bool deflate, bool shared, unsigned seed, std::string_view stream) {
  const std::string whole = run(r, deflate, stream, nullptr, false);
  std::mt19937 rng(seed);
  const std::string split = run(r, deflate, stream, &rng, shared);
  if (split != whole) {
    std::fprintf(stderr, "whole: %s\nsplit: %s\n", escape(whole).c_str(), escape(split).c_str());
    fail("split and whole transcripts differ");
  }
}

void round_trip(role r, bool deflate, std::string_view recipe) {
  const role peer = r == role::server ? role::client : role::server;
  sender tx(peer);
  deflate_options o;
  o.threshold = 0;
  if (deflate) tx.enable_deflate({}, o);
  std::string stream, expect;
  std::size_t i = 0;
  auto next = [&]() -> unsigned {
    return i < recipe.size() ? static_cast<unsigned char>(recipe[i++]) : 0;
  };
  while (i < recipe.size()) {
    const unsigned kind = next();
    const std::size_t size = next() * (kind & 0x80 ? 64 : 1);
    std::string m;
    for (std::size_t k = 0; k < size; ++k)
      m += static_cast<char>(kind & 1 ? next() : 'a' + (next() % 26));
    const bool binary = kind & 1;
    const std::size_t parts = 1 + (kind >> 1) % 4;
    outgoing_frame f;
    for (std::size_t p = 0; p < parts; ++p) {
      const std::size_t from = m.size() * p / parts, to = m.size() * (p + 1) / parts;
      tx.message(buffer::from(std::string_view(m).substr(from, to - from)), binary, p + 1 == parts,
                 f);
      stream.append(reinterpret_cast<const char*>(f.header.bytes().data()), f.header.size());
      stream += f.payload.view();
    }
    expect += 'm';
    expect += std::to_string(binary);
    expect += ':' + std::to_string(m.size()) + ':' + m;
  }
  transcript t;
  receiver rx(t, {.role = r, .max_payload = 0, .max_fragments = 0});
  if (deflate) rx.enable_deflate({});
  rx.feed(buffer::from(stream));
  if (t.log != expect) fail("a round trip came back different");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const unsigned mode = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const role r = mode & 1 ? role::client : role::server;
  const bool deflate = (mode & 2) != 0 && deflate_supported;
  if (mode & 8)
    round_trip(r, deflate, rest);
  else
    raw(r, deflate, (mode & 4) != 0, mode >> 4, rest);
  return 0;
}
