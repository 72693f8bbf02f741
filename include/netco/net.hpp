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
// After detail/asio.hpp, which configures Asio: one socket type for TCP and Unix-domain streams.
#include <asio/generic/stream_protocol.hpp>
#include <asio/ip/v6_only.hpp>  // dual-stack listening on "::"
#include <filesystem>           // remove: an IPC server removes its socket file on close
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
inline bool is_ipv4(std::string_view input) {
  std::error_code ec;
  (void)asio::ip::make_address_v4(std::string(input), ec);
  return !ec;
}
/// Node: net.isIPv6()
inline bool is_ipv6(std::string_view input) {
  std::error_code ec;
  (void)asio::ip::make_address_v6(std::string(input), ec);
  return !ec;
}
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

inline address_info to_info(const protocol::endpoint& ep) {
  address_info out;
  const sockaddr* sa = ep.data();
  if (ep.size() == 0) return out;
  if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6) {
    asio::ip::tcp::endpoint ip;
    std::memcpy(ip.data(), sa, ep.size());
    ip.resize(ep.size());
    asio::ip::address a = ip.address();
    if (a.is_v6() && a.to_v6().is_v4_mapped()) {
      a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    }
    out.address = a.to_string();
    out.family = a.is_v4() ? "IPv4" : "IPv6";
    out.port = ip.port();
  } else if (sa->sa_family == AF_UNIX) {
    const auto* un = reinterpret_cast<const sockaddr_un*>(sa);
    const std::size_t max = ep.size() > offsetof(sockaddr_un, sun_path)
                                ? ep.size() - offsetof(sockaddr_un, sun_path)
                                : 0;
    out.address.assign(un->sun_path, strnlen(un->sun_path, max));
  }
  return out;
}

/// Text decoding for set_encoding(): keeps the bytes a character or group still needs.
class decoder {
 public:
  enum class kind { none, utf8, hex, base64, latin1 };

  static kind parse(std::string_view name) {
    std::string n;
    for (char c : name) n += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    if (n == "utf8" || n == "utf-8") return kind::utf8;
    if (n == "hex") return kind::hex;
    if (n == "base64") return kind::base64;
    if (n == "latin1" || n == "binary") return kind::latin1;
    throw std::invalid_argument("netco: unknown encoding \"" + std::string(name) +
                                "\" [ERR_UNKNOWN_ENCODING]");
  }

  kind mode = kind::none;

  /// The text of chunk; may be empty when all of it is held back (an incomplete character).
  buffer decode(const buffer& chunk) {
    switch (mode) {
      case kind::none:
        return chunk;
      case kind::utf8:
        return utf8(chunk);
      case kind::hex:
        return hex(chunk.bytes());
      case kind::base64:
        return base64(chunk.bytes(), false);
      case kind::latin1:
        return latin1(chunk.bytes());
    }
    return chunk;
  }
  /// What is held back at the end of the stream (Node's StringDecoder.end()).
  buffer flush() {
    std::string rest = std::exchange(carry_, {});
    if (rest.empty()) return {};
    if (mode == kind::utf8) return buffer::from("\xEF\xBF\xBD");  // U+FFFD, as Node
    if (mode == kind::base64)
      return base64(std::as_bytes(std::span(rest.data(), rest.size())), true);
    return {};
  }

