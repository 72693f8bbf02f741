// tests/install/main.cpp: an outside project using an installed netco. Prints "ok".
#include <netco/netco.hpp>

#include <cstdio>
#include <string>

netco::task<> hello(netco::tcp::acceptor& acceptor, std::string& got) {
  netco::tcp::stream client = co_await netco::tcp::connect("127.0.0.1", acceptor.port());
  netco::tcp::stream server = co_await acceptor.accept();
  co_await client.write_all("ok");
  client.shutdown_send();
  char buf[16];
  while (std::size_t n = co_await server.read_some(buf)) got.append(buf, n);
  acceptor.close();
}

int main() {
  netco::tcp::acceptor acceptor = netco::tcp::listen("127.0.0.1", 0);
  std::string got;
  netco::spawn(hello(acceptor, got));
  netco::run();
  if (got != "ok") {
    std::fprintf(stderr, "install check: expected \"ok\", got \"%s\"\n", got.c_str());
    return 1;
  }
  std::puts("ok");
}
