// examples/fib_server.cpp: fibonacci(n) off the loop, in a worker pool.
// Try: echo 42 | nc -q1 127.0.0.1 7002 & echo 1 | nc -q1 127.0.0.1 7002
// (the second answer comes first: fib(42) runs on a worker while the loop serves others)
#include <netco/netco.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <stop_token>
#include <string>
#include <thread>

// Naive recursion, the CPU-bound work that must not run on the loop.
long fibonacci(long n) { return n < 2 ? n : fibonacci(n - 1) + fibonacci(n - 2); }

// The same, but a job that takes a std::stop_token gives up (-1) when the pool asks it to:
// at shutdown, the server does not wait for a long computation nobody will read.
long fibonacci_job(std::stop_token stop, long n) {
  if (n < 32) return fibonacci(n);  // checking more often would cost more than it saves
  if (stop.stop_requested()) return -1;
  const long a = fibonacci_job(stop, n - 1);
  return a < 0 ? -1 : a + fibonacci_job(stop, n - 2);
}

// One request per connection: a line with n; the answer is fibonacci(n) and a newline.
netco::task<> answer(netco::tcp::stream peer, netco::worker_pool& pool) {
  try {
    std::string request;
    std::array<char, 32> buf;
    while (request.size() < 32 && request.find('\n') == std::string::npos) {
      const std::size_t got = co_await peer.read_some(buf);
      if (got == 0) break;  // the peer ended: what we have is the request
      request.append(buf.data(), got);
    }
    long n = -1;
    std::from_chars(request.data(), request.data() + request.size(), n);
    std::string reply;
    if (n < 0 || n > 92) {  // fib(93) overflows 64 bits
      reply = "error: send a number from 0 to 92\n";
    } else {
      const long result = co_await pool.exec(fibonacci_job, n);  // the loop serves others
      reply = std::to_string(result) + "\n";
    }
    co_await peer.write_all(reply);
    peer.shutdown_send();
  } catch (const std::system_error&) {
    // The peer reset the connection: nobody is left to answer.
  }
}

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 7002);
  // At least two workers, so that a quick request never queues behind a long one.
  const unsigned workers = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2]))
                                    : std::max(2u, std::thread::hardware_concurrency());
  netco::worker_pool pool({.max_workers = workers});
  netco::tcp::acceptor acceptor = netco::tcp::listen("127.0.0.1", port);
  netco::spawn(netco::serve(
      acceptor, [&pool](netco::tcp::stream peer) { return answer(std::move(peer), pool); },
      {.on_accept_error = [](std::error_code ec) {  // EMFILE...: it backs off, keeps listening
        std::fprintf(stderr, "accept: %s\n", ec.message().c_str());
      }}));
  // SIGINT/SIGTERM: stop accepting, let the answers in flight go out (5 s at most; then the
  // loop stops and the pool's stop_token ends long jobs); a second signal forces it. Armed
  // before the line below: a SIGINT then is caught.
  netco::shutdown_on_signal(acceptor, {.deadline = std::chrono::seconds(5)});
  std::printf("fib_server listening on 127.0.0.1:%u (%u workers)\n", acceptor.port(), workers);
  std::fflush(stdout);
  netco::run();
}  // ~worker_pool: running jobs see their stop_token signalled, and are joined
