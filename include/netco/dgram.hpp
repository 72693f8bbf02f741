// netco/dgram.hpp: Node's dgram module (UDP sockets with "message", "listening", "close"...)
#pragma once
#include <concepts>          // invocable: callback overloads
#include <cstddef>           // byte, size_t
#include <cstdint>           // uint16_t
#include <initializer_list>  // initializer_list: a list of buffers sent as one datagram
#include <memory>            // shared_ptr, enable_shared_from_this
#include <optional>          // optional: the port of a send (none: connected)
#include <span>              // span
#include <stdexcept>         // invalid_argument, out_of_range
#include <string>            // string
#include <string_view>       // string_view
#include <system_error>      // error_code, system_error
#include <type_traits>       // is_invocable_v
#include <utility>           // move
#include <vector>            // vector: the send queue

#include "netco/address.hpp"
#include "netco/buffer.hpp"
#include "netco/detail/asio.hpp"
#include "netco/detail/decl.hpp"
#include "netco/detail/handle.hpp"
#include "netco/detail/small_function.hpp"
#include "netco/error.hpp"
#include "netco/events.hpp"
#include "netco/loop.hpp"
#include "netco/task.hpp"
#include "netco/udp.hpp"

namespace netco::dgram {

/// Node: dgram.createSocket(options) — { reuseAddr, ipv6Only, recvBufferSize, sendBufferSize }
struct socket_options {
  bool reuse_addr = false;   ///< SO_REUSEADDR (several sockets on one multicast port)
  bool ipv6_only = false;    ///< udp6 only: no IPv4-mapped traffic on "::"
  int recv_buffer_size = 0;  ///< SO_RCVBUF; 0 keeps the OS default
  int send_buffer_size = 0;  ///< SO_SNDBUF; 0 keeps the OS default
};

/// What address() and remote_address() return. Node: { address, family, port }
using address_info = netco::address_info;

/// The second argument of "message". Node: rinfo { address, family, port, size }
struct remote_info {
  std::string address;
  std::string family;  // "IPv4" or "IPv6"
  std::uint16_t port = 0;
  std::size_t size = 0;  // the datagram's size (0 for an empty datagram)
};

/// The second argument of "error": Node's err.syscall, err.address and err.port.
/// The "error" event's context (bind, send, connect, recvmsg, getaddrinfo): netco::error_info.
using error_info = netco::error_info;

/// What send() takes: text, bytes, a buffer (queued without a copy), or a list of buffers
/// sent as ONE datagram (a gather send). Only borrowed for the duration of the send() call.
/// Node: msg <Buffer> | <string> | <Array>
class message {
 public:
  message(const buffer& b) noexcept : bytes_(b.bytes()), owner_(&b) {}  // NOLINT: implicit
  message(std::string_view text) noexcept                               // NOLINT: implicit
      : bytes_(std::as_bytes(std::span(text.data(), text.size()))) {}
  message(const char* text) noexcept : message(std::string_view(text)) {}         // NOLINT
  message(const std::string& text) noexcept : message(std::string_view(text)) {}  // NOLINT
  message(std::span<const std::byte> bytes) noexcept : bytes_(bytes) {}  // NOLINT: implicit
  template <class Bytes>
  requires std::is_convertible_v<const Bytes&, std::span<const std::byte>> &&
      (!std::is_convertible_v<const Bytes&, std::string_view>)
          message(const Bytes& bytes) noexcept  // NOLINT: vectors and arrays of std::byte
      : bytes_(std::span<const std::byte>(bytes)) {}
  message(std::span<const buffer> list) noexcept : list_(list), is_list_(true) {}  // NOLINT
  message(const std::vector<buffer>& list) noexcept  // NOLINT: implicit
      : list_(list), is_list_(true) {}
  message(std::initializer_list<buffer> list) noexcept  // NOLINT: implicit
      : list_(list.begin(), list.size()), is_list_(true) {}

  /// bytes [offset, offset + length). Throws std::out_of_range past the end, as Node.
  message slice(std::size_t offset, std::size_t length) const {
    if (is_list_) throw std::invalid_argument("netco: offset/length apply to one buffer only");
    if (offset > bytes_.size()) {
      throw std::out_of_range("netco: \"offset\" is outside the buffer [ERR_BUFFER_OUT_OF_BOUNDS]");
    }
    if (length > bytes_.size() - offset) {
      throw std::out_of_range("netco: \"length\" is outside the buffer [ERR_BUFFER_OUT_OF_BOUNDS]");
    }
    message m = *this;
    m.bytes_ = bytes_.subspan(offset, length);
    return m;
  }

