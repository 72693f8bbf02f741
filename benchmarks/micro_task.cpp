// benchmarks/micro_task.cpp: what netco's core costs (task, when_all, spawn) beside the obvious
// baselines: a plain function call, Asio's own awaitable / co_spawn, and asio::post.
// Run: build/benchmarks/micro_task, or benchmarks/micro_report.py for a table of ratios.

// NOTE: clang 14 has <coroutine> but Asio 1.22 enables awaitable only for the compilers it
// knows; these must come before the first Asio header (netco's included).
#if defined(__clang__) && !defined(ASIO_HAS_CO_AWAIT)
#define ASIO_HAS_CO_AWAIT 1
#define ASIO_HAS_STD_COROUTINE 1
#endif

#include "netco/loop.hpp"  // first: it sets the Asio configuration netco relies on
#include "netco/spawn.hpp"
#include "netco/task.hpp"
#include "netco/when_all.hpp"

#include <benchmark/benchmark.h>

#include <asio/awaitable.hpp>  // asio::awaitable: the baseline coroutine type
#include <asio/co_spawn.hpp>   // co_spawn
#include <asio/detached.hpp>   // detached
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <cstddef>  // size_t
#include <tuple>    // tuple of when_all's results
#include <vector>   // when_all over a vector

namespace {

// ---- create and await one coroutine returning int --------------------------------------

[[gnu::noinline]] int plain_leaf(int x) { return x + 1; }

netco::task<int> netco_leaf(int x) { co_return x + 1; }
asio::awaitable<int> asio_leaf(int x) { co_return x + 1; }

void await_plain_call(benchmark::State& state) {
  int v = 0;
  for (auto _ : state) {
    v = plain_leaf(v);
    benchmark::DoNotOptimize(v);
  }
}

netco::task<> netco_await_loop(benchmark::State& state) {
  int v = 0;
  for (auto _ : state) {
    v = co_await netco_leaf(v);
    benchmark::DoNotOptimize(v);
  }
}

// The driving coroutine never suspends (the leaf completes by symmetric transfer), so spawn
// runs the whole benchmark loop before it returns.
void await_netco_task(benchmark::State& state) { netco::spawn(netco_await_loop(state)); }

asio::awaitable<void> asio_await_loop(benchmark::State& state) {
  int v = 0;
  for (auto _ : state) {
    v = co_await asio_leaf(v);
    benchmark::DoNotOptimize(v);
  }
}

void await_asio_awaitable(benchmark::State& state) {
  asio::io_context io(1);
  asio::co_spawn(io, asio_await_loop(state), asio::detached);
  io.run();
}

// ---- when_all of 16 trivial tasks --------------------------------------------------------

constexpr int fan_out = 16;

netco::task<> sequential_16_loop(benchmark::State& state) {
  for (auto _ : state) {
    int sum = 0;
    for (int i = 0; i < fan_out; ++i) sum += co_await netco_leaf(i);
    benchmark::DoNotOptimize(sum);
  }
}

// Baseline: the same 16 tasks awaited one after the other.
void when_all_sequential_16(benchmark::State& state) { netco::spawn(sequential_16_loop(state)); }

netco::task<> when_all_16_loop(benchmark::State& state) {
  for (auto _ : state) {
    auto results = co_await netco::when_all(
        netco_leaf(0), netco_leaf(1), netco_leaf(2), netco_leaf(3), netco_leaf(4), netco_leaf(5),
        netco_leaf(6), netco_leaf(7), netco_leaf(8), netco_leaf(9), netco_leaf(10), netco_leaf(11),
        netco_leaf(12), netco_leaf(13), netco_leaf(14), netco_leaf(15));
    static_assert(std::tuple_size_v<decltype(results)> == fan_out);
    benchmark::DoNotOptimize(results);
  }
}

void when_all_netco_16(benchmark::State& state) { netco::spawn(when_all_16_loop(state)); }

netco::task<> when_all_vector_16_loop(benchmark::State& state) {
  for (auto _ : state) {
    std::vector<netco::task<int>> tasks;
    tasks.reserve(fan_out);
    for (int i = 0; i < fan_out; ++i) tasks.push_back(netco_leaf(i));
    auto results = co_await netco::when_all(std::move(tasks));
    benchmark::DoNotOptimize(results.data());
  }
}

void when_all_netco_vector_16(benchmark::State& state) {
  netco::spawn(when_all_vector_16_loop(state));
}

// ---- spawn a task that does not sleep ------------------------------------------------------

constexpr int batch = 1000;

netco::task<> netco_trivial() { co_return; }
asio::awaitable<void> asio_trivial() { co_return; }

// spawn() on the running thread's loop: starts at once, finishes, frees its frame.
void spawn_netco_inline(benchmark::State& state) {
  for (auto _ : state) {
    for (int i = 0; i < batch; ++i) netco::spawn(netco_trivial());
  }
  state.counters["batch"] = batch;
}

// spawn(loop, task): posted, started by run(); run() returns when the loop has nothing left.
void spawn_netco_posted(benchmark::State& state) {
  netco::loop loop;
  for (auto _ : state) {
    for (int i = 0; i < batch; ++i) netco::spawn(loop, netco_trivial());
    loop.run();
  }
  state.counters["batch"] = batch;
}

void spawn_asio_co_spawn(benchmark::State& state) {
  asio::io_context io(1);
  for (auto _ : state) {
    for (int i = 0; i < batch; ++i) asio::co_spawn(io, asio_trivial(), asio::detached);
    io.restart();
    io.run();
  }
  state.counters["batch"] = batch;
}

// Baseline: a plain callback posted to an io_context (no coroutine at all).
void spawn_asio_post(benchmark::State& state) {
  asio::io_context io(1);
  std::size_t ran = 0;
  for (auto _ : state) {
    for (int i = 0; i < batch; ++i) asio::post(io, [&ran] { ++ran; });
    io.restart();
    io.run();
  }
  benchmark::DoNotOptimize(ran);
  state.counters["batch"] = batch;
}

}  // namespace

// Names are "group/variant"; the first variant of each group is the baseline for ratios.
BENCHMARK(await_plain_call)->Name("await/plain_call");
BENCHMARK(await_netco_task)->Name("await/netco_task");
BENCHMARK(await_asio_awaitable)->Name("await/asio_awaitable");
BENCHMARK(when_all_sequential_16)->Name("when_all16/sequential_awaits");
BENCHMARK(when_all_netco_16)->Name("when_all16/netco_when_all");
BENCHMARK(when_all_netco_vector_16)->Name("when_all16/netco_when_all_vector");
BENCHMARK(spawn_asio_post)->Name("spawn/asio_post_callback");
BENCHMARK(spawn_netco_inline)->Name("spawn/netco_spawn_inline");
BENCHMARK(spawn_netco_posted)->Name("spawn/netco_spawn_on_loop");
BENCHMARK(spawn_asio_co_spawn)->Name("spawn/asio_co_spawn");

BENCHMARK_MAIN();
