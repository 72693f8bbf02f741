// tests/test_ws_socket.cpp: ws::socket and ws::stream, netco client against netco server in
// one loop: echo, fragments, ping/pong, the close handshake both ways and its timeout,
// terminate, backpressure, max_payload, deflate, teardown with connections open
#include "netco/ws/socket.hpp"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "netco/spawn.hpp"
#include "netco/tcp.hpp"
#include "netco/timer.hpp"
#include "netco/ws/client.hpp"
#include "netco/ws/server.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
namespace ws = netco::ws;
namespace http = netco::http;
using netco::buffer;

namespace {

/// An echo server on its own port; every server-side socket lands in `accepted`.
struct echo_fixture {
  ws::server srv;
  std::vector<ws::socket> accepted;
  std::string url;

  echo_fixture() : echo_fixture(ws::server_options()) {}
  explicit echo_fixture(const ws::server_options& options) {
    ws::server_options o = options;
    o.port = 0;
    srv = ws::create_server(o, [this](const ws::socket& s, const http::incoming_message&) {
      accepted.push_back(s);
      s.on("message", [s](const buffer& d, bool binary) { s.send(d, {.binary = binary}); });
    });
    url = "ws://127.0.0.1:" + std::to_string(srv.address().port) + "/";
  }
};

/// A raw TCP client that completes the opening handshake by hand and then does nothing.
/// What came after the 101's head goes to `rest`.
netco::task<netco::tcp::stream> raw_upgrade(std::uint16_t port, std::string* rest = nullptr) {
  netco::tcp::stream s = co_await netco::tcp::connect("127.0.0.1", port);
  co_await s.write_all(std::string_view(
      "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
  std::string head;
  std::vector<char> buf(4096);
  while (head.find("\r\n\r\n") == std::string::npos) {
    const std::size_t n = co_await s.read_some(std::span(buf));
    if (n == 0) break;
    head.append(buf.data(), n);
  }
  REQUIRE(head.rfind("HTTP/1.1 101 ", 0) == 0);
  if (rest) *rest = head.substr(head.find("\r\n\r\n") + 4);
  co_return s;
}

}  // namespace

TEST_CASE("echo: text and binary, coroutine client against a Node-style server") {
  netco_test::run([]() -> netco::task<> {
    echo_fixture f;
    std::uint16_t server_code = 0;
    std::string server_reason;
    f.srv.on("connection", [&](const ws::socket& s, const http::incoming_message&) {
      s.on("close", [&](std::uint16_t code, std::string_view reason) {
        server_code = code;
        server_reason = reason;
      });
    });
    ws::stream c = co_await ws::connect(f.url);
    CHECK(c.socket().ready_state() == ws::ready_state::open);
    co_await c.send_text("hello");
    auto m = co_await c.read();
    REQUIRE(m);
    CHECK(m->text() == "hello");
    CHECK(!m->binary);
    const auto bytes = netco_test::random_bytes(70000);
    co_await c.send_binary(std::span<const std::byte>(bytes));
    m = co_await c.read();
    REQUIRE(m);
    CHECK(m->binary);
    CHECK(m->data.size() == bytes.size());
    CHECK(std::equal(bytes.begin(), bytes.end(), m->data.bytes().begin()));
    co_await c.close(1000, "bye");
    CHECK(c.socket().ready_state() == ws::ready_state::closed);
    CHECK(c.close_code() == 1000);  // the server echoes the code
    CHECK(co_await netco_test::eventually([&] { return server_code != 0; }));
    CHECK(server_code == 1000);
    CHECK(server_reason == "bye");
    f.srv.close();
  }());
}

TEST_CASE("Node-style client: open, a fragmented send arrives as one message") {
  netco_test::run([]() -> netco::task<> {
    echo_fixture f;
    std::vector<std::string> got;
    bool opened = false, closed = false;
    ws::socket c = ws::connect(f.url, {}, [&] { opened = true; });
    c.on("message", [&](const buffer& d, bool binary) {
      CHECK(!binary);
      got.push_back(d.to_string());
    });
    c.on("close", [&](std::uint16_t, std::string_view) { closed = true; });
    CHECK(c.ready_state() == ws::ready_state::connecting);
    CHECK_THROWS_AS(c.send("too early"), std::system_error);
    CHECK(co_await netco_test::eventually([&] { return opened; }));
    c.send("one ", {.fin = false});
    c.send("two ", {.fin = false});
    c.send("three", {.fin = true});
    c.send("next");
    CHECK(co_await netco_test::eventually([&] { return got.size() == 2; }));
    CHECK(got[0] == "one two three");
    CHECK(got[1] == "next");
    c.close();
    CHECK(co_await netco_test::eventually([&] { return closed; }));
    f.srv.close();
  }());
}

TEST_CASE("ping and pong: auto-pong carries the payload; events on both ends") {
  netco_test::run([]() -> netco::task<> {
    echo_fixture f;
    std::string server_ping, client_pong;
    f.srv.on("connection", [&](const ws::socket& s, const http::incoming_message&) {
      s.on("ping", [&](const buffer& p) { server_ping = p.to_string(); });
    });
    ws::stream c = co_await ws::connect(f.url);
    c.socket().on("pong", [&](const buffer& p) { client_pong = p.to_string(); });
    c.socket().ping(buffer::from("abc"));
    CHECK_THROWS_AS(c.socket().ping(buffer::from(std::string(126, 'x'))), std::system_error);
    CHECK(co_await netco_test::eventually([&] { return client_pong == "abc"; }));
    CHECK(server_ping == "abc");
    co_await c.close();
    f.srv.close();
  }());
}

TEST_CASE("close handshake started by the server: the client reads the end and the code") {
  netco_test::run([]() -> netco::task<> {
    echo_fixture f;
    ws::stream c = co_await ws::connect(f.url);
    co_await c.send_text("x");
    CHECK(co_await c.read());
    REQUIRE(f.accepted.size() == 1);
    f.accepted[0].close(4000, "server bye");
    CHECK(f.accepted[0].ready_state() == ws::ready_state::closing);
    CHECK(!(co_await c.read()));
    CHECK(c.close_code() == 4000);
    CHECK(c.close_reason() == "server bye");
    CHECK(!c.error());
    CHECK(co_await netco_test::eventually(
        [&] { return f.accepted[0].ready_state() == ws::ready_state::closed; }));
    CHECK_THROWS_AS(co_await c.send_text("late"), std::system_error);
    f.srv.close();
  }());
}

TEST_CASE("close timeout: a peer that never answers the close is cut off (1006)") {
  netco_test::run([]() -> netco::task<> {
    echo_fixture f({.close_timeout = 50ms});
    std::uint16_t code = 0;
    f.srv.on("connection", [&](const ws::socket& s, const http::incoming_message&) {
      s.on("close", [&](std::uint16_t c, std::string_view) { code = c; });
      s.close(1000, "");
    });
    std::string rest;
    netco::tcp::stream raw = co_await raw_upgrade(f.srv.address().port, &rest);
    std::vector<char> buf(4096);
    std::size_t total = rest.size();
    for (;;) {  // the close frame, then EOF once the timer fired
      std::error_code ec;
      const std::size_t n = co_await raw.read_some(std::span(buf), ec);
      if (n == 0 || ec) break;
      total += n;
    }
    CHECK(total == 4);  // 88 02 03 e8
    CHECK(co_await netco_test::eventually([&] { return code != 0; }));
    CHECK(code == 1006);
    f.srv.close();
  }());
}

TEST_CASE("terminate: both ends see 1006 without a handshake") {
  netco_test::run([]() -> netco::task<> {
    echo_fixture f;
    std::uint16_t server_code = 0, client_code = 0;
    f.srv.on("connection", [&](const ws::socket& s, const http::incoming_message&) {
      s.on("close", [&](std::uint16_t c, std::string_view) { server_code = c; });
    });
    ws::socket c = ws::connect(f.url, {}, [] {});
    c.on("open", [c] { c.terminate(); });
    c.on("close", [&](std::uint16_t code, std::string_view) { client_code = code; });
    CHECK(co_await netco_test::eventually([&] { return server_code && client_code; }));
    CHECK(server_code == 1006);
    CHECK(client_code == 1006);
    f.srv.close();
  }());
}

TEST_CASE("backpressure: send() is false past the high-water mark, then drain") {
  netco_test::run([]() -> netco::task<> {
    ws::socket server_side;
    ws::server srv = ws::create_server(
        {.port = 0, .high_water_mark = 16 * 1024},
        [&](const ws::socket& s, const http::incoming_message&) { server_side = s; });
    std::size_t received = 0;
    ws::socket c = ws::connect("ws://127.0.0.1:" + std::to_string(srv.address().port), {}, [] {});
    c.on("message", [&](const buffer& d, bool) { received += d.size(); });
    CHECK(co_await netco_test::eventually([&] { return static_cast<bool>(server_side); }));
    c.pause();
    const buffer chunk = buffer::from(std::string(64 * 1024, 'z'));
    bool drained = false;
    server_side.on("drain", [&] { drained = true; });
    std::size_t sent = 0;
    bool refused = false;
    for (int i = 0; i < 4000 && !refused; ++i) {
      refused = !server_side.send(chunk);
      sent += chunk.size();
    }
    CHECK(refused);
    CHECK(server_side.buffered_amount() >= 16 * 1024);
    c.resume();
    CHECK(co_await netco_test::eventually([&] { return drained && received == sent; }));
    CHECK(server_side.buffered_amount() == 0);
    c.close();
    CHECK(co_await netco_test::eventually(
        [&] { return c.ready_state() == ws::ready_state::closed; }));
    srv.close();
  }());
}

TEST_CASE("max_payload: a bigger message closes with 1009; the server goes on") {
  netco_test::run([]() -> netco::task<> {
    echo_fixture f({.max_payload = 1000});
    std::error_code server_error;
    f.srv.on("connection", [&](const ws::socket& s, const http::incoming_message&) {
      s.on("error", [&](std::error_code ec) { server_error = ec; });
    });
    ws::stream c = co_await ws::connect(f.url);
    co_await c.send_text(std::string(2000, 'a'));
    CHECK(!(co_await c.read()));
    CHECK(c.close_code() == 1009);
    CHECK(server_error == ws::errc::message_too_big);
    // The next client is served as before.
    ws::stream d = co_await ws::connect(f.url);
    co_await d.send_text(std::string(1000, 'b'));
    auto m = co_await d.read();
    REQUIRE(m);
    CHECK(m->data.size() == 1000);
    co_await d.close();
    f.srv.close();
  }());
}

TEST_CASE("a peer's protocol violation: 1002 and no throw without an error listener") {
  netco_test::run([]() -> netco::task<> {
    echo_fixture f;
    netco::tcp::stream raw = co_await raw_upgrade(f.srv.address().port);
    // An unmasked text frame from a client: the server fails the connection with 1002.
    const unsigned char frame[] = {0x81, 0x02, 'h', 'i'};
    co_await raw.write_all(std::as_bytes(std::span(frame)));
    std::vector<unsigned char> got(16);
    std::size_t n = 0;
    for (;;) {
      std::error_code ec;
      const std::size_t k =
          co_await raw.read_some(std::as_writable_bytes(std::span(got).subspan(n)), ec);
      if (k == 0 || ec) break;
      n += k;
    }
    REQUIRE(n == 4);
    CHECK(got[0] == 0x88);
    CHECK(((got[2] << 8) | got[3]) == 1002);
    f.srv.close();
  }());
}

TEST_CASE("permessage-deflate, when both ends opt in: negotiated and round-tripped") {
  netco_test::run([]() -> netco::task<> {
    if (!ws::deflate_supported) co_return;
    echo_fixture f({.per_message_deflate = ws::deflate_options{}});
    // NOTE: a named options object: GCC 12 destroys a braced temporary that lives across a
    // co_await twice (here: in `co_await ws::connect(url, {...})`).
    ws::client_options o;
    o.per_message_deflate = ws::deflate_options{.threshold = 0};
    ws::stream c = co_await ws::connect(f.url, o);
    CHECK(c.socket().extensions().find("permessage-deflate") != std::string::npos);
    std::string text;
    for (int i = 0; i < 2000; ++i) text += "netco websocket " + std::to_string(i % 7);
    co_await c.send_text(text);
    auto m = co_await c.read();
    REQUIRE(m);
    CHECK(m->text() == text);
    co_await c.close();
    f.srv.close();
  }());
}

TEST_CASE("heartbeat: a peer that stops answering pings is terminated") {
  netco_test::run([]() -> netco::task<> {
    echo_fixture f({.ping_interval = 20ms});
    // Shared: the live client's server side closes after this frame is gone.
    auto code = std::make_shared<std::uint16_t>(0);
    f.srv.on("connection", [code](const ws::socket& s, const http::incoming_message&) {
      s.on("close", [code](std::uint16_t c, std::string_view) {
        if (*code == 0) *code = c;
      });
    });
    netco::tcp::stream raw = co_await raw_upgrade(f.srv.address().port);  // never pongs
    CHECK(co_await netco_test::eventually([&] { return *code != 0; }));
    CHECK(*code == 1006);
    // A live client answers (auto-pong) and stays.
    ws::stream c = co_await ws::connect(f.url);
    co_await netco::sleep_for(100ms);
    CHECK(c.socket().ready_state() == ws::ready_state::open);
    co_await c.close();
    f.srv.close();
  }());
}

TEST_CASE("teardown: the loop goes with connections open, no event reaches a listener") {
  int events_at_teardown = 0;
  std::thread t([&] {
    netco::loop& l = netco::loop::current();
    ws::server srv = ws::create_server({.port = 0});
    srv.on("connection", [&](const ws::socket& s, const http::incoming_message&) {
      s.on("close", [&](std::uint16_t, std::string_view) { ++events_at_teardown; });
      s.send("hi");
    });
    ws::socket c = ws::create_socket("ws://127.0.0.1:" + std::to_string(srv.address().port) + "/x");
    c.on("message", [&](const buffer&, bool) { l.stop(); });
    c.on("close", [&](std::uint16_t, std::string_view) { ++events_at_teardown; });
    netco_test::detail::run_with_watchdog(l, 20s);
  });
  t.join();
  CHECK(events_at_teardown == 0);
}
