// netco/net.hpp: Node's net module (net::server, net::socket, create_server, connect, is_ip)
#pragma once
#include <sys/socket.h>  // AF_INET, AF_INET6, AF_UNIX, sockaddr
#include <sys/un.h>      // sockaddr_un: the path of a Unix-domain endpoint

#include <algorithm>     // min: the small idle read block
#include <chrono>        // steady_clock, milliseconds: set_timeout
#include <concepts>      // invocable: callback overloads
#include <coroutine>     // coroutine_handle
#include <cstddef>       // byte, size_t, offsetof
#include <cstdint>       // uint16_t
#include <cstring>       // memcpy, strnlen
#include <exception>     // current_exception
#include <limits>        // numeric_limits: no max_connections
#include <memory>        // shared_ptr, enable_shared_from_this
#include <optional>      // optional
#include <span>          // span
#include <stdexcept>     // logic_error, out_of_range
#include <string>        // string
#include <string_view>   // string_view
#include <system_error>  // error_code, system_error
#include <type_traits>   // is_invocable_v
#include <utility>       // exchange, move
#include <vector>        // vector: the write queue and its gather list

#include "netco/buffer.hpp"
#include "netco/detail/asio.hpp"
#include "netco/detail/decl.hpp"
#include "netco/detail/emitter_handle.hpp"
#include "netco/detail/pooled_read.hpp"
#include "netco/detail/small_function.hpp"
#include "netco/detail/stream.hpp"
#include "netco/error.hpp"
#include "netco/events.hpp"
#include "netco/loop.hpp"
#include "netco/resolve.hpp"
#include "netco/spawn.hpp"
#include "netco/task.hpp"
#include "netco/tcp.hpp"  // set_reuse_port
#include "netco/timer.hpp"

namespace netco::net {

class socket;
class server;

/// Node: net.isIPv4()
NETCO_DECL bool is_ipv4(std::string_view input);
/// Node: net.isIPv6()
NETCO_DECL bool is_ipv6(std::string_view input);
/// 4, 6, or 0 when input is no IP address. Node: net.isIP()
inline int is_ip(std::string_view input) { return is_ipv4(input) ? 4 : is_ipv6(input) ? 6 : 0; }

/// What address() returns. Node: { address, family, port } (a Unix socket: its path, port 0)
struct address_info {
  std::string address;
  std::string family;  // "IPv4", "IPv6", or "" for a Unix-domain socket
  std::uint16_t port = 0;
  friend bool operator==(const address_info&, const address_info&) = default;
};

/// The argument of a server's "drop" event. Node: { localAddress, localPort, remoteAddress... }
struct drop_info {
  address_info local;
  address_info remote;
};

/// Node: net.createServer(options)
struct server_options {
  bool allow_half_open = false;              ///< keep our side open after the peer ended
  bool pause_on_connect = false;             ///< accepted sockets read nothing until resume()
  bool no_delay = false;                     ///< TCP_NODELAY on accepted sockets
  bool keep_alive = false;                   ///< SO_KEEPALIVE on accepted sockets
  int keep_alive_initial_delay = 0;          ///< ms before the first probe
  std::size_t high_water_mark = 64 * 1024;   ///< write() returns false past this many bytes
  std::size_t read_buffer_size = 64 * 1024;  ///< the most bytes one "data" chunk carries
};

/// Node: server.listen(options)
struct listen_options {
  std::uint16_t port = 0;
  std::string host;  ///< empty: all interfaces ("::" dual-stack, else "0.0.0.0")
  std::string path;  ///< non-empty: a Unix-domain socket file (IPC)
  int backlog = 511;
  bool reuse_port = false;  ///< SO_REUSEPORT (TCP): one listener per loop (netco::cluster)
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

namespace detail {

using netco::detail::buffer_block;
using netco::detail::pooled_read;
using netco::detail::spare_blocks;
using protocol = asio::generic::stream_protocol;
using stream = netco::detail::basic_stream<protocol>;
using raw_acceptor = asio::basic_socket_acceptor<protocol, netco::detail::executor>;
using raw_socket = stream::socket_type;

/// Asio's own system category does not compare equal to std::errc values; netco reports OS
/// errors in std::system_category so that `ec == std::errc::connection_refused` holds.
inline std::error_code normalize(std::error_code ec) noexcept {
  if (ec && ec.category() == asio::error::get_system_category()) {
    return {ec.value(), std::system_category()};
  }
  return ec;
}

NETCO_DECL address_info to_info(const protocol::endpoint& ep);

/// Text decoding for set_encoding(): keeps the bytes a character or group still needs.
class decoder {
 public:
  enum class kind { none, utf8, hex, base64, latin1 };

