// netco/tls/server.hpp: Node's tls.Server (tls::server, tls::create_server) on net's one
// listening core: every accepted socket is handshaken, then "secureConnection"
#pragma once
#include <array>         // array: ticket keys
#include <chrono>        // milliseconds: the handshake timeout
#include <cstddef>       // byte
#include <memory>        // shared_ptr
#include <span>          // span
#include <string>        // string
#include <system_error>  // error_code
#include <type_traits>   // is_invocable_v
#include <utility>       // move

#include "netco/buffer.hpp"
#include "netco/detail/decl.hpp"
#include "netco/detail/small_function.hpp"
#include "netco/net/server.hpp"
#include "netco/net/socket.hpp"
#include "netco/tls/context.hpp"
#include "netco/tls/socket.hpp"

namespace netco::tls {

/// Node: tls.createServer(options): the secure context's options (or a context made
/// already), the handshake timeout, and net's server options.
struct server_options {
  context_options tls = {};  ///< key, cert, ca, request_cert, ALPN, SNI, sessions...
  /// Used instead of a context made of tls when given (add_context then throws).
  secure_context context = {};
  /// Then "tlsClientError"(handshake_timeout) and the socket closes.
  /// Node: handshakeTimeout
  std::chrono::milliseconds handshake_timeout{120000};
  net::server_options net = {};
};

}  // namespace netco::tls

namespace netco::detail {

/// What a TLS server (tls::server, https::server) keeps: its context, the table behind
/// add_context, and the handshake timeout.
struct tls_server_side {
  tls::secure_context context;
  tls::sni_table sni;
  bool own_sni = false;  // sni is the context's sni_callback: add_context works
  std::chrono::milliseconds handshake_timeout{120000};

  /// Makes the context of options (a given one, or one with an SNI table of its own).
  /// Throws std::system_error for a key or certificate OpenSSL refuses.
  NETCO_DECL void configure(const tls::server_options& options);
  /// The TLS socket of a connection just accepted (server_core::make_connection).
  NETCO_DECL std::shared_ptr<socket_state> make(loop& owner, net_stream peer,
                                                const socket_state::config& c) const;
  /// Runs the handshake of s (a socket make() made), then done(ec).
  NETCO_DECL void handshake(const std::shared_ptr<socket_state>& s,
                            small_function<void(std::error_code)> done) const;
  NETCO_DECL void add_context(std::string hostname, const tls::secure_context& ctx) const;
};

/// The events tls::server adds to net.Server's.
using tls_server_base = basic_server_state<event<"secureConnection", tls::socket>,
                                           event<"tlsClientError", std::error_code, net::socket>,
                                           event<"keylog", buffer, tls::socket>>;

/// The shared state behind tls::server handles: net's listening core whose connections are
/// TLS sockets, handshaken (with the timeout) before the user sees them. Loop thread only.
class tls_server_state final : public tls_server_base {
 public:
  NETCO_DECL tls_server_state(loop& owner, const tls::server_options& o);

  tls_server_side tls_;

 protected:
  NETCO_DECL std::shared_ptr<socket_state> make_connection(net_stream peer,
                                                           const socket_state::config& c) override;
  NETCO_DECL void on_connection(const std::shared_ptr<socket_state>& s) override;
};

}  // namespace netco::detail

namespace netco::tls {

/// A TLS server: a net server (listen, close, address, max_connections...) whose events add
/// "secureConnection"(tls::socket) after each handshake, "tlsClientError"(error_code,
/// net::socket) for each failed one (the socket is then closed; the server goes on) and
/// "keylog"(buffer line, tls::socket). A cheap handle.
/// Node: tls.Server
class server : public netco::detail::basic_server<server, netco::detail::tls_server_state> {
 public:
  static constexpr const char* kind = "tls::server";
  server() = default;
  explicit server(std::shared_ptr<netco::detail::tls_server_state> s) noexcept
      : basic_server(std::move(s)) {}

  /// Serves hostname (SNI; "*.example.com" matches one label) with context. Throws
  /// std::logic_error when the server was given a context of its own.
  /// Node: server.addContext()
  const server& add_context(std::string hostname, const secure_context& context) const {
    s().tls_.add_context(std::move(hostname), context);
    return *this;
  }
  /// Node: server.getTicketKeys()
  std::array<std::byte, 48> get_ticket_keys() const { return s().tls_.context.get_ticket_keys(); }
  /// Throws std::system_error unless 48 bytes.
  /// Node: server.setTicketKeys()
  const server& set_ticket_keys(std::span<const std::byte> keys) const {
    s().tls_.context.set_ticket_keys(keys);
    return *this;
  }
  /// The server's context. Node: (the secureContext option)
  const secure_context& context() const { return s().tls_.context; }
};

/// A TLS server on the calling thread's loop; throws std::system_error for a key or
/// certificate OpenSSL refuses.
/// Node: tls.createServer([options][, secureConnectionListener])
NETCO_DECL server create_server(const server_options& options);
template <class Fn>
requires std::is_invocable_v<Fn&, socket> server create_server(const server_options& options,
                                                               Fn&& secure_connection_listener) {
  server s = create_server(options);
  s.on("secureConnection", std::forward<Fn>(secure_connection_listener));
  return s;
}

}  // namespace netco::tls

#if !defined(NETCO_SEPARATE_COMPILATION)
#include "netco/impl/tls_server.ipp"
#endif
