// netco/spawn.hpp: start a detached task whose failure is reported, never swallowed
#pragma once
#include <coroutine>  // coroutine_handle, suspend_always, suspend_never
#include <exception>  // current_exception

#include "netco/loop.hpp"
#include "netco/task.hpp"

namespace netco {

namespace detail {

class root_task {
 public:
  struct promise_type : promise_base {
    root_link link_;
    loop* owner_ = nullptr;

    root_task get_return_object() noexcept {
      return root_task{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_never final_suspend() const noexcept { return {}; }  // the frame frees itself
    void unhandled_exception() noexcept { owner_->report(std::current_exception()); }
    void return_void() noexcept {}
    ~promise_type() { link_.unlink(); }
  };

  explicit root_task(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
  std::coroutine_handle<promise_type> handle_;
};

template <class T>
root_task make_root(task<T> t) {
  (void)co_await std::move(t);
}

template <class T>
std::coroutine_handle<> adopt_root(loop& owner, task<T> t) {
  auto h = make_root(std::move(t)).handle_;
  h.promise().owner_ = &owner;
  h.promise().link_.frame = h;
  owner.adopt(h.promise().link_);
  return h;
}

/// Starts t at once on l, running it to its first suspension (where its operation takes a loop
/// reference); the loop owns the frame, and a failure goes to l.report().
template <class T>
void spawn_now(loop& l, task<T> t) {
  adopt_root(l, std::move(t)).resume();
}

}  // namespace detail

/// Starts t now, on the calling thread's loop, running it until its first suspension. The loop
/// owns it until it finishes; an exception escaping it goes to the loop's error handler (by
/// default rethrown from run()).
template <class T>
void spawn(task<T> t) {
  detail::adopt_root(loop::current(), std::move(t)).resume();
}

/// Starts t on another loop. Safe from any thread; t first runs inside that loop's run().
template <class T>
void spawn(loop& target, task<T> t) {
  target.post(
      [&target, t = std::move(t)]() mutable { detail::adopt_root(target, std::move(t)).resume(); });
}

}  // namespace netco
