// benchmarks/echo_write_all.cpp: the TCP echo a user writes first (read_some, then write_all),
// for comparing how the engines send: on io_uring, NETCO_URING_SEND=ring submits each write
// with the loop's next wait instead of sending it at once. Usage: echo_write_all [port]
#include <netco/serve.hpp>
#include <netco/shutdown.hpp>
#include <netco/spawn.hpp>
#include <netco/tcp.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>

netco::task<> echo(netco::tcp::stream peer) {
  peer.set_no_delay();
  std::array<std::byte, 4096> buffer;
  std::error_code ec;
  while (std::size_t n = co_await peer.read_some(buffer, ec)) {
    co_await peer.write_all(std::span(buffer).first(n), ec);
    if (ec) co_return;
  }
}

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 7000);
  netco::tcp::acceptor acceptor = netco::tcp::listen("127.0.0.1", port);
  netco::shutdown_on_signal(acceptor, {.deadline = std::chrono::seconds(5)});
  netco::spawn(netco::serve(acceptor, echo));
  std::printf("echo_write_all listening on 127.0.0.1:%u\n", acceptor.port());
  std::fflush(stdout);
  netco::run();
}
