// netco/impl/dgram.ipp: the out-of-line parts of netco/dgram.hpp: inline in every translation
// unit when header-only, compiled once (by <netco/impl/src.hpp>) under NETCO_SEPARATE_COMPILATION
#pragma once
#include <net/if.h>  // if_nametoindex: IPv6 multicast interfaces by name

#include <cstdlib>  // strtoul
#include <cstring>  // memcpy: joining a list of buffers

#include "netco/detail/buffers.hpp"
#include "netco/dgram.hpp"
#include "netco/resolve.hpp"
#include "netco/spawn.hpp"

namespace netco::detail {

/// The interface index of an IPv6 multicast interface given as "::%name" or "::%index" (Node's
/// form). NOTE: Asio's address parser resolves the scope name of link-local addresses only.
inline unsigned dgram_interface_index(std::string_view text, std::error_code& ec) {
  const auto at = text.find('%');
  if (at == std::string_view::npos) {
    (void)asio::ip::make_address_v6(std::string(text), ec);
    return 0;
  }
  const std::string name(text.substr(at + 1));
  unsigned index = ::if_nametoindex(name.c_str());
  if (index == 0) {
    char* end = nullptr;
    index = static_cast<unsigned>(std::strtoul(name.c_str(), &end, 10));
    if (name.empty() || *end != '\0') ec = std::make_error_code(std::errc::no_such_device);
  }
  return index;
}

inline std::string dgram_family_of(const asio::ip::address& a) {
  return a.is_v4() ? "IPv4" : "IPv6";
}

NETCO_DECL dgram_state::dgram_state(loop& owner, bool v6, const dgram::socket_options& o)
    : owner_(&owner), v6_(v6), max_datagram_(v6 ? udp::max_datagram_v6 : udp::max_datagram_v4) {
  sock_.emplace(owner, v6);
  std::error_code ec;
  if (o.reuse_addr) sock_->asio_socket().set_option(asio::socket_base::reuse_address(true), ec);
  throw_if(ec, "reuseAddr");
  if (v6 && o.ipv6_only) sock_->asio_socket().set_option(asio::ip::v6_only(true), ec);
  throw_if(ec, "ipv6Only");
  if (o.recv_buffer_size > 0) set_buffer_size(true, o.recv_buffer_size);
  if (o.send_buffer_size > 0) set_buffer_size(false, o.send_buffer_size);
  owner.hook(*this);
}

NETCO_DECL dgram_state::~dgram_state() { buffer_block::release(rbuf_); }

NETCO_DECL void dgram_state::on_loop_gone() noexcept {
  // The receive loop's frame goes with the loop's roots: let go of the listeners (handle
  // cycles) and of the socket while its io_context still exists.
  auto keep = weak_from_this().lock();
  closed_ = true;
  holding_ = false;
  clear_all();
  sock_.reset();
}

// --- binding ------------------------------------------------------------------------------------

NETCO_DECL void dgram_state::bind(std::uint16_t port, std::string_view address) {
  check_running();
  if (bind_ != bind_state::unbound) {
    throw std::system_error(make_error_code(errc::already_bound), "bind");
  }
  bind_ = bind_state::binding;
  std::string host(address.empty() ? (v6_ ? "::" : "0.0.0.0") : address);
  std::error_code ec;
  const asio::ip::address literal = asio::ip::make_address(host, ec);
  if (ec) {  // a name: looked up off the loop thread, then bound
    spawn_now(*owner_, resolve_for_bind(shared_from_this(), std::move(host), port));
    return;
  }
  os_bind(host, port, endpoint(literal, port));
}

NETCO_DECL task<> dgram_state::resolve_for_bind(std::shared_ptr<dgram_state> self, std::string host,
                                                std::uint16_t port) {
  (void)self;
  std::error_code ec;
  const auto found = co_await resolve(host, port, ec);
  if (closed_) co_return;
  if (ec) {
    bind_done(ec, host, port);
    co_return;
  }
  os_bind(host, port, pick(found, port));
}

NETCO_DECL void dgram_state::os_bind(const std::string& host, std::uint16_t port,
                                     const endpoint& at) {
  std::error_code ec;
  sock_->asio_socket().bind(at, ec);
  ec = normalize(ec);
  os_bound_ = !ec;  // sends can go out now; "listening" still waits for a later turn
  defer(*owner_, [self = shared_from_this(), ec, host, port] { self->bind_done(ec, host, port); });
}

NETCO_DECL void dgram_state::bind_done(std::error_code ec, const std::string& host,
                                       std::uint16_t port) {
  if (closed_) return;
  if (ec) {
    bind_ = bind_state::unbound;  // Node: the same socket may bind again
    fail_queue(ec);
    if (connect_ == connect_state::connecting) {
      connect_ = connect_state::disconnected;
      connect_cb_.reset();
    }
    const bool lookup = ec.category() != std::system_category();
    emit_error(ec, {lookup ? "getaddrinfo" : "bind", host, lookup ? std::uint16_t{0} : port});
    return;
  }
  bind_ = bind_state::bound;
  update_ref();
  start_reader();
  try {
    emit_event<"listening">();
  } catch (...) {
    owner_->report(std::current_exception());
  }
  if (closed_) return;
  if (connect_ == connect_state::connecting) do_connect();
  start_writer();
}

// --- sending ------------------------------------------------------------------------------------

NETCO_DECL void dgram_state::send(const dgram::message& msg, std::optional<std::uint16_t> port,
                                  std::string_view address, dgram::send_callback cb) {
  check_running();
  const bool connected = !port;
  if (port) {
    if (connect_ != connect_state::disconnected) {
      throw std::system_error(make_error_code(errc::dgram_is_connected), "send");
    }
    if (*port == 0) throw std::system_error(make_error_code(errc::bad_port), "send");
  } else if (connect_ == connect_state::disconnected) {
    throw std::system_error(make_error_code(errc::bad_port), "send");
  }
  if (bind_ == bind_state::unbound) bind(0, {});  // Node binds implicitly, then "listening"

  endpoint to;
  std::string unresolved;  // a name to look up before the datagram can go
  if (port) {
    std::error_code ec;
    if (!resolve_now_or_cached(address, *port, to, ec)) unresolved.assign(address);
    if (ec) {
      complete_later(std::move(cb), ec, 0, {"getaddrinfo", std::string(address), *port});
      return;
    }
  }

  if (unresolved.empty()) {
    if (msg.is_list()) {
      send_list(msg.list(), connected, to, std::move(cb));
      return;
    }
    const auto bytes = msg.bytes();
    if (ready(connected) &&
        try_send(asio::const_buffer(bytes.data(), bytes.size()), connected, to, cb)) {
      return;
    }
  }
  // Not bound yet, a name to resolve, or the send buffer is full: queue it, in order (a
  // buffer is shared, not copied).
  buffer data;
  if (msg.is_list()) {
    data = join(msg.list());
  } else if (const buffer* owner = msg.owner()) {
    const auto bytes = msg.bytes();
    const auto offset = static_cast<std::size_t>(bytes.data() - owner->data());
    data = owner->slice(offset, offset + bytes.size());
  } else {
    data = buffer::copy_of(msg.bytes());
  }
  enqueue({std::move(data), to, connected, std::move(unresolved), port.value_or(0), std::move(cb)});
}

/// Sends now; false when the send buffer is full (EAGAIN), so the datagram must wait.
template <class Buffers>
bool dgram_state::try_send(const Buffers& b, bool connected, const endpoint& to,
                           dgram::send_callback& cb) {
  std::error_code ec;
  auto& s = sock_->asio_socket();
  const std::size_t n = connected ? s.send(b, 0, ec) : s.send_to(b, to, 0, ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) return false;
  // Done: only the callback (or "error") waits for a later turn.
  if (cb || ec) complete_later(std::move(cb), normalize(ec), ec ? 0 : n, send_info(connected, to));
  return true;
}

/// A list of buffers as one datagram: a gather send (one sendmsg), copied only if queued.
NETCO_DECL void dgram_state::send_list(std::span<const buffer> list, bool connected,
                                       const endpoint& to, dgram::send_callback cb) {
  if (ready(connected)) {
    if (list.size() <= udp::max_gather_parts) {
      std::span<const std::byte> parts[udp::max_gather_parts];
      for (std::size_t i = 0; i < list.size(); ++i) parts[i] = list[i].bytes();
      if (try_send(gather_buffers(std::span(parts, list.size())), connected, to, cb)) return;
    } else {
      const buffer joined = join(list);  // over Asio's limit of buffers per sendmsg
      if (try_send(asio::const_buffer(joined.data(), joined.size()), connected, to, cb)) return;
    }
  }
  enqueue({join(list), to, connected, {}, 0, std::move(cb)});
}

NETCO_DECL void dgram_state::enqueue(pending p) {
  queued_bytes_ += p.data.size();
  queue_.push_back(std::move(p));
  start_writer();
}

/// An "error" with Node's context; without a listener it is thrown (and so reported by the
/// loop, as Node's uncaught 'error' ends the process).
NETCO_DECL void dgram_state::emit_error(std::error_code ec, const error_info& info) {
  if (count_of<"error">() == 0) throw std::system_error(ec, info.context());
  emit_event<"error">(ec, info);
}

NETCO_DECL void dgram_state::update_ref() {
  // Node: a bound, open socket keeps the loop alive unless unref()'d. Its receive wait is
  // uncounted; this one reference stands for it.
  const bool want = bind_ == bind_state::bound && !closed_ && !unrefed_;
  if (want == holding_) return;
  holding_ = want;
  if (want)
    owner_->ref();
  else
    owner_->unref();
}

/// True when address:port is known without a lookup (a literal, the default, or the last
/// name looked up); false for a name to look up off the loop thread.
NETCO_DECL bool dgram_state::resolve_now_or_cached(std::string_view address, std::uint16_t port,
                                                   endpoint& out, std::error_code& ec) {
  if (address.empty()) address = v6_ ? "::1" : "127.0.0.1";  // Node's default
  // The last target is cached: an echo replies to the same few peers, with no parsing.
  if (cache_valid_ && port == cached_port_ && address == cached_host_) {
    out = cached_;
    return true;
  }
  std::error_code not_literal;
  const asio::ip::address literal = asio::ip::make_address(std::string(address), not_literal);
  if (not_literal) return false;
  std::vector<asio::ip::tcp::endpoint> found{{literal, port}};
  out = pick(found, port);
  cached_ = out;
  cached_host_.assign(address);
  cached_port_ = port;
  cache_valid_ = true;
  (void)ec;
  return true;
}

/// The address to use among a lookup's: one of the socket's family if there is one, IPv4
/// mapped for a dual-stack udp6 socket.
NETCO_DECL dgram_state::endpoint dgram_state::pick(
    const std::vector<asio::ip::tcp::endpoint>& found, std::uint16_t port) {
  asio::ip::address chosen = found.front().address();
  for (const auto& e : found) {
    if (e.address().is_v6() == v6_) {
      chosen = e.address();
      break;
    }
  }
  if (v6_ && chosen.is_v4()) {  // a dual-stack udp6 socket reaches IPv4 peers mapped
    chosen = asio::ip::make_address_v6(asio::ip::v4_mapped, chosen.to_v4());
  }
  return endpoint(chosen, port);
}

NETCO_DECL error_info dgram_state::send_info(bool connected, const endpoint& to) const {
  if (connected) return {"send", connect_host_, connect_port_};
  return {"send", to.address().to_string(), to.port()};
}

NETCO_DECL void dgram_state::complete_later(dgram::send_callback cb, std::error_code ec,
                                            std::size_t n, error_info info) {
  if (cb) {
    defer(*owner_, [cb = std::move(cb), ec, n]() mutable { cb(ec, n); });
  } else if (ec) {
    // Node drops the error of a send without callback; netco does not stay silent.
    defer(*owner_, [self = shared_from_this(), ec, info = std::move(info)] {
      if (!self->closed_) self->emit_error(ec, info);
    });
  }
}

NETCO_DECL void dgram_state::fail_queue(std::error_code ec, bool connected_only) {
  std::vector<pending> keep;
  for (std::size_t i = head_; i < queue_.size(); ++i) {
    pending& p = queue_[i];
    if (connected_only && !p.connected) {
      keep.push_back(std::move(p));
      continue;
    }
    queued_bytes_ -= p.data.size();
    complete_later(std::move(p.cb), ec, 0, send_info(p.connected, p.to));
  }
  queue_ = std::move(keep);
  head_ = 0;
}

NETCO_DECL buffer dgram_state::join(std::span<const buffer> list) {
  std::size_t total = 0;
  for (const auto& b : list) total += b.size();
  buffer out = buffer::uninitialized(total);
  std::size_t at = 0;
  for (const auto& b : list) {
    if (!b.empty()) std::memcpy(out.mutable_bytes().data() + at, b.data(), b.size());
    at += b.size();
  }
  return out;
}

// --- connected mode -----------------------------------------------------------------------------

NETCO_DECL void dgram_state::connect(std::uint16_t port, std::string_view address,
                                     dgram::connect_callback cb) {
  check_running();
  if (connect_ != connect_state::disconnected) {
    throw std::system_error(make_error_code(errc::dgram_is_connected), "connect");
  }
  if (port == 0) throw std::system_error(make_error_code(errc::bad_port), "connect");
  connect_ = connect_state::connecting;
  connect_cb_ = std::move(cb);
  connect_host_ = std::string(address.empty() ? (v6_ ? "::1" : "127.0.0.1") : address);
  connect_port_ = port;
  if (bind_ == bind_state::unbound) bind(0, {});
  if (os_bound_) do_connect();  // else once bound
}

NETCO_DECL void dgram_state::do_connect() {
  endpoint to;
  std::error_code ec;
  if (!resolve_now_or_cached(connect_host_, connect_port_, to, ec)) {
    spawn_now(*owner_, resolve_for_connect(shared_from_this()));
    return;
  }
  if (!ec) sock_->asio_socket().connect(to, ec);
  connect_done(normalize(ec));
}

NETCO_DECL task<> dgram_state::resolve_for_connect(std::shared_ptr<dgram_state> self) {
  (void)self;
  std::error_code ec;
  const auto found = co_await resolve(connect_host_, connect_port_, ec);
  if (closed_) co_return;
  if (!ec) sock_->asio_socket().connect(pick(found, connect_port_), ec);
  connect_done(normalize(ec));
}

NETCO_DECL void dgram_state::connect_done(std::error_code ec) {
  connect_ = ec ? connect_state::disconnected : connect_state::connected;
  defer(*owner_, [self = shared_from_this(), ec, cb = std::move(connect_cb_),
                  info = error_info{"connect", connect_host_, connect_port_}]() mutable {
    if (self->closed_) return;
    if (ec) {
      self->fail_queue(ec, /*connected_only=*/true);
      if (cb)
        cb(ec);
      else
        self->emit_error(ec, info);
      return;
    }
    self->emit_event<"connect">();
    if (cb) cb({});
    self->start_writer();  // datagrams queued for the connection
  });
}

NETCO_DECL void dgram_state::disconnect() {
  check_running();
  if (connect_ != connect_state::connected) {
    throw std::system_error(make_error_code(errc::dgram_not_connected), "disconnect");
  }
  sock_->disconnect();
  connect_ = connect_state::disconnected;
}

NETCO_DECL address_info dgram_state::remote_address() const {
  check_running();
  if (connect_ != connect_state::connected) {
    throw std::system_error(make_error_code(errc::dgram_not_connected), "remoteAddress");
  }
  std::error_code ec;
  const endpoint e = sock_->remote_endpoint(ec);
  throw_if(ec, "getpeername");
  return {e.address().to_string(), dgram_family_of(e.address()), e.port()};
}

// --- closing and the loop -----------------------------------------------------------------------

NETCO_DECL void dgram_state::close() {
  check_running();
  closed_ = true;
  sock_->close();
  update_ref();
  std::vector<dgram::send_callback> failed;
  for (std::size_t i = head_; i < queue_.size(); ++i) {
    if (queue_[i].cb) failed.push_back(std::move(queue_[i].cb));
  }
  if (!writing_) {  // a pending send still points at its datagram: it goes when that ends
    queue_.clear();
    head_ = 0;
  }
  queued_bytes_ = 0;
  connect_cb_.reset();
  defer(*owner_, [self = shared_from_this(), failed = std::move(failed)]() mutable {
    for (auto& cb : failed) cb(std::make_error_code(std::errc::operation_canceled), 0);
    try {
      self->emit_event<"close">();
    } catch (...) {
      self->owner_->report(std::current_exception());
    }
    self->clear_all();  // listeners go, and with them any handle cycles
    self->unhook();
  });
}

NETCO_DECL void dgram_state::ref() {
  unrefed_ = false;
  update_ref();
}

NETCO_DECL void dgram_state::unref() {
  unrefed_ = true;
  update_ref();
}

// --- options and properties ---------------------------------------------------------------------

NETCO_DECL address_info dgram_state::address() const {
  check_running();
  std::error_code ec;
  const endpoint e = sock_->asio_socket().local_endpoint(ec);
  if (!ec && e.port() == 0) ec = std::make_error_code(std::errc::bad_file_descriptor);
  throw_if(ec, "getsockname");
  return {e.address().to_string(), dgram_family_of(e.address()), e.port()};
}

NETCO_DECL void dgram_state::set_buffer_size(bool receive, int size) {
  if (size <= 0) {
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            receive ? "setRecvBufferSize [ERR_SOCKET_BUFFER_SIZE]"
                                    : "setSendBufferSize [ERR_SOCKET_BUFFER_SIZE]");
  }
  if (receive)
    set_option(asio::socket_base::receive_buffer_size(size), "setRecvBufferSize");
  else
    set_option(asio::socket_base::send_buffer_size(size), "setSendBufferSize");
}

