// netco/net/socket.hpp: Node's net.Socket over any netco stream (net::socket, connect, is_ip)
#pragma once
#include <array>         // array: a gathered write's buffers
#include <chrono>        // steady_clock, milliseconds: set_timeout
#include <concepts>      // invocable: callback overloads
#include <coroutine>     // coroutine_handle: a coroutine waiting in read()
#include <cstddef>       // byte, size_t
#include <cstdint>       // uint16_t
#include <memory>        // shared_ptr, enable_shared_from_this
#include <optional>      // optional: the addresses, kept once known
#include <span>          // span
#include <string>        // string
#include <string_view>   // string_view
#include <system_error>  // error_code
#include <type_traits>   // is_invocable_v
#include <utility>       // exchange, move
#include <vector>        // vector: the write queue and its gather list

#include "netco/address.hpp"
#include "netco/buffer.hpp"
#include "netco/detail/asio.hpp"
#include "netco/detail/decl.hpp"
#include "netco/detail/handle.hpp"
#include "netco/detail/small_function.hpp"
#include "netco/error.hpp"
#include "netco/events.hpp"
#include "netco/loop.hpp"
#include "netco/task.hpp"

namespace netco::net {

class socket;

/// Node: net.isIPv4()
NETCO_DECL bool is_ipv4(std::string_view input);
/// Node: net.isIPv6()
NETCO_DECL bool is_ipv6(std::string_view input);
/// 4, 6, or 0 when input is no IP address. Node: net.isIP()
inline int is_ip(std::string_view input) { return is_ipv4(input) ? 4 : is_ipv6(input) ? 6 : 0; }

/// What address() returns. Node: { address, family, port } (a Unix socket: its path, port 0)
using address_info = netco::address_info;

/// Node: new net.Socket(options), for a socket made over a stream of one's own (socket::over)
struct socket_options {
  bool allow_half_open = false;              ///< keep our side open after the peer ended
  std::size_t high_water_mark = 64 * 1024;   ///< write() returns false past this many bytes
  std::size_t read_buffer_size = 64 * 1024;  ///< the most bytes one "data" chunk carries
};

/// Node: net.connect(options) / net.createConnection(options)
struct connect_options {
  std::uint16_t port = 0;
  std::string host = "localhost";
  std::string path;  ///< non-empty: connect to a Unix-domain socket file
  bool allow_half_open = false;
  bool no_delay = false;
  bool keep_alive = false;
  int keep_alive_initial_delay = 0;
  std::chrono::milliseconds timeout{0};  ///< as set_timeout(), armed at once
  std::size_t high_water_mark = 64 * 1024;
  std::size_t read_buffer_size = 64 * 1024;
};

/// Node: readable.pipe(destination, { end })
struct pipe_options {
  bool end = true;  ///< end the destination when this socket ends
};

}  // namespace netco::net

namespace netco::detail {

/// Text decoding for set_encoding(): keeps the bytes a character or group still needs.
class text_decoder {
 public:
  enum class kind { none, utf8, hex, base64, latin1 };

  NETCO_DECL static kind parse(std::string_view name);

  kind mode = kind::none;

  /// The text of chunk; may be empty when all of it is held back (an incomplete character).
  NETCO_DECL buffer decode(const buffer& chunk);
  /// What is held back at the end of the stream (Node's StringDecoder.end()).
  NETCO_DECL buffer flush();

 private:
  buffer utf8(const buffer& chunk);
  static buffer hex(std::span<const std::byte> in);
  buffer base64(std::span<const std::byte> in, bool final);
  static buffer latin1(std::span<const std::byte> in);

  std::string carry_;
};

/// A protocol that has taken a socket over (the HTTP server's connection, the HTTP client, a
/// WebSocket): it is handed the bytes and the peer's end instead of "data" / "end" listeners,
/// and is told when writes drain and when the socket closes. Loop thread only.
class socket_protocol {
 public:
  /// Bytes read (never empty). It may pause(), write, end or destroy the socket meanwhile.
  virtual void on_data(const buffer& chunk) = 0;
  /// The peer ended (its FIN came); the socket's allow_half_open applies after this returns.
  virtual void on_end() = 0;
  /// What was written went out below the high-water mark again (after write() said false).
  virtual void on_drain() {}
  /// The socket closed: ec is what closed it (empty for a clean close). Called once, before
  /// the socket's own "close" listeners; the socket lets go of the protocol after it.
  virtual void on_close(std::error_code ec) = 0;
  /// The loop is being destroyed: let go of listeners and of the socket without calling
  /// anyone (the default does nothing).
  virtual void on_loop_gone() noexcept {}