 private:
  buffer utf8(const buffer& chunk) {
    const auto* p = reinterpret_cast<const unsigned char*>(chunk.data());
    const std::size_t n = chunk.size();
    // Where the last character starts, and whether it is complete.
    std::size_t keep = 0;
    const std::size_t total_before = carry_.size() + n;
    auto at = [&](std::size_t i) -> unsigned char {
      return i < carry_.size() ? static_cast<unsigned char>(carry_[i]) : p[i - carry_.size()];
    };
    for (std::size_t back = 1; back <= 4 && back <= total_before; ++back) {
      const unsigned char c = at(total_before - back);
      if ((c & 0xC0) == 0x80) continue;  // a continuation byte: look further back
      const std::size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
      if (need > back) keep = back;
      break;
    }
    if (carry_.empty() && keep == 0) return chunk;  // the common case: no copy
    std::string out = std::exchange(carry_, {});
    out.append(reinterpret_cast<const char*>(p), n);
    carry_.assign(out, out.size() - keep, keep);
    out.resize(out.size() - keep);
    return buffer::from(out);
  }
  static buffer hex(std::span<const std::byte> in) {
    static constexpr char digits[] = "0123456789abcdef";
    buffer out = buffer::uninitialized(in.size() * 2);
    auto w = out.mutable_bytes();
    for (std::size_t i = 0; i < in.size(); ++i) {
      const auto b = static_cast<unsigned char>(in[i]);
      w[2 * i] = static_cast<std::byte>(digits[b >> 4]);
      w[2 * i + 1] = static_cast<std::byte>(digits[b & 15]);
    }
    return out;
  }
  buffer base64(std::span<const std::byte> in, bool final) {
    static constexpr char table[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string bytes = std::exchange(carry_, {});
    bytes.append(reinterpret_cast<const char*>(in.data()), in.size());
    const std::size_t whole = final ? bytes.size() : bytes.size() / 3 * 3;
    carry_ = bytes.substr(whole);
    std::string out;
    for (std::size_t i = 0; i < whole; i += 3) {
      const unsigned a = static_cast<unsigned char>(bytes[i]);
      const unsigned b = i + 1 < whole ? static_cast<unsigned char>(bytes[i + 1]) : 0;
      const unsigned c = i + 2 < whole ? static_cast<unsigned char>(bytes[i + 2]) : 0;
      out += table[a >> 2];
      out += table[((a & 3) << 4) | (b >> 4)];
      out += i + 1 < whole ? table[((b & 15) << 2) | (c >> 6)] : '=';
      out += i + 2 < whole ? table[c & 63] : '=';
    }
    return buffer::from(out);
  }
  static buffer latin1(std::span<const std::byte> in) {
    std::string out;
    out.reserve(in.size());
    for (std::byte b : in) {
      const auto c = static_cast<unsigned char>(b);
      if (c < 0x80) {
        out += static_cast<char>(c);
      } else {
        out += static_cast<char>(0xC0 | (c >> 6));
        out += static_cast<char>(0x80 | (c & 0x3F));
      }
    }
    return buffer::from(out);
  }

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
  ~registry() {
    while (head.next != &head) {
      registered* r = head.next;
      r->unlink();
      r->on_loop_gone();
    }
  }

  // NOTE: thread_locals die in reverse order of construction, so the default loop (built
  // first) may outlive this table; the flag (trivially destructible) says when it is gone.
  static bool& table_gone() noexcept {
    thread_local bool gone = false;
    return gone;
  }
  static std::vector<std::pair<loop*, registry*>>& table() {
    struct owned {
      std::vector<std::pair<loop*, registry*>> entries;
      ~owned() { table_gone() = true; }
    };
    thread_local owned t;
    return t.entries;
  }
  struct never {
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    void await_resume() const noexcept {}
  };
  static task<> keeper(loop* l) {
    registry r;
    r.owner = l;
    table().emplace_back(l, &r);
    struct unlist {
      loop* l;
      ~unlist() {
        if (table_gone()) return;
        auto& t = table();
        for (std::size_t i = 0; i < t.size(); ++i) {
          if (t[i].first == l) {
            t.erase(t.begin() + static_cast<std::ptrdiff_t>(i));
            break;
          }
        }
      }
    } guard{l};
    co_await never{};
  }
  static registry& of(loop& l) {
    for (auto& [owner, r] : table()) {
      if (owner == &l) return *r;
    }
    netco::detail::adopt_root(l, keeper(&l)).resume();  // registers itself, then waits forever
    return *table().back().second;
  }
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
                        event<"error", std::error_code>, event<"close", bool>>;

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
  ~socket_state() override {
    buffer_block::release(rbuf_);
    buffer_block::release(arena_);
    if (!close_emitted_) leave_server();
  }

  // --- set-up ---------------------------------------------------------------------------

  void attach_server(std::shared_ptr<server_state> s) { server_ = std::move(s); }
  void accepted(bool pause_on_connect) {
    connecting_ = false;
    connected_ = true;
    paused_ = pause_on_connect;
  }
  /// After "connection" / "connect": start reading unless someone paused or reads by hand.
  void start_flowing_later() {
    defer(*owner_, [self = shared_from_this()] {
      if (!self->paused_ && !self->pull_) self->start_reader();
    });
  }

  // --- reading --------------------------------------------------------------------------

  void pause() { paused_ = true; }
  void resume() {
    paused_ = false;
    if (pull_ || destroyed_ || !connected_) return;
    if (!held_.empty()) {
      defer(*owner_, [self = shared_from_this()] {
        if (self->paused_ || self->destroyed_) return;
        buffer chunk = std::exchange(self->held_, {});
        self->deliver(chunk);
        if (!self->paused_) self->start_reader();
      });
      return;
    }
    start_reader();
  }
  bool is_paused() const noexcept { return paused_; }
  void set_encoding(std::string_view name) { decoder_.mode = decoder::parse(name); }

  /// Coroutine style: the next chunk, or an empty buffer at the end of the stream.
  task<buffer> read_chunk() {
    auto self = shared_from_this();
    if (reading_) {
      throw std::logic_error(
          "netco: read() on a flowing socket (it has \"data\" listeners or was resumed); pause() "
          "it first");
    }
    pull_ = true;
    if (!held_.empty()) co_return std::exchange(held_, {});
    if (destroyed_ || read_ended_) co_return buffer{};
    if (!stream_) throw std::logic_error("netco: read() before \"connect\"");
    ensure_read_buffer();
    std::error_code ec;
    buffer_block* block = rbuf_;
    buffer_block::retain(block);  // the memory Asio writes into outlives a destroy()
    const std::size_t n =
        co_await stream_->read_some(std::span(block->data(), block->capacity), ec);
    buffer chunk = buffer::adopt(block, 0, n);
    if (destroyed_) co_return buffer{};
    if (ec) {
      destroy(ec);
      throw std::system_error(normalize(ec), "read");
    }
    if (n == 0) {
      on_eof();
      co_return buffer{};
    }
    bytes_read_ += n;
    touch();
    if (n == block->capacity && n < config_.read_buffer_size) {
      buffer_block* big = nullptr;
      std::error_code late;  // reported by the next read (the stream keeps it, or it ends)
      chunk = top_up(chunk, big, late);
      buffer_block::release(big);  // the caller owns the chunk
    }
    if (count_of<"data">() > 0) emit_event<"data">(chunk);
    co_return chunk;
  }

  // --- writing --------------------------------------------------------------------------

  bool write(const buffer* shared, std::span<const std::byte> bytes, write_callback cb) {
    if (destroyed_) {
      complete_later(std::move(cb), make_error_code(errc::socket_closed));
      return false;
    }
    if (ended_) {
      // Node: the error comes on the next tick, never from inside write().
      defer(*owner_, [self = shared_from_this(), cb = std::move(cb)]() mutable {
        const std::error_code ec = make_error_code(errc::write_after_end);
        if (cb) cb(ec);
        self->destroy(ec);
      });
      return false;
    }
    const std::size_t n = bytes.size();
    bytes_written_ += n;
    if (n == 0) {
      if (cb) complete_later(std::move(cb), {});
      return writable_length_ < config_.high_water_mark;
    }
    std::size_t sent = 0;
    if (connected_ && !writing_ && queue_head_ == queue_.size()) {
      // The fast path: the socket buffer usually takes it all, with no queue and no copy.
      std::error_code ec;
      sent = stream_->try_write_some(bytes, ec);  // never waits (nor blocks under io_uring)
      if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
        ec = normalize(ec);
        defer(*owner_, [self = shared_from_this(), cb = std::move(cb), ec]() mutable {
          if (cb) cb(ec);
          self->destroy(ec);
        });
        return false;
      }
      if (ec) sent = 0;
      if (sent > 0) touch();
      if (sent == n) {
        if (cb) complete_later(std::move(cb), {});
        return true;
      }
    }
    enqueue(shared, bytes.subspan(sent), std::move(cb));
    if (connected_ && !writing_) start_writer();
    const bool ok = writable_length_ < config_.high_water_mark;
    if (!ok) need_drain_ = true;
    return ok;
  }