NETCO_DECL void dgram_state::set_multicast_interface(std::string_view interface_address) {
  check_running();
  std::error_code ec;
  if (v6_) {
    const unsigned index = dgram_interface_index(interface_address, ec);
    throw_if(ec, "setMulticastInterface");
    set_option(asio::ip::multicast::outbound_interface(index), "setMulticastInterface");
  } else {
    const auto a = asio::ip::make_address_v4(std::string(interface_address), ec);
    throw_if(ec, "setMulticastInterface");
    set_option(asio::ip::multicast::outbound_interface(a), "setMulticastInterface");
  }
}

NETCO_DECL void dgram_state::membership(bool join, std::string_view group,
                                        std::string_view interface_address) {
  check_running();
  const char* what = join ? "addMembership" : "dropMembership";
  std::error_code ec;
  if (v6_) {
    const auto g = asio::ip::make_address_v6(std::string(group), ec);
    throw_if(ec, what);
    unsigned long index = 0;  // 0: the kernel picks the interface
    if (!interface_address.empty()) {
      index = dgram_interface_index(interface_address, ec);
      throw_if(ec, what);
    }
    if (join)
      set_option(asio::ip::multicast::join_group(g, index), what);
    else
      set_option(asio::ip::multicast::leave_group(g, index), what);
  } else {
    const auto g = asio::ip::make_address_v4(std::string(group), ec);
    throw_if(ec, what);
    auto i = asio::ip::address_v4::any();
    if (!interface_address.empty()) {
      i = asio::ip::make_address_v4(std::string(interface_address), ec);
      throw_if(ec, what);
    }
    if (join)
      set_option(asio::ip::multicast::join_group(g, i), what);
    else
      set_option(asio::ip::multicast::leave_group(g, i), what);
  }
}

