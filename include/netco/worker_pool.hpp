// netco/worker_pool.hpp: a thread pool whose jobs are awaited from a loop (Node's workerpool)
#pragma once
#include <atomic>        // job phase and reference counts
#include <chrono>        // steady_clock (job timeouts)
#include <coroutine>     // coroutine_handle
#include <cstddef>       // size_t, max_align_t
#include <exception>     // exception_ptr, current_exception, rethrow_exception
#include <functional>    // invoke
#include <limits>        // numeric_limits (the unbounded queue)
#include <memory>        // unique_ptr (the workers)
#include <mutex>         // mutex, unique_lock, lock_guard
#include <new>           // placement new
#include <stdexcept>     // logic_error
#include <stop_token>    // stop_source, stop_token, stop_callback
#include <system_error>  // error_code, system_error
#include <tuple>         // tuple, apply
#include <type_traits>   // invoke_result_t, decay_t, conditional_t
#include <utility>       // move, forward, exchange
#include <variant>       // variant (a job's result or exception)

#include "netco/detail/asio.hpp"
#include "netco/detail/cancel_signal.hpp"
#include "netco/detail/decl.hpp"
#include "netco/detail/io_op.hpp"
#include "netco/detail/outcome.hpp"
#include "netco/detail/small_function.hpp"
#include "netco/error.hpp"
#include "netco/loop.hpp"
#include "netco/spawn.hpp"
#include "netco/task.hpp"

namespace netco {

/// Node: workerpool.pool(options). Designated initialisers: `{.max_workers = 4}`.
struct worker_pool_options {
  static constexpr std::size_t unbounded = std::numeric_limits<std::size_t>::max();
  /// Worker threads, all started by the constructor. 0: std::thread::hardware_concurrency().
  std::size_t max_workers = 0;
  /// Jobs that may wait for a worker (submitted, not yet started). Past it, exec fails with
  /// netco::errc::queue_full. The default, unbounded, lets the queue grow without limit.
  std::size_t max_queue_size = unbounded;
};

/// Node: pool.stats().
struct worker_pool_stats {
  std::size_t total_workers = 0;  ///< worker threads alive
  std::size_t busy_workers = 0;   ///< running a job
  std::size_t idle_workers = 0;   ///< waiting for one
  std::size_t pending_jobs = 0;   ///< queued, not yet started
  std::size_t active_jobs = 0;    ///< running now
};

template <class R>
class job;
class worker_pool;

namespace detail {

class pool_state;

inline std::error_code job_canceled() noexcept {
  return std::make_error_code(std::errc::operation_canceled);
}

/// Set on worker threads: exec from one would deliver to a loop that never runs.
inline bool& on_worker_thread() noexcept {
  thread_local bool flag = false;
  return flag;
}

/// Inline room for a lambda that holds a few handles: attaching callbacks does not allocate.
inline constexpr std::size_t callback_capacity = 48;
template <class R>
struct result_signature {
  using type = void(R&&);
};
template <>
struct result_signature<void> {
  using type = void();
};
/// Where then() and catch_error() keep their callbacks: the frame of the job's delivery task.
template <class R>
struct delivery {
  small_function<typename result_signature<R>::type, callback_capacity> on_result;
  small_function<void(std::exception_ptr), callback_capacity> on_error;
};

/// The lifecycle of a job. queued -> running (a worker took it, under the pool's lock);
/// running -> done (the worker finished first and posts the outcome); queued or running ->
/// abandoned (cancelled, timed out or refused first: the canceller posts the error). Only the
/// side that makes the last transition posts to the loop, so each job costs exactly one post.
enum class job_phase : unsigned char { queued, running, done, abandoned };

inline constexpr std::size_t completion_slot_size = 64;

/// Hands Asio the job's own memory for the one operation that posts its completion, so that
/// waking the loop allocates nothing.
template <class T>
struct slot_allocator {
  using value_type = T;
  void* slot;

