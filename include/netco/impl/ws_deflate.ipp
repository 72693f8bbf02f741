// netco/impl/ws_deflate.ipp: the out-of-line parts of netco/ws/deflate.hpp: inline in every
// translation unit when header-only, compiled once (by <netco/impl/src.hpp>) under
// NETCO_SEPARATE_COMPILATION
#pragma once
#include <algorithm>  // min
#include <cstdlib>    // malloc, free (zlib's counted allocations)
#include <cstring>    // memcpy
#include <limits>     // numeric_limits
#include <new>        // bad_alloc

#include "netco/ws/deflate.hpp"

namespace netco::detail {

// The parameters of one permessage-deflate offer or answer; -1: absent, 0: present without a
// value (client_max_window_bits in an offer only).
struct ws_deflate_fields {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  int server_max_window_bits = -1;
  int client_max_window_bits = -1;
};

// "8" to "15" exactly (RFC 7692 §7.1.2: no leading zeros, no sign).
inline int ws_window_bits_value(std::string_view v) noexcept {
  if (v.size() == 1 && v[0] >= '8' && v[0] <= '9') return v[0] - '0';
  if (v.size() == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5') return 10 + (v[1] - '0');
  return 0;
}

// Reads ext's parameters; false when one is unknown, repeated, or has a bad value.
inline bool ws_read_deflate_fields(const ws::extension& ext, bool answer, ws_deflate_fields& f) {
  bool seen[4] = {};
  for (const ws::extension_param& p : ext.params) {
    int which = -1;
    if (ws::token_iequals(p.name, "server_no_context_takeover"))
      which = 0;
    else if (ws::token_iequals(p.name, "client_no_context_takeover"))
      which = 1;
    else if (ws::token_iequals(p.name, "server_max_window_bits"))
      which = 2;
    else if (ws::token_iequals(p.name, "client_max_window_bits"))
      which = 3;
    if (which < 0 || seen[which]) return false;
    seen[which] = true;
    switch (which) {
      case 0:
      case 1:
        if (p.has_value) return false;
        (which == 0 ? f.server_no_context_takeover : f.client_no_context_takeover) = true;
        break;
      case 2:
        if (!p.has_value || (f.server_max_window_bits = ws_window_bits_value(p.value)) == 0)
          return false;
        break;
      default:
        // An offer may carry it bare ("you may limit me"); an answer must give the value.
        if (!p.has_value) {
          if (answer) return false;
          f.client_max_window_bits = 0;
        } else if ((f.client_max_window_bits = ws_window_bits_value(p.value)) == 0) {
          return false;
        }
    }
  }
  return true;
}

inline void ws_add_param(ws::extension& e, const char* name, int value = -1) {
  ws::extension_param& p = e.params.emplace_back();
  p.name = name;
  if (value >= 0) {
    p.value = std::to_string(value);
    p.has_value = true;
  }
}

}  // namespace netco::detail

namespace netco::ws {

NETCO_DECL std::optional<deflate_agreement> negotiate_deflate(std::span<const extension> offers,
                                                              const deflate_options& opts) {
  if (!deflate_supported || !is_valid(opts)) return std::nullopt;
  for (const extension& offer : offers) {
    if (!token_iequals(offer.name, "permessage-deflate")) continue;
    netco::detail::ws_deflate_fields f;
    if (!netco::detail::ws_read_deflate_fields(offer, false, f)) continue;
    deflate_params p;
    p.server_no_context_takeover = opts.server_no_context_takeover || f.server_no_context_takeover;
    p.client_no_context_takeover = opts.client_no_context_takeover || f.client_no_context_takeover;
    p.server_max_window_bits = opts.server_max_window_bits;
    if (f.server_max_window_bits > 0) {
      // A client limit below 9 would need a raw 8-bit compressor, which zlib refuses.
      if (f.server_max_window_bits < 9) continue;
      p.server_max_window_bits = static_cast<std::uint8_t>(
          std::min<int>(p.server_max_window_bits, f.server_max_window_bits));
    }
    p.client_max_window_bits = 15;
    bool answer_client_bits = false;
    if (f.client_max_window_bits >= 0) {
      int bits = opts.client_max_window_bits;
      if (f.client_max_window_bits > 0) bits = std::min(bits, f.client_max_window_bits);
      p.client_max_window_bits = static_cast<std::uint8_t>(bits);
      answer_client_bits = bits < 15 || f.client_max_window_bits > 0;
    } else if (opts.client_max_window_bits < 15) {
      continue;  // this client cannot be limited, and the server wants a limit
    }
    deflate_agreement a{p, {}};
    extension e{"permessage-deflate"};
    if (p.server_no_context_takeover) netco::detail::ws_add_param(e, "server_no_context_takeover");
    if (p.client_no_context_takeover) netco::detail::ws_add_param(e, "client_no_context_takeover");
    // Only answered when offered: an unrequested smaller server window needs no consent.
    if (f.server_max_window_bits > 0)
      netco::detail::ws_add_param(e, "server_max_window_bits", p.server_max_window_bits);
    if (answer_client_bits)
      netco::detail::ws_add_param(e, "client_max_window_bits", p.client_max_window_bits);
    a.response = format_extensions(std::span(&e, 1));
    return a;
  }
  return std::nullopt;
}

NETCO_DECL std::string deflate_offer(const deflate_options& opts) {
  if (!deflate_supported || !is_valid(opts)) return {};
  extension e{"permessage-deflate"};
  if (opts.server_no_context_takeover) netco::detail::ws_add_param(e, "server_no_context_takeover");
  if (opts.client_no_context_takeover) netco::detail::ws_add_param(e, "client_no_context_takeover");
  if (opts.server_max_window_bits < 15)
    netco::detail::ws_add_param(e, "server_max_window_bits", opts.server_max_window_bits);
  netco::detail::ws_add_param(e, "client_max_window_bits",
                              opts.client_max_window_bits < 15 ? opts.client_max_window_bits : -1);
  return format_extensions(std::span(&e, 1));
}

NETCO_DECL std::error_code accept_deflate_response(std::span<const extension> response,
                                                   const deflate_options& opts,
                                                   std::optional<deflate_params>& out) {
  out.reset();
  if (response.empty()) return {};
  const std::error_code refused = errc::unexpected_extension_response;
  if (!deflate_supported || !is_valid(opts) || response.size() != 1 ||
      !token_iequals(response[0].name, "permessage-deflate"))
    return refused;
  netco::detail::ws_deflate_fields f;
  if (!netco::detail::ws_read_deflate_fields(response[0], true, f)) return refused;
  deflate_params p;
  p.server_no_context_takeover = f.server_no_context_takeover;
  p.client_no_context_takeover = f.client_no_context_takeover || opts.client_no_context_takeover;
  // What was asked for must be granted: RFC 7692 §7.1.1.1, §7.1.2.1.
  if (opts.server_no_context_takeover && !f.server_no_context_takeover) return refused;
  if (opts.server_max_window_bits < 15) {
    if (f.server_max_window_bits < 0 || f.server_max_window_bits > opts.server_max_window_bits)
      return refused;
  }
  if (f.server_max_window_bits > 0)
    p.server_max_window_bits = static_cast<std::uint8_t>(f.server_max_window_bits);
  p.client_max_window_bits = opts.client_max_window_bits;
  if (f.client_max_window_bits > 0) {
    // Never more than offered, and never 8 bits, which zlib cannot compress with.
    if (f.client_max_window_bits > opts.client_max_window_bits || f.client_max_window_bits < 9)
      return refused;
    p.client_max_window_bits = static_cast<std::uint8_t>(f.client_max_window_bits);
  }
  out = p;
  return {};
}

}  // namespace netco::ws

#if defined(NETCO_HAS_ZLIB)

namespace netco::detail {

// zlib's allocator, counting: each block carries its size in front (16 bytes keep the
// alignment malloc gives).
inline void* ws_zlib_alloc(void* opaque, unsigned items, unsigned size) {
  const std::size_t n = static_cast<std::size_t>(items) * size;
  void* p = std::malloc(n + 16);
  if (!p) return nullptr;
  std::memcpy(p, &n, sizeof n);
  static_cast<ws_zlib_memory*>(opaque)->bytes += n;
  return static_cast<char*>(p) + 16;
}
inline void ws_zlib_free(void* opaque, void* address) {
  if (!address) return;
  void* p = static_cast<char*>(address) - 16;
  std::size_t n;
  std::memcpy(&n, p, sizeof n);
  static_cast<ws_zlib_memory*>(opaque)->bytes -= n;
  std::free(p);
}

}  // namespace netco::detail

namespace netco::ws {

NETCO_DECL void deflate_compressor::compress(std::span<const std::byte> in, bool fin,
                                             netco::detail::ws_growable_buffer& out) {
  if (!ready_) {
    stream_ = z_stream{};
    stream_.zalloc = netco::detail::ws_zlib_alloc;
    stream_.zfree = netco::detail::ws_zlib_free;
    stream_.opaque = &memory_;
    if (deflateInit2(&stream_, level_, Z_DEFLATED, -static_cast<int>(window_bits_), mem_level_,
                     Z_DEFAULT_STRATEGY) != Z_OK)
      throw std::bad_alloc();
    ready_ = true;
  }
  const std::size_t start = out.size();
  // NOTE: zlib's next_in is not const before 1.2.11 without ZLIB_CONST; it never writes there.
  stream_.next_in = const_cast<Bytef*>(reinterpret_cast<const Bytef*>(in.data()));
  std::size_t left = in.size();
  for (;;) {
    const auto step = static_cast<uInt>(std::min<std::size_t>(left, 1u << 30));
    stream_.avail_in = step;
    // A sync flush ends in an empty stored block (00 00 ff ff, 5 bytes with its header byte).
    const std::size_t room = std::max<std::size_t>(deflateBound(&stream_, step) + 8, 64);
    std::span<std::byte> space = out.prepare(room);
    stream_.next_out = reinterpret_cast<Bytef*>(space.data());
    stream_.avail_out = static_cast<uInt>(std::min<std::size_t>(space.size(), 1u << 30));
    const uInt before_out = stream_.avail_out;
    const int flush = left == step ? Z_SYNC_FLUSH : Z_NO_FLUSH;
    const int rc = deflate(&stream_, flush);
    out.commit(before_out - stream_.avail_out);
    if (rc != Z_OK && rc != Z_BUF_ERROR) throw std::bad_alloc();
    left -= step - stream_.avail_in;
    if (left == 0 && stream_.avail_in == 0 && stream_.avail_out != 0) break;
  }
  if (fin) {
    // The flush output ends in 00 00 ff ff; the receiver appends it back.
    if (out.size() - start >= 4) {
      const std::byte* end = out.data() + out.size();
      if (end[-4] == std::byte{0} && end[-3] == std::byte{0} && end[-2] == std::byte{0xff} &&
          end[-1] == std::byte{0xff})
        out.shrink_by(4);
    }
    // Nothing to flush (an empty last piece right after a flush): one empty stored block's
    // header byte, so that the trailer the receiver appends completes it (RFC 7692 §7.2.3.6).
    if (out.size() == start) out.append(std::as_bytes(std::span("\0", 1)));
    if (no_context_takeover_) deflateReset(&stream_);
  }
}

NETCO_DECL void deflate_compressor::release() noexcept {
  if (ready_) deflateEnd(&stream_);
  ready_ = false;
}

NETCO_DECL std::error_code deflate_decompressor::run(const std::byte* in, std::size_t n,
                                                     netco::detail::ws_growable_buffer& out,
                                                     std::size_t limit) {
  stream_.next_in = const_cast<Bytef*>(reinterpret_cast<const Bytef*>(in));
  std::size_t left = n;
  for (;;) {
    const auto step = static_cast<uInt>(std::min<std::size_t>(left, 1u << 30));
    stream_.avail_in = step;
    // Output in steps of at most 16 KiB, never past limit + 1: one byte over is enough to know.
    const std::size_t cap = limit - std::min(limit, out.size()) + 1;
    const std::size_t want = std::min<std::size_t>(16 * 1024, cap);
    std::span<std::byte> space = out.prepare(want, out.size() + cap);
    stream_.next_out = reinterpret_cast<Bytef*>(space.data());
    stream_.avail_out = static_cast<uInt>(std::min<std::size_t>({space.size(), cap, 1u << 30}));
    const uInt before_out = stream_.avail_out;
    int rc = inflate(&stream_, Z_SYNC_FLUSH);
    out.commit(before_out - stream_.avail_out);
    left -= step - stream_.avail_in;
    if (out.size() > limit) return errc::message_too_big;
    if (rc == Z_STREAM_END) {
      // A final block (BFINAL): a new stream may follow, at least the appended trailer.
      inflateReset(&stream_);
      rc = Z_OK;
    }
    if (rc == Z_BUF_ERROR) {
      if (left == 0 && stream_.avail_in == 0) return {};  // all input used, no output pending
      if (stream_.avail_out != 0) return {};              // no progress possible
      continue;
    }
    if (rc != Z_OK) return errc::invalid_compressed_data;
    if (left == 0 && stream_.avail_in == 0 && stream_.avail_out != 0) return {};
  }
}

NETCO_DECL std::error_code deflate_decompressor::decompress(std::span<const std::byte> in, bool fin,
                                                            netco::detail::ws_growable_buffer& out,
                                                            std::size_t limit) {
  if (!ready_) {
    stream_ = z_stream{};
    stream_.zalloc = netco::detail::ws_zlib_alloc;
    stream_.zfree = netco::detail::ws_zlib_free;
    stream_.opaque = &memory_;
    if (inflateInit2(&stream_, -static_cast<int>(window_bits_)) != Z_OK) throw std::bad_alloc();
    ready_ = true;
  }
  if (limit == 0 || limit >= std::numeric_limits<std::size_t>::max() - 1)
    limit = std::numeric_limits<std::size_t>::max() - 1;
  std::error_code ec;
  if (!in.empty()) ec = run(in.data(), in.size(), out, limit);
  if (!ec && fin) {
    static constexpr std::byte trailer[4] = {std::byte{0}, std::byte{0}, std::byte{0xff},
                                             std::byte{0xff}};
    ec = run(trailer, 4, out, limit);
  }
  if (ec) {
    inflateReset(&stream_);  // the connection fails; leave the stream usable regardless
    return ec;
  }
  if (fin && no_context_takeover_) inflateReset(&stream_);
  return {};
}

NETCO_DECL void deflate_decompressor::release() noexcept {
  if (ready_) inflateEnd(&stream_);
  ready_ = false;
}

}  // namespace netco::ws

#endif  // NETCO_HAS_ZLIB
