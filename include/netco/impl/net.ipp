// netco/impl/net.ipp: the out-of-line parts of netco/net.hpp: inline in every translation unit
// when header-only, compiled once (by <netco/impl/src.hpp>) under NETCO_SEPARATE_COMPILATION
#pragma once
#include <filesystem>  // remove: an IPC server removes its socket file on close

#include "netco/net.hpp"

namespace netco::net {

NETCO_DECL bool is_ipv4(std::string_view input) {
  std::error_code ec;
  (void)asio::ip::make_address_v4(std::string(input), ec);
  return !ec;
}

NETCO_DECL bool is_ipv6(std::string_view input) {
  std::error_code ec;
  (void)asio::ip::make_address_v6(std::string(input), ec);
  return !ec;
}

namespace detail {

// NOTE: types that live in a coroutine frame are named here, not local to their coroutine: GCC
// 12 warns (subobject-linkage) about a frame holding a local type once the coroutine is not
// inline (NETCO_SEPARATE_COMPILATION).

/// registry::keeper's: takes the loop's entry out of the table when the registry goes.
struct registry_entry_guard {
  loop* l;
  ~registry_entry_guard() {
    if (registry::table_gone()) return;
    auto& t = registry::table();
    for (std::size_t i = 0; i < t.size(); ++i) {
      if (t[i].first == l) {
        t.erase(t.begin() + static_cast<std::ptrdiff_t>(i));
        break;
      }
    }
  }
};

/// connect_to's: forgets the connecting socket when the coroutine ends, however it ends.
struct clear_on_exit {
  raw_socket*& p;
  ~clear_on_exit() { p = nullptr; }
};

/// socket::write_all's: resumes once write()'s callback reports the outcome.
struct write_awaiter {
  socket_state* s;
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

NETCO_DECL address_info to_info(const protocol::endpoint& ep) {
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

NETCO_DECL void socket_state::leave_server() {
  if (auto s = std::exchange(server_, nullptr)) s->connection_gone();
}

NETCO_DECL decoder::kind decoder::parse(std::string_view name) {
  std::string n;
  for (char c : name) n += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  if (n == "utf8" || n == "utf-8") return kind::utf8;
  if (n == "hex") return kind::hex;
  if (n == "base64") return kind::base64;
  if (n == "latin1" || n == "binary") return kind::latin1;
  throw std::invalid_argument("netco: unknown encoding \"" + std::string(name) +
                              "\" [ERR_UNKNOWN_ENCODING]");
}

NETCO_DECL buffer decoder::decode(const buffer& chunk) {
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

NETCO_DECL buffer decoder::flush() {
  std::string rest = std::exchange(carry_, {});
  if (rest.empty()) return {};
  if (mode == kind::utf8) return buffer::from("\xEF\xBF\xBD");  // U+FFFD, as Node
  if (mode == kind::base64) return base64(std::as_bytes(std::span(rest.data(), rest.size())), true);
  return {};
}

NETCO_DECL buffer decoder::utf8(const buffer& chunk) {
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

NETCO_DECL buffer decoder::hex(std::span<const std::byte> in) {
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

NETCO_DECL buffer decoder::base64(std::span<const std::byte> in, bool final) {
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

NETCO_DECL buffer decoder::latin1(std::span<const std::byte> in) {
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

NETCO_DECL registry::~registry() {
  while (head.next != &head) {
    registered* r = head.next;
    r->unlink();
    r->on_loop_gone();
  }
}

NETCO_DECL std::vector<std::pair<loop*, registry*>>& registry::table() {
  struct owned {
    std::vector<std::pair<loop*, registry*>> entries;
    ~owned() { table_gone() = true; }
  };
  thread_local owned t;
  return t.entries;
}

NETCO_DECL task<> registry::keeper(loop* l) {
  registry r;
  r.owner = l;
  table().emplace_back(l, &r);
  registry_entry_guard guard{l};
  co_await never{};
}

NETCO_DECL registry& registry::of(loop& l) {
  for (auto& [owner, r] : table()) {
    if (owner == &l) return *r;
  }
  netco::detail::adopt_root(l, keeper(&l)).resume();  // registers itself, then waits forever
  return *table().back().second;
}

NETCO_DECL socket_state::~socket_state() {
  buffer_block::release(rbuf_);
  buffer_block::release(arena_);
  if (!close_emitted_) leave_server();
}

NETCO_DECL void socket_state::accepted(bool pause_on_connect) {
  connecting_ = false;
  connected_ = true;
  paused_ = pause_on_connect;
}

NETCO_DECL void socket_state::start_flowing_later() {
  defer(*owner_, [self = shared_from_this()] {
    if (!self->paused_ && !self->pull_) self->start_reader();
  });
}

NETCO_DECL void socket_state::resume() {
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

NETCO_DECL task<buffer> socket_state::read_chunk() {
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
  const std::size_t n = co_await stream_->read_some(std::span(block->data(), block->capacity), ec);
  buffer chunk = buffer::adopt(block, 0, n);
  if (destroyed_) co_return buffer{};
  if (ec) {
    destroy(ec, false, {"read"});
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

NETCO_DECL bool socket_state::write(const buffer* shared, std::span<const std::byte> bytes,
                                    write_callback cb) {
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
        self->destroy(ec, false, {"write"});
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

NETCO_DECL void socket_state::end(write_callback cb) {
  if (destroyed_ || ended_) {
    if (cb) complete_later(std::move(cb), {});
    return;
  }
  ended_ = true;
  if (cb) finish_callbacks_.push_back(std::move(cb));
  if (connected_ && !writing_ && queue_head_ == queue_.size()) finish();
}

NETCO_DECL void socket_state::destroy(std::error_code ec, bool reset, error_info info) {
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
  defer(*owner_, [self = shared_from_this(), ec, info = std::move(info),
                  failed = std::move(failed)]() mutable {
    // Pending write callbacks run before "close" (libuv's test-tcp-write-queue-order).
    const std::error_code cb_error = ec ? ec : make_error_code(errc::socket_closed);
    for (auto& cb : failed) cb(cb_error);
    if (ec) {
      try {
        // Node: an unhandled 'error' throws, with its context in the message.
        if (self->count_of<"error">() == 0 && !info.syscall.empty())
          throw std::system_error(ec, info.context());
        self->emit_event<"error">(ec, info);
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

NETCO_DECL void socket_state::destroy_soon() {
  if (writing_ || queue_head_ != queue_.size()) {
    end({});
    destroy_after_finish_ = true;
  } else {
    destroy({});
  }
}

NETCO_DECL void socket_state::set_timeout(std::chrono::milliseconds ms) {
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

NETCO_DECL void socket_state::set_no_delay(bool enable) {
  no_delay_ = enable;
  if (connected_ && !destroyed_ && is_tcp()) {
    std::error_code ignored;
    stream_->asio_socket().set_option(asio::ip::tcp::no_delay(enable), ignored);
  }
}

NETCO_DECL void socket_state::set_keep_alive(bool enable, int initial_delay_ms) {
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

NETCO_DECL void socket_state::apply_options() {
  if (no_delay_) set_no_delay(true);
  if (keep_alive_) set_keep_alive(true, keep_alive_delay_ms_);
}

NETCO_DECL void socket_state::ref() {
  if (!unrefed_) return;
  unrefed_ = false;
  if (compensated_) {
    compensated_ = false;
    owner_->ref();
  }
}

NETCO_DECL void socket_state::unref() {
  if (unrefed_) return;
  unrefed_ = true;
  if (reading_ && !compensated_) {
    compensated_ = true;
    owner_->unref();
  }
}

NETCO_DECL task<> socket_state::connect_to(connect_options o) {
  auto self = shared_from_this();
  connecting_ = true;
  std::error_code ec;
  raw_socket raw(owner_->context());
  connecting_socket_ = &raw;
  const clear_on_exit forget_on_exit{connecting_socket_};
  error_info failure{"connect", o.path, 0};  // what "error" says if the connect fails
  if (!o.path.empty()) {
    co_await netco::detail::connect_awaiter<raw_socket>(
        *owner_, raw, protocol::endpoint(asio::local::stream_protocol::endpoint(o.path)), &ec);
    if (destroyed_) co_return;
  } else {
    const bool literal = is_ip(o.host) != 0;
    std::vector<asio::ip::tcp::endpoint> targets = co_await resolve(o.host, o.port, ec);
    if (destroyed_) co_return;
    if (ec) failure = {"getaddrinfo", o.host, 0};
    if (!literal) {
      const std::string address = ec ? std::string() : targets.front().address().to_string();
      const int family = ec ? 0 : targets.front().address().is_v4() ? 4 : 6;
      emit_event<"lookup">(normalize(ec), std::string_view(address), family,
                           std::string_view(o.host));
      if (destroyed_) co_return;
    }
    for (const auto& target : targets) {
      failure = {"connect", target.address().to_string(), target.port()};
      if (raw.is_open()) {
        std::error_code ignored;
        raw.close(ignored);
      }
      co_await netco::detail::connect_awaiter<raw_socket>(*owner_, raw, protocol::endpoint(target),
                                                          &ec);
      if (destroyed_) co_return;
      if (!ec) break;
    }
  }
  if (ec) {
    destroy(ec, false, std::move(failure));  // "error", then "close" with had_error
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

NETCO_DECL address_info socket_state::local() const {
  std::optional<address_info>& known = addresses().local;
  if (!known && stream_ && stream_->is_open()) {
    std::error_code ec;
    auto ep = stream_->local_endpoint(ec);
    if (!ec) known = to_info(ep);
  }
  return known.value_or(address_info{});
}

NETCO_DECL address_info socket_state::remote() const {
  std::optional<address_info>& known = addresses().remote;
  if (!known && stream_ && stream_->is_open()) {
    std::error_code ec;
    auto ep = stream_->remote_endpoint(ec);
    if (!ec) known = to_info(ep);
  }
  return known.value_or(address_info{});
}

NETCO_DECL bool socket_state::is_tcp() const {
  std::error_code ec;
  if (!stream_ || !stream_->is_open()) return false;
  auto ep = stream_->local_endpoint(ec);
  return !ec && (ep.data()->sa_family == AF_INET || ep.data()->sa_family == AF_INET6);
}

NETCO_DECL std::string_view socket_state::ready_state() const noexcept {
  if (connecting_) return "opening";
  if (destroyed_) return "closed";
  const bool readable = !read_ended_, writable = !ended_;
  if (readable && writable) return "open";
  if (readable) return "readOnly";
  if (writable) return "writeOnly";
  return "closed";
}

NETCO_DECL void socket_state::listener_added(std::string_view name) {
  // Node: attaching a "data" listener switches the socket to flowing mode.
  if (name == "data" && !paused_ && !pull_ && connected_) resume();
}

NETCO_DECL void socket_state::on_loop_gone() noexcept {
  auto keep = weak_from_this().lock();
  close_emitted_ = true;
  destroyed_ = true;
  if (stream_) stream_->close();
  timer_.reset();  // now, while the io_context is whole: the pending wait may outlive ~loop
  clear_all();
  server_.reset();
}

NETCO_DECL void socket_state::touch() {
  if (timeout_.count() > 0) {
    last_active_ = std::chrono::steady_clock::now();
    if (!timer_armed_) arm_timer(last_active_ + timeout_);
  }
}

NETCO_DECL void socket_state::arm_timer(std::chrono::steady_clock::time_point at) {
  // Node's socket timer is unref'd: it never keeps the loop alive, so it is a bare Asio
  // timer, not a counted netco operation.
  if (!timer_) timer_ = std::make_unique<netco::detail::steady_timer>(owner_->context());
  timer_->expires_at(at);
  timer_armed_ = true;
  timer_->async_wait([weak = weak_from_this()](const std::error_code& ec) {
    auto self = weak.lock();
    if (!self) return;
    if (ec) {
      if (ec == asio::error::operation_aborted && self->timeout_.count() > 0 && !self->destroyed_ &&
          self->timer_->expiry() > std::chrono::steady_clock::now()) {
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

NETCO_DECL void socket_state::ensure_read_buffer() {
  // Reused while nobody keeps a chunk; a listener that keeps one gets it for good and the
  // next read goes to a fresh block.
  if (rbuf_ && rbuf_->refs.load(std::memory_order_acquire) == 1) return;
  buffer_block::release(std::exchange(rbuf_, nullptr));
  // Small: all the read memory a socket waiting in read() holds (see top_up).
  rbuf_ = buffer_block::create(std::min(config_.read_buffer_size, idle_read_size));
}

NETCO_DECL buffer socket_state::top_up(const buffer& head, buffer_block*& big,
                                       std::error_code& late) {
  big = spare_blocks::take(config_.read_buffer_size);
  std::memcpy(big->data(), head.data(), head.size());
  const std::size_t more = stream_->try_read_some(
      std::span(big->data() + head.size(), big->capacity - head.size()), late);
  if (late == std::errc::operation_would_block) late.clear();
  bytes_read_ += more;
  buffer_block::retain(big);
  return buffer::adopt(big, 0, head.size() + more);
}

NETCO_DECL void socket_state::start_reader() {
  if (reading_ || destroyed_ || read_ended_ || !connected_ || pull_) return;
  reading_ = true;
  owner_->ref();  // a flowing socket keeps the loop alive...
  if (unrefed_ && !compensated_) {
    compensated_ = true;
    owner_->unref();  // ...unless unref()'d
  }
  read_next();
}

NETCO_DECL void socket_state::read_next() {
  reader_.start(stream_->asio_socket(), shared_from_this(), config_.read_buffer_size);
}

NETCO_DECL void socket_state::read_done(std::error_code ec, buffer_block* block,
                                        std::size_t n) noexcept {
  try {
    on_read(ec, block, n);
  } catch (...) {
    owner_->report(std::current_exception());
  }
}

NETCO_DECL void socket_state::on_read(std::error_code ec, buffer_block* block, std::size_t n) {
  struct give_back {
    buffer_block* b;
    ~give_back() { spare_blocks::put_back(b); }
  } block_guard{block};
  if (destroyed_) return stop_reading();
  if (n == 0) {
    stop_reading();
    if (ec && ec != asio::error::eof)
      destroy(ec, false, {"read"});  // ECONNRESET and friends: "error", then "close"(true)
    else
      on_eof();
    return;
  }
  bytes_read_ += n;
  touch();
  buffer_block::retain(block);
  buffer chunk = buffer::adopt(block, 0, n);
  if (paused_) {
    held_ = std::move(chunk);  // no "data" while paused; resume() delivers it
    return stop_reading();
  }
  deliver(chunk);
  chunk = buffer{};
  if (paused_ || destroyed_ || read_ended_ || pull_)
    stop_reading();
  else
    read_next();
}

NETCO_DECL void socket_state::stop_reading() {
  if (!reading_) return;
  reading_ = false;
  if (compensated_)
    compensated_ = false;  // its unref() and the reader's reference cancel out
  else
    owner_->unref();
}

NETCO_DECL void socket_state::deliver(const buffer& chunk) {
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

NETCO_DECL void socket_state::listener_failed() {
  owner_->report(std::current_exception());
  destroy({});
}

NETCO_DECL void socket_state::on_eof() {
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

NETCO_DECL void socket_state::finish() {
  if (finished_ || destroyed_) return;
  std::error_code ec;
  if (stream_) stream_->shutdown_send(ec);
  finished_ = true;
  defer(*owner_, [self = shared_from_this(), cbs = std::exchange(finish_callbacks_, {})]() mutable {
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

NETCO_DECL void socket_state::maybe_close() {
  // Node's autoDestroy: both sides done means closed.
  if (read_ended_ && finish_emitted_ && !destroyed_) destroy({});
}

NETCO_DECL void socket_state::enqueue(const buffer* shared, std::span<const std::byte> bytes,
                                      write_callback cb) {
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

NETCO_DECL void socket_state::start_writer() {
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

NETCO_DECL task<> socket_state::writer(std::shared_ptr<socket_state> self) {
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
      destroy(ec, false, {"write"});
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

NETCO_DECL void socket_state::complete_later(write_callback cb, std::error_code ec) {
  if (!cb) return;
  defer(*owner_, [cb = std::move(cb), ec]() mutable { cb(ec); });
}

NETCO_DECL socket_state::known_addresses& socket_state::addresses() const {
  if (!addresses_) addresses_ = std::make_unique<known_addresses>();
  return *addresses_;
}

NETCO_DECL void server_state::listen(listen_options o) {
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
    error_info info{"listen",
                    !o.path.empty()  ? o.path
                    : o.host.empty() ? "::"
                                     : o.host,
                    o.path.empty() ? o.port : std::uint16_t{0}};
    defer(*owner_, [self = shared_from_this(), ec = normalize(ec), info = std::move(info)] {
      if (self->count_of<"error">() == 0) throw std::system_error(ec, info.context());
      self->emit_event<"error">(ec, info);
    });
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

NETCO_DECL void server_state::close() {
  if (!listening_) {
    const std::error_code ec = make_error_code(errc::server_not_running);
    defer(*owner_, [self = shared_from_this(), ec] {
      if (self->count_of<"error">() > 0) self->emit_event<"error">(ec, error_info{});
    });
    return;
  }
  listening_ = false;
  closing_ = true;
  uncompensate();
  close_acceptor();  // the pending accept ends; no new connections
  maybe_emit_close();
}

NETCO_DECL void server_state::connection_gone() {
  if (connections_ > 0) --connections_;
  maybe_emit_close();
}

NETCO_DECL void server_state::listen_without_acceptor() {
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

NETCO_DECL void server_state::adopt(stream peer) {
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

NETCO_DECL void server_state::destroy_connections() {
  std::vector<std::shared_ptr<socket_state>> mine;
  registry& r = registry::of(*owner_);
  for (registered* p = r.head.next; p != &r.head; p = p->next) {
    auto* s = dynamic_cast<socket_state*>(p);
    if (s && s->server_.get() == this) mine.push_back(s->shared_from_this());
  }
  for (auto& s : mine) s->destroy({});
}

NETCO_DECL address_info server_state::address() const {
  if (!acceptor_ || !acceptor_->is_open()) return {};
  std::error_code ec;
  auto ep = acceptor_->local_endpoint(ec);
  return ec ? address_info{} : to_info(ep);
}

NETCO_DECL void server_state::unref() {
  unrefed_ = true;
  if (listening_ && acceptor_ && acceptor_->is_open()) compensate();  // an accept is pending
}

NETCO_DECL void server_state::compensate() {
  if (!compensated_) {
    compensated_ = true;
    owner_->unref();  // the pending accept no longer keeps the loop alive
  }
}

NETCO_DECL void server_state::uncompensate() {
  if (compensated_) {
    compensated_ = false;
    owner_->ref();
  }
}

NETCO_DECL void server_state::maybe_emit_close() {
  if (!closing_ || listening_ || connections_ > 0 || close_scheduled_) return;
  close_scheduled_ = true;
  defer(*owner_, [self = shared_from_this()] {
    self->close_scheduled_ = false;
    if (!self->closing_ || self->listening_) return;
    self->closing_ = false;
    self->emit_event<"close">();
  });
}

NETCO_DECL void server_state::on_loop_gone() noexcept {
  auto keep = weak_from_this().lock();
  listening_ = false;
  close_acceptor();
  clear_all();
}

NETCO_DECL void server_state::close_acceptor() noexcept {
  if (acceptor_) netco::detail::close_listening(*acceptor_);
  remove_path();
}

NETCO_DECL void server_state::remove_path() noexcept {
  if (path_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove(path_, ignored);
  path_.clear();
}

NETCO_DECL task<> server_state::accept_loop(std::shared_ptr<server_state> self,
                                            std::size_t generation) {
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
      if (count_of<"error">() > 0) emit_event<"error">(normalize(ec), error_info{"accept"});
      co_await sleep_for(std::chrono::milliseconds(100), ec);
      continue;
    }
    adopt(std::move(peer));
  }
}

}  // namespace detail

NETCO_DECL task<> socket::write_all_impl(std::shared_ptr<detail::socket_state> s, buffer data) {
  co_await detail::write_awaiter{s.get(), &data, {}};
}

NETCO_DECL server create_server(server_options options) {
  return server(std::make_shared<detail::server_state>(loop::current(), options));
}

NETCO_DECL socket create_connection(connect_options options) {
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

NETCO_DECL socket connect(std::uint16_t port, std::string_view host) {
  connect_options o;
  o.port = port;
  o.host = std::string(host);
  return create_connection(std::move(o));
}

NETCO_DECL socket connect(std::string_view path) {
  connect_options o;
  o.path = std::string(path);
  return create_connection(std::move(o));
}

}  // namespace netco::net
