// netco/timers.hpp: Node's timers: set_timeout, set_interval, set_immediate and clear_*
#pragma once
#include <chrono>       // steady_clock, duration: delays and due times
#include <cstddef>      // size_t
#include <cstdint>      // uint64_t: timer ids and run numbers
#include <memory>       // shared_ptr, make_shared: a timer's state, shared by its handles
#include <optional>     // optional: the callback, dropped as soon as it can no longer run
#include <tuple>        // tuple, apply: the arguments stored for the callback
#include <type_traits>  // decay_t, is_arithmetic_v, is_invocable_v
#include <utility>      // forward, in_place, move

#include "netco/detail/decl.hpp"
#include "netco/loop.hpp"
#include "netco/task.hpp"

// What netco keeps of Node's rules, and where it parts from them:
//  - a numeric delay is coerced as Node does (< 1, > 2147483647 or NaN: 1 ms); a fraction is
//    kept. A std::chrono delay has no 32-bit limit; under 1 ms it is 1 ms, as in Node;
//  - a timer never fires before its delay (Node's, measured against a cached millisecond
//    clock, may fire up to 1 ms early); wakes are rounded up to a whole millisecond, so that
//    timers due within one millisecond share one wake (it may fire up to 1 ms late, as Node's);
//  - each loop keeps one heap of timers driving one Asio timer: set_timeout allocates once
//    (the state, holding the callback and its arguments), refresh() and interval repeats never;
//  - an unref'd timer (or immediate) belongs to the run() in which it was last armed,
//    refreshed or unref()'d: once that run() has returned (Node's process would have exited)
//    it is cancelled instead of firing inside a later run();
//  - an exception from a callback goes to loop::report(), as one from a spawned task; an
//    interval that threw is not rescheduled, even where an error handler lets the loop go on;
//  - clearing drops the callback and its arguments at once, so a callback that captures its
//    own handle makes no cycle once cleared; a fired timeout keeps them, as refresh() can
//    re-arm it (Node's rule).

namespace netco {

class timeout;
class immediate;

namespace detail {

class timers_service;

/// What a timer knows of its loop's timer service. It outlives the service while a handle
/// names it: once the loop is gone, `service` is null and handle methods do nothing.
struct timers_hub {
  timers_service* service = nullptr;
};

/// A timer set by set_timeout or set_interval; the callback lives in the derived class.
/// Loop thread only. Owned by its handles, and by its loop's heap while armed (`keep`).
class timeout_state {
 public:
  static constexpr std::size_t not_in_heap = static_cast<std::size_t>(-1);

  virtual void invoke(const timeout& self) = 0;
  virtual void release() noexcept = 0;  // drops the callback and its arguments

  std::shared_ptr<timers_hub> hub;
  std::shared_ptr<timeout_state> keep;  // itself, while in the heap
  std::chrono::steady_clock::duration delay{};
  std::chrono::steady_clock::time_point due{};
  std::uint64_t order = 0;  // breaks ties between equal due times: first set, first fired
  std::uint64_t id = 0;
  std::uint64_t run = 0;  // the run() an unref'd timer belongs to
  std::size_t heap_index = not_in_heap;
  bool repeat = false;
  bool refed = true;
  bool holds_ref = false;   // holds one loop reference (refed, and armed or firing)
  bool firing = false;      // its callback is running
  bool cleared = false;     // cleared (or cancelled with the run it belonged to): final
  bool wants_id = false;    // id() was asked for: clear_timeout(id) must find it
  bool registered = false;  // in its service's id table

 protected:
  timeout_state() = default;
  ~timeout_state() = default;
};

/// The links of a loop's immediate queue (circular, around the service's own node), so that
/// clear_immediate unlinks in O(1) whether the immediate waits in the queue or in the batch
/// being run.
struct immediate_links {
  immediate_links* prev = nullptr;  // null while not queued
  immediate_links* next = nullptr;
};

/// A callback queued by set_immediate. Loop thread only. Owned by its handles, and by its
/// loop's queue while pending (`keep`).
class immediate_state : public immediate_links {
 public:
  virtual void invoke() = 0;
  virtual void release() noexcept = 0;

