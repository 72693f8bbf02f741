// tests/test_cluster.cpp: netco::cluster: N loops on N threads, one port, both balancing modes
#include "netco/cluster.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "netco/tcp.hpp"
#include "netco/timer.hpp"
#include "netco/when_all.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
namespace http = netco::http;
namespace net = netco::net;
using netco::balancing;

namespace {

constexpr std::array modes{balancing::reuse_port, balancing::handoff};

netco::cluster_listen_options on_port_0(balancing mode) {
  netco::cluster_listen_options o;
  o.balance = mode;
  return o;
}

/// Reads one response whose body has a Content-Length (what http::server sends for end(text)).
netco::task<std::string> read_response(netco::tcp::stream& s) {
  std::string in;
  std::array<char, 4096> buf;
  for (;;) {
    const auto head_end = in.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      const auto at = in.find("Content-Length: ");
      REQUIRE(at != std::string::npos);
      const std::size_t length = std::stoul(in.substr(at + 16));
      if (in.size() >= head_end + 4 + length) co_return in.substr(0, head_end + 4 + length);
    }
    const std::size_t n = co_await s.read_some(std::span<char>(buf));
    if (n == 0) co_return in;  // cut short: the caller sees an incomplete response
    in.append(buf.data(), n);
  }
}

std::string body_of(const std::string& response) {
  const auto at = response.find("\r\n\r\n");
  return at == std::string::npos ? std::string() : response.substr(at + 4);
}

