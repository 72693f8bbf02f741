// netco/impl/ws_handshake.ipp: the out-of-line parts of netco/ws/handshake.hpp: inline in every
// translation unit when header-only, compiled once (by <netco/impl/src.hpp>) under
// NETCO_SEPARATE_COMPILATION
#pragma once
#include <cstring>  // memcpy
#include <random>   // random_device: Sec-WebSocket-Key bytes

#include "netco/ws/handshake.hpp"

namespace netco::detail {

constexpr std::uint32_t ws_rotl32(std::uint32_t x, int n) noexcept {
  return (x << n) | (x >> (32 - n));
}

// SHA-1 over 64-byte blocks (FIPS 180-4 §6.1).
struct ws_sha1 {
  std::uint32_t h[5] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u, 0xc3d2e1f0u};

  void block(const unsigned char* p) noexcept {
    std::uint32_t w[80];
    for (int i = 0; i < 16; ++i)
      w[i] = (std::uint32_t{p[4 * i]} << 24) | (std::uint32_t{p[4 * i + 1]} << 16) |
             (std::uint32_t{p[4 * i + 2]} << 8) | std::uint32_t{p[4 * i + 3]};
    for (int i = 16; i < 80; ++i) w[i] = ws_rotl32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; ++i) {
      std::uint32_t f, k;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5a827999u;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ed9eba1u;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8f1bbcdcu;
      } else {
        f = b ^ c ^ d;
        k = 0xca62c1d6u;
      }
      const std::uint32_t t = ws_rotl32(a, 5) + f + e + k + w[i];
      e = d;
      d = c;
      c = ws_rotl32(b, 30);
      b = a;
      a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
  }
};

inline constexpr char ws_base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

inline int ws_base64_value(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

inline bool ws_is_tchar(char c) noexcept {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return c != 0 && std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A cursor over a header value for the list grammars.
struct ws_header_cursor {
  std::string_view s;
  std::size_t i = 0;

  bool at_end() const noexcept { return i == s.size(); }
  char peek() const noexcept { return s[i]; }
  void skip_ows() noexcept {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  }
  std::string_view token() noexcept {
    const std::size_t start = i;
    while (i < s.size() && ws_is_tchar(s[i])) ++i;
    return s.substr(start, i - start);
  }
  // A quoted-string at i (the opening quote), unescaped into out; false if unterminated or it
  // holds a byte outside qdtext / quoted-pair.
  bool quoted(std::string& out) {
    ++i;
    while (i < s.size()) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c == '"') {
        ++i;
        return true;
      }
      if (c == '\\') {
        if (++i == s.size()) return false;
        const auto e = static_cast<unsigned char>(s[i]);
        if (e != '\t' && (e < 0x20 || e == 0x7f)) return false;
        out += static_cast<char>(e);
      } else if (c == '\t' || (c >= 0x20 && c != 0x7f)) {
        out += static_cast<char>(c);
      } else {
        return false;
      }
      ++i;
    }
    return false;
  }
};

}  // namespace netco::detail