  std::shared_ptr<timers_hub> hub;
  std::shared_ptr<immediate_state> keep;  // itself, while queued
  std::uint64_t run = 0;
  bool refed = true;
  bool holds_ref = false;
  bool pending = false;
  bool running = false;
  bool cleared = false;

 protected:
  immediate_state() = default;
  ~immediate_state() = default;
};

}  // namespace detail

/// A timer set by set_timeout or set_interval. A cheap handle: copies name the same timer, and
/// an empty (default-constructed) one does nothing. Loop thread only (the loop that set it);
/// once that loop is destroyed, every method does nothing.
/// Node: Timeout
class timeout {
 public:
  timeout() noexcept = default;
  explicit timeout(std::shared_ptr<detail::timeout_state> s) noexcept : s_(std::move(s)) {}

  /// While armed, keeps its loop's run() going (the default).
  /// Node: timeout.ref()
  NETCO_DECL const timeout& ref() const;
  /// Lets run() return while it is armed; it then never fires inside a later run(), unless
  /// it is refreshed, ref()'d or unref()'d in that run first.
  /// Node: timeout.unref()
  NETCO_DECL const timeout& unref() const;
  /// Whether it would keep the loop alive while armed: a flag, as Node's (true after it fired
  /// or was cleared, though it then keeps nothing alive).
  /// Node: timeout.hasRef()
  bool has_ref() const noexcept { return s_ && s_->refed; }
  /// Restarts the countdown from now with the same delay; re-arms a timeout that has fired
  /// (which is why a fired timeout keeps its callback); does nothing to a cleared one.
  /// Never allocates.
  /// Node: timeout.refresh()
  NETCO_DECL const timeout& refresh() const;
  /// Clears it, as clear_timeout(*this).
  /// Node: timeout.close()
  NETCO_DECL const timeout& close() const;
  /// A number naming it in its loop (never 0), for clear_timeout(id); 0 for an empty handle.
  /// Node: timeout[Symbol.toPrimitive]()
  NETCO_DECL std::uint64_t id() const;

  /// Whether both name the same timer.
  friend bool operator==(const timeout&, const timeout&) = default;

 private:
  friend class detail::timers_service;
  std::shared_ptr<detail::timeout_state> s_;
};

/// A callback queued by set_immediate. A cheap handle, as timeout. Loop thread only.
/// Node: Immediate
class immediate {
 public:
  immediate() noexcept = default;
  explicit immediate(std::shared_ptr<detail::immediate_state> s) noexcept : s_(std::move(s)) {}

  /// While pending, keeps its loop's run() going (the default).
  /// Node: immediate.ref()
  NETCO_DECL const immediate& ref() const;
  /// Lets run() return while it is pending (see timeout::unref).
  /// Node: immediate.unref()
  NETCO_DECL const immediate& unref() const;
  /// True while it is pending and ref'd (false once it ran or was cleared, as in Node).
  /// Node: immediate.hasRef()
  bool has_ref() const noexcept { return s_ && s_->refed && s_->pending; }

  /// Whether both name the same immediate.
  friend bool operator==(const immediate&, const immediate&) = default;

