// netco/ws/deflate.hpp: permessage-deflate (RFC 7692): negotiation for both roles, and the
// per-connection zlib compressor and decompressor
#pragma once
#include <cstddef>       // byte, size_t
#include <cstdint>       // uint8_t
#include <optional>      // optional (a negotiation's outcome)
#include <span>          // span
#include <string>        // string (header values)
#include <system_error>  // error_code

#include "netco/detail/decl.hpp"
#include "netco/detail/ws_growable_buffer.hpp"
#include "netco/ws/error.hpp"
#include "netco/ws/handshake.hpp"

#if defined(NETCO_HAS_ZLIB)
#include <zlib.h>  // z_stream, deflate, inflate
#endif

// Built without zlib (NETCO_HAS_ZLIB undefined), the negotiation functions never agree to
// deflate and a client offers none; the compressor and decompressor do not exist.
//
// Window bits: zlib (since 1.2.9) refuses a raw 8-bit window in deflateInit2, so netco never
// compresses with 8 bits: an option of 8 is refused and an offer or answer that would force an
// 8-bit compressor is declined (server) or refused (client). Decompression accepts any window:
// inflating with a larger window than the peer used is always correct.

namespace netco::ws {

/// Whether this build can compress (it was built with zlib).
#if defined(NETCO_HAS_ZLIB)
inline constexpr bool deflate_supported = true;
#else
inline constexpr bool deflate_supported = false;
#endif

/// What one side wants from permessage-deflate (ws's perMessageDeflate object).
struct deflate_options {
  /// Server: reset its compressor per message (also accepted when a client asks);
  /// client: ask the server for it.
  bool server_no_context_takeover = false;
  /// Server: ask the client to reset per message; client: reset its own and say so.
  bool client_no_context_takeover = false;
  /// Server: the largest window its compressor uses (9-15); client: asks the server for this
  /// limit when under 15.
  std::uint8_t server_max_window_bits = 15;
  /// Server: the largest client window it accepts, under 15 only from clients that allow a
  /// limit; client: the largest window it compresses with (9-15), offered as a limit.
  std::uint8_t client_max_window_bits = 15;
  /// Messages shorter than this are sent uncompressed (ws's default, 1024 bytes).
  std::size_t threshold = 1024;
  int level = -1;     ///< zlib level, 0-9; -1 is zlib's default (6)
  int mem_level = 8;  ///< zlib memLevel, 1-9: the compressor's hash memory (8: about 256 KiB)
};

/// Whether opts are usable: window bits 9-15, level -1..9, mem_level 1-9.
constexpr bool is_valid(const deflate_options& opts) noexcept {
  return opts.server_max_window_bits >= 9 && opts.server_max_window_bits <= 15 &&
         opts.client_max_window_bits >= 9 && opts.client_max_window_bits <= 15 &&
         opts.level >= -1 && opts.level <= 9 && opts.mem_level >= 1 && opts.mem_level <= 9;
}

/// What both sides agreed to (the accepted offer).
struct deflate_params {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  std::uint8_t server_max_window_bits = 15;
  std::uint8_t client_max_window_bits = 15;
};

/// A server's agreement: the parameters and the Sec-WebSocket-Extensions value to answer with.
struct deflate_agreement {
  deflate_params params;
  std::string response;
};

/// Server: accepts the first permessage-deflate offer in offers (a parsed
/// Sec-WebSocket-Extensions) that opts allow; nullopt when none can be (deflate is then not
/// used; RFC 7692 §5: an unknown, repeated or invalid parameter declines its offer).
NETCO_DECL std::optional<deflate_agreement> negotiate_deflate(std::span<const extension> offers,
                                                              const deflate_options& opts);

/// Client: the permessage-deflate offer for Sec-WebSocket-Extensions ("" without zlib).
NETCO_DECL std::string deflate_offer(const deflate_options& opts);

/// Client: checks the server's parsed Sec-WebSocket-Extensions against the offer of opts. out
/// is the agreement, or nullopt when the server declined; unexpected_extension_response when
/// the answer breaks the offer (an extension not offered, a parameter not allowed, a window
/// larger than offered, an 8-bit client window).
NETCO_DECL std::error_code accept_deflate_response(std::span<const extension> response,
                                                   const deflate_options& opts,
                                                   std::optional<deflate_params>& out);

#if defined(NETCO_HAS_ZLIB)

}  // namespace netco::ws

