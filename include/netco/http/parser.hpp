// netco/http/parser.hpp: strict, incremental, zero-copy HTTP/1.1 request and response parser
#pragma once
#include <algorithm>     // min
#include <array>         // array (character table)
#include <cstddef>       // size_t
#include <cstdint>       // uint8_t, uint16_t, uint64_t, uintptr_t
#include <cstring>       // memcmp, memcpy
#include <span>          // span
#include <string>        // string (error_category::message)
#include <string_view>   // string_view
#include <system_error>  // error_category, error_code, is_error_code_enum
#include <vector>        // vector (header storage, reused across messages)

#if defined(__SSE2__)
#include <emmintrin.h>  // 16-byte scans of request targets and field values
#endif

// The grammar is RFC 9112 with the choices of llhttp's strict mode (Node's parser) where the
// RFC leaves room; the deliberate differences from llhttp are listed, each with its reason, in
// tests/test_http_differential.cpp. In short:
//  - every line ends in CRLF: a bare LF is `cr_expected`, a bare CR is `lf_expected`;
//  - obs-fold (a header line starting with SP/HTAB) is `obs_fold`; a space or tab before the
//    colon is `whitespace_before_colon`;
//  - field values may hold HTAB, SP, visible ASCII and obs-text (0x80-0xFF), nothing else;
//  - a request with Transfer-Encoding must end in `chunked`; Content-Length with
//    Transfer-Encoding, a repeated Content-Length or Host, or a Content-Length that is not
//    1*DIGIT (SP allowed after it) are errors;
//  - the request-target is visible ASCII: origin-form, asterisk, absolute-form, or
//    authority-form for CONNECT; a request line without a version is HTTP/0.9 (as llhttp);
//  - chunk extensions are `;token[=token/quoted-string]` without whitespace (as llhttp), the
//    chunk-size line is limited, and trailers may not carry Content-Length/Transfer-Encoding;
//  - Connection (and Proxy-Connection, as Node) tokens close / keep-alive / upgrade decide
//    keep-alive with RFC 9112 9.3's HTTP/1.0 rules; Host is the server's to require.

namespace netco::http {

/// Why a message was refused. Each message ends with llhttp's / Node's code for it; a server
/// answers all of them with 400 and closes, except header_overflow (431).
enum class parse_error {
  invalid_method = 1,        ///< not a known method, or not followed by SP
  invalid_url,               ///< bad request-target (space, control, non-ASCII)
  invalid_protocol,          ///< not "HTTP/" after the target / at status start
  invalid_version,           ///< not HTTP/1.0 or HTTP/1.1, or junk after it
  invalid_status,            ///< status not 3 digits in 100-999, or bad reason
  unexpected_space,          ///< a header line starting with SP/HTAB after the start line
  invalid_header_token,      ///< a byte outside tchar in a field name, or an empty name
  missing_colon,             ///< a header line without a colon
  whitespace_before_colon,   ///< SP/HTAB between the field name and the colon
  invalid_header_value,      ///< a control byte (NUL, DEL ...) in a field value
  obs_fold,                  ///< obsolete line folding (continuation line)
  cr_expected,               ///< a bare LF where CRLF is required
  lf_expected,               ///< a bare CR (CR not followed by LF)
  header_overflow,           ///< the head or trailer section is over max_head_size
  invalid_content_length,    ///< Content-Length not 1*DIGIT, or over 2^64-1
  duplicate_content_length,  ///< Content-Length given twice
  content_length_with_transfer_encoding,  ///< both Content-Length and Transfer-Encoding
  invalid_transfer_encoding,              ///< empty, or (in a request) chunked not last/once
  duplicate_host,                         ///< Host given twice in a request (RFC 9112 3.2)
  forbidden_trailer,                      ///< Content-Length/Transfer-Encoding in trailers
  invalid_chunk_size,                     ///< chunk-size not 1*HEXDIG, or over 2^64-1
  invalid_chunk_extension,                ///< chunk-ext not `;token[=token/quoted-string]`
  chunk_extensions_overflow,              ///< chunk-size line over max_chunk_extensions_size
  missing_chunk_crlf,                     ///< chunk data not followed by CRLF
  closed_connection,                      ///< bytes after a message that ends the connection
  invalid_eof_state,                      ///< the stream ended inside a message
};

}  // namespace netco::http

namespace netco::detail {
class http_parse_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "netco.http"; }
  std::string message(int value) const override {
    switch (static_cast<http::parse_error>(value)) {
      case http::parse_error::invalid_method:
        return "invalid method [HPE_INVALID_METHOD]";
      case http::parse_error::invalid_url:
        return "invalid request target [HPE_INVALID_URL]";
      case http::parse_error::invalid_protocol:
        return "expected HTTP/ [HPE_INVALID_CONSTANT]";
      case http::parse_error::invalid_version:
        return "invalid HTTP version [HPE_INVALID_VERSION]";
      case http::parse_error::invalid_status:
        return "invalid response status [HPE_INVALID_STATUS]";
      case http::parse_error::unexpected_space:
        return "unexpected space after start line [HPE_UNEXPECTED_SPACE]";
      case http::parse_error::invalid_header_token:
        return "invalid header token [HPE_INVALID_HEADER_TOKEN]";
      case http::parse_error::missing_colon:
        return "header line without a colon [HPE_INVALID_HEADER_TOKEN]";
      case http::parse_error::whitespace_before_colon:
        return "whitespace before the colon of a header [HPE_INVALID_HEADER_TOKEN]";
      case http::parse_error::invalid_header_value:
        return "invalid header value char [HPE_INVALID_HEADER_TOKEN]";
      case http::parse_error::obs_fold:
        return "obsolete line folding in header [HPE_INVALID_HEADER_TOKEN]";
      case http::parse_error::cr_expected:
        return "missing expected CR before LF [HPE_CR_EXPECTED]";
      case http::parse_error::lf_expected:
        return "missing expected LF after CR [HPE_LF_EXPECTED]";
      case http::parse_error::header_overflow:
        return "header overflow [HPE_HEADER_OVERFLOW]";
      case http::parse_error::invalid_content_length:
        return "invalid Content-Length [HPE_INVALID_CONTENT_LENGTH]";
      case http::parse_error::duplicate_content_length:
        return "duplicate Content-Length [HPE_UNEXPECTED_CONTENT_LENGTH]";
      case http::parse_error::content_length_with_transfer_encoding:
        return "Content-Length can't be present with Transfer-Encoding "
               "[HPE_UNEXPECTED_CONTENT_LENGTH]";
      case http::parse_error::invalid_transfer_encoding:
        return "invalid Transfer-Encoding [HPE_INVALID_TRANSFER_ENCODING]";
      case http::parse_error::duplicate_host:
        return "duplicate Host header [HPE_STRICT]";
      case http::parse_error::forbidden_trailer:
        return "framing header in trailer section [HPE_STRICT]";
      case http::parse_error::invalid_chunk_size:
        return "invalid chunk size [HPE_INVALID_CHUNK_SIZE]";
      case http::parse_error::invalid_chunk_extension:
        return "invalid character in chunk extensions [HPE_STRICT]";
      case http::parse_error::chunk_extensions_overflow:
        return "chunk extensions overflow [HPE_CHUNK_EXTENSIONS_OVERFLOW]";
      case http::parse_error::missing_chunk_crlf:
        return "expected CRLF after chunk data [HPE_STRICT]";
      case http::parse_error::closed_connection:
        return "data after Connection: close [HPE_CLOSED_CONNECTION]";
      case http::parse_error::invalid_eof_state:
        return "invalid EOF state [HPE_INVALID_EOF_STATE]";
    }
    return "unknown HTTP parse error";
  }
};
}  // namespace netco::detail

