// netco/ws/client.hpp: WebSocket clients: ws::create_socket / ws::connect (the ws package's
// new WebSocket(url)), and co_await ws::connect(url) for a ws::stream
#pragma once
#include <chrono>        // milliseconds: timeouts
#include <cstddef>       // size_t
#include <memory>        // shared_ptr
#include <optional>      // optional: deflate
#include <string>        // string
#include <string_view>   // string_view
#include <system_error>  // error_code
#include <type_traits>   // is_invocable_v
#include <utility>       // pair, move
#include <vector>        // vector: protocols, headers

#include "netco/detail/decl.hpp"
#include "netco/net/socket.hpp"
#include "netco/task.hpp"
#include "netco/url.hpp"
#include "netco/ws/deflate.hpp"
#include "netco/ws/socket.hpp"

namespace netco::tls {
class secure_context;  // netco/tls/context.hpp: only wss:// (netco/ws/wss.hpp) needs it whole
}  // namespace netco::tls

namespace netco::ws {

/// wss:// only: what the TLS connection (tls::connect) gets. wss:// needs netco/ws/wss.hpp
/// included and netco_tls_dep (OpenSSL) linked; the host name is verified as https's is.
/// Node: new WebSocket('wss://...', { ca, cert, key, rejectUnauthorized, servername })
struct client_tls_options {
  /// Trust anchors (PEM text) instead of the system roots. Node: ca
  std::vector<std::string> ca = {};
  std::string cert = {};  ///< a client certificate chain (PEM). Node: cert
  std::string key = {};   ///< its private key (PEM). Node: key
  /// Used instead of ca/cert/key: one context shared by many connections (a context made per
  /// connection costs OpenSSL 3 a millisecond or more). Node: secureContext
  std::shared_ptr<const tls::secure_context> context = {};
  /// false: go on with a certificate that does not verify (say so loudly).
  /// Node: rejectUnauthorized
  bool reject_unauthorized = true;
  std::string servername = {};  ///< SNI and the name verified instead of the URL's host
};

/// Node: new WebSocket(address, protocols, options)
struct client_options {
  std::vector<std::string> protocols = {};  ///< offered subprotocols (Sec-WebSocket-Protocol)
  std::vector<std::pair<std::string, std::string>> headers = {};  ///< more request headers
  std::string origin = {};                                        ///< an Origin header ("": none)
  /// "error"(handshake_timeout) when no 101 came by then; 0: none. Node: handshakeTimeout
  std::chrono::milliseconds handshake_timeout{30'000};
  /// Opt-in compression (ws offers it by default; netco does not, for memory's sake).
  /// Node: perMessageDeflate
  std::optional<deflate_options> per_message_deflate = {};
  std::size_t max_payload = 16 * 1024 * 1024;  ///< Node: maxPayload (ws: 100 MiB)
  std::size_t max_fragments = 16 * 1024;
  std::size_t high_water_mark = 64 * 1024;
  std::chrono::milliseconds close_timeout{30'000};  ///< Node: closeTimeout
  std::chrono::milliseconds ping_interval{0};
  bool auto_pong = true;  ///< Node: autoPong
  bool skip_utf8_validation = false;
  client_tls_options tls = {};  ///< wss:// only
};

/// Connects to a ws:// or wss:// URL; "upgrade"(res) and "open" follow, or "error" (only to
/// listeners) and "close"(1006). wss:// without netco/ws/wss.hpp, and other schemes, are
/// unsupported_scheme; URLs that do not parse are invalid_url. Node: new WebSocket(url)
NETCO_DECL socket create_socket(std::string_view url, const client_options& options);
inline socket create_socket(std::string_view url) { return create_socket(url, client_options()); }

/// create_socket with an "open" listener. Node: new WebSocket(url).on('open', cb)
template <class Fn>
requires std::is_invocable_v<Fn&> socket connect(std::string_view url,
                                                 const client_options& options, Fn&& on_open) {
  socket s = create_socket(url, options);
  s.once("open", std::forward<Fn>(on_open));
  return s;
}

/// Coroutine style: resumes once the connection is open, or throws std::system_error with
/// why it is not (unexpected_response, refused connection, timeout...).
NETCO_DECL task<stream> connect(std::string url, const client_options& options);
// NOTE: an overload, not a defaulted argument: GCC 12 copies a defaulted class-type argument
// of a call inside a coroutine bytewise (its strings then free a wrong pointer).
inline task<stream> connect(std::string url) { return connect(std::move(url), client_options()); }

}  // namespace netco::ws

namespace netco::detail {

/// wss://'s transport (a tls::socket, a net::socket over a TLS stream), once netco/ws/wss.hpp
/// is included: the TLS layer and OpenSSL stay out of programs that only speak ws://.
inline std::error_code (*ws_wss_transport)(const url& u, const ws::client_options& o,
                                           std::shared_ptr<socket_state>& out) = nullptr;

/// The one place where a client picks its transport, by the URL's scheme: TCP for ws://,
/// ws_wss_transport for wss:// (unsupported_scheme without it).
NETCO_DECL std::error_code ws_client_transport(const url& u, const ws::client_options& o,
                                               std::shared_ptr<socket_state>& out);

}  // namespace netco::detail

#if !defined(NETCO_SEPARATE_COMPILATION)
#include "netco/impl/ws_client.ipp"
#endif
