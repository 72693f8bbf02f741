// netco/serve.hpp: the coroutine-style server loop: accept, and serve each connection in a task
// of its own (Node's net.createServer(listener), for coroutines)
#pragma once
#include <chrono>        // milliseconds
#include <concepts>      // invocable, same_as
#include <functional>    // function: told of failed accepts (rare, never on the hot path)
#include <memory>        // shared_ptr: the handler outlives serve() while connections run
#include <system_error>  // error_code, errc
#include <type_traits>   // invoke_result_t, is_empty_v, is_pointer_v
#include <utility>       // move

#include "netco/spawn.hpp"
#include "netco/stream.hpp"
#include "netco/task.hpp"
#include "netco/timer.hpp"

namespace netco {

/// How serve() goes. Fill with designated initialisers: {.backoff = 50ms}.
struct serve_options {
  /// The wait after a failed accept (EMFILE, ENFILE, ENOBUFS...) before the next one: such
  /// failures pass once descriptors free up, so the listener stays open, as Node's does.
  std::chrono::milliseconds backoff{100};
  /// Told of each failed accept (Node: the server's "error" event).
  std::function<void(std::error_code)> on_accept_error = {};
};

/// What serve() takes: called with each accepted stream, it returns the task that serves it.
template <class Handler, class Protocol>
concept connection_handler = std::invocable<Handler&, basic_stream<Protocol>> &&
    std::same_as<std::invoke_result_t<Handler&, basic_stream<Protocol>>, task<>>;

namespace detail {
// Each connection's task shares the handler, so a coroutine lambda's captures (which live in
// the lambda, not in its frame) stay valid until the last connection ends.
template <class Handler, class Protocol>
task<> serve_connection(std::shared_ptr<Handler> handler, basic_stream<Protocol> peer) {
  co_await (*handler)(std::move(peer));
}
}  // namespace detail

/// Accepts connections until the acceptor is closed (shutdown_on_signal closes it on SIGINT or
/// SIGTERM) and serves each with handler(stream), in a task spawned on this loop; connections
/// still open when it returns go on to their end. A connection task's exception goes where
/// every spawned task's goes (loop::report, which by default ends run()): a handler catches
/// what a connection may throw, such as a reset peer's std::system_error.
///
///   netco::spawn(netco::serve(acceptor, echo));  // task<> echo(netco::tcp::stream)
template <class Protocol, connection_handler<Protocol> Handler>
task<> serve(basic_acceptor<Protocol>& acceptor, Handler handler, serve_options options = {}) {
  const auto shared = std::make_shared<Handler>(std::move(handler));
  for (;;) {
    std::error_code ec;
    basic_stream<Protocol> peer = co_await acceptor.accept(ec);
    if (ec == std::errc::operation_canceled || !acceptor.is_open()) co_return;  // closed
    if (ec) {
      if (options.on_accept_error) options.on_accept_error(ec);
      co_await sleep_for(options.backoff, ec);  // cancelled: the next accept says so
      continue;
    }
    if constexpr (std::is_pointer_v<Handler> || std::is_empty_v<Handler>) {
      spawn((*shared)(std::move(peer)));  // nothing to keep alive: no frame in between
    } else {
      spawn(detail::serve_connection(shared, std::move(peer)));
    }
  }
}

}  // namespace netco