  void end(write_callback cb) {
    if (destroyed_ || ended_) {
      if (cb) complete_later(std::move(cb), {});
      return;
    }
    ended_ = true;
    if (cb) finish_callbacks_.push_back(std::move(cb));
    if (connected_ && !writing_ && queue_head_ == queue_.size()) finish();
  }

  // --- closing --------------------------------------------------------------------------

  /// Closes now; "error" (if ec) then "close" follow on the next tick. Idempotent.
  void destroy(std::error_code ec, bool reset = false) {
    if (destroyed_) return;
    ec = normalize(ec);
    destroyed_ = true;
    connecting_ = false;
    if (timer_) timer_->cancel();
    if (stream_ && reset)
      stream_->reset();
    else if (stream_)
      stream_->close();
    if (connecting_socket_) {
      std::error_code ignored;
      connecting_socket_->close(ignored);  // the pending connect ends
    }
    writable_length_ = 0;
    std::vector<write_callback> failed;
    for (std::size_t i = queue_head_; i < queue_.size(); ++i) {
      if (queue_[i].cb) failed.push_back(std::move(queue_[i].cb));
    }
    for (auto& cb : finish_callbacks_) failed.push_back(std::move(cb));
    finish_callbacks_.clear();
    queue_.clear();
    queue_head_ = 0;
    defer(*owner_, [self = shared_from_this(), ec, failed = std::move(failed)]() mutable {
      // Pending write callbacks run before "close" (libuv's test-tcp-write-queue-order).
      const std::error_code cb_error = ec ? ec : make_error_code(errc::socket_closed);
      for (auto& cb : failed) cb(cb_error);
      if (ec) {
        try {
          self->emit_event<"error">(ec);
        } catch (...) {
          self->owner_->report(std::current_exception());  // Node: an unhandled 'error' throws
        }
      }
      self->close_emitted_ = true;
      try {
        self->emit_event<"close">(static_cast<bool>(ec));
      } catch (...) {
        self->owner_->report(std::current_exception());
      }
      self->clear_all();  // listeners go, and with them any handle cycles
      self->unlink();
      self->leave_server();
    });
  }
  /// Ends once everything written is flushed. Node: socket.destroySoon()
  void destroy_soon() {
    if (writing_ || queue_head_ != queue_.size()) {
      end({});
      destroy_after_finish_ = true;
    } else {
      destroy({});
    }
  }

  // --- timeouts and options -------------------------------------------------------------

  void set_timeout(std::chrono::milliseconds ms) {
    if (ms.count() < 0) {
      throw std::out_of_range("netco: set_timeout() needs ms >= 0 [ERR_OUT_OF_RANGE]");
    }
    if (destroyed_) return;
    timeout_ = ms;
    if (ms.count() == 0) {
      if (timer_) timer_->cancel();
      return;
    }
    last_active_ = std::chrono::steady_clock::now();
    arm_timer(last_active_ + timeout_);
  }
  void set_no_delay(bool enable) {
    no_delay_ = enable;
    if (connected_ && !destroyed_ && is_tcp()) {
      std::error_code ignored;
      stream_->asio_socket().set_option(asio::ip::tcp::no_delay(enable), ignored);
    }
  }
  void set_keep_alive(bool enable, int initial_delay_ms) {
    keep_alive_ = enable;
    keep_alive_delay_ms_ = initial_delay_ms;
    if (connected_ && !destroyed_ && is_tcp()) {
      std::error_code ignored;
      stream_->asio_socket().set_option(asio::socket_base::keep_alive(enable), ignored);
      if (enable && initial_delay_ms >= 1000) {
        stream_->asio_socket().set_option(netco::detail::keep_alive_idle{initial_delay_ms / 1000},
                                          ignored);
      }
    }
  }
  void apply_options() {
    if (no_delay_) set_no_delay(true);
    if (keep_alive_) set_keep_alive(true, keep_alive_delay_ms_);
  }

  void ref() {
    if (!unrefed_) return;
    unrefed_ = false;
    if (compensated_) {
      compensated_ = false;
      owner_->ref();
    }
  }
  void unref() {
    if (unrefed_) return;
    unrefed_ = true;
    if (reading_ && !compensated_) {
      compensated_ = true;
      owner_->unref();
    }
  }

  // --- client connect -------------------------------------------------------------------

  task<> connect_to(connect_options o) {
    auto self = shared_from_this();
    connecting_ = true;
    std::error_code ec;
    raw_socket raw(owner_->context());
    connecting_socket_ = &raw;
    struct forget {
      raw_socket*& p;
      ~forget() { p = nullptr; }
    } forget_on_exit{connecting_socket_};
    if (!o.path.empty()) {
      co_await netco::detail::connect_awaiter<raw_socket>(
          *owner_, raw, protocol::endpoint(asio::local::stream_protocol::endpoint(o.path)), &ec);
      if (destroyed_) co_return;
    } else {
      const bool literal = is_ip(o.host) != 0;
      std::vector<asio::ip::tcp::endpoint> targets = co_await resolve(o.host, o.port, ec);
      if (destroyed_) co_return;
      if (!literal) {
        const std::string address = ec ? std::string() : targets.front().address().to_string();
        const int family = ec ? 0 : targets.front().address().is_v4() ? 4 : 6;
        emit_event<"lookup">(normalize(ec), std::string_view(address), family,
                             std::string_view(o.host));
        if (destroyed_) co_return;
      }
      for (const auto& target : targets) {
        if (raw.is_open()) {
          std::error_code ignored;
          raw.close(ignored);
        }
        co_await netco::detail::connect_awaiter<raw_socket>(*owner_, raw,
                                                            protocol::endpoint(target), &ec);
        if (destroyed_) co_return;
        if (!ec) break;
      }
    }
    if (ec) {
      destroy(ec);  // "error", then "close" with had_error
      co_return;
    }
    stream_.emplace(*owner_, std::move(raw));  // non-blocking from here on
    connecting_socket_ = nullptr;
    connecting_ = false;
    connected_ = true;
    apply_options();
    emit_event<"connect">();
    if (destroyed_) co_return;
    emit_event<"ready">();
    if (destroyed_) co_return;
    if (queue_head_ != queue_.size())
      start_writer();
    else if (ended_)
      finish();
    if (!paused_ && !pull_) start_reader();
  }

