// tests/fuzz/fuzz_tls_server.cpp: libFuzzer target: tls::engine on hostile ciphertext, in
// random splits, server and client side, never crashing, leaking or breaking its contract
//
// Input: one mode byte (bits 0-1: the mode; bit 2: the server asks for a client certificate;
// bits 3-7: split seed), then the rest.
//  0 raw: the bytes, as they come, to a fresh server engine.
//  1 ClientHello: a real ClientHello (SNI, ALPN, a session ticket) with the input applied to it
//    as (offset, byte) edits, to a fresh server engine: deep into the extension parsers.
//  2 client: the bytes to a client engine that sent its ClientHello (as if from the server).
//  3 round trip: a real handshake, then the input as plaintext both ways in random writes over
//    random ciphertext cuts, closed with close_notify: what is read must be what was written.
// The contract checked throughout: a failure carries an error with a message, and stays
// failed; no data before the handshake; after EOF every read ends (closed, truncated, failed).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "netco/tls/engine.hpp"
#include "netco/tls/self_signed.hpp"

namespace {

using netco::buffer;
using netco::tls::engine;
using netco::tls::handshake_status;
using netco::tls::read_status;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "TLS FUZZ: %s\n", what);
  std::abort();
}

struct fixtures {
  netco::tls::key_and_cert ca =
      netco::tls::generate_self_signed({.names = {}, .common_name = "fuzz CA", .is_ca = true});
  netco::tls::key_and_cert leaf =
      netco::tls::generate_self_signed({.issuer_key = ca.key, .issuer_cert = ca.cert});
  netco::tls::secure_context server{{.key = leaf.key,
                                     .cert = leaf.cert,
                                     .alpn_protocols = {"h2", "http/1.1"},
                                     .sni_callback = [this](std::string_view name) {
                                       return name == "other.example"
                                                  ? mtls
                                                  : netco::tls::secure_context();
                                     }}};
  netco::tls::secure_context mtls{
      {.key = leaf.key, .cert = leaf.cert, .ca = {ca.cert}, .request_cert = true}};
  netco::tls::secure_context client{{.ca = {ca.cert}}};
  std::string client_hello;  // a real one, with a ticket to resume

  fixtures() {
    engine c = engine::client(client, {.alpn_protocols = {"h2", "http/1.1"}});
    engine s = engine::server(server);
    buffer session;
    c.on_session([&](buffer b) { session = b; });
    for (int i = 0; i < 10 && !(c.handshake_done() && s.handshake_done()); ++i) {
      c.handshake_step();
      move(c, s);
      s.handshake_step();
      move(s, c);
    }
    std::byte sink[64];
    c.read(sink);  // the tickets
    engine again = engine::client(client, {.session = session, .alpn_protocols = {"h2"}});
    again.handshake_step();
    std::vector<buffer> out;
    again.take_output(out);
    for (const buffer& b : out) client_hello += b.view();
  }
  static void move(engine& from, engine& to) {
    std::vector<buffer> out;
    from.take_output(out);
    for (buffer& b : out) to.feed(std::move(b));
  }
};

const fixtures& get() {
  static const fixtures f;
  return f;
}

/// A small deterministic generator for split sizes.
struct splitter {
  std::uint32_t state;
  std::size_t next(std::size_t max) {
    state = state * 1103515245u + 12345u;
    return 1 + (state >> 8) % (max ? max : 1);
  }
};

void check_failure(const netco::tls::handshake_result& r, engine& e) {
  if (r.status != handshake_status::failed) return;
  if (!r.error) fail("a failed handshake without an error");
  if (r.error.message().empty()) fail("an error without a message");
  auto again = e.handshake_step();
  if (again.status != handshake_status::failed || again.error != r.error)
    fail("a failed engine did not stay failed");
}

// Steps e after new input: the handshake, then reads; discards what it would send.
void step(engine& e, bool& failed) {
  if (failed) return;
  auto r = e.handshake_step();
  check_failure(r, e);
  std::vector<buffer> out;
  e.take_output(out);
  if (r.status == handshake_status::failed) {
    failed = true;
    std::byte b[8];
    if (e.read(b).status == read_status::data) fail("data from a failed engine");
    return;
  }
  if (r.status != handshake_status::done) {
    std::byte b[8];
    auto rr = e.read(b);
    if (rr.status == read_status::data) fail("data before the handshake");
    return;
  }
  std::byte buf[4096];
  for (int i = 0; i < 64; ++i) {
    auto rr = e.read(buf);
    if (rr.status == read_status::data) continue;
    if (rr.status == read_status::failed || rr.status == read_status::truncated) {
      if (!rr.error) fail("a failed read without an error");
      failed = true;
    }
    break;
  }
  e.take_output(out);
}