 protected:
  ~socket_protocol() = default;
};

class server_core;
/// Tells a server that one of its connections closed (defined with the server core).
NETCO_DECL void server_connection_gone(server_core& s) noexcept;

using socket_emitter =
    basic_event_emitter<event<"lookup", std::error_code, std::string_view, int, std::string_view>,
                        event<"connect">, event<"ready">, event<"data", buffer>, event<"end">,
                        event<"drain">, event<"finish">, event<"timeout">,
                        event<"error", std::error_code, error_info>, event<"close", bool>>;

using write_callback = small_function<void(std::error_code)>;
using steady_timer_ptr =
    std::unique_ptr<asio::basic_waitable_timer<std::chrono::steady_clock,
                                               asio::wait_traits<std::chrono::steady_clock>,
                                               asio::io_context::executor_type>>;

/// The shared state behind net::socket handles: Node's net.Socket (events, flowing and paused
/// reads, the write queue with its high-water mark, half-close, timeouts) written once over a
/// transport that a derived class supplies: a socket of netco's own, or any byte_stream. One
/// read engine serves both styles: flowing "data" and coroutine read() take the same pooled
/// reads, which hold no buffer while they wait. Loop thread only.
class socket_state : public socket_emitter,
                     public loop_hook,
                     public std::enable_shared_from_this<socket_state> {
 public:
  struct config {
    bool allow_half_open = false;
    std::size_t high_water_mark = 64 * 1024;
    std::size_t read_buffer_size = 64 * 1024;
  };

  NETCO_DECL socket_state(loop& owner, config c);
  NETCO_DECL ~socket_state() override;

  // --- set-up ---------------------------------------------------------------------------

  void attach_server(std::shared_ptr<server_core> s) { server_ = std::move(s); }
  /// An accepted connection: open, reading nothing yet (pause_on_connect: until resume()).
  NETCO_DECL void accepted(bool pause_on_connect);
  /// After "connection" / "connect": start reading unless someone paused or reads by hand.
  NETCO_DECL void start_flowing_later();
  /// A protocol takes the reads over from now on.
  NETCO_DECL void take_over(std::shared_ptr<socket_protocol> p);
  /// The protocol lets go (an HTTP upgrade): what arrives is held until the socket gets a
  /// "data" listener, resume() or read() (Node's readableFlowing === null).
  NETCO_DECL void hand_off();
  const std::shared_ptr<socket_protocol>& protocol() const noexcept { return protocol_; }

  // --- reading --------------------------------------------------------------------------

  void pause() noexcept { paused_ = true; }
  NETCO_DECL void resume();
  bool is_paused() const noexcept { return paused_; }
  void set_encoding(std::string_view name) { decoder_.mode = text_decoder::parse(name); }
  /// Coroutine style: the next chunk, or an empty buffer at the end of the stream.
  NETCO_DECL task<buffer> read_chunk();
  /// Bytes that arrived but were not delivered (read while paused), handed back first.
  NETCO_DECL void unshift(buffer chunk);

  // --- writing --------------------------------------------------------------------------

  NETCO_DECL bool write(const buffer* shared, std::span<const std::byte> bytes, write_callback cb);
  /// One piece of a gathered write: shared (kept by reference) when `shared` holds the bytes,
  /// copied otherwise.
  struct gather_part {
    std::span<const std::byte> bytes;
    const buffer* shared = nullptr;
  };
  /// As write() for parts in order, with cb after the last, but with one system call for all
  /// of them when nothing is queued (a protocol's frame header and its payload).
  NETCO_DECL bool write_gathered(std::span<const gather_part> parts, write_callback cb);
  NETCO_DECL void end(write_callback cb);

  // --- closing --------------------------------------------------------------------------

  /// Closes now; "error"(ec, info) (if ec) then "close" follow on the next tick. Idempotent.
  NETCO_DECL void destroy(std::error_code ec, bool reset = false, error_info info = {});
  /// Ends once everything written is flushed. Node: socket.destroySoon()
  NETCO_DECL void destroy_soon();

  // --- timeouts and options -------------------------------------------------------------

  NETCO_DECL void set_timeout(std::chrono::milliseconds ms);
  NETCO_DECL void set_no_delay(bool enable);
  NETCO_DECL void set_keep_alive(bool enable, int initial_delay_ms);
  NETCO_DECL void ref();
  NETCO_DECL void unref();

  // --- properties -----------------------------------------------------------------------

  NETCO_DECL address_info local() const;
  NETCO_DECL address_info remote() const;
  /// The peer's address now, not kept (remote() keeps it, ~160 bytes, for after the close):
  /// for protocols that keep their own copy, such as the HTTP server's connections.
  address_info remote_uncached() const {
    return connected_ && !destroyed_ ? transport_address(true) : address_info{};
  }
  NETCO_DECL std::string_view ready_state() const noexcept;
  bool is_tcp() const { return transport_is_tcp(); }
  std::size_t buffered() const noexcept { return writable_length_; }

  // --- what a transport calls (public for the read operations it starts) ------------

  /// The pending read's outcome: block holds n bytes (the reference is ours; null when n is
  /// 0); n == 0 is the end of the stream (ec clear or eof) or a failure.
  NETCO_DECL void read_done(std::error_code ec, buffer_block* block, std::size_t n) noexcept;
  /// The pending transport_write()'s outcome.
  NETCO_DECL void write_done(std::error_code ec) noexcept;
  /// A client's transport is open: "connect", "ready", then queued writes and reading.
  NETCO_DECL void connected();
  NETCO_DECL void apply_options();

  loop* owner_;
  config config_;
  std::shared_ptr<server_core> server_;
  std::size_t bytes_read_ = 0;
  std::size_t bytes_written_ = 0;
  std::size_t writable_length_ = 0;
  bool connecting_ = false;
  bool connected_ = false;
  bool destroyed_ = false;
  bool close_emitted_ = false;
  bool read_ended_ = false;  // the peer's FIN arrived ("end" emitted)
  bool ended_ = false;       // end() was called
  bool finished_ = false;    // our FIN went out
  bool finish_emitted_ = false;
  bool paused_ = false;
  bool pull_ = false;  // read in coroutine style (read()): chunks go to the awaiting coroutine
  bool writing_ = false;
  bool need_drain_ = false;
  bool destroy_after_finish_ = false;
  listener_id pipe_data_ = 0;  // the listeners pipe() added, for unpipe()
  listener_id pipe_end_ = 0;

 protected:
  // --- what a transport supplies ---------------------------------------------------------

  /// Starts the one pending read of up to max bytes; it completes with read_done().
  virtual void transport_read(std::size_t max) = 0;
  /// Writes what the transport takes now, never waiting; ec only for a failure.
  virtual std::size_t transport_try_write(std::span<const std::span<const std::byte>> buffers,
                                          std::error_code& ec) = 0;
  /// Writes all of buffers (they stay alive until then); completes with write_done().
  virtual void transport_write(std::span<const std::span<const std::byte>> buffers) = 0;
  virtual void transport_shutdown_send(std::error_code& ec) = 0;
  /// Closes (reset: with RST); pending operations complete with operation_canceled.
  virtual void transport_close(bool reset) noexcept = 0;
  /// The loop is going: destroy what belongs to it (its sockets) now, while it still exists.
  virtual void transport_reset() noexcept {}
  virtual address_info transport_address(bool remote) const { return (void)remote, address_info{}; }
  virtual bool transport_is_tcp() const { return false; }
  virtual void transport_set_no_delay(bool enable) { (void)enable; }
  virtual void transport_set_keep_alive(bool enable, int initial_delay_ms) {
    (void)enable, (void)initial_delay_ms;
  }

 private:
  struct queued {
    buffer data;
    write_callback cb;
  };

  NETCO_DECL void listener_added(std::string_view name) override;
  NETCO_DECL void on_loop_gone() noexcept override;

  void leave_server();
  void touch();
  void arm_timer(std::chrono::steady_clock::time_point at);

  void start_read();
  void unshift_back(buffer chunk);
  void on_read(std::error_code ec, buffer_block* block, std::size_t n);
  void read_finished();
  void deliver(const buffer& chunk);
  void listener_failed();
  void on_eof();

  void finish();
  void maybe_close();
  void enqueue(const buffer* shared, std::span<const std::byte> bytes, write_callback cb);
  void start_writer();
  void flush_queue();
  void complete_later(write_callback cb, std::error_code ec);

  std::shared_ptr<socket_protocol> protocol_;
  buffer held_;  // read while paused (or before read() was called)
  text_decoder decoder_;
  // A coroutine waiting in read(): where its chunk or failure goes.
  std::coroutine_handle<> read_waiter_;
  buffer pulled_;
  std::error_code pull_error_;
  bool reading_ = false;       // a transport read is pending
  bool hold_ = false;          // handed off: nothing flows until a consumer appears
  bool read_counted_ = false;  // ...and holds a loop reference
  bool unrefed_ = false;
  // A "data" listener takes std::string, which needs set_encoding(): checked as data arrives.
  bool text_listener_ = false;
  std::vector<queued> queue_;
  std::size_t queue_head_ = 0;
  std::size_t inflight_end_ = 0;
  std::size_t inflight_bytes_ = 0;
  std::vector<std::span<const std::byte>> iov_;
  std::vector<write_callback> done_;
  std::vector<write_callback> finish_callbacks_;
  buffer_block* arena_ = nullptr;
  std::size_t arena_used_ = 0;
  steady_timer_ptr timer_;  // set_timeout() only
  bool timer_armed_ = false;
  bool no_delay_ = false;
  bool keep_alive_ = false;
  int keep_alive_delay_ms_ = 0;
  std::chrono::milliseconds timeout_{0};
  std::chrono::steady_clock::time_point last_active_;
  // Asked for by few, and kept once known: Node reports them after the close too.
  struct known_addresses {
    std::optional<address_info> local;
    std::optional<address_info> remote;
  };
  mutable std::unique_ptr<known_addresses> addresses_;
};

}  // namespace netco::detail