  static kind parse(std::string_view name);

  kind mode = kind::none;

  /// The text of chunk; may be empty when all of it is held back (an incomplete character).
  buffer decode(const buffer& chunk);
  /// What is held back at the end of the stream (Node's StringDecoder.end()).
  buffer flush();

 private:
  buffer utf8(const buffer& chunk);
  static buffer hex(std::span<const std::byte> in);
  buffer base64(std::span<const std::byte> in, bool final);
  static buffer latin1(std::span<const std::byte> in);

  std::string carry_;
};

/// Objects that must let go of their listeners (and so of handle cycles) when their loop is
/// destroyed with them still open.
struct registered {
  registered* prev = this;
  registered* next = this;
  virtual void on_loop_gone() noexcept = 0;
  void unlink() noexcept {
    prev->next = next;
    next->prev = prev;
    prev = next = this;
  }

 protected:
  ~registered() { unlink(); }
};

/// One per loop, owned by a root frame that never resumes: ~loop destroys that frame, and so
/// this, before the io_context goes.
struct registry {
  loop* owner = nullptr;
  struct sentinel final : registered {
    void on_loop_gone() noexcept override {}
  } head;

  void add(registered& r) noexcept {
    r.next = &head;
    r.prev = head.prev;
    head.prev->next = &r;
    head.prev = &r;
  }
  ~registry();

