// examples/client_test.cpp: runTest: a server tells each client its number; a
// client connects, checks the data it receives, ends, and the program exits 0 (all passed) or
// 1. Usage: client_test [port]   (it runs its own server, then two clients in turn)
#include <netco/net.hpp>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

namespace net = netco::net;

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 8000);
  int clients = 0, failures = 0;
  net::server server = net::create_server([&](net::socket socket) {
    ++clients;
    socket.on("end", [] { std::printf("client is ending\n"); });
    socket.on("data", [](netco::buffer) {});
    socket.on("close", [](bool) { std::printf("client closed\n"); });
    socket.write(std::to_string(clients));
  });
  server.on("error", [](std::error_code ec) {
    std::fprintf(stderr, "listen: %s\n", ec.message().c_str());
    std::exit(1);
  });

  // runTest(expectedId, done).
  std::function<void(int, std::function<void()>)> run_test = [&](int expected,
                                                                 std::function<void()> done) {
    net::socket client = net::connect(server.address().port, "127.0.0.1");
    client.on("data", [&, expected, client](netco::buffer data) {
      const bool ok = data.view() == std::to_string(expected);
      std::printf("client %d got '%.*s': %s\n", expected, static_cast<int>(data.size()),
                  data.view().data(), ok ? "ok" : "MISMATCH");
      if (!ok) ++failures;
      client.end();
    });
    client.on("error", [&](std::error_code ec) {
      std::printf("client %d: %s\n", expected, ec.message().c_str());
      ++failures;
    });
    client.on("end", [done] { done(); });
  };

  server.listen(port, "127.0.0.1", [&] {
    std::printf("client_test listening on 127.0.0.1:%u\n", server.address().port);
    std::fflush(stdout);
    run_test(1, [&] { run_test(2, [&] { server.close(); }); });
  });
  netco::run();  // returns once the server closed and both clients are gone
  std::printf("%s\n", failures == 0 && clients == 2 ? "all tests passed" : "FAILED");
  return failures == 0 && clients == 2 ? 0 : 1;
}
