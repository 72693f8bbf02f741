// netco/local.hpp: awaitable Unix-domain stream sockets (named local: `unix` is a GNU macro)
#pragma once
#include <string>        // string
#include <system_error>  // error_code, system_error

#include "netco/detail/asio.hpp"
#include "netco/loop.hpp"
#include "netco/stream.hpp"
#include "netco/task.hpp"

namespace netco::local {

using endpoint = asio::local::stream_protocol::endpoint;
using stream = netco::basic_stream<asio::local::stream_protocol>;
using acceptor = netco::basic_acceptor<asio::local::stream_protocol>;

/// Listens on a socket file. As in Node, a path that exists (busy or stale) fails with
/// EADDRINUSE; closing the acceptor removes the file it created.
inline acceptor listen(const std::string& path, int backlog, std::error_code& ec) {
  loop& owner = loop::current();
  acceptor result(owner);
  auto& a = result.asio_acceptor();
  a.open(asio::local::stream_protocol(), ec);
  if (!ec) a.bind(endpoint(path), ec);
  if (ec) {
    result.close();
    ec = netco::detail::normalize(ec);
    return result;
  }
  result.own_path(path);  // bound: the file is ours to remove
  a.listen(backlog, ec);
  if (ec) result.close();
  ec = netco::detail::normalize(ec);
  return result;
}
inline acceptor listen(const std::string& path, int backlog = 511) {
  std::error_code ec;
  acceptor a = listen(path, backlog, ec);
  if (ec) throw std::system_error(ec, "listen " + path);
  return a;
}

/// Connects to a socket file. Throws std::system_error (ENOENT, ECONNREFUSED...).
inline task<stream> connect(std::string path) {
  loop& owner = loop::current();
  stream::socket_type socket(owner.context());
  co_await netco::detail::connect_awaiter<stream::socket_type>(owner, socket, endpoint(path),
                                                               nullptr);
  co_return stream(owner, std::move(socket));
}
inline task<stream> connect(std::string path, std::error_code& ec) {
  loop& owner = loop::current();
  stream::socket_type socket(owner.context());
  co_await netco::detail::connect_awaiter<stream::socket_type>(owner, socket, endpoint(path), &ec);
  if (ec) {
    std::error_code ignored;
    socket.close(ignored);
  }
  co_return stream(owner, std::move(socket));
}

}  // namespace netco::local
