// tests/test_timer.cpp: sleep_for, with_timeout and cancel_scope
#include "netco/timer.hpp"

#include <system_error>

#include "netco/cancel.hpp"
#include "netco/spawn.hpp"
#include "netco/when_all.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
using netco::task;

namespace {
task<int> slow(std::chrono::milliseconds d) {
  co_await netco::sleep_for(d);
  co_return 1;
}
}  // namespace

TEST_CASE("sleep_for waits at least the duration") {
  netco_test::run([]() -> task<> {
    const auto start = std::chrono::steady_clock::now();
    co_await netco::sleep_for(20ms);
    CHECK(std::chrono::steady_clock::now() - start >= 20ms);
  }());
}

TEST_CASE("with_timeout returns the result of a task that finishes in time") {
  netco_test::run([]() -> task<> { CHECK(co_await netco::with_timeout(slow(1ms), 5s) == 1); }());
}

TEST_CASE("with_timeout fails with timed_out and cancels the slow task's operation") {
  netco_test::run([]() -> task<> {
    const auto start = std::chrono::steady_clock::now();
    try {
      co_await netco::with_timeout(slow(1h), 10ms);
      FAIL("expected a timeout");
    } catch (const std::system_error& e) {
      CHECK(e.code() == std::errc::timed_out);
    }
    CHECK(std::chrono::steady_clock::now() - start < 1h);
  }());
}

TEST_CASE("nested timeouts: the inner one fires first and the outer one stays usable") {
  netco_test::run([]() -> task<> {
    auto inner = []() -> task<int> {
      try {
        co_return co_await netco::with_timeout(slow(1h), 5ms);
      } catch (const std::system_error& e) {
        CHECK(e.code() == std::errc::timed_out);
        co_return -1;
      }
    };
    CHECK(co_await netco::with_timeout(inner(), 5s) == -1);
  }());
}

TEST_CASE("cancel_scope cancels the pending and later operations of its tasks") {
  netco_test::run([]() -> task<> {
    netco::cancel_scope scope;
    auto sleeper = [](netco::cancel_scope& s) -> task<std::error_code> {
      std::error_code ec;
      co_await s.run(
          [](std::error_code& out) -> task<> { co_await netco::sleep_for(1h, out); }(ec));
      co_return ec;
    };
    auto canceller = [](netco::cancel_scope& s) -> task<> {
      co_await netco::sleep_for(5ms);
      s.cancel();
    };
    auto [a, b, none] = co_await netco::when_all(sleeper(scope), sleeper(scope), canceller(scope));
    (void)none;
    CHECK(a == std::errc::operation_canceled);
    CHECK(b == std::errc::operation_canceled);
    CHECK(scope.cancelled());
    // Sticky: an operation started in a cancelled scope fails at once.
    std::error_code late;
    co_await scope.run(
        [](std::error_code& out) -> task<> { co_await netco::sleep_for(1h, out); }(late));
    CHECK(late == std::errc::operation_canceled);
  }());
}

TEST_CASE("the throwing form of a cancelled sleep throws operation_canceled") {
  netco_test::run([]() -> task<> {
    netco::cancel_scope scope;
    scope.cancel();
    try {
      co_await scope.run(netco::sleep_for(1h));
      FAIL("expected cancellation");
    } catch (const std::system_error& e) {
      CHECK(e.code() == std::errc::operation_canceled);
    }
  }());
}
