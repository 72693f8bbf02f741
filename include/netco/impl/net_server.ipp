// netco/impl/net_server.ipp: the out-of-line parts of netco/net/server.hpp (the listening core)
#pragma once
#include <chrono>      // milliseconds: the accept back-off
#include <filesystem>  // remove: an IPC server removes its socket file on close
#include <stdexcept>   // logic_error
#include <vector>      // vector

#include "netco/detail/socket_transport.hpp"
#include "netco/net/server.hpp"
#include "netco/resolve.hpp"
#include "netco/tcp.hpp"  // set_reuse_port
#include "netco/timer.hpp"

namespace netco::detail {

NETCO_DECL server_core::server_core(loop& owner, const net::server_options& o)
    : owner_(&owner), options_(o) {
  owner.hook(*this);
}

NETCO_DECL server_core::~server_core() { close_acceptor(); }

NETCO_DECL void server_core::listen(net::listen_options o) {
  if (listening_ || resolving_) {
    throw std::logic_error("netco: the server is already listening [ERR_SERVER_ALREADY_LISTEN]");
  }
  std::vector<asio::ip::tcp::endpoint> targets;
  if (!o.path.empty()) {
    return bind_and_listen(targets, std::move(o), {});
  }
  if (o.host.empty()) {  // every interface: dual-stack where the OS allows it, as Node
    targets.emplace_back(asio::ip::address_v6::any(), o.port);
    targets.emplace_back(asio::ip::address_v4::any(), o.port);
    return bind_and_listen(targets, std::move(o), {});
  }
  std::error_code ec;
  const asio::ip::address literal = asio::ip::make_address(o.host, ec);
  if (!ec) {
    targets.emplace_back(literal, o.port);
    return bind_and_listen(targets, std::move(o), {});
  }
  // A name: looked up off the loop thread, as Node's dns.lookup; "listening" or "error" later.
  resolving_ = true;
  spawn_now(*owner_, resolve_then_listen(shared_from_this(), std::move(o), ++generation_));
}

NETCO_DECL task<> server_core::resolve_then_listen(std::shared_ptr<server_core> self,
                                                   net::listen_options o, std::size_t generation) {
  (void)self;
  std::error_code ec;
  std::vector<asio::ip::tcp::endpoint> targets = co_await resolve(o.host, o.port, ec);
  if (generation != generation_ || !resolving_ || owner_->gone()) co_return;  // closed meanwhile
  resolving_ = false;
  bind_and_listen(targets, std::move(o), ec);
}

NETCO_DECL void server_core::bind_and_listen(const std::vector<asio::ip::tcp::endpoint>& targets,
                                             net::listen_options o, std::error_code ec) {
  if (ec) return fail_listen(ec, o);
  acceptor_type raw(owner_->context());
  if (!o.path.empty()) {
    const asio::generic::stream_protocol::endpoint at{
        asio::local::stream_protocol::endpoint(o.path)};
    raw.open(at.protocol(), ec);
    if (!ec) raw.bind(at, ec);
    if (!ec) {
      path_ = o.path;  // bound: the file is ours to remove on close
      raw.listen(o.backlog, ec);
    }
  } else {
    for (const auto& target : targets) {
      ec.clear();
      if (raw.is_open()) raw.close(ec);
      const asio::generic::stream_protocol::endpoint at(target);
      raw.open(at.protocol(), ec);
      if (!ec) raw.set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec && o.reuse_port) detail::set_reuse_port(raw, ec);
      if (!ec && target.address().is_v6()) {
        std::error_code ignored;  // dual-stack where the OS allows it, as Node
        raw.set_option(asio::ip::v6_only(false), ignored);
      }
      if (!ec) raw.bind(at, ec);
      if (!ec) raw.listen(o.backlog, ec);
      if (!ec || ec == std::errc::address_in_use) break;
    }
  }
  if (ec) {
    std::error_code ignored;
    raw.close(ignored);
    return fail_listen(ec, o);
  }
  acceptor_.emplace(std::move(raw));
  started_listening();
  spawn_now(*owner_, accept_loop(shared_from_this(), generation_));
}

NETCO_DECL void server_core::fail_listen(std::error_code ec, const net::listen_options& o) {
  remove_path();
  ec = normalize(ec);
  // Node: listen errors arrive as "error" on a later tick; the server can listen again.
  const bool lookup = ec.category() != std::system_category() && !o.host.empty();
  error_info info{lookup ? "getaddrinfo" : "listen",
                  !o.path.empty()  ? o.path
                  : o.host.empty() ? "::"
                                   : o.host,
                  o.path.empty() && !lookup ? o.port : std::uint16_t{0}};
  defer(*owner_, [self = shared_from_this(), ec, info = std::move(info)] {
    if (!self->has_error_listener()) throw std::system_error(ec, info.context());
    self->emit_error(ec, info);
  });
}

NETCO_DECL void server_core::started_listening() {
  listening_ = true;
  closing_ = false;
  ++generation_;
  if (unrefed_ && acceptor_) compensate();
  defer(*owner_, [self = shared_from_this()] {
    if (self->listening_) self->emit_listening();
  });
}

NETCO_DECL void server_core::listen_without_acceptor() {
  if (listening_ || resolving_) {
    throw std::logic_error("netco: the server is already listening [ERR_SERVER_ALREADY_LISTEN]");
  }
  started_listening();
}

