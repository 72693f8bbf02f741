// netco/impl/ws_frame.ipp: the out-of-line parts of netco/ws/frame.hpp: inline in every
// translation unit when header-only, compiled once (by <netco/impl/src.hpp>) under
// NETCO_SEPARATE_COMPILATION
#pragma once
#include <algorithm>  // min
#include <cstring>    // memcpy
#include <random>     // random_device: seeds the masking key generator

#include "netco/ws/frame.hpp"

namespace netco::ws {

NETCO_DECL std::size_t encode_header(const frame_header& h,
                                     std::span<std::byte, max_header_size> out) noexcept {
  auto b = [&](std::size_t i, unsigned v) { out[i] = static_cast<std::byte>(v & 0xff); };
  b(0, (h.fin ? 0x80u : 0u) | (h.rsv1 ? 0x40u : 0u) | (h.rsv2 ? 0x20u : 0u) |
           (h.rsv3 ? 0x10u : 0u) | (h.opcode & 0x0fu));
  const unsigned mask_bit = h.masked ? 0x80u : 0u;
  std::size_t n = 2;
  const std::uint64_t len = h.payload_length;
  if (len < 126) {
    b(1, mask_bit | static_cast<unsigned>(len));
  } else if (len <= 0xffff) {
    b(1, mask_bit | 126u);
    b(2, static_cast<unsigned>(len >> 8));
    b(3, static_cast<unsigned>(len));
    n = 4;
  } else {
    b(1, mask_bit | 127u);
    for (int i = 0; i < 8; ++i)
      b(2 + static_cast<std::size_t>(i), static_cast<unsigned>(len >> (56 - 8 * i)));
    n = 10;
  }
  if (h.masked) {
    std::memcpy(out.data() + n, &h.mask_key, 4);
    n += 4;
  }
  return n;
}

NETCO_DECL std::size_t decode_header(std::span<const std::byte> in, frame_header& out,
                                     std::error_code& ec) noexcept {
  ec.clear();
  if (in.size() < 2) return 0;
  const auto b0 = static_cast<unsigned>(in[0]);
  const auto b1 = static_cast<unsigned>(in[1]);
  const unsigned len7 = b1 & 0x7f;
  const bool masked = (b1 & 0x80) != 0;
  const std::size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
  const std::size_t size = 2 + ext + (masked ? 4 : 0);
  if (in.size() < size) return 0;
  std::uint64_t len = len7;
  if (ext != 0) {
    len = 0;
    for (std::size_t i = 0; i < ext; ++i) len = (len << 8) | static_cast<unsigned>(in[2 + i]);
    if (ext == 8 && (len >> 63) != 0) {
      ec = errc::unsupported_data_payload_length;
      return 0;
    }
  }
  out.fin = (b0 & 0x80) != 0;
  out.rsv1 = (b0 & 0x40) != 0;
  out.rsv2 = (b0 & 0x20) != 0;
  out.rsv3 = (b0 & 0x10) != 0;
  out.opcode = static_cast<std::uint8_t>(b0 & 0x0f);
  out.masked = masked;
  out.mask_key = 0;
  if (masked) std::memcpy(&out.mask_key, in.data() + 2 + ext, 4);
  out.payload_length = len;
  return size;
}

NETCO_DECL std::size_t header_decoder::feed(std::span<const std::byte> in,
                                            std::error_code& ec) noexcept {
  ec.clear();
  if (done_) return 0;
  if (have_ == 0) {  // the usual case: the whole header in one read, decoded where it lies
    if (const std::size_t n = decode_header(in, header_, ec); n != 0 || ec) {
      done_ = n != 0;
      return n;
    }
  }
  std::size_t taken = 0;
  for (;;) {
    std::size_t need = 2;
    if (have_ >= 2) {
      const auto b1 = static_cast<unsigned>(bytes_[1]);
      const unsigned len7 = b1 & 0x7f;
      need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((b1 & 0x80) ? 4 : 0);
    }
    if (have_ == need) break;
    const std::size_t n = std::min(need - have_, in.size() - taken);
    if (n == 0) return taken;  // still partial
    std::memcpy(bytes_.data() + have_, in.data() + taken, n);
    have_ = static_cast<std::uint8_t>(have_ + n);
    taken += n;
  }
  if (decode_header(std::span<const std::byte>(bytes_.data(), have_), header_, ec) == 0)
    return 0;  // an invalid length: nothing taken
  done_ = true;
  return taken;
}

NETCO_DECL std::uint32_t rotate_mask_key(std::uint32_t key, std::uint64_t offset) noexcept {
  const unsigned r = static_cast<unsigned>(offset & 3);
  if (r == 0) return key;
  std::byte k[8];
  std::memcpy(k, &key, 4);
  std::memcpy(k + 4, &key, 4);
  std::uint32_t out;
  std::memcpy(&out, k + r, 4);
  return out;
}

NETCO_DECL void apply_mask_copy(std::byte* dst, std::span<const std::byte> src, std::uint32_t key,
                                std::uint64_t offset) noexcept {
  key = rotate_mask_key(key, offset);
  // The key replicated into a word, in memory order: XOR then works for either byte order.
  std::uint64_t k64;
  std::memcpy(&k64, &key, 4);
  std::memcpy(reinterpret_cast<std::byte*>(&k64) + 4, &key, 4);
  const std::byte* s = src.data();
  std::size_t n = src.size();
  // Four words per step: independent XORs that GCC and clang turn into SIMD at -O2.
  while (n >= 32) {
    std::uint64_t w[4];
    std::memcpy(w, s, 32);
    w[0] ^= k64;
    w[1] ^= k64;
    w[2] ^= k64;
    w[3] ^= k64;
    std::memcpy(dst, w, 32);
    s += 32;
    dst += 32;
    n -= 32;
  }
  while (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, s, 8);
    w ^= k64;
    std::memcpy(dst, &w, 8);
    s += 8;
    dst += 8;
    n -= 8;
  }
  const auto* kb = reinterpret_cast<const std::byte*>(&k64);
  for (std::size_t i = 0; i < n; ++i) dst[i] = s[i] ^ kb[i];
}

NETCO_DECL void apply_mask(std::span<std::byte> data, std::uint32_t key,
                           std::uint64_t offset) noexcept {
  apply_mask_copy(data.data(), data, key, offset);
}

}  // namespace netco::ws

namespace netco::detail {
// splitmix64: one add and three xor-shift-multiplies per 64 bits, two keys per step.
struct ws_mask_generator {
  std::uint64_t state;
  std::uint64_t spare = 0;
  bool has_spare = false;
  ws_mask_generator() {
    std::random_device rd;
    state = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  }
  std::uint32_t next() noexcept {
    if (has_spare) {
      has_spare = false;
      return static_cast<std::uint32_t>(spare);
    }
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    spare = z >> 32;
    has_spare = true;
    return static_cast<std::uint32_t>(z);
  }
};
}  // namespace netco::detail

namespace netco::ws {

NETCO_DECL std::uint32_t make_mask_key() noexcept {
  thread_local netco::detail::ws_mask_generator generator;
  return generator.next();
}

}  // namespace netco::ws