 private:
  friend class detail::timers_service;
  std::shared_ptr<detail::immediate_state> s_;
};

namespace detail {

template <class T>
inline constexpr bool timers_is_duration = false;
template <class Rep, class Period>
inline constexpr bool timers_is_duration<std::chrono::duration<Rep, Period>> = true;

template <class T>
inline constexpr bool timers_is_task = false;
template <class T>
inline constexpr bool timers_is_task<task<T>> = true;

/// How the callback of a timeout is called: with its arguments, or (Node's `this`) with its
/// own handle first, so that an interval can clear itself.
template <class F, class... A>
inline constexpr bool timeout_callback_takes_self =
    !std::is_invocable_v<F&, A&...> && std::is_invocable_v<F&, const timeout&, A&...>;
template <class F, class... A>
inline constexpr bool timeout_callback_fits =
    std::is_invocable_v<F&, A&...> || std::is_invocable_v<F&, const timeout&, A&...>;

template <class F, class... A>
constexpr bool timeout_callback_returns_task() {
  if constexpr (timeout_callback_takes_self<F, A...>) {
    return timers_is_task<std::invoke_result_t<F&, const timeout&, A&...>>;
  } else if constexpr (std::is_invocable_v<F&, A&...>) {
    return timers_is_task<std::invoke_result_t<F&, A&...>>;
  } else {
    return false;
  }
}

template <class F, class... A>
class timeout_callback final : public timeout_state {
 public:
  template <class Fn, class... Args>
  explicit timeout_callback(Fn&& fn, Args&&... args)
      : bound_(std::in_place, std::forward<Fn>(fn), std::forward<Args>(args)...) {}

  void invoke(const timeout& self) override {
    std::apply(
        [&](F& f, A&... a) {
          if constexpr (timeout_callback_takes_self<F, A...>) {
            static_cast<void>(f(self, a...));
          } else {
            static_cast<void>(f(a...));
          }
        },
        *bound_);
  }
  void release() noexcept override { bound_.reset(); }

 private:
  std::optional<std::tuple<F, A...>> bound_;
};

template <class F, class... A>
class immediate_callback final : public immediate_state {
 public:
  template <class Fn, class... Args>
  explicit immediate_callback(Fn&& fn, Args&&... args)
      : bound_(std::in_place, std::forward<Fn>(fn), std::forward<Args>(args)...) {}

  void invoke() override {
    std::apply([](F& f, A&... a) { static_cast<void>(f(a...)); }, *bound_);
  }
  void release() noexcept override { bound_.reset(); }