namespace netco::http {

/// The category of parse_error ("netco.http").
inline const std::error_category& parse_category() noexcept {
  static const detail::http_parse_category category;
  return category;
}

/// Makes parse_error usable as a std::error_code.
inline std::error_code make_error_code(parse_error e) noexcept {
  return {static_cast<int>(e), parse_category()};
}

/// Request methods; the values are llhttp's (and so Node's) method numbers.
enum class method : std::uint8_t {
  delete_ = 0,
  get,
  head,
  post,
  put,
  connect,
  options,
  trace,
  copy,
  lock,
  mkcol,
  move,
  propfind,
  proppatch,
  search,
  unlock,
  bind,
  rebind,
  unbind,
  acl,
  report,
  mkactivity,
  checkout,
  merge,
  m_search,
  notify,
  subscribe,
  unsubscribe,
  patch,
  purge,
  mkcalendar,
  link,
  unlink,
  source,
};

}  // namespace netco::http

namespace netco::detail {
struct method_entry {
  std::string_view name;
  http::method value;
};
// Node's HTTP methods (llhttp's METHODS_HTTP, less PRI, which only opens the HTTP/2 preface).
inline constexpr method_entry method_table[] = {
    {"DELETE", http::method::delete_},
    {"GET", http::method::get},
    {"HEAD", http::method::head},
    {"POST", http::method::post},
    {"PUT", http::method::put},
    {"CONNECT", http::method::connect},
    {"OPTIONS", http::method::options},
    {"TRACE", http::method::trace},
    {"COPY", http::method::copy},
    {"LOCK", http::method::lock},
    {"MKCOL", http::method::mkcol},
    {"MOVE", http::method::move},
    {"PROPFIND", http::method::propfind},
    {"PROPPATCH", http::method::proppatch},
    {"SEARCH", http::method::search},
    {"UNLOCK", http::method::unlock},
    {"BIND", http::method::bind},
    {"REBIND", http::method::rebind},
    {"UNBIND", http::method::unbind},
    {"ACL", http::method::acl},
    {"REPORT", http::method::report},
    {"MKACTIVITY", http::method::mkactivity},
    {"CHECKOUT", http::method::checkout},
    {"MERGE", http::method::merge},
    {"M-SEARCH", http::method::m_search},
    {"NOTIFY", http::method::notify},
    {"SUBSCRIBE", http::method::subscribe},
    {"UNSUBSCRIBE", http::method::unsubscribe},
    {"PATCH", http::method::patch},
    {"PURGE", http::method::purge},
    {"MKCALENDAR", http::method::mkcalendar},
    {"LINK", http::method::link},
    {"UNLINK", http::method::unlink},
    {"SOURCE", http::method::source},
};
inline constexpr std::size_t max_method_length = 11;  // "UNSUBSCRIBE"
consteval bool method_table_in_enum_order() {
  for (std::size_t i = 0; i < std::size(method_table); ++i)
    if (static_cast<std::size_t>(method_table[i].value) != i) return false;
  return true;
}
static_assert(method_table_in_enum_order(), "to_string(method) indexes method_table");
}  // namespace netco::detail

namespace netco::http {

/// The method's name as sent on the wire ("GET", "M-SEARCH" ...).
inline std::string_view to_string(method m) noexcept {
  const auto i = static_cast<std::size_t>(m);
  return i < std::size(detail::method_table) ? detail::method_table[i].name : std::string_view();
}

/// One field line; both views point into the caller's buffer (see parser::parse).
struct header {
  std::string_view name;   ///< as sent (case preserved)
  std::string_view value;  ///< without leading and trailing SP/HTAB
};

/// How the body of a message is delimited (RFC 9112 6.3).
enum class body_kind : std::uint8_t {
  none,            ///< no body (no length, HEAD/1xx/204/304 responses, CONNECT, upgrades)
  content_length,  ///< exactly message_head::content_length bytes
  chunked,         ///< chunked transfer coding, possibly with trailers
  until_close,     ///< responses only: everything until the connection closes
};

/// The start line and header section of one message. Views point into the buffer the head was
/// parsed from, and stay valid while the caller keeps those bytes where they were.
struct message_head {
  http::method method = http::method::get;  ///< requests
  std::string_view target;                  ///< requests: the request-target, as sent
  std::uint16_t status = 0;                 ///< responses: 100-999
  std::string_view reason;                  ///< responses: the reason phrase (may be empty)
  std::uint8_t version_major = 1;           ///< 1 (0 for an HTTP/0.9 request line)
  std::uint8_t version_minor = 1;           ///< 0 or 1 (9 for HTTP/0.9)
  std::span<const header> headers;          ///< in order, duplicates kept
  body_kind body = body_kind::none;         ///< how the body is delimited
  std::uint64_t content_length = 0;         ///< the length when body == content_length
  bool keep_alive = false;                  ///< the connection may carry another message after this
  bool upgrade = false;          ///< CONNECT, or Upgrade + Connection: upgrade (or a 101)
  bool expect_continue = false;  ///< the request has Expect: 100-continue

  /// The first field named name (ASCII case-insensitive), or nullptr.
  const header* find(std::string_view name) const noexcept {
    for (const header& h : headers) {
      if (h.name.size() != name.size()) continue;
      bool same = true;
      for (std::size_t i = 0; i < name.size() && same; ++i) {
        auto a = static_cast<unsigned char>(h.name[i]), b = static_cast<unsigned char>(name[i]);
        if (a >= 'A' && a <= 'Z') a |= 0x20;
        if (b >= 'A' && b <= 'Z') b |= 0x20;
        same = a == b;
      }
      if (same) return &h;
    }
    return nullptr;
  }
};

/// Whether a parser reads requests (a server) or responses (a client).
enum class message_kind : std::uint8_t { request, response };

/// Limits; the defaults are Node's.
struct parser_options {
  std::size_t max_head_size = 16 * 1024;  ///< start line + headers + blank line; also trailers
  std::size_t max_chunk_extensions_size = 16 * 1024;  ///< one chunk-size line with extensions
};

/// What one parser::parse call produced.
enum class parse_event : std::uint8_t {
  need_more,         ///< nothing more can be done with these bytes: read more
  head,              ///< the head is complete: parser::head()
  body,              ///< body bytes: parse_result::data
  message_complete,  ///< the message (and its trailers: parser::trailers()) is complete
  upgrade,           ///< the connection now speaks another protocol: stop feeding the parser
  error,             ///< the stream is malformed: parser::error(); the parser stays here
};

/// The event, how many input bytes the caller may now drop, and body data.
struct parse_result {
  parse_event event = parse_event::need_more;
  std::size_t consumed = 0;  ///< drop input[0, consumed) before the next call
  std::string_view data;     ///< event == body: a slice of the input (within consumed)
};

}  // namespace netco::http

