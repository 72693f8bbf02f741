// netco/cancel.hpp: cancellation scopes for tasks
#pragma once
#include <coroutine>  // coroutine_handle
#include <stdexcept>  // logic_error

#include "netco/detail/cancel_signal.hpp"
#include "netco/task.hpp"

namespace netco {

namespace detail {

/// Runs a task under its own cancellation signal, linked to the awaiter's: cancelling the
/// outer scope cancels the inner one, not the other way round.
template <class T>
class scoped_awaiter {
 public:
  scoped_awaiter(task<T> t, cancel_signal& inner) noexcept : task_(std::move(t)), inner_(&inner) {}

  bool await_ready() const noexcept { return !task_.valid(); }
  template <class Promise>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> awaiting) noexcept {
    auto h = task_.handle();
    h.promise().continuation_ = awaiting;
    h.promise().cancel_ = inner_;
    outer_ = cancel_signal_of(awaiting);
    if (outer_) {
      if (outer_->requested()) inner_->request();
      outer_->install([](void* inner) noexcept { static_cast<cancel_signal*>(inner)->request(); },
                      inner_);
    }
    return h;
  }
  decltype(auto) await_resume() {
    if (outer_) outer_->clear();
    return co_await_result();
  }

 private:
  decltype(auto) co_await_result() {
    if (!task_.valid()) throw std::logic_error("netco: co_await on an empty task");
    return task_.handle().promise().result();
  }
  task<T> task_;
  cancel_signal* inner_;
  cancel_signal* outer_ = nullptr;
};

}  // namespace detail

/// A scope whose cancel() makes the pending and later netco operations of every task run in it
/// complete with std::errc::operation_canceled. Use it on the loop thread that runs the tasks;
/// it must outlive them.
class cancel_scope {
 public:
  cancel_scope() = default;
  cancel_scope(const cancel_scope&) = delete;
  cancel_scope& operator=(const cancel_scope&) = delete;

  /// Runs t inside this scope (and inside the awaiter's own scope) and yields its result.
  template <class T>
  task<T> run(task<T> t) {
    entry e(*this);
    co_return co_await detail::scoped_awaiter<T>(std::move(t), e.signal);
  }

  void cancel() noexcept {
    cancelled_ = true;
    for (entry* e = entries_; e;) {
      entry* next = e->next;  // requesting may finish a task and unlink its entry
      e->signal.request();
      e = next;
    }
  }
  bool cancelled() const noexcept { return cancelled_; }

 private:
  // One signal per running task: a signal has a single canceller slot, and tasks run in one
  // scope may be pending concurrently.
  struct entry {
    cancel_scope& scope;
    entry* prev = nullptr;
    entry* next = nullptr;
    detail::cancel_signal signal;

    explicit entry(cancel_scope& s) noexcept : scope(s), next(s.entries_) {
      if (next) next->prev = this;
      scope.entries_ = this;
      if (scope.cancelled_) signal.request();
    }
    ~entry() {
      if (prev)
        prev->next = next;
      else
        scope.entries_ = next;
      if (next) next->prev = prev;
    }
  };

  entry* entries_ = nullptr;
  bool cancelled_ = false;
};

}  // namespace netco
