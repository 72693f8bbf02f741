// benchmarks/kit/kit_asio.hpp: what the kit's standalone-Asio servers share: the port from
// argv, a listening acceptor on 127.0.0.1, and SIGTERM/SIGINT stopping the loop.
#pragma once

// NOTE: the whole of Asio, as a typical Asio program includes it: benchmarks/compile/measure.sh
// compiles asio_coro_echo.cpp as the compile-time baseline of "a plain Asio program".
#include <asio.hpp>

#include <csignal>  // SIGTERM, SIGINT
#include <cstdio>   // std::fprintf
#include <cstdlib>  // std::atoi, std::exit

namespace kit {

/// PORT from argv[1]; prints usage and exits when it is missing or out of range.
inline unsigned short port_arg(int argc, char** argv, const char* usage) {
  const int port = argc > 1 ? std::atoi(argv[1]) : 0;
  if (port <= 0 || port > 65535) {
    std::fprintf(stderr, "usage: %s\n", usage);
    std::exit(2);
  }
  return static_cast<unsigned short>(port);
}

/// An acceptor listening on 127.0.0.1:port (backlog 4096, SO_REUSEADDR); throws on failure.
inline asio::ip::tcp::acceptor listen(asio::io_context& ctx, unsigned short port) {
  asio::ip::tcp::acceptor acceptor(ctx, {asio::ip::address_v4::loopback(), port});
  acceptor.listen(4096);
  return acceptor;
}

/// SIGTERM / SIGINT stop ctx, so run() returns and the program exits normally.
inline void stop_on_signals(asio::io_context& ctx, asio::signal_set& signals) {
  signals.add(SIGTERM);
  signals.add(SIGINT);
  signals.async_wait([&ctx](std::error_code, int) { ctx.stop(); });
}

}  // namespace kit
