// tests/test_when_all.cpp: when_all results, ordering, failure and cancellation
#include "netco/when_all.hpp"

#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "netco/timer.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
using netco::task;

namespace {
task<int> after(std::chrono::milliseconds d, int v) {
  co_await netco::sleep_for(d);
  co_return v;
}
task<> fail_after(std::chrono::milliseconds d) {
  co_await netco::sleep_for(d);
  throw std::runtime_error("child failed");
}
task<std::string> text() { co_return "text"; }
}  // namespace

TEST_CASE("when_all returns every result in argument order, voids as monostate") {
  netco_test::run([]() -> task<> {
    auto [a, b, c, d] =
        co_await netco::when_all(after(20ms, 1), after(1ms, 2), text(), netco::sleep_for(1ms));
    CHECK(a == 1);
    CHECK(b == 2);
    CHECK(c == "text");
    (void)d;
  }());
}

TEST_CASE("when_all runs its tasks concurrently") {
  netco_test::run([]() -> task<> {
    const auto start = std::chrono::steady_clock::now();
    std::vector<task<int>> tasks;
    for (int i = 0; i < 16; ++i) tasks.push_back(after(50ms, i));
    auto values = co_await netco::when_all(std::move(tasks));
    REQUIRE(values.size() == 16);
    for (int i = 0; i < 16; ++i) CHECK(values[i] == i);
    // Sequential would take 800 ms; this is a sanity bound, not a timing assertion.
    CHECK(std::chrono::steady_clock::now() - start < 750ms);
  }());
}

TEST_CASE("when_all of nothing and of only void tasks") {
  netco_test::run([]() -> task<> {
    co_await netco::when_all(std::vector<task<>>{});
    co_await netco::when_all(netco::sleep_for(1ms), netco::sleep_for(2ms));
  }());
}

TEST_CASE("a failing child cancels its siblings, and its exception is rethrown") {
  netco_test::run([]() -> task<> {
    bool sibling_cancelled = false;
    auto sibling = [](bool& flag) -> task<> {
      std::error_code ec;
      co_await netco::sleep_for(1h, ec);  // would hang the test if not cancelled
      flag = ec == std::errc::operation_canceled;
    }(sibling_cancelled);
    CHECK_THROWS_WITH_AS(co_await netco::when_all(fail_after(5ms), std::move(sibling)),
                         "child failed", std::runtime_error);
    CHECK(sibling_cancelled);
  }());
}

TEST_CASE("cancelling the awaiter's scope cancels every child") {
  netco_test::run([]() -> task<> {
    std::vector<task<>> sleepers;
    for (int i = 0; i < 4; ++i) sleepers.push_back(netco::sleep_for(1h));
    try {
      co_await netco::with_timeout(netco::when_all(std::move(sleepers)), 10ms);
      FAIL("expected a timeout");
    } catch (const std::system_error& e) {
      CHECK(e.code() == std::errc::timed_out);
    }
  }());
}
