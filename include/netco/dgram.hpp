// netco/dgram.hpp: Node's dgram module (UDP sockets with "message", "listening", "close"...)
#pragma once
#include <net/if.h>  // if_nametoindex: IPv6 multicast interfaces by name

#include <concepts>          // invocable: callback overloads
#include <cstddef>           // byte, size_t
#include <cstdint>           // uint16_t
#include <cstdlib>           // strtoul
#include <cstring>           // memcpy: joining a list of buffers
#include <exception>         // current_exception
#include <initializer_list>  // initializer_list: a list of buffers sent as one datagram
#include <memory>            // shared_ptr, enable_shared_from_this
#include <optional>          // optional: the socket goes when its loop goes
#include <span>              // span
#include <stdexcept>         // invalid_argument, logic_error, out_of_range
#include <string>            // string
#include <string_view>       // string_view
#include <system_error>      // error_code, system_error
#include <type_traits>       // is_invocable_v
#include <utility>           // exchange, move
#include <vector>            // vector: the send queue

#include "netco/buffer.hpp"
#include "netco/detail/asio.hpp"
#include "netco/detail/buffers.hpp"
#include "netco/detail/emitter_handle.hpp"
#include "netco/detail/io_op.hpp"
#include "netco/detail/small_function.hpp"
#include "netco/error.hpp"
#include "netco/events.hpp"
#include "netco/loop.hpp"
#include "netco/spawn.hpp"
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
struct address_info {
  std::string address;
  std::string family;  // "IPv4" or "IPv6"
  std::uint16_t port = 0;
  friend bool operator==(const address_info&, const address_info&) = default;
};

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

/// The events of a dgram::socket: "listening", "message"(buffer, remote_info), "connect",
/// "close", "error"(error_code, error_info). An error listener may take the error_code alone.
using socket_emitter =
    basic_event_emitter<event<"listening">, event<"message", buffer, remote_info>, event<"connect">,
                        event<"close">, event<"error", std::error_code, error_info>>;

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