  explicit slot_allocator(void* s) noexcept : slot(s) {}
  template <class U>
  slot_allocator(const slot_allocator<U>& other) noexcept : slot(other.slot) {}

  T* allocate(std::size_t n) {
    if constexpr (sizeof(T) <= completion_slot_size && alignof(T) <= alignof(std::max_align_t)) {
      if (n == 1) return static_cast<T*>(slot);
    }
    return static_cast<T*>(::operator new(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t) noexcept {
    if (p != slot) ::operator delete(p);
  }
  template <class U>
  bool operator==(const slot_allocator<U>& other) const noexcept {
    return slot == other.slot;
  }
};

/// What the pool, the workers and the loop share about one job, whatever its types. One
/// allocation holds it together with the function, its arguments and its result.
class job_base {
 public:
  job_base(const job_base&) = delete;
  job_base& operator=(const job_base&) = delete;

  // ---- worker side ----

  /// Calls the function (unless the job was abandoned meanwhile) and stores its outcome.
  virtual void run(const std::stop_token& pool_stop) noexcept = 0;

  /// After run(): hands the outcome to the loop, or drops it if the consumer has gone.
  void publish() noexcept {
    job_phase expected = job_phase::running;
    if (phase_.compare_exchange_strong(expected, job_phase::done, std::memory_order_acq_rel)) {
      post_completion();  // the worker's reference travels with the post
    } else {
      release();  // abandoned while running: its consumer got an error already
    }
  }

  // ---- any thread that holds a reference ----

  /// Fails the job with why unless its outcome is on its way: a queued job is removed, a
  /// running one is left to finish (its stop_token is signalled) and its result dropped.
  /// Returns whether it did.
  NETCO_DECL bool abandon(std::error_code why) noexcept;

  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  // ---- loop side (the owner loop's thread only) ----

  loop& owner() const noexcept { return *owner_; }
  bool settled() const noexcept { return settled_; }
  bool claimed() const noexcept { return claimed_; }

  /// One consumer per job: a co_await, the then()/catch_error() pair, or the drop of the handle.
  void claim() {
    if (claimed_) {
      throw std::logic_error(
          "netco::job: a job has one consumer: co_await it once, or give it then()/catch_error()");
    }
    claimed_ = true;
  }

  /// Resumes h when the outcome arrives; a cancellation of signal abandons the job.
  void wait(std::coroutine_handle<> h, cancel_signal* signal) noexcept {
    waiter_ = h;
    if (signal) {
      if (signal->requested()) {
        abandon(job_canceled());
      } else {
        signal->install(
            [](void* self) noexcept { static_cast<job_base*>(self)->abandon(job_canceled()); },
            this);
      }
    }
  }
  /// For a waiter destroyed before the outcome arrived (its frame went away with its loop).
  void forget_waiter() noexcept {
    waiter_ = nullptr;
    abandon(job_canceled());
  }

  steady_timer* timer_ = nullptr;  // the pending timeout(), if any

 protected:
  NETCO_DECL job_base(pool_state& pool, loop& owner) noexcept;
  NETCO_DECL virtual ~job_base();
  virtual void request_stop() noexcept {}

  /// The error that abandoned the job, if it was (then its result is never read).
  const std::error_code& error() const noexcept { return error_; }

 private:
  friend class pool_state;
  friend class completion;

  void post_completion() noexcept;

  /// The posted completion, on the owner loop: resume the consumer, then drop the loop's
  /// reference (after the resumption, which usually starts the next job first).
  void deliver() noexcept {
    settled_ = true;
    if (timer_) timer_->cancel();
    loop* owner = owner_;
    if (std::coroutine_handle<> w = std::exchange(waiter_, nullptr)) w.resume();
    owner->unref();
    release();
  }

  void fail(std::error_code why) noexcept {
    error_ = why;
    post_completion();
  }

  // Queue links, guarded by the pool's mutex.
  job_base* prev_ = nullptr;
  job_base* next_ = nullptr;

  pool_state* pool_;
  loop* owner_;
  std::atomic<unsigned> refs_{2};  // the handle, and the queue / worker / posted completion
  std::error_code error_;          // written by whoever abandons the job
  std::coroutine_handle<> waiter_;
  bool settled_ = false;
  bool claimed_ = false;

 protected:
  std::atomic<job_phase> phase_{job_phase::queued};

 private:
  alignas(std::max_align_t) unsigned char slot_[completion_slot_size];
};

/// The handler that carries a finished job to its loop. Destroyed without being called (the
/// loop went away first), it drops the job's reference instead.
class completion {
 public:
  using allocator_type = slot_allocator<void>;

  explicit completion(job_base* j) noexcept : job_(j) {}
  completion(completion&& other) noexcept : job_(std::exchange(other.job_, nullptr)) {}
  completion& operator=(completion&&) = delete;
  ~completion() {
    if (job_) job_->release();
  }

  void operator()() noexcept { std::exchange(job_, nullptr)->deliver(); }
  allocator_type get_allocator() const noexcept { return allocator_type(job_->slot_); }

 private:
  job_base* job_;
};

inline void job_base::post_completion() noexcept { owner_->post(completion(this)); }

/// The queue and the workers. Shared by the worker_pool and by every job it ever accepted, so
/// a job can still be cancelled (safely, as a no-op) after its pool is gone.
class pool_state {
 public:
  NETCO_DECL explicit pool_state(const worker_pool_options& options);
  pool_state(const pool_state&) = delete;
  pool_state& operator=(const pool_state&) = delete;

  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  /// Hands j to an idle worker, or queues it, or fails it (queue full, pool terminated).
  NETCO_DECL void submit(job_base& j) noexcept;
  /// Takes j out of the queue if it is still there.
  NETCO_DECL bool unqueue(job_base& j) noexcept;
  NETCO_DECL worker_pool_stats stats() const;
  /// Refuses new jobs; with force, cancels the queued ones and signals the running ones'
  /// stop_tokens. Returns when every worker has exited.
  NETCO_DECL void terminate(bool force);

 private:
  struct worker;

  NETCO_DECL ~pool_state();
  NETCO_DECL void unlink(job_base& j) noexcept;
  NETCO_DECL void work(worker& self);

  mutable std::mutex mutex_;
  job_base* head_ = nullptr;
  job_base* tail_ = nullptr;
  std::size_t queued_ = 0;
  std::atomic<std::size_t> busy_{0};  // raised under the lock, lowered without it
  std::size_t alive_ = 0;
  worker* idle_ = nullptr;
  bool terminated_ = false;
  bool stopping_ = false;
  const std::size_t max_queue_;
  const std::size_t count_;
  std::unique_ptr<worker[]> workers_;
  std::stop_source stop_;
  std::mutex join_mutex_;
  std::atomic<std::size_t> refs_{1};  // the worker_pool, and each job it accepted
};

/// The part of a job that knows its result type: the result, and how the loop takes it.
template <class R>
class job_core : public job_base {
 public:
  delivery<R>* delivery_ = nullptr;  // then()/catch_error() callbacks, while they can still run

  /// The outcome, once: the value, or the function's exception, or the abandoning error.
  R take() {
    if (taken_) throw std::logic_error("netco::job: its result was taken already");
    taken_ = true;
    if (error()) throw std::system_error(error());
    if (result_.index() == 2) std::rethrow_exception(std::get<2>(result_));
    if constexpr (!std::is_void_v<R>) return std::move(std::get<1>(result_));
  }

 protected:
  using job_base::job_base;

  template <class Call>
  void store(Call&& call) {
    if constexpr (std::is_void_v<R>) {
      call();
      result_.template emplace<1>();
    } else {
      result_.template emplace<1>(call());
    }
  }
  void store_exception(std::exception_ptr e) noexcept { result_.template emplace<2>(std::move(e)); }

 private:
  using stored = std::conditional_t<std::is_void_v<R>, std::monostate, R>;
  std::variant<std::monostate, stored, std::exception_ptr> result_;
  bool taken_ = false;
};

struct no_stop_source {};

/// A job with its function and arguments, decay-copied as std::thread does.
template <class R, class Fn, class... Args>
class job_impl final : public job_core<R> {
 public:
  static constexpr bool takes_stop_token = std::is_invocable_v<Fn, std::stop_token, Args...>;

  template <class F, class... A>
  job_impl(pool_state& pool, loop& owner, F&& fn, A&&... args) : job_core<R>(pool, owner) {
    ::new (static_cast<void*>(std::addressof(call_)))
        call_type(std::forward<F>(fn), std::forward<A>(args)...);
  }
  ~job_impl() override {
    if (!ran_) call_.~call_type();
  }

  void run(const std::stop_token& pool_stop) noexcept override {
    // A job abandoned between its hand-over and now is not worth starting.
    if (this->phase_.load(std::memory_order_acquire) == job_phase::running) {
      try {
        if constexpr (takes_stop_token) {
          std::stop_callback forward(pool_stop, [this]() noexcept { stop_.request_stop(); });
          this->store([this] {
            return std::apply(
                [this](Fn& fn, Args&... args) {
                  return std::invoke(std::move(fn), stop_.get_token(), std::move(args)...);
                },
                call_);
          });
        } else {
          this->store([this] {
            return std::apply(
                [](Fn& fn, Args&... args) {
                  return std::invoke(std::move(fn), std::move(args)...);
                },
                call_);
          });
        }
      } catch (...) {
        this->store_exception(std::current_exception());
      }
    }
    // Arguments die on the worker, right after the call, as with std::thread.
    call_.~call_type();
    ran_ = true;
  }

 protected:
  void request_stop() noexcept override {
    if constexpr (takes_stop_token) stop_.request_stop();
  }

 private:
  using call_type = std::tuple<Fn, Args...>;
  union {
    call_type call_;
  };
  bool ran_ = false;
  [[no_unique_address]] std::conditional_t<takes_stop_token, std::stop_source, no_stop_source>
      stop_;
};

template <class Fn, class... Args>
struct job_result {
  using type = std::invoke_result_t<Fn, Args...>;
};
template <class Fn, class... Args>
requires std::is_invocable_v<Fn, std::stop_token, Args...>
struct job_result<Fn, Args...> {
  using type = std::invoke_result_t<Fn, std::stop_token, Args...>;
};

/// Awaits a job's outcome. A user's co_await claims the job; the delivery task has claimed it
/// already. Destroyed while suspended (its frame went away), it abandons the job.
template <class R>
class [[nodiscard]] job_awaiter {
 public:
  job_awaiter(job_core<R>* core, bool claim) noexcept : core_(core), claim_(claim) {}
  job_awaiter(const job_awaiter&) = delete;
  job_awaiter& operator=(const job_awaiter&) = delete;
  ~job_awaiter() {
    if (suspended_) {
      if (cancel_) cancel_->clear();
      core_->forget_waiter();
    }
  }

  bool await_ready() const noexcept { return core_->settled() && !(claim_ && core_->claimed()); }
  template <class Promise>
  void await_suspend(std::coroutine_handle<Promise> h) {
    if (claim_) core_->claim();
    cancel_ = cancel_signal_of(h);
    suspended_ = true;
    core_->wait(h, cancel_);
  }
  R await_resume() {
    if (suspended_) {
      suspended_ = false;
      if (cancel_) cancel_->clear();
    } else if (claim_) {
      core_->claim();
    }
    return core_->take();
  }

 private:
  job_core<R>* core_;
  cancel_signal* cancel_ = nullptr;
  bool claim_;
  bool suspended_ = false;
};

/// A counted reference to a job, for the tasks that outlive its handle.
template <class Core>
class job_ref {
 public:
  explicit job_ref(Core* core) noexcept : core_(core) { core_->add_ref(); }
  job_ref(job_ref&& other) noexcept : core_(std::exchange(other.core_, nullptr)) {}
  job_ref& operator=(job_ref&&) = delete;
  ~job_ref() {
    if (core_) core_->release();
  }
  Core* operator->() const noexcept { return core_; }
  Core* get() const noexcept { return core_; }

 private:
  Core* core_;
};

/// Runs a detached frame on owner until its first suspension; the loop owns it from then on
/// (and destroys it if the loop goes first, which abandons the job it waits for).
NETCO_DECL void start_root(loop& owner, root_task t);

/// Awaitable: resumes on the next turn of the loop, which it keeps alive until then.
struct next_turn {
  loop& owner;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) const {
    owner.ref();
    owner.post([l = &owner, h] {
      h.resume();
      l->unref();
    });
  }
  void await_resume() const noexcept {}
};

NETCO_DECL bool is_cancellation(const std::exception_ptr& e) noexcept;

/// The delivery task behind then()/catch_error(), and behind a dropped handle (with neither:
/// the value is discarded, a failure other than cancellation goes to the loop's error handler).
template <class R>
root_task deliver_job(job_ref<job_core<R>> ref) {
  delivery<R> callbacks;
  struct detach {
    job_core<R>* core;
    ~detach() { core->delivery_ = nullptr; }
  } guard{ref.get()};
  ref->delivery_ = &callbacks;
  outcome<R> result;
  try {
    // As Node's promises: a callback never runs inside the call that attached it.
    if (ref->settled()) co_await next_turn{ref->owner()};
    if constexpr (std::is_void_v<R>) {
      co_await job_awaiter<R>(ref.get(), false);
      result.set();
    } else {
      result.set(co_await job_awaiter<R>(ref.get(), false));
    }
  } catch (...) {
    result.fail(std::current_exception());
  }
  ref->delivery_ = nullptr;
  // What a callback throws escapes to the loop's error handler, as a spawned task's would.
  if (!result.failed()) {
    if (callbacks.on_result) {
      if constexpr (std::is_void_v<R>) {
        callbacks.on_result();
      } else {
        callbacks.on_result(result.get());
      }
    }
  } else if (callbacks.on_error) {
    callbacks.on_error(result.error());
  } else if (!is_cancellation(result.error())) {
    std::rethrow_exception(result.error());  // Node: an unhandled rejection
  }
}

/// A dropped handle's settled job: a failure other than cancellation goes to the loop's error
/// handler (Node's unhandled rejection), a value is discarded.
template <class R>
void report_unobserved(job_core<R>& core) noexcept {
  try {
    (void)core.take();
  } catch (...) {
    std::exception_ptr e = std::current_exception();
    if (!is_cancellation(e)) core.owner().report(e);
  }
}

/// The timer behind job::timeout(): on expiry it abandons the job with timed_out.
NETCO_DECL root_task expire_job(job_ref<job_base> ref, std::chrono::steady_clock::duration limit);

}  // namespace detail

/// A submitted job: awaitable (`R r = co_await pool.exec(fn)`) or given callbacks in Node
/// style (`pool.exec(fn).then(...).catch_error(...)`). A move-only handle, used on the loop
/// thread that called exec; dropping it does not cancel the job.
template <class R>
class [[nodiscard]] job {
 public:
  using value_type = R;

