// netco/tls/stream.hpp: tls::stream, a TLS connection over any netco byte_stream (coroutine
// style: connect, handshake, read_some, write_all, half-close), and tls::connect
#pragma once
#include <chrono>        // milliseconds: the handshake timeout
#include <coroutine>     // coroutine_handle: the one write that waits for another
#include <cstddef>       // byte, size_t
#include <cstdint>       // uint16_t
#include <memory>        // shared_ptr: the core a tls::socket shares
#include <span>          // span
#include <string>        // string
#include <string_view>   // string_view
#include <system_error>  // error_code, system_error
#include <utility>       // move
#include <vector>        // vector: the ciphertext of one gathered write

#include "netco/buffer.hpp"
#include "netco/detail/decl.hpp"
#include "netco/detail/pooled_read.hpp"
#include "netco/stream.hpp"
#include "netco/task.hpp"
#include "netco/tcp.hpp"
#include "netco/timer.hpp"
#include "netco/tls/context.hpp"
#include "netco/tls/engine.hpp"
#include "netco/tls/error.hpp"

namespace netco::detail {

/// What one TLS stream's operations share, on the heap so that the stream may move and a
/// tls::socket may keep it: the engine, and the one-writer gate (a read may have to send too:
/// handshake flights, alerts, key updates). Loop thread only.
struct tls_stream_core {
  tls::engine engine;
  std::chrono::milliseconds handshake_timeout{120000};  // Node's handshakeTimeout
  bool more = false;     // the last read gave data: the engine may hold more plaintext
  bool eof = false;      // the next layer ended (fed to the engine)
  bool writing = false;  // a flush is on the next layer
  bool shut = false;     // our close_notify and FIN are out
  std::coroutine_handle<> write_waiter;  // a flush waiting for the one in progress
  std::vector<buffer> out;               // the ciphertext in flight
  std::vector<std::span<const std::byte>> iov;

  enum class read_step { data, end, want_read, failed };
  /// Decrypts into dst what the engine can now: data (n bytes), end (close_notify), want_read
  /// (feed it), or failed (ec: a bad record, an alert, or truncation).
  NETCO_DECL read_step read_now(std::span<std::byte> dst, std::size_t& n, std::error_code& ec);
  /// Moves all pending ciphertext into out/iov for one gathered write; false when none.
  NETCO_DECL bool take_flight();
  /// Sends what the next layer takes now of the engine's output (no waiting); true if all went.
  template <class Next>
  bool flush_now(Next& next) {
    std::error_code ec;
    while (!writing && engine.has_output()) {
      auto pending = engine.pending_output();
      const std::size_t n = next.try_write_some(pending, ec);
      if (ec || n == 0) return false;
      engine.consume_output(n);
    }
    return !engine.has_output();
  }
  /// Feeds n bytes the next layer read into block (0: its end).
  NETCO_DECL void feed(buffer_block* block, std::size_t n);
  /// The gate's wait: resumes once no flush is on the next layer.
  auto wait_turn() noexcept {
    struct awaiter {
      tls_stream_core* c;
      bool await_ready() const noexcept { return !c->writing; }
      void await_suspend(std::coroutine_handle<> h) noexcept { c->write_waiter = h; }
      void await_resume() const noexcept {}
    };
    return awaiter{this};
  }
  /// Ends a flush: the waiting one (if any) goes next.
  void release_turn() {
    writing = false;
    if (write_waiter) std::exchange(write_waiter, nullptr).resume();
  }
};

/// Resumes the awaiting coroutine on a later turn of the loop (which it keeps alive meanwhile).
struct tls_later_awaiter {
  loop* owner;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    defer(*owner, [h] { h.resume(); });
  }
  void await_resume() const noexcept {}
};

/// One more argument for a system_error's what(), for the throwing forms.
NETCO_DECL void tls_throw_if(const std::error_code& ec, const char* what);

}  // namespace netco::detail

namespace netco::tls {

/// TLS over Next, any netco byte_stream (a tcp::stream, a local::stream, net's own; another
/// tls::stream even), and a byte_stream itself, so net::socket, serve() and HTTP run over it.
/// Reads feed OpenSSL from the next layer's reads (a pooled block taken only once data is
/// there); a write is encrypted and sent as one gathered write. Move-only; one reader and one
/// writer at a time, on the loop of the next layer.
/// Node: tls.TLSSocket (coroutine style)
template <class Next = tcp::stream>
class stream {
 public:
  using next_layer_type = Next;

