// netco/detail/stream.hpp: the awaitable stream and acceptor that tcp and local share
#pragma once
#include <sys/socket.h>  // shutdown: a listening socket under io_uring

#include <cerrno>        // errno
#include <coroutine>     // coroutine_handle
#include <cstddef>       // byte, size_t
#include <cstdint>       // uint16_t
#include <filesystem>    // remove: a Unix-domain acceptor removes its socket file
#include <span>          // span
#include <string>        // string
#include <string_view>   // string_view
#include <system_error>  // error_code
#include <type_traits>   // is_same_v
#include <utility>       // move

#include <sys/socket.h>  // recv, MSG_DONTWAIT: reads that never wait, whatever the socket's mode

#include "netco/detail/asio.hpp"
#include "netco/detail/buffers.hpp"
#include "netco/detail/io_op.hpp"
#include "netco/loop.hpp"
#include "netco/task.hpp"

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
    // Asio reads speculatively first unless its last read drained the socket, so a read costs
    // one syscall whether the data is already there or not.
    cancellation_.start(state_, [this](auto&& handler) {
      socket_.async_read_some(asio::buffer(buffer_.data(), buffer_.size()), std::move(handler));
    });
    return true;
  }
  std::size_t await_resume() {
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
    // Most writes fit in the socket buffer: write at once and skip the trip through the loop.
    // The socket is non-blocking, so this never waits.
    const std::size_t total = buffers_.size();
    written_ = send_now(socket_, buffers_.asio_buffers(), state_.ec);
    if (written_ == total || (state_.ec && state_.ec != asio::error::would_block)) return false;
    state_.ec.clear();
    buffers_.consume(written_);
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
  Socket& socket_;
  Buffers buffers_;
  std::size_t written_ = 0;
};

template <class Socket>
class [[nodiscard]] wait_awaiter : io_awaiter_base {
 public:
  wait_awaiter(loop& owner, Socket& socket, typename Socket::wait_type what, std::error_code* out)
      : io_awaiter_base(owner, out), socket_(socket), what_(what) {}
  bool await_ready() const noexcept { return false; }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    if (!prepare(h)) return false;
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
    cancellation_.start(
        state_, [this](auto&& handler) { socket_.async_connect(peer_, std::move(handler)); });
    return true;
  }
  void await_resume() { deliver_error(state_.ec, out_); }

 private:
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

/// A connected byte stream (TCP or Unix-domain). Move-only; one reader and one writer at a
/// time. Every operation resumes on the loop the stream belongs to.
template <class Protocol>
class basic_stream {
 public:
  using protocol_type = Protocol;
  using socket_type = asio::basic_stream_socket<Protocol, executor>;
  using endpoint_type = typename Protocol::endpoint;
  static constexpr bool is_tcp = std::is_same_v<Protocol, asio::ip::tcp>;

  basic_stream(loop& owner, socket_type socket) : owner_(&owner), socket_(std::move(socket)) {
    if constexpr (!blocking_sockets) {
      std::error_code ignored;
      socket_.non_blocking(true, ignored);  // the write fast path depends on it
    }
  }
  basic_stream(basic_stream&& other) noexcept
      : owner_(other.owner_), socket_(std::move(other.socket_)), at_eof_(other.at_eof_) {}
  basic_stream& operator=(basic_stream&& other) noexcept {
    owner_ = other.owner_;
    socket_ = std::move(other.socket_);
    at_eof_ = other.at_eof_;
    return *this;
  }

  /// Reads what is there, up to buffer.size() bytes, waiting for at least one. Returns 0 only
  /// at EOF (the peer ended) or for an empty buffer. Throws std::system_error on failure.
  read_awaiter<socket_type> read_some(std::span<std::byte> buffer) {
    return {*owner_, socket_, at_eof_, buffer, nullptr};
  }
  /// As above; a failure is stored in ec (cleared on success) and 0 is returned.
  read_awaiter<socket_type> read_some(std::span<std::byte> buffer, std::error_code& ec) {
    return {*owner_, socket_, at_eof_, buffer, &ec};
  }
  read_awaiter<socket_type> read_some(std::span<char> buffer) {
    return read_some(std::as_writable_bytes(buffer));
  }
  read_awaiter<socket_type> read_some(std::span<char> buffer, std::error_code& ec) {
    return read_some(std::as_writable_bytes(buffer), ec);
  }

  /// Fills buffer. Returns buffer.size(), or fewer bytes only if the peer ended first.
  task<std::size_t> read_exact(std::span<std::byte> buffer) {
    std::size_t total = 0;
    while (total < buffer.size()) {
      const std::size_t n = co_await read_some(buffer.subspan(total));
      if (n == 0) break;
      total += n;
    }
    co_return total;
  }
  task<std::size_t> read_exact(std::span<std::byte> buffer, std::error_code& ec) {
    std::size_t total = 0;
    ec.clear();
    while (total < buffer.size()) {
      const std::size_t n = co_await read_some(buffer.subspan(total), ec);
      if (n == 0) break;
      total += n;
    }
    co_return total;
  }