 private:
  std::optional<std::tuple<F, A...>> bound_;
};

/// Node's coercion of a delay in milliseconds: < 1, > 2147483647 or NaN is 1; a fraction is
/// kept (Node keeps it too, though its millisecond clock blurs it).
NETCO_DECL std::chrono::steady_clock::duration timeout_delay_ms(double ms) noexcept;

/// Longer delays are cut to this (146 years), so that no due time overflows the clock.
inline constexpr std::chrono::steady_clock::duration timeout_delay_limit =
    std::chrono::nanoseconds(std::int64_t{1} << 62);

template <class Delay>
std::chrono::steady_clock::duration timeout_delay(const Delay& delay) {
  if constexpr (std::is_arithmetic_v<Delay>) {
    return timeout_delay_ms(static_cast<double>(delay));
  } else {
    const double ms = std::chrono::duration<double, std::milli>(delay).count();
    if (!(ms >= 1)) return std::chrono::milliseconds(1);  // also NaN
    if (ms >= std::chrono::duration<double, std::milli>(timeout_delay_limit).count()) {
      return timeout_delay_limit;
    }
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(delay);
  }
}

/// Arms a new timeout on the calling thread's loop.
NETCO_DECL timeout start_timeout(std::shared_ptr<timeout_state> s,
                                 std::chrono::steady_clock::duration delay, bool repeat);
/// Queues a new immediate on the calling thread's loop.
NETCO_DECL immediate start_immediate(std::shared_ptr<immediate_state> s);

template <class Fn, class Delay, class... Args>
timeout make_timeout(Fn&& fn, const Delay& delay, bool repeat, Args&&... args) {
  using F = std::decay_t<Fn>;
  static_assert(std::is_arithmetic_v<Delay> || timers_is_duration<Delay>,
                "netco::set_timeout/set_interval: the delay (the second argument) is a number of "
                "milliseconds or a std::chrono::duration; the callback's arguments follow it");
  static_assert(timeout_callback_fits<F, std::decay_t<Args>...>,
                "netco::set_timeout/set_interval: the callback cannot be called as fn(args...) "
                "or fn(const netco::timeout&, args...) with the arguments given after the delay "
                "(they are stored by value and passed as lvalues)");
  static_assert(!timeout_callback_returns_task<F, std::decay_t<Args>...>(),
                "netco::set_timeout/set_interval: the callback returns a netco::task, which "
                "would never start: call netco::spawn(...) inside a plain callback");
  if constexpr (timeout_callback_fits<F, std::decay_t<Args>...>) {
    return start_timeout(std::make_shared<timeout_callback<F, std::decay_t<Args>...>>(
                             std::forward<Fn>(fn), std::forward<Args>(args)...),
                         timeout_delay(delay), repeat);
  } else {
    return {};  // refused above; this spares the user a second, less clear error
  }
}

}  // namespace detail

/// Calls fn(args...) once, on this thread's loop, after `delay`: milliseconds (any number,
/// coerced as Node does) or a std::chrono duration. The arguments are stored by value; fn may
/// also take the timeout's own handle first. Call it on the loop's thread (or before its
/// run()). An exception from fn goes to loop::report().
/// Node: setTimeout()
template <class Fn, class Delay = int, class... Args>
timeout set_timeout(Fn&& fn, const Delay& delay = 1, Args&&... args) {
  return detail::make_timeout(std::forward<Fn>(fn), delay, false, std::forward<Args>(args)...);
}

/// Calls fn(args...) every `delay`, each time `delay` after the previous call started, until
/// cleared. As set_timeout otherwise; an interval whose callback threw stops.
/// Node: setInterval()
template <class Fn, class Delay = int, class... Args>
timeout set_interval(Fn&& fn, const Delay& delay = 1, Args&&... args) {
  return detail::make_timeout(std::forward<Fn>(fn), delay, true, std::forward<Args>(args)...);
}

/// Calls fn(args...) on a later turn of this thread's loop, after the I/O that is ready then
/// (Node's check phase): immediates queued meanwhile, from immediates too, wait for the next
/// turn. An exception from fn goes to loop::report().
/// Node: setImmediate()
template <class Fn, class... Args>
immediate set_immediate(Fn&& fn, Args&&... args) {
  using F = std::decay_t<Fn>;
  static_assert(std::is_invocable_v<F&, std::decay_t<Args>&...>,
                "netco::set_immediate: the callback cannot be called as fn(args...) with the "
                "arguments given (they are stored by value and passed as lvalues)");
  if constexpr (std::is_invocable_v<F&, std::decay_t<Args>&...>) {
    static_assert(!detail::timers_is_task<std::invoke_result_t<F&, std::decay_t<Args>&...>>,
                  "netco::set_immediate: the callback returns a netco::task, which would never "
                  "start: call netco::spawn(...) inside a plain callback");
    return detail::start_immediate(
        std::make_shared<detail::immediate_callback<F, std::decay_t<Args>...>>(
            std::forward<Fn>(fn), std::forward<Args>(args)...));
  } else {
    return {};
  }
}

/// Cancels a timeout or interval: its callback is not called again and is destroyed (at once,
/// or once it returns if it is running); refresh() no longer re-arms it. Clearing twice, a
/// fired timeout or an empty handle is harmless (a fired one only drops its callback).
/// Node: clearTimeout()
NETCO_DECL void clear_timeout(const timeout& t);
/// The same for the id() of a timeout of the calling thread's loop; an unknown id is ignored.
/// Node: clearTimeout(id)
NETCO_DECL void clear_timeout(std::uint64_t id);
/// The same as clear_timeout (as in Node, either clears either).
/// Node: clearInterval()
inline void clear_interval(const timeout& t) { clear_timeout(t); }
/// Node: clearInterval(id)
inline void clear_interval(std::uint64_t id) { clear_timeout(id); }
/// Cancels an immediate that has not run: its callback is destroyed. Clearing twice, one that
/// ran or an empty handle: nothing.
/// Node: clearImmediate()
NETCO_DECL void clear_immediate(const immediate& i);

}  // namespace netco

#if !defined(NETCO_SEPARATE_COMPILATION)
#include "netco/impl/timers.ipp"
#endif
