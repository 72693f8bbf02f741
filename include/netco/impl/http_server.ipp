// netco/impl/http_server.ipp: the out-of-line parts of netco/http/server.hpp: an HTTP/1.1
// connection as named steps over its net::socket, the server's timeouts, the response writer
#pragma once
#include <algorithm>  // min, max
#include <charconv>   // to_chars
#include <cstring>    // memcpy

#include "netco/http/server.hpp"

namespace netco::detail {

// --- the exchange -------------------------------------------------------------------------------

NETCO_DECL void exchange::reset_exchange() {
  reset_message();
  status_code_ = 200;
  reason_.clear();
  out_headers_.clear();
  head_sent_ = head_written_ = finished_ = chunked_ = no_body_ = keep_alive_ = false;
  user_length_ = user_chunked_ = user_date_ = user_connection_ = user_close_ = false;
  wrote_body_ = false;
  is_head_ = expect_continue_ = false;
  finish_emitted_ = false;
  res_closed_ = false;
  flush_id_ = 0;
}

NETCO_DECL void exchange::close_response() {
  if (res_closed_) return;
  res_closed_ = true;
  emit_res<"close">();
}

NETCO_DECL void exchange::clear_everything() noexcept {
  if (!std::exchange(listened_, false)) return;  // the common hello-world case: nothing to drop
  message_state::clear_all();
  response_emitter::clear_all();
}

NETCO_DECL void exchange::note_header(std::string_view name, std::string_view value) {
  if (iequals(name, "content-length")) {
    user_length_ = true;
  } else if (iequals(name, "transfer-encoding")) {
    user_chunked_ = has_token(value, "chunked");
  } else if (iequals(name, "date")) {
    user_date_ = true;
  } else if (iequals(name, "connection")) {
    user_connection_ = true;
    user_close_ = has_token(value, "close");
  }
}

NETCO_DECL void exchange::rescan_headers() {
  user_length_ = user_chunked_ = user_date_ = user_connection_ = user_close_ = false;
  for (auto f : out_headers_) note_header(f.name, f.value);
}

NETCO_DECL void exchange::listener_added(std::string_view name) {
  listened_ = true;
  message_state::listener_added(name);
}

// --- the server ---------------------------------------------------------------------------------

/// The net server under an HTTP one: connections are half-open (the HTTP connection decides
/// when to end), and TCP options come from the HTTP options.
inline net::server_options net_options_for(const http::server_options& o) {
  net::server_options n;
  n.allow_half_open = true;
  n.no_delay = o.no_delay;
  n.keep_alive = o.keep_alive;
  n.keep_alive_initial_delay = o.keep_alive_initial_delay;
  n.high_water_mark = o.high_water_mark;
  return n;
}

NETCO_DECL http_server_state::http_server_state(loop& owner, http::server_options o)
    : http_server_base(owner, net_options_for(o)), http_options_(o) {}

NETCO_DECL http_server_state::~http_server_state() = default;

NETCO_DECL void http_server_state::on_connection(const std::shared_ptr<socket_state>& s) {
  auto self = std::static_pointer_cast<http_server_state>(shared_from_this());
  auto c = std::make_shared<http_connection>(self, s);
  s->take_over(c);
  add_connection(c.get());
  if (count_of<"connection">() > 0) emit_event<"connection">(net::socket(s));
  s->start_flowing_later();
}

NETCO_DECL void http_server_state::on_closing() { close_idle_connections(); }

NETCO_DECL void http_server_state::drop_listeners() noexcept {
  sweep_.reset();  // now, while the io_context is whole
  clear_all();
}

NETCO_DECL void http_server_state::close_idle_connections() {
  for (http_connection* c = first_; c;) {
    http_connection* next = c->next_;
    c->server_closing();
    c = next;
  }
}

NETCO_DECL void http_server_state::add_connection(http_connection* c) {
  c->next_ = first_;
  if (first_) first_->prev_ = c;
  first_ = c;
  arm_sweep();
}

NETCO_DECL void http_server_state::remove_connection(http_connection* c) {
  if (c->prev_)
    c->prev_->next_ = c->next_;
  else if (first_ == c)
    first_ = c->next_;
  if (c->next_) c->next_->prev_ = c->prev_;
  c->prev_ = c->next_ = nullptr;
}

NETCO_DECL std::string_view http_server_state::keep_alive_fields() {
  const auto& o = http_options_;
  if (keep_alive_for_ != o.keep_alive_timeout || keep_alive_max_ != o.max_requests_per_socket) {
    keep_alive_for_ = o.keep_alive_timeout;
    keep_alive_max_ = o.max_requests_per_socket;
    keep_alive_fields_ = "Connection: keep-alive\r\n";
    if (keep_alive_for_.count() >= 1000) {
      keep_alive_fields_ += "Keep-Alive: timeout=";
      keep_alive_fields_ += std::to_string(keep_alive_for_.count() / 1000);
      if (keep_alive_max_ > 0) {
        keep_alive_fields_ += ", max=";
        keep_alive_fields_ += std::to_string(keep_alive_max_);
      }
      keep_alive_fields_ += "\r\n";
    }
  }
  return keep_alive_fields_;
}

NETCO_DECL std::chrono::milliseconds http_server_state::sweep_interval() const {
  using std::chrono::milliseconds;
  milliseconds m{1000};
  for (milliseconds t : {http_options_.headers_timeout, http_options_.request_timeout,
                         http_options_.keep_alive_timeout}) {
    if (t.count() > 0) m = std::min(m, t / 4);
  }
  return std::max(m, milliseconds(5));
}

NETCO_DECL void http_server_state::arm_sweep() {
  if (sweep_armed_ || !first_ || owner_->gone()) return;
  if (!sweep_) sweep_ = std::make_unique<steady_timer_ptr::element_type>(owner_->context());
  sweep_armed_ = true;
  sweep_->expires_after(sweep_interval());
  sweep_->async_wait(
      [weak = std::weak_ptr<server_core>(shared_from_this())](const std::error_code& ec) {
        auto core = weak.lock();
        if (!core) return;
        auto* self = static_cast<http_server_state*>(core.get());
        self->sweep_armed_ = false;
        if (ec) return;
        try {
          self->sweep();
        } catch (...) {
          self->owner_->report(std::current_exception());
        }
        self->arm_sweep();
      });
}

NETCO_DECL void http_server_state::sweep() {
  const auto now = std::chrono::steady_clock::now();
  for (http_connection* c = first_; c;) {
    http_connection* next = c->next_;
    using phase = http_connection::phase;
    std::chrono::milliseconds limit{0};
    switch (c->phase_) {
      case phase::head:
        limit = http_options_.headers_timeout;
        break;
      case phase::body:
        limit = http_options_.request_timeout;
        break;
      case phase::idle:
        limit = http_options_.keep_alive_timeout;
        break;
      case phase::lingering:
        limit = std::chrono::milliseconds(2000);
        break;
      case phase::responding:
        break;
    }
    if (limit.count() > 0 && now - c->since_ >= limit) c->time_out();
    c = next;
  }
}

// --- a connection: set-up and teardown ------------------------------------------------------

NETCO_DECL http_connection::http_connection(std::shared_ptr<http_server_state> server,
                                            std::shared_ptr<socket_state> socket)
    : server_(std::move(server)),
      socket_(std::move(socket)),
      parser_(message_kind::request,
              parser_options{server_->http_options_.max_header_size, 16 * 1024}),
      in_(std::max<std::size_t>(16 * 1024, server_->http_options_.max_header_size + 4096)) {
  since_ = std::chrono::steady_clock::now();
  remote_ = socket_->remote_uncached();  // kept here: the socket need not keep a copy too
}

NETCO_DECL http_connection::~http_connection() = default;

NETCO_DECL void http_connection::on_close(std::error_code ec) {
  (void)ec;
  dead_ = true;
  fail_all();
  server_->remove_connection(this);
  in_.consume(in_.size());
  spare_.clear();
}

NETCO_DECL void http_connection::on_loop_gone() noexcept {
  // No user code runs during teardown (a listener may reach what main() already destroyed):
  // the exchanges' listeners are dropped, never called.
  dead_ = true;
  if (cur_) cur_->clear_everything();
  for (auto& ex : finishing_) ex->clear_everything();
  cur_.reset();
  finishing_.clear();
  spare_.clear();
  server_->remove_connection(this);
}

NETCO_DECL void http_connection::destroy_now() {
  if (dead_) return;
  dead_ = true;
  socket_->destroy({});  // on_close follows
}

NETCO_DECL void http_connection::fail_all() {
  const std::error_code aborted = make_error_code(http::error::aborted);
  if (cur_) {
    std::shared_ptr<exchange> ex = std::move(cur_);
    ex->abort(aborted);
    ex->close_response();
    ex->close();
    ex->clear_everything();
    ex->owner_ = nullptr;
    ex->conn_ = nullptr;
  }
  for (auto& ex : finishing_) {
    ex->close_response();
    ex->close();
    ex->clear_everything();
    ex->owner_ = nullptr;
    ex->conn_ = nullptr;
  }
  finishing_.clear();
}

// --- input ----------------------------------------------------------------------------------

NETCO_DECL void http_connection::on_data(const buffer& chunk) {
  if (dead_ || closing_) return;  // lingering after our last response: dropped
  in_.push(chunk);
  if (phase_ == phase::idle) set_phase(phase::head);
  process();
}

NETCO_DECL bool http_connection::blocked() const noexcept {
  if (dead_ || closing_) return true;
  if (phase_ == phase::responding) return true;  // the next request waits for this answer
  if (close_after_ && !cur_) return true;        // no more requests on this connection
  // The body waits for a consumer (or for resume()), unless the response is already
  // finished: then it is read and dropped (Node's dump).
  if (phase_ == phase::body && cur_ && !cur_->finished_ && !cur_->complete_ &&
      (cur_->paused_ || !cur_->has_consumer())) {
    return true;
  }
  return false;
}

NETCO_DECL void http_connection::process() {
  if (processing_) return;  // a listener resumed something: the running loop goes on
  processing_ = true;
  try {
    while (!blocked()) {
      const parse_result r = parser_.parse(in_.view());
      if (r.event == parse_event::need_more) {
        in_.consume(r.consumed);
        break;
      }
      if (r.event == parse_event::head) {
        on_head(r.consumed);
      } else if (r.event == parse_event::body) {
        on_body(r);
      } else if (r.event == parse_event::message_complete) {
        on_message_complete(r.consumed);
      } else if (r.event == parse_event::upgrade) {
        // No "upgrade" listener: the request was answered as a plain one; the connection ends.
        close_after_ = true;
        break;
      } else {
        on_parse_error();
        break;
      }
    }
  } catch (...) {  // a listener threw: reported; this connection closes, the server goes on
    processing_ = false;
    server_->owner_->report(std::current_exception());
    destroy_now();
    return;
  }
  processing_ = false;
  flush();
  close_when_done();
  regulate_reading();
}

NETCO_DECL void http_connection::on_head(std::size_t consumed) {
  const message_head& h = parser_.head();
  std::shared_ptr<exchange> ex = new_exchange();
  exchange& e = *ex;
  e.method_ = h.method;
  e.url_.assign(h.target);
  e.major_ = h.version_major;
  e.minor_ = h.version_minor;
  for (const header& f : h.headers) e.headers_.add(f.name, f.value);
  if (!e.has_remote_) {  // recycled exchanges stay with their connection: once is enough
    e.remote_ = remote_;
    e.socket_ = socket_;
    e.has_remote_ = true;
  }
  e.is_head_ = h.method == http::method::head;
  e.expect_continue_ = h.expect_continue;
  e.req_keep_alive_ = h.keep_alive;
  if (h.body == body_kind::none) e.complete_ = true;  // set again at message_complete
  const bool wants_upgrade = h.upgrade;
  ++requests_;
  cur_ = std::move(ex);
  in_.consume(consumed);  // after the copies: the head's views point into these bytes
  if (e.major_ == 1 && e.minor_ == 1 && !e.headers_.has("host")) {
    // RFC 9112 3.2: an HTTP/1.1 request without Host is a 400 (stricter than Node).
    cur_->owner_ = nullptr;
    cur_->conn_ = nullptr;
    cur_.reset();
    return client_error(make_error_code(http::error::missing_host));
  }
  set_phase(phase::body);
  http::incoming_message req{std::shared_ptr<message_state>(cur_)};
  http::server_response res(cur_);
  if (wants_upgrade && server_->count_of<"upgrade">() > 0) {
    upgrade(req);
    return;
  }
  if (e.expect_continue_ && e.major_ == 1 && e.minor_ == 1) {
    if (server_->count_of<"checkContinue">() > 0) {
      server_->emit_event<"checkContinue">(req, res);
      return;
    }
    out_.append("HTTP/1.1 100 Continue\r\n\r\n");
  }
  try {
    server_->emit_event<"request">(req, res);
  } catch (...) {
    // A throwing handler, in either style: 500 if nothing was sent, the connection closes
    // after it, and the exception goes to the loop (by default ending run(), as Node's
    // uncaught exception ends the process).
    http::detail_create::answer_failed(res);
    server_->owner_->report(std::current_exception());
  }
}

NETCO_DECL bool http_connection::upgrade(http::incoming_message& req) {
  // The connection leaves HTTP, as Node's: the answers to earlier requests go first (the
  // socket's queue keeps the order), what was read past the head goes to the listener as
  // `head`, and the socket holds what arrives later until the new owner reads.
  flush();
  buffer head = buffer::copy_of(in_.bytes().bytes());
  in_.consume(in_.size());
  cur_->conn_ = nullptr;
  cur_->owner_ = nullptr;
  cur_->complete_ = true;
  cur_.reset();
  dead_ = true;
  server_->remove_connection(this);
  auto keep = shared_from_this();  // the socket lets go of us now
  socket_->hand_off();
  server_->emit_event<"upgrade">(req, net::socket(socket_), head);
  return true;
}

NETCO_DECL void http_connection::on_body(const parse_result& r) {
  if (cur_ && (!cur_->finished_ || cur_->has_consumer())) {
    buffer chunk = in_.slice(r.data);  // the read block's bytes: no copy
    in_.consume(r.consumed);
    cur_->deliver(chunk);
    return;
  }
  in_.consume(r.consumed);
}

NETCO_DECL void http_connection::on_message_complete(std::size_t consumed) {
  in_.consume(consumed);
  if (!cur_) return;
  for (const header& f : parser_.trailers()) cur_->trailers_.add(f.name, f.value);
  set_phase(phase::responding);
  cur_->finish_body();
  if (cur_ && cur_->finished_) retire();
}

NETCO_DECL void http_connection::on_parse_error() {
  const std::error_code ec = parser_.error();
  if (cur_) {
    cur_->abort(make_error_code(http::error::aborted));
    if (cur_->head_sent_) {  // a response is under way: it cannot be replaced by a 400
      destroy_now();
      return;
    }
    std::shared_ptr<exchange> ex = std::move(cur_);
    ex->close_response();
    ex->close();
    ex->clear_everything();
    ex->owner_ = nullptr;
    ex->conn_ = nullptr;
  }
  client_error(ec);
}

NETCO_DECL void http_connection::client_error(std::error_code ec) {
  close_after_ = true;
  if (server_->count_of<"clientError">() > 0) {
    // Node: the listener answers on the socket (write()/end()) or destroys it; if it does
    // neither, the connection is destroyed.
    flush();
    const std::size_t written = socket_->bytes_written_;
    server_->emit_event<"clientError">(ec, net::socket(socket_));
    const bool answered =
        socket_->bytes_written_ != written || socket_->ended_ || socket_->destroyed_;
    if (!answered) destroy_now();
    return;
  }
  // Node's default: 400 (431 for an oversized head) with Connection: close, then close.
  if (ec == parse_error::header_overflow) {
    out_.append("HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n");
  } else {
    out_.append("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
  }
}

NETCO_DECL void http_connection::on_end() {
  peer_ended_ = true;
  if (dead_ || closing_) return;  // after our FIN: the socket closes itself now
  if (phase_ == phase::responding) {
    close_after_ = true;  // a half-closed client still gets its answer, then the close
    return;
  }
  if (cur_) {
    if (cur_->finished_) {
      retire();  // answered before the request was whole: nothing more to wait for
    } else {
      cur_->abort(make_error_code(http::error::aborted));
      std::shared_ptr<exchange> ex = std::move(cur_);
      ex->close_response();
      ex->close();
      ex->clear_everything();
      ex->owner_ = nullptr;
      ex->conn_ = nullptr;
    }
  }
  close_after_ = true;
  close_when_done();
}

NETCO_DECL void http_connection::continue_later() {
  if (continue_posted_ || dead_) return;
  continue_posted_ = true;
  // Never inside the caller (a listener calling resume() or end()): on a later turn, as Node.
  defer(*server_->owner_, [self = shared_from_this()] {
    self->continue_posted_ = false;
    if (!self->dead_) self->process();
  });
}

NETCO_DECL void http_connection::regulate_reading() {
  if (dead_ || closing_) return;
  // Read on while a response is pending (pipelined requests queue up, a reset is seen at
  // once), but not past capacity_; a body nobody takes yet is not read either.
  const bool hold = in_.full() || (phase_ == phase::body && blocked() && cur_ && !cur_->finished_);
  if (hold && !paused_reading_) {
    paused_reading_ = true;
    socket_->pause();
  } else if (!hold && paused_reading_) {
    paused_reading_ = false;
    socket_->resume();
  }
}

// --- output ---------------------------------------------------------------------------------

NETCO_DECL void http_connection::response_ended() {
  if (phase_ == phase::responding && cur_ && cur_->finished_) retire();
  if (processing_) return;  // the parser loop goes on and flushes when it returns
  flush();
  close_when_done();
  continue_later();
}

NETCO_DECL void http_connection::kick() {
  if (processing_ || dead_) return;
  flush();
}

NETCO_DECL void http_connection::retire() {
  std::shared_ptr<exchange> ex = std::move(cur_);
  if (ex->res_count<"finish">() > 0 || ex->res_count<"close">() > 0 ||
      ex->count_of<"close">() > 0) {
    ex->flush_id_ = 0;  // its finish/close go out once its bytes are flushed
    finishing_.push_back(std::move(ex));
  } else {
    ex->finish_emitted_ = true;
    recycle(ex);
  }
  if (!close_after_) set_phase(in_.empty() ? phase::idle : phase::head);
}

NETCO_DECL void http_connection::flush() {
  if (out_.empty() || dead_) return;
  std::uint64_t id = 0;
  for (auto& ex : finishing_) {
    if (ex->flush_id_ == 0) ex->flush_id_ = id = id ? id : ++flush_seq_;
  }
  // One send for the batch; the socket copies only what the kernel did not take at once.
  const auto bytes = std::as_bytes(std::span(out_.data(), out_.size()));
  if (id) {
    socket_->write(nullptr, bytes,
                   [self = shared_from_this(), id](std::error_code ec) { self->flushed(id, ec); });
  } else {
    socket_->write(nullptr, bytes, {});
  }
  out_.clear();
  if (need_drain_ && !over_high_water() && !socket_->need_drain_) {
    // Everything went at once: "drain" need not wait for the socket's.
    need_drain_ = false;
    defer(*server_->owner_, [self = shared_from_this()] {
      if (self->cur_ && !self->cur_->finished_) self->cur_->emit_res<"drain">();
    });
  }
}

NETCO_DECL void http_connection::flushed(std::uint64_t id, std::error_code ec) {
  if (ec || dead_) return;  // on_close tells them
  std::size_t kept = 0;
  for (std::size_t i = 0; i < finishing_.size(); ++i) {
    std::shared_ptr<exchange> ex = std::move(finishing_[i]);
    if (ex->flush_id_ == 0 || ex->flush_id_ > id) {
      finishing_[kept++] = std::move(ex);
      continue;
    }
    ex->finish_emitted_ = true;
    ex->emit_res<"finish">();
    ex->close_response();
    ex->close();
    recycle(ex);
  }
  finishing_.resize(kept);
}

NETCO_DECL void http_connection::on_drain() {
  if (need_drain_ && !over_high_water()) {
    need_drain_ = false;
    if (cur_ && !cur_->finished_) cur_->emit_res<"drain">();
  }
}

NETCO_DECL void http_connection::close_when_done() {
  if (dead_ || closing_ || !close_after_ || cur_) return;
  // Lingering close: our FIN after the last response, then what the peer still sends is
  // dropped until its FIN (or 2 s), so that our answer is not lost to a reset.
  flush();
  closing_ = true;
  set_phase(phase::lingering);
  if (paused_reading_) {
    paused_reading_ = false;
    socket_->resume();
  }
  socket_->end({});
}

NETCO_DECL void http_connection::time_out() {
  if (dead_) return;
  if (closing_ || idle_close_ || phase_ == phase::idle) {
    destroy_now();
    return;
  }
  if (phase_ == phase::responding) return;
  // Node: 408 for a request still arriving when its time is up.
  if (!cur_ || !cur_->head_sent_) {
    out_.append("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n");
  }
  if (cur_) {
    cur_->abort(make_error_code(http::error::request_timeout));
    std::shared_ptr<exchange> ex = std::move(cur_);
    ex->close_response();
    ex->close();
    ex->clear_everything();
    ex->owner_ = nullptr;
    ex->conn_ = nullptr;
  }
  close_after_ = true;
  flush();
  close_when_done();
}

NETCO_DECL void http_connection::server_closing() {
  close_after_ = true;
  const bool idle = phase_ == phase::idle || phase_ == phase::lingering ||
                    (phase_ == phase::head && !cur_ && in_.empty());
  if (idle) {
    idle_close_ = true;
    destroy_now();
  }
}

NETCO_DECL void http_connection::set_phase(phase p) {
  phase_ = p;
  // Only the phases with a timeout need the time (the clock read is a per-request cost).
  if (p != phase::responding) since_ = std::chrono::steady_clock::now();
}

NETCO_DECL std::shared_ptr<exchange> http_connection::new_exchange() {
  std::shared_ptr<exchange> ex;
  if (!spare_.empty()) {
    ex = std::move(spare_.back());
    spare_.pop_back();
    ex->reset_exchange();
  } else {
    ex = std::make_shared<exchange>();
  }
  ex->owner_ = this;
  ex->conn_ = this;
  return ex;
}

NETCO_DECL void http_connection::recycle(std::shared_ptr<exchange>& ex) {
  ex->clear_everything();
  ex->owner_ = nullptr;
  ex->conn_ = nullptr;
  if (ex.use_count() == 1 && spare_.size() < 4) spare_.push_back(std::move(ex));
  ex.reset();
}

// --- the response head ------------------------------------------------------------------------

/// Writes into room reserved in a string up front: the response head is one resize and a
/// run of memcpy, not an append (and a strlen) per piece.
struct http_head_writer {
  char* p;
  void put(std::string_view text) noexcept {
    std::memcpy(p, text.data(), text.size());
    p += text.size();
  }
  void number(std::uint64_t n) noexcept {
    if (n < 1000) {  // status codes and small lengths: no general conversion
      const auto v = static_cast<unsigned>(n);
      if (v >= 100) *p++ = static_cast<char>('0' + v / 100);
      if (v >= 10) *p++ = static_cast<char>('0' + v / 10 % 10);
      *p++ = static_cast<char>('0' + v % 10);
      return;
    }
    p = std::to_chars(p, p + 20, n).ptr;
  }
};

NETCO_DECL void write_response_head(http_connection& c, exchange& ex, bool known_length,
                                    std::size_t length) {
  using namespace std::string_view_literals;
  std::string& out = c.out_;
  const int status = ex.status_code_;
  ex.head_sent_ = true;
  ex.no_body_ = ex.is_head_ || status < 200 || status == 204 || status == 304;
  bool keep = ex.req_keep_alive_ && !c.close_after_ && !ex.user_close_;
  const auto& opt = c.server_->http_options_;
  if (opt.max_requests_per_socket > 0 && c.requests_ >= opt.max_requests_per_socket) keep = false;
  const std::string_view reason =
      ex.reason_.empty() ? http::status_text(status) : std::string_view(ex.reason_);
  const std::string_view date = opt.send_date && !ex.user_date_ ? http_date() : ""sv;
  const std::string_view keep_alive_fields =
      keep && !ex.user_connection_ ? c.server_->keep_alive_fields() : ""sv;

  // Everything but the reason, the fields, the date and the keep-alive fields fits in 96 bytes:
  // the status line's rest 15, "Date: \r\n" 8, "Content-Length: \r\n" 18 and 20 digits, or
  // "Transfer-Encoding: chunked\r\n" 28, "Connection: close\r\n" 19, the blank line 2.
  const std::size_t at = out.size();
  out.resize(at + 96 + reason.size() + ex.out_headers_.wire_size_bound() + date.size() +
             keep_alive_fields.size());
  http_head_writer w{out.data() + at};
  if (status == 200 && ex.reason_.empty()) {  // the common one, without number conversion
    w.put("HTTP/1.1 200 OK\r\n"sv);
  } else {
    w.put("HTTP/1.1 "sv);
    w.number(static_cast<std::uint64_t>(status));
    w.put(" "sv);
    w.put(reason);
    w.put("\r\n"sv);
  }
  for (auto f : ex.out_headers_) {
    w.put(f.name);
    w.put(": "sv);
    w.put(f.value);
    w.put("\r\n"sv);
  }
  if (!date.empty()) {
    w.put("Date: "sv);
    w.put(date);
    w.put("\r\n"sv);
  }
  if (ex.user_chunked_) {
    ex.chunked_ = !ex.no_body_;
  } else if (!ex.user_length_ && status != 204 && status != 304 && status >= 200) {
    if (known_length) {
      w.put("Content-Length: "sv);
      w.number(length);
      w.put("\r\n"sv);
    } else if (ex.is_head_) {
      // HEAD: the body's length is not known; say nothing about it.
    } else if (ex.minor_ >= 1) {
      w.put("Transfer-Encoding: chunked\r\n"sv);
      ex.chunked_ = true;
    } else {
      keep = false;  // HTTP/1.0 without a length: the close ends the body
    }
  }
  if (!ex.user_connection_) {
    if (!keep) {
      w.put("Connection: close\r\n"sv);
    } else {
      // Node 20 says it on every keep-alive response, with the idle timeout in seconds. (The
      // fields were sized above before `keep` could turn false; then they are not written.)
      w.put(keep_alive_fields);
    }
  }
  w.put("\r\n"sv);
  out.resize(static_cast<std::size_t>(w.p - out.data()));
  ex.keep_alive_ = keep;
  if (!keep) c.close_after_ = true;
}

NETCO_DECL void append_body(http_connection& c, exchange& ex, std::string_view data) {
  if (data.empty() || ex.no_body_) return;
  ex.wrote_body_ = true;
  if (ex.chunked_) {
    char digits[24];
    const auto r = std::to_chars(digits, digits + sizeof digits, data.size(), 16);
    c.out_.append(digits, static_cast<std::size_t>(r.ptr - digits));
    c.out_.append("\r\n");
    c.out_.append(data);
    c.out_.append("\r\n");
  } else {
    c.out_.append(data);
  }
}

}  // namespace netco::detail

namespace netco::http {

NETCO_DECL void server_response::check_status(int code) {
  if (code < 100 || code > 999)
    throw std::system_error(make_error_code(error::invalid_status_code), std::to_string(code));
}

NETCO_DECL void server_response::check_not_sent() const {
  if (s().head_sent_) throw std::system_error(make_error_code(error::headers_sent));
}

NETCO_DECL const server_response& server_response::write_head(int status, std::string_view message,
                                                              header_list fields) const {
  check_status(status);
  check_not_sent();
  for (const auto& [name, value] : fields) netco::detail::check_field(name, value);
  if (!message.empty()) netco::detail::check_field("status message", message);
  auto& st = s();
  st.status_code_ = status;
  if (!message.empty() || !st.reason_.empty()) st.reason_.assign(message);
  for (const auto& [name, value] : fields) {
    st.out_headers_.set(name, value);
    st.note_header(name, value);
  }
  st.head_written_ = true;
  return *this;
}

NETCO_DECL bool server_response::write(std::string_view data) const {
  netco::detail::exchange& ex = s();
  netco::detail::http_connection* c = ex.conn_;
  if (ex.finished_ || !c || c->dead_) {
    if (ex.finished_) {
      netco::detail::defer(loop::current(), [st = s_] {
        st->emit_res<"error">(make_error_code(error::write_after_end));
      });
    }
    return false;
  }
  if (!ex.head_sent_) netco::detail::write_response_head(*c, ex, false, 0);
  netco::detail::append_body(*c, ex, data);
  c->kick();
  if (c->over_high_water()) {
    c->need_drain_ = true;
    return false;
  }
  return true;
}

NETCO_DECL const server_response& server_response::end(std::string_view data) const {
  netco::detail::exchange& ex = s();
  if (ex.finished_) return *this;
  ex.finished_ = true;
  netco::detail::http_connection* c = ex.conn_;
  if (!c || c->dead_) return *this;
  if (!ex.head_sent_) netco::detail::write_response_head(*c, ex, true, data.size());
  netco::detail::append_body(*c, ex, data);
  if (ex.chunked_) c->out_.append("0\r\n\r\n");
  c->response_ended();
  return *this;
}

NETCO_DECL const server_response& server_response::write_continue() const {
  netco::detail::exchange& ex = s();
  if (ex.conn_ && !ex.head_sent_) {
    ex.conn_->out_.append("HTTP/1.1 100 Continue\r\n\r\n");
    ex.conn_->kick();
  }
  return *this;
}

NETCO_DECL void detail_create::answer_failed(const server_response& res) noexcept {
  try {
    if (!res) return;
    netco::detail::exchange& ex = *res.state();
    if (!res.headers_sent()) {
      res.write_head(500, {{"Connection", "close"}}).end();
    } else if (!ex.finished_ && ex.conn_) {
      ex.conn_->destroy_now();  // half a response was sent: it cannot be finished honestly
    }
  } catch (...) {  // nothing more can be done for this response
  }
}

NETCO_DECL server create_server(server_options options) {
  return server(std::make_shared<netco::detail::http_server_state>(loop::current(), options));
}

}  // namespace netco::http
