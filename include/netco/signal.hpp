// netco/signal.hpp: POSIX signals (SIGINT, SIGTERM...): Node-style listeners and awaitable waits
#pragma once
#include <concepts>          // same_as
#include <coroutine>         // coroutine_handle
#include <initializer_list>  // initializer_list (on_signal with several signals)
#include <memory>            // shared_ptr, weak_ptr: a listener and the handles naming it
#include <optional>          // optional (a wait's own signal set)
#include <span>              // span (on_signal with a list of signals)
#include <system_error>      // error_code
#include <type_traits>       // is_invocable_v
#include <utility>           // forward, in_place, move

#include "netco/detail/asio.hpp"
#include "netco/detail/io_op.hpp"
#include "netco/detail/small_function.hpp"
#include "netco/loop.hpp"
#include "netco/spawn.hpp"
#include "netco/task.hpp"

namespace netco {

namespace detail {

using signal_set = asio::basic_signal_set<executor>;

/// Waits on a signal set: its own (a one-shot wait) or one that lives on between waits (a
/// listener's, so that no signal arriving between two waits finds the default action).
class [[nodiscard]] signal_awaiter : io_awaiter_base {
 public:
  template <class... Signals>
  signal_awaiter(loop& owner, Signals... signals)
      : io_awaiter_base(owner, nullptr), own_(std::in_place, owner.context()), set_(&*own_) {
    (own_->add(signals), ...);
    state_.counted = false;  // as in Node, a signal handler does not keep the loop alive
  }
  signal_awaiter(loop& owner, signal_set& set, std::error_code* out)
      : io_awaiter_base(owner, out), set_(&set) {
    state_.counted = false;
  }
  bool await_ready() const noexcept { return false; }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    if (!prepare(h)) return false;
    cancellation_.start(state_, [this](auto&& handler) { set_->async_wait(std::move(handler)); });
    return true;
  }
  /// The signal number that arrived.
  int await_resume() {
    deliver_error(state_.ec, out_);
    return static_cast<int>(state_.value);
  }

 private:
  std::optional<signal_set> own_;  // none when waiting on a listener's set
  signal_set* set_;
};

/// One on_signal listener. Owned by the loop-owned frame that waits for it, so it goes (and
/// its signals return to their default action) when removed or when its loop is destroyed.
struct signal_listener_state {
  explicit signal_listener_state(loop& owner) : owner(&owner), set(owner.context()) {}
  loop* owner;
  signal_set set;
  small_function<void(int)> callback;
  bool removed = false;

  void remove() noexcept {
    if (removed) return;
    removed = true;
    std::error_code ignored;
    set.clear(ignored);   // now: a later signal gets its default action again (Node's rule)
    set.cancel(ignored);  // the pending wait ends, and with it the frame that owns this
  }
};

inline task<> run_signal_listener(std::shared_ptr<signal_listener_state> self) {
  while (!self->removed) {
    std::error_code ec;
    const int number = co_await signal_awaiter(*self->owner, self->set, &ec);
    if (ec || self->removed) break;
    self->callback(number);  // an exception goes to the loop, as one escaping a spawned task
  }
}

}  // namespace detail

/// Names one on_signal listener so it can be removed. A cheap copyable handle: removing twice,
/// or after the loop is gone, does nothing. Loop thread only.
class signal_listener {
 public:
  signal_listener() = default;
  explicit signal_listener(std::weak_ptr<detail::signal_listener_state> s) noexcept
      : state_(std::move(s)) {}

  /// Stops the listener; once no listener or wait is left for a signal, it gets its default
  /// action again. Node: process.off(signal, listener)
  void remove() noexcept {
    if (auto s = state_.lock()) s->remove();
  }
  /// True until removed (or its loop is gone).
  bool active() const noexcept {
    auto s = state_.lock();
    return s && !s->removed;
  }

 private:
  std::weak_ptr<detail::signal_listener_state> state_;
};

/// Calls fn(signal_number) (or fn()) on the calling thread's loop each time one of these
/// signals arrives, until removed. Several listeners may watch one signal: each is called.
/// Like Node's, a listener does not keep the loop alive. Throws std::system_error for a signal
/// that cannot be caught (SIGKILL). Node: process.on('SIGINT', listener)
template <class Fn>
requires(std::is_invocable_v<Fn&, int> || std::is_invocable_v<Fn&>) signal_listener
    on_signal(std::span<const int> signals, Fn&& fn) {
  loop& owner = loop::current();
  auto state = std::make_shared<detail::signal_listener_state>(owner);
  for (int number : signals) {
    std::error_code ec;
    state->set.add(number, ec);
    detail::throw_if(ec, "netco::on_signal");
  }
  if constexpr (std::is_invocable_v<Fn&, int>) {
    state->callback = std::forward<Fn>(fn);
  } else {
    state->callback = [f = std::forward<Fn>(fn)](int) mutable { f(); };
  }
  signal_listener handle(state);
  spawn(detail::run_signal_listener(std::move(state)));  // suspends at once, on its first wait
  return handle;
}
template <class Fn>
requires(std::is_invocable_v<Fn&, int> || std::is_invocable_v<Fn&>) signal_listener
    on_signal(std::initializer_list<int> signals, Fn&& fn) {
  return on_signal(std::span<const int>(signals.begin(), signals.size()), std::forward<Fn>(fn));
}
template <class Fn>
requires(std::is_invocable_v<Fn&, int> || std::is_invocable_v<Fn&>) signal_listener
    on_signal(int signal_number, Fn&& fn) {
  return on_signal(std::span<const int>(&signal_number, 1), std::forward<Fn>(fn));
}

/// Awaitable: resumes with the number of the first of these signals to arrive. The wait does
/// not keep the loop alive (Node's rule for signal listeners). Between the wait's end and the
/// next one, a signal gets its default action: a program that must catch every signal (a
/// second Ctrl-C, say) uses on_signal.
/// NOTE: a parameter pack, not an initializer_list: GCC 12 rejects a braced list inside a
/// co_await expression ("array used as initializer").
template <std::same_as<int>... Signals>
requires(sizeof...(Signals) > 0) detail::signal_awaiter signal(Signals... signals) {
  return detail::signal_awaiter(loop::current(), signals...);
}

/// The same as signal(...), under its earlier name.
template <std::same_as<int>... Signals>
requires(sizeof...(Signals) > 0) detail::signal_awaiter wait_for_signal(Signals... signals) {
  return detail::signal_awaiter(loop::current(), signals...);
}

}  // namespace netco
