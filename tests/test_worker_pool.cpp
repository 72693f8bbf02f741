// tests/test_worker_pool.cpp: worker_pool: both styles, cancellation, limits, threads
#include "netco/worker_pool.hpp"

#include <atomic>
#include <memory>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "netco/cancel.hpp"
#include "netco/spawn.hpp"
#include "netco/timer.hpp"
#include "netco/when_all.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
using netco::task;

namespace {

/// Holds jobs on their workers until opened; opens itself when the test ends, whatever happens,
/// so that a failing test never leaves a pool's destructor joining a blocked worker.
class gate {
 public:
  gate() = default;
  gate(const gate&) = delete;
  ~gate() { open(); }

  void open() {
    state_->store(true);
    state_->notify_all();
  }
  /// A callable for a job: blocks until the gate opens.
  auto waiter() const {
    return [s = state_] { s->wait(false); };
  }

 private:
  std::shared_ptr<std::atomic<bool>> state_ = std::make_shared<std::atomic<bool>>(false);
};

/// Polls (on the loop) until the pool runs n jobs at once.
task<> until_busy(netco::worker_pool& pool, std::size_t n) {
  while (pool.stats().busy_workers < n) co_await netco::sleep_for(1ms);
}

std::error_code failure_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::system_error& x) {
    return x.code();
  } catch (...) {
  }
  return {};
}

template <class Job>
task<std::error_code> error_of(Job j) {
  try {
    co_await std::move(j);
  } catch (const std::system_error& e) {
    co_return e.code();
  }
  co_return std::error_code();
}

struct counted {
  static inline std::atomic<int> alive{0};
  counted() { ++alive; }
  counted(const counted&) { ++alive; }
  ~counted() { --alive; }
};

}  // namespace

TEST_CASE("exec runs fn on a worker and resumes the awaiter on its own loop's thread") {
  netco::worker_pool pool({.max_workers = 2});
  netco_test::run([](netco::worker_pool& p) -> task<> {
    const auto loop_thread = std::this_thread::get_id();
    const auto worker_thread = co_await p.exec([] { return std::this_thread::get_id(); });
    CHECK(worker_thread != loop_thread);
    CHECK(std::this_thread::get_id() == loop_thread);
    CHECK(co_await p.exec([](int a, int b) { return a * b; }, 6, 7) == 42);
    co_await p.exec([] {});  // void
    CHECK(std::this_thread::get_id() == loop_thread);
  }(pool));
}

TEST_CASE("arguments are copied into the job; a move-only result comes back") {
  netco::worker_pool pool({.max_workers = 1});
  netco_test::run([](netco::worker_pool& p) -> task<> {
    std::string text = "abc";
    auto job = p.exec([](std::string s) { return s + "def"; }, text);
    text = "changed";  // the job has its own copy
    CHECK(co_await std::move(job) == "abcdef");

    auto box =
        co_await p.exec([](std::unique_ptr<int> in) { return std::make_unique<int>(*in + 1); },
                        std::make_unique<int>(41));
    REQUIRE(box);
    CHECK(*box == 42);
  }(pool));
}

TEST_CASE("fn and its arguments are destroyed once the job is done") {
  {
    netco::worker_pool pool({.max_workers = 1});
    netco_test::run([](netco::worker_pool& p) -> task<> {
      // NOTE: a named lambda: GCC 12 mis-destroys an init-capture in a co_await expression.
      auto fn = [c = counted()](counted) {};
      co_await p.exec(fn, counted());
      CHECK(counted::alive == 1);  // fn's own capture
    }(pool));
  }
  CHECK(counted::alive == 0);
}

TEST_CASE("an exception thrown by fn is rethrown at the co_await") {
  netco::worker_pool pool({.max_workers = 1});
  netco_test::run([](netco::worker_pool& p) -> task<> {
    try {
      co_await p.exec([]() -> int { throw std::runtime_error("job failed"); });
      FAIL("expected an exception");
    } catch (const std::runtime_error& e) {
      CHECK(std::string(e.what()) == "job failed");
    }
    // The pool goes on working.
    CHECK(co_await p.exec([] { return 1; }) == 1);
  }(pool));
}