  // --- properties -----------------------------------------------------------------------

  address_info local() const {
    if (!local_ && stream_ && stream_->is_open()) {
      std::error_code ec;
      auto ep = stream_->local_endpoint(ec);
      if (!ec) local_ = to_info(ep);
    }
    return local_.value_or(address_info{});
  }
  address_info remote() const {
    if (!remote_ && stream_ && stream_->is_open()) {
      std::error_code ec;
      auto ep = stream_->remote_endpoint(ec);
      if (!ec) remote_ = to_info(ep);
    }
    return remote_.value_or(address_info{});
  }
  bool is_tcp() const {
    std::error_code ec;
    if (!stream_ || !stream_->is_open()) return false;
    auto ep = stream_->local_endpoint(ec);
    return !ec && (ep.data()->sa_family == AF_INET || ep.data()->sa_family == AF_INET6);
  }

  std::string_view ready_state() const noexcept {
    if (connecting_) return "opening";
    if (destroyed_) return "closed";
    const bool readable = !read_ended_, writable = !ended_;
    if (readable && writable) return "open";
    if (readable) return "readOnly";
    if (writable) return "writeOnly";
    return "closed";
  }

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

  void listener_added(std::string_view name) override {
    // Node: attaching a "data" listener switches the socket to flowing mode.
    if (name == "data" && !paused_ && !pull_ && connected_) resume();
  }

  void on_loop_gone() noexcept override {
    auto keep = weak_from_this().lock();
    close_emitted_ = true;
    destroyed_ = true;
    if (stream_) stream_->close();
    clear_all();
    server_.reset();
  }

  void leave_server();

  void touch() {
    if (timeout_.count() > 0) {
      last_active_ = std::chrono::steady_clock::now();
      if (!timer_armed_) arm_timer(last_active_ + timeout_);
    }
  }
  void arm_timer(std::chrono::steady_clock::time_point at) {
    // Node's socket timer is unref'd: it never keeps the loop alive, so it is a bare Asio
    // timer, not a counted netco operation.
    if (!timer_) timer_.emplace(owner_->context());
    timer_->expires_at(at);
    timer_armed_ = true;
    timer_->async_wait([weak = weak_from_this()](const std::error_code& ec) {
      auto self = weak.lock();
      if (!self) return;
      if (ec) {
        if (ec == asio::error::operation_aborted && self->timeout_.count() > 0 &&
            !self->destroyed_ && self->timer_->expiry() > std::chrono::steady_clock::now()) {
          return;  // re-armed: the newer wait is pending
        }
        self->timer_armed_ = false;
        return;
      }
      self->timer_armed_ = false;
      if (self->destroyed_ || self->timeout_.count() == 0) return;
      const auto due = self->last_active_ + self->timeout_;
      if (std::chrono::steady_clock::now() < due) {
        self->arm_timer(due);  // there was activity: wait for the rest
        return;
      }
      try {
        self->emit_event<"timeout">();  // closes nothing (Node)
      } catch (...) {
        self->owner_->report(std::current_exception());
      }
    });
  }

  void ensure_read_buffer() {
    // Reused while nobody keeps a chunk; a listener that keeps one gets it for good and the
    // next read goes to a fresh block.
    if (rbuf_ && rbuf_->refs.load(std::memory_order_acquire) == 1) return;
    buffer_block::release(std::exchange(rbuf_, nullptr));
    // Small: it is all the read memory an idle socket holds (see top_up).
    rbuf_ = buffer_block::create(std::min(config_.read_buffer_size, idle_read_size));
  }

  /// Read blocks of full size that no listener kept, for the next long read on this thread.
  struct spare_blocks {
    static constexpr std::size_t most = 4;
    std::vector<buffer_block*> blocks;
    spare_blocks() { blocks.reserve(most); }
    ~spare_blocks() {
      for (buffer_block* b : blocks) buffer_block::release(b);
    }
    static spare_blocks& local() {
      thread_local spare_blocks spare;
      return spare;
    }
  };
  static constexpr std::size_t idle_read_size = 512;

  /// The small read block filled, so the message may go on: copies it into a full-size block
  /// and adds what else the socket has now, without waiting (one read more per long message,
  /// against a full-size buffer per idle socket). big keeps a reference for put_back(); late
  /// gets a failure of that read, to report after the data.
  buffer top_up(const buffer& head, buffer_block*& big, std::error_code& late) {
    auto& spare = spare_blocks::local().blocks;
    if (!spare.empty() && spare.back()->capacity == config_.read_buffer_size) {
      big = spare.back();
      spare.pop_back();
    } else {
      big = buffer_block::create(config_.read_buffer_size);
    }
    std::memcpy(big->data(), head.data(), head.size());
    const std::size_t more = stream_->try_read_some(
        std::span(big->data() + head.size(), big->capacity - head.size()), late);
    if (late == std::errc::operation_would_block) late.clear();
    bytes_read_ += more;
    buffer_block::retain(big);
    return buffer::adopt(big, 0, head.size() + more);
  }
  /// After the chunk was delivered: the full-size block goes back to the spares unless a
  /// listener kept it.
  static void put_back(buffer_block* big) noexcept {
    if (!big) return;
    auto& spare = spare_blocks::local().blocks;
    if (big->refs.load(std::memory_order_acquire) == 1 && spare.size() < spare_blocks::most) {
      spare.push_back(big);  // never allocates: reserved
    } else {
      buffer_block::release(big);
    }
  }

