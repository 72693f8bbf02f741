// netco/udp.hpp: awaitable UDP sockets (send_to / receive_from, connected mode)
#pragma once
#include <coroutine>     // coroutine_handle
#include <cstddef>       // byte, size_t
#include <cstdint>       // uint16_t
#include <span>          // span
#include <string>        // string
#include <string_view>   // string_view
#include <system_error>  // error_code

#include "netco/detail/asio.hpp"
#include "netco/detail/buffers.hpp"
#include "netco/detail/io_op.hpp"
#include "netco/loop.hpp"
#include "netco/resolve.hpp"

namespace netco::udp {

using endpoint = asio::ip::udp::endpoint;

/// Largest payloads of one datagram: 65,535 minus the IP and UDP headers.
inline constexpr std::size_t max_datagram_v4 = 65'507;
inline constexpr std::size_t max_datagram_v6 = 65'527;

/// Most parts of one gather send (Asio's limit on the buffers of one sendmsg).
inline constexpr std::size_t max_gather_parts = 64;

/// Tag: a receive that does not keep the loop alive, for owners that follow Node's
/// ref()/unref() themselves (dgram::socket): `co_await s.receive_from(buf, ec, udp::uncounted)`.
struct uncounted_t {
  explicit uncounted_t() = default;
};
inline constexpr uncounted_t uncounted{};

/// What receive_from yields: the datagram's size and who sent it.
struct datagram_info {
  std::size_t size = 0;
  endpoint sender;
};

}  // namespace netco::udp

namespace netco::detail {

using udp_socket_type = asio::basic_datagram_socket<asio::ip::udp, netco::detail::executor>;

// Linux: MSG_TRUNC makes recv report a datagram's real length, so a datagram larger than the
// buffer is reported as EMSGSIZE instead of being cut silently.
#if defined(MSG_TRUNC) && defined(__linux__)
inline constexpr int udp_receive_flags = MSG_TRUNC;
#else
inline constexpr int udp_receive_flags = 0;
#endif

inline void udp_check_truncation(std::error_code& ec, std::size_t& n, std::size_t capacity) {
  if (!ec && n > capacity) {
    ec = std::make_error_code(std::errc::message_size);
    n = capacity;
  }
}

class [[nodiscard]] udp_send_awaiter : io_awaiter_base {
 public:
  udp_send_awaiter(loop& owner, udp_socket_type& s, std::span<const std::byte> bytes,
                   const udp::endpoint* to, std::error_code* out)
      : io_awaiter_base(owner, out),
        socket_(s),
        bytes_(bytes),
        to_(to ? *to : udp::endpoint()),
        connected_(to == nullptr) {}
  /// A gather send: the parts go out as one datagram (one sendmsg).
  udp_send_awaiter(loop& owner, udp_socket_type& s,
                   std::span<const std::span<const std::byte>> parts, const udp::endpoint* to,
                   std::error_code* out)
      : io_awaiter_base(owner, out),
        socket_(s),
        parts_(parts),
        gather_(true),
        to_(to ? *to : udp::endpoint()),
        connected_(to == nullptr) {}
  bool await_ready() const noexcept { return false; }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    if (!prepare(h)) return false;
    // NOTE: Asio passes at most 64 buffers to sendmsg and drops the rest silently: refuse more.
    if (gather_ && parts_.size() > udp::max_gather_parts) {
      state_.ec = std::make_error_code(std::errc::invalid_argument);
      return false;
    }
    // A datagram nearly always fits the send buffer: send at once, wait only on EAGAIN.
    if (gather_)
      send_now(netco::detail::gather_buffers(parts_));
    else
      send_now(asio::const_buffer(bytes_.data(), bytes_.size()));
    if (state_.ec != asio::error::would_block) return false;
    state_.ec.clear();
    if (gather_)
      send_later(netco::detail::gather_buffers(parts_));
    else
      send_later(asio::const_buffer(bytes_.data(), bytes_.size()));
    return true;
  }
  /// The bytes sent: the whole datagram, or a failure (EMSGSIZE for one too large).
  std::size_t await_resume() {
    netco::detail::deliver_error(state_.ec, out_);
    return state_.ec ? 0 : state_.value;
  }