  // NOTE: thread_locals die in reverse order of construction, so the default loop (built
  // first) may outlive this table; the flag (trivially destructible) says when it is gone.
  static bool& table_gone() noexcept {
    thread_local bool gone = false;
    return gone;
  }
  static std::vector<std::pair<loop*, registry*>>& table();
  struct never {
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    void await_resume() const noexcept {}
  };
  static task<> keeper(loop* l);
  static registry& of(loop& l);
};

/// Starts t at once, running it to its first suspension (where its operation takes a loop
/// reference); the loop owns the frame.
template <class T>
void spawn_now(loop& l, task<T> t) {
  netco::detail::adopt_root(l, std::move(t)).resume();
}

/// Runs fn on a later turn of the loop, keeping the loop alive until then (Node's nextTick).
template <class Fn>
void defer(loop& l, Fn&& fn) {
  l.ref();
  l.post([l = &l, fn = std::forward<Fn>(fn)]() mutable {
    try {
      fn();
    } catch (...) {
      l->report(std::current_exception());
    }
    l->unref();
  });
}

using socket_emitter =
    basic_event_emitter<event<"lookup", std::error_code, std::string_view, int, std::string_view>,
                        event<"connect">, event<"ready">, event<"data", buffer>, event<"end">,
                        event<"drain">, event<"finish">, event<"timeout">,
                        event<"error", std::error_code, error_info>, event<"close", bool>>;

class server_state;
using write_callback = netco::detail::small_function<void(std::error_code)>;

/// The shared state behind net::socket handles. Loop thread only.
class socket_state final : public socket_emitter,
                           public registered,
                           public std::enable_shared_from_this<socket_state> {
 public:
  struct config {
    bool allow_half_open = false;
    std::size_t high_water_mark = 64 * 1024;
    std::size_t read_buffer_size = 64 * 1024;
  };

  socket_state(loop& owner, config c) : owner_(&owner), config_(c) {
    registry::of(owner).add(*this);
  }
  ~socket_state() override;

  // --- set-up ---------------------------------------------------------------------------

  void attach_server(std::shared_ptr<server_state> s) { server_ = std::move(s); }
  void accepted(bool pause_on_connect);
  /// After "connection" / "connect": start reading unless someone paused or reads by hand.
  void start_flowing_later();

  // --- reading --------------------------------------------------------------------------

  void pause() { paused_ = true; }
  void resume();
  bool is_paused() const noexcept { return paused_; }
  void set_encoding(std::string_view name) { decoder_.mode = decoder::parse(name); }

  /// Coroutine style: the next chunk, or an empty buffer at the end of the stream.
  task<buffer> read_chunk();

  // --- writing --------------------------------------------------------------------------

  bool write(const buffer* shared, std::span<const std::byte> bytes, write_callback cb);

  void end(write_callback cb);

  // --- closing --------------------------------------------------------------------------

  /// Closes now; "error"(ec, info) (if ec) then "close" follow on the next tick. Idempotent.
  void destroy(std::error_code ec, bool reset = false, error_info info = {});
  /// Ends once everything written is flushed. Node: socket.destroySoon()
  void destroy_soon();

  // --- timeouts and options -------------------------------------------------------------

  void set_timeout(std::chrono::milliseconds ms);
  void set_no_delay(bool enable);
  void set_keep_alive(bool enable, int initial_delay_ms);
  void apply_options();

  void ref();
  void unref();

  // --- client connect -------------------------------------------------------------------

  task<> connect_to(connect_options o);

  // --- properties -----------------------------------------------------------------------

  address_info local() const;
  address_info remote() const;
  bool is_tcp() const;

  std::string_view ready_state() const noexcept;

  loop* owner_;
  config config_;
  std::optional<stream> stream_;             // set once connected (accepted, or connect succeeded)
  raw_socket* connecting_socket_ = nullptr;  // the client's socket while it connects
  std::shared_ptr<server_state> server_;
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
  bool pull_ = false;  // read in coroutine style: no reader coroutine
  bool reading_ = false;
  bool writing_ = false;
  bool need_drain_ = false;
  bool destroy_after_finish_ = false;
  listener_id pipe_data_ = 0;  // the listeners pipe() added, for unpipe()
  listener_id pipe_end_ = 0;

 private:
  struct queued {
    buffer data;
    write_callback cb;
  };

  void listener_added(std::string_view name) override;

  void on_loop_gone() noexcept override;

  void leave_server();

  void touch();
  void arm_timer(std::chrono::steady_clock::time_point at);

  void ensure_read_buffer();

  static constexpr std::size_t idle_read_size = 512;  // coroutine style: what read() waits with

  /// Coroutine style: the small read block filled, so the message may go on: copies it into a
  /// full-size block and adds what else the socket has now, without waiting. big keeps a
  /// reference for the caller to release; late gets a failure of that read, to report after
  /// the data.
  buffer top_up(const buffer& head, buffer_block*& big, std::error_code& late);

  void start_reader();
  void read_next();

  /// The flowing reader's completion: block holds n bytes read (the reference is ours).
  friend class netco::detail::pooled_read<socket_state>;
  void read_done(std::error_code ec, buffer_block* block, std::size_t n) noexcept;
  void on_read(std::error_code ec, buffer_block* block, std::size_t n);
  void stop_reading();

  void deliver(const buffer& chunk);
  /// A "data" or "end" listener threw: the loop's error handler gets it and this connection
  /// closes (the reader stops), so that other connections go on unaffected.
  void listener_failed();

  void on_eof();

  void finish();
  void maybe_close();

  void enqueue(const buffer* shared, std::span<const std::byte> bytes, write_callback cb);

  void start_writer();

  task<> writer(std::shared_ptr<socket_state> self);

  void complete_later(write_callback cb, std::error_code ec);

  buffer_block* rbuf_ = nullptr;      // coroutine style only (read())
  pooled_read<socket_state> reader_;  // flowing mode: holds no buffer while it waits
  buffer held_;                       // read while paused
  decoder decoder_;
  std::vector<queued> queue_;
  std::size_t queue_head_ = 0;
  std::size_t inflight_end_ = 0;
  std::vector<std::span<const std::byte>> iov_;
  std::vector<write_callback> done_;
  std::vector<write_callback> finish_callbacks_;
  buffer_block* arena_ = nullptr;
  std::size_t arena_used_ = 0;
  std::unique_ptr<netco::detail::steady_timer> timer_;  // set_timeout() only
  bool timer_armed_ = false;
  std::chrono::milliseconds timeout_{0};
  std::chrono::steady_clock::time_point last_active_;
  bool no_delay_ = false;
  bool keep_alive_ = false;
  int keep_alive_delay_ms_ = 0;
  bool unrefed_ = false;
  bool compensated_ = false;
  // Asked for by few, and kept once known: Node reports them after the close too.
  struct known_addresses {
    std::optional<address_info> local;
    std::optional<address_info> remote;
  };
  known_addresses& addresses() const;
  mutable std::unique_ptr<known_addresses> addresses_;
};

}  // namespace detail

/// A TCP or Unix-domain stream socket with Node's events and methods. A cheap handle: copies
/// share one socket, and capturing a handle in its own listeners is fine (listeners are
/// dropped after "close"). Every listener and callback runs on the socket's loop thread.
///
/// Events: "lookup"(error_code, address, family, host), "connect", "ready", "data"(buffer),
/// "end", "drain", "finish", "timeout", "error"(error_code, error_info), "close"(bool had_error).
class socket : public netco::detail::emitter_handle<socket> {
 public:
  socket() = default;
  explicit socket(std::shared_ptr<detail::socket_state> state) noexcept : s_(std::move(state)) {}

