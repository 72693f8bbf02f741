// examples/tcp_client.cpp: connect, send stdin, print what comes back, exit when the server
// ends. Usage: tcp_client PORT [HOST]   Try: echo hello | build/examples/tcp_client 7000
#include <netco/net.hpp>

#include <unistd.h>  // read: stdin is read on its own thread, never blocking the loop

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

namespace net = netco::net;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: tcp_client PORT [HOST]\n");
    return 2;
  }
  const auto port = static_cast<std::uint16_t>(std::atoi(argv[1]));
  int status = 0;
  netco::loop& loop = netco::loop::current();
  net::connect_options options;
  options.port = port;
  options.host = argc > 2 ? argv[2] : "127.0.0.1";
  options.allow_half_open = true;  // stdin may end before the server is done answering
  net::socket client = net::create_connection(options);
  client.on("data", [](netco::buffer data) {
    std::fwrite(data.data(), 1, data.size(), stdout);
    std::fflush(stdout);
  });
  client.on("error", [&](std::error_code ec) {
    std::fprintf(stderr, "tcp_client: %s\n", ec.message().c_str());
    status = 1;
  });
  client.on("end", [client] { client.end(); });
  client.on("close", [&loop](bool) { loop.stop(); });  // done, even if stdin is still open
  client.on("connect", [&loop, client] {
    loop.ref();  // stdin keeps the loop alive until it ends
    std::thread([&loop, client] {
      char buf[16 * 1024];
      ssize_t n;
      while ((n = ::read(0, buf, sizeof buf)) > 0) {
        loop.post(
            [client, text = std::string(buf, static_cast<std::size_t>(n))] { client.write(text); });
      }
      loop.post([&loop, client] {
        client.end();
        loop.unref();
      });
    }).detach();
  });
  netco::run();
  std::fflush(stdout);
  std::_Exit(status);  // the stdin thread may still be blocked in read(): do not wait for it
}
