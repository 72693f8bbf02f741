// netco/when_all.hpp: run tasks concurrently on one loop and wait for all of them
#pragma once
#include <array>        // array
#include <coroutine>    // coroutine_handle
#include <cstddef>      // size_t
#include <exception>    // exception_ptr
#include <tuple>        // tuple
#include <type_traits>  // conjunction, is_void
#include <vector>       // vector

#include "netco/detail/cancel_signal.hpp"
#include "netco/detail/outcome.hpp"
#include "netco/task.hpp"

namespace netco {

namespace detail {

/// Shared by the children of one when_all: counts arrivals, cancels siblings on failure.
struct join_state {
  std::size_t remaining = 0;
  std::coroutine_handle<> parent;
  cancel_signal* signals = nullptr;
  std::size_t count = 0;
  bool failed = false;

  std::coroutine_handle<> arrive() noexcept {
    return --remaining == 0 ? parent : std::noop_coroutine();
  }
  void fail() noexcept {
    if (failed) return;
    failed = true;
    for (std::size_t i = 0; i < count; ++i) signals[i].request();
  }
  void cancel_all() noexcept { fail(); }
};

class join_task {
 public:
  struct promise_type : promise_base {
    join_state* join_ = nullptr;
    join_task get_return_object() noexcept {
      return join_task{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    struct final_awaiter {
      bool await_ready() const noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
        return h.promise().join_->arrive();
      }
      void await_resume() const noexcept {}
    };
    final_awaiter final_suspend() const noexcept { return {}; }
    void unhandled_exception() noexcept {}  // join_child catches everything
    void return_void() noexcept {}
  };

  join_task() = default;
  explicit join_task(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
  join_task(join_task&& o) noexcept : handle_(std::exchange(o.handle_, nullptr)) {}
  join_task& operator=(join_task&& o) noexcept {
    if (this != &o) {
      if (handle_) handle_.destroy();
      handle_ = std::exchange(o.handle_, nullptr);
    }
    return *this;
  }
  ~join_task() {
    if (handle_) handle_.destroy();
  }

  void start(join_state& join, cancel_signal& signal) {
    handle_.promise().join_ = &join;
    handle_.promise().cancel_ = &signal;
    handle_.resume();
  }

 private:
  std::coroutine_handle<promise_type> handle_;
};

template <class T>
join_task join_child(task<T>& child, outcome<T>& out, join_state& join) {
  try {
    if constexpr (std::is_void_v<T>) {
      co_await child;
      out.set();
    } else {
      out.set(co_await child);
    }
  } catch (...) {
    out.fail(std::current_exception());
    join.fail();  // structured concurrency: a failure cancels the siblings
  }
}

/// Links the awaiter's cancellation scope to the children's.
inline void link_parent_cancel(cancel_signal* outer, join_state& join) noexcept {
  if (!outer) return;
  if (outer->requested()) join.cancel_all();
  outer->install([](void* j) noexcept { static_cast<join_state*>(j)->cancel_all(); }, &join);
}

template <class... T>
class [[nodiscard]] when_all_awaiter {
 public:
  explicit when_all_awaiter(task<T>... tasks) : tasks_(std::move(tasks)...) {}
  when_all_awaiter(const when_all_awaiter&) = delete;

  bool await_ready() const noexcept { return sizeof...(T) == 0; }
  template <class Promise>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> parent) {
    join_.parent = parent;
    join_.signals = signals_.data();
    join_.count = sizeof...(T);
    join_.remaining = sizeof...(T) + 1;  // +1: ours, so no child resumes the parent mid-start
    outer_ = cancel_signal_of(parent);
    link_parent_cancel(outer_, join_);
    start(std::index_sequence_for<T...>{});
    return join_.arrive();
  }
  auto await_resume() {
    if (outer_) outer_->clear();
    rethrow_first(std::index_sequence_for<T...>{});
    if constexpr ((std::is_void_v<T> && ...)) {
      return;
    } else {
      return std::apply(
          [](auto&... o) {
            return std::tuple<typename outcome<T>::element_type...>(o.element()...);
          },
          outcomes_);
    }
  }

 private:
  template <std::size_t... I>
  void start(std::index_sequence<I...>) {
    ((children_[I] = join_child(std::get<I>(tasks_), std::get<I>(outcomes_), join_),
      children_[I].start(join_, signals_[I])),
     ...);
  }
  template <std::size_t... I>
  void rethrow_first(std::index_sequence<I...>) {
    std::exception_ptr first;
    ((first = first ? first : std::get<I>(outcomes_).error()), ...);
    if (first) std::rethrow_exception(first);
  }

  std::tuple<task<T>...> tasks_;
  std::tuple<outcome<T>...> outcomes_;
  std::array<cancel_signal, sizeof...(T)> signals_;
  std::array<join_task, sizeof...(T)> children_;
  join_state join_;
  cancel_signal* outer_ = nullptr;
};

template <class T>
class [[nodiscard]] when_all_range_awaiter {
 public:
  explicit when_all_range_awaiter(std::vector<task<T>> tasks)
      : tasks_(std::move(tasks)),
        outcomes_(tasks_.size()),
        signals_(tasks_.size()),
        children_(tasks_.size()) {}
  when_all_range_awaiter(const when_all_range_awaiter&) = delete;

  bool await_ready() const noexcept { return tasks_.empty(); }
  template <class Promise>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> parent) {
    join_.parent = parent;
    join_.signals = signals_.data();
    join_.count = tasks_.size();
    join_.remaining = tasks_.size() + 1;
    outer_ = cancel_signal_of(parent);
    link_parent_cancel(outer_, join_);
    for (std::size_t i = 0; i < tasks_.size(); ++i) {
      children_[i] = join_child(tasks_[i], outcomes_[i], join_);
      children_[i].start(join_, signals_[i]);
    }
    return join_.arrive();
  }
  auto await_resume() {
    if (outer_) outer_->clear();
    for (auto& o : outcomes_) {
      if (o.failed()) std::rethrow_exception(o.error());
    }
    if constexpr (std::is_void_v<T>) {
      return;
    } else {
      std::vector<typename outcome<T>::element_type> values;
      values.reserve(outcomes_.size());
      for (auto& o : outcomes_) values.push_back(o.element());
      return values;
    }
  }

 private:
  std::vector<task<T>> tasks_;
  std::vector<outcome<T>> outcomes_;
  std::vector<cancel_signal> signals_;
  std::vector<join_task> children_;
  join_state join_;
  cancel_signal* outer_ = nullptr;
};

template <class... T>
using when_all_result_t = std::conditional_t<(std::is_void_v<T> && ...), void,
                                             std::tuple<typename outcome<T>::element_type...>>;
template <class T>
using when_all_range_result_t =
    std::conditional_t<std::is_void_v<T>, void, std::vector<typename outcome<T>::element_type>>;

}  // namespace detail

/// Runs the tasks concurrently (each until it suspends, in order) and finishes when all are
/// done, with a tuple of their results (std::monostate for task<void>; void if all are void).
/// If one throws, the others' pending netco operations are cancelled, all are awaited, and the
/// first exception (in argument order) is rethrown. A task, so it composes with with_timeout.
template <class... T>
task<detail::when_all_result_t<T...>> when_all(task<T>... tasks) {
  co_return co_await detail::when_all_awaiter<T...>(std::move(tasks)...);
}

/// The same for a vector of tasks: a vector of results (void for task<void>).
template <class T>
task<detail::when_all_range_result_t<T>> when_all(std::vector<task<T>> tasks) {
  co_return co_await detail::when_all_range_awaiter<T>(std::move(tasks));
}

}  // namespace netco