  bool is_list() const noexcept { return is_list_; }
  std::span<const std::byte> bytes() const noexcept { return bytes_; }
  std::span<const buffer> list() const noexcept { return list_; }
  /// The buffer that owns bytes(), if any: queued sends share it instead of copying.
  const buffer* owner() const noexcept { return owner_; }

 private:
  std::span<const std::byte> bytes_;
  const buffer* owner_ = nullptr;
  std::span<const buffer> list_;
  bool is_list_ = false;
};

/// Completion of a send: the error (none on success) and the bytes sent. Node: cb(err, bytes)
using send_callback = netco::detail::small_function<void(std::error_code, std::size_t)>;
/// Completion of a connect. Node: connect(port, address, cb(err))
using connect_callback = netco::detail::small_function<void(std::error_code)>;

/// Completion of a send: the error (none on success) and the bytes sent. Node: cb(err, bytes)
using send_callback = netco::detail::small_function<void(std::error_code, std::size_t)>;
/// Completion of a connect. Node: connect(port, address, cb(err))
using connect_callback = netco::detail::small_function<void(std::error_code)>;

}  // namespace netco::dgram

namespace netco::detail {

/// The events of a dgram::socket: "listening", "message"(buffer, remote_info), "connect",
/// "close", "error"(error_code, error_info). An error listener may take the error_code alone.
using dgram_emitter =
    basic_event_emitter<event<"listening">, event<"message", buffer, dgram::remote_info>,
                        event<"connect">, event<"close">,
                        event<"error", std::error_code, error_info>>;

/// The shared state behind dgram::socket handles: bind, the receive loop, the send queue
/// (before "listening", while a name resolves, or while the send buffer is full) and connected
/// mode. Names are resolved off the loop thread; literals and the last peer need no lookup.
/// Loop thread only.
class dgram_state final : public dgram_emitter,
                          public loop_hook,
                          public std::enable_shared_from_this<dgram_state> {
 public:
  enum class bind_state { unbound, binding, bound };
  enum class connect_state { disconnected, connecting, connected };

  NETCO_DECL dgram_state(loop& owner, bool v6, const dgram::socket_options& o);
  NETCO_DECL ~dgram_state() override;

  /// Binds; "listening" (or "error") follows on a later turn.
  NETCO_DECL void bind(std::uint16_t port, std::string_view address);
  /// The one send path. port: nullopt for a connected socket's send(msg).
  NETCO_DECL void send(const dgram::message& msg, std::optional<std::uint16_t> port,
                       std::string_view address, dgram::send_callback cb);
  NETCO_DECL void connect(std::uint16_t port, std::string_view address, dgram::connect_callback cb);
  NETCO_DECL void disconnect();
  NETCO_DECL address_info remote_address() const;
  /// Closes now: the pending receive ends, unsent datagrams' callbacks get
  /// operation_canceled, and "close" follows on a later turn.
  NETCO_DECL void close();
  bool closed() const noexcept { return closed_; }
  NETCO_DECL void ref();
  NETCO_DECL void unref();
  NETCO_DECL address_info address() const;

  template <class Option>
  void set_option(const Option& o, const char* what) {
    check_running();
    std::error_code ec;
    sock_->asio_socket().set_option(o, ec);
    throw_if(ec, what);
  }
  template <class Option>
  Option get_option(const char* what) const {
    check_running();
    Option o;
    std::error_code ec;
    sock_->asio_socket().get_option(o, ec);
    throw_if(ec, what);
    return o;
  }
  NETCO_DECL void set_buffer_size(bool receive, int size);
  NETCO_DECL void set_multicast_interface(std::string_view interface_address);
  NETCO_DECL void membership(bool join, std::string_view group, std::string_view interface_address);
  std::size_t send_queue_size() const noexcept { return queued_bytes_; }
  std::size_t send_queue_count() const noexcept { return queue_.size() - head_; }

 private:
  using endpoint = udp::endpoint;

  struct pending {
    buffer data;
    endpoint to;
    bool connected = false;
    std::string host;  // a name still to resolve (to is set once it is)
    std::uint16_t port = 0;
    dgram::send_callback cb;
  };

  NETCO_DECL void on_loop_gone() noexcept override;
  void check_running() const {
    if (closed_) throw std::system_error(make_error_code(errc::dgram_not_running));
  }
  bool ready(bool connected) const noexcept {
    return os_bound_ && head_ == queue_.size() && !writing_ &&
           (!connected || connect_ == connect_state::connected);
  }
  template <class Buffers>
  bool try_send(const Buffers& b, bool connected, const endpoint& to, dgram::send_callback& cb);
  void send_list(std::span<const buffer> list, bool connected, const endpoint& to,
                 dgram::send_callback cb);
  void enqueue(pending p);
  void emit_error(std::error_code ec, const error_info& info);
  void update_ref();
  void os_bind(const std::string& host, std::uint16_t port, const endpoint& at);
  void bind_done(std::error_code ec, const std::string& host, std::uint16_t port);
  void do_connect();
  void connect_done(std::error_code ec);
  bool resolve_now_or_cached(std::string_view address, std::uint16_t port, endpoint& out,
                             std::error_code& ec);
  endpoint pick(const std::vector<asio::ip::tcp::endpoint>& found, std::uint16_t port);
  task<> resolve_for_bind(std::shared_ptr<dgram_state> self, std::string host, std::uint16_t port);
  task<> resolve_for_connect(std::shared_ptr<dgram_state> self);
  error_info send_info(bool connected, const endpoint& to) const;
  void complete_later(dgram::send_callback cb, std::error_code ec, std::size_t n, error_info info);
  void fail_queue(std::error_code ec, bool connected_only = false);
  static buffer join(std::span<const buffer> list);
  void start_reader();
  task<> reader(std::shared_ptr<dgram_state> self);
  void start_writer();
  task<> writer(std::shared_ptr<dgram_state> self);

  /// Receive buffers: 128 KiB blocks, each received into at an offset. After "message", a
  /// block nobody kept is reused from its start (no allocation per datagram); a datagram a
  /// listener kept stays where it is and the next one goes after it, so kept small
  /// datagrams share blocks instead of pinning 64 KiB each.
  static constexpr std::size_t block_size = 128 * 1024;

  loop* owner_;
  bool v6_;
  std::size_t max_datagram_;
  std::optional<udp::socket> sock_;
  bind_state bind_ = bind_state::unbound;
  bool os_bound_ = false;  // the OS bind succeeded (bind_ may still be binding)
  connect_state connect_ = connect_state::disconnected;
  bool closed_ = false;
  bool unrefed_ = false;
  bool holding_ = false;  // holds one loop reference (bound, open, not unref()'d)
  bool reading_ = false;
  bool writing_ = false;
  // receive
  buffer_block* rbuf_ = nullptr;
  std::size_t used_ = 0;
  dgram::remote_info rinfo_;
  asio::ip::address sender_;
  bool have_sender_ = false;
  // send
  std::vector<pending> queue_;
  std::size_t head_ = 0;
  std::size_t queued_bytes_ = 0;
  endpoint cached_;
  std::string cached_host_;
  std::uint16_t cached_port_ = 0;
  bool cache_valid_ = false;
  // connect
  dgram::connect_callback connect_cb_;
  std::string connect_host_;
  std::uint16_t connect_port_ = 0;
};

template <class Fn>
dgram::send_callback to_send_callback(Fn&& fn) {
  if constexpr (std::is_invocable_v<Fn&, std::error_code, std::size_t>) {
    return dgram::send_callback(std::forward<Fn>(fn));
  } else {
    return [f = std::forward<Fn>(fn)](std::error_code ec, std::size_t) mutable { f(ec); };
  }
}

}  // namespace netco::detail

