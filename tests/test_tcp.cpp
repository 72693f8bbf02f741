// tests/test_tcp.cpp: awaitable TCP over loopback (echo, half-close, errors, cancellation)
#include "netco/tcp.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "netco/cancel.hpp"
#include "netco/resolve.hpp"
#include "netco/spawn.hpp"
#include "netco/timer.hpp"
#include "netco/when_all.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
using netco::task;

namespace {

/// A connected client stream and the server's side of it.
task<std::pair<netco::tcp::stream, netco::tcp::stream>> connected_pair(
    netco::tcp::acceptor& acceptor) {
  auto accept_one = [](netco::tcp::acceptor& a) -> task<netco::tcp::stream> {
    co_return co_await a.accept();
  };
  auto [client, server] = co_await netco::when_all(
      netco::tcp::connect("127.0.0.1", acceptor.port()), accept_one(acceptor));
  co_return std::pair(std::move(client), std::move(server));
}

task<> echo_once(netco::tcp::acceptor& acceptor) {
  netco::tcp::stream peer = co_await acceptor.accept();
  std::array<std::byte, 16 * 1024> buf;
  while (std::size_t n = co_await peer.read_some(buf)) {
    co_await peer.write_all(std::span(buf).first(n));
  }
  peer.shutdown_send();
}

/// Sends payload in irregular chunks, half-closes, and returns everything read back.
task<std::vector<std::byte>> round_trip(netco::tcp::stream& s,
                                        const std::vector<std::byte>& payload) {
  auto writer = [](netco::tcp::stream& out, const std::vector<std::byte>& data) -> task<> {
    std::size_t at = 0, step = 1;
    while (at < data.size()) {
      const std::size_t n = std::min(step, data.size() - at);
      co_await out.write_all(std::span(data).subspan(at, n));
      at += n;
      step = step * 3 % 70'001 + 1;
    }
    out.shutdown_send();
  };
  auto reader = [](netco::tcp::stream& in) -> task<std::vector<std::byte>> {
    std::vector<std::byte> got;
    std::array<std::byte, 4096> buf;
    while (std::size_t n = co_await in.read_some(buf))
      got.insert(got.end(), buf.begin(), buf.begin() + n);
    co_return got;
  };
  auto [none, got] = co_await netco::when_all(writer(s, payload), reader(s));
  (void)none;
  co_return got;
}

}  // namespace

TEST_CASE("listen on port 0 picks a free port and reports it") {
  auto a = netco::tcp::listen("127.0.0.1", 0);
  CHECK(a.port() != 0);
  CHECK(a.local_endpoint().address().to_string() == "127.0.0.1");
}

TEST_CASE("echo of a large random payload in irregular chunks, with half-close") {
  netco_test::run([]() -> task<> {
    auto acceptor = netco::tcp::listen("127.0.0.1", 0);
    netco::spawn(echo_once(acceptor));
    auto client = co_await netco::tcp::connect("127.0.0.1", acceptor.port());
    const auto payload = netco_test::random_bytes(4 << 20, 7);
    auto got = co_await round_trip(client, payload);
    CHECK(got.size() == payload.size());
    CHECK(got == payload);
  }());
}

TEST_CASE("IPv6 loopback, and names resolved on connect") {
  netco_test::run([]() -> task<> {
    std::error_code ec;
    auto acceptor6 = netco::tcp::listen("::1", 0, 16, ec);
    if (!ec) {  // hosts without IPv6 skip this half
      netco::spawn(echo_once(acceptor6));
      auto c6 = co_await netco::tcp::connect("::1", acceptor6.port());
      auto got = co_await round_trip(c6, netco_test::random_bytes(1000));
      CHECK(got.size() == 1000);
    }
    auto acceptor = netco::tcp::listen("127.0.0.1", 0);
    netco::spawn(echo_once(acceptor));
    auto c = co_await netco::tcp::connect("localhost", acceptor.port());
    auto got = co_await round_trip(c, netco_test::random_bytes(1000));
    CHECK(got.size() == 1000);
  }());
}

TEST_CASE("read_exact fills the buffer, and returns short only at EOF") {
  netco_test::run([]() -> task<> {
    auto acceptor = netco::tcp::listen("127.0.0.1", 0);
    auto [client, server] = co_await connected_pair(acceptor);
    co_await client.write_all(std::string_view("0123456789"));
    client.shutdown_send();
    std::array<std::byte, 4> four;
    CHECK(co_await server.read_exact(four) == 4);
    CHECK(static_cast<char>(four[0]) == '0');
    std::array<std::byte, 100> rest;
    CHECK(co_await server.read_exact(rest) == 6);
    CHECK(co_await server.read_exact(rest) == 0);  // reads after EOF return 0 at once
    CHECK(co_await server.read_some(rest) == 0);
  }());
}