namespace netco::detail {
// Character classes, one table: a bit per class.
enum : std::uint8_t {
  cc_tchar = 1,     // RFC 9110 token
  cc_value = 2,     // field-vchar / SP (not HTAB: the fast scans stop there)
  cc_url = 4,       // request-target byte: visible ASCII
  cc_userinfo = 8,  // llhttp's authority bytes: alnum, mark, % ; : & = + $ , [ ]
  cc_qdtext = 16,   // quoted-string byte (HTAB, SP, ! #-[ ]-~, obs-text)
  cc_alpha = 32,
  cc_method = 64,  // bytes in a method name
};

consteval std::array<std::uint8_t, 256> make_char_table() {
  std::array<std::uint8_t, 256> t{};
  auto alnum = [](int c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  };
  for (int c = 0; c < 256; ++c) {
    std::uint8_t v = 0;
    if (alnum(c) ||
        std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos)
      if (c != 0) v |= cc_tchar;
    if (c >= 0x20 && c != 0x7f) v |= cc_value;
    if (c > 0x20 && c < 0x7f) v |= cc_url;
    if (c != 0 && (alnum(c) || std::string_view("-_.!~*'()%;:&=+$,[]").find(static_cast<char>(c)) !=
                                   std::string_view::npos))
      v |= cc_userinfo;
    if (c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) ||
        (c >= 0x5d && c <= 0x7e) || c >= 0x80)
      v |= cc_qdtext;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) v |= cc_alpha;
    if ((c >= 'A' && c <= 'Z') || c == '-') v |= cc_method;
    t[static_cast<std::size_t>(c)] = v;
  }
  return t;
}
inline constexpr std::array<std::uint8_t, 256> char_table = make_char_table();

inline bool char_is(char c, std::uint8_t cls) noexcept {
  return (char_table[static_cast<unsigned char>(c)] & cls) != 0;
}

inline int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Case-insensitive equality of a token with a lowercase literal; exact for tchar input because
// only letters map onto letters under | 0x20.
inline bool token_ieq(const char* s, std::string_view lower) noexcept {
  for (std::size_t i = 0; i < lower.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) | 0x20) != static_cast<unsigned char>(lower[i]))
      return false;
  return true;
}

// First byte in [p, end) that is not a field-value byte, HTAB included (the caller steps over
// HTAB): a control byte or DEL, usually the CR that ends the line.
inline const char* scan_value(const char* p, const char* end) noexcept {
#if defined(__SSE2__)
  const __m128i space = _mm_set1_epi8(0x20);
  const __m128i del = _mm_set1_epi8(0x7f);
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i printable = _mm_cmpeq_epi8(_mm_max_epu8(v, space), v);  // v >= 0x20
    const unsigned stop = (~static_cast<unsigned>(_mm_movemask_epi8(printable)) & 0xffffu) |
                          static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, del)));
    if (stop != 0) return p + __builtin_ctz(stop);
    p += 16;
  }
#endif
  while (p < end && char_is(*p, cc_value)) ++p;
  return p;
}

// First byte in [p, end) that is not visible ASCII (0x21-0x7E).
inline const char* scan_url(const char* p, const char* end) noexcept {
#if defined(__SSE2__)
  const __m128i bang = _mm_set1_epi8(0x21);
  const __m128i del = _mm_set1_epi8(0x7f);
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // Signed compare: 0x80-0xFF are negative, so "< 0x21" catches them with the controls.
    const __m128i bad = _mm_or_si128(_mm_cmpgt_epi8(bang, v), _mm_cmpeq_epi8(v, del));
    const unsigned stop = static_cast<unsigned>(_mm_movemask_epi8(bad));
    if (stop != 0) return p + __builtin_ctz(stop);
    p += 16;
  }
#endif
  while (p < end && char_is(*p, cc_url)) ++p;
  return p;
}

inline const char* scan_tchar(const char* p, const char* end) noexcept {
  while (end - p >= 4 && char_is(p[0], cc_tchar) && char_is(p[1], cc_tchar) &&
         char_is(p[2], cc_tchar) && char_is(p[3], cc_tchar))
    p += 4;
  while (p < end && char_is(*p, cc_tchar)) ++p;
  return p;
}

// Pointer arithmetic done on integers, so that moving views from an old buffer to a new one
// never forms pointers from freed memory.
inline std::string_view rebase_view(std::string_view v, const char* from, const char* to) noexcept {
  if (v.data() == nullptr) return v;
  const auto off =
      reinterpret_cast<std::uintptr_t>(v.data()) - reinterpret_cast<std::uintptr_t>(from);
  return {to + off, v.size()};
}
}  // namespace netco::detail

namespace netco::http {

// How a server drives it from its read buffer (a client: message_kind::response, and
// set_request_method before each response):
//
//   http::parser p(http::message_kind::request);
//   for (;;) {
//     http::parse_result r = p.parse(buf.unread());     // all bytes not consumed yet
//     switch (r.event) {
//       case http::parse_event::need_more: read more into buf; break;
//       case http::parse_event::head: use p.head() (its views point into buf); break;
//       case http::parse_event::body: deliver r.data (a slice of buf); break;
//       case http::parse_event::message_complete: the request is whole; break;
//       case http::parse_event::upgrade: hand buf.unread() and the socket over; return;
//       case http::parse_event::error: answer 400 (431 for header_overflow), close; return;
//     }
//     buf.consume(r.consumed);  // after the head's views are no longer needed
//   }
//   // at EOF: p.finish() ends a response body delimited by the close.
//
// The head (and trailer) bytes are never consumed before they are complete, so the caller
// keeps them and passes them again with the new ones: a head is only reported once it lies
// whole in one contiguous buffer, and its views point there.

/// An HTTP/1.1 parser for one connection's byte stream: requests or responses, pipelined.
/// Feed it the unconsumed bytes of a read buffer; it never copies nor allocates per message
/// (its header vector keeps its capacity), and it never reads outside the bytes it is given.
class parser {
 public:
  /// A parser for requests (a server's) or responses (a client's).
  explicit parser(message_kind kind, parser_options options = {}) noexcept
      : options_(options), kind_(kind) {}

  /// Parses as far as the next event. `input` must start with the first byte not consumed yet:
  /// the bytes of an incomplete head (or trailer section) are never consumed, so pass them
  /// again, followed by the new ones; they may move, but must not change.
  [[nodiscard]] parse_result parse(std::string_view input);

  /// Tells the parser the connection's reading side ended (EOF): message_complete ends a body
  /// delimited by the close, need_more means the stream ended between messages, and error
  /// (invalid_eof_state) that it ended inside one.
  [[nodiscard]] parse_result finish();

  /// Responses: the method of the request the next response answers. HEAD responses have no
  /// body; a 2xx answer to CONNECT is a tunnel. Reset to GET after each final response.
  void set_request_method(method m) noexcept { request_method_ = m; }

  /// The head of the current message, valid from the head event to the next one.
  const message_head& head() const noexcept { return head_; }

  /// The trailer fields of the last chunked message, valid after its message_complete.
  std::span<const header> trailers() const noexcept { return {trailers_.data(), trailer_count_}; }

  /// Why parse returned parse_event::error (empty before).
  std::error_code error() const noexcept {
    return error_ == 0 ? std::error_code{} : make_error_code(static_cast<parse_error>(error_));
  }

  /// The offset in the whole stream of the byte at which the error was detected.
  std::uint64_t error_offset() const noexcept { return error_offset_; }

  /// Bytes consumed since construction or reset().
  std::uint64_t bytes_consumed() const noexcept { return stream_pos_; }

  /// Requests or responses, as constructed.
  message_kind kind() const noexcept { return kind_; }

  /// Forgets everything: the next byte starts a new stream.
  void reset() noexcept {
    state_ = st_message_start;
    request_method_ = method::get;
    error_ = 0;
    error_offset_ = 0;
    stream_pos_ = 0;
    scanned_ = 0;
    head_ = {};
    header_count_ = 0;
    trailer_count_ = 0;
  }

