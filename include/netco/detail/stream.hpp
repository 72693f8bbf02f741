// netco/detail/stream.hpp: the awaiters behind netco::basic_stream and basic_acceptor, and the
// system calls that never wait (the streams themselves are in netco/stream.hpp)
#pragma once
#include <sys/socket.h>  // recv, shutdown, MSG_DONTWAIT: reads that never wait
#include <unistd.h>      // close: an accepted descriptor that cannot be adopted
#if defined(NETCO_HAS_URING)
#include <poll.h>  // POLLIN, POLLOUT: the ring's readiness waits
#endif

#include <cerrno>        // errno
#include <coroutine>     // coroutine_handle
#include <cstddef>       // byte, size_t
#include <span>          // span
#include <system_error>  // error_code
#include <type_traits>   // is_same_v: a single buffer can be sent on the ring
#include <utility>       // move

#include "netco/detail/asio.hpp"
#include "netco/detail/buffers.hpp"
#include "netco/detail/io_op.hpp"
#include "netco/loop.hpp"
#include "netco/task.hpp"

namespace netco {
template <class Protocol>
class basic_stream;
}  // namespace netco

namespace netco::detail {

// NOTE: under io_uring, netco leaves stream sockets in blocking mode. Asio's io_uring backend
// then hands each read and write to the kernel as one submission; on a socket marked
// non-blocking it first gets EAGAIN back, then submits a poll, then reads with a syscall of
// its own (two trips through the ring and a syscall per read). The synchronous fast paths
// (send_now, recv_now) ask for MSG_DONTWAIT instead of relying on the socket's mode.
#if defined(ASIO_HAS_IO_URING_AS_DEFAULT)
inline constexpr bool blocking_sockets = true;
#else
inline constexpr bool blocking_sockets = false;
#endif

/// One send that never waits: the bytes the socket buffer took (ec: would_block if none).
template <class Socket, class Buffers>
std::size_t send_now(Socket& socket, const Buffers& buffers, std::error_code& ec) {
  if constexpr (!blocking_sockets) {
    return socket.write_some(buffers, ec);  // non-blocking socket: never waits
  } else {
    asio::detail::buffer_sequence_adapter<asio::const_buffer, Buffers> bufs(buffers);
    const auto n = asio::detail::socket_ops::send(socket.native_handle(), bufs.buffers(),
                                                  bufs.count(), MSG_DONTWAIT, ec);
    return n < 0 ? 0 : static_cast<std::size_t>(n);
  }
}

/// One receive that never waits: the byte count (ec: would_block if none, eof at the end).
template <class Socket>
std::size_t recv_now(Socket& socket, std::span<std::byte> buffer, std::error_code& ec) {
  if constexpr (!blocking_sockets) {
    return socket.read_some(asio::buffer(buffer.data(), buffer.size()), ec);
  } else {
    const auto n = ::recv(socket.native_handle(), buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (n > 0) {
      ec.clear();
      return static_cast<std::size_t>(n);
    }
    ec = n == 0 ? std::error_code(asio::error::eof)
                : std::error_code(errno, asio::error::get_system_category());
    return 0;
  }
}

template <class Socket>
class [[nodiscard]] read_awaiter : io_awaiter_base {
 public:
  read_awaiter(loop& owner, Socket& socket, bool& at_eof, std::span<std::byte> buffer,
               std::error_code* out)
      : io_awaiter_base(owner, out), socket_(socket), at_eof_(at_eof), buffer_(buffer) {}

  bool await_ready() const noexcept { return buffer_.empty() || at_eof_; }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    if (!prepare(h)) return false;
#if defined(NETCO_HAS_URING)
    if (uring* r = state_.owner->ring()) {
      start_on_ring(*r, [this](io_uring_sqe* sqe) {
        io_uring_prep_recv(sqe, socket_.native_handle(), buffer_.data(), buffer_.size(), 0);
      });
      return true;
    }
#endif
    // Asio reads speculatively first unless its last read drained the socket, so a read costs
    // one syscall whether the data is already there or not.
    cancellation_.start(state_, [this](auto&& handler) {
      socket_.async_read_some(asio::buffer(buffer_.data(), buffer_.size()), std::move(handler));
    });
    return true;
  }
  std::size_t await_resume() {
#if defined(NETCO_HAS_URING)
    // A ring read that returned 0 is the end of the stream.
    if (!state_.ec && state_.value == 0 && state_.owner->ring()) state_.ec = asio::error::eof;
#endif
    if (at_eof_ || state_.ec == asio::error::eof) {  // EOF is a result, not an error
      // NOTE: after a read that returned EOF, Asio 1.22's epoll reactor stops reading
      // speculatively and waits for an edge that never comes, so a second read would hang.
      // Once the peer has ended, no more data can arrive: later reads return 0 at once.
      at_eof_ = true;
      if (out_) out_->clear();
      return 0;
    }
    deliver_error(state_.ec, out_);
    return state_.ec ? 0 : state_.value;
  }

 private:
  Socket& socket_;
  bool& at_eof_;
  std::span<std::byte> buffer_;
};

template <class Socket, class Buffers>
class [[nodiscard]] write_awaiter : io_awaiter_base {
 public:
  write_awaiter(loop& owner, Socket& socket, Buffers buffers, std::error_code* out)
      : io_awaiter_base(owner, out), socket_(socket), buffers_(buffers) {}