  /// An empty handle, to assign a job to later.
  job() noexcept = default;
  job(job&& other) noexcept : core_(std::exchange(other.core_, nullptr)) {}
  job& operator=(job&& other) noexcept {
    if (this != &other) {
      reset();
      core_ = std::exchange(other.core_, nullptr);
    }
    return *this;
  }
  /// A job nobody awaits or gave callbacks runs to the end all the same; its value is dropped
  /// and its failure (but a cancellation) goes to the loop's error handler.
  ~job() { reset(); }

  /// Node: promise.then(onFulfilled). on_result(R) runs on the loop that called exec, never
  /// inside this call. A second then() replaces the first.
  template <class F>
  job& then(F&& on_result) & {
    if constexpr (std::is_void_v<R>) {
      static_assert(std::is_invocable_v<std::decay_t<F>&>,
                    "netco::job<void>::then: pass a callable taking no argument");
    } else {
      static_assert(std::is_invocable_v<std::decay_t<F>&, R&&>,
                    "netco::job<R>::then: pass a callable taking the job's result (R)");
    }
    callbacks().on_result = std::forward<F>(on_result);
    return *this;
  }
  template <class F>
  job&& then(F&& on_result) && {
    return std::move(then(std::forward<F>(on_result)));
  }
  /// Node: promise.then(onFulfilled, onRejected).
  template <class F, class G>
  job& then(F&& on_result, G&& on_error) & {
    then(std::forward<F>(on_result));
    return catch_error(std::forward<G>(on_error));
  }
  template <class F, class G>
  job&& then(F&& on_result, G&& on_error) && {
    return std::move(then(std::forward<F>(on_result), std::forward<G>(on_error)));
  }