namespace netco::ws {

NETCO_DECL std::array<std::uint8_t, 20> sha1(std::span<const std::byte> bytes) noexcept {
  netco::detail::ws_sha1 s;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t n = bytes.size();
  const std::uint64_t bits = static_cast<std::uint64_t>(n) * 8;
  while (n >= 64) {
    s.block(p);
    p += 64;
    n -= 64;
  }
  unsigned char tail[128] = {};
  if (n != 0) std::memcpy(tail, p, n);
  tail[n] = 0x80;
  const std::size_t total = n + 1 + 8 <= 64 ? 64 : 128;
  for (int i = 0; i < 8; ++i)
    tail[total - 1 - static_cast<std::size_t>(i)] = static_cast<unsigned char>(bits >> (8 * i));
  s.block(tail);
  if (total == 128) s.block(tail + 64);
  std::array<std::uint8_t, 20> out{};
  for (std::size_t i = 0; i < 20; ++i)
    out[i] = static_cast<std::uint8_t>(s.h[i / 4] >> (24 - 8 * (i % 4)));
  return out;
}

NETCO_DECL std::array<std::uint8_t, 20> sha1(std::string_view text) noexcept {
  return sha1(std::as_bytes(std::span(text.data(), text.size())));
}

NETCO_DECL std::string base64_encode(std::span<const std::byte> bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t n = bytes.size();
  const char* a = netco::detail::ws_base64_alphabet;
  for (; n >= 3; p += 3, n -= 3) {
    const unsigned v = (unsigned{p[0]} << 16) | (unsigned{p[1]} << 8) | p[2];
    out += a[(v >> 18) & 63];
    out += a[(v >> 12) & 63];
    out += a[(v >> 6) & 63];
    out += a[v & 63];
  }
  if (n != 0) {
    const unsigned v = (unsigned{p[0]} << 16) | (n == 2 ? unsigned{p[1]} << 8 : 0u);
    out += a[(v >> 18) & 63];
    out += a[(v >> 12) & 63];
    out += n == 2 ? a[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

NETCO_DECL bool base64_decode(std::string_view text, std::string& out) {
  out.clear();
  if (text.size() % 4 != 0) return false;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const std::size_t pad = last ? (text[i + 3] == '=' ? (text[i + 2] == '=' ? 2 : 1) : 0) : 0;
    int v[4];
    for (std::size_t j = 0; j < 4 - pad; ++j)
      if ((v[j] = netco::detail::ws_base64_value(text[i + j])) < 0) return false;
    for (std::size_t j = 4 - pad; j < 4; ++j) v[j] = 0;
    const unsigned word =
        (unsigned(v[0]) << 18) | (unsigned(v[1]) << 12) | (unsigned(v[2]) << 6) | unsigned(v[3]);
    // Canonical only: the bits that padding leaves over must be zero.
    if ((pad == 1 && (word & 0xff) != 0) || (pad == 2 && (word & 0xffff) != 0)) return false;
    out += static_cast<char>(word >> 16);
    if (pad < 2) out += static_cast<char>((word >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(word & 0xff);
  }
  return true;
}

NETCO_DECL std::string accept_key(std::string_view key) {
  std::string input;
  input.reserve(key.size() + accept_guid.size());
  input += key;
  input += accept_guid;
  const auto digest = sha1(input);
  return base64_encode(std::as_bytes(std::span(digest)));
}

NETCO_DECL bool is_valid_key(std::string_view key) noexcept {
  if (key.size() != 24 || key[22] != '=' || key[23] != '=') return false;
  for (std::size_t i = 0; i < 22; ++i)
    if (netco::detail::ws_base64_value(key[i]) < 0) return false;
  return true;
}

NETCO_DECL std::string generate_key() {
  std::random_device rd;
  std::array<std::byte, 16> bytes;
  for (std::size_t i = 0; i < 16; i += 4) {
    const std::uint32_t r = rd();
    std::memcpy(bytes.data() + i, &r, 4);
  }
  return base64_encode(bytes);
}

NETCO_DECL std::error_code parse_protocols(std::string_view value,
                                           std::vector<std::string_view>& out) {
  out.clear();
  netco::detail::ws_header_cursor c{value};
  for (;;) {
    c.skip_ows();
    if (c.at_end()) break;
    if (c.peek() == ',') {  // an empty element
      ++c.i;
      continue;
    }
    const std::string_view t = c.token();
    if (t.empty()) return errc::invalid_protocol_header;
    for (std::string_view seen : out)
      if (seen == t) return errc::invalid_protocol_header;
    out.push_back(t);
    c.skip_ows();
    if (c.at_end()) break;
    if (c.peek() != ',') return errc::invalid_protocol_header;
    ++c.i;
  }
  if (out.empty()) return errc::invalid_protocol_header;
  return {};
}

NETCO_DECL std::string format_protocols(std::span<const std::string_view> protocols) {
  std::string out;
  for (std::string_view p : protocols) {
    if (!out.empty()) out += ", ";
    out += p;
  }
  return out;
}

NETCO_DECL bool token_iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if (x >= 'A' && x <= 'Z') x |= 0x20;
    if (y >= 'A' && y <= 'Z') y |= 0x20;
    if (x != y) return false;
  }
  return true;
}

NETCO_DECL const extension_param* extension::find(std::string_view param) const noexcept {
  for (const extension_param& p : params)
    if (token_iequals(p.name, param)) return &p;
  return nullptr;
}

NETCO_DECL std::error_code parse_extensions(std::string_view value, std::vector<extension>& out) {
  netco::detail::ws_header_cursor c{value};
  const std::size_t first = out.size();
  auto fail = [&] {
    out.resize(first);
    return make_error_code(errc::invalid_extensions_header);
  };
  for (;;) {
    c.skip_ows();
    if (c.at_end()) break;
    if (c.peek() == ',') {  // an empty element
      ++c.i;
      continue;
    }
    const std::string_view name = c.token();
    if (name.empty()) return fail();
    extension& ext = out.emplace_back();
    ext.name = name;
    c.skip_ows();
    while (!c.at_end() && c.peek() == ';') {
      ++c.i;
      c.skip_ows();
      const std::string_view pname = c.token();
      if (pname.empty()) return fail();
      extension_param& p = ext.params.emplace_back();
      p.name = pname;
      c.skip_ows();
      if (!c.at_end() && c.peek() == '=') {
        ++c.i;
        c.skip_ows();
        if (c.at_end()) return fail();
        if (c.peek() == '"') {
          if (!c.quoted(p.value) || p.value.empty()) return fail();
          for (char ch : p.value)
            if (!netco::detail::ws_is_tchar(ch))
              return fail();  // RFC 6455 §9.1: a token once unquoted
        } else {
          const std::string_view v = c.token();
          if (v.empty()) return fail();
          p.value = v;
        }
        p.has_value = true;
        c.skip_ows();
      }
    }
    if (c.at_end()) break;
    if (c.peek() != ',') return fail();
    ++c.i;
  }
  if (out.size() == first) return fail();
  return {};
}

NETCO_DECL std::string format_extensions(std::span<const extension> extensions) {
  std::string out;
  for (const extension& e : extensions) {
    if (!out.empty()) out += ", ";
    out += e.name;
    for (const extension_param& p : e.params) {
      out += "; ";
      out += p.name;
      if (p.has_value) {
        out += '=';
        out += p.value;
      }
    }
  }
  return out;
}

}  // namespace netco::ws
