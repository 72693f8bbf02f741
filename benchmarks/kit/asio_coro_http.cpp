// benchmarks/kit/asio_coro_http.cpp: HTTP/1.1 keep-alive "Hello, World!" on standalone Asio's
// C++20 coroutines, one thread; requests and answers as kit_http.h says (as epoll_http.c).
//
//   asio_coro_http PORT
#include "kit_asio.hpp"
#include "kit_http.h"

#include <asio/experimental/as_tuple.hpp>  // errors as values: no exception at a peer's EOF

#include <cstddef>  // std::size_t
#include <cstring>  // memmem, std::memmove
#include <memory>   // std::unique_ptr

namespace {

using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::size_t in_cap = 16384, out_cap = 16384;

asio::awaitable<void> serve(tcp::socket peer) {
  std::unique_ptr<char[]> in(new char[in_cap]), out(new char[out_cap]);
  std::size_t in_len = 0;
  for (;;) {
    // answer every complete request buffered (pipelining), as many as the output holds
    std::size_t used = 0, out_len = 0;
    bool close_after = false;
    for (const char* end;
         !close_after && out_len + KIT_HTTP_ANSWER_MAX <= out_cap &&
         (end = static_cast<const char*>(memmem(in.get() + used, in_len - used, "\r\n\r\n", 4)));) {
      out_len += kit_http_answer(in.get() + used, end + 2, out.get() + out_len, &close_after);
      used = static_cast<std::size_t>(end + 4 - in.get());
    }
    std::memmove(in.get(), in.get() + used, in_len - used);
    in_len -= used;
    if (out_len == 0) {
      if (in_len == in_cap) co_return;  // a head over 16 KiB
      auto [error, n] = co_await peer.async_read_some(
          asio::buffer(in.get() + in_len, in_cap - in_len), use_tuple);
      if (error) co_return;  // EOF or reset
      in_len += n;
      continue;
    }
    auto [error, n] = co_await asio::async_write(peer, asio::buffer(out.get(), out_len), use_tuple);
    if (error) co_return;
    if (close_after) {
      peer.shutdown(tcp::socket::shutdown_send, error);
      co_return;
    }
  }
}

asio::awaitable<void> accept_loop(tcp::acceptor acceptor) {
  for (;;) {
    auto [error, peer] = co_await acceptor.async_accept(use_tuple);
    if (error) continue;  // a peer that reset before accept(), or EMFILE: keep going
    peer.set_option(tcp::no_delay(true), error);
    asio::co_spawn(acceptor.get_executor(), serve(std::move(peer)), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const unsigned short port = kit::port_arg(argc, argv, "asio_coro_http PORT");
  asio::io_context ctx(1);  // concurrency hint: one thread runs it
  asio::signal_set signals(ctx);
  kit::stop_on_signals(ctx, signals);
  asio::co_spawn(ctx, accept_loop(kit::listen(ctx, port)), asio::detached);
  ctx.run();
}
