// netco/impl/http_client.ipp: the out-of-line parts of netco/http/client.hpp: a request over
// an agent's connection, its response parsed as the connection reads
#pragma once
#include <charconv>   // from_chars: the port of a URL
#include <exception>  // exception_ptr

#include "netco/http/client.hpp"
#include "netco/spawn.hpp"
#include "netco/timer.hpp"

namespace netco::http {

NETCO_DECL request_options parse_url(std::string_view url) {
  request_options o;
  if (url.starts_with("https://")) {
    o.protocol = "https:";
    o.port = 443;
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    url.remove_prefix(7);
  } else {
    throw std::system_error(make_error_code(error::invalid_url), std::string(url));
  }
  const std::size_t slash = url.find_first_of("/?");
  std::string_view authority = url.substr(0, slash);
  o.path = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  if (o.path.front() == '?') o.path.insert(0, "/");
  std::string_view host = authority;
  if (authority.starts_with("[")) {  // [v6]:port
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos)
      throw std::system_error(make_error_code(error::invalid_url), std::string(url));
    host = authority.substr(1, close - 1);
    authority.remove_prefix(close + 1);
  } else {
    const std::size_t colon = authority.rfind(':');
    host = authority.substr(0, colon);
    authority = colon == std::string_view::npos ? std::string_view() : authority.substr(colon);
  }
  if (authority.starts_with(":")) {
    unsigned port = 0;
    const auto digits = authority.substr(1);
    const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (r.ec != std::errc() || r.ptr != digits.data() + digits.size() || port > 65535)
      throw std::system_error(make_error_code(error::invalid_url), std::string(url));
    o.port = static_cast<std::uint16_t>(port);
  }
  if (host.empty()) throw std::system_error(make_error_code(error::invalid_url), std::string(url));
  o.host = std::string(host);
  return o;
}

}  // namespace netco::http

