// netco/stream.hpp: the byte_stream concept, and the socket stream and acceptor that model it
// (tcp::stream, local::stream and their acceptors are these, for one protocol each)
#pragma once
#include <concepts>      // movable, same_as: the byte_stream concept
#include <cstddef>       // byte, size_t
#include <cstdint>       // uint16_t
#include <filesystem>    // remove: a Unix-domain acceptor removes its socket file
#include <span>          // span
#include <string>        // string
#include <string_view>   // string_view
#include <system_error>  // error_code
#include <type_traits>   // is_same_v
#include <utility>       // move, exchange

#include "netco/detail/asio.hpp"
#include "netco/detail/buffers.hpp"
#include "netco/detail/io_op.hpp"
#include "netco/detail/stream.hpp"
#include "netco/loop.hpp"
#include "netco/task.hpp"

namespace netco {

/// What everything above the streams needs of one. TCP, Unix-domain and TLS streams model it,
/// so net::socket, serve(), HTTP and WebSocket are written once over any of them:
///  - read_some(bytes[, ec]) and write_all(bytes or a span of spans[, ec]): awaitable, resuming
///    on the stream's loop; read_some gives 0 only at the end of the stream;
///  - try_read_some / try_write_some: what can be done now, never waiting (would_block: 0);
///  - wait_readable([ec]): awaitable, resumes once a read would find something;
///  - shutdown_send(ec) (half-close), close() (pending operations end: operation_canceled),
///    is_open(), owner() (the loop).
/// Optional, used where present: local_endpoint / remote_endpoint, set_no_delay,
/// set_keep_alive, reset() (close with RST), wait_readable_unref(ec) (a wait that keeps no
/// loop reference: net::socket counts its pending read itself, so that unref() works).
template <class S>
concept byte_stream = std::movable<S> &&
    requires(S& s, const S& cs, std::span<std::byte> in, std::span<const std::byte> out,
             std::span<const std::span<const std::byte>> gather, std::error_code& ec) {
  s.read_some(in, ec);
  s.write_all(out, ec);
  s.write_all(gather, ec);
  s.wait_readable(ec);
  { s.try_read_some(in, ec) } -> std::same_as<std::size_t>;
  { s.try_write_some(gather, ec) } -> std::same_as<std::size_t>;
  s.shutdown_send(ec);
  s.close();
  { cs.is_open() } -> std::same_as<bool>;
  { cs.owner() } -> std::same_as<loop&>;
};

/// A connected byte stream over a socket of Protocol: tcp::stream (asio::ip::tcp),
/// local::stream (Unix-domain), and net's own (either family). Models byte_stream. Move-only;
/// one reader and one writer at a time. Every operation resumes on the loop the stream
/// belongs to; each has a throwing form and one that fills a std::error_code.
template <class Protocol>
class basic_stream {
 public:
  using protocol_type = Protocol;
  using socket_type = asio::basic_stream_socket<Protocol, detail::executor>;
  using endpoint_type = typename Protocol::endpoint;
  static constexpr bool is_tcp = std::is_same_v<Protocol, asio::ip::tcp>;

  basic_stream(loop& owner, socket_type socket) : owner_(&owner), socket_(std::move(socket)) {
    if constexpr (!detail::blocking_sockets) {
      std::error_code ignored;
      socket_.non_blocking(true, ignored);  // the write fast path depends on it
    }
#if defined(NETCO_HAS_URING)
    if (detail::uring* r = owner.ring(); r && socket_.is_open()) {
      r->leave_reactor(socket_.native_handle());
    }
#endif
  }
  basic_stream(basic_stream&& other) noexcept
      : owner_(other.owner_), socket_(std::move(other.socket_)), at_eof_(other.at_eof_) {}
  basic_stream& operator=(basic_stream&& other) noexcept {
    end_ring_operations();
    owner_ = other.owner_;
    socket_ = std::move(other.socket_);
    at_eof_ = other.at_eof_;
    return *this;
  }