  // (events: on, once, off, emit... from emitter_handle)

  // --- writing --------------------------------------------------------------------------

  /// Queues data (copied) and returns false once writable_length() reaches the high-water
  /// mark: wait for "drain". cb gets the outcome once the bytes are sent. Never throws for
  /// I/O errors: they go to "error". Node: socket.write(data[, cb])
  bool write(std::string_view data, detail::write_callback cb = {}) {
    return s().write(nullptr, std::as_bytes(std::span(data.data(), data.size())), std::move(cb));
  }
  /// Node: socket.write(buffer)
  bool write(std::span<const std::byte> data, detail::write_callback cb = {}) {
    return s().write(nullptr, data, std::move(cb));
  }
  /// Shares the bytes instead of copying them. Node: socket.write(buffer)
  bool write(const buffer& data, detail::write_callback cb = {}) {
    return s().write(&data, data.bytes(), std::move(cb));
  }
  bool write(const char* data, detail::write_callback cb = {}) {
    return write(std::string_view(data), std::move(cb));
  }
  /// Sends our FIN after everything already written; cb runs on "finish". Node: socket.end()
  socket& end(detail::write_callback cb = {}) {
    s().end(std::move(cb));
    return *this;
  }
  /// Node: socket.end(data)
  socket& end(std::string_view data, detail::write_callback cb = {}) {
    write(data);
    return end(std::move(cb));
  }
  socket& end(const char* data, detail::write_callback cb = {}) {
    return end(std::string_view(data), std::move(cb));
  }
  socket& end(const buffer& data, detail::write_callback cb = {}) {
    write(data);
    return end(std::move(cb));
  }

  // --- closing --------------------------------------------------------------------------

  /// Closes at once; "close"(false) follows. Idempotent. Node: socket.destroy()
  socket& destroy() {
    s().destroy({});
    return *this;
  }
  /// Closes with an error: "error"(ec), then "close"(true). Node: socket.destroy(err)
  socket& destroy(std::error_code ec) {
    s().destroy(ec);
    return *this;
  }
  /// Node: socket.destroySoon()
  socket& destroy_soon() {
    s().destroy_soon();
    return *this;
  }
  /// Closes with RST instead of FIN. Node: socket.resetAndDestroy()
  socket& reset_and_destroy() {
    s().destroy({}, true);
    return *this;
  }

