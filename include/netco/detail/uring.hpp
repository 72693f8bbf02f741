// netco/detail/uring.hpp: netco's io_uring engine (Linux): one ring per loop carries the socket
// operations and the loop's wait; what stays on Asio's reactor (timers, signals, UDP, name
// lookups, posts) is waited for through the same ring, by polling the reactor's epoll descriptor
#pragma once
#if !defined(NETCO_HAS_URING)
#error "netco/detail/uring.hpp is the io_uring engine: build with NETCO_HAS_URING and liburing"
#endif

#include <liburing.h>     // io_uring_*: the ring
#include <poll.h>         // POLLIN: the reactor's readiness
#include <sys/epoll.h>    // epoll_ctl: sockets the ring serves leave Asio's epoll set
#include <sys/mman.h>     // mmap: the provided-buffer ring's entries
#include <sys/syscall.h>  // __NR_io_uring_register: enabling the ring
#include <unistd.h>       // syscall

#include <cerrno>        // ENOBUFS, EINTR
#include <cstddef>       // size_t
#include <cstdio>        // fprintf: why io_uring is not used, once
#include <cstdlib>       // getenv, strtoul: NETCO_URING_SEND, NETCO_URING_BUFFERS
#include <cstring>       // memcpy, strerror
#include <memory>        // unique_ptr
#include <stdexcept>     // logic_error: a ring used from two threads
#include <string_view>   // string_view
#include <system_error>  // system_error
#include <thread>        // this_thread::get_id: the ring's thread
#include <vector>        // vector: the provided buffers

#include "netco/buffer.hpp"
#include "netco/detail/asio.hpp"
#include "netco/detail/spare_blocks.hpp"

#include <asio/detail/epoll_reactor.hpp>  // the reactor whose descriptor the ring polls
#include <asio/detail/scheduler.hpp>      // Asio's handler queue, which the loop still drains
#include <asio/version.hpp>               // ASIO_VERSION: the internals are checked against it

#if !defined(ASIO_HAS_EPOLL) || defined(ASIO_HAS_IO_URING_AS_DEFAULT)
#error "netco's io_uring engine runs beside Asio's epoll reactor: not with -Dio_uring (Asio's own)"
#endif
#if ASIO_VERSION < 102200 || ASIO_VERSION >= 102300
#error "netco/detail/uring.hpp reaches into Asio 1.22's scheduler and reactor; this is another Asio"
#endif

namespace netco::detail {

// The loop decides whether to block by looking at Asio's handler queue, and arms Asio's
// wake-up (an interrupt of its reactor, which the ring sees) while it waits: both are private
// state of Asio's scheduler. An explicit instantiation may name private members; each Tag's
// friend then hands out the member pointer. Pinned to Asio 1.22 above.
template <class Tag, auto Member>
struct private_member {
  friend constexpr auto member_of(Tag) noexcept { return Member; }
};
#define NETCO_DETAIL_PRIVATE(TAG, MEMBER)          \
  struct TAG {                                     \
    friend constexpr auto member_of(TAG) noexcept; \
  };                                               \
  template struct private_member<TAG, &MEMBER>
NETCO_DETAIL_PRIVATE(scheduler_mutex, asio::detail::scheduler::mutex_);
NETCO_DETAIL_PRIVATE(scheduler_interrupted, asio::detail::scheduler::task_interrupted_);
NETCO_DETAIL_PRIVATE(scheduler_queue, asio::detail::scheduler::op_queue_);
NETCO_DETAIL_PRIVATE(scheduler_task_op, asio::detail::scheduler::task_operation_);
NETCO_DETAIL_PRIVATE(scheduler_stopped, asio::detail::scheduler::stopped_);
NETCO_DETAIL_PRIVATE(reactor_epoll_fd, asio::detail::epoll_reactor::epoll_fd_);
#undef NETCO_DETAIL_PRIVATE

/// An operation in flight on the ring; its address is the submission's user_data.
struct uring_op {
  using complete_fn = void (*)(uring_op*, int result, unsigned flags);
  using abandon_fn = void (*)(uring_op*) noexcept;
  complete_fn on_complete;
  abandon_fn on_abandon = nullptr;  // the loop is going away: let go, resume nothing
};

/// One io_uring of one loop, and the loop's run() on it.
class uring {
 public:
  /// The size of the provided buffers reads take when data is there (net::socket's default
  /// read_buffer_size), and how many the ring holds by default (NETCO_URING_BUFFERS: another
  /// power of two up to 32,768; with few, the tests reach the reads that bring their own).
  static constexpr std::size_t buffer_size = 64 * 1024;
  static constexpr unsigned default_buffer_count = 64;

