// tests/test_dgram.cpp: Node's dgram (NODE-BEHAVIOURS U1-U6, close, ref/unref, multicast)
#include "netco/dgram.hpp"

#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "netco/spawn.hpp"
#include "netco/timer.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
namespace dgram = netco::dgram;
using netco::buffer;

namespace {

/// Runs body on a fresh loop (so create_socket() lands there) until the exit rule ends it.
template <class Fn>
void node_style(Fn body, std::chrono::milliseconds limit = 10s) {
  netco::loop l;
  netco::spawn(l, [](Fn fn) -> netco::task<> {
    fn();
    co_return;
  }(std::move(body)));
  netco_test::detail::run_with_watchdog(l, limit);
}

/// A socket on 127.0.0.1 that echoes every datagram; closed after `count` of them.
dgram::socket echo_server(int count) {
  auto s = dgram::create_socket("udp4");
  auto left = std::make_shared<int>(count);
  s.on("message", [s, left](const buffer& msg, const dgram::remote_info& rinfo) mutable {
    s.send(msg, rinfo.port, rinfo.address);
    if (--*left == 0) s.close();
  });
  s.bind(0, "127.0.0.1");
  return s;
}

buffer random_buffer(std::size_t n, unsigned seed) {
  const auto bytes = netco_test::random_bytes(n, seed);
  return buffer::copy_of(bytes);
}

std::uint16_t closed_port() {
  netco::udp::socket probe;
  probe.bind("127.0.0.1", 0);
  return probe.local_endpoint().port();
}

}  // namespace

TEST_CASE("U1/U3: datagrams of 0, 1, 1472 and 65,507 bytes make the round trip intact") {
  const std::vector<std::size_t> sizes{0, 1, 1472, netco::udp::max_datagram_v4};
  std::size_t got = 0, callbacks = 0;
  node_style([&] {
    auto server = echo_server(static_cast<int>(sizes.size()));
    const auto port = server.address().port;
    auto client = dgram::create_socket("udp4");
    auto payload = std::make_shared<buffer>();
    auto send_next = [client, payload, &sizes, &got, &callbacks, port]() mutable {
      *payload = random_buffer(sizes[got], static_cast<unsigned>(got));
      client.send(*payload, port, "127.0.0.1",
                  [&callbacks, n = payload->size()](std::error_code ec, std::size_t bytes) {
                    CHECK_FALSE(ec);
                    CHECK(bytes == n);  // U1: the callback of a 0-byte send runs too
                    ++callbacks;
                  });
    };
    client.on("message", [=, &got, &sizes](buffer msg, const dgram::remote_info& rinfo) mutable {
      CHECK(rinfo.address == "127.0.0.1");  // U3
      CHECK(rinfo.family == "IPv4");
      CHECK(rinfo.port == port);
      CHECK(rinfo.size == sizes[got]);
      CHECK(msg.size() == sizes[got]);
      CHECK(msg == *payload);
      if (++got == sizes.size())
        client.close();
      else
        send_next();
    });
    client.bind(0, "127.0.0.1", send_next);
  });
  CHECK(got == sizes.size());
  CHECK(callbacks == sizes.size());
}

TEST_CASE("kept messages stay intact while the receive block is reused") {
  constexpr unsigned count = 300;
  std::vector<buffer> kept, sent;
  node_style([&] {
    auto server = dgram::create_socket("udp4");
    auto received = std::make_shared<unsigned>(0);
    server.on("message",
              [&, server, received](buffer msg, const dgram::remote_info& rinfo) mutable {
                if ((*received)++ % 3 != 1) kept.push_back(msg);  // keep two of three
                server.send("ack", rinfo.port, rinfo.address);    // lock-step: nothing is dropped
                if (*received == count) server.close();
              });
    server.bind(0, "127.0.0.1", [&, server]() mutable {
      auto client = dgram::create_socket("udp4");
      const auto port = server.address().port;
      auto next = [&, client, port]() mutable {
        if (sent.size() == count) {
          client.close();
          return;
        }
        const auto i = static_cast<unsigned>(sent.size());
        sent.push_back(random_buffer(i * 211 % 9000 + (i % 50 == 0 ? 50000 : 0), i));
        client.send(sent.back(), port);
      };
      client.on("message", next);
      next();
    });
  });
  REQUIRE(sent.size() == count);
  REQUIRE(kept.size() == 200);
  for (unsigned i = 0, k = 0; i < count; ++i) {
    if (i % 3 == 1) continue;
    CHECK(kept[k++] == sent[i]);
  }
}

