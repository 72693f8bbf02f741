// examples/echo_server.cpp: TCP echo, coroutine style. Try: nc 127.0.0.1 7000
// Only the headers it uses: <netco/netco.hpp> (everything) would double its compile time.
#include <netco/serve.hpp>     // serve: accept, a task per connection
#include <netco/shutdown.hpp>  // shutdown_on_signal
#include <netco/spawn.hpp>
#include <netco/tcp.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <vector>

// The bytes of parts after the first `skip`, in a buffer of their own.
std::vector<std::byte> unsent(std::span<const std::span<const std::byte>> parts, std::size_t skip) {
  std::vector<std::byte> rest;
  for (std::span<const std::byte> part : parts) {
    const std::size_t drop = std::min(skip, part.size());
    skip -= drop;
    rest.insert(rest.end(), part.begin() + static_cast<std::ptrdiff_t>(drop), part.end());
  }
  return rest;
}

// Idle, a connection holds only its coroutine frame with this small buffer: the rest of a
// longer message is taken, without waiting, into the loop's shared scratch buffer and written
// on before the coroutine suspends again. Only what the socket cannot take at once is copied.
netco::task<> echo(netco::tcp::stream peer) {
  peer.set_no_delay();
  std::array<std::byte, 512> head;
  try {
    while (std::size_t n = co_await peer.read_some(head)) {  // 0: the peer ended
      std::span<const std::byte> parts[2] = {std::span(head).first(n), {}};
      std::error_code ec;
      if (n == head.size()) {  // the message may go on: take what is there already
        const std::span<std::byte> scratch = peer.owner().scratch();
        parts[1] = scratch.first(peer.try_read_some(scratch, ec));
        if (ec && ec != std::errc::operation_would_block) throw std::system_error(ec, "read");
      }
      const std::size_t sent =
          peer.try_write_some(std::span(parts).first(parts[1].empty() ? 1 : 2), ec);
      if (ec) throw std::system_error(ec, "write");
      if (sent < parts[0].size() + parts[1].size()) {  // the socket buffer is full: wait
        const std::vector<std::byte> rest = unsent(parts, sent);
        co_await peer.write_all(rest);
      }
    }
    peer.shutdown_send();  // end our side too, after everything was echoed
  } catch (const std::system_error&) {
    // Reset by the peer: nothing is left to echo. (Uncaught, it would end run().)
  }
}

// EMFILE and friends are transient: serve() backs off and keeps the listener.
void report_accept_error(std::error_code ec) {
  std::fprintf(stderr, "accept: %s\n", ec.message().c_str());
}

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 7000);
  netco::tcp::acceptor acceptor = netco::tcp::listen("127.0.0.1", port);
  // SIGINT/SIGTERM: stop accepting, let open connections end (5 s at most; then they are closed
  // as the loop goes away); a second signal forces it. Armed before the announcement: a SIGINT
  // right after it must already find the handler.
  netco::shutdown_on_signal(acceptor, {.deadline = std::chrono::seconds(5)});
  netco::spawn(netco::serve(acceptor, echo, {.on_accept_error = report_accept_error}));
  std::printf("echo_server listening on 127.0.0.1:%u\n", acceptor.port());
  std::fflush(stdout);
  netco::run();
}
