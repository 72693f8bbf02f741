// tests/test_shutdown.cpp: graceful shutdown (netco::shutdown_on_signal) of http::server,
// net::server and coroutine acceptors. Signals are sent to this process only while the
// shutdown's own listener holds them (SIGUSR1, and SIGTERM in one test), so their default
// action never ends the test program.
#include "netco/shutdown.hpp"

#include <signal.h>        // kill
#include <sys/resource.h>  // getrlimit, setrlimit
#include <unistd.h>        // getpid

#include <chrono>
#include <csignal>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "netco/http.hpp"
#include "netco/net.hpp"
#include "netco/tcp.hpp"
#include "netco/timer.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
namespace http = netco::http;
namespace net = netco::net;

namespace {

void send(int number) { REQUIRE(::kill(::getpid(), number) == 0); }

using netco_test::eventually;

/// An HTTP server: "/fast" is answered at once ("ok"); "/slow" is parked in `parked` until the
/// test answers it.
http::server parking_server(std::shared_ptr<std::vector<http::server_response>> parked) {
  http::server server = http::create_server(
      {}, [parked](const http::incoming_message& req, const http::server_response& res) {
        if (req.url() == "/slow") {
          parked->push_back(res);
          return;
        }
        res.write_head(200, {{"Content-Type", "text/plain"}});
        res.end("ok");
      });
  server.listen(0, "127.0.0.1");
  return server;
}

netco::task<netco::tcp::stream> open(std::uint16_t port) {
  co_return co_await netco::tcp::connect("127.0.0.1", port);
}

/// One keep-alive request for "/fast", read to the end of its response: the connection is idle
/// afterwards.
netco::task<> ask_fast(netco::tcp::stream& s) {
  co_await s.write_all(std::string_view("GET /fast HTTP/1.1\r\nHost: t\r\n\r\n"));
  std::string got;
  std::array<char, 512> buf;
  while (!got.ends_with("\r\n\r\nok")) {
    const std::size_t n = co_await s.read_some(std::span(buf));
    REQUIRE(n > 0);
    got.append(buf.data(), n);
  }
}

/// Reads until the peer ends (or resets) the connection.
netco::task<std::string> read_to_end(netco::tcp::stream& s) {
  std::string got;
  std::array<char, 4096> buf;
  for (;;) {
    std::error_code ec;
    const std::size_t n = co_await s.read_some(std::span(buf), ec);
    if (n == 0 || ec) co_return got;
    got.append(buf.data(), n);
  }
}

constexpr std::size_t many = 1000;   // the keep-alive connections of the SIGTERM test
constexpr auto many_deadline = 10s;  // and its deadline (the default)

}  // namespace

TEST_CASE("http: the first signal drains: idle keep-alive closed at once, started responses end") {
  bool drained_with_signal = false;
  netco_test::run([](bool& drained_with) -> netco::task<> {
    auto parked = std::make_shared<std::vector<http::server_response>>();
    http::server server = parking_server(parked);
    const std::uint16_t port = server.address().port;
    netco::graceful_shutdown shutdown = netco::shutdown_on_signal(
        server, {.deadline = 1h,
                 .signals = {SIGUSR1},
                 .stop_loop_on_force = false,
                 .on_drain = [&drained_with](int n) { drained_with = n == SIGUSR1; }});

    constexpr int idle_count = 20, busy_count = 20;
    std::vector<netco::tcp::stream> idle, busy;
    for (int i = 0; i < idle_count; ++i) {
      idle.push_back(co_await open(port));
      co_await ask_fast(idle.back());
    }
    for (int i = 0; i < busy_count; ++i) {
      busy.push_back(co_await open(port));
      co_await busy.back().write_all(std::string_view("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n"));
    }
    CHECK(co_await eventually([&] { return parked->size() == busy_count; }));

    send(SIGUSR1);
    CHECK(co_await eventually([&] { return shutdown.draining(); }));
    CHECK(!server.listening());
    // Idle keep-alive connections end at once, while the parked responses are still pending.
    for (auto& s : idle) CHECK(co_await read_to_end(s) == "");
    std::error_code refused;
    co_await netco::tcp::connect("127.0.0.1", port, refused);
    CHECK(refused == std::errc::connection_refused);

    // The started responses are all finished and delivered, then their connections close.
    for (auto& res : *parked) res.end("done");
    for (auto& s : busy) {
      const std::string reply = co_await read_to_end(s);
      CHECK(reply.starts_with("HTTP/1.1 200 OK\r\n"));
      CHECK(reply.find("Connection: close\r\n") != std::string::npos);
      CHECK(reply.ends_with("done"));
    }
    CHECK(!shutdown.forced());
  }(drained_with_signal));  // and run() returned: nothing was left to keep the loop alive
  CHECK(drained_with_signal);
}