  void start_reader() {
    if (reading_ || destroyed_ || read_ended_ || !connected_ || pull_) return;
    reading_ = true;
    spawn_now(*owner_, reader(shared_from_this()));
    if (reading_ && unrefed_ && !compensated_) {
      compensated_ = true;
      owner_->unref();  // the pending read no longer keeps the loop alive
    }
  }

  task<> reader(std::shared_ptr<socket_state> self) {
    (void)self;  // keeps the state alive while the coroutine runs
    while (!paused_ && !destroyed_ && !read_ended_) {
      ensure_read_buffer();
      buffer_block* block = rbuf_;
      buffer_block::retain(block);
      std::error_code ec;
      const std::size_t n =
          co_await stream_->read_some(std::span(block->data(), block->capacity), ec);
      buffer chunk = buffer::adopt(block, 0, n);
      if (destroyed_) break;
      if (ec) {
        stop_reading();
        destroy(ec);  // ECONNRESET and friends: "error", then "close"(true)
        co_return;
      }
      if (n == 0) {
        stop_reading();
        on_eof();
        co_return;
      }
      bytes_read_ += n;
      touch();
      buffer_block* big = nullptr;
      std::error_code late;
      if (n == block->capacity && n < config_.read_buffer_size) chunk = top_up(chunk, big, late);
      if (paused_) {
        held_ = std::move(chunk);  // no "data" while paused; resume() delivers it
        put_back(big);
        break;
      }
      deliver(chunk);
      chunk = buffer{};
      put_back(big);
      if (late && !destroyed_) {
        stop_reading();
        destroy(late);
        co_return;
      }
    }
    stop_reading();
  }
  void stop_reading() {
    if (!reading_) return;
    reading_ = false;
    if (compensated_) {
      compensated_ = false;
      owner_->ref();
    }
  }

  void deliver(const buffer& chunk) {
    try {
      if (decoder_.mode == decoder::kind::none) {
        emit_event<"data">(chunk);  // no listener: discarded (netco's rule, see docs/guide.md)
        return;
      }
      buffer text = decoder_.decode(chunk);
      if (!text.empty()) emit_event<"data">(text);
    } catch (...) {
      listener_failed();
    }
  }
  /// A "data" or "end" listener threw: the loop's error handler gets it and this connection
  /// closes (the reader stops), so that other connections go on unaffected.
  void listener_failed() {
    owner_->report(std::current_exception());
    destroy({});
  }

  void on_eof() {
    read_ended_ = true;
    try {
      if (decoder_.mode != decoder::kind::none) {
        buffer rest = decoder_.flush();
        if (!rest.empty()) emit_event<"data">(rest);
      }
      if (destroyed_) return;
      emit_event<"end">();
    } catch (...) {
      listener_failed();
    }
    if (destroyed_) return;
    if (!config_.allow_half_open) end({});  // flush what was written, then our FIN
    maybe_close();
  }

  void finish() {
    if (finished_ || destroyed_) return;
    std::error_code ec;
    if (stream_) stream_->shutdown_send(ec);
    finished_ = true;
    defer(*owner_,
          [self = shared_from_this(), cbs = std::exchange(finish_callbacks_, {})]() mutable {
            if (self->destroyed_) {
              for (auto& cb : cbs) cb(make_error_code(errc::socket_closed));
              return;
            }
            for (auto& cb : cbs) cb({});
            self->finish_emitted_ = true;
            self->emit_event<"finish">();
            if (self->destroy_after_finish_)
              self->destroy({});
            else
              self->maybe_close();
          });
  }
  void maybe_close() {
    // Node's autoDestroy: both sides done means closed.
    if (read_ended_ && finish_emitted_ && !destroyed_) destroy({});
  }

  void enqueue(const buffer* shared, std::span<const std::byte> bytes, write_callback cb) {
    writable_length_ += bytes.size();
    if (shared) {
      queue_.push_back(
          {shared->slice(static_cast<std::size_t>(bytes.data() - shared->data()),
                         static_cast<std::size_t>(bytes.data() - shared->data()) + bytes.size()),
           std::move(cb)});
      return;
    }
    constexpr std::size_t arena_size = 16 * 1024;
    if (bytes.size() > arena_size / 2) {
      queue_.push_back({buffer::copy_of(bytes), std::move(cb)});
      return;
    }
    if (!arena_ || arena_used_ + bytes.size() > arena_->capacity) {
      if (arena_ && arena_->refs.load(std::memory_order_acquire) == 1) {
        arena_used_ = 0;  // every byte of it was sent: reuse it
      } else {
        buffer_block::release(std::exchange(arena_, nullptr));
        arena_ = buffer_block::create(arena_size);
        arena_used_ = 0;
      }
    }
    std::memcpy(arena_->data() + arena_used_, bytes.data(), bytes.size());
    // Coalesce with the previous entry when it is contiguous, not yet in flight and has no
    // callback: fewer iovecs for many small writes.
    if (!cb && queue_.size() > inflight_end_ && queue_.size() > queue_head_) {
      queued& last = queue_.back();
      if (!last.cb && last.data.data() + last.data.size() == arena_->data() + arena_used_) {
        const std::size_t offset = static_cast<std::size_t>(last.data.data() - arena_->data());
        buffer_block::retain(arena_);
        last.data = buffer::adopt(arena_, offset, last.data.size() + bytes.size());
        arena_used_ += bytes.size();
        return;
      }
    }
    buffer_block::retain(arena_);
    queue_.push_back({buffer::adopt(arena_, arena_used_, bytes.size()), std::move(cb)});
    arena_used_ += bytes.size();
  }

  void start_writer() {
    if (writing_ || destroyed_) return;
    writing_ = true;
    // On a later turn: write callbacks and errors never run inside write().
    defer(*owner_, [self = shared_from_this()] {
      if (self->destroyed_) {
        self->writing_ = false;
        return;
      }
      spawn_now(*self->owner_, self->writer(self));
    });
  }

