// tests/test_alloc.cpp: no heap allocation per read or write on the echo path in steady state
#include "netco/tcp.hpp"

#include <array>
#include <atomic>
#include <cstdlib>
#include <new>

#include "counting_allocator.hpp"
#include "netco/spawn.hpp"
#include "netco/when_all.hpp"
#include "support.hpp"

using netco_test::allocations;

using netco::task;

namespace {
task<> echo(netco::tcp::stream peer) {
  std::array<std::byte, 16 * 1024> buf;
  while (std::size_t n = co_await peer.read_some(buf))
    co_await peer.write_all(std::span(buf).first(n));
}

/// Ping-pong of 64-byte messages; returns the allocations made during the measured rounds.
task<long> ping_pong(netco::tcp::stream& client, int warmup, int measured) {
  std::array<std::byte, 64> msg{};
  std::array<std::byte, 64> back;
  long before = 0;
  for (int i = 0; i < warmup + measured; ++i) {
    if (i == warmup) before = allocations.load();
    co_await client.write_all(msg);
    std::size_t got = 0;
    while (got < msg.size()) got += co_await client.read_some(std::span(back).subspan(got));
  }
  co_return allocations.load() - before;
}
}  // namespace

TEST_CASE("steady-state echo: zero allocations per round trip, on both ends") {
  const long during = netco_test::run([]() -> task<long> {
    auto acceptor = netco::tcp::listen("127.0.0.1", 0);
    auto [client, server] =
        co_await netco::when_all(netco::tcp::connect("127.0.0.1", acceptor.port()),
                                 [](netco::tcp::acceptor& a) -> task<netco::tcp::stream> {
                                   co_return co_await a.accept();
                                 }(acceptor));
    netco::spawn(echo(std::move(server)));
    long n = co_await ping_pong(client, 1000, 20'000);
    client.close();
    co_return n;
  }());
  CHECK(during == 0);
}
