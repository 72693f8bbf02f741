// tests/test_ws_codec_alloc.cpp: no allocation per message on the WebSocket echo path in steady
// state (receiver and sender, both roles), counted by a global operator new
#include "netco/ws/codec.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "counting_allocator.hpp"

using namespace netco::ws;
using netco::buffer;

namespace {

// Echoes each message straight into a sender, as a server or client loop would.
struct echo final : receiver_handler {
  sender& tx;
  outgoing_frame out;
  std::size_t messages = 0, bytes = 0;
  explicit echo(sender& s) : tx(s) {}
  void on_message(buffer data, bool binary) override {
    ++messages;
    tx.message(std::move(data), binary, true, out);
    bytes += out.size();
    out.payload = {};  // the write completed: the frame's buffer is let go
  }
  void on_ping(buffer) override {}
  void on_pong(buffer) override {}
  void on_close(std::uint16_t, buffer) override {}
  void on_error(std::error_code, std::uint16_t) override { FAIL("unexpected error"); }
};

// What a peer of r sends: one frame, or the message in three fragments.
std::string frames_for(role r, const std::string& payload, bool fragmented) {
  std::string out;
  auto add = [&](std::uint8_t op, std::string_view p, bool fin) {
    frame_header h;
    h.fin = fin;
    h.opcode = op;
    h.masked = r == role::server;
    h.mask_key = 0x11223344u;
    h.payload_length = p.size();
    std::array<std::byte, max_header_size> hb{};
    out.append(reinterpret_cast<const char*>(hb.data()), encode_header(h, hb));
    std::string body(p);
    if (h.masked)
      apply_mask(std::as_writable_bytes(std::span(body.data(), body.size())), h.mask_key);
    out += body;
  };
  if (!fragmented) {
    add(1, payload, true);
  } else {
    const std::size_t third = payload.size() / 3;
    add(1, std::string_view(payload).substr(0, third), false);
    add(0, std::string_view(payload).substr(third, third), false);
    add(0, std::string_view(payload).substr(2 * third), true);
  }
  return out;
}

// Runs `rounds` messages through receiver and sender; returns the allocations of the second
// half (the first half warms the buffers up). shared: the caller keeps every chunk, as a
// socket layer that also emits "data" would, so nothing can be unmasked in place.
long count(role r, std::size_t size, bool fragmented, bool shared, bool split) {
  const std::string wire = frames_for(r, std::string(size, 'e'), fragmented);
  constexpr int rounds = 200;
  std::vector<buffer> chunks;
  for (int i = 0; i < rounds; ++i) {
    if (split) {
      chunks.push_back(buffer::from(std::string_view(wire).substr(0, wire.size() / 2)));
      chunks.push_back(buffer::from(std::string_view(wire).substr(wire.size() / 2)));
    } else {
      chunks.push_back(buffer::from(wire));
    }
  }
  sender tx(r);
  echo e(tx);
  receiver rx(e, {.role = r});
  long before = 0;
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    if (i == chunks.size() / 2) before = netco_test::allocations.load();
    if (shared)
      rx.feed(chunks[i]);
    else
      rx.feed(std::move(chunks[i]));
  }
  const long n = netco_test::allocations.load() - before;
  CHECK(e.messages == rounds);
  return n;
}

}  // namespace

TEST_CASE("echo path: no allocation per message in steady state") {
  for (role r : {role::server, role::client}) {
    for (std::size_t size : {16u, 512u, 16384u, 60000u}) {
      for (bool fragmented : {false, true}) {
        for (bool shared : {false, true}) {
          for (bool split : {false, true}) {
            CAPTURE(int(r));
            CAPTURE(size);
            CAPTURE(fragmented);
            CAPTURE(shared);
            CAPTURE(split);
            CHECK(count(r, size, fragmented, shared, split) == 0);
          }
        }
      }
    }
  }
}

TEST_CASE("the zero-copy path allocates nothing even on the first message") {
  const std::string wire = frames_for(role::server, "hello", false);
  buffer chunk = buffer::from(wire);
  sender tx(role::server);
  echo e(tx);
  receiver rx(e, {.role = role::server});
  const long before = netco_test::allocations.load();
  rx.feed(std::move(chunk));
  CHECK(netco_test::allocations.load() - before == 0);
  CHECK(e.messages == 1);
}