namespace netco::dgram {

/// A send callback: cb(error_code, bytes) or cb(error_code).
template <class Fn>
concept send_callback_for = std::is_invocable_v < std::decay_t<Fn>
&, std::error_code, std::size_t > || std::is_invocable_v<std::decay_t<Fn>&, std::error_code>;

/// A UDP socket with Node's events and methods. A cheap handle: copies share one socket, and
/// capturing a handle in its own listeners is fine (listeners are dropped after "close").
/// Every listener and callback runs on the socket's loop thread, on a later turn than the
/// call that caused it. Failures of a closed socket's methods throw std::system_error
/// (ERR_SOCKET_DGRAM_NOT_RUNNING), as Node's.
///
/// Events: "listening", "message"(buffer, remote_info), "connect", "close",
/// "error"(error_code, error_info).
class socket : public netco::detail::handle<socket, netco::detail::dgram_state> {
 public:
  static constexpr const char* kind = "dgram::socket";
  socket() = default;
  explicit socket(std::shared_ptr<netco::detail::dgram_state> state) noexcept
      : handle(std::move(state)) {}

  // (events: on, once, off, emit... from the handle base)

  // --- binding --------------------------------------------------------------------------

  /// Binds to address:port (port 0 or none: a free port; address "": 0.0.0.0 / "::").
  /// "listening" follows, or "error" (EADDRINUSE...), and the socket starts receiving. A
  /// second bind throws ERR_SOCKET_ALREADY_BOUND. Node: socket.bind([port][, address][, cb])
  const socket& bind(std::uint16_t port = 0, std::string_view address = {}) const {
    s().bind(port, address);
    return *this;
  }
  template <std::invocable<> Fn>
  const socket& bind(std::uint16_t port, std::string_view address, Fn&& on_listening) const {
    s().bind(port, address);  // throws before the listener is added if already bound
    s().once("listening", std::forward<Fn>(on_listening));
    return *this;
  }
  template <std::invocable<> Fn>
  const socket& bind(std::uint16_t port, Fn&& on_listening) const {
    return bind(port, {}, std::forward<Fn>(on_listening));
  }