// --- the receive loop ---------------------------------------------------------------------------

NETCO_DECL void dgram_state::start_reader() {
  if (reading_ || closed_) return;
  reading_ = true;
  spawn_now(*owner_, reader(shared_from_this()));
}

NETCO_DECL task<> dgram_state::reader(std::shared_ptr<dgram_state> self) {
  (void)self;  // keeps the state alive while the coroutine runs
  while (!closed_) {
    if (!rbuf_) {
      rbuf_ = buffer_block::create(block_size);
      used_ = 0;
    }
    std::error_code ec;
    const udp::datagram_info info = co_await sock_->receive_from(
        std::span(rbuf_->data() + used_, max_datagram_), ec, udp::uncounted);
    if (closed_) break;
    if (ec) {
      if (ec == std::errc::operation_canceled || ec == std::errc::bad_file_descriptor) break;
      // ICMP errors (ECONNREFUSED on a connected socket...) do not stop receiving (U5).
      try {
        emit_error(ec, {"recvmsg", {}, 0});
      } catch (...) {
        owner_->report(std::current_exception());
      }
      continue;
    }
    if (count_of<"message">() == 0) continue;
    if (!have_sender_ || info.sender.address() != sender_) {
      sender_ = info.sender.address();
      have_sender_ = true;
      rinfo_.address = sender_.to_string();
      rinfo_.family = dgram_family_of(sender_);
    }
    rinfo_.port = info.sender.port();
    rinfo_.size = info.size;
    {
      buffer msg;
      if (info.size > 0) {
        buffer_block::retain(rbuf_);
        msg = buffer::adopt(rbuf_, used_, info.size);
      }
      try {
        emit_event<"message">(msg, rinfo_);
      } catch (...) {
        owner_->report(std::current_exception());
      }
    }
    if (rbuf_->refs.load(std::memory_order_acquire) == 1) {
      used_ = 0;  // nobody kept it
    } else {
      used_ += (info.size + 15) & ~std::size_t{15};
      if (rbuf_->capacity - used_ < max_datagram_) {
        buffer_block::release(std::exchange(rbuf_, nullptr));  // the keepers own it now
      }
    }
  }
  reading_ = false;
}

