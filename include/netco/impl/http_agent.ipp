// netco/impl/http_agent.ipp: the out-of-line parts of netco/http/agent.hpp
#pragma once
#include <algorithm>     // erase
#include <system_error>  // system_error

#include "netco/http/agent.hpp"

namespace netco::detail {

NETCO_DECL void idle_connection::on_close(std::error_code ec) {
  (void)ec;
  if (auto p = pool_.lock()) {
    std::erase_if(p->free,
                  [&](const std::shared_ptr<socket_state>& s) { return s.get() == socket_; });
  }
}

/// acquire()'s: waits for a new connection's "connect" or "error".
struct agent_connect_awaiter {
  net::socket s;
  std::error_code ec;
  error_info info;
  std::coroutine_handle<> waiter;
  listener_id on_connect = 0, on_error = 0;

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    waiter = h;
    on_connect = s.add_listener("connect", [this] { done({}, {}); }, {.once = true});
    on_error = s.add_listener(
        "error", [this](std::error_code e, const error_info& i) { done(e, i); }, {.once = true});
  }
  void done(std::error_code e, const error_info& i) {
    ec = e;
    info = i;
    s.off("connect", on_connect).off("error", on_error);
    std::exchange(waiter, nullptr).resume();
  }
  void await_resume() const {
    if (ec) throw std::system_error(ec, info.context());
  }
};

/// acquire()'s: waits, holding the loop, for a slot of a pool at max_sockets.
struct agent_slot_awaiter {
  agent_pool* p;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) { p->waiting.push_back(h); }
  void await_resume() const noexcept {}
};

}  // namespace netco::detail

namespace netco::http {

NETCO_DECL std::string agent::key(std::string_view host, std::uint16_t port) {
  return std::string(host) + ":" + std::to_string(port);
}

NETCO_DECL std::shared_ptr<detail::agent_pool> agent::pool_for(const std::string& k) {
  for (auto& [name, p] : pools_)
    if (name == k) return p;
  pools_.emplace_back(k, std::make_shared<detail::agent_pool>());
  return pools_.back().second;
}

NETCO_DECL std::size_t agent::free_sockets(std::string_view host, std::uint16_t port) {
  return pool_for(key(host, port))->free.size();
}

NETCO_DECL std::size_t agent::sockets(std::string_view host, std::uint16_t port) {
  return pool_for(key(host, port))->active;
}

NETCO_DECL void agent::destroy() {
  for (auto& [k, p] : pools_) {
    for (auto& s : std::vector<std::shared_ptr<detail::socket_state>>(p->free)) s->destroy({});
  }
}

NETCO_DECL task<net::socket> agent::acquire(std::string host, std::uint16_t port) {
  std::shared_ptr<detail::agent_pool> p = pool_for(key(host, port));
  while (p->active >= options_.max_sockets) {
    loop::current().ref();  // a queued request keeps the loop alive
    co_await detail::agent_slot_awaiter{p.get()};
    loop::current().unref();
  }
  ++p->active;
  loop* here = &loop::current();
  for (std::size_t i = p->free.size(); i-- > 0;) {
    std::shared_ptr<detail::socket_state> s = p->free[i];
    if (s->owner_ != here || s->destroyed_) continue;
    p->free.erase(p->free.begin() + static_cast<std::ptrdiff_t>(i));
    s->take_over(nullptr);  // the request attaches itself next
    s->ref();
    co_return net::socket(s);
  }
  try {
    detail::agent_connect_awaiter wait{create_connection(std::move(host), port), {}, {}, {}};
    co_await wait;
    co_return wait.s;
  } catch (...) {
    release_slot(*p);
    throw;
  }
}

NETCO_DECL net::socket agent::create_connection(std::string host, std::uint16_t port) {
  net::connect_options o;
  o.port = port;
  o.host = std::move(host);
  o.no_delay = true;
  return net::create_connection(std::move(o));
}

NETCO_DECL void agent::release(std::string_view host, std::uint16_t port, const net::socket& s,
                               bool reusable) {
  std::shared_ptr<detail::agent_pool> p = pool_for(key(host, port));
  const auto& st = s.state();
  if (st && !st->destroyed_) {
    if (reusable && options_.keep_alive && !st->read_ended_ && !st->ended_ &&
        p->free.size() < options_.max_free_sockets) {
      st->take_over(std::make_shared<detail::idle_connection>(p, st.get()));
      st->unref();
      p->free.push_back(st);
    } else {
      st->destroy({});
    }
  }
  release_slot(*p);
}

NETCO_DECL void agent::release_slot(detail::agent_pool& p) {
  if (p.active > 0) --p.active;
  if (!p.waiting.empty()) {
    std::coroutine_handle<> h = p.waiting.front();
    p.waiting.erase(p.waiting.begin());
    detail::defer(loop::current(), [h] { h.resume(); });
  }
}

NETCO_DECL agent& global_agent() {
  thread_local agent a;
  return a;
}

}  // namespace netco::http
