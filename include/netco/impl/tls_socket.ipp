// netco/impl/tls_socket.ipp: the out-of-line parts of netco/tls/socket.hpp
#pragma once
#include <sys/socket.h>  // AF_INET, AF_INET6

#include "netco/detail/socket_transport.hpp"
#include "netco/spawn.hpp"
#include "netco/tcp.hpp"
#include "netco/tls/socket.hpp"

namespace netco::detail {

NETCO_DECL const tls::secure_context& tls_default_client_context() {
  // Made once: loading the system roots costs OpenSSL 3.0 a large part of a second.
  static const tls::secure_context context{tls::context_options{}};
  return context;
}

NETCO_DECL tls_socket_state::tls_socket_state(loop& owner, config c) : socket_state(owner, c) {}

NETCO_DECL tls_socket_state::tls_socket_state(loop& owner, config c, tls_net_stream s)
    : socket_state(owner, c) {
  stream_.emplace(std::move(s));
}

NETCO_DECL tls_socket_state::~tls_socket_state() = default;

NETCO_DECL void tls_socket_state::forward_engine_events() {
  if (!stream_) return;
  // The engine lives in this state: its callbacks may name it.
  stream_->get_engine().on_keylog([this](std::string_view line) {
    if (listener_count("keylog") > 0) emit("keylog", buffer::from(line));
  });
  stream_->get_engine().on_session([this](buffer session) {
    if (listener_count("session") > 0) emit("session", std::move(session));
  });
}

NETCO_DECL task<> tls_socket_state::connect_to(std::shared_ptr<socket_state> self,
                                               tls::connect_options o) {
  (void)self;
  std::error_code ec;
  connect_pending_ = true;
  const std::string host = o.host;
  tcp::stream tcp_stream = co_await tcp::connect(host, o.port, ec);
  connect_pending_ = false;
  if (destroyed_) co_return;
  if (ec) {
    destroy(ec, false, error_info{"connect", host, o.port});
    co_return;
  }
  // A socket of either family, as net's own: the same stream type for clients and servers.
  typename netco::basic_stream<asio::generic::stream_protocol>::socket_type generic(
      std::move(tcp_stream.asio_socket()));
  netco::basic_stream<asio::generic::stream_protocol> next(*owner_, std::move(generic));
  if (o.no_delay) {  // the handshake's flights too, not only what follows it
    std::error_code ignored;
    next.asio_socket().set_option(asio::ip::tcp::no_delay(true), ignored);
  }
  tls::client_options co;
  co.host = o.host;
  co.servername = std::move(o.servername);
  co.session = std::move(o.session);
  co.alpn_protocols = std::move(o.alpn_protocols);
  co.reject_unauthorized = o.reject_unauthorized;
  co.check_server_identity = std::move(o.check_server_identity);
  const tls::secure_context& ctx = o.context ? o.context : tls_default_client_context();
  try {
    stream_.emplace(tls_net_stream::client(std::move(next), ctx, std::move(co)));
  } catch (const std::system_error& e) {  // a session that does not parse, an empty context
    destroy(e.code(), false, error_info{"connect", host, o.port});
    co_return;
  }
  forward_engine_events();
  co_await stream_->handshake(ec, o.handshake_timeout);
  if (destroyed_) co_return;
  if (ec) {
    destroy(ec, false, error_info{"connect", host, o.port});
    co_return;
  }
  secure_ = true;
  connected();
  if (destroyed_) co_return;
  emit("secureConnect");
}

NETCO_DECL task<> tls_socket_state::handshake_then(std::shared_ptr<socket_state> self,
                                                   std::chrono::milliseconds timeout,
                                                   small_function<void(std::error_code)> done) {
  (void)self;
  std::error_code ec;
  co_await stream_->handshake(ec, timeout);
  if (destroyed_) co_return;  // closed meanwhile (the server's close_all_connections)
  secure_ = !ec;
  done(ec);
}

NETCO_DECL void tls_socket_state::transport_read(std::size_t max) {
  spawn_now(*owner_, read_one(shared_from_this(), max));
}

NETCO_DECL task<> tls_socket_state::read_one(std::shared_ptr<socket_state> self, std::size_t max) {
  (void)self;
  for (;;) {
    std::error_code ec;
    co_await socket_wait_readable(*stream_, ec);  // counted by the socket (unref() works)
    if (ec) co_return read_done(ec, nullptr, 0);
    buffer_block* b = spare_blocks::take(max);
    const std::size_t n = stream_->try_read_some(std::span(b->data(), max), ec);
    if (ec == std::errc::operation_would_block || ec == std::errc::resource_unavailable_try_again) {
      spare_blocks::put_back(b);  // half a record: wait for the rest
      continue;
    }
    if (ec || n == 0) {
      spare_blocks::put_back(b);
      co_return read_done(ec, nullptr, 0);
    }
    co_return read_done({}, spare_blocks::shrink(b, n), n);
  }
}

NETCO_DECL void tls_socket_state::transport_write(
    std::span<const std::span<const std::byte>> buffers) {
  spawn_now(*owner_, write_all(shared_from_this(), buffers));
}

NETCO_DECL task<> tls_socket_state::write_all(std::shared_ptr<socket_state> self,
                                              std::span<const std::span<const std::byte>> buffers) {
  (void)self;
  std::error_code ec;
  co_await stream_->write_all(buffers, ec);
  write_done(ec);
}

NETCO_DECL void tls_socket_state::transport_shutdown_send(std::error_code& ec) {
  if (stream_) stream_->shutdown_send(ec);
}

NETCO_DECL void tls_socket_state::transport_close(bool reset) noexcept {
  if (!stream_) return;  // a pending TCP connect finds destroyed_ when it completes
  if (reset)
    stream_->reset();
  else
    stream_->close();
}

NETCO_DECL void tls_socket_state::transport_reset() noexcept { stream_.reset(); }

NETCO_DECL address_info tls_socket_state::transport_address(bool remote) const {
  if (!stream_ || !stream_->is_open()) return {};
  std::error_code ec;
  auto ep = remote ? stream_->remote_endpoint(ec) : stream_->local_endpoint(ec);
  return ec ? address_info{} : address_of(ep);
}

NETCO_DECL bool tls_socket_state::transport_is_tcp() const {
  if (!stream_ || !stream_->is_open()) return false;
  std::error_code ec;
  auto ep = stream_->local_endpoint(ec);
  return !ec && (ep.data()->sa_family == AF_INET || ep.data()->sa_family == AF_INET6);
}

NETCO_DECL void tls_socket_state::transport_set_no_delay(bool enable) {
  if (!stream_) return;
  std::error_code ignored;
  stream_->next_layer().asio_socket().set_option(asio::ip::tcp::no_delay(enable), ignored);
}

NETCO_DECL void tls_socket_state::transport_set_keep_alive(bool enable, int initial_delay_ms) {
  if (!stream_) return;
  std::error_code ignored;
  auto& raw = stream_->next_layer().asio_socket();
  raw.set_option(asio::socket_base::keep_alive(enable), ignored);
  if (enable && initial_delay_ms >= 1000)
    raw.set_option(keep_alive_idle{initial_delay_ms / 1000}, ignored);
}

}  // namespace netco::detail

namespace netco::tls {

NETCO_DECL socket::socket(const net::socket& s) {
  if (std::dynamic_pointer_cast<netco::detail::tls_socket_state>(s.state())) s_ = s.state();
}

NETCO_DECL netco::detail::tls_socket_state* socket::t() const {
  return static_cast<netco::detail::tls_socket_state*>(&s());
}

NETCO_DECL socket connect(connect_options options) {
  loop& owner = loop::current();
  netco::detail::socket_state::config c{options.allow_half_open, options.high_water_mark,
                                        options.read_buffer_size};
  auto st = std::make_shared<netco::detail::tls_socket_state>(owner, c);
  socket handle(net::socket{st});
  if (options.no_delay) st->set_no_delay(true);
  if (options.timeout.count() > 0) st->set_timeout(options.timeout);
  st->connecting_ = true;
  std::shared_ptr<netco::detail::socket_state> self = st;
  // NOTE: the task is made first: GCC 12 copies class temporaries of a call's arguments in a
  // coroutine expression bit by bit.
  task<> t = st->connect_to(std::move(self), std::move(options));
  netco::detail::spawn_now(owner, std::move(t));
  return handle;
}

}  // namespace netco::tls
