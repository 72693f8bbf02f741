// netco/impl/url.ipp: the out-of-line parts of netco/url.hpp: inline in every translation unit
// when header-only, compiled once (by <netco/impl/src.hpp>) under NETCO_SEPARATE_COMPILATION
#pragma once
#include <algorithm>  // find_if, lower_bound, remove_if, stable_sort
#include <array>      // array (encode sets, IPv6 pieces)
#include <charconv>   // to_chars (the port)
#include <iterator>   // begin, end, next (the IDNA tables, the search params)
#include <stdexcept>  // length_error (a query that would take a URL past 4 GiB)

#include "netco/url.hpp"

namespace netco {
namespace detail {

// ---------------------------------------------------------------------------------------------
// Code points, percent-encoding, UTF-8

// The Standard's percent-encode sets, one bit each: a byte is encoded when its bit is set.
enum url_encode_set : std::uint8_t {
  url_set_c0 = 1,             // C0 controls and everything above '~'
  url_set_fragment = 2,       // + space " < > `
  url_set_query = 4,          // C0 + space " # < >
  url_set_special_query = 8,  // query + '
  url_set_path = 16,          // query + ? ` { }  (Node 20: not '^')
  url_set_userinfo = 32,      // path + / : ; = @ [ \ ] ^ |
  url_set_component = 64,     // userinfo + $ % & + ,
  url_set_form = 128,         // component + ! ' ( ) ~  (application/x-www-form-urlencoded)
};

inline constexpr std::array<std::uint8_t, 256> url_encode_table = [] {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    const bool c0 = c < 0x20 || c > 0x7E;
    const bool fragment = c0 || c == ' ' || c == '"' || c == '<' || c == '>' || c == '`';
    const bool query = c0 || c == ' ' || c == '"' || c == '#' || c == '<' || c == '>';
    const bool special_query = query || c == '\'';
    const bool path = query || c == '?' || c == '`' || c == '{' || c == '}';
    const bool userinfo = path || c == '/' || c == ':' || c == ';' || c == '=' || c == '@' ||
                          (c >= '[' && c <= '^') || c == '|';
    const bool component = userinfo || (c >= '$' && c <= '&') || c == '+' || c == ',';
    const bool form = component || c == '!' || (c >= '\'' && c <= ')') || c == '~';
    t[static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(
        (c0 ? url_set_c0 : 0) | (fragment ? url_set_fragment : 0) | (query ? url_set_query : 0) |
        (special_query ? url_set_special_query : 0) | (path ? url_set_path : 0) |
        (userinfo ? url_set_userinfo : 0) | (component ? url_set_component : 0) |
        (form ? url_set_form : 0));
  }
  return t;
}();

constexpr bool url_is_alpha(int c) noexcept { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
constexpr bool url_is_digit(int c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool url_is_hex(int c) noexcept {
  return url_is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}
constexpr int url_hex_value(int c) noexcept { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; }
constexpr char url_lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
}

inline void url_append_byte_encoded(std::string& out, unsigned char b) {
  constexpr char hex[] = "0123456789ABCDEF";
  out += '%';
  out += hex[b >> 4];
  out += hex[b & 15];
}

/// Appends s, each byte in set percent-encoded (UTF-8 percent-encode, byte by byte: every byte
/// of a non-ASCII code point is in every set).
inline void url_append_encoded(std::string& out, std::string_view s, std::uint8_t set) {
  std::size_t plain = 0;  // a run of bytes that need no encoding is appended at once
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if ((url_encode_table[b] & set) == 0) continue;
    out.append(s.data() + plain, i - plain);
    url_append_byte_encoded(out, b);
    plain = i + 1;
  }
  out.append(s.data() + plain, s.size() - plain);
}

inline void url_append_encoded(std::string& out, char c, std::uint8_t set) {
  const auto b = static_cast<unsigned char>(c);
  if (url_encode_table[b] & set)
    url_append_byte_encoded(out, b);
  else
    out += c;
}

/// The Standard's percent-decode, appended to out.
inline void url_percent_decode_into(std::string_view s, std::string& out) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && url_is_hex(s[i + 1]) && url_is_hex(s[i + 2])) {
      out += static_cast<char>(url_hex_value(s[i + 1]) * 16 + url_hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
}

/// The length of the well-formed UTF-8 sequence at s[i], or 0 where it is ill-formed; max is
/// the length of the maximal ill-formed prefix there (what the Encoding Standard's decoder
/// replaces with one U+FFFD).
inline std::size_t url_utf8_sequence(std::string_view s, std::size_t i, std::size_t& bad) {
  const auto b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) return 1;
  std::size_t need = 0;
  unsigned lo = 0x80, hi = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) {
    need = 1;
  } else if (b >= 0xE0 && b <= 0xEF) {
    need = 2;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;  // no surrogates
  } else if (b >= 0xF0 && b <= 0xF4) {
    need = 3;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    bad = 1;
    return 0;
  }
  std::size_t j = 1;
  for (; j <= need; ++j) {
    if (i + j >= s.size()) break;
    const auto c = static_cast<unsigned char>(s[i + j]);
    if (c < lo || c > hi) break;
    lo = 0x80;
    hi = 0xBF;
  }
  if (j > need) return need + 1;
  bad = j;
  return 0;
}

inline bool url_utf8_valid(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size() && static_cast<unsigned char>(s[i]) < 0x80) ++i;  // the common case
  while (i < s.size()) {
    std::size_t bad = 0;
    const std::size_t n = url_utf8_sequence(s, i, bad);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

/// Appends s with each ill-formed subsequence replaced by U+FFFD (TextDecoder's way): what a
/// C++ string means when it stands for a JavaScript string.
inline void url_utf8_sanitize_into(std::string_view s, std::string& out) {
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t bad = 0;
    const std::size_t n = url_utf8_sequence(s, i, bad);
    if (n != 0) {
      out.append(s.data() + i, n);
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      i += bad;
    }
  }
}

/// s itself when it is UTF-8, else its sanitized copy in scratch.
inline std::string_view url_usv(std::string_view s, std::string& scratch) {
  if (url_utf8_valid(s)) return s;
  scratch.clear();
  url_utf8_sanitize_into(s, scratch);
  return scratch;
}

inline std::string url_usv_string(std::string_view s) {
  if (url_utf8_valid(s)) return std::string(s);
  std::string out;
  url_utf8_sanitize_into(s, out);
  return out;
}

/// The code point at s[i] of well-formed UTF-8, advancing i.
inline char32_t url_utf8_next(std::string_view s, std::size_t& i) noexcept {
  const auto b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) {
    ++i;
    return b;
  }
  const std::size_t n = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
  char32_t cp = b & (0x7F >> n);
  for (std::size_t k = 1; k < n; ++k)
    cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += n;
  return cp;
}

inline void url_append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// ---------------------------------------------------------------------------------------------
// The URL record the parser works on, one per thread and reused: parsing allocates nothing of
// its own once its strings have grown, only the url's one string.

enum class url_state : std::uint8_t {
  none,  // no state override
  scheme_start,
  scheme,
  no_scheme,
  special_relative_or_authority,
  path_or_authority,
  relative,
  relative_slash,
  special_authority_slashes,
  special_authority_ignore_slashes,
  authority,
  host,
  hostname,
  port,
  file,
  file_slash,
  file_host,
  path_start,
  path,
  opaque_path,
  query,
  fragment,
};

/// A URL's components as views into its href (what a base, or a setter's start, reads).
struct url_parts {
  std::string_view scheme, username, password, host, path, query, fragment;
  std::int32_t port = -1;
  url_scheme kind = url_scheme::other;
  bool has_host = false, opaque_path = false, has_query = false, has_fragment = false;
};

struct url_record {
  std::string scheme;
  url_scheme kind = url_scheme::other;
  std::string username, password, host;
  bool has_host = false;
  std::int32_t port = -1;
  std::string path;  // a list path as "/seg/seg" (one '/' per segment), or the opaque path
  bool opaque_path = false;
  std::string query;
  bool has_query = false;
  std::string fragment;
  bool has_fragment = false;
  // Scratch space of the parser and the host parser.
  std::string buffer, input, concat, host_bytes, host_out, label_out;
  std::u32string domain, label;

  void reset() noexcept {
    for (std::string* s : {&scheme, &username, &password, &host, &path, &query, &fragment})
      s->clear();
    kind = url_scheme::other;
    has_host = opaque_path = has_query = has_fragment = false;
    port = -1;
  }
  /// A huge URL once parsed should not pin its size in every thread for good.
  void trim() {
    constexpr std::size_t keep = 64 * 1024;
    for (std::string* s : {&scheme, &username, &password, &host, &path, &query, &fragment, &buffer,
                           &input, &concat, &host_bytes, &host_out, &label_out})
      if (s->capacity() > keep) std::string().swap(*s);
    for (std::u32string* s : {&domain, &label})
      if (s->capacity() > keep) std::u32string().swap(*s);
  }
};

NETCO_DECL url_record& url_scratch() {
  thread_local url_record record;
  return record;
}

constexpr url_scheme url_scheme_of(std::string_view s) noexcept {
  switch (s.size()) {
    case 2:
      return s == "ws" ? url_scheme::ws : url_scheme::other;
    case 3:
      return s == "wss" ? url_scheme::wss : s == "ftp" ? url_scheme::ftp : url_scheme::other;
    case 4:
      return s == "http" ? url_scheme::http : s == "file" ? url_scheme::file : url_scheme::other;
    case 5:
      return s == "https" ? url_scheme::https : url_scheme::other;
  }
  return url_scheme::other;
}

constexpr std::int32_t url_default_port(url_scheme k) noexcept {
  switch (k) {
    case url_scheme::http:
    case url_scheme::ws:
      return 80;
    case url_scheme::https:
    case url_scheme::wss:
      return 443;
    case url_scheme::ftp:
      return 21;
    default:
      return -1;
  }
}

/// The basic URL parser's input: stripped of leading and trailing C0 controls and spaces when
/// trim (a fresh parse, not a setter), read as UTF-8 (ill-formed parts as U+FFFD), with tabs
/// and newlines removed. Returns in, or a view of scratch where it had to change.
NETCO_DECL std::string_view url_clean_input(std::string_view in, bool trim, std::string& scratch) {
  if (trim) {
    while (!in.empty() && static_cast<unsigned char>(in.front()) <= 0x20) in.remove_prefix(1);
    while (!in.empty() && static_cast<unsigned char>(in.back()) <= 0x20) in.remove_suffix(1);
  }
  bool tabs = false, high = false;
  for (char ch : in) {
    tabs |= ch == '\t' || ch == '\n' || ch == '\r';
    high |= static_cast<unsigned char>(ch) >= 0x80;
  }
  const bool bad_utf8 = high && !url_utf8_valid(in);
  if (!tabs && !bad_utf8) return in;
  std::string sanitized;  // rare: only for ill-formed UTF-8
  if (bad_utf8) {
    url_utf8_sanitize_into(in, sanitized);
    in = sanitized;
  }
  scratch.clear();
  for (char ch : in)
    if (ch != '\t' && ch != '\n' && ch != '\r') scratch += ch;
  return scratch;
}

// ---------------------------------------------------------------------------------------------
// Hosts: IPv4, IPv6, opaque hosts, domains (IDNA)

constexpr bool url_forbidden_host(unsigned char c) noexcept {
  switch (c) {
    case 0x00:
    case '\t':
    case '\n':
    case '\r':
    case ' ':
    case '#':
    case '/':
    case ':':
    case '<':
    case '>':
    case '?':
    case '@':
    case '[':
    case '\\':
    case ']':
    case '^':
    case '|':
      return true;
  }
  return false;
}

constexpr bool url_forbidden_domain(unsigned char c) noexcept {
  return url_forbidden_host(c) || c <= 0x1F || c == '%' || c == 0x7F;
}

/// An IPv4 number: decimal, 0x hex or 0-prefixed octal; false where it is not one. Values past
/// 2^33 saturate (they fail later all the same) so that no digit string overflows.
inline bool url_ipv4_number(std::string_view s, std::uint64_t& value) noexcept {
  if (s.empty()) return false;
  unsigned radix = 10;
  if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    radix = 16;
  } else if (s.size() >= 2 && s[0] == '0') {
    s.remove_prefix(1);
    radix = 8;
  }
  value = 0;
  for (char ch : s) {
    unsigned d;
    if (radix == 16 && url_is_hex(ch))
      d = static_cast<unsigned>(url_hex_value(ch));
    else if (url_is_digit(ch) && static_cast<unsigned>(ch - '0') < radix)
      d = static_cast<unsigned>(ch - '0');
    else
      return false;
    if (value < (std::uint64_t{1} << 33)) value = value * radix + d;
  }
  return true;
}

/// The "ends in a number" checker: whether a domain must be read as IPv4.
inline bool url_ends_in_number(std::string_view s) noexcept {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  const std::string_view last = s.substr(s.rfind('.') + 1);  // npos + 1 == 0: the whole of s
  if (!last.empty() &&
      std::all_of(last.begin(), last.end(), [](char c) { return url_is_digit(c); }))
    return true;
  std::uint64_t ignored = 0;
  return url_ipv4_number(last, ignored);
}

inline bool url_parse_ipv4(std::string_view s, std::uint32_t& address) noexcept {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);  // one trailing dot is allowed
  std::uint64_t numbers[4];
  std::size_t count = 0, start = 0;
  for (;;) {
    const std::size_t dot = s.find('.', start);
    if (count == 4) return false;  // more than four parts
    if (!url_ipv4_number(s.substr(start, dot - start), numbers[count])) return false;
    ++count;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  for (std::size_t i = 0; i + 1 < count; ++i)
    if (numbers[i] > 255) return false;
  if (numbers[count - 1] >= (std::uint64_t{1} << (8 * (5 - count)))) return false;
  std::uint64_t v = numbers[count - 1];
  for (std::size_t i = 0; i + 1 < count; ++i) v += numbers[i] << (8 * (3 - i));
  address = static_cast<std::uint32_t>(v);
  return true;
}

inline void url_serialize_ipv4(std::uint32_t a, std::string& out) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    char digits[4];
    const auto r = std::to_chars(digits, digits + 4, (a >> shift) & 0xFF);
    out.append(digits, r.ptr);
    if (shift != 0) out += '.';
  }
}

inline bool url_parse_ipv6(std::string_view in, std::array<std::uint16_t, 8>& a) noexcept {
  a.fill(0);
  std::size_t piece = 0, p = 0;
  std::size_t compress = 8;  // 8: none
  const auto c = [&](std::size_t i) -> int {
    return i < in.size() ? static_cast<unsigned char>(in[i]) : -1;
  };
  if (c(p) == ':') {
    if (c(p + 1) != ':') return false;
    p += 2;
    compress = ++piece;
  }
  while (c(p) != -1) {
    if (piece == 8) return false;
    if (c(p) == ':') {
      if (compress != 8) return false;
      ++p;
      compress = ++piece;
      continue;
    }
    unsigned value = 0, length = 0;
    while (length < 4 && url_is_hex(c(p))) {
      value = value * 16 + static_cast<unsigned>(url_hex_value(c(p)));
      ++p;
      ++length;
    }
    if (c(p) == '.') {  // an embedded IPv4 address in the last two pieces
      if (length == 0) return false;
      p -= length;
      if (piece > 6) return false;
      int seen = 0;
      while (c(p) != -1) {
        int v4 = -1;
        if (seen > 0) {
          if (c(p) != '.' || seen >= 4) return false;
          ++p;
        }
        if (!url_is_digit(c(p))) return false;
        while (url_is_digit(c(p))) {
          const int digit = c(p) - '0';
          if (v4 == -1)
            v4 = digit;
          else if (v4 == 0)
            return false;  // no leading zeros
          else
            v4 = v4 * 10 + digit;
          if (v4 > 255) return false;
          ++p;
        }
        a[piece] = static_cast<std::uint16_t>(a[piece] * 0x100 + v4);
        ++seen;
        if (seen == 2 || seen == 4) ++piece;
      }
      if (seen != 4) return false;
      break;
    }
    if (c(p) == ':') {
      ++p;
      if (c(p) == -1) return false;
    } else if (c(p) != -1) {
      return false;
    }
    a[piece++] = static_cast<std::uint16_t>(value);
  }
  if (compress != 8) {
    std::size_t swaps = piece - compress;
    piece = 7;
    while (piece != 0 && swaps > 0) {
      std::swap(a[piece], a[compress + swaps - 1]);
      --piece;
      --swaps;
    }
  } else if (piece != 8) {
    return false;
  }
  return true;
}

