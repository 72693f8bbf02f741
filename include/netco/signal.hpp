// netco/signal.hpp: awaiting POSIX signals (SIGINT, SIGTERM...) on a loop
#pragma once
#include <concepts>      // same_as
#include <coroutine>     // coroutine_handle
#include <system_error>  // error_code

#include "netco/detail/asio.hpp"
#include "netco/detail/io_op.hpp"
#include "netco/loop.hpp"

namespace netco {

namespace detail {
class [[nodiscard]] signal_awaiter : io_awaiter_base {
 public:
  template <class... Signals>
  signal_awaiter(loop& owner, Signals... signals)
      : io_awaiter_base(owner, nullptr), set_(owner.context()) {
    (set_.add(signals), ...);
    state_.counted = false;  // as in Node, a signal handler does not keep the loop alive
  }
  bool await_ready() const noexcept { return false; }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    if (!prepare(h)) return false;
    cancellation_.start(state_, [this](auto&& handler) { set_.async_wait(std::move(handler)); });
    return true;
  }
  /// The signal number that arrived.
  int await_resume() {
    deliver_error(state_.ec, out_);
    return static_cast<int>(state_.value);
  }

 private:
  asio::basic_signal_set<netco::detail::executor> set_;
};
}  // namespace detail

/// Awaitable: resumes with the number of the first of these signals to arrive. The wait does
/// not keep the loop alive (Node's rule for signal listeners).
/// NOTE: a parameter pack, not an initializer_list: GCC 12 rejects a braced list inside a
/// co_await expression ("array used as initializer").
template <std::same_as<int>... Signals>
requires(sizeof...(Signals) > 0) detail::signal_awaiter wait_for_signal(Signals... signals) {
  return detail::signal_awaiter(loop::current(), signals...);
}

}  // namespace netco
