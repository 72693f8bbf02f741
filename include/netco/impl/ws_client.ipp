// netco/impl/ws_client.ipp: the out-of-line parts of netco/ws/client.hpp: inline in every
// translation unit when header-only, compiled once (by <netco/impl/src.hpp>) under
// NETCO_SEPARATE_COMPILATION
#pragma once
#include "netco/http/headers.hpp"
#include "netco/ws/client.hpp"
#include "netco/ws/handshake.hpp"

namespace netco::detail {

NETCO_DECL std::error_code ws_client_transport(const url& u, const ws::client_options& o,
                                               std::shared_ptr<socket_state>& out) {
  if (u.protocol() == "wss:") {
    if (!ws_wss_transport) return ws::errc::unsupported_scheme;
    return ws_wss_transport(u, o, out);
  }
  if (u.protocol() != "ws:") return ws::errc::unsupported_scheme;
  std::string_view host = u.hostname();
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);  // IPv6
  net::connect_options c;
  c.host.assign(host);
  c.port = u.port_number();
  c.no_delay = true;
  out = net::create_connection(std::move(c)).state();
  return {};
}

}  // namespace netco::detail

namespace netco::ws {

NETCO_DECL socket create_socket(std::string_view address, const client_options& options) {
  ws::socket_options so{.max_payload = options.max_payload,
                        .max_fragments = options.max_fragments,
                        .high_water_mark = options.high_water_mark,
                        .close_timeout = options.close_timeout,
                        .ping_interval = options.ping_interval,
                        .auto_pong = options.auto_pong,
                        .skip_utf8_validation = options.skip_utf8_validation};
  auto ws = std::make_shared<netco::detail::ws_socket_state>(role::client, so);
  ws->details().url.assign(address);
  const std::optional<url> u = url::parse(address);
  if (!u || !u->hash().empty()) {
    ws->fail_early(errc::invalid_url);
    return socket(ws);
  }
  std::shared_ptr<netco::detail::socket_state> sock;
  if (auto ec = netco::detail::ws_client_transport(*u, options, sock)) {
    ws->fail_early(ec);
    return socket(ws);
  }
  auto hs = std::make_unique<netco::detail::ws_client_handshake>();
  hs->key = generate_key();
  hs->protocols = options.protocols;
  std::string req = "GET ";
  req.append(u->path_and_query().empty() ? std::string_view("/") : u->path_and_query());
  req.append(" HTTP/1.1\r\nHost: ").append(u->host());
  req.append("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
  req.append(hs->key).append("\r\nSec-WebSocket-Version: 13\r\n");
  if (!options.protocols.empty()) {
    std::vector<std::string_view> views(options.protocols.begin(), options.protocols.end());
    req.append("Sec-WebSocket-Protocol: ").append(format_protocols(views)).append("\r\n");
  }
  if (options.per_message_deflate && deflate_supported) {
    hs->deflate = options.per_message_deflate;
    req.append("Sec-WebSocket-Extensions: ")
        .append(deflate_offer(*options.per_message_deflate))
        .append("\r\n");
  }
  if (!options.origin.empty()) req.append("Origin: ").append(options.origin).append("\r\n");
  for (const auto& [name, value] : options.headers) {
    netco::detail::check_field(name, value);
    req.append(name).append(": ").append(value).append("\r\n");
  }
  req.append("\r\n");
  ws->start_client(std::move(sock), req, std::move(hs), options.handshake_timeout);
  return socket(ws);
}

NETCO_DECL task<stream> connect(std::string address, const client_options& options) {
  // NOTE: not a coroutine itself: GCC 12 frees a by-value coroutine parameter with a
  // defaulted argument twice (seen here as free(): invalid pointer); the socket is made now,
  // and only the wait is a coroutine.
  socket s = create_socket(address, options);
  s.state()->pull_ = true;
  return netco::detail::ws_socket_state::open_stream(s.state());
}

}  // namespace netco::ws
