// tests/test_signal.cpp: on_signal listeners (Node's process.on('SIGxxx')) and signal waits.
// Only SIGUSR1/SIGUSR2 are sent, and only while a listener or wait holds them: with none, their
// default action would end the test program.
#include "netco/signal.hpp"

#include <signal.h>  // kill
#include <unistd.h>  // getpid

#include <atomic>
#include <csignal>
#include <functional>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include "netco/timer.hpp"
#include "support.hpp"

using namespace std::chrono_literals;

namespace {

void send(int number) { REQUIRE(::kill(::getpid(), number) == 0); }

using netco_test::eventually;

}  // namespace

TEST_CASE("on_signal: called on every delivery until removed") {
  netco_test::run([]() -> netco::task<> {
    std::vector<int> got;
    netco::signal_listener l =
        netco::on_signal(SIGUSR1, [&got](int number) { got.push_back(number); });
    CHECK(l.active());
    for (std::size_t i = 1; i <= 3; ++i) {
      send(SIGUSR1);
      CHECK(co_await eventually([&] { return got.size() == i; }));
    }
    CHECK(got == std::vector<int>{SIGUSR1, SIGUSR1, SIGUSR1});
    l.remove();
    CHECK(!l.active());
    l.remove();  // twice: nothing
  }());
}

TEST_CASE("on_signal: several listeners on one signal are all called; removing one keeps others") {
  netco_test::run([]() -> netco::task<> {
    int a = 0, b = 0;
    netco::signal_listener la = netco::on_signal(SIGUSR1, [&a] { ++a; });  // no argument: fine
    netco::signal_listener lb = netco::on_signal(SIGUSR1, [&b](int) { ++b; });
    send(SIGUSR1);
    CHECK(co_await eventually([&] { return a == 1 && b == 1; }));
    la.remove();
    send(SIGUSR1);  // lb still holds SIGUSR1: no default action
    CHECK(co_await eventually([&] { return b == 2; }));
    co_await netco::sleep_for(20ms);  // a removed listener is not called late either
    CHECK(a == 1);
    lb.remove();
  }());
}

TEST_CASE("on_signal: one listener for several signals is told which arrived") {
  netco_test::run([]() -> netco::task<> {
    std::vector<int> got;
    netco::signal_listener l =
        netco::on_signal({SIGUSR1, SIGUSR2}, [&got](int number) { got.push_back(number); });
    send(SIGUSR2);
    CHECK(co_await eventually([&] { return got.size() == 1; }));
    send(SIGUSR1);
    CHECK(co_await eventually([&] { return got.size() == 2; }));
    CHECK(got == std::vector<int>{SIGUSR2, SIGUSR1});
    l.remove();
  }());
}

TEST_CASE("on_signal: a listener may remove itself (a once listener)") {
  netco_test::run([]() -> netco::task<> {
    int calls = 0;
    netco::signal_listener keep = netco::on_signal(SIGUSR1, [] {});  // holds the signal after
    auto self = std::make_shared<netco::signal_listener>();
    *self = netco::on_signal(SIGUSR1, [&calls, self] {
      ++calls;
      self->remove();
    });
    send(SIGUSR1);
    CHECK(co_await eventually([&] { return calls == 1; }));
    send(SIGUSR1);
    co_await netco::sleep_for(20ms);
    CHECK(calls == 1);
    CHECK(!self->active());
    keep.remove();
  }());
}

TEST_CASE("on_signal: a listener does not keep the loop alive (Node's rule)") {
  netco::loop l;
  bool called = false;
  netco::signal_listener listener;
  l.post([&] { listener = netco::on_signal(SIGUSR1, [&called] { called = true; }); });
  netco_test::detail::run_with_watchdog(l, 5s);  // returns at once: nothing else is pending
  CHECK(listener.active());
  CHECK(!called);
  listener.remove();
}

TEST_CASE("on_signal: the listener goes with its loop; its handle then does nothing") {
  netco::signal_listener listener;
  {
    netco::loop l;
    l.post([&] { listener = netco::on_signal(SIGUSR2, [] {}); });
    l.run();
    CHECK(listener.active());
  }
  CHECK(!listener.active());
  listener.remove();
}

TEST_CASE("on_signal: an exception from a listener ends run() (as one from a spawned task)") {
  netco::loop l;
  l.post([] {
    netco::loop::current().ref();  // keep it running until the signal comes
    netco::on_signal(SIGUSR1, [] { throw std::runtime_error("from the listener"); });
    send(SIGUSR1);
  });
  CHECK_THROWS_WITH_AS(l.run(), "from the listener", std::runtime_error);
}  // ~loop: the failed listener's signal set is gone with its frame

TEST_CASE("on_signal: a signal that cannot be caught throws std::system_error") {
  netco_test::run([]() -> netco::task<> {
    CHECK_THROWS_AS(netco::on_signal(SIGKILL, [] {}), std::system_error);
    co_return;
  }());
}

TEST_CASE("co_await netco::signal(...) resumes with the number; wait_for_signal still works") {
  netco_test::run([]() -> netco::task<> {
    netco::loop::current().ref();  // a signal wait alone would let the loop exit
    auto first = netco::signal(SIGUSR1, SIGUSR2);
    send(SIGUSR2);  // queued by Asio for the set until the wait starts
    CHECK(co_await first == SIGUSR2);
    auto second = netco::wait_for_signal(SIGUSR1);
    send(SIGUSR1);
    CHECK(co_await second == SIGUSR1);
    netco::loop::current().unref();
  }());
}

TEST_CASE("a listener on each of two loops, on two threads: each is called") {
  netco::loop a, b;
  std::atomic<int> calls{0};
  std::atomic<int> armed{0};
  auto body = [&calls, &armed](netco::loop& l) {
    l.post([&] {
      l.ref();  // until the signal arrives
      auto listener = std::make_shared<netco::signal_listener>();
      *listener = netco::on_signal(SIGUSR1, [&l, &calls, listener] {
        ++calls;
        listener->remove();
        l.unref();
      });
      ++armed;
    });
    netco_test::detail::run_with_watchdog(l, 10s);
  };
  std::thread ta([&] { body(a); });
  std::thread tb([&] { body(b); });
  while (armed.load() < 2) std::this_thread::sleep_for(1ms);
  send(SIGUSR1);
  ta.join();
  tb.join();
  CHECK(calls.load() == 2);
}
