// tests/test_ws_server.cpp: ws::server: handshake refusals (426/400/401), verify_client,
// handle_protocols, path, "headers", an http::server shared with routes, no_server,
// clients(), publish/subscribe with a stalled subscriber, ws::accept; under load: 1,000
// subscribers with one stalled, a reset in the middle of a frame, a slow reader
#include "netco/ws/server.hpp"

#include <netinet/in.h>    // sockaddr_in
#include <sys/resource.h>  // setrlimit: 1,000 clients need 2,000 descriptors
#include <sys/socket.h>    // SO_RCVBUF, SO_LINGER
#include <unistd.h>        // close

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "netco/spawn.hpp"
#include "netco/tcp.hpp"
#include "netco/timer.hpp"
#include "netco/ws/client.hpp"
#include "raw_exchange.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
namespace ws = netco::ws;
namespace http = netco::http;
using netco::buffer;

namespace {

using netco_test::raw_exchange;

std::string upgrade_request(std::string_view extra, std::string_view method = "GET",
                            std::string_view key = "dGhlIHNhbXBsZSBub25jZQ==",
                            std::string_view version = "13") {
  std::string r(method);
  r += " /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
  if (!key.empty()) r.append("Sec-WebSocket-Key: ").append(key).append("\r\n");
  if (!version.empty()) r.append("Sec-WebSocket-Version: ").append(version).append("\r\n");
  r.append(extra).append("\r\n");
  return r;
}

std::string url_of(const ws::server& s, std::string_view path = "/") {
  return "ws://127.0.0.1:" + std::to_string(s.address().port) + std::string(path);
}

/// A raw POSIX client that sends request (and whatever follows it) and never reads: its
/// receive buffer (rcvbuf, when not 0) keeps the window small, so the server's queue for it
/// grows soon. Connecting to a listening loopback port does not wait for the accept.
int raw_client(std::uint16_t port, std::string_view request, int rcvbuf = 0) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  if (rcvbuf) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  REQUIRE(::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size()));
  return fd;
}

/// Closes fd with an RST (SO_LINGER 0) instead of a FIN.
void reset(int fd) {
  const linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
}

/// As many descriptors as the hard limit allows; returns how many clients fit (two each,
/// and some to spare).
int clients_that_fit(int wanted) {
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &lim);
  ::getrlimit(RLIMIT_NOFILE, &lim);
  return static_cast<int>(std::min<rlim_t>(static_cast<rlim_t>(wanted), (lim.rlim_cur - 64) / 2));
}

}  // namespace

