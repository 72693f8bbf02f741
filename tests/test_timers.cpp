// tests/test_timers.cpp: set_timeout, set_interval, set_immediate, clear_* and their handles
#include "netco/timers.hpp"

#include <chrono>
#include <cmath>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "counting_allocator.hpp"  // this suite counts allocations: it is its own program
#include "netco/loop.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

/// Runs setup() inside l's run(), which then goes on until l's exit rule stops it (the test
/// fails instead of hanging).
template <class Fn>
void run_loop(netco::loop& l, Fn setup, std::chrono::milliseconds limit = 10s) {
  l.post(std::move(setup));
  netco_test::detail::run_with_watchdog(l, limit);
}

/// Counts its live copies, to show that a callback was destroyed.
struct tracked {
  std::shared_ptr<int> alive = std::make_shared<int>(0);
  template <class... Args>
  void operator()(const Args&...) const {}
};

}  // namespace

// What the compiler refuses, each with a message that names the fix (tests/meson.build
// compiles this block and looks for the messages).
#if defined(NETCO_TEST_TIMERS_REFUSED)
void refused() {
  netco::set_timeout([](const std::string&) {}, 10, 42);  // the callback cannot be called
  netco::set_timeout([] {}, "10");                        // the delay is a number or a duration
  netco::set_immediate([](int) {});                       // the callback cannot be called
  netco::set_interval([]() -> netco::task<> { co_return; }, 5);  // returns a netco::task
}
#endif

static_assert(netco::detail::timeout_callback_fits<void (*)(int), int>);
static_assert(netco::detail::timeout_callback_fits<void (*)(const netco::timeout&, int), int>);
static_assert(!netco::detail::timeout_callback_fits<void (*)(const std::string&), int>);
static_assert(!netco::detail::timeout_callback_fits<void (*)(int, int), int>);

TEST_CASE("timers due at the same time fire in the order they were set; others by due time") {
  // Delays 20 ms apart, so that a slow (sanitized, loaded) machine setting them one after the
  // other cannot reorder two of different delays.
  netco::loop l;
  std::vector<std::string> order;
  run_loop(l, [&] {
    netco::set_timeout([&] { order.push_back("a40"); }, 40);
    netco::set_timeout([&] { order.push_back("b20"); }, 20);
    netco::set_timeout([&] { order.push_back("c40"); }, 40);
    netco::set_timeout([&] { order.push_back("d1"); });     // Node's default delay: 1 ms
    netco::set_timeout([&] { order.push_back("e0"); }, 0);  // 0 is 1 ms, as in Node
    netco::set_timeout([&] { order.push_back("f40"); }, 40ms);
  });
  CHECK(order == std::vector<std::string>{"d1", "e0", "b20", "a40", "c40", "f40"});
}

TEST_CASE("a timeout fires once, not before its delay, and keeps run() going until then") {
  netco::loop l;
  int calls = 0;
  clock_type::time_point set_at, fired_at;
  run_loop(l, [&] {
    set_at = clock_type::now();
    netco::set_timeout(
        [&] {
          ++calls;
          fired_at = clock_type::now();
        },
        25);
  });
  CHECK(calls == 1);
  CHECK(fired_at - set_at >= 25ms);
}

TEST_CASE("fractional and sub-millisecond-precise delays: not before the delay either") {
  netco::loop l;
  std::vector<clock_type::duration> waited;
  run_loop(l, [&] {
    for (int i = 0; i < 20; ++i) {
      const auto set_at = clock_type::now();
      netco::set_timeout([&, set_at] { waited.push_back(clock_type::now() - set_at); }, 1.25);
      netco::set_timeout([&, set_at] { waited.push_back(clock_type::now() - set_at - 250us); },
                         1500us);
    }
  });
  REQUIRE(waited.size() == 40);
  for (auto w : waited) CHECK(w >= 1250us);
}

