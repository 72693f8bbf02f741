// netco/ws/utf8.hpp: incremental, fail-fast UTF-8 validation for text messages and close reasons
#pragma once
#include <array>        // array (the byte-class and transition tables)
#include <cstddef>      // byte, size_t
#include <cstdint>      // uint8_t, uint64_t
#include <cstring>      // memcpy (8-byte loads)
#include <span>         // span
#include <string_view>  // string_view
#include <utility>      // exchange

namespace netco::detail {
// A DFA over byte classes. States: 0 accept; 1-3 that many continuation bytes still due
// (80-BF); 4 after E0 (next A0-BF: no overlongs); 5 after ED (next 80-9F: no surrogates);
// 6 after F0 (next 90-BF: no overlongs); 7 after F4 (next 80-8F: nothing past U+10FFFF);
// 8 reject, for good.
inline constexpr std::uint8_t ws_utf8_accept = 0;
inline constexpr std::uint8_t ws_utf8_reject = 8;
inline constexpr std::size_t ws_utf8_states = 9;
// Byte classes.
inline constexpr std::uint8_t ws_u8c_ascii = 0;     // 00-7F
inline constexpr std::uint8_t ws_u8c_cont_lo = 1;   // 80-8F
inline constexpr std::uint8_t ws_u8c_cont_mid = 2;  // 90-9F
inline constexpr std::uint8_t ws_u8c_cont_hi = 3;   // A0-BF
inline constexpr std::uint8_t ws_u8c_bad = 4;       // C0-C1, F5-FF: never in UTF-8
inline constexpr std::uint8_t ws_u8c_lead2 = 5;     // C2-DF
inline constexpr std::uint8_t ws_u8c_e0 = 6;
inline constexpr std::uint8_t ws_u8c_lead3 = 7;  // E1-EC, EE-EF
inline constexpr std::uint8_t ws_u8c_ed = 8;
inline constexpr std::uint8_t ws_u8c_f0 = 9;
inline constexpr std::uint8_t ws_u8c_lead4 = 10;  // F1-F3
inline constexpr std::uint8_t ws_u8c_f4 = 11;
inline constexpr std::size_t ws_u8c_classes = 12;

consteval std::array<std::uint8_t, 256> ws_make_utf8_classes() {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    std::uint8_t k = ws_u8c_bad;
    if (c < 0x80)
      k = ws_u8c_ascii;
    else if (c < 0x90)
      k = ws_u8c_cont_lo;
    else if (c < 0xa0)
      k = ws_u8c_cont_mid;
    else if (c < 0xc0)
      k = ws_u8c_cont_hi;
    else if (c < 0xc2)
      k = ws_u8c_bad;
    else if (c < 0xe0)
      k = ws_u8c_lead2;
    else if (c == 0xe0)
      k = ws_u8c_e0;
    else if (c == 0xed)
      k = ws_u8c_ed;
    else if (c < 0xf0)
      k = ws_u8c_lead3;
    else if (c == 0xf0)
      k = ws_u8c_f0;
    else if (c < 0xf4)
      k = ws_u8c_lead4;
    else if (c == 0xf4)
      k = ws_u8c_f4;
    t[static_cast<std::size_t>(c)] = k;
  }
  return t;
}

consteval std::array<std::uint8_t, ws_utf8_states * ws_u8c_classes> ws_make_utf8_transitions() {
  std::array<std::uint8_t, ws_utf8_states * ws_u8c_classes> t{};
  for (auto& s : t) s = ws_utf8_reject;
  auto set = [&](std::size_t state, std::uint8_t cls, int next) {
    t[state * ws_u8c_classes + cls] = static_cast<std::uint8_t>(next);
  };
  set(0, ws_u8c_ascii, 0);
  set(0, ws_u8c_lead2, 1);
  set(0, ws_u8c_lead3, 2);
  set(0, ws_u8c_lead4, 3);
  set(0, ws_u8c_e0, 4);
  set(0, ws_u8c_ed, 5);
  set(0, ws_u8c_f0, 6);
  set(0, ws_u8c_f4, 7);
  for (std::uint8_t cont : {ws_u8c_cont_lo, ws_u8c_cont_mid, ws_u8c_cont_hi}) {
    set(1, cont, 0);
    set(2, cont, 1);
    set(3, cont, 2);
  }
  set(4, ws_u8c_cont_hi, 1);
  set(5, ws_u8c_cont_lo, 1);
  set(5, ws_u8c_cont_mid, 1);
  set(6, ws_u8c_cont_mid, 2);
  set(6, ws_u8c_cont_hi, 2);
  set(7, ws_u8c_cont_lo, 2);
  return t;
}

inline constexpr std::array<std::uint8_t, 256> ws_utf8_classes = ws_make_utf8_classes();
inline constexpr std::array<std::uint8_t, ws_utf8_states* ws_u8c_classes> ws_utf8_transitions =
    ws_make_utf8_transitions();
}  // namespace netco::detail

namespace netco::ws {

/// Validates UTF-8 fed in pieces (frames, reads) with its state carried between them: a piece
/// may end inside a code point. Fails fast: feed() is false at the first byte that no valid
/// continuation could follow (an overlong form, a surrogate, past U+10FFFF, a stray byte).
class utf8_validator {
 public:
  /// Validates bytes that follow those fed before; false once the input is invalid (for good,
  /// until reset()).
  bool feed(std::span<const std::byte> bytes) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    const auto* end = p + bytes.size();
    std::uint8_t s = state_;
    if (s == detail::ws_utf8_reject) return false;
    while (p < end) {
      if (s == detail::ws_utf8_accept) {
        // ASCII fast path: 16 bytes per step while no byte has its top bit set.
        constexpr std::uint64_t high = 0x8080808080808080ull;
        while (end - p >= 16) {
          std::uint64_t a, b;
          std::memcpy(&a, p, 8);
          std::memcpy(&b, p + 8, 8);
          if (((a | b) & high) != 0) break;
          p += 16;
        }
        while (p < end && *p < 0x80) ++p;
        if (p == end) break;
      }
      s = detail::ws_utf8_transitions[s * detail::ws_u8c_classes + detail::ws_utf8_classes[*p]];
      if (s == detail::ws_utf8_reject) {
        state_ = s;
        return false;
      }
      ++p;
    }
    state_ = s;
    return true;
  }
  bool feed(std::string_view text) noexcept {
    return feed(std::as_bytes(std::span(text.data(), text.size())));
  }
  /// True when everything fed is valid and complete (no code point left open); then resets,
  /// ready for the next message.
  bool finish() noexcept {
    return std::exchange(state_, detail::ws_utf8_accept) == detail::ws_utf8_accept;
  }
  /// True when the input so far can no longer be valid.
  bool failed() const noexcept { return state_ == detail::ws_utf8_reject; }
  /// True when no code point is open (the bytes so far end on a boundary).
  bool at_boundary() const noexcept { return state_ == detail::ws_utf8_accept; }
  void reset() noexcept { state_ = detail::ws_utf8_accept; }

 private:
  std::uint8_t state_ = detail::ws_utf8_accept;
};

/// Whether bytes are complete, valid UTF-8 (RFC 3629).
inline bool is_valid_utf8(std::span<const std::byte> bytes) noexcept {
  utf8_validator v;
  return v.feed(bytes) && v.finish();
}
inline bool is_valid_utf8(std::string_view text) noexcept {
  utf8_validator v;
  return v.feed(text) && v.finish();
}

}  // namespace netco::ws
