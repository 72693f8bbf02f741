// netco/impl/ws_codec.ipp: the out-of-line parts of netco/ws/codec.hpp: inline in every
// translation unit when header-only, compiled once (by <netco/impl/src.hpp>) under
// NETCO_SEPARATE_COMPILATION
#pragma once
#include <algorithm>  // min
#include <cstring>    // memcpy

#include "netco/ws/codec.hpp"

namespace netco::ws {

// ---------------------------------------------------------------------------------------------
// receiver

#if defined(NETCO_HAS_ZLIB)
struct receiver::inflate_state {
  deflate_decompressor stream;
  inflate_state(std::uint8_t bits, bool reset) noexcept : stream(bits, reset) {}
};
#else
struct receiver::inflate_state {};
#endif

NETCO_DECL receiver::receiver(receiver_handler& handler, receiver_options options) noexcept
    : handler_(handler), options_(options) {}

NETCO_DECL receiver::~receiver() = default;

NETCO_DECL void receiver::enable_deflate(const deflate_params& params) {
  if (!deflate_supported) return;
  deflate_ = true;
  // This end inflates what the peer compressed: the peer's window and takeover rule.
  const bool server = options_.role == ws::role::server;
  inflate_window_ = server ? params.client_max_window_bits : params.server_max_window_bits;
  inflate_reset_ = server ? params.client_no_context_takeover : params.server_no_context_takeover;
}

NETCO_DECL std::size_t receiver::memory() const noexcept {
  std::size_t n = message_.capacity();
#if defined(NETCO_HAS_ZLIB)
  if (inflate_) n += sizeof(inflate_state) + inflate_->stream.memory();
#endif
  return n;
}

NETCO_DECL void receiver::trim() noexcept {
  if (!in_message_) message_.clear(0);
}

NETCO_DECL void receiver::fail(errc e) {
  state_ = state::failed;
  handler_.on_error(e, close_code(e));
}

// Checks a header against the rules at the top of codec.hpp and sets the frame up.
NETCO_DECL bool receiver::begin_frame(const frame_header& h) {
  if (h.rsv2 || h.rsv3) return fail(errc::unexpected_rsv_2_3), false;
  const std::uint8_t op = h.opcode;
  if (is_control(op)) {
    if (op > 0xA) return fail(errc::invalid_opcode), false;
    if (!h.fin) return fail(errc::expected_fin), false;
    if (h.rsv1) return fail(errc::unexpected_rsv_1), false;
    if (h.payload_length > max_control_payload)
      return fail(errc::invalid_control_payload_length), false;
  } else if (op == 0) {
    if (!in_message_) return fail(errc::unexpected_continuation), false;
    if (h.rsv1) return fail(errc::unexpected_rsv_1), false;
  } else if (op <= 2) {
    if (in_message_) return fail(errc::expected_continuation), false;
    if (h.rsv1 && !deflate_) return fail(errc::unexpected_rsv_1), false;
  } else {
    return fail(errc::invalid_opcode), false;
  }
  if (options_.role == ws::role::server ? !h.masked : h.masked)
    return fail(h.masked ? errc::unexpected_mask : errc::expected_mask), false;

  if (!is_control(op)) {
    if (op != 0) {
      in_message_ = true;
      binary_ = op == 2;
      compressed_ = h.rsv1;
      wire_size_ = 0;
      fragments_ = 0;
      checked_ = 0;
    }
    // The limit on the header, before any byte of the frame is stored.
    if (h.payload_length > limit() - wire_size_) return fail(errc::message_too_big), false;
    wire_size_ += h.payload_length;
    if (options_.max_fragments != 0 && ++fragments_ > options_.max_fragments)
      return fail(errc::too_many_fragments), false;
  }
  opcode_ = op;
  fin_ = h.fin;
  masked_ = h.masked;
  key_ = h.mask_key;
  remaining_ = h.payload_length;
  offset_ = 0;
  control_.clear(0);
  in_frame_ = true;
  return true;
}

// A frame wholly inside chunk that needs no assembly: a control frame, or a message of one
// uncompressed frame. Delivered as a slice of chunk; returns the new position, or pos when
// the frame must take the general path.
NETCO_DECL std::size_t receiver::fast_frame(buffer& chunk, std::size_t pos, bool writable) {
  const auto len = static_cast<std::size_t>(remaining_);
  if (remaining_ > chunk.size() - pos) return pos;
  const bool whole_message = opcode_ != 0 && fin_ && !compressed_;
  if (!is_control(opcode_) && !whole_message) return pos;
  if (masked_ && !writable) {
    if (!is_control(opcode_)) return pos;  // assembled (unmasked) into message_ instead
    buffer payload = buffer::uninitialized(len);
    apply_mask_copy(payload.mutable_bytes().data(), chunk.bytes().subspan(pos, len), key_);
    in_frame_ = false;
    header_.reset();
    control(std::move(payload));
    return pos + len;
  }
  if (masked_) apply_mask(chunk.mutable_bytes().subspan(pos, len), key_);
  buffer payload = chunk.slice(pos, pos + len);
  in_frame_ = false;
  header_.reset();
  if (is_control(opcode_)) {
    control(std::move(payload));
  } else {
    in_message_ = false;
    if (!binary_ && !options_.skip_utf8_validation && !is_valid_utf8(payload.bytes())) {
      fail(errc::invalid_utf8);
    } else {
      handler_.on_message(std::move(payload), binary_);
    }
  }
  return pos + len;
}

// Checks the message bytes not yet checked (text only): fail fast.
NETCO_DECL bool receiver::check_text() {
  if (binary_ || options_.skip_utf8_validation) return true;
  const std::size_t n = message_.size();
  if (n > checked_ &&
      !utf8_.feed(std::span<const std::byte>(message_.data() + checked_, n - checked_)))
    return fail(errc::invalid_utf8), false;
  checked_ = n;
  return true;
}

// Consumes the part of the frame's payload in chunk from pos; returns the new position.
NETCO_DECL std::size_t receiver::frame_piece(buffer& chunk, std::size_t pos, bool writable) {
  const std::size_t n =
      static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, chunk.size() - pos));
  const std::span<const std::byte> in = chunk.bytes().subspan(pos, n);
  if (is_control(opcode_)) {
    if (n != 0) {
      // Room for the whole payload at once (at most 125 bytes, checked by begin_frame).
      std::span<std::byte> room =
          control_.prepare(n, control_.size() + static_cast<std::size_t>(remaining_));
      if (masked_) {
        apply_mask_copy(room.data(), in, key_, offset_);
      } else {
        std::memcpy(room.data(), in.data(), n);
      }
      control_.commit(n);
    }
  } else if (!compressed_) {
    std::span<std::byte> room = message_.prepare(n, static_cast<std::size_t>(wire_size_));
    if (masked_) {
      apply_mask_copy(room.data(), in, key_, offset_);
    } else if (n != 0) {
      std::memcpy(room.data(), in.data(), n);
    }
    message_.commit(n);
    if (!check_text()) return pos + n;
  } else {
#if defined(NETCO_HAS_ZLIB)
    if (!inflate_) inflate_ = std::make_unique<inflate_state>(inflate_window_, inflate_reset_);
    std::error_code ec;
    if (!masked_) {
      ec = inflate_->stream.decompress(in, false, message_, limit());
    } else if (writable) {
      std::span<std::byte> bytes = chunk.mutable_bytes().subspan(pos, n);
      apply_mask(bytes, key_, offset_);
      ec = inflate_->stream.decompress(bytes, false, message_, limit());
    } else {
      // Unmasked through a small buffer of our own: the chunk's bytes are not ours to change.
      std::byte scratch[4096];
      for (std::size_t done = 0; done < n && !ec;) {
        const std::size_t step = std::min(n - done, sizeof scratch);
        apply_mask_copy(scratch, in.subspan(done, step), key_, offset_ + done);
        ec = inflate_->stream.decompress(std::span<const std::byte>(scratch, step), false, message_,
                                         limit());
        done += step;
      }
    }
    // The text inflated before a zlib error is checked first: whichever of the two comes
    // first in the message is reported, however the input was split.
    if (!check_text()) return pos + n;
    if (ec) {
      fail(static_cast<errc>(ec.value()));
      return pos + n;
    }
#else
    (void)writable;  // compressed_ is never set without zlib
#endif
  }
  remaining_ -= n;
  offset_ += n;
  return pos + n;
}