  /// A ring for a loop over io, or null (and why in `why`) where io_uring is refused.
  static std::unique_ptr<uring> open(asio::io_context& io, std::string& why) {
    std::unique_ptr<uring> r(new uring(io));
    io_uring_params p{};
    p.cq_entries = 4096;
    // Submitted from one thread only (the loop's), completions run when the loop asks: no
    // interrupts of the running task. Disabled until that thread first submits.
    p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_R_DISABLED |
              IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    int rc = io_uring_queue_init_params(256, &r->ring_, &p);
    if (rc == -EINVAL) {  // before Linux 6.1: no DEFER_TASKRUN
      p = io_uring_params{};
      p.cq_entries = 4096;
      p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_R_DISABLED;
      rc = io_uring_queue_init_params(256, &r->ring_, &p);
    }
    if (rc < 0) {
      why = std::string("io_uring_setup: ") + std::strerror(-rc);
      return nullptr;
    }
    r->ring_open_ = true;
    if (const char* n = std::getenv("NETCO_URING_BUFFERS")) {
      const unsigned long count = std::strtoul(n, nullptr, 10);
      if (count > 0 && count <= 32768 && (count & (count - 1)) == 0) {
        r->buffer_count_ = static_cast<unsigned>(count);
      }
    }
    // How a coroutine's write goes out (docs/performance.md measures each): NETCO_URING_SEND=
    // ring: submitted with the loop's next wait; direct: a send() at once; auto (default): on
    // the ring when the loop turn has other completions to run, else at once.
    const char* send = std::getenv("NETCO_URING_SEND");
    const std::string_view mode = send ? send : "auto";
    r->send_mode_ = mode == "ring"     ? send_mode::ring
                    : mode == "direct" ? send_mode::direct
                                       : send_mode::automatic;
    return r;
  }

  uring(const uring&) = delete;
  uring& operator=(const uring&) = delete;
  ~uring() {
    if (!ring_open_) return;
    io_uring_queue_exit(&ring_);  // the kernel drops what is still in flight
    if (buffers_) munmap(buffers_, buffer_ring_bytes());
    for (buffer_block* b : provided_) buffer_block::release(b);  // (null ones: never enabled)
  }

  /// Whether a coroutine's single-buffer write is submitted to the ring rather than sent at
  /// once: with many operations in flight (connections), one io_uring_enter per turn then
  /// sends for all of them (cheaper per message); with few, a send() at once saves the trip
  /// through the ring.
  bool sends_on_ring() const noexcept {
    return send_mode_ == send_mode::ring ||
           (send_mode_ == send_mode::automatic && in_flight_ > busy_in_flight);
  }