  task<> writer(std::shared_ptr<socket_state> self) {
    (void)self;
    while (queue_head_ < queue_.size() && !destroyed_) {
      iov_.clear();
      const std::size_t first = queue_head_, last = queue_.size();
      std::size_t total = 0;
      for (std::size_t i = first; i < last; ++i) {
        iov_.push_back(queue_[i].data.bytes());
        total += queue_[i].data.size();
      }
      inflight_end_ = last;
      std::error_code ec;
      // One writev for everything queued (Asio passes up to 64 buffers per call).
      co_await stream_->write_all(std::span<const std::span<const std::byte>>(iov_), ec);
      inflight_end_ = 0;
      if (destroyed_) break;
      if (ec) {
        writing_ = false;
        destroy(ec);
        co_return;
      }
      touch();
      writable_length_ -= total;
      done_.clear();
      for (std::size_t i = first; i < last; ++i) {
        if (queue_[i].cb) done_.push_back(std::move(queue_[i].cb));
        queue_[i].data = buffer{};
      }
      queue_head_ = last;
      if (queue_head_ == queue_.size()) {
        queue_.clear();
        queue_head_ = 0;
      }
      for (auto& cb : done_) cb({});
      done_.clear();
    }
    writing_ = false;
    if (destroyed_) co_return;
    if (need_drain_ && writable_length_ < config_.high_water_mark) {
      need_drain_ = false;
      emit_event<"drain">();
      if (destroyed_ || writing_) co_return;
    }
    if (ended_ && queue_head_ == queue_.size()) finish();
  }

  void complete_later(write_callback cb, std::error_code ec) {
    if (!cb) return;
    defer(*owner_, [cb = std::move(cb), ec]() mutable { cb(ec); });
  }

  buffer_block* rbuf_ = nullptr;
  buffer held_;
  decoder decoder_;
  std::vector<queued> queue_;
  std::size_t queue_head_ = 0;
  std::size_t inflight_end_ = 0;
  std::vector<std::span<const std::byte>> iov_;
  std::vector<write_callback> done_;
  std::vector<write_callback> finish_callbacks_;
  buffer_block* arena_ = nullptr;
  std::size_t arena_used_ = 0;
  std::optional<asio::steady_timer> timer_;
  bool timer_armed_ = false;
  std::chrono::milliseconds timeout_{0};
  std::chrono::steady_clock::time_point last_active_;
  bool no_delay_ = false;
  bool keep_alive_ = false;
  int keep_alive_delay_ms_ = 0;
  bool unrefed_ = false;
  bool compensated_ = false;
  mutable std::optional<address_info> local_;
  mutable std::optional<address_info> remote_;
};

}  // namespace detail

/// A TCP or Unix-domain stream socket with Node's events and methods. A cheap handle: copies
/// share one socket, and capturing a handle in its own listeners is fine (listeners are
/// dropped after "close"). Every listener and callback runs on the socket's loop thread.
///
/// Events: "lookup"(error_code, address, family, host), "connect", "ready", "data"(buffer),
/// "end", "drain", "finish", "timeout", "error"(error_code), "close"(bool had_error).
class socket {
 public:
  socket() = default;
  explicit socket(std::shared_ptr<detail::socket_state> state) noexcept : s_(std::move(state)) {}

  // --- events ---------------------------------------------------------------------------

  /// Node: socket.on()
  template <class Fn>
  socket& on(std::string_view event, Fn&& fn) {
    s().on(event, std::forward<Fn>(fn));
    return *this;
  }
  /// Node: socket.once()
  template <class Fn>
  socket& once(std::string_view event, Fn&& fn) {
    s().once(event, std::forward<Fn>(fn));
    return *this;
  }
  /// Node: socket.prependListener()
  template <class Fn>
  socket& prepend_listener(std::string_view event, Fn&& fn) {
    s().prepend_listener(event, std::forward<Fn>(fn));
    return *this;
  }
  /// Node: socket.prependOnceListener()
  template <class Fn>
  socket& prepend_once_listener(std::string_view event, Fn&& fn) {
    s().prepend_once_listener(event, std::forward<Fn>(fn));
    return *this;
  }
  /// Node: socket.addListener() (returns the id off() takes)
  template <class Fn>
  listener_id add_listener(std::string_view event, Fn&& fn, listener_options opts = {}) {
    return s().add_listener(event, std::forward<Fn>(fn), opts);
  }
  /// Node: socket.off() / socket.removeListener()
  socket& off(std::string_view event, listener_id id) {
    s().off(event, id);
    return *this;
  }
  /// Node: socket.removeAllListeners()
  socket& remove_all_listeners(std::string_view event) {
    s().remove_all_listeners(event);
    return *this;
  }
  /// Node: socket.emit()
  template <class... Args>
  bool emit(std::string_view event, Args&&... args) {
    return s().emit(event, std::forward<Args>(args)...);
  }
  /// Node: socket.listenerCount()
  std::size_t listener_count(std::string_view event) const { return s().listener_count(event); }
  /// Node: socket.setMaxListeners()
  socket& set_max_listeners(std::size_t n) {
    s().set_max_listeners(n);
    return *this;
  }

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
  detail::socket_state& s() const {
    if (!s_) throw std::logic_error("netco: use of an empty net::socket handle");
    return *s_;
  }

  static task<> write_all_impl(std::shared_ptr<detail::socket_state> s, buffer data) {
    struct awaiter {
      detail::socket_state* s;
      const buffer* data;
      std::error_code ec;
      bool await_ready() const noexcept { return false; }
      void await_suspend(std::coroutine_handle<> h) {
        // The callback always runs on a later turn, never inside write().
        s->write(data, data->bytes(), [this, h](std::error_code e) {
          ec = e;
          h.resume();
        });
      }
      void await_resume() const {
        if (ec) throw std::system_error(ec, "write");
      }
    };
    co_await awaiter{s.get(), &data, {}};
  }

  std::shared_ptr<detail::socket_state> s_;
};

