// netco/task.hpp: task<T>, the lazy coroutine type every netco operation is built from
#pragma once
#include <coroutine>    // coroutine_handle, suspend_always, noop_coroutine
#include <exception>    // exception_ptr, rethrow_exception
#include <memory>       // addressof
#include <stdexcept>    // logic_error
#include <type_traits>  // is_base_of_v, is_reference_v
#include <utility>      // exchange, move

#include "netco/detail/cancel_signal.hpp"
#include "netco/detail/frame_allocator.hpp"

namespace netco {

template <class T = void>
class task;

namespace detail {

/// What every netco coroutine promise shares: where to go when done, the cancellation scope it
/// runs in, and frames from the per-thread recycling allocator.
struct promise_base {
  std::coroutine_handle<> continuation_ = std::noop_coroutine();
  cancel_signal* cancel_ = nullptr;

  static void* operator new(std::size_t size) { return frame_allocate(size); }
  static void operator delete(void* p, std::size_t size) noexcept { frame_deallocate(p, size); }

  std::suspend_always initial_suspend() const noexcept { return {}; }

  struct final_awaiter {
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) const noexcept {
      return self.promise().continuation_;  // symmetric transfer: the stack does not grow
    }
    void await_resume() const noexcept {}
  };
  final_awaiter final_suspend() const noexcept { return {}; }
};

/// The cancellation scope of an awaiting coroutine, or nullptr if it is not a netco coroutine.
template <class Promise>
cancel_signal* cancel_signal_of(std::coroutine_handle<Promise> h) noexcept {
  if constexpr (std::is_base_of_v<promise_base, Promise>) {
    return h.promise().cancel_;
  } else {
    return nullptr;
  }
}

template <class T>
class task_promise final : public promise_base {
 public:
  task_promise() noexcept {}
  ~task_promise() {
    if (state_ == state::value)
      value_.~T();
    else if (state_ == state::error)
      error_.~exception_ptr();
  }
  task<T> get_return_object() noexcept;
  void unhandled_exception() noexcept {
    ::new (std::addressof(error_)) std::exception_ptr(std::current_exception());
    state_ = state::error;
  }
  template <class U = T>
  void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    ::new (std::addressof(value_)) T(std::forward<U>(v));
    state_ = state::value;
  }
  T result() {
    if (state_ == state::error) std::rethrow_exception(error_);
    return std::move(value_);
  }

 private:
  enum class state : unsigned char { empty, value, error };
  union {
    T value_;
    std::exception_ptr error_;
  };
  state state_ = state::empty;
};

template <class T>
class task_promise<T&> final : public promise_base {
 public:
  task<T&> get_return_object() noexcept;
  void unhandled_exception() noexcept { error_ = std::current_exception(); }
  void return_value(T& v) noexcept { value_ = std::addressof(v); }
  T& result() {
    if (error_) std::rethrow_exception(error_);
    return *value_;
  }

 private:
  T* value_ = nullptr;
  std::exception_ptr error_;
};

template <>
class task_promise<void> final : public promise_base {
 public:
  task<void> get_return_object() noexcept;
  void unhandled_exception() noexcept { error_ = std::current_exception(); }
  void return_void() noexcept {}
  void result() {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::exception_ptr error_;
};

}  // namespace detail

/// A lazy coroutine: nothing runs until it is co_awaited (or spawned). Awaiting it starts it
/// by symmetric transfer, resumes the awaiter the same way when it finishes, and rethrows
/// whatever escaped it. A task that is destroyed unstarted or suspended destroys its frame.
template <class T>
class [[nodiscard]] task {
 public:
  using promise_type = detail::task_promise<T>;
  using value_type = T;

  task() noexcept = default;
  explicit task(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
  task(task&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      if (handle_) handle_.destroy();
      handle_ = std::exchange(other.handle_, nullptr);
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() {
    if (handle_) handle_.destroy();
  }

  /// True when this task owns a coroutine (default-constructed and moved-from tasks do not).
  bool valid() const noexcept { return static_cast<bool>(handle_); }
  bool done() const noexcept { return !handle_ || handle_.done(); }

  struct awaiter {
    std::coroutine_handle<promise_type> handle_;

    bool await_ready() const noexcept { return !handle_ || handle_.done(); }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> awaiting) noexcept {
      handle_.promise().continuation_ = awaiting;
      handle_.promise().cancel_ = detail::cancel_signal_of(awaiting);
      return handle_;
    }
    decltype(auto) await_resume() {
      if (!handle_) throw std::logic_error("netco::task: co_await on an empty task");
      return handle_.promise().result();
    }
  };

  awaiter operator co_await() && noexcept { return awaiter{handle_}; }
  awaiter operator co_await() & noexcept { return awaiter{handle_}; }

  /// For adaptors (spawn, when_all): give up ownership of the frame.
  std::coroutine_handle<promise_type> release() noexcept { return std::exchange(handle_, nullptr); }
  std::coroutine_handle<promise_type> handle() const noexcept { return handle_; }

 private:
  std::coroutine_handle<promise_type> handle_;
};

namespace detail {
template <class T>
task<T> task_promise<T>::get_return_object() noexcept {
  return task<T>{std::coroutine_handle<task_promise>::from_promise(*this)};
}
template <class T>
task<T&> task_promise<T&>::get_return_object() noexcept {
  return task<T&>{std::coroutine_handle<task_promise>::from_promise(*this)};
}
inline task<void> task_promise<void>::get_return_object() noexcept {
  return task<void>{std::coroutine_handle<task_promise>::from_promise(*this)};
}
}  // namespace detail

}  // namespace netco
