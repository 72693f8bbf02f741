// netco/impl/net_socket.ipp: the out-of-line parts of netco/net/socket.hpp: inline in every
// translation unit when header-only, compiled once (by <netco/impl/src.hpp>) under
// NETCO_SEPARATE_COMPILATION
#pragma once
#include <algorithm>  // min
#include <cstring>    // memcpy
#include <stdexcept>  // invalid_argument, out_of_range

#include "netco/detail/pooled_read.hpp"  // spare_blocks
#include "netco/net/server.hpp"          // server_connection_gone: the core, complete
#include "netco/net/socket.hpp"
#include "netco/resolve.hpp"

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

}  // namespace netco::net

namespace netco::detail {

// NOTE: types that live in a coroutine frame are named here, not local to their coroutine: GCC
// 12 warns (subobject-linkage) about a frame holding a local type once the coroutine is not
// inline (NETCO_SEPARATE_COMPILATION).

/// socket::write_all's: resumes once write()'s callback reports the outcome.
struct socket_write_awaiter {
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

/// read_chunk's: waits for the pending read to hand its chunk over.
struct socket_read_awaiter {
  std::coroutine_handle<>& waiter;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) noexcept { waiter = h; }
  void await_resume() const noexcept {}
};

/// A would-block result of a non-blocking call, in whichever category it came.
inline bool would_block(const std::error_code& ec) noexcept {
  return ec == std::errc::operation_would_block ||
         ec == std::errc::resource_unavailable_try_again || ec == asio::error::would_block ||
         ec == asio::error::try_again;
}

// --- text decoding ------------------------------------------------------------------------------

NETCO_DECL text_decoder::kind text_decoder::parse(std::string_view name) {
  std::string n;
  for (char c : name) n += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  if (n == "utf8" || n == "utf-8") return kind::utf8;
  if (n == "hex") return kind::hex;
  if (n == "base64") return kind::base64;
  if (n == "latin1" || n == "binary") return kind::latin1;
  throw std::invalid_argument("netco: unknown encoding \"" + std::string(name) +
                              "\" [ERR_UNKNOWN_ENCODING]");
}

NETCO_DECL buffer text_decoder::decode(const buffer& chunk) {
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

NETCO_DECL buffer text_decoder::flush() {
  std::string rest = std::exchange(carry_, {});
  if (rest.empty()) return {};
  if (mode == kind::utf8) return buffer::from("\xEF\xBF\xBD");  // U+FFFD, as Node
  if (mode == kind::base64) return base64(std::as_bytes(std::span(rest.data(), rest.size())), true);
  return {};
}

NETCO_DECL buffer text_decoder::utf8(const buffer& chunk) {
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

NETCO_DECL buffer text_decoder::hex(std::span<const std::byte> in) {
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

NETCO_DECL buffer text_decoder::base64(std::span<const std::byte> in, bool final) {
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

NETCO_DECL buffer text_decoder::latin1(std::span<const std::byte> in) {
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

// --- set-up -------------------------------------------------------------------------------------

NETCO_DECL socket_state::socket_state(loop& owner, config c) : owner_(&owner), config_(c) {
  owner.hook(*this);
}

NETCO_DECL socket_state::~socket_state() {
  buffer_block::release(arena_);
  if (!close_emitted_) leave_server();
}

NETCO_DECL void socket_state::leave_server() {
  if (auto s = std::exchange(server_, nullptr)) server_connection_gone(*s);
}

NETCO_DECL void socket_state::accepted(bool pause_on_connect) {
  connecting_ = false;
  connected_ = true;
  paused_ = pause_on_connect;
}

NETCO_DECL void socket_state::start_flowing_later() {
  defer(*owner_, [self = shared_from_this()] {
    if (!self->paused_ && !self->pull_ && !self->hold_) self->start_read();
  });
}

NETCO_DECL void socket_state::take_over(std::shared_ptr<socket_protocol> p) {
  protocol_ = std::move(p);
}

NETCO_DECL void socket_state::hand_off() {
  protocol_.reset();
  hold_ = true;
}

NETCO_DECL void socket_state::listener_added(std::string_view name) {
  // Node: attaching a "data" listener switches the socket to flowing mode.
  if (name != "data") return;
  if (has_text_listener<"data">()) text_listener_ = true;  // checked where data arrives
  hold_ = false;
  if (!paused_ && !pull_ && connected_) resume();
}

NETCO_DECL void socket_state::on_loop_gone() noexcept {
  auto keep = weak_from_this().lock();
  close_emitted_ = true;
  destroyed_ = true;
  transport_close(false);
  transport_reset();
  timer_.reset();  // now, while the io_context is whole: the pending wait may outlive ~loop
  if (auto p = std::exchange(protocol_, nullptr)) p->on_loop_gone();
  clear_all();
  server_.reset();
  read_waiter_ = nullptr;  // its frame is destroyed with the loop's roots
}

// --- reading ------------------------------------------------------------------------------------

NETCO_DECL void socket_state::resume() {
  paused_ = false;
  hold_ = false;
  if (pull_ || destroyed_ || !connected_) return;
  if (!held_.empty()) {
    defer(*owner_, [self = shared_from_this()] {
      if (self->paused_ || self->destroyed_ || self->held_.empty()) return;
      buffer chunk = std::exchange(self->held_, {});
      self->deliver(chunk);
      if (!self->paused_ && !self->pull_ && !self->hold_) self->start_read();
    });
    return;
  }
  start_read();
}

NETCO_DECL void socket_state::unshift(buffer chunk) {
  if (chunk.empty()) return;
  if (held_.empty()) {
    held_ = std::move(chunk);
    return;
  }
  buffer joined = buffer::uninitialized(chunk.size() + held_.size());
  std::memcpy(joined.mutable_bytes().data(), chunk.data(), chunk.size());
  std::memcpy(joined.mutable_bytes().data() + chunk.size(), held_.data(), held_.size());
  held_ = std::move(joined);
}

NETCO_DECL void socket_state::unshift_back(buffer chunk) {
  if (held_.empty()) {
    held_ = std::move(chunk);
    return;
  }
  buffer joined = buffer::uninitialized(held_.size() + chunk.size());
  std::memcpy(joined.mutable_bytes().data(), held_.data(), held_.size());
  std::memcpy(joined.mutable_bytes().data() + held_.size(), chunk.data(), chunk.size());
  held_ = std::move(joined);
}

NETCO_DECL void socket_state::start_read() {
  if (reading_ || destroyed_ || read_ended_ || !connected_) return;
  reading_ = true;
  read_counted_ = !unrefed_;  // a pending read keeps the loop alive, unless unref()'d
  if (read_counted_) owner_->ref();
  transport_read(config_.read_buffer_size);
}

NETCO_DECL void socket_state::read_finished() {
  reading_ = false;
  if (std::exchange(read_counted_, false)) owner_->unref();
}

NETCO_DECL task<buffer> socket_state::read_chunk() {
  auto self = shared_from_this();
  pull_ = true;
  hold_ = false;
  if (!held_.empty()) co_return std::exchange(held_, {});
  if (destroyed_ || read_ended_) co_return buffer{};
  if (!connected_) throw std::logic_error("netco: read() before \"connect\"");
  if (read_waiter_) throw std::logic_error("netco: two read() calls at once on one socket");
  start_read();  // or the read the socket was flowing with, still pending
  co_await socket_read_awaiter{read_waiter_};
  if (std::error_code ec = std::exchange(pull_error_, {})) {
    throw std::system_error(ec, "read");
  }
  co_return std::exchange(pulled_, {});
}

NETCO_DECL void socket_state::read_done(std::error_code ec, buffer_block* block,
                                        std::size_t n) noexcept {
  read_finished();
  try {
    on_read(ec, block, n);
  } catch (...) {
    owner_->report(std::current_exception());
  }
}

NETCO_DECL void socket_state::on_read(std::error_code ec, buffer_block* block, std::size_t n) {
  // The read's reference goes back to the spare blocks after the chunk (unless someone kept
  // the chunk): the next read takes the same block, and steady-state reads never allocate.
  struct give_back {
    buffer_block* b;
    ~give_back() { spare_blocks::put_back(b); }
  } reader_reference{block};
  buffer chunk;
  if (n > 0) {
    buffer_block::retain(block);
    chunk = buffer::adopt(block, 0, n);
  }
  if (destroyed_) {
    if (auto h = std::exchange(read_waiter_, nullptr)) h.resume();  // it sees destroyed_
    return;
  }
  if (n == 0) {
    const bool failed = ec && ec != asio::error::eof;
    if (auto h = std::exchange(read_waiter_, nullptr)) {
      if (failed) {
        pull_error_ = ec;
        destroy(ec, false, {"read"});
      } else {
        on_eof();
      }
      h.resume();
      return;
    }
    if (failed)
      destroy(ec, false, {"read"});  // ECONNRESET and friends: "error", then "close"(true)
    else
      on_eof();
    return;
  }
  bytes_read_ += n;
  touch();
  if (auto h = std::exchange(read_waiter_, nullptr)) {
    if (count_of<"data">() > 0) emit_event<"data">(chunk);
    pulled_ = std::move(chunk);
    h.resume();
    return;
  }
  if (paused_ || pull_ || hold_) {
    unshift_back(std::move(chunk));  // no "data" while paused; resume() (or read()) takes it
    return;
  }
  deliver(chunk);
  chunk = buffer{};
  if (!paused_ && !pull_ && !hold_) start_read();
}

NETCO_DECL void socket_state::deliver(const buffer& chunk) {
  try {
    if (protocol_) {
      auto p = protocol_;  // it may let go of itself
      p->on_data(chunk);
      return;
    }
    if (decoder_.mode == text_decoder::kind::none) {
      // Node gives strings only after setEncoding(): a std::string listener without it is a
      // mistake that only now shows (set_encoding() may come after on()).
      if (text_listener_) {
        text_listener_ = has_text_listener<"data">();  // it may be gone since
        if (text_listener_) {
          destroy(make_error_code(errc::data_needs_encoding));
          return;
        }
      }
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
    if (protocol_) {
      auto p = protocol_;
      p->on_end();
    } else {
      if (decoder_.mode != text_decoder::kind::none) {
        buffer rest = decoder_.flush();
        if (!rest.empty()) emit_event<"data">(rest);
      }
      if (destroyed_) return;
      emit_event<"end">();
    }
  } catch (...) {
    listener_failed();
  }
  if (destroyed_) return;
  if (!config_.allow_half_open) end({});  // flush what was written, then our FIN
  maybe_close();
}

// --- writing ------------------------------------------------------------------------------------

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
    const std::span<const std::byte> one[] = {bytes};
    sent = transport_try_write(one, ec);  // never waits (nor blocks under io_uring)
    if (ec && !would_block(ec)) {
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

NETCO_DECL bool socket_state::write_gathered(std::span<const gather_part> parts,
                                             write_callback cb) {
  std::size_t total = 0;
  for (const gather_part& p : parts) total += p.bytes.size();
  constexpr std::size_t max_parts = 8;
  if (destroyed_ || ended_ || total == 0 || parts.size() > max_parts || !connected_ || writing_ ||
      queue_head_ != queue_.size()) {
    // Nothing to gather now (queued behind other writes, or refused): part by part.
    if (parts.empty()) return write(nullptr, {}, std::move(cb));
    bool ok = true;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      ok = write(parts[i].shared, parts[i].bytes,
                 i + 1 == parts.size() ? std::move(cb) : write_callback{});
    }
    return ok;
  }
  bytes_written_ += total;
  std::array<std::span<const std::byte>, max_parts> iov{};
  for (std::size_t i = 0; i < parts.size(); ++i) iov[i] = parts[i].bytes;
  std::error_code ec;
  std::size_t sent = transport_try_write(std::span(iov.data(), parts.size()), ec);
  if (ec && !would_block(ec)) {
    defer(*owner_, [self = shared_from_this(), cb = std::move(cb), ec]() mutable {
      if (cb) cb(ec);
      self->destroy(ec, false, {"write"});
    });
    return false;
  }
  if (ec) sent = 0;
  if (sent > 0) touch();
  if (sent == total) {
    if (cb) complete_later(std::move(cb), {});
    return true;
  }
  // Queue what the socket did not take, the callback with the last byte.
  std::size_t last = parts.size();
  while (last > 0 && parts[last - 1].bytes.empty()) --last;
  for (std::size_t i = 0; i < last; ++i) {
    const std::span<const std::byte> b = parts[i].bytes;
    if (sent >= b.size()) {
      sent -= b.size();
      continue;
    }
    enqueue(parts[i].shared, b.subspan(sent), i + 1 == last ? std::move(cb) : write_callback{});
    sent = 0;
  }
  start_writer();
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

NETCO_DECL void socket_state::enqueue(const buffer* shared, std::span<const std::byte> bytes,
                                      write_callback cb) {
  writable_length_ += bytes.size();
  if (shared) {
    const auto offset = static_cast<std::size_t>(bytes.data() - shared->data());
    queue_.push_back({shared->slice(offset, offset + bytes.size()), std::move(cb)});
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
  // On a later turn: write callbacks and errors never run inside write(), and what else is
  // written in this turn goes out in the same writev.
  defer(*owner_, [self = shared_from_this()] {
    if (self->destroyed_) {
      self->writing_ = false;
      return;
    }
    self->flush_queue();
  });
}

NETCO_DECL void socket_state::flush_queue() {
  iov_.clear();
  inflight_bytes_ = 0;
  for (std::size_t i = queue_head_; i < queue_.size(); ++i) {
    iov_.push_back(queue_[i].data.bytes());
    inflight_bytes_ += queue_[i].data.size();
  }
  inflight_end_ = queue_.size();
  // One writev for everything queued (Asio passes up to 64 buffers per call); a counted
  // operation, as every pending netco write.
  owner_->ref();
  transport_write(iov_);
}

NETCO_DECL void socket_state::write_done(std::error_code ec) noexcept {
  struct release {
    loop* l;
    ~release() { l->unref(); }
  } counted{owner_};
  try {
    const std::size_t first = queue_head_, last = inflight_end_;
    inflight_end_ = 0;
    if (destroyed_) {
      writing_ = false;
      return;
    }
    if (ec) {
      writing_ = false;
      destroy(ec, false, {"write"});
      return;
    }
    touch();
    writable_length_ -= inflight_bytes_;
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
    if (destroyed_) {
      writing_ = false;
      return;
    }
    if (queue_head_ < queue_.size()) return flush_queue();  // more was queued meanwhile
    writing_ = false;
    if (need_drain_ && writable_length_ < config_.high_water_mark) {
      need_drain_ = false;
      if (protocol_) {
        auto p = protocol_;
        p->on_drain();
      }
      if (destroyed_) return;
      emit_event<"drain">();
      if (destroyed_ || writing_) return;
    }
    if (ended_ && queue_head_ == queue_.size()) finish();
  } catch (...) {
    owner_->report(std::current_exception());
  }
}

NETCO_DECL void socket_state::finish() {
  if (finished_ || destroyed_) return;
  std::error_code ec;
  transport_shutdown_send(ec);
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

NETCO_DECL void socket_state::complete_later(write_callback cb, std::error_code ec) {
  if (!cb) return;
  defer(*owner_, [cb = std::move(cb), ec]() mutable { cb(ec); });
}

// --- closing ------------------------------------------------------------------------------------

NETCO_DECL void socket_state::destroy(std::error_code ec, bool reset, error_info info) {
  if (destroyed_) return;
  ec = normalize(ec);
  destroyed_ = true;
  connecting_ = false;
  if (timer_) timer_->cancel();
  transport_close(reset);
  writable_length_ = 0;
  std::vector<write_callback> failed;
  for (std::size_t i = queue_head_; i < queue_.size(); ++i) {
    if (queue_[i].cb) failed.push_back(std::move(queue_[i].cb));
  }
  for (auto& cb : finish_callbacks_) failed.push_back(std::move(cb));
  finish_callbacks_.clear();
  if (!writing_) {  // a pending write still points at the queue: it goes when that completes
    queue_.clear();
    queue_head_ = 0;
  }
  defer(*owner_, [self = shared_from_this(), ec, info = std::move(info),
                  failed = std::move(failed)]() mutable {
    // Pending write callbacks run before "close" (libuv's test-tcp-write-queue-order).
    const std::error_code cb_error = ec ? ec : make_error_code(errc::socket_closed);
    for (auto& cb : failed) cb(cb_error);
    // A protocol (HTTP, a pooled client connection) handles its socket's failures itself.
    const bool handled = self->protocol_ != nullptr;
    if (auto p = std::exchange(self->protocol_, nullptr)) {
      try {
        p->on_close(ec);
      } catch (...) {
        self->owner_->report(std::current_exception());
      }
    }
    if (ec) {
      try {
        // Node: an unhandled 'error' throws, with its context in the message.
        if (self->count_of<"error">() > 0) {
          self->emit_event<"error">(ec, info);
        } else if (!handled) {
          if (!info.syscall.empty()) throw std::system_error(ec, info.context());
          self->emit_event<"error">(ec, info);  // throws: nobody listens
        }
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
    self->unhook();
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

// --- timeouts and options -----------------------------------------------------------------------

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

NETCO_DECL void socket_state::touch() {
  if (timeout_.count() > 0) {
    last_active_ = std::chrono::steady_clock::now();
    if (!timer_armed_) arm_timer(last_active_ + timeout_);
  }
}

NETCO_DECL void socket_state::arm_timer(std::chrono::steady_clock::time_point at) {
  // Node's socket timer is unref'd: it never keeps the loop alive, so it is a bare Asio
  // timer, not a counted netco operation.
  if (!timer_) timer_ = std::make_unique<steady_timer_ptr::element_type>(owner_->context());
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

NETCO_DECL void socket_state::set_no_delay(bool enable) {
  no_delay_ = enable;
  if (connected_ && !destroyed_ && transport_is_tcp()) transport_set_no_delay(enable);
}

NETCO_DECL void socket_state::set_keep_alive(bool enable, int initial_delay_ms) {
  keep_alive_ = enable;
  keep_alive_delay_ms_ = initial_delay_ms;
  if (connected_ && !destroyed_ && transport_is_tcp()) {
    transport_set_keep_alive(enable, initial_delay_ms);
  }
}

NETCO_DECL void socket_state::apply_options() {
  if (no_delay_) set_no_delay(true);
  if (keep_alive_) set_keep_alive(true, keep_alive_delay_ms_);
}

NETCO_DECL void socket_state::ref() {
  if (!unrefed_) return;
  unrefed_ = false;
  if (reading_ && !read_counted_) {
    read_counted_ = true;
    owner_->ref();
  }
}

NETCO_DECL void socket_state::unref() {
  if (unrefed_) return;
  unrefed_ = true;
  if (reading_ && read_counted_) {
    read_counted_ = false;
    owner_->unref();  // the pending read no longer keeps the loop alive
  }
}

// --- client ------------------------------------------------------------------------------------

NETCO_DECL void socket_state::connected() {
  connecting_ = false;
  connected_ = true;
  apply_options();
  emit_event<"connect">();
  if (destroyed_) return;
  emit_event<"ready">();
  if (destroyed_) return;
  if (queue_head_ != queue_.size())
    start_writer();
  else if (ended_)
    finish();
  if (!paused_ && !pull_) start_read();
}

// --- properties ---------------------------------------------------------------------------------

NETCO_DECL address_info socket_state::local() const {
  if (!addresses_) addresses_ = std::make_unique<known_addresses>();
  std::optional<address_info>& known = addresses_->local;
  if (!known && connected_ && !destroyed_) {
    address_info a = transport_address(false);
    if (!a.address.empty()) known = std::move(a);
  }
  return known.value_or(address_info{});
}

NETCO_DECL address_info socket_state::remote() const {
  if (!addresses_) addresses_ = std::make_unique<known_addresses>();
  std::optional<address_info>& known = addresses_->remote;
  if (!known && connected_ && !destroyed_) {
    address_info a = transport_address(true);
    if (!a.address.empty() || a.port != 0) known = std::move(a);
  }
  return known.value_or(address_info{});
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

}  // namespace netco::detail

namespace netco::net {

NETCO_DECL task<> socket::write_all_impl(std::shared_ptr<netco::detail::socket_state> s,
                                         buffer data) {
  co_await netco::detail::socket_write_awaiter{s.get(), &data, {}};
}

NETCO_DECL socket create_connection(connect_options options) {
  loop& owner = loop::current();
  using state = netco::detail::native_socket_state<asio::generic::stream_protocol>;
  netco::detail::socket_state::config c{options.allow_half_open, options.high_water_mark,
                                        options.read_buffer_size};
  auto st = std::make_shared<state>(owner, c);
  socket handle(st);
  if (options.no_delay) st->set_no_delay(true);
  if (options.keep_alive) st->set_keep_alive(true, options.keep_alive_initial_delay);
  if (options.timeout.count() > 0) st->set_timeout(options.timeout);
  st->connecting_ = true;
  netco::detail::spawn_now(owner, st->connect_to(std::move(options)));
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