inline void url_serialize_ipv6(const std::array<std::uint16_t, 8>& a, std::string& out) {
  // The first longest run of two or more zero pieces becomes "::".
  std::size_t compress = 8, best = 1;
  for (std::size_t i = 0; i < 8;) {
    if (a[i] != 0) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < 8 && a[j] == 0) ++j;
    if (j - i > best) {
      best = j - i;
      compress = i;
    }
    i = j;
  }
  out += '[';
  bool ignore0 = false;
  for (std::size_t i = 0; i < 8; ++i) {
    if (ignore0 && a[i] == 0) continue;
    ignore0 = false;
    if (compress == i) {
      out += i == 0 ? "::" : ":";
      ignore0 = true;
      continue;
    }
    char digits[4];
    const auto r = std::to_chars(digits, digits + 4, a[i], 16);  // lowercase, shortest
    out.append(digits, r.ptr);
    if (i != 7) out += ':';
  }
  out += ']';
}

// UTS #46 for the blocks netco covers (see the top of netco/url.hpp). Kinds: 0 valid, 1 delta
// (maps to cp + data), 2 pairs (first, first + 2 ... map to cp + 1; the others are valid),
// 3 seq (maps to data & 255 code points of url_idna_sequences from data >> 8), 4 ignored,
// 5 a combining mark.
struct url_idna_entry {
  char32_t first, last;
  std::int32_t data;
  std::uint8_t kind;
};