NETCO_DECL void receiver::end_frame() {
  in_frame_ = false;
  header_.reset();
  if (is_control(opcode_)) {
    buffer payload = control_.take();
    control_.clear(0);  // the block goes with the payload: nothing kept while idle
    control(std::move(payload));
    return;
  }
  if (fin_) deliver_message();
}

NETCO_DECL void receiver::deliver_message() {
  in_message_ = false;
#if defined(NETCO_HAS_ZLIB)
  // An empty payload inflates to nothing: the stream is not touched (a peer that sends none
  // for an empty message would otherwise leave half a block in it).
  if (compressed_ && wire_size_ != 0) {
    if (!inflate_) inflate_ = std::make_unique<inflate_state>(inflate_window_, inflate_reset_);
    const std::error_code ec = inflate_->stream.decompress({}, true, message_, limit());
    if (!check_text()) return;
    if (ec) return fail(static_cast<errc>(ec.value()));
  }
#endif
  if (!binary_ && !options_.skip_utf8_validation && !utf8_.finish())
    return fail(errc::invalid_utf8);
  buffer data = message_.take();
  message_.clear(options_.retain_buffer);
  handler_.on_message(std::move(data), binary_);
}

NETCO_DECL void receiver::control(buffer payload) {
  switch (static_cast<opcode>(opcode_)) {
    case opcode::ping:
      return handler_.on_ping(std::move(payload));
    case opcode::pong:
      return handler_.on_pong(std::move(payload));
    default:
      break;
  }
  const std::size_t n = payload.size();
  if (n == 1) return fail(errc::invalid_close_payload_length);
  std::uint16_t code = close_status::no_status;
  buffer reason;
  if (n >= 2) {
    const std::byte* p = payload.data();
    code = static_cast<std::uint16_t>((static_cast<unsigned>(p[0]) << 8) |
                                      static_cast<unsigned>(p[1]));
    if (!is_valid_close_code(code)) return fail(errc::invalid_close_code);
    reason = payload.slice(2);
    if (!options_.skip_utf8_validation && !is_valid_utf8(reason.bytes()))
      return fail(errc::invalid_utf8);
  }
  state_ = state::closed;
  message_.clear(0);
  handler_.on_close(code, std::move(reason));
}

