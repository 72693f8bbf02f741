// netco/ws/wss.hpp: WebSocket over TLS: wss:// for ws clients, and a ws::server on its own
// TLS port (link netco_tls_dep: OpenSSL 3)
#pragma once
#include <memory>        // shared_ptr
#include <system_error>  // error_code
#include <type_traits>   // is_invocable_v
#include <utility>       // forward

#include "netco/detail/decl.hpp"
#include "netco/https.hpp"
#include "netco/net/socket.hpp"
#include "netco/tls.hpp"
#include "netco/url.hpp"
#include "netco/ws/client.hpp"
#include "netco/ws/server.hpp"

// Including this header is what makes wss:// URLs work in ws::create_socket / ws::connect
// (ws/client.hpp alone refuses them, so that ws:// programs need no OpenSSL). A ws::server
// attached to an https::server ({.server = https_server}) needs nothing from here but
// verify_info::secure, which this header sets.

namespace netco::detail {

/// wss://'s transport: a tls::socket to the URL's host and port (443 by default), verifying
/// the certificate and the host name unless o.tls says otherwise.
NETCO_DECL std::error_code ws_wss_connect(const url& u, const ws::client_options& o,
                                          std::shared_ptr<socket_state>& out);
/// Whether s is a TLS socket (verify_info::secure).
NETCO_DECL bool ws_socket_is_tls(const socket_state& s) noexcept;

}  // namespace netco::detail

namespace netco::ws {

/// A WebSocket server on its own TLS port (options.port): an https::server made of tls,
/// answering plain HTTPS requests with 426. Throws std::invalid_argument without a port,
/// std::system_error for a key or certificate OpenSSL refuses.
/// Node: new WebSocketServer({ server }) on an https.createServer()
NETCO_DECL server create_server(const server_options& options, const https::server_options& tls);
/// With a "connection" listener, as create_server(options, on_connection).
template <class Fn>
requires std::is_invocable_v<Fn&, const ws::socket&, const http::incoming_message&> server
create_server(const server_options& options, const https::server_options& tls, Fn&& on_connection) {
  server s = create_server(options, tls);
  s.on("connection",
       [fn = std::forward<Fn>(on_connection)](
           const ws::socket& ws, const http::incoming_message& req) mutable { fn(ws, req); });
  return s;
}

}  // namespace netco::ws

#if !defined(NETCO_SEPARATE_COMPILATION)
#include "netco/impl/ws_wss.ipp"
#endif