namespace detail {

using netco::detail::buffer_block;
using netco::detail::normalize;

/// Runs fn on a later turn of the loop, keeping the loop alive until then (Node's nextTick).
template <class Fn>
void defer(loop& l, Fn&& fn) {
  l.ref();
  l.post([l = &l, fn = std::forward<Fn>(fn)]() mutable {
    try {
      fn();
    } catch (...) {
      l->report(std::current_exception());
    }
    l->unref();
  });
}

inline std::string family_of(const asio::ip::address& a) { return a.is_v4() ? "IPv4" : "IPv6"; }

/// The interface index of an IPv6 multicast interface given as "::%name" or "::%index" (Node's
/// form). NOTE: Asio's address parser resolves the scope name of link-local addresses only.
inline unsigned interface_index(std::string_view text, std::error_code& ec) {
  const auto at = text.find('%');
  if (at == std::string_view::npos) {
    (void)asio::ip::make_address_v6(std::string(text), ec);
    return 0;
  }
  const std::string name(text.substr(at + 1));
  unsigned index = ::if_nametoindex(name.c_str());
  if (index == 0) {
    char* end = nullptr;
    index = static_cast<unsigned>(std::strtoul(name.c_str(), &end, 10));
    if (name.empty() || *end != '\0') ec = std::make_error_code(std::errc::no_such_device);
  }
  return index;
}

/// The shared state behind dgram::socket handles. Loop thread only.
class socket_state final : public socket_emitter,
                           public std::enable_shared_from_this<socket_state> {
 public:
  enum class bind_state { unbound, binding, bound };
  enum class connect_state { disconnected, connecting, connected };

  socket_state(loop& owner, bool v6, const socket_options& o)
      : owner_(&owner), v6_(v6), max_datagram_(v6 ? udp::max_datagram_v6 : udp::max_datagram_v4) {
    sock_.emplace(owner, v6);
    std::error_code ec;
    if (o.reuse_addr) sock_->asio_socket().set_option(asio::socket_base::reuse_address(true), ec);
    netco::detail::throw_if(ec, "reuseAddr");
    if (v6 && o.ipv6_only) sock_->asio_socket().set_option(asio::ip::v6_only(true), ec);
    netco::detail::throw_if(ec, "ipv6Only");
    if (o.recv_buffer_size > 0) set_buffer_size(true, o.recv_buffer_size);
    if (o.send_buffer_size > 0) set_buffer_size(false, o.send_buffer_size);
  }
  ~socket_state() override { buffer_block::release(rbuf_); }

  // --- binding --------------------------------------------------------------------------

  /// Binds now; "listening" (or "error") follows on a later turn.
  void bind(std::uint16_t port, std::string_view address) {
    check_running();
    if (bind_ != bind_state::unbound) {
      throw std::system_error(make_error_code(errc::already_bound), "bind");
    }
    bind_ = bind_state::binding;
    std::string host(address.empty() ? (v6_ ? "::" : "0.0.0.0") : address);
    std::error_code ec;
    sock_->bind(host, port, ec);
    os_bound_ = !ec;  // sends can go out now; "listening" still waits for a later turn
    defer(*owner_, [self = shared_from_this(), ec, host = std::move(host), port] {
      self->bind_done(ec, host, port);
    });
  }

  // --- sending --------------------------------------------------------------------------

  /// The one send path. port: nullopt for a connected socket's send(msg).
  void send(const message& msg, std::optional<std::uint16_t> port, std::string_view address,
            send_callback cb) {
    check_running();
    const bool connected = !port;
    if (port) {
      if (connect_ != connect_state::disconnected) {
        throw std::system_error(make_error_code(errc::dgram_is_connected), "send");
      }
      if (*port == 0) throw std::system_error(make_error_code(errc::bad_port), "send");
    } else if (connect_ == connect_state::disconnected) {
      throw std::system_error(make_error_code(errc::bad_port), "send");
    }
    if (bind_ == bind_state::unbound) bind(0, {});  // Node binds implicitly, then "listening"

    endpoint to;
    if (port) {
      std::error_code ec;
      to = resolve_target(address, *port, ec);
      if (ec) {
        complete_later(std::move(cb), ec, 0, {"getaddrinfo", std::string(address), *port});
        return;
      }
    }

    if (msg.is_list()) {
      send_list(msg.list(), connected, to, std::move(cb));
      return;
    }
    const auto bytes = msg.bytes();
    if (ready(connected) &&
        try_send(asio::const_buffer(bytes.data(), bytes.size()), connected, to, cb)) {
      return;
    }
    // Not bound yet, or the send buffer is full: queue it (a buffer is shared, not copied).
    buffer data;
    if (const buffer* owner = msg.owner()) {
      const auto offset = static_cast<std::size_t>(bytes.data() - owner->data());
      data = owner->slice(offset, offset + bytes.size());
    } else {
      data = buffer::copy_of(bytes);
    }
    enqueue(std::move(data), connected, to, std::move(cb));
  }

  // --- connected mode -------------------------------------------------------------------

  void connect(std::uint16_t port, std::string_view address, connect_callback cb) {
    check_running();
    if (connect_ != connect_state::disconnected) {
      throw std::system_error(make_error_code(errc::dgram_is_connected), "connect");
    }
    if (port == 0) throw std::system_error(make_error_code(errc::bad_port), "connect");
    connect_ = connect_state::connecting;
    connect_cb_ = std::move(cb);
    connect_host_ = std::string(address.empty() ? (v6_ ? "::1" : "127.0.0.1") : address);
    connect_port_ = port;
    if (bind_ == bind_state::unbound) bind(0, {});
    if (os_bound_) do_connect();  // else once bound
  }
  void disconnect() {
    check_running();
    if (connect_ != connect_state::connected) {
      throw std::system_error(make_error_code(errc::dgram_not_connected), "disconnect");
    }
    sock_->disconnect();
    connect_ = connect_state::disconnected;
  }
  address_info remote_address() const {
    check_running();
    if (connect_ != connect_state::connected) {
      throw std::system_error(make_error_code(errc::dgram_not_connected), "remoteAddress");
    }
    std::error_code ec;
    const endpoint e = sock_->remote_endpoint(ec);
    netco::detail::throw_if(ec, "getpeername");
    return {e.address().to_string(), family_of(e.address()), e.port()};
  }

  // --- closing --------------------------------------------------------------------------

  /// Closes now: the pending receive ends, unsent datagrams' callbacks get
  /// operation_canceled, and "close" follows on a later turn.
  void close() {
    check_running();
    closed_ = true;
    sock_->close();
    update_ref();
    std::vector<send_callback> failed;
    for (std::size_t i = head_; i < queue_.size(); ++i) {
      if (queue_[i].cb) failed.push_back(std::move(queue_[i].cb));
    }
    queue_.clear();
    head_ = 0;
    queued_bytes_ = 0;
    connect_cb_.reset();
    defer(*owner_, [self = shared_from_this(), failed = std::move(failed)]() mutable {
      for (auto& cb : failed) cb(std::make_error_code(std::errc::operation_canceled), 0);
      try {
        self->emit_event<"close">();
      } catch (...) {
        self->owner_->report(std::current_exception());
      }
      self->clear_all();  // listeners go, and with them any handle cycles
    });
  }
  bool closed() const noexcept { return closed_; }

  // --- ref / unref ----------------------------------------------------------------------

  void ref() {
    unrefed_ = false;
    update_ref();
  }
  void unref() {
    unrefed_ = true;
    update_ref();
  }

  // --- options and properties -----------------------------------------------------------

  address_info address() const {
    check_running();
    std::error_code ec;
    const endpoint e = sock_->asio_socket().local_endpoint(ec);
    if (!ec && e.port() == 0) ec = std::make_error_code(std::errc::bad_file_descriptor);
    netco::detail::throw_if(ec, "getsockname");
    return {e.address().to_string(), family_of(e.address()), e.port()};
  }

  template <class Option>
  void set_option(const Option& o, const char* what) {
    check_running();
    std::error_code ec;
    sock_->asio_socket().set_option(o, ec);
    netco::detail::throw_if(ec, what);
  }
  template <class Option>
  Option get_option(const char* what) const {
    check_running();
    Option o;
    std::error_code ec;
    sock_->asio_socket().get_option(o, ec);
    netco::detail::throw_if(ec, what);
    return o;
  }
  void set_buffer_size(bool receive, int size) {
    if (size <= 0) {
      throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                              receive ? "setRecvBufferSize [ERR_SOCKET_BUFFER_SIZE]"
                                      : "setSendBufferSize [ERR_SOCKET_BUFFER_SIZE]");
    }
    if (receive)
      set_option(asio::socket_base::receive_buffer_size(size), "setRecvBufferSize");
    else
      set_option(asio::socket_base::send_buffer_size(size), "setSendBufferSize");
  }
  void set_multicast_interface(std::string_view interface_address) {
    check_running();
    std::error_code ec;
    if (v6_) {
      const unsigned index = interface_index(interface_address, ec);
      netco::detail::throw_if(ec, "setMulticastInterface");
      set_option(asio::ip::multicast::outbound_interface(index), "setMulticastInterface");
    } else {
      const auto a = asio::ip::make_address_v4(std::string(interface_address), ec);
      netco::detail::throw_if(ec, "setMulticastInterface");
      set_option(asio::ip::multicast::outbound_interface(a), "setMulticastInterface");
    }
  }
  void membership(bool join, std::string_view group, std::string_view interface_address) {
    check_running();
    const char* what = join ? "addMembership" : "dropMembership";
    std::error_code ec;
    if (v6_) {
      const auto g = asio::ip::make_address_v6(std::string(group), ec);
      netco::detail::throw_if(ec, what);
      unsigned long index = 0;  // 0: the kernel picks the interface
      if (!interface_address.empty()) {
        index = interface_index(interface_address, ec);
        netco::detail::throw_if(ec, what);
      }
      if (join)
        set_option(asio::ip::multicast::join_group(g, index), what);
      else
        set_option(asio::ip::multicast::leave_group(g, index), what);
    } else {
      const auto g = asio::ip::make_address_v4(std::string(group), ec);
      netco::detail::throw_if(ec, what);
      auto i = asio::ip::address_v4::any();
      if (!interface_address.empty()) {
        i = asio::ip::make_address_v4(std::string(interface_address), ec);
        netco::detail::throw_if(ec, what);
      }
      if (join)
        set_option(asio::ip::multicast::join_group(g, i), what);
      else
        set_option(asio::ip::multicast::leave_group(g, i), what);
    }
  }
  std::size_t send_queue_size() const noexcept { return queued_bytes_; }
  std::size_t send_queue_count() const noexcept { return queue_.size() - head_; }