// clang-format off
// BEGIN gen_idna.js: generated by tests/url/gen_idna.js from Node v20's URL; do not edit by hand.
inline constexpr char32_t url_idna_blocks[][2] = {
    {0x00A0, 0x036F}, {0x0370, 0x058F}, {0x10A0, 0x10FF}, {0x1200, 0x139F}, {0x13A0, 0x13FF},
    {0x1C80, 0x1CBF}, {0x1D00, 0x1DBF}, {0x1E00, 0x1FFF}, {0x2000, 0x2BFF}, {0x2C00, 0x2C7F},
    {0x2D00, 0x2D2F}, {0x3000, 0x30FF}, {0x3100, 0x312F}, {0x31F0, 0x31FF}, {0x3400, 0x4DBF},
    {0x4E00, 0x9FFF}, {0xA640, 0xA69F}, {0xA720, 0xA7FF}, {0xAB30, 0xABBF}, {0xAC00, 0xD7A3},
    {0xFB00, 0xFB17}, {0xFE00, 0xFE0F}, {0xFEFF, 0xFEFF}, {0xFF00, 0xFFEF}, {0x1D400, 0x1D7FF},
    {0x1F100, 0x1F1FF}, {0x1F300, 0x1F7FF}, {0x1F900, 0x1F9FF}, {0x1FA70, 0x1FAFF},
};
inline constexpr url_idna_entry url_idna_table[] = {
    {0x00A1, 0x00A7, 0, 0},
    {0x00A9, 0x00A9, 0, 0},
    {0x00AA, 0x00AA, -73, 1},
    {0x00AB, 0x00AC, 0, 0},
    {0x00AD, 0x00AD, 0, 4},
    {0x00AE, 0x00AE, 0, 0},
    {0x00B0, 0x00B1, 0, 0},
    {0x00B2, 0x00B3, -128, 1},
    {0x00B5, 0x00B5, 775, 1},
    {0x00B6, 0x00B7, 0, 0},
    {0x00B9, 0x00B9, -136, 1},
    {0x00BA, 0x00BA, -75, 1},
    {0x00BB, 0x00BB, 0, 0},
    {0x00BC, 0x00BC, 3, 3},
    {0x00BD, 0x00BD, 771, 3},
    {0x00BE, 0x00BE, 1539, 3},
    {0x00BF, 0x00BF, 0, 0},
    {0x00C0, 0x00D6, 32, 1},
    {0x00D7, 0x00D7, 0, 0},
    {0x00D8, 0x00DE, 32, 1},
    {0x00DF, 0x00FF, 0, 0},
    {0x0100, 0x012F, 1, 2},
    {0x0130, 0x0130, 2306, 3},
    {0x0131, 0x0131, 0, 0},
    {0x0132, 0x0132, 2818, 3},
    {0x0133, 0x0133, 3330, 3},
    {0x0134, 0x0137, 1, 2},
    {0x0138, 0x0138, 0, 0},
    {0x0139, 0x013E, 1, 2},
    {0x013F, 0x013F, 3842, 3},
    {0x0140, 0x0140, 4354, 3},
    {0x0141, 0x0148, 1, 2},
    {0x0149, 0x0149, 4866, 3},
    {0x014A, 0x0177, 1, 2},
    {0x0178, 0x0178, -121, 1},
    {0x0179, 0x017E, 1, 2},
    {0x017F, 0x017F, -268, 1},
    {0x0180, 0x0180, 0, 0},
    {0x0181, 0x0181, 210, 1},
    {0x0182, 0x0185, 1, 2},
    {0x0186, 0x0186, 206, 1},
    {0x0187, 0x0188, 1, 2},
    {0x0189, 0x018A, 205, 1},
    {0x018B, 0x018C, 1, 2},
    {0x018D, 0x018D, 0, 0},
    {0x018E, 0x018E, 79, 1},
    {0x018F, 0x018F, 202, 1},
    {0x0190, 0x0190, 203, 1},
    {0x0191, 0x0192, 1, 2},
    {0x0193, 0x0193, 205, 1},
    {0x0194, 0x0194, 207, 1},
    {0x0195, 0x0195, 0, 0},
    {0x0196, 0x0196, 211, 1},
    {0x0197, 0x0197, 209, 1},
    {0x0198, 0x0199, 1, 2},
    {0x019A, 0x019B, 0, 0},
    {0x019C, 0x019C, 211, 1},
    {0x019D, 0x019D, 213, 1},
    {0x019E, 0x019E, 0, 0},
    {0x019F, 0x019F, 214, 1},
    {0x01A0, 0x01A5, 1, 2},
    {0x01A6, 0x01A6, 218, 1},
    {0x01A7, 0x01A8, 1, 2},
    {0x01A9, 0x01A9, 218, 1},
    {0x01AA, 0x01AB, 0, 0},
    {0x01AC, 0x01AD, 1, 2},
    {0x01AE, 0x01AE, 218, 1},
    {0x01AF, 0x01B0, 1, 2},
    {0x01B1, 0x01B2, 217, 1},
    {0x01B3, 0x01B6, 1, 2},
    {0x01B7, 0x01B7, 219, 1},
    {0x01B8, 0x01B9, 1, 2},
    {0x01BA, 0x01BB, 0, 0},
    {0x01BC, 0x01BD, 1, 2},
    {0x01BE, 0x01C3, 0, 0},
    {0x01C4, 0x01C4, 5378, 3},
    {0x01C5, 0x01C5, 5890, 3},
    {0x01C6, 0x01C6, 6402, 3},
    {0x01C7, 0x01C7, 6914, 3},
    {0x01C8, 0x01C8, 7426, 3},
    {0x01C9, 0x01C9, 7938, 3},
    {0x01CA, 0x01CA, 8450, 3},
    {0x01CB, 0x01CB, 8962, 3},
    {0x01CC, 0x01CC, 9474, 3},
    {0x01CD, 0x01DC, 1, 2},
    {0x01DD, 0x01DD, 0, 0},
    {0x01DE, 0x01EF, 1, 2},
    {0x01F0, 0x01F0, 0, 0},
    {0x01F1, 0x01F1, 9986, 3},
    {0x01F2, 0x01F2, 10498, 3},
    {0x01F3, 0x01F3, 11010, 3},
    {0x01F4, 0x01F5, 1, 2},
    {0x01F6, 0x01F6, -97, 1},
    {0x01F7, 0x01F7, -56, 1},
    {0x01F8, 0x021F, 1, 2},
    {0x0220, 0x0220, -130, 1},
    {0x0221, 0x0221, 0, 0},
    {0x0222, 0x0233, 1, 2},
    {0x0234, 0x0239, 0, 0},
    {0x023A, 0x023A, 10795, 1},
    {0x023B, 0x023C, 1, 2},
    {0x023D, 0x023D, -163, 1},
    {0x023E, 0x023E, 10792, 1},
    {0x023F, 0x0240, 0, 0},
    {0x0241, 0x0242, 1, 2},
    {0x0243, 0x0243, -195, 1},
    {0x0244, 0x0244, 69, 1},
    {0x0245, 0x0245, 71, 1},
    {0x0246, 0x024F, 1, 2},
    {0x0250, 0x02AF, 0, 0},
    {0x02B0, 0x02B0, -584, 1},
    {0x02B1, 0x02B1, -75, 1},
    {0x02B2, 0x02B2, -584, 1},
    {0x02B3, 0x02B3, -577, 1},
    {0x02B4, 0x02B4, -59, 1},
    {0x02B5, 0x02B5, -58, 1},
    {0x02B6, 0x02B6, -53, 1},
    {0x02B7, 0x02B7, -576, 1},
    {0x02B8, 0x02B8, -575, 1},
    {0x02B9, 0x02D7, 0, 0},
    {0x02DE, 0x02DF, 0, 0},
    {0x02E0, 0x02E0, -125, 1},
    {0x02E1, 0x02E1, -629, 1},
    {0x02E2, 0x02E2, -623, 1},
    {0x02E3, 0x02E3, -619, 1},
    {0x02E4, 0x02E4, -79, 1},
    {0x02E5, 0x02FF, 0, 0},
    {0x0300, 0x033F, 0, 5},
    {0x0342, 0x0342, 0, 5},
    {0x0345, 0x0345, 116, 1},
    {0x0346, 0x034E, 0, 5},
    {0x034F, 0x034F, 0, 4},
    {0x0350, 0x036F, 0, 5},
    {0x0370, 0x0373, 1, 2},
    {0x0374, 0x0374, -187, 1},
    {0x0375, 0x0375, 0, 0},
    {0x0376, 0x0377, 1, 2},
    {0x037B, 0x037D, 0, 0},
    {0x037E, 0x037E, -835, 1},
    {0x037F, 0x037F, 116, 1},
    {0x0386, 0x0386, 38, 1},
    {0x0387, 0x0387, -720, 1},
    {0x0388, 0x038A, 37, 1},
    {0x038C, 0x038C, 64, 1},
    {0x038E, 0x038F, 63, 1},
    {0x0390, 0x0390, 0, 0},
    {0x0391, 0x03A1, 32, 1},
    {0x03A3, 0x03AB, 32, 1},
    {0x03AC, 0x03CE, 0, 0},
    {0x03CF, 0x03CF, 8, 1},
    {0x03D0, 0x03D0, -30, 1},
    {0x03D1, 0x03D1, -25, 1},
    {0x03D2, 0x03D2, -13, 1},
    {0x03D3, 0x03D3, -6, 1},
    {0x03D4, 0x03D4, -9, 1},
    {0x03D5, 0x03D5, -15, 1},
    {0x03D6, 0x03D6, -22, 1},
    {0x03D7, 0x03D7, 0, 0},
    {0x03D8, 0x03EF, 1, 2},
    {0x03F0, 0x03F0, -54, 1},
    {0x03F1, 0x03F1, -48, 1},
    {0x03F2, 0x03F2, -47, 1},
    {0x03F3, 0x03F3, 0, 0},
    {0x03F4, 0x03F4, -60, 1},
    {0x03F5, 0x03F5, -64, 1},
    {0x03F6, 0x03F6, 0, 0},
    {0x03F7, 0x03F8, 1, 2},
    {0x03F9, 0x03F9, -54, 1},
    {0x03FA, 0x03FB, 1, 2},
    {0x03FC, 0x03FC, 0, 0},
    {0x03FD, 0x03FF, -130, 1},
    {0x0400, 0x040F, 80, 1},
    {0x0410, 0x042F, 32, 1},
    {0x0430, 0x045F, 0, 0},
    {0x0460, 0x0481, 1, 2},
    {0x0482, 0x0482, 0, 0},
    {0x0483, 0x0489, 0, 5},
    {0x048A, 0x04BF, 1, 2},
    {0x04C1, 0x04CE, 1, 2},
    {0x04CF, 0x04CF, 0, 0},
    {0x04D0, 0x052F, 1, 2},
    {0x0531, 0x0556, 48, 1},
    {0x0559, 0x0586, 0, 0},
    {0x0587, 0x0587, 11522, 3},
    {0x0588, 0x058A, 0, 0},
    {0x058D, 0x058F, 0, 0},
    {0x10C7, 0x10C7, 7264, 1},
    {0x10CD, 0x10CD, 7264, 1},
    {0x10D0, 0x10FB, 0, 0},
    {0x10FC, 0x10FC, -32, 1},
    {0x10FD, 0x10FF, 0, 0},
    {0x1200, 0x1248, 0, 0},
    {0x124A, 0x124D, 0, 0},
    {0x1250, 0x1256, 0, 0},
    {0x1258, 0x1258, 0, 0},
    {0x125A, 0x125D, 0, 0},
    {0x1260, 0x1288, 0, 0},
    {0x128A, 0x128D, 0, 0},
    {0x1290, 0x12B0, 0, 0},
    {0x12B2, 0x12B5, 0, 0},
    {0x12B8, 0x12BE, 0, 0},
    {0x12C0, 0x12C0, 0, 0},
    {0x12C2, 0x12C5, 0, 0},
    {0x12C8, 0x12D6, 0, 0},
    {0x12D8, 0x1310, 0, 0},
    {0x1312, 0x1315, 0, 0},
    {0x1318, 0x135A, 0, 0},
    {0x135D, 0x135F, 0, 5},
    {0x1360, 0x137C, 0, 0},
    {0x1380, 0x1399, 0, 0},
    {0x13A0, 0x13F5, 0, 0},
    {0x13F8, 0x13FD, -8, 1},
    {0x1C80, 0x1C80, -6222, 1},
    {0x1C81, 0x1C81, -6221, 1},
    {0x1C82, 0x1C82, -6212, 1},
    {0x1C83, 0x1C84, -6210, 1},
    {0x1C85, 0x1C85, -6211, 1},
    {0x1C86, 0x1C86, -6204, 1},
    {0x1C87, 0x1C87, -6180, 1},
    {0x1C88, 0x1C88, 35267, 1},
    {0x1C90, 0x1CBA, -3008, 1},
    {0x1CBD, 0x1CBF, -3008, 1},
    {0x1D00, 0x1D2B, 0, 0},
    {0x1D2C, 0x1D2C, -7371, 1},
    {0x1D2D, 0x1D2D, -7239, 1},
    {0x1D2E, 0x1D2E, -7372, 1},
    {0x1D2F, 0x1D2F, 0, 0},
    {0x1D30, 0x1D31, -7372, 1},
    {0x1D32, 0x1D32, -6997, 1},
    {0x1D33, 0x1D3A, -7372, 1},
    {0x1D3B, 0x1D3B, 0, 0},
    {0x1D3C, 0x1D3C, -7373, 1},
    {0x1D3D, 0x1D3D, -6938, 1},
    {0x1D3E, 0x1D3E, -7374, 1},
    {0x1D3F, 0x1D3F, -7373, 1},
    {0x1D40, 0x1D41, -7372, 1},
    {0x1D42, 0x1D42, -7371, 1},
    {0x1D43, 0x1D43, -7394, 1},
    {0x1D44, 0x1D45, -6900, 1},
    {0x1D46, 0x1D46, -68, 1},
    {0x1D47, 0x1D47, -7397, 1},
    {0x1D48, 0x1D49, -7396, 1},
    {0x1D4A, 0x1D4A, -6897, 1},
    {0x1D4B, 0x1D4C, -6896, 1},
    {0x1D4D, 0x1D4D, -7398, 1},
    {0x1D4E, 0x1D4E, 0, 0},
    {0x1D4F, 0x1D4F, -7396, 1},
    {0x1D50, 0x1D50, -7395, 1},
    {0x1D51, 0x1D51, -7174, 1},
    {0x1D52, 0x1D52, -7395, 1},
    {0x1D53, 0x1D53, -6911, 1},
    {0x1D54, 0x1D55, -62, 1},
    {0x1D56, 0x1D56, -7398, 1},
    {0x1D57, 0x1D58, -7395, 1},
    {0x1D59, 0x1D59, -60, 1},
    {0x1D5A, 0x1D5A, -6891, 1},
    {0x1D5B, 0x1D5B, -7397, 1},
    {0x1D5C, 0x1D5C, -55, 1},
    {0x1D5D, 0x1D5F, -6571, 1},
    {0x1D60, 0x1D61, -6554, 1},
    {0x1D62, 0x1D62, -7417, 1},
    {0x1D63, 0x1D63, -7409, 1},
    {0x1D64, 0x1D65, -7407, 1},
    {0x1D66, 0x1D67, -6580, 1},
    {0x1D68, 0x1D68, -6567, 1},
    {0x1D69, 0x1D6A, -6563, 1},
    {0x1D6B, 0x1D77, 0, 0},
    {0x1D78, 0x1D78, -6459, 1},
    {0x1D79, 0x1D9A, 0, 0},
    {0x1D9B, 0x1D9B, -6985, 1},
    {0x1D9C, 0x1D9C, -7481, 1},
    {0x1D9D, 0x1D9D, -6984, 1},
    {0x1D9E, 0x1D9E, -7342, 1},
    {0x1D9F, 0x1D9F, -6979, 1},
    {0x1DA0, 0x1DA0, -7482, 1},
    {0x1DA1, 0x1DA1, -6978, 1},
    {0x1DA2, 0x1DA2, -6977, 1},
    {0x1DA3, 0x1DA3, -6974, 1},
    {0x1DA4, 0x1DA6, -6972, 1},
    {0x1DA7, 0x1DA7, -44, 1},
    {0x1DA8, 0x1DA8, -6923, 1},
    {0x1DA9, 0x1DA9, -6972, 1},
    {0x1DAA, 0x1DAA, -37, 1},
    {0x1DAB, 0x1DAB, -6924, 1},
    {0x1DAC, 0x1DAC, -6971, 1},
    {0x1DAD, 0x1DAD, -6973, 1},
    {0x1DAE, 0x1DB1, -6972, 1},
    {0x1DB2, 0x1DB2, -6970, 1},
    {0x1DB3, 0x1DB4, -6961, 1},
    {0x1DB5, 0x1DB5, -7178, 1},
    {0x1DB6, 0x1DB7, -6957, 1},
    {0x1DB8, 0x1DB8, -156, 1},
    {0x1DB9, 0x1DBA, -6958, 1},
    {0x1DBB, 0x1DBB, -7489, 1},
    {0x1DBC, 0x1DBE, -6956, 1},
    {0x1DBF, 0x1DBF, -6663, 1},
    {0x1E00, 0x1E95, 1, 2},
    {0x1E96, 0x1E99, 0, 0},
    {0x1E9A, 0x1E9A, 12034, 3},
    {0x1E9B, 0x1E9B, -58, 1},
    {0x1E9C, 0x1E9D, 0, 0},
    {0x1E9E, 0x1E9E, 12546, 3},
    {0x1E9F, 0x1E9F, 0, 0},
    {0x1EA0, 0x1EFF, 1, 2},
    {0x1F00, 0x1F07, 0, 0},
    {0x1F08, 0x1F0F, -8, 1},
    {0x1F10, 0x1F15, 0, 0},
    {0x1F18, 0x1F1D, -8, 1},
    {0x1F20, 0x1F27, 0, 0},
    {0x1F28, 0x1F2F, -8, 1},
    {0x1F30, 0x1F37, 0, 0},
    {0x1F38, 0x1F3F, -8, 1},
    {0x1F40, 0x1F45, 0, 0},
    {0x1F48, 0x1F4D, -8, 1},
    {0x1F50, 0x1F57, 0, 0},
    {0x1F59, 0x1F59, -8, 1},
    {0x1F5B, 0x1F5B, -8, 1},
    {0x1F5D, 0x1F5D, -8, 1},
    {0x1F5F, 0x1F5F, -8, 1},
    {0x1F60, 0x1F67, 0, 0},
    {0x1F68, 0x1F6F, -8, 1},
    {0x1F70, 0x1F70, 0, 0},
    {0x1F71, 0x1F71, -7109, 1},
    {0x1F72, 0x1F72, 0, 0},
    {0x1F73, 0x1F73, -7110, 1},
    {0x1F74, 0x1F74, 0, 0},
    {0x1F75, 0x1F75, -7111, 1},
    {0x1F76, 0x1F76, 0, 0},
    {0x1F77, 0x1F77, -7112, 1},
    {0x1F78, 0x1F78, 0, 0},
    {0x1F79, 0x1F79, -7085, 1},
    {0x1F7A, 0x1F7A, 0, 0},
    {0x1F7B, 0x1F7B, -7086, 1},
    {0x1F7C, 0x1F7C, 0, 0},
    {0x1F7D, 0x1F7D, -7087, 1},
    {0x1F80, 0x1F80, 13058, 3},
    {0x1F81, 0x1F81, 13570, 3},
    {0x1F82, 0x1F82, 14082, 3},
    {0x1F83, 0x1F83, 14594, 3},
    {0x1F84, 0x1F84, 15106, 3},
    {0x1F85, 0x1F85, 15618, 3},
    {0x1F86, 0x1F86, 16130, 3},
    {0x1F87, 0x1F87, 16642, 3},
    {0x1F88, 0x1F88, 17154, 3},
    {0x1F89, 0x1F89, 17666, 3},
    {0x1F8A, 0x1F8A, 18178, 3},
    {0x1F8B, 0x1F8B, 18690, 3},
    {0x1F8C, 0x1F8C, 19202, 3},
    {0x1F8D, 0x1F8D, 19714, 3},
    {0x1F8E, 0x1F8E, 20226, 3},
    {0x1F8F, 0x1F8F, 20738, 3},
    {0x1F90, 0x1F90, 21250, 3},
    {0x1F91, 0x1F91, 21762, 3},
    {0x1F92, 0x1F92, 22274, 3},
    {0x1F93, 0x1F93, 22786, 3},
    {0x1F94, 0x1F94, 23298, 3},
    {0x1F95, 0x1F95, 23810, 3},
    {0x1F96, 0x1F96, 24322, 3},
    {0x1F97, 0x1F97, 24834, 3},
    {0x1F98, 0x1F98, 25346, 3},
    {0x1F99, 0x1F99, 25858, 3},
    {0x1F9A, 0x1F9A, 26370, 3},
    {0x1F9B, 0x1F9B, 26882, 3},
    {0x1F9C, 0x1F9C, 27394, 3},
    {0x1F9D, 0x1F9D, 27906, 3},
    {0x1F9E, 0x1F9E, 28418, 3},
    {0x1F9F, 0x1F9F, 28930, 3},
    {0x1FA0, 0x1FA0, 29442, 3},
    {0x1FA1, 0x1FA1, 29954, 3},
    {0x1FA2, 0x1FA2, 30466, 3},
    {0x1FA3, 0x1FA3, 30978, 3},
    {0x1FA4, 0x1FA4, 31490, 3},
    {0x1FA5, 0x1FA5, 32002, 3},
    {0x1FA6, 0x1FA6, 32514, 3},
    {0x1FA7, 0x1FA7, 33026, 3},
    {0x1FA8, 0x1FA8, 33538, 3},
    {0x1FA9, 0x1FA9, 34050, 3},
    {0x1FAA, 0x1FAA, 34562, 3},
    {0x1FAB, 0x1FAB, 35074, 3},
    {0x1FAC, 0x1FAC, 35586, 3},
    {0x1FAD, 0x1FAD, 36098, 3},
    {0x1FAE, 0x1FAE, 36610, 3},
    {0x1FAF, 0x1FAF, 37122, 3},
    {0x1FB0, 0x1FB1, 0, 0},
    {0x1FB2, 0x1FB2, 37634, 3},
    {0x1FB3, 0x1FB3, 38146, 3},
    {0x1FB4, 0x1FB4, 38658, 3},
    {0x1FB6, 0x1FB6, 0, 0},
    {0x1FB7, 0x1FB7, 39170, 3},
    {0x1FB8, 0x1FB9, -8, 1},
    {0x1FBA, 0x1FBA, -74, 1},
    {0x1FBB, 0x1FBB, -7183, 1},
    {0x1FBC, 0x1FBC, 39682, 3},
    {0x1FBE, 0x1FBE, -7173, 1},
    {0x1FC2, 0x1FC2, 40194, 3},
    {0x1FC3, 0x1FC3, 40706, 3},
    {0x1FC4, 0x1FC4, 41218, 3},
    {0x1FC6, 0x1FC6, 0, 0},
    {0x1FC7, 0x1FC7, 41730, 3},
    {0x1FC8, 0x1FC8, -86, 1},
    {0x1FC9, 0x1FC9, -7196, 1},
    {0x1FCA, 0x1FCA, -86, 1},
    {0x1FCB, 0x1FCB, -7197, 1},
    {0x1FCC, 0x1FCC, 42242, 3},
    {0x1FD0, 0x1FD2, 0, 0},
    {0x1FD3, 0x1FD3, -7235, 1},
    {0x1FD6, 0x1FD7, 0, 0},
    {0x1FD8, 0x1FD9, -8, 1},
    {0x1FDA, 0x1FDA, -100, 1},
    {0x1FDB, 0x1FDB, -7212, 1},
    {0x1FE0, 0x1FE2, 0, 0},
    {0x1FE3, 0x1FE3, -7219, 1},
    {0x1FE4, 0x1FE7, 0, 0},
    {0x1FE8, 0x1FE9, -8, 1},
    {0x1FEA, 0x1FEA, -112, 1},
    {0x1FEB, 0x1FEB, -7198, 1},
    {0x1FEC, 0x1FEC, -7, 1},
    {0x1FEF, 0x1FEF, -8079, 1},
    {0x1FF2, 0x1FF2, 42754, 3},
    {0x1FF3, 0x1FF3, 43266, 3},
    {0x1FF4, 0x1FF4, 43778, 3},
    {0x1FF6, 0x1FF6, 0, 0},
    {0x1FF7, 0x1FF7, 44290, 3},
    {0x1FF8, 0x1FF8, -128, 1},
    {0x1FF9, 0x1FF9, -7213, 1},
    {0x1FFA, 0x1FFA, -126, 1},
    {0x1FFB, 0x1FFB, -7213, 1},
    {0x1FFC, 0x1FFC, 44802, 3},
    {0x200B, 0x200B, 0, 4},
    {0x2010, 0x2010, 0, 0},
    {0x2011, 0x2011, -1, 1},
    {0x2012, 0x2016, 0, 0},
    {0x2018, 0x2023, 0, 0},
    {0x2027, 0x2027, 0, 0},
    {0x2030, 0x2032, 0, 0},
    {0x2033, 0x2033, 45314, 3},
    {0x2034, 0x2034, 45827, 3},
    {0x2035, 0x2035, 0, 0},
    {0x2036, 0x2036, 46594, 3},
    {0x2037, 0x2037, 47107, 3},
    {0x2038, 0x203B, 0, 0},
    {0x203C, 0x203C, 47874, 3},
    {0x203D, 0x203D, 0, 0},
    {0x203F, 0x2046, 0, 0},
    {0x204A, 0x2056, 0, 0},
    {0x2057, 0x2057, 48388, 3},
    {0x2058, 0x205E, 0, 0},
    {0x2060, 0x2060, 0, 4},
    {0x2064, 0x2064, 0, 4},
    {0x2070, 0x2070, -8256, 1},
    {0x2071, 0x2071, -8200, 1},
    {0x2074, 0x2079, -8256, 1},
    {0x207A, 0x207A, -8271, 1},
    {0x207B, 0x207B, 407, 1},
    {0x207C, 0x207C, -8255, 1},
    {0x207D, 0x207E, -8277, 1},
    {0x207F, 0x207F, -8209, 1},
    {0x2080, 0x2089, -8272, 1},
    {0x208A, 0x208A, -8287, 1},
    {0x208B, 0x208B, 391, 1},
    {0x208C, 0x208C, -8271, 1},
    {0x208D, 0x208E, -8293, 1},
    {0x2090, 0x2090, -8239, 1},
    {0x2091, 0x2091, -8236, 1},
    {0x2092, 0x2092, -8227, 1},
    {0x2093, 0x2093, -8219, 1},
    {0x2094, 0x2094, -7739, 1},
    {0x2095, 0x2095, -8237, 1},
    {0x2096, 0x2099, -8235, 1},
    {0x209A, 0x209A, -8234, 1},
    {0x209B, 0x209C, -8232, 1},
    {0x20A0, 0x20A7, 0, 0},
    {0x20A8, 0x20A8, 49410, 3},
    {0x20A9, 0x20C0, 0, 0},
    {0x20D0, 0x20F0, 0, 5},
    {0x2102, 0x2102, -8351, 1},
    {0x2103, 0x2103, 49922, 3},
    {0x2104, 0x2104, 0, 0},
    {0x2107, 0x2107, -7852, 1},
    {0x2108, 0x2108, 0, 0},
    {0x2109, 0x2109, 50434, 3},
    {0x210A, 0x210B, -8355, 1},
    {0x210C, 0x210C, -8356, 1},
    {0x210D, 0x210D, -8357, 1},
    {0x210E, 0x210E, -8358, 1},
    {0x210F, 0x210F, -8168, 1},
    {0x2110, 0x2110, -8359, 1},
    {0x2111, 0x2111, -8360, 1},
    {0x2112, 0x2112, -8358, 1},
    {0x2113, 0x2113, -8359, 1},
    {0x2114, 0x2114, 0, 0},
    {0x2115, 0x2115, -8359, 1},
    {0x2116, 0x2116, 50946, 3},
    {0x2117, 0x2118, 0, 0},
    {0x2119, 0x211B, -8361, 1},
    {0x211C, 0x211C, -8362, 1},
    {0x211D, 0x211D, -8363, 1},
    {0x211E, 0x211F, 0, 0},
    {0x2120, 0x2120, 51458, 3},
    {0x2121, 0x2121, 51971, 3},
    {0x2122, 0x2122, 52738, 3},
    {0x2123, 0x2123, 0, 0},
    {0x2124, 0x2124, -8362, 1},
    {0x2125, 0x2125, 0, 0},
    {0x2126, 0x2126, -7517, 1},
    {0x2127, 0x2127, 0, 0},
    {0x2128, 0x2128, -8366, 1},
    {0x2129, 0x2129, 0, 0},
    {0x212A, 0x212A, -8383, 1},
    {0x212B, 0x212B, -8262, 1},
    {0x212C, 0x212D, -8394, 1},
    {0x212E, 0x212E, 0, 0},
    {0x212F, 0x212F, -8394, 1},
    {0x2130, 0x2131, -8395, 1},
    {0x2133, 0x2133, -8390, 1},
    {0x2134, 0x2134, -8389, 1},
    {0x2139, 0x2139, -8400, 1},
    {0x213A, 0x213A, 0, 0},
    {0x213B, 0x213B, 53251, 3},
    {0x213C, 0x213C, -7548, 1},
    {0x213D, 0x213D, -7562, 1},
    {0x213E, 0x213E, -7563, 1},
    {0x213F, 0x213F, -7551, 1},
    {0x2140, 0x2140, 209, 1},
    {0x2141, 0x2144, 0, 0},
    {0x2145, 0x2145, -8417, 1},
    {0x2146, 0x2147, -8418, 1},
    {0x2148, 0x2149, -8415, 1},
    {0x214A, 0x214F, 0, 0},
    {0x2150, 0x2150, 54019, 3},
    {0x2151, 0x2151, 54787, 3},
    {0x2152, 0x2152, 55556, 3},
    {0x2153, 0x2153, 56579, 3},
    {0x2154, 0x2154, 57347, 3},
    {0x2155, 0x2155, 58115, 3},
    {0x2156, 0x2156, 58883, 3},
    {0x2157, 0x2157, 59651, 3},
    {0x2158, 0x2158, 60419, 3},
    {0x2159, 0x2159, 61187, 3},
    {0x215A, 0x215A, 61955, 3},
    {0x215B, 0x215B, 62723, 3},
    {0x215C, 0x215C, 63491, 3},
    {0x215D, 0x215D, 64259, 3},
    {0x215E, 0x215E, 65027, 3},
    {0x215F, 0x215F, 65794, 3},
    {0x2160, 0x2160, -8439, 1},
    {0x2161, 0x2161, 66306, 3},
    {0x2162, 0x2162, 66819, 3},
    {0x2163, 0x2163, 67586, 3},
    {0x2164, 0x2164, -8430, 1},
    {0x2165, 0x2165, 68098, 3},
    {0x2166, 0x2166, 68611, 3},
    {0x2167, 0x2167, 69380, 3},
    {0x2168, 0x2168, 70402, 3},
    {0x2169, 0x2169, -8433, 1},
    {0x216A, 0x216A, 70914, 3},
    {0x216B, 0x216B, 71427, 3},
    {0x216C, 0x216C, -8448, 1},
    {0x216D, 0x216E, -8458, 1},
    {0x216F, 0x216F, -8450, 1},
    {0x2170, 0x2170, -8455, 1},
    {0x2171, 0x2171, 72194, 3},
    {0x2172, 0x2172, 72707, 3},
    {0x2173, 0x2173, 73474, 3},
    {0x2174, 0x2174, -8446, 1},
    {0x2175, 0x2175, 73986, 3},
    {0x2176, 0x2176, 74499, 3},
    {0x2177, 0x2177, 75268, 3},
    {0x2178, 0x2178, 76290, 3},
    {0x2179, 0x2179, -8449, 1},
    {0x217A, 0x217A, 76802, 3},
    {0x217B, 0x217B, 77315, 3},
    {0x217C, 0x217C, -8464, 1},
    {0x217D, 0x217E, -8474, 1},
    {0x217F, 0x217F, -8466, 1},
    {0x2180, 0x2182, 0, 0},
    {0x2184, 0x2188, 0, 0},
    {0x2189, 0x2189, 78083, 3},
    {0x218A, 0x218B, 0, 0},
    {0x2190, 0x222B, 0, 0},
    {0x222C, 0x222C, 78850, 3},
    {0x222D, 0x222D, 79363, 3},
    {0x222E, 0x222E, 0, 0},
    {0x222F, 0x222F, 80130, 3},
    {0x2230, 0x2230, 80643, 3},
    {0x2231, 0x2328, 0, 0},
    {0x2329, 0x232A, 3295, 1},
    {0x232B, 0x2426, 0, 0},
    {0x2440, 0x244A, 0, 0},
    {0x2460, 0x2468, -9263, 1},
    {0x2469, 0x2469, 81410, 3},
    {0x246A, 0x246A, 81922, 3},
    {0x246B, 0x246B, 82434, 3},
    {0x246C, 0x246C, 82946, 3},
    {0x246D, 0x246D, 83458, 3},
    {0x246E, 0x246E, 83970, 3},
    {0x246F, 0x246F, 84482, 3},
    {0x2470, 0x2470, 84994, 3},
    {0x2471, 0x2471, 85506, 3},
    {0x2472, 0x2472, 86018, 3},
    {0x2473, 0x2473, 86530, 3},
    {0x2474, 0x2474, 87043, 3},
    {0x2475, 0x2475, 87811, 3},
    {0x2476, 0x2476, 88579, 3},
    {0x2477, 0x2477, 89347, 3},
    {0x2478, 0x2478, 90115, 3},
    {0x2479, 0x2479, 90883, 3},
    {0x247A, 0x247A, 91651, 3},
    {0x247B, 0x247B, 92419, 3},
    {0x247C, 0x247C, 93187, 3},
    {0x247D, 0x247D, 93956, 3},
    {0x247E, 0x247E, 94980, 3},
    {0x247F, 0x247F, 96004, 3},
    {0x2480, 0x2480, 97028, 3},
    {0x2481, 0x2481, 98052, 3},
    {0x2482, 0x2482, 99076, 3},
    {0x2483, 0x2483, 100100, 3},
    {0x2484, 0x2484, 101124, 3},
    {0x2485, 0x2485, 102148, 3},
    {0x2486, 0x2486, 103172, 3},
    {0x2487, 0x2487, 104196, 3},
    {0x249C, 0x249C, 105219, 3},
    {0x249D, 0x249D, 105987, 3},
    {0x249E, 0x249E, 106755, 3},
    {0x249F, 0x249F, 107523, 3},
    {0x24A0, 0x24A0, 108291, 3},
    {0x24A1, 0x24A1, 109059, 3},
    {0x24A2, 0x24A2, 109827, 3},
    {0x24A3, 0x24A3, 110595, 3},
    {0x24A4, 0x24A4, 111363, 3},
    {0x24A5, 0x24A5, 112131, 3},
    {0x24A6, 0x24A6, 112899, 3},
    {0x24A7, 0x24A7, 113667, 3},
    {0x24A8, 0x24A8, 114435, 3},
    {0x24A9, 0x24A9, 115203, 3},
    {0x24AA, 0x24AA, 115971, 3},
    {0x24AB, 0x24AB, 116739, 3},
    {0x24AC, 0x24AC, 117507, 3},
    {0x24AD, 0x24AD, 118275, 3},
    {0x24AE, 0x24AE, 119043, 3},
    {0x24AF, 0x24AF, 119811, 3},
    {0x24B0, 0x24B0, 120579, 3},
    {0x24B1, 0x24B1, 121347, 3},
    {0x24B2, 0x24B2, 122115, 3},
    {0x24B3, 0x24B3, 122883, 3},
    {0x24B4, 0x24B4, 123651, 3},
    {0x24B5, 0x24B5, 124419, 3},
    {0x24B6, 0x24CF, -9301, 1},
    {0x24D0, 0x24E9, -9327, 1},
    {0x24EA, 0x24EA, -9402, 1},
    {0x24EB, 0x2A0B, 0, 0},
    {0x2A0C, 0x2A0C, 125188, 3},
    {0x2A0D, 0x2A73, 0, 0},
    {0x2A75, 0x2A75, 126210, 3},
    {0x2A76, 0x2A76, 126723, 3},
    {0x2A77, 0x2ADB, 0, 0},
    {0x2ADC, 0x2ADC, 127490, 3},
    {0x2ADD, 0x2B73, 0, 0},
    {0x2B76, 0x2B95, 0, 0},
    {0x2B97, 0x2BFF, 0, 0},
    {0x2C00, 0x2C2F, 48, 1},
    {0x2C30, 0x2C5F, 0, 0},
    {0x2C60, 0x2C61, 1, 2},
    {0x2C62, 0x2C62, -10743, 1},
    {0x2C63, 0x2C63, -3814, 1},
    {0x2C64, 0x2C64, -10727, 1},
    {0x2C65, 0x2C66, 0, 0},
    {0x2C67, 0x2C6C, 1, 2},
    {0x2C6D, 0x2C6D, -10780, 1},
    {0x2C6E, 0x2C6E, -10749, 1},
    {0x2C6F, 0x2C6F, -10783, 1},
    {0x2C70, 0x2C70, -10782, 1},
    {0x2C71, 0x2C71, 0, 0},
    {0x2C72, 0x2C73, 1, 2},
    {0x2C74, 0x2C74, 0, 0},
    {0x2C75, 0x2C76, 1, 2},
    {0x2C77, 0x2C7B, 0, 0},
    {0x2C7C, 0x2C7C, -11282, 1},
    {0x2C7D, 0x2C7D, -11271, 1},
    {0x2C7E, 0x2C7F, -10815, 1},
    {0x2D00, 0x2D25, 0, 0},
    {0x2D27, 0x2D27, 0, 0},
    {0x2D2D, 0x2D2D, 0, 0},
    {0x3001, 0x3001, 0, 0},
    {0x3002, 0x3002, -12244, 1},
    {0x3003, 0x3029, 0, 0},
    {0x302A, 0x302F, 0, 5},
    {0x3030, 0x3035, 0, 0},
    {0x3036, 0x3036, -36, 1},
    {0x3037, 0x3037, 0, 0},
    {0x3038, 0x3038, 8969, 1},
    {0x3039, 0x303A, 8971, 1},
    {0x303B, 0x303F, 0, 0},
    {0x3041, 0x3096, 0, 0},
    {0x3099, 0x309A, 0, 5},
    {0x309D, 0x309E, 0, 0},
    {0x309F, 0x309F, 128002, 3},
    {0x30A0, 0x30FE, 0, 0},
    {0x30FF, 0x30FF, 128514, 3},
    {0x3105, 0x312F, 0, 0},
    {0x31F0, 0x31FF, 0, 0},
    {0x3400, 0x4DBF, 0, 0},
    {0x4E00, 0x9FFF, 0, 0},
    {0xA640, 0xA66D, 1, 2},
    {0xA66E, 0xA66E, 0, 0},
    {0xA66F, 0xA672, 0, 5},
    {0xA673, 0xA673, 0, 0},
    {0xA674, 0xA67D, 0, 5},
    {0xA67E, 0xA67F, 0, 0},
    {0xA680, 0xA69B, 1, 2},
    {0xA69C, 0xA69C, -41554, 1},
    {0xA69D, 0xA69D, -41553, 1},
    {0xA69E, 0xA69F, 0, 5},
    {0xA720, 0xA721, 0, 0},
    {0xA722, 0xA72F, 1, 2},
    {0xA730, 0xA731, 0, 0},
    {0xA732, 0xA76F, 1, 2},
    {0xA770, 0xA770, -1, 1},
    {0xA771, 0xA778, 0, 0},
    {0xA779, 0xA77C, 1, 2},
    {0xA77D, 0xA77D, -35332, 1},
    {0xA77E, 0xA787, 1, 2},
    {0xA788, 0xA78A, 0, 0},
    {0xA78B, 0xA78C, 1, 2},
    {0xA78D, 0xA78D, -42280, 1},
    {0xA78E, 0xA78F, 0, 0},
    {0xA790, 0xA793, 1, 2},
    {0xA794, 0xA795, 0, 0},
    {0xA796, 0xA7A9, 1, 2},
    {0xA7AA, 0xA7AA, -42308, 1},
    {0xA7AB, 0xA7AB, -42319, 1},
    {0xA7AC, 0xA7AC, -42315, 1},
    {0xA7AD, 0xA7AD, -42305, 1},
    {0xA7AE, 0xA7AE, -42308, 1},
    {0xA7AF, 0xA7AF, 0, 0},
    {0xA7B0, 0xA7B0, -42258, 1},
    {0xA7B1, 0xA7B1, -42282, 1},
    {0xA7B2, 0xA7B2, -42261, 1},
    {0xA7B3, 0xA7B3, 928, 1},
    {0xA7B4, 0xA7C3, 1, 2},
    {0xA7C4, 0xA7C4, -48, 1},
    {0xA7C5, 0xA7C5, -42307, 1},
    {0xA7C6, 0xA7C6, -35384, 1},
    {0xA7C7, 0xA7CA, 1, 2},
    {0xA7D0, 0xA7D1, 1, 2},
    {0xA7D3, 0xA7D3, 0, 0},
    {0xA7D5, 0xA7D5, 0, 0},
    {0xA7D6, 0xA7D9, 1, 2},
    {0xA7F2, 0xA7F2, -42895, 1},
    {0xA7F3, 0xA7F3, -42893, 1},
    {0xA7F4, 0xA7F4, -42883, 1},
    {0xA7F5, 0xA7F6, 1, 2},
    {0xA7F7, 0xA7F7, 0, 0},
    {0xA7F8, 0xA7F8, -42705, 1},
    {0xA7F9, 0xA7F9, -42662, 1},
    {0xA7FA, 0xA7FF, 0, 0},
    {0xAB30, 0xAB5B, 0, 0},
    {0xAB5C, 0xAB5C, -1077, 1},
    {0xAB5D, 0xAB5D, -38, 1},
    {0xAB5E, 0xAB5E, -43251, 1},
    {0xAB5F, 0xAB5F, -13, 1},
    {0xAB60, 0xAB68, 0, 0},
    {0xAB69, 0xAB69, -43228, 1},
    {0xAB6A, 0xAB6B, 0, 0},
    {0xAB70, 0xABBF, -38864, 1},
    {0xAC00, 0xD7A3, 0, 0},
    {0xFB00, 0xFB00, 129026, 3},
    {0xFB01, 0xFB01, 129538, 3},
    {0xFB02, 0xFB02, 130050, 3},
    {0xFB03, 0xFB03, 130563, 3},
    {0xFB04, 0xFB04, 131331, 3},
    {0xFB05, 0xFB05, 132098, 3},
    {0xFB06, 0xFB06, 132610, 3},
    {0xFB13, 0xFB13, 133122, 3},
    {0xFB14, 0xFB14, 133634, 3},
    {0xFB15, 0xFB15, 134146, 3},
    {0xFB16, 0xFB16, 134658, 3},
    {0xFB17, 0xFB17, 135170, 3},
    {0xFE00, 0xFE0F, 0, 4},
    {0xFEFF, 0xFEFF, 0, 4},
    {0xFF01, 0xFF02, -65248, 1},
    {0xFF04, 0xFF04, -65248, 1},
    {0xFF06, 0xFF0E, -65248, 1},
    {0xFF10, 0xFF19, -65248, 1},
    {0xFF1B, 0xFF1B, -65248, 1},
    {0xFF1D, 0xFF1D, -65248, 1},
    {0xFF21, 0xFF3A, -65216, 1},
    {0xFF3F, 0xFF5B, -65248, 1},
    {0xFF5D, 0xFF5E, -65248, 1},
    {0xFF5F, 0xFF60, -54746, 1},
    {0xFF61, 0xFF61, -65331, 1},
    {0xFF62, 0xFF63, -53078, 1},
    {0xFF64, 0xFF64, -53091, 1},
    {0xFF65, 0xFF65, -52842, 1},
    {0xFF66, 0xFF66, -52852, 1},
    {0xFF67, 0xFF67, -52934, 1},
    {0xFF68, 0xFF68, -52933, 1},
    {0xFF69, 0xFF69, -52932, 1},
    {0xFF6A, 0xFF6A, -52931, 1},
    {0xFF6B, 0xFF6B, -52930, 1},
    {0xFF6C, 0xFF6C, -52873, 1},
    {0xFF6D, 0xFF6D, -52872, 1},
    {0xFF6E, 0xFF6E, -52871, 1},
    {0xFF6F, 0xFF6F, -52908, 1},
    {0xFF70, 0xFF70, -52852, 1},
    {0xFF71, 0xFF71, -52943, 1},
    {0xFF72, 0xFF72, -52942, 1},
    {0xFF73, 0xFF73, -52941, 1},
    {0xFF74, 0xFF74, -52940, 1},
    {0xFF75, 0xFF76, -52939, 1},
    {0xFF77, 0xFF77, -52938, 1},
    {0xFF78, 0xFF78, -52937, 1},
    {0xFF79, 0xFF79, -52936, 1},
    {0xFF7A, 0xFF7A, -52935, 1},
    {0xFF7B, 0xFF7B, -52934, 1},
    {0xFF7C, 0xFF7C, -52933, 1},
    {0xFF7D, 0xFF7D, -52932, 1},
    {0xFF7E, 0xFF7E, -52931, 1},
    {0xFF7F, 0xFF7F, -52930, 1},
    {0xFF80, 0xFF80, -52929, 1},
    {0xFF81, 0xFF81, -52928, 1},
    {0xFF82, 0xFF82, -52926, 1},
    {0xFF83, 0xFF83, -52925, 1},
    {0xFF84, 0xFF84, -52924, 1},
    {0xFF85, 0xFF8A, -52923, 1},
    {0xFF8B, 0xFF8B, -52921, 1},
    {0xFF8C, 0xFF8C, -52919, 1},
    {0xFF8D, 0xFF8D, -52917, 1},
    {0xFF8E, 0xFF8E, -52915, 1},
    {0xFF8F, 0xFF93, -52913, 1},
    {0xFF94, 0xFF94, -52912, 1},
    {0xFF95, 0xFF95, -52911, 1},
    {0xFF96, 0xFF9B, -52910, 1},
    {0xFF9C, 0xFF9C, -52909, 1},
    {0xFF9D, 0xFF9D, -52906, 1},
    {0xFFE0, 0xFFE1, -65342, 1},
    {0xFFE2, 0xFFE2, -65334, 1},
    {0xFFE4, 0xFFE4, -65342, 1},
    {0xFFE5, 0xFFE5, -65344, 1},
    {0xFFE6, 0xFFE6, -57149, 1},
    {0xFFE8, 0xFFE8, -56038, 1},
    {0xFFE9, 0xFFEC, -56921, 1},
    {0xFFED, 0xFFED, -55885, 1},
    {0xFFEE, 0xFFEE, -55843, 1},
    {0x1D400, 0x1D419, -119711, 1},
    {0x1D41A, 0x1D433, -119737, 1},
    {0x1D434, 0x1D44D, -119763, 1},
    {0x1D44E, 0x1D454, -119789, 1},
    {0x1D456, 0x1D467, -119789, 1},
    {0x1D468, 0x1D481, -119815, 1},
    {0x1D482, 0x1D49B, -119841, 1},
    {0x1D49C, 0x1D49C, -119867, 1},
    {0x1D49E, 0x1D49F, -119867, 1},
    {0x1D4A2, 0x1D4A2, -119867, 1},
    {0x1D4A5, 0x1D4A6, -119867, 1},
    {0x1D4A9, 0x1D4AC, -119867, 1},
    {0x1D4AE, 0x1D4B5, -119867, 1},
    {0x1D4B6, 0x1D4B9, -119893, 1},
    {0x1D4BB, 0x1D4BB, -119893, 1},
    {0x1D4BD, 0x1D4C3, -119893, 1},
    {0x1D4C5, 0x1D4CF, -119893, 1},
    {0x1D4D0, 0x1D4E9, -119919, 1},
    {0x1D4EA, 0x1D503, -119945, 1},
    {0x1D504, 0x1D505, -119971, 1},
    {0x1D507, 0x1D50A, -119971, 1},
    {0x1D50D, 0x1D514, -119971, 1},
    {0x1D516, 0x1D51C, -119971, 1},
    {0x1D51E, 0x1D537, -119997, 1},
    {0x1D538, 0x1D539, -120023, 1},
    {0x1D53B, 0x1D53E, -120023, 1},
    {0x1D540, 0x1D544, -120023, 1},
    {0x1D546, 0x1D546, -120023, 1},
    {0x1D54A, 0x1D550, -120023, 1},
    {0x1D552, 0x1D56B, -120049, 1},
    {0x1D56C, 0x1D585, -120075, 1},
    {0x1D586, 0x1D59F, -120101, 1},
    {0x1D5A0, 0x1D5B9, -120127, 1},
    {0x1D5BA, 0x1D5D3, -120153, 1},
    {0x1D5D4, 0x1D5ED, -120179, 1},
    {0x1D5EE, 0x1D607, -120205, 1},
    {0x1D608, 0x1D621, -120231, 1},
    {0x1D622, 0x1D63B, -120257, 1},
    {0x1D63C, 0x1D655, -120283, 1},
    {0x1D656, 0x1D66F, -120309, 1},
    {0x1D670, 0x1D689, -120335, 1},
    {0x1D68A, 0x1D6A3, -120361, 1},
    {0x1D6A4, 0x1D6A4, -120179, 1},
    {0x1D6A5, 0x1D6A5, -119918, 1},
    {0x1D6A8, 0x1D6B8, -119543, 1},
    {0x1D6B9, 0x1D6B9, -119553, 1},
    {0x1D6BA, 0x1D6C0, -119543, 1},
    {0x1D6C1, 0x1D6C1, -111802, 1},
    {0x1D6C2, 0x1D6D2, -119569, 1},
    {0x1D6D3, 0x1D6D3, -119568, 1},
    {0x1D6D4, 0x1D6DA, -119569, 1},
    {0x1D6DB, 0x1D6DB, -111833, 1},
    {0x1D6DC, 0x1D6DC, -119591, 1},
    {0x1D6DD, 0x1D6DD, -119589, 1},
    {0x1D6DE, 0x1D6DE, -119588, 1},
    {0x1D6DF, 0x1D6DF, -119577, 1},
    {0x1D6E0, 0x1D6E0, -119583, 1},
    {0x1D6E1, 0x1D6E1, -119585, 1},
    {0x1D6E2, 0x1D6F2, -119601, 1},
    {0x1D6F3, 0x1D6F3, -119611, 1},
    {0x1D6F4, 0x1D6FA, -119601, 1},
    {0x1D6FB, 0x1D6FB, -111860, 1},
    {0x1D6FC, 0x1D70C, -119627, 1},
    {0x1D70D, 0x1D70D, -119626, 1},
    {0x1D70E, 0x1D714, -119627, 1},
    {0x1D715, 0x1D715, -111891, 1},
    {0x1D716, 0x1D716, -119649, 1},
    {0x1D717, 0x1D717, -119647, 1},
    {0x1D718, 0x1D718, -119646, 1},
    {0x1D719, 0x1D719, -119635, 1},
    {0x1D71A, 0x1D71A, -119641, 1},
    {0x1D71B, 0x1D71B, -119643, 1},
    {0x1D71C, 0x1D72C, -119659, 1},
    {0x1D72D, 0x1D72D, -119669, 1},
    {0x1D72E, 0x1D734, -119659, 1},
    {0x1D735, 0x1D735, -111918, 1},
    {0x1D736, 0x1D746, -119685, 1},
    {0x1D747, 0x1D747, -119684, 1},
    {0x1D748, 0x1D74E, -119685, 1},
    {0x1D74F, 0x1D74F, -111949, 1},
    {0x1D750, 0x1D750, -119707, 1},
    {0x1D751, 0x1D751, -119705, 1},
    {0x1D752, 0x1D752, -119704, 1},
    {0x1D753, 0x1D753, -119693, 1},
    {0x1D754, 0x1D754, -119699, 1},
    {0x1D755, 0x1D755, -119701, 1},
    {0x1D756, 0x1D766, -119717, 1},
    {0x1D767, 0x1D767, -119727, 1},
    {0x1D768, 0x1D76E, -119717, 1},
    {0x1D76F, 0x1D76F, -111976, 1},
    {0x1D770, 0x1D780, -119743, 1},
    {0x1D781, 0x1D781, -119742, 1},
    {0x1D782, 0x1D788, -119743, 1},
    {0x1D789, 0x1D789, -112007, 1},
    {0x1D78A, 0x1D78A, -119765, 1},
    {0x1D78B, 0x1D78B, -119763, 1},
    {0x1D78C, 0x1D78C, -119762, 1},
    {0x1D78D, 0x1D78D, -119751, 1},
    {0x1D78E, 0x1D78E, -119757, 1},
    {0x1D78F, 0x1D78F, -119759, 1},
    {0x1D790, 0x1D7A0, -119775, 1},
    {0x1D7A1, 0x1D7A1, -119785, 1},
    {0x1D7A2, 0x1D7A8, -119775, 1},
    {0x1D7A9, 0x1D7A9, -112034, 1},
    {0x1D7AA, 0x1D7BA, -119801, 1},
    {0x1D7BB, 0x1D7BB, -119800, 1},
    {0x1D7BC, 0x1D7C2, -119801, 1},
    {0x1D7C3, 0x1D7C3, -112065, 1},
    {0x1D7C4, 0x1D7C4, -119823, 1},
    {0x1D7C5, 0x1D7C5, -119821, 1},
    {0x1D7C6, 0x1D7C6, -119820, 1},
    {0x1D7C7, 0x1D7C7, -119809, 1},
    {0x1D7C8, 0x1D7C8, -119815, 1},
    {0x1D7C9, 0x1D7C9, -119817, 1},
    {0x1D7CA, 0x1D7CA, -119789, 1},
    {0x1D7CB, 0x1D7CB, -119790, 1},
    {0x1D7CE, 0x1D7D7, -120734, 1},
    {0x1D7D8, 0x1D7E1, -120744, 1},
    {0x1D7E2, 0x1D7EB, -120754, 1},
    {0x1D7EC, 0x1D7F5, -120764, 1},
    {0x1D7F6, 0x1D7FF, -120774, 1},
    {0x1F101, 0x1F101, 135682, 3},
    {0x1F102, 0x1F102, 136194, 3},
    {0x1F103, 0x1F103, 136706, 3},
    {0x1F104, 0x1F104, 137218, 3},
    {0x1F105, 0x1F105, 137730, 3},
    {0x1F106, 0x1F106, 138242, 3},
    {0x1F107, 0x1F107, 138754, 3},
    {0x1F108, 0x1F108, 139266, 3},
    {0x1F109, 0x1F109, 139778, 3},
    {0x1F10A, 0x1F10A, 140290, 3},
    {0x1F10B, 0x1F10F, 0, 0},
    {0x1F110, 0x1F110, 140803, 3},
    {0x1F111, 0x1F111, 141571, 3},
    {0x1F112, 0x1F112, 142339, 3},
    {0x1F113, 0x1F113, 143107, 3},
    {0x1F114, 0x1F114, 143875, 3},
    {0x1F115, 0x1F115, 144643, 3},
    {0x1F116, 0x1F116, 145411, 3},
    {0x1F117, 0x1F117, 146179, 3},
    {0x1F118, 0x1F118, 146947, 3},
    {0x1F119, 0x1F119, 147715, 3},
    {0x1F11A, 0x1F11A, 148483, 3},
    {0x1F11B, 0x1F11B, 149251, 3},
    {0x1F11C, 0x1F11C, 150019, 3},
    {0x1F11D, 0x1F11D, 150787, 3},
    {0x1F11E, 0x1F11E, 151555, 3},
    {0x1F11F, 0x1F11F, 152323, 3},
    {0x1F120, 0x1F120, 153091, 3},
    {0x1F121, 0x1F121, 153859, 3},
    {0x1F122, 0x1F122, 154627, 3},
    {0x1F123, 0x1F123, 155395, 3},
    {0x1F124, 0x1F124, 156163, 3},
    {0x1F125, 0x1F125, 156931, 3},
    {0x1F126, 0x1F126, 157699, 3},
    {0x1F127, 0x1F127, 158467, 3},
    {0x1F128, 0x1F128, 159235, 3},
    {0x1F129, 0x1F129, 160003, 3},
    {0x1F12A, 0x1F12A, 160771, 3},
    {0x1F12B, 0x1F12B, -127176, 1},
    {0x1F12C, 0x1F12C, -127162, 1},
    {0x1F12D, 0x1F12D, 161538, 3},
    {0x1F12E, 0x1F12E, 162050, 3},
    {0x1F12F, 0x1F12F, 0, 0},
    {0x1F130, 0x1F149, -127183, 1},
    {0x1F14A, 0x1F14A, 162562, 3},
    {0x1F14B, 0x1F14B, 163074, 3},
    {0x1F14C, 0x1F14C, 163586, 3},
    {0x1F14D, 0x1F14D, 164098, 3},
    {0x1F14E, 0x1F14E, 164611, 3},
    {0x1F14F, 0x1F14F, 165378, 3},
    {0x1F150, 0x1F169, 0, 0},
    {0x1F16A, 0x1F16A, 165890, 3},
    {0x1F16B, 0x1F16B, 166402, 3},
    {0x1F16C, 0x1F16C, 166914, 3},
    {0x1F16D, 0x1F18F, 0, 0},
    {0x1F190, 0x1F190, 167426, 3},
    {0x1F191, 0x1F1AD, 0, 0},
    {0x1F1E6, 0x1F1FF, 0, 0},
    {0x1F300, 0x1F6D7, 0, 0},
    {0x1F6DC, 0x1F6EC, 0, 0},
    {0x1F6F0, 0x1F6FC, 0, 0},
    {0x1F700, 0x1F776, 0, 0},
    {0x1F77B, 0x1F7D9, 0, 0},
    {0x1F7E0, 0x1F7EB, 0, 0},
    {0x1F7F0, 0x1F7F0, 0, 0},
    {0x1F900, 0x1F9FF, 0, 0},
    {0x1FA70, 0x1FA7C, 0, 0},
    {0x1FA80, 0x1FA88, 0, 0},
    {0x1FA90, 0x1FABD, 0, 0},
    {0x1FABF, 0x1FAC5, 0, 0},
    {0x1FACE, 0x1FADB, 0, 0},
    {0x1FAE0, 0x1FAE8, 0, 0},
    {0x1FAF0, 0x1FAF8, 0, 0},
};
inline constexpr char32_t url_idna_sequences[] = {
    0x0031, 0x2044, 0x0034, 0x0031, 0x2044, 0x0032, 0x0033, 0x2044, 0x0034, 0x0069, 0x0307, 0x0069,
    0x006A, 0x0069, 0x006A, 0x006C, 0x00B7, 0x006C, 0x00B7, 0x02BC, 0x006E, 0x0064, 0x017E, 0x0064,
    0x017E, 0x0064, 0x017E, 0x006C, 0x006A, 0x006C, 0x006A, 0x006C, 0x006A, 0x006E, 0x006A, 0x006E,
    0x006A, 0x006E, 0x006A, 0x0064, 0x007A, 0x0064, 0x007A, 0x0064, 0x007A, 0x0565, 0x0582, 0x0061,
    0x02BE, 0x0073, 0x0073, 0x1F00, 0x03B9, 0x1F01, 0x03B9, 0x1F02, 0x03B9, 0x1F03, 0x03B9, 0x1F04,
    0x03B9, 0x1F05, 0x03B9, 0x1F06, 0x03B9, 0x1F07, 0x03B9, 0x1F00, 0x03B9, 0x1F01, 0x03B9, 0x1F02,
    0x03B9, 0x1F03, 0x03B9, 0x1F04, 0x03B9, 0x1F05, 0x03B9, 0x1F06, 0x03B9, 0x1F07, 0x03B9, 0x1F20,
    0x03B9, 0x1F21, 0x03B9, 0x1F22, 0x03B9, 0x1F23, 0x03B9, 0x1F24, 0x03B9, 0x1F25, 0x03B9, 0x1F26,
    0x03B9, 0x1F27, 0x03B9, 0x1F20, 0x03B9, 0x1F21, 0x03B9, 0x1F22, 0x03B9, 0x1F23, 0x03B9, 0x1F24,
    0x03B9, 0x1F25, 0x03B9, 0x1F26, 0x03B9, 0x1F27, 0x03B9, 0x1F60, 0x03B9, 0x1F61, 0x03B9, 0x1F62,
    0x03B9, 0x1F63, 0x03B9, 0x1F64, 0x03B9, 0x1F65, 0x03B9, 0x1F66, 0x03B9, 0x1F67, 0x03B9, 0x1F60,
    0x03B9, 0x1F61, 0x03B9, 0x1F62, 0x03B9, 0x1F63, 0x03B9, 0x1F64, 0x03B9, 0x1F65, 0x03B9, 0x1F66,
    0x03B9, 0x1F67, 0x03B9, 0x1F70, 0x03B9, 0x03B1, 0x03B9, 0x03AC, 0x03B9, 0x1FB6, 0x03B9, 0x03B1,
    0x03B9, 0x1F74, 0x03B9, 0x03B7, 0x03B9, 0x03AE, 0x03B9, 0x1FC6, 0x03B9, 0x03B7, 0x03B9, 0x1F7C,
    0x03B9, 0x03C9, 0x03B9, 0x03CE, 0x03B9, 0x1FF6, 0x03B9, 0x03C9, 0x03B9, 0x2032, 0x2032, 0x2032,
    0x2032, 0x2032, 0x2035, 0x2035, 0x2035, 0x2035, 0x2035, 0x0021, 0x0021, 0x2032, 0x2032, 0x2032,
    0x2032, 0x0072, 0x0073, 0x00B0, 0x0063, 0x00B0, 0x0066, 0x006E, 0x006F, 0x0073, 0x006D, 0x0074,
    0x0065, 0x006C, 0x0074, 0x006D, 0x0066, 0x0061, 0x0078, 0x0031, 0x2044, 0x0037, 0x0031, 0x2044,
    0x0039, 0x0031, 0x2044, 0x0031, 0x0030, 0x0031, 0x2044, 0x0033, 0x0032, 0x2044, 0x0033, 0x0031,
    0x2044, 0x0035, 0x0032, 0x2044, 0x0035, 0x0033, 0x2044, 0x0035, 0x0034, 0x2044, 0x0035, 0x0031,
    0x2044, 0x0036, 0x0035, 0x2044, 0x0036, 0x0031, 0x2044, 0x0038, 0x0033, 0x2044, 0x0038, 0x0035,
    0x2044, 0x0038, 0x0037, 0x2044, 0x0038, 0x0031, 0x2044, 0x0069, 0x0069, 0x0069, 0x0069, 0x0069,
    0x0069, 0x0076, 0x0076, 0x0069, 0x0076, 0x0069, 0x0069, 0x0076, 0x0069, 0x0069, 0x0069, 0x0069,
    0x0078, 0x0078, 0x0069, 0x0078, 0x0069, 0x0069, 0x0069, 0x0069, 0x0069, 0x0069, 0x0069, 0x0069,
    0x0076, 0x0076, 0x0069, 0x0076, 0x0069, 0x0069, 0x0076, 0x0069, 0x0069, 0x0069, 0x0069, 0x0078,
    0x0078, 0x0069, 0x0078, 0x0069, 0x0069, 0x0030, 0x2044, 0x0033, 0x222B, 0x222B, 0x222B, 0x222B,
    0x222B, 0x222E, 0x222E, 0x222E, 0x222E, 0x222E, 0x0031, 0x0030, 0x0031, 0x0031, 0x0031, 0x0032,
    0x0031, 0x0033, 0x0031, 0x0034, 0x0031, 0x0035, 0x0031, 0x0036, 0x0031, 0x0037, 0x0031, 0x0038,
    0x0031, 0x0039, 0x0032, 0x0030, 0x0028, 0x0031, 0x0029, 0x0028, 0x0032, 0x0029, 0x0028, 0x0033,
    0x0029, 0x0028, 0x0034, 0x0029, 0x0028, 0x0035, 0x0029, 0x0028, 0x0036, 0x0029, 0x0028, 0x0037,
    0x0029, 0x0028, 0x0038, 0x0029, 0x0028, 0x0039, 0x0029, 0x0028, 0x0031, 0x0030, 0x0029, 0x0028,
    0x0031, 0x0031, 0x0029, 0x0028, 0x0031, 0x0032, 0x0029, 0x0028, 0x0031, 0x0033, 0x0029, 0x0028,
    0x0031, 0x0034, 0x0029, 0x0028, 0x0031, 0x0035, 0x0029, 0x0028, 0x0031, 0x0036, 0x0029, 0x0028,
    0x0031, 0x0037, 0x0029, 0x0028, 0x0031, 0x0038, 0x0029, 0x0028, 0x0031, 0x0039, 0x0029, 0x0028,
    0x0032, 0x0030, 0x0029, 0x0028, 0x0061, 0x0029, 0x0028, 0x0062, 0x0029, 0x0028, 0x0063, 0x0029,
    0x0028, 0x0064, 0x0029, 0x0028, 0x0065, 0x0029, 0x0028, 0x0066, 0x0029, 0x0028, 0x0067, 0x0029,
    0x0028, 0x0068, 0x0029, 0x0028, 0x0069, 0x0029, 0x0028, 0x006A, 0x0029, 0x0028, 0x006B, 0x0029,
    0x0028, 0x006C, 0x0029, 0x0028, 0x006D, 0x0029, 0x0028, 0x006E, 0x0029, 0x0028, 0x006F, 0x0029,
    0x0028, 0x0070, 0x0029, 0x0028, 0x0071, 0x0029, 0x0028, 0x0072, 0x0029, 0x0028, 0x0073, 0x0029,
    0x0028, 0x0074, 0x0029, 0x0028, 0x0075, 0x0029, 0x0028, 0x0076, 0x0029, 0x0028, 0x0077, 0x0029,
    0x0028, 0x0078, 0x0029, 0x0028, 0x0079, 0x0029, 0x0028, 0x007A, 0x0029, 0x222B, 0x222B, 0x222B,
    0x222B, 0x003D, 0x003D, 0x003D, 0x003D, 0x003D, 0x2ADD, 0x0338, 0x3088, 0x308A, 0x30B3, 0x30C8,
    0x0066, 0x0066, 0x0066, 0x0069, 0x0066, 0x006C, 0x0066, 0x0066, 0x0069, 0x0066, 0x0066, 0x006C,
    0x0073, 0x0074, 0x0073, 0x0074, 0x0574, 0x0576, 0x0574, 0x0565, 0x0574, 0x056B, 0x057E, 0x0576,
    0x0574, 0x056D, 0x0030, 0x002C, 0x0031, 0x002C, 0x0032, 0x002C, 0x0033, 0x002C, 0x0034, 0x002C,
    0x0035, 0x002C, 0x0036, 0x002C, 0x0037, 0x002C, 0x0038, 0x002C, 0x0039, 0x002C, 0x0028, 0x0061,
    0x0029, 0x0028, 0x0062, 0x0029, 0x0028, 0x0063, 0x0029, 0x0028, 0x0064, 0x0029, 0x0028, 0x0065,
    0x0029, 0x0028, 0x0066, 0x0029, 0x0028, 0x0067, 0x0029, 0x0028, 0x0068, 0x0029, 0x0028, 0x0069,
    0x0029, 0x0028, 0x006A, 0x0029, 0x0028, 0x006B, 0x0029, 0x0028, 0x006C, 0x0029, 0x0028, 0x006D,
    0x0029, 0x0028, 0x006E, 0x0029, 0x0028, 0x006F, 0x0029, 0x0028, 0x0070, 0x0029, 0x0028, 0x0071,
    0x0029, 0x0028, 0x0072, 0x0029, 0x0028, 0x0073, 0x0029, 0x0028, 0x0074, 0x0029, 0x0028, 0x0075,
    0x0029, 0x0028, 0x0076, 0x0029, 0x0028, 0x0077, 0x0029, 0x0028, 0x0078, 0x0029, 0x0028, 0x0079,
    0x0029, 0x0028, 0x007A, 0x0029, 0x3014, 0x0073, 0x3015, 0x0063, 0x0064, 0x0077, 0x007A, 0x0068,
    0x0076, 0x006D, 0x0076, 0x0073, 0x0064, 0x0073, 0x0073, 0x0070, 0x0070, 0x0076, 0x0077, 0x0063,
    0x006D, 0x0063, 0x006D, 0x0064, 0x006D, 0x0072, 0x0064, 0x006A,
};
// END gen_idna.js
// clang-format on

