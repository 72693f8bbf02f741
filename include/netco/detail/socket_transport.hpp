// netco/detail/socket_transport.hpp: the transports under net::socket: netco's own socket
// streams (pooled reads on the reactor, gathered writes) and any other byte_stream
#pragma once
#include <algorithm>     // min
#include <cerrno>        // ENOBUFS
#include <cstddef>       // size_t
#include <memory>        // shared_ptr, make_shared
#include <optional>      // optional: a client's stream exists once connected
#include <span>          // span
#include <system_error>  // error_code
#include <type_traits>   // is_same_v
#include <utility>       // move
#include <vector>        // vector: the addresses a name resolves to

#include "netco/detail/asio.hpp"
#include "netco/detail/buffers.hpp"
#include "netco/detail/pooled_read.hpp"
#include "netco/net/socket.hpp"
#include "netco/resolve.hpp"
#include "netco/spawn.hpp"
#include "netco/stream.hpp"

namespace netco::detail {

/// The address_info of an Asio endpoint (any protocol).
template <class Endpoint>
address_info address_of(const Endpoint& ep) {
  return to_address_info(ep.data(), ep.size());
}

/// net::socket's wait for a readable stream: one that keeps no loop reference where the
/// stream offers it, as the socket counts its pending read itself (and unref() drops that).
template <class Stream>
auto socket_wait_readable(Stream& s, std::error_code& ec) {
  if constexpr (requires { s.wait_readable_unref(ec); })
    return s.wait_readable_unref(ec);
  else
    return s.wait_readable(ec);
}

#if defined(NETCO_HAS_URING)
/// pooled_read on the io_uring engine: a receive that takes one of the ring's provided
/// buffers when data arrives (uring::take_read), so a waiting socket holds none either, and
/// calls owner->read_done as pooled_read does. Embedded in its owner, one read at a time.
template <class Owner>
class ring_read final : uring_op {
 public:
  ring_read() noexcept : uring_op{&complete, &abandon} {}
  ring_read(const ring_read&) = delete;
  ring_read& operator=(const ring_read&) = delete;

  void start(uring& r, int fd, std::shared_ptr<Owner> owner, std::size_t size) {
    io_uring_sqe* sqe = r.entry();
    ring_ = &r;
    fd_ = fd;
    size_ = std::min(size, uring::buffer_size);
    keep_ = std::move(owner);
    prep(sqe);
    r.queue(sqe, this);
  }

 private:
  void prep(io_uring_sqe* sqe) noexcept {
    if (own_) {  // the ring ran out of buffers: this read brought its own
      io_uring_prep_recv(sqe, fd_, own_->data(), size_, 0);
    } else {
      io_uring_prep_recv(sqe, fd_, nullptr, size_, 0);
      sqe->flags |= IOSQE_BUFFER_SELECT;
      sqe->buf_group = uring::buffer_group;
    }
  }
  static void complete(uring_op* base, int result, unsigned flags) {
    auto* self = static_cast<ring_read*>(base);
    if (result == -ENOBUFS && !self->own_) {  // every provided buffer is out: read into one
      self->own_ = spare_blocks::take(self->size_);
      io_uring_sqe* sqe = self->ring_->entry();
      self->prep(sqe);
      self->ring_->queue(sqe, self);
      return;
    }
    std::shared_ptr<Owner> owner = std::move(self->keep_);
    buffer_block* own = std::exchange(self->own_, nullptr);
    if (result > 0) {
      const auto n = static_cast<std::size_t>(result);
      buffer_block* b = own ? spare_blocks::shrink(own, n) : self->ring_->take_read(flags, n);
      owner->read_done({}, b, n);
      return;
    }
    spare_blocks::put_back(own);
    owner->read_done(result == 0 ? std::error_code(asio::error::eof)
                                 : std::error_code(-result, std::system_category()),
                     nullptr, 0);
  }
  static void abandon(uring_op* base) noexcept {
    auto* self = static_cast<ring_read*>(base);
    buffer_block::release(std::exchange(self->own_, nullptr));
    self->keep_.reset();
  }

  uring* ring_ = nullptr;
  std::shared_ptr<Owner> keep_;  // released before the owner hears, so it may read again
  buffer_block* own_ = nullptr;
  std::size_t size_ = 0;
  int fd_ = -1;
};
#endif

/// A socket over one of netco's own socket streams, netco::basic_stream<Protocol>: reads are
/// pooled_read operations on the reactor (no buffer held while waiting), writes one writev.
/// A client's socket exists before its stream: connect() fills it in.
template <class Protocol>
class native_socket_state final : public socket_state {
 public:
  using stream_type = netco::basic_stream<Protocol>;

  native_socket_state(loop& owner, config c) : socket_state(owner, c) {}
  native_socket_state(loop& owner, config c, stream_type s) : socket_state(owner, c) {
    stream_.emplace(std::move(s));
  }

  /// Resolves (off the loop thread) and connects; "lookup", then "connect" or "error".
  task<> connect_to(net::connect_options o);

