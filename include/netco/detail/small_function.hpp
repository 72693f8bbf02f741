// netco/detail/small_function.hpp: a move-only callable with inline storage (write callbacks)
#pragma once
#include <cstddef>      // max_align_t, size_t
#include <new>          // placement new
#include <type_traits>  // decay_t, is_nothrow_move_constructible_v
#include <utility>      // forward, move

namespace netco::detail {

template <class Sig, std::size_t Capacity = 4 * sizeof(void*)>
class small_function;

/// Like std::function, but move-only and never allocating for callables that fit Capacity
/// bytes (a lambda capturing a handle and a pointer or two): per-write callbacks stay off the
/// heap.
template <class R, class... A, std::size_t Capacity>
class small_function<R(A...), Capacity> {
 public:
  small_function() noexcept = default;
  template <class Fn>
  requires(!std::is_same_v<std::decay_t<Fn>, small_function> &&
           std::is_invocable_r_v<R, std::decay_t<Fn>&, A...>)
      small_function(Fn&& fn) {  // NOLINT: implicit, as std::function
    using F = std::decay_t<Fn>;
    if constexpr (sizeof(F) <= Capacity && alignof(F) <= alignof(std::max_align_t) &&
                  std::is_nothrow_move_constructible_v<F>) {
      ::new (static_cast<void*>(storage_)) F(std::forward<Fn>(fn));
      ops_ = &inline_ops<F>;
    } else {
      *reinterpret_cast<F**>(storage_) = new F(std::forward<Fn>(fn));
      ops_ = &heap_ops<F>;
    }
  }
  small_function(small_function&& other) noexcept : ops_(other.ops_) {
    if (ops_) ops_->move(other.storage_, storage_);
    other.ops_ = nullptr;
  }
  small_function& operator=(small_function&& other) noexcept {
    if (this != &other) {
      reset();
      ops_ = other.ops_;
      if (ops_) ops_->move(other.storage_, storage_);
      other.ops_ = nullptr;
    }
    return *this;
  }
  small_function(const small_function&) = delete;
  small_function& operator=(const small_function&) = delete;
  ~small_function() { reset(); }

  explicit operator bool() const noexcept { return ops_ != nullptr; }
  R operator()(A... args) { return ops_->call(storage_, std::forward<A>(args)...); }
  void reset() noexcept {
    if (ops_) ops_->destroy(storage_);
    ops_ = nullptr;
  }

 private:
  struct ops {
    R (*call)(void*, A&&...);
    void (*move)(void* from, void* to) noexcept;
    void (*destroy)(void*) noexcept;
  };
  template <class F>
  static constexpr ops inline_ops = {
      [](void* s, A&&... a) -> R { return (*static_cast<F*>(s))(std::forward<A>(a)...); },
      [](void* from, void* to) noexcept {
        ::new (to) F(std::move(*static_cast<F*>(from)));
        static_cast<F*>(from)->~F();
      },
      [](void* s) noexcept { static_cast<F*>(s)->~F(); }};
  template <class F>
  static constexpr ops heap_ops = {
      [](void* s, A&&... a) -> R { return (**static_cast<F**>(s))(std::forward<A>(a)...); },
      [](void* from, void* to) noexcept { *static_cast<F**>(to) = *static_cast<F**>(from); },
      [](void* s) noexcept { delete *static_cast<F**>(s); }};

  alignas(std::max_align_t) unsigned char storage_[Capacity];
  const ops* ops_ = nullptr;
};

}  // namespace netco::detail
