// tests/uncaught_main.cpp: a program whose failure nobody handles; netco::run() must end it as
// Node does (exit code 1, "Uncaught TYPE: message" on stderr), not abort. Run by the meson test
// 'uncaught' in two ways: a spawned task that throws, and a Node-style listener that throws.
#include <cstdio>
#include <stdexcept>
#include <string_view>

#include "netco/net.hpp"
#include "netco/spawn.hpp"
#include "netco/timer.hpp"

int main(int argc, char** argv) {
  const std::string_view mode = argc > 1 ? argv[1] : "task";
  if (mode == "task") {
    netco::spawn([]() -> netco::task<> {
      co_await netco::sleep_for(std::chrono::milliseconds(1));
      throw std::runtime_error("a task failed");
    }());
  } else {  // "listener": a throwing "listening" listener
    netco::net::server server = netco::net::create_server();
    server.on("listening", [] { throw std::logic_error("a listener failed"); });
    server.listen(0, "127.0.0.1");
  }
  netco::run();
  std::puts("not reached");
  return 0;
}