TEST_CASE("cancel() removes a queued job: it never runs and its awaiter gets operation_canceled") {
  netco::worker_pool pool({.max_workers = 1});
  gate g;
  netco_test::run([](netco::worker_pool& p, gate& g) -> task<> {
    auto blocker = p.exec(g.waiter());
    co_await until_busy(p, 1);
    std::atomic<bool> ran{false};
    auto queued = p.exec([&ran] { ran = true; });
    CHECK(p.stats().pending_jobs == 1);
    CHECK(queued.cancel());
    CHECK_FALSE(queued.cancel());  // once
    CHECK(p.stats().pending_jobs == 0);
    CHECK(co_await error_of(std::move(queued)) == std::errc::operation_canceled);
    g.open();
    co_await std::move(blocker);
    CHECK_FALSE(ran);
  }(pool, g));
}

TEST_CASE("a cancelled scope cancels the job its task awaits") {
  netco::worker_pool pool({.max_workers = 1});
  gate g;
  netco_test::run([](netco::worker_pool& p, gate& g) -> task<> {
    auto blocker = p.exec(g.waiter());
    co_await until_busy(p, 1);
    netco::cancel_scope scope;
    auto waiting = [](netco::worker_pool& p) -> task<std::error_code> {
      co_return co_await error_of(p.exec([] { return 1; }));
    };
    auto canceller = [](netco::cancel_scope& s) -> task<> {
      co_await netco::sleep_for(5ms);
      s.cancel();
    };
    auto [ec, none] = co_await netco::when_all(scope.run(waiting(p)), canceller(scope));
    (void)none;
    CHECK(ec == std::errc::operation_canceled);
    CHECK(p.stats().pending_jobs == 0);
    // A job awaited in a scope cancelled before it starts fails at once.
    CHECK(co_await scope.run(waiting(p)) == std::errc::operation_canceled);
    g.open();
    co_await std::move(blocker);
  }(pool, g));
}

TEST_CASE("with_timeout on a job that is still queued fails with timed_out") {
  netco::worker_pool pool({.max_workers = 1});
  gate g;
  netco_test::run([](netco::worker_pool& p, gate& g) -> task<> {
    auto blocker = p.exec(g.waiter());
    co_await until_busy(p, 1);
    auto waiting = [](netco::worker_pool& p) -> task<int> {
      co_return co_await p.exec([] { return 1; });
    };
    try {
      co_await netco::with_timeout(waiting(p), 10ms);
      FAIL("expected a timeout");
    } catch (const std::system_error& e) {
      CHECK(e.code() == std::errc::timed_out);
    }
    CHECK(p.stats().pending_jobs == 0);
    g.open();
    co_await std::move(blocker);
  }(pool, g));
}

TEST_CASE(
    "timeout(): a running job cannot be killed, but its awaiter gets timed_out and its "
    "stop_token is signalled") {
  netco::worker_pool pool({.max_workers = 1});
  netco_test::run([](netco::worker_pool& p) -> task<> {
    auto saw_stop = std::make_shared<std::atomic<bool>>(false);
    auto job = p.exec(
        [saw_stop](std::stop_token stop, int spins) {
          while (!stop.stop_requested()) std::this_thread::sleep_for(1ms);
          *saw_stop = true;
          return spins;
        },
        7);
    CHECK(co_await error_of(std::move(job.timeout(20ms))) == std::errc::timed_out);
    // The job noticed and returned; the pool is free again.
    CHECK(co_await p.exec([] { return 2; }) == 2);
    CHECK(*saw_stop);
  }(pool));
}

TEST_CASE("timeout(): a job that finishes in time keeps its result") {
  netco::worker_pool pool({.max_workers = 1});
  netco_test::run([](netco::worker_pool& p) -> task<> {
    CHECK(co_await p.exec([] { return 5; }).timeout(10s) == 5);
  }(pool));
}

TEST_CASE("a full queue fails exec with netco::errc::queue_full") {
  netco::worker_pool pool({.max_workers = 1, .max_queue_size = 2});
  gate g;
  netco_test::run([](netco::worker_pool& p, gate& g) -> task<> {
    auto blocker = p.exec(g.waiter());
    co_await until_busy(p, 1);
    auto a = p.exec([] { return 1; });
    auto b = p.exec([] { return 2; });
    CHECK(p.stats().pending_jobs == 2);
    const std::error_code ec = co_await error_of(p.exec([] { return 3; }));
    CHECK(ec == netco::errc::queue_full);
    CHECK(ec.message().find("ERR_WORKER_QUEUE_FULL") != std::string::npos);
    g.open();
    co_await std::move(blocker);
    CHECK(co_await std::move(a) == 1);
    CHECK(co_await std::move(b) == 2);
  }(pool, g));
}