void hostile(engine e, std::string_view data, splitter& cut) {
  bool failed = false;
  step(e, failed);
  std::size_t at = 0;
  while (at < data.size() && !failed) {
    std::size_t n = std::min(data.size() - at, cut.next(700));
    e.feed(buffer::from(data.substr(at, n)));
    at += n;
    step(e, failed);
  }
  e.feed_eof();
  step(e, failed);
  if (e.handshake_done()) {
    std::byte b[64];
    auto r = e.read(b);
    for (int i = 0; i < 64 && r.status == read_status::data; ++i) r = e.read(b);
    if (r.status == read_status::want_read && e.pending_input() == 0)
      fail("a read after EOF that waits for more");
  }
}

void round_trip(std::string_view data, splitter& cut, bool tls12) {
  const fixtures& f = get();
  netco::tls::secure_context cctx =
      tls12 ? netco::tls::secure_context({.ca = {f.ca.cert}, .max_version = "TLSv1.2"}) : f.client;
  engine c = engine::client(cctx);
  engine s = engine::server(f.server);
  auto carry = [&](engine& from, engine& to) {
    std::vector<buffer> out;
    from.take_output(out);
    for (const buffer& b : out) {
      std::size_t at = 0;
      while (at < b.size()) {
        std::size_t n = std::min(b.size() - at, cut.next(3000));
        to.feed(b.slice(at, at + n));
        at += n;
      }
    }
  };
  for (int i = 0; i < 4000 && !(c.handshake_done() && s.handshake_done()); ++i) {
    c.handshake_step();
    carry(c, s);
    s.handshake_step();
    carry(s, c);
  }
  if (!c.handshake_done() || !s.handshake_done()) fail("no handshake between our own engines");
  std::string got_s, got_c;
  auto drain = [](engine& e, std::string& into) {
    std::byte buf[16384];
    for (;;) {
      auto r = e.read(buf);
      if (r.status != read_status::data) return r;
      into.append(reinterpret_cast<const char*>(buf), r.size);
    }
  };
  std::size_t at = 0;
  while (at < data.size()) {
    std::size_t n = std::min(data.size() - at, cut.next(5000));
    if (c.write(data.substr(at, n)).size != n) fail("client write");
    if (s.write(data.substr(at, n)).size != n) fail("server write");
    at += n;
    carry(c, s);
    carry(s, c);
    drain(s, got_s);
    drain(c, got_c);
  }
  c.close_notify();
  s.close_notify();
  for (int i = 0;
       i < 200 && (c.has_output() || s.has_output() || c.pending_input() || s.pending_input());
       ++i) {
    carry(c, s);
    carry(s, c);
    drain(s, got_s);
    drain(c, got_c);
  }
  if (drain(s, got_s).status != read_status::closed) fail("server: no clean close");
  if (drain(c, got_c).status != read_status::closed) fail("client: no clean close");
  if (got_s != data || got_c != data) fail("the plaintext changed on the way");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size == 0) return 0;
  const fixtures& f = get();
  unsigned mode = bytes[0] & 3u;
  bool mtls = (bytes[0] & 4u) != 0;
  splitter cut{static_cast<std::uint32_t>(bytes[0] >> 3)};
  std::string_view data(reinterpret_cast<const char*>(bytes + 1), size - 1);
  const netco::tls::secure_context& sctx = mtls ? f.mtls : f.server;
  switch (mode) {
    case 0:
      hostile(engine::server(sctx), data, cut);
      break;
    case 1: {
      std::string hello = f.client_hello;
      for (std::size_t i = 0; i + 1 < data.size(); i += 3) {
        std::size_t offset =
            (static_cast<unsigned char>(data[i]) << 8 | static_cast<unsigned char>(data[i + 1])) %
            (hello.size() + 1);
        char value = i + 2 < data.size() ? data[i + 2] : '\0';
        if (offset == hello.size())
          hello += value;  // a byte more
        else
          hello[offset] = value;
      }
      hostile(engine::server(sctx), hello, cut);
      break;
    }
    case 2: {
      engine c = engine::client(f.client, {.alpn_protocols = {"h2"}});
      hostile(std::move(c), data, cut);
      break;
    }
    default:
      round_trip(data, cut, mtls);
      break;
  }
  return 0;
}
