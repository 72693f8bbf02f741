// netco/impl/ws_wss.ipp: the out-of-line parts of netco/ws/wss.hpp: inline in every translation
// unit when header-only, compiled once (by <netco/impl/src.hpp>, with NETCO_HAS_TLS) under
// NETCO_SEPARATE_COMPILATION
#pragma once
#include <stdexcept>  // invalid_argument
#include <string>     // string
#include <utility>    // move

#include "netco/ws/wss.hpp"

namespace netco::detail {

NETCO_DECL std::error_code ws_wss_connect(const url& u, const ws::client_options& o,
                                          std::shared_ptr<socket_state>& out) {
  std::string_view host = u.hostname();
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);  // IPv6
  tls::connect_options c;
  c.host.assign(host);
  c.port = u.port_number();
  c.servername = o.tls.servername;
  c.reject_unauthorized = o.tls.reject_unauthorized;
  c.no_delay = true;
  c.high_water_mark = o.high_water_mark;
  if (o.tls.context) {
    c.context = *o.tls.context;
  } else if (!o.tls.ca.empty() || !o.tls.cert.empty()) {
    tls::context_options t;
    t.ca.assign(o.tls.ca.begin(), o.tls.ca.end());
    t.cert = o.tls.cert;
    t.key = o.tls.key;
    std::error_code ec;
    c.context = tls::secure_context(t, ec);
    if (ec) return ec;
  }
  out = tls::connect(std::move(c)).state();
  return {};
}

NETCO_DECL bool ws_socket_is_tls(const socket_state& s) noexcept {
  return dynamic_cast<const tls_socket_state*>(&s) != nullptr;
}

// The hooks ws/client.hpp and ws/server.hpp call: set once the TLS layer is in the program.
inline const bool ws_wss_registered =
    (ws_wss_transport = &ws_wss_connect, ws_secure_probe = &ws_socket_is_tls, true);

}  // namespace netco::detail

namespace netco::ws {

NETCO_DECL server create_server(const server_options& options, const https::server_options& tls) {
  if (!options.port || options.server || options.no_server) {
    throw std::invalid_argument(
        "ws::create_server(options, tls): port must be given, server and no_server not "
        "[ERR_INVALID_ARG_VALUE]");
  }
  auto s = std::make_shared<netco::detail::ws_server_state>(options);
  s->http_ = https::create_server(tls);  // start() listens on it instead of a plain one
  s->start();
  return server(std::move(s));
}

}  // namespace netco::ws