/// One request on a fresh connection (Connection: close); all that comes back until EOF.
netco::task<std::string> get(std::uint16_t port) {
  netco::tcp::stream s = co_await netco::tcp::connect("127.0.0.1", port);
  co_await s.write_all(std::string_view("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
  std::string in;
  std::array<char, 4096> buf;
  while (std::size_t n = co_await s.read_some(std::span<char>(buf))) in.append(buf.data(), n);
  co_return in;
}

/// Sends text, half-closes, and returns all that comes back (an echo server's answer).
netco::task<std::string> echo_round_trip(std::uint16_t port, std::string text) {
  netco::tcp::stream s = co_await netco::tcp::connect("127.0.0.1", port);
  co_await s.write_all(text);
  s.shutdown_send();
  std::string in;
  std::array<char, 4096> buf;
  while (std::size_t n = co_await s.read_some(std::span<char>(buf))) in.append(buf.data(), n);
  co_return in;
}

/// An HTTP server whose body names the loop that answered.
http::server loop_naming_server(netco::cluster& c) {
  return http::create_server([&c](const http::incoming_message&, const http::server_response& res) {
    res.write_head(200, {{"Content-Type", "text/plain"}});
    res.end(std::to_string(c.index()));
  });
}

/// `count` connections, `parallel` at a time; returns each answer.
template <class Fn>
std::vector<std::string> many(std::size_t count, std::size_t parallel, Fn one) {
  return netco_test::run(
      [](std::size_t count, std::size_t parallel, Fn one) -> netco::task<std::vector<std::string>> {
        auto answers = std::make_shared<std::vector<std::string>>(count);
        auto next = std::make_shared<std::size_t>(0);
        std::vector<netco::task<>> workers;
        for (std::size_t w = 0; w < parallel; ++w) {
          workers.push_back([](std::shared_ptr<std::vector<std::string>> answers,
                               std::shared_ptr<std::size_t> next, Fn one) -> netco::task<> {
            while (*next < answers->size()) {
              const std::size_t i = (*next)++;
              (*answers)[i] = co_await one(i);
            }
          }(answers, next, one));
        }
        co_await netco::when_all(std::move(workers));
        co_return *answers;
      }(count, parallel, std::move(one)),
      60s);
}

}  // namespace

TEST_CASE("a cluster runs its loops on their own threads; post, broadcast and call reach them") {
  netco::cluster c(2);
  REQUIRE(c.size() == 2);
  CHECK(c.index() == 2);  // not one of its loops
  const auto id0 = c.call(0, [] { return std::this_thread::get_id(); });
  const auto id1 = c.call(1, [] { return std::this_thread::get_id(); });
  CHECK(id0 != id1);
  CHECK(id0 != std::this_thread::get_id());
  CHECK(c.call(1, [&c] { return c.index(); }) == 1);

  std::array<std::atomic<int>, 2> hits{};
  c.broadcast([&hits](std::size_t i) { hits[i].fetch_add(1); });
  std::atomic<bool> relayed{false};
  CHECK(c.post(0, [&c, &relayed] { c.post(1, [&relayed] { relayed = true; }); }));
  c.each([](std::size_t) {});  // each loop runs what was posted before, in order
  c.each([](std::size_t) {});
  CHECK(hits[0] == 1);
  CHECK(hits[1] == 1);
  CHECK(relayed);

  CHECK_THROWS_AS(c.call(5, [] {}), std::out_of_range);
  CHECK_THROWS_AS(c.call(0, [] { throw std::runtime_error("from the loop"); }), std::runtime_error);
  bool nested_refused = false;
  c.call(0, [&c, &nested_refused] {
    try {
      c.call(1, [] {});  // would block loop 0
    } catch (const std::logic_error&) {
      nested_refused = true;
    }
  });
  CHECK(nested_refused);
  c.drain();
  c.join();
  CHECK_FALSE(c.post(0, [] {}));  // finished loops drop posts
}

TEST_CASE("http::server on 2 loops: 200 connections spread over both, each answered") {
  for (balancing mode : modes) {
    CAPTURE(static_cast<int>(mode));
    netco::cluster c(2);
    const std::uint16_t port = c.listen(on_port_0(mode), [&c] { return loop_naming_server(c); });
    REQUIRE(port != 0);
    const auto answers = many(200, 16, [port](std::size_t) { return get(port); });
    std::array<int, 2> per_loop{};
    for (const std::string& a : answers) {
      REQUIRE(a.starts_with("HTTP/1.1 200 OK\r\n"));
      const std::string body = body_of(a);
      REQUIRE((body == "0" || body == "1"));
      ++per_loop[body == "1"];
    }
    CHECK(per_loop[0] > 0);  // reuse_port: the kernel's hash; 200 on one loop is ~2^-199
    CHECK(per_loop[1] > 0);
    if (mode == balancing::handoff) CHECK(per_loop[0] == 100);  // strict round robin
    c.drain();
    c.join();
    const netco::cluster_stats total = c.total();
    CHECK(total.connections == 200);
    CHECK(total.requests == 200);
    CHECK(c.stats(0).requests == static_cast<std::uint64_t>(per_loop[0]));
    CHECK(total.handed_off == (mode == balancing::handoff ? 200u : 0u));
  }
}

TEST_CASE("net::server (Node style) on 2 loops: echo, and its bytes counted per loop") {
  for (balancing mode : modes) {
    CAPTURE(static_cast<int>(mode));
    netco::cluster c(2);
    const std::uint16_t port = c.listen(on_port_0(mode), [] {
      return net::create_server([](net::socket s) {
        s.on("data", [s](netco::buffer chunk) mutable { s.write(chunk); });
        s.on("end", [s]() mutable { s.end(); });
      });
    });
    const auto answers = many(60, 8, [port](std::size_t i) {
      return echo_round_trip(port, "hello " + std::to_string(i));
    });
    for (std::size_t i = 0; i < answers.size(); ++i)
      CHECK(answers[i] == "hello " + std::to_string(i));
    c.drain();
    c.join();
    const netco::cluster_stats total = c.total();
    CHECK(total.connections == 60);
    CHECK(total.closed == 60);
    CHECK(total.bytes_read == total.bytes_written);
    CHECK(total.bytes_read > 60 * 7);
    CHECK(c.stats(0).connections > 0);
    CHECK(c.stats(1).connections > 0);
  }
}

TEST_CASE("serve() runs a coroutine per connection on 2 loops") {
  for (balancing mode : modes) {
    CAPTURE(static_cast<int>(mode));
    netco::cluster c(2);
    const std::uint16_t port =
        c.serve(on_port_0(mode), [&c](netco::tcp::stream peer) -> netco::task<> {
          std::array<std::byte, 1024> buf;
          const std::string tag = std::to_string(c.index()) + ":";
          while (std::size_t n = co_await peer.read_some(buf)) {
            co_await peer.write_all(tag);
            co_await peer.write_all(std::span(buf).first(n));
          }
          peer.shutdown_send();
        });
    const auto answers = many(60, 8, [port](std::size_t) { return echo_round_trip(port, "x"); });
    std::array<int, 2> per_loop{};
    for (const std::string& a : answers) {
      REQUIRE((a == "0:x" || a == "1:x"));
      ++per_loop[a[0] == '1'];
    }
    CHECK(per_loop[0] > 0);
    CHECK(per_loop[1] > 0);
    c.drain();
    c.join();
    CHECK(c.total().connections == 60);
    CHECK(c.total().closed == 60);
  }
}

TEST_CASE("drain() under load: every response already started is finished, then loops end") {
  for (balancing mode : modes) {
    CAPTURE(static_cast<int>(mode));
    netco::cluster c(2);
    std::atomic<int> started{0};
    const std::uint16_t port = c.listen(on_port_0(mode), [&started] {
      return http::create_server(
          [&started](http::incoming_message, http::server_response res) -> netco::task<> {
            started.fetch_add(1);
            res.write_head(200, {{"Content-Type", "text/plain"}});
            res.write("part one, ");
            co_await netco::sleep_for(300ms);  // drain() arrives in here
            res.end("part two");
          });
    });
    constexpr int n = 40;
    const auto t0 = std::chrono::steady_clock::now();
    const auto answers = netco_test::run(
        [](std::uint16_t port, netco::cluster& c,
           std::atomic<int>& started) -> netco::task<std::vector<std::string>> {
          std::vector<netco::task<std::string>> requests;
          for (int i = 0; i < n; ++i) requests.push_back(get(port));
          auto all = std::make_shared<std::vector<std::string>>();
          netco::spawn([](std::vector<netco::task<std::string>> requests,
                          std::shared_ptr<std::vector<std::string>> all) -> netco::task<> {
            *all = co_await netco::when_all(std::move(requests));
          }(std::move(requests), all));
          while (started.load() < n) co_await netco::sleep_for(5ms);
          c.drain(20s);
          while (all->size() < static_cast<std::size_t>(n)) co_await netco::sleep_for(5ms);
          co_return *all;
        }(port, c, started),
        30s);
    c.join();
    CHECK(std::chrono::steady_clock::now() - t0 < 15s);  // ended with its work, not the deadline
    for (const std::string& a : answers) {
      CHECK(a.starts_with("HTTP/1.1 200 OK\r\n"));
      // Chunked: both parts, then the last chunk (a response cut short lacks it).
      CHECK(a.find("part one, ") != std::string::npos);
      CHECK(a.find("part two") != std::string::npos);
      CHECK(a.ends_with("\r\n0\r\n\r\n"));
    }
    CHECK(c.total().requests == n);
  }
}

TEST_CASE("drain() closes idle keep-alive connections at once") {
  netco::cluster c(2);
  const std::uint16_t port = c.listen(on_port_0(netco::cluster_listen_options{}.balance),
                                      [&c] { return loop_naming_server(c); });
  constexpr std::size_t n = 200;
  const auto t0 = std::chrono::steady_clock::now();
  const auto ended = netco_test::run(
      [](std::uint16_t port, netco::cluster& c) -> netco::task<std::size_t> {
        std::vector<netco::tcp::stream> open;
        for (std::size_t i = 0; i < n; ++i) {
          open.push_back(co_await netco::tcp::connect("127.0.0.1", port));
          co_await open.back().write_all(std::string_view("GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
          const std::string r = co_await read_response(open.back());
          REQUIRE(r.starts_with("HTTP/1.1 200 OK\r\n"));
        }
        c.drain(30s);  // far beyond the test's own bound: only closing idle ones ends it early
        std::size_t eofs = 0;
        std::array<char, 256> buf;
        for (auto& s : open) {
          std::error_code ec;
          if (co_await s.read_some(std::span<char>(buf), ec) == 0) ++eofs;
        }
        co_return eofs;
      }(port, c),
      40s);
  c.join();
  CHECK(ended == n);
  CHECK(std::chrono::steady_clock::now() - t0 < 15s);
  CHECK(c.total().connections == n);
}

TEST_CASE("stop() ends the loops at once, open connections or not") {
  netco::cluster c(2);
  const std::uint16_t port =
      c.serve(netco::cluster_listen_options{}, [](netco::tcp::stream peer) -> netco::task<> {
        std::array<std::byte, 64> buf;
        while (co_await peer.read_some(buf) > 0) {
        }
      });
  const std::size_t eofs =
      netco_test::run([](std::uint16_t port, netco::cluster& c) -> netco::task<std::size_t> {
        std::vector<netco::tcp::stream> open;
        for (int i = 0; i < 10; ++i)
          open.push_back(co_await netco::tcp::connect("127.0.0.1", port));
        while (c.total().connections < 10) co_await netco::sleep_for(5ms);
        c.stop();
        std::size_t n = 0;
        std::array<char, 16> buf;
        for (auto& s : open) {
          std::error_code ec;
          if (co_await s.read_some(std::span<char>(buf), ec) == 0) ++n;  // EOF or reset
        }
        co_return n;
      }(port, c));
  c.join();
  CHECK(eofs == 10);
}

TEST_CASE("an exception that ends one loop stops the cluster; join() rethrows it") {
  netco::cluster c(2);
  c.spawn(1, []() -> netco::task<> {
    co_await netco::sleep_for(1ms);
    throw std::runtime_error("loop 1 failed");
  }());
  CHECK_THROWS_WITH_AS(c.join(), "loop 1 failed", std::runtime_error);
  const auto errors = c.errors();
  CHECK_FALSE(errors[0]);
  CHECK(errors[1]);
}

TEST_CASE("listening on a busy port throws and leaves nothing listening") {
  for (balancing mode : modes) {
    CAPTURE(static_cast<int>(mode));
    netco::loop here;  // the port's present owner, without SO_REUSEPORT; it never runs
    std::error_code ec;
    netco::tcp::acceptor owner = netco::detail::tcp_listen_on(
        here, netco::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), 511, ec);
    REQUIRE_FALSE(ec);
    const std::uint16_t busy = owner.port();
    netco::cluster c(2);
    netco::cluster_listen_options o = on_port_0(mode);
    o.port = busy;
    try {
      c.listen(o, [&c] { return loop_naming_server(c); });
      FAIL("listen should have thrown");
    } catch (const std::system_error& e) {
      CHECK(e.code() == std::errc::address_in_use);
    }
    try {
      c.serve(o, [](netco::tcp::stream) -> netco::task<> { co_return; });
      FAIL("serve should have thrown");
    } catch (const std::system_error& e) {
      CHECK(e.code() == std::errc::address_in_use);
    }
    c.drain();
    c.join();  // ends at once: nothing was left listening on any loop
    owner.close();
  }
}

TEST_CASE("tcp::listen with reuse_port: two acceptors share one port") {
  if (!netco::tcp::has_reuse_port) return;
  netco_test::run([]() -> netco::task<> {
    auto a = netco::tcp::listen("127.0.0.1", 0, netco::tcp::listen_options{.reuse_port = true});
    auto b = netco::tcp::listen("127.0.0.1", a.port(),
                                netco::tcp::listen_options{.backlog = 16, .reuse_port = true});
    CHECK(a.port() == b.port());
    std::error_code ec;
    auto plain = netco::tcp::listen("127.0.0.1", a.port(), 511, ec);  // without it: refused
    CHECK(ec == std::errc::address_in_use);
    co_return;
  }());
}
