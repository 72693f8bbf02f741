// tests/test_udp.cpp: awaitable UDP (sizes up to the maximum, truncation, connected mode, ICMP)
#include "netco/udp.hpp"

#include <array>
#include <string>
#include <system_error>
#include <vector>

#include "netco/spawn.hpp"
#include "netco/timer.hpp"
#include "netco/when_all.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
using netco::task;

namespace {
/// Echoes `count` datagrams back to their senders.
task<> echo(netco::udp::socket& s, int count) {
  std::vector<std::byte> buf(netco::udp::max_datagram_v6);
  for (int i = 0; i < count; ++i) {
    auto [n, from] = co_await s.receive_from(buf);
    co_await s.send_to(std::span(buf).first(n), from);
  }
}
}  // namespace

TEST_CASE("datagrams of 0, 1, 1472 and 65,507 bytes make the round trip intact") {
  netco_test::run([]() -> task<> {
    netco::udp::socket server, client;
    server.bind("127.0.0.1", 0);
    const auto to = server.local_endpoint();
    netco::spawn(echo(server, 4));
    std::vector<std::byte> back(netco::udp::max_datagram_v4);
    for (std::size_t size :
         {std::size_t{0}, std::size_t{1}, std::size_t{1472}, netco::udp::max_datagram_v4}) {
      const auto payload = netco_test::random_bytes(size, static_cast<unsigned>(size));
      CHECK(co_await client.send_to(payload, to) == size);
      auto [n, from] = co_await client.receive_from(back);
      CHECK(n == size);
      CHECK(from == to);
      CHECK(std::equal(payload.begin(), payload.end(), back.begin()));
    }
  }());
}

TEST_CASE("send before bind binds implicitly to an ephemeral port, as Node does") {
  netco_test::run([]() -> task<> {
    netco::udp::socket server, client;
    server.bind("127.0.0.1", 0);
    std::array<std::byte, 4> msg{};
    co_await client.send_to(msg, server.local_endpoint());
    std::array<std::byte, 16> buf;
    auto [n, from] = co_await server.receive_from(buf);
    CHECK(n == 4);
    CHECK(from.port() != 0);
    CHECK(from.port() == client.local_endpoint().port());
    CHECK(from.address().to_string() == "127.0.0.1");
  }());
}

TEST_CASE("a datagram too large to send fails with EMSGSIZE, and the socket keeps working") {
  netco_test::run([]() -> task<> {
    netco::udp::socket server, client;
    server.bind("127.0.0.1", 0);
    std::vector<std::byte> huge(netco::udp::max_datagram_v4 + 1);
    std::error_code ec;
    co_await client.send_to(huge, server.local_endpoint(), ec);
    CHECK(ec == std::errc::message_size);
    CHECK_THROWS_AS(co_await client.send_to(huge, server.local_endpoint()), std::system_error);
    std::array<std::byte, 3> small{};
    CHECK(co_await client.send_to(small, server.local_endpoint()) == 3);
  }());
}

TEST_CASE("a datagram larger than the buffer is reported, never cut silently") {
  netco_test::run([]() -> task<> {
    netco::udp::socket server, client;
    server.bind("127.0.0.1", 0);
    const auto payload = netco_test::random_bytes(100);
    co_await client.send_to(payload, server.local_endpoint());
    std::array<std::byte, 10> small;
    std::error_code ec;
    auto info = co_await server.receive_from(small, ec);
    CHECK(ec == std::errc::message_size);
    CHECK(info.size == small.size());
  }());
}

