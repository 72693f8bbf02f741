// benchmarks/cluster_echo.cpp: examples/echo_server's coroutine echo, served by netco::cluster on
// N loops, for benchmarks/cluster_bench.sh. Usage: cluster_echo PORT [loops] [reuse_port|handoff]
#include <netco/cluster.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

netco::task<> echo(netco::tcp::stream peer) {
  std::array<std::byte, 16 * 1024> buf;
  try {
    peer.set_no_delay();
    while (std::size_t n = co_await peer.read_some(buf))  // 0: the peer ended
      co_await peer.write_all(std::span(buf).first(n));
    peer.shutdown_send();
  } catch (const std::system_error&) {
    // Reset by the peer: nothing is left to echo.
  }
}

int main(int argc, char** argv) {
  netco::cluster_listen_options where;
  where.port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 7000);
  const auto loops = static_cast<std::size_t>(argc > 2 ? std::atoi(argv[2]) : 0);
  if (argc > 3 && std::strcmp(argv[3], "handoff") == 0) where.balance = netco::balancing::handoff;
  try {
    netco::cluster cluster(loops);
    cluster.stop_on_signal(std::chrono::seconds(1));
    const std::uint16_t port = cluster.serve(where, echo);
    std::printf("cluster_echo listening on 127.0.0.1:%u with %zu loops\n", port, cluster.size());
    std::fflush(stdout);
    cluster.join();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cluster_echo: %s\n", e.what());
    return 1;
  }
}
