// netco/impl/http_message.ipp: the out-of-line parts of netco/http/message.hpp
#pragma once
#include <algorithm>  // max
#include <cstring>    // memcpy
#include <stdexcept>  // logic_error

#include "netco/http/message.hpp"
#include "netco/loop.hpp"

namespace netco::detail {

/// body()'s: waits until the collector is done (the body is in, or failed).
struct body_awaiter {
  message_state* st;
  bool await_ready() const noexcept { return !st->collect_; }
  void await_suspend(std::coroutine_handle<> h) noexcept { st->collect_waiter_ = h; }
  void await_resume() const noexcept {}
};

NETCO_DECL void http_input::push(const buffer& chunk) {
  if (in_.empty()) {
    in_ = chunk;  // the common case: parse straight from the read block
    return;
  }
  const std::size_t n = chunk.size();
  if (acc_ && in_.data() + in_.size() == acc_->data() + acc_end_ &&
      acc_end_ + n <= acc_->capacity) {
    std::memcpy(acc_->data() + acc_end_, chunk.data(), n);
    const auto at = static_cast<std::size_t>(in_.data() - acc_->data());
    acc_end_ += n;
    buffer_block::retain(acc_);
    in_ = buffer::adopt(acc_, at, acc_end_ - at);
    return;
  }
  const std::size_t need = in_.size() + n;
  buffer_block* b = buffer_block::create(std::max(capacity_, need));
  std::memcpy(b->data(), in_.data(), in_.size());
  std::memcpy(b->data() + in_.size(), chunk.data(), n);
  buffer_block::release(std::exchange(acc_, b));
  acc_end_ = need;
  buffer_block::retain(b);
  in_ = buffer::adopt(b, 0, need);
}

NETCO_DECL void http_input::consume(std::size_t n) noexcept {
  if (n == 0) return;
  if (n >= in_.size()) {
    in_ = buffer{};
    if (acc_ && acc_->refs.load(std::memory_order_acquire) == 1) acc_end_ = 0;  // all used
    return;
  }
  in_ = in_.slice(n);
}

NETCO_DECL void message_state::deliver(const buffer& chunk) {
  body_bytes_ += chunk.size();
  if (collect_) {
    if (collect_->size() + chunk.size() > collect_limit_) {
      collect_error_ = make_error_code(http::error::body_too_large);
      collect_ = nullptr;
      flowing_ = true;  // the rest is dropped
      wake_collector();
      return;
    }
    collect_->append(chunk.view());
  }
  emit_event<"data">(chunk);
}

NETCO_DECL void message_state::finish_body() {
  complete_ = true;
  if (ended_) return;
  ended_ = true;
  if (collect_) {
    collect_ = nullptr;
    wake_collector();
  }
  emit_event<"end">();
}

NETCO_DECL void message_state::abort(std::error_code ec) {
  if (complete_ || aborted_) return;
  aborted_ = true;
  if (collect_ || collect_waiter_ || collect_done_) {
    collect_error_ = ec;
    collect_ = nullptr;
    wake_collector();
  }
  emit_event<"aborted">();
  if (count_of<"error">() > 0) emit_event<"error">(ec);
}

NETCO_DECL void message_state::close() {
  if (closed_) return;
  closed_ = true;
  emit_event<"close">();
}

NETCO_DECL void message_state::wake_collector() {
  // Never inside the caller (a parser step, which still has the connection to tidy up): on a
  // later turn.
  if (auto h = std::exchange(collect_waiter_, nullptr)) defer(loop::current(), [h] { h.resume(); });
  if (collect_done_) {
    // Never inside the caller (a parser step): on a later turn, as Node's 'end' callbacks.
    std::error_code ec = std::exchange(collect_error_, {});
    if (!ec && aborted_) ec = make_error_code(http::error::aborted);
    std::string body = ec ? std::string() : std::exchange(collected_, {});
    defer(loop::current(), [cb = std::exchange(collect_done_, {}), ec,
                            body = std::move(body)]() mutable { cb(ec, std::move(body)); });
  }
}

NETCO_DECL void message_state::listener_added(std::string_view name) {
  if (name == "data" && owner_) owner_->consumer_changed();
}

NETCO_DECL void message_state::reset_message() {
  url_.clear();
  status_ = 0;
  status_message_.clear();
  headers_.clear();
  trailers_.clear();
  complete_ = ended_ = aborted_ = closed_ = paused_ = flowing_ = false;
  body_bytes_ = 0;
  collect_ = nullptr;
  collect_waiter_ = nullptr;
  collect_done_.reset();
  collected_.clear();
  collect_error_.clear();
}

}  // namespace netco::detail

namespace netco::http {

NETCO_DECL task<std::string> incoming_message::body(std::size_t limit) const {
  std::shared_ptr<netco::detail::message_state> st = s_;
  if (!st) netco::detail::throw_empty_handle(kind);
  if (st->collect_ || st->collect_done_) {
    throw std::logic_error("netco: body() on a message whose body is being collected already");
  }
  std::string out;
  if (!st->ended_ && !st->aborted_) {
    st->collect_ = &out;
    st->collect_limit_ = limit;
    st->collect_error_.clear();
    if (st->owner_) st->owner_->consumer_changed();
    co_await netco::detail::body_awaiter{st.get()};
    st->collect_ = nullptr;
  }
  if (st->collect_error_) throw std::system_error(std::exchange(st->collect_error_, {}));
  if (st->aborted_) throw std::system_error(make_error_code(error::aborted));
  co_return out;
}

NETCO_DECL void incoming_message::collect(std::size_t limit,
                                          netco::detail::body_callback cb) const {
  netco::detail::message_state& st = s();
  if (st.collect_ || st.collect_done_) {
    throw std::logic_error("netco: body() on a message whose body is being collected already");
  }
  st.collect_done_ = std::move(cb);
  if (st.ended_ || st.aborted_) {  // nothing more will come: answer with what there is
    st.wake_collector();
    return;
  }
  st.collected_.clear();
  st.collect_ = &st.collected_;
  st.collect_limit_ = limit;
  st.collect_error_.clear();
  if (st.owner_) st.owner_->consumer_changed();
}

}  // namespace netco::http