TEST_CASE("gather write sends every buffer in order with one call") {
  netco_test::run([]() -> task<> {
    auto acceptor = netco::tcp::listen("127.0.0.1", 0);
    netco::spawn(echo_once(acceptor));
    auto client = co_await netco::tcp::connect("127.0.0.1", acceptor.port());
    std::string a = "head:", b(100'000, 'x'), c = ":tail";
    const std::array<std::span<const std::byte>, 3> parts{
        std::as_bytes(std::span(a)), std::as_bytes(std::span(b)), std::as_bytes(std::span(c))};
    auto reader = [](netco::tcp::stream& in) -> task<std::string> {
      std::string got;
      std::array<char, 8192> buf;
      while (std::size_t n = co_await in.read_some(buf)) got.append(buf.data(), n);
      co_return got;
    };
    auto writer = [](netco::tcp::stream& out,
                     std::span<const std::span<const std::byte>> p) -> task<std::size_t> {
      std::size_t n = co_await out.write_all(p);
      out.shutdown_send();
      co_return n;
    };
    auto [written, got] = co_await netco::when_all(writer(client, parts), reader(client));
    CHECK(written == a.size() + b.size() + c.size());
    CHECK(got == a + b + c);
  }());
}

TEST_CASE("zero-length reads and writes complete at once with 0") {
  netco_test::run([]() -> task<> {
    auto acceptor = netco::tcp::listen("127.0.0.1", 0);
    netco::spawn(echo_once(acceptor));
    auto client = co_await netco::tcp::connect("127.0.0.1", acceptor.port());
    CHECK(co_await client.read_some(std::span<std::byte>()) == 0);
    CHECK(co_await client.write_all(std::span<const std::byte>()) == 0);
  }());
}

TEST_CASE("wait_readable, then try_read_some into the loop's scratch buffer; try_write_some") {
  netco_test::run([]() -> task<> {
    auto acceptor = netco::tcp::listen("127.0.0.1", 0);
    auto [client, server] = co_await connected_pair(acceptor);
    std::error_code ec;
    const std::span<std::byte> scratch = server.owner().scratch();
    CHECK(scratch.size() == netco::loop::scratch_size);
    CHECK(server.try_read_some(scratch, ec) == 0);  // nothing sent yet: no waiting either
    CHECK(ec == std::errc::operation_would_block);

    const std::string a = "hello, ", b = "idle world";
    const std::array<std::span<const std::byte>, 2> parts{std::as_bytes(std::span(a)),
                                                          std::as_bytes(std::span(b))};
    CHECK(client.try_write_some(parts, ec) == a.size() + b.size());
    CHECK(!ec);
    co_await server.wait_readable();
    std::string got;
    while (got.size() < a.size() + b.size()) {
      const std::size_t n = server.try_read_some(scratch, ec);
      if (ec == std::errc::operation_would_block) {
        co_await server.wait_readable();
        continue;
      }
      REQUIRE(!ec);
      got.append(reinterpret_cast<const char*>(scratch.data()), n);
    }
    CHECK(got == a + b);

    // A socket buffer that fills: try_write_some takes part, never waits, reports no error.
    const std::vector<std::byte> big(8 << 20, std::byte{'x'});
    const std::array<std::span<const std::byte>, 1> one{std::span(big)};
    const std::size_t taken = server.try_write_some(one, ec);
    CHECK(!ec);
    CHECK(taken < big.size());
    server.try_write_some(one, ec);
    CHECK(!ec);

    client.shutdown_send();  // EOF: 0 with no error, and again after
    co_await server.wait_readable();
    CHECK(server.try_read_some(scratch, ec) == 0);
    CHECK(!ec);
    CHECK(co_await server.read_some(scratch) == 0);
  }());
}

TEST_CASE("refused connect: ECONNREFUSED in both error forms") {
  netco_test::run([]() -> task<> {
    std::uint16_t closed_port;
    {
      auto a = netco::tcp::listen("127.0.0.1", 0);
      closed_port = a.port();
    }
    std::error_code ec;
    auto s = co_await netco::tcp::connect("127.0.0.1", closed_port, ec);
    CHECK(ec == std::errc::connection_refused);
    CHECK_FALSE(s.is_open());
    try {
      co_await netco::tcp::connect("127.0.0.1", closed_port);
      FAIL("expected ECONNREFUSED");
    } catch (const std::system_error& e) {
      CHECK(e.code() == std::errc::connection_refused);
    }
  }());
}

TEST_CASE("listening on a busy port fails with EADDRINUSE") {
  auto a = netco::tcp::listen("127.0.0.1", 0);
  std::error_code ec;
  auto b = netco::tcp::listen("127.0.0.1", a.port(), 16, ec);
  CHECK(ec == std::errc::address_in_use);
  CHECK_FALSE(b.is_open());
  CHECK_THROWS_AS(netco::tcp::listen("127.0.0.1", a.port()), std::system_error);
}

TEST_CASE("closing a stream completes its pending read with operation_canceled") {
  netco_test::run([]() -> task<> {
    auto acceptor = netco::tcp::listen("127.0.0.1", 0);
    auto [client, server] = co_await connected_pair(acceptor);
    auto reader = [](netco::tcp::stream& s) -> task<std::error_code> {
      std::array<std::byte, 16> buf;
      std::error_code ec;
      co_await s.read_some(buf, ec);
      co_return ec;
    };
    auto closer = [](netco::tcp::stream& s) -> task<> {
      co_await netco::sleep_for(5ms);
      s.close();
    };
    auto [ec, none] = co_await netco::when_all(reader(server), closer(server));
    (void)none;
    CHECK(ec == std::errc::operation_canceled);
  }());
}

TEST_CASE("closing the acceptor cancels a pending accept") {
  netco_test::run([]() -> task<> {
    auto acceptor = netco::tcp::listen("127.0.0.1", 0);
    auto accepter = [](netco::tcp::acceptor& a) -> task<std::error_code> {
      std::error_code ec;
      auto s = co_await a.accept(ec);
      CHECK_FALSE(s.is_open());
      co_return ec;
    };
    auto closer = [](netco::tcp::acceptor& a) -> task<> {
      co_await netco::sleep_for(5ms);
      a.close();
    };
    auto [ec, none] = co_await netco::when_all(accepter(acceptor), closer(acceptor));
    (void)none;
    CHECK(ec == std::errc::operation_canceled);
  }());
}

// io_uring: the new listener usually gets the closed one's descriptor number while the old
// accept is still pending in the kernel; its first connection was lost until close() shut the
// listening socket down first (detail/stream.hpp).
TEST_CASE("a listener opened right after one with a pending accept closed still accepts") {
  netco_test::run([]() -> task<> {
    auto first = netco::tcp::listen("127.0.0.1", 0);
    auto accepter = [](netco::tcp::acceptor& a) -> task<> {
      std::error_code ec;
      co_await a.accept(ec);
    };
    netco::spawn(accepter(first));  // pending
    co_await netco::sleep_for(1ms);
    first.close();
    auto second = netco::tcp::listen("127.0.0.1", 0);
    auto [client, server] =
        co_await netco::when_all(netco::tcp::connect("127.0.0.1", second.port()),
                                 netco::with_timeout(
                                     [](netco::tcp::acceptor& a) -> task<netco::tcp::stream> {
                                       co_return co_await a.accept();
                                     }(second),
                                     2s));
    co_await client.write_all(std::string_view("ping"));
    std::array<std::byte, 8> buf;
    CHECK(co_await server.read_some(buf) == 4);
  }());
}

TEST_CASE("a read under with_timeout times out, and the stream stays usable") {
  netco_test::run([]() -> task<> {
    auto acceptor = netco::tcp::listen("127.0.0.1", 0);
    auto [client, server] = co_await connected_pair(acceptor);
    auto read_one = [](netco::tcp::stream& s) -> task<std::size_t> {
      std::array<std::byte, 16> buf;
      co_return co_await s.read_some(buf);
    };
    try {
      co_await netco::with_timeout(read_one(server), 10ms);
      FAIL("expected a timeout");
    } catch (const std::system_error& e) {
      CHECK(e.code() == std::errc::timed_out);
    }
    co_await client.write_all(std::string_view("late"));
    CHECK(co_await netco::with_timeout(read_one(server), 5s) == 4);
  }());
}

TEST_CASE("thousands of cancelled reads leave other connections' pending reads alone") {
  // Under io_uring, 9,000 read-and-cancel rounds wrap Asio's submission ring (16,384 slots), so
  // cancellations reuse the slots that the idle connections' reads were submitted in: with
  // Asio 1.22's stale user_data (netco/detail/asio.hpp) those reads would end with ENOENT.
  netco_test::run([]() -> task<> {
    auto acceptor = netco::tcp::listen("127.0.0.1", 0);
    auto read_text = [](netco::tcp::stream& s, std::string& got, std::error_code& ec) -> task<> {
      std::array<char, 16> buf;
      const std::size_t n = co_await s.read_some(std::as_writable_bytes(std::span(buf)), ec);
      got.assign(buf.data(), n);
    };
    constexpr int idle_count = 64;
    std::vector<std::pair<netco::tcp::stream, netco::tcp::stream>> idle;
    idle.reserve(idle_count);  // the readers hold references to the streams
    std::vector<std::string> got(idle_count);
    std::vector<std::error_code> errors(idle_count);
    for (int i = 0; i < idle_count; ++i) {
      idle.push_back(co_await connected_pair(acceptor));
      netco::spawn(read_text(idle.back().second, got[i], errors[i]));
    }
    auto [churn_client, churn_server] = co_await connected_pair(acceptor);
    auto cancel_now = [](netco::cancel_scope& scope) -> task<> {
      scope.cancel();
      co_return;
    };
    for (int round = 0; round < 9'000; ++round) {
      netco::cancel_scope scope;
      std::string ignored;
      std::error_code ec;
      co_await netco::when_all(scope.run(read_text(churn_server, ignored, ec)), cancel_now(scope));
      REQUIRE(ec == std::errc::operation_canceled);
    }
    for (int i = 0; i < idle_count; ++i) {
      CHECK_MESSAGE(!errors[i], "connection ", i, ": ", errors[i].message());
      co_await idle[i].first.write_all(std::string_view("hello"));
    }
    CHECK(co_await netco_test::eventually([&] {
      return std::all_of(got.begin(), got.end(), [](const std::string& g) { return !g.empty(); });
    }));
    for (int i = 0; i < idle_count; ++i) CHECK(got[i] == "hello");
  }());
}

TEST_CASE("a reset peer: ECONNRESET on read, EPIPE/ECONNRESET on write, never SIGPIPE") {
  netco_test::run([]() -> task<> {
    auto acceptor = netco::tcp::listen("127.0.0.1", 0);
    auto [client, server] = co_await connected_pair(acceptor);
    co_await client.write_all(std::string_view("unread"));  // unread data makes close send RST
    client.reset();
    std::array<std::byte, 64> buf;
    std::error_code ec;
    std::size_t n = co_await server.read_some(buf, ec);
    if (!ec && n > 0) n = co_await server.read_some(buf, ec);
    CHECK(ec == std::errc::connection_reset);
    const std::string big(1 << 20, 'x');
    std::error_code wec;
    for (int i = 0; i < 4 && !wec; ++i) co_await server.write_all(big, wec);
    CHECK((wec == std::errc::broken_pipe || wec == std::errc::connection_reset));
  }());
}

TEST_CASE("endpoints, no-delay and keep-alive options") {
  netco_test::run([]() -> task<> {
    auto acceptor = netco::tcp::listen("127.0.0.1", 0);
    auto [client, server] = co_await connected_pair(acceptor);
    CHECK(client.remote_endpoint().port() == acceptor.port());
    CHECK(server.remote_endpoint() == client.local_endpoint());
    client.set_no_delay(true);
    client.set_keep_alive(true, 30);
    asio::ip::tcp::no_delay nd;
    client.asio_socket().get_option(nd);
    CHECK(nd.value());
  }());
}

TEST_CASE("a name lookup in progress is cancelled at once (with_timeout, cancel_scope)") {
  netco_test::run([]() -> task<> {
    // getaddrinfo runs on its own thread and cannot be stopped: the awaiter must not wait for
    // it (a slow DNS server would hold with_timeout(tcp::connect(name, port), 1s) for minutes).
    auto lookup = [](std::error_code& ec) -> task<> {
      (void)co_await netco::resolve("localhost", 80, ec);
    };
    auto cancel_now = [](netco::cancel_scope& scope) -> task<> {
      scope.cancel();
      co_return;
    };
    netco::cancel_scope scope;
    std::error_code ec;
    co_await netco::when_all(scope.run(lookup(ec)), cancel_now(scope));
    CHECK(ec == std::errc::operation_canceled);
  }());
}

// The liburing wrappers that Asio's io_uring code is compiled with stay inside netco: a user's
// own call of liburing's functions must not be renamed by them.
#if defined(io_uring_prep_cancel) || defined(io_uring_prep_timeout_remove)
#error "netco leaked its liburing wrapper macros into user code"
#endif