  /// A stream over next with an engine of its own making (engine::client / engine::server).
  stream(Next next, engine e)
      : next_(std::move(next)), core_(std::make_shared<detail::tls_stream_core>()) {
    core_->engine = std::move(e);
  }
  /// The client side of a connection next made: call handshake() next.
  static stream client(Next next, const secure_context& context, client_options options = {}) {
    engine e = engine::client(context, std::move(options));
    return stream(std::move(next), std::move(e));
  }
  /// The server side of a connection next accepted: call handshake() next.
  static stream server(Next next, const secure_context& context) {
    engine e = engine::server(context);
    return stream(std::move(next), std::move(e));
  }

  /// Runs the handshake, within timeout (0: none); then peer information is in get_engine().
  /// ec: OpenSSL's reason, a verification failure (tls::errc), tls::errc::handshake_timeout,
  /// or the next layer's error. The next layer stays open either way.
  task<> handshake(std::error_code& ec, std::chrono::milliseconds timeout) {
    ec.clear();
    if (timeout.count() <= 0) {
      ec = co_await handshake_steps();
      co_return;
    }
    detail::timeout_guard guard(owner(), timeout);
    ec = co_await detail::scoped_awaiter<std::error_code>(handshake_steps(), guard.signal);
    co_await guard.disarm();
    if (guard.fired() && ec) ec = make_error_code(errc::handshake_timeout);
  }
  /// With the core's handshake_timeout (Node's 120 s unless set_handshake_timeout()).
  task<> handshake(std::error_code& ec) { return handshake(ec, core_->handshake_timeout); }
  /// Throws std::system_error on failure.
  task<> handshake() {
    std::error_code ec;
    co_await handshake(ec);
    detail::tls_throw_if(ec, "tls handshake");
  }
  void set_handshake_timeout(std::chrono::milliseconds ms) noexcept {
    core_->handshake_timeout = ms;
  }

  /// Decrypts what is there, up to dst.size() bytes, waiting for at least one. 0 only at the
  /// peer's close_notify (its side ended cleanly) or for an empty dst. An end of the next layer
  /// without close_notify fails with OpenSSL's "unexpected eof while reading" (truncation).
  task<std::size_t> read_some(std::span<std::byte> dst, std::error_code& ec) {
    ec.clear();
    detail::tls_stream_core& c = *core_;
    for (;;) {
      std::size_t n = 0;
      const auto step = c.read_now(dst, n, ec);
      if (c.engine.has_output()) {  // an alert or a key update's answer
        std::error_code write_ec;
        co_await flush(write_ec);
      }
      switch (step) {
        case detail::tls_stream_core::read_step::data:
          co_return n;
        case detail::tls_stream_core::read_step::end:
          co_return 0;
        case detail::tls_stream_core::read_step::failed:
          co_return 0;
        case detail::tls_stream_core::read_step::want_read:
          break;
      }
      co_await fill(ec);
      if (ec) co_return 0;
    }
  }
  task<std::size_t> read_some(std::span<std::byte> dst) {
    std::error_code ec;
    const std::size_t n = co_await read_some(dst, ec);
    detail::tls_throw_if(ec, "tls read");
    co_return n;
  }
  task<std::size_t> read_some(std::span<char> dst, std::error_code& ec) {
    return read_some(std::as_writable_bytes(dst), ec);
  }
  task<std::size_t> read_some(std::span<char> dst) {
    return read_some(std::as_writable_bytes(dst));
  }

  /// Encrypts and sends all of bytes (in 64 KiB steps, so a large write holds 64 KiB of
  /// ciphertext, not all of it). Fails with netco::errc::write_after_end after shutdown_send().
  task<std::size_t> write_all(std::span<const std::byte> bytes, std::error_code& ec) {
    const std::span<const std::byte> one[] = {bytes};
    co_return co_await write_all(std::span<const std::span<const std::byte>>(one), ec);
  }
  task<std::size_t> write_all(std::span<const std::span<const std::byte>> buffers,
                              std::error_code& ec) {
    ec.clear();
    constexpr std::size_t step = 64 * 1024;
    std::size_t total = 0, since_flush = 0;
    for (std::span<const std::byte> b : buffers) {
      while (!b.empty()) {
        const std::size_t n = b.size() < step - since_flush ? b.size() : step - since_flush;
        const write_result r = core_->engine.write(b.first(n));
        if (r.error) {
          ec = r.error;
          co_return total;
        }
        b = b.subspan(n);
        since_flush += n;
        if (since_flush == step) {
          co_await flush(ec);
          if (ec) co_return total;
          since_flush = 0;
        }
        total += n;
      }
    }
    co_await flush(ec);
    co_return ec ? total - since_flush : total;
  }
  task<std::size_t> write_all(std::string_view text, std::error_code& ec) {
    return write_all(std::as_bytes(std::span(text.data(), text.size())), ec);
  }
  task<std::size_t> write_all(std::span<const std::byte> bytes) {
    std::error_code ec;
    const std::size_t n = co_await write_all(bytes, ec);
    detail::tls_throw_if(ec, "tls write");
    co_return n;
  }
  task<std::size_t> write_all(std::span<const std::span<const std::byte>> buffers) {
    std::error_code ec;
    const std::size_t n = co_await write_all(buffers, ec);
    detail::tls_throw_if(ec, "tls write");
    co_return n;
  }
  task<std::size_t> write_all(std::string_view text) {
    return write_all(std::as_bytes(std::span(text.data(), text.size())));
  }

