// tests/raw_exchange.hpp: a raw TCP peer for server tests: bytes in, everything until close out
#pragma once
#include <cstdint>       // uint16_t
#include <span>          // span
#include <string>        // string
#include <system_error>  // error_code
#include <vector>        // vector: the read buffer

#include "netco/task.hpp"
#include "netco/tcp.hpp"

namespace netco_test {

/// Everything s reads until the peer closes it (or the read fails).
inline netco::task<std::string> read_to_end(netco::tcp::stream& s) {
  std::string out;
  std::vector<char> buf(64 * 1024);
  for (;;) {
    std::error_code ec;
    const std::size_t n = co_await s.read_some(std::span(buf), ec);
    if (n == 0 || ec) break;
    out.append(buf.data(), n);
  }
  co_return out;
}

/// Sends raw bytes on a fresh connection to 127.0.0.1:port and reads until the server closes it.
inline netco::task<std::string> raw_exchange(std::uint16_t port, std::string bytes) {
  netco::tcp::stream s = co_await netco::tcp::connect("127.0.0.1", port);
  co_await s.write_all(bytes);
  co_return co_await read_to_end(s);
}

}  // namespace netco_test
