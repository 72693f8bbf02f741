// netco/cluster.hpp: N loops on N threads sharing listening ports (Node's cluster, with threads)
#pragma once
#include <unistd.h>  // close: a handed-off descriptor nobody took

#include <algorithm>     // max
#include <atomic>        // atomic: stop flags and the counters other threads read
#include <chrono>        // milliseconds: drain deadlines
#include <csignal>       // SIGINT, SIGTERM
#include <cstddef>       // size_t
#include <cstdint>       // uint16_t, uint64_t
#include <exception>     // exception_ptr
#include <functional>    // function: drain actions (set once per server, run once)
#include <future>        // promise: call() waits for a loop's answer
#include <latch>         // latch: no loop is torn down while another still runs
#include <memory>        // unique_ptr, shared_ptr
#include <mutex>         // mutex: a loop's lifetime against posts from other threads
#include <optional>      // optional: call()'s answer; a drain deadline
#include <stdexcept>     // logic_error, out_of_range
#include <string>        // string
#include <system_error>  // error_code, system_error
#include <thread>        // thread, hardware_concurrency
#include <type_traits>   // invoke_result_t, is_same_v
#include <utility>       // move, exchange
#include <vector>        // vector

#include "netco/detail/asio.hpp"
#include "netco/http.hpp"
#include "netco/loop.hpp"
#include "netco/net.hpp"
#include "netco/serve.hpp"
#include "netco/signal.hpp"
#include "netco/spawn.hpp"
#include "netco/task.hpp"
#include "netco/tcp.hpp"
#include "netco/timer.hpp"

namespace netco {

/// How a cluster spreads connections over its loops.
enum class balancing {
  reuse_port,  ///< a listener per loop on one port (SO_REUSEPORT); the kernel picks the loop
  handoff,     ///< one acceptor, on loop 0, hands each connection to the next loop in turn
};

/// Where and how a cluster listens. Port 0: a free port, bound on loop 0 and shared.
struct cluster_listen_options {
  std::uint16_t port = 0;
  std::string host = "127.0.0.1";
  int backlog = 511;
  balancing balance = tcp::has_reuse_port ? balancing::reuse_port : balancing::handoff;
};

/// What one loop did, or the sum over all. Each counter is kept by its loop's thread alone
/// (no lock, no contended cache line); readers on other threads see a recent value.
struct cluster_stats {
  std::uint64_t connections = 0;  ///< connections this loop took (accepted or handed to it)
  std::uint64_t closed = 0;       ///< of those, closed (every server kind and serve())
  std::uint64_t requests = 0;     ///< HTTP requests received
  std::uint64_t bytes_read = 0;   ///< Node-style servers: bytes read by connections that closed
  std::uint64_t bytes_written =
      0;                         ///< Node-style servers: bytes written by connections that closed
  std::uint64_t handed_off = 0;  ///< handoff mode: connections loop 0's acceptor passed here

  cluster_stats& operator+=(const cluster_stats& o) noexcept {
    connections += o.connections;
    closed += o.closed;
    requests += o.requests;
    bytes_read += o.bytes_read;
    bytes_written += o.bytes_written;
    handed_off += o.handed_off;
    return *this;
  }
};

namespace detail {

/// A counter with one writer (its loop's thread) and any readers: a plain load and store,
/// never a locked read-modify-write.
class loop_counter {
 public:
  void add(std::uint64_t n = 1) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t get() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

/// An accepted descriptor on its way to another loop: closed if that loop never takes it.
class owned_descriptor {
 public:
  owned_descriptor(int fd, int family) noexcept : fd_(fd), family_(family) {}
  owned_descriptor(owned_descriptor&& o) noexcept
      : fd_(std::exchange(o.fd_, -1)), family_(o.family_) {}
  owned_descriptor& operator=(owned_descriptor&&) = delete;
  ~owned_descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int take() noexcept { return std::exchange(fd_, -1); }
  int family() const noexcept { return family_; }

