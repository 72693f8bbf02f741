// netco/impl/timers.ipp: the out-of-line parts of netco/timers.hpp: inline in every translation
// unit when header-only, compiled once (by <netco/impl/src.hpp>) under NETCO_SEPARATE_COMPILATION
#pragma once
#include <chrono>         // ceil, round: wakes on whole milliseconds, fractional delays
#include <exception>      // current_exception
#include <optional>       // optional: the Asio timer, destroyed when the loop shuts down
#include <system_error>   // error_code
#include <unordered_map>  // unordered_map: id -> timeout, for clear_timeout(id)
#include <vector>         // vector: the timer heap

#include "netco/detail/io_op.hpp"
#include "netco/timers.hpp"

namespace netco::detail {

/// Every timer and immediate of one loop: a binary heap of armed timeouts (due time, then the
/// order they were armed in) driving one Asio timer, and a queue of immediates run in batches.
/// An Asio service, so it lives exactly as long as the loop's io_context and is shut down with
/// it, before Asio's own timer and reactor. Loop thread only.
class timers_service final : public asio::execution_context::service {
  using clock = std::chrono::steady_clock;

 public:
  // A plain id (not a typeid key): Asio then finds the service by comparing addresses.
  static inline asio::execution_context::id id;

  explicit timers_service(asio::io_context& context)
      : service(context), timer_(std::in_place, context), hub_(std::make_shared<timers_hub>()) {
    hub_->service = this;
    queue_.prev = queue_.next = &queue_;
  }
  timers_service(const timers_service&) = delete;
  timers_service& operator=(const timers_service&) = delete;

  /// The service of l (made on first use).
  static timers_service& of(loop& l) {
    auto& s = asio::use_service<timers_service>(l.context());
    s.owner_ = &l;  // an io_context belongs to one loop: always the same
    return s;
  }
  static timers_service* find(loop& l) {
    if (!asio::has_service<timers_service>(l.context())) return nullptr;
    return &of(l);
  }
  static timers_service* of(const timeout_state& s) noexcept {
    return s.hub ? s.hub->service : nullptr;
  }
  static timers_service* of(const immediate_state& s) noexcept {
    return s.hub ? s.hub->service : nullptr;
  }
  static const std::shared_ptr<timeout_state>& state(const timeout& t) noexcept { return t.s_; }
  static const std::shared_ptr<immediate_state>& state(const immediate& i) noexcept { return i.s_; }

  /// The run() that work armed now belongs to: this one, or (before run()) the next.
  std::uint64_t current_run() const noexcept {
    return owner_->in_loop_thread() ? owner_->runs() : owner_->runs() + 1;
  }

  // --- timeouts ---

  timeout start(std::shared_ptr<timeout_state> s, clock::duration delay, bool repeat) {
    s->hub = hub_;
    s->delay = delay;
    s->repeat = repeat;
    s->id = ++last_id_;
    timeout handle(s);
    timeout_state& t = *s;
    arm(t, std::move(s), clock::now() + delay);
    return handle;
  }

  /// Puts s in the heap (or moves it there) at `due`; keep is what the heap then owns.
  void arm(timeout_state& s, std::shared_ptr<timeout_state> keep, clock::time_point due) {
    const bool was_in_heap = s.heap_index != timeout_state::not_in_heap;
    if (was_in_heap) heap_erase(s);  // s.keep stays: it is the same state
    s.due = due;
    s.order = ++last_order_;
    s.run = current_run();
    heap_insert(s);  // first: if it throws (bad_alloc), s holds no reference to itself
    if (!was_in_heap) s.keep = std::move(keep);
    settle(s);
    schedule();
  }

  void clear(timeout_state& s) {
    if (s.cleared) return;
    s.cleared = true;
    std::shared_ptr<timeout_state> keep;  // s lives until this returns
    if (s.heap_index != timeout_state::not_in_heap) {
      heap_erase(s);
      keep = std::move(s.keep);
    }
    settle(s);
    // A running callback is destroyed once it returns (fire() does it), never under itself.
    if (!s.firing) s.release();
    // The Asio wait is left as it is: if it was for s, it wakes to find nothing due.
  }

  void clear(std::uint64_t id) {
    auto it = ids_.find(id);
    if (it != ids_.end()) clear(*it->second);
  }

