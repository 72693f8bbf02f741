// netco/tcp.hpp: awaitable TCP (listen, accept, connect, stream)
#pragma once
#include <cstddef>       // size_t
#include <cstdint>       // uint16_t
#include <string>        // string
#include <string_view>   // string_view
#include <system_error>  // error_code, system_error
#include <vector>        // vector

#include "netco/detail/asio.hpp"
#include "netco/loop.hpp"
#include "netco/resolve.hpp"
#include "netco/stream.hpp"
#include "netco/task.hpp"

namespace netco::tcp {

using endpoint = asio::ip::tcp::endpoint;
using stream = netco::basic_stream<asio::ip::tcp>;
using acceptor = netco::basic_acceptor<asio::ip::tcp>;

/// True where several sockets may listen on one port, the kernel spreading connections over
/// them (SO_REUSEPORT: Linux, the BSDs, macOS). netco::cluster relies on it by default.
#if defined(SO_REUSEPORT)
inline constexpr bool has_reuse_port = true;
#else
inline constexpr bool has_reuse_port = false;
#endif

/// How to listen. Node: server.listen(options)
struct listen_options {
  int backlog = 511;
  /// SO_REUSEPORT: other sockets of this user may listen on the same port, and the kernel
  /// spreads new connections over them (one per loop: netco::cluster). Fails with
  /// std::errc::operation_not_supported where the OS lacks it.
  bool reuse_port = false;
};

}  // namespace netco::tcp

namespace netco::detail {
/// SO_REUSEPORT as an Asio socket option; set_reuse_port reports ENOTSUP where it is missing.
struct reuse_port_option {
  int value = 1;
  template <class Protocol>
  int level(const Protocol&) const noexcept {
    return SOL_SOCKET;
  }
  template <class Protocol>
  int name(const Protocol&) const noexcept {
#if defined(SO_REUSEPORT)
    return SO_REUSEPORT;
#else
    return 0;
#endif
  }
  template <class Protocol>
  const int* data(const Protocol&) const noexcept {
    return &value;
  }
  template <class Protocol>
  std::size_t size(const Protocol&) const noexcept {
    return sizeof(value);
  }
};
template <class Acceptor>
void set_reuse_port(Acceptor& a, std::error_code& ec) {
  if constexpr (tcp::has_reuse_port) {
    a.set_option(reuse_port_option{}, ec);
  } else {
    ec = std::make_error_code(std::errc::operation_not_supported);
  }
}

inline tcp::acceptor tcp_listen_on(loop& owner, const tcp::endpoint& at, int backlog,
                                   std::error_code& ec, bool reuse_port = false) {
  tcp::acceptor result(owner);
  if (ec) return result;
  auto& a = result.asio_acceptor();
  a.open(at.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);  // as Node: quick restarts
  if (!ec && reuse_port) set_reuse_port(a, ec);
  if (!ec) a.bind(at, ec);
  if (!ec) a.listen(backlog, ec);
  if (ec) result.close();
  ec = normalize(ec);
  return result;
}
}  // namespace netco::detail

namespace netco::tcp {

/// Listens on host:port (an IPv4 or IPv6 literal, or a name resolved now, before the loop
/// runs); port 0 picks a free port, which acceptor::port() reports. A busy port fails with
/// EADDRINUSE. The acceptor belongs to the calling thread's loop.
inline acceptor listen(std::string_view host, std::uint16_t port, int backlog,
                       std::error_code& ec) {
  loop& owner = loop::current();
  const auto targets = resolve_now(host, port, ec);
  return detail::tcp_listen_on(owner, ec ? endpoint() : targets.front(), backlog, ec);
}
inline acceptor listen(std::string_view host, std::uint16_t port, int backlog = 511) {
  std::error_code ec;
  acceptor a = listen(host, port, backlog, ec);
  if (ec) throw std::system_error(ec, "listen " + std::string(host) + ":" + std::to_string(port));
  return a;
}
/// As above, with options (SO_REUSEPORT).
inline acceptor listen(std::string_view host, std::uint16_t port, listen_options options,
                       std::error_code& ec) {
  loop& owner = loop::current();
  const auto targets = resolve_now(host, port, ec);
  return detail::tcp_listen_on(owner, ec ? endpoint() : targets.front(), options.backlog, ec,
                               options.reuse_port);
}
inline acceptor listen(std::string_view host, std::uint16_t port, listen_options options) {
  std::error_code ec;
  acceptor a = listen(host, port, options, ec);
  if (ec) throw std::system_error(ec, "listen " + std::string(host) + ":" + std::to_string(port));
  return a;
}

/// Connects to host:port, resolving the name first and trying each address in turn. Throws
/// std::system_error (ECONNREFUSED, a resolver error...) with the last address's failure.
inline task<stream> connect(std::string host, std::uint16_t port) {
  loop& owner = loop::current();
  std::vector<endpoint> targets = co_await resolve(host, port);
  stream::socket_type socket(owner.context());
  std::error_code ec;
  for (const endpoint& target : targets) {
    if (socket.is_open()) socket.close(ec);
    co_await netco::detail::connect_awaiter<stream::socket_type>(owner, socket, target, &ec);
    if (!ec) co_return stream(owner, std::move(socket));
  }
  throw std::system_error(ec, "connect " + host + ":" + std::to_string(port));
}

/// As above, without exceptions: a failure is stored in ec and a closed stream returned.
inline task<stream> connect(std::string host, std::uint16_t port, std::error_code& ec) {
  loop& owner = loop::current();
  stream::socket_type socket(owner.context());
  std::error_code ignored_close_error;
  std::vector<endpoint> targets = co_await resolve(host, port, ec);
  for (const endpoint& target : targets) {
    if (socket.is_open()) socket.close(ec);
    co_await netco::detail::connect_awaiter<stream::socket_type>(owner, socket, target, &ec);
    if (!ec) break;
  }
  if (ec) socket.close(ignored_close_error);
  co_return stream(owner, std::move(socket));
}

}  // namespace netco::tcp