  /// Node: promise.catch(onRejected). on_error takes a std::exception_ptr or a const
  /// std::exception&: the function's exception, or std::system_error with
  /// std::errc::operation_canceled (cancel), std::errc::timed_out (timeout) or
  /// netco::errc::queue_full. Runs on the loop that called exec.
  template <class G>
  job& catch_error(G&& on_error) & {
    using H = std::decay_t<G>;
    if constexpr (std::is_invocable_v<H&, std::exception_ptr>) {
      callbacks().on_error = std::forward<G>(on_error);
    } else {
      static_assert(std::is_invocable_v<H&, const std::exception&>,
                    "netco::job::catch_error: pass a callable taking std::exception_ptr or "
                    "const std::exception&");
      callbacks().on_error = [h = H(std::forward<G>(on_error))](std::exception_ptr e) mutable {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& x) {
          h(x);
        }  // anything else is not a std::exception: it goes on to the loop's error handler
      };
    }
    return *this;
  }
  template <class G>
  job&& catch_error(G&& on_error) && {
    return std::move(catch_error(std::forward<G>(on_error)));
  }

  /// Node (workerpool): promise.timeout(delay). If the job has not finished limit from now, it
  /// fails with std::errc::timed_out: a queued job is removed; a running one cannot be killed,
  /// so it runs on (its std::stop_token, if it takes one, is signalled) and its result is dropped.
  job& timeout(std::chrono::steady_clock::duration limit) & {
    if (!core().settled()) {
      if (core_->timer_) core_->timer_->cancel();  // the latest limit wins
      detail::start_root(core_->owner(),
                         detail::expire_job(detail::job_ref<detail::job_base>(core_), limit));
    }
    return *this;
  }
  job&& timeout(std::chrono::steady_clock::duration limit) && { return std::move(timeout(limit)); }

