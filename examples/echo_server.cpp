// examples/echo_server.cpp: TCP echo, coroutine style. Try: nc 127.0.0.1 7000
#include <netco/netco.hpp>

#include <array>
#include <csignal>
#include <cstdio>
#include <cstdlib>

netco::task<> echo(netco::tcp::stream peer) {
  std::array<std::byte, 16 * 1024> buf;
  try {
    while (std::size_t n = co_await peer.read_some(buf))  // 0: the peer ended
      co_await peer.write_all(std::span(buf).first(n));
    peer.shutdown_send();  // end our side too, after everything was echoed
  } catch (const std::system_error&) {
    // Reset by the peer: nothing is left to echo. (Uncaught, it would end run().)
  }
}

netco::task<> serve(netco::tcp::acceptor& acceptor) {
  for (;;) {
    std::error_code ec;
    netco::tcp::stream peer = co_await acceptor.accept(ec);
    if (ec == std::errc::operation_canceled) co_return;  // closed on SIGINT/SIGTERM
    if (ec) {  // EMFILE and friends are transient: back off, keep the listener
      std::fprintf(stderr, "accept: %s\n", ec.message().c_str());
      co_await netco::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    peer.set_no_delay();
    netco::spawn(echo(std::move(peer)));
  }
}

netco::task<> stop_on_signal(netco::tcp::acceptor& acceptor) {
  co_await netco::wait_for_signal(SIGINT, SIGTERM);
  acceptor.close();
  netco::loop::current().stop();  // open connections are closed as the loop goes away
}

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 7000);
  netco::tcp::acceptor acceptor = netco::tcp::listen("127.0.0.1", port);
  netco::spawn(stop_on_signal(acceptor));  // before the announcement: a SIGINT right after it
  netco::spawn(serve(acceptor));           // must already find the handler
  std::printf("echo_server listening on 127.0.0.1:%u\n", acceptor.port());
  std::fflush(stdout);
  netco::run();
}
