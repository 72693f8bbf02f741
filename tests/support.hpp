// tests/support.hpp: a loop fixture that fails a test instead of hanging, and small helpers
#pragma once
#include <doctest/doctest.h>

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <optional>
#include <random>
#include <vector>

#include "netco/loop.hpp"
#include "netco/spawn.hpp"
#include "netco/task.hpp"
#include "netco/timer.hpp"

namespace netco_test {

using namespace std::chrono_literals;

namespace detail {
template <class T>
netco::task<> capture(netco::task<T> t, std::optional<T>& out, std::exception_ptr& error,
                      bool& finished) {
  try {
    out.emplace(co_await std::move(t));
  } catch (...) {
    error = std::current_exception();
  }
  finished = true;
}
inline netco::task<> capture(netco::task<> t, std::exception_ptr& error, bool& finished) {
  try {
    co_await std::move(t);
  } catch (...) {
    error = std::current_exception();
  }
  finished = true;
}

/// Runs l until its exit rule stops it, or fails the test after limit (the watchdog does not
/// keep the loop alive: it is a bare Asio timer, not a netco operation).
inline void run_with_watchdog(netco::loop& l, std::chrono::milliseconds limit) {
  bool expired = false;
  asio::steady_timer watchdog(l.context(), limit);
  watchdog.async_wait([&](const std::error_code& ec) {
    if (!ec) {
      expired = true;
      l.stop();
    }
  });
  l.run();
  watchdog.cancel();
  REQUIRE_MESSAGE(!expired, "watchdog: the test did not finish within ", limit.count(), " ms");
}
}  // namespace detail

/// Runs t on a fresh loop until the loop's exit rule ends it; returns t's result or rethrows.
template <class T>
T run(netco::task<T> t, std::chrono::milliseconds limit = 20s) {
  netco::loop l;
  std::optional<T> out;
  std::exception_ptr error;
  bool finished = false;
  netco::spawn(l, detail::capture(std::move(t), out, error, finished));
  detail::run_with_watchdog(l, limit);
  if (error) std::rethrow_exception(error);
  REQUIRE_MESSAGE(finished, "the loop exited before the test task finished");
  return std::move(*out);
}

inline void run(netco::task<> t, std::chrono::milliseconds limit = 20s) {
  netco::loop l;
  std::exception_ptr error;
  bool finished = false;
  netco::spawn(l, detail::capture(std::move(t), error, finished));
  detail::run_with_watchdog(l, limit);
  if (error) std::rethrow_exception(error);
  REQUIRE_MESSAGE(finished, "the loop exited before the test task finished");
}

/// Polls until done() holds (every millisecond, for 10 s at most); false if it never did.
inline netco::task<bool> eventually(std::function<bool()> done) {
  for (int i = 0; i < 10'000; ++i) {
    if (done()) co_return true;
    co_await netco::sleep_for(1ms);
  }
  co_return done();
}

inline std::vector<std::byte> random_bytes(std::size_t n, unsigned seed = 1) {
  std::mt19937 gen(seed);
  std::vector<std::byte> out(n);
  for (auto& b : out) b = static_cast<std::byte>(gen());
  return out;
}

}  // namespace netco_test
