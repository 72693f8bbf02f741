// netco/impl/https.ipp: the out-of-line parts of netco/https.hpp
#pragma once
#include "netco/https.hpp"

namespace netco::detail {

/// The tls::server_options of an https server's.
inline tls::server_options tls_options_of(const https::server_options& o) {
  tls::server_options t;
  t.tls = o.tls;
  t.context = o.context;
  t.handshake_timeout = o.handshake_timeout;
  return t;
}

NETCO_DECL https_server_state::https_server_state(loop& owner, const https::server_options& o)
    : http_server_state(owner, o.http) {
  tls_.configure(tls_options_of(o));
}

NETCO_DECL std::shared_ptr<socket_state> https_server_state::make_connection(
    net_stream peer, const socket_state::config& c) {
  return tls_.make(*owner_, std::move(peer), c);
}

NETCO_DECL void https_server_state::on_connection(const std::shared_ptr<socket_state>& s) {
  auto self = std::static_pointer_cast<https_server_state>(shared_from_this());
  tls_.handshake(s, [self, s](std::error_code ec) {
    if (ec) {
      if (self->listener_count("tlsClientError") > 0) {
        self->emit("tlsClientError", ec, net::socket(s));
      }
      s->destroy({});
      return;
    }
    if (self->listener_count("secureConnection") > 0) {
      self->emit("secureConnection", tls::socket(net::socket(s)));
    }
    self->http_server_state::on_connection(s);  // now an HTTP connection
  });
}

NETCO_DECL buffer https_session_cache::find(const std::string& key) const {
  for (const auto& [k, session] : entries)
    if (k == key) return session;
  return {};
}

NETCO_DECL void https_session_cache::store(const std::string& key, buffer session) {
  std::erase_if(entries, [&](const auto& e) { return e.first == key; });
  if (max == 0) return;
  if (entries.size() >= max) entries.erase(entries.begin());
  entries.emplace_back(key, std::move(session));
}

/// The hook http's requests use for https: URLs without an agent.
inline http::agent& https_default_agent() { return https::global_agent(); }
inline const bool https_agent_registered = (https_global_agent = &https_default_agent, true);

}  // namespace netco::detail

namespace netco::https {

NETCO_DECL server create_server(const server_options& options) {
  return server(std::make_shared<netco::detail::https_server_state>(loop::current(), options));
}

NETCO_DECL agent::agent(agent_options o)
    : http::agent(o.http),
      tls_options_(std::move(o)),
      sessions_(std::make_shared<netco::detail::https_session_cache>()) {
  sessions_->max = tls_options_.max_cached_sessions;
}

NETCO_DECL net::socket agent::create_connection(std::string host, std::uint16_t port) {
  std::string key = host + ":" + std::to_string(port);
  tls::connect_options o;
  o.host = std::move(host);
  o.port = port;
  o.context = tls_options_.context;
  o.reject_unauthorized = tls_options_.reject_unauthorized;
  o.session = sessions_->find(key);
  o.alpn_protocols = {"http/1.1"};
  tls::socket s = tls::connect(std::move(o));
  // TLS 1.3 sends its tickets after the handshake; TLS 1.2's session is there at once.
  std::weak_ptr<netco::detail::https_session_cache> cache = sessions_;
  s.on("session", [cache, key](buffer session) {
    if (auto c = cache.lock()) c->store(key, std::move(session));
  });
  return s;
}

NETCO_DECL agent& global_agent() {
  thread_local agent a;
  return a;
}

NETCO_DECL http::client_request request(http::request_options options) {
  if (options.protocol != "https:") {
    options.protocol = "https:";
    if (options.port == 80) options.port = 443;
  }
  if (!options.agent) options.agent = &https::global_agent();
  return http::request(std::move(options));
}

}  // namespace netco::https