namespace netco::net {

/// A stream socket with Node's events and methods, over TCP, a Unix-domain socket or any
/// netco byte_stream (a TLS stream, for one). A cheap handle: copies share one socket, its methods
/// are const, and capturing a handle in its own listeners is fine (listeners are dropped after
/// "close"). Every listener and callback runs on the socket's loop thread.
///
/// Events: "lookup"(error_code, address, family, host), "connect", "ready", "data"(buffer),
/// "end", "drain", "finish", "timeout", "error"(error_code, error_info), "close"(bool had_error).
class socket : public netco::detail::handle<socket, netco::detail::socket_state> {
 public:
  static constexpr const char* kind = "net::socket";
  using write_callback = netco::detail::write_callback;

  socket() = default;
  explicit socket(std::shared_ptr<netco::detail::socket_state> state) noexcept
      : handle(std::move(state)) {}

  /// A socket over a connected stream of one's own: any netco byte_stream (a tcp::stream, a
  /// local::stream, a TLS stream...), taken by value. It starts reading once it has a "data"
  /// listener or is resumed. Node: new net.Socket({ handle })
  template <class Stream>
  static socket over(Stream stream, socket_options options = {});

  // (events: on, once, off, emit... from the handle base)

  // --- writing --------------------------------------------------------------------------

