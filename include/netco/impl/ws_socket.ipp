// netco/impl/ws_socket.ipp: the out-of-line parts of netco/ws/socket.hpp: inline in every
// translation unit when header-only, compiled once (by <netco/impl/src.hpp>) under
// NETCO_SEPARATE_COMPILATION
#pragma once
#include <algorithm>  // find
#include <cstring>    // memcpy
#include <stdexcept>  // logic_error

#include "netco/ws/handshake.hpp"
#include "netco/ws/socket.hpp"

namespace netco::detail {

/// Suspends a coroutine into one of a ws socket's waiter slots; whoever fills the slot's
/// condition resumes it.
struct ws_waiter {
  std::coroutine_handle<>& slot;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) noexcept { slot = h; }
  void await_resume() const noexcept {}
};

NETCO_DECL bool ws_has_token(std::string_view value, std::string_view token) noexcept {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (ws::token_iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// --- the registry --------------------------------------------------------------------------------

NETCO_DECL void ws_registry::add(ws_socket_state* s) {
  if (track_clients) clients_.push_back(s);
}

NETCO_DECL void ws_registry::remove(ws_socket_state* s) noexcept {
  auto drop = [s](std::vector<ws_socket_state*>& v) {
    auto it = std::find(v.begin(), v.end(), s);
    if (it == v.end()) return;
    *it = v.back();
    v.pop_back();
  };
  drop(clients_);
  if (!s->topics()) return;
  for (const std::string& t : *s->topics()) {
    auto it = topics_.find(t);
    if (it == topics_.end()) continue;
    drop(it->second);
    if (it->second.empty()) topics_.erase(it);
  }
}

NETCO_DECL bool ws_registry::subscribe(ws_socket_state* s, std::string_view topic) {
  std::vector<ws_socket_state*>& v = topics_[std::string(topic)];
  if (std::find(v.begin(), v.end(), s) != v.end()) return false;
  v.push_back(s);
  s->details().topics.emplace_back(topic);
  return true;
}

NETCO_DECL bool ws_registry::unsubscribe(ws_socket_state* s, std::string_view topic) noexcept {
  auto it = topics_.find(std::string(topic));
  if (it == topics_.end()) return false;
  std::vector<ws_socket_state*>& v = it->second;
  auto at = std::find(v.begin(), v.end(), s);
  if (at == v.end()) return false;
  *at = v.back();
  v.pop_back();
  if (v.empty()) topics_.erase(it);
  auto& mine = s->details().topics;
  mine.erase(std::find(mine.begin(), mine.end(), topic));
  return true;
}

NETCO_DECL std::size_t ws_registry::subscriber_count(std::string_view topic) const {
  auto it = topics_.find(std::string(topic));
  return it == topics_.end() ? 0 : it->second.size();
}

NETCO_DECL std::size_t ws_registry::publish(std::string_view topic, const buffer& data,
                                            bool binary) {
  auto it = topics_.find(std::string(topic));
  if (it == topics_.end()) return 0;
  // One server frame (unmasked, uncompressed), encoded once, shared by every subscriber.
  ws::frame_header h;
  h.opcode = binary ? 2 : 1;
  h.payload_length = data.size();
  const ws::frame_header_buffer head(h);
  buffer frame = buffer::uninitialized(head.size() + data.size());
  std::memcpy(frame.mutable_bytes().data(), head.bytes().data(), head.size());
  if (!data.empty())
    std::memcpy(frame.mutable_bytes().data() + head.size(), data.data(), data.size());
  std::size_t delivered = 0;
  // Closing a subscriber changes no topic now (it leaves on "close", a later tick).
  const std::vector<ws_socket_state*>& subs = it->second;
  for (std::size_t i = 0; i < subs.size(); ++i) {
    ws_socket_state* s = subs[i];
    if (s->ready_ != ws::ready_state::open || s->sending_fragments()) continue;
    if (s->buffered_amount() > max_backpressure) {
      // A stalled subscriber: its queue stops growing here, whatever the policy.
      if (backpressure == ws_backpressure_action::close) {
        s->close(backpressure_close_code, "backpressure");
      }
      continue;
    }
    s->write_encoded(frame);
    ++delivered;
  }
  return delivered;
}

NETCO_DECL std::vector<ws::socket> ws_registry::clients() const {
  std::vector<ws::socket> out;
  out.reserve(clients_.size());
  for (ws_socket_state* s : clients_) out.emplace_back(s->shared_from_this());
  return out;
}

// --- the socket ----------------------------------------------------------------------------------

NETCO_DECL ws_socket_state::ws_socket_state(ws::role role, const ws::socket_options& o)
    : role_(role),
      options_(o),
      rx_(*this, ws::receiver_options{.role = role,
                                      .max_payload = o.max_payload,
                                      .max_fragments = o.max_fragments,
                                      .skip_utf8_validation = o.skip_utf8_validation}),
      tx_(role) {}

NETCO_DECL ws_socket_state::~ws_socket_state() = default;

NETCO_DECL void ws_socket_state::enable_deflate(const ws::deflate_params& p,
                                                const ws::deflate_options& o) {
  rx_.enable_deflate(p);
  tx_.enable_deflate(p, o);
}

NETCO_DECL void ws_socket_state::attach(std::shared_ptr<socket_state> sock) {
  sock_ = std::move(sock);
  sock_->config_.high_water_mark = options_.high_water_mark;  // one mark: send() and "drain"
  sock_->take_over(shared_from_this());
  ready_ = ws::ready_state::open;
  start_heartbeat();
}

NETCO_DECL void ws_socket_state::start(const buffer& head) {
  if (!head.empty()) on_data(head);
  if (sock_ && !user_paused_) sock_->resume();
}

NETCO_DECL void ws_socket_state::start_heartbeat() {
  if (options_.ping_interval.count() <= 0) return;
  heartbeat_ = netco::set_interval(
      [w = weak_from_this()] {
        auto s = w.lock();
        if (!s || s->ready_ != ws::ready_state::open) return;
        if (!s->alive_) return s->terminate();  // nothing heard for a whole interval
        s->alive_ = false;
        ws::outgoing_frame f;
        (void)s->tx_.ping({}, f);
        s->write_frame(f, {});
      },
      options_.ping_interval);
  heartbeat_.unref();  // the connection keeps the loop alive, not its heartbeat
}

NETCO_DECL void ws_socket_state::start_client(std::shared_ptr<socket_state> sock,
                                              std::string_view request,
                                              std::unique_ptr<ws_client_handshake> hs,
                                              std::chrono::milliseconds handshake_timeout) {
  sock_ = std::move(sock);
  sock_->config_.high_water_mark = options_.high_water_mark;
  hs_ = std::move(hs);
  sock_->take_over(shared_from_this());
  sock_->write(nullptr, std::as_bytes(std::span(request.data(), request.size())), {});
  if (handshake_timeout.count() > 0) {
    hs_->timer = netco::set_timeout(
        [w = weak_from_this()] {
          if (auto s = w.lock(); s && s->hs_ && !s->hs_->done)
            s->handshake_failed(ws::errc::handshake_timeout);
        },
        handshake_timeout);
  }
}

NETCO_DECL void ws_socket_state::fail_early(std::error_code ec) {
  error_ = ec;
  ready_ = ws::ready_state::closing;
  defer(loop::current(), [self = shared_from_this()] {
    self->ready_ = ws::ready_state::closed;
    self->emit_error(self->error_);
    self->wake_all();
    self->emit_event<"close">(self->close_code_, self->close_reason());
    self->clear_all();
  });
}

NETCO_DECL void ws_socket_state::handshake_failed(std::error_code ec) {
  if (!hs_ || hs_->done) return;
  hs_->done = true;
  hs_->timer.close();
  error_ = ec;
  ready_ = ws::ready_state::closing;
  emit_error(ec);
  if (sock_) sock_->destroy({});
}

NETCO_DECL void ws_socket_state::handshake_data(const buffer& chunk) {
  ws_client_handshake& hs = *hs_;
  if (hs.done) return;
  hs.in.append(chunk.view());
  const http::parse_result r = hs.parser.parse(hs.in);
  if (r.event == http::parse_event::need_more) return;
  if (r.event == http::parse_event::error) return handshake_failed(hs.parser.error());
  const http::message_head& h = hs.parser.head();
  auto res = std::make_shared<message_state>();
  res->status_ = h.status;
  res->status_message_.assign(h.reason);
  res->major_ = h.version_major;
  res->minor_ = h.version_minor;
  for (const http::header& f : h.headers) res->headers_.add(f.name, f.value);
  res->complete_ = true;
  res->socket_ = sock_;
  const http::incoming_message msg(res);
  if (h.status != 101) {
    if (count_of<"unexpected-response">() > 0) {
      // The listener decides (Node): no "error"; the connection goes.
      hs.done = true;
      hs.timer.close();
      error_ = ws::errc::unexpected_response;
      ready_ = ws::ready_state::closing;
      emit_event<"unexpected-response">(msg);
      if (sock_) sock_->destroy({});
      return;
    }
    return handshake_failed(ws::errc::unexpected_response);
  }
  const http::headers& fields = res->headers_;
  const auto upgrade = fields.get("upgrade");
  const auto connection = fields.get("connection");
  if (!upgrade || !ws::token_iequals(*upgrade, "websocket") || !connection ||
      !ws_has_token(*connection, "upgrade")) {
    return handshake_failed(ws::errc::invalid_upgrade);
  }
  const auto accept = fields.get("sec-websocket-accept");
  if (!accept || *accept != ws::accept_key(hs.key))
    return handshake_failed(ws::errc::invalid_accept);
  if (const auto proto = fields.get("sec-websocket-protocol")) {
    if (std::find(hs.protocols.begin(), hs.protocols.end(), *proto) == hs.protocols.end())
      return handshake_failed(ws::errc::invalid_subprotocol);
    details().protocol.assign(*proto);
  } else if (!hs.protocols.empty()) {
    return handshake_failed(ws::errc::invalid_subprotocol);
  }
  if (const auto ext = fields.get("sec-websocket-extensions")) {
    std::vector<ws::extension> answer;
    if (auto ec = ws::parse_extensions(*ext, answer)) return handshake_failed(ec);
    if (!hs.deflate) return handshake_failed(ws::errc::unexpected_extension_response);
    std::optional<ws::deflate_params> params;
    if (auto ec = ws::accept_deflate_response(answer, *hs.deflate, params))
      return handshake_failed(ec);
    if (params) {
      enable_deflate(*params, *hs.deflate);
      details().extensions.assign(*ext);
    }
  }
  buffer rest = buffer::copy_of(
      std::as_bytes(std::span(hs.in.data() + r.consumed, hs.in.size() - r.consumed)));
  hs.done = true;
  hs.timer.close();
  emit_event<"upgrade">(msg);
  if (ready_ != ws::ready_state::connecting) return;  // closed from the listener
  opened(std::move(rest));
}

NETCO_DECL void ws_socket_state::opened(buffer rest) {
  hs_.reset();
  ready_ = ws::ready_state::open;
  start_heartbeat();
  emit_event<"open">();
  if (!rest.empty() && ready_ != ws::ready_state::closed) on_data(rest);
  if (pull_state_ && pull_state_->close_waiter)  // connect() waits on it
    std::exchange(pull_state_->close_waiter, {}).resume();
}

// --- sending -------------------------------------------------------------------------------------

NETCO_DECL bool ws_socket_state::write_frame(const ws::outgoing_frame& f, write_callback cb) {
  const socket_state::gather_part parts[] = {{f.header.bytes(), nullptr},
                                             {f.payload.bytes(), &f.payload}};
  return sock_->write_gathered(parts, std::move(cb));
}

NETCO_DECL void ws_socket_state::write_encoded(const buffer& frame) {
  sock_->write(&frame, frame.bytes(), {});
}

NETCO_DECL bool ws_socket_state::send(buffer data, const ws::send_options& o, write_callback cb) {
  if (ready_ == ws::ready_state::connecting) throw std::system_error(ws::errc::not_open);
  if (ready_ != ws::ready_state::open || close_sent_ || !sock_) {
    if (cb) {
      defer(owner(), [cb = std::move(cb)]() mutable { cb(make_error_code(ws::errc::not_open)); });
    }
    return false;
  }
  ws::outgoing_frame f;
  tx_.message(std::move(data), o.binary, o.fin, f, o.compress);
  write_frame(f, std::move(cb));
  return sock_->buffered() < options_.high_water_mark;
}

NETCO_DECL void ws_socket_state::ping(buffer data, write_callback cb) {
  if (ready_ == ws::ready_state::connecting) throw std::system_error(ws::errc::not_open);
  ws::outgoing_frame f;
  if (auto ec = tx_.ping(std::move(data), f)) throw std::system_error(ec);
  if (ready_ != ws::ready_state::open || close_sent_) {
    if (cb) defer(owner(), [cb = std::move(cb)]() mutable { cb(ws::errc::not_open); });
    return;
  }
  write_frame(f, std::move(cb));
}

NETCO_DECL void ws_socket_state::pong(buffer data, write_callback cb) {
  if (ready_ == ws::ready_state::connecting) throw std::system_error(ws::errc::not_open);
  ws::outgoing_frame f;
  if (auto ec = tx_.pong(std::move(data), f)) throw std::system_error(ec);
  if (ready_ != ws::ready_state::open || close_sent_) {
    if (cb) defer(owner(), [cb = std::move(cb)]() mutable { cb(ws::errc::not_open); });
    return;
  }
  write_frame(f, std::move(cb));
}

// --- closing -------------------------------------------------------------------------------------

NETCO_DECL void ws_socket_state::closing() {
  ready_ = ws::ready_state::closing;
  // The close handshake needs the peer's bytes, whatever read() has not taken yet.
  if (inbox_paused_ && sock_ && !user_paused_) {
    inbox_paused_ = false;
    sock_->resume();
  }
  if (close_timer_.id() == 0) {
    close_timer_ = netco::set_timeout(
        [w = weak_from_this()] {
          if (auto s = w.lock(); s && s->sock_) s->sock_->destroy({});
        },
        options_.close_timeout);
  }
  // RFC 6455 7.1.1: the server closes the TCP connection first, once both close frames
  // crossed; the client waits for that (the timer bounds the wait).
  if (close_sent_ && close_received_ && role_ == ws::role::server && sock_) sock_->end({});
}

NETCO_DECL void ws_socket_state::close(std::uint16_t code, std::string_view reason) {
  if (ready_ == ws::ready_state::closed) return;
  if (ready_ == ws::ready_state::connecting) {
    if (hs_) handshake_failed(ws::errc::closed_before_open);
    return;
  }
  if (close_sent_ || !sock_) return;
  ws::outgoing_frame f;
  if (code == ws::close_status::no_status) {
    tx_.close(f);
  } else if (auto ec = tx_.close(code, reason, f)) {
    throw std::system_error(ec);
  }
  write_frame(f, {});
  close_sent_ = true;
  closing();
}

NETCO_DECL void ws_socket_state::terminate() {
  if (ready_ == ws::ready_state::closed) return;
  if (hs_) return handshake_failed(ws::errc::closed_before_open);
  if (sock_) sock_->destroy({});
}

NETCO_DECL void ws_socket_state::pause() {
  user_paused_ = true;
  if (sock_) sock_->pause();
}

NETCO_DECL void ws_socket_state::resume() {
  user_paused_ = false;
  if (sock_ && !inbox_paused_) sock_->resume();
}

// --- topics --------------------------------------------------------------------------------------

NETCO_DECL bool ws_socket_state::subscribe(std::string_view topic) {
  if (!registry_)
    throw std::logic_error("ws::socket::subscribe: only a server's sockets have topics");
  if (ready_ == ws::ready_state::closed) return false;
  return registry_->subscribe(this, topic);
}

NETCO_DECL bool ws_socket_state::unsubscribe(std::string_view topic) {
  return registry_ && registry_->unsubscribe(this, topic);
}

NETCO_DECL bool ws_socket_state::is_subscribed(std::string_view topic) const noexcept {
  const std::vector<std::string>* mine = topics();
  return mine && std::find(mine->begin(), mine->end(), topic) != mine->end();
}

NETCO_DECL void ws_socket_state::leave_registry() noexcept {
  if (!registry_) return;
  registry_->remove(this);
  if (details_) details_->topics.clear();
}

// --- the socket's events -------------------------------------------------------------------------

NETCO_DECL void ws_socket_state::on_data(const buffer& chunk) {
  auto keep = shared_from_this();
  if (hs_) return handshake_data(chunk);
  feeding_ = true;
  rx_.feed(chunk);
  feeding_ = false;
  if (ws_pull_state* p = pull_state_.get();
      p && p->read_waiter && (!p->empty() || ready_ == ws::ready_state::closed))
    std::exchange(p->read_waiter, {}).resume();
}

NETCO_DECL void ws_socket_state::on_end() {
  // The peer's FIN: nothing more can come, so our side ends too (an HTTP server's sockets
  // allow half-open connections, a WebSocket does not).
  if (sock_) sock_->end({});
}

NETCO_DECL void ws_socket_state::on_drain() {
  auto keep = shared_from_this();
  if (pull_state_ && pull_state_->drain_waiter)
    std::exchange(pull_state_->drain_waiter, {}).resume();
  if (ready_ == ws::ready_state::open) emit_event<"drain">();
}

NETCO_DECL void ws_socket_state::on_close(std::error_code ec) {
  auto keep = shared_from_this();
  ready_ = ws::ready_state::closed;
  close_timer_.close();
  heartbeat_.close();
  if (hs_) {
    if (!hs_->done) {
      hs_->done = true;
      hs_->timer.close();
      error_ = ec ? ec : make_error_code(ws::errc::closed_before_open);
      emit_error(error_);
    }
    hs_.reset();
  }
  leave_registry();
  registry_.reset();
  wake_all();
  emit_event<"close">(close_code_, close_reason());
  clear_all();
}

NETCO_DECL void ws_socket_state::on_loop_gone() noexcept {
  ready_ = ws::ready_state::closed;
  close_timer_ = {};
  heartbeat_ = {};
  hs_.reset();
  leave_registry();
  registry_.reset();
  pull_state_.reset();  // the frames of its waiters go with the loop
  clear_all();
  sock_.reset();
}

NETCO_DECL void ws_socket_state::wake_all() {
  ws_pull_state* p = pull_state_.get();
  if (!p) return;
  // Each may end the connection's last coroutine, never the state (the caller holds it).
  if (p->read_waiter) std::exchange(p->read_waiter, {}).resume();
  if (p->drain_waiter) std::exchange(p->drain_waiter, {}).resume();
  if (p->close_waiter) std::exchange(p->close_waiter, {}).resume();
}

NETCO_DECL void ws_socket_state::emit_error(std::error_code ec) {
  // Only to listeners: a peer's violation must not throw out of the loop (the server goes on).
  if (count_of<"error">() > 0) emit_event<"error">(ec);
}

// --- the receiver's reports ----------------------------------------------------------------------

NETCO_DECL void ws_socket_state::on_message(buffer data, bool binary) {
  alive_ = true;
  if (pull_) {
    ws_pull_state& p = pulled();
    p.bytes += data.size();
    p.inbox.push_back({std::move(data), binary});
    // Bounded: past the mark, reading stops until read() took them.
    if (sock_ && (p.bytes >= options_.high_water_mark || p.inbox.size() - p.head >= 64)) {
      inbox_paused_ = true;
      sock_->pause();
    }
    return;
  }
  emit_event<"message">(data, binary);
}

NETCO_DECL void ws_socket_state::on_ping(buffer payload) {
  alive_ = true;
  if (options_.auto_pong && ready_ == ws::ready_state::open && !close_sent_) {
    ws::outgoing_frame f;
    if (!tx_.pong(payload, f)) write_frame(f, {});
  }
  emit_event<"ping">(payload);
}

NETCO_DECL void ws_socket_state::on_pong(buffer payload) {
  alive_ = true;
  emit_event<"pong">(payload);
}

NETCO_DECL void ws_socket_state::on_close(std::uint16_t code, buffer reason) {
  close_received_ = true;
  close_code_ = code;
  if (!reason.empty() || details_) details().close_reason.assign(reason.view());
  if (!close_sent_ && sock_) {
    // The answer carries the same code (RFC 6455 5.5.1), none when none came.
    ws::outgoing_frame f;
    if (code == ws::close_status::no_status || tx_.close(code, reason.view(), f)) tx_.close(f);
    write_frame(f, {});
    close_sent_ = true;
  }
  closing();
}

NETCO_DECL void ws_socket_state::on_error(std::error_code ec, std::uint16_t close_code) {
  error_ = ec;
  emit_error(ec);
  if (!sock_ || ready_ == ws::ready_state::closed) return;
  if (!close_sent_) {
    ws::outgoing_frame f;
    (void)tx_.close(close_code, {}, f);
    write_frame(f, {});
    close_sent_ = true;
  }
  closing();
  sock_->end({});  // failing the connection (RFC 6455 7.1.7): either end closes TCP now
}

// --- coroutine style -----------------------------------------------------------------------------

NETCO_DECL task<std::optional<ws::message>> ws_socket_state::read(
    std::shared_ptr<ws_socket_state> self) {
  self->pull_ = true;
  ws_pull_state& p = self->pulled();
  while (p.empty() && self->ready_ != ws::ready_state::closed) co_await ws_waiter{p.read_waiter};
  if (p.empty()) co_return std::nullopt;
  ws::message m = std::move(p.inbox[p.head++]);
  if (p.empty()) {
    p.inbox.clear();
    p.head = 0;
  }
  p.bytes -= m.data.size();
  if (self->inbox_paused_ && p.empty()) {
    self->inbox_paused_ = false;
    if (self->sock_ && !self->user_paused_) self->sock_->resume();
  }
  co_return m;
}

NETCO_DECL task<> ws_socket_state::send_all(std::shared_ptr<ws_socket_state> self, buffer data,
                                            bool binary) {
  if (self->ready_ != ws::ready_state::open || self->close_sent_)
    throw std::system_error(ws::errc::not_open);
  if (!self->send(std::move(data), {.binary = binary}, {})) {
    if (self->ready_ != ws::ready_state::closed &&
        self->buffered_amount() >= self->options_.high_water_mark)
      co_await ws_waiter{self->pulled().drain_waiter};
  }
}

NETCO_DECL task<ws::stream> ws_socket_state::open_stream(std::shared_ptr<ws_socket_state> self) {
  if (!self) throw std::system_error(ws::errc::invalid_key, "WebSocket handshake refused");
  while (self->ready_ == ws::ready_state::connecting)
    co_await ws_waiter{self->pulled().close_waiter};
  if (self->ready_ != ws::ready_state::open && self->error_) throw std::system_error(self->error_);
  co_return ws::stream(std::move(self));
}

NETCO_DECL task<> ws_socket_state::close_all(std::shared_ptr<ws_socket_state> self,
                                             std::uint16_t code, std::string reason) {
  self->close(code, reason);
  while (self->ready_ != ws::ready_state::closed) co_await ws_waiter{self->pulled().close_waiter};
}

}  // namespace netco::detail
