// benchmarks/kit/beast_ws_echo.cpp: WebSocket echo on Boost.Beast (Debian's libboost1.81-dev,
// header-only), one thread, C++20 coroutines: the reference for netco's WebSocket server.
//
//   beast_ws_echo PORT
//
// Accepts the upgrade on any path; each message goes back as one message of its type, from
// one flat_buffer per connection. permessage-deflate off (Beast's default, said explicitly),
// auto_fragment off (Beast would cut an echo above its 4 KiB write buffer into frames), no
// timeouts and no pings (Beast's defaults without timeout::suggested(), as in Node's ws).
#include <boost/asio/as_tuple.hpp>  // errors as values: no exception per close
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

#include <csignal>  // SIGTERM, SIGINT
#include <cstdio>   // std::fprintf
#include <cstdlib>  // std::atoi

namespace {

namespace net = boost::asio;
namespace websocket = boost::beast::websocket;
using tcp = net::ip::tcp;
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

net::awaitable<void> echo(tcp::socket peer) {
  websocket::stream<tcp::socket> ws(std::move(peer));
  websocket::permessage_deflate no_deflate;
  no_deflate.server_enable = false;
  ws.set_option(no_deflate);
  ws.auto_fragment(false);
  auto [accept_error] = co_await ws.async_accept(use_tuple);
  if (accept_error) co_return;
  boost::beast::flat_buffer buf;
  for (;;) {
    auto [read_error, n] = co_await ws.async_read(buf, use_tuple);
    if (read_error) co_return;  // closed, EOF or reset
    ws.text(ws.got_text());
    auto [write_error, written] = co_await ws.async_write(buf.data(), use_tuple);
    if (write_error) co_return;
    buf.consume(buf.size());
  }
}

net::awaitable<void> accept_loop(tcp::acceptor acceptor) {
  for (;;) {
    auto [error, peer] = co_await acceptor.async_accept(use_tuple);
    if (error) continue;  // a peer that reset before accept(), or EMFILE: keep going
    peer.set_option(tcp::no_delay(true), error);
    net::co_spawn(acceptor.get_executor(), echo(std::move(peer)), net::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int port = argc > 1 ? std::atoi(argv[1]) : 0;
  if (port <= 0 || port > 65535) {
    std::fprintf(stderr, "usage: beast_ws_echo PORT\n");
    return 2;
  }
  net::io_context ctx(1);  // concurrency hint: one thread runs it
  net::signal_set signals(ctx, SIGTERM, SIGINT);
  signals.async_wait([&ctx](boost::system::error_code, int) { ctx.stop(); });
  tcp::acceptor acceptor(ctx, {net::ip::address_v4::loopback(), static_cast<unsigned short>(port)});
  acceptor.listen(4096);
  net::co_spawn(ctx, accept_loop(std::move(acceptor)), net::detached);
  ctx.run();
}