  /// Takes the loop reference and the id-table entry that s should hold now.
  void settle(timeout_state& s) {
    const bool live = s.heap_index != timeout_state::not_in_heap || s.firing;
    const bool ref = live && s.refed;
    if (ref != s.holds_ref) {
      s.holds_ref = ref;
      if (ref) {
        owner_->ref();
      } else {
        owner_->unref();
      }
    }
    const bool registered = live && s.wants_id;
    if (registered != s.registered) {
      s.registered = registered;
      if (registered) {
        ids_.emplace(s.id, &s);
      } else {
        ids_.erase(s.id);
      }
    }
  }

  // --- immediates ---

  immediate start(std::shared_ptr<immediate_state> s) {
    s->hub = hub_;
    immediate handle(s);
    immediate_state& i = *s;
    i.keep = std::move(s);
    link_before(i, queue_);
    i.pending = true;
    i.run = current_run();
    settle(i);
    // While a batch runs, the next check is posted when it ends, behind what it posted.
    if (!check_posted_ && !batch_running_) post_check();
    return handle;
  }

  void clear(immediate_state& s) {
    if (s.cleared) return;
    s.cleared = true;
    std::shared_ptr<immediate_state> keep;
    if (s.pending) {
      unlink(s);
      s.pending = false;
      keep = std::move(s.keep);
    }
    settle(s);
    if (!s.running) s.release();
  }

  void settle(immediate_state& s) {
    const bool ref = (s.pending || s.running) && s.refed;
    if (ref != s.holds_ref) {
      s.holds_ref = ref;
      if (ref) {
        owner_->ref();
      } else {
        owner_->unref();
      }
    }
  }

 private:
  // --- the heap ---

  static bool before(const timeout_state& a, const timeout_state& b) noexcept {
    return a.due < b.due || (a.due == b.due && a.order < b.order);
  }
  void place(std::size_t i, timeout_state* s) noexcept {
    heap_[i] = s;
    s->heap_index = i;
  }
  void sift_up(std::size_t i) noexcept {
    timeout_state* s = heap_[i];
    while (i > 0) {
      const std::size_t parent = (i - 1) / 2;
      if (!before(*s, *heap_[parent])) break;
      place(i, heap_[parent]);
      i = parent;
    }
    place(i, s);
  }
  void sift_down(std::size_t i) noexcept {
    timeout_state* s = heap_[i];
    const std::size_t n = heap_.size();
    for (;;) {
      std::size_t child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && before(*heap_[child + 1], *heap_[child])) ++child;
      if (!before(*heap_[child], *s)) break;
      place(i, heap_[child]);
      i = child;
    }
    place(i, s);
  }
  void heap_insert(timeout_state& s) {
    heap_.push_back(&s);
    s.heap_index = heap_.size() - 1;
    sift_up(s.heap_index);
  }
  void heap_erase(timeout_state& s) noexcept {
    const std::size_t i = s.heap_index;
    s.heap_index = timeout_state::not_in_heap;
    timeout_state* last = heap_.back();
    heap_.pop_back();
    if (last == &s) return;
    place(i, last);
    if (i > 0 && before(*last, *heap_[(i - 1) / 2])) {
      sift_up(i);
    } else {
      sift_down(i);
    }
  }

  /// Makes the Asio timer wake for the earliest due time, unless a wait already wakes sooner.
  /// The wake is rounded up to a whole millisecond of the clock (Node's resolution), so that
  /// timers due within the same millisecond share one wake instead of one each.
  void schedule() {
    if (heap_.empty() || !timer_) return;
    const clock::time_point wake = std::chrono::ceil<std::chrono::milliseconds>(heap_.front()->due);
    if (wake >= armed_until_) return;
    armed_until_ = wake;
    timer_->expires_at(wake);  // ends the previous wait, whose handler then sees a newer one
    timer_->async_wait([this, wait = ++last_wait_](const std::error_code&) {
      if (wait == last_wait_) expired();
    });
  }