  /// Queues data (copied) and returns false once writable_length() reaches the high-water
  /// mark: wait for "drain". cb gets the outcome once the bytes are sent. Never throws for
  /// I/O errors: they go to "error". Node: socket.write(data[, cb])
  bool write(std::string_view data, write_callback cb = {}) const {
    return s().write(nullptr, std::as_bytes(std::span(data.data(), data.size())), std::move(cb));
  }
  /// Node: socket.write(buffer)
  bool write(std::span<const std::byte> data, write_callback cb = {}) const {
    return s().write(nullptr, data, std::move(cb));
  }
  /// Shares the bytes instead of copying them. Node: socket.write(buffer)
  bool write(const buffer& data, write_callback cb = {}) const {
    return s().write(&data, data.bytes(), std::move(cb));
  }
  bool write(const char* data, write_callback cb = {}) const {
    return write(std::string_view(data), std::move(cb));
  }
  /// Sends our FIN after everything already written; cb runs on "finish". Node: socket.end()
  const socket& end(write_callback cb = {}) const {
    s().end(std::move(cb));
    return *this;
  }
  /// Node: socket.end(data)
  const socket& end(std::string_view data, write_callback cb = {}) const {
    write(data);
    return end(std::move(cb));
  }
  const socket& end(const char* data, write_callback cb = {}) const {
    return end(std::string_view(data), std::move(cb));
  }
  const socket& end(const buffer& data, write_callback cb = {}) const {
    write(data);
    return end(std::move(cb));
  }