namespace detail {

using server_emitter =
    basic_event_emitter<event<"listening">, event<"connection", socket>, event<"close">,
                        event<"error", std::error_code>, event<"drop", drop_info>>;

/// The shared state behind net::server handles. Loop thread only.
class server_state final : public server_emitter,
                           public registered,
                           public std::enable_shared_from_this<server_state> {
 public:
  server_state(loop& owner, server_options o) : owner_(&owner), options_(o) {
    registry::of(owner).add(*this);
  }
  ~server_state() override { close_acceptor(); }

  void listen(listen_options o) {
    if (listening_) {
      throw std::logic_error("netco: the server is already listening [ERR_SERVER_ALREADY_LISTEN]");
    }
    std::error_code ec;
    raw_acceptor raw(owner_->context());
    if (!o.path.empty()) {
      const protocol::endpoint at{asio::local::stream_protocol::endpoint(o.path)};
      raw.open(at.protocol(), ec);
      if (!ec) raw.bind(at, ec);
      if (!ec) {
        path_ = o.path;  // bound: the file is ours to remove on close
        raw.listen(o.backlog, ec);
      }
    } else {
      const bool any = o.host.empty();
      std::vector<asio::ip::tcp::endpoint> targets;
      if (any) {
        targets.emplace_back(asio::ip::address_v6::any(), o.port);
        targets.emplace_back(asio::ip::address_v4::any(), o.port);
      } else {
        targets = resolve_now(o.host, o.port, ec);
      }
      for (const auto& target : targets) {
        ec.clear();
        if (raw.is_open()) raw.close(ec);
        const protocol::endpoint at(target);
        raw.open(at.protocol(), ec);
        if (!ec) raw.set_option(asio::socket_base::reuse_address(true), ec);
        if (!ec && o.reuse_port) tcp::detail::set_reuse_port(raw, ec);
        if (!ec && target.address().is_v6()) {
          std::error_code ignored;  // dual-stack where the OS allows it, as Node
          raw.set_option(asio::ip::v6_only(false), ignored);
        }
        if (!ec) raw.bind(at, ec);
        if (!ec) raw.listen(o.backlog, ec);
        if (!ec || ec == std::errc::address_in_use) break;
      }
    }
    if (ec) {
      std::error_code ignored;
      raw.close(ignored);
      remove_path();
      // Node: listen errors arrive as "error" on a later tick; the server can listen again.
      defer(*owner_,
            [self = shared_from_this(), ec = normalize(ec)] { self->emit_event<"error">(ec); });
      return;
    }
    acceptor_.emplace(std::move(raw));
    listening_ = true;
    closing_ = false;
    ++generation_;
    spawn_now(*owner_, accept_loop(shared_from_this(), generation_));
    if (unrefed_) compensate();
    defer(*owner_, [self = shared_from_this()] {
      if (self->listening_) self->emit_event<"listening">();
    });
  }

  void close() {
    if (!listening_) {
      const std::error_code ec = make_error_code(errc::server_not_running);
      defer(*owner_, [self = shared_from_this(), ec] {
        if (self->count_of<"error">() > 0) self->emit_event<"error">(ec);
      });
      return;
    }
    listening_ = false;
    closing_ = true;
    uncompensate();
    close_acceptor();  // the pending accept ends; no new connections
    maybe_emit_close();
  }

  void connection_gone() {
    if (connections_ > 0) --connections_;
    maybe_emit_close();
  }

  /// For netco::cluster's handoff mode: "listening" with no socket of its own; connections
  /// arrive through adopt() from the one acceptor. close() works as usual.
  void listen_without_acceptor() {
    if (listening_) {
      throw std::logic_error("netco: the server is already listening [ERR_SERVER_ALREADY_LISTEN]");
    }
    listening_ = true;
    closing_ = false;
    ++generation_;
    defer(*owner_, [self = shared_from_this()] {
      if (self->listening_) self->emit_event<"listening">();
    });
  }

  /// Takes a connection accepted elsewhere (on this loop's thread), as if accepted here.
  void adopt(stream peer) {
    if (!listening_) {  // closed meanwhile: no new connections
      peer.close();
      return;
    }
    if (connections_ >= max_connections_) {
      // Node: accepted and closed at once, with "drop" telling whom.
      if (count_of<"drop">() > 0) {
        std::error_code e1, e2;
        drop_info info{to_info(peer.local_endpoint(e1)), to_info(peer.remote_endpoint(e2))};
        peer.close();
        emit_event<"drop">(info);
      }
      return;
    }
    socket_state::config c{options_.allow_half_open, options_.high_water_mark,
                           options_.read_buffer_size};
    auto st = std::make_shared<socket_state>(*owner_, c);
    st->stream_.emplace(std::move(peer));
    st->accepted(options_.pause_on_connect);
    st->attach_server(shared_from_this());
    if (options_.no_delay) st->set_no_delay(true);
    if (options_.keep_alive) st->set_keep_alive(true, options_.keep_alive_initial_delay);
    ++connections_;
    try {
      emit_event<"connection">(socket(st));
    } catch (...) {  // reported; that connection closes, the server goes on accepting
      owner_->report(std::current_exception());
      st->destroy({});
      return;
    }
    st->start_flowing_later();
  }

  /// Destroys the connections still open (a graceful shutdown's deadline). Rare, so it walks
  /// the loop's registry rather than have every connection pay for a list of its own.
  void destroy_connections() {
    std::vector<std::shared_ptr<socket_state>> mine;
    registry& r = registry::of(*owner_);
    for (registered* p = r.head.next; p != &r.head; p = p->next) {
      auto* s = dynamic_cast<socket_state*>(p);
      if (s && s->server_.get() == this) mine.push_back(s->shared_from_this());
    }
    for (auto& s : mine) s->destroy({});
  }

  address_info address() const {
    if (!acceptor_ || !acceptor_->is_open()) return {};
    std::error_code ec;
    auto ep = acceptor_->local_endpoint(ec);
    return ec ? address_info{} : to_info(ep);
  }

  void ref() {
    unrefed_ = false;
    uncompensate();
  }
  void unref() {
    unrefed_ = true;
    if (listening_ && acceptor_ && acceptor_->is_open()) compensate();  // an accept is pending
  }

  loop* owner_;
  server_options options_;
  std::size_t connections_ = 0;
  std::size_t max_connections_ = std::numeric_limits<std::size_t>::max();
  bool listening_ = false;

 private:
  void compensate() {
    if (!compensated_) {
      compensated_ = true;
      owner_->unref();  // the pending accept no longer keeps the loop alive
    }
  }
  void uncompensate() {
    if (compensated_) {
      compensated_ = false;
      owner_->ref();
    }
  }

  void maybe_emit_close() {
    if (!closing_ || listening_ || connections_ > 0 || close_scheduled_) return;
    close_scheduled_ = true;
    defer(*owner_, [self = shared_from_this()] {
      self->close_scheduled_ = false;
      if (!self->closing_ || self->listening_) return;
      self->closing_ = false;
      self->emit_event<"close">();
    });
  }

  void on_loop_gone() noexcept override {
    auto keep = weak_from_this().lock();
    listening_ = false;
    close_acceptor();
    clear_all();
  }

  void close_acceptor() noexcept {
    if (acceptor_) netco::detail::close_listening(*acceptor_);
    remove_path();
  }
  void remove_path() noexcept {
    if (path_.empty()) return;
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
    path_.clear();
  }

  task<> accept_loop(std::shared_ptr<server_state> self, std::size_t generation) {
    (void)self;
    raw_acceptor& a = *acceptor_;
    while (listening_ && generation_ == generation) {
      std::error_code ec;
      stream peer = co_await netco::detail::accept_awaiter<protocol>(*owner_, a, &ec);
      if (!listening_ || generation_ != generation) break;
      if (ec) {
        if (ec == std::errc::operation_canceled) break;
        // EMFILE and friends are transient: tell "error" listeners (as Node), never throw for
        // want of one, and keep the listener after a back-off.
        if (count_of<"error">() > 0) emit_event<"error">(normalize(ec));
        co_await sleep_for(std::chrono::milliseconds(100), ec);
        continue;
      }
      adopt(std::move(peer));
    }
  }

  std::optional<raw_acceptor> acceptor_;
  std::string path_;
  std::size_t generation_ = 0;
  bool closing_ = false;
  bool close_scheduled_ = false;
  bool unrefed_ = false;
  bool compensated_ = false;
};

inline void socket_state::leave_server() {
  if (auto s = std::exchange(server_, nullptr)) s->connection_gone();
}

}  // namespace detail