  // --- reading --------------------------------------------------------------------------

  /// Stops "data" (and reading: TCP pushes back on the sender). Node: socket.pause()
  socket& pause() {
    s().pause();
    return *this;
  }
  /// Node: socket.resume()
  socket& resume() {
    s().resume();
    return *this;
  }
  /// Node: socket.isPaused()
  bool is_paused() const { return s().is_paused(); }
  /// "utf8", "hex", "base64" or "latin1": "data" then carries text, never a split character.
  /// Node: socket.setEncoding()
  socket& set_encoding(std::string_view encoding) {
    s().set_encoding(encoding);
    return *this;
  }

  /// Pipes "data" into dest (anything with write(buffer) -> bool, end() and once("drain")),
  /// pausing while dest is over its high-water mark. Node: readable.pipe(dest, { end })
  template <class Dest>
  Dest pipe(Dest dest, pipe_options opts = {}) {
    socket self = *this;
    s().pipe_data_ = s().add_listener("data", [self, dest](const buffer& chunk) mutable {
      if (!dest.write(chunk)) {
        self.pause();
        dest.once("drain", [self]() mutable { self.resume(); });
      }
    });
    if (opts.end) s().pipe_end_ = s().add_listener("end", [dest]() mutable { dest.end(); });
    return dest;
  }
  /// Node: readable.unpipe()
  socket& unpipe() {
    if (s().pipe_data_) s().off("data", std::exchange(s().pipe_data_, 0));
    if (s().pipe_end_) s().off("end", std::exchange(s().pipe_end_, 0));
    return *this;
  }

  // --- coroutine style over the same socket ------------------------------------------------

  /// The next chunk as it arrives, or an empty buffer once the peer ended. Do not mix with
  /// "data" listeners: call this (or pause()) in the connection listener. Throws
  /// std::system_error on a read error (after "error"/"close" were scheduled).
  [[nodiscard]] task<buffer> read() { return s().read_chunk(); }
  /// Writes through the same queue as write() and resumes once the bytes are sent. Throws
  /// std::system_error on failure.
  [[nodiscard]] task<> write_all(std::string_view data) {
    return write_all_impl(s_, buffer::from(data));
  }
  [[nodiscard]] task<> write_all(buffer data) { return write_all_impl(s_, std::move(data)); }

  // --- options and properties -------------------------------------------------------------