  /// Node (workerpool): promise.cancel(). Fails the job with std::errc::operation_canceled as
  /// timeout() does; returns false if its outcome was on its way already.
  bool cancel() noexcept { return core_ && core_->abandon(detail::job_canceled()); }

  /// True once the outcome has reached the loop.
  bool settled() const noexcept { return core_ && core_->settled(); }

  /// The job's result, rethrowing its exception; std::system_error for cancel, timeout and a
  /// full queue. Resumes on the loop that called exec, never on a worker thread. Cancelling
  /// the awaiter's scope (with_timeout, cancel_scope) cancels the job as cancel() does.
  detail::job_awaiter<R> operator co_await() && { return {&core(), true}; }
  detail::job_awaiter<R> operator co_await() & { return {&core(), true}; }

 private:
  friend class worker_pool;
  explicit job(detail::job_core<R>* core) noexcept : core_(core) {}

  detail::job_core<R>& core() const {
    if (!core_) throw std::logic_error("netco::job: used after a move");
    return *core_;
  }

  detail::delivery<R>& callbacks() {
    detail::job_core<R>& c = core();
    if (!c.delivery_) {
      c.claim();
      detail::start_root(c.owner(),
                         detail::deliver_job<R>(detail::job_ref<detail::job_core<R>>(&c)));
    }
    return *c.delivery_;
  }