 private:
  int fd_;
  int family_;
};

/// Rebuilds a stream of type Stream on owner's loop from a handed-off descriptor.
template <class Stream>
Stream adopt_descriptor(loop& owner, owned_descriptor& d, std::error_code& ec) {
  typename Stream::socket_type socket(owner.context());
  using protocol = typename Stream::protocol_type;
  const int fd = d.take();
  if constexpr (std::is_same_v<protocol, asio::ip::tcp>) {
    socket.assign(d.family() == AF_INET6 ? asio::ip::tcp::v6() : asio::ip::tcp::v4(), fd, ec);
  } else {
    socket.assign(protocol(d.family(), IPPROTO_TCP), fd, ec);
  }
  if (ec) ::close(fd);  // not adopted: still ours
  return Stream(owner, std::move(socket));
}

}  // namespace detail

/// N event loops on N threads (default: one per hardware thread). Servers started through it
/// listen on every loop, and each connection lives on one loop for its whole life, so its
/// handlers need no locks. Loops wait for work until drain() or stop(); join() waits for them.
///
/// Thread safety: every member function may be called from any thread, except that listen(),
/// serve(), each() and call() block until loops answer and so may not be called from one of
/// this cluster's loops (call() on the loop's own thread runs at once). Everything a factory,
/// handler or posted function does runs on the loop it was given to.
class cluster {
 public:
  /// Starts loops threads at once (0: std::thread::hardware_concurrency(), at least 1).
  explicit cluster(std::size_t loops = 0) : finished_(static_cast<std::ptrdiff_t>(count(loops))) {
    const std::size_t n = count(loops);
    members_.reserve(n);
    for (std::size_t i = 0; i < n; ++i) members_.push_back(std::make_unique<member>(i));
    for (auto& m : members_) m->thread = std::thread([this, m = m.get()] { run_member(*m); });
  }
  /// Stops the loops at once (as stop()) unless they already finished, and joins them.
  ~cluster() {
    stop();
    for (auto& m : members_) {
      if (m->thread.joinable()) m->thread.join();
    }
  }
  cluster(const cluster&) = delete;
  cluster& operator=(const cluster&) = delete;

  /// One loop per hardware thread (at least one).
  static std::size_t hardware_loops() noexcept {
    return std::max<std::size_t>(1, std::thread::hardware_concurrency());
  }

  std::size_t size() const noexcept { return members_.size(); }

  /// The index of the loop running the calling thread, or size() outside this cluster's loops.
  std::size_t index() const noexcept {
    return current_cluster() == this ? current_index() : members_.size();
  }

  // --- cross-loop messaging ----------------------------------------------------------------

  /// Runs fn() on loop i's thread (an exception it throws goes to that loop, as a spawned
  /// task's). Returns false, dropping fn, once that loop has finished.
  template <class Fn>
  bool post(std::size_t i, Fn&& fn) {
    return post_raw(i, [fn = std::forward<Fn>(fn)](loop& l) mutable {
      try {
        fn();
      } catch (...) {
        l.report(std::current_exception());
      }
    });
  }

  /// Runs fn(i) (or fn()) on every loop i, a copy each: a broadcast. The calling loop gets
  /// its copy on a later turn, like the others.
  template <class Fn>
  void broadcast(const Fn& fn) {
    for (std::size_t i = 0; i < size(); ++i) {
      post(i, [fn, i]() mutable {
        if constexpr (std::is_invocable_v<Fn&, std::size_t>) {
          fn(i);
        } else {
          fn();
        }
      });
    }
  }

  /// Starts t on loop i (a task moves across threads before its first step, never after).
  template <class T>
  void spawn(std::size_t i, task<T> t) {
    post_raw(i,
             [t = std::move(t)](loop& l) mutable { detail::adopt_root(l, std::move(t)).resume(); });
  }

  /// Runs fn() on loop i and returns its result (or rethrows its exception). Blocks the caller.
  template <class Fn>
  std::invoke_result_t<Fn&> call(std::size_t i, Fn fn) {
    using result = std::invoke_result_t<Fn&>;
    check(i);
    if (index() == i) return fn();
    if (current_cluster() == this) {
      throw std::logic_error("netco: cluster::call from one of its loops would block it; post()");
    }
    using stored = std::conditional_t<std::is_void_v<result>, bool, result>;
    std::optional<stored> value;
    std::exception_ptr error;
    std::promise<void> answered;
    std::future<void> done = answered.get_future();
    post_raw(i, [&fn, &value, &error, &answered](loop&) {
      try {
        if constexpr (std::is_void_v<result>) {
          fn();
          value.emplace(true);
        } else {
          value.emplace(fn());
        }
      } catch (...) {
        error = std::current_exception();
      }
      // NOTE: last, with no reference to an exception left on this thread: the caller may
      // free it at once, and ThreadSanitizer cannot see libstdc++'s reference counts.
      answered.set_value();
    });
    wait_answer(i, done);
    if (error) std::rethrow_exception(error);
    if constexpr (!std::is_void_v<result>) return std::move(*value);
  }