enum class url_idna_status { valid, mapped, ignored, mark, refused, unknown };

/// UTS #46 status of a non-ASCII code point as far as netco knows it; a mapping is appended to
/// mapped. unknown: outside the covered blocks; refused: disallowed, or beyond netco's model.
inline url_idna_status url_idna_lookup(char32_t cp, std::u32string* mapped) {
  const auto* block = std::find_if(std::begin(url_idna_blocks), std::end(url_idna_blocks),
                                   [cp](const char32_t(&b)[2]) { return cp <= b[1]; });
  if (block == std::end(url_idna_blocks) || cp < (*block)[0]) {
    // C1 controls, surrogates, U+FFFD and the like are disallowed wherever they come from.
    if (cp < 0xA0 || (cp >= 0xD800 && cp <= 0xDFFF) || (cp >= 0xFFF0 && cp <= 0xFFFF) ||
        cp > 0x10FFFF)
      return url_idna_status::refused;
    return url_idna_status::unknown;
  }
  const auto* e = std::upper_bound(std::begin(url_idna_table), std::end(url_idna_table), cp,
                                   [](char32_t c, const url_idna_entry& x) { return c < x.first; });
  if (e == std::begin(url_idna_table) || cp > (--e)->last) return url_idna_status::refused;
  switch (e->kind) {
    case 0:
      return url_idna_status::valid;
    case 1:
      if (mapped) *mapped += static_cast<char32_t>(static_cast<std::int32_t>(cp) + e->data);
      return url_idna_status::mapped;
    case 2:
      if ((cp - e->first) % 2 == 1) return url_idna_status::valid;
      if (mapped) *mapped += cp + 1;
      return url_idna_status::mapped;
    case 3:
      if (mapped)
        mapped->append(url_idna_sequences + (e->data >> 8),
                       static_cast<std::size_t>(e->data & 255));
      return url_idna_status::mapped;
    case 4:
      return url_idna_status::ignored;
    default:
      return url_idna_status::mark;
  }
}