  loop& owner() const noexcept { return *owner_; }

 private:
  using endpoint = udp::endpoint;

  struct pending {
    buffer data;
    endpoint to;
    bool connected = false;
    send_callback cb;
  };

  void check_running() const {
    if (closed_) throw std::system_error(make_error_code(errc::dgram_not_running));
  }

  bool ready(bool connected) const noexcept {
    return os_bound_ && head_ == queue_.size() && !writing_ &&
           (!connected || connect_ == connect_state::connected);
  }

  /// Sends now; false when the send buffer is full (EAGAIN), so the datagram must wait.
  template <class Buffers>
  bool try_send(const Buffers& b, bool connected, const endpoint& to, send_callback& cb) {
    std::error_code ec;
    auto& s = sock_->asio_socket();
    const std::size_t n = connected ? s.send(b, 0, ec) : s.send_to(b, to, 0, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) return false;
    // Done: only the callback (or "error") waits for a later turn.
    if (cb || ec)
      complete_later(std::move(cb), normalize(ec), ec ? 0 : n, send_info(connected, to));
    return true;
  }

  /// A list of buffers as one datagram: a gather send (one sendmsg), copied only if queued.
  void send_list(std::span<const buffer> list, bool connected, const endpoint& to,
                 send_callback cb) {
    if (ready(connected)) {
      if (list.size() <= udp::max_gather_parts) {
        std::span<const std::byte> parts[udp::max_gather_parts];
        for (std::size_t i = 0; i < list.size(); ++i) parts[i] = list[i].bytes();
        if (try_send(netco::detail::gather_buffers(std::span(parts, list.size())), connected, to,
                     cb)) {
          return;
        }
      } else {
        const buffer joined = join(list);  // over Asio's limit of buffers per sendmsg
        if (try_send(asio::const_buffer(joined.data(), joined.size()), connected, to, cb)) return;
      }
    }
    enqueue(join(list), connected, to, std::move(cb));
  }

