// tests/test_loop.cpp: the loop's exit rule, spawn's error reporting, cross-thread posting
#include "netco/loop.hpp"

#include <signal.h>      // sigaction: SIGPIPE left as it was
#include <sys/socket.h>  // MSG_NOSIGNAL

#include <atomic>
#include <csignal>
#include <cstdlib>  // getenv: NETCO_TEST_REQUIRE_URING
#include <stdexcept>
#include <string_view>
#include <thread>

#include "netco/signal.hpp"
#include "netco/spawn.hpp"
#include "netco/timer.hpp"
#include "support.hpp"

using namespace std::chrono_literals;

namespace {
struct counted {
  static inline int alive = 0;
  counted() { ++alive; }
  counted(const counted&) { ++alive; }
  ~counted() { --alive; }
};
}  // namespace

TEST_CASE("run() returns at once when nothing keeps the loop alive") {
  netco::loop l;
  l.run();
  CHECK(l.refs() == 0);
}

TEST_CASE("a pending timer keeps the loop alive; run() returns after it") {
  netco::loop l;
  bool woke = false;
  netco::spawn(l, [](bool& w) -> netco::task<> {
    co_await netco::sleep_for(20ms);
    w = true;
  }(woke));
  netco_test::detail::run_with_watchdog(l, 5s);
  CHECK(woke);
}

TEST_CASE("an exception escaping a spawned task is rethrown from run()") {
  netco::loop l;
  netco::spawn(l, []() -> netco::task<> {
    co_await netco::sleep_for(1ms);
    throw std::runtime_error("escaped");
  }());
  CHECK_THROWS_WITH_AS(l.run(), "escaped", std::runtime_error);
}

TEST_CASE("an error handler receives spawned failures instead, and the loop goes on") {
  netco::loop l;
  int failures = 0;
  bool later_ran = false;
  l.set_error_handler([&](std::exception_ptr) { ++failures; });
  netco::spawn(l, []() -> netco::task<> {
    throw std::runtime_error("first");
    co_return;
  }());
  netco::spawn(l, [](bool& ran) -> netco::task<> {
    co_await netco::sleep_for(5ms);
    ran = true;
  }(later_ran));
  netco_test::detail::run_with_watchdog(l, 5s);
  CHECK(failures == 1);
  CHECK(later_ran);
}

TEST_CASE("stop() ends run() even while work is pending; run() can resume it") {
  netco::loop l;
  int ticks = 0;
  netco::spawn(l, [](netco::loop& self, int& t) -> netco::task<> {
    for (t = 0; t < 3; ++t) {
      co_await netco::sleep_for(1ms);
      if (t == 0) self.stop();
    }
  }(l, ticks));
  l.run();
  CHECK(ticks == 1);
  netco_test::detail::run_with_watchdog(l, 5s);
  CHECK(ticks == 3);
}

TEST_CASE("posting from other threads is safe and every post runs") {
  netco::loop l;
  std::atomic<int> ran{0};
  constexpr int per_thread = 10'000;
  // Hold a reference while the posters run, as a worker-pool job does.
  l.ref();
  std::thread a([&] {
    for (int i = 0; i < per_thread; ++i) l.post([&] { ++ran; });
  });
  std::thread b([&] {
    for (int i = 0; i < per_thread; ++i) l.post([&] { ++ran; });
  });
  std::thread releaser([&] {
    a.join();
    b.join();
    l.post([&] { l.unref(); });
  });
  netco_test::detail::run_with_watchdog(l, 10s);
  releaser.join();
  CHECK(ran == 2 * per_thread);
}

TEST_CASE("schedule() moves a coroutine to another loop's thread") {
  netco::loop other;
  std::thread::id other_thread;
  other.ref();  // keep it running until the coroutine is done
  std::thread t([&] {
    other_thread = std::this_thread::get_id();
    other.run();
  });
  std::thread::id ran_on;
  netco_test::run([](netco::loop& target, std::thread::id& id) -> netco::task<> {
    netco::loop& home = netco::loop::current();
    home.ref();  // the coroutine leaves: keep its home loop running until it is back
    co_await target.schedule();
    id = std::this_thread::get_id();
    co_await home.schedule();
    home.unref();
    CHECK(home.in_loop_thread());
    target.post([&target] { target.unref(); });
  }(other, ran_on));
  t.join();
  CHECK(ran_on == other_thread);
}