// Punycode (RFC 3492) with IDNA's parameters.
inline constexpr std::uint32_t url_puny_base = 36, url_puny_tmin = 1, url_puny_tmax = 26;

inline std::uint32_t url_puny_adapt(std::uint32_t delta, std::uint32_t points, bool first) {
  delta = first ? delta / 700 : delta / 2;
  delta += delta / points;
  std::uint32_t k = 0;
  while (delta > ((url_puny_base - url_puny_tmin) * url_puny_tmax) / 2) {
    delta /= url_puny_base - url_puny_tmin;
    k += url_puny_base;
  }
  return k + (url_puny_base * delta) / (delta + 38);
}

inline std::uint32_t url_puny_threshold(std::uint32_t k, std::uint32_t bias) {
  return k <= bias ? url_puny_tmin : k >= bias + url_puny_tmax ? url_puny_tmax : k - bias;
}

/// Decodes a Punycode label (without "xn--") into out; false where it is not valid Punycode.
inline bool url_punycode_decode(std::string_view in, std::u32string& out) {
  out.clear();
  std::size_t pos = 0;
  if (const std::size_t delimiter = in.rfind('-'); delimiter != std::string_view::npos) {
    for (std::size_t i = 0; i < delimiter; ++i) out += static_cast<unsigned char>(in[i]);
    pos = delimiter + 1;
  }
  std::uint32_t n = 128, i = 0, bias = 72;
  while (pos < in.size()) {
    const std::uint32_t old_i = i;
    std::uint32_t w = 1;
    for (std::uint32_t k = url_puny_base;; k += url_puny_base) {
      if (pos >= in.size()) return false;
      const char ch = in[pos++];
      std::uint32_t digit;
      if (url_is_digit(ch))
        digit = static_cast<std::uint32_t>(ch - '0') + 26;
      else if (url_is_alpha(ch))
        digit = static_cast<std::uint32_t>((ch | 0x20) - 'a');
      else
        return false;
      if (digit > (0xFFFFFFFFu - i) / w) return false;
      i += digit * w;
      const std::uint32_t t = url_puny_threshold(k, bias);
      if (digit < t) break;
      if (w > 0xFFFFFFFFu / (url_puny_base - t)) return false;
      w *= url_puny_base - t;
    }
    const auto points = static_cast<std::uint32_t>(out.size() + 1);
    bias = url_puny_adapt(i - old_i, points, old_i == 0);
    if (i / points > 0x10FFFFu - n) return false;
    n += i / points;
    i %= points;
    out.insert(out.begin() + i, static_cast<char32_t>(n));
    ++i;
  }
  return true;
}

