// netco/ws/frame.hpp: WebSocket frame headers (RFC 6455 §5.2): encode, decode, masking
#pragma once
#include <array>         // array (header bytes)
#include <cstddef>       // byte, size_t
#include <cstdint>       // uint8_t, uint32_t, uint64_t
#include <span>          // span
#include <system_error>  // error_code

#include "netco/detail/decl.hpp"
#include "netco/ws/error.hpp"

namespace netco::ws {

/// Frame opcodes (RFC 6455 §5.2); 3-7 and 11-15 are reserved and fail a connection.
enum class opcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

/// Close, ping and pong (and the reserved 11-15): opcodes with the top bit set.
constexpr bool is_control(std::uint8_t op) noexcept { return (op & 0x8) != 0; }
constexpr bool is_control(opcode op) noexcept { return is_control(static_cast<std::uint8_t>(op)); }

/// The longest header: 2 bytes, a 64-bit length and a masking key.
inline constexpr std::size_t max_header_size = 14;
/// The longest control frame payload (RFC 6455 §5.5).
inline constexpr std::size_t max_control_payload = 125;

/// One frame header as sent. The opcode is the raw 4 bits so that a receiver sees reserved ones.
struct frame_header {
  bool fin = true;
  bool rsv1 = false;  ///< permessage-deflate: the message is compressed (first frame only)
  bool rsv2 = false;
  bool rsv3 = false;
  std::uint8_t opcode = 0;
  bool masked = false;
  /// The four key bytes in wire order, as memcpy reads them (not a number: byte order is moot).
  std::uint32_t mask_key = 0;
  std::uint64_t payload_length = 0;
};

/// The size of the header with h's length and mask, 2 to 14 bytes.
constexpr std::size_t header_size(const frame_header& h) noexcept {
  const std::size_t ext = h.payload_length < 126 ? 0 : h.payload_length <= 0xffff ? 2 : 8;
  return 2 + ext + (h.masked ? 4 : 0);
}

/// Writes h into out in the shortest length form and returns its size (2 to 14 bytes).
NETCO_DECL std::size_t encode_header(const frame_header& h,
                                     std::span<std::byte, max_header_size> out) noexcept;

/// Decodes the header at the front of in: returns its size, or 0 when in holds only part of it
/// (ec clear) or the header is invalid (ec = unsupported_data_payload_length: a 64-bit length
/// with its top bit set). Longer length forms than needed are accepted, as RFC 6455 allows.
NETCO_DECL std::size_t decode_header(std::span<const std::byte> in, frame_header& out,
                                     std::error_code& ec) noexcept;

/// A header encoded for a gathered write: the bytes live here, beside the payload buffer.
class frame_header_buffer {
 public:
  frame_header_buffer() noexcept = default;
  explicit frame_header_buffer(const frame_header& h) noexcept { assign(h); }
  void assign(const frame_header& h) noexcept {
    size_ =
        static_cast<std::uint8_t>(encode_header(h, std::span<std::byte, max_header_size>(bytes_)));
  }
  std::span<const std::byte> bytes() const noexcept { return {bytes_.data(), size_}; }
  std::size_t size() const noexcept { return size_; }

 private:
  std::array<std::byte, max_header_size> bytes_{};
  std::uint8_t size_ = 0;
};

/// Reassembles one header that may arrive split anywhere across reads.
class header_decoder {
 public:
  /// Takes bytes of the header from the front of in and returns how many it took (none past the
  /// header); done() tells when it is complete. On an invalid header sets ec and takes nothing.
  NETCO_DECL std::size_t feed(std::span<const std::byte> in, std::error_code& ec) noexcept;
  bool done() const noexcept { return done_; }
  /// The header, once done().
  const frame_header& header() const noexcept { return header_; }
  /// Ready for the next header.
  void reset() noexcept {
    have_ = 0;
    done_ = false;
  }

 private:
  std::array<std::byte, max_header_size> bytes_{};
  std::uint8_t have_ = 0;
  bool done_ = false;
  frame_header header_{};
};

/// The key to use from byte `offset` of a payload on: key rotated by offset % 4 bytes, so that a
/// payload unmasked in pieces (a frame split across reads) comes out right.
NETCO_DECL std::uint32_t rotate_mask_key(std::uint32_t key, std::uint64_t offset) noexcept;

/// XORs data with key in place, as the bytes at `offset` of a payload; 8 bytes at a time.
NETCO_DECL void apply_mask(std::span<std::byte> data, std::uint32_t key,
                           std::uint64_t offset = 0) noexcept;

/// Writes src XOR key into dst (at least src.size() bytes), as the bytes at `offset` of a payload.
NETCO_DECL void apply_mask_copy(std::byte* dst, std::span<const std::byte> src, std::uint32_t key,
                                std::uint64_t offset = 0) noexcept;

/// A fresh masking key for a client frame, from a fast per-thread generator seeded from
/// std::random_device (RFC 6455 §5.3 wants keys a third party cannot predict per frame).
NETCO_DECL std::uint32_t make_mask_key() noexcept;

}  // namespace netco::ws

#if !defined(NETCO_SEPARATE_COMPILATION)
#include "netco/impl/ws_frame.ipp"
#endif
