// netco/shutdown.hpp: graceful shutdown on SIGINT/SIGTERM for servers, acceptors and tasks
#pragma once
#include <chrono>        // steady_clock
#include <concepts>      // convertible_to
#include <csignal>       // SIGINT, SIGTERM
#include <cstdint>       // uint64_t
#include <functional>    // function: what to do at each stage (set once, called once)
#include <memory>        // shared_ptr
#include <stdexcept>     // logic_error
#include <system_error>  // error_code
#include <utility>       // move
#include <vector>        // vector

#include "netco/cancel.hpp"
#include "netco/detail/io_op.hpp"
#include "netco/loop.hpp"
#include "netco/signal.hpp"
#include "netco/spawn.hpp"
#include "netco/stream.hpp"
#include "netco/task.hpp"

namespace netco {

/// How a graceful shutdown goes. Fill with designated initialisers: {.deadline = 5s}.
struct shutdown_options {
  /// In-flight work gets this long after the first signal; then what is left is closed.
  std::chrono::steady_clock::duration deadline = std::chrono::seconds(10);
  /// The signals that start the shutdown; a second one (any of them) forces it.
  std::vector<int> signals = {SIGINT, SIGTERM};
  /// On forcing, also stop the loop, so that run() returns even if other work (a timer, a
  /// client, a worker-pool job) still holds it; what is left is destroyed with the loop.
  bool stop_loop_on_force = true;
  /// Called as draining starts, with the signal number (0 from begin()): log, fail health
  /// checks. An exception from it goes to the loop, as one from any signal listener.
  std::function<void(int)> on_drain = {};
};

/// A server that graceful_shutdown drains: net::server and http::server (neither header is
/// included here, so a user of one does not compile the other).
template <class Server>
concept drainable_server = requires(Server s) {
  { s.listening() } -> std::convertible_to<bool>;
  s.close();
  s.close_all_connections();
};

namespace detail {

/// Waits on a timer without keeping the loop alive: a deadline must not hold up an exit that
/// the drained servers would otherwise allow.
class [[nodiscard]] unref_timer_awaiter : io_awaiter_base {
 public:
  unref_timer_awaiter(loop& owner, steady_timer& timer, std::error_code* out)
      : io_awaiter_base(owner, out), timer_(&timer) {
    state_.counted = false;
  }
  bool await_ready() const noexcept { return false; }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    if (!prepare(h)) return false;
    cancellation_.start(state_, [this](auto&& handler) { timer_->async_wait(std::move(handler)); });
    return true;
  }
  void await_resume() { deliver_error(state_.ec, out_); }

 private:
  steady_timer* timer_;
};

/// The state behind graceful_shutdown handles: its signal listener and its deadline frame
/// own it (both are owned by the loop), so it lives as long as it can still act.
class shutdown_state : public std::enable_shared_from_this<shutdown_state> {
 public:
  struct target {
    std::function<void()> drain;  // stop taking new work
    std::function<void()> force;  // end the work still in flight
  };
  enum class stage { armed, draining, forced };

  shutdown_state(loop& owner, shutdown_options o) : owner_(&owner), options_(std::move(o)) {}

  void listen() {
    if (options_.signals.empty()) return;
    listener_ = on_signal(options_.signals, [self = shared_from_this()](int n) {
      if (self->stage_ == stage::armed) {
        self->begin(n);
      } else {
        self->force();  // the second signal: do not wait for the deadline
      }
    });
  }

  void add(target t) {
    if (stage_ != stage::armed && t.drain) t.drain();  // added late: catch up
    if (stage_ == stage::forced && t.force) t.force();
    targets_.push_back(std::move(t));
  }

  void begin(int signal_number) {
    if (stage_ != stage::armed) return;
    stage_ = stage::draining;
    // The run this drain belongs to: begun before run(), it is the next one.
    drain_run_ = owner_->runs() + (owner_->in_loop_thread() ? 0 : 1);
    adopt_root(*owner_, watch_deadline(shared_from_this())).resume();  // runs to its wait
    if (options_.on_drain) options_.on_drain(signal_number);
    for (std::size_t i = 0; i < targets_.size(); ++i) {  // by index: a hook may add targets
      if (targets_[i].drain) targets_[i].drain();
    }
  }

  void force() {
    if (stage_ == stage::forced) return;
    if (stage_ == stage::armed) begin(0);
    stage_ = stage::forced;
    cancel_deadline();
    for (std::size_t i = 0; i < targets_.size(); ++i) {
      if (targets_[i].force) targets_[i].force();
    }
    remove_listener();  // from now on, a signal gets its default action: the last resort
    if (options_.stop_loop_on_force) owner_->stop();
  }

  void cancel() {
    remove_listener();
    cancel_deadline();
  }

  stage current() const noexcept { return stage_; }

 private:
  void remove_listener() { listener_.remove(); }
  void cancel_deadline() {
    if (deadline_) deadline_->cancel();
  }

