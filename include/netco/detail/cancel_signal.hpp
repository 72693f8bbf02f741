// netco/detail/cancel_signal.hpp: the cancellation flag a task chain shares with its pending leaf
#pragma once

namespace netco::detail {

/// One per cancellation scope. At most one leaf operation is pending per scope at a time (a
/// chain of co_awaits is sequential; forks such as when_all give each child its own signal), so
/// a single canceller slot is enough and requesting never allocates.
class cancel_signal {
 public:
  using canceller = void (*)(void*) noexcept;

  cancel_signal() = default;
  cancel_signal(const cancel_signal&) = delete;
  cancel_signal& operator=(const cancel_signal&) = delete;

  bool requested() const noexcept { return requested_; }

  /// Sticky: operations started after the request fail at once with operation_canceled.
  void request() noexcept {
    if (requested_) return;
    requested_ = true;
    if (canceller fn = fn_) {
      fn_ = nullptr;
      fn(ctx_);
    }
  }

  void install(canceller fn, void* ctx) noexcept {
    fn_ = fn;
    ctx_ = ctx;
  }
  void clear() noexcept { fn_ = nullptr; }

 private:
  bool requested_ = false;
  canceller fn_ = nullptr;
  void* ctx_ = nullptr;
};

}  // namespace netco::detail