  /// A submission entry to fill, then pass to queue(); the ring submits it with the next wait.
  io_uring_sqe* entry() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (!sqe) {
      submit();
      sqe = io_uring_get_sqe(&ring_);
      if (!sqe)
        throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again),
                                "io_uring: submission queue full");
    }
    return sqe;
  }
  void queue(io_uring_sqe* sqe, uring_op* op) noexcept {
    io_uring_sqe_set_data(sqe, op);
    ++in_flight_;
  }

  /// Asks the kernel to end op (it completes with -ECANCELED, or as it would have).
  void cancel(uring_op* op) {
    io_uring_sqe* sqe = entry();
    io_uring_prep_cancel(sqe, op, 0);
    io_uring_sqe_set_data(sqe, nullptr);
  }
  /// Ends every operation on fd, submitted now: the descriptor is about to be closed, and a
  /// pending operation holds the socket open past close() (it would never complete).
  void cancel_descriptor(int fd) noexcept {
    if (in_flight_ == 0) return;
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (!sqe) {
      try_submit();
      sqe = io_uring_get_sqe(&ring_);
      if (!sqe) return;
    }
    io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data(sqe, nullptr);
    try_submit();
  }

  /// A socket the ring serves leaves Asio's epoll set, where its readiness would wake the
  /// loop for nothing. Asio still owns the descriptor (and closes it).
  void leave_reactor(int fd) noexcept { ::epoll_ctl(reactor_fd_, EPOLL_CTL_DEL, fd, nullptr); }

  /// The provided-buffer group a read selects from (IOSQE_BUFFER_SELECT).
  static constexpr unsigned buffer_group = 0;

  /// The block holding a read of n bytes into provided buffer flags>>16: a short read is
  /// moved to a small block (the large one goes back to the ring), a long one hands over
  /// the large block (the ring gets a fresh one in its place). The caller owns the reference.
  buffer_block* take_read(unsigned flags, std::size_t n) {
    const unsigned id = flags >> IORING_CQE_BUFFER_SHIFT;
    buffer_block*& slot = provided_[id];
    buffer_block* out;
    if (n <= spare_blocks::small_size) {
      out = spare_blocks::take(spare_blocks::small_size);
      std::memcpy(out->data(), slot->data(), n);
    } else {
      out = slot;
      slot = spare_blocks::take(buffer_size);
    }
    provide(id);
    return out;
  }

  /// Runs the loop over io until io is stopped: ring completions, and Asio's handlers and
  /// reactor whenever they have something.
  void run(asio::io_context& io) {
    if (enabled_ && thread_ != std::this_thread::get_id()) {
      throw std::logic_error(
          "netco: a loop on the io_uring engine runs on the thread that first used it");
    }
    asio_due_ = true;
    for (;;) {
      if (asio_due_) {
        asio_due_ = false;
        io.poll();
        if (!bridge_armed_) arm_bridge();
      }
      if (!may_block()) {  // Asio has handlers queued, or was stopped
        asio_due_ = true;
        if (scheduler_stopped_now()) return;
        submit_and_get_events();
        reap();
        continue;
      }
      {
        // Disarmed before the completions run: a post they make is seen before the next
        // wait, and must not interrupt Asio's reactor (a system call) to wake the ring.
        const struct unarm {
          uring* r;
          ~unarm() { r->disarm(); }
        } waiting{this};
        submit_and_wait();
      }
      reap();
    }
  }

  /// At the loop's destruction, before its frames go: every operation in flight is cancelled
  /// and forgotten (its abandon hook releases what it holds); none resumes.
  void abandon_all() noexcept {
    if (in_flight_ == 0) return;
    if (!enabled_) {  // queued on a loop that never ran: submitted now, to be cancelled
      try {
        enable();
      } catch (...) {
        return;
      }
    }
    if (io_uring_sqe* sqe = io_uring_get_sqe(&ring_)) {
      io_uring_prep_cancel(sqe, nullptr, IORING_ASYNC_CANCEL_ANY);
      io_uring_sqe_set_data(sqe, nullptr);
    }
    for (int rounds = 0; in_flight_ > 0 && rounds < 100; ++rounds) {
      __kernel_timespec ten_ms{0, 10'000'000};
      io_uring_cqe* cqe = nullptr;
      io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ten_ms, nullptr);
      while (io_uring_peek_cqe(&ring_, &cqe) == 0) {
        auto* op = static_cast<uring_op*>(io_uring_cqe_get_data(cqe));
        const unsigned flags = cqe->flags;
        io_uring_cqe_seen(&ring_, cqe);
        if (!op) continue;
        if (!(flags & IORING_CQE_F_MORE)) --in_flight_;
        if (flags & IORING_CQE_F_BUFFER) provide(flags >> IORING_CQE_BUFFER_SHIFT);
        if (op->on_abandon) op->on_abandon(op);
      }
    }
  }

 private:
  explicit uring(asio::io_context& io)
      : scheduler_(asio::use_service<asio::detail::scheduler>(io)),
        reactor_(asio::use_service<asio::detail::epoll_reactor>(io)) {
    scheduler_.init_task();  // the reactor is the scheduler's task: an interrupt wakes it
    reactor_fd_ = reactor_.*member_of(reactor_epoll_fd{});
    bridge_.on_complete = [](uring_op* op, int, unsigned) {
      auto* self = static_cast<bridge_op*>(op);
      self->ring->bridge_armed_ = false;
      self->ring->asio_due_ = true;
    };
    bridge_.ring = this;
  }

  struct bridge_op : uring_op {
    uring* ring = nullptr;
  };

  std::size_t buffer_ring_bytes() const noexcept { return buffer_count_ * sizeof(io_uring_buf); }

  // On the loop's thread, at its first submission: the ring is bound to that thread.
  void enable() {
    // NOTE: liburing 2.3 declares io_uring_enable_rings but its library does not export it.
    if (::syscall(__NR_io_uring_register, ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0) <
        0) {
      throw std::system_error(errno, std::system_category(), "io_uring: enable");
    }
    enabled_ = true;
    thread_ = std::this_thread::get_id();
    void* mem = mmap(nullptr, buffer_ring_bytes(), PROT_READ | PROT_WRITE,
                     MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED) throw std::bad_alloc();
    buffers_ = static_cast<io_uring_buf_ring*>(mem);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<unsigned long>(mem);
    reg.ring_entries = buffer_count_;
    reg.bgid = buffer_group;
    if (int rc = io_uring_register_buf_ring(&ring_, &reg, 0); rc < 0) {
      throw std::system_error(-rc, std::system_category(), "io_uring: provided buffers");
    }
    io_uring_buf_ring_init(buffers_);
    provided_.assign(buffer_count_, nullptr);
    for (unsigned id = 0; id < buffer_count_; ++id) {
      provided_[id] = buffer_block::create(buffer_size);
      provide(id);
    }
  }
  void provide(unsigned id) noexcept {
    io_uring_buf_ring_add(buffers_, provided_[id]->data(), buffer_size,
                          static_cast<unsigned short>(id), io_uring_buf_ring_mask(buffer_count_),
                          0);
    io_uring_buf_ring_advance(buffers_, 1);
  }

  void submit() {
    if (!enabled_) enable();
    if (io_uring_sq_ready(&ring_) == 0) return;
    const int rc = io_uring_submit(&ring_);
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
      throw std::system_error(-rc, std::system_category(), "io_uring_enter");
    }
  }
  // Without waiting: submits, and runs the kernel's side of what completed (with
  // DEFER_TASKRUN that happens only when the loop enters the ring).
  void submit_and_get_events() {
    if (!enabled_) enable();
    const int rc = io_uring_submit_and_get_events(&ring_);
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
      throw std::system_error(-rc, std::system_category(), "io_uring_enter");
    }
  }
  void try_submit() noexcept {
    if (enabled_) io_uring_submit(&ring_);
  }
  void submit_and_wait() {
    if (!enabled_) enable();
    const int rc = io_uring_submit_and_wait(&ring_, 1);
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY && rc != -ETIME) {
      throw std::system_error(-rc, std::system_category(), "io_uring_enter");
    }
  }

  // Runs what completed. A completion may submit more, or throw (out of run(), as an Asio
  // handler's exception leaves io_context::run()).
  void reap() {
    io_uring_cqe* cqe = nullptr;
    while (io_uring_peek_cqe(&ring_, &cqe) == 0) {
      auto* op = static_cast<uring_op*>(io_uring_cqe_get_data(cqe));
      const int result = cqe->res;
      const unsigned flags = cqe->flags;
      io_uring_cqe_seen(&ring_, cqe);
      if (!op) continue;  // a cancellation's own completion
      if (!(flags & IORING_CQE_F_MORE)) --in_flight_;
      op->on_complete(op, result, flags);
    }
  }

  // Asio's reactor descriptor turns readable when a timer, a signal or a UDP socket has
  // something, or when another thread posts (below): one-shot, re-armed after each poll.
  void arm_bridge() {
    io_uring_sqe* sqe = entry();
    io_uring_prep_poll_add(sqe, reactor_fd_, POLLIN);
    queue(sqe, &bridge_);
    bridge_armed_ = true;
  }

  // Under Asio's lock: with nothing queued and not stopped, a post from now on interrupts the
  // reactor (as if this thread waited in it), which the bridge sees; else the loop must not
  // block.
  bool may_block() {
    using lock_type = asio::detail::conditionally_enabled_mutex::scoped_lock;
    lock_type lock(scheduler_.*member_of(scheduler_mutex{}));
    if (scheduler_.*member_of(scheduler_stopped{})) return false;
    auto& queue = scheduler_.*member_of(scheduler_queue{});
    asio::detail::operation* task = &(scheduler_.*member_of(scheduler_task_op{}));
    asio::detail::operation* front = queue.front();
    if (front && (front != task || asio::detail::op_queue_access::next(front))) return false;
    scheduler_.*member_of(scheduler_interrupted{}) = false;
    return true;
  }
  void disarm() noexcept {
    using lock_type = asio::detail::conditionally_enabled_mutex::scoped_lock;
    lock_type lock(scheduler_.*member_of(scheduler_mutex{}));
    scheduler_.*member_of(scheduler_interrupted{}) = true;
  }
  bool scheduler_stopped_now() {
    using lock_type = asio::detail::conditionally_enabled_mutex::scoped_lock;
    lock_type lock(scheduler_.*member_of(scheduler_mutex{}));
    return scheduler_.*member_of(scheduler_stopped{});
  }

  io_uring ring_{};
  bool ring_open_ = false;
  bool enabled_ = false;
  std::thread::id thread_;
  std::size_t in_flight_ = 0;
  asio::detail::scheduler& scheduler_;
  asio::detail::epoll_reactor& reactor_;
  int reactor_fd_ = -1;
  bridge_op bridge_;
  bool bridge_armed_ = false;
  bool asio_due_ = true;
  enum class send_mode : unsigned char { automatic, ring, direct };
  send_mode send_mode_ = send_mode::automatic;
  static constexpr std::size_t busy_in_flight = 8;
  io_uring_buf_ring* buffers_ = nullptr;
  unsigned buffer_count_ = default_buffer_count;
  std::vector<buffer_block*> provided_;  // by buffer id, once enabled
};

}  // namespace netco::detail