/// Appends the Punycode of a label (without "xn--"); false on overflow.
inline bool url_punycode_encode(std::u32string_view in, std::string& out) {
  std::uint32_t n = 128, delta = 0, bias = 72, h = 0;
  for (char32_t c : in)
    if (c < 0x80) out += static_cast<char>(c), ++h;
  const std::uint32_t b = h;
  if (b > 0) out += '-';
  const auto digit = [](std::uint32_t d) {
    return static_cast<char>(d < 26 ? 'a' + d : '0' + d - 26);
  };
  while (h < in.size()) {
    std::uint32_t m = 0xFFFFFFFFu;
    for (char32_t c : in)
      if (c >= n && c < m) m = c;
    if (m - n > (0xFFFFFFFFu - delta) / (h + 1)) return false;
    delta += (m - n) * (h + 1);
    n = m;
    for (char32_t c : in) {
      if (c < n && ++delta == 0) return false;
      if (c != n) continue;
      std::uint32_t q = delta;
      for (std::uint32_t k = url_puny_base;; k += url_puny_base) {
        const std::uint32_t t = url_puny_threshold(k, bias);
        if (q < t) break;
        out += digit(t + (q - t) % (url_puny_base - t));
        q = (q - t) / (url_puny_base - t);
      }
      out += digit(q);
      bias = url_puny_adapt(delta, h + 1, h == b);
      delta = 0;
      ++h;
    }
    ++delta;
    ++n;
  }
  return true;
}

/// A decoded "xn--" label is valid where each code point netco knows is valid (a mark not
/// first); code points beyond its tables pass unchecked (the deviation url.hpp lists).
inline bool url_idna_decoded_label_ok(std::u32string_view label) {
  if (label.empty()) return false;
  for (std::size_t i = 0; i < label.size(); ++i) {
    const char32_t cp = label[i];
    if (cp < 0x80) {
      if (cp >= 'A' && cp <= 'Z') return false;  // mapped, so not valid
      continue;
    }
    switch (url_idna_lookup(cp, nullptr)) {
      case url_idna_status::valid:
      case url_idna_status::unknown:
        break;
      case url_idna_status::mark:
        if (i == 0) return false;
        break;
      default:
        return false;
    }
  }
  // NOTE: UTS #46 (since 15.1) also refuses a label that starts "xn--" once decoded; Node 20
  // (ada 2.9) takes it ("xn--xn--a-"), and so does netco.
  return true;
}

