// netco/detail/outcome.hpp: the value, reference, nothing or exception a finished task left
#pragma once
#include <exception>    // exception_ptr
#include <functional>   // reference_wrapper
#include <optional>     // optional
#include <type_traits>  // conditional_t
#include <variant>      // monostate

namespace netco::detail {

template <class T>
class outcome {
 public:
  using stored_type =
      std::conditional_t<std::is_void_v<T>, std::monostate,
                         std::conditional_t<std::is_reference_v<T>,
                                            std::reference_wrapper<std::remove_reference_t<T>>, T>>;
  /// What when_all puts in its tuple for this task.
  using element_type = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

  template <class... U>
  void set(U&&... v) {
    value_.emplace(std::forward<U>(v)...);
  }
  void fail(std::exception_ptr e) noexcept { error_ = std::move(e); }
  bool failed() const noexcept { return static_cast<bool>(error_); }
  const std::exception_ptr& error() const noexcept { return error_; }

  /// The task's result (void for task<void>), rethrowing what escaped it.
  T get() {
    if (error_) std::rethrow_exception(error_);
    if constexpr (std::is_void_v<T>) {
      return;
    } else if constexpr (std::is_reference_v<T>) {
      return value_->get();
    } else {
      return std::move(*value_);
    }
  }
  element_type element() {
    if constexpr (std::is_void_v<T>) {
      return {};
    } else {
      return get();
    }
  }

 private:
  std::optional<stored_type> value_;
  std::exception_ptr error_;
};

}  // namespace netco::detail