TEST_CASE("connected mode: ICMP port unreachable surfaces as ECONNREFUSED and the socket goes on") {
  netco_test::run([]() -> task<> {
    std::uint16_t closed_port;
    {
      netco::udp::socket probe;
      probe.bind("127.0.0.1", 0);
      closed_port = probe.local_endpoint().port();
    }
    netco::udp::socket client;
    client.connect("127.0.0.1", closed_port);
    std::array<std::byte, 8> msg{};
    std::array<std::byte, 8> buf;
    std::error_code ec;
    co_await client.send(msg, ec);  // the ICMP reply arrives after the send
    CHECK_FALSE(ec);
    co_await netco::with_timeout(
        [](netco::udp::socket& s, std::span<std::byte> b, std::error_code& e) -> task<> {
          co_await s.receive(b, e);
        }(client, buf, ec),
        5s);
    CHECK(ec == std::errc::connection_refused);
    // Still usable: connect to a live echo and round-trip.
    netco::udp::socket server;
    server.bind("127.0.0.1", 0);
    netco::spawn(echo(server, 1));
    client.connect("127.0.0.1", server.local_endpoint().port());
    co_await client.send(msg);
    auto info = co_await client.receive(buf);
    CHECK(info.size == msg.size());
    CHECK(info.sender == server.local_endpoint());
  }());
}

TEST_CASE("IPv6 loopback round trip, where the host has IPv6") {
  netco_test::run([]() -> task<> {
    netco::udp::socket server(true), client(true);
    std::error_code ec;
    server.bind("::1", 0, ec);
    if (ec) co_return;  // no IPv6 here
    netco::spawn(echo(server, 1));
    const auto payload = netco_test::random_bytes(netco::udp::max_datagram_v6, 9);
    co_await client.send_to(payload, server.local_endpoint());
    std::vector<std::byte> back(netco::udp::max_datagram_v6);
    auto [n, from] = co_await client.receive_from(back);
    CHECK(n == payload.size());
    CHECK(std::equal(payload.begin(), payload.end(), back.begin()));
  }());
}

TEST_CASE("closing a socket cancels its pending receive") {
  netco_test::run([]() -> task<> {
    netco::udp::socket s;
    s.bind("127.0.0.1", 0);
    auto receiver = [](netco::udp::socket& sock) -> task<std::error_code> {
      std::array<std::byte, 8> buf;
      std::error_code ec;
      co_await sock.receive_from(buf, ec);
      co_return ec;
    };
    auto closer = [](netco::udp::socket& sock) -> task<> {
      co_await netco::sleep_for(5ms);
      sock.close();
    };
    auto [ec, none] = co_await netco::when_all(receiver(s), closer(s));
    (void)none;
    CHECK(ec == std::errc::operation_canceled);
  }());
}

TEST_CASE("a gather send puts its parts into ONE datagram; more than 64 parts is EINVAL") {
  netco_test::run([]() -> task<> {
    netco::udp::socket server, client;
    server.bind("127.0.0.1", 0);
    const std::string a = "head|", b = "", c = "tail";
    const std::span<const std::byte> parts[] = {
        std::as_bytes(std::span(a)), std::as_bytes(std::span(b)), std::as_bytes(std::span(c))};
    CHECK(co_await client.send_to(parts, server.local_endpoint()) == 9);
    std::array<std::byte, 64> buf;
    auto [n, from] = co_await server.receive_from(buf);
    CHECK(std::string(reinterpret_cast<const char*>(buf.data()), n) == "head|tail");
    std::vector<std::span<const std::byte>> many(netco::udp::max_gather_parts + 1,
                                                 std::as_bytes(std::span(c)));
    std::error_code ec;
    co_await client.send_to(many, server.local_endpoint(), ec);
    CHECK(ec == std::errc::invalid_argument);
  }());
}

TEST_CASE("an uncounted receive does not keep the loop alive") {
  netco::loop l;
  bool started = false, resumed = false;
  netco::udp::socket s(l, false);
  s.bind("127.0.0.1", 0);
  netco::spawn(l, [](netco::udp::socket& sock, bool& st, bool& res) -> task<> {
    std::array<std::byte, 8> buf;
    std::error_code ec;
    st = true;
    co_await sock.receive_from(buf, ec, netco::udp::uncounted);
    res = true;
  }(s, started, resumed));
  netco_test::detail::run_with_watchdog(l, 10s);  // returns: nothing counted is pending
  CHECK(started);
  CHECK_FALSE(resumed);
}
