// examples/collect_until_end.cpp: accumulate all data of a connection and print it
// at "end". Try: printf 'one\ntwo\n' | nc -N 127.0.0.1 8001
#include <netco/net.hpp>
#include <netco/shutdown.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

namespace net = netco::net;

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 8001);
  auto server = net::create_server([](net::socket s) {
    auto all = std::make_shared<std::string>();
    s.on("data", [all](netco::buffer chunk) { *all += chunk.view(); });
    s.on("end", [all] {
      std::printf("%s\n", all->c_str());
      std::fflush(stdout);
    });
  });
  server.listen(port, "127.0.0.1", [server] {
    std::printf("collect_until_end listening on 127.0.0.1:%u\n", server.address().port);
    std::fflush(stdout);
  });
  // SIGINT/SIGTERM: stop accepting, let open connections end (5 s at most); a second forces it.
  netco::shutdown_on_signal(server, {.deadline = std::chrono::seconds(5)});
  netco::run();  // the default loop; returns when nothing keeps it alive (Node's exit rule)
}