 private:
  enum state : std::uint8_t {
    st_message_start,     // skipping CRLFs before a start line
    st_message_start_lf,  // a CR was seen there
    st_head,              // inside the start line and header section
    st_message_done,      // head done, no body: message_complete is next
    st_body_length,
    st_chunk_size_first,  // the first hex digit of a chunk-size
    st_chunk_size,
    st_chunk_ext_name_first,
    st_chunk_ext_name,
    st_chunk_ext_value_first,
    st_chunk_ext_value,
    st_chunk_ext_quoted,
    st_chunk_ext_quoted_pair,
    st_chunk_ext_quoted_end,
    st_chunk_size_lf,
    st_chunk_data,
    st_chunk_data_cr,
    st_chunk_data_lf,
    st_trailers,  // inside the trailer section
    st_body_until_close,
    st_closed,  // after a message that ends the connection
    st_upgraded,
    st_error,
  };

  // Sub-states of a head / trailer section.
  enum section_state : std::uint8_t {
    hs_method,
    hs_before_target,
    hs_target_path,
    hs_target_schema,
    hs_target_slash1,
    hs_target_slash2,
    hs_target_server,
    hs_protocol,
    hs_request_line_lf,
    hs_http09_lf,
    hs_status_version,
    hs_status_code,
    hs_reason,
    hs_status_line_lf,
    hs_first_line_start,  // the first header line: SP/HTAB here is unexpected_space
    hs_line_start,
    hs_name,
    hs_value_ows,
    hs_value,
    hs_value_lf,
    hs_end_lf,
  };

  enum field_kind : std::uint8_t {
    fk_other,
    fk_content_length,
    fk_transfer_encoding,
    fk_connection,
    fk_upgrade,
    fk_expect,
    fk_host,
  };

  enum section_status { section_more, section_done, section_error };

  static field_kind classify(const char* s, std::size_t n) noexcept {
    using detail::token_ieq;
    switch (n) {
      case 4:
        return token_ieq(s, "host") ? fk_host : fk_other;
      case 6:
        return token_ieq(s, "expect") ? fk_expect : fk_other;
      case 7:
        return token_ieq(s, "upgrade") ? fk_upgrade : fk_other;
      case 10:
        return token_ieq(s, "connection") ? fk_connection : fk_other;
      case 14:
        return token_ieq(s, "content-length") ? fk_content_length : fk_other;
      case 16:
        return token_ieq(s, "proxy-connection") ? fk_connection : fk_other;
      case 17:
        return token_ieq(s, "transfer-encoding") ? fk_transfer_encoding : fk_other;
      default:
        return fk_other;
    }
  }

  parse_result fail(parse_error e, std::size_t at_in_input) noexcept {
    error_ = static_cast<int>(e);
    error_offset_ = stream_pos_ + at_in_input;
    state_ = st_error;
    return {parse_event::error, 0, {}};
  }

  parse_result done(parse_event ev, std::size_t consumed, std::string_view data = {}) noexcept {
    stream_pos_ += consumed;
    return {ev, consumed, data};
  }

  void begin_message() noexcept {
    // Member by member: a whole message_head{} temporary copied in costs a store-forwarding
    // stall on every message.
    head_.method = method::get;
    head_.target = {};
    head_.status = 0;
    head_.reason = {};
    head_.version_major = 1;
    head_.version_minor = 1;
    head_.headers = {};
    head_.body = body_kind::none;
    head_.content_length = 0;
    head_.keep_alive = head_.upgrade = head_.expect_continue = false;
    header_count_ = 0;
    trailer_count_ = 0;
    has_content_length_ = has_transfer_encoding_ = te_chunked_ = false;
    conn_close_ = conn_keep_alive_ = conn_upgrade_ = has_upgrade_ = has_host_ = false;
    content_length_ = 0;
    scanned_ = 0;
    sstate_ = kind_ == message_kind::request ? hs_method : hs_status_version;
  }

  section_status parse_section(const char* b, std::size_t n, bool trailers);
  bool on_field(const char* name, std::size_t name_len, const char* value, const char* value_end,
                bool trailers);
  bool finish_head();
  parse_result complete_message(std::size_t consumed);

  parser_options options_;
  message_kind kind_;
  state state_ = st_message_start;
  section_state sstate_ = hs_method;
  method request_method_ = method::get;
  int error_ = 0;
  std::uint64_t error_offset_ = 0;
  std::uint64_t stream_pos_ = 0;  // bytes consumed before the current call
  std::size_t section_err_ = 0;   // offset of a section error, relative to the section
  parse_error section_error_ = parse_error::invalid_method;

  // The current head / trailer section: bytes scanned, where the current token starts, and
  // the buffer its views point into.
  std::size_t scanned_ = 0;
  std::size_t mark_ = 0;
  std::size_t mark2_ = 0;
  std::size_t name_len_ = 0;
  bool at_seen_ = false;  // an '@' in the authority of the request-target
  const char* section_base_ = nullptr;

  message_head head_;
  std::vector<header> headers_;   // [0, header_count_) are this message's; capacity is kept
  std::vector<header> trailers_;  // [0, trailer_count_) likewise
  std::size_t header_count_ = 0;
  std::size_t trailer_count_ = 0;