TEST_CASE("stats() counts workers and jobs") {
  netco::worker_pool pool({.max_workers = 2});
  gate g;
  netco_test::run([](netco::worker_pool& p, gate& g) -> task<> {
    auto s = p.stats();
    CHECK(s.total_workers == 2);
    auto j1 = p.exec(g.waiter());
    auto j2 = p.exec(g.waiter());
    auto j3 = p.exec(g.waiter());
    co_await until_busy(p, 2);
    s = p.stats();
    CHECK(s.busy_workers == 2);
    CHECK(s.idle_workers == 0);
    CHECK(s.active_jobs == 2);
    CHECK(s.pending_jobs == 1);
    g.open();
    co_await std::move(j1);
    co_await std::move(j2);
    co_await std::move(j3);
    s = p.stats();
    CHECK(s.busy_workers == 0);
    CHECK(s.idle_workers == 2);
    CHECK(s.pending_jobs == 0);
  }(pool, g));
}

TEST_CASE("terminate() lets queued jobs finish, then refuses new ones") {
  netco::worker_pool pool({.max_workers = 1});
  netco::loop& l = netco::loop::current();
  std::vector<int> done;
  gate g;
  auto blocker = pool.exec(g.waiter());
  for (int i = 0; i < 3; ++i)
    pool.exec([i] { return i; }).then([&done](int v) { done.push_back(v); });
  g.open();
  pool.terminate();  // blocks until the queue is drained
  CHECK(pool.stats().total_workers == 0);
  std::error_code late;
  pool.exec([] { return 0; }).catch_error([&late](std::exception_ptr e) { late = failure_of(e); });
  netco_test::detail::run_with_watchdog(l, 10s);
  CHECK(done == std::vector<int>{0, 1, 2});
  CHECK(late == std::errc::operation_canceled);
}

TEST_CASE("terminate(true) cancels queued jobs and signals running ones") {
  auto pool = std::make_unique<netco::worker_pool>(netco::worker_pool_options{.max_workers = 1});
  netco_test::run([](std::unique_ptr<netco::worker_pool>& p) -> task<> {
    auto running = p->exec([](std::stop_token stop) {
      while (!stop.stop_requested()) std::this_thread::sleep_for(1ms);
      return 1;
    });
    co_await until_busy(*p, 1);
    auto queued = p->exec([] { return 2; });
    p->terminate(true);
    CHECK(co_await std::move(running) == 1);  // a running job ends as it chooses
    CHECK(co_await error_of(std::move(queued)) == std::errc::operation_canceled);
  }(pool));
}

TEST_CASE("destroying a pool with pending jobs: queued ones fail, running ones finish") {
  auto pool = std::make_unique<netco::worker_pool>(netco::worker_pool_options{.max_workers = 1});
  gate g;
  netco_test::run([](std::unique_ptr<netco::worker_pool>& p, gate& g) -> task<> {
    auto release = g.waiter();
    auto running = p->exec([release] {
      release();
      return 1;
    });
    co_await until_busy(*p, 1);
    std::vector<netco::job<int>> queued;
    for (int i = 0; i < 10; ++i) queued.push_back(p->exec([i] { return i; }));
    auto destroyer = [](std::unique_ptr<netco::worker_pool>& p, gate& g) -> task<> {
      co_await netco::sleep_for(1ms);
      g.open();
      p.reset();  // joins the running job's worker
    };
    auto awaiter = [](std::vector<netco::job<int>>& q) -> task<int> {
      int cancelled = 0;
      for (auto& j : q)
        cancelled += co_await error_of(std::move(j)) == std::errc::operation_canceled;
      co_return cancelled;
    };
    auto [none, cancelled] = co_await netco::when_all(destroyer(p, g), awaiter(queued));
    (void)none;
    CHECK(cancelled == 10);
    CHECK(co_await std::move(running) == 1);
    CHECK(p == nullptr);
  }(pool, g));
}