  bool await_ready() const noexcept { return buffers_.size() == 0; }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    if (!prepare(h)) return false;
#if defined(NETCO_HAS_URING)
    if constexpr (std::is_same_v<Buffers, single_buffer>) {
      if (uring* r = state_.owner->ring(); r && r->sends_on_ring()) {
        // The send goes to the kernel with the loop's next wait, in one call with the rest.
        ring_op_.retry = &sent_part;
        ring_op_.context = this;
        start_on_ring(*r, [this](io_uring_sqe* sqe) { prep_send(sqe); });
        return true;
      }
    }
#endif
    // Most writes fit in the socket buffer: write at once and skip the trip through the loop.
    // The socket is non-blocking, so this never waits.
    const std::size_t total = buffers_.size();
    written_ = send_now(socket_, buffers_.asio_buffers(), state_.ec);
    if (written_ == total || (state_.ec && state_.ec != asio::error::would_block)) return false;
    state_.ec.clear();
    buffers_.consume(written_);
#if defined(NETCO_HAS_URING)
    if (uring* r = state_.owner->ring()) {
      // Waits until the socket takes more, then sends what it takes, until all is sent.
      ring_op_.retry = &send_more;
      ring_op_.context = this;
      start_on_ring(*r, [this](io_uring_sqe* sqe) { prep_wait_writable(sqe); });
      return true;
    }
#endif
    cancellation_.start(state_, [this](auto&& handler) {
      asio::async_write(socket_, buffers_.asio_buffers(), std::move(handler));
    });
    return true;
  }
  /// The bytes written: all of them unless the write failed.
  std::size_t await_resume() {
    deliver_error(state_.ec, out_);
    return written_ + state_.value;
  }

 private:
#if defined(NETCO_HAS_URING)
  void prep_wait_writable(io_uring_sqe* sqe) {
    io_uring_prep_poll_add(sqe, socket_.native_handle(), POLLOUT);
  }
  // The ring said writable (or failed): send; true while more is left and it waits again.
  static bool send_more(uring_wait_op* op, int result) {
    auto* self = static_cast<write_awaiter*>(op->context);
    if (result < 0) return false;  // the wait failed (cancelled): that is the write's result
    std::error_code ec;
    const std::size_t n = send_now(self->socket_, self->buffers_.asio_buffers(), ec);
    if (ec && ec != asio::error::would_block) {
      self->state_.value = 0;
      op->retry = nullptr;
      complete_with(op, ec);
      return true;
    }
    self->written_ += n;
    self->buffers_.consume(n);
    if (self->buffers_.size() == 0) {
      op->retry = nullptr;
      complete_with(op, {});
      return true;
    }
    io_uring_sqe* sqe = op->ring->entry();
    self->prep_wait_writable(sqe);
    op->ring->queue(sqe, op);
    return true;
  }
  void prep_send(io_uring_sqe* sqe) {
    const asio::const_buffer& rest = *buffers_.begin();
    io_uring_prep_send(sqe, socket_.native_handle(), rest.data(), rest.size(), MSG_NOSIGNAL);
  }
  // A ring send completed: true while part is left, sent again.
  static bool sent_part(uring_wait_op* op, int result) {
    if (result < 0) return false;  // failed: that is the write's result
    auto* self = static_cast<write_awaiter*>(op->context);
    self->written_ += static_cast<std::size_t>(result);
    self->buffers_.consume(static_cast<std::size_t>(result));
    op->retry = nullptr;
    if (self->buffers_.size() == 0 || result == 0) {  // (nothing taken: the peer is gone)
      complete_with(op,
                    result == 0 ? std::make_error_code(std::errc::broken_pipe) : std::error_code());
      return true;
    }
    op->retry = &sent_part;
    io_uring_sqe* sqe = op->ring->entry();
    self->prep_send(sqe);
    op->ring->queue(sqe, op);
    return true;
  }
  // Ends the write with ec (0 more bytes: written_ counts them), resuming the coroutine.
  static void complete_with(uring_wait_op* op, std::error_code ec) {
    uring_wait_op::complete(op, ec ? -ec.value() : 0, 0);
  }
#endif

