// netco/loop.hpp: the event loop (one asio::io_context per thread) and Node's exit rule
#pragma once
#include <sys/socket.h>  // MSG_NOSIGNAL / SO_NOSIGPIPE: whether sends can raise SIGPIPE

#if defined(__GNUG__)
#include <cxxabi.h>  // __cxa_demangle: the type of an uncaught exception, readable
#endif

#include <atomic>       // atomic: references held from other threads (schedule())
#include <coroutine>    // coroutine_handle
#include <csignal>      // signal, SIGPIPE: only where sends cannot be told not to raise it
#include <cstddef>      // byte, size_t
#include <cstdint>      // uint64_t
#include <cstdio>       // fprintf: an uncaught failure's message
#include <cstdlib>      // exit, free, getenv
#include <exception>    // exception_ptr
#include <functional>   // function (error handler; set rarely, never called on the hot path)
#include <memory>       // unique_ptr: the scratch buffer
#include <span>         // span
#include <string>       // string: an uncaught failure's type and message
#include <string_view>  // string_view: NETCO_ENGINE
#include <typeinfo>     // typeid: an uncaught exception's type
#include <utility>      // exchange, forward

#include "netco/detail/asio.hpp"
#include "netco/task.hpp"
#if defined(NETCO_HAS_URING)
#include "netco/detail/uring.hpp"
#endif

namespace netco {

class loop;

/// What a loop waits with. asio: Asio's reactor (epoll; kqueue, IOCP elsewhere), always there.
/// io_uring: netco's own engine on Linux (netco/detail/uring.hpp), where the program was built
/// with it (liburing; NETCO_HAS_URING) and the kernel allows io_uring. Every netco type and
/// program works the same on both.
enum class engine { asio, io_uring };

namespace detail {
/// The engine a loop gets by default: NETCO_ENGINE=io_uring (or asio) in the environment, read
/// once per process; asio otherwise.
inline engine default_engine() noexcept {
  static const engine chosen = [] {
    const char* e = std::getenv("NETCO_ENGINE");
    const std::string_view name = e ? e : "";
    if (name == "io_uring" || name == "uring") return engine::io_uring;
    if (!name.empty() && name != "asio") {
      std::fprintf(stderr, "netco: NETCO_ENGINE=%s is not an engine (asio, io_uring); using asio\n",
                   e);
    }
    return engine::asio;
  }();
  return chosen;
}

/// Says once per process why a loop asked for io_uring runs on Asio instead.
inline void engine_fallback(const std::string& why) noexcept {
  static std::atomic<bool> said{false};
  if (said.exchange(true)) return;
  std::fprintf(stderr, "netco: io_uring engine unavailable (%s); running on the Asio engine\n",
               why.c_str());
}

/// Intrusive link of a detached (spawned) coroutine, so the loop can destroy what is still
/// suspended when it goes away instead of leaking the frames.
struct root_link {
  root_link* prev = this;
  root_link* next = this;
  std::coroutine_handle<> frame;

  void unlink() noexcept {
    prev->next = next;
    next->prev = prev;
    prev = next = this;
  }
};

/// Something of a loop that must let go of its listeners (and so of handle cycles) and close
/// when its loop is destroyed with it still open: sockets, servers, timers. Linked into the
/// loop while it lives; unlinks itself when destroyed first.
class loop_hook {
 public:
  loop_hook() = default;
  loop_hook(const loop_hook&) = delete;
  loop_hook& operator=(const loop_hook&) = delete;

  /// The loop is being destroyed: drop listeners without calling them, close, never resume.
  virtual void on_loop_gone() noexcept = 0;
  void unhook() noexcept {
    prev_->next_ = next_;
    next_->prev_ = prev_;
    prev_ = next_ = this;
  }

 protected:
  ~loop_hook() { unhook(); }

 private:
  friend class netco::loop;
  loop_hook* prev_ = this;
  loop_hook* next_ = this;
};
}  // namespace detail

/// An event loop: one io_context driven by one thread at a time.
///
/// Exit rule (Node's): run() returns when no referenced work is left. Every pending netco
/// operation (read, write, accept, connect, timer, worker-pool job) holds a reference; a
/// handle that is unref()'d, such as a signal wait, does not. Asio's own notion of outstanding
/// work cannot express unref, so the loop keeps its own count and holds Asio's work guard.
class loop {
 public:
  // One thread runs a loop and every socket belongs to one loop, so Asio's per-descriptor
  // locks guard nothing (−10% user-space instructions per echo round trip). Its scheduler
  // keeps its lock: post() and stop() stay safe from any thread.
  loop() : loop(detail::default_engine()) {}
  /// A loop on the given engine; where io_uring is refused (no liburing at build time, an old
  /// kernel, a seccomp filter), one line on stderr says so and the loop runs on Asio.
  explicit loop(netco::engine e) : io_(ASIO_CONCURRENCY_HINT_UNSAFE_IO) {
    // Thread-locals die in reverse order of construction: made now, the frame cache outlives
    // a thread's default loop, whose teardown still frees frames into it.
    (void)detail::frame_cache::local();
    ignore_sigpipe();
    if (e == netco::engine::io_uring) {
      std::string why = "this program was built without it (liburing, NETCO_HAS_URING)";
#if defined(NETCO_HAS_URING)
      ring_ = detail::uring::open(io_, why);
      if (!ring_) detail::engine_fallback(why);
#else
      detail::engine_fallback(why);
#endif
    }
  }
  ~loop() {
    // First everything that holds listeners lets go of them, so that tearing down frames and
    // handlers below calls no user code; then suspended root frames are destroyed (with the
    // chains they await, which closes their sockets); their cancelled Asio handlers are then
    // dropped, never run, by ~io_context.
    gone_ = true;
    while (hooks_.next_ != &hooks_) {
      detail::loop_hook* h = hooks_.next_;
      h->unhook();
      h->on_loop_gone();
    }
#if defined(NETCO_HAS_URING)
    if (ring_) ring_->abandon_all();  // before the frames whose operations are in flight go
#endif
    while (roots_.next != &roots_) roots_.next->frame.destroy();
  }
  loop(const loop&) = delete;
  loop& operator=(const loop&) = delete;