TEST_CASE("a pending job keeps its loop alive; Node-style callbacks run on that loop") {
  netco::worker_pool pool({.max_workers = 2});
  netco::loop& l = netco::loop::current();  // this thread's default loop, not running yet
  const auto loop_thread = std::this_thread::get_id();
  long result = 0;
  bool on_loop = false;
  std::string error;
  pool.exec([](long n) { return n * n; }, 12L).then([&](long r) {
    result = r;
    on_loop = std::this_thread::get_id() == loop_thread && l.in_loop_thread();
  });
  pool.exec([]() -> long { throw std::runtime_error("nope"); })
      .then([](long) { FAIL("then() after a failure"); })
      .catch_error([&](const std::exception& e) { error = e.what(); });
  CHECK(l.refs() >= 2);
  netco_test::detail::run_with_watchdog(l, 10s);
  CHECK(result == 144);
  CHECK(on_loop);
  CHECK(error == "nope");
  CHECK(l.refs() == 0);
}

TEST_CASE("then() never runs its callback inside the call, even for a settled job") {
  netco::worker_pool pool({.max_workers = 1});
  netco_test::run([](netco::worker_pool& p) -> task<> {
    auto j = p.exec([] { return 3; });
    while (!j.settled()) co_await netco::sleep_for(1ms);
    int got = 0;
    j.then([&got](int v) { got = v; });
    CHECK(got == 0);
    co_await netco::sleep_for(1ms);
    CHECK(got == 3);
  }(pool));
}

TEST_CASE("then(on_result, on_error) and cancel() in Node style") {
  netco::worker_pool pool({.max_workers = 1});
  netco::loop& l = netco::loop::current();
  gate g;
  std::error_code ec;
  auto blocker = pool.exec(g.waiter());
  auto queued = pool.exec([] { return 1; });
  queued.then([](int) { FAIL("a cancelled job delivered a value"); },
              [&ec](std::exception_ptr e) { ec = failure_of(e); });
  // Cancel on the loop once the blocker runs, then let it go.
  netco::spawn(l, [](netco::worker_pool& p, netco::job<int>& q, gate& g) -> task<> {
    co_await until_busy(p, 1);
    q.cancel();
    g.open();
  }(pool, queued, g));
  netco_test::detail::run_with_watchdog(l, 10s);
  CHECK(ec == std::errc::operation_canceled);
}

TEST_CASE("a dropped job's failure goes to the loop's error handler; a cancellation does not") {
  netco::worker_pool pool({.max_workers = 1});
  netco::loop l;
  std::vector<std::string> reported;
  l.set_error_handler([&reported](std::exception_ptr e) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      reported.emplace_back(x.what());
    }
  });
  netco::spawn(l, [](netco::worker_pool& p) -> task<> {
    (void)p.exec([] { throw std::runtime_error("unobserved"); });
    (void)p.exec([] {});
    auto j = p.exec([] { return 1; });
    j.cancel();
    co_return;
  }(pool));
  netco_test::detail::run_with_watchdog(l, 10s);
  REQUIRE(reported.size() == 1);
  CHECK(reported[0] == "unobserved");
}

TEST_CASE("a job has one consumer") {
  netco::worker_pool pool({.max_workers = 1});
  netco_test::run([](netco::worker_pool& p) -> task<> {
    auto j = p.exec([] { return 1; });
    CHECK(co_await j == 1);
    CHECK_THROWS_AS(co_await j, std::logic_error);
    auto k = p.exec([] { return 2; });
    k.then([](int) {});
    CHECK_THROWS_AS(co_await k, std::logic_error);
  }(pool));
}

TEST_CASE("exec on a worker thread is an error") {
  netco::worker_pool pool({.max_workers = 1});
  netco_test::run([](netco::worker_pool& p) -> task<> {
    CHECK_THROWS_AS(co_await p.exec([&p] { (void)p.exec([] {}); }), std::logic_error);
  }(pool));
}

TEST_CASE("the loop stays responsive while every worker is busy") {
  netco::worker_pool pool({.max_workers = 2});
  gate g;
  netco_test::run([](netco::worker_pool& p, gate& g) -> task<> {
    auto a = p.exec(g.waiter());
    auto b = p.exec(g.waiter());
    co_await until_busy(p, 2);
    co_await netco::sleep_for(10ms);  // the loop's timer fires although no worker is free
    CHECK(p.stats().busy_workers == 2);
    CHECK_FALSE(a.settled());
    g.open();
    co_await std::move(a);
    co_await std::move(b);
  }(pool, g));
}