  std::uint64_t content_length_ = 0;
  std::uint64_t remaining_ = 0;  // body or chunk bytes still to come
  std::size_t chunk_line_ = 0;   // bytes of the current chunk-size line
  bool has_content_length_ = false;
  bool has_transfer_encoding_ = false;
  bool te_chunked_ = false;
  bool conn_close_ = false;
  bool conn_keep_alive_ = false;
  bool conn_upgrade_ = false;
  bool has_upgrade_ = false;
  bool has_host_ = false;
};

// ---------------------------------------------------------------------------------------------

// Applies a complete field line; false (with section_error_ set) refuses the message.
inline bool parser::on_field(const char* name, std::size_t name_len, const char* value,
                             const char* value_end, bool trailers) {
  // value_end is the CR; the stored value loses its trailing SP/HTAB.
  const char* trimmed = value_end;
  while (trimmed > value && (trimmed[-1] == ' ' || trimmed[-1] == '\t')) --trimmed;
  // Written in place, member by member: a header temporary copied in would be built with
  // 8-byte stores and read back with 16-byte loads, a store-forwarding stall.
  std::vector<header>& fields = trailers ? trailers_ : headers_;
  std::size_t& count = trailers ? trailer_count_ : header_count_;
  if (count == fields.size()) fields.resize(fields.empty() ? 16 : 2 * fields.size());
  fields[count].name = std::string_view(name, name_len);
  fields[count].value = std::string_view(value, static_cast<std::size_t>(trimmed - value));
  ++count;

  const field_kind fk = classify(name, name_len);
  if (fk == fk_other) return true;
  if (trailers) {
    // RFC 9110 6.5.1: framing cannot change after the content; refuse rather than ignore, so
    // that no proxy that merges trailers can be made to disagree with us.
    if (fk == fk_content_length || fk == fk_transfer_encoding) {
      section_error_ = parse_error::forbidden_trailer;
      return false;
    }
    return true;  // Connection etc. in trailers do not change an already decided connection
  }
  switch (fk) {
    case fk_content_length: {
      if (has_content_length_) {
        section_error_ = parse_error::duplicate_content_length;
        return false;
      }
      if (has_transfer_encoding_) {
        section_error_ = parse_error::content_length_with_transfer_encoding;
        return false;
      }
      // 1*DIGIT, then only SP (as llhttp: no sign, no hex, no list, no HTAB after it).
      const char* p = value;
      if (p == value_end || *p < '0' || *p > '9') {
        section_error_ = parse_error::invalid_content_length;
        return false;
      }
      std::uint64_t v = 0;
      for (; p < value_end && *p >= '0' && *p <= '9'; ++p) {
        const auto d = static_cast<std::uint64_t>(*p - '0');
        if (v > (UINT64_MAX - d) / 10) {
          section_error_ = parse_error::invalid_content_length;
          return false;
        }
        v = v * 10 + d;
      }
      for (; p < value_end; ++p) {
        if (*p != ' ') {
          section_error_ = parse_error::invalid_content_length;
          return false;
        }
      }
      has_content_length_ = true;
      content_length_ = v;
      return true;
    }
    case fk_transfer_encoding: {
      const bool request = kind_ == message_kind::request;
      // Empty is no coding at all; a request's chunked must be the final coding, applied once
      // (RFC 9112 6.1, 6.3).
      if (value == trimmed || (request && te_chunked_)) {
        section_error_ = parse_error::invalid_transfer_encoding;
        return false;
      }
      if (has_content_length_) {
        section_error_ = parse_error::content_length_with_transfer_encoding;
        return false;
      }
      has_transfer_encoding_ = true;
      // llhttp's reading of the list: each element after OWS is "chunked" followed by SP only
      // up to the comma or the end, or another coding; chunked is final only as the last one.
      bool last_chunked = false;
      const char* p = value;
      while (p < value_end) {
        while (p < value_end && (*p == ' ' || *p == '\t')) ++p;
        last_chunked = false;
        if (value_end - p >= 7 && detail::token_ieq(p, "chunked")) {
          const char* q = p + 7;
          while (q < value_end && *q == ' ') ++q;
          if (q == value_end) {
            last_chunked = true;
            p = q;
            break;
          }
          if (*q == ',') {
            if (request) {
              section_error_ = parse_error::invalid_transfer_encoding;
              return false;
            }
            p = q + 1;
            continue;
          }
        }
        while (p < value_end && *p != ',') ++p;
        if (p < value_end) ++p;
      }
      te_chunked_ = last_chunked;
      return true;
    }
    case fk_connection: {
      const char* p = value;
      while (p < trimmed) {
        while (p < trimmed && (*p == ' ' || *p == '\t' || *p == ',')) ++p;
        const char* t = p;
        while (p < trimmed && *p != ',') ++p;
        const char* te = p;
        while (te > t && (te[-1] == ' ' || te[-1] == '\t')) --te;
        const auto len = static_cast<std::size_t>(te - t);
        if (len == 5 && detail::token_ieq(t, "close")) conn_close_ = true;
        if (len == 10 && detail::token_ieq(t, "keep-alive")) conn_keep_alive_ = true;
        if (len == 7 && detail::token_ieq(t, "upgrade")) conn_upgrade_ = true;
      }
      return true;
    }
    case fk_upgrade:
      if (trimmed != value) has_upgrade_ = true;
      return true;
    case fk_expect:
      if (trimmed - value == 12 && detail::token_ieq(value, "100-continue"))
        head_.expect_continue = true;
      return true;
    case fk_host:
      if (kind_ == message_kind::request) {
        if (has_host_) {
          section_error_ = parse_error::duplicate_host;
          return false;
        }
        has_host_ = true;
      }
      return true;
    default:
      return true;
  }
}

// Scans a head or trailer section held in [b, b + n), resuming at scanned_. On section_done,
// scanned_ is the section's length; on section_error, section_err_ is where it failed.
inline parser::section_status parser::parse_section(const char* b, std::size_t n, bool trailers) {
  // A caller that did not pass the kept bytes again broke the contract: never read past n.
  if (n < scanned_) return section_more;
  if (section_base_ != b && scanned_ != 0) {
    // The caller moved the bytes: move the views recorded so far with them.
    std::vector<header>& fields = trailers ? trailers_ : headers_;
    for (std::size_t i = 0, n_fields = trailers ? trailer_count_ : header_count_; i < n_fields;
         ++i) {
      fields[i].name = detail::rebase_view(fields[i].name, section_base_, b);
      fields[i].value = detail::rebase_view(fields[i].value, section_base_, b);
    }
    if (!trailers) {
      head_.target = detail::rebase_view(head_.target, section_base_, b);
      head_.reason = detail::rebase_view(head_.reason, section_base_, b);
    }
  }
  section_base_ = b;
  const std::size_t limit = options_.max_head_size;
  const char* const end = b + std::min(n, limit);
  const char* p = b + scanned_;

#define NETCO_HTTP_NEED(st)                          \
  do {                                               \
    sstate_ = (st);                                  \
    scanned_ = static_cast<std::size_t>(p - b);      \
    if (scanned_ >= limit) {                         \
      section_error_ = parse_error::header_overflow; \
      section_err_ = scanned_;                       \
      return section_error;                          \
    }                                                \
    return section_more;                             \
  } while (0)
#define NETCO_HTTP_FAIL(e)                          \
  do {                                              \
    section_error_ = (e);                           \
    section_err_ = static_cast<std::size_t>(p - b); \
    return section_error;                           \
  } while (0)

  switch (sstate_) {
    case hs_method:
      goto method;
    case hs_before_target:
      goto before_target;
    case hs_target_path:
      goto target_path;
    case hs_target_schema:
      goto target_schema;
    case hs_target_slash1:
      goto target_slash1;
    case hs_target_slash2:
      goto target_slash2;
    case hs_target_server:
      goto target_server;
    case hs_protocol:
      goto protocol;
    case hs_request_line_lf:
      goto request_line_lf;
    case hs_http09_lf:
      goto http09_lf;
    case hs_status_version:
      goto status_version;
    case hs_status_code:
      goto status_code;
    case hs_reason:
      goto reason;
    case hs_status_line_lf:
      goto status_line_lf;
    case hs_first_line_start:
      goto first_line_start;
    case hs_line_start:
      goto line_start;
    case hs_name:
      goto name;
    case hs_value_ows:
      goto value_ows;
    case hs_value:
      goto value;
    case hs_value_lf:
      goto value_lf;
    case hs_end_lf:
      goto end_lf;
  }

  // ---- request line -------------------------------------------------------------------------
method : {
  p = b;  // the method is rescanned whole on resumption: it is short
  // The common methods, whole, without a table walk.
  if (end - p >= 4 && std::memcmp(p, "GET ", 4) == 0) {
    head_.method = method::get;
    p += 4;
    goto before_target;
  }
  if (end - p >= 5 && std::memcmp(p, "POST ", 5) == 0) {
    head_.method = method::post;
    p += 5;
    goto before_target;
  }
  const char* q = p;
  while (q < end && detail::char_is(*q, detail::cc_method)) ++q;
  const auto len = static_cast<std::size_t>(q - b);
  if (q == end) {
    // Incomplete: refuse at once what can no longer become a method (Node: FOO -> 400).
    p = q;
    for (const auto& e : detail::method_table)
      if (e.name.size() >= len && std::memcmp(e.name.data(), b, len) == 0)
        NETCO_HTTP_NEED(hs_method);
    NETCO_HTTP_FAIL(parse_error::invalid_method);
  }
  if (*q == ' ') {
    for (const auto& e : detail::method_table) {
      if (e.name.size() == len && std::memcmp(e.name.data(), b, len) == 0) {
        head_.method = e.value;
        p = q + 1;
        goto before_target;
      }
    }
  }
  p = q;
  NETCO_HTTP_FAIL(parse_error::invalid_method);
}

before_target:
  while (p < end && *p == ' ') ++p;  // as llhttp, more than one SP is fine
  if (p == end) NETCO_HTTP_NEED(hs_before_target);
  mark_ = static_cast<std::size_t>(p - b);
  at_seen_ = false;
  if (head_.method == method::connect) goto target_server;  // authority-form
  if (*p == '/' || *p == '*') {
    ++p;
    goto target_path;
  }
  if (detail::char_is(*p, detail::cc_alpha)) goto target_schema;
  NETCO_HTTP_FAIL(parse_error::invalid_url);

target_schema:
  while (p < end && detail::char_is(*p, detail::cc_alpha)) ++p;
  if (p == end) NETCO_HTTP_NEED(hs_target_schema);
  if (*p != ':') NETCO_HTTP_FAIL(parse_error::invalid_url);
  ++p;
target_slash1:
  if (p == end) NETCO_HTTP_NEED(hs_target_slash1);
  if (*p != '/') NETCO_HTTP_FAIL(parse_error::invalid_url);
  ++p;
target_slash2:
  if (p == end) NETCO_HTTP_NEED(hs_target_slash2);
  if (*p != '/') NETCO_HTTP_FAIL(parse_error::invalid_url);
  ++p;
target_server:
  for (;;) {
    while (p < end && detail::char_is(*p, detail::cc_userinfo)) ++p;
    if (p == end) NETCO_HTTP_NEED(hs_target_server);
    if (*p == '@') {
      if (at_seen_) NETCO_HTTP_FAIL(parse_error::invalid_url);
      at_seen_ = true;
      ++p;
      continue;
    }
    break;
  }
  if (*p == '/' || *p == '?') goto target_path;
  if (*p == ' ' || *p == '\r') goto target_end;
  if (*p == '\n') NETCO_HTTP_FAIL(parse_error::cr_expected);
  NETCO_HTTP_FAIL(parse_error::invalid_url);

target_path:
  p = detail::scan_url(p, end);
  if (p == end) NETCO_HTTP_NEED(hs_target_path);
  if (*p == '\n') NETCO_HTTP_FAIL(parse_error::cr_expected);
  if (*p != ' ' && *p != '\r') NETCO_HTTP_FAIL(parse_error::invalid_url);
target_end:
  head_.target = std::string_view(b + mark_, static_cast<std::size_t>(p - (b + mark_)));
  if (*p == '\r') {
    ++p;
    goto http09_lf;
  }
  ++p;
protocol:
  while (p < end && *p == ' ') ++p;
  {
    // "HTTP/1.0" or "HTTP/1.1", then CR; refuse as soon as the bytes here are wrong.
    const auto have = static_cast<std::size_t>(end - p);
    if (have >= 9 && p[8] == '\r') {  // all there: one 8-byte compare for the usual two
      std::uint64_t v;
      std::memcpy(&v, p, 8);
      std::uint64_t v11, v10;
      std::memcpy(&v11, "HTTP/1.1", 8);
      std::memcpy(&v10, "HTTP/1.0", 8);
      if (v == v11 || v == v10) {
        head_.version_major = 1;
        head_.version_minor = static_cast<std::uint8_t>(p[7] - '0');
        p += 9;
        goto request_line_lf;
      }
    }
    for (std::size_t i = 0; i < 7 && i < have; ++i) {
      if (p[i] != "HTTP/1."[i]) {
        p += i;
        NETCO_HTTP_FAIL(i < 5 ? parse_error::invalid_protocol : parse_error::invalid_version);
      }
    }
    if (have <= 7) NETCO_HTTP_NEED(hs_protocol);
    if (p[7] != '0' && p[7] != '1') {
      p += 7;
      NETCO_HTTP_FAIL(parse_error::invalid_version);
    }
    if (have <= 8) NETCO_HTTP_NEED(hs_protocol);
    if (p[8] != '\r') {
      p += 8;
      NETCO_HTTP_FAIL(*p == '\n' ? parse_error::cr_expected : parse_error::invalid_version);
    }
    head_.version_major = 1;
    head_.version_minor = static_cast<std::uint8_t>(p[7] - '0');
    p += 9;
  }
request_line_lf:
  if (p == end) NETCO_HTTP_NEED(hs_request_line_lf);
  if (*p != '\n') NETCO_HTTP_FAIL(parse_error::lf_expected);
  ++p;
  goto first_line_start;

http09_lf:
  if (p == end) NETCO_HTTP_NEED(hs_http09_lf);
  if (*p != '\n') NETCO_HTTP_FAIL(parse_error::lf_expected);
  ++p;
  head_.version_major = 0;
  head_.version_minor = 9;
  goto first_line_start;

  // ---- status line --------------------------------------------------------------------------
status_version : {
  // "HTTP/1.0" or "HTTP/1.1", then SP.
  const auto have = static_cast<std::size_t>(end - p);
  for (std::size_t i = 0; i < 7 && i < have; ++i) {
    if (p[i] != "HTTP/1."[i]) {
      p += i;
      NETCO_HTTP_FAIL(i < 5 ? parse_error::invalid_protocol : parse_error::invalid_version);
    }
  }
  if (have <= 7) NETCO_HTTP_NEED(hs_status_version);
  if (p[7] != '0' && p[7] != '1') {
    p += 7;
    NETCO_HTTP_FAIL(parse_error::invalid_version);
  }
  if (have <= 8) NETCO_HTTP_NEED(hs_status_version);
  if (p[8] != ' ') {
    p += 8;
    NETCO_HTTP_FAIL(*p == '\n' ? parse_error::cr_expected : parse_error::invalid_version);
  }
  head_.version_major = 1;
  head_.version_minor = static_cast<std::uint8_t>(p[7] - '0');
  p += 9;
}
  mark_ = static_cast<std::size_t>(p - b);
status_code:
  // Exactly three digits, then SP or CRLF.
  while (p < end && static_cast<std::size_t>(p - b) < mark_ + 3) {
    if (*p < '0' || *p > '9') NETCO_HTTP_FAIL(parse_error::invalid_status);
    ++p;
  }
  if (p == end) NETCO_HTTP_NEED(hs_status_code);
  head_.status =
      static_cast<std::uint16_t>((p[-3] - '0') * 100 + (p[-2] - '0') * 10 + (p[-1] - '0'));
  if (head_.status < 100) {
    p -= 3;
    NETCO_HTTP_FAIL(parse_error::invalid_status);
  }
  if (*p == '\r') {
    head_.reason = std::string_view(p, 0);
    ++p;
    goto status_line_lf;
  }
  if (*p == '\n') NETCO_HTTP_FAIL(parse_error::cr_expected);
  if (*p != ' ') NETCO_HTTP_FAIL(parse_error::invalid_status);
  ++p;
  mark_ = static_cast<std::size_t>(p - b);
reason:
  for (;;) {
    p = detail::scan_value(p, end);
    if (p == end) NETCO_HTTP_NEED(hs_reason);
    if (*p == '\t') {
      ++p;
      continue;
    }
    break;
  }
  if (*p == '\n') NETCO_HTTP_FAIL(parse_error::cr_expected);
  if (*p != '\r') NETCO_HTTP_FAIL(parse_error::invalid_status);
  head_.reason = std::string_view(b + mark_, static_cast<std::size_t>(p - (b + mark_)));
  ++p;
status_line_lf:
  if (p == end) NETCO_HTTP_NEED(hs_status_line_lf);
  if (*p != '\n') NETCO_HTTP_FAIL(parse_error::lf_expected);
  ++p;
  goto first_line_start;

  // ---- field lines ----------------------------------------------------------------------------
first_line_start:
  if (p == end) NETCO_HTTP_NEED(hs_first_line_start);
  if (*p == ' ' || *p == '\t') NETCO_HTTP_FAIL(parse_error::unexpected_space);
  goto line_start_have;

line_start:
  if (p == end) NETCO_HTTP_NEED(hs_line_start);
line_start_have:
  if (*p == '\r') {
    ++p;
    goto end_lf;
  }
  if (!detail::char_is(*p, detail::cc_tchar)) {
    if (*p == ' ' || *p == '\t') NETCO_HTTP_FAIL(parse_error::obs_fold);
    if (*p == '\n') NETCO_HTTP_FAIL(parse_error::cr_expected);
    NETCO_HTTP_FAIL(parse_error::invalid_header_token);
  }
  mark_ = static_cast<std::size_t>(p - b);
  ++p;
name:
  p = detail::scan_tchar(p, end);
  if (p == end) NETCO_HTTP_NEED(hs_name);
  if (*p != ':') {
    if (*p == ' ' || *p == '\t') NETCO_HTTP_FAIL(parse_error::whitespace_before_colon);
    if (*p == '\r' || *p == '\n') NETCO_HTTP_FAIL(parse_error::missing_colon);
    NETCO_HTTP_FAIL(parse_error::invalid_header_token);
  }
  name_len_ = static_cast<std::size_t>(p - b) - mark_;
  ++p;
value_ows:
  while (p < end && (*p == ' ' || *p == '\t')) ++p;
  if (p == end) NETCO_HTTP_NEED(hs_value_ows);
  mark2_ = static_cast<std::size_t>(p - b);  // the value's first byte
value:
  for (;;) {
    p = detail::scan_value(p, end);
    if (p == end) NETCO_HTTP_NEED(hs_value);
    if (*p == '\t') {
      ++p;
      continue;
    }
    break;
  }
  if (*p != '\r') {
    if (*p == '\n') NETCO_HTTP_FAIL(parse_error::cr_expected);
    NETCO_HTTP_FAIL(parse_error::invalid_header_value);
  }
  ++p;
value_lf:
  if (p == end) NETCO_HTTP_NEED(hs_value_lf);
  if (*p != '\n') NETCO_HTTP_FAIL(parse_error::lf_expected);
  if (!on_field(b + mark_, name_len_, b + mark2_, p - 1, trailers)) {
    --p;
    NETCO_HTTP_FAIL(section_error_);
  }
  ++p;
  goto line_start;

end_lf:
  if (p == end) NETCO_HTTP_NEED(hs_end_lf);
  if (*p != '\n') NETCO_HTTP_FAIL(parse_error::lf_expected);
  ++p;
  scanned_ = static_cast<std::size_t>(p - b);
  return section_done;

#undef NETCO_HTTP_NEED
#undef NETCO_HTTP_FAIL
}

// Decides body framing, keep-alive and upgrade once the header section is complete.
inline bool parser::finish_head() {
  head_.headers = std::span<const header>(headers_.data(), header_count_);
  const bool v11 = head_.version_major == 1 && head_.version_minor == 1;
  bool keep_alive = v11 ? !conn_close_ : (conn_keep_alive_ && !conn_close_);
  // RFC 9112 6.1: Transfer-Encoding in an HTTP/1.0 message means faulty framing: close after.
  if (has_transfer_encoding_ && !v11) keep_alive = false;
  // RFC 9110 10.1.1: a 100-continue expectation in an HTTP/1.0 request is ignored.
  if (!v11) head_.expect_continue = false;

  if (kind_ == message_kind::request) {
    if (head_.method == method::connect) {
      head_.upgrade = true;
      head_.body = body_kind::none;
    } else {
      // RFC 9110 7.8: Upgrade in an HTTP/1.0 request is ignored.
      head_.upgrade = has_upgrade_ && conn_upgrade_ && v11;
      if (has_transfer_encoding_) {
        if (!te_chunked_) {
          section_error_ = parse_error::invalid_transfer_encoding;
          return false;
        }
        head_.body = body_kind::chunked;
      } else if (has_content_length_ && content_length_ > 0) {
        head_.body = body_kind::content_length;
        head_.content_length = content_length_;
      }
    }
  } else {
    const unsigned s = head_.status;
    if (request_method_ == method::connect && s / 100 == 2) {
      head_.upgrade = true;
    } else if (s == 101) {
      // The server has switched, Upgrade header or not: parsing on as HTTP could only misread
      // the new protocol (llhttp 9 does the same).
      head_.upgrade = true;
    } else if (request_method_ == method::head || s / 100 == 1 || s == 204 || s == 304) {
      // RFC 9112 6.3 (1): no body, whatever the fields say.
    } else if (has_transfer_encoding_) {
      head_.body = te_chunked_ ? body_kind::chunked : body_kind::until_close;
    } else if (has_content_length_) {
      if (content_length_ > 0) {
        head_.body = body_kind::content_length;
        head_.content_length = content_length_;
      }
    } else {
      head_.body = body_kind::until_close;
    }
    if (head_.body == body_kind::until_close) keep_alive = false;
  }
  head_.keep_alive = keep_alive;
  return true;
}

inline parse_result parser::complete_message(std::size_t consumed) {
  if (head_.upgrade) {
    state_ = st_upgraded;
  } else if (!head_.keep_alive) {
    state_ = st_closed;
  } else {
    state_ = st_message_start;
  }
  // A 1xx response is interim: the final one still answers the same request.
  if (kind_ == message_kind::response && head_.status >= 200) request_method_ = method::get;
  return done(parse_event::message_complete, consumed);
}

inline parse_result parser::parse(std::string_view input) {
  const char* const b = input.data();
  const std::size_t n = input.size();
  std::size_t pos = 0;  // bytes of input used so far in this call

  for (;;) {
    switch (state_) {
      case st_message_start:
        // RFC 9112 2.2: ignore empty lines (CRLF) before a request-line.
        while (pos < n) {
          if (b[pos] != '\r') break;
          if (pos + 1 == n) {
            state_ = st_message_start_lf;
            return done(parse_event::need_more, n);
          }
          if (b[pos + 1] != '\n') return fail(parse_error::lf_expected, pos + 1);
          pos += 2;
        }
        if (pos == n) return done(parse_event::need_more, n);
        if (b[pos] == '\n') return fail(parse_error::cr_expected, pos);
        begin_message();
        state_ = st_head;
        continue;

      case st_message_start_lf:
        if (pos == n) return done(parse_event::need_more, pos);
        if (b[pos] != '\n') return fail(parse_error::lf_expected, pos);
        ++pos;
        state_ = st_message_start;
        continue;

      case st_head:
      case st_trailers: {
        const bool trailers = state_ == st_trailers;
        const section_status s = parse_section(b + pos, n - pos, trailers);
        if (s == section_more) return done(parse_event::need_more, pos);
        if (s == section_error) return fail(section_error_, pos + section_err_);
        pos += scanned_;
        if (trailers) return complete_message(pos);
        if (!finish_head()) return fail(section_error_, pos - 1);
        switch (head_.body) {
          case body_kind::none:
            state_ = st_message_done;
            break;
          case body_kind::content_length:
            remaining_ = head_.content_length;
            state_ = st_body_length;
            break;
          case body_kind::chunked:
            state_ = st_chunk_size_first;
            break;
          case body_kind::until_close:
            state_ = st_body_until_close;
            break;
        }
        chunk_line_ = 0;
        return done(parse_event::head, pos);
      }

      case st_message_done:
        return complete_message(pos);

      case st_body_length: {
        if (remaining_ == 0) return complete_message(pos);
        if (pos == n) return done(parse_event::need_more, pos);
        const std::size_t k =
            static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, n - pos));
        remaining_ -= k;
        return done(parse_event::body, pos + k, {b + pos, k});
      }

      case st_body_until_close:
        if (pos == n) return done(parse_event::need_more, pos);
        return done(parse_event::body, n, {b + pos, n - pos});

      case st_chunk_data: {
        if (pos == n) return done(parse_event::need_more, pos);
        const std::size_t k =
            static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, n - pos));
        remaining_ -= k;
        if (remaining_ == 0) state_ = st_chunk_data_cr;
        return done(parse_event::body, pos + k, {b + pos, k});
      }

      case st_chunk_data_cr:
        if (pos == n) return done(parse_event::need_more, pos);
        if (b[pos] != '\r') return fail(parse_error::missing_chunk_crlf, pos);
        ++pos;
        state_ = st_chunk_data_lf;
        continue;

      case st_chunk_data_lf:
        if (pos == n) return done(parse_event::need_more, pos);
        if (b[pos] != '\n') return fail(parse_error::missing_chunk_crlf, pos);
        ++pos;
        state_ = st_chunk_size_first;
        chunk_line_ = 0;
        continue;

      case st_chunk_size_first:
      case st_chunk_size:
      case st_chunk_ext_name_first:
      case st_chunk_ext_name:
      case st_chunk_ext_value_first:
      case st_chunk_ext_value:
      case st_chunk_ext_quoted:
      case st_chunk_ext_quoted_pair:
      case st_chunk_ext_quoted_end:
      case st_chunk_size_lf: {
        // The chunk-size line, a byte at a time (it is short, and nothing of it is kept).
        const std::size_t start = pos;
        const std::size_t room = options_.max_chunk_extensions_size > chunk_line_
                                     ? options_.max_chunk_extensions_size - chunk_line_
                                     : 0;
        const std::size_t stop = n - pos > room ? pos + room : n;
        while (pos < stop) {
          const char c = b[pos];
          switch (state_) {
            case st_chunk_size_first: {
              const int d = detail::hex_value(c);
              if (d < 0) return fail(parse_error::invalid_chunk_size, pos);
              remaining_ = static_cast<std::uint64_t>(d);
              state_ = st_chunk_size;
              break;
            }
            case st_chunk_size: {
              const int d = detail::hex_value(c);
              if (d >= 0) {
                if (remaining_ > (UINT64_MAX >> 4))
                  return fail(parse_error::invalid_chunk_size, pos);
                remaining_ = (remaining_ << 4) | static_cast<std::uint64_t>(d);
              } else if (c == '\r') {
                state_ = st_chunk_size_lf;
              } else if (c == ';') {
                state_ = st_chunk_ext_name_first;
              } else {
                return fail(parse_error::invalid_chunk_size, pos);
              }
              break;
            }
            case st_chunk_ext_name_first:
              if (!detail::char_is(c, detail::cc_tchar))
                return fail(parse_error::invalid_chunk_extension, pos);
              state_ = st_chunk_ext_name;
              break;
            case st_chunk_ext_name:
              if (detail::char_is(c, detail::cc_tchar)) break;
              if (c == '=')
                state_ = st_chunk_ext_value_first;
              else if (c == ';')
                state_ = st_chunk_ext_name_first;
              else if (c == '\r')
                state_ = st_chunk_size_lf;
              else
                return fail(parse_error::invalid_chunk_extension, pos);
              break;
            case st_chunk_ext_value_first:
              if (c == '"')
                state_ = st_chunk_ext_quoted;
              else if (detail::char_is(c, detail::cc_tchar))
                state_ = st_chunk_ext_value;
              else
                return fail(parse_error::invalid_chunk_extension, pos);
              break;
            case st_chunk_ext_value:
              if (detail::char_is(c, detail::cc_tchar)) break;
              if (c == ';')
                state_ = st_chunk_ext_name_first;
              else if (c == '\r')
                state_ = st_chunk_size_lf;
              else
                return fail(parse_error::invalid_chunk_extension, pos);
              break;
            case st_chunk_ext_quoted:
              if (c == '"')
                state_ = st_chunk_ext_quoted_end;
              else if (c == '\\')
                state_ = st_chunk_ext_quoted_pair;
              else if (!detail::char_is(c, detail::cc_qdtext))
                return fail(parse_error::invalid_chunk_extension, pos);
              break;
            case st_chunk_ext_quoted_pair:
              // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
              if (c != '\t' && !detail::char_is(c, detail::cc_value))
                return fail(parse_error::invalid_chunk_extension, pos);
              state_ = st_chunk_ext_quoted;
              break;
            case st_chunk_ext_quoted_end:
              if (c == ';')
                state_ = st_chunk_ext_name_first;
              else if (c == '\r')
                state_ = st_chunk_size_lf;
              else
                return fail(parse_error::invalid_chunk_extension, pos);
              break;
            case st_chunk_size_lf:
              if (c != '\n') return fail(parse_error::lf_expected, pos);
              ++pos;
              chunk_line_ = 0;
              if (remaining_ == 0) {
                // The last chunk: the trailer section starts here, kept like a head.
                trailer_count_ = 0;
                scanned_ = 0;
                sstate_ = hs_line_start;
                state_ = st_trailers;
              } else {
                state_ = st_chunk_data;
              }
              goto next_state;
            default:
              break;
          }
          ++pos;
        }
        chunk_line_ += pos - start;
        if (pos == n) return done(parse_event::need_more, pos);
        return fail(parse_error::chunk_extensions_overflow, pos);
      next_state:
        continue;
      }

      case st_closed:
        // As llhttp: stray CR/LF after the last message are ignored, anything else is refused.
        while (pos < n && (b[pos] == '\r' || b[pos] == '\n')) ++pos;
        if (pos < n) return fail(parse_error::closed_connection, pos);
        return done(parse_event::need_more, pos);

      case st_upgraded:
        return done(parse_event::upgrade, pos);

      case st_error:
        return {parse_event::error, 0, {}};
    }
  }
}

inline parse_result parser::finish() {
  switch (state_) {
    case st_message_start:
    case st_message_start_lf:
    case st_closed:
    case st_upgraded:
      return {parse_event::need_more, 0, {}};
    case st_message_done:
      return complete_message(0);
    case st_body_length:
      if (remaining_ == 0) return complete_message(0);
      return fail(parse_error::invalid_eof_state, 0);
    case st_body_until_close: {
      parse_result r = complete_message(0);
      state_ = st_closed;
      return r;
    }
    case st_error:
      return {parse_event::error, 0, {}};
    default:
      return fail(parse_error::invalid_eof_state, 0);
  }
}

}  // namespace netco::http

namespace netco::detail {
// The parser's vocabulary, for netco's own HTTP layers (server, client, WebSocket upgrade).
using http::body_kind;
using http::header;
using http::message_head;
using http::message_kind;
using http::parse_error;
using http::parse_event;
using http::parse_result;
using http::parser;
using http::parser_options;
}  // namespace netco::detail

template <>
struct std::is_error_code_enum<netco::http::parse_error> : std::true_type {};