  static task<> watch_deadline(std::shared_ptr<shutdown_state> self) {
    steady_timer timer(self->owner_->context(), self->options_.deadline);
    struct registration {  // cleared however the frame ends, loop destruction included
      shutdown_state& s;
      ~registration() { s.deadline_ = nullptr; }
    } reg{*self};
    self->deadline_ = &timer;
    std::error_code ec;
    co_await unref_timer_awaiter(*self->owner_, timer, &ec);
    // A drain that let run() return has ended: a later run of the loop is not forced by it.
    if (!ec && self->owner_->runs() == self->drain_run_) self->force();
  }

  loop* owner_;
  shutdown_options options_;
  std::vector<target> targets_;
  signal_listener listener_;
  steady_timer* deadline_ = nullptr;
  std::uint64_t drain_run_ = 0;
  stage stage_ = stage::armed;
};

}  // namespace detail

/// A graceful shutdown: on the first signal it drains what was added (servers and acceptors
/// stop accepting, idle keep-alive connections close, requests in flight finish); once nothing
/// holds the loop, run() returns. At the deadline or on a second signal it forces: every
/// connection left is closed, scopes are cancelled and (by default) the loop stops. A cheap
/// handle; the shutdown stays armed without it. Loop thread only; added objects must outlive it.
class graceful_shutdown {
 public:
  graceful_shutdown() = default;
  explicit graceful_shutdown(std::shared_ptr<detail::shutdown_state> s) noexcept
      : s_(std::move(s)) {}

  /// A net::server or http::server. Drain: close() — no new connections; an http::server
  /// closes its idle keep-alive connections now and busy ones after their response, a
  /// net::server lets open connections run to their end. Force: close_all_connections().
  template <drainable_server Server>
  graceful_shutdown& add(Server server) {
    return add([server]() mutable { drain(server); },
               [server]() mutable {
                 drain(server);
                 server.close_all_connections();
               });
  }
  /// A coroutine acceptor (tcp, local): closed on draining, so its pending accept() ends with
  /// std::errc::operation_canceled.
  template <class Protocol>
  graceful_shutdown& add(basic_acceptor<Protocol>& acceptor) {
    return add([&acceptor] { acceptor.close(); });
  }
  /// Tasks run in this scope (scope.run(task)) are cancelled on forcing: their pending netco
  /// operations end with std::errc::operation_canceled.
  graceful_shutdown& add(cancel_scope& scope) {
    return add({}, [&scope] { scope.cancel(); });
  }
  /// Anything else (a UDP socket, a file, a worker pool): drain() as the shutdown starts,
  /// force() at the deadline or on a second signal.
  graceful_shutdown& add(std::function<void()> drain, std::function<void()> force = {}) {
    s().add({std::move(drain), std::move(force)});
    return *this;
  }

  /// Starts draining now, as the first signal would.
  void begin() { s().begin(0); }
  /// Forces now, as the deadline or a second signal would.
  void force() { s().force(); }
  /// Disarms it: removes its signal listener and its deadline.
  void cancel() { s().cancel(); }
  /// True once draining started (by a signal or begin()).
  bool draining() const { return s().current() != detail::shutdown_state::stage::armed; }
  /// True once forced.
  bool forced() const { return s().current() == detail::shutdown_state::stage::forced; }

  explicit operator bool() const noexcept { return static_cast<bool>(s_); }

 private:
  template <drainable_server Server>
  static void drain(Server& server) {
    if (server.listening()) server.close();  // close() twice would report server_not_running
  }
  detail::shutdown_state& s() const {
    if (!s_) throw std::logic_error("netco: use of an empty graceful_shutdown handle");
    return *s_;
  }
  std::shared_ptr<detail::shutdown_state> s_;
};

/// Arms a graceful shutdown on the calling thread's loop, started by options.signals (SIGINT,
/// SIGTERM); add() what it drains. Like every signal listener it does not keep the loop alive.
inline graceful_shutdown shutdown_on_signal(shutdown_options options = {}) {
  auto state = std::make_shared<detail::shutdown_state>(loop::current(), std::move(options));
  state->listen();
  return graceful_shutdown(std::move(state));
}
/// The same, draining one server: shutdown_on_signal(server, {.deadline = 5s}).
template <drainable_server Server>
graceful_shutdown shutdown_on_signal(Server server, shutdown_options options = {}) {
  return shutdown_on_signal(std::move(options)).add(std::move(server));
}
/// The same, closing a coroutine acceptor; its connection tasks finish on their own, or are
/// destroyed with the loop when forced (add a cancel_scope to have them cancelled instead).
template <class Protocol>
graceful_shutdown shutdown_on_signal(basic_acceptor<Protocol>& acceptor,
                                     shutdown_options options = {}) {
  return shutdown_on_signal(std::move(options)).add(acceptor);
}

}  // namespace netco