  // --- closing --------------------------------------------------------------------------

  /// Closes at once; "close"(false) follows. Idempotent. Node: socket.destroy()
  const socket& destroy() const {
    s().destroy({});
    return *this;
  }
  /// Closes with an error: "error"(ec), then "close"(true). Node: socket.destroy(err)
  const socket& destroy(std::error_code ec) const {
    s().destroy(ec);
    return *this;
  }
  /// Node: socket.destroySoon()
  const socket& destroy_soon() const {
    s().destroy_soon();
    return *this;
  }
  /// Closes with RST instead of FIN. Node: socket.resetAndDestroy()
  const socket& reset_and_destroy() const {
    s().destroy({}, true);
    return *this;
  }

  // --- reading --------------------------------------------------------------------------

  /// Stops "data" (and reading: TCP pushes back on the sender). Node: socket.pause()
  const socket& pause() const {
    s().pause();
    return *this;
  }
  /// Node: socket.resume()
  const socket& resume() const {
    s().resume();
    return *this;
  }
  /// Node: socket.isPaused()
  bool is_paused() const { return s().is_paused(); }
  /// "utf8", "hex", "base64" or "latin1": "data" then carries text, never a split character.
  /// Node: socket.setEncoding()
  const socket& set_encoding(std::string_view encoding) const {
    s().set_encoding(encoding);
    return *this;
  }

  /// Pipes "data" into dest (anything with write(buffer) -> bool, end() and once("drain")),
  /// pausing while dest is over its high-water mark. Node: readable.pipe(dest, { end })
  template <class Dest>
  Dest pipe(Dest dest, pipe_options opts = {}) const {
    socket self = *this;
    s().pipe_data_ = s().add_listener("data", [self, dest](const buffer& chunk) {
      if (!dest.write(chunk)) {
        self.pause();
        dest.once("drain", [self] { self.resume(); });
      }
    });
    if (opts.end) s().pipe_end_ = s().add_listener("end", [dest] { dest.end(); });
    return dest;
  }
  /// Node: readable.unpipe()
  const socket& unpipe() const {
    if (s().pipe_data_) s().off("data", std::exchange(s().pipe_data_, 0));
    if (s().pipe_end_) s().off("end", std::exchange(s().pipe_end_, 0));
    return *this;
  }

  // --- coroutine style over the same socket ------------------------------------------------

  /// The next chunk as it arrives, or an empty buffer once the peer ended. Call it (or
  /// pause()) in the connection listener; chunks go to read(), not to "data" listeners.
  /// Throws std::system_error on a read error (after "error"/"close" were scheduled).
  [[nodiscard]] task<buffer> read() const { return s().read_chunk(); }
  /// Writes through the same queue as write() and resumes once the bytes are sent. Throws
  /// std::system_error on failure.
  [[nodiscard]] task<> write_all(std::string_view data) const {
    return write_all_impl(s_, buffer::from(data));
  }
  [[nodiscard]] task<> write_all(buffer data) const { return write_all_impl(s_, std::move(data)); }

  // --- options and properties -------------------------------------------------------------