TEST_CASE("http: under load, every response that was started is delivered whole") {
  netco_test::run([]() -> netco::task<> {
    http::server server = http::create_server(
        {}, [](http::incoming_message, http::server_response res) -> netco::task<> {
          co_await netco::sleep_for(1ms);  // in flight for a while: the signal finds some
          res.end("hello");
        });
    server.listen(0, "127.0.0.1");
    const std::uint16_t port = server.address().port;
    netco::graceful_shutdown shutdown = netco::shutdown_on_signal(
        server, {.deadline = 1h, .signals = {SIGUSR1}, .stop_loop_on_force = false});
    struct tally {
      std::size_t whole = 0, truncated = 0, clients_done = 0;
    } t;
    // Each client sends requests one after another on its keep-alive connection until the
    // server ends it: a response is either there whole or not at all.
    auto client = [](std::uint16_t port, tally& t) -> netco::task<> {
      netco::tcp::stream s = co_await open(port);
      std::array<char, 4096> buf;
      for (bool open = true; open;) {
        std::error_code ec;
        co_await s.write_all(std::string_view("GET / HTTP/1.1\r\nHost: t\r\n\r\n"), ec);
        if (ec) break;
        std::string got;
        while (!got.ends_with("\r\n\r\nhello")) {
          const std::size_t n = co_await s.read_some(std::span(buf), ec);
          if (n == 0 || ec) {
            if (!got.empty()) ++t.truncated;
            open = false;
            break;
          }
          got.append(buf.data(), n);
        }
        if (!open) break;
        ++t.whole;
        open = got.find("Connection: close\r\n") == std::string::npos;
      }
      ++t.clients_done;
    };
    constexpr std::size_t clients = 20;
    for (std::size_t i = 0; i < clients; ++i) netco::spawn(client(port, t));
    CHECK(co_await eventually([&] { return t.whole >= 500; }));
    send(SIGUSR1);
    CHECK(co_await eventually([&] { return t.clients_done == clients; }));
    MESSAGE(t.whole, " responses delivered whole");
    CHECK(t.truncated == 0);
    CHECK(!shutdown.forced());
  }());
}

TEST_CASE("http: SIGTERM with 1,000 keep-alive connections open exits within the deadline") {
  // Two descriptors per connection (both ends live in this process), and some to spare.
  rlimit limit{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &limit) == 0);
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &limit) == 0);
  }
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < 2 * many + 64) {
    MESSAGE("skipped: RLIMIT_NOFILE hard limit ", limit.rlim_max, " is below ", 2 * many + 64);
    return;
  }
  std::chrono::steady_clock::time_point signalled;
  netco_test::run(
      [](std::chrono::steady_clock::time_point& signalled) -> netco::task<> {
        auto parked = std::make_shared<std::vector<http::server_response>>();
        http::server server = parking_server(parked);
        const std::uint16_t port = server.address().port;
        netco::shutdown_on_signal(server, {.deadline = many_deadline, .signals = {SIGTERM}});
        std::vector<netco::tcp::stream> clients;
        clients.reserve(many);
        for (std::size_t i = 0; i < many; ++i) {
          clients.push_back(co_await open(port));
          co_await ask_fast(clients.back());
        }
        CHECK(server.connections() == many);
        signalled = std::chrono::steady_clock::now();
        send(SIGTERM);
        std::size_t ended = 0;
        for (auto& s : clients) {
          if (co_await read_to_end(s) == "") ++ended;
          s.close();
        }
        CHECK(ended == many);
      }(signalled),
      60s);
  const auto took = std::chrono::steady_clock::now() - signalled;
  MESSAGE("SIGTERM to loop end: ",
          std::chrono::duration_cast<std::chrono::milliseconds>(took).count(), " ms");
  CHECK(took < many_deadline);
}