 private:
  template <class Buffers>
  void send_now(const Buffers& b) {
    state_.value =
        connected_ ? socket_.send(b, 0, state_.ec) : socket_.send_to(b, to_, 0, state_.ec);
  }
  template <class Buffers>
  void send_later(const Buffers& b) {
    cancellation_.start(state_, [this, b](auto&& handler) {
      if (connected_)
        socket_.async_send(b, std::move(handler));
      else
        socket_.async_send_to(b, to_, std::move(handler));
    });
  }

  udp_socket_type& socket_;
  std::span<const std::byte> bytes_;
  std::span<const std::span<const std::byte>> parts_;
  bool gather_ = false;
  udp::endpoint to_;
  bool connected_;
};

class [[nodiscard]] udp_receive_awaiter : io_awaiter_base {
 public:
  udp_receive_awaiter(loop& owner, udp_socket_type& s, std::span<std::byte> buffer,
                      bool /*connected: the same receive either way*/, std::error_code* out,
                      bool counted = true)
      : io_awaiter_base(owner, out), socket_(s), buffer_(buffer) {
    state_.counted = counted;
  }
  bool await_ready() const noexcept { return false; }
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    if (!prepare(h)) return false;
    // A connected socket too: recvfrom names the peer, so no getpeername after the datagram
    // (which could fail once the datagram was received, or find a new peer).
    cancellation_.start(state_, [this](auto&& handler) {
      const asio::mutable_buffer b(buffer_.data(), buffer_.size());
      socket_.async_receive_from(b, info_.sender, udp_receive_flags, std::move(handler));
    });
    return true;
  }
  /// The datagram's size (0 for an empty datagram) and sender. A datagram larger than the
  /// buffer fails with EMSGSIZE (std::errc::message_size): the buffer holds its first bytes.
  udp::datagram_info await_resume() {
    info_.size = state_.value;
    udp_check_truncation(state_.ec, info_.size, buffer_.size());
    netco::detail::deliver_error(state_.ec, out_);
    return info_;
  }

 private:
  udp_socket_type& socket_;
  std::span<std::byte> buffer_;
  udp::datagram_info info_;
};

}  // namespace netco::detail

namespace netco::udp {

/// A UDP socket on one loop. Move-only. Unbound, it binds to an ephemeral port on the first
/// send (as the OS and Node do). Operations resume on the socket's loop.
class socket {
 public:
  /// An IPv4 (or, with v6 = true, IPv6) socket on the calling thread's loop.
  explicit socket(bool v6 = false) : socket(loop::current(), v6) {}
  socket(loop& owner, bool v6) : owner_(&owner), socket_(owner.context()) {
    std::error_code ec;
    socket_.open(v6 ? asio::ip::udp::v6() : asio::ip::udp::v4(), ec);
    netco::detail::throw_if(ec, "udp socket");
    socket_.non_blocking(true, ec);  // the send fast path depends on it
  }

  /// Binds to host:port (port 0: any free port). EADDRINUSE if taken; a second bind fails
  /// with EINVAL.
  void bind(std::string_view host, std::uint16_t port, std::error_code& ec) {
    const endpoint at = to_endpoint(host, port, ec);
    if (!ec) socket_.bind(at, ec);
    ec = netco::detail::normalize(ec);
  }
  void bind(std::string_view host, std::uint16_t port) {
    std::error_code ec;
    bind(host, port, ec);
    netco::detail::throw_if(ec, "udp bind");
  }
  /// SO_REUSEADDR, before bind (several sockets on one multicast port).
  void set_reuse_address(bool enable) {
    std::error_code ec;
    socket_.set_option(asio::socket_base::reuse_address(enable), ec);
    netco::detail::throw_if(ec, "SO_REUSEADDR");
  }