  void enqueue(buffer data, bool connected, const endpoint& to, send_callback cb) {
    queued_bytes_ += data.size();
    queue_.push_back({std::move(data), to, connected, std::move(cb)});
    start_writer();
  }

  /// An "error" with Node's context; without a listener it is thrown (and so reported by the
  /// loop, as Node's uncaught 'error' ends the process).
  void emit_error(std::error_code ec, const error_info& info) {
    if (count_of<"error">() == 0) throw std::system_error(ec, info.context());
    emit_event<"error">(ec, info);
  }

  void update_ref() {
    // Node: a bound, open socket keeps the loop alive unless unref()'d. Its receive wait is
    // uncounted; this one reference stands for it.
    const bool want = bind_ == bind_state::bound && !closed_ && !unrefed_;
    if (want == holding_) return;
    holding_ = want;
    if (want)
      owner_->ref();
    else
      owner_->unref();
  }

  void bind_done(std::error_code ec, const std::string& host, std::uint16_t port) {
    if (closed_) return;
    if (ec) {
      bind_ = bind_state::unbound;  // Node: the same socket may bind again
      fail_queue(ec);
      if (connect_ == connect_state::connecting) {
        connect_ = connect_state::disconnected;
        connect_cb_.reset();
      }
      emit_error(ec, {"bind", host, port});
      return;
    }
    bind_ = bind_state::bound;
    update_ref();
    start_reader();
    try {
      emit_event<"listening">();
    } catch (...) {
      owner_->report(std::current_exception());
    }
    if (closed_) return;
    if (connect_ == connect_state::connecting) do_connect();
    start_writer();
  }

  void do_connect() {
    std::error_code ec;
    const endpoint to = resolve_target(connect_host_, connect_port_, ec);
    if (!ec) sock_->asio_socket().connect(to, ec);
    ec = normalize(ec);
    connect_ = ec ? connect_state::disconnected : connect_state::connected;
    defer(*owner_, [self = shared_from_this(), ec, cb = std::move(connect_cb_),
                    info = error_info{"connect", connect_host_, connect_port_}]() mutable {
      if (self->closed_) return;
      if (ec) {
        self->fail_queue(ec, /*connected_only=*/true);
        if (cb)
          cb(ec);
        else
          self->emit_error(ec, info);
        return;
      }
      self->emit_event<"connect">();
      if (cb) cb({});
    });
  }