TEST_CASE("http: at the deadline the connections left are closed; the loop then ends") {
  netco_test::run([]() -> netco::task<> {
    auto parked = std::make_shared<std::vector<http::server_response>>();
    http::server server = parking_server(parked);
    netco::graceful_shutdown shutdown = netco::shutdown_on_signal(
        server, {.deadline = 200ms, .signals = {SIGUSR1}, .stop_loop_on_force = false});
    netco::tcp::stream s = co_await open(server.address().port);
    co_await s.write_all(std::string_view("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n"));
    CHECK(co_await eventually([&] { return parked->size() == 1; }));
    send(SIGUSR1);
    CHECK(co_await read_to_end(s) == "");  // never answered: closed at the deadline
    CHECK(shutdown.forced());
  }());
}

TEST_CASE("http: a second signal forces at once, without waiting for the deadline") {
  netco_test::run([]() -> netco::task<> {
    auto parked = std::make_shared<std::vector<http::server_response>>();
    http::server server = parking_server(parked);
    netco::graceful_shutdown shutdown = netco::shutdown_on_signal(
        server, {.deadline = 1h, .signals = {SIGUSR1}, .stop_loop_on_force = false});
    netco::tcp::stream s = co_await open(server.address().port);
    co_await s.write_all(std::string_view("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n"));
    CHECK(co_await eventually([&] { return parked->size() == 1; }));
    send(SIGUSR1);
    CHECK(co_await eventually([&] { return shutdown.draining(); }));
    CHECK(!shutdown.forced());
    send(SIGUSR1);
    CHECK(co_await read_to_end(s) == "");
    CHECK(shutdown.forced());
  }());  // the watchdog (20 s) proves the hour-long deadline was not waited for
}

TEST_CASE("forcing stops the loop by default, even when other work still holds it") {
  netco::loop l;
  bool forced = false;
  l.post([&] {
    netco::spawn([]() -> netco::task<> { co_await netco::sleep_for(1h); }());
    netco::graceful_shutdown g =
        netco::shutdown_on_signal({.deadline = 50ms, .signals = {SIGUSR1}});
    g.add({}, [&forced] { forced = true; });
    send(SIGUSR1);
  });
  netco_test::detail::run_with_watchdog(l, 10s);
  CHECK(forced);
}

TEST_CASE("an armed shutdown does not keep the loop alive") {
  netco::loop l;
  netco::graceful_shutdown g;
  l.post([&] { g = netco::shutdown_on_signal({.signals = {SIGUSR1}}); });
  netco_test::detail::run_with_watchdog(l, 5s);
  CHECK(!g.draining());
  g.cancel();
}

TEST_CASE("a drain that let run() return does not force a later run of the loop") {
  netco::loop l;
  bool forced = false;
  netco::graceful_shutdown g;
  l.post([&] {
    g = netco::shutdown_on_signal({.deadline = 50ms, .signals = {SIGUSR1}});
    g.add({}, [&forced] { forced = true; });
    g.begin();  // nothing to drain: run() returns at once
  });
  netco_test::detail::run_with_watchdog(l, 5s);
  CHECK(g.draining());
  bool slept = false;
  l.post([&] {
    netco::spawn([](bool& done) -> netco::task<> {
      co_await netco::sleep_for(200ms);  // past the old deadline
      done = true;
    }(slept));
  });
  netco_test::detail::run_with_watchdog(l, 5s);
  CHECK(slept);
  CHECK(!forced);
  g.cancel();
}

