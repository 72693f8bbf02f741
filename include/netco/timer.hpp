// netco/timer.hpp: sleep_for / sleep_until and with_timeout
#pragma once
#include <chrono>        // steady_clock
#include <coroutine>     // coroutine_handle
#include <exception>     // current_exception
#include <system_error>  // error_code, system_error

#include "netco/cancel.hpp"
#include "netco/detail/io_op.hpp"
#include "netco/detail/outcome.hpp"
#include "netco/loop.hpp"
#include "netco/task.hpp"

namespace netco {

namespace detail {

class [[nodiscard]] sleep_awaiter {
 public:
  sleep_awaiter(loop& owner, std::chrono::steady_clock::time_point deadline, std::error_code* out)
      : timer_(owner.context(), deadline), out_(out) {
    state_.owner = &owner;
  }
  sleep_awaiter(const sleep_awaiter&) = delete;

  bool await_ready() const noexcept { return false; }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    state_.cancel = cancel_signal_of(h);
    if (cancellation_.cancelled_before_start(state_)) {
      state_.ec = canceled_error();
      return false;
    }
    state_.waiter = h;
    cancellation_.start(state_, [this](auto&& handler) { timer_.async_wait(std::move(handler)); });
    return true;
  }
  void await_resume() { deliver_error(state_.ec, out_); }

 private:
  steady_timer timer_;
  io_state state_;
  io_cancellation cancellation_;
  std::error_code* out_;
};

/// The timer behind with_timeout: on expiry it cancels the guarded task's scope.
class timeout_guard {
 public:
  timeout_guard(loop& owner, std::chrono::steady_clock::duration limit)
      : owner_(&owner), timer_(owner.context(), limit) {
    owner_->ref();
    timer_.async_wait([this](const std::error_code& ec) { on_timer(ec); });
  }
  timeout_guard(const timeout_guard&) = delete;

  cancel_signal signal;
  bool fired() const noexcept { return fired_; }

  /// Awaitable: stops the timer and waits for its handler, which points into this frame.
  auto disarm() noexcept {
    struct awaiter {
      timeout_guard* g;
      bool await_ready() const noexcept { return g->timer_done_; }
      void await_suspend(std::coroutine_handle<> h) {
        g->waiter_ = h;
        g->timer_.cancel();
      }
      void await_resume() const noexcept {}
    };
    return awaiter{this};
  }

 private:
  void on_timer(const std::error_code& ec) {
    timer_done_ = true;
    loop* owner = owner_;
    if (!ec) {
      fired_ = true;
      signal.request();
    }
    if (waiter_) std::exchange(waiter_, nullptr).resume();  // may destroy *this
    owner->unref();
  }

  loop* owner_;
  steady_timer timer_;
  std::coroutine_handle<> waiter_;
  bool fired_ = false;
  bool timer_done_ = false;
};

}  // namespace detail

/// Suspends the calling coroutine for d (a task, so it composes with when_all). Cancellation
/// throws std::system_error (operation_canceled); the error_code form stores it instead.
inline task<> sleep_for(std::chrono::steady_clock::duration d) {
  co_await detail::sleep_awaiter(loop::current(), std::chrono::steady_clock::now() + d, nullptr);
}
inline task<> sleep_for(std::chrono::steady_clock::duration d, std::error_code& ec) {
  co_await detail::sleep_awaiter(loop::current(), std::chrono::steady_clock::now() + d, &ec);
}
inline task<> sleep_until(std::chrono::steady_clock::time_point t) {
  co_await detail::sleep_awaiter(loop::current(), t, nullptr);
}

/// Runs t with a time limit. When the limit passes first, t's pending netco operation is
/// cancelled; if t then fails, with_timeout throws std::system_error(std::errc::timed_out). If t
/// still returns normally, its result is returned: data already read is never dropped.
template <class T>
task<T> with_timeout(task<T> t, std::chrono::steady_clock::duration limit) {
  detail::timeout_guard guard(loop::current(), limit);
  detail::outcome<T> result;
  try {
    if constexpr (std::is_void_v<T>) {
      co_await detail::scoped_awaiter<T>(std::move(t), guard.signal);
      result.set();
    } else {
      result.set(co_await detail::scoped_awaiter<T>(std::move(t), guard.signal));
    }
  } catch (...) {
    result.fail(std::current_exception());
  }
  co_await guard.disarm();
  if (guard.fired() && result.failed()) {
    throw std::system_error(std::make_error_code(std::errc::timed_out));
  }
  co_return result.get();
}

}  // namespace netco