  /// The loop running on the calling thread, or else the thread's default loop.
  static loop& current() noexcept {
    if (running_ptr()) return *running_ptr();
    thread_local loop default_loop;
    return default_loop;
  }

  /// Runs until no referenced work is left, stop() is called, or a spawned task fails (its
  /// exception is then rethrown here unless an error handler is set). May be called again.
  void run() {
    running_scope scope(this);
    ++runs_;
    io_.restart();
    auto work = asio::make_work_guard(io_);
    schedule_exit_check();
#if defined(NETCO_HAS_URING)
    if (ring_)
      ring_->run(io_);
    else
#endif
      io_.run();
    if (std::exception_ptr e = std::exchange(error_, nullptr)) std::rethrow_exception(e);
  }

  /// Makes run() return soon. Safe from any thread.
  void stop() noexcept { io_.stop(); }

  /// Runs fn on this loop's thread, on a later turn. Safe from any thread. An exception fn
  /// lets out goes to report(), as a spawned task's does. It does not keep the loop alive:
  /// hold a ref() (or use detail::defer) for that.
  template <class Fn>
  void post(Fn&& fn) {
    asio::post(io_, [this, fn = std::forward<Fn>(fn)]() mutable {
      try {
        fn();
      } catch (...) {
        report(std::current_exception());
      }
    });
  }

  /// True when called from inside this loop's run().
  bool in_loop_thread() const noexcept { return running_ptr() == this; }

  /// True while the loop is being destroyed: nothing may be started on it any more.
  bool gone() const noexcept { return gone_; }

  /// How many times run() has started: tells work that outlived a run (an unref'd timer) that
  /// the run it belonged to is over.
  std::uint64_t runs() const noexcept { return runs_; }

  /// Awaitable: resumes the awaiting coroutine on this loop (possibly moving it across threads).
  /// The coroutine in transit keeps this loop alive (from any thread).
  [[nodiscard]] auto schedule() noexcept {
    struct awaiter {
      loop* target;
      bool await_ready() const noexcept { return false; }
      void await_suspend(std::coroutine_handle<> h) const {
        target->remote_refs_.fetch_add(1, std::memory_order_relaxed);
        asio::post(target->io_, [t = target, h] {
          t->remote_refs_.fetch_sub(1, std::memory_order_relaxed);
          h.resume();
          if (t->refs_ == 0) t->schedule_exit_check();
        });
      }
      void await_resume() const noexcept {}
    };
    return awaiter{this};
  }

  /// Reference counting for the exit rule. Loop thread only.
  void ref() noexcept { ++refs_; }
  void unref() noexcept {
    if (--refs_ == 0) schedule_exit_check();
  }
  std::size_t refs() const noexcept { return refs_; }

  /// Where failures of spawned tasks go. Default: stop the loop and rethrow from run().
  void set_error_handler(std::function<void(std::exception_ptr)> handler) {
    error_handler_ = std::move(handler);
  }
  void report(std::exception_ptr e) noexcept {
    if (error_handler_) {
      try {
        error_handler_(e);
        return;
      } catch (...) {
        e = std::current_exception();
      }
    }
    if (!error_) error_ = e;
    io_.stop();
  }

  asio::io_context& context() noexcept { return io_; }

  /// The engine this loop runs on.
  netco::engine engine() const noexcept {
#if defined(NETCO_HAS_URING)
    if (ring_) return netco::engine::io_uring;
#endif
    return netco::engine::asio;
  }
#if defined(NETCO_HAS_URING)
  /// The io_uring engine's ring, or null on the Asio engine.
  detail::uring* ring() const noexcept { return ring_.get(); }
#endif

