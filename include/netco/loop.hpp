// netco/loop.hpp: the event loop (one asio::io_context per thread) and Node's exit rule
#pragma once
#include <coroutine>   // coroutine_handle
#include <csignal>     // signal, SIGPIPE
#include <cstddef>     // byte, size_t
#include <cstdint>     // uint64_t
#include <exception>   // exception_ptr
#include <functional>  // function (error handler; set rarely, never called on the hot path)
#include <memory>      // unique_ptr: the scratch buffer
#include <span>        // span
#include <utility>     // exchange, forward

#include "netco/detail/asio.hpp"
#include "netco/task.hpp"

namespace netco {

namespace detail {
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
  loop() : io_(ASIO_CONCURRENCY_HINT_UNSAFE_IO) { ignore_sigpipe(); }
  ~loop() {
    // Destroying a suspended root frame destroys the whole chain it awaits, which closes its
    // sockets; their cancelled handlers are then dropped, never run, by ~io_context.
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
    io_.run();
    if (std::exception_ptr e = std::exchange(error_, nullptr)) std::rethrow_exception(e);
  }

  /// Makes run() return soon. Safe from any thread.
  void stop() noexcept { io_.stop(); }

  /// Runs fn on this loop's thread. Safe from any thread; fn must not throw.
  template <class Fn>
  void post(Fn&& fn) {
    asio::post(io_, std::forward<Fn>(fn));
  }

  /// True when called from inside this loop's run().
  bool in_loop_thread() const noexcept { return running_ptr() == this; }

  /// How many times run() has started: tells work that outlived a run (an unref'd timer) that
  /// the run it belonged to is over.
  std::uint64_t runs() const noexcept { return runs_; }

  /// Awaitable: resumes the awaiting coroutine on this loop (possibly moving it across threads).
  [[nodiscard]] auto schedule() noexcept {
    struct awaiter {
      loop* target;
      bool await_ready() const noexcept { return false; }
      void await_suspend(std::coroutine_handle<> h) const {
        target->post([h] { h.resume(); });
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

  // Deferred so that a completion which drops the count to zero and at once starts the next
  // operation (accept, then accept again) does not stop the loop in between.
  void schedule_exit_check() {
    if (exit_check_pending_) return;
    exit_check_pending_ = true;
    asio::post(io_, [this] {
      exit_check_pending_ = false;
      if (refs_ == 0) io_.stop();
    });
  }

  static void ignore_sigpipe() noexcept {
    // Writes to a reset peer must report EPIPE, never kill the process (Node does the same).
    static const bool once = [] {
      std::signal(SIGPIPE, SIG_IGN);
      return true;
    }();
    (void)once;
  }

  asio::io_context io_;
  std::size_t refs_ = 0;
  std::uint64_t runs_ = 0;
  bool exit_check_pending_ = false;
  std::exception_ptr error_;
  std::function<void(std::exception_ptr)> error_handler_;
  detail::root_link roots_;
  std::unique_ptr<std::byte[]> scratch_;
};

/// Runs the calling thread's default loop until nothing keeps it alive (Node's exit rule).
inline void run() { loop::current().run(); }

}  // namespace netco
