// netco/tls/socket.hpp: Node's tls.TLSSocket (tls::socket, a net::socket over a tls::stream)
// and tls.connect()
#pragma once
#include <chrono>        // milliseconds: the handshake timeout
#include <concepts>      // invocable: connect's callback
#include <cstdint>       // uint16_t
#include <functional>    // function: check_server_identity
#include <memory>        // shared_ptr
#include <optional>      // optional: a client's stream exists once connected
#include <span>          // span
#include <string>        // string
#include <string_view>   // string_view
#include <system_error>  // error_code
#include <utility>       // move
#include <vector>        // vector: ALPN protocols

#include "netco/buffer.hpp"
#include "netco/detail/asio.hpp"
#include "netco/detail/decl.hpp"
#include "netco/detail/small_function.hpp"
#include "netco/net/socket.hpp"
#include "netco/stream.hpp"
#include "netco/task.hpp"
#include "netco/tls/certificate.hpp"
#include "netco/tls/context.hpp"
#include "netco/tls/engine.hpp"
#include "netco/tls/error.hpp"
#include "netco/tls/stream.hpp"

namespace netco::tls {

/// Node: tls.connect(options). What a plain net socket takes, and what TLS adds.
struct connect_options {
  std::string host = "localhost";  ///< connected to, verified, and sent as SNI (not an IP)
  std::uint16_t port = 0;
  std::string servername = {};  ///< SNI and the name verified, instead of host
  /// The client context (trust, client certificate, versions); empty: one with the system
  /// roots, made once per process.
  /// Node: secureContext
  secure_context context = {};
  bool reject_unauthorized = true;               ///< false: go on unverified (authorized() tells)
  buffer session = {};                           ///< a get_session() to resume
  std::vector<std::string> alpn_protocols = {};  ///< Node: ALPNProtocols
  /// Node: checkServerIdentity(host, cert); empty: tls::check_server_identity
  server_identity_check check_server_identity = {};
  std::chrono::milliseconds handshake_timeout{120000};  ///< then "error" (handshake_timeout)
  bool allow_half_open = false;
  bool no_delay = true;                  ///< TCP_NODELAY (Node: noDelay, false; true here)
  std::chrono::milliseconds timeout{0};  ///< as set_timeout(), armed at once
  std::size_t high_water_mark = 64 * 1024;
  std::size_t read_buffer_size = 64 * 1024;
};

}  // namespace netco::tls

namespace netco::detail {

/// The stream under every tls::socket: a TLS stream over a socket of either family.
using tls_net_stream = tls::stream<netco::basic_stream<asio::generic::stream_protocol>>;

/// The client context of connect_options without one: the system roots, loaded once.
NETCO_DECL const tls::secure_context& tls_default_client_context();

/// A net::socket's state over a TLS stream: socket_state's transports over tls::stream (a
/// read waits for the stream, then decrypts into a pooled block; a batch of writes is one
/// write_all, one gathered write of ciphertext). A client's stream exists once connected.
/// Loop thread only.
class tls_socket_state final : public socket_state {
 public:
  NETCO_DECL tls_socket_state(loop& owner, config c);
  NETCO_DECL tls_socket_state(loop& owner, config c, tls_net_stream s);
  NETCO_DECL ~tls_socket_state() override;

  /// Client: connects, handshakes, then "connect", "ready", "secureConnect"; or "error".
  NETCO_DECL task<> connect_to(std::shared_ptr<socket_state> self, tls::connect_options o);
  /// Server: runs the handshake within timeout, then done(ec) (not if the socket was
  /// destroyed meanwhile). Reading starts only after it, from start_flowing_later().
  NETCO_DECL task<> handshake_then(std::shared_ptr<socket_state> self,
                                   std::chrono::milliseconds timeout,
                                   small_function<void(std::error_code)> done);
  /// The engine (peer information); nullptr before a client connected.
  tls::engine* engine() noexcept { return stream_ ? &stream_->get_engine() : nullptr; }
  /// "keylog" and "session" listeners get the engine's lines and sessions.
  NETCO_DECL void forward_engine_events();

  bool secure_ = false;  ///< the handshake is done