  /// Emits "timeout" after ms without activity; closes nothing; 0 disarms.
  /// Node: socket.setTimeout(ms[, cb])
  socket& set_timeout(std::chrono::milliseconds ms) {
    s().set_timeout(ms);
    return *this;
  }
  template <class Fn>
  socket& set_timeout(std::chrono::milliseconds ms, Fn&& cb) {
    s().set_timeout(ms);
    if (ms.count() > 0) s().once("timeout", std::forward<Fn>(cb));
    return *this;
  }
  /// Node: socket.setNoDelay()
  socket& set_no_delay(bool enable = true) {
    s().set_no_delay(enable);
    return *this;
  }
  /// Node: socket.setKeepAlive(enable, initialDelay)
  socket& set_keep_alive(bool enable = false, int initial_delay_ms = 0) {
    s().set_keep_alive(enable, initial_delay_ms);
    return *this;
  }
  /// Node: socket.ref()
  socket& ref() {
    s().ref();
    return *this;
  }
  /// The socket alone no longer keeps the loop alive. Node: socket.unref()
  socket& unref() {
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

  explicit operator bool() const noexcept { return static_cast<bool>(s_); }
  friend bool operator==(const socket& a, const socket& b) noexcept { return a.s_ == b.s_; }
  /// The state behind the handle (for netco's own layers).
  const std::shared_ptr<detail::socket_state>& state() const noexcept { return s_; }

 private:
  friend netco::detail::emitter_handle<socket>;
  detail::socket_state& emitter() const { return s(); }
  detail::socket_state& s() const {
    if (!s_) throw std::logic_error("netco: use of an empty net::socket handle");
    return *s_;
  }

  static task<> write_all_impl(std::shared_ptr<detail::socket_state> s, buffer data);

  std::shared_ptr<detail::socket_state> s_;
};

namespace detail {

using server_emitter =
    basic_event_emitter<event<"listening">, event<"connection", socket>, event<"close">,
                        event<"error", std::error_code, error_info>, event<"drop", drop_info>>;

/// The shared state behind net::server handles. Loop thread only.
class server_state final : public server_emitter,
                           public registered,
                           public std::enable_shared_from_this<server_state> {
 public:
  server_state(loop& owner, server_options o) : owner_(&owner), options_(o) {
    registry::of(owner).add(*this);
  }
  ~server_state() override { close_acceptor(); }

  void listen(listen_options o);

  void close();

  void connection_gone();

  /// For netco::cluster's handoff mode: "listening" with no socket of its own; connections
  /// arrive through adopt() from the one acceptor. close() works as usual.
  void listen_without_acceptor();

  /// Takes a connection accepted elsewhere (on this loop's thread), as if accepted here.
  void adopt(stream peer);

  /// Destroys the connections still open (a graceful shutdown's deadline). Rare, so it walks
  /// the loop's registry rather than have every connection pay for a list of its own.
  void destroy_connections();

  address_info address() const;

  void ref() {
    unrefed_ = false;
    uncompensate();
  }
  void unref();

  loop* owner_;
  server_options options_;
  std::size_t connections_ = 0;
  std::size_t max_connections_ = std::numeric_limits<std::size_t>::max();
  bool listening_ = false;

 private:
  void compensate();
  void uncompensate();

  void maybe_emit_close();

  void on_loop_gone() noexcept override;

  void close_acceptor() noexcept;
  void remove_path() noexcept;

  task<> accept_loop(std::shared_ptr<server_state> self, std::size_t generation);

  std::optional<raw_acceptor> acceptor_;
  std::string path_;
  std::size_t generation_ = 0;
  bool closing_ = false;
  bool close_scheduled_ = false;
  bool unrefed_ = false;
  bool compensated_ = false;
};

}  // namespace detail

/// A TCP or IPC server with Node's events: "listening", "connection"(socket), "close",
/// "error"(error_code, error_info), "drop"(drop_info). A cheap handle; the server stays alive while
/// it listens. Every listener runs on the loop thread that created it.
class server : public netco::detail::emitter_handle<server> {
 public:
  server() = default;
  explicit server(std::shared_ptr<detail::server_state> s) noexcept : s_(std::move(s)) {}

  // (events: on, once, off, emit... from emitter_handle)

  /// Starts accepting on host:port (empty host: every interface; port 0: a free one). A busy
  /// port is reported as "error" (EADDRINUSE) on the next tick. Node: server.listen(port, host,
  /// backlog, cb)
  server& listen(std::uint16_t port = 0, std::string_view host = {}, int backlog = 511) {
    s().listen({.port = port, .host = std::string(host), .path = {}, .backlog = backlog});
    return *this;
  }
  template <std::invocable<> Fn>
  server& listen(std::uint16_t port, std::string_view host, int backlog, Fn&& on_listening) {
    s().once("listening", std::forward<Fn>(on_listening));
    return listen(port, host, backlog);
  }
  template <std::invocable<> Fn>
  server& listen(std::uint16_t port, std::string_view host, Fn&& on_listening) {
    return listen(port, host, 511, std::forward<Fn>(on_listening));
  }
  template <std::invocable<> Fn>
  server& listen(std::uint16_t port, Fn&& on_listening) {
    return listen(port, {}, 511, std::forward<Fn>(on_listening));
  }
  /// IPC: listens on a Unix-domain socket file. Node: server.listen(path)
  server& listen(std::string_view path) {
    s().listen({.port = 0, .host = {}, .path = std::string(path), .backlog = 511});
    return *this;
  }
  template <std::invocable<> Fn>
  server& listen(std::string_view path, Fn&& on_listening) {
    s().once("listening", std::forward<Fn>(on_listening));
    return listen(path);
  }
  /// Node: server.listen(options)
  server& listen(listen_options options) {
    s().listen(std::move(options));
    return *this;
  }

