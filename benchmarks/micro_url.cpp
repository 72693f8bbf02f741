// benchmarks/micro_url.cpp: netco::url parsing: what an HTTP server does with each request
// (a target against a base, Node's `new URL(req.url, base)`) and what a client does (an
// absolute URL), plus the search params a handler reads.
// Run: build/benchmarks/micro_url (a release build: -Dbuildtype=release).
#include "netco/url.hpp"

#include <benchmark/benchmark.h>

#include <optional>     // url::parse, url_search_params::get
#include <string>       // the parameter read
#include <string_view>  // inputs

namespace {

constexpr std::string_view target = "/path/x?a=1&b=2";
constexpr std::string_view base_href = "http://h";

// The base as a string: parsed anew each time, as `new URL(target, "http://h")` does.
void bm_relative_string_base(benchmark::State& state) {
  for (auto _ : state) {
    std::optional<netco::url> u = netco::url::parse(target, base_href);
    benchmark::DoNotOptimize(u);
  }
}
BENCHMARK(bm_relative_string_base);

// The base parsed once, as a server that keeps it would.
void bm_relative_url_base(benchmark::State& state) {
  const netco::url base(base_href);
  for (auto _ : state) {
    std::optional<netco::url> u = netco::url::parse(target, base);
    benchmark::DoNotOptimize(u);
  }
}
BENCHMARK(bm_relative_url_base);

void bm_absolute(benchmark::State& state) {
  for (auto _ : state) {
    std::optional<netco::url> u =
        netco::url::parse("https://user:pass@sub.example.com:8080/a/b/../c?q=1&r=two#frag");
    benchmark::DoNotOptimize(u);
  }
}
BENCHMARK(bm_absolute);

void bm_ipv6_host(benchmark::State& state) {
  for (auto _ : state) {
    std::optional<netco::url> u = netco::url::parse("http://[2001:db8:0:0:1:0:0:1]:81/");
    benchmark::DoNotOptimize(u);
  }
}
BENCHMARK(bm_ipv6_host);

// Parse, then read one query parameter: the whole of a typical handler's URL work.
void bm_parse_and_get_param(benchmark::State& state) {
  const netco::url base(base_href);
  for (auto _ : state) {
    netco::url u(target, base);
    std::optional<std::string> b = u.search_params().get("b");
    benchmark::DoNotOptimize(b);
  }
}
BENCHMARK(bm_parse_and_get_param);

}  // namespace

BENCHMARK_MAIN();