  /// Runs fn(i) on every loop i in turn, each finished before the next starts. Blocks.
  template <class Fn>
  void each(Fn fn) {
    for (std::size_t i = 0; i < size(); ++i) call(i, [&fn, i] { fn(i); });
  }

  /// Loop i itself, for what the cluster does not wrap. Valid until the loops finish.
  loop& at(std::size_t i) {
    check(i);
    if (!members_[i]->l) throw std::logic_error("netco: cluster loop already torn down");
    return *members_[i]->l;
  }

  // --- servers -----------------------------------------------------------------------------

  /// Node style: make() runs on every loop and returns that loop's net::server or
  /// http::server (its listeners set, not yet listening); the cluster makes them all listen
  /// on one port and returns it. Throws std::system_error when it cannot listen (EADDRINUSE),
  /// leaving nothing listening. drain() closes these servers.
  template <class Factory>
  std::uint16_t listen(const cluster_listen_options& o, Factory make) {
    using server_type = std::invoke_result_t<Factory&>;
    static_assert(
        std::is_same_v<server_type, net::server> || std::is_same_v<server_type, http::server>,
        "netco::cluster::listen: the factory must return a net::server or http::server");
    // [i]: loop i's thread only. On success, each loop's own references (drain actions, the
    // acceptor's or handoff's) outlive these, so dropping them here destroys nothing.
    auto made = std::make_shared<std::vector<server_type>>(size());
    std::lock_guard one_at_a_time(setup_);
    const auto undo = [this, made] {
      for (std::size_t i = 0; i < size(); ++i) {
        try {
          call(i, [&s = (*made)[i]] {
            if (s && s.listening()) s.close();
            s = server_type();  // the last handle may go only on the server's own thread
          });
        } catch (...) {  // that loop has finished: nothing of it listens any more
        }
      }
      drop_handoff();
    };
    try {
      if (o.balance == balancing::handoff) {
        const std::uint16_t port = bind_handoff(o);
        const std::size_t group = handoff_groups_++;
        for (std::size_t i = 0; i < size(); ++i) {
          call(i, [this, i, &make, made, group] {
            server_type s = make();
            instrument(s, *members_[i]);
            s.state()->listen_without_acceptor();
            (*made)[i] = s;
            members_[i]->drain_actions.push_back([s] { s.close(); });
            set_sink(*members_[i], group, [s, l = &at(i)](detail::owned_descriptor& d) {
              std::error_code ec;
              auto peer = detail::adopt_descriptor<detail::net_stream>(*l, d, ec);
              if (!ec) s.state()->adopt(std::move(peer));
            });
          });
        }
        start_handoff(group);
        return port;
      }
      std::uint16_t port = o.port;
      for (std::size_t i = 0; i < size(); ++i) {
        // A failure's code arrives as "error" on a later turn (Node's rule): the answer is
        // posted from the loop after it, so the same loop runs them in that order.
        std::error_code failed;
        std::exception_ptr error;
        std::promise<void> answered;
        std::future<void> done = answered.get_future();
        post_raw(i, [this, i, &make, &o, port, made, &failed, &error, &answered](loop& l) {
          try {
            server_type s = make();
            instrument(s, *members_[i]);
            (*made)[i] = s;
            auto failure = std::make_shared<std::error_code>();
            const listener_id id = s.add_listener(
                "error", [failure](std::error_code ec) { *failure = ec; },
                listener_options{.once = true});
            net::listen_options lo;
            lo.port = port;
            lo.host = o.host;
            lo.backlog = o.backlog;
            lo.reuse_port = true;
            s.listen(lo);
            if (!s.listening()) {
              l.post([failure, &failed, &answered] {
                failed = *failure ? *failure : make_error_code(std::errc::io_error);
                answered.set_value();
              });
              return;
            }
            s.off("error", id);
            members_[i]->drain_actions.push_back([s] { s.close(); });
          } catch (...) {
            error = std::current_exception();
          }
          answered.set_value();  // last: see call()
        });
        wait_answer(i, done);
        if (error) std::rethrow_exception(error);
        if (failed) {
          throw std::system_error(failed,
                                  "netco::cluster::listen " + o.host + ":" + std::to_string(port));
        }
        if (i == 0) port = call(0, [&s = (*made)[0]] { return s.address().port; });
      }
      return port;
    } catch (...) {
      undo();
      throw;
    }
  }

