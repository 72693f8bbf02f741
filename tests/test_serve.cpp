// tests/test_serve.cpp: netco::serve, the coroutine-style accept loop (its EMFILE back-off is
// in test_faults, which can lower the process's descriptor limit)
#include "netco/serve.hpp"

#include <unistd.h>  // getpid: a socket file of this process's own

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "netco/local.hpp"
#include "netco/tcp.hpp"
#include "netco/timer.hpp"
#include "netco/when_all.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
using netco::task;

namespace {

/// Reads until the peer ends.
template <class Stream>
task<std::string> read_to_end(Stream& s) {
  std::string got;
  std::array<char, 256> buf;
  while (std::size_t n = co_await s.read_some(std::as_writable_bytes(std::span(buf)))) {
    got.append(buf.data(), n);
  }
  co_return got;
}

/// Sends text, half-closes, and returns the answer.
template <class Stream>
task<std::string> ask(Stream s, std::string text) {
  co_await s.write_all(std::string_view(text));
  s.shutdown_send();
  co_return co_await read_to_end(s);
}

/// Answers "<prefix><what the peer sent>", after the peer ended.
template <class Stream>
task<> answer(Stream peer, std::shared_ptr<const std::string> prefix) {
  const std::string got = co_await read_to_end(peer);
  co_await peer.write_all(std::string_view(*prefix + got));
  peer.shutdown_send();
}

}  // namespace

TEST_CASE("each connection is served in a task of its own, concurrently") {
  netco_test::run([]() -> task<> {
    netco::tcp::acceptor acceptor = netco::tcp::listen("127.0.0.1", 0);
    auto prefix = std::make_shared<const std::string>("re: ");
    netco::spawn(netco::serve(
        acceptor, [prefix](netco::tcp::stream peer) { return answer(std::move(peer), prefix); }));
    // Three clients at once: each is answered only after it ends, so they overlap.
    const std::uint16_t port = acceptor.port();
    auto [a, b, c] =
        co_await netco::when_all(ask(co_await netco::tcp::connect("127.0.0.1", port), "a"),
                                 ask(co_await netco::tcp::connect("127.0.0.1", port), "bb"),
                                 ask(co_await netco::tcp::connect("127.0.0.1", port), "ccc"));
    CHECK(a == "re: a");
    CHECK(b == "re: bb");
    CHECK(c == "re: ccc");
    acceptor.close();
  }());
}

TEST_CASE("closing the acceptor ends serve(); open connections go on, the handler kept alive") {
  netco_test::run([]() -> task<> {
    netco::tcp::acceptor acceptor = netco::tcp::listen("127.0.0.1", 0);
    bool serve_returned = false;
    int served = 0;
    // A coroutine lambda: its captures live in the handler object, not in the frames, so
    // serve() must keep that object until the last connection ends.
    auto handler = [text = std::string("kept"), &served](netco::tcp::stream peer) -> task<> {
      ++served;
      (void)co_await read_to_end(peer);
      co_await peer.write_all(std::string_view(text));
      peer.shutdown_send();
    };
    netco::spawn([](netco::tcp::acceptor& a, decltype(handler) h, bool& done) -> task<> {
      co_await netco::serve(a, std::move(h));
      done = true;
    }(acceptor, std::move(handler), serve_returned));
    netco::tcp::stream open = co_await netco::tcp::connect("127.0.0.1", acceptor.port());
    CHECK(co_await netco_test::eventually([&] { return served == 1; }));
    acceptor.close();
    CHECK(co_await netco_test::eventually([&] { return serve_returned; }));
    CHECK(co_await ask(std::move(open), "x") == "kept");  // after serve() returned
  }());
}

TEST_CASE("Unix-domain acceptors too") {
  const std::string path = "/tmp/netco-test-serve-" + std::to_string(::getpid()) + ".sock";
  netco_test::run([&]() -> task<> {
    netco::local::acceptor acceptor = netco::local::listen(path);
    auto prefix = std::make_shared<const std::string>("local: ");
    netco::spawn(netco::serve(
        acceptor, [prefix](netco::local::stream peer) { return answer(std::move(peer), prefix); }));
    CHECK(co_await ask(co_await netco::local::connect(path), "hi") == "local: hi");
    acceptor.close();
  }());
}

TEST_CASE("a plain function is a handler; options are optional") {
  netco_test::run([]() -> task<> {
    static int calls = 0;
    struct echo {
      static task<> once(netco::tcp::stream peer) {
        ++calls;
        const std::string got = co_await read_to_end(peer);
        co_await peer.write_all(std::string_view(got));
        peer.shutdown_send();
      }
    };
    netco::tcp::acceptor acceptor = netco::tcp::listen("127.0.0.1", 0);
    netco::spawn(netco::serve(acceptor, &echo::once, {.backoff = 10ms}));
    CHECK(co_await ask(co_await netco::tcp::connect("127.0.0.1", acceptor.port()), "ping") ==
          "ping");
    CHECK(calls == 1);
    acceptor.close();
  }());
}