TEST_CASE("a timer set with delay 1 in a callback fires on a later turn, after a post") {
  netco::loop l;
  std::vector<std::string> order;
  run_loop(l, [&] {
    netco::set_timeout(
        [&] {
          order.push_back("timeout");
          netco::set_timeout([&] { order.push_back("new timeout"); }, 1);
          l.post([&] { order.push_back("post"); });
          // Even if this pass outlasts 1 ms, the new timer waits for the next pass.
          const auto until = clock_type::now() + 3ms;
          while (clock_type::now() < until) {
          }
        },
        2);
  });
  CHECK(order == std::vector<std::string>{"timeout", "post", "new timeout"});
}

TEST_CASE("an interval repeats until it clears itself from inside its callback") {
  netco::loop l;
  int by_capture = 0;
  int by_self = 0;
  netco::timeout first;
  clock_type::time_point set_at;
  std::vector<clock_type::time_point> calls;
  run_loop(l, [&] {
    set_at = clock_type::now();
    first = netco::set_interval(
        [&] {
          calls.push_back(clock_type::now());
          if (++by_capture == 3) netco::clear_interval(first);
        },
        5);
    // Node's `this`: the callback may take its own handle first.
    netco::set_interval(
        [&](const netco::timeout& self, int step) {
          by_self += step;
          if (by_self == 4 * step) self.close();
        },
        2ms, 10);
  });
  CHECK(by_capture == 3);
  CHECK(by_self == 40);
  REQUIRE(calls.size() == 3);
  CHECK(calls[0] - set_at >= 5ms);
  CHECK(calls[1] - calls[0] >= 5ms);  // each from the start of the previous call
  CHECK(calls[2] - calls[1] >= 5ms);
}

TEST_CASE("clear before it fires: never called, nothing kept alive; clearing again is nothing") {
  netco::loop l;
  bool fired = false;
  tracked cb;
  run_loop(l, [&] {
    auto t = netco::set_timeout([&fired, cb] { fired = true; }, 20);
    CHECK(*cb.alive.get() == 0);
    CHECK(cb.alive.use_count() == 2);
    netco::clear_timeout(t);
    CHECK(cb.alive.use_count() == 1);  // the callback is destroyed at once
    netco::clear_timeout(t);
    t.close();
    netco::clear_timeout(netco::timeout{});
    netco::clear_interval(netco::timeout{});
    netco::timeout{}.ref().unref().refresh().close();
    t.refresh();  // a cleared timer stays cleared (Node's rule)
  });
  CHECK_FALSE(fired);
}

TEST_CASE("clearing a fired timeout, and clearing from inside its own callback, are no-ops") {
  netco::loop l;
  int calls = 0;
  run_loop(l, [&] {
    netco::set_timeout(
        [&](const netco::timeout& self) {
          ++calls;
          self.close();  // its callback is destroyed once it returns, not under itself
          netco::clear_timeout(self);
        },
        1);
    auto t = netco::set_timeout([&] { ++calls; }, 1);
    netco::set_timeout(
        [&, t] {
          netco::clear_timeout(t);
          netco::clear_timeout(t);
        },
        10);
  });
  CHECK(calls == 2);
}

TEST_CASE("refresh() restarts the countdown with the same delay") {
  netco::loop l;
  clock_type::time_point set_at, refreshed_at, fired_at;
  int calls = 0;
  run_loop(l, [&] {
    set_at = clock_type::now();
    auto t = netco::set_timeout(
        [&] {
          ++calls;
          fired_at = clock_type::now();
        },
        30);
    netco::set_timeout(
        [&, t] {
          refreshed_at = clock_type::now();
          t.refresh();
        },
        15);
  });
  CHECK(calls == 1);
  CHECK(refreshed_at - set_at >= 15ms);
  CHECK(fired_at - refreshed_at >= 30ms);
}

TEST_CASE("refresh() re-arms a timeout that has fired (Node's rule), from its callback too") {
  netco::loop l;
  int calls = 0;
  run_loop(l, [&] {
    auto t = netco::set_timeout(
        [&](const netco::timeout& self) {
          if (++calls < 3) self.refresh();
        },
        2);
    netco::set_timeout(
        [&, t] {
          CHECK(calls == 3);
          t.refresh();
        },
        40);
  });
  CHECK(calls == 4);
}