  Socket& socket_;
  Buffers buffers_;
  std::size_t written_ = 0;
};

template <class Socket>
class [[nodiscard]] wait_awaiter : io_awaiter_base {
 public:
  /// counted: false for a wait whose caller holds (or, unref()'d, does not hold) a loop
  /// reference of its own, as a net::socket's pending read does.
  wait_awaiter(loop& owner, Socket& socket, typename Socket::wait_type what, std::error_code* out,
               bool counted = true)
      : io_awaiter_base(owner, out), socket_(socket), what_(what) {
    state_.counted = counted;
  }
  bool await_ready() const noexcept { return false; }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    if (!prepare(h)) return false;
#if defined(NETCO_HAS_URING)
    if (uring* r = state_.owner->ring()) {
      const unsigned events = what_ == Socket::wait_read ? POLLIN : POLLOUT;
      start_on_ring(*r, [this, events](io_uring_sqe* sqe) {
        io_uring_prep_poll_add(sqe, socket_.native_handle(), events);
      });
      return true;
    }
#endif
    cancellation_.start(state_,
                        [this](auto&& handler) { socket_.async_wait(what_, std::move(handler)); });
    return true;
  }
  void await_resume() { deliver_error(state_.ec, out_); }

 private:
  Socket& socket_;
  typename Socket::wait_type what_;
};

template <class Socket>
class [[nodiscard]] connect_awaiter : io_awaiter_base {
 public:
  using endpoint_type = typename Socket::endpoint_type;
  connect_awaiter(loop& owner, Socket& socket, endpoint_type peer, std::error_code* out)
      : io_awaiter_base(owner, out), socket_(socket), peer_(std::move(peer)) {}
  bool await_ready() const noexcept { return false; }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    if (!prepare(h)) return false;
#if defined(NETCO_HAS_URING)
    if (uring* r = state_.owner->ring()) return connect_on_ring(*r);
#endif
    cancellation_.start(
        state_, [this](auto&& handler) { socket_.async_connect(peer_, std::move(handler)); });
    return true;
  }
  void await_resume() {
#if defined(NETCO_HAS_URING)
    if (!state_.ec && state_.owner->ring()) {  // writable: the connect's outcome is SO_ERROR
      int error = 0;
      socklen_t size = sizeof(error);
      if (::getsockopt(socket_.native_handle(), SOL_SOCKET, SO_ERROR, &error, &size) != 0) {
        error = errno;
      }
      if (error) state_.ec = std::error_code(error, std::system_category());
    }
#endif
    deliver_error(state_.ec, out_);
  }

 private:
#if defined(NETCO_HAS_URING)
  // As Asio's async_connect: opens the socket if needed, connects without waiting, and waits
  // for writability when the connection is in progress.
  bool connect_on_ring(uring& r) {
    if (!socket_.is_open()) {
      socket_.open(peer_.protocol(), state_.ec);
      if (state_.ec) return false;
    }
    socket_.non_blocking(true, state_.ec);
    if (state_.ec) return false;
    if (::connect(socket_.native_handle(), peer_.data(), static_cast<socklen_t>(peer_.size())) ==
        0) {
      return false;
    }
    if (errno != EINPROGRESS) {
      state_.ec = std::error_code(errno, std::system_category());
      return false;
    }
    start_on_ring(r, [this](io_uring_sqe* sqe) {
      io_uring_prep_poll_add(sqe, socket_.native_handle(), POLLOUT);
    });
    return true;
  }
#endif

  Socket& socket_;
  endpoint_type peer_;
};