TEST_CASE("a signal wait does not keep the loop alive (Node's rule)") {
  netco::loop l;
  bool done = false;
  netco::spawn(l, []() -> netco::task<> { co_await netco::wait_for_signal(SIGUSR1); }());
  netco::spawn(l, [](bool& d) -> netco::task<> {
    co_await netco::sleep_for(5ms);
    d = true;
  }(done));
  netco_test::detail::run_with_watchdog(l, 5s);
  CHECK(done);
}

TEST_CASE("a signal wait resumes with the signal number") {
  netco_test::run([]() -> netco::task<> {
    netco::loop::current().ref();  // a signal wait alone would let the loop exit
    auto waiting = netco::wait_for_signal(SIGUSR2);
    std::raise(SIGUSR2);  // delivered to Asio's handler, which queues it for the wait
    CHECK(co_await waiting == SIGUSR2);
    netco::loop::current().unref();
  }());
}

TEST_CASE("a coroutine in transit to a loop keeps it alive until it arrives") {
  netco::loop home, target;
  target.ref();
  target.unref();  // an exit check is now queued on target, ahead of the coroutine
  bool arrived = false;
  netco::spawn(home, [](netco::loop& to, bool& flag) -> netco::task<> {
    co_await to.schedule();  // resumed by target.run() below, on this thread
    flag = true;
  }(target, arrived));
  home.run();    // runs the coroutine until it leaves for target
  target.run();  // the exit check runs first: it must see the coroutine on its way
  CHECK(arrived);
}

TEST_CASE("an exception a posted function lets out goes to the error handler") {
  netco::loop l;
  std::exception_ptr seen;
  l.set_error_handler([&](std::exception_ptr e) { seen = e; });
  l.post([] { throw std::runtime_error("posted"); });
  bool after = false;
  l.post([&] { after = true; });  // the loop goes on
  CHECK_NOTHROW(l.run());
  REQUIRE(seen);
  CHECK_THROWS_WITH_AS(std::rethrow_exception(seen), "posted", std::runtime_error);
  CHECK(after);
}

TEST_CASE("a loop leaves SIGPIPE alone where sends say MSG_NOSIGNAL") {
#if defined(MSG_NOSIGNAL)
  struct sigaction before {};
  REQUIRE(::sigaction(SIGPIPE, nullptr, &before) == 0);
  { netco::loop l; }
  struct sigaction after {};
  REQUIRE(::sigaction(SIGPIPE, nullptr, &after) == 0);
  const bool unchanged = after.sa_handler == before.sa_handler;
  CHECK(unchanged);
#endif
}

TEST_CASE("destroying a loop destroys the spawned tasks still suspended on it") {
  counted::alive = 0;
  {
    netco::loop l;
    netco::spawn(l, [](counted) -> netco::task<> { co_await netco::sleep_for(1h); }(counted{}));
    l.post([&] { l.stop(); });
    l.run();
    CHECK(counted::alive == 1);
  }
  CHECK(counted::alive == 0);
}

TEST_CASE("a loop runs on the engine asked for, or says why not and runs on Asio") {
  netco::loop asio_loop(netco::engine::asio);
  CHECK(asio_loop.engine() == netco::engine::asio);
  netco::loop uring_loop(netco::engine::io_uring);
#if defined(NETCO_HAS_URING)
  // Where the CI has checked that the kernel allows io_uring, a fallback is a failure.
  const char* required = std::getenv("NETCO_TEST_REQUIRE_URING");
  if (required && *required) {
    CHECK(uring_loop.engine() == netco::engine::io_uring);
    const char* chosen = std::getenv("NETCO_ENGINE");
    if (chosen && std::string_view(chosen) == "io_uring") {
      CHECK(netco::loop().engine() == netco::engine::io_uring);
    }
  }
#else
  CHECK(uring_loop.engine() == netco::engine::asio);
#endif
  // Either way the loop works: a timer, a post from another thread, the exit rule.
  for (netco::loop* l : {&asio_loop, &uring_loop}) {
    bool slept = false, posted = false;
    netco::spawn(*l, [](bool& done) -> netco::task<> {
      co_await netco::sleep_for(5ms);
      done = true;
    }(slept));
    l->ref();
    std::thread poster([&] {
      l->post([&] {
        posted = true;
        l->unref();
      });
    });
    l->run();
    poster.join();
    CHECK(slept);
    CHECK(posted);
  }
}