TEST_CASE("an unref'd timer lets run() return, and does not fire inside a later run()") {
  netco::loop l;
  bool fired = false;
  netco::timeout t;
  run_loop(l, [&] {
    t = netco::set_timeout([&] { fired = true; }, 30).unref();
    CHECK_FALSE(t.has_ref());
  });
  CHECK_FALSE(fired);  // run() returned while it was armed
  bool later = false;
  run_loop(l, [&] { netco::set_timeout([&] { later = true; }, 80); });
  CHECK(later);
  CHECK_FALSE(fired);  // its run() had ended: cancelled, as Node's process would have exited
  t.refresh();         // cancelled for good
  run_loop(l, [&] { netco::set_timeout([] {}, 50); });
  CHECK_FALSE(fired);
}

TEST_CASE("an unref'd timer still fires while something else keeps run() going") {
  netco::loop l;
  bool fired = false;
  run_loop(l, [&] {
    netco::set_timeout([&] { fired = true; }, 5).unref();
    netco::set_timeout([] {}, 40);
  });
  CHECK(fired);
}

TEST_CASE("ref() again makes an unref'd timer keep run() going; has_ref() follows") {
  netco::loop l;
  bool fired = false;
  run_loop(l, [&] {
    auto t = netco::set_timeout([&] { fired = true; }, 20);
    CHECK(t.has_ref());
    t.unref();
    CHECK_FALSE(t.has_ref());
    t.ref();
    CHECK(t.has_ref());
    CHECK_FALSE(netco::timeout{}.has_ref());
  });
  CHECK(fired);
}

TEST_CASE("a timer unref'd in one run() and refreshed in the next fires in that one") {
  netco::loop l;
  int fired = 0;
  netco::timeout t;
  run_loop(l, [&] { t = netco::set_timeout([&] { ++fired; }, 5).unref(); });
  run_loop(l, [&] {
    t.refresh();                    // it now belongs to this run()
    netco::set_timeout([] {}, 60);  // which this keeps going
  });
  CHECK(fired == 1);
}

TEST_CASE("a timer set before run(), on the thread's default loop, fires in that run()") {
  int fired = 0;
  std::thread([&] {
    netco::set_timeout([&] { ++fired; }, 5);
    netco::set_timeout([&] { ++fired; }, 5ms).unref();  // belongs to the coming run()
    netco::set_timeout([&] { ++fired; }, 10);
    netco::run();
  }).join();
  CHECK(fired == 3);
}

TEST_CASE("callbacks run on the thread of the loop that set them") {
  std::thread::id timer_thread, immediate_thread, loop_thread;
  std::thread([&] {
    loop_thread = std::this_thread::get_id();
    netco::loop l;
    run_loop(l, [&] {
      netco::set_timeout([&] { timer_thread = std::this_thread::get_id(); }, 1);
      netco::set_immediate([&] { immediate_thread = std::this_thread::get_id(); });
    });
  }).join();
  CHECK(timer_thread == loop_thread);
  CHECK(immediate_thread == loop_thread);
}

TEST_CASE("arguments are stored by value and passed to the callback") {
  netco::loop l;
  std::string got;
  int sum = 0;
  int unique = 0;
  run_loop(l, [&] {
    std::string text = "hello";
    netco::set_timeout([&](const std::string& s, int n) { got = s + std::to_string(n); }, 1, text,
                       42);
    text = "changed";  // the timer kept its own copy
    netco::set_interval(
        [&](const netco::timeout& self, int& counter) {  // the same stored value each time
          sum += ++counter;
          if (counter == 3) self.close();
        },
        1, 0);
    netco::set_immediate([&](std::unique_ptr<int>& p) { unique = *p; }, std::make_unique<int>(7));
  });
  CHECK(got == "hello42");
  CHECK(sum == 1 + 2 + 3);
  CHECK(unique == 7);
}