 protected:
  NETCO_DECL void transport_read(std::size_t max) override;
  std::size_t transport_try_write(std::span<const std::span<const std::byte>>,
                                  std::error_code& ec) override {
    ec.clear();
    return 0;  // a TLS stream takes writes only whole (write_all): see tls::stream
  }
  NETCO_DECL void transport_write(std::span<const std::span<const std::byte>> buffers) override;
  NETCO_DECL void transport_shutdown_send(std::error_code& ec) override;
  NETCO_DECL void transport_close(bool reset) noexcept override;
  NETCO_DECL void transport_reset() noexcept override;
  NETCO_DECL address_info transport_address(bool remote) const override;
  NETCO_DECL bool transport_is_tcp() const override;
  NETCO_DECL void transport_set_no_delay(bool enable) override;
  NETCO_DECL void transport_set_keep_alive(bool enable, int initial_delay_ms) override;

 private:
  task<> read_one(std::shared_ptr<socket_state> self, std::size_t max);
  task<> write_all(std::shared_ptr<socket_state> self,
                   std::span<const std::span<const std::byte>> buffers);

  std::optional<tls_net_stream> stream_;
  bool connect_pending_ = false;  // connect_to is waiting for TCP
};

}  // namespace netco::detail

namespace netco::tls {

/// A TLS connection with Node's net.Socket API and events (it is a net::socket: write, end,
/// "data", "end", "close"...) plus "secureConnect" (client: the handshake is done),
/// "keylog"(buffer line) and "session"(buffer session). A cheap handle; loop thread only.
/// Node: tls.TLSSocket
class socket : public net::socket {
 public:
  socket() = default;
  /// The TLS socket behind s; an empty handle when s is no TLS socket.
  NETCO_DECL explicit socket(const net::socket& s);

  /// Client: the server's certificate verified and named the host; server: a requested client
  /// certificate verified.
  /// Node: tlsSocket.authorized
  bool authorized() const { return e() && e()->authorized(); }
  /// Why not, as Node's code ("" when authorized).
  /// Node: tlsSocket.authorizationError
  std::string authorization_error() const { return e() ? e()->authorization_error() : ""; }
  /// Node: tlsSocket.getPeerCertificate()
  certificate get_peer_certificate() const {
    return e() ? e()->get_peer_certificate() : certificate{};
  }
  /// Node: tlsSocket.getCertificate()
  certificate get_certificate() const { return e() ? e()->get_certificate() : certificate{}; }
  /// "TLSv1.3", "TLSv1.2"; empty before the handshake.
  /// Node: tlsSocket.getProtocol()
  std::string_view get_protocol() const { return e() ? e()->get_protocol() : std::string_view(); }
  /// Node: tlsSocket.getCipher()
  cipher_info get_cipher() const { return e() ? e()->get_cipher() : cipher_info{}; }
  /// Empty when ALPN chose none (Node: false).
  /// Node: tlsSocket.alpnProtocol
  std::string_view alpn_protocol() const { return e() ? e()->alpn_protocol() : std::string_view(); }
  /// Node: tlsSocket.servername
  std::string_view servername() const { return e() ? e()->servername() : std::string_view(); }
  /// Node: tlsSocket.getSession()
  buffer get_session() const { return e() ? e()->get_session() : buffer(); }
  /// Node: tlsSocket.isSessionReused()
  bool is_session_reused() const { return e() && e()->is_session_reused(); }
  /// Node: tlsSocket.encrypted
  bool encrypted() const noexcept { return true; }
  /// The handshake is done (Node: tlsSocket._secureEstablished).
  bool secure() const { return t() && t()->secure_; }

 private:
  netco::detail::tls_socket_state* t() const;
  tls::engine* e() const {
    auto* st = t();
    return st ? st->engine() : nullptr;
  }
};

/// Connects and runs the client handshake: "connect" and "ready" (once secure, unlike Node),
/// then "secureConnect"; a failure (connect, handshake, verification: Node's codes, see
/// tls::node_code) is "error" then "close"(true). Writes before it are queued.
/// Node: tls.connect(options[, callback])
NETCO_DECL socket connect(connect_options options);
template <std::invocable<> Fn>
socket connect(connect_options options, Fn&& on_secure_connect) {
  socket s = connect(std::move(options));
  s.once("secureConnect", std::function<void()>(std::forward<Fn>(on_secure_connect)));
  return s;
}
/// Node: tls.connect(port[, host][, options][, callback])
inline socket connect(std::uint16_t port, std::string_view host = "localhost") {
  connect_options o;
  o.port = port;
  o.host = std::string(host);
  return connect(std::move(o));
}

}  // namespace netco::tls

#if !defined(NETCO_SEPARATE_COMPILATION)
#include "netco/impl/tls_socket.ipp"
#endif
