// benchmarks/udp_pingpong.cpp: UDP round trips per second, netco against a raw C echo loop.
// Servers (each prints "listening on 127.0.0.1:PORT", port 0 = any):
//   udp_pingpong raw PORT     blocking recvfrom/sendto loop: the yardstick
//   udp_pingpong epoll PORT   non-blocking recvfrom until EAGAIN, then epoll_wait: what an
//                             event loop (libuv, Asio, netco) must do at least
//   udp_pingpong coro PORT    netco::udp (coroutine style)
//   udp_pingpong dgram PORT   netco::dgram (Node style)
// Client: udp_pingpong client PORT SECONDS [SIZE]   one datagram in flight, blocking C calls;
//   prints "round_trips_per_s N". benchmarks/udp_bench.sh runs them interleaved and pinned.
#include <arpa/inet.h>   // htons, inet_pton
#include <netinet/in.h>  // sockaddr_in
#include <sys/epoll.h>   // epoll_create1, epoll_ctl, epoll_wait
#include <sys/socket.h>  // socket, bind, recvfrom, sendto
#include <unistd.h>      // close

#include <cerrno>   // errno, EAGAIN
#include <chrono>   // steady_clock
#include <csignal>  // SIGINT, SIGTERM
#include <cstdio>   // printf
#include <cstdlib>  // atoi
#include <cstring>  // strcmp
#include <vector>   // the coroutine server's buffer

#include "netco/dgram.hpp"
#include "netco/signal.hpp"
#include "netco/spawn.hpp"
#include "netco/udp.hpp"

namespace {

void announce(const char* what, unsigned port) {
  std::printf("%s listening on 127.0.0.1:%u\n", what, port);
  std::fflush(stdout);
}

int raw_server(std::uint16_t port, bool use_epoll) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | (use_epoll ? SOCK_NONBLOCK : 0), 0);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &at.sin_addr);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof at) != 0) return 1;
  socklen_t len = sizeof at;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&at), &len);
  announce(use_epoll ? "epoll" : "raw", ntohs(at.sin_port));
  const int ep = use_epoll ? ::epoll_create1(0) : -1;
  if (use_epoll) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLET;
    ev.data.fd = fd;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  static char buf[65536];
  for (;;) {
    sockaddr_in from{};
    socklen_t from_len = sizeof from;
    const ssize_t n =
        ::recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0 && use_epoll && errno == EAGAIN) {
      epoll_event ev;
      ::epoll_wait(ep, &ev, 1, -1);
      continue;
    }
    if (n < 0) break;  // SIGINT/SIGTERM end the process anyway
    ::sendto(fd, buf, static_cast<std::size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), from_len);
  }
  return 0;
}

netco::task<> coro_echo(netco::udp::socket& s) {
  std::vector<std::byte> buf(netco::udp::max_datagram_v4);
  for (;;) {
    std::error_code ec;
    auto [n, from] = co_await s.receive_from(buf, ec);
    if (ec == std::errc::operation_canceled) co_return;
    if (!ec) co_await s.send_to(std::span(buf).first(n), from, ec);
  }
}

int coro_server(std::uint16_t port) {
  netco::udp::socket s;
  s.bind("127.0.0.1", port);
  announce("coro", s.local_endpoint().port());
  netco::spawn(coro_echo(s));
  netco::spawn([](netco::udp::socket& sock) -> netco::task<> {
    co_await netco::wait_for_signal(SIGINT, SIGTERM);
    sock.close();
  }(s));
  netco::run();
  return 0;
}

int dgram_server(std::uint16_t port) {
  auto s = netco::dgram::create_socket("udp4");
  s.on("message", [s](const netco::buffer& msg, const netco::dgram::remote_info& rinfo) mutable {
    s.send(msg, rinfo.port, rinfo.address);
  });
  s.bind(port, "127.0.0.1", [s]() mutable { announce("dgram", s.address().port); });
  netco::spawn([](netco::dgram::socket sock) -> netco::task<> {
    co_await netco::wait_for_signal(SIGINT, SIGTERM);
    sock.close();
  }(s));
  netco::run();
  return 0;
}

int client(std::uint16_t port, double seconds, std::size_t size) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) return 1;
  timeval timeout{1, 0};  // a lost datagram must not hang the run
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::vector<char> out(size, 'x'), in(65536);
  using clock = std::chrono::steady_clock;
  // Warm-up, then count round trips for the given time.
  for (int i = 0; i < 1000; ++i) {
    ::send(fd, out.data(), out.size(), 0);
    ::recv(fd, in.data(), in.size(), 0);
  }
  const auto start = clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  std::size_t trips = 0, lost = 0;
  auto now = start;
  while (now < end) {
    for (int i = 0; i < 256; ++i) {
      ::send(fd, out.data(), out.size(), 0);
      if (::recv(fd, in.data(), in.size(), 0) < 0)
        ++lost;
      else
        ++trips;
    }
    now = clock::now();
  }
  const double elapsed = std::chrono::duration<double>(now - start).count();
  std::printf("round_trips_per_s %.0f lost %zu\n", static_cast<double>(trips) / elapsed, lost);
  return lost == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: udp_pingpong raw|epoll|coro|dgram PORT | client PORT SECONDS [SIZE]\n");
    return 2;
  }
  const auto port = static_cast<std::uint16_t>(std::atoi(argv[2]));
  if (!std::strcmp(argv[1], "raw")) return raw_server(port, false);
  if (!std::strcmp(argv[1], "epoll")) return raw_server(port, true);
  if (!std::strcmp(argv[1], "coro")) return coro_server(port);
  if (!std::strcmp(argv[1], "dgram")) return dgram_server(port);
  if (!std::strcmp(argv[1], "client") && argc >= 4) {
    return client(port, std::atof(argv[3]),
                  argc > 4 ? static_cast<std::size_t>(std::atoi(argv[4])) : 64);
  }
  return 2;
}
