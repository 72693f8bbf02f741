// benchmarks/micro_worker_pool.cpp: worker_pool round trip and throughput, against the obvious
// baselines: std::async, and asio::post to an asio::thread_pool and back to an io_context.
//   python3 benchmarks/micro_report.py -r 9 build-release/benchmarks/micro_worker_pool
#include <benchmark/benchmark.h>

#include <algorithm>
#include <future>
#include <thread>
#include <vector>

#include "netco/detail/asio.hpp"  // first: the configuration netco compiles Asio with
#include "netco/spawn.hpp"
#include "netco/worker_pool.hpp"

#include <asio/thread_pool.hpp>  // the baseline's pool

namespace {

constexpr int batch = 1000;  // jobs in flight at once in the throughput benchmarks

unsigned workers() { return std::max(2u, std::thread::hardware_concurrency()); }

int tiny(int x) { return x + 1; }

// ---- round trip: from a loop, submit one empty job and resume when it is back; repeat ----

netco::task<> await_in_turn(netco::worker_pool& pool, benchmark::State& state) {
  for (auto _ : state) co_await pool.exec([] {});
}

void round_trip_netco_await(benchmark::State& state) {
  netco::worker_pool pool({.max_workers = 1});
  netco::loop l;
  netco::spawn(l, await_in_turn(pool, state));
  l.run();
}

void then_in_turn(netco::worker_pool& pool, benchmark::State& state) {
  if (state.KeepRunning()) pool.exec([] {}).then([&pool, &state] { then_in_turn(pool, state); });
}

void round_trip_netco_then(benchmark::State& state) {
  netco::worker_pool pool({.max_workers = 1});
  netco::loop l;
  l.post([&] { then_in_turn(pool, state); });  // each pending job keeps run() going
  l.run();
}

struct asio_round_trip {
  asio::io_context io{1};
  asio::thread_pool pool{1};
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  benchmark::State& state;

  void step() {
    if (!state.KeepRunning()) {
      work.reset();
      return;
    }
    asio::post(pool, [this] { asio::post(io, [this] { step(); }); });
  }
};

void round_trip_asio_post(benchmark::State& state) {
  asio_round_trip r{.state = state};
  asio::post(r.io, [&r] { r.step(); });
  r.io.run();
  r.pool.join();
}

void round_trip_std_async(benchmark::State& state) {
  for (auto _ : state) std::async(std::launch::async, [] {}).get();
}

// ---- throughput: batches of tiny jobs in flight at once, all workers busy ----

void throughput_netco_then(benchmark::State& state) {
  netco::worker_pool pool({.max_workers = workers()});
  netco::loop l;
  long sum = 0;
  for (auto _ : state) {
    l.post([&] {
      for (int i = 0; i < batch; ++i) pool.exec(tiny, i).then([&sum](int v) { sum += v; });
    });
    l.run();  // returns when the last job of the batch is back
  }
  benchmark::DoNotOptimize(sum);
  state.counters["batch"] = batch;
}

netco::task<> await_one(netco::worker_pool& pool, int i, long& sum) {
  sum += co_await pool.exec(tiny, i);
}

void throughput_netco_await(benchmark::State& state) {
  netco::worker_pool pool({.max_workers = workers()});
  netco::loop l;
  long sum = 0;
  for (auto _ : state) {
    l.post([&] {
      for (int i = 0; i < batch; ++i) netco::spawn(await_one(pool, i, sum));
    });
    l.run();
  }
  benchmark::DoNotOptimize(sum);
  state.counters["batch"] = batch;
}

void throughput_asio_post(benchmark::State& state) {
  asio::io_context io(1);
  asio::thread_pool pool(workers());
  long sum = 0;
  for (auto _ : state) {
    int left = batch;
    auto work = asio::make_work_guard(io);
    for (int i = 0; i < batch; ++i) {
      asio::post(pool, [&, i] {
        const int v = tiny(i);
        asio::post(io, [&, v] {
          sum += v;
          if (--left == 0) work.reset();
        });
      });
    }
    io.restart();
    io.run();
  }
  pool.join();
  benchmark::DoNotOptimize(sum);
  state.counters["batch"] = batch;
}

void throughput_std_async(benchmark::State& state) {
  long sum = 0;
  std::vector<std::future<int>> futures;
  futures.reserve(batch);
  for (auto _ : state) {
    for (int i = 0; i < batch; ++i) futures.push_back(std::async(std::launch::async, tiny, i));
    for (auto& f : futures) sum += f.get();
    futures.clear();
  }
  benchmark::DoNotOptimize(sum);
  state.counters["batch"] = batch;
}

}  // namespace

// Names are "group/variant"; the first variant of each group is the baseline for ratios
// (benchmarks/micro_report.py). Wall time is the measure here: a round trip is two thread
// wake-ups, which the loop thread's CPU time does not see.
BENCHMARK(round_trip_asio_post)->Name("pool_round_trip/asio_post_and_back")->UseRealTime();
BENCHMARK(round_trip_netco_await)->Name("pool_round_trip/netco_co_await")->UseRealTime();
BENCHMARK(round_trip_netco_then)->Name("pool_round_trip/netco_then")->UseRealTime();
BENCHMARK(round_trip_std_async)->Name("pool_round_trip/std_async")->UseRealTime();
BENCHMARK(throughput_asio_post)->Name("pool_tiny_jobs/asio_post_and_back")->UseRealTime();
BENCHMARK(throughput_netco_await)->Name("pool_tiny_jobs/netco_co_await")->UseRealTime();
BENCHMARK(throughput_netco_then)->Name("pool_tiny_jobs/netco_then")->UseRealTime();
BENCHMARK(throughput_std_async)->Name("pool_tiny_jobs/std_async")->UseRealTime();

BENCHMARK_MAIN();