 protected:
  void transport_read(std::size_t max) override {
#if defined(NETCO_HAS_URING)
    if (uring* r = owner_->ring()) {
      return ring_reader_.start(*r, stream_->asio_socket().native_handle(), shared_from_this(),
                                max);
    }
#endif
    reader_.start(stream_->asio_socket(), shared_from_this(), max);
  }
  std::size_t transport_try_write(std::span<const std::span<const std::byte>> buffers,
                                  std::error_code& ec) override {
    return stream_->try_write_some(buffers, ec);
  }
  void transport_write(std::span<const std::span<const std::byte>> buffers) override {
#if defined(NETCO_HAS_URING)
    if (owner_->ring()) return spawn_now(*owner_, write_rest(shared_from_this(), buffers));
#endif
    asio::async_write(stream_->asio_socket(), gather_buffers(buffers),
                      [self = shared_from_this()](const std::error_code& ec, std::size_t) {
                        self->write_done(normalize(ec));
                      });
  }
  void transport_shutdown_send(std::error_code& ec) override {
    if (stream_) stream_->shutdown_send(ec);
  }
  void transport_close(bool reset) noexcept override {
    if (stream_) {
      if (reset)
        stream_->reset();
      else
        stream_->close();
    }
    if (connecting_socket_) {
#if defined(NETCO_HAS_URING)
      if (uring* r = owner_->ring(); r && connecting_socket_->is_open()) {
        r->cancel_descriptor(connecting_socket_->native_handle());
      }
#endif
      std::error_code ignored;
      connecting_socket_->close(ignored);  // the pending connect ends
    }
  }
  void transport_reset() noexcept override { stream_.reset(); }
  address_info transport_address(bool remote) const override {
    if (!stream_ || !stream_->is_open()) return {};
    std::error_code ec;
    auto ep = remote ? stream_->remote_endpoint(ec) : stream_->local_endpoint(ec);
    return ec ? address_info{} : address_of(ep);
  }
  bool transport_is_tcp() const override {
    if (!stream_ || !stream_->is_open()) return false;
    std::error_code ec;
    auto ep = stream_->local_endpoint(ec);
    return !ec && (ep.data()->sa_family == AF_INET || ep.data()->sa_family == AF_INET6);
  }
  void transport_set_no_delay(bool enable) override {
    std::error_code ignored;
    stream_->asio_socket().set_option(asio::ip::tcp::no_delay(enable), ignored);
  }
  void transport_set_keep_alive(bool enable, int initial_delay_ms) override {
    std::error_code ignored;
    stream_->asio_socket().set_option(asio::socket_base::keep_alive(enable), ignored);
    if (enable && initial_delay_ms >= 1000) {
      stream_->asio_socket().set_option(keep_alive_idle{initial_delay_ms / 1000}, ignored);
    }
  }

 private:
#if defined(NETCO_HAS_URING)
  // What the socket buffer did not take, on the ring: the stream's write waits and sends.
  task<> write_rest(std::shared_ptr<socket_state> self,
                    std::span<const std::span<const std::byte>> buffers) {
    (void)self;
    std::error_code ec;
    co_await stream_->write_all(buffers, ec);
    write_done(ec);
  }
#endif

  std::optional<stream_type> stream_;
  typename stream_type::socket_type* connecting_socket_ = nullptr;  // while connect_to runs
  pooled_read<socket_state> reader_;
#if defined(NETCO_HAS_URING)
  ring_read<socket_state> ring_reader_;
#endif
};

/// A socket over any other byte_stream (a TLS stream, a user's own): a read waits for the
/// stream to be readable, then takes a pooled block and reads what is there; a write is one
/// write_all. Each pending operation is a small coroutine (recycled frames: no allocation).
template <class Stream>
class stream_socket_state final : public socket_state {
 public:
  stream_socket_state(loop& owner, config c, Stream s)
      : socket_state(owner, c), stream_(std::move(s)) {}

 protected:
  void transport_read(std::size_t max) override {
    spawn_now(*owner_, read_one(shared_from_this(), max));
  }
  std::size_t transport_try_write(std::span<const std::span<const std::byte>> buffers,
                                  std::error_code& ec) override {
    return stream_.try_write_some(buffers, ec);
  }
  void transport_write(std::span<const std::span<const std::byte>> buffers) override {
    spawn_now(*owner_, write_all(shared_from_this(), buffers));
  }
  void transport_shutdown_send(std::error_code& ec) override { stream_.shutdown_send(ec); }
  void transport_close(bool reset) noexcept override {
    if constexpr (requires { stream_.reset(); }) {
      if (reset) return stream_.reset();
    }
    (void)reset;
    stream_.close();
  }
  address_info transport_address(bool remote) const override {
    std::error_code ec;
    if constexpr (requires { stream_.remote_endpoint(ec).data(); }) {
      if (!stream_.is_open()) return {};
      auto ep = remote ? stream_.remote_endpoint(ec) : stream_.local_endpoint(ec);
      return ec ? address_info{} : address_of(ep);
    } else {
      return (void)remote, address_info{};
    }
  }
  void transport_set_no_delay(bool enable) override {
    if constexpr (requires { stream_.set_no_delay(enable); }) stream_.set_no_delay(enable);
  }
  void transport_set_keep_alive(bool enable, int initial_delay_ms) override {
    if constexpr (requires { stream_.set_keep_alive(enable, 1); }) {
      stream_.set_keep_alive(enable, initial_delay_ms / 1000);
    }
  }