/// A TCP or IPC server with Node's events: "listening", "connection"(socket), "close",
/// "error"(error_code), "drop"(drop_info). A cheap handle; the server stays alive while it
/// listens. Every listener runs on the loop thread that created it.
class server {
 public:
  server() = default;
  explicit server(std::shared_ptr<detail::server_state> s) noexcept : s_(std::move(s)) {}

  /// Node: server.on()
  template <class Fn>
  server& on(std::string_view event, Fn&& fn) {
    s().on(event, std::forward<Fn>(fn));
    return *this;
  }
  /// Node: server.once()
  template <class Fn>
  server& once(std::string_view event, Fn&& fn) {
    s().once(event, std::forward<Fn>(fn));
    return *this;
  }
  /// Node: server.prependListener()
  template <class Fn>
  server& prepend_listener(std::string_view event, Fn&& fn) {
    s().prepend_listener(event, std::forward<Fn>(fn));
    return *this;
  }
  /// Node: server.addListener() (returns the id off() takes)
  template <class Fn>
  listener_id add_listener(std::string_view event, Fn&& fn, listener_options opts = {}) {
    return s().add_listener(event, std::forward<Fn>(fn), opts);
  }
  /// Node: server.off()
  server& off(std::string_view event, listener_id id) {
    s().off(event, id);
    return *this;
  }
  /// Node: server.removeAllListeners()
  server& remove_all_listeners(std::string_view event) {
    s().remove_all_listeners(event);
    return *this;
  }
  /// Node: server.listenerCount()
  std::size_t listener_count(std::string_view event) const { return s().listener_count(event); }

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
  detail::server_state& s() const {
    if (!s_) throw std::logic_error("netco: use of an empty net::server handle");
    return *s_;
  }
  std::shared_ptr<detail::server_state> s_;
};

/// A server on the calling thread's loop. Node: net.createServer([options][, listener])
inline server create_server(server_options options = {}) {
  return server(std::make_shared<detail::server_state>(loop::current(), options));
}
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
inline socket create_connection(connect_options options) {
  loop& owner = loop::current();
  detail::socket_state::config c{options.allow_half_open, options.high_water_mark,
                                 options.read_buffer_size};
  auto st = std::make_shared<detail::socket_state>(owner, c);
  socket handle(st);
  if (options.no_delay) st->set_no_delay(true);
  if (options.keep_alive) st->set_keep_alive(true, options.keep_alive_initial_delay);
  if (options.timeout.count() > 0) st->set_timeout(options.timeout);
  st->connecting_ = true;
  detail::spawn_now(owner, st->connect_to(std::move(options)));
  return handle;
}
template <std::invocable<> Fn>
socket create_connection(connect_options options, Fn&& on_connect) {
  socket s = create_connection(std::move(options));
  s.once("connect", std::forward<Fn>(on_connect));
  return s;
}
/// Node: net.connect(port[, host][, cb])
inline socket connect(std::uint16_t port, std::string_view host = "localhost") {
  connect_options o;
  o.port = port;
  o.host = std::string(host);
  return create_connection(std::move(o));
}
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
inline socket connect(std::string_view path) {
  connect_options o;
  o.path = std::string(path);
  return create_connection(std::move(o));
}
template <std::invocable<> Fn>
socket connect(std::string_view path, Fn&& on_connect) {
  socket s = connect(path);
  s.once("connect", std::forward<Fn>(on_connect));
  return s;
}
/// Node: net.connect(options[, cb])
inline socket connect(connect_options options) { return create_connection(std::move(options)); }

}  // namespace netco::net