  /// Coroutine style: every connection, on whichever loop takes it, is served by
  /// handler(tcp::stream) -> task<> (a copy of handler per loop). Returns the port. An
  /// exception a handler lets out goes to its loop (by default: the cluster stops and join()
  /// rethrows it). drain() stops accepting; handlers still running finish.
  template <class Handler>
  std::uint16_t serve(const cluster_listen_options& o, Handler handler) {
    static_assert(std::is_same_v<std::invoke_result_t<Handler&, tcp::stream>, task<>>,
                  "netco::cluster::serve: the handler must be task<>(netco::tcp::stream)");
    std::lock_guard one_at_a_time(setup_);
    if (o.balance == balancing::handoff) {
      const std::uint16_t port = bind_handoff(o);
      const std::size_t group = handoff_groups_++;
      for (std::size_t i = 0; i < size(); ++i) {
        call(i, [this, i, &handler, group] {  // cannot fail but for memory
          auto h = std::make_shared<Handler>(handler);
          set_sink(*members_[i], group, [h, m = members_[i].get()](detail::owned_descriptor& d) {
            std::error_code ec;
            tcp::stream peer = detail::adopt_descriptor<tcp::stream>(*m->l, d, ec);
            if (!ec) netco::spawn(serve_one(h, std::move(peer), m));
          });
        });
      }
      start_handoff(group);
      return port;
    }
    std::uint16_t port = o.port;
    std::size_t listening = 0;
    try {
      for (; listening < size(); ++listening) {
        const std::size_t i = listening;
        const std::uint16_t got = call(i, [this, i, &handler, &o, port] {
          auto a = std::make_shared<tcp::acceptor>(tcp::listen(
              o.host, port, tcp::listen_options{.backlog = o.backlog, .reuse_port = true}));
          members_[i]->drain_actions.push_back([a] { a->close(); });
          netco::spawn(accept_and_serve(a, std::make_shared<Handler>(handler), members_[i].get()));
          return a->port();
        });
        if (i == 0) port = got;
      }
    } catch (...) {
      for (std::size_t i = 0; i < listening; ++i) {  // those that did listen stop again
        try {
          call(i, [m = members_[i].get()] {
            auto actions = std::move(m->drain_actions);
            actions.back()();  // closes the acceptor, which ends its accept loop
            actions.pop_back();
            m->drain_actions = std::move(actions);
          });
        } catch (...) {  // that loop has finished: nothing of it listens any more
        }
      }
      throw;
    }
    return port;
  }

  // --- stopping ----------------------------------------------------------------------------

  /// Graceful stop: every loop stops accepting (its servers close: HTTP ones close idle
  /// keep-alive connections, and busy ones after their response) and lets go of the cluster's
  /// hold, so it ends when its last connection does; past deadline, it stops anyway. Any
  /// thread; only the first call counts.
  void drain(std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
    if (draining_.exchange(true)) return;
    for (std::size_t i = 0; i < size(); ++i) {
      post_raw(i, [deadline, m = members_[i].get()](loop& l) {
        std::vector<std::function<void()>> actions = std::move(m->drain_actions);
        for (auto& action : actions) {
          try {
            action();
          } catch (...) {
            l.report(std::current_exception());
          }
        }
        m->deadline.emplace(l.context(), deadline);  // a bare timer: it keeps nothing alive
        m->deadline->async_wait([&l](const std::error_code& ec) {
          if (!ec) l.stop();
        });
        l.unref();  // the hold run_member took
      });
    }
  }

  /// Stops every loop now; connections still open are closed as the loops go. Any thread.
  void stop() noexcept {
    stopping_ = true;
    for (auto& m : members_) {
      std::lock_guard lock(m->life);
      if (!m->l) continue;
      m->l->stop();
      // A loop that has not entered run() yet would forget the stop above (run() restarts
      // its context); a posted stop reaches it there.
      try {
        m->l->post([l = m->l.get()] { l->stop(); });
      } catch (...) {  // out of memory: the flag still stops a loop that has not started
      }
    }
  }