  endpoint resolve_target(std::string_view address, std::uint16_t port, std::error_code& ec) {
    if (address.empty()) address = v6_ ? "::1" : "127.0.0.1";  // Node's default
    // The last target is cached: an echo replies to the same few peers, with no parsing.
    if (cache_valid_ && port == cached_port_ && address == cached_host_) return cached_;
    // NOTE: a host name is resolved here, blocking (literals need no lookup); Node's lookup is
    // asynchronous. Use IP literals on hot paths.
    const auto found = resolve_now(address, port, ec);
    if (ec) return {};
    asio::ip::address chosen = found.front().address();
    for (const auto& e : found) {
      if (e.address().is_v6() == v6_) {
        chosen = e.address();
        break;
      }
    }
    if (v6_ && chosen.is_v4()) {  // a dual-stack udp6 socket reaches IPv4 peers mapped
      chosen = asio::ip::make_address_v6(asio::ip::v4_mapped, chosen.to_v4());
    }
    cached_ = endpoint(chosen, port);
    cached_host_.assign(address);
    cached_port_ = port;
    cache_valid_ = true;
    return cached_;
  }

  error_info send_info(bool connected, const endpoint& to) const {
    if (connected) return {"send", connect_host_, connect_port_};
    return {"send", to.address().to_string(), to.port()};
  }

  void complete_later(send_callback cb, std::error_code ec, std::size_t n, error_info info) {
    if (cb) {
      defer(*owner_, [cb = std::move(cb), ec, n]() mutable { cb(ec, n); });
    } else if (ec) {
      // Node drops the error of a send without callback; netco does not stay silent.
      defer(*owner_, [self = shared_from_this(), ec, info = std::move(info)] {
        if (!self->closed_) self->emit_error(ec, info);
      });
    }
  }

  void fail_queue(std::error_code ec, bool connected_only = false) {
    std::vector<pending> keep;
    for (std::size_t i = head_; i < queue_.size(); ++i) {
      pending& p = queue_[i];
      if (connected_only && !p.connected) {
        keep.push_back(std::move(p));
        continue;
      }
      queued_bytes_ -= p.data.size();
      complete_later(std::move(p.cb), ec, 0, send_info(p.connected, p.to));
    }
    queue_ = std::move(keep);
    head_ = 0;
  }

  static buffer join(std::span<const buffer> list) {
    std::size_t total = 0;
    for (const auto& b : list) total += b.size();
    buffer out = buffer::uninitialized(total);
    std::size_t at = 0;
    for (const auto& b : list) {
      if (!b.empty()) std::memcpy(out.mutable_bytes().data() + at, b.data(), b.size());
      at += b.size();
    }
    return out;
  }

  // --- the receive loop -----------------------------------------------------------------

  void start_reader() {
    if (reading_ || closed_) return;
    reading_ = true;
    netco::detail::adopt_root(*owner_, reader(shared_from_this())).resume();
  }

  /// Receive buffers: 128 KiB blocks, each received into at an offset. After "message", a
  /// block nobody kept is reused from its start (no allocation per datagram); a datagram a
  /// listener kept stays where it is and the next one goes after it, so kept small
  /// datagrams share blocks instead of pinning 64 KiB each.
  static constexpr std::size_t block_size = 128 * 1024;

