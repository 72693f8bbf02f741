// examples/echo_events.cpp: TCP echo in Node style: on "data" write it back, on "end" end.
// The same protocol as echo_server.cpp (the coroutine style). Try: nc 127.0.0.1 7000
#include <netco/net.hpp>
#include <netco/shutdown.hpp>

#include <cstdio>
#include <cstdlib>

namespace net = netco::net;

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 7000);
  net::server server =
      net::create_server({.allow_half_open = true, .no_delay = true}, [](net::socket s) {
        s.on("data", [s](netco::buffer chunk) {
          if (!s.write(chunk)) s.pause();  // backpressure: stop reading until the peer catches up
        });
        s.on("drain", [s] { s.resume(); });
        s.on("end", [s] { s.end(); });          // everything echoed first, then our FIN
        s.on("error", [](std::error_code) {});  // a peer reset is not worth a crash here
      });
  server.listen(port, "127.0.0.1", [server] {
    std::printf("echo_events listening on 127.0.0.1:%u\n", server.address().port);
    std::fflush(stdout);
  });
  // SIGINT/SIGTERM: stop accepting, let open connections end (5 s at most); a second forces it.
  netco::shutdown_on_signal(server, {.deadline = std::chrono::seconds(5)});
  netco::run();
}