TEST_CASE("net: draining stops accepting; open connections go on; the loop ends after them") {
  netco_test::run([]() -> netco::task<> {
    net::server server = net::create_server([](net::socket s) {
      s.on("data", [s](netco::buffer chunk) mutable { s.write(chunk); });
      s.on("end", [s]() mutable { s.end(); });
    });
    server.listen(0, "127.0.0.1");
    const std::uint16_t port = server.address().port;
    bool closed = false;
    server.on("close", [&closed] { closed = true; });
    netco::graceful_shutdown shutdown = netco::shutdown_on_signal(
        server, {.deadline = 1h, .signals = {SIGUSR1}, .stop_loop_on_force = false});
    netco::tcp::stream s = co_await open(port);
    CHECK(co_await eventually([&] { return server.connections() == 1; }));
    send(SIGUSR1);
    CHECK(co_await eventually([&] { return shutdown.draining(); }));
    std::error_code refused;
    co_await netco::tcp::connect("127.0.0.1", port, refused);
    CHECK(refused == std::errc::connection_refused);
    co_await s.write_all(std::string_view("still here"));  // the open connection still works
    s.shutdown_send();
    CHECK(co_await read_to_end(s) == "still here");
    CHECK(co_await eventually([&] { return closed; }));
  }());
}

TEST_CASE("net: forcing destroys the connections still open") {
  netco_test::run([]() -> netco::task<> {
    net::server server =
        net::create_server([](net::socket s) { s.on("data", [](netco::buffer) {}); });
    server.listen(0, "127.0.0.1");
    netco::graceful_shutdown shutdown = netco::shutdown_on_signal(
        server, {.deadline = 1h, .signals = {SIGUSR1}, .stop_loop_on_force = false});
    netco::tcp::stream a = co_await open(server.address().port);
    netco::tcp::stream b = co_await open(server.address().port);
    CHECK(co_await eventually([&] { return server.connections() == 2; }));
    shutdown.begin();
    CHECK(server.connections() == 2);
    shutdown.force();
    CHECK(co_await read_to_end(a) == "");
    CHECK(co_await read_to_end(b) == "");
    CHECK(co_await eventually([&] { return server.connections() == 0; }));
  }());
}

TEST_CASE("coroutine acceptor: closed on draining; tasks in a cancel_scope cancelled on forcing") {
  netco_test::run([]() -> netco::task<> {
    netco::tcp::acceptor acceptor = netco::tcp::listen("127.0.0.1", 0);
    netco::cancel_scope connections;
    int accept_result = -1;  // 0: ended with operation_canceled
    std::vector<std::error_code> reads;
    int started = 0;
    netco::spawn([](netco::tcp::acceptor& a, netco::cancel_scope& scope, int& result,
                    std::vector<std::error_code>& reads, int& started) -> netco::task<> {
      for (;;) {
        std::error_code ec;
        netco::tcp::stream peer = co_await a.accept(ec);
        if (ec) {
          result = ec == std::errc::operation_canceled ? 0 : 1;
          co_return;
        }
        netco::spawn(
            scope.run([](netco::tcp::stream p, std::vector<std::error_code>& out) -> netco::task<> {
              std::array<char, 64> buf;
              std::error_code ec;
              co_await p.read_some(std::span(buf), ec);  // the client never writes
              out.push_back(ec);
            }(std::move(peer), reads)));
        ++started;
      }
    }(acceptor, connections, accept_result, reads, started));
    netco::graceful_shutdown shutdown = netco::shutdown_on_signal(
        acceptor, {.deadline = 1h, .signals = {SIGUSR1}, .stop_loop_on_force = false});
    shutdown.add(connections);
    netco::tcp::stream client = co_await open(acceptor.port());
    CHECK(co_await eventually([&] { return started == 1; }));
    send(SIGUSR1);
    CHECK(co_await eventually([&] { return accept_result == 0; }));
    CHECK(reads.empty());  // draining leaves the connection task alone
    shutdown.force();
    CHECK(co_await eventually([&] { return reads.size() == 1; }));
    CHECK(reads.front() == std::errc::operation_canceled);
  }());
}