namespace netco::detail {
// zlib's allocations for one stream, counted so that memory per connection can be measured.
struct ws_zlib_memory {
  std::size_t bytes = 0;
};
}  // namespace netco::detail

namespace netco::ws {

/// One direction's compressor. The zlib stream is allocated on the first message (lazily).
class deflate_compressor {
 public:
  deflate_compressor(std::uint8_t window_bits, bool no_context_takeover, int level = -1,
                     int mem_level = 8) noexcept
      : window_bits_(window_bits),
        level_(level),
        mem_level_(mem_level),
        no_context_takeover_(no_context_takeover) {}
  deflate_compressor(const deflate_compressor&) = delete;
  deflate_compressor& operator=(const deflate_compressor&) = delete;
  ~deflate_compressor() { release(); }

  /// Compresses in, a message or the next piece of one, appending to out (sync flush). With
  /// fin the message ends: the trailing 00 00 ff ff is dropped (RFC 7692 §7.2.1) and, without
  /// context takeover, the window is reset. Throws std::bad_alloc when zlib has no memory.
  NETCO_DECL void compress(std::span<const std::byte> in, bool fin,
                           netco::detail::ws_growable_buffer& out);
  /// Bytes zlib holds for this stream (0 before the first message).
  std::size_t memory() const noexcept { return memory_.bytes; }
  /// Frees the zlib stream; the next message allocates a fresh one.
  NETCO_DECL void release() noexcept;

 private:
  z_stream stream_{};
  netco::detail::ws_zlib_memory memory_{};
  std::uint8_t window_bits_;
  int level_;
  int mem_level_;
  bool no_context_takeover_;
  bool ready_ = false;
};

/// One direction's decompressor, bounded: its output never passes a limit. The zlib stream is
/// allocated on the first compressed message.
class deflate_decompressor {
 public:
  deflate_decompressor(std::uint8_t window_bits, bool no_context_takeover) noexcept
      : window_bits_(window_bits < 9 ? std::uint8_t{9} : window_bits),
        no_context_takeover_(no_context_takeover) {}
  deflate_decompressor(const deflate_decompressor&) = delete;
  deflate_decompressor& operator=(const deflate_decompressor&) = delete;
  ~deflate_decompressor() { release(); }

  /// Inflates in, the next piece of a message's payload, appending to out; with fin the
  /// trailer 00 00 ff ff is inflated after it and the message ends. Inflates in bounded steps:
  /// message_too_big as soon as out would pass limit bytes (a deflate bomb stops there),
  /// invalid_compressed_data when zlib refuses the data.
  NETCO_DECL std::error_code decompress(std::span<const std::byte> in, bool fin,
                                        netco::detail::ws_growable_buffer& out, std::size_t limit);
  /// Bytes zlib holds for this stream (0 before the first compressed message).
  std::size_t memory() const noexcept { return memory_.bytes; }
  /// Frees the zlib stream; the next message allocates a fresh one.
  NETCO_DECL void release() noexcept;

 private:
  NETCO_DECL std::error_code run(const std::byte* in, std::size_t n,
                                 netco::detail::ws_growable_buffer& out, std::size_t limit);

  z_stream stream_{};
  netco::detail::ws_zlib_memory memory_{};
  std::uint8_t window_bits_;
  bool no_context_takeover_;
  bool ready_ = false;
};

#endif  // NETCO_HAS_ZLIB

}  // namespace netco::ws

#if !defined(NETCO_SEPARATE_COMPILATION)
#include "netco/impl/ws_deflate.ipp"
#endif