  /// Resumes once a read would find something: plaintext, the peer's end, or an error.
  task<> wait_readable(std::error_code& ec) { return wait_readable_as(ec, true); }
  /// As wait_readable(ec), but the wait on the next layer keeps no loop reference (where the
  /// next layer can wait so): net::socket counts its pending read itself, for unref().
  task<> wait_readable_unref(std::error_code& ec) { return wait_readable_as(ec, false); }
  /// Decrypts what is there now, never waiting: the byte count; 0 with ec clear at the peer's
  /// close_notify; 0 with operation_would_block when no whole record is there yet.
  std::size_t try_read_some(std::span<std::byte> dst, std::error_code& ec) {
    ec.clear();
    detail::tls_stream_core& c = *core_;
    for (;;) {
      std::size_t n = 0;
      const auto step = c.read_now(dst, n, ec);
      c.flush_now(next_);
      if (step != detail::tls_stream_core::read_step::want_read) return n;
      detail::buffer_block* b = detail::spare_blocks::take(16 * 1024);
      const std::size_t got = next_.try_read_some(std::span(b->data(), b->capacity), ec);
      if (ec) {
        detail::spare_blocks::put_back(b);
        return 0;  // would_block (wait_readable, then again) or the next layer's failure
      }
      c.feed(b, got);
    }
  }
  /// NOTE: always 0 (a would-be short write): ciphertext the next layer did not take now could
  /// not be handed back, so netco's sockets fall back to write_all(), which sends it all.
  std::size_t try_write_some(std::span<const std::span<const std::byte>> buffers,
                             std::error_code& ec) {
    (void)buffers;
    ec.clear();
    return 0;
  }

  /// Half-close: queues close_notify, sends it if the next layer takes it now, then the next
  /// layer's FIN. Reading goes on until the peer's close_notify. shutdown() waits instead.
  /// Node: tlsSocket.end()
  void shutdown_send(std::error_code& ec) {
    ec.clear();
    if (core_->shut) return;
    core_->engine.close_notify();
    if (!core_->flush_now(next_)) return;  // the socket buffer is full: shutdown() finishes it
    core_->shut = true;
    next_.shutdown_send(ec);
  }
  void shutdown_send() {
    std::error_code ec;
    shutdown_send(ec);
    detail::tls_throw_if(ec, "tls shutdown");
  }
  /// close_notify then the next layer's FIN, waiting for both to be sent (never for the peer's
  /// close_notify).
  task<> shutdown(std::error_code& ec) {
    ec.clear();
    if (core_->shut) co_return;
    core_->engine.close_notify();
    co_await flush(ec);
    if (ec) co_return;
    core_->shut = true;
    next_.shutdown_send(ec);
  }

  /// Closes the next layer (no close_notify: use shutdown first for a clean end); pending
  /// operations complete with operation_canceled.
  void close() noexcept { next_.close(); }
  /// Closes with RST where the next layer can.
  void reset() noexcept {
    if constexpr (requires { next_.reset(); }) {
      next_.reset();
    } else {
      next_.close();
    }
  }
  bool is_open() const noexcept { return next_.is_open(); }
  loop& owner() const noexcept { return next_.owner(); }

  auto local_endpoint(std::error_code& ec) const requires requires(const Next& n) {
    n.local_endpoint(ec);
  }
  { return next_.local_endpoint(ec); }
  auto remote_endpoint(std::error_code& ec) const requires requires(const Next& n) {
    n.remote_endpoint(ec);
  }
  { return next_.remote_endpoint(ec); }
  void set_no_delay(bool enable = true) requires requires(Next& n) { n.set_no_delay(enable); }
  { next_.set_no_delay(enable); }
  void set_keep_alive(bool enable, int initial_delay_seconds) requires requires(Next& n) {
    n.set_keep_alive(enable, initial_delay_seconds);
  }
  { next_.set_keep_alive(enable, initial_delay_seconds); }

