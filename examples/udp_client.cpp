// examples/udp_client.cpp: send one datagram, print the reply, exit (1 after 5 s of silence).
// Usage: udp_client PORT [MESSAGE] [HOST]   Try: build/examples/udp_client 7004 hello
#include <netco/dgram.hpp>
#include <netco/timer.hpp>

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace dgram = netco::dgram;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: udp_client PORT [MESSAGE] [HOST]\n");
    return 2;
  }
  const auto port = static_cast<std::uint16_t>(std::atoi(argv[1]));
  const std::string_view text = argc > 2 ? argv[2] : "hello";
  int status = 1;
  netco::loop& loop = netco::loop::current();
  dgram::socket client = dgram::create_socket("udp4");
  client.on("message", [&status, &loop](netco::buffer msg) {
    std::fwrite(msg.data(), 1, msg.size(), stdout);
    std::putchar('\n');
    status = 0;
    loop.stop();  // the 5 s timer is still pending: stop rather than wait for it
  });
  client.on("error", [&loop](std::error_code ec, const dgram::error_info& info) {
    std::fprintf(stderr, "udp_client: %s: %s\n", info.context().c_str(), ec.message().c_str());
    loop.stop();
  });
  client.connect(port, argc > 3 ? argv[3] : "127.0.0.1", [client, text] {
    client.send(text);  // connected: no address needed
  });
  netco::spawn([](netco::loop& l) -> netco::task<> {
    co_await netco::sleep_for(5s);
    std::fprintf(stderr, "udp_client: no reply within 5 s\n");
    l.stop();
  }(loop));
  netco::run();
  return status;
}
