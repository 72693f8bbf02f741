// benchmarks/ws_publish.cpp: server.publish() of one small message to N WebSocket subscribers:
// the server's CPU per delivered message. The subscribers are plain sockets in a child process
// that read and discard (so the server's CPU is this process's alone).
// Usage: ws_publish [SUBSCRIBERS=10000] [PUBLISHES=200] [BYTES=64]
// Prints one line: subscribers publishes delivered ns_per_delivery (inside publish(), which
// frames once and writes to every socket) and ns_per_delivery_all (the process's CPU over the
// publishing phase, loop turns included).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <netco/timer.hpp>
#include <netco/ws.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace ws = netco::ws;

namespace {

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

/// The child: n upgraded connections (blocking handshakes one by one), then reads everything
/// and drops it until the server goes away.
[[noreturn]] void subscribers(std::uint16_t port, int n) {
  const char request[] =
      "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int ep = epoll_create1(0);
  for (int i = 0; i < n; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) _exit(2);
    if (write(fd, request, sizeof request - 1) != static_cast<ssize_t>(sizeof request - 1))
      _exit(2);
    std::string head;
    char buf[512];
    while (head.find("\r\n\r\n") == std::string::npos) {
      const ssize_t r = read(fd, buf, sizeof buf);
      if (r <= 0) _exit(2);
      head.append(buf, static_cast<std::size_t>(r));
    }
    if (head.compare(0, 12, "HTTP/1.1 101") != 0) _exit(2);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  std::vector<epoll_event> evs(512);
  static char sink[64 * 1024];
  for (int open = n; open > 0;) {
    const int k = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), -1);
    for (int i = 0; i < k; ++i) {
      if (read(evs[i].data.fd, sink, sizeof sink) <= 0) {
        close(evs[i].data.fd);
        --open;
      }
    }
  }
  _exit(0);
}

netco::task<> run(ws::server server, int n, int publishes, std::size_t bytes, pid_t child) {
  // The loop must go on accepting meanwhile: wait by polling, never by blocking.
  while (server.subscriber_count("t") < static_cast<std::size_t>(n)) {
    if (waitpid(child, nullptr, WNOHANG) == child) {
      std::fprintf(stderr, "ws_publish: the subscribers' process failed\n");
      std::exit(1);
    }
    co_await netco::sleep_for(std::chrono::milliseconds(5));
  }
  const netco::buffer message = netco::buffer::from(std::string(bytes, 'm'));
  std::size_t delivered = 0;
  double in_publish = 0;
  const double start = cpu_seconds();
  for (int i = 0; i < publishes; ++i) {
    const double t0 = cpu_seconds();
    delivered += server.publish("t", message, true);
    in_publish += cpu_seconds() - t0;
    co_await netco::sleep_for(std::chrono::milliseconds(1));  // the loop flushes what queued
  }
  const double all = cpu_seconds() - start;
  std::printf(
      "ws_publish subscribers=%d publishes=%d bytes=%zu delivered=%zu ns_per_delivery=%.1f "
      "ns_per_delivery_all=%.1f\n",
      n, publishes, bytes, delivered, in_publish * 1e9 / static_cast<double>(delivered),
      all * 1e9 / static_cast<double>(delivered));
  std::fflush(stdout);
  for (const ws::socket& s : server.clients()) s.terminate();
  server.close();
  kill(child, SIGTERM);
  waitpid(child, nullptr, 0);
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 10000;
  const int publishes = argc > 2 ? std::atoi(argv[2]) : 200;
  const auto bytes = static_cast<std::size_t>(argc > 3 ? std::atoi(argv[3]) : 64);
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;  // one descriptor per subscriber, in each process
  setrlimit(RLIMIT_NOFILE, &lim);
  ws::server server = ws::create_server(
      {.port = 0, .backlog = 4096},
      [](const ws::socket& s, const netco::http::incoming_message&) { s.subscribe("t"); });
  server.on("listening", [=] {
    const pid_t child = fork();
    if (child == 0) subscribers(server.address().port, n);
    netco::spawn(run(server, n, publishes, bytes, child));
  });
  netco::run();
}
