// tests/test_dgram_alloc.cpp: no heap allocation per datagram on the dgram echo path
#include "netco/dgram.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

#include "counting_allocator.hpp"
#include "support.hpp"

using netco_test::allocations;

using namespace std::chrono_literals;
namespace dgram = netco::dgram;

TEST_CASE("dgram echo: zero allocations per datagram in steady state, on both ends") {
  constexpr int warmup = 200, measured = 2000;
  long before = 0, after = 0;
  netco::loop l;
  netco::spawn(l, [](long& b, long& a) -> netco::task<> {
    auto server = dgram::create_socket("udp4");
    server.on("message", [server](const netco::buffer& msg, const dgram::remote_info& r) mutable {
      server.send(msg, r.port, r.address);  // a listener that keeps nothing
    });
    auto client = dgram::create_socket("udp4");
    auto trips = std::make_shared<int>(0);
    const netco::buffer ping = netco::buffer::from("0123456789abcdef0123456789abcdef");
    client.on("message", [=, &b, &a](const netco::buffer& msg) mutable {
      CHECK(msg.size() == ping.size());
      const int n = ++*trips;
      if (n == warmup) b = allocations.load();
      if (n == warmup + measured) {
        a = allocations.load();
        client.close();
        server.close();
        return;
      }
      client.send(ping, server.address().port, "127.0.0.1");
    });
    server.bind(0, "127.0.0.1", [=]() mutable {
      client.bind(0, "127.0.0.1",
                  [=]() mutable { client.send(ping, server.address().port, "127.0.0.1"); });
    });
    co_return;
  }(before, after));
  netco_test::detail::run_with_watchdog(l, 30s);
  REQUIRE(after > 0);
  MESSAGE("allocations during ", measured, " round trips: ", after - before);
  CHECK(after - before == 0);
}