/// SO_KEEPALIVE's idle time before the first probe, as an Asio socket option.
struct keep_alive_idle {
  int seconds;
  template <class Protocol>
  int level(const Protocol&) const noexcept {
    return IPPROTO_TCP;
  }
  template <class Protocol>
  int name(const Protocol&) const noexcept {
#if defined(TCP_KEEPIDLE)
    return TCP_KEEPIDLE;
#elif defined(TCP_KEEPALIVE)
    return TCP_KEEPALIVE;  // macOS
#endif
  }
  template <class Protocol>
  const int* data(const Protocol&) const noexcept {
    return &seconds;
  }
  template <class Protocol>
  std::size_t size(const Protocol&) const noexcept {
    return sizeof(seconds);
  }
};

/// Closes a listening socket (an Asio acceptor) of owner's loop.
template <class Acceptor>
void close_listening(loop& owner, Acceptor& a) noexcept {
  if (!a.is_open()) return;
#if defined(NETCO_HAS_URING)
  // As a stream's: a pending accept on the ring would hold the socket open past close().
  if (uring* r = owner.ring()) r->cancel_descriptor(a.native_handle());
#else
  (void)owner;
#endif
#if defined(ASIO_HAS_IO_URING)
  // NOTE: io_uring: a pending accept holds the listening socket open past close(), and its
  // cancellation is still in flight when a new listener takes the same descriptor number (whose
  // first connection was then lost); shutting the socket down first ends that accept at once.
  ::shutdown(a.native_handle(), SHUT_RDWR);
#endif
  std::error_code ignored;
  a.close(ignored);
}

template <class Protocol>
class [[nodiscard]] accept_awaiter : io_awaiter_base {
 public:
  using acceptor_type = asio::basic_socket_acceptor<Protocol, executor>;
  accept_awaiter(loop& owner, acceptor_type& acceptor, std::error_code* out)
      : io_awaiter_base(owner, out), acceptor_(acceptor), peer_(owner.context()) {}
  bool await_ready() const noexcept { return false; }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    if (!prepare(h)) return false;
#if defined(NETCO_HAS_URING)
    if (uring* r = state_.owner->ring()) {
      // A wait for a connection, then accept4(): an accept submitted to the ring would take
      // its descriptor limit (RLIMIT_NOFILE) at submission, not when a connection comes.
      ring_op_.retry = &accept_now;
      ring_op_.context = this;
      start_on_ring(*r, [this](io_uring_sqe* sqe) { prep_wait(sqe); });
      return true;
    }
#endif
    cancellation_.start(
        state_, [this](auto&& handler) { acceptor_.async_accept(peer_, std::move(handler)); });
    return true;
  }
  /// The new connection; with the error_code form, a closed stream on failure.
  netco::basic_stream<Protocol> await_resume() {
#if defined(NETCO_HAS_URING)
    if (!state_.ec && state_.owner->ring()) {  // the ring's result is the new descriptor
      const int fd = static_cast<int>(state_.value);
      const auto protocol = acceptor_.local_endpoint(state_.ec).protocol();
      if (!state_.ec) peer_.assign(protocol, fd, state_.ec);
      if (state_.ec) ::close(fd);
    }
#endif
#if defined(ASIO_HAS_IO_URING)
    // close_listening() shut the socket down first: the kernel ends the accept with EINVAL.
    if (normalize(state_.ec) == std::errc::invalid_argument)
      state_.ec = asio::error::operation_aborted;
#endif
    deliver_error(state_.ec, out_);
    return {*state_.owner, std::move(peer_)};
  }

 private:
#if defined(NETCO_HAS_URING)
  void prep_wait(io_uring_sqe* sqe) {
    io_uring_prep_poll_add(sqe, acceptor_.native_handle(), POLLIN);
  }
  // Readable (or failed): accept; true when it waits again (another thread's accept won).
  static bool accept_now(uring_wait_op* op, int result) {
    if (result < 0) return false;  // the wait failed (cancelled): that is the accept's result
    auto* self = static_cast<accept_awaiter*>(op->context);
    const int fd =
        ::accept4(self->acceptor_.native_handle(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      io_uring_sqe* sqe = op->ring->entry();
      self->prep_wait(sqe);
      op->ring->queue(sqe, op);
      return true;
    }
    op->retry = nullptr;
    uring_wait_op::complete(op, fd < 0 ? -errno : fd, 0);
    return true;
  }
#endif

  acceptor_type& acceptor_;
  typename netco::basic_stream<Protocol>::socket_type peer_;
};

}  // namespace netco::detail