  // --- sending --------------------------------------------------------------------------

  /// Sends msg as one datagram to address:port (address "": 127.0.0.1, or ::1 for udp6).
  /// Binds first if unbound ("listening" follows). cb(error_code, bytes) runs on a later
  /// turn; without cb a failure (EMSGSIZE for too large a datagram...) goes to "error".
  /// Node: socket.send(msg, port[, address][, callback])
  const socket& send(const message& msg, std::uint16_t port, std::string_view address = {}) const {
    s().send(msg, port, address, {});
    return *this;
  }
  template <send_callback_for Fn>
  const socket& send(const message& msg, std::uint16_t port, std::string_view address,
                     Fn&& cb) const {
    s().send(msg, port, address, netco::detail::to_send_callback(std::forward<Fn>(cb)));
    return *this;
  }
  template <send_callback_for Fn>
  const socket& send(const message& msg, std::uint16_t port, Fn&& cb) const {
    return send(msg, port, {}, std::forward<Fn>(cb));
  }
  /// Bytes [offset, offset + length) of msg. Node: socket.send(msg, offset, length, port...)
  const socket& send(const message& msg, std::size_t offset, std::size_t length, std::uint16_t port,
                     std::string_view address = {}) const {
    return send(msg.slice(offset, length), port, address);
  }
  template <send_callback_for Fn>
  const socket& send(const message& msg, std::size_t offset, std::size_t length, std::uint16_t port,
                     std::string_view address, Fn&& cb) const {
    return send(msg.slice(offset, length), port, address, std::forward<Fn>(cb));
  }
  /// A connected socket's send: no address. Node: socket.send(msg[, callback])
  const socket& send(const message& msg) const {
    s().send(msg, std::nullopt, {}, {});
    return *this;
  }
  template <send_callback_for Fn>
  const socket& send(const message& msg, Fn&& cb) const {
    s().send(msg, std::nullopt, {}, netco::detail::to_send_callback(std::forward<Fn>(cb)));
    return *this;
  }
  /// Bytes and datagrams waiting in netco's queue (before "listening", or on EAGAIN).
  /// Node: socket.getSendQueueSize() / socket.getSendQueueCount()
  std::size_t get_send_queue_size() const { return s().send_queue_size(); }
  std::size_t get_send_queue_count() const { return s().send_queue_count(); }

  // --- connected mode -------------------------------------------------------------------

  /// Fixes the peer (binding first if needed); "connect" follows, or cb(error) / "error".
  /// The kernel then drops datagrams from others and reports ICMP errors to "error".
  /// Node: socket.connect(port[, address][, callback])
  const socket& connect(std::uint16_t port, std::string_view address = {}) const {
    s().connect(port, address, {});
    return *this;
  }
  template <class Fn>
  requires std::invocable<Fn&, std::error_code> || std::invocable<Fn&>
  const socket& connect(std::uint16_t port, std::string_view address, Fn&& cb) const {
    if constexpr (std::is_invocable_v<Fn&, std::error_code>) {
      s().connect(port, address, std::forward<Fn>(cb));
    } else {
      s().connect(port, address, {});
      s().once("connect", std::forward<Fn>(cb));
    }
    return *this;
  }
  template <class Fn>
  requires std::invocable<Fn&, std::error_code> || std::invocable<Fn&>
  const socket& connect(std::uint16_t port, Fn&& cb) const {
    return connect(port, {}, std::forward<Fn>(cb));
  }
  /// Node: socket.disconnect() (throws ERR_SOCKET_DGRAM_NOT_CONNECTED if not connected)
  const socket& disconnect() const {
    s().disconnect();
    return *this;
  }
  /// Node: socket.remoteAddress() (throws ERR_SOCKET_DGRAM_NOT_CONNECTED if not connected)
  address_info remote_address() const { return s().remote_address(); }

  // --- closing and the loop -------------------------------------------------------------

