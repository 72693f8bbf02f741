// examples/hello_server.cpp: Node style: answer each request with "hello world" and
// end. Try: curl http://127.0.0.1:3000/   or   echo hi | nc 127.0.0.1 3000
#include <netco/net.hpp>
#include <netco/shutdown.hpp>

#include <cstdio>
#include <cstdlib>

namespace net = netco::net;

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 3000);
  net::server server = net::create_server();
  server.on("connection", [](net::socket socket) {
    std::printf("new connection from %s:%u\n", socket.remote_address().c_str(),
                socket.remote_port());
    socket.on("data", [socket](netco::buffer) {  // the request itself is not parsed
      socket.write("hello world");
      socket.end();
    });
    socket.on("error",
              [](std::error_code ec) { std::printf("socket error: %s\n", ec.message().c_str()); });
  });
  server.on("error", [](std::error_code ec) {
    std::fprintf(stderr, "listen: %s\n", ec.message().c_str());
    std::exit(1);
  });
  server.listen(port, "127.0.0.1", 511, [server] {
    std::printf("hello_server listening on 127.0.0.1:%u\n", server.address().port);
    std::fflush(stdout);
  });
  // SIGINT/SIGTERM: stop accepting, let open connections end (5 s at most); a second forces it.
  netco::shutdown_on_signal(server, {.deadline = std::chrono::seconds(5)});
  netco::run();
}
