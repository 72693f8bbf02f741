// tests/test_net_alloc.cpp: no heap allocation per round trip on the Node-style echo path
#include "netco/net.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

#include "counting_allocator.hpp"
#include "support.hpp"

using netco_test::allocations;

using namespace std::chrono_literals;
namespace net = netco::net;

namespace {
/// Ping-pong of size-byte messages between a net echo server (examples/echo_events.cpp) and a
/// net client; returns the allocations made during the measured round trips.
long echo_allocations(std::size_t size, int warmup, int measured) {
  long before = 0, after = 0;
  netco::loop l;
  netco::spawn(
      l, [](std::size_t size, int warmup, int measured, long& b, long& a) -> netco::task<> {
        net::server server = net::create_server({.no_delay = true}, [](net::socket s) {
          s.on("data", [s](netco::buffer chunk) mutable {
            if (!s.write(chunk)) s.pause();
          });
          s.on("drain", [s]() mutable { s.resume(); });
          s.on("end", [s]() mutable { s.end(); });
        });
        server.listen(0, "127.0.0.1", [=, &b, &a]() mutable {
          net::socket c = net::connect(server.address().port, "127.0.0.1");
          const netco::buffer ping = netco::buffer::copy_of(std::vector<std::byte>(size));
          auto state = std::make_shared<std::pair<int, std::size_t>>(0, 0);  // trips, bytes back
          c.on("connect", [c, ping]() mutable { c.write(ping); });
          c.on("data", [=, &b, &a](const netco::buffer& chunk) mutable {
            if ((state->second += chunk.size()) < size) return;
            state->second = 0;
            const int n = ++state->first;
            if (n == warmup) b = allocations.load();
            if (n == warmup + measured) {
              a = allocations.load();
              c.end();
              server.close();
              return;
            }
            c.write(ping);
          });
        });
        co_return;
      }(size, warmup, measured, before, after));
  netco_test::detail::run_with_watchdog(l, 30s);
  REQUIRE(after > 0);
  return after - before;
}
}  // namespace

TEST_CASE("net echo, 64-byte messages: zero allocations per round trip, on both ends") {
  const long n = echo_allocations(64, 500, 5000);
  MESSAGE("allocations during 5000 round trips: ", n);
  CHECK(n == 0);
}

TEST_CASE("net echo, 4 KiB messages (read into full-size blocks): zero allocations") {
  const long n = echo_allocations(4096, 500, 2000);
  MESSAGE("allocations during 2000 round trips: ", n);
  CHECK(n == 0);
}