/// Domain to ASCII (UTS #46 ToASCII with the URL Standard's options, beStrict false) of
/// percent-decoded bytes, into out; false on failure.
NETCO_DECL bool url_domain_to_ascii(std::string_view bytes, url_record& s, std::string& out) {
  out.clear();
  const bool ascii = std::all_of(bytes.begin(), bytes.end(),
                                 [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  bool punycode = false;  // a label starting "xn--" (in any case) needs decoding and checks
  for (std::size_t i = 0; ascii && i + 4 <= bytes.size(); ++i)
    if ((i == 0 || bytes[i - 1] == '.') && (bytes[i] | 0x20) == 'x' &&
        (bytes[i + 1] | 0x20) == 'n' && bytes[i + 2] == '-' && bytes[i + 3] == '-')
      punycode = true;
  if (ascii && !punycode) {  // the Standard's shortcut: ASCII lowercase
    for (char c : bytes) out += url_lower(c);
  } else {
    if (!ascii && !url_utf8_valid(bytes)) return false;  // U+FFFD is disallowed
    // Map (no NFC needed: the tables hold no code point NFC would change, see url.hpp).
    std::u32string& domain = s.domain;
    domain.clear();
    for (std::size_t i = 0; i < bytes.size();) {
      const char32_t cp = url_utf8_next(bytes, i);
      if (cp < 0x80) {
        domain += static_cast<char32_t>(url_lower(static_cast<char>(cp)));
        continue;
      }
      switch (url_idna_lookup(cp, &domain)) {
        case url_idna_status::valid:
          domain += cp;
          break;
        case url_idna_status::mapped:
        case url_idna_status::ignored:
          break;
        default:
          return false;  // refused, unknown, or a mark NFC might compose
      }
    }
    // Each label: a Punycode one decoded and checked, a Unicode one encoded.
    std::size_t start = 0;
    for (;;) {
      const std::size_t dot = domain.find(U'.', start);
      const std::u32string_view label = std::u32string_view(domain).substr(
          start, dot == std::u32string::npos ? dot : dot - start);
      const bool label_ascii =
          std::all_of(label.begin(), label.end(), [](char32_t c) { return c < 0x80; });
      if (label.size() >= 4 && label.substr(0, 4) == U"xn--") {
        if (!label_ascii) return false;
        s.label_out.clear();
        for (char32_t c : label.substr(4)) s.label_out += static_cast<char>(c);
        if (!url_punycode_decode(s.label_out, s.label) || !url_idna_decoded_label_ok(s.label))
          return false;
        out += "xn--";
        out += s.label_out;
      } else if (label_ascii) {
        for (char32_t c : label) out += static_cast<char>(c);
      } else {
        out += "xn--";
        if (!url_punycode_encode(label, out)) return false;
      }
      if (dot == std::u32string::npos) break;
      out += '.';
      start = dot + 1;
    }
  }
  if (out.empty()) return false;
  return std::none_of(out.begin(), out.end(),
                      [](char c) { return url_forbidden_domain(static_cast<unsigned char>(c)); });
}

/// The host parser: the serialized host into out (s.host_out), false on failure.
NETCO_DECL bool url_parse_host(std::string_view input, bool opaque, url_record& s) {
  std::string& out = s.host_out;
  out.clear();
  if (!input.empty() && input.front() == '[') {
    std::array<std::uint16_t, 8> address;
    if (input.size() < 2 || input.back() != ']' ||
        !url_parse_ipv6(input.substr(1, input.size() - 2), address))
      return false;
    url_serialize_ipv6(address, out);
    return true;
  }
  if (opaque) {  // the opaque-host parser
    if (std::any_of(input.begin(), input.end(),
                    [](char c) { return url_forbidden_host(static_cast<unsigned char>(c)); }))
      return false;
    url_append_encoded(out, input, url_set_c0);
    return true;
  }
  s.host_bytes.clear();
  url_percent_decode_into(input, s.host_bytes);
  if (!url_domain_to_ascii(s.host_bytes, s, out)) return false;
  if (url_ends_in_number(out)) {
    std::uint32_t address = 0;
    if (!url_parse_ipv4(out, address)) return false;
    out.clear();
    url_serialize_ipv4(address, out);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// The basic URL parser

enum class url_parse_result { ok, ignored, failure };

constexpr bool url_is_windows_drive_letter(std::string_view s) noexcept {
  return s.size() == 2 && url_is_alpha(s[0]) && (s[1] == ':' || s[1] == '|');
}

constexpr bool url_starts_with_windows_drive_letter(std::string_view s) noexcept {
  return s.size() >= 2 && url_is_windows_drive_letter(s.substr(0, 2)) &&
         (s.size() == 2 || s[2] == '/' || s[2] == '\\' || s[2] == '?' || s[2] == '#');
}

constexpr bool url_is_dot2e(std::string_view s) noexcept {  // "%2e", any case
  return s.size() == 3 && s[0] == '%' && s[1] == '2' && (s[2] | 0x20) == 'e';
}

constexpr bool url_is_single_dot(std::string_view s) noexcept {
  return s == "." || url_is_dot2e(s);
}

constexpr bool url_is_double_dot(std::string_view s) noexcept {
  switch (s.size()) {
    case 2:
      return s == "..";
    case 4:
      return (s[0] == '.' && url_is_dot2e(s.substr(1))) ||
             (s[3] == '.' && url_is_dot2e(s.substr(0, 3)));
    case 6:
      return url_is_dot2e(s.substr(0, 3)) && url_is_dot2e(s.substr(3));
  }
  return false;
}

/// The first segment of a list path ("/c:/x" -> "c:").
inline std::string_view url_first_segment(std::string_view path) noexcept {
  if (path.empty()) return {};
  return path.substr(1, path.find('/', 1) - 1);
}

inline void url_shorten_path(url_record& u) {
  const std::size_t last = u.path.rfind('/');
  if (last == std::string::npos) return;
  if (u.kind == url_scheme::file && last == 0 && u.path.size() == 3 && url_is_alpha(u.path[1]) &&
      u.path[2] == ':')
    return;  // a lone normalized Windows drive letter stays
  u.path.resize(last);
}

inline void url_copy_authority(url_record& u, const url_parts& base) {
  u.username = base.username;
  u.password = base.password;
  u.host = base.host;
  u.has_host = base.has_host;
  u.port = base.port;
}

NETCO_DECL url_parse_result url_basic_parse(std::string_view in, const url_parts* base,
                                            url_record& u, url_state override_state) {
  using S = url_state;
  constexpr int eof = -1;
  const bool overriding = override_state != S::none;
  S state = overriding ? override_state : S::scheme_start;
  std::string& buffer = u.buffer;
  buffer.clear();
  bool at_sign_seen = false, inside_brackets = false, password_token_seen = false;
  const std::size_t n = in.size();
  const auto special = [&u] { return u.kind != url_scheme::other; };
  const auto start_query = [&u, &state] {
    u.query.clear();
    u.has_query = true;
    state = S::query;
  };
  const auto start_fragment = [&u, &state] {
    u.fragment.clear();
    u.has_fragment = true;
    state = S::fragment;
  };

  // The Standard's pointer walks code points; walking bytes is the same here, since only ASCII
  // drives the states and every byte of a non-ASCII code point is encoded alike.
  for (std::size_t p = 0;; ++p) {  // p may wrap to SIZE_MAX ("decrease by one"): ++ fixes it
    const int c = p < n ? static_cast<unsigned char>(in[p]) : eof;
    const auto next_is = [&](char ch) { return p + 1 < n && in[p + 1] == ch; };
    switch (state) {
      case S::none:
        return url_parse_result::failure;

      case S::scheme_start:
        if (url_is_alpha(c)) {
          buffer += url_lower(static_cast<char>(c));
          state = S::scheme;
        } else if (!overriding) {
          state = S::no_scheme;
          --p;
        } else {
          return url_parse_result::failure;
        }
        break;

      case S::scheme:
        if (url_is_alpha(c) || url_is_digit(c) || c == '+' || c == '-' || c == '.') {
          buffer += url_lower(static_cast<char>(c));
        } else if (c == ':') {
          const url_scheme kind = url_scheme_of(buffer);
          if (overriding) {
            if ((u.kind != url_scheme::other) != (kind != url_scheme::other))
              return url_parse_result::ignored;
            if ((!u.username.empty() || !u.password.empty() || u.port >= 0) &&
                kind == url_scheme::file)
              return url_parse_result::ignored;
            if (u.kind == url_scheme::file && u.has_host && u.host.empty())
              return url_parse_result::ignored;
          }
          u.scheme = buffer;
          u.kind = kind;
          if (overriding) {
            if (u.port == url_default_port(kind)) u.port = -1;
            return url_parse_result::ok;
          }
          buffer.clear();
          if (kind == url_scheme::file) {
            state = S::file;
          } else if (kind != url_scheme::other && base && base->kind == kind) {
            state = S::special_relative_or_authority;
          } else if (kind != url_scheme::other) {
            state = S::special_authority_slashes;
          } else if (next_is('/')) {
            state = S::path_or_authority;
            ++p;
          } else {
            u.path.clear();
            u.opaque_path = true;
            state = S::opaque_path;
          }
        } else if (!overriding) {
          buffer.clear();
          state = S::no_scheme;
          p = static_cast<std::size_t>(-1);  // start over from the first code point
        } else {
          return url_parse_result::failure;
        }
        break;

      case S::no_scheme:
        if (!base || (base->opaque_path && c != '#')) return url_parse_result::failure;
        if (base->opaque_path) {
          u.scheme = base->scheme;
          u.kind = base->kind;
          u.path = base->path;
          u.opaque_path = true;
          u.query = base->query;
          u.has_query = base->has_query;
          start_fragment();
        } else {
          state = base->kind != url_scheme::file ? S::relative : S::file;
          --p;
        }
        break;

      case S::special_relative_or_authority:
        if (c == '/' && next_is('/')) {
          state = S::special_authority_ignore_slashes;
          ++p;
        } else {
          state = S::relative;
          --p;
        }
        break;

      case S::path_or_authority:
        if (c == '/') {
          state = S::authority;
        } else {
          state = S::path;
          --p;
        }
        break;

      case S::relative:
        u.scheme = base->scheme;
        u.kind = base->kind;
        if (c == '/' || (special() && c == '\\')) {
          state = S::relative_slash;
        } else {
          url_copy_authority(u, *base);
          u.path = base->path;
          u.query = base->query;
          u.has_query = base->has_query;
          if (c == '?') {
            start_query();
          } else if (c == '#') {
            start_fragment();
          } else if (c != eof) {
            u.query.clear();
            u.has_query = false;
            url_shorten_path(u);
            state = S::path;
            --p;
          }
        }
        break;

      case S::relative_slash:
        if (special() && (c == '/' || c == '\\')) {
          state = S::special_authority_ignore_slashes;
        } else if (c == '/') {
          state = S::authority;
        } else {
          url_copy_authority(u, *base);
          state = S::path;
          --p;
        }
        break;

      case S::special_authority_slashes:
        state = S::special_authority_ignore_slashes;
        if (c == '/' && next_is('/'))
          ++p;
        else
          --p;
        break;

      case S::special_authority_ignore_slashes:
        if (c != '/' && c != '\\') {
          state = S::authority;
          --p;
        }
        break;

      case S::authority:
        if (c == '@') {
          if (at_sign_seen) buffer.insert(0, "%40");
          at_sign_seen = true;
          for (char ch : buffer) {
            if (ch == ':' && !password_token_seen) {
              password_token_seen = true;
              continue;
            }
            url_append_encoded(password_token_seen ? u.password : u.username, ch, url_set_userinfo);
          }
          buffer.clear();
        } else if (c == eof || c == '/' || c == '?' || c == '#' || (special() && c == '\\')) {
          if (at_sign_seen && buffer.empty()) return url_parse_result::failure;
          p -= buffer.size() + 1;
          buffer.clear();
          state = S::host;
        } else {
          buffer += static_cast<char>(c);
        }
        break;

      case S::host:
      case S::hostname:
        if (overriding && u.kind == url_scheme::file) {
          --p;
          state = S::file_host;
        } else if (c == ':' && !inside_brackets) {
          if (buffer.empty()) return url_parse_result::failure;
          if (override_state == S::hostname) return url_parse_result::ignored;
          if (!url_parse_host(buffer, !special(), u)) return url_parse_result::failure;
          u.host = u.host_out;
          u.has_host = true;
          buffer.clear();
          state = S::port;
        } else if (c == eof || c == '/' || c == '?' || c == '#' || (special() && c == '\\')) {
          --p;
          if (special() && buffer.empty()) return url_parse_result::failure;
          if (overriding && buffer.empty() &&
              (!u.username.empty() || !u.password.empty() || u.port >= 0))
            return url_parse_result::ignored;
          if (!url_parse_host(buffer, !special(), u)) return url_parse_result::failure;
          u.host = u.host_out;
          u.has_host = true;
          buffer.clear();
          state = S::path_start;
          if (overriding) return url_parse_result::ok;
        } else {
          if (c == '[') inside_brackets = true;
          if (c == ']') inside_brackets = false;
          buffer += static_cast<char>(c);
        }
        break;

      case S::port:
        if (url_is_digit(c)) {
          buffer += static_cast<char>(c);
        } else if (c == eof || c == '/' || c == '?' || c == '#' || (special() && c == '\\') ||
                   overriding) {
          if (!buffer.empty()) {
            std::int32_t port = 0;
            for (char d : buffer) {
              port = port * 10 + (d - '0');
              if (port > 65535) return url_parse_result::failure;
            }
            u.port = port == url_default_port(u.kind) ? -1 : port;
            buffer.clear();
            if (overriding) return url_parse_result::ok;
          }
          if (overriding) return url_parse_result::failure;
          state = S::path_start;
          --p;
        } else {
          return url_parse_result::failure;
        }
        break;

      case S::file:
        u.scheme = "file";
        u.kind = url_scheme::file;
        u.host.clear();
        u.has_host = true;
        if (c == '/' || c == '\\') {
          state = S::file_slash;
        } else if (base && base->kind == url_scheme::file) {
          u.host = base->host;
          u.has_host = base->has_host;
          u.path = base->path;
          u.query = base->query;
          u.has_query = base->has_query;
          if (c == '?') {
            start_query();
          } else if (c == '#') {
            start_fragment();
          } else if (c != eof) {
            u.query.clear();
            u.has_query = false;
            if (!url_starts_with_windows_drive_letter(in.substr(p)))
              url_shorten_path(u);
            else
              u.path.clear();
            state = S::path;
            --p;
          }
        } else {
          state = S::path;
          --p;
        }
        break;

      case S::file_slash:
        if (c == '/' || c == '\\') {
          state = S::file_host;
        } else {
          if (base && base->kind == url_scheme::file) {
            u.host = base->host;
            u.has_host = base->has_host;
            const std::string_view first = url_first_segment(base->path);
            if (!url_starts_with_windows_drive_letter(in.substr(p)) && first.size() == 2 &&
                url_is_alpha(first[0]) && first[1] == ':') {
              u.path += '/';
              u.path += first;
            }
          }
          state = S::path;
          --p;
        }
        break;

      case S::file_host:
        if (c == eof || c == '/' || c == '\\' || c == '?' || c == '#') {
          --p;
          if (!overriding && url_is_windows_drive_letter(buffer)) {
            state = S::path;  // the buffer is kept: it is the path's first segment
          } else if (buffer.empty()) {
            u.host.clear();
            u.has_host = true;
            if (overriding) return url_parse_result::ok;
            state = S::path_start;
          } else {
            if (!url_parse_host(buffer, false, u)) return url_parse_result::failure;
            if (u.host_out == "localhost") u.host_out.clear();
            u.host = u.host_out;
            u.has_host = true;
            if (overriding) return url_parse_result::ok;
            buffer.clear();
            state = S::path_start;
          }
        } else {
          buffer += static_cast<char>(c);
        }
        break;

      case S::path_start:
        if (special()) {
          state = S::path;
          if (c != '/' && c != '\\') --p;
        } else if (!overriding && c == '?') {
          start_query();
        } else if (!overriding && c == '#') {
          start_fragment();
        } else if (c != eof) {
          state = S::path;
          if (c != '/') --p;
        } else if (overriding && !u.has_host) {
          u.path += '/';
        }
        break;

      case S::path:
        if (c == eof || c == '/' || (special() && c == '\\') ||
            (!overriding && (c == '?' || c == '#'))) {
          const bool slash = c == '/' || (special() && c == '\\');
          if (url_is_double_dot(buffer)) {
            url_shorten_path(u);
            if (!slash) u.path += '/';
          } else if (url_is_single_dot(buffer)) {
            if (!slash) u.path += '/';
          } else {
            if (u.kind == url_scheme::file && u.path.empty() && url_is_windows_drive_letter(buffer))
              buffer[1] = ':';
            u.path += '/';
            u.path += buffer;
          }
          buffer.clear();
          if (c == '?') start_query();
          if (c == '#') start_fragment();
        } else {
          url_append_encoded(buffer, static_cast<char>(c), url_set_path);
        }
        break;

      case S::opaque_path:
        if (c == '?') {
          start_query();
        } else if (c == '#') {
          start_fragment();
        } else if (c != eof) {
          url_append_encoded(u.path, static_cast<char>(c), url_set_c0);
        }
        break;

      case S::query:
        if (!overriding && c == '#') {
          start_fragment();
        } else if (c != eof) {
          url_append_encoded(u.query, static_cast<char>(c),
                             special() ? url_set_special_query : url_set_query);
        }
        break;

      case S::fragment:
        if (c != eof) url_append_encoded(u.fragment, static_cast<char>(c), url_set_fragment);
        break;
    }
    if (p == n) return url_parse_result::ok;
  }
}

// ---------------------------------------------------------------------------------------------
// application/x-www-form-urlencoded

inline void url_form_decode_into(std::string_view s, std::string& out) {
  std::string bytes;
  bytes.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      bytes += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && url_is_hex(s[i + 1]) && url_is_hex(s[i + 2])) {
      bytes += static_cast<char>(url_hex_value(s[i + 1]) * 16 + url_hex_value(s[i + 2]));
      i += 2;
    } else {
      bytes += s[i];
    }
  }
  if (url_utf8_valid(bytes))
    out = std::move(bytes);
  else
    url_utf8_sanitize_into(bytes, out);
}

NETCO_DECL void url_form_parse(std::string_view s,
                               std::vector<std::pair<std::string, std::string>>& list) {
  list.clear();
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t amp = s.find('&', start);
    if (amp == std::string_view::npos) amp = s.size();
    const std::string_view sequence = s.substr(start, amp - start);
    if (!sequence.empty()) {
      const std::size_t eq = sequence.find('=');
      auto& [name, value] = list.emplace_back();
      url_form_decode_into(sequence.substr(0, eq), name);
      if (eq != std::string_view::npos) url_form_decode_into(sequence.substr(eq + 1), value);
    }
    start = amp + 1;
  }
}

inline void url_form_encode_into(std::string_view s, std::string& out) {
  for (char ch : s) {
    if (ch == ' ')
      out += '+';
    else
      url_append_encoded(out, ch, url_set_form);
  }
}

/// a < b comparing UTF-16 code units, on UTF-8: code points in U+E000..U+FFFF sort after the
/// supplementary ones, whose surrogates are below U+E000.
inline bool url_utf16_less(std::string_view a, std::string_view b) noexcept {
  const auto key = [](char32_t c) -> std::uint32_t {
    return c >= 0xE000 && c <= 0xFFFF ? c + 0x200000 : c;
  };
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const char32_t ca = url_utf8_next(a, i), cb = url_utf8_next(b, j);
    if (ca != cb) return key(ca) < key(cb);
  }
  return i == a.size() && j < b.size();
}

}  // namespace detail

// -----------------------------------------------------------------------------------------------
// Free functions

NETCO_DECL std::string percent_decode(std::string_view input) {
  std::string out;
  out.reserve(input.size());
  detail::url_percent_decode_into(input, out);
  return out;
}

NETCO_DECL std::string percent_encode_component(std::string_view input) {
  std::string out;
  out.reserve(input.size());
  detail::url_append_encoded(out, input, detail::url_set_component);
  return out;
}

// -----------------------------------------------------------------------------------------------
// url_search_params

NETCO_DECL url_search_params::url_search_params(std::string_view query) {
  if (!query.empty() && query.front() == '?') query.remove_prefix(1);
  std::string scratch;
  detail::url_form_parse(detail::url_usv(query, scratch), list_);
}

NETCO_DECL url_search_params::url_search_params(
    std::initializer_list<std::pair<std::string_view, std::string_view>> pairs) {
  list_.reserve(pairs.size());
  for (const auto& [name, value] : pairs)
    list_.emplace_back(detail::url_usv_string(name), detail::url_usv_string(value));
}

NETCO_DECL url_search_params::url_search_params(std::vector<value_type> pairs)
    : list_(std::move(pairs)) {
  for (auto& [name, value] : list_) {
    if (!detail::url_utf8_valid(name)) name = detail::url_usv_string(name);
    if (!detail::url_utf8_valid(value)) value = detail::url_usv_string(value);
  }
}

NETCO_DECL url_search_params::url_search_params(url_search_params&& other)
    : list_(other.owner_ ? other.list_ : std::move(other.list_)) {}

NETCO_DECL url_search_params& url_search_params::operator=(const url_search_params& other) {
  if (this != &other) list_ = other.list_;
  update_();
  return *this;
}

NETCO_DECL url_search_params& url_search_params::operator=(url_search_params&& other) {
  if (this != &other) {
    if (other.owner_)
      list_ = other.list_;
    else
      list_ = std::move(other.list_);
  }
  update_();
  return *this;
}

NETCO_DECL void url_search_params::update_() {
  if (owner_) owner_->query_from_params_();
}

NETCO_DECL void url_search_params::append(std::string_view name, std::string_view value) {
  list_.emplace_back(detail::url_usv_string(name), detail::url_usv_string(value));
  update_();
}

NETCO_DECL void url_search_params::remove(std::string_view name) {
  std::string scratch;
  name = detail::url_usv(name, scratch);
  list_.erase(std::remove_if(list_.begin(), list_.end(),
                             [name](const value_type& p) { return p.first == name; }),
              list_.end());
  update_();
}