 private:
  task<> read_one(std::shared_ptr<socket_state> self, std::size_t max) {
    (void)self;
    for (;;) {
      std::error_code ec;
      co_await socket_wait_readable(stream_, ec);
      if (ec) co_return read_done(ec, nullptr, 0);
      buffer_block* b = spare_blocks::take(max);
      const std::size_t n = stream_.try_read_some(std::span(b->data(), max), ec);
      if (ec == std::errc::operation_would_block ||
          ec == std::errc::resource_unavailable_try_again) {
        spare_blocks::put_back(b);  // woken for nothing: wait again
        continue;
      }
      if (ec || n == 0) {
        spare_blocks::put_back(b);
        co_return read_done(ec, nullptr, 0);
      }
      co_return read_done({}, spare_blocks::shrink(b, n), n);
    }
  }
  task<> write_all(std::shared_ptr<socket_state> self,
                   std::span<const std::span<const std::byte>> buffers) {
    (void)self;
    std::error_code ec;
    co_await stream_.write_all(buffers, ec);
    write_done(ec);
  }

  Stream stream_;
};

/// connect_to's: forgets the connecting socket when the coroutine ends, however it ends.
template <class Socket>
struct forget_on_exit {
  Socket*& p;
  ~forget_on_exit() { p = nullptr; }
};

template <class Protocol>
task<> native_socket_state<Protocol>::connect_to(net::connect_options o) {
  static_assert(std::is_same_v<Protocol, asio::generic::stream_protocol>,
                "connect_to makes sockets of either family: net's generic protocol");
  auto self = shared_from_this();
  std::error_code ec;
  typename stream_type::socket_type raw(owner_->context());
  connecting_socket_ = &raw;
  const forget_on_exit<typename stream_type::socket_type> forget{connecting_socket_};
  error_info failure{"connect", o.path, 0};  // what "error" says if the connect fails
  if (!o.path.empty()) {
    co_await connect_awaiter<typename stream_type::socket_type>(
        *owner_, raw, typename Protocol::endpoint(asio::local::stream_protocol::endpoint(o.path)),
        &ec);
    if (destroyed_) co_return;
  } else {
    const bool literal = net::is_ip(o.host) != 0;
    std::vector<asio::ip::tcp::endpoint> targets = co_await resolve(o.host, o.port, ec);
    if (destroyed_) co_return;
    if (ec) failure = {"getaddrinfo", o.host, 0};
    if (!literal) {
      const std::string address = ec ? std::string() : targets.front().address().to_string();
      const int family = ec ? 0 : targets.front().address().is_v4() ? 4 : 6;
      emit_event<"lookup">(normalize(ec), std::string_view(address), family,
                           std::string_view(o.host));
      if (destroyed_) co_return;
    }
    for (const auto& target : targets) {
      failure = {"connect", target.address().to_string(), target.port()};
      if (raw.is_open()) {
        std::error_code ignored;
        raw.close(ignored);
      }
      co_await connect_awaiter<typename stream_type::socket_type>(
          *owner_, raw, typename Protocol::endpoint(target), &ec);
      if (destroyed_) co_return;
      if (!ec) break;
    }
  }
  if (ec) {
    destroy(ec, false, std::move(failure));  // "error", then "close" with had_error
    co_return;
  }
  stream_.emplace(*owner_, std::move(raw));  // non-blocking from here on
  connected();
}

template <class Stream>
inline constexpr bool is_native_stream = false;
template <class Protocol>
inline constexpr bool is_native_stream<netco::basic_stream<Protocol>> = true;

/// The state of net::socket::over(stream): open, reading once it flows.
template <class Stream>
std::shared_ptr<socket_state> make_socket_over(Stream stream, const net::socket_options& o) {
  static_assert(byte_stream<Stream>,
                "netco: net::socket::over needs a byte_stream (netco/stream.hpp says what one "
                "must do)");
  loop& owner = stream.owner();
  const socket_state::config c{o.allow_half_open, o.high_water_mark, o.read_buffer_size};
  std::shared_ptr<socket_state> st;
  if constexpr (is_native_stream<Stream>) {
    st = std::make_shared<native_socket_state<typename Stream::protocol_type>>(owner, c,
                                                                               std::move(stream));
  } else {
    st = std::make_shared<stream_socket_state<Stream>>(owner, c, std::move(stream));
  }
  st->accepted(false);
  st->start_flowing_later();
  return st;
}

}  // namespace netco::detail

namespace netco::net {
// Here rather than in net/socket.hpp, so that either header may be included first.
template <class Stream>
socket socket::over(Stream stream, socket_options options) {
  return socket(netco::detail::make_socket_over(std::move(stream), options));
}
}  // namespace netco::net