NETCO_DECL void server_core::close() {
  if (resolving_) {  // Node: not running until the name resolved; the lookup is forgotten
    resolving_ = false;
    ++generation_;
  }
  if (!listening_) {
    const std::error_code ec = make_error_code(errc::server_not_running);
    defer(*owner_, [self = shared_from_this(), ec] {
      if (self->has_error_listener()) self->emit_error(ec, error_info{});
    });
    return;
  }
  listening_ = false;
  closing_ = true;
  uncompensate();
  close_acceptor();  // the pending accept ends; no new connections
  on_closing();
  maybe_emit_close();
}

NETCO_DECL void server_connection_gone(server_core& s) noexcept { s.connection_gone(); }

NETCO_DECL void server_core::connection_gone() {
  if (connections_ > 0) --connections_;
  maybe_emit_close();
}

NETCO_DECL void server_core::adopt(net_stream peer) {
  if (!listening_) {  // closed meanwhile: no new connections
    peer.close();
    return;
  }
  if (connections_ >= max_connections_) {
    // Node: accepted and closed at once, with "drop" telling whom.
    if (has_drop_listener()) {
      std::error_code e1, e2;
      net::drop_info info{address_of(peer.local_endpoint(e1)),
                          address_of(peer.remote_endpoint(e2))};
      peer.close();
      emit_drop(info);
    }
    return;
  }
  const socket_state::config c{options_.allow_half_open, options_.high_water_mark,
                               options_.read_buffer_size};
  std::shared_ptr<socket_state> st = make_connection(std::move(peer), c);
  st->accepted(options_.pause_on_connect);
  st->attach_server(shared_from_this());
  if (options_.no_delay) st->set_no_delay(true);
  if (options_.keep_alive) st->set_keep_alive(true, options_.keep_alive_initial_delay);
  ++connections_;
  try {
    on_connection(st);
  } catch (...) {  // reported; that connection closes, the server goes on accepting
    owner_->report(std::current_exception());
    st->destroy({});
  }
}

NETCO_DECL std::shared_ptr<socket_state> server_core::make_connection(
    net_stream peer, const socket_state::config& c) {
  return std::make_shared<native_socket_state<asio::generic::stream_protocol>>(*owner_, c,
                                                                               std::move(peer));
}

NETCO_DECL void server_core::on_connection(const std::shared_ptr<socket_state>& s) {
  emit_connection(net::socket(s));
  s->start_flowing_later();
}

NETCO_DECL void server_core::destroy_connections() {
  std::vector<std::shared_ptr<socket_state>> mine;
  owner_->each_hook([&](loop_hook& h) {
    auto* s = dynamic_cast<socket_state*>(&h);
    if (s && s->server_.get() == this) mine.push_back(s->shared_from_this());
  });
  for (auto& s : mine) s->destroy({});
}

NETCO_DECL address_info server_core::address() const {
  if (!acceptor_ || !acceptor_->is_open()) return {};
  std::error_code ec;
  auto ep = acceptor_->local_endpoint(ec);
  return ec ? address_info{} : address_of(ep);
}

NETCO_DECL void server_core::ref() {
  unrefed_ = false;
  uncompensate();
}

NETCO_DECL void server_core::unref() {
  unrefed_ = true;
  if (listening_ && acceptor_ && acceptor_->is_open()) compensate();  // an accept is pending
}

NETCO_DECL void server_core::compensate() {
  if (!compensated_) {
    compensated_ = true;
    owner_->unref();  // the pending accept no longer keeps the loop alive
  }
}

NETCO_DECL void server_core::uncompensate() {
  if (compensated_) {
    compensated_ = false;
    owner_->ref();
  }
}

NETCO_DECL void server_core::maybe_emit_close() {
  if (!closing_ || listening_ || connections_ > 0 || close_scheduled_) return;
  close_scheduled_ = true;
  defer(*owner_, [self = shared_from_this()] {
    self->close_scheduled_ = false;
    if (!self->closing_ || self->listening_) return;
    self->closing_ = false;
    self->emit_close();
  });
}

NETCO_DECL void server_core::on_loop_gone() noexcept {
  auto keep = weak_from_this().lock();
  listening_ = false;
  resolving_ = false;
  close_acceptor();
  drop_listeners();
}

NETCO_DECL void server_core::close_acceptor() noexcept {
  if (acceptor_) close_listening(*owner_, *acceptor_);
  remove_path();
}

NETCO_DECL void server_core::remove_path() noexcept {
  if (path_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove(path_, ignored);
  path_.clear();
}

NETCO_DECL task<> server_core::accept_loop(std::shared_ptr<server_core> self,
                                           std::size_t generation) {
  (void)self;
  acceptor_type& a = *acceptor_;
  while (listening_ && generation_ == generation) {
    std::error_code ec;
    net_stream peer = co_await accept_awaiter<asio::generic::stream_protocol>(*owner_, a, &ec);
    if (!listening_ || generation_ != generation) break;
    if (ec) {
      if (ec == std::errc::operation_canceled) break;
      // EMFILE and friends are transient: tell "error" listeners (as Node), never throw for
      // want of one, and keep the listener after a back-off.
      if (has_error_listener()) emit_error(ec, error_info{"accept"});
      co_await sleep_for(std::chrono::milliseconds(100), ec);
      continue;
    }
    adopt(std::move(peer));
  }
}

}  // namespace netco::detail

namespace netco::net {

NETCO_DECL server create_server(server_options options) {
  return server(std::make_shared<netco::detail::net_server_state>(loop::current(), options));
}

}  // namespace netco::net