NETCO_DECL void url_search_params::remove(std::string_view name, std::string_view value) {
  std::string s1, s2;
  name = detail::url_usv(name, s1);
  value = detail::url_usv(value, s2);
  list_.erase(
      std::remove_if(list_.begin(), list_.end(),
                     [&](const value_type& p) { return p.first == name && p.second == value; }),
      list_.end());
  update_();
}

NETCO_DECL std::optional<std::string> url_search_params::get(std::string_view name) const {
  std::string scratch;
  name = detail::url_usv(name, scratch);
  for (const auto& [n, v] : list_)
    if (n == name) return v;
  return std::nullopt;
}

NETCO_DECL std::vector<std::string> url_search_params::get_all(std::string_view name) const {
  std::string scratch;
  name = detail::url_usv(name, scratch);
  std::vector<std::string> out;
  for (const auto& [n, v] : list_)
    if (n == name) out.push_back(v);
  return out;
}

NETCO_DECL bool url_search_params::has(std::string_view name) const {
  std::string scratch;
  name = detail::url_usv(name, scratch);
  return std::any_of(list_.begin(), list_.end(),
                     [name](const value_type& p) { return p.first == name; });
}

NETCO_DECL bool url_search_params::has(std::string_view name, std::string_view value) const {
  std::string s1, s2;
  name = detail::url_usv(name, s1);
  value = detail::url_usv(value, s2);
  return std::any_of(list_.begin(), list_.end(),
                     [&](const value_type& p) { return p.first == name && p.second == value; });
}

NETCO_DECL void url_search_params::set(std::string_view name, std::string_view value) {
  std::string s1;
  name = detail::url_usv(name, s1);
  auto first = std::find_if(list_.begin(), list_.end(),
                            [name](const value_type& p) { return p.first == name; });
  if (first == list_.end()) {
    list_.emplace_back(std::string(name), detail::url_usv_string(value));
  } else {
    first->second = detail::url_usv_string(value);
    list_.erase(std::remove_if(std::next(first), list_.end(),
                               [name](const value_type& p) { return p.first == name; }),
                list_.end());
  }
  update_();
}

NETCO_DECL void url_search_params::sort() {
  std::stable_sort(list_.begin(), list_.end(), [](const value_type& a, const value_type& b) {
    return detail::url_utf16_less(a.first, b.first);
  });
  update_();
}

NETCO_DECL std::string url_search_params::to_string() const {
  std::string out;
  bool first = true;
  for (const auto& [name, value] : list_) {
    if (!first) out += '&';
    first = false;
    detail::url_form_encode_into(name, out);
    out += '=';
    detail::url_form_encode_into(value, out);
  }
  return out;
}

// -----------------------------------------------------------------------------------------------
// url

NETCO_DECL url::url(std::string_view input) : url() {
  if (!parse_(input, nullptr)) throw std::system_error(url_errc::invalid_url);
}

NETCO_DECL url::url(std::string_view input, std::string_view base) : url() {
  const url b(base);
  if (!parse_(input, &b)) throw std::system_error(url_errc::invalid_url);
}

NETCO_DECL url::url(std::string_view input, const url& base) : url() {
  if (!parse_(input, &base)) throw std::system_error(url_errc::invalid_url);
}

NETCO_DECL std::optional<url> url::parse(std::string_view input) {
  url u;
  if (!u.parse_(input, nullptr)) return std::nullopt;
  return u;
}

NETCO_DECL std::optional<url> url::parse(std::string_view input, std::string_view base) {
  const std::optional<url> b = parse(base);
  if (!b) return std::nullopt;
  return parse(input, *b);
}

NETCO_DECL std::optional<url> url::parse(std::string_view input, const url& base) {
  url u;
  if (!u.parse_(input, &base)) return std::nullopt;
  return u;
}

NETCO_DECL bool url::can_parse(std::string_view input) { return parse(input).has_value(); }

NETCO_DECL bool url::can_parse(std::string_view input, std::string_view base) {
  return parse(input, base).has_value();
}

NETCO_DECL bool url::can_parse(std::string_view input, const url& base) {
  return parse(input, base).has_value();
}

NETCO_DECL void url::copy_fields_(const url& o) noexcept {
  scheme_end_ = o.scheme_end_;
  username_end_ = o.username_end_;
  host_begin_ = o.host_begin_;
  host_end_ = o.host_end_;
  path_begin_ = o.path_begin_;
  query_begin_ = o.query_begin_;
  fragment_begin_ = o.fragment_begin_;
  port_ = o.port_;
  scheme_ = o.scheme_;
  has_host_ = o.has_host_;
  opaque_path_ = o.opaque_path_;
  params_live_ = o.params_live_;
}

NETCO_DECL url::url(const url& other) : href_(other.href_) {
  copy_fields_(other);
  params_.list_ = other.params_.list_;
  params_.owner_ = this;
}

NETCO_DECL url::url(url&& other) noexcept : href_(std::move(other.href_)) {
  copy_fields_(other);
  params_.list_ = std::move(other.params_.list_);
  params_.owner_ = this;
  // What is left reads as empty: every offset 0, nothing present.
  other.href_.clear();
  other.params_.list_.clear();
  other.copy_fields_(url());
}

NETCO_DECL url& url::operator=(const url& other) {
  if (this != &other) {
    href_ = other.href_;
    copy_fields_(other);
    params_.list_ = other.params_.list_;
  }
  return *this;
}

NETCO_DECL url& url::operator=(url&& other) noexcept {
  if (this != &other) {
    href_ = std::move(other.href_);
    copy_fields_(other);
    params_.list_ = std::move(other.params_.list_);
    other.href_.clear();
    other.params_.list_.clear();
    other.copy_fields_(url());
  }
  return *this;
}

NETCO_DECL bool url::parse_(std::string_view input, const url* base) {
  detail::url_record& r = detail::url_scratch();
  r.reset();
  detail::url_parts base_parts;
  if (base) base_parts = base->parts_();
  const std::string_view in = detail::url_clean_input(input, true, r.input);
  const bool ok =
      detail::url_basic_parse(in, base ? &base_parts : nullptr, r, detail::url_state::none) ==
          detail::url_parse_result::ok &&
      assign_(r);
  r.trim();
  return ok;
}

NETCO_DECL detail::url_parts url::parts_() const {
  detail::url_parts p;
  p.scheme = view_(0, scheme_end_);
  p.username = username();
  p.password = password();
  p.host = hostname();
  p.has_host = has_host_;
  p.port = port_;
  p.kind = scheme_;
  p.path = pathname();
  p.opaque_path = opaque_path_;
  p.has_query = query_begin_ != npos_;
  if (p.has_query) p.query = view_(query_begin_ + 1, query_end_());
  p.has_fragment = fragment_begin_ != npos_;
  if (p.has_fragment)
    p.fragment = view_(fragment_begin_ + 1, static_cast<std::uint32_t>(href_.size()));
  return p;
}

NETCO_DECL void url::fill_(detail::url_record& r) const {
  const detail::url_parts p = parts_();
  r.reset();
  r.scheme = p.scheme;
  r.kind = p.kind;
  r.username = p.username;
  r.password = p.password;
  r.host = p.host;
  r.has_host = p.has_host;
  r.port = p.port;
  r.path = p.path;
  r.opaque_path = p.opaque_path;
  r.query = p.query;
  r.has_query = p.has_query;
  r.fragment = p.fragment;
  r.has_fragment = p.has_fragment;
}

NETCO_DECL bool url::assign_(const detail::url_record& r) {
  const std::size_t total = r.scheme.size() + 1 + 2 + r.username.size() + 1 + r.password.size() +
                            1 + r.host.size() + 6 + 2 + r.path.size() + 1 + r.query.size() + 1 +
                            r.fragment.size();
  if (total >= npos_) return false;
  const auto at = [this] { return static_cast<std::uint32_t>(href_.size()); };
  href_.clear();
  href_.reserve(total);
  href_ += r.scheme;
  scheme_end_ = at();
  href_ += ':';
  if (r.has_host) {
    href_ += "//";
    href_ += r.username;
    username_end_ = at();
    if (!r.password.empty()) {
      href_ += ':';
      href_ += r.password;
    }
    if (!r.username.empty() || !r.password.empty()) href_ += '@';
    host_begin_ = at();
    href_ += r.host;
    host_end_ = at();
    if (r.port >= 0) {
      char digits[8];
      const auto res = std::to_chars(digits, digits + sizeof digits, r.port);
      href_ += ':';
      href_.append(digits, res.ptr);
    }
  } else {
    username_end_ = host_begin_ = host_end_ = at();
    // A null host and a path starting with an empty segment: "/." keeps "//" from reading as
    // an authority when the href is parsed again.
    if (!r.opaque_path && r.path.size() > 1 && r.path[0] == '/' && r.path[1] == '/') href_ += "/.";
  }
  path_begin_ = at();
  href_ += r.path;
  query_begin_ = npos_;
  if (r.has_query) {
    query_begin_ = at();
    href_ += '?';
    href_ += r.query;
  }
  fragment_begin_ = npos_;
  if (r.has_fragment) {
    fragment_begin_ = at();
    href_ += '#';
    href_ += r.fragment;
  }
  port_ = r.has_host ? r.port : -1;
  scheme_ = r.kind;
  has_host_ = r.has_host;
  opaque_path_ = r.opaque_path;
  return true;
}

NETCO_DECL std::string url::origin() const {
  switch (scheme_) {
    case detail::url_scheme::http:
    case detail::url_scheme::https:
    case detail::url_scheme::ws:
    case detail::url_scheme::wss:
    case detail::url_scheme::ftp: {
      std::string out(protocol());
      out += "//";
      out += host();
      return out;
    }
    case detail::url_scheme::file:
      return "null";
    case detail::url_scheme::other:
      break;
  }
  if (view_(0, scheme_end_) == "blob") {
    const std::optional<url> inner = parse(pathname());
    if (inner &&
        (inner->scheme_ == detail::url_scheme::http || inner->scheme_ == detail::url_scheme::https))
      return inner->origin();
  }
  return "null";
}

NETCO_DECL url_search_params& url::search_params() {
  if (!params_live_) {
    params_from_query_();
    params_live_ = true;
  }
  return params_;
}

NETCO_DECL void url::params_from_query_() {
  const std::string_view q =
      query_begin_ != npos_ ? view_(query_begin_ + 1, query_end_()) : std::string_view();
  detail::url_form_parse(q, params_.list_);
}

NETCO_DECL void url::replace_query_(std::string_view query, bool present) {
  const std::uint32_t end = query_end_();
  const std::uint32_t begin = query_begin_ != npos_ ? query_begin_ : end;
  const std::size_t size = href_.size() - (end - begin) + (present ? 1 + query.size() : 0);
  if (size >= npos_) throw std::length_error("netco::url: a URL of 4 GiB or more");
  href_.replace(begin, end - begin, present ? 1 : 0, '?');
  if (present) href_.insert(begin + 1, query);
  query_begin_ = present ? begin : npos_;
  if (fragment_begin_ != npos_)
    fragment_begin_ = begin + (present ? 1 + static_cast<std::uint32_t>(query.size()) : 0);
}

NETCO_DECL void url::strip_opaque_path_spaces_() noexcept {
  if (!opaque_path_ || fragment_begin_ != npos_ || query_begin_ != npos_) return;
  while (href_.size() > path_begin_ && href_.back() == ' ') href_.pop_back();
}

NETCO_DECL void url::query_from_params_() {
  const std::string query = params_.to_string();
  replace_query_(query, !query.empty());
  if (query.empty()) strip_opaque_path_spaces_();
}

NETCO_DECL void url::set_href(std::string_view value, std::error_code& ec) {
  url parsed;
  if (!parsed.parse_(value, nullptr)) {
    ec = url_errc::invalid_url;
    return;
  }
  ec.clear();
  const bool live = params_live_;
  href_ = std::move(parsed.href_);
  copy_fields_(parsed);
  params_live_ = live;
  if (live)
    params_from_query_();
  else
    params_.list_.clear();
}

NETCO_DECL void url::set_href(std::string_view value) {
  std::error_code ec;
  set_href(value, ec);
  if (ec) throw std::system_error(ec);
}

NETCO_DECL bool url::run_setter_(detail::url_record& r, std::string_view input,
                                 detail::url_state state) {
  const std::string_view in = detail::url_clean_input(input, false, r.input);
  const detail::url_parse_result result = detail::url_basic_parse(in, nullptr, r, state);
  // What the parser set before a failure stays, as the Standard says (a host, then a bad port).
  const bool ok = assign_(r) && result == detail::url_parse_result::ok;
  r.trim();
  return ok;
}

NETCO_DECL bool url::set_protocol(std::string_view value) {
  detail::url_record& r = detail::url_scratch();
  fill_(r);
  r.concat.assign(value);
  r.concat += ':';
  return run_setter_(r, r.concat, detail::url_state::scheme_start);
}

NETCO_DECL bool url::set_username(std::string_view value) {
  if (!has_host_ || host_begin_ == host_end_ || scheme_ == detail::url_scheme::file) return false;
  detail::url_record& r = detail::url_scratch();
  fill_(r);
  r.username.clear();
  std::string scratch;
  detail::url_append_encoded(r.username, detail::url_usv(value, scratch), detail::url_set_userinfo);
  const bool ok = assign_(r);
  r.trim();
  return ok;
}

NETCO_DECL bool url::set_password(std::string_view value) {
  if (!has_host_ || host_begin_ == host_end_ || scheme_ == detail::url_scheme::file) return false;
  detail::url_record& r = detail::url_scratch();
  fill_(r);
  r.password.clear();
  std::string scratch;
  detail::url_append_encoded(r.password, detail::url_usv(value, scratch), detail::url_set_userinfo);
  const bool ok = assign_(r);
  r.trim();
  return ok;
}

NETCO_DECL bool url::set_host(std::string_view value) {
  if (opaque_path_) return false;
  detail::url_record& r = detail::url_scratch();
  fill_(r);
  return run_setter_(r, value, detail::url_state::host);
}

NETCO_DECL bool url::set_hostname(std::string_view value) {
  if (opaque_path_) return false;
  detail::url_record& r = detail::url_scratch();
  fill_(r);
  return run_setter_(r, value, detail::url_state::hostname);
}

NETCO_DECL bool url::set_port(std::string_view value) {
  if (!has_host_ || host_begin_ == host_end_ || scheme_ == detail::url_scheme::file) return false;
  detail::url_record& r = detail::url_scratch();
  fill_(r);
  if (value.empty()) {
    r.port = -1;
    return assign_(r);
  }
  return run_setter_(r, value, detail::url_state::port);
}

NETCO_DECL bool url::set_pathname(std::string_view value) {
  if (opaque_path_) return false;
  detail::url_record& r = detail::url_scratch();
  fill_(r);
  r.path.clear();
  return run_setter_(r, value, detail::url_state::path_start);
}

NETCO_DECL bool url::set_search(std::string_view value) {
  if (value.empty()) {
    replace_query_({}, false);
    strip_opaque_path_spaces_();
    params_.list_.clear();
    return true;
  }
  if (value.front() == '?') value.remove_prefix(1);
  detail::url_record& r = detail::url_scratch();
  fill_(r);
  r.query.clear();
  r.has_query = true;
  const bool ok = run_setter_(r, value, detail::url_state::query);
  // NOTE: Node 20 (ada) parses the list from the query it produced, not from the value as the
  // Standard says; they differ only in tabs and newlines, which the parser removes.
  if (params_live_) params_from_query_();
  return ok;
}

NETCO_DECL bool url::set_hash(std::string_view value) {
  if (value.empty()) {
    if (fragment_begin_ != npos_) href_.resize(fragment_begin_);
    fragment_begin_ = npos_;
    strip_opaque_path_spaces_();
    return true;
  }
  if (value.front() == '#') value.remove_prefix(1);
  detail::url_record& r = detail::url_scratch();
  fill_(r);
  r.fragment.clear();
  r.has_fragment = true;
  return run_setter_(r, value, detail::url_state::fragment);
}

NETCO_DECL std::uint16_t url::port_number() const noexcept {
  if (port_ >= 0) return static_cast<std::uint16_t>(port_);
  const std::int32_t d = detail::url_default_port(scheme_);
  return d >= 0 ? static_cast<std::uint16_t>(d) : 0;
}

NETCO_DECL std::string_view url::path_and_query() const noexcept {
  const std::uint32_t end = query_end_();
  std::string_view v = view_(path_begin_, end);
  if (query_begin_ != npos_ && end - query_begin_ == 1) v.remove_suffix(1);  // an empty query
  return v;
}

}  // namespace netco