  /// Sends one datagram to `to`. Throws std::system_error (EMSGSIZE for more than the
  /// protocol allows); the error_code form stores it instead.
  detail::udp_send_awaiter send_to(std::span<const std::byte> bytes, const endpoint& to) {
    return {*owner_, socket_, bytes, &to, nullptr};
  }
  detail::udp_send_awaiter send_to(std::span<const std::byte> bytes, const endpoint& to,
                                   std::error_code& ec) {
    return {*owner_, socket_, bytes, &to, &ec};
  }
  /// Sends the parts as one datagram (a gather send: one sendmsg, no copy). At most
  /// max_gather_parts parts (EINVAL beyond); the spans must live until the send completes.
  detail::udp_send_awaiter send_to(std::span<const std::span<const std::byte>> parts,
                                   const endpoint& to) {
    return {*owner_, socket_, parts, &to, nullptr};
  }
  detail::udp_send_awaiter send_to(std::span<const std::span<const std::byte>> parts,
                                   const endpoint& to, std::error_code& ec) {
    return {*owner_, socket_, parts, &to, &ec};
  }
  /// Waits for one datagram; see detail::udp_receive_awaiter::await_resume for truncation.
  detail::udp_receive_awaiter receive_from(std::span<std::byte> buffer) {
    return {*owner_, socket_, buffer, false, nullptr};
  }
  detail::udp_receive_awaiter receive_from(std::span<std::byte> buffer, std::error_code& ec) {
    return {*owner_, socket_, buffer, false, &ec};
  }
  /// The wait does not count toward the loop's exit rule (see uncounted_t).
  detail::udp_receive_awaiter receive_from(std::span<std::byte> buffer, std::error_code& ec,
                                           uncounted_t) {
    return {*owner_, socket_, buffer, false, &ec, false};
  }

  /// Connected mode: fixes the peer; send() and receive() then need no address, and ICMP
  /// errors (an unreachable port) surface as ECONNREFUSED on the next operation.
  void connect(std::string_view host, std::uint16_t port, std::error_code& ec) {
    const endpoint to = to_endpoint(host, port, ec);
    if (!ec) socket_.connect(to, ec);
    ec = netco::detail::normalize(ec);
  }
  void connect(std::string_view host, std::uint16_t port) {
    std::error_code ec;
    connect(host, port, ec);
    netco::detail::throw_if(ec, "udp connect");
  }
  /// Leaves connected mode (connect to AF_UNSPEC).
  void disconnect() {
    std::error_code ec;
    socket_.connect(endpoint(), ec);  // NOTE: Linux treats an all-zero peer as "disconnect"
  }
  detail::udp_send_awaiter send(std::span<const std::byte> bytes) {
    return {*owner_, socket_, bytes, nullptr, nullptr};
  }
  detail::udp_send_awaiter send(std::span<const std::byte> bytes, std::error_code& ec) {
    return {*owner_, socket_, bytes, nullptr, &ec};
  }
  /// Connected mode, gather: the parts as one datagram to the peer.
  detail::udp_send_awaiter send(std::span<const std::span<const std::byte>> parts) {
    return {*owner_, socket_, parts, nullptr, nullptr};
  }
  detail::udp_send_awaiter send(std::span<const std::span<const std::byte>> parts,
                                std::error_code& ec) {
    return {*owner_, socket_, parts, nullptr, &ec};
  }
  detail::udp_receive_awaiter receive(std::span<std::byte> buffer) {
    return {*owner_, socket_, buffer, true, nullptr};
  }
  detail::udp_receive_awaiter receive(std::span<std::byte> buffer, std::error_code& ec) {
    return {*owner_, socket_, buffer, true, &ec};
  }

  endpoint local_endpoint() const {
    std::error_code ec;
    endpoint e = socket_.local_endpoint(ec);
    netco::detail::throw_if(ec, "local_endpoint");
    return e;
  }
  endpoint remote_endpoint(std::error_code& ec) const {
    endpoint e = socket_.remote_endpoint(ec);
    ec = netco::detail::normalize(ec);
    return e;
  }
  /// Closes; pending operations complete with std::errc::operation_canceled.
  void close() noexcept {
    std::error_code ignored;
    socket_.close(ignored);
  }
  bool is_open() const noexcept { return socket_.is_open(); }

  detail::udp_socket_type& asio_socket() noexcept { return socket_; }
  const detail::udp_socket_type& asio_socket() const noexcept { return socket_; }
  loop& owner() const noexcept { return *owner_; }

 private:
  endpoint to_endpoint(std::string_view host, std::uint16_t port, std::error_code& ec) const {
    const auto found = resolve_now(host, port, ec);
    if (ec) return {};
    // Prefer an address of the socket's family ("localhost" may list ::1 first).
    const bool v6 = local_family_v6();
    for (const auto& e : found) {
      if (e.address().is_v6() == v6) return {e.address(), port};
    }
    return {found.front().address(), port};
  }
  bool local_family_v6() const {
    std::error_code ec;
    return socket_.local_endpoint(ec).protocol() == asio::ip::udp::v6();
  }

  loop* owner_;
  detail::udp_socket_type socket_;
};

}  // namespace netco::udp