  /// Stops accepting; "close" fires once the last connection is gone. cb runs then (taking
  /// an error_code: server_not_running if it was not listening). Node: server.close([cb])
  server& close() {
    s().close();
    return *this;
  }
  template <class Fn>
  server& close(Fn&& cb) {
    if constexpr (std::is_invocable_v<Fn&, std::error_code>) {
      if (!s().listening_) {
        detail::defer(*s().owner_, [cb = std::forward<Fn>(cb)]() mutable {
          cb(make_error_code(errc::server_not_running));
        });
        return *this;
      }
      s().once("close", [cb = std::forward<Fn>(cb)]() mutable { cb(std::error_code()); });
    } else {
      s().once("close", std::forward<Fn>(cb));
    }
    return close();
  }

  /// The bound address (after "listening"). Node: server.address()
  address_info address() const { return s().address(); }
  /// Node: server.listening
  bool listening() const { return s().listening_; }
  /// Node: server.getConnections(cb) — cb(error_code, count) on the next tick
  template <class Fn>
  server& get_connections(Fn&& cb) {
    detail::defer(*s().owner_, [st = s_, cb = std::forward<Fn>(cb)]() mutable {
      cb(std::error_code(), st->connections_);
    });
    return *this;
  }
  /// The current count, at once (Node's deprecated server.connections).
  std::size_t connections() const { return s().connections_; }
  /// Destroys every connection still open, each with "close"(false). netco's own, for graceful
  /// shutdown's deadline. Node: (http.Server's closeAllConnections())
  server& close_all_connections() {
    s().destroy_connections();
    return *this;
  }
  /// Node: server.maxConnections = n (connections over it are closed at once, with "drop")
  server& max_connections(std::size_t n) {
    s().max_connections_ = n;
    return *this;
  }
  /// Node: server.maxConnections
  std::size_t max_connections() const { return s().max_connections_; }
  /// Node: server.ref()
  server& ref() {
    s().ref();
    return *this;
  }
  /// A listening server alone no longer keeps the loop alive. Node: server.unref()
  server& unref() {
    s().unref();
    return *this;
  }

  explicit operator bool() const noexcept { return static_cast<bool>(s_); }
  const std::shared_ptr<detail::server_state>& state() const noexcept { return s_; }

 private:
  friend netco::detail::emitter_handle<server>;
  detail::server_state& emitter() const { return s(); }
  detail::server_state& s() const {
    if (!s_) throw std::logic_error("netco: use of an empty net::server handle");
    return *s_;
  }
  std::shared_ptr<detail::server_state> s_;
};

/// A server on the calling thread's loop. Node: net.createServer([options][, listener])
NETCO_DECL server create_server(server_options options = {});
template <class Fn>
requires std::is_invocable_v<Fn&, socket> server create_server(server_options options,
                                                               Fn&& connection_listener) {
  server s = create_server(options);
  s.on("connection", std::forward<Fn>(connection_listener));
  return s;
}
template <class Fn>
requires std::is_invocable_v<Fn&, socket> server create_server(Fn&& connection_listener) {
  return create_server(server_options{}, std::forward<Fn>(connection_listener));
}

/// Connects to host:port or a Unix socket path; "lookup", "connect" and "ready" follow, or
/// "error" and "close"(true). Writes before the connection are queued. Node:
/// net.createConnection(options[, cb])
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

// The out-of-line definitions: here when header-only, else in <netco/impl/src.hpp>'s unit.
#if !defined(NETCO_SEPARATE_COMPILATION)
#include "netco/impl/net.ipp"
#endif