  /// A buffer shared by everything on this loop, for bytes that are used up before the caller
  /// next suspends (read them, write them on, done). It lets idle connections keep no read
  /// buffer of their own. Its contents are valid only until the calling coroutine suspends.
  /// Loop thread only.
  std::span<std::byte> scratch() {
    if (!scratch_) scratch_.reset(new std::byte[scratch_size]);  // uninitialised: not touched
    return {scratch_.get(), scratch_size};
  }
  static constexpr std::size_t scratch_size = 64 * 1024;

  /// For spawn: the loop owns detached frames until they finish.
  void adopt(detail::root_link& link) noexcept {
    link.next = &roots_;
    link.prev = roots_.prev;
    roots_.prev->next = &link;
    roots_.prev = &link;
  }

  /// Calls fn(hook&) for each hook of this loop (rare walks: a server closing its sockets).
  template <class Fn>
  void each_hook(Fn&& fn) {
    for (detail::loop_hook* h = hooks_.next_; h != &hooks_;) {
      detail::loop_hook* next = h->next_;
      fn(*h);
      h = next;
    }
  }

  /// For sockets, servers and timers: told (on_loop_gone) when this loop is destroyed first.
  void hook(detail::loop_hook& h) noexcept {
    h.next_ = &hooks_;
    h.prev_ = hooks_.prev_;
    hooks_.prev_->next_ = &h;
    hooks_.prev_ = &h;
  }

 private:
  struct running_scope {
    loop* previous;
    explicit running_scope(loop* l) noexcept : previous(std::exchange(running_ptr(), l)) {}
    ~running_scope() { running_ptr() = previous; }
  };
  static loop*& running_ptr() noexcept {
    thread_local loop* running = nullptr;
    return running;
  }
  struct hook_head final : detail::loop_hook {
    void on_loop_gone() noexcept override {}
  };

  // Deferred so that a completion which drops the count to zero and at once starts the next
  // operation (accept, then accept again) does not stop the loop in between.
  void schedule_exit_check() {
    if (exit_check_pending_) return;
    exit_check_pending_ = true;
    asio::post(io_, [this] {
      exit_check_pending_ = false;
      if (refs_ == 0 && remote_refs_.load(std::memory_order_relaxed) == 0) io_.stop();
    });
  }

  static void ignore_sigpipe() noexcept {
#if !defined(MSG_NOSIGNAL) && !defined(SO_NOSIGPIPE)
    // Where Asio cannot send with MSG_NOSIGNAL nor mark sockets SO_NOSIGPIPE, a write to a reset
    // peer would kill the process: it must report EPIPE instead (Node does the same).
    static const bool once = [] {
      std::signal(SIGPIPE, SIG_IGN);
      return true;
    }();
    (void)once;
#endif
  }

  asio::io_context io_;
  std::size_t refs_ = 0;
  std::atomic<std::size_t> remote_refs_{0};  // coroutines in transit to this loop (schedule())
  std::uint64_t runs_ = 0;
  bool exit_check_pending_ = false;
  bool gone_ = false;
  std::exception_ptr error_;
  std::function<void(std::exception_ptr)> error_handler_;
  detail::root_link roots_;
  hook_head hooks_;
  std::unique_ptr<std::byte[]> scratch_;
#if defined(NETCO_HAS_URING)
  std::unique_ptr<detail::uring> ring_;  // destroyed before io_, whose reactor it polls
#endif
};

namespace detail {
/// What Node's process does with an uncaught exception: its type and message on stderr, then
/// exit code 1 (not an abort).
[[noreturn]] inline void exit_uncaught(std::exception_ptr e) noexcept {
  std::string type = "exception", what;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    what = x.what();
    type = typeid(x).name();
  } catch (...) {
  }
#if defined(__GNUG__)
  int status = 0;
  if (char* readable = abi::__cxa_demangle(type.c_str(), nullptr, nullptr, &status)) {
    type = readable;
    std::free(readable);
  }
#endif
  std::fprintf(stderr,
               "Uncaught %s: %s\n    (netco::run() ends the process, as Node does; "
               "loop::set_error_handler() handles failures instead)\n",
               type.c_str(), what.c_str());
  std::fflush(stderr);
  std::exit(1);
}
}  // namespace detail

/// Runs the calling thread's default loop until nothing keeps it alive (Node's exit rule). A
/// failure nothing handled (what a spawned task or a listener let out, an "error" without a
/// listener) ends the process as in Node: "Uncaught TYPE: message" on stderr, exit code 1.
/// loop::current().run() rethrows it instead.
inline void run() {
  try {
    loop::current().run();
  } catch (...) {
    detail::exit_uncaught(std::current_exception());
  }
}

namespace detail {
/// Runs fn on a later turn of l, keeping l alive until then (Node's process.nextTick). An
/// exception fn lets out goes to l.report(). Loop thread only.
template <class Fn>
void defer(loop& l, Fn&& fn) {
  l.ref();
  l.post([l = &l, fn = std::forward<Fn>(fn)]() mutable {
    struct release {
      loop* l;
      ~release() { l->unref(); }
    } guard{l};
    fn();
  });
}
}  // namespace detail

}  // namespace netco