TEST_CASE("numeric delays are coerced as Node does (fractions kept); durations as they are") {
  using netco::detail::timeout_delay;
  CHECK(timeout_delay(0) == 1ms);
  CHECK(timeout_delay(-5) == 1ms);
  CHECK(timeout_delay(0.5) == 1ms);
  CHECK(timeout_delay(1.7) == 1700us);  // a fraction is kept: never fired before the delay
  CHECK(timeout_delay(2.5f) == 2500us);
  CHECK(timeout_delay(250) == 250ms);
  CHECK(timeout_delay(std::nan("")) == 1ms);
  CHECK(timeout_delay(2147483647LL) == 2147483647ms);
  CHECK(timeout_delay(2147483648LL) == 1ms);  // over TIMEOUT_MAX: 1 ms (Node warns)
  CHECK(timeout_delay(0ms) == 1ms);
  CHECK(timeout_delay(-3s) == 1ms);
  CHECK(timeout_delay(500us) == 1ms);
  CHECK(timeout_delay(1500us) == 1500us);
  CHECK(timeout_delay(std::chrono::duration<double>(0.25)) == 250ms);
  CHECK(timeout_delay(std::chrono::hours(24 * 365 * 1000)) == netco::detail::timeout_delay_limit);
  CHECK(timeout_delay(std::chrono::hours(48)) == 48h);  // no 32-bit limit for a duration
}

TEST_CASE("clear_timeout(id) and clear_interval(id), as Node's clearTimeout(primitive)") {
  netco::loop l;
  bool a = false;
  int b = 0;
  bool c = false;
  run_loop(l, [&] {
    auto ta = netco::set_timeout([&] { a = true; }, 5);
    auto tb = netco::set_interval([&] { ++b; }, 1);
    auto tc = netco::set_timeout([&] { c = true; }, 5);
    CHECK(ta.id() != 0);
    CHECK(ta.id() != tb.id());
    CHECK(ta.id() == ta.id());
    CHECK(netco::timeout{}.id() == 0);
    netco::clear_timeout(ta.id());
    netco::clear_timeout(std::uint64_t{987654321});  // unknown: ignored
    const std::uint64_t b_id = tb.id();
    netco::set_timeout([&, b_id] { netco::clear_interval(b_id); }, 20);
    (void)tc;
  });
  CHECK_FALSE(a);
  CHECK(b >= 1);
  CHECK(c);
}

TEST_CASE("set_immediate: after posts already queued, before a 1 ms timer set in the same turn") {
  // Node, inside an I/O or timer callback: setImmediate's callback runs before a setTimeout(1)
  // set in the same callback (the check phase comes before the next timers phase).
  netco::loop l;
  std::vector<std::string> order;
  run_loop(l, [&] {
    l.post([&] { order.push_back("post"); });
    netco::set_timeout([&] { order.push_back("timeout"); }, 1);
    netco::set_immediate([&] { order.push_back("immediate"); });
  });
  CHECK(order == std::vector<std::string>{"post", "immediate", "timeout"});
}

TEST_CASE("an immediate queued from an immediate runs on a later turn") {
  netco::loop l;
  std::vector<std::string> order;
  run_loop(l, [&] {
    netco::set_immediate([&] {
      order.push_back("a");
      l.post([&] { order.push_back("post from a"); });
      netco::set_immediate([&] { order.push_back("c, from a"); });
    });
    netco::set_immediate([&] { order.push_back("b"); });
  });
  CHECK(order == std::vector<std::string>{"a", "b", "post from a", "c, from a"});
}

TEST_CASE("clear_immediate: before it runs, from an earlier immediate of the same batch") {
  netco::loop l;
  std::vector<std::string> order;
  tracked cb;
  netco::immediate second;
  run_loop(l, [&] {
    auto gone = netco::set_immediate([&order, cb] { order.push_back("cleared one"); });
    netco::set_immediate([&] {
      order.push_back("first");
      netco::clear_immediate(second);
    });
    second = netco::set_immediate([&] { order.push_back("second"); });
    CHECK(gone.has_ref());
    netco::clear_immediate(gone);
    CHECK(cb.alive.use_count() == 1);
    CHECK_FALSE(gone.has_ref());  // as in Node: no longer pending
    netco::clear_immediate(gone);
    netco::clear_immediate(netco::immediate{});
  });
  CHECK(order == std::vector<std::string>{"first"});
}