  /// SIGINT or SIGTERM: drain(deadline); a second one: stop(). Every loop listens, so the
  /// second signal is heard while any loop still runs. Call before join(); not from a loop.
  void stop_on_signal(std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
    each([this, deadline](std::size_t) {
      auto seen = std::make_shared<int>(0);
      on_signal({SIGINT, SIGTERM}, [this, deadline, seen] {
        if ((*seen)++ == 0) {
          drain(deadline);
        } else {
          stop();
        }
      });
    });
  }

  /// Waits until every loop has finished. Rethrows the first exception a loop ended with
  /// (one loop failing stops the others); errors() has them all.
  void join() {
    for (auto& m : members_) {
      if (m->thread.joinable()) m->thread.join();
    }
    for (auto& m : members_) {
      if (m->error) std::rethrow_exception(m->error);
    }
  }
  /// After join(): the exception each loop ended with (null where it ended cleanly).
  std::vector<std::exception_ptr> errors() const {
    std::vector<std::exception_ptr> out;
    for (auto& m : members_) out.push_back(m->error);
    return out;
  }

  // --- stats -------------------------------------------------------------------------------

  /// Loop i's counters (see cluster_stats for what each counts).
  cluster_stats stats(std::size_t i) const {
    check(i);
    const member& m = *members_[i];
    return {m.connections.get(), m.closed.get(),        m.requests.get(),
            m.bytes_read.get(),  m.bytes_written.get(), m.handed_off.get()};
  }
  /// The sum over all loops.
  cluster_stats total() const {
    cluster_stats sum;
    for (std::size_t i = 0; i < size(); ++i) sum += stats(i);
    return sum;
  }

 private:
  // Receives a handed-off connection on its loop's thread.
  using sink = std::function<void(detail::owned_descriptor&)>;

  struct member {
    explicit member(std::size_t i) : index(i), l(std::make_unique<loop>()) {}
    const std::size_t index;
    std::mutex life;          // guards l against posts from other threads during teardown
    std::unique_ptr<loop> l;  // null once torn down
    std::thread thread;
    std::atomic<bool> finished{false};  // run() has returned: posted work will never run
    std::exception_ptr error;           // written by its thread before it ends
    // Each written by its loop's thread only (alignment: no false sharing between loops).
    alignas(64) detail::loop_counter connections;
    detail::loop_counter closed, requests, bytes_read, bytes_written, handed_off;
    // Loop thread only.
    alignas(64) std::vector<std::function<void()>> drain_actions;
    std::optional<asio::steady_timer> deadline;
    std::vector<sink> sinks;      // by handoff group
    std::size_t next_target = 0;  // loop 0, handoff: the next loop to get a connection
  };

  static std::size_t count(std::size_t loops) noexcept {
    return loops > 0 ? loops : hardware_loops();
  }
  static const cluster*& current_cluster() noexcept {
    thread_local const cluster* c = nullptr;
    return c;
  }
  static std::size_t& current_index() noexcept {
    thread_local std::size_t i = 0;
    return i;
  }

  void check(std::size_t i) const {
    if (i >= members_.size()) throw std::out_of_range("netco: cluster loop index");
  }

  void wait_answer(std::size_t i, std::future<void>& done) {
    // A loop that finished never answers: poll for that rather than wait for ever.
    while (done.wait_for(std::chrono::milliseconds(20)) != std::future_status::ready) {
      if (members_[i]->finished.load() &&
          done.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
        throw std::logic_error("netco: cluster::call on a loop that has finished");
      }
    }
    done.get();
  }

  template <class Fn>
  bool post_raw(std::size_t i, Fn&& fn) {
    check(i);
    member& m = *members_[i];
    std::lock_guard lock(m.life);
    if (!m.l) return false;
    m.l->post([l = m.l.get(), fn = std::forward<Fn>(fn)]() mutable { fn(*l); });
    return true;
  }

