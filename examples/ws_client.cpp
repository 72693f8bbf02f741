// examples/ws_client.cpp: a WebSocket client: each stdin line goes out as a text message, each
// message that arrives is printed on its own line; after stdin's end, a close handshake, then
// exit 0 (1 on any failure). Usage: ws_client URL [--ca FILE]   (wss:// with TLS built in)
// Try: build/examples/ws_echo 7010 & echo hi | build/examples/ws_client ws://127.0.0.1:7010
#include <netco/ws.hpp>
#if defined(NETCO_EXAMPLE_WSS)
#include <netco/ws/wss.hpp>  // wss:// URLs (links OpenSSL)
#endif

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

namespace ws = netco::ws;

int main(int argc, char** argv) {
  if (argc != 2 && !(argc == 4 && std::strcmp(argv[2], "--ca") == 0)) {
    std::fprintf(stderr, "usage: ws_client URL [--ca FILE]\n");
    return 2;
  }
  ws::client_options options;
  if (argc == 4) {
    std::ifstream file(argv[3]);
    if (!file) {
      std::fprintf(stderr, "ws_client: cannot read %s\n", argv[3]);
      return 2;
    }
    std::stringstream pem;
    pem << file.rdbuf();
    options.tls.ca = {pem.str()};  // trust this CA instead of the system's
  }
  int status = 1;  // until a clean close
  netco::loop& loop = netco::loop::current();
  ws::socket client = ws::create_socket(argv[1], options);
  client.on("message", [](const netco::buffer& data, bool) {
    std::fwrite(data.data(), 1, data.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  });
  client.on("error", [](std::error_code ec) {
    std::fprintf(stderr, "ws_client: %s\n", ec.message().c_str());
  });
  client.on("close", [&](std::uint16_t code, std::string_view reason) {
    if (code == ws::close_status::normal || code == ws::close_status::no_status)
      status = 0;
    else
      std::fprintf(stderr, "ws_client: closed with %u %.*s\n", code, int(reason.size()),
                   reason.data());
    loop.stop();  // done, even if stdin is still open
  });
  client.on("open", [&loop, client] {
    loop.ref();  // stdin keeps the loop alive until it ends
    std::thread([&loop, client] {
      for (std::string line; std::getline(std::cin, line);)
        loop.post([client, line = std::move(line)] { client.send(line); });
      loop.post([&loop, client] {
        client.close(ws::close_status::normal);
        loop.unref();
      });
    }).detach();  // never joined: it may still be blocked reading stdin at exit
  });
  netco::run();
  std::fflush(stdout);
  std::_Exit(status);  // the stdin thread may still be blocked in read(): do not wait for it
}
