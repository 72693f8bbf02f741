// examples/udp_echo.cpp: UDP echo in Node style: every datagram goes back to its sender.
// Usage: udp_echo [PORT]   Try: nc -u 127.0.0.1 7004
#include <netco/dgram.hpp>
#include <netco/shutdown.hpp>

#include <cstdio>
#include <cstdlib>

namespace dgram = netco::dgram;

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 7004);
  dgram::socket server = dgram::create_socket("udp4");
  server.on("message", [server](netco::buffer msg, const dgram::remote_info& rinfo) {
    server.send(msg, rinfo.port, rinfo.address);  // the same bytes, shared, not copied
  });
  server.on("error", [](std::error_code ec, const dgram::error_info& info) {
    std::fprintf(stderr, "udp_echo: %s: %s\n", info.context().c_str(), ec.message().c_str());
  });
  server.bind(port, "127.0.0.1", [server] {
    std::printf("udp_echo listening on 127.0.0.1:%u\n", server.address().port);
    std::fflush(stdout);
  });
  // SIGINT/SIGTERM: close the socket ("close"); nothing is left to keep the loop alive.
  netco::shutdown_on_signal().add([server] { server.close(); });
  netco::run();
}
