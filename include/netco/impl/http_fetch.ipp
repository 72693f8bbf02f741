// netco/impl/http_fetch.ipp: the out-of-line part of netco/http/fetch.hpp
#pragma once
#include <cstddef>  // size_t
#include <limits>   // numeric_limits: fetch reads a body of any size

#include "netco/http/fetch.hpp"

namespace netco::detail {

/// fetch()'s: what the request's "response" or "error" brought, shared with its listeners.
struct fetch_wait {
  http::incoming_message res;
  std::error_code ec;
  std::coroutine_handle<> waiter;
  bool done = false;
  void finish() {
    if (std::exchange(done, true)) return;
    if (auto h = std::exchange(waiter, nullptr)) h.resume();
  }
};

// Holds a plain pointer (fetch's frame owns the state): GCC 12 may destroy a temporary awaiter
// twice, which would drop a shared_ptr member's count once too often.
struct fetch_awaiter {
  fetch_wait* w;
  bool await_ready() const noexcept { return w->done; }
  void await_suspend(std::coroutine_handle<> h) noexcept { w->waiter = h; }
  void await_resume() const noexcept {}
};

}  // namespace netco::detail

namespace netco::http {

NETCO_DECL task<fetch_response> fetch(std::string url, fetch_options options) {
  request_options o = parse_url(url);
  o.method = options.method;
  o.headers = std::move(options.headers);
  o.agent = options.agent;
  auto w = std::make_shared<netco::detail::fetch_wait>();
  client_request req = request(std::move(o));
  req.on("response", [w](const incoming_message& res) {
    w->res = res;
    w->finish();
  });
  req.on("error", [w](std::error_code ec) {
    w->ec = ec;
    w->finish();
  });
  req.on("close", [w] {
    if (!w->done) w->ec = make_error_code(error::socket_hang_up);
    w->finish();
  });
  req.end(options.body);
  co_await netco::detail::fetch_awaiter{w.get()};
  if (w->ec) throw std::system_error(w->ec, "fetch " + url);
  fetch_response out;
  out.status = w->res.status_code();
  out.status_text.assign(w->res.status_message());
  out.headers = w->res.headers();
  out.body_ = co_await w->res.body(std::numeric_limits<std::size_t>::max());
  co_return out;
}

}  // namespace netco::http