TEST_CASE("immediate: has_ref, ref and unref; an unref'd one does not keep run() going") {
  netco::loop l;
  bool ran = false;
  netco::immediate kept;
  run_loop(l, [&] {
    auto i = netco::set_immediate([] {});
    CHECK(i.has_ref());
    i.unref();
    CHECK_FALSE(i.has_ref());
    i.ref();
    CHECK(i.has_ref());
    kept = i;
    // Unref'd, queued from a last immediate: run() may return first, and it then never runs.
    netco::set_immediate([&] { netco::set_immediate([&] { ran = true; }).unref(); });
  });
  CHECK_FALSE(kept.has_ref());  // it ran
  CHECK_FALSE(netco::immediate{}.has_ref());
  CHECK_FALSE(ran);
  run_loop(l, [&] { netco::set_timeout([] {}, 20); });
  CHECK_FALSE(ran);  // cancelled with the run() it belonged to
}

TEST_CASE("an exception from a callback goes to the loop: by default run() rethrows it") {
  netco::loop l;
  bool second = false;
  CHECK_THROWS_AS(run_loop(l,
                           [&] {
                             netco::set_timeout([] { throw std::runtime_error("boom"); }, 2);
                             netco::set_timeout([&] { second = true; }, 2);
                           }),
                  std::runtime_error);
  CHECK_FALSE(second);  // the rest wait for the next turn: here, the next run()
  run_loop(l, [] {});
  CHECK(second);

  CHECK_THROWS_AS(run_loop(l, [] { netco::set_immediate([] { throw std::logic_error("i"); }); }),
                  std::logic_error);
}

TEST_CASE("with an error handler the loop goes on; an interval that threw is not rescheduled") {
  netco::loop l;
  std::vector<std::string> errors;
  l.set_error_handler([&](std::exception_ptr e) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      errors.push_back(x.what());
    }
  });
  int interval_calls = 0;
  bool after = false;
  bool immediate_after = false;
  netco::timeout iv;
  run_loop(l, [&] {
    iv = netco::set_interval(
        [&] {
          ++interval_calls;
          throw std::runtime_error("interval");
        },
        1);
    netco::set_timeout([&] { after = true; }, 20);
    netco::set_immediate([] { throw std::runtime_error("immediate"); });
    netco::set_immediate([&] { immediate_after = true; });
  });
  CHECK(interval_calls == 1);
  CHECK(after);
  CHECK(immediate_after);
  CHECK(errors == std::vector<std::string>{"immediate", "interval"});
  CHECK(iv.has_ref());  // a flag, as Node's: it keeps nothing alive once it stopped
}

TEST_CASE("destroying a loop with timers pending destroys their callbacks; handles stay safe") {
  tracked cb;
  netco::timeout pending_timeout, fired_timeout, interval;
  netco::immediate pending_immediate;
  netco::timeout cleared_by_destructor;  // outlives the loop, whose end clears it
  {
    netco::loop l;
    struct clears_on_destruction {  // a callback whose destruction uses another handle
      netco::timeout* other;
      tracked t;
      clears_on_destruction(netco::timeout* o, tracked c) : other(o), t(std::move(c)) {}
      clears_on_destruction(clears_on_destruction&& x) noexcept : other(x.other), t(x.t) {
        x.other = nullptr;
      }
      ~clears_on_destruction() {
        if (other) netco::clear_timeout(*other);
      }
      void operator()() const {}
    };
    l.post([&] {
      pending_timeout = netco::set_timeout(cb, 10s);
      cleared_by_destructor = netco::set_timeout(cb, 20s);
      interval = netco::set_interval(cb, 5);
      netco::set_timeout(clears_on_destruction(&cleared_by_destructor, cb), 30s);
      netco::set_timeout(cb, 1h).unref();
      fired_timeout = netco::set_timeout(cb, 1);
      netco::set_timeout(
          [&] {
            pending_immediate = netco::set_immediate(cb);
            netco::set_immediate(cb, 1, std::string("arg"));
            l.stop();  // run() returns with all of these pending
          },
          15);
    });
    netco_test::detail::run_with_watchdog(l, 10s);
    CHECK(cb.alive.use_count() > 2);
  }
  CHECK(cb.alive.use_count() == 2);  // cb, and the fired timeout's callback (kept for refresh)
  for (const auto& t : {pending_timeout, fired_timeout, interval}) {
    t.ref().unref().refresh();
    CHECK(t.id() != 0);
    netco::clear_timeout(t);
    t.close();
  }
  CHECK(cb.alive.use_count() == 1);
  pending_immediate.ref().unref();
  netco::clear_immediate(pending_immediate);
}