  /// Closes at once; "close" follows on a later turn, then the listeners are dropped. A
  /// second close throws ERR_SOCKET_DGRAM_NOT_RUNNING. Node: socket.close([callback])
  const socket& close() const {
    s().close();
    return *this;
  }
  template <std::invocable<> Fn>
  const socket& close(Fn&& cb) const {
    s().close();
    s().once("close", std::forward<Fn>(cb));
    return *this;
  }
  /// Node: socket.ref()
  const socket& ref() const {
    s().ref();
    return *this;
  }
  /// A bound socket alone no longer keeps the loop alive. Node: socket.unref()
  const socket& unref() const {
    s().unref();
    return *this;
  }

  // --- addresses and options (errors throw std::system_error, as Node's) ----------------

  /// Throws EBADF before the socket is bound. Node: socket.address()
  address_info address() const { return s().address(); }
  /// Node: socket.setBroadcast()
  const socket& set_broadcast(bool flag) const {
    s().set_option(asio::socket_base::broadcast(flag), "setBroadcast");
    return *this;
  }
  /// 1..255. Node: socket.setTTL()
  int set_ttl(int ttl) const {
    if (ttl < 1 || ttl > 255)
      throw std::system_error(std::make_error_code(std::errc::invalid_argument), "setTTL");
    s().set_option(asio::ip::unicast::hops(ttl), "setTTL");
    return ttl;
  }
  /// 0..255. Node: socket.setMulticastTTL()
  int set_multicast_ttl(int ttl) const {
    if (ttl < 0 || ttl > 255)
      throw std::system_error(std::make_error_code(std::errc::invalid_argument), "setMulticastTTL");
    s().set_option(asio::ip::multicast::hops(ttl), "setMulticastTTL");
    return ttl;
  }
  /// Node: socket.setMulticastLoopback()
  bool set_multicast_loopback(bool flag) const {
    s().set_option(asio::ip::multicast::enable_loopback(flag), "setMulticastLoopback");
    return flag;
  }
  /// The outgoing interface of multicast: its IPv4 address, or "::%name" for udp6.
  /// Node: socket.setMulticastInterface()
  const socket& set_multicast_interface(std::string_view interface_address) const {
    s().set_multicast_interface(interface_address);
    return *this;
  }
  /// Joins a group on an interface (its IPv4 address, or "::%name"; "": the kernel's choice).
  /// Node: socket.addMembership(multicastAddress[, multicastInterface])
  const socket& add_membership(std::string_view group,
                               std::string_view interface_address = {}) const {
    s().membership(true, group, interface_address);
    return *this;
  }
  /// Node: socket.dropMembership(multicastAddress[, multicastInterface])
  const socket& drop_membership(std::string_view group,
                                std::string_view interface_address = {}) const {
    s().membership(false, group, interface_address);
    return *this;
  }
  /// SO_RCVBUF (Linux reports twice what was set). Node: socket.setRecvBufferSize()
  const socket& set_recv_buffer_size(int size) const {
    s().set_buffer_size(true, size);
    return *this;
  }
  /// Node: socket.setSendBufferSize()
  const socket& set_send_buffer_size(int size) const {
    s().set_buffer_size(false, size);
    return *this;
  }
  /// Node: socket.getRecvBufferSize()
  int get_recv_buffer_size() const {
    return s().get_option<asio::socket_base::receive_buffer_size>("getRecvBufferSize").value();
  }
  /// Node: socket.getSendBufferSize()
  int get_send_buffer_size() const {
    return s().get_option<asio::socket_base::send_buffer_size>("getSendBufferSize").value();
  }
};

/// A "message" listener: (buffer, remote_info), or (buffer) alone.
template <class Fn>
concept message_listener = std::is_invocable_v < std::decay_t<Fn>
&, const buffer&, const remote_info& > || std::is_invocable_v<std::decay_t<Fn>&, const buffer&>;

/// A UDP socket on the calling thread's loop; type is "udp4" or "udp6" (anything else throws
/// std::invalid_argument, ERR_SOCKET_BAD_TYPE). It receives once bound.
/// Node: dgram.createSocket(type[, callback]) / dgram.createSocket(options[, callback])
NETCO_DECL socket create_socket(std::string_view type, socket_options options = {});
template <message_listener Fn>
socket create_socket(std::string_view type, socket_options options, Fn&& on_message) {
  socket s = create_socket(type, options);
  s.on("message", std::forward<Fn>(on_message));
  return s;
}
template <message_listener Fn>
socket create_socket(std::string_view type, Fn&& on_message) {
  return create_socket(type, socket_options{}, std::forward<Fn>(on_message));
}

}  // namespace netco::dgram

#if !defined(NETCO_SEPARATE_COMPILATION)
#include "netco/impl/dgram.ipp"
#endif
