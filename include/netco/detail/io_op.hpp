// netco/detail/io_op.hpp: what every awaitable Asio operation shares (resume, refs, cancellation)
#pragma once
#include <chrono>        // steady_clock
#include <coroutine>     // coroutine_handle
#include <cstddef>       // size_t
#include <optional>      // optional
#include <system_error>  // error_code, system_error

#include "netco/detail/asio.hpp"
#include "netco/detail/cancel_signal.hpp"
#include "netco/loop.hpp"

namespace netco::detail {

/// The executor of every netco I/O object: the concrete io_context one, not the type-erased
/// any_io_executor, so no operation pays for type erasure.
using executor = asio::io_context::executor_type;
using steady_timer =
    asio::basic_waitable_timer<std::chrono::steady_clock,
                               asio::wait_traits<std::chrono::steady_clock>, executor>;

/// Lives in the awaiting coroutine's frame, next to the operation's arguments.
struct io_state {
  loop* owner = nullptr;
  std::coroutine_handle<> waiter;
  cancel_signal* cancel = nullptr;
  std::error_code ec;
  std::size_t value = 0;  // bytes transferred, or a signal number
  bool counted = true;    // does this wait keep the loop alive (Node's ref/unref)?
};

/// The Asio completion handler of every netco operation: stores the result and resumes the
/// awaiting coroutine inline. It holds one pointer, so Asio's per-thread recycling allocator
/// serves its operation memory and steady-state I/O never reaches malloc.
struct resume_handler {
  io_state* state;

  void operator()(const std::error_code& ec, std::size_t value = 0) const {
    io_state& s = *state;
    s.ec = ec;
    s.value = value;
    if (s.cancel) s.cancel->clear();
    loop* owner = s.owner;
    const bool counted = s.counted;
    s.waiter.resume();  // may destroy s
    // Released after the resumption, which usually starts the next operation first: the count
    // rarely touches zero, so the loop rarely needs an exit check.
    if (counted) owner->unref();
  }
  void operator()(const std::error_code& ec, int signal_number) const {
    (*this)(ec, static_cast<std::size_t>(signal_number));
  }
};

/// Per-operation cancellation, set up only when the coroutine runs inside a cancellation scope
/// (with_timeout, cancel_scope, when_all), so the common path pays nothing for it.
class io_cancellation {
 public:
  /// True if the scope was cancelled already: the operation must not start.
  bool cancelled_before_start(const io_state& s) const noexcept {
    return s.cancel && s.cancel->requested();
  }

  /// Starts the operation: start(handler) must initiate the Asio operation with that handler.
  template <class Start>
  void start(io_state& s, Start&& start) {
    if (s.counted) s.owner->ref();
    if (s.cancel) {
      signal_.emplace();
      s.cancel->install(&emit, &*signal_);
      start(asio::bind_cancellation_slot(signal_->slot(), resume_handler{&s}));
    } else {
      start(resume_handler{&s});
    }
  }

 private:
  static void emit(void* signal) noexcept {
    static_cast<asio::cancellation_signal*>(signal)->emit(asio::cancellation_type::terminal);
  }
  std::optional<asio::cancellation_signal> signal_;
};

#if defined(NETCO_HAS_URING)
/// An awaiter's operation on the io_uring engine: what resume_handler does for Asio, from a
/// completion's result (a count, or -errno). An awaiter whose operation takes several trips
/// (a write that the socket buffer takes in parts) sets retry: it returns true when it
/// queued the next trip itself.
struct uring_wait_op final : uring_op {
  io_state* state = nullptr;
  uring* ring = nullptr;
  bool (*retry)(uring_wait_op*, int result) = nullptr;
  void* context = nullptr;  // retry's

  uring_wait_op() noexcept : uring_op{&complete} {}

  static void complete(uring_op* base, int result, unsigned) {
    auto* self = static_cast<uring_wait_op*>(base);
    if (self->retry && self->retry(self, result)) return;
    io_state& s = *self->state;
    if (result < 0) {
      s.ec = std::error_code(-result, std::system_category());
    } else {
      s.ec.clear();
      s.value = static_cast<std::size_t>(result);
    }
    if (s.cancel) s.cancel->clear();
    loop* owner = s.owner;
    const bool counted = s.counted;
    s.waiter.resume();  // may destroy s
    if (counted) owner->unref();
  }
  static void cancel(void* op) noexcept {
    auto* self = static_cast<uring_wait_op*>(op);
    try {
      self->ring->cancel(self);
    } catch (...) {  // no submission entry: the operation ends as it would have
    }
  }
};
#endif

inline std::error_code canceled_error() noexcept {
  return std::make_error_code(std::errc::operation_canceled);
}

/// Asio reports OS errors in its own "asio.system" category, which does not compare equal to
/// std::errc values; netco hands them out in std::system_category, so that
/// `ec == std::errc::connection_refused` holds.
inline std::error_code normalize(std::error_code ec) noexcept {
  if (ec && ec.category() == asio::error::get_system_category()) {
    return {ec.value(), std::system_category()};
  }
  return ec;
}

/// The two error forms: with an error_code* the failure is stored there (and cleared on
/// success); without one it is thrown as std::system_error.
inline void deliver_error(const std::error_code& ec, std::error_code* out) {
  if (out) {
    *out = normalize(ec);
  } else if (ec) {
    throw std::system_error(normalize(ec));
  }
}

/// For synchronous calls: the throwing form of an error_code overload.
inline void throw_if(const std::error_code& ec, const char* what) {
  if (ec) throw std::system_error(normalize(ec), what);
}

/// Base of the I/O awaiters: records the awaiting coroutine and its cancellation scope, and
/// refuses to start in a cancelled scope.
class io_awaiter_base {
 protected:
  explicit io_awaiter_base(loop& owner, std::error_code* out) noexcept : out_(out) {
    state_.owner = &owner;
  }
  io_awaiter_base(const io_awaiter_base&) = delete;
  io_awaiter_base& operator=(const io_awaiter_base&) = delete;

  template <class Promise>
  bool prepare(std::coroutine_handle<Promise> h) noexcept {
    state_.cancel = cancel_signal_of(h);
    state_.waiter = h;
    if (cancellation_.cancelled_before_start(state_)) {
      state_.ec = canceled_error();
      return false;
    }
    return true;
  }

#if defined(NETCO_HAS_URING)
  /// Starts the operation on the io_uring engine: prep(sqe) fills the submission.
  template <class Prep>
  void start_on_ring(uring& r, Prep&& prep) {
    ring_op_.state = &state_;
    ring_op_.ring = &r;
    io_uring_sqe* sqe = r.entry();
    prep(sqe);
    r.queue(sqe, &ring_op_);
    if (state_.counted) state_.owner->ref();
    if (state_.cancel) state_.cancel->install(&uring_wait_op::cancel, &ring_op_);
  }
  uring_wait_op ring_op_;
#endif

  io_state state_;
  io_cancellation cancellation_;
  std::error_code* out_;
};

}  // namespace netco::detail