TEST_CASE("send before bind binds implicitly and emits \"listening\", as Node does") {
  bool listening = false;
  std::uint16_t from_port = 0;
  node_style([&] {
    auto server = dgram::create_socket("udp4");
    auto client = dgram::create_socket("udp4");
    server.on("message", [&, server, client](buffer msg, const dgram::remote_info& rinfo) mutable {
      CHECK(msg == "ping");
      from_port = rinfo.port;
      CHECK(rinfo.port == client.address().port);
      server.close();
      client.close();
    });
    server.bind(0, "127.0.0.1", [&, server, client]() mutable {
      client.on("listening", [&] { listening = true; });
      client.send("ping", server.address().port);  // address: 127.0.0.1 by default
    });
  });
  CHECK(listening);
  CHECK(from_port != 0);
}

TEST_CASE("U4: a second bind throws ERR_SOCKET_ALREADY_BOUND; bind() returns the socket") {
  node_style([] {
    auto s = dgram::create_socket("udp4");
    const dgram::socket& same = s.bind(0, "127.0.0.1");
    CHECK(same == s);
    try {
      s.bind(0, "127.0.0.1");
      FAIL("no exception");
    } catch (const std::system_error& e) {
      CHECK(e.code() == netco::errc::already_bound);
      CHECK(std::string(e.what()).find("ERR_SOCKET_ALREADY_BOUND") != std::string::npos);
    }
    s.close();
  });
}

TEST_CASE("EADDRINUSE goes to \"error\" with the address; the socket can bind elsewhere") {
  std::error_code seen;
  dgram::error_info info;
  bool listening = false;
  node_style([&] {
    auto first = dgram::create_socket("udp4");
    first.bind(0, "127.0.0.1", [&, first]() mutable {
      auto second = dgram::create_socket("udp4");
      const auto port = first.address().port;
      second.on("error",
                [&, second, first](std::error_code ec, const dgram::error_info& i) mutable {
                  seen = ec;
                  info = i;
                  second.bind(0, "127.0.0.1", [&, second, first]() mutable {
                    listening = true;
                    second.close();
                    first.close();
                  });
                });
      second.bind(port, "127.0.0.1");
    });
  });
  CHECK(seen == std::errc::address_in_use);
  CHECK(info.syscall == "bind");
  CHECK(info.address == "127.0.0.1");
  CHECK(info.context().find("bind 127.0.0.1:") == 0);
  CHECK(listening);
}

TEST_CASE("U2: too large a datagram is EMSGSIZE with address and port; the socket goes on") {
  std::error_code cb_error, event_error;
  dgram::error_info info;
  std::size_t cb_bytes = 1;
  bool echoed = false;
  node_style([&] {
    auto server = echo_server(1);
    auto client = dgram::create_socket("udp4");
    const auto port = server.address().port;
    const buffer huge = buffer::uninitialized(netco::udp::max_datagram_v4 + 1);
    client.on("error", [&](std::error_code ec, const dgram::error_info& i) {
      event_error = ec;
      info = i;
    });
    client.on("message", [&, client](buffer msg) mutable {
      echoed = msg == "still here";
      client.close();
    });
    client.send(huge, port, "127.0.0.1", [&](std::error_code ec, std::size_t n) {
      cb_error = ec;
      cb_bytes = n;
    });
    client.send(huge, port);  // no callback: "error"
    client.send("still here", port);
  });
  CHECK(cb_error == std::errc::message_size);
  CHECK(cb_bytes == 0);
  CHECK(event_error == std::errc::message_size);
  CHECK(info.syscall == "send");
  CHECK(info.address == "127.0.0.1");
  CHECK(info.port != 0);
  CHECK(info.context() == "send 127.0.0.1:" + std::to_string(info.port));
  CHECK(echoed);
}

TEST_CASE("without an \"error\" listener a send error is thrown out of run()") {
  netco::loop l;
  netco::spawn(l, []() -> netco::task<> {
    auto client = dgram::create_socket("udp4");
    client.send(buffer::uninitialized(netco::udp::max_datagram_v4 + 1), 9, "127.0.0.1");
    co_return;
  }());
  try {
    netco_test::detail::run_with_watchdog(l, 10s);
    FAIL("no exception");
  } catch (const std::system_error& e) {
    CHECK(e.code() == std::errc::message_size);
    CHECK(std::string(e.what()).find("send 127.0.0.1:9") != std::string::npos);
  }
}

