// netco/impl/tls_server.ipp: the out-of-line parts of netco/tls/server.hpp
#pragma once
#include <stdexcept>  // logic_error: add_context on a server given its own context

#include "netco/spawn.hpp"
#include "netco/tls/server.hpp"

namespace netco::detail {

NETCO_DECL void tls_server_side::configure(const tls::server_options& options) {
  handshake_timeout = options.handshake_timeout;
  if (options.context) {
    context = options.context;
    return;
  }
  tls::context_options o = options.tls;
  if (!o.sni_callback) {  // add_context's table; no name added: the default context serves all
    o.sni_callback = sni;
    own_sni = true;
  }
  context = tls::secure_context(o);
}

NETCO_DECL std::shared_ptr<socket_state> tls_server_side::make(
    loop& owner, net_stream peer, const socket_state::config& c) const {
  tls_net_stream s = tls_net_stream::server(std::move(peer), context);
  return std::make_shared<tls_socket_state>(owner, c, std::move(s));
}

NETCO_DECL void tls_server_side::handshake(const std::shared_ptr<socket_state>& s,
                                           small_function<void(std::error_code)> done) const {
  auto* t = static_cast<tls_socket_state*>(s.get());
  // NOTE: the task is made first (GCC 12 and class temporaries in a coroutine's arguments).
  task<> run = t->handshake_then(s, handshake_timeout, std::move(done));
  spawn_now(*s->owner_, std::move(run));
}

NETCO_DECL void tls_server_side::add_context(std::string hostname,
                                             const tls::secure_context& ctx) const {
  if (!own_sni) {
    throw std::logic_error(
        "netco: add_context() needs a server that made its own context (no .context, no "
        ".tls.sni_callback)");
  }
  sni.add_context(std::move(hostname), ctx);
}

NETCO_DECL tls_server_state::tls_server_state(loop& owner, const tls::server_options& o)
    : tls_server_base(owner, o.net) {
  tls_.configure(o);
}

NETCO_DECL std::shared_ptr<socket_state> tls_server_state::make_connection(
    net_stream peer, const socket_state::config& c) {
  std::shared_ptr<socket_state> s = tls_.make(*owner_, std::move(peer), c);
  auto* t = static_cast<tls_socket_state*>(s.get());
  t->forward_engine_events();
  if (count_of<"keylog">() > 0) {
    // The engine lives in the socket: its callback may name the socket, not own it.
    std::weak_ptr<server_core> weak = weak_from_this();
    t->engine()->on_keylog([weak, t](std::string_view line) {
      auto self = std::static_pointer_cast<tls_server_state>(weak.lock());
      if (!self) return;
      if (t->listener_count("keylog") > 0) t->emit("keylog", buffer::from(line));
      self->emit_event<"keylog">(buffer::from(line),
                                 tls::socket(net::socket(t->shared_from_this())));
    });
  }
  return s;
}

NETCO_DECL void tls_server_state::on_connection(const std::shared_ptr<socket_state>& s) {
  // Node: "connection" carries the socket before its handshake.
  if (count_of<"connection">() > 0) emit_connection(net::socket(s));
  auto self = std::static_pointer_cast<tls_server_state>(shared_from_this());
  tls_.handshake(s, [self, s](std::error_code ec) {
    if (ec) {
      // Node: the failure goes to the server, never to an "error" of a socket nobody saw.
      if (self->count_of<"tlsClientError">() > 0) {
        self->emit_event<"tlsClientError">(ec, net::socket(s));
      }
      s->destroy({});
      return;
    }
    self->emit_event<"secureConnection">(tls::socket(net::socket(s)));
    s->start_flowing_later();
  });
}

}  // namespace netco::detail

namespace netco::tls {

NETCO_DECL server create_server(const server_options& options) {
  return server(std::make_shared<netco::detail::tls_server_state>(loop::current(), options));
}

}  // namespace netco::tls