  task<> reader(std::shared_ptr<socket_state> self) {
    // If the loop is destroyed while this waits, the frame goes with it: let go of the
    // listeners (handle cycles) and of the socket while its io_context still exists.
    struct loop_gone {
      socket_state* s;
      bool finished = false;
      ~loop_gone() {
        if (finished) return;
        s->closed_ = true;
        s->holding_ = false;
        s->clear_all();
        s->sock_.reset();
      }
    } guard{this};
    (void)self;  // keeps the state alive while the coroutine runs
    while (!closed_) {
      if (!rbuf_) {
        rbuf_ = buffer_block::create(block_size);
        used_ = 0;
      }
      std::error_code ec;
      const udp::datagram_info info = co_await sock_->receive_from(
          std::span(rbuf_->data() + used_, max_datagram_), ec, udp::uncounted);
      if (closed_) break;
      if (ec) {
        if (ec == std::errc::operation_canceled || ec == std::errc::bad_file_descriptor) break;
        // ICMP errors (ECONNREFUSED on a connected socket...) do not stop receiving (U5).
        try {
          emit_error(ec, {"recvmsg", {}, 0});
        } catch (...) {
          owner_->report(std::current_exception());
        }
        continue;
      }
      if (count_of<"message">() == 0) continue;
      if (!have_sender_ || info.sender.address() != sender_) {
        sender_ = info.sender.address();
        have_sender_ = true;
        rinfo_.address = sender_.to_string();
        rinfo_.family = family_of(sender_);
      }
      rinfo_.port = info.sender.port();
      rinfo_.size = info.size;
      {
        buffer msg;
        if (info.size > 0) {
          buffer_block::retain(rbuf_);
          msg = buffer::adopt(rbuf_, used_, info.size);
        }
        try {
          emit_event<"message">(msg, rinfo_);
        } catch (...) {
          owner_->report(std::current_exception());
        }
      }
      if (rbuf_->refs.load(std::memory_order_acquire) == 1) {
        used_ = 0;  // nobody kept it
      } else {
        used_ += (info.size + 15) & ~std::size_t{15};
        if (rbuf_->capacity - used_ < max_datagram_) {
          buffer_block::release(std::exchange(rbuf_, nullptr));  // the keepers own it now
        }
      }
    }
    reading_ = false;
    guard.finished = true;
  }

  // --- the send queue (before "listening", or while the send buffer is full) ------------

  void start_writer() {
    if (writing_ || closed_ || !os_bound_ || head_ == queue_.size()) return;
    writing_ = true;
    netco::detail::adopt_root(*owner_, writer(shared_from_this())).resume();
  }

  task<> writer(std::shared_ptr<socket_state> self) {
    (void)self;
    while (head_ < queue_.size() && !closed_) {
      pending p = std::move(queue_[head_++]);  // moved out: sends may grow the queue meanwhile
      queued_bytes_ -= p.data.size();
      std::error_code ec;
      std::size_t n = 0;
      if (p.connected && connect_ != connect_state::connected) {
        ec = make_error_code(errc::dgram_not_connected);
      } else if (p.connected) {
        n = co_await sock_->send(p.data.bytes(), ec);
      } else {
        n = co_await sock_->send_to(p.data.bytes(), p.to, ec);
      }
      if (closed_) {
        if (p.cb) p.cb(std::make_error_code(std::errc::operation_canceled), 0);
        break;
      }
      try {
        if (p.cb)
          p.cb(ec, n);
        else if (ec)
          emit_error(ec, send_info(p.connected, p.to));
      } catch (...) {
        owner_->report(std::current_exception());
      }
    }
    if (head_ == queue_.size()) {
      queue_.clear();
      head_ = 0;
    }
    writing_ = false;
  }

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
  remote_info rinfo_;
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
  connect_callback connect_cb_;
  std::string connect_host_;
  std::uint16_t connect_port_ = 0;
};

template <class Fn>
send_callback to_send_callback(Fn&& fn) {
  if constexpr (std::is_invocable_v<Fn&, std::error_code, std::size_t>) {
    return send_callback(std::forward<Fn>(fn));
  } else {
    return [f = std::forward<Fn>(fn)](std::error_code ec, std::size_t) mutable { f(ec); };
  }
}

}  // namespace detail

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
class socket : public netco::detail::emitter_handle<socket> {
 public:
  socket() = default;
  explicit socket(std::shared_ptr<detail::socket_state> state) noexcept : s_(std::move(state)) {}

  // (events: on, once, off, emit... from emitter_handle)

  // --- binding --------------------------------------------------------------------------