  /// Fires every timer due by now, in (due, order) order. One set or re-armed by these
  /// callbacks is due after now, so it waits for a later pass: the loop gets a turn first.
  void expired() {
    armed_until_ = clock::time_point::max();
    const clock::time_point now = clock::now();
    const std::uint64_t run = owner_->runs();
    while (!heap_.empty() && heap_.front()->due <= now) {
      timeout_state& s = *heap_.front();
      heap_erase(s);
      timeout hold(std::move(s.keep));  // s lives through its callback
      if (!s.refed && s.run != run) {
        // Unref'd, and the run() it belonged to has returned: Node's process would be gone.
        s.cleared = true;
        settle(s);
        s.release();
        continue;
      }
      if (!fire(s, hold)) break;  // a callback threw: the rest wait for the next turn
    }
    schedule();
  }

  /// Runs s's callback; reschedules an interval. False if the callback threw.
  bool fire(timeout_state& s, const timeout& hold) {
    s.firing = true;
    // Node schedules an interval's next call from the start of this one.
    const clock::time_point started = s.repeat ? clock::now() : clock::time_point();
    bool threw = false;
    try {
      s.invoke(hold);
    } catch (...) {
      threw = true;
      owner_->report(std::current_exception());
    }
    s.firing = false;
    if (s.cleared) {
      s.release();  // cleared by its own callback
    } else if (s.repeat && !threw && s.heap_index == timeout_state::not_in_heap) {
      s.due = started + s.delay;
      s.order = ++last_order_;
      s.run = owner_->runs();
      heap_insert(s);
      s.keep = state(hold);
    }
    settle(s);
    return !threw;
  }

  // --- the immediate queue ---

  static void link_before(immediate_links& n, immediate_links& at) noexcept {
    n.next = &at;
    n.prev = at.prev;
    at.prev->next = &n;
    at.prev = &n;
  }
  static void unlink(immediate_links& n) noexcept {
    n.prev->next = n.next;
    n.next->prev = n.prev;
    n.prev = n.next = nullptr;
  }
  /// Moves every node of `from` to the front of `to` (both circular lists with a head node).
  static void splice_front(immediate_links& from, immediate_links& to) noexcept {
    if (from.next == &from) return;
    immediate_links* first = from.next;
    immediate_links* last = from.prev;
    last->next = to.next;
    to.next->prev = last;
    to.next = first;
    first->prev = &to;
    from.prev = from.next = &from;
  }

  void post_check() {
    owner_->post([this] { run_immediates(); });
    check_posted_ = true;  // after: if post() throws (bad_alloc), the next start() posts again
  }

  /// Node's check phase: runs the immediates queued before it started, in order; those they
  /// queue run on the next turn, behind what is ready by then.
  void run_immediates() {
    check_posted_ = false;
    immediate_links batch;
    batch.prev = batch.next = &batch;
    splice_front(queue_, batch);
    batch_running_ = true;
    const std::uint64_t run = owner_->runs();
    while (batch.next != &batch) {
      auto& s = static_cast<immediate_state&>(*batch.next);
      unlink(s);
      s.pending = false;
      const std::shared_ptr<immediate_state> hold = std::move(s.keep);
      if (!s.refed && s.run != run) {  // as for timeouts: its run() has returned
        s.cleared = true;
        settle(s);
        s.release();
        continue;
      }
      s.running = true;
      bool threw = false;
      try {
        s.invoke();
      } catch (...) {
        threw = true;
        owner_->report(std::current_exception());
      }
      s.running = false;
      s.release();
      settle(s);
      if (threw) break;
    }
    splice_front(batch, queue_);  // after a throw: the rest go first on the next turn
    batch_running_ = false;
    if (queue_.next != &queue_) post_check();
  }

  // --- the loop going away ---

  void shutdown() override {
    hub_->service = nullptr;  // from now on, handles find no service
    timer_.reset();
    // Unhook everything first, then destroy the callbacks: their destructors may use handles.
    std::vector<std::shared_ptr<timeout_state>> timeouts;
    timeouts.reserve(heap_.size());
    for (timeout_state* s : heap_) {
      s->heap_index = timeout_state::not_in_heap;
      s->holds_ref = s->registered = false;
      s->cleared = true;
      timeouts.push_back(std::move(s->keep));
    }
    heap_.clear();
    ids_.clear();
    std::vector<std::shared_ptr<immediate_state>> immediates;
    while (queue_.next != &queue_) {
      auto& s = static_cast<immediate_state&>(*queue_.next);
      unlink(s);
      s.pending = s.holds_ref = false;
      s.cleared = true;
      immediates.push_back(std::move(s.keep));
    }
    for (auto& s : timeouts) s->release();
    for (auto& s : immediates) s->release();
  }