NETCO_DECL void receiver::feed(buffer chunk) {
  if (state_ != state::open) return;
  // Only a block nobody else holds may be unmasked in place. Slices handed out during this
  // call cover bytes already done with, so the answer holds for the rest of the chunk.
  const bool writable = chunk.unique();
  const std::size_t n = chunk.size();
  std::size_t pos = 0;
  while (pos < n && state_ == state::open) {
    if (!in_frame_) {
      std::error_code ec;
      pos += header_.feed(chunk.bytes().subspan(pos), ec);
      if (ec) return fail(static_cast<errc>(ec.value()));
      if (!header_.done()) break;
      if (!begin_frame(header_.header())) return;
      if (remaining_ == 0) {
        end_frame();
        continue;
      }
      if (const std::size_t next = fast_frame(chunk, pos, writable); next != pos) {
        pos = next;
        continue;
      }
    }
    pos = frame_piece(chunk, pos, writable);
    if (state_ == state::open && remaining_ == 0) end_frame();
  }
}

// ---------------------------------------------------------------------------------------------
// sender

#if defined(NETCO_HAS_ZLIB)
struct sender::deflate_state {
  deflate_compressor stream;
  std::size_t threshold;
  deflate_state(std::uint8_t bits, bool reset, const deflate_options& o) noexcept
      : stream(bits, reset, o.level, o.mem_level), threshold(o.threshold) {}
};
#else
struct sender::deflate_state {};
#endif

NETCO_DECL sender::sender(ws::role role) noexcept : role_(role) {}

NETCO_DECL sender::~sender() = default;