namespace netco::detail {

NETCO_DECL bool append_request_head(std::string& out, const http::request_options& o,
                                    bool keep_alive, std::optional<std::size_t> length) {
  out.append(o.method).append(" ").append(o.path).append(" HTTP/1.1\r\n");
  bool host = false, user_length = false, user_chunked = false, connection = false;
  for (const auto& [name, value] : o.headers) {
    check_field(name, value);
    host = host || iequals(name, "host");
    user_length = user_length || iequals(name, "content-length");
    user_chunked =
        user_chunked || (iequals(name, "transfer-encoding") && has_token(value, "chunked"));
    connection = connection || iequals(name, "connection");
    out.append(name).append(": ").append(value).append("\r\n");
  }
  if (!host) {
    out.append("Host: ").append(o.host);
    const std::uint16_t scheme_port = o.protocol == "https:" ? 443 : 80;
    if (o.port != scheme_port) out.append(":").append(std::to_string(o.port));
    out.append("\r\n");
  }
  if (!connection) out.append(keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n");
  bool chunked = user_chunked;
  if (!user_length && !user_chunked) {
    if (!length) {
      out.append("Transfer-Encoding: chunked\r\n");
      chunked = true;
    } else if (*length > 0 || o.method == "POST" || o.method == "PUT" || o.method == "PATCH") {
      out.append("Content-Length: ");
      append_number(out, *length);
      out.append("\r\n");
    }
  }
  out.append("\r\n");
  return chunked;
}

/// Appends body bytes, framed as one chunk when chunked (an empty write sends nothing: an
/// empty chunk would end the body).
inline void append_request_body(std::string& out, std::string_view data, bool chunked) {
  if (data.empty()) return;
  if (chunked) {
    append_hex(out, data.size());
    out.append("\r\n").append(data).append("\r\n");
  } else {
    out.append(data);
  }
}

inline http::method method_of(std::string_view name) noexcept {
  for (const auto& entry : method_table)
    if (entry.name == name) return entry.value;
  return http::method::get;
}

NETCO_DECL http::agent& client_state::the_agent() const {
  // The one place the scheme picks the transport: each agent makes connections of its kind.
  if (options_.agent) return *options_.agent;
  if (options_.protocol == "https:" && https_global_agent) return https_global_agent();
  return http::global_agent();
}

// --- the request --------------------------------------------------------------------------------

NETCO_DECL void client_state::queue_head(std::optional<std::size_t> length) {
  if (head_queued_) return;
  head_queued_ = true;
  chunked_ = append_request_head(out_, options_, the_agent().options().keep_alive, length);
}

NETCO_DECL bool client_state::write(std::string_view data) {
  if (aborted_ || closed_) return false;
  if (ended_) {
    defer(loop::current(), [self = shared_from_this()] {
      if (self->count_of<"error">() > 0)
        self->emit_event<"error">(make_error_code(http::error::write_after_end));
    });
    return false;
  }
  queue_head(std::nullopt);
  append_request_body(out_, data, chunked_);
  // Node's rule: false once what waits, this write included, reaches the mark, even if the
  // connection then takes it all at once; "drain" follows on a later turn either way.
  const bool ok = buffered() < high_water_mark_;
  start();
  send_queued();
  if (!ok) {
    need_drain_ = true;
    defer(loop::current(), [self = shared_from_this()] { self->on_drain(); });
  }
  return ok;
}

NETCO_DECL void client_state::flush_headers() {
  if (head_queued_ || ended_ || aborted_ || closed_) return;
  queue_head(std::nullopt);
  start();
  send_queued();
}

NETCO_DECL void client_state::end(std::string_view data) {
  if (ended_ || aborted_ || closed_) return;
  ended_ = true;
  queue_head(data.size());
  append_request_body(out_, data, chunked_);
  if (chunked_) out_.append("0\r\n\r\n");
  start();
  send_queued();
}

NETCO_DECL void client_state::start() {
  if (started_) return;
  started_ = true;
  parser_.set_request_method(method_of(options_.method));
  if (options_.timeout.count() > 0) arm_timeout(options_.timeout);
  spawn_now(loop::current(), run(shared_from_this()));
}

NETCO_DECL task<> client_state::run(std::shared_ptr<client_state> self) {
  (void)self;
  http::agent& ag = the_agent();
  std::error_code failure;
  if (ag.protocol() != options_.protocol) {  // Node: ERR_INVALID_PROTOCOL, on a later tick
    defer(loop::current(), [self = shared_from_this()] {
      self->fail(make_error_code(http::error::unsupported_protocol));
    });
    co_return;
  }
  try {
    net::socket s = co_await ag.acquire(options_.host, options_.port);
    holding_slot_ = true;
    if (aborted_ || closed_) {
      holding_slot_ = false;
      ag.release(options_.host, options_.port, s, true);  // unused: back to the pool
      close();
      co_return;
    }
    attach(s);
  } catch (const std::system_error& e) {
    failure = e.code();
  }
  if (failure) fail(failure);
}

NETCO_DECL void client_state::attach(const net::socket& s) {
  socket_ = s.state();
  socket_->take_over(shared_from_this());
  send_queued();
}

NETCO_DECL void client_state::give_back(bool reusable) {
  std::shared_ptr<socket_state> s = std::move(socket_);
  if (s) s->take_over(nullptr);
  if (!std::exchange(holding_slot_, false)) return;
  the_agent().release(options_.host, options_.port, net::socket(s), reusable);
}

NETCO_DECL void client_state::send_queued() {
  if (!socket_ || out_.empty()) return;
  const auto bytes = std::as_bytes(std::span(out_.data(), out_.size()));
  if (ended_) {  // the last of the request: "finish" once it is written
    socket_->write(nullptr, bytes, [self = shared_from_this()](std::error_code ec) {
      if (ec || self->aborted_ || self->closed_) return;
      self->body_sent_ = true;
      self->emit_event<"finish">();
      if (self->res_ && self->res_->complete_) self->done(self->reusable_pending_);
    });
  } else {
    socket_->write(nullptr, bytes, {});
  }
  out_.clear();
}

NETCO_DECL void client_state::on_drain() {
  if (need_drain_ && buffered() < high_water_mark_ && !ended_) {
    need_drain_ = false;
    emit_event<"drain">();
  }
}

// --- the response -------------------------------------------------------------------------------

NETCO_DECL void client_state::on_data(const buffer& chunk) {
  if (closed_) return;
  in_.push(chunk);
  process();
}

NETCO_DECL void client_state::continue_later() {
  if (continue_posted_ || closed_) return;
  continue_posted_ = true;
  defer(loop::current(), [self = shared_from_this()] {
    self->continue_posted_ = false;
    if (!self->closed_) self->process();
  });
}

NETCO_DECL void client_state::process() {
  if (processing_ || closed_) return;
  processing_ = true;
  try {
    while (!closed_) {
      // A body nobody takes yet waits (and the connection stops reading), as a request's.
      if (res_ && final_head_ && !res_->complete_ && (res_->paused_ || !res_->has_consumer())) {
        if (!paused_reading_ && socket_) {
          paused_reading_ = true;
          socket_->pause();
        }
        break;
      }
      if (paused_reading_ && socket_) {
        paused_reading_ = false;
        socket_->resume();
      }
      const parse_result r = parser_.parse(in_.view());
      if (r.event == parse_event::need_more) {
        in_.consume(r.consumed);
        break;
      }
      if (r.event == parse_event::head) {
        const std::uint16_t status = parser_.head().status;
        final_head_ = status >= 200;
        if (final_head_) {
          on_head();
        } else if (status != 101) {
          on_information();
        }
        in_.consume(r.consumed);
      } else if (r.event == parse_event::body) {
        buffer chunk = in_.slice(r.data);
        in_.consume(r.consumed);
        if (res_ && !aborted_) res_->deliver(chunk);
      } else if (r.event == parse_event::message_complete) {
        in_.consume(r.consumed);
        if (!final_head_) continue;  // 1xx: the final response follows
        complete();
        break;
      } else if (r.event == parse_event::upgrade) {
        in_.consume(r.consumed);
        if (!hand_over_upgrade()) fail(make_error_code(http::error::socket_hang_up));
        break;
      } else {
        fail(parser_.error());
        break;
      }
    }
  } catch (...) {  // a listener threw: reported; this request closes
    processing_ = false;
    loop::current().report(std::current_exception());
    abort();
    return;
  }
  processing_ = false;
}

NETCO_DECL void client_state::on_head() {
  const message_head& h = parser_.head();
  res_ = std::make_shared<message_state>();
  res_->status_ = h.status;
  res_->status_message_.assign(h.reason);
  res_->major_ = h.version_major;
  res_->minor_ = h.version_minor;
  for (const header& f : h.headers) res_->headers_.add(f.name, f.value);
  res_->owner_ = this;
  if (socket_) {
    res_->socket_ = socket_;
    res_->remote_ = socket_->remote();
  }
  // Node: with no "response" listener the body is read and dropped.
  if (count_of<"response">() == 0) res_->flowing_ = true;
  if (!aborted_) emit_event<"response">(http::incoming_message(res_));
}

NETCO_DECL void client_state::on_information() {
  if (aborted_) return;
  const message_head& h = parser_.head();
  // Node 20: "continue" for a 100, and "information" for every 1xx but 101.
  if (h.status == 100) emit_event<"continue">();
  if (count_of<"information">() == 0) return;
  http::information info;
  info.status_code = h.status;
  info.status_message.assign(h.reason);
  info.http_version_major = h.version_major;
  info.http_version_minor = h.version_minor;
  for (const header& f : h.headers) info.headers.add(f.name, f.value);
  emit_event<"information">(info);
}

NETCO_DECL bool client_state::hand_over_upgrade() {
  // A 101 (or a CONNECT tunnel): the connection leaves HTTP and the agent, as Node's.
  if (count_of<"upgrade">() == 0 || !socket_) return false;
  const message_head& h = parser_.head();
  auto res = std::make_shared<message_state>();
  res->status_ = h.status;
  res->status_message_.assign(h.reason);
  res->major_ = h.version_major;
  res->minor_ = h.version_minor;
  for (const header& f : h.headers) res->headers_.add(f.name, f.value);
  res->complete_ = true;
  res->socket_ = socket_;
  buffer head = buffer::copy_of(in_.bytes().bytes());
  in_.consume(in_.size());
  std::shared_ptr<socket_state> s = socket_;
  auto keep = shared_from_this();
  give_back(false);  // the slot only: the socket goes to the listener
  s->hand_off();
  timer_scope_.cancel();
  emit_event<"upgrade">(http::incoming_message(res), net::socket(s), head);
  close();
  return true;
}

NETCO_DECL void client_state::complete() {
  for (const header& f : parser_.trailers()) res_->trailers_.add(f.name, f.value);
  reusable_pending_ = parser_.head().keep_alive && in_.empty();
  if (!aborted_) res_->finish_body();
  if (closed_) return;
  if (body_sent_ || !socket_) {
    done(reusable_pending_);
  } else if (ended_) {
    // The response came before the request's last bytes went out: wait for them ("finish"
    // then done()), unless the server ends the connection first.
  } else {
    done(false);  // the request was never finished: the connection cannot carry another
  }
}

NETCO_DECL void client_state::on_end() {
  if (closed_) return;
  const parse_result f = parser_.finish();
  if (f.event == parse_event::message_complete && final_head_ && res_ && !res_->complete_) {
    complete();  // a body delimited by the close
    return;
  }
  if (res_ && res_->complete_) return;  // done() runs once "finish" is in
  fail(make_error_code(res_ ? http::error::aborted : http::error::socket_hang_up));
}

NETCO_DECL void client_state::on_close(std::error_code ec) {
  socket_.reset();
  if (closed_) return;
  if (res_ && res_->complete_) {  // complete, then the connection went: nothing is lost
    done(false);
    return;
  }
  fail(ec ? ec : make_error_code(res_ ? http::error::aborted : http::error::socket_hang_up));
}

NETCO_DECL void client_state::on_loop_gone() noexcept {
  socket_.reset();
  closed_ = true;
  holding_slot_ = false;  // the agent's pool for this loop is going too
  clear_all();
  if (res_) {
    res_->owner_ = nullptr;
    res_->clear_all();
  }
}

NETCO_DECL void client_state::done(bool reusable) {
  if (closed_) return;
  timer_scope_.cancel();
  give_back(reusable && body_sent_ && !aborted_);
  if (res_) res_->close();
  close();
}

NETCO_DECL void client_state::fail(std::error_code ec) {
  if (closed_) return;
  timer_scope_.cancel();
  if (socket_) socket_->destroy({});
  give_back(false);
  if (aborted_) {
    // destroy(): no event but "close"
  } else if (res_) {
    res_->abort(make_error_code(http::error::aborted));
    res_->close();
  } else if (count_of<"error">() > 0) {
    emit_event<"error">(ec);
  } else {
    // Node: an "error" without a listener throws; here it is reported to the loop.
    loop::current().report(std::make_exception_ptr(std::system_error(ec)));
  }
  close();
}

NETCO_DECL void client_state::arm_timeout(std::chrono::milliseconds ms) {
  spawn_now(loop::current(),
            [](std::shared_ptr<client_state> self, std::chrono::milliseconds ms) -> task<> {
              std::error_code ec;
              co_await self->timer_scope_.run(sleep_for(ms, ec));
              if (!ec && !self->closed_) self->emit_event<"timeout">();
            }(shared_from_this(), ms));
}

NETCO_DECL void client_state::close() {
  if (closed_) return;
  closed_ = true;
  timer_scope_.cancel();
  emit_event<"close">();
  clear_all();
  if (res_) {
    res_->owner_ = nullptr;
    res_->clear_all();
  }
}

NETCO_DECL void client_state::abort() {
  if (aborted_ || closed_) return;
  aborted_ = true;
  if (socket_) {
    fail({});
    return;
  }
  if (!started_) {
    timer_scope_.cancel();
    defer(loop::current(), [self = shared_from_this()] { self->close(); });
  }
  // Started, still connecting: run() closes once the agent answers.
}

}  // namespace netco::detail

namespace netco::http {

NETCO_DECL const client_request& client_request::set_header(std::string_view name,
                                                            std::string_view value) const {
  netco::detail::check_field(name, value);
  if (s().head_queued_) throw std::system_error(make_error_code(error::headers_sent));
  auto& h = s().options_.headers;
  std::erase_if(h, [&](const auto& f) { return netco::detail::iequals(f.first, name); });
  h.emplace_back(std::string(name), std::string(value));
  return *this;
}

NETCO_DECL client_request request(request_options options) {
  auto st = std::make_shared<netco::detail::client_state>();
  st->options_ = std::move(options);
  return client_request(st);
}

}  // namespace netco::http