  loop* owner_ = nullptr;
  std::optional<steady_timer> timer_;
  std::shared_ptr<timers_hub> hub_;
  std::vector<timeout_state*> heap_;
  std::unordered_map<std::uint64_t, timeout_state*> ids_;     // only timeouts whose id() was asked
  clock::time_point armed_until_ = clock::time_point::max();  // when the pending wait wakes
  std::uint64_t last_wait_ = 0;
  std::uint64_t last_order_ = 0;
  std::uint64_t last_id_ = 0;
  immediate_links queue_;
  bool check_posted_ = false;
  bool batch_running_ = false;
};

NETCO_DECL std::chrono::steady_clock::duration timeout_delay_ms(double ms) noexcept {
  if (!(ms >= 1 && ms <= 2147483647.0)) ms = 1;  // Node's TIMEOUT_MAX; NaN fails both
  return std::chrono::round<std::chrono::steady_clock::duration>(
      std::chrono::duration<double, std::milli>(ms));
}

NETCO_DECL timeout start_timeout(std::shared_ptr<timeout_state> s,
                                 std::chrono::steady_clock::duration delay, bool repeat) {
  return timers_service::of(loop::current()).start(std::move(s), delay, repeat);
}

NETCO_DECL immediate start_immediate(std::shared_ptr<immediate_state> s) {
  return timers_service::of(loop::current()).start(std::move(s));
}

}  // namespace netco::detail

namespace netco {

NETCO_DECL const timeout& timeout::ref() const {
  if (!s_) return *this;
  s_->refed = true;
  if (auto* service = detail::timers_service::of(*s_)) service->settle(*s_);
  return *this;
}

NETCO_DECL const timeout& timeout::unref() const {
  if (!s_) return *this;
  s_->refed = false;
  if (auto* service = detail::timers_service::of(*s_)) {
    s_->run = service->current_run();
    service->settle(*s_);
  }
  return *this;
}

NETCO_DECL const timeout& timeout::refresh() const {
  if (!s_ || s_->cleared) return *this;
  if (auto* service = detail::timers_service::of(*s_)) {
    service->arm(*s_, s_, std::chrono::steady_clock::now() + s_->delay);
  }
  return *this;
}

NETCO_DECL const timeout& timeout::close() const {
  if (!s_) return *this;
  if (auto* service = detail::timers_service::of(*s_)) {
    service->clear(*s_);
  } else if (!s_->cleared) {  // its loop is gone: only the callback is left to drop
    s_->cleared = true;
    if (!s_->firing) s_->release();
  }
  return *this;
}

NETCO_DECL std::uint64_t timeout::id() const {
  if (!s_) return 0;
  if (!s_->wants_id) {
    s_->wants_id = true;
    if (auto* service = detail::timers_service::of(*s_)) service->settle(*s_);
  }
  return s_->id;
}

NETCO_DECL const immediate& immediate::ref() const {
  if (!s_) return *this;
  s_->refed = true;
  if (auto* service = detail::timers_service::of(*s_)) service->settle(*s_);
  return *this;
}

NETCO_DECL const immediate& immediate::unref() const {
  if (!s_) return *this;
  s_->refed = false;
  if (auto* service = detail::timers_service::of(*s_)) {
    s_->run = service->current_run();
    service->settle(*s_);
  }
  return *this;
}

NETCO_DECL void clear_timeout(const timeout& t) { t.close(); }

NETCO_DECL void clear_timeout(std::uint64_t id) {
  if (auto* service = detail::timers_service::find(loop::current())) service->clear(id);
}

NETCO_DECL void clear_immediate(const immediate& i) {
  const auto& s = detail::timers_service::state(i);
  if (!s) return;
  if (auto* service = detail::timers_service::of(*s)) {
    service->clear(*s);
  } else if (!s->cleared) {
    s->cleared = true;
    if (!s->running) s->release();
  }
}

}  // namespace netco