TEST_CASE("handshake: 101 with the RFC's accept key; refusals are 426, 400, never an upgrade") {
  netco_test::run([]() -> netco::task<> {
    int connections = 0;
    ws::server srv =
        ws::create_server({.port = 0}, [&](const ws::socket& s, const http::incoming_message&) {
          ++connections;
          s.terminate();  // raw_exchange() reads until the connection closes
        });
    const std::uint16_t port = srv.address().port;
    // The RFC 6455 1.3 example key.
    std::string out = co_await raw_exchange(port, upgrade_request(""));
    CHECK(out.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0) == 0);
    CHECK(out.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") != std::string::npos);
    CHECK(connections == 1);

    out = co_await raw_exchange(port, upgrade_request("", "GET", "dGhlIHNhbXBsZSBub25jZQ==", "8"));
    CHECK(out.rfind("HTTP/1.1 426 ", 0) == 0);
    CHECK(out.find("Sec-WebSocket-Version: 13\r\n") != std::string::npos);
    out = co_await raw_exchange(port, upgrade_request("", "GET", "short"));
    CHECK(out.rfind("HTTP/1.1 400 ", 0) == 0);
    out = co_await raw_exchange(port, upgrade_request("", "GET", ""));
    CHECK(out.rfind("HTTP/1.1 400 ", 0) == 0);
    out = co_await raw_exchange(port, upgrade_request("", "GET", "dGhlIHNhbXBsZSBub25jZQ==", ""));
    CHECK(out.rfind("HTTP/1.1 400 ", 0) == 0);
    out = co_await raw_exchange(port, upgrade_request("Content-Length: 0\r\n", "POST"));
    CHECK(out.rfind("HTTP/1.1 400 ", 0) == 0);
    out = co_await raw_exchange(port, upgrade_request("Sec-WebSocket-Protocol: a, a\r\n"));
    CHECK(out.rfind("HTTP/1.1 400 ", 0) == 0);
    // A plain request to a WebSocket-only server.
    out = co_await raw_exchange(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK(out.rfind("HTTP/1.1 426 ", 0) == 0);
    CHECK(connections == 1);
    srv.close();
  }());
}

TEST_CASE("verify_client: an Origin allow-list refuses others with 401") {
  netco_test::run([]() -> netco::task<> {
    ws::server srv =
        ws::create_server({.port = 0, .verify_client = [](const ws::verify_info& info) {
                             return info.origin == "https://good.example";
                           }});
    std::string out = co_await raw_exchange(srv.address().port,
                                            upgrade_request("Origin: https://evil.example\r\n"));
    CHECK(out.rfind("HTTP/1.1 401 ", 0) == 0);
    ws::client_options o;
    o.origin = "https://good.example";
    ws::stream c = co_await ws::connect(url_of(srv), o);
    CHECK(c.socket().ready_state() == ws::ready_state::open);
    co_await c.close();
    srv.close();
  }());
}

TEST_CASE("handle_protocols picks the subprotocol; \"headers\" adds to the 101") {
  netco_test::run([]() -> netco::task<> {
    ws::server srv = ws::create_server(
        {.port = 0,
         .handle_protocols = [](std::span<const std::string_view> offered,
                                const http::incoming_message&) -> std::optional<std::string> {
           for (std::string_view p : offered)
             if (p == "chat.v2") return std::string(p);
           return std::nullopt;
         }});
    std::string server_protocol;
    srv.on("headers", [](std::vector<std::string>* lines, const http::incoming_message&) {
      lines->push_back("Set-Cookie: a=1");
    });
    srv.on("connection", [&](const ws::socket& s, const http::incoming_message&) {
      server_protocol = s.protocol();
    });
    ws::client_options o;
    o.protocols = {"chat.v1", "chat.v2"};
    std::string cookie;
    ws::socket c = ws::create_socket(url_of(srv), o);
    c.on("upgrade", [&](const http::incoming_message& res) {
      cookie = std::string(res.headers().get("set-cookie").value_or(""));
    });
    bool opened = false;
    c.on("open", [&] { opened = true; });
    CHECK(co_await netco_test::eventually([&] { return opened; }));
    CHECK(c.protocol() == "chat.v2");
    CHECK(server_protocol == "chat.v2");
    CHECK(cookie == "a=1");
    c.close();
    CHECK(co_await netco_test::eventually(
        [&] { return c.ready_state() == ws::ready_state::closed; }));
    srv.close();
  }());
}

TEST_CASE("path: another pathname is refused with 400 (the client's unexpected-response)") {
  netco_test::run([]() -> netco::task<> {
    ws::server srv = ws::create_server({.port = 0, .path = "/chat"});
    int status = 0;
    bool closed = false;
    ws::socket c = ws::create_socket(url_of(srv, "/other"));
    c.on("unexpected-response",
         [&](const http::incoming_message& res) { status = res.status_code(); });
    c.on("close", [&](std::uint16_t, std::string_view) { closed = true; });
    CHECK(co_await netco_test::eventually([&] { return closed; }));
    CHECK(status == 400);
    ws::stream ok = co_await ws::connect(url_of(srv, "/chat?room=1"));
    co_await ok.close();
    srv.close();
  }());
}

TEST_CASE("one port: HTTP routes and WebSocket on an existing http::server") {
  netco_test::run([]() -> netco::task<> {
    http::server site = http::create_server(
        [](const http::incoming_message&, const http::server_response& res) { res.end("page"); });
    site.listen(0, "127.0.0.1");
    ws::server wss = ws::create_server({.server = site});
    wss.on("connection", [](const ws::socket& s, const http::incoming_message&) {
      s.on("message", [s](const buffer& d, bool) { s.send(d.to_string() + "!"); });
    });
    const std::uint16_t port = site.address().port;
    const std::string page =
        co_await raw_exchange(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK(page.find("\r\n\r\npage") != std::string::npos);
    ws::stream c = co_await ws::connect("ws://127.0.0.1:" + std::to_string(port) + "/");
    co_await c.send_text("hi");
    auto m = co_await c.read();
    REQUIRE(m);
    CHECK(m->text() == "hi!");
    CHECK(wss.clients().size() == 1);
    co_await c.close();
    CHECK(co_await netco_test::eventually([&] { return wss.clients().empty(); }));
    wss.close();
    site.close();
  }());
}

TEST_CASE("no_server: handle_upgrade from the application's own upgrade listener") {
  netco_test::run([]() -> netco::task<> {
    ws::server wss = ws::create_server({.no_server = true});
    CHECK_THROWS_AS(ws::create_server({.port = 0, .no_server = true}), std::invalid_argument);
    http::server site = http::create_server();
    site.on("upgrade", [wss](const http::incoming_message& req, const netco::net::socket& s,
                             const buffer& h) {
      wss.handle_upgrade(req, s, h, [](const ws::socket& ws, const http::incoming_message&) {
        ws.send("welcome");
      });
    });
    site.listen(0, "127.0.0.1");
    ws::stream c = co_await ws::connect("ws://127.0.0.1:" + std::to_string(site.address().port));
    auto m = co_await c.read();
    REQUIRE(m);
    CHECK(m->text() == "welcome");
    co_await c.close();
    wss.close();
    site.close();
  }());
}

TEST_CASE("ws::accept: coroutine style in an upgrade listener") {
  netco_test::run([]() -> netco::task<> {
    http::server site = http::create_server();
    site.on("upgrade",
            [](const http::incoming_message& req, const netco::net::socket& s, const buffer& h) {
              netco::spawn([](netco::task<ws::stream> accepted) -> netco::task<> {
                ws::stream peer = co_await std::move(accepted);
                while (auto m = co_await peer.read()) co_await peer.send_text(m->data);
              }(ws::accept(req, s, h)));
            });
    site.listen(0, "127.0.0.1");
    ws::stream c = co_await ws::connect("ws://127.0.0.1:" + std::to_string(site.address().port));
    for (int i = 0; i < 3; ++i) {
      co_await c.send_text("m" + std::to_string(i));
      auto m = co_await c.read();
      REQUIRE(m);
      CHECK(m->text() == "m" + std::to_string(i));
    }
    co_await c.close(1001, "going");
    CHECK(c.close_code() == 1001);
    site.close();
  }());
}

TEST_CASE("publish: one frame for every subscriber; unsubscribe; a closed one leaves") {
  netco_test::run([]() -> netco::task<> {
    ws::server srv = ws::create_server({.port = 0});
    srv.on("connection", [](const ws::socket& s, const http::incoming_message&) {
      CHECK(s.subscribe("news"));
      CHECK(!s.subscribe("news"));
      s.on("message", [s](const buffer& d, bool) {
        if (d.view() == "leave") s.unsubscribe("news");
      });
    });
    std::vector<ws::stream> peers;
    for (int i = 0; i < 3; ++i) peers.push_back(co_await ws::connect(url_of(srv)));
    CHECK(co_await netco_test::eventually([&] { return srv.subscriber_count("news") == 3; }));
    CHECK(srv.publish("news", "hello all") == 3);
    for (auto& p : peers) {
      auto m = co_await p.read();
      REQUIRE(m);
      CHECK(m->text() == "hello all");
    }
    co_await peers[0].send_text("leave");
    CHECK(co_await netco_test::eventually([&] { return srv.subscriber_count("news") == 2; }));
    co_await peers[1].close();
    CHECK(co_await netco_test::eventually([&] { return srv.subscriber_count("news") == 1; }));
    CHECK(srv.publish("news", buffer::from("bin"), true) == 1);
    auto m = co_await peers[2].read();
    REQUIRE(m);
    CHECK(m->binary);
    CHECK(srv.publish("nobody", "x") == 0);
    co_await peers[0].close();
    co_await peers[2].close();
    srv.close();
  }());
}

TEST_CASE("publish to a stalled subscriber: skip keeps its queue bounded; close ends it") {
  netco_test::run([]() -> netco::task<> {
    for (const auto policy : {ws::backpressure_policy::skip, ws::backpressure_policy::close}) {
      CAPTURE(static_cast<int>(policy));
      std::vector<ws::socket> subs;
      std::uint16_t stalled_code = 0;
      ws::server srv =
          ws::create_server({.port = 0, .max_backpressure = 256 * 1024, .backpressure = policy},
                            [&](const ws::socket& s, const http::incoming_message&) {
                              s.subscribe("t");
                              subs.push_back(s);
                            });
      // The stalled one: a raw client that upgrades and then never reads.
      netco::tcp::stream stalled = co_await netco::tcp::connect("127.0.0.1", srv.address().port);
      co_await stalled.write_all(upgrade_request("").replace(4, 5, "/"));
      CHECK(co_await netco_test::eventually([&] { return subs.size() == 1; }));
      subs[0].on("close", [&](std::uint16_t c, std::string_view) { stalled_code = c; });
      ws::stream live = co_await ws::connect(url_of(srv));
      CHECK(co_await netco_test::eventually([&] { return subs.size() == 2; }));
      const buffer payload = buffer::from(std::string(16 * 1024, 'p'));
      std::size_t max_buffered = 0, live_got = 0;
      for (int i = 0; i < 2000; ++i) {
        srv.publish("t", payload, true);
        max_buffered = std::max(max_buffered, subs[0].buffered_amount());
        if (i % 50 == 49) {  // the live subscriber keeps up
          while (live_got < static_cast<std::size_t>(i) + 1) {
            auto m = co_await live.read();
            REQUIRE(m);
            ++live_got;
          }
        }
      }
      // 2000 x 16 KiB were published; the stalled queue never passed the limit by more than
      // one frame (its kernel buffers hold the rest).
      CHECK(max_buffered > 64 * 1024);  // it did stall
      CHECK(max_buffered <= 256 * 1024 + payload.size() + 16);
      if (policy == ws::backpressure_policy::close) {
        CHECK(subs[0].ready_state() != ws::ready_state::open);
        stalled.close();  // the close handshake cannot finish: go
        CHECK(co_await netco_test::eventually([&] { return stalled_code != 0; }));
      } else {
        CHECK(subs[0].ready_state() == ws::ready_state::open);
        subs[0].terminate();
      }
      co_await live.close();
      srv.close();
    }
  }());
}

TEST_CASE("1,000 subscribers, one stalled: the others get every message, its queue is bounded") {
  netco_test::run(
      []() -> netco::task<> {
        const int n = clients_that_fit(1000);
        if (n < 1000) MESSAGE("only ", n, " subscribers: the descriptor limit allows no more");
        for (const auto policy : {ws::backpressure_policy::skip, ws::backpressure_policy::close}) {
          CAPTURE(static_cast<int>(policy));
          constexpr std::size_t limit = 32 * 1024;
          std::vector<ws::socket> subs;
          ws::server srv = ws::create_server(
              {.port = 0, .backlog = 2048, .max_backpressure = limit, .backpressure = policy},
              [&](const ws::socket& s, const http::incoming_message&) {
                s.subscribe("all");
                subs.push_back(s);
              });
          const int stalled = raw_client(srv.address().port, upgrade_request(""), 2048);
          CHECK(co_await netco_test::eventually([&] { return subs.size() == 1; }));
          const ws::socket stalled_side = subs[0];
          // Its kernel buffers first (they take megabytes on loopback): filled through a
          // topic of its own until netco's queue for it starts.
          stalled_side.subscribe("stalled");
          const buffer filler = buffer::from(std::string(16 * 1024, 'f'));
          for (int i = 0; i < 4096 && stalled_side.buffered_amount() == 0; ++i) {
            srv.publish("stalled", filler, true);
            co_await netco::sleep_for(1ms);
          }
          REQUIRE(stalled_side.buffered_amount() > 0);
          std::uint16_t stalled_code = 0;
          stalled_side.on("close", [&](std::uint16_t c, std::string_view) { stalled_code = c; });
          // The others: Node-style clients that count what arrives and check its order.
          auto got = std::make_shared<std::vector<int>>(static_cast<std::size_t>(n - 1), 0);
          auto out_of_order = std::make_shared<int>(0);
          std::vector<ws::socket> live;
          for (int i = 0; i < n - 1; ++i) {
            ws::socket c = ws::create_socket(url_of(srv));
            c.on("message", [got, out_of_order, i](const buffer& d, bool) {
              int& mine = (*got)[static_cast<std::size_t>(i)];
              if (d.view().substr(0, d.view().find(' ')) != std::to_string(mine)) ++*out_of_order;
              ++mine;
            });
            live.push_back(c);
          }
          CHECK(co_await netco_test::eventually(
              [&] { return srv.subscriber_count("all") == static_cast<std::size_t>(n); }));
          constexpr int messages = 200;
          std::size_t max_buffered = 0, last_delivered = 0;
          for (int m = 0; m < messages; ++m) {
            std::string text = std::to_string(m) + " ";
            text.resize(1024, 'x');
            last_delivered = srv.publish("all", text);
            max_buffered = std::max(max_buffered, stalled_side.buffered_amount());
            if (m % 20 == 19) {  // the live ones keep up
              CHECK(co_await netco_test::eventually([&] {
                return std::all_of(got->begin(), got->end(), [m](int k) { return k > m; });
              }));
            }
          }
          CHECK(*out_of_order == 0);
          CHECK(std::all_of(got->begin(), got->end(), [](int k) { return k == messages; }));
          CHECK(last_delivered == static_cast<std::size_t>(n - 1));  // the stalled one: not
          CHECK(max_buffered > limit / 2);                           // it did stall
          CHECK(max_buffered <= limit + 1024 + 16);  // at most one frame past the limit
          if (policy == ws::backpressure_policy::close)
            CHECK(stalled_side.ready_state() != ws::ready_state::open);
          reset(stalled);
          CHECK(co_await netco_test::eventually([&] { return stalled_code != 0; }));
          for (const ws::socket& c : live) c.terminate();
          CHECK(co_await netco_test::eventually([&] { return srv.clients().empty(); }));
          srv.close();
        }
      }(),
      60s);
}

TEST_CASE("a reset in the middle of a frame: that connection closes (1006), the server goes on") {
  netco_test::run([]() -> netco::task<> {
    std::vector<ws::socket> accepted;
    ws::server srv =
        ws::create_server({.port = 0}, [&](const ws::socket& s, const http::incoming_message&) {
          s.on("message", [s](const buffer& d, bool binary) { s.send(d, {.binary = binary}); });
          s.on("error", [](std::error_code) {});
          accepted.push_back(s);
        });
    // A masked binary frame announcing 1,000 bytes, of which 100 come, then the RST.
    std::string frame = {'\x82', static_cast<char>(0x80 | 126), '\x03', '\xe8', 'k', 'e', 'y', '!'};
    frame.append(100, 'p');
    const std::string request = upgrade_request("") + frame;
    const int fd = raw_client(srv.address().port, request);
    CHECK(co_await netco_test::eventually([&] {
      return accepted.size() == 1 && accepted[0].raw_socket().bytes_read() >= request.size();
    }));
    std::uint16_t code = 0;
    accepted[0].on("close", [&](std::uint16_t c, std::string_view) { code = c; });
    reset(fd);
    CHECK(co_await netco_test::eventually([&] { return code != 0; }));
    CHECK(code == 1006);
    CHECK(co_await netco_test::eventually([&] { return srv.clients().empty(); }));
    // The next client is served as if nothing happened.
    ws::stream c = co_await ws::connect(url_of(srv));
    co_await c.send_text("still here");
    auto m = co_await c.read();
    REQUIRE(m);
    CHECK(m->text() == "still here");
    co_await c.close();
    srv.close();
  }());
}

TEST_CASE("a slow reader: the echo server stops reading instead of buffering; all arrives") {
  netco_test::run([]() -> netco::task<> {
    std::size_t max_buffered = 0;
    ws::server srv = ws::create_server({.port = 0, .high_water_mark = 64 * 1024},
                                       [&](const ws::socket& s, const http::incoming_message&) {
                                         s.on("message", [&, s](const buffer& d, bool binary) {
                                           if (!s.send(d, {.binary = binary}))
                                             s.pause();  // as examples/ws_echo
                                           max_buffered =
                                               std::max(max_buffered, s.buffered_amount());
                                         });
                                         s.on("drain", [s] { s.resume(); });
                                       });
    ws::stream c = co_await ws::connect(url_of(srv));
    constexpr int count = 300;
    constexpr std::size_t size = 16 * 1024;
    bool sent_all = false;
    netco::spawn([](ws::stream c, bool& done) -> netco::task<> {
      for (int i = 0; i < count; ++i) {
        std::string m = std::to_string(i) + " ";
        m.resize(size, 's');
        co_await c.send_text(m);  // waits for "drain" past the client's own mark
      }
      done = true;
    }(c, sent_all));
    for (int i = 0; i < count; ++i) {
      if (i % 10 == 0) co_await netco::sleep_for(2ms);  // slow: the server must wait for it
      auto m = co_await c.read();
      REQUIRE(m);
      CHECK(m->data.size() == size);
      CHECK(m->text().substr(0, m->text().find(' ')) == std::to_string(i));
    }
    CHECK(sent_all);
    // The server's queue for it passed the mark by at most what one read had brought: as in
    // ws, pause() stops reading, and the frames already read (up to the socket's 64 KiB read
    // size, plus the message that was split across it) are still delivered.
    CHECK(max_buffered <= 64 * 1024 + 64 * 1024 + size + 16 * 5);
    co_await c.close();
    srv.close();
  }());
}