  /// Writes all of bytes (a short write is continued, never returned). Returns the count.
  /// Throws std::system_error on failure (EPIPE, ECONNRESET; never SIGPIPE).
  write_awaiter<socket_type, single_buffer> write_all(std::span<const std::byte> bytes) {
    return {*owner_, socket_, single_buffer(bytes), nullptr};
  }
  write_awaiter<socket_type, single_buffer> write_all(std::span<const std::byte> bytes,
                                                      std::error_code& ec) {
    return {*owner_, socket_, single_buffer(bytes), &ec};
  }
  write_awaiter<socket_type, single_buffer> write_all(std::string_view text) {
    return write_all(std::as_bytes(std::span(text.data(), text.size())));
  }
  write_awaiter<socket_type, single_buffer> write_all(std::string_view text, std::error_code& ec) {
    return write_all(std::as_bytes(std::span(text.data(), text.size())), ec);
  }
  /// Gather form: all buffers, in order, with as few writev calls as the kernel allows. The
  /// span of spans must stay alive until the write completes.
  write_awaiter<socket_type, gather_buffers> write_all(
      std::span<const std::span<const std::byte>> buffers) {
    return {*owner_, socket_, gather_buffers(buffers), nullptr};
  }
  write_awaiter<socket_type, gather_buffers> write_all(
      std::span<const std::span<const std::byte>> buffers, std::error_code& ec) {
    return {*owner_, socket_, gather_buffers(buffers), &ec};
  }

  /// Waits until the socket is readable / writable, without transferring data.
  wait_awaiter<socket_type> wait_readable() {
    return {*owner_, socket_, socket_type::wait_read, nullptr};
  }
  wait_awaiter<socket_type> wait_writable() {
    return {*owner_, socket_, socket_type::wait_write, nullptr};
  }

  /// Reads what is there now, without waiting: the byte count, or 0 with ec set to
  /// std::errc::operation_would_block when nothing is there yet, or 0 with ec clear at EOF.
  /// With wait_readable() or a small read_some, it lets a connection read into a buffer it
  /// does not own (loop::scratch()), so an idle connection needs no read buffer.
  std::size_t try_read_some(std::span<std::byte> buffer, std::error_code& ec) {
    ec.clear();
    if (buffer.empty() || at_eof_) return 0;
    const std::size_t n = recv_now(socket_, buffer, ec);
    if (ec == asio::error::eof) {
      at_eof_ = true;
      ec.clear();
    }
    ec = normalize(ec);
    return n;
  }
  /// Writes what the socket buffer takes now, without waiting: the byte count, possibly 0
  /// (ec stays clear: a full socket buffer is no error); ec is set only on failure.
  std::size_t try_write_some(std::span<const std::span<const std::byte>> buffers,
                             std::error_code& ec) {
    gather_buffers pending(buffers);
    const std::size_t n = send_now(socket_, pending.asio_buffers(), ec);
    if (ec == asio::error::would_block) ec.clear();
    ec = normalize(ec);
    return n;
  }
  std::size_t try_write_some(std::span<const std::byte> bytes, std::error_code& ec) {
    const std::size_t n = send_now(socket_, asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec == asio::error::would_block) ec.clear();
    ec = normalize(ec);
    return n;
  }

  /// Half-close: sends FIN after the data already written; reading goes on.
  void shutdown_send() {
    std::error_code ec;
    shutdown_send(ec);
    throw_if(ec, "shutdown");
  }
  void shutdown_send(std::error_code& ec) {
    socket_.shutdown(socket_type::shutdown_send, ec);
    ec = normalize(ec);
  }

  /// Closes the socket; pending operations complete with std::errc::operation_canceled.
  void close() noexcept {
    std::error_code ignored;
    socket_.close(ignored);
  }
  /// Closes with RST instead of FIN (SO_LINGER 0), as Node's resetAndDestroy().
  void reset() noexcept {
    std::error_code ignored;
    socket_.set_option(asio::socket_base::linger(true, 0), ignored);
    socket_.close(ignored);
  }
  bool is_open() const noexcept { return socket_.is_open(); }

  endpoint_type local_endpoint() const {
    std::error_code ec;
    endpoint_type e = local_endpoint(ec);
    throw_if(ec, "local_endpoint");
    return e;
  }
  endpoint_type local_endpoint(std::error_code& ec) const {
    endpoint_type e = socket_.local_endpoint(ec);
    ec = normalize(ec);
    return e;
  }
  endpoint_type remote_endpoint() const {
    std::error_code ec;
    endpoint_type e = remote_endpoint(ec);
    throw_if(ec, "remote_endpoint");
    return e;
  }
  endpoint_type remote_endpoint(std::error_code& ec) const {
    endpoint_type e = socket_.remote_endpoint(ec);
    ec = normalize(ec);
    return e;
  }