TEST_CASE("a loop destroyed with jobs pending abandons them cleanly") {
  netco::worker_pool pool({.max_workers = 1});
  gate g;
  auto ran = std::make_shared<std::atomic<int>>(0);
  {
    netco::loop l;
    netco::spawn(
        l, [](netco::worker_pool& p, gate& g, std::shared_ptr<std::atomic<int>> ran) -> task<> {
          auto blocker = p.exec(g.waiter());
          p.exec([ran] { ++*ran; }).then([] { FAIL("delivered to a destroyed loop"); });
          co_await p.exec([ran] { ++*ran; });
          FAIL("resumed after its loop was destroyed");
        }(pool, g, ran));
    // The loop is never run to completion: it goes away with two jobs queued.
    netco::spawn(l, []() -> task<> {
      co_await netco::sleep_for(5ms);
      netco::loop::current().stop();
    }());
    l.run();
  }
  g.open();
  pool.terminate();
  CHECK(*ran == 0);
  CHECK(pool.stats().pending_jobs == 0);
}

namespace {
struct tally {
  long sum = 0;
  long count = 0;
  long wrong_thread = 0;
  long on_loop_thread = 0;  // jobs that ran on a loop thread instead of on a worker
  bool finished = false;

  void add(long v, std::thread::id loop_thread) {
    on_loop_thread += v < 0;
    wrong_thread += std::this_thread::get_id() != loop_thread;
    sum += v;
    ++count;
  }
};

/// Doubles x, or returns -1 if run on the loop's own thread.
struct double_it {
  std::thread::id loop_thread;
  long operator()(long x) const { return std::this_thread::get_id() == loop_thread ? -1 : 2 * x; }
};

task<> await_jobs(netco::worker_pool& p, long first, int n, tally& t) {
  const auto me = std::this_thread::get_id();
  for (int i = 0; i < n; ++i) t.add(co_await p.exec(double_it{me}, first + i), me);
}

task<> submit_jobs(netco::worker_pool& p, int awaiting_tasks, int per_task, int callbacks,
                   tally& t) {
  const auto me = std::this_thread::get_id();
  for (int i = 0; i < callbacks; ++i) {
    p.exec(double_it{me}, long(i)).then([&t, me](long v) { t.add(v, me); });
  }
  std::vector<task<>> all;
  for (int k = 0; k < awaiting_tasks; ++k)
    all.push_back(await_jobs(p, long(k) * per_task, per_task, t));
  co_await netco::when_all(std::move(all));
}
}  // namespace

TEST_CASE("100,000 tiny jobs from two loops: none lost, each resumed on its own loop's thread") {
  netco::worker_pool pool({.max_workers = 4});
  constexpr int tasks = 50;          // coroutines per loop, each awaiting jobs one after another
  constexpr int per_task = 500;      // so 25,000 awaited jobs per loop
  constexpr int callbacks = 25'000;  // and 25,000 given then() callbacks per loop

  // Each thread runs its own loop; doctest's checks stay on this thread.
  auto drive = [&pool](tally& t) {
    netco::loop l;
    netco::spawn(l, submit_jobs(pool, tasks, per_task, callbacks, t));
    asio::steady_timer watchdog(l.context(), 120s);
    watchdog.async_wait([&l](const std::error_code& ec) {
      if (!ec) l.stop();
    });
    l.run();
    watchdog.cancel();
    t.finished = l.refs() == 0;
  };
  tally a, b;
  std::thread ta([&] { drive(a); });
  std::thread tb([&] { drive(b); });
  ta.join();
  tb.join();
  // Both halves double every x in [0, 25000).
  const long expected = 2 * 2 * (long(callbacks) * (callbacks - 1) / 2);
  for (const tally* t : {&a, &b}) {
    CHECK(t->finished);
    CHECK(t->count == tasks * per_task + callbacks);
    CHECK(t->sum == expected);
    CHECK(t->wrong_thread == 0);
    CHECK(t->on_loop_thread == 0);
  }
}
