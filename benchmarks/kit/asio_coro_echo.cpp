// benchmarks/kit/asio_coro_echo.cpp: TCP echo on standalone Asio's C++20 coroutines
// (awaitable, co_spawn, use_awaitable), one thread: plain Asio coroutine code, nothing tuned.
//
//   asio_coro_echo PORT [BUFSIZE=16384]
//
// NOTE: clang 14 with libstdc++ needs -DASIO_HAS_CO_AWAIT=1 -DASIO_HAS_STD_COROUTINE=1 for
// Asio 1.22 to offer awaitable (it only detects g++'s coroutines); the Makefile adds them.
#include "kit_asio.hpp"

#include <asio/experimental/as_tuple.hpp>  // errors as values: no exception at a peer's EOF

#include <cstddef>  // std::size_t
#include <cstdlib>  // std::strtoul
#include <memory>   // std::unique_ptr

namespace {

using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

asio::awaitable<void> echo(tcp::socket peer, std::size_t buf_size) {
  std::unique_ptr<char[]> buf(new char[buf_size]);  // not zeroed, as in the C servers
  for (;;) {
    auto [read_error, n] =
        co_await peer.async_read_some(asio::buffer(buf.get(), buf_size), use_tuple);
    if (read_error) co_return;  // EOF or reset: the connection is over
    auto [write_error, written] =
        co_await asio::async_write(peer, asio::buffer(buf.get(), n), use_tuple);
    if (write_error) co_return;
  }
}

asio::awaitable<void> accept_loop(tcp::acceptor acceptor, std::size_t buf_size) {
  for (;;) {
    auto [error, peer] = co_await acceptor.async_accept(use_tuple);
    if (error) continue;  // a peer that reset before accept(), or EMFILE: keep going
    peer.set_option(tcp::no_delay(true), error);
    asio::co_spawn(acceptor.get_executor(), echo(std::move(peer), buf_size), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const unsigned short port = kit::port_arg(argc, argv, "asio_coro_echo PORT [BUFSIZE=16384]");
  const std::size_t buf_size = argc > 2 ? std::strtoul(argv[2], nullptr, 0) : 16384;
  asio::io_context ctx(1);  // concurrency hint: one thread runs it
  asio::signal_set signals(ctx);
  kit::stop_on_signals(ctx, signals);
  asio::co_spawn(ctx, accept_loop(kit::listen(ctx, port), buf_size ? buf_size : 16384),
                 asio::detached);
  ctx.run();
}