NETCO_DECL void sender::enable_deflate(const deflate_params& params, const deflate_options& opts) {
#if defined(NETCO_HAS_ZLIB)
  const bool server = role_ == ws::role::server;
  deflate_ = std::make_unique<deflate_state>(
      server ? params.server_max_window_bits : params.client_max_window_bits,
      server ? params.server_no_context_takeover : params.client_no_context_takeover, opts);
#else
  (void)params;
  (void)opts;
#endif
}

NETCO_DECL std::size_t sender::memory() const noexcept {
  std::size_t n = scratch_.capacity();
#if defined(NETCO_HAS_ZLIB)
  if (deflate_) n += sizeof(deflate_state) + deflate_->stream.memory();
#endif
  return n;
}

// Encodes the header and, for a client, masks the payload: in place when it is already the
// sender's own (owned: compressed into scratch_), else into scratch_.
NETCO_DECL void sender::frame(std::uint8_t op, bool fin, bool rsv1, buffer payload, bool owned,
                              outgoing_frame& out) {
  frame_header h;
  h.fin = fin;
  h.rsv1 = rsv1;
  h.opcode = op;
  h.payload_length = payload.size();
  if (role_ == ws::role::client) {
    h.masked = true;
    h.mask_key = make_mask_key();
    if (!payload.empty()) {
      if (owned) {
        apply_mask(payload.mutable_bytes(), h.mask_key);
      } else {
        std::span<std::byte> room = scratch_.prepare(payload.size());
        apply_mask_copy(room.data(), payload.bytes(), h.mask_key);
        scratch_.commit(payload.size());
        payload = scratch_.take();
        scratch_.clear(64 * 1024);  // a frame of a large message is not kept for reuse
      }
    }
  }
  out.header.assign(h);
  out.payload = std::move(payload);
}

NETCO_DECL void sender::message(buffer payload, bool binary, bool fin, outgoing_frame& out,
                                bool compress) {
  const bool first = !in_message_;
  const std::uint8_t op = first ? (binary ? 2 : 1) : 0;
#if defined(NETCO_HAS_ZLIB)
  if (first) compressing_ = deflate_ && compress && payload.size() >= deflate_->threshold;
  if (compressing_) {
    deflate_->stream.compress(payload.bytes(), fin, scratch_);
    in_message_ = !fin;
    buffer compressed = scratch_.take();
    scratch_.clear(64 * 1024);
    // The compressed bytes are ours alone until handed out: a client masks them in place.
    return frame(op, fin, first, std::move(compressed), true, out);
  }
#else
  (void)compress;
#endif
  in_message_ = !fin;
  frame(op, fin, false, std::move(payload), false, out);
}

NETCO_DECL std::error_code sender::ping(buffer payload, outgoing_frame& out) {
  if (payload.size() > max_control_payload) return errc::invalid_control_payload_length;
  frame(static_cast<std::uint8_t>(opcode::ping), true, false, std::move(payload), false, out);
  return {};
}

NETCO_DECL std::error_code sender::pong(buffer payload, outgoing_frame& out) {
  if (payload.size() > max_control_payload) return errc::invalid_control_payload_length;
  frame(static_cast<std::uint8_t>(opcode::pong), true, false, std::move(payload), false, out);
  return {};
}

NETCO_DECL void sender::close(outgoing_frame& out) {
  frame(static_cast<std::uint8_t>(opcode::close), true, false, {}, false, out);
}

NETCO_DECL std::error_code sender::close(std::uint16_t code, std::string_view reason,
                                         outgoing_frame& out) {
  if (!is_valid_close_code(code)) return errc::invalid_close_code;
  if (reason.size() > max_control_payload - 2) return errc::close_reason_too_long;
  if (!is_valid_utf8(reason)) return errc::invalid_utf8;
  buffer payload = buffer::uninitialized(2 + reason.size());
  std::span<std::byte> b = payload.mutable_bytes();
  b[0] = static_cast<std::byte>(code >> 8);
  b[1] = static_cast<std::byte>(code & 0xff);
  if (!reason.empty()) std::memcpy(b.data() + 2, reason.data(), reason.size());
  frame(static_cast<std::uint8_t>(opcode::close), true, false, std::move(payload), true, out);
  return {};
}

}  // namespace netco::ws
