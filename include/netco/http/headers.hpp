// netco/http/headers.hpp: http::headers (an ordered multi-map of fields) and field checks
#pragma once
#include <charconv>      // to_chars: lengths and chunk sizes
#include <cstddef>       // size_t, ptrdiff_t
#include <cstdint>       // uint32_t, uint64_t
#include <cstring>       // memcpy: eight bytes at a time
#include <ctime>         // time, gmtime_r: the Date header
#include <optional>      // optional
#include <string>        // string: the fields' text
#include <string_view>   // string_view
#include <system_error>  // system_error: invalid_char
#include <vector>        // vector

#include "netco/http/error.hpp"
#include "netco/http/parser.hpp"  // char_table, cc_tchar

namespace netco::detail {
inline char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}
inline bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}
/// Whether a comma-separated list holds token (case-insensitive), as in "keep-alive, close".
inline bool has_token(std::string_view list, std::string_view token) noexcept {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}
/// RFC 9110 5.5: no CR, LF or NUL in a value (response splitting); names must be tokens.
inline bool valid_value(std::string_view v) noexcept {
  // Eight bytes at a time: the three refused bytes are all below 14, and a word with no byte
  // below 14 (nearly every one) needs no closer look.
  const char* p = v.data();
  const char* const end = p + v.size();
  for (; end - p >= 8; p += 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    constexpr std::uint64_t ones = 0x0101010101010101, highs = 0x8080808080808080;
    if (((w - 14 * ones) & ~w & highs) != 0) break;  // some byte may be below 14: check each
  }
  for (; p < end; ++p) {
    const char c = *p;
    if (static_cast<unsigned char>(c) <= '\r' && (c == '\r' || c == '\n' || c == '\0'))
      return false;
  }
  return true;
}
inline bool valid_name(std::string_view n) noexcept {
  if (n.empty()) return false;
  const char* p = n.data();
  const char* const end = p + n.size();
  for (; end - p >= 4; p += 4)  // four table lookups per branch
    if (!(char_table[static_cast<unsigned char>(p[0])] &
          char_table[static_cast<unsigned char>(p[1])] &
          char_table[static_cast<unsigned char>(p[2])] &
          char_table[static_cast<unsigned char>(p[3])] & cc_tchar))
      return false;
  for (; p < end; ++p)
    if (!char_is(*p, cc_tchar)) return false;
  return true;
}
inline void check_field(std::string_view name, std::string_view value) {
  if (!valid_name(name) || !valid_value(value))
    throw std::system_error(make_error_code(http::error::invalid_char),
                            "header \"" + std::string(name) + "\"");
}
/// The Date header's value, formatted once per second (RFC 9110 5.6.7, IMF-fixdate).
inline std::string_view http_date() noexcept {
  thread_local std::time_t last = -1;
  thread_local char text[40];
  thread_local std::size_t len = 0;
  const std::time_t now = std::time(nullptr);
  if (now != last) {
    last = now;
    std::tm tm{};
    gmtime_r(&now, &tm);
    len = std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  }
  return {text, len};
}

inline void append_number(std::string& out, std::uint64_t n) {
  char digits[24];
  const auto r = std::to_chars(digits, digits + sizeof digits, n);
  out.append(digits, static_cast<std::size_t>(r.ptr - digits));
}
inline void append_hex(std::string& out, std::uint64_t n) {
  char digits[24];
  const auto r = std::to_chars(digits, digits + sizeof digits, n, 16);
  out.append(digits, static_cast<std::size_t>(r.ptr - digits));
}

}  // namespace netco::detail

namespace netco::http {

/// An ordered, multi-valued list of header fields with case-insensitive lookup; names keep the
/// case they were sent or set with (Node's rawHeaders order). Clearing keeps the capacity, so a
/// reused list does not allocate.
class headers {
 public:
  struct field {
    std::string_view name;
    std::string_view value;
  };

  /// Appends a field (duplicates are kept).
  void add(std::string_view name, std::string_view value) {
    entry e{static_cast<std::uint32_t>(text_.size()), static_cast<std::uint32_t>(name.size()), 0,
            static_cast<std::uint32_t>(value.size())};
    text_.append(name);
    e.value_at = static_cast<std::uint32_t>(text_.size());
    text_.append(value);
    entries_.push_back(e);
  }
  /// Replaces every field of this name with one.
  void set(std::string_view name, std::string_view value) {
    if (!entries_.empty()) remove(name);
    add(name, value);
  }
  /// Removes every field of this name; returns whether there was one.
  bool remove(std::string_view name) {
    const auto before = entries_.size();
    std::erase_if(entries_,
                  [&](const entry& e) { return netco::detail::iequals(name_of(e), name); });
    return entries_.size() != before;
  }
  /// The first value of name, if any.
  std::optional<std::string_view> get(std::string_view name) const noexcept {
    for (const entry& e : entries_)
      if (netco::detail::iequals(name_of(e), name)) return value_of(e);
    return std::nullopt;
  }
  /// The first value of name, or "" (for quick checks).
  std::string_view value(std::string_view name) const noexcept {
    return get(name).value_or(std::string_view());
  }
  /// Every value of name, in order.
  std::vector<std::string_view> get_all(std::string_view name) const {
    std::vector<std::string_view> out;
    for (const entry& e : entries_)
      if (netco::detail::iequals(name_of(e), name)) out.push_back(value_of(e));
    return out;
  }
  bool has(std::string_view name) const noexcept { return get(name).has_value(); }
  std::size_t size() const noexcept { return entries_.size(); }
  /// At least the bytes "Name: value\r\n" of every field take (for reserving output).
  std::size_t wire_size_bound() const noexcept { return text_.size() + 4 * entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }
  field operator[](std::size_t i) const noexcept {
    return {name_of(entries_[i]), value_of(entries_[i])};
  }
  void clear() noexcept {
    text_.clear();
    entries_.clear();
  }

  class iterator {
   public:
    using value_type = field;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    iterator(const headers* h, std::size_t i) noexcept : h_(h), i_(i) {}
    field operator*() const noexcept { return (*h_)[i_]; }
    iterator& operator++() noexcept {
      ++i_;
      return *this;
    }
    iterator operator++(int) noexcept {
      iterator old = *this;
      ++i_;
      return old;
    }
    bool operator==(const iterator& o) const noexcept { return i_ == o.i_; }

   private:
    const headers* h_ = nullptr;
    std::size_t i_ = 0;
  };
  iterator begin() const noexcept { return {this, 0}; }
  iterator end() const noexcept { return {this, entries_.size()}; }

 private:
  struct entry {
    std::uint32_t name_at, name_len, value_at, value_len;
  };
  std::string_view name_of(const entry& e) const noexcept {
    return {text_.data() + e.name_at, e.name_len};
  }
  std::string_view value_of(const entry& e) const noexcept {
    return {text_.data() + e.value_at, e.value_len};
  }
  std::string text_;
  std::vector<entry> entries_;
};

}  // namespace netco::http
