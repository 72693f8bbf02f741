// tests/test_worker_pool_alloc.cpp: one heap allocation per worker-pool job, in steady state
#include "netco/worker_pool.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

#include "counting_allocator.hpp"
#include "netco/spawn.hpp"
#include "netco/timer.hpp"
#include "support.hpp"

using netco_test::allocations;

using netco::task;

namespace {
constexpr int warmup = 1000;
constexpr int measured = 1000;

task<long> awaited_jobs(netco::worker_pool& pool) {
  long before = 0;
  for (int i = 0; i < warmup + measured; ++i) {
    if (i == warmup) before = allocations.load();
    (void)co_await pool.exec([](int x) { return x + 1; }, i);
  }
  co_return allocations.load() - before;
}

task<long> callback_jobs(netco::worker_pool& pool) {
  long before = 0;
  long sum = 0;
  for (int i = 0; i < warmup + measured; ++i) {
    if (i == warmup) before = allocations.load();
    bool done = false;
    pool.exec([](int x) { return x + 1; }, i).then([&sum, &done](int v) {
      sum += v;
      done = true;
    });
    while (!done) co_await netco::sleep_for(std::chrono::microseconds(1));
  }
  co_return allocations.load() - before;
}
}  // namespace

TEST_CASE("co_await pool.exec: at most one allocation per job (the job itself)") {
  netco::worker_pool pool({.max_workers = 2});
  const long during = netco_test::run(awaited_jobs(pool));
  MESSAGE(during, " allocations for ", measured, " jobs");
  CHECK(during <= measured);
}

TEST_CASE("pool.exec(...).then(...): at most one allocation per job") {
  netco::worker_pool pool({.max_workers = 2});
  const long during = netco_test::run(callback_jobs(pool));
  MESSAGE(during, " allocations for ", measured, " jobs");
#ifndef NETCO_DETAIL_NO_FRAME_CACHE
  CHECK(during <= measured);  // the delivery task's frame comes from the per-thread cache
#endif
}