  /// Binds to address:port (port 0 or none: a free port; address "": 0.0.0.0 / "::").
  /// "listening" follows, or "error" (EADDRINUSE...), and the socket starts receiving. A
  /// second bind throws ERR_SOCKET_ALREADY_BOUND. Node: socket.bind([port][, address][, cb])
  socket& bind(std::uint16_t port = 0, std::string_view address = {}) {
    s().bind(port, address);
    return *this;
  }
  template <std::invocable<> Fn>
  socket& bind(std::uint16_t port, std::string_view address, Fn&& on_listening) {
    s().bind(port, address);  // throws before the listener is added if already bound
    s().once("listening", std::forward<Fn>(on_listening));
    return *this;
  }
  template <std::invocable<> Fn>
  socket& bind(std::uint16_t port, Fn&& on_listening) {
    return bind(port, {}, std::forward<Fn>(on_listening));
  }

  // --- sending --------------------------------------------------------------------------

  /// Sends msg as one datagram to address:port (address "": 127.0.0.1, or ::1 for udp6).
  /// Binds first if unbound ("listening" follows). cb(error_code, bytes) runs on a later
  /// turn; without cb a failure (EMSGSIZE for too large a datagram...) goes to "error".
  /// Node: socket.send(msg, port[, address][, callback])
  socket& send(const message& msg, std::uint16_t port, std::string_view address = {}) {
    s().send(msg, port, address, {});
    return *this;
  }
  template <send_callback_for Fn>
  socket& send(const message& msg, std::uint16_t port, std::string_view address, Fn&& cb) {
    s().send(msg, port, address, detail::to_send_callback(std::forward<Fn>(cb)));
    return *this;
  }
  template <send_callback_for Fn>
  socket& send(const message& msg, std::uint16_t port, Fn&& cb) {
    return send(msg, port, {}, std::forward<Fn>(cb));
  }
  /// Bytes [offset, offset + length) of msg. Node: socket.send(msg, offset, length, port...)
  socket& send(const message& msg, std::size_t offset, std::size_t length, std::uint16_t port,
               std::string_view address = {}) {
    return send(msg.slice(offset, length), port, address);
  }
  template <send_callback_for Fn>
  socket& send(const message& msg, std::size_t offset, std::size_t length, std::uint16_t port,
               std::string_view address, Fn&& cb) {
    return send(msg.slice(offset, length), port, address, std::forward<Fn>(cb));
  }
  /// A connected socket's send: no address. Node: socket.send(msg[, callback])
  socket& send(const message& msg) {
    s().send(msg, std::nullopt, {}, {});
    return *this;
  }
  template <send_callback_for Fn>
  socket& send(const message& msg, Fn&& cb) {
    s().send(msg, std::nullopt, {}, detail::to_send_callback(std::forward<Fn>(cb)));
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
  socket& connect(std::uint16_t port, std::string_view address = {}) {
    s().connect(port, address, {});
    return *this;
  }
  template <class Fn>
  requires std::invocable<Fn&, std::error_code> || std::invocable<Fn&> socket& connect(
      std::uint16_t port, std::string_view address, Fn&& cb) {
    if constexpr (std::is_invocable_v<Fn&, std::error_code>) {
      s().connect(port, address, std::forward<Fn>(cb));
    } else {
      s().connect(port, address, {});
      s().once("connect", std::forward<Fn>(cb));
    }
    return *this;
  }
  template <class Fn>
  requires std::invocable<Fn&, std::error_code> || std::invocable<Fn&> socket& connect(
      std::uint16_t port, Fn&& cb) {
    return connect(port, {}, std::forward<Fn>(cb));
  }
  /// Node: socket.disconnect() (throws ERR_SOCKET_DGRAM_NOT_CONNECTED if not connected)
  socket& disconnect() {
    s().disconnect();
    return *this;
  }
  /// Node: socket.remoteAddress() (throws ERR_SOCKET_DGRAM_NOT_CONNECTED if not connected)
  address_info remote_address() const { return s().remote_address(); }

  // --- closing and the loop -------------------------------------------------------------

  /// Closes at once; "close" follows on a later turn, then the listeners are dropped. A
  /// second close throws ERR_SOCKET_DGRAM_NOT_RUNNING. Node: socket.close([callback])
  socket& close() {
    s().close();
    return *this;
  }
  template <std::invocable<> Fn>
  socket& close(Fn&& cb) {
    s().close();
    s().once("close", std::forward<Fn>(cb));
    return *this;
  }
  /// Node: socket.ref()
  socket& ref() {
    s().ref();
    return *this;
  }
  /// A bound socket alone no longer keeps the loop alive. Node: socket.unref()
  socket& unref() {
    s().unref();
    return *this;
  }

  // --- addresses and options (errors throw std::system_error, as Node's) ----------------

  /// Throws EBADF before the socket is bound. Node: socket.address()
  address_info address() const { return s().address(); }
  /// Node: socket.setBroadcast()
  socket& set_broadcast(bool flag) {
    s().set_option(asio::socket_base::broadcast(flag), "setBroadcast");
    return *this;
  }
  /// 1..255. Node: socket.setTTL()
  int set_ttl(int ttl) {
    if (ttl < 1 || ttl > 255)
      throw std::system_error(std::make_error_code(std::errc::invalid_argument), "setTTL");
    s().set_option(asio::ip::unicast::hops(ttl), "setTTL");
    return ttl;
  }
  /// 0..255. Node: socket.setMulticastTTL()
  int set_multicast_ttl(int ttl) {
    if (ttl < 0 || ttl > 255)
      throw std::system_error(std::make_error_code(std::errc::invalid_argument), "setMulticastTTL");
    s().set_option(asio::ip::multicast::hops(ttl), "setMulticastTTL");
    return ttl;
  }
  /// Node: socket.setMulticastLoopback()
  bool set_multicast_loopback(bool flag) {
    s().set_option(asio::ip::multicast::enable_loopback(flag), "setMulticastLoopback");
    return flag;
  }
  /// The outgoing interface of multicast: its IPv4 address, or "::%name" for udp6.
  /// Node: socket.setMulticastInterface()
  socket& set_multicast_interface(std::string_view interface_address) {
    s().set_multicast_interface(interface_address);
    return *this;
  }
  /// Joins a group on an interface (its IPv4 address, or "::%name"; "": the kernel's choice).
  /// Node: socket.addMembership(multicastAddress[, multicastInterface])
  socket& add_membership(std::string_view group, std::string_view interface_address = {}) {
    s().membership(true, group, interface_address);
    return *this;
  }
  /// Node: socket.dropMembership(multicastAddress[, multicastInterface])
  socket& drop_membership(std::string_view group, std::string_view interface_address = {}) {
    s().membership(false, group, interface_address);
    return *this;
  }
  /// SO_RCVBUF (Linux reports twice what was set). Node: socket.setRecvBufferSize()
  socket& set_recv_buffer_size(int size) {
    s().set_buffer_size(true, size);
    return *this;
  }
  /// Node: socket.setSendBufferSize()
  socket& set_send_buffer_size(int size) {
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

  explicit operator bool() const noexcept { return static_cast<bool>(s_); }
  friend bool operator==(const socket& a, const socket& b) noexcept { return a.s_ == b.s_; }
  /// The state behind the handle (for netco's own layers).
  const std::shared_ptr<detail::socket_state>& state() const noexcept { return s_; }

 private:
  friend netco::detail::emitter_handle<socket>;
  detail::socket_state& emitter() const { return s(); }
  detail::socket_state& s() const {
    if (!s_) throw std::logic_error("netco: use of an empty dgram::socket handle");
    return *s_;
  }
  std::shared_ptr<detail::socket_state> s_;
};

/// A "message" listener: (buffer, remote_info), or (buffer) alone.
template <class Fn>
concept message_listener = std::is_invocable_v < std::decay_t<Fn>
&, const buffer&, const remote_info& > || std::is_invocable_v<std::decay_t<Fn>&, const buffer&>;

/// A UDP socket on the calling thread's loop; type is "udp4" or "udp6" (anything else throws
/// std::invalid_argument, ERR_SOCKET_BAD_TYPE). It receives once bound.
/// Node: dgram.createSocket(type[, callback]) / dgram.createSocket(options[, callback])
inline socket create_socket(std::string_view type, socket_options options = {}) {
  const bool v6 = type == "udp6";
  if (!v6 && type != "udp4") {
    throw std::invalid_argument(
        "netco: a dgram socket is \"udp4\" or \"udp6\" [ERR_SOCKET_BAD_TYPE]");
  }
  return socket(std::make_shared<detail::socket_state>(loop::current(), v6, options));
}
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
