// tests/fuzz/fuzz_server_stream.cpp: libFuzzer target: an http::server fed random bytes, in
// random splits, with random half-closes and resets, over socketpairs
//
// Input: a flags byte (bits 0-1: connections, 1-3; bit 2: tiny timeouts; bit 3: the handler
// answers before reading the body), then operations, each an op byte and its operands:
//   op % 4 == 0: write the next 1 + byte bytes of input to connection (op / 4) % n
//   op % 4 == 1: let the loop run (op / 4) % 8 + 1 turns (tiny timeouts: sleep (op / 4) % 4 + 1 ms)
//   op % 4 == 2: close connection (op / 4) % n at once, unread data and all (a reset)
//   op % 4 == 3: half-close it (FIN)
// Invariants: nothing crashes or leaks (ASan/LSan/UBSan); every connection the clients end is
// closed by the server, none is left behind; every answer starts as HTTP/1.1 does; and the
// server answers a well-formed request on a new connection afterwards.
#include <sys/socket.h>  // socketpair

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "netco/http.hpp"
#include "netco/local.hpp"
#include "netco/spawn.hpp"
#include "netco/timer.hpp"

namespace {

using namespace std::chrono_literals;
namespace http = netco::http;
using netco::task;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "SERVER STREAM: %s\n", what);
  std::abort();
}

/// The client end of a socketpair whose other end the server adopted as if accepted.
struct client {
  explicit client(netco::local::stream s) : stream(std::move(s)) {}
  netco::local::stream stream;
  std::string answer;
  bool ended = false;  // we sent FIN or closed
  bool closed = false;
  bool done = false;  // the reader saw EOF or an error
};

std::shared_ptr<client> connect(http::server& srv) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) fail("socketpair");
  netco::loop& l = netco::loop::current();
  netco::detail::net_stream::socket_type server_end(
      l.context(), asio::generic::stream_protocol(AF_UNIX, 0), fds[0]);
  srv.state()->adopt(netco::detail::net_stream(l, std::move(server_end)));
  netco::local::stream::socket_type client_end(l.context(), asio::local::stream_protocol(), fds[1]);
  return std::make_shared<client>(netco::local::stream(l, std::move(client_end)));
}

task<> read_all(std::shared_ptr<client> c) {
  std::vector<char> buf(16 * 1024);
  for (;;) {
    std::error_code ec;
    const std::size_t n = co_await c->stream.read_some(std::span(buf), ec);
    if (n == 0 || ec) break;
    if (c->answer.size() < (1 << 20)) c->answer.append(buf.data(), n);
  }
  c->done = true;
}

task<> turns(int n) {
  for (int i = 0; i < n; ++i) co_await netco::loop::current().schedule();
}

/// Runs the loop until done() or about limit of loop time; false if it never held.
task<bool> wait_until(std::function<bool()> done, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  // Loop turns first (each one also polls the sockets): most waits end within a few.
  for (int i = 0; i < 64 && !done(); ++i) co_await netco::loop::current().schedule();
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) co_return false;
    co_await netco::sleep_for(1ms);
  }
  co_return true;
}

struct reader {
  const std::uint8_t* p;
  std::size_t n;
  bool empty() const { return n == 0; }
  std::uint8_t next() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  std::string_view take(std::size_t k) {
    k = std::min(k, n);
    std::string_view out(reinterpret_cast<const char*>(p), k);
    p += k;
    n -= k;
    return out;
  }
};

task<> session(reader in, bool& finished) {
  const std::uint8_t flags = in.next();
  const std::size_t n = 1 + (flags & 3) % 3;
  const bool tiny_timeouts = (flags & 4) != 0;
  const bool answer_first = (flags & 8) != 0;

  http::server_options o;
  if (tiny_timeouts) {
    o.headers_timeout = 20ms;
    o.request_timeout = 40ms;
    o.keep_alive_timeout = 20ms;
  }
  http::server srv = http::create_server(
      o, [answer_first](const http::incoming_message& req, const http::server_response& res) {
        if (req.url().starts_with("/big")) {
          for (int i = 0; i < 8; ++i) res.write(std::string(16 * 1024, 'b'));
        }
        if (answer_first) {
          res.end("early " + std::string(req.url()));
          return;
        }
        auto length = std::make_shared<std::size_t>(0);
        req.on("data", [length](const netco::buffer& b) { *length += b.size(); });
        req.on("end", [res, length] { res.end("got " + std::to_string(*length)); });
      });
  srv.listen(0, "127.0.0.1");

  std::vector<std::shared_ptr<client>> clients;
  for (std::size_t i = 0; i < n; ++i) {
    clients.push_back(connect(srv));
    netco::spawn(read_all(clients.back()));
  }
  while (!in.empty()) {
    const std::uint8_t op = in.next();
    client& c = *clients[(op >> 2) % n];
    switch (op & 3) {
      case 0: {
        const std::string_view bytes = in.take(1 + std::size_t{in.next()});
        if (c.ended) break;
        std::error_code ec;
        co_await c.stream.write_all(bytes, ec);
        break;
      }
      case 1:
        if (tiny_timeouts)
          co_await netco::sleep_for(std::chrono::milliseconds((op >> 2) % 4 + 1));
        else
          co_await turns((op >> 2) % 8 + 1);
        break;
      case 2:
        if (!c.closed) {
          c.stream.reset();
          c.ended = c.closed = true;
        }
        break;
      case 3:
        if (!c.ended) {
          std::error_code ignored;
          c.stream.shutdown_send(ignored);
          c.ended = true;
        }
        break;
    }
  }
  // The clients end; the server must close every connection, and not after a long timeout.
  for (auto& c : clients) {
    if (!c->ended) {
      std::error_code ignored;
      c->stream.shutdown_send(ignored);
      c->ended = true;
    }
  }
  auto all_done = [&] {
    for (auto& c : clients)
      if (!c->closed && !c->done) return false;
    return true;
  };
  if (!co_await wait_until(all_done, 5s)) fail("a connection the client ended stays open");
  for (auto& c : clients) {
    if (!c->answer.empty() && !c->answer.starts_with("HTTP/1.1 "))
      fail("an answer that is not HTTP");
    c->stream.close();
  }
  if (!co_await wait_until([&] { return srv.connections() == 0; }, 5s))
    fail("the server keeps a connection whose peer has gone");

  // And it still answers.
  srv.options().headers_timeout = 60s;
  srv.options().request_timeout = 300s;
  srv.options().keep_alive_timeout = 5s;
  auto good = connect(srv);
  netco::spawn(read_all(good));
  co_await good->stream.write_all(
      std::string_view("GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  if (!co_await wait_until([&] { return good->done; }, 5s)) fail("no answer to a good request");
  const std::string_view want = answer_first ? "early /ok" : "got 0";
  if (!good->answer.starts_with("HTTP/1.1 200 OK\r\n") || !good->answer.ends_with(want))
    fail("a wrong answer to a good request");
  good->stream.close();
  if (!co_await wait_until([&] { return srv.connections() == 0; }, 5s))
    fail("the good request's connection stays open");
  srv.close();
  finished = true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  netco::loop l;
  bool finished = false;
  netco::spawn(l, session({data, size}, finished));
  l.run();  // an exception that escapes the server is rethrown here: a crash for the fuzzer
  if (!finished) fail("the loop ran out of work before the session finished");
  return 0;
}