// --- the send queue -----------------------------------------------------------------------------

NETCO_DECL void dgram_state::start_writer() {
  if (writing_ || closed_ || !os_bound_ || head_ == queue_.size()) return;
  writing_ = true;
  spawn_now(*owner_, writer(shared_from_this()));
}

NETCO_DECL task<> dgram_state::writer(std::shared_ptr<dgram_state> self) {
  (void)self;
  while (head_ < queue_.size() && !closed_) {
    pending& front = queue_[head_];
    if (front.connected && connect_ == connect_state::connecting) break;  // connect_done resumes
    pending p = std::move(front);  // moved out: sends may grow the queue meanwhile
    ++head_;
    queued_bytes_ -= p.data.size();
    std::error_code ec;
    std::size_t n = 0;
    error_info failure = send_info(p.connected, p.to);
    if (!p.host.empty()) {  // a name: looked up off the loop thread, in its turn
      const auto found = co_await resolve(p.host, p.port, ec);
      if (closed_) {
        if (p.cb) p.cb(std::make_error_code(std::errc::operation_canceled), 0);
        break;
      }
      if (ec) {
        failure = {"getaddrinfo", p.host, p.port};
      } else {
        p.to = pick(found, p.port);
        failure = send_info(false, p.to);
      }
    }
    if (ec) {
      // reported below
    } else if (p.connected && connect_ != connect_state::connected) {
      ec = make_error_code(errc::dgram_not_connected);
    } else if (p.connected) {
      n = co_await sock_->send(p.data.bytes(), ec);
    } else {
      n = co_await sock_->send_to(p.data.bytes(), p.to, ec);
    }
    if (closed_) {
      if (p.cb) p.cb(std::make_error_code(std::errc::operation_canceled), 0);
      break;
    }
    try {
      if (p.cb)
        p.cb(ec, n);
      else if (ec)
        emit_error(ec, failure);
    } catch (...) {
      owner_->report(std::current_exception());
    }
  }
  if (head_ == queue_.size() || closed_) {
    queue_.clear();
    head_ = 0;
  }
  writing_ = false;
}

}  // namespace netco::detail

namespace netco::dgram {

NETCO_DECL socket create_socket(std::string_view type, socket_options options) {
  const bool v6 = type == "udp6";
  if (!v6 && type != "udp4") {
    throw std::invalid_argument(
        "netco: a dgram socket is \"udp4\" or \"udp6\" [ERR_SOCKET_BAD_TYPE]");
  }
  return socket(std::make_shared<netco::detail::dgram_state>(loop::current(), v6, options));
}

}  // namespace netco::dgram
