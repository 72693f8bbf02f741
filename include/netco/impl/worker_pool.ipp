// netco/impl/worker_pool.ipp: the out-of-line parts of netco/worker_pool.hpp: inline in every
// translation unit when header-only, compiled once (by <netco/impl/src.hpp>) under
// NETCO_SEPARATE_COMPILATION
#pragma once
#include <algorithm>           // max
#include <condition_variable>  // an idle worker sleeps on its own
#include <thread>              // thread, hardware_concurrency

#include "netco/worker_pool.hpp"

namespace netco::detail {

struct pool_state::worker {
  std::thread thread;
  std::condition_variable wake;
  job_base* assigned = nullptr;  // a job handed over while idle
  worker* next_idle = nullptr;
};

NETCO_DECL pool_state::pool_state(const worker_pool_options& options)
    : max_queue_(options.max_queue_size),
      count_(options.max_workers ? options.max_workers
                                 : std::max(1u, std::thread::hardware_concurrency())),
      workers_(std::make_unique<worker[]>(count_)) {
  try {
    for (std::size_t i = 0; i < count_; ++i) {
      workers_[i].thread = std::thread([this, w = &workers_[i]] { work(*w); });
      std::lock_guard lock(mutex_);
      ++alive_;
    }
  } catch (...) {
    terminate(true);
    throw;
  }
}

NETCO_DECL pool_state::~pool_state() = default;

NETCO_DECL void pool_state::submit(job_base& j) noexcept {
  std::unique_lock lock(mutex_);
  if (terminated_) {
    lock.unlock();
    j.phase_.store(job_phase::abandoned, std::memory_order_relaxed);
    j.fail(job_canceled());
  } else if (worker* w = idle_) {
    // Straight to the worker that went idle last (its cache is warm): no queue, no herd.
    idle_ = w->next_idle;
    w->assigned = &j;
    j.phase_.store(job_phase::running, std::memory_order_relaxed);
    ++busy_;
    lock.unlock();
    w->wake.notify_one();
  } else if (queued_ >= max_queue_) {
    lock.unlock();
    j.phase_.store(job_phase::abandoned, std::memory_order_relaxed);
    j.fail(make_error_code(errc::queue_full));
  } else {
    j.prev_ = tail_;
    j.next_ = nullptr;
    (tail_ ? tail_->next_ : head_) = &j;
    tail_ = &j;
    ++queued_;
  }
}

NETCO_DECL bool pool_state::unqueue(job_base& j) noexcept {
  std::lock_guard lock(mutex_);
  if (j.phase_.load(std::memory_order_relaxed) != job_phase::queued) return false;
  unlink(j);
  j.phase_.store(job_phase::abandoned, std::memory_order_relaxed);
  return true;
}

NETCO_DECL worker_pool_stats pool_state::stats() const {
  std::lock_guard lock(mutex_);
  const std::size_t busy = busy_.load(std::memory_order_relaxed);
  return {.total_workers = alive_,
          .busy_workers = busy,
          .idle_workers = alive_ - busy,
          .pending_jobs = queued_,
          .active_jobs = busy};
}

NETCO_DECL void pool_state::terminate(bool force) {
  for (std::size_t i = 0; i < count_; ++i) {
    if (workers_[i].thread.get_id() == std::this_thread::get_id()) {
      throw std::logic_error("netco::worker_pool: terminated or destroyed by its own job");
    }
  }
  job_base* cancelled = nullptr;
  {
    std::lock_guard lock(mutex_);
    terminated_ = true;
    stopping_ = true;
    idle_ = nullptr;
    if (force) {
      cancelled = std::exchange(head_, nullptr);
      tail_ = nullptr;
      queued_ = 0;
      for (job_base* j = cancelled; j; j = j->next_) {
        j->phase_.store(job_phase::abandoned, std::memory_order_relaxed);
      }
    }
  }
  if (force) stop_.request_stop();
  for (std::size_t i = 0; i < count_; ++i) workers_[i].wake.notify_one();
  while (job_base* j = cancelled) {
    cancelled = j->next_;
    j->fail(job_canceled());
  }
  std::lock_guard join_lock(join_mutex_);
  for (std::size_t i = 0; i < count_; ++i) {
    if (workers_[i].thread.joinable()) workers_[i].thread.join();
  }
}

NETCO_DECL void pool_state::unlink(job_base& j) noexcept {
  (j.prev_ ? j.prev_->next_ : head_) = j.next_;
  (j.next_ ? j.next_->prev_ : tail_) = j.prev_;
  j.prev_ = j.next_ = nullptr;
  --queued_;
}

NETCO_DECL void pool_state::work(worker& self) {
  on_worker_thread() = true;
  const std::stop_token stop = stop_.get_token();  // copied once: no shared count per job
  std::unique_lock lock(mutex_);
  for (;;) {
    job_base* j = head_;
    if (j) {
      unlink(*j);
      j->phase_.store(job_phase::running, std::memory_order_relaxed);
      ++busy_;
    } else {
      if (stopping_) break;
      self.next_idle = idle_;
      idle_ = &self;
      while (!self.assigned && !stopping_) self.wake.wait(lock);
      j = std::exchange(self.assigned, nullptr);
      if (!j) break;
    }
    lock.unlock();  // no lock is held while a job runs
    j->run(stop);
    // Before the post, so that the loop the job returns to sees this worker idle.
    busy_.fetch_sub(1, std::memory_order_relaxed);
    j->publish();
    lock.lock();
  }
  --alive_;
}

NETCO_DECL job_base::job_base(pool_state& pool, loop& owner) noexcept
    : pool_(&pool), owner_(&owner) {
  pool.add_ref();
}
NETCO_DECL job_base::~job_base() { pool_->release(); }

NETCO_DECL bool job_base::abandon(std::error_code why) noexcept {
  job_phase phase = phase_.load(std::memory_order_acquire);
  if (phase == job_phase::queued) {
    if (pool_->unqueue(*this)) {
      fail(why);  // the queue's reference travels with the post
      return true;
    }
    phase = phase_.load(std::memory_order_acquire);
  }
  if (phase == job_phase::running &&
      phase_.compare_exchange_strong(phase, job_phase::abandoned, std::memory_order_acq_rel)) {
    request_stop();
    add_ref();  // the worker keeps its own reference and drops it when the function returns
    fail(why);
    return true;
  }
  return false;
}

NETCO_DECL void start_root(loop& owner, root_task t) {
  auto h = t.handle_;
  h.promise().owner_ = &owner;
  h.promise().link_.frame = h;
  owner.adopt(h.promise().link_);
  h.resume();
}

NETCO_DECL bool is_cancellation(const std::exception_ptr& e) noexcept {
  try {
    std::rethrow_exception(e);
  } catch (const std::system_error& x) {
    return x.code() == std::errc::operation_canceled;
  } catch (...) {
  }
  return false;
}

// Named, not local to expire_job: a coroutine frame of a function defined in a header may not
// hold types without linkage (GCC's -Wsubobject-linkage).
struct job_timer_wait {
  steady_timer& timer;
  loop& owner;
  std::error_code ec;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    owner.ref();
    timer.async_wait([this, h](const std::error_code& e) {
      ec = e;
      loop* l = &owner;
      h.resume();  // may destroy *this
      l->unref();
    });
  }
  std::error_code await_resume() const noexcept { return ec; }
};
struct job_timer_detach {
  job_base* core;
  steady_timer* timer;
  ~job_timer_detach() {
    if (core->timer_ == timer) core->timer_ = nullptr;
  }
};

NETCO_DECL root_task expire_job(job_ref<job_base> ref, std::chrono::steady_clock::duration limit) {
  steady_timer timer(ref->owner().context(), limit);
  job_timer_detach guard{ref.get(), &timer};
  ref->timer_ = &timer;
  const std::error_code ec = co_await job_timer_wait{timer, ref->owner(), {}};
  if (!ec && !ref->settled()) ref->abandon(std::make_error_code(std::errc::timed_out));
}

}  // namespace netco::detail