TEST_CASE("a list of buffers goes out as ONE datagram (gather), also past 64 parts") {
  std::vector<std::string> got;
  std::size_t gathered_bytes = 0;
  node_style([&] {
    auto server = dgram::create_socket("udp4");
    server.on("message", [&, server](buffer msg) mutable {
      got.push_back(msg.to_string());
      if (got.size() == 3) server.close();
    });
    server.bind(0, "127.0.0.1", [&, server]() mutable {
      auto client = dgram::create_socket("udp4");
      const auto port = server.address().port;
      client.bind(0, "127.0.0.1", [&, client, port]() mutable {
        client.send({buffer::from("a"), buffer::from("bc"), buffer::from(""), buffer::from("def")},
                    port);
        std::vector<buffer> many;
        for (int i = 0; i < 100; ++i) many.push_back(buffer::from(std::to_string(i % 10)));
        client.send(many, port, "127.0.0.1", [&](std::error_code ec, std::size_t n) {
          CHECK_FALSE(ec);
          gathered_bytes = n;
        });
        client.send(std::vector<buffer>{}, port);  // Node: an empty list is an empty datagram
        client.close();
      });
    });
  });
  REQUIRE(got.size() == 3);
  CHECK(got[0] == "abcdef");
  std::string digits;
  for (int i = 0; i < 100; ++i) digits += std::to_string(i % 10);
  CHECK(got[1] == digits);
  CHECK(got[2].empty());
  CHECK(gathered_bytes == 100);
}

TEST_CASE("send(msg, offset, length, port): a slice; out of range throws") {
  std::string got;
  node_style([&] {
    auto server = dgram::create_socket("udp4");
    server.on("message", [&, server](buffer msg) mutable {
      got = msg.to_string();
      server.close();
    });
    server.bind(0, "127.0.0.1", [server]() mutable {
      auto client = dgram::create_socket("udp4");
      const buffer text = buffer::from("hello world");
      CHECK_THROWS_AS(client.send(text, 12, 0, server.address().port), std::out_of_range);
      CHECK_THROWS_AS(client.send(text, 6, 6, server.address().port), std::out_of_range);
      client.send(text, 6, 5, server.address().port, "127.0.0.1");
      client.close();  // sent already: the OS bind was done by send()
    });
  });
  CHECK(got == "world");
}

TEST_CASE("U5/U6: connected mode; ICMP unreachable is an \"error\" and receiving goes on") {
  std::vector<std::string> events;
  std::error_code icmp;
  dgram::address_info remote;
  node_style([&] {
    auto server = echo_server(1);
    auto client = dgram::create_socket("udp4");
    const auto dead = closed_port();
    client.on("error",
              [&, client, server](std::error_code ec, const dgram::error_info& info) mutable {
                events.push_back("error:" + info.syscall);
                icmp = ec;
                client.disconnect();
                CHECK_THROWS_AS(client.remote_address(), std::system_error);
                client.connect(server.address().port, "127.0.0.1", [&, client]() mutable {
                  events.push_back("connect");
                  remote = client.remote_address();
                  client.send("again");
                });
              });
    client.on("message", [&, client](buffer msg, const dgram::remote_info& rinfo) mutable {
      events.push_back("message:" + msg.to_string());
      CHECK(rinfo.port == remote.port);
      client.close();
    });
    client.connect(dead, "127.0.0.1", [&, client](std::error_code ec) mutable {
      CHECK_FALSE(ec);
      events.push_back("connect");
      CHECK_THROWS_AS(client.send("x", 9, "127.0.0.1"), std::system_error);  // IS_CONNECTED
      CHECK_THROWS_AS(client.connect(9), std::system_error);
      client.send("into the void");  // ICMP port unreachable comes back
    });
  });
  REQUIRE(events.size() == 4);
  CHECK(events[0] == "connect");
  CHECK(events[1] == "error:recvmsg");
  CHECK(events[2] == "connect");
  CHECK(events[3] == "message:again");
  CHECK(icmp == std::errc::connection_refused);
  CHECK(remote.address == "127.0.0.1");
  CHECK(remote.family == "IPv4");
}