  void reset() noexcept {
    if (!core_) return;
    if (!core_->claimed()) {
      core_->claim();
      if (core_->settled()) {
        detail::report_unobserved(*core_);
      } else {
        detail::start_root(core_->owner(),
                           detail::deliver_job<R>(detail::job_ref<detail::job_core<R>>(core_)));
      }
    }
    std::exchange(core_, nullptr)->release();
  }

  detail::job_core<R>* core_ = nullptr;
};

/// A pool of worker threads for blocking or CPU-bound work, whose jobs are awaited from loops
/// (Node's workerpool, with threads). Jobs may be submitted from several loops at once; each
/// job's outcome returns to the loop that submitted it, with one post.
class worker_pool {
 public:
  /// Starts the workers at once: options.max_workers, or hardware_concurrency() if 0.
  explicit worker_pool(worker_pool_options options = {})
      : state_(new detail::pool_state(options)) {}
  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;
  /// terminate(true): queued jobs fail with operation_canceled, running ones are waited for.
  ~worker_pool() {
    state_->terminate(true);
    state_->release();
  }

  /// Node: pool.exec(fn, args). Runs std::invoke(fn, args...) on a worker thread, with fn
  /// and args decay-copied as by std::thread; if fn can take a std::stop_token first, it gets
  /// one, signalled when the job is cancelled or times out while running (it cannot be
  /// killed) and on terminate(true). The job keeps the calling loop alive until its outcome
  /// is delivered there. A full queue or a terminated pool fails the job (netco::errc::
  /// queue_full, std::errc::operation_canceled), never the call. Call it on a loop thread.
  template <class Fn, class... Args>
  job<typename detail::job_result<std::decay_t<Fn>, std::decay_t<Args>...>::type> exec(
      Fn&& fn, Args&&... args) {
    using F = std::decay_t<Fn>;
    static_assert(std::is_invocable_v<F, std::decay_t<Args>...> ||
                      std::is_invocable_v<F, std::stop_token, std::decay_t<Args>...>,
                  "netco::worker_pool::exec: fn must be callable with the (copied) args, "
                  "optionally preceded by a std::stop_token");
    using R = typename detail::job_result<F, std::decay_t<Args>...>::type;
    static_assert(!std::is_reference_v<R>,
                  "netco::worker_pool::exec: fn returns a reference: return a value (or a "
                  "pointer) instead");
    static_assert(std::is_void_v<R> || std::is_move_constructible_v<R>,
                  "netco::worker_pool::exec: fn's result must be movable");
    if (detail::on_worker_thread()) {
      throw std::logic_error(
          "netco::worker_pool::exec: called on a worker thread; call it on a loop thread");
    }
    loop& owner = loop::current();
    auto* j = new detail::job_impl<R, F, std::decay_t<Args>...>(
        *state_, owner, std::forward<Fn>(fn), std::forward<Args>(args)...);
    owner.ref();
    state_->submit(*j);
    return job<R>(j);
  }

  /// Node: pool.stats().
  worker_pool_stats stats() const { return state_->stats(); }

  /// Node: pool.terminate([force]). Refuses new jobs (they fail with operation_canceled) and
  /// blocks until every worker has exited: without force, after running every queued job;
  /// with force, queued jobs fail with operation_canceled and running ones get their
  /// stop_token signalled, and are waited for (a thread cannot be killed).
  void terminate(bool force = false) { state_->terminate(force); }

 private:
  detail::pool_state* state_;
};

/// The process-wide pool: hardware_concurrency() workers and an unbounded queue, started on
/// first use, terminated with force at exit.
inline worker_pool& default_worker_pool() {
  static worker_pool pool;
  return pool;
}

}  // namespace netco

#if !defined(NETCO_SEPARATE_COMPILATION)
#include "netco/impl/worker_pool.ipp"
#endif