  void run_member(member& m) {
    current_cluster() = this;
    current_index() = m.index;
    loop& l = *m.l;
    l.ref();  // the cluster's hold: the loop waits for work until drain() or stop()
    try {
      if (!stopping_) l.run();
    } catch (...) {
      m.error = std::current_exception();
      stop();  // one loop failed: stop the rest, and join() reports it
    }
    m.finished = true;
    // Loops are torn down only when none runs, so no handler can still post to this one.
    finished_.arrive_and_wait();
    m.drain_actions.clear();
    m.sinks.clear();
    m.deadline.reset();
    if (m.index == 0) handoff_acceptor_.reset();
    std::unique_ptr<loop> dying;
    {
      std::lock_guard lock(m.life);
      dying = std::move(m.l);
    }
    dying.reset();  // on its own thread: its thread-local tables and caches are here
    current_cluster() = nullptr;
  }

  // Counts what a server's events reveal, on the server's loop.
  // Both server kinds share one listening core, so "connection" carries a net::socket for both.
  template <class Server>
  static void instrument(Server& s, member& m) {
    s.on("connection", [m = &m](net::socket sock) {
      m->connections.add();
      sock.on("close", [m, sock](bool) {
        m->closed.add();
        m->bytes_read.add(sock.bytes_read());
        m->bytes_written.add(sock.bytes_written());
      });
    });
    if constexpr (std::is_same_v<Server, http::server>) {
      s.on("request", [m = &m](const http::incoming_message&, const http::server_response&) {
        m->requests.add();
      });
    }
  }

  template <class Handler>
  static task<> serve_one(std::shared_ptr<Handler> h, tcp::stream peer, member* m) {
    m->connections.add();
    struct count_close {
      member* m;
      ~count_close() { m->closed.add(); }
    } counted{m};
    co_await (*h)(std::move(peer));
  }
  template <class Handler>
  static task<> accept_and_serve(std::shared_ptr<tcp::acceptor> a, std::shared_ptr<Handler> h,
                                 member* m) {
    co_await netco::serve(*a,
                          [h, m](tcp::stream peer) { return serve_one(h, std::move(peer), m); });
  }

  // Handoff mode: one acceptor on loop 0. Bound first (so port 0 is known), started last.
  std::uint16_t bind_handoff(const cluster_listen_options& o) {
    return call(0, [this, &o] {
      handoff_acceptor_ = std::make_shared<tcp::acceptor>(tcp::listen(o.host, o.port, o.backlog));
      return handoff_acceptor_->port();
    });
  }
  // After a failed listen(): the bound acceptor goes on its own loop's thread.
  void drop_handoff() noexcept {
    try {
      call(0, [this] { handoff_acceptor_.reset(); });
    } catch (...) {  // loop 0 has finished: its teardown closes the acceptor
    }
  }
  // Each loop keeps its own sinks (what takes a connection of handoff group g), so nothing of
  // one loop is ever held, or destroyed, by another.
  static void set_sink(member& m, std::size_t group, sink s) {
    if (m.sinks.size() <= group) m.sinks.resize(group + 1);
    m.sinks[group] = std::move(s);
  }
  void start_handoff(std::size_t group) {
    call(0, [this, group] {
      auto a = std::exchange(handoff_acceptor_, nullptr);
      members_[0]->drain_actions.push_back([a] { a->close(); });
      netco::spawn(hand_off(a, group));
    });
  }
  task<> hand_off(std::shared_ptr<tcp::acceptor> a, std::size_t group) {
    member& self = *members_[0];
    for (;;) {
      std::error_code ec;
      tcp::stream peer = co_await a->accept(ec);
      if (ec == std::errc::operation_canceled || !a->is_open()) co_return;  // drained
      if (ec) {
        co_await sleep_for(std::chrono::milliseconds(100), ec);
        continue;
      }
      const int family = peer.local_endpoint(ec).protocol().family();
      if (ec) continue;  // reset already: nothing to hand over
      const int fd = peer.asio_socket().release(ec);
      if (ec) continue;
      detail::owned_descriptor d(fd, family);
      const std::size_t target = self.next_target;
      self.next_target = (target + 1) % size();
      post_raw(target, [m = members_[target].get(), group, d = std::move(d)](loop&) mutable {
        m->handed_off.add();
        m->sinks[group](d);
      });
    }
  }

  std::vector<std::unique_ptr<member>> members_;
  std::latch finished_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> draining_{false};
  std::shared_ptr<tcp::acceptor> handoff_acceptor_;  // between bind_handoff and start_handoff
  std::size_t handoff_groups_ = 0;
  std::mutex setup_;  // one listen() or serve() at a time: they share handoff_acceptor_
};

}  // namespace netco