TEST_CASE("misuse: send without a port unconnected, disconnect unconnected, bad type") {
  node_style([] {
    auto s = dgram::create_socket("udp4");
    try {
      s.send("x");
      FAIL("no exception");
    } catch (const std::system_error& e) {
      CHECK(e.code() == netco::errc::bad_port);
    }
    try {
      s.disconnect();
      FAIL("no exception");
    } catch (const std::system_error& e) {
      CHECK(e.code() == netco::errc::dgram_not_connected);
    }
    CHECK_THROWS_AS(s.send("x", 0), std::system_error);  // port 0: ERR_SOCKET_BAD_PORT
    CHECK_THROWS_AS(s.address(), std::system_error);     // not bound: EBADF
    CHECK_THROWS_AS(dgram::create_socket("udp5"), std::invalid_argument);
  });
}

TEST_CASE("close: \"close\" on a later turn, after the callbacks of sends; then NOT_RUNNING") {
  std::vector<std::string> order;
  std::error_code queued;
  node_style([&] {
    auto s = dgram::create_socket("udp4");
    s.send("sent before the close", 9, "127.0.0.1",
           [&](std::error_code ec, std::size_t) { queued = ec, order.push_back("send cb"); });
    s.on("listening", [&] { order.push_back("listening"); });
    s.close([&] { order.push_back("close"); });
    order.push_back("after close()");
    try {
      s.send("x", 9);
      FAIL("no exception");
    } catch (const std::system_error& e) {
      CHECK(e.code() == netco::errc::dgram_not_running);
      CHECK(std::string(e.what()).find("ERR_SOCKET_DGRAM_NOT_RUNNING") != std::string::npos);
    }
    CHECK_THROWS_AS(s.close(), std::system_error);
    CHECK_THROWS_AS(s.bind(0), std::system_error);
    CHECK_THROWS_AS(s.address(), std::system_error);
    CHECK_THROWS_AS(s.set_broadcast(true), std::system_error);
  });
  REQUIRE(order.size() == 3);
  CHECK(order[0] == "after close()");
  CHECK(order[1] == "send cb");  // callbacks run before "close"; "listening" never comes
  CHECK(order[2] == "close");
  CHECK_FALSE(queued);
}

TEST_CASE("ref/unref: a bound socket keeps the loop alive unless unref()'d") {
  SUBCASE("unref()'d: run() returns with the socket still open") {
    bool listening = false;
    netco::loop l;
    std::shared_ptr<dgram::socket> keep;
    netco::spawn(l, [](bool& flag, std::shared_ptr<dgram::socket>& out) -> netco::task<> {
      auto s = dgram::create_socket("udp4");
      s.bind(0, "127.0.0.1", [&flag] { flag = true; });
      s.unref();
      out = std::make_shared<dgram::socket>(s);
      co_return;
    }(listening, keep));
    netco_test::detail::run_with_watchdog(l, 10s);
    CHECK(listening);
    // ref() again: the loop runs until the socket is closed.
    bool closed = false;
    netco::spawn(l, [](std::shared_ptr<dgram::socket> s, bool& flag) -> netco::task<> {
      s->ref();
      co_await netco::sleep_for(20ms);
      s->close([&flag] { flag = true; });
    }(keep, closed));
    netco_test::detail::run_with_watchdog(l, 10s);
    CHECK(closed);
  }
  SUBCASE("ref'd: the loop waits for a datagram that comes 30 ms later") {
    std::string got;
    node_style([&] {
      auto server = dgram::create_socket("udp4");
      server.on("message", [&, server](buffer msg) mutable {
        got = msg.to_string();
        server.close();
      });
      server.bind(0, "127.0.0.1", [server]() mutable {
        netco::spawn([](std::uint16_t port) -> netco::task<> {
          co_await netco::sleep_for(30ms);
          auto client = dgram::create_socket("udp4");
          client.send("late", port);
          client.close();
        }(server.address().port));
      });
    });
    CHECK(got == "late");
  }
  SUBCASE("an unbound socket does not keep the loop alive") {
    node_style([] { (void)dgram::create_socket("udp4"); });
  }
}

