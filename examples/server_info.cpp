// examples/server_info.cpp: getConnections(), maxConnections = 1 and
// address(), logged as Node's example does. A second concurrent client is refused ("drop").
// Try: nc 127.0.0.1 8080   (and a second nc while the first is open)
#include <netco/net.hpp>
#include <netco/shutdown.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace net = netco::net;

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 8080);
  net::server server = net::create_server();
  server.max_connections(1);
  server.on("connection", [server](net::socket socket) {
    std::printf("client connected\n");
    server.get_connections([server, socket](std::error_code, std::size_t count) {
      std::printf("max connections %zu, current connections %zu\n", server.max_connections(),
                  count);
      socket.write("connections: " + std::to_string(count) + "\n");
    });
    const net::address_info a = server.address();
    std::printf("server address { address: '%s', family: '%s', port: %u }\n", a.address.c_str(),
                a.family.c_str(), a.port);
    std::fflush(stdout);
    socket.on("data", [](netco::buffer) {});
    socket.on("error", [](std::error_code) {});
  });
  server.on("drop", [](const net::drop_info& d) {
    std::printf("refused %s:%u (maxConnections reached)\n", d.remote.address.c_str(),
                d.remote.port);
    std::fflush(stdout);
  });
  server.listen(port, "127.0.0.1", [server] {
    std::printf("server_info listening on 127.0.0.1:%u\n", server.address().port);
    std::fflush(stdout);
  });
  // SIGINT/SIGTERM: stop accepting, let open connections end (5 s at most); a second forces it.
  netco::shutdown_on_signal(server, {.deadline = std::chrono::seconds(5)});
  netco::run();
}