  /// The connection's TLS state: peer certificate, protocol, cipher, ALPN, session...
  engine& get_engine() noexcept { return core_->engine; }
  const engine& get_engine() const noexcept { return core_->engine; }
  Next& next_layer() noexcept { return next_; }
  const Next& next_layer() const noexcept { return next_; }
  /// For tls::socket, which shares it.
  const std::shared_ptr<detail::tls_stream_core>& core() const noexcept { return core_; }

 private:
  task<std::error_code> handshake_steps() {
    detail::tls_stream_core& c = *core_;
    std::error_code ec;
    for (;;) {
      const handshake_result r = c.engine.handshake_step();
      if (c.engine.has_output()) {  // a flight, or the alert of a failure: send it first
        co_await flush(ec);
        if (ec && r.status != handshake_status::failed) co_return ec;
      }
      switch (r.status) {
        case handshake_status::done:
          // The peer's first records may have come with its last flight: read before waiting.
          c.more = true;
          co_return std::error_code();
        case handshake_status::failed:
          co_return r.error;
        case handshake_status::want_write:
          continue;
        case handshake_status::want_read:
          break;
      }
      co_await fill(ec);
      if (ec) co_return ec;
    }
  }

  task<> wait_readable_as(std::error_code& ec, bool counted) {
    ec.clear();
    if (core_->more || core_->eof || core_->engine.close_notify_received()) {
      // Ready now, yet resumed on a later turn, as every netco wait: a caller may start the
      // wait before it is ready for the completion (a socket's read does).
      co_await detail::tls_later_awaiter{&owner()};
      co_return;
    }
    if constexpr (requires { next_.wait_readable_unref(ec); }) {
      if (!counted) {
        co_await next_.wait_readable_unref(ec);
        co_return;
      }
    }
    co_await next_.wait_readable(ec);
  }

  /// Sends everything the engine holds, as one gathered write per flight, one flush at a time.
  task<> flush(std::error_code& ec) {
    detail::tls_stream_core& c = *core_;
    co_await c.wait_turn();
    c.writing = true;
    while (c.take_flight()) {
      co_await next_.write_all(std::span<const std::span<const std::byte>>(c.iov), ec);
      c.out.clear();
      if (ec) break;
    }
    c.release_turn();
  }

  /// Waits for the next layer's bytes (holding no buffer meanwhile) and feeds them.
  task<> fill(std::error_code& ec) {
    for (;;) {
      co_await next_.wait_readable(ec);
      if (ec) co_return;
      detail::buffer_block* b = detail::spare_blocks::take(16 * 1024);
      const std::size_t n = next_.try_read_some(std::span(b->data(), b->capacity), ec);
      if (ec == std::errc::operation_would_block ||
          ec == std::errc::resource_unavailable_try_again) {
        detail::spare_blocks::put_back(b);  // woken for nothing
        continue;
      }
      if (ec) {
        detail::spare_blocks::put_back(b);
        co_return;
      }
      core_->feed(b, n);
      co_return;
    }
  }

  Next next_;
  std::shared_ptr<detail::tls_stream_core> core_;
};

/// Connects to host:port over TCP and runs the client handshake (within the default timeout):
/// SNI and host name verification against host (options.host is set to it; servername
/// overrides). ec: the connect's or the handshake's failure; the stream is then closed and
/// good for nothing else.
/// Node: tls.connect()
NETCO_DECL task<stream<tcp::stream>> connect(std::string host, std::uint16_t port,
                                             secure_context context, client_options options,
                                             std::error_code& ec);
/// Throws std::system_error on failure.
NETCO_DECL task<stream<tcp::stream>> connect(std::string host, std::uint16_t port,
                                             secure_context context, client_options options);
// NOTE: an overload, not a default argument: GCC 12 mishandles a class-type default argument
// of a coroutine.
inline task<stream<tcp::stream>> connect(std::string host, std::uint16_t port,
                                         secure_context context) {
  return connect(std::move(host), port, std::move(context), client_options{});
}

}  // namespace netco::tls

#if !defined(NETCO_SEPARATE_COMPILATION)
#include "netco/impl/tls_stream.ipp"
#endif