TEST_CASE("address(), options and buffer sizes") {
  node_style([] {
    auto s = dgram::create_socket("udp4", {.reuse_addr = true, .recv_buffer_size = 1 << 18});
    s.bind(0, "127.0.0.1", [s]() mutable {
      const auto a = s.address();
      CHECK(a.address == "127.0.0.1");
      CHECK(a.family == "IPv4");
      CHECK(a.port != 0);
      CHECK(s.get_recv_buffer_size() >= (1 << 18));
      s.set_send_buffer_size(1 << 17);
      CHECK(s.get_send_buffer_size() >= (1 << 17));
      CHECK_THROWS_AS(s.set_recv_buffer_size(0), std::system_error);
      s.set_broadcast(true);
      CHECK(s.set_ttl(64) == 64);
      CHECK_THROWS_AS(s.set_ttl(0), std::system_error);
      CHECK(s.set_multicast_ttl(3) == 3);
      CHECK(s.set_multicast_loopback(true));
      s.close();
    });
  });
}

TEST_CASE("multicast on loopback, where the kernel allows it") {
  const std::string group = "239.255.0.77";
  std::string got;
  bool skipped = false;
  node_style([&] {
    auto receiver = dgram::create_socket("udp4", {.reuse_addr = true});
    receiver.on("message", [&, receiver](buffer msg) mutable {
      got = msg.to_string();
      receiver.close();
    });
    receiver.bind(0, "0.0.0.0", [&, receiver]() mutable {
      try {
        receiver.add_membership(group, "127.0.0.1");
      } catch (const std::system_error& e) {
        MESSAGE("multicast skipped: add_membership: ", e.what());
        skipped = true;
        receiver.close();
        return;
      }
      auto sender = dgram::create_socket("udp4");
      sender.set_multicast_interface("127.0.0.1");
      sender.set_multicast_loopback(true);
      sender.set_multicast_ttl(1);
      sender.send("to the group", receiver.address().port, group,
                  [&, sender, receiver](std::error_code ec, std::size_t) mutable {
                    sender.close();
                    if (ec) {
                      MESSAGE("multicast skipped: send: ", ec.message());
                      skipped = true;
                      receiver.close();
                    }
                  });
      // No datagram within 2 s: the kernel does not loop multicast back here.
      netco::spawn([](dgram::socket r, std::string& text, bool& skip) -> netco::task<> {
        co_await netco::sleep_for(2s);
        if (text.empty()) {
          MESSAGE("multicast skipped: nothing arrived on loopback");
          skip = true;
          r.drop_membership("239.255.0.77", "127.0.0.1");
          r.close();
        }
      }(receiver, got, skipped));
    });
  });
  if (!skipped) CHECK(got == "to the group");
}

TEST_CASE("udp6: round trip on ::1 with rinfo family IPv6, where the host has IPv6") {
  std::string got;
  dgram::remote_info from;
  bool skipped = false;
  node_style([&] {
    auto server = dgram::create_socket("udp6");
    server.on("error", [&, server](std::error_code) mutable {
      skipped = true;  // no IPv6 here
      server.close();
    });
    server.on("message", [&, server](buffer msg, const dgram::remote_info& rinfo) mutable {
      got = msg.to_string();
      from = rinfo;
      server.close();
    });
    server.bind(0, "::1", [server]() mutable {
      auto client = dgram::create_socket("udp6");
      client.send("six", server.address().port);  // address: ::1 by default
      client.close();
    });
  });
  if (skipped) return;
  CHECK(got == "six");
  CHECK(from.address == "::1");
  CHECK(from.family == "IPv6");
}

TEST_CASE("a listener that throws is reported by run(); the socket is not left half-done") {
  netco::loop l;
  netco::spawn(l, []() -> netco::task<> {
    auto s = dgram::create_socket("udp4");
    s.on("listening", [] { throw std::runtime_error("boom"); });
    s.bind(0, "127.0.0.1");
    co_return;
  }());
  CHECK_THROWS_WITH(netco_test::detail::run_with_watchdog(l, 10s), "boom");
}

TEST_CASE("udp6 multicast interface by name (\"::%lo\"); an unknown name throws") {
  node_style([] {
    dgram::socket s;
    try {
      s = dgram::create_socket("udp6");
      s.set_multicast_interface("::%lo");
    } catch (const std::system_error& e) {
      MESSAGE("skipped (no IPv6 multicast on lo here): ", e.what());
      if (s) s.close();
      return;
    }
    CHECK_THROWS_AS(s.set_multicast_interface("::%no-such-if0"), std::system_error);
    s.close();
  });
}