  /// Reads what is there, up to buffer.size() bytes, waiting for at least one. Returns 0 only
  /// at EOF (the peer ended) or for an empty buffer. Throws std::system_error on failure.
  detail::read_awaiter<socket_type> read_some(std::span<std::byte> buffer) {
    return {*owner_, socket_, at_eof_, buffer, nullptr};
  }
  /// As above; a failure is stored in ec (cleared on success) and 0 is returned.
  detail::read_awaiter<socket_type> read_some(std::span<std::byte> buffer, std::error_code& ec) {
    return {*owner_, socket_, at_eof_, buffer, &ec};
  }
  detail::read_awaiter<socket_type> read_some(std::span<char> buffer) {
    return read_some(std::as_writable_bytes(buffer));
  }
  detail::read_awaiter<socket_type> read_some(std::span<char> buffer, std::error_code& ec) {
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
  detail::write_awaiter<socket_type, detail::single_buffer> write_all(
      std::span<const std::byte> bytes) {
    return {*owner_, socket_, detail::single_buffer(bytes), nullptr};
  }
  detail::write_awaiter<socket_type, detail::single_buffer> write_all(
      std::span<const std::byte> bytes, std::error_code& ec) {
    return {*owner_, socket_, detail::single_buffer(bytes), &ec};
  }
  detail::write_awaiter<socket_type, detail::single_buffer> write_all(std::string_view text) {
    return write_all(std::as_bytes(std::span(text.data(), text.size())));
  }
  detail::write_awaiter<socket_type, detail::single_buffer> write_all(std::string_view text,
                                                                      std::error_code& ec) {
    return write_all(std::as_bytes(std::span(text.data(), text.size())), ec);
  }
  /// Gather form: all buffers, in order, with as few writev calls as the kernel allows. The
  /// span of spans must stay alive until the write completes.
  detail::write_awaiter<socket_type, detail::gather_buffers> write_all(
      std::span<const std::span<const std::byte>> buffers) {
    return {*owner_, socket_, detail::gather_buffers(buffers), nullptr};
  }
  detail::write_awaiter<socket_type, detail::gather_buffers> write_all(
      std::span<const std::span<const std::byte>> buffers, std::error_code& ec) {
    return {*owner_, socket_, detail::gather_buffers(buffers), &ec};
  }

  /// Waits until the socket is readable / writable, without transferring data.
  detail::wait_awaiter<socket_type> wait_readable() {
    return {*owner_, socket_, socket_type::wait_read, nullptr};
  }
  detail::wait_awaiter<socket_type> wait_readable(std::error_code& ec) {
    return {*owner_, socket_, socket_type::wait_read, &ec};
  }
  /// As wait_readable(ec), but the wait does not keep the loop alive: for a caller that counts
  /// its own reference (net::socket's read, which honours unref()).
  detail::wait_awaiter<socket_type> wait_readable_unref(std::error_code& ec) {
    return {*owner_, socket_, socket_type::wait_read, &ec, false};
  }
  detail::wait_awaiter<socket_type> wait_writable() {
    return {*owner_, socket_, socket_type::wait_write, nullptr};
  }
  detail::wait_awaiter<socket_type> wait_writable(std::error_code& ec) {
    return {*owner_, socket_, socket_type::wait_write, &ec};
  }

  /// Reads what is there now, without waiting: the byte count, or 0 with ec set to
  /// std::errc::operation_would_block when nothing is there yet, or 0 with ec clear at EOF.
  /// With wait_readable() or a small read_some, it lets a connection read into a buffer it
  /// does not own (loop::scratch()), so an idle connection needs no read buffer.
  std::size_t try_read_some(std::span<std::byte> buffer, std::error_code& ec) {
    ec.clear();
    if (buffer.empty() || at_eof_) return 0;
    const std::size_t n = detail::recv_now(socket_, buffer, ec);
    if (ec == asio::error::eof) {
      at_eof_ = true;
      ec.clear();
    }
    ec = detail::normalize(ec);
    return n;
  }
  /// Writes what the socket buffer takes now, without waiting: the byte count, possibly 0
  /// (ec stays clear: a full socket buffer is no error); ec is set only on failure.
  std::size_t try_write_some(std::span<const std::span<const std::byte>> buffers,
                             std::error_code& ec) {
    std::size_t n = 0;
    if (buffers.size() == 1) {  // send(), cheaper in the kernel than a one-part sendmsg()
      n = detail::send_now(socket_, asio::buffer(buffers[0].data(), buffers[0].size()), ec);
    } else {
      detail::gather_buffers pending(buffers);
      n = detail::send_now(socket_, pending.asio_buffers(), ec);
    }
    if (ec == asio::error::would_block) ec.clear();
    ec = detail::normalize(ec);
    return n;
  }
  std::size_t try_write_some(std::span<const std::byte> bytes, std::error_code& ec) {
    const std::size_t n = detail::send_now(socket_, asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec == asio::error::would_block) ec.clear();
    ec = detail::normalize(ec);
    return n;
  }

  /// Half-close: sends FIN after the data already written; reading goes on.
  void shutdown_send() {
    std::error_code ec;
    shutdown_send(ec);
    detail::throw_if(ec, "shutdown");
  }
  void shutdown_send(std::error_code& ec) {
    socket_.shutdown(socket_type::shutdown_send, ec);
    ec = detail::normalize(ec);
  }

  ~basic_stream() { end_ring_operations(); }

  /// Closes the socket; pending operations complete with std::errc::operation_canceled.
  void close() noexcept {
    end_ring_operations();
    std::error_code ignored;
    socket_.close(ignored);
  }
  /// Closes with RST instead of FIN (SO_LINGER 0), as Node's resetAndDestroy().
  void reset() noexcept {
    end_ring_operations();
    std::error_code ignored;
    socket_.set_option(asio::socket_base::linger(true, 0), ignored);
    socket_.close(ignored);
  }
  bool is_open() const noexcept { return socket_.is_open(); }

  endpoint_type local_endpoint() const {
    std::error_code ec;
    endpoint_type e = local_endpoint(ec);
    detail::throw_if(ec, "local_endpoint");
    return e;
  }
  endpoint_type local_endpoint(std::error_code& ec) const {
    endpoint_type e = socket_.local_endpoint(ec);
    ec = detail::normalize(ec);
    return e;
  }
  endpoint_type remote_endpoint() const {
    std::error_code ec;
    endpoint_type e = remote_endpoint(ec);
    detail::throw_if(ec, "remote_endpoint");
    return e;
  }
  endpoint_type remote_endpoint(std::error_code& ec) const {
    endpoint_type e = socket_.remote_endpoint(ec);
    ec = detail::normalize(ec);
    return e;
  }

  /// TCP_NODELAY: send small writes at once instead of coalescing them (Nagle).
  void set_no_delay(bool enable = true) requires is_tcp {
    std::error_code ec;
    socket_.set_option(asio::ip::tcp::no_delay(enable), ec);
    detail::throw_if(ec, "set_no_delay");
  }
  /// SO_KEEPALIVE, and the idle time before the first probe when initial_delay is positive.
  void set_keep_alive(bool enable = true, int initial_delay_seconds = 0) requires is_tcp {
    std::error_code ec;
    socket_.set_option(asio::socket_base::keep_alive(enable), ec);
    if (!ec && enable && initial_delay_seconds > 0) {
      socket_.set_option(detail::keep_alive_idle{initial_delay_seconds}, ec);
    }
    detail::throw_if(ec, "set_keep_alive");
  }

  /// The Asio socket underneath, for what netco does not wrap.
  socket_type& asio_socket() noexcept { return socket_; }
  loop& owner() const noexcept { return *owner_; }

 private:
  // On the io_uring engine, before the descriptor closes: an operation in flight holds the
  // socket open past close() and would never end; cancelled, it ends with operation_canceled.
  void end_ring_operations() noexcept {
#if defined(NETCO_HAS_URING)
    if (detail::uring* r = owner_->ring(); r && socket_.is_open()) {
      r->cancel_descriptor(socket_.native_handle());
    }
#endif
  }

  loop* owner_;
  socket_type socket_;
  bool at_eof_ = false;  // the peer ended: reads return 0 without asking the reactor
};

/// A listening socket. Move-only. Closing it completes a pending accept with
/// std::errc::operation_canceled; a Unix-domain acceptor also removes the file it created.
template <class Protocol>
class basic_acceptor {
 public:
  using stream_type = basic_stream<Protocol>;
  using acceptor_type = asio::basic_socket_acceptor<Protocol, detail::executor>;
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
  detail::accept_awaiter<Protocol> accept() { return {*owner_, acceptor_, nullptr}; }
  detail::accept_awaiter<Protocol> accept(std::error_code& ec) { return {*owner_, acceptor_, &ec}; }

  endpoint_type local_endpoint() const {
    std::error_code ec;
    endpoint_type e = acceptor_.local_endpoint(ec);
    detail::throw_if(ec, "local_endpoint");
    return e;
  }
  /// The port it listens on (useful after listening on port 0).
  std::uint16_t port() const requires std::is_same_v<Protocol, asio::ip::tcp> {
    return local_endpoint().port();
  }

  void close() noexcept {
    detail::close_listening(*owner_, acceptor_);
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

}  // namespace netco
