// tests/test_task.cpp: task<T> semantics (laziness, results, exceptions, deep chains, lifetimes)
#include "netco/task.hpp"

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "support.hpp"

namespace {

using netco::task;

/// Counts live instances, to prove frames (and what they hold) are destroyed.
struct counted {
  static inline int alive = 0;
  counted() { ++alive; }
  counted(const counted&) { ++alive; }
  counted(counted&&) noexcept { ++alive; }
  ~counted() { --alive; }
};

task<int> answer() { co_return 42; }
task<> nothing() { co_return; }
task<int&> ref_to(int& x) { co_return x; }
task<std::unique_ptr<std::string>> move_only() { co_return std::make_unique<std::string>("moved"); }
task<int> throws() {
  throw std::runtime_error("boom");
  co_return 0;
}

task<int> sum_chain(int depth) {
  if (depth == 0) co_return 0;
  co_return 1 + co_await sum_chain(depth - 1);
}

task<> record(std::vector<int>& log, int id) {
  log.push_back(id);
  co_return;
}

}  // namespace

TEST_CASE("a task is lazy: its body runs only when awaited") {
  std::vector<int> log;
  auto t = record(log, 1);
  CHECK(log.empty());
  netco_test::run([](task<> inner, std::vector<int>& l) -> task<> {
    l.push_back(0);
    co_await std::move(inner);
    l.push_back(2);
  }(std::move(t), log));
  CHECK(log == std::vector<int>{0, 1, 2});
}

TEST_CASE("values, void, references and move-only results reach the awaiter") {
  netco_test::run([]() -> task<> {
    CHECK(co_await answer() == 42);
    co_await nothing();
    int x = 7;
    int& r = co_await ref_to(x);
    CHECK(&r == &x);
    auto p = co_await move_only();
    REQUIRE(p);
    CHECK(*p == "moved");
  }());
}

TEST_CASE("an exception propagates to the awaiter, and again through outer tasks") {
  netco_test::run([]() -> task<> {
    CHECK_THROWS_WITH_AS(co_await throws(), "boom", std::runtime_error);
    auto outer = []() -> task<int> { co_return co_await throws(); };
    CHECK_THROWS_AS(co_await outer(), std::runtime_error);
  }());
}

TEST_CASE("a lvalue task can be awaited") {
  netco_test::run([]() -> task<> {
    auto t = answer();
    CHECK(co_await t == 42);
  }());
}

TEST_CASE("a million nested awaits do not grow the stack (symmetric transfer)") {
  CHECK(netco_test::run(sum_chain(1'000'000)) == 1'000'000);
}

TEST_CASE("a million synchronously completing awaits in a loop do not grow the stack") {
  netco_test::run([]() -> task<> {
    long total = 0;
    for (int i = 0; i < 1'000'000; ++i) total += co_await answer();
    CHECK(total == 42'000'000L);
  }());
}

TEST_CASE("a task destroyed without being started destroys its frame and arguments") {
  counted::alive = 0;
  {
    auto t = [](counted c) -> task<> {
      (void)c;
      co_return;
    }(counted{});
    CHECK(counted::alive == 1);  // the parameter copy lives in the frame
  }
  CHECK(counted::alive == 0);
}

TEST_CASE("a finished task's frame is released with the task") {
  counted::alive = 0;
  netco_test::run([]() -> task<> {
    auto t = []() -> task<counted> { co_return counted{}; }();
    {
      counted c = co_await t;
      CHECK(counted::alive >= 1);
    }
  }());
  CHECK(counted::alive == 0);
}

TEST_CASE("moving a task transfers ownership; empty tasks are reported") {
  auto a = answer();
  CHECK(a.valid());
  auto b = std::move(a);
  CHECK_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): the point of the test
  CHECK(b.valid());
  netco_test::run([](task<int> moved_from) -> task<> {
    CHECK_THROWS_AS(co_await moved_from, std::logic_error);
  }(std::move(a)));
}

TEST_CASE("awaits resume in program order") {
  std::vector<int> log;
  netco_test::run([](std::vector<int>& l) -> task<> {
    for (int i = 0; i < 5; ++i) co_await record(l, i);
  }(log));
  CHECK(log == std::vector<int>{0, 1, 2, 3, 4});
}