  /// TCP_NODELAY: send small writes at once instead of coalescing them (Nagle).
  void set_no_delay(bool enable = true) requires is_tcp {
    std::error_code ec;
    socket_.set_option(asio::ip::tcp::no_delay(enable), ec);
    throw_if(ec, "set_no_delay");
  }
  /// SO_KEEPALIVE, and the idle time before the first probe when initial_delay is positive.
  void set_keep_alive(bool enable = true, int initial_delay_seconds = 0) requires is_tcp {
    std::error_code ec;
    socket_.set_option(asio::socket_base::keep_alive(enable), ec);
    if (!ec && enable && initial_delay_seconds > 0) {
      socket_.set_option(keep_alive_idle{initial_delay_seconds}, ec);
    }
    throw_if(ec, "set_keep_alive");
  }

  /// The Asio socket underneath, for what netco does not wrap.
  socket_type& asio_socket() noexcept { return socket_; }
  loop& owner() const noexcept { return *owner_; }

 private:
  loop* owner_;
  socket_type socket_;
  bool at_eof_ = false;  // the peer ended: reads return 0 without asking the reactor
};

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
    cancellation_.start(
        state_, [this](auto&& handler) { acceptor_.async_accept(peer_, std::move(handler)); });
    return true;
  }
  /// The new connection; with the error_code form, a closed stream on failure.
  basic_stream<Protocol> await_resume() {
#if defined(ASIO_HAS_IO_URING)
    // close_listening() shut the socket down first: the kernel ends the accept with EINVAL.
    if (normalize(state_.ec) == std::errc::invalid_argument)
      state_.ec = asio::error::operation_aborted;
#endif
    deliver_error(state_.ec, out_);
    return {*state_.owner, std::move(peer_)};
  }

 private:
  acceptor_type& acceptor_;
  typename basic_stream<Protocol>::socket_type peer_;
};

/// Closes a listening socket (an Asio acceptor).
template <class Acceptor>
void close_listening(Acceptor& a) noexcept {
  if (!a.is_open()) return;
#if defined(ASIO_HAS_IO_URING)
  // NOTE: io_uring: a pending accept holds the listening socket open past close(), and its
  // cancellation is still in flight when a new listener takes the same descriptor number (whose
  // first connection was then lost); shutting the socket down first ends that accept at once.
  ::shutdown(a.native_handle(), SHUT_RDWR);
#endif
  std::error_code ignored;
  a.close(ignored);
}

/// A listening socket. Move-only. Closing it completes a pending accept with
/// std::errc::operation_canceled; a Unix-domain acceptor also removes the file it created.
template <class Protocol>
class basic_acceptor {
 public:
  using stream_type = basic_stream<Protocol>;
  using acceptor_type = asio::basic_socket_acceptor<Protocol, executor>;
  using endpoint_type = typename Protocol::endpoint;

  /// A closed acceptor on owner's loop, to open, bind and listen through asio_acceptor().
  explicit basic_acceptor(loop& owner) : owner_(&owner), acceptor_(owner.context()) {}
  basic_acceptor(loop& owner, acceptor_type acceptor)
      : owner_(&owner), acceptor_(std::move(acceptor)) {}
  basic_acceptor(basic_acceptor&& other) noexcept
      : owner_(other.owner_),
        acceptor_(std::move(other.acceptor_)),
        owned_path_(std::move(other.owned_path_)) {
    other.owned_path_.clear();
  }
  basic_acceptor& operator=(basic_acceptor&& other) noexcept {
    if (this != &other) {
      close();
      owner_ = other.owner_;
      acceptor_ = std::move(other.acceptor_);
      owned_path_ = std::exchange(other.owned_path_, {});
    }
    return *this;
  }
  ~basic_acceptor() { close(); }

  /// Waits for the next connection. Throws std::system_error on failure (EMFILE and the like
  /// are transient: keep accepting); the error_code form returns a closed stream instead.
  accept_awaiter<Protocol> accept() { return {*owner_, acceptor_, nullptr}; }
  accept_awaiter<Protocol> accept(std::error_code& ec) { return {*owner_, acceptor_, &ec}; }

  endpoint_type local_endpoint() const {
    std::error_code ec;
    endpoint_type e = acceptor_.local_endpoint(ec);
    throw_if(ec, "local_endpoint");
    return e;
  }
  /// The port it listens on (useful after listening on port 0).
  std::uint16_t port() const requires std::is_same_v<Protocol, asio::ip::tcp> {
    return local_endpoint().port();
  }

  void close() noexcept {
    close_listening(acceptor_);
    if (!owned_path_.empty()) {
      std::error_code ignored_remove;
      std::filesystem::remove(owned_path_, ignored_remove);
      owned_path_.clear();
    }
  }
  bool is_open() const noexcept { return acceptor_.is_open(); }

  acceptor_type& asio_acceptor() noexcept { return acceptor_; }
  loop& owner() const noexcept { return *owner_; }

  /// For local::listen: the socket file this acceptor created and removes on close.
  void own_path(std::string path) { owned_path_ = std::move(path); }

 private:
  loop* owner_;
  acceptor_type acceptor_;
  std::string owned_path_;
};

}  // namespace netco::detail