TEST_CASE("a cycle through a handle the callback captures is broken by clearing it") {
  struct owner {
    netco::timeout idle;
  };
  std::weak_ptr<owner> watch;
  {
    netco::loop l;
    run_loop(l, [&] {
      auto o = std::make_shared<owner>();
      watch = o;
      o->idle = netco::set_interval([o] { o->idle.close(); }, 1);  // o -> timer -> o
    });
    CHECK(watch.expired());
    run_loop(l, [&] {
      auto o = std::make_shared<owner>();
      watch = o;
      o->idle = netco::set_timeout([o] {}, 1h).unref();
    });
    CHECK_FALSE(watch.expired());  // armed: the loop owns it
  }
  CHECK(watch.expired());  // the loop's end dropped the callback, and with it the cycle
}

TEST_CASE("10,000 timers: each fires once, not before its delay; equal delays in order") {
  constexpr int n = 10'000;
  netco::loop l;
  std::vector<int> delay(n);
  std::mt19937 gen(7);
  for (int& d : delay) d = std::uniform_int_distribution<int>(1, 40)(gen);
  std::vector<clock_type::time_point> set_at(n), fired_at(n);
  std::vector<int> order;
  order.reserve(n);
  int cleared_fired = 0;
  run_loop(l, [&] {
    std::vector<netco::timeout> to_clear;
    for (int i = 0; i < n; ++i) {
      set_at[i] = clock_type::now();
      netco::set_timeout(
          [&, i] {
            fired_at[i] = clock_type::now();
            order.push_back(i);
          },
          delay[i]);
      to_clear.push_back(netco::set_timeout([&] { ++cleared_fired; }, delay[i]));
    }
    for (std::size_t i = 0; i < to_clear.size(); i += 2) netco::clear_timeout(to_clear[i]);
    for (std::size_t i = 1; i < to_clear.size(); i += 2) to_clear[i].close();
  });
  CHECK(cleared_fired == 0);
  REQUIRE(order.size() == static_cast<std::size_t>(n));
  std::vector<int> last_of_delay(41, -1);
  int late = 0;
  int out_of_order = 0;
  for (int i : order) {
    if (fired_at[i] - set_at[i] < std::chrono::milliseconds(delay[i])) ++late;
    if (last_of_delay[delay[i]] > i) ++out_of_order;
    last_of_delay[delay[i]] = i;
  }
  CHECK(late == 0);
  CHECK(out_of_order == 0);
}

TEST_CASE("set_timeout allocates once; refresh() and interval repeats never") {
  netco::loop l;
  long per_set = -1;
  long per_refresh = -1;
  long per_repeat = -1;
  long repeat_start = 0;
  int repeats = 0;
  run_loop(l, [&] {
    // The first timer makes the loop's timer service, its Asio wait and the heap's room.
    auto anchor = netco::set_timeout([] {}, 30'000);
    std::vector<netco::timeout> timers;
    timers.reserve(1000);
    for (int i = 0; i < 1000; ++i) timers.push_back(netco::set_timeout([] {}, 40'000));
    for (auto& t : timers) t.close();
    timers.clear();

    long before = netco_test::allocations.load();
    for (int i = 0; i < 1000; ++i) timers.push_back(netco::set_timeout([] {}, 40'000 + i));
    per_set = netco_test::allocations.load() - before;

    before = netco_test::allocations.load();
    for (auto& t : timers) t.refresh();
    per_refresh = netco_test::allocations.load() - before;
    for (auto& t : timers) t.close();
    anchor.close();

    netco::set_interval(
        [&](const netco::timeout& self) {
          if (++repeats == 10) repeat_start = netco_test::allocations.load();
          if (repeats == 60) {
            per_repeat = netco_test::allocations.load() - repeat_start;
            self.close();
          }
        },
        1);
  });
  CHECK(per_set == 1000);
  CHECK(per_refresh == 0);
  CHECK(per_repeat == 0);
}
