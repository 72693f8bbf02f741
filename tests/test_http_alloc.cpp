// tests/test_http_alloc.cpp: no heap allocation per keep-alive request on the server in steady
// state (the http_hello path: parse, "request", write_head + end, one write per response)
#include <array>
#include <string>
#include <string_view>

#include "counting_allocator.hpp"
#include "netco/http.hpp"
#include "netco/tcp.hpp"
#include "support.hpp"

using netco_test::allocations;
namespace http = netco::http;

namespace {
/// Keep-alive requests one at a time; returns the allocations made during the measured ones.
netco::task<long> requests(std::uint16_t port, int warmup, int measured) {
  netco::tcp::stream s = co_await netco::tcp::connect("127.0.0.1", port);
  const std::string_view request = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  constexpr std::string_view body = "Hello, World!\n";
  std::array<char, 4096> buf;
  long before = 0;
  for (int i = 0; i < warmup + measured; ++i) {
    if (i == warmup) before = allocations.load();
    co_await s.write_all(request);
    std::size_t got = 0;
    while (got < body.size() ||
           std::string_view(buf.data(), got).substr(got - body.size()) != body) {
      const std::size_t n = co_await s.read_some(std::span(buf).subspan(got));
      if (n == 0) co_return -1;
      got += n;
    }
  }
  const long during = allocations.load() - before;
  s.close();
  co_return during;
}
}  // namespace

TEST_CASE("http server: zero allocations per keep-alive request in steady state") {
  const long during = netco_test::run([]() -> netco::task<long> {
    http::server srv = http::create_server(
        [](const http::incoming_message& req, const http::server_response& res) {
          if (req.url() == "/" && req.method() == "GET") {
            res.write_head(200, {{"Content-Type", "text/plain"}});
            res.end("Hello, World!\n");
          } else {
            res.write_head(404).end();
          }
        });
    srv.listen(0, "127.0.0.1");
    const long n = co_await requests(srv.address().port, 500, 5000);
    srv.close();
    co_return n;
  }());
  MESSAGE("allocations during 5000 requests: " << during);
  CHECK(during == 0);
}