  /// Emits "timeout" after ms without activity; closes nothing; 0 disarms.
  /// Node: socket.setTimeout(ms[, cb])
  const socket& set_timeout(std::chrono::milliseconds ms) const {
    s().set_timeout(ms);
    return *this;
  }
  template <class Fn>
  const socket& set_timeout(std::chrono::milliseconds ms, Fn&& cb) const {
    s().set_timeout(ms);
    if (ms.count() > 0) s().once("timeout", std::forward<Fn>(cb));
    return *this;
  }
  /// Node: socket.setNoDelay()
  const socket& set_no_delay(bool enable = true) const {
    s().set_no_delay(enable);
    return *this;
  }
  /// Node: socket.setKeepAlive(enable, initialDelay)
  const socket& set_keep_alive(bool enable = false, int initial_delay_ms = 0) const {
    s().set_keep_alive(enable, initial_delay_ms);
    return *this;
  }
  /// Node: socket.ref()
  const socket& ref() const {
    s().ref();
    return *this;
  }
  /// The socket alone no longer keeps the loop alive. Node: socket.unref()
  const socket& unref() const {
    s().unref();
    return *this;
  }

  /// Node: socket.address()
  address_info address() const { return s().local(); }
  /// Node: socket.remoteAddress
  std::string remote_address() const { return s().remote().address; }
  /// Node: socket.remotePort
  std::uint16_t remote_port() const { return s().remote().port; }
  /// Node: socket.remoteFamily
  std::string remote_family() const { return s().remote().family; }
  /// Node: socket.localAddress
  std::string local_address() const { return s().local().address; }
  /// Node: socket.localPort
  std::uint16_t local_port() const { return s().local().port; }
  /// Node: socket.localFamily
  std::string local_family() const { return s().local().family; }
  /// Node: socket.bytesRead
  std::size_t bytes_read() const { return s().bytes_read_; }
  /// Bytes accepted by write() so far. Node: socket.bytesWritten
  std::size_t bytes_written() const { return s().bytes_written_; }
  /// Node: socket.writableLength
  std::size_t writable_length() const { return s().writable_length_; }
  /// Node: socket.bufferSize
  std::size_t buffer_size() const { return s().writable_length_; }
  /// Node: socket.writableHighWaterMark
  std::size_t writable_high_water_mark() const { return s().config_.high_water_mark; }
  /// Node: socket.connecting
  bool connecting() const { return s().connecting_; }
  /// Node: socket.pending
  bool pending() const { return !s().connected_ && !s().destroyed_; }
  /// Node: socket.destroyed
  bool destroyed() const { return s().destroyed_; }
  /// "opening", "open", "readOnly", "writeOnly" or "closed". Node: socket.readyState
  std::string_view ready_state() const { return s().ready_state(); }
  /// Node: socket.readableEnded
  bool readable_ended() const { return s().read_ended_; }
  /// Node: socket.writableEnded
  bool writable_ended() const { return s().ended_; }

 private:
  NETCO_DECL static task<> write_all_impl(std::shared_ptr<netco::detail::socket_state> s,
                                          buffer data);
};

/// Connects to host:port or a Unix socket path; "lookup", "connect" and "ready" follow, or
/// "error" and "close"(true). Writes before the connection are queued. Names are resolved off
/// the loop thread. Node: net.createConnection(options[, cb])
NETCO_DECL socket create_connection(connect_options options);
template <std::invocable<> Fn>
socket create_connection(connect_options options, Fn&& on_connect) {
  socket s = create_connection(std::move(options));
  s.once("connect", std::forward<Fn>(on_connect));
  return s;
}
/// Node: net.connect(port[, host][, cb])
NETCO_DECL socket connect(std::uint16_t port, std::string_view host = "localhost");
template <std::invocable<> Fn>
socket connect(std::uint16_t port, std::string_view host, Fn&& on_connect) {
  socket s = connect(port, host);
  s.once("connect", std::forward<Fn>(on_connect));
  return s;
}
template <std::invocable<> Fn>
socket connect(std::uint16_t port, Fn&& on_connect) {
  return connect(port, "localhost", std::forward<Fn>(on_connect));
}
/// IPC. Node: net.connect(path[, cb])
NETCO_DECL socket connect(std::string_view path);
template <std::invocable<> Fn>
socket connect(std::string_view path, Fn&& on_connect) {
  socket s = connect(path);
  s.once("connect", std::forward<Fn>(on_connect));
  return s;
}
/// Node: net.connect(options[, cb])
inline socket connect(connect_options options) { return create_connection(std::move(options)); }

}  // namespace netco::net

#include "netco/detail/socket_transport.hpp"  // socket::over's transports (defined there)

#if !defined(NETCO_SEPARATE_COMPILATION)
#include "netco/impl/net_socket.ipp"
#endif
