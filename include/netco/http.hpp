// netco/http.hpp: Node's http module (create_server, incoming_message, server_response, request)
#pragma once
#include <algorithm>         // min, max, find_if
#include <charconv>          // to_chars: status codes, lengths, chunk sizes
#include <chrono>            // steady_clock: the timeout sweep
#include <concepts>          // invocable
#include <coroutine>         // coroutine_handle
#include <cstddef>           // byte, size_t
#include <cstdint>           // uint16_t, uint64_t
#include <cstring>           // memmove, memcpy
#include <ctime>             // time, gmtime_r: the Date header
#include <exception>         // exception_ptr, current_exception
#include <initializer_list>  // write_head's header lists
#include <memory>            // shared_ptr, weak_ptr, enable_shared_from_this
#include <optional>          // optional
#include <span>              // span
#include <stdexcept>         // logic_error
#include <string>            // string: header storage, output buffers
#include <string_view>       // string_view
#include <system_error>      // error_code, error_category, system_error
#include <type_traits>       // invoke_result_t
#include <utility>           // move, exchange, pair
#include <vector>            // vector

#include "netco/buffer.hpp"
#include "netco/cancel.hpp"
#include "netco/detail/asio.hpp"
#include "netco/detail/emitter_handle.hpp"
#include "netco/events.hpp"
#include "netco/http/parser.hpp"
#include "netco/loop.hpp"
#include "netco/net.hpp"
#include "netco/resolve.hpp"
#include "netco/spawn.hpp"
#include "netco/task.hpp"
#include "netco/tcp.hpp"
#include "netco/timer.hpp"

namespace netco::http {

// ---------------------------------------------------------------------------------------------
// Errors

/// HTTP-level failures of the server and client; each message ends with Node's code.
enum class error {
  invalid_char = 1,     ///< CR, LF or NUL in a header name or value [ERR_INVALID_CHAR]
  headers_sent,         ///< a header change after the head went out [ERR_HTTP_HEADERS_SENT]
  write_after_end,      ///< write() after end() [ERR_STREAM_WRITE_AFTER_END]
  invalid_status_code,  ///< a status outside 100-999 [ERR_HTTP_INVALID_STATUS_CODE]
  body_too_large,       ///< body(limit): the body is larger than the limit [ERR_BODY_TOO_LARGE]
  missing_host,         ///< an HTTP/1.1 request without Host [HPE_STRICT]
  socket_hang_up,       ///< the connection ended before the response [ECONNRESET]
  aborted,              ///< the peer went away mid-message [ECONNRESET]
  request_timeout,      ///< the head or body took too long [ERR_HTTP_REQUEST_TIMEOUT]
  invalid_url,          ///< not an http:// URL [ERR_INVALID_URL]
  unsupported_protocol  ///< https: or another scheme [ERR_INVALID_PROTOCOL]
};

namespace detail {
class error_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "netco.http.server"; }
  std::string message(int value) const override {
    switch (static_cast<http::error>(value)) {
      case error::invalid_char:
        return "invalid character in header content [ERR_INVALID_CHAR]";
      case error::headers_sent:
        return "cannot set headers after they are sent to the client [ERR_HTTP_HEADERS_SENT]";
      case error::write_after_end:
        return "write after end [ERR_STREAM_WRITE_AFTER_END]";
      case error::invalid_status_code:
        return "invalid status code [ERR_HTTP_INVALID_STATUS_CODE]";
      case error::body_too_large:
        return "request body larger than the limit [ERR_BODY_TOO_LARGE]";
      case error::missing_host:
        return "HTTP/1.1 request without a Host header [HPE_STRICT]";
      case error::socket_hang_up:
        return "socket hang up [ECONNRESET]";
      case error::aborted:
        return "aborted [ECONNRESET]";
      case error::request_timeout:
        return "request timeout [ERR_HTTP_REQUEST_TIMEOUT]";
      case error::invalid_url:
        return "invalid URL [ERR_INVALID_URL]";
      case error::unsupported_protocol:
        return "protocol not supported, expected \"http:\" [ERR_INVALID_PROTOCOL]";
    }
    return "unknown HTTP error";
  }
};
}  // namespace detail

/// The category of http::error.
inline const std::error_category& error_category() noexcept {
  static const detail::error_category_impl category;
  return category;
}
inline std::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace netco::http

template <>
struct std::is_error_code_enum<netco::http::error> : std::true_type {};

namespace netco::http {

// ---------------------------------------------------------------------------------------------
// Header fields

namespace detail {
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
    if (!is(*p, cc_tchar)) return false;
  return true;
}
inline void check_field(std::string_view name, std::string_view value) {
  if (!valid_name(name) || !valid_value(value))
    throw std::system_error(make_error_code(error::invalid_char),
                            "header \"" + std::string(name) + "\"");
}
}  // namespace detail

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
    std::erase_if(entries_, [&](const entry& e) { return detail::iequals(name_of(e), name); });
    return entries_.size() != before;
  }
  /// The first value of name, if any.
  std::optional<std::string_view> get(std::string_view name) const noexcept {
    for (const entry& e : entries_)
      if (detail::iequals(name_of(e), name)) return value_of(e);
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
      if (detail::iequals(name_of(e), name)) out.push_back(value_of(e));
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

/// The standard reason phrase of a status code ("" for unknown ones). Node: http.STATUS_CODES
inline std::string_view status_text(int code) noexcept {
  switch (code) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 102:
      return "Processing";
    case 103:
      return "Early Hints";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 203:
      return "Non-Authoritative Information";
    case 204:
      return "No Content";
    case 205:
      return "Reset Content";
    case 206:
      return "Partial Content";
    case 300:
      return "Multiple Choices";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 402:
      return "Payment Required";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 417:
      return "Expectation Failed";
    case 418:
      return "I'm a Teapot";
    case 421:
      return "Misdirected Request";
    case 422:
      return "Unprocessable Entity";
    case 425:
      return "Too Early";
    case 426:
      return "Upgrade Required";
    case 428:
      return "Precondition Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 451:
      return "Unavailable For Legal Reasons";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "";
  }
}

namespace detail {

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

using net::detail::defer;
using net::detail::spawn_now;
using netco::detail::buffer_block;

/// Who feeds an incoming message: told when a consumer appears or the reader resumes.
struct message_owner {
  virtual void consumer_changed() = 0;

 protected:
  ~message_owner() = default;
};

using message_emitter = basic_event_emitter<event<"data", buffer>, event<"end">, event<"aborted">,
                                            event<"error", std::error_code>, event<"close">>;

/// The shared state of an incoming_message (a server's request or a client's response).
class message_state : public message_emitter {
 public:
  // The head.
  http::method method_ = http::method::get;
  std::string url_;
  std::uint16_t status_ = 0;
  std::string status_message_;
  std::uint8_t major_ = 1, minor_ = 1;
  http::headers headers_, trailers_;
  net::address_info remote_;

  // The body's flow.
  bool complete_ = false;  ///< the whole message arrived
  bool ended_ = false;     ///< "end" was emitted
  bool aborted_ = false;
  bool closed_ = false;
  bool paused_ = false;
  bool flowing_ = false;  ///< resume() was called: data flows even without listeners
  std::uint64_t body_bytes_ = 0;

  // body(): collects into collect_ up to collect_limit_, then resumes collect_waiter_.
  std::string* collect_ = nullptr;
  std::size_t collect_limit_ = 0;
  std::coroutine_handle<> collect_waiter_;
  std::error_code collect_error_;

  message_owner* owner_ = nullptr;

  /// Someone takes the body: "data" listeners, body(), or resume().
  bool has_consumer() const noexcept { return collect_ || flowing_ || count_of<"data">() > 0; }

  /// Body bytes from the connection (a slice of its read buffer).
  void deliver(const buffer& chunk) {
    body_bytes_ += chunk.size();
    if (collect_) {
      if (collect_->size() + chunk.size() > collect_limit_) {
        collect_error_ = make_error_code(error::body_too_large);
        collect_ = nullptr;
        flowing_ = true;  // the rest is dropped
        wake_collector();
        return;
      }
      collect_->append(chunk.view());
    }
    emit_event<"data">(chunk);
  }
  void finish_body() {
    complete_ = true;
    if (ended_) return;
    ended_ = true;
    if (collect_) {
      collect_ = nullptr;
      wake_collector();
    }
    emit_event<"end">();
  }
  /// The connection went away before the message was complete.
  void abort(std::error_code ec) {
    if (complete_ || aborted_) return;
    aborted_ = true;
    if (collect_ || collect_waiter_) {
      collect_error_ = ec;
      collect_ = nullptr;
      wake_collector();
    }
    emit_event<"aborted">();
    if (count_of<"error">() > 0) emit_event<"error">(ec);
  }
  void close() {
    if (closed_) return;
    closed_ = true;
    emit_event<"close">();
  }
  void wake_collector() {
    if (auto h = std::exchange(collect_waiter_, nullptr)) h.resume();
  }
  void listener_added(std::string_view name) override {
    if (name == "data" && owner_) owner_->consumer_changed();
  }
  /// Back to a fresh message; the listeners were dropped already (clear_all()).
  void reset_message() {
    url_.clear();
    status_ = 0;
    status_message_.clear();
    headers_.clear();
    trailers_.clear();
    complete_ = ended_ = aborted_ = closed_ = paused_ = flowing_ = false;
    body_bytes_ = 0;
    collect_ = nullptr;
    collect_waiter_ = nullptr;
    collect_error_.clear();
  }
  using message_emitter::clear_all;
  using message_emitter::count_of;
  using message_emitter::emit_event;
};

}  // namespace detail

/// An HTTP message being received: the request a server's "request" listener gets, or the
/// response a client's "response" listener gets. A cheap handle; events "data"(buffer), "end",
/// "aborted", "error"(error_code), "close". The body waits (is not read from the socket) until
/// someone takes it: a "data" listener, resume(), or co_await body(). Loop thread only.
class incoming_message : public netco::detail::emitter_handle<incoming_message> {
 public:
  incoming_message() = default;
  explicit incoming_message(std::shared_ptr<detail::message_state> s) noexcept : s_(std::move(s)) {}

  // (events: on, once, off, emit... from emitter_handle)

  /// The request method ("GET"). Node: message.method
  std::string_view method() const { return to_string(s().method_); }
  http::method method_code() const { return s().method_; }
  /// The request-target as sent ("/path?q", or absolute-form). Node: message.url
  std::string_view url() const { return s().url_; }
  /// "1.1" or "1.0". Node: message.httpVersion
  std::string_view http_version() const {
    return s().minor_ == 0 ? "1.0" : (s().major_ == 0 ? "0.9" : "1.1");
  }
  /// Node: message.httpVersionMajor / httpVersionMinor
  int http_version_major() const { return s().major_; }
  int http_version_minor() const { return s().minor_; }
  /// Responses: the status code and reason. Node: message.statusCode / statusMessage
  int status_code() const { return s().status_; }
  std::string_view status_message() const { return s().status_message_; }
  /// Case-insensitive, multi-valued; names in the case they were sent. Node: message.headers
  const http::headers& headers() const { return s().headers_; }
  /// Node: message.rawHeaders (name, value, name, value ...)
  std::vector<std::string_view> raw_headers() const {
    std::vector<std::string_view> out;
    for (auto f : s().headers_) {
      out.push_back(f.name);
      out.push_back(f.value);
    }
    return out;
  }
  /// The trailer fields of a chunked body, after "end". Node: message.trailers
  const http::headers& trailers() const { return s().trailers_; }
  /// Node: message.complete
  bool complete() const { return s().complete_; }
  /// Node: message.aborted
  bool aborted() const { return s().aborted_; }
  /// Node: message.socket.remoteAddress / remotePort
  const net::address_info& remote() const { return s().remote_; }

  /// Stops "data" until resume(); the connection stops reading. Node: message.pause()
  const incoming_message& pause() const {
    s().paused_ = true;
    return *this;
  }
  /// Starts "data" again, or lets the body flow (and be dropped) when nobody listens.
  /// Node: message.resume()
  const incoming_message& resume() const {
    s().paused_ = false;
    s().flowing_ = true;
    if (s().owner_) s().owner_->consumer_changed();
    return *this;
  }
  /// Node: message.isPaused()
  bool is_paused() const { return s().paused_; }

  /// The whole body as a string, once it has arrived. Throws std::system_error:
  /// body_too_large past limit bytes, aborted if the peer goes away first. Resumes on the loop.
  task<std::string> body(std::size_t limit = 1024 * 1024) const {
    std::shared_ptr<detail::message_state> st = s_;
    if (!st) throw std::logic_error("netco: use of an empty http::incoming_message");
    std::string out;
    if (!st->ended_ && !st->aborted_) {
      st->collect_ = &out;
      st->collect_limit_ = limit;
      st->collect_error_.clear();
      if (st->owner_) st->owner_->consumer_changed();
      struct awaiter {
        detail::message_state* st;
        bool await_ready() const noexcept { return !st->collect_; }
        void await_suspend(std::coroutine_handle<> h) noexcept { st->collect_waiter_ = h; }
        void await_resume() const noexcept {}
      };
      co_await awaiter{st.get()};
      st->collect_ = nullptr;
    }
    if (st->collect_error_) throw std::system_error(std::exchange(st->collect_error_, {}));
    if (st->aborted_) throw std::system_error(make_error_code(error::aborted));
    co_return out;
  }

  explicit operator bool() const noexcept { return static_cast<bool>(s_); }
  const std::shared_ptr<detail::message_state>& state() const noexcept { return s_; }

 private:
  friend netco::detail::emitter_handle<incoming_message>;
  decltype(auto) emitter() const { return (s()); }
  detail::message_state& s() const {
    if (!s_) throw std::logic_error("netco: use of an empty http::incoming_message");
    return *s_;
  }
  std::shared_ptr<detail::message_state> s_;
};

// ---------------------------------------------------------------------------------------------
// Server

/// Node: http.createServer(options)
struct server_options {
  std::size_t max_header_size = 16 * 1024;  ///< start line + headers; one byte more gets 431
  std::chrono::milliseconds headers_timeout{60'000};    ///< until the head is in: else 408
  std::chrono::milliseconds request_timeout{300'000};   ///< until the whole request is in (0: none)
  std::chrono::milliseconds keep_alive_timeout{5'000};  ///< idle keep-alive connections close
  std::size_t max_requests_per_socket = 0;  ///< 0: unlimited; the last one gets Connection: close
  std::size_t high_water_mark = 16 * 1024;  ///< res.write() returns false past this many bytes
  bool no_delay = true;                     ///< TCP_NODELAY on accepted connections (as Node)
  bool send_date = true;                    ///< a Date header on every response
};

namespace detail {

class server_state;
class server_connection;

using response_emitter = basic_event_emitter<event<"finish">, event<"close">, event<"drain">,
                                             event<"error", std::error_code>>;

/// One request and its response: the shared state behind incoming_message (as a request) and
/// server_response. Recycled by its connection when no handle outlives the exchange.
class exchange final : public message_state, public response_emitter {
 public:
  using message_state::add_listener;
  using message_state::count_of;
  using message_state::emit_event;
  using message_state::listener_count;
  using message_state::off;
  using message_state::on;
  using message_state::once;
  using message_state::remove_all_listeners;

  response_emitter& res_events() noexcept { return *this; }
  template <fixed_string Name, class... Args>
  bool emit_res(const Args&... args) {
    return response_emitter::emit_event<Name>(args...);
  }
  template <fixed_string Name>
  std::size_t res_count() const noexcept {
    return response_emitter::count_of<Name>();
  }

  /// Back to a fresh exchange, after clear_everything() (recycle() does both).
  void reset_exchange() {
    reset_message();
    status_code_ = 200;
    reason_.clear();
    out_headers_.clear();
    head_sent_ = head_written_ = finished_ = chunked_ = no_body_ = keep_alive_ = false;
    user_length_ = user_chunked_ = user_date_ = user_connection_ = user_close_ = false;
    wrote_body_ = false;
    is_head_ = expect_continue_ = false;
    finish_emitted_ = false;
    res_closed_ = false;
  }
  void close_response() {
    if (res_closed_) return;
    res_closed_ = true;
    emit_res<"close">();
  }
  void clear_everything() noexcept {
    if (!std::exchange(listened_, false)) return;  // the common hello-world case: nothing to drop
    message_state::clear_all();
    response_emitter::clear_all();
  }

  // The response.
  int status_code_ = 200;
  std::string reason_;
  http::headers out_headers_;
  bool head_written_ = false;  ///< write_head() was called (headers_sent)
  bool head_sent_ = false;     ///< the head is in the output
  bool finished_ = false;      ///< end() was called
  bool finish_emitted_ = false;
  bool res_closed_ = false;
  bool chunked_ = false;
  bool no_body_ = false;     ///< HEAD, 1xx, 204, 304: no body bytes go out
  bool keep_alive_ = false;  ///< the connection stays open after this response
  bool user_length_ = false, user_chunked_ = false, user_date_ = false;
  bool user_connection_ = false, user_close_ = false;
  bool wrote_body_ = false;
  bool is_head_ = false;
  bool expect_continue_ = false;
  bool req_keep_alive_ = false;  ///< what the request allows (parser's verdict)
  bool has_remote_ = false;      ///< remote_ holds the connection's peer (kept when recycled)
  bool listened_ = false;        ///< a listener was added on either side since the last reset

  void listener_added(std::string_view name) override {  // both emitters' hook
    listened_ = true;
    message_state::listener_added(name);
  }
  server_connection* conn_ = nullptr;

  void note_header(std::string_view name, std::string_view value) {
    if (iequals(name, "content-length")) {
      user_length_ = true;
    } else if (iequals(name, "transfer-encoding")) {
      user_chunked_ = has_token(value, "chunked");
    } else if (iequals(name, "date")) {
      user_date_ = true;
    } else if (iequals(name, "connection")) {
      user_connection_ = true;
      user_close_ = has_token(value, "close");
    }
  }
  void rescan_headers() {
    user_length_ = user_chunked_ = user_date_ = user_connection_ = user_close_ = false;
    for (auto f : out_headers_) note_header(f.name, f.value);
  }
};

}  // namespace detail

/// The response to one request. A cheap handle; events "finish", "close", "drain", "error".
/// Writes are buffered per connection and sent with one system call per batch; the head goes
/// out with the first write() or end(). Loop thread only.
class server_response : public netco::detail::emitter_handle<server_response> {
 public:
  server_response() = default;
  explicit server_response(std::shared_ptr<detail::exchange> s) noexcept : s_(std::move(s)) {}

  // (events: on, once, off, emit... from emitter_handle)

  /// Node: response.statusCode
  int status_code() const { return s().status_code_; }
  const server_response& status_code(int code) const {
    check_status(code);
    s().status_code_ = code;
    return *this;
  }
  /// Node: response.statusMessage
  std::string_view status_message() const {
    return s().reason_.empty() ? status_text(s().status_code_) : std::string_view(s().reason_);
  }
  const server_response& status_message(std::string_view message) const {
    detail::check_field("status message", message);
    s().reason_.assign(message);
    return *this;
  }

  /// Sets a header, replacing any of the same name. Throws std::system_error:
  /// invalid_char for CR/LF/NUL (no response splitting), headers_sent after the head went out.
  /// Node: response.setHeader()
  const server_response& set_header(std::string_view name, std::string_view value) const {
    detail::check_field(name, value);
    check_not_sent();
    s().out_headers_.set(name, value);
    s().rescan_headers();
    return *this;
  }
  /// Adds a header, keeping others of the same name. Node: response.appendHeader()
  const server_response& append_header(std::string_view name, std::string_view value) const {
    detail::check_field(name, value);
    check_not_sent();
    s().out_headers_.add(name, value);
    s().note_header(name, value);
    return *this;
  }
  /// Node: response.getHeader()
  std::optional<std::string_view> get_header(std::string_view name) const {
    return s().out_headers_.get(name);
  }
  /// Node: response.hasHeader()
  bool has_header(std::string_view name) const { return s().out_headers_.has(name); }
  /// Node: response.removeHeader()
  const server_response& remove_header(std::string_view name) const {
    check_not_sent();
    s().out_headers_.remove(name);
    s().rescan_headers();
    return *this;
  }
  /// Node: response.getHeaders()
  const http::headers& get_headers() const { return s().out_headers_; }

  using header_list = std::initializer_list<std::pair<std::string_view, std::string_view>>;
  /// Sets the status (and reason) and adds headers; the head goes out with the first write()
  /// or end(). Throws as set_header(). Node: response.writeHead(status[, message][, headers])
  const server_response& write_head(int status) const { return write_head(status, {}, {}); }
  const server_response& write_head(int status, header_list fields) const {
    return write_head(status, {}, fields);
  }
  const server_response& write_head(int status, std::string_view message,
                                    header_list fields) const {
    check_status(status);
    check_not_sent();
    for (const auto& [name, value] : fields) detail::check_field(name, value);
    if (!message.empty()) detail::check_field("status message", message);
    auto& st = s();
    st.status_code_ = status;
    if (!message.empty() || !st.reason_.empty()) st.reason_.assign(message);
    for (const auto& [name, value] : fields) {
      st.out_headers_.set(name, value);
      st.note_header(name, value);
    }
    st.head_written_ = true;
    return *this;
  }
  /// Node: response.headersSent
  bool headers_sent() const { return s().head_written_ || s().head_sent_; }
  /// Node: response.writableEnded / response.finished
  bool finished() const { return s().finished_; }
  /// Node: response.writableFinished ("finish" was emitted)
  bool writable_finished() const { return s().finish_emitted_; }

  /// Sends body bytes (chunked when no Content-Length was set). Returns false once the
  /// connection's buffered output passes the high-water mark; "drain" follows. After end():
  /// "error" (write_after_end) on the next tick. Node: response.write()
  bool write(std::string_view data) const;
  bool write(const buffer& data) const { return write(data.view()); }
  /// Finishes the response (sending data first); Content-Length is set when the whole body is
  /// given here. A second end() does nothing. Node: response.end([data])
  const server_response& end(std::string_view data = {}) const;
  const server_response& end(const buffer& data) const { return end(data.view()); }
  /// Sends "100 Continue" (from a "checkContinue" listener). Node: response.writeContinue()
  const server_response& write_continue() const;

  explicit operator bool() const noexcept { return static_cast<bool>(s_); }
  const std::shared_ptr<detail::exchange>& state() const noexcept { return s_; }

 private:
  static void check_status(int code) {
    if (code < 100 || code > 999)
      throw std::system_error(make_error_code(error::invalid_status_code), std::to_string(code));
  }
  void check_not_sent() const {
    if (s().head_sent_) throw std::system_error(make_error_code(error::headers_sent));
  }
  friend netco::detail::emitter_handle<server_response>;
  decltype(auto) emitter() const { return (s().res_events()); }
  detail::exchange& s() const {
    if (!s_) throw std::logic_error("netco: use of an empty http::server_response");
    return *s_;
  }
  std::shared_ptr<detail::exchange> s_;
};

/// The connection behind a "clientError" event: answer with write()/end(), or destroy(). If the
/// listener does neither, the connection is destroyed. Node: the socket clientError passes.
class client_socket {
 public:
  client_socket() = default;
  explicit client_socket(std::shared_ptr<detail::server_connection> c) noexcept
      : c_(std::move(c)) {}
  /// Queues raw bytes. Node: socket.write()
  const client_socket& write(std::string_view data) const;
  /// Queues data, then closes after flushing. Node: socket.end([data])
  const client_socket& end(std::string_view data = {}) const;
  /// Closes at once. Node: socket.destroy()
  const client_socket& destroy() const;
  /// Node: socket.remoteAddress / remotePort
  net::address_info remote() const;

 private:
  std::shared_ptr<detail::server_connection> c_;
};

/// A connection taken over by an "upgrade" listener: the stream and the bytes already read
/// past the request head (Node's `head` argument is head()).
class upgraded_socket {
 public:
  upgraded_socket() = default;
  upgraded_socket(std::shared_ptr<tcp::stream> stream, buffer head) noexcept
      : stream_(std::move(stream)), head_(std::move(head)) {}
  /// The TCP stream, for coroutine I/O. Keep the handle (or the shared_ptr) alive while in use.
  tcp::stream& stream() const { return *stream_; }
  const std::shared_ptr<tcp::stream>& shared_stream() const noexcept { return stream_; }
  const buffer& head() const noexcept { return head_; }

 private:
  std::shared_ptr<tcp::stream> stream_;
  buffer head_;
};

namespace detail {

using server_emitter =
    basic_event_emitter<event<"request", incoming_message, server_response>,
                        event<"checkContinue", incoming_message, server_response>,
                        event<"connection", net::address_info>,
                        event<"clientError", std::error_code, client_socket>,
                        event<"upgrade", incoming_message, upgraded_socket, buffer>,
                        event<"listening">, event<"close">, event<"error", std::error_code>>;

/// The shared state behind http::server handles. Loop thread only.
class server_state final : public server_emitter,
                           public net::detail::registered,
                           public std::enable_shared_from_this<server_state> {
 public:
  server_state(loop& owner, server_options o)
      : owner_(&owner), options_(o), sweep_(owner.context()) {
    net::detail::registry::of(owner).add(*this);
  }
  ~server_state() override { close_acceptor(); }

  using server_emitter::count_of;
  using server_emitter::emit_event;

  void listen(std::uint16_t port, std::string host, int backlog, bool reuse_port = false);
  void listen_without_acceptor();
  void adopt(tcp::stream peer);
  void close();
  void close_idle_connections();
  void close_all_connections();
  net::address_info address() const {
    if (!acceptor_ || !acceptor_->is_open()) return {};
    std::error_code ec;
    auto ep = acceptor_->asio_acceptor().local_endpoint(ec);
    if (ec) return {};
    return {ep.address().to_string(), ep.address().is_v6() ? "IPv6" : "IPv4", ep.port()};
  }

  void add_connection(server_connection* c);
  void remove_connection(server_connection* c);
  void sweep();
  /// "Connection: keep-alive\r\n" and Node's "Keep-Alive: timeout=N[, max=M]\r\n": made
  /// again only when the options change, not per response.
  std::string_view keep_alive_fields() {
    if (keep_alive_for_ != options_.keep_alive_timeout ||
        keep_alive_max_ != options_.max_requests_per_socket) {
      keep_alive_for_ = options_.keep_alive_timeout;
      keep_alive_max_ = options_.max_requests_per_socket;
      keep_alive_fields_ = "Connection: keep-alive\r\n";
      if (keep_alive_for_.count() >= 1000) {
        keep_alive_fields_ += "Keep-Alive: timeout=";
        append_number(keep_alive_fields_,
                      static_cast<std::uint64_t>(keep_alive_for_.count() / 1000));
        if (keep_alive_max_ > 0) {
          keep_alive_fields_ += ", max=";
          append_number(keep_alive_fields_, keep_alive_max_);
        }
        keep_alive_fields_ += "\r\n";
      }
    }
    return keep_alive_fields_;
  }

  loop* owner_;
  server_options options_;
  bool listening_ = false;
  bool closing_ = false;
  std::size_t connections_ = 0;
  server_connection* first_ = nullptr;  // intrusive list of live connections

 private:
  void on_loop_gone() noexcept override {
    auto keep = weak_from_this().lock();
    listening_ = false;
    close_acceptor();
    clear_all();
  }
  void close_acceptor() noexcept {
    if (acceptor_) acceptor_->close();
    try {
      sweep_.cancel();
    } catch (...) {  // nothing to do: the timer is going away
    }
  }
  void maybe_emit_close() {
    if (!closing_ || listening_ || connections_ > 0 || close_scheduled_) return;
    close_scheduled_ = true;
    defer(*owner_, [self = shared_from_this()] {
      self->close_scheduled_ = false;
      if (!self->closing_ || self->listening_) return;
      self->closing_ = false;
      self->emit_event<"close">();
    });
  }
  void arm_sweep();
  std::chrono::milliseconds sweep_interval() const {
    using std::chrono::milliseconds;
    milliseconds m{1000};
    for (milliseconds t :
         {options_.headers_timeout, options_.request_timeout, options_.keep_alive_timeout}) {
      if (t.count() > 0) m = std::min(m, t / 4);
    }
    return std::max(m, milliseconds(5));
  }
  task<> accept_loop(std::shared_ptr<server_state> self, std::size_t generation);

  mutable std::optional<tcp::acceptor> acceptor_;
  std::size_t generation_ = 0;
  bool close_scheduled_ = false;
  bool sweep_armed_ = false;
  netco::detail::steady_timer sweep_;  // a bare timer: it does not keep the loop alive
  std::string keep_alive_fields_;      // for keep_alive_for_ and keep_alive_max_
  std::chrono::milliseconds keep_alive_for_{-1};
  std::size_t keep_alive_max_ = 0;
};

/// One accepted connection: a coroutine reads into one buffer, parses, emits, and writes the
/// batched responses; requests are handled one at a time, in order.
class server_connection final : public message_owner,
                                public std::enable_shared_from_this<server_connection> {
 public:
  enum class phase : std::uint8_t { head, body, responding, idle, lingering };

  server_connection(std::shared_ptr<server_state> server, tcp::stream s)
      : server_(std::move(server)),
        stream_(std::move(s)),
        parser_(message_kind::request,
                parser_options{server_->options_.max_header_size, 16 * 1024}) {
    capacity_ = std::max<std::size_t>(16 * 1024, server_->options_.max_header_size + 4096);
    since_ = std::chrono::steady_clock::now();
  }
  ~server_connection() { buffer_block::release(rbuf_); }

  task<> run(std::shared_ptr<server_connection> self);

  // --- called by handles ---------------------------------------------------------------
  void consumer_changed() override { notify(); }
  /// Output was queued: make sure someone writes it.
  void kick() {
    if (dead_) return;
    if (waiter_) {
      notify();
    } else if (in_read_ && !writing_) {
      spawn_now(*server_->owner_, writer(shared_from_this()));
    }
  }
  std::size_t buffered() const noexcept { return out_.size() + inflight_left_; }
  bool over_high_water() const noexcept { return buffered() >= server_->options_.high_water_mark; }
  void response_ended(exchange& ex) {
    (void)ex;
    notify();
    kick();
  }
  void destroy_now() {
    if (dead_) return;
    dead_ = true;
    stream_.close();  // a pending read or write ends with operation_canceled
    notify();
  }
  void end_after_flush() {
    close_after_ = true;
    kick();
    notify();
  }
  void time_out() {
    if (dead_ || timed_out_) return;
    timed_out_ = true;
    std::error_code ignored;
    stream_.asio_socket().cancel(ignored);
    notify();
  }
  /// server.close(): idle connections close now, busy ones after their current response.
  void server_closing(bool force) {
    close_after_ = true;
    if (force || phase_ == phase::idle || phase_ == phase::lingering) {
      idle_close_ = true;
      time_out();
    }
  }

  std::string out_;  // output not yet handed to the socket
  std::shared_ptr<exchange> cur_;
  server_connection* prev_ = nullptr;
  server_connection* next_ = nullptr;
  phase phase_ = phase::head;
  std::chrono::steady_clock::time_point since_;
  std::size_t requests_ = 0;
  bool close_after_ = false;  // no keep-alive: close once the output is flushed
  bool need_drain_ = false;
  bool dead_ = false;
  bool client_error_answered_ = false;
  std::shared_ptr<server_state> server_;
  tcp::stream stream_;
  net::address_info remote_;

 private:
  struct wait_awaiter {
    server_connection* c;
    bool await_ready() const noexcept { return std::exchange(c->notified_, false); }
    void await_suspend(std::coroutine_handle<> h) noexcept { c->waiter_ = h; }
    void await_resume() const noexcept { c->notified_ = false; }
  };
  /// Waits for notify(): a consumer, a resume, an end(), a finished writer, a timeout.
  wait_awaiter wait() noexcept { return {this}; }
  void notify() {
    notified_ = true;
    if (!waiter_ || resume_posted_) return;
    resume_posted_ = true;
    // Never resume inside the caller (a listener calling end()): on a later turn, as Node.
    defer(*server_->owner_, [self = shared_from_this()] {
      self->resume_posted_ = false;
      if (auto h = std::exchange(self->waiter_, nullptr)) h.resume();
    });
  }

  std::string_view input() const noexcept {
    return {reinterpret_cast<const char*>(rbuf_->data()) + begin_, end_ - begin_};
  }
  void consume(std::size_t n) noexcept {
    begin_ += n;
    if (begin_ == end_ && !read_ahead_ && rbuf_ && rbuf_->refs.load(std::memory_order_relaxed) == 1)
      begin_ = end_ = 0;
  }
  /// While a response is pending, keep reading, so pipelined requests queue up in the buffer
  /// and a peer that resets is noticed at once. Bounded by the read buffer: when it is nearly
  /// full, reading stops until the queued requests are answered (Node pauses the socket).
  void start_read_ahead() {
    if (read_ahead_ || peer_ended_ || dead_ || timed_out_ || upgraded_) return;
    prepare_read();
    if (capacity_ - end_ < 1024) return;
    read_ahead_ = true;
    stream_.asio_socket().async_read_some(
        asio::buffer(rbuf_->data() + end_, capacity_ - end_),
        [self = shared_from_this()](const std::error_code& ec, std::size_t n) {
          self->read_ahead_ = false;
          if (!ec && n > 0) {
            self->end_ += n;
          } else if (!ec || ec == asio::error::eof) {
            self->peer_ended_ = true;
          } else if (ec != asio::error::operation_aborted && !self->dead_) {
            self->fail_all(ec);  // a reset: the pending response's "close" fires now
          }
          self->notify();
        });
  }
  /// Room to read into: reuse the block while nobody holds a body chunk of it.
  void prepare_read() {
    const bool shared = rbuf_ && rbuf_->refs.load(std::memory_order_acquire) != 1;
    if (!rbuf_ || shared) {
      buffer_block* fresh = buffer_block::create(capacity_);
      if (rbuf_ && end_ > begin_) std::memcpy(fresh->data(), rbuf_->data() + begin_, end_ - begin_);
      buffer_block::release(std::exchange(rbuf_, fresh));
      end_ -= begin_;
      begin_ = 0;
    } else if (begin_ > 0 && (end_ == capacity_ || begin_ == end_ || capacity_ - end_ < 4096)) {
      std::memmove(rbuf_->data(), rbuf_->data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
  }
  void set_phase(phase p) {
    phase_ = p;
    // Only the phases with a timeout need the time (the clock read is a per-request cost).
    if (p != phase::responding) since_ = std::chrono::steady_clock::now();
  }

  std::shared_ptr<exchange> new_exchange() {
    std::shared_ptr<exchange> ex;
    if (!spare_.empty()) {
      ex = std::move(spare_.back());
      spare_.pop_back();
      ex->reset_exchange();
    } else {
      ex = std::make_shared<exchange>();
    }
    ex->owner_ = this;
    ex->conn_ = this;
    return ex;
  }
  void recycle(std::shared_ptr<exchange>& ex) {
    ex->clear_everything();
    ex->owner_ = nullptr;
    ex->conn_ = nullptr;
    if (ex.use_count() == 1 && spare_.size() < 4) spare_.push_back(std::move(ex));
    ex.reset();
  }
  /// The exchange is done on our side: its finish/close go out after the flush.
  void retire() {
    std::shared_ptr<exchange> ex = std::move(cur_);
    if (ex->res_count<"finish">() > 0 || ex->res_count<"close">() > 0 ||
        ex->count_of<"close">() > 0) {
      finishing_.push_back(std::move(ex));
    } else {
      ex->finish_emitted_ = true;
      recycle(ex);
    }
  }
  void after_write() {
    if (!finishing_.empty() && out_.empty()) {
      for (std::size_t i = 0; i < finishing_.size(); ++i) {
        std::shared_ptr<exchange> ex = std::move(finishing_[i]);
        ex->finish_emitted_ = true;
        ex->emit_res<"finish">();
        ex->close_response();
        ex->close();
        recycle(ex);
      }
      finishing_.clear();
    }
    if (need_drain_ && !over_high_water()) {
      need_drain_ = false;
      if (cur_ && !cur_->finished_) cur_->emit_res<"drain">();
    }
  }
  /// Writes out_ until it is empty (one writev/send per batch). False if the connection died.
  task<bool> flush();
  task<> writer(std::shared_ptr<server_connection> self) {
    (void)self;
    co_await flush();
    if (waiter_) notify();
  }
  void on_head();
  bool client_error(std::error_code ec);
  /// A timeout hit: true to close at once (idle), false when a 408 is queued.
  bool answer_timeout() {
    timed_out_ = false;
    if (idle_close_ || phase_ == phase::idle || phase_ == phase::lingering) return true;
    // Node: 408 for a request still arriving when its time is up.
    if (!cur_ || !cur_->head_sent_)
      out_.append("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n");
    if (cur_) cur_->abort(make_error_code(error::request_timeout));
    close_after_ = true;
    return false;
  }
  void fail_all(std::error_code ec);

  parser parser_;
  buffer_block* rbuf_ = nullptr;
  std::size_t begin_ = 0, end_ = 0, capacity_ = 0;
  std::string inflight_;
  std::size_t inflight_left_ = 0;
  std::vector<std::shared_ptr<exchange>> finishing_;
  std::vector<std::shared_ptr<exchange>> spare_;
  std::coroutine_handle<> waiter_;
  bool notified_ = false;
  bool resume_posted_ = false;
  bool writing_ = false;
  bool in_read_ = false;
  bool timed_out_ = false;
  bool idle_close_ = false;
  bool upgraded_ = false;
  bool read_ahead_ = false;  ///< start_read_ahead()'s read is pending
  bool peer_ended_ = false;  ///< it saw the peer's FIN
};

// --- output ----------------------------------------------------------------------------------

/// Writes into room reserved in a string up front: the response head is one resize and a
/// run of memcpy, not an append (and a strlen) per piece.
struct head_writer {
  char* p;
  void put(std::string_view text) noexcept {
    std::memcpy(p, text.data(), text.size());
    p += text.size();
  }
  void number(std::uint64_t n) noexcept {
    if (n < 1000) {  // status codes and small lengths: no general conversion
      const auto v = static_cast<unsigned>(n);
      if (v >= 100) *p++ = static_cast<char>('0' + v / 100);
      if (v >= 10) *p++ = static_cast<char>('0' + v / 10 % 10);
      *p++ = static_cast<char>('0' + v % 10);
      return;
    }
    p = std::to_chars(p, p + 20, n).ptr;
  }
};

/// Serialises the response head into the connection's output. known_length: the whole body
/// is known (end(data) before any write), its size is `length`.
inline void write_response_head(server_connection& c, exchange& ex, bool known_length,
                                std::size_t length) {
  using namespace std::string_view_literals;
  std::string& out = c.out_;
  const int status = ex.status_code_;
  ex.head_sent_ = true;
  ex.no_body_ = ex.is_head_ || status < 200 || status == 204 || status == 304;
  bool keep = ex.req_keep_alive_ && !c.close_after_ && !ex.user_close_;
  const auto& opt = c.server_->options_;
  if (opt.max_requests_per_socket > 0 && c.requests_ >= opt.max_requests_per_socket) keep = false;
  const std::string_view reason =
      ex.reason_.empty() ? status_text(status) : std::string_view(ex.reason_);
  const std::string_view date = opt.send_date && !ex.user_date_ ? http_date() : ""sv;
  const std::string_view keep_alive_fields =
      keep && !ex.user_connection_ ? c.server_->keep_alive_fields() : ""sv;

  // Everything but the reason, the fields, the date and the keep-alive fields fits in 96 bytes:
  // the status line's rest 15, "Date: \r\n" 8, "Content-Length: \r\n" 18 and 20 digits, or
  // "Transfer-Encoding: chunked\r\n" 28, "Connection: close\r\n" 19, the blank line 2.
  const std::size_t at = out.size();
  out.resize(at + 96 + reason.size() + ex.out_headers_.wire_size_bound() + date.size() +
             keep_alive_fields.size());
  head_writer w{out.data() + at};
  if (status == 200 && ex.reason_.empty()) {  // the common one, without number conversion
    w.put("HTTP/1.1 200 OK\r\n"sv);
  } else {
    w.put("HTTP/1.1 "sv);
    w.number(static_cast<std::uint64_t>(status));
    w.put(" "sv);
    w.put(reason);
    w.put("\r\n"sv);
  }
  for (auto f : ex.out_headers_) {
    w.put(f.name);
    w.put(": "sv);
    w.put(f.value);
    w.put("\r\n"sv);
  }
  if (!date.empty()) {
    w.put("Date: "sv);
    w.put(date);
    w.put("\r\n"sv);
  }
  if (ex.user_chunked_) {
    ex.chunked_ = !ex.no_body_;
  } else if (!ex.user_length_ && status != 204 && status != 304 && status >= 200) {
    if (known_length) {
      w.put("Content-Length: "sv);
      w.number(length);
      w.put("\r\n"sv);
    } else if (ex.is_head_) {
      // HEAD: the body's length is not known; say nothing about it.
    } else if (ex.minor_ >= 1) {
      w.put("Transfer-Encoding: chunked\r\n"sv);
      ex.chunked_ = true;
    } else {
      keep = false;  // HTTP/1.0 without a length: the close ends the body
    }
  }
  if (!ex.user_connection_) {
    if (!keep) {
      w.put("Connection: close\r\n"sv);
    } else {
      // Node 20 says it on every keep-alive response, with the idle timeout in seconds. (The
      // fields were sized above before `keep` could turn false; then they are not written.)
      w.put(keep_alive_fields);
    }
  }
  w.put("\r\n"sv);
  out.resize(static_cast<std::size_t>(w.p - out.data()));
  ex.keep_alive_ = keep;
  if (!keep) c.close_after_ = true;
}

inline void append_body(server_connection& c, exchange& ex, std::string_view data) {
  if (data.empty() || ex.no_body_) return;
  ex.wrote_body_ = true;
  if (ex.chunked_) {
    append_hex(c.out_, data.size());
    c.out_.append("\r\n");
    c.out_.append(data);
    c.out_.append("\r\n");
  } else {
    c.out_.append(data);
  }
}

}  // namespace detail

inline bool server_response::write(std::string_view data) const {
  detail::exchange& ex = s();
  detail::server_connection* c = ex.conn_;
  if (ex.finished_ || !c || c->dead_) {
    if (ex.finished_) {
      detail::defer(loop::current(),
                    [st = s_] { st->emit_res<"error">(make_error_code(error::write_after_end)); });
    }
    return false;
  }
  if (!ex.head_sent_) detail::write_response_head(*c, ex, false, 0);
  detail::append_body(*c, ex, data);
  c->kick();
  if (c->over_high_water()) {
    c->need_drain_ = true;
    return false;
  }
  return true;
}

inline const server_response& server_response::end(std::string_view data) const {
  detail::exchange& ex = s();
  if (ex.finished_) return *this;
  ex.finished_ = true;
  detail::server_connection* c = ex.conn_;
  if (!c || c->dead_) return *this;
  if (!ex.head_sent_) detail::write_response_head(*c, ex, true, data.size());
  detail::append_body(*c, ex, data);
  if (ex.chunked_) c->out_.append("0\r\n\r\n");
  c->response_ended(ex);
  return *this;
}

inline const server_response& server_response::write_continue() const {
  detail::exchange& ex = s();
  if (ex.conn_ && !ex.head_sent_) {
    ex.conn_->out_.append("HTTP/1.1 100 Continue\r\n\r\n");
    ex.conn_->kick();
  }
  return *this;
}

inline const client_socket& client_socket::write(std::string_view data) const {
  if (c_ && !c_->dead_) {
    c_->client_error_answered_ = true;
    c_->out_.append(data);
    c_->kick();
  }
  return *this;
}
inline const client_socket& client_socket::end(std::string_view data) const {
  if (c_ && !c_->dead_) {
    c_->client_error_answered_ = true;
    c_->out_.append(data);
    c_->end_after_flush();
  }
  return *this;
}
inline const client_socket& client_socket::destroy() const {
  if (c_) {
    c_->client_error_answered_ = true;
    c_->destroy_now();
  }
  return *this;
}
inline net::address_info client_socket::remote() const {
  return c_ ? c_->remote_ : net::address_info{};
}

namespace detail {

inline task<bool> server_connection::flush() {
  while (writing_ && !dead_) co_await wait();
  if (dead_) co_return false;
  writing_ = true;
  while (!out_.empty() && !dead_) {
    inflight_.swap(out_);
    out_.clear();
    inflight_left_ = inflight_.size();
    std::error_code ec;
    co_await stream_.write_all(inflight_, ec);
    inflight_left_ = 0;
    inflight_.clear();
    if (ec) {
      writing_ = false;
      fail_all(ec);
      co_return false;
    }
    after_write();
  }
  writing_ = false;
  co_return !dead_;
}

inline void server_connection::fail_all(std::error_code ec) {
  if (!dead_) {
    dead_ = true;
    stream_.close();
  }
  const std::error_code aborted = make_error_code(error::aborted);
  (void)ec;
  if (cur_) {
    std::shared_ptr<exchange> ex = std::move(cur_);
    ex->abort(aborted);
    ex->close_response();
    ex->close();
    ex->clear_everything();
    ex->owner_ = nullptr;
    ex->conn_ = nullptr;
  }
  for (auto& ex : finishing_) {
    ex->close_response();
    ex->close();
    ex->clear_everything();
    ex->owner_ = nullptr;
    ex->conn_ = nullptr;
  }
  finishing_.clear();
  notify();
}

inline void server_connection::on_head() {
  const message_head& h = parser_.head();
  std::shared_ptr<exchange> ex = new_exchange();
  exchange& e = *ex;
  e.method_ = h.method;
  e.url_.assign(h.target);
  e.major_ = h.version_major;
  e.minor_ = h.version_minor;
  for (const header& f : h.headers) e.headers_.add(f.name, f.value);
  if (!e.has_remote_) {  // recycled exchanges stay with their connection: once is enough
    e.remote_ = remote_;
    e.has_remote_ = true;
  }
  e.is_head_ = h.method == method::head;
  e.expect_continue_ = h.expect_continue;
  e.req_keep_alive_ = h.keep_alive;
  if (h.body == body_kind::none) e.complete_ = true;  // set again at message_complete
  ++requests_;
  cur_ = std::move(ex);
}

inline bool server_connection::client_error(std::error_code ec) {
  // Node's default: 400 (431 for an oversized head) with Connection: close, then close.
  if (server_->count_of<"clientError">() > 0) {
    client_error_answered_ = false;
    server_->emit_event<"clientError">(ec, client_socket(shared_from_this()));
    if (!client_error_answered_) destroy_now();
    close_after_ = true;
    return !dead_;
  }
  if (ec == parse_error::header_overflow) {
    out_.append("HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n");
  } else {
    out_.append("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
  }
  close_after_ = true;
  return true;
}

inline task<> server_connection::run(std::shared_ptr<server_connection> self) {
  (void)self;
  struct leave {
    server_connection* c;
    ~leave() {
      c->fail_all({});
      c->server_->remove_connection(c);
    }
  } guard{this};
  std::error_code ec;
  {
    auto ep = stream_.remote_endpoint(ec);
    if (!ec)
      remote_ = {ep.address().to_string(), ep.address().is_v6() ? "IPv6" : "IPv4", ep.port()};
  }
  bool answered_error = false;  // a 400/408/431 is queued: flush, then close
  for (;;) {
    if (dead_) break;
    if (answered_error) break;
    if (!rbuf_) prepare_read();
    parse_result r = parser_.parse(input());
    switch (r.event) {
      case parse_event::need_more: {
        consume(r.consumed);
        if (!out_.empty() && !writing_) {
          // flush()'s common case inline (no coroutine frame per request): the batch of
          // responses goes out in one send, straight from out_ when the socket takes it all;
          // otherwise the rest waits in inflight_, and what listeners add meanwhile, flush()
          // sends.
          const std::size_t sent =
              stream_.try_write_some(std::as_bytes(std::span(out_.data(), out_.size())), ec);
          if (sent == out_.size()) {
            out_.clear();
          } else if (!ec) {
            writing_ = true;
            inflight_.assign(out_, sent);
            out_.clear();
            inflight_left_ = inflight_.size();
            co_await stream_.write_all(inflight_, ec);
            inflight_left_ = 0;
            inflight_.clear();
            writing_ = false;
          }
          if (ec) {
            fail_all(ec);
            co_return;
          }
          after_write();
        }
        if (!out_.empty() || writing_) {
          if (!co_await flush()) co_return;
        }
        if (close_after_ && !cur_) goto done;
        std::size_t n = 0;
        ec.clear();
        if (read_ahead_ || peer_ended_) {
          // A read started while a response was pending: take its outcome.
          while (read_ahead_ && !dead_) co_await wait();
          if (dead_) goto done;
          if (!peer_ended_ && !timed_out_) {
            if (phase_ == phase::idle && end_ > begin_) set_phase(phase::head);
            continue;
          }
        } else {
          prepare_read();
          if (end_ == capacity_) {  // cannot happen with a sane parser limit; refuse
            answered_error = client_error(make_error_code(parse_error::header_overflow));
            continue;
          }
          in_read_ = true;
          n = co_await stream_.read_some(std::span(rbuf_->data() + end_, capacity_ - end_), ec);
          in_read_ = false;
        }
        if (dead_) goto done;
        if (timed_out_) {
          if (answer_timeout()) goto done;
          answered_error = true;
          continue;
        }
        if (ec) {
          fail_all(ec);
          goto done;
        }
        if (n == 0) {  // EOF
          parse_result f = parser_.finish();
          if (f.event == parse_event::error && cur_) cur_->abort(make_error_code(error::aborted));
          if (!co_await flush()) co_return;
          goto done;
        }
        if (phase_ == phase::idle) set_phase(phase::head);
        end_ += n;
        continue;
      }
      case parse_event::head: {
        on_head();
        exchange& e = *cur_;
        consume(r.consumed);
        if (e.major_ == 1 && e.minor_ == 1 && !e.headers_.has("host")) {
          // RFC 9112 3.2: an HTTP/1.1 request without Host is a 400 (stricter than Node).
          cur_->owner_ = nullptr;
          cur_.reset();
          answered_error = client_error(make_error_code(error::missing_host));
          continue;
        }
        set_phase(e.complete_ ? phase::responding : phase::body);
        incoming_message req{std::shared_ptr<message_state>(cur_)};
        server_response res(cur_);
        if (parser_.head().upgrade && server_->count_of<"upgrade">() > 0) {
          // Hand the connection over, with what was read past the head. The answers to the
          // requests before it go first; a read still pending from a pipelined request's wait
          // would take the new owner's bytes: stop it.
          if (!out_.empty() || writing_) {
            if (!co_await flush()) co_return;
          }
          while (read_ahead_ && !dead_) {
            std::error_code ignored;
            stream_.asio_socket().cancel(ignored);
            co_await wait();
          }
          if (dead_) goto done;
          upgraded_ = true;
          buffer rest = buffer::copy_of(std::as_bytes(std::span(input().data(), input().size())));
          begin_ = end_;
          auto stream = std::make_shared<tcp::stream>(std::move(stream_));
          cur_->conn_ = nullptr;
          cur_->owner_ = nullptr;
          cur_->complete_ = true;
          cur_.reset();
          dead_ = true;
          server_->emit_event<"upgrade">(req, upgraded_socket(stream, rest), rest);
          goto done;
        }
        if (e.expect_continue_ && e.major_ == 1 && e.minor_ == 1) {
          if (server_->count_of<"checkContinue">() > 0) {
            server_->emit_event<"checkContinue">(req, res);
            continue;
          }
          out_.append("HTTP/1.1 100 Continue\r\n\r\n");
        }
        server_->emit_event<"request">(req, res);
        continue;
      }
      case parse_event::body: {
        // The body waits for a consumer (or pause() to end) unless the response is already
        // finished, in which case it is read and dropped (Node's dump).
        while (!dead_ && !timed_out_ && cur_ && !cur_->finished_ &&
               (cur_->paused_ || !cur_->has_consumer())) {
          if (!out_.empty()) {
            if (!co_await flush()) co_return;
            continue;
          }
          co_await wait();
        }
        if (dead_ || !cur_) goto done;
        if (timed_out_) {
          if (answer_timeout()) goto done;
          answered_error = true;
          continue;
        }
        const std::size_t at = static_cast<std::size_t>(
            reinterpret_cast<const std::byte*>(r.data.data()) - rbuf_->data());
        if (!cur_->finished_ || cur_->has_consumer()) {
          buffer_block::retain(rbuf_);
          cur_->deliver(buffer::adopt(rbuf_, at, r.data.size()));
        }
        consume(r.consumed);
        continue;
      }
      case parse_event::message_complete: {
        consume(r.consumed);
        if (!cur_) continue;
        for (const header& f : parser_.trailers()) cur_->trailers_.add(f.name, f.value);
        set_phase(phase::responding);
        cur_->finish_body();
        while (!dead_ && cur_ && !cur_->finished_) {
          if (!out_.empty()) {
            if (!co_await flush()) co_return;
            continue;
          }
          start_read_ahead();
          co_await wait();
        }
        if (dead_ || !cur_) goto done;
        retire();
        if (close_after_) goto done;
        set_phase(begin_ == end_ ? phase::idle : phase::head);
        continue;
      }
      case parse_event::upgrade:
        // No "upgrade" listener: the request was answered as a plain one; the connection ends.
        close_after_ = true;
        if (!co_await flush()) co_return;
        goto done;
      case parse_event::error: {
        const std::error_code perr = parser_.error();
        if (cur_) {
          cur_->abort(make_error_code(error::aborted));
          if (cur_->head_sent_) {
            destroy_now();
            goto done;
          }
        }
        answered_error = client_error(perr);
        continue;
      }
    }
  }
done:
  if (!dead_ && !upgraded_) {
    if (!out_.empty() || writing_) {
      if (!co_await flush()) co_return;
    }
    if (cur_ && !cur_->finished_) {
      // The peer ended before we answered: Node's "close" without "finish".
    }
    // Lingering close: FIN first, then drop what the peer still sends, so our last response
    // is not lost to a reset.
    std::error_code ignored;
    while (read_ahead_ && !dead_) {  // the lingering reads below reuse the buffer
      stream_.asio_socket().cancel(ignored);
      co_await wait();
    }
    stream_.shutdown_send(ignored);
    if ((answered_error || close_after_) && !peer_ended_ && !dead_) {
      set_phase(phase::lingering);
      timed_out_ = false;
      for (int i = 0; i < 64 && !dead_ && !timed_out_; ++i) {
        prepare_read();
        begin_ = end_ = 0;
        in_read_ = true;
        const std::size_t n =
            co_await stream_.read_some(std::span(rbuf_->data(), capacity_), ignored);
        in_read_ = false;
        if (n == 0 || ignored) break;
      }
    }
    fail_all({});
  }
}

inline void server_state::add_connection(server_connection* c) {
  ++connections_;
  c->next_ = first_;
  if (first_) first_->prev_ = c;
  first_ = c;
  arm_sweep();
}
inline void server_state::remove_connection(server_connection* c) {
  if (c->prev_)
    c->prev_->next_ = c->next_;
  else if (first_ == c)
    first_ = c->next_;
  if (c->next_) c->next_->prev_ = c->prev_;
  c->prev_ = c->next_ = nullptr;
  if (connections_ > 0) --connections_;
  maybe_emit_close();
}

inline void server_state::arm_sweep() {
  if (sweep_armed_ || !first_) return;
  sweep_armed_ = true;
  sweep_.expires_after(sweep_interval());
  sweep_.async_wait([weak = weak_from_this()](const std::error_code& ec) {
    auto self = weak.lock();
    if (!self) return;
    self->sweep_armed_ = false;
    if (ec) return;
    self->sweep();
    self->arm_sweep();
  });
}

inline void server_state::sweep() {
  const auto now = std::chrono::steady_clock::now();
  for (server_connection* c = first_; c;) {
    server_connection* next = c->next_;
    const auto age = now - c->since_;
    using phase = server_connection::phase;
    std::chrono::milliseconds limit{0};
    switch (c->phase_) {
      case phase::head:
        limit = options_.headers_timeout;
        break;
      case phase::body:
        limit = options_.request_timeout;
        break;
      case phase::idle:
        limit = options_.keep_alive_timeout;
        break;
      case phase::lingering:
        limit = std::chrono::milliseconds(2000);
        break;
      case phase::responding:
        break;
    }
    if (limit.count() > 0 && age >= limit) c->time_out();
    c = next;
  }
}

inline void server_state::listen(std::uint16_t port, std::string host, int backlog,
                                 bool reuse_port) {
  if (listening_) {
    throw std::logic_error("netco: the server is already listening [ERR_SERVER_ALREADY_LISTEN]");
  }
  std::error_code ec;
  std::vector<std::string> hosts;
  if (host.empty()) {
    hosts = {"::", "0.0.0.0"};
  } else {
    hosts = {host};
  }
  tcp::acceptor a(*owner_);
  for (const auto& h : hosts) {
    ec.clear();
    const auto targets = resolve_now(h, port, ec);
    if (ec) continue;
    a = tcp::detail::listen_on(*owner_, targets.front(), backlog, ec, reuse_port);
    if (!ec || ec == std::errc::address_in_use) break;
  }
  if (ec) {
    defer(*owner_, [self = shared_from_this(), ec] { self->emit_event<"error">(ec); });
    return;
  }
  acceptor_.emplace(std::move(a));
  listening_ = true;
  closing_ = false;
  ++generation_;
  spawn_now(*owner_, accept_loop(shared_from_this(), generation_));
  defer(*owner_, [self = shared_from_this()] {
    if (self->listening_) self->emit_event<"listening">();
  });
}

/// For netco::cluster's handoff mode: "listening" with no socket of its own; connections
/// arrive through adopt() from the one acceptor. close() works as usual.
inline void server_state::listen_without_acceptor() {
  if (listening_) {
    throw std::logic_error("netco: the server is already listening [ERR_SERVER_ALREADY_LISTEN]");
  }
  listening_ = true;
  closing_ = false;
  ++generation_;
  defer(*owner_, [self = shared_from_this()] {
    if (self->listening_) self->emit_event<"listening">();
  });
}

inline void server_state::close() {
  if (!listening_) {
    const std::error_code ec = make_error_code(errc::server_not_running);
    defer(*owner_, [self = shared_from_this(), ec] {
      if (self->count_of<"error">() > 0) self->emit_event<"error">(ec);
    });
    return;
  }
  listening_ = false;
  closing_ = true;
  if (acceptor_) acceptor_->close();
  close_idle_connections();
  maybe_emit_close();
}

inline void server_state::close_idle_connections() {
  for (server_connection* c = first_; c;) {
    server_connection* next = c->next_;
    c->server_closing(false);
    c = next;
  }
}
inline void server_state::close_all_connections() {
  for (server_connection* c = first_; c;) {
    server_connection* next = c->next_;
    c->destroy_now();
    c = next;
  }
}

inline task<> server_state::accept_loop(std::shared_ptr<server_state> self,
                                        std::size_t generation) {
  (void)self;
  while (listening_ && generation_ == generation) {
    std::error_code ec;
    tcp::stream peer = co_await acceptor_->accept(ec);
    if (!listening_ || generation_ != generation) break;
    if (ec) {
      if (ec == std::errc::operation_canceled) break;
      if (count_of<"error">() > 0) emit_event<"error">(ec);
      co_await sleep_for(std::chrono::milliseconds(100), ec);
      continue;
    }
    adopt(std::move(peer));
  }
}

/// Takes a connection accepted elsewhere (on this loop's thread), as if accepted here.
inline void server_state::adopt(tcp::stream peer) {
  if (!listening_) {  // closed meanwhile: no new connections
    peer.close();
    return;
  }
  if (options_.no_delay) {
    std::error_code ignored;
    peer.asio_socket().set_option(asio::ip::tcp::no_delay(true), ignored);
  }
  auto c = std::make_shared<server_connection>(shared_from_this(), std::move(peer));
  add_connection(c.get());
  if (count_of<"connection">() > 0) {
    std::error_code e2;
    auto ep = c->stream_.remote_endpoint(e2);
    try {
      emit_event<"connection">(net::address_info{
          ep.address().to_string(), ep.address().is_v6() ? "IPv6" : "IPv4", ep.port()});
    } catch (...) {  // reported; this connection closes (run() tidies up), accepting goes on
      owner_->report(std::current_exception());
      c->destroy_now();
    }
  }
  spawn_now(*owner_, c->run(c));
}

}  // namespace detail

/// An HTTP/1.1 server with Node's events: "request"(req, res), "checkContinue"(req, res),
/// "connection"(address_info), "clientError"(error_code, client_socket),
/// "upgrade"(req, upgraded_socket, head), "listening", "close", "error"(error_code).
/// A cheap handle. Loop thread only.
class server : public netco::detail::emitter_handle<server> {
 public:
  server() = default;
  explicit server(std::shared_ptr<detail::server_state> s) noexcept : s_(std::move(s)) {}

  // (events: on, once, off, emit... from emitter_handle)

  /// Starts accepting on host:port (empty host: every interface; port 0: a free one); a busy
  /// port is an "error" (EADDRINUSE) on the next tick. Node: server.listen(port, host, cb)
  server& listen(std::uint16_t port = 0, std::string_view host = {}, int backlog = 511) {
    s().listen(port, std::string(host), backlog);
    return *this;
  }
  template <std::invocable<> Fn>
  server& listen(std::uint16_t port, std::string_view host, Fn&& on_listening) {
    s().once("listening", std::forward<Fn>(on_listening));
    return listen(port, host);
  }
  template <std::invocable<> Fn>
  server& listen(std::uint16_t port, Fn&& on_listening) {
    return listen(port, {}, std::forward<Fn>(on_listening));
  }
  /// With options: port, host, backlog, reuse_port (no IPC path). Node: server.listen(options)
  server& listen(const net::listen_options& o) {
    if (!o.path.empty()) throw std::logic_error("netco: http::server listens on TCP only");
    s().listen(o.port, o.host, o.backlog, o.reuse_port);
    return *this;
  }
  /// Stops accepting and closes idle connections; busy ones close after their response.
  /// "close" follows when the last is gone. Node: server.close([cb])
  server& close() {
    s().close();
    return *this;
  }
  template <std::invocable<> Fn>
  server& close(Fn&& cb) {
    s().once("close", std::forward<Fn>(cb));
    return close();
  }
  /// Node: server.closeIdleConnections()
  server& close_idle_connections() {
    s().close_idle_connections();
    return *this;
  }
  /// Node: server.closeAllConnections()
  server& close_all_connections() {
    s().close_all_connections();
    return *this;
  }
  /// Node: server.address()
  net::address_info address() const { return s().address(); }
  /// Node: server.listening
  bool listening() const { return s().listening_; }
  /// The open connections now (Node: server.getConnections()).
  std::size_t connections() const { return s().connections_; }
  /// Node: server.headersTimeout / requestTimeout / keepAliveTimeout / maxRequestsPerSocket
  server_options& options() { return s().options_; }

  explicit operator bool() const noexcept { return static_cast<bool>(s_); }
  const std::shared_ptr<detail::server_state>& state() const noexcept { return s_; }

 private:
  friend netco::detail::emitter_handle<server>;
  decltype(auto) emitter() const { return (s()); }
  detail::server_state& s() const {
    if (!s_) throw std::logic_error("netco: use of an empty http::server handle");
    return *s_;
  }
  std::shared_ptr<detail::server_state> s_;
};

/// A server on the calling thread's loop. The listener may be a plain function of (req, res)
/// or a coroutine returning task<> (it is spawned; an exception it lets out is answered with
/// 500 if nothing was sent yet, then reported to the loop). Node: http.createServer()
inline server create_server(server_options options = {}) {
  return server(std::make_shared<detail::server_state>(loop::current(), options));
}
template <class Fn>
requires std::is_invocable_v<Fn&, incoming_message, server_response> server
create_server(server_options options, Fn&& request_listener) {
  server s = create_server(options);
  using result = std::invoke_result_t<Fn&, incoming_message, server_response>;
  if constexpr (std::is_same_v<result, task<>>) {
    s.on("request", [fn = std::forward<Fn>(request_listener)](const incoming_message& req,
                                                              const server_response& res) {
      netco::spawn([](task<> t, server_response r) -> task<> {
        try {
          co_await std::move(t);
        } catch (...) {
          if (!r.headers_sent()) r.write_head(500).end();
          throw;
        }
      }(fn(req, res), res));
    });
  } else {
    s.on("request", std::forward<Fn>(request_listener));
  }
  return s;
}
template <class Fn>
requires std::is_invocable_v<Fn&, incoming_message, server_response> server
create_server(Fn&& request_listener) {
  return create_server(server_options{}, std::forward<Fn>(request_listener));
}

// ---------------------------------------------------------------------------------------------
// Client

/// Node: new http.Agent(options). keep_alive: finished connections wait in the pool for the
/// next request to the same host:port (Node 20's global agent keeps them too).
struct agent_options {
  bool keep_alive = true;
  std::size_t max_sockets = static_cast<std::size_t>(-1);  ///< per host:port, in use at once
  std::size_t max_free_sockets = 256;                      ///< per host:port, idle in the pool
};

namespace detail {

struct pool;
struct parked {
  loop* owner;
  tcp::stream* stream;
  bool taken = false;
};
/// The connections to one host:port.
struct pool {
  std::vector<parked*> free;
  std::size_t active = 0;
  std::vector<std::coroutine_handle<>> waiting;
};

/// An idle pooled connection lives in a loop-owned frame that waits (without keeping the loop
/// alive, as Node unrefs free sockets) for the peer to close it or for a request to take it.
inline task<> park(std::shared_ptr<pool> p, tcp::stream s) {
  parked entry{&loop::current(), &s};
  p->free.push_back(&entry);
  struct unlist {
    pool* p;
    parked* e;
    ~unlist() { std::erase(p->free, e); }
  } guard{p.get(), &entry};
  struct idle_wait {
    tcp::stream& s;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
      s.asio_socket().async_wait(asio::socket_base::wait_read,
                                 [h](const std::error_code&) { h.resume(); });
    }
    void await_resume() const noexcept {}
  };
  co_await idle_wait{s};
  // Readable while idle means the server closed it (or broke the protocol): drop it. Taken:
  // the stream was moved out already.
}

}  // namespace detail

/// Keeps connections for reuse (Node: http.Agent). Use one per thread; requests name it in
/// request_options::agent, or use global_agent().
class agent {
 public:
  explicit agent(agent_options o = {}) : options_(o) {}
  agent(const agent&) = delete;
  agent& operator=(const agent&) = delete;

  /// Node: agent.freeSockets[name].length
  std::size_t free_sockets(std::string_view host, std::uint16_t port) {
    return pool_for(key(host, port))->free.size();
  }
  /// Node: agent.sockets[name].length
  std::size_t sockets(std::string_view host, std::uint16_t port) {
    return pool_for(key(host, port))->active;
  }
  agent_options& options() noexcept { return options_; }
  /// Closes the idle connections. Node: agent.destroy()
  void destroy() {
    for (auto& [k, p] : pools_) {
      for (detail::parked* e : std::vector<detail::parked*>(p->free)) {
        std::error_code ignored;
        e->stream->asio_socket().cancel(ignored);
      }
    }
  }

  /// A connection to host:port: a pooled one, or a new one (waiting while max_sockets are in
  /// use). Throws std::system_error if connecting fails.
  task<tcp::stream> acquire(std::string host, std::uint16_t port) {
    std::shared_ptr<detail::pool> p = pool_for(key(host, port));
    while (p->active >= options_.max_sockets) {
      struct wait {
        detail::pool* p;
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<> h) { p->waiting.push_back(h); }
        void await_resume() const noexcept {}
      };
      loop::current().ref();  // a queued request keeps the loop alive
      co_await wait{p.get()};
      loop::current().unref();
    }
    ++p->active;
    loop* here = &loop::current();
    for (std::size_t i = p->free.size(); i-- > 0;) {
      detail::parked* e = p->free[i];
      if (e->owner != here) continue;
      p->free.erase(p->free.begin() + static_cast<std::ptrdiff_t>(i));
      e->taken = true;
      std::error_code ignored;
      e->stream->asio_socket().cancel(ignored);
      co_return std::move(*e->stream);
    }
    try {
      tcp::stream s = co_await tcp::connect(host, port);
      std::error_code ignored;
      s.asio_socket().set_option(asio::ip::tcp::no_delay(true), ignored);
      co_return s;
    } catch (...) {
      release_slot(*p);
      throw;
    }
  }
  /// Gives a connection back: pooled when reusable and keep_alive, else closed.
  void release(std::string_view host, std::uint16_t port, tcp::stream s, bool reusable) {
    std::shared_ptr<detail::pool> p = pool_for(key(host, port));
    if (reusable && options_.keep_alive && s.is_open() &&
        p->free.size() < options_.max_free_sockets) {
      detail::spawn_now(loop::current(), detail::park(p, std::move(s)));
    } else {
      s.close();
    }
    release_slot(*p);
  }

 private:
  static std::string key(std::string_view host, std::uint16_t port) {
    return std::string(host) + ":" + std::to_string(port);
  }
  std::shared_ptr<detail::pool> pool_for(const std::string& k) {
    for (auto& [name, p] : pools_)
      if (name == k) return p;
    pools_.emplace_back(k, std::make_shared<detail::pool>());
    return pools_.back().second;
  }
  static void release_slot(detail::pool& p) {
    if (p.active > 0) --p.active;
    if (!p.waiting.empty()) {
      std::coroutine_handle<> h = p.waiting.front();
      p.waiting.erase(p.waiting.begin());
      detail::defer(loop::current(), [h] { h.resume(); });
    }
  }
  agent_options options_;
  std::vector<std::pair<std::string, std::shared_ptr<detail::pool>>> pools_;
};

/// This thread's default agent (keep-alive on). Node: http.globalAgent
inline agent& global_agent() {
  thread_local agent a;
  return a;
}

/// Node: http.request(options)
struct request_options {
  std::string method = "GET";
  std::string host = "localhost";
  std::uint16_t port = 80;
  std::string path = "/";
  std::vector<std::pair<std::string, std::string>> headers{};
  http::agent* agent = nullptr;          ///< nullptr: global_agent()
  std::chrono::milliseconds timeout{0};  ///< as set_timeout()
};

/// Splits "http://host[:port][/path]" into options (https and other schemes are refused).
inline request_options parse_url(std::string_view url) {
  request_options o;
  if (url.starts_with("https://"))
    throw std::system_error(make_error_code(error::unsupported_protocol), std::string(url));
  if (!url.starts_with("http://"))
    throw std::system_error(make_error_code(error::invalid_url), std::string(url));
  url.remove_prefix(7);
  const std::size_t slash = url.find_first_of("/?");
  std::string_view authority = url.substr(0, slash);
  o.path = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  if (o.path.front() == '?') o.path.insert(0, "/");
  std::string_view host = authority;
  if (authority.starts_with("[")) {  // [v6]:port
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos)
      throw std::system_error(make_error_code(error::invalid_url), std::string(url));
    host = authority.substr(1, close - 1);
    authority.remove_prefix(close + 1);
  } else {
    const std::size_t colon = authority.rfind(':');
    host = authority.substr(0, colon);
    authority = colon == std::string_view::npos ? std::string_view() : authority.substr(colon);
  }
  if (authority.starts_with(":")) {
    unsigned port = 0;
    const auto digits = authority.substr(1);
    const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (r.ec != std::errc() || r.ptr != digits.data() + digits.size() || port > 65535)
      throw std::system_error(make_error_code(error::invalid_url), std::string(url));
    o.port = static_cast<std::uint16_t>(port);
  }
  if (host.empty()) throw std::system_error(make_error_code(error::invalid_url), std::string(url));
  o.host = std::string(host);
  return o;
}

namespace detail {

/// Where perform() delivers a response.
struct response_sink {
  virtual void on_head(const message_head& head) = 0;
  virtual void on_data(std::string_view data) = 0;
  virtual void on_complete(std::span<const header> trailers) = 0;
  /// An interim 1xx response other than 101 (100 Continue, 103 Early Hints...).
  virtual void on_information(const message_head& head) { (void)head; }

 protected:
  ~response_sink() = default;
};

/// Appends a request's head. length: the whole body's size when known (end() before any
/// write()); nullopt when it is streamed, which is chunked unless the caller set a
/// Content-Length. Returns whether the body must be sent in chunked coding.
inline bool append_request_head(std::string& out, const request_options& o, bool keep_alive,
                                std::optional<std::size_t> length) {
  out.append(o.method).append(" ").append(o.path).append(" HTTP/1.1\r\n");
  bool host = false, user_length = false, user_chunked = false, connection = false;
  for (const auto& [name, value] : o.headers) {
    check_field(name, value);
    host = host || iequals(name, "host");
    user_length = user_length || iequals(name, "content-length");
    user_chunked =
        user_chunked || (iequals(name, "transfer-encoding") && has_token(value, "chunked"));
    connection = connection || iequals(name, "connection");
    out.append(name).append(": ").append(value).append("\r\n");
  }
  if (!host) {
    out.append("Host: ").append(o.host);
    if (o.port != 80) out.append(":").append(std::to_string(o.port));
    out.append("\r\n");
  }
  if (!connection) out.append(keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n");
  bool chunked = user_chunked;
  if (!user_length && !user_chunked) {
    if (!length) {
      out.append("Transfer-Encoding: chunked\r\n");
      chunked = true;
    } else if (*length > 0 || o.method == "POST" || o.method == "PUT" || o.method == "PATCH") {
      out.append("Content-Length: ");
      append_number(out, *length);
      out.append("\r\n");
    }
  }
  out.append("\r\n");
  return chunked;
}

/// Appends body bytes, framed as one chunk when chunked (an empty write sends nothing: an
/// empty chunk would end the body).
inline void append_request_body(std::string& out, std::string_view data, bool chunked) {
  if (data.empty()) return;
  if (chunked) {
    append_hex(out, data.size());
    out.append("\r\n").append(data).append("\r\n");
  } else {
    out.append(data);
  }
}

/// A whole request (head and body) in one buffer.
inline std::string serialize_request(const request_options& o, std::string_view body,
                                     bool keep_alive) {
  std::string out;
  out.reserve(128 + body.size());
  const bool chunked = append_request_head(out, o, keep_alive, body.size());
  append_request_body(out, body, chunked);
  if (chunked) out.append("0\r\n\r\n");
  return out;
}

/// Reads one response from s into sink; returns whether the connection may carry another.
inline task<bool> read_response(tcp::stream& s, method request_method, response_sink& sink) {
  parser p(message_kind::response);
  p.set_request_method(request_method);
  std::vector<char> buf(64 * 1024);
  std::size_t begin = 0, end = 0;
  bool final_head = false;
  for (;;) {
    parse_result r = p.parse(std::string_view(buf.data() + begin, end - begin));
    if (r.event == parse_event::need_more) {
      begin += r.consumed;
      if (begin == end) begin = end = 0;
      if (begin > 0 && end == buf.size()) {
        std::memmove(buf.data(), buf.data() + begin, end - begin);
        end -= begin;
        begin = 0;
      }
      if (end == buf.size()) buf.resize(buf.size() * 2);
      std::error_code ec;
      const std::size_t n = co_await s.read_some(std::span(buf.data() + end, buf.size() - end), ec);
      if (ec) throw std::system_error(ec, "read");
      if (n == 0) {
        if (p.finish().event == parse_event::message_complete && final_head) {
          sink.on_complete(p.trailers());
          co_return false;
        }
        throw std::system_error(make_error_code(error::socket_hang_up));
      }
      end += n;
    } else if (r.event == parse_event::head) {
      begin += r.consumed;
      final_head = p.head().status >= 200;
      if (final_head) {
        sink.on_head(p.head());
      } else if (p.head().status != 101) {
        sink.on_information(p.head());
      }
    } else if (r.event == parse_event::body) {
      sink.on_data(r.data);
      begin += r.consumed;
    } else if (r.event == parse_event::message_complete) {
      begin += r.consumed;
      if (!final_head) continue;  // 1xx: the final response follows
      const bool reusable = p.head().keep_alive && begin == end;
      sink.on_complete(p.trailers());
      co_return reusable;
    } else if (r.event == parse_event::upgrade) {
      throw std::system_error(make_error_code(error::socket_hang_up), "upgrade");
    } else {
      throw std::system_error(p.error());
    }
  }
}

/// Sends one request and reads its response into sink; the connection goes back to the agent
/// when both sides allow keep-alive. Throws std::system_error (connect failures, socket_hang_up
/// when the server closes first, parse errors).
/// o and body must outlive the task (NOTE: by reference on purpose: GCC 12 mis-destroys the
/// by-value parameter copies of this coroutine).
inline task<> perform(const request_options& o, std::string_view body, response_sink& sink,
                      tcp::stream** live = nullptr) {
  agent& ag = o.agent ? *o.agent : global_agent();
  std::string wire = serialize_request(o, body, ag.options().keep_alive);
  method m = method::get;
  for (const auto& entry : method_table)
    if (entry.name == o.method) m = entry.value;
  tcp::stream s = co_await ag.acquire(o.host, o.port);
  if (live) *live = &s;
  bool reusable = false;
  std::exception_ptr failure;
  try {
    co_await s.write_all(wire);
    reusable = co_await read_response(s, m, sink);
  } catch (...) {
    failure = std::current_exception();
  }
  if (live) *live = nullptr;
  ag.release(o.host, o.port, std::move(s), reusable);
  if (failure) std::rethrow_exception(failure);
}

}  // namespace detail

/// What fetch() resolves to: the status, the headers and the body (read by fetch already).
struct fetch_response {
  int status = 0;
  std::string status_text;
  http::headers headers;
  std::string body_;
  /// Node: response.ok
  bool ok() const noexcept { return status >= 200 && status < 300; }
  /// The body as text. Node: await response.text()
  task<std::string> text() { co_return std::move(body_); }
};

/// Node's fetch() options (method, headers, body), plus the agent.
struct fetch_options {
  http::agent* agent = nullptr;  ///< nullptr: global_agent()
  std::string method = "GET";
  std::vector<std::pair<std::string, std::string>> headers{};
  std::string body{};
};

/// Coroutine-style client: `auto res = co_await http::fetch("http://127.0.0.1:8080/")`.
/// Throws std::system_error on connection failures or a malformed response; a 4xx/5xx is a
/// response (check res.status), as in Node's fetch.
inline task<fetch_response> fetch(std::string url, fetch_options options = {}) {
  request_options o = parse_url(url);
  o.method = options.method;
  o.headers = std::move(options.headers);
  o.agent = options.agent;
  struct sink final : detail::response_sink {
    fetch_response res;
    void on_head(const message_head& h) override {
      res.status = h.status;
      res.status_text.assign(h.reason);
      for (const header& f : h.headers) res.headers.add(f.name, f.value);
    }
    void on_data(std::string_view d) override { res.body_.append(d); }
    void on_complete(std::span<const header>) override {}
  } out;
  co_await detail::perform(o, options.body, out);
  co_return std::move(out.res);
}

/// An interim 1xx response the client got. Node: the "information" event's argument
struct information {
  int status_code = 0;
  std::string status_message;
  int http_version_major = 1, http_version_minor = 1;
  http::headers headers;
};

namespace detail {

using client_emitter =
    basic_event_emitter<event<"response", incoming_message>, event<"error", std::error_code>,
                        event<"timeout">, event<"close">, event<"finish">, event<"drain">,
                        event<"continue">, event<"information", information>>;

inline method method_of(std::string_view name) noexcept {
  for (const auto& entry : method_table)
    if (entry.name == name) return entry.value;
  return method::get;
}

/// The shared state behind client_request: the body is queued by write()/end() and sent by
/// a writer coroutine while run() reads the response, so an early answer (a 100 Continue, an
/// error) is seen while the body still goes out.
class client_state final : public client_emitter,
                           public response_sink,
                           public std::enable_shared_from_this<client_state> {
 public:
  using client_emitter::emit_event;
  request_options options_;
  std::size_t high_water_mark_ = 16 * 1024;  ///< write() returns false past this (Node's)
  bool ended_ = false, started_ = false, aborted_ = false, closed_ = false;
  tcp::stream* live_ = nullptr;
  std::shared_ptr<message_state> res_;
  cancel_scope timer_scope_;

  // The outgoing side: out_ is queued, inflight_ is being written.
  std::string out_, inflight_;
  bool head_queued_ = false;
  bool chunked_ = false;
  bool need_drain_ = false;
  bool stop_writing_ = false;  ///< the exchange is over: the writer leaves
  bool writer_done_ = true;    ///< no writer runs (it sets false while it does)
  bool body_sent_ = false;     ///< the whole request, end() included, was written
  std::coroutine_handle<> writer_waiter_, run_waiter_;

  std::size_t buffered() const noexcept { return out_.size() + inflight_.size(); }

  /// The head goes out with the first write() or end(); length is known only for the latter.
  void queue_head(std::optional<std::size_t> length) {
    if (head_queued_) return;
    head_queued_ = true;
    agent& ag = options_.agent ? *options_.agent : global_agent();
    chunked_ = append_request_head(out_, options_, ag.options().keep_alive, length);
  }
  bool write(std::string_view data) {
    if (aborted_ || closed_) return false;
    if (ended_) {
      defer(loop::current(), [self = shared_from_this()] {
        if (self->count_of<"error">() > 0)
          self->emit_event<"error">(make_error_code(error::write_after_end));
      });
      return false;
    }
    queue_head(std::nullopt);
    append_request_body(out_, data, chunked_);
    start();
    wake_writer();
    if (buffered() >= high_water_mark_) {
      need_drain_ = true;
      return false;
    }
    return true;
  }
  /// Sends the head now, the body to follow (chunked unless a Content-Length was set).
  void flush_headers() {
    if (head_queued_ || ended_ || aborted_ || closed_) return;
    queue_head(std::nullopt);
    start();
    wake_writer();
  }
  void end(std::string_view data) {
    if (ended_ || aborted_ || closed_) return;
    ended_ = true;
    queue_head(data.size());
    append_request_body(out_, data, chunked_);
    if (chunked_) out_.append("0\r\n\r\n");
    start();
    wake_writer();
  }

  void start() {
    if (started_) return;
    started_ = true;
    spawn_now(loop::current(), run(shared_from_this()));
  }
  void on_head(const message_head& h) override {
    res_ = std::make_shared<message_state>();
    res_->status_ = h.status;
    res_->status_message_.assign(h.reason);
    res_->major_ = h.version_major;
    res_->minor_ = h.version_minor;
    for (const header& f : h.headers) res_->headers_.add(f.name, f.value);
    if (!aborted_) emit_event<"response">(incoming_message(res_));
  }
  void on_information(const message_head& h) override {
    if (aborted_) return;
    // Node 20: "continue" for a 100, and "information" for every 1xx but 101.
    if (h.status == 100) emit_event<"continue">();
    if (count_of<"information">() == 0) return;
    information info;
    info.status_code = h.status;
    info.status_message.assign(h.reason);
    info.http_version_major = h.version_major;
    info.http_version_minor = h.version_minor;
    for (const header& f : h.headers) info.headers.add(f.name, f.value);
    emit_event<"information">(info);
  }
  void on_data(std::string_view d) override {
    if (aborted_ || !res_) return;
    res_->deliver(buffer::from(d));
  }
  void on_complete(std::span<const header> trailers) override {
    if (!res_) return;
    for (const header& f : trailers) res_->trailers_.add(f.name, f.value);
    if (!aborted_) res_->finish_body();
  }

  /// Sends out_ as it is queued until end()'s bytes are written. s lives in run()'s frame,
  /// which waits for writer_done_ before letting it go.
  task<> writer(std::shared_ptr<client_state> self, tcp::stream& s) {
    (void)self;
    for (;;) {
      while (out_.empty() && !ended_ && !stop_writing_) {
        struct wait_more {
          client_state* c;
          bool await_ready() const noexcept { return false; }
          void await_suspend(std::coroutine_handle<> h) noexcept { c->writer_waiter_ = h; }
          void await_resume() const noexcept {}
        };
        co_await wait_more{this};
      }
      if (stop_writing_ || out_.empty()) break;
      inflight_.swap(out_);
      out_.clear();
      std::error_code ec;
      co_await s.write_all(inflight_, ec);
      inflight_.clear();
      if (ec) break;  // the reader sees the failure (or the response that came first)
      if (need_drain_ && buffered() < high_water_mark_ && !ended_ && !stop_writing_) {
        need_drain_ = false;
        emit_event<"drain">();
      }
    }
    body_sent_ = ended_ && out_.empty() && inflight_.empty() && !stop_writing_;
    writer_done_ = true;
    if (body_sent_ && !aborted_) emit_event<"finish">();
    if (auto h = std::exchange(run_waiter_, nullptr)) defer(loop::current(), [h] { h.resume(); });
  }
  void wake_writer() {
    if (auto h = std::exchange(writer_waiter_, nullptr))
      defer(loop::current(), [h] { h.resume(); });
  }

  /// Connects (or takes a pooled connection), runs the writer, reads the response.
  task<bool> exchange_on(tcp::stream& s) {
    bool reusable = false;
    std::exception_ptr failure;
    writer_done_ = false;
    spawn_now(loop::current(), writer(shared_from_this(), s));
    try {
      reusable = co_await read_response(s, method_of(options_.method), *this);
    } catch (...) {
      failure = std::current_exception();
    }
    if (!writer_done_) {
      // The response is complete (or failed) before the body was: the connection cannot
      // carry another request. Closing cancels a pending write.
      stop_writing_ = true;
      reusable = false;
      std::error_code ignored;
      s.asio_socket().close(ignored);
      wake_writer();
      struct wait_writer {
        client_state* c;
        bool await_ready() const noexcept { return c->writer_done_; }
        void await_suspend(std::coroutine_handle<> h) noexcept { c->run_waiter_ = h; }
        void await_resume() const noexcept {}
      };
      co_await wait_writer{this};
    }
    if (failure) std::rethrow_exception(failure);
    const bool again = reusable && body_sent_;  // both directions ended cleanly
    co_return again;
  }

  task<> run(std::shared_ptr<client_state> self) {
    (void)self;
    std::error_code failure;
    if (options_.timeout.count() > 0) arm_timeout(options_.timeout);
    agent& ag = options_.agent ? *options_.agent : global_agent();
    try {
      tcp::stream s = co_await ag.acquire(options_.host, options_.port);
      bool reusable = false;
      std::exception_ptr broken;
      if (!aborted_) {
        live_ = &s;
        try {
          reusable = co_await exchange_on(s);
        } catch (...) {
          broken = std::current_exception();
        }
        live_ = nullptr;
      }
      ag.release(options_.host, options_.port, std::move(s), reusable && !aborted_);
      if (broken) std::rethrow_exception(broken);
    } catch (const std::system_error& e) {
      failure = e.code();
    }
    timer_scope_.cancel();
    if (aborted_) failure.clear();
    if (failure) {
      if (res_) {
        res_->abort(make_error_code(error::aborted));
        res_->close();
      } else if (count_of<"error">() > 0) {
        emit_event<"error">(failure);
      } else {
        // Node: an "error" without a listener throws; here it is reported to the loop.
        loop::current().report(std::make_exception_ptr(std::system_error(failure)));
      }
    } else if (res_) {
      res_->close();
    }
    close();
  }
  void arm_timeout(std::chrono::milliseconds ms) {
    spawn_now(loop::current(),
              [](std::shared_ptr<client_state> self, std::chrono::milliseconds ms) -> task<> {
                std::error_code ec;
                co_await self->timer_scope_.run(sleep_for(ms, ec));
                if (!ec && !self->closed_) self->emit_event<"timeout">();
              }(shared_from_this(), ms));
  }
  void close() {
    if (closed_) return;
    closed_ = true;
    emit_event<"close">();
    clear_all();
    if (res_) res_->clear_all();
  }
  void abort() {
    if (aborted_ || closed_) return;
    aborted_ = true;
    stop_writing_ = true;
    if (live_) live_->close();
    wake_writer();
    if (!started_) {
      timer_scope_.cancel();
      defer(loop::current(), [self = shared_from_this()] { self->close(); });
    }
  }
  using client_emitter::clear_all;
  using client_emitter::count_of;
};

}  // namespace detail

/// An outgoing request (Node: http.ClientRequest). Events "response"(incoming_message),
/// "error"(error_code), "timeout", "close", "finish" (the whole request was written), "drain",
/// "continue" (a 100 Continue came), "information"(information) (any 1xx but 101). The head
/// goes out with the first write() or end(). A cheap handle; loop thread only.
class client_request : public netco::detail::emitter_handle<client_request> {
 public:
  client_request() = default;
  explicit client_request(std::shared_ptr<detail::client_state> s) noexcept : s_(std::move(s)) {}

  // (events: on, once, off, emit... from emitter_handle)
  /// Node: request.setHeader() (throws invalid_char for CR/LF/NUL, headers_sent once the head
  /// was queued by write() or end())
  const client_request& set_header(std::string_view name, std::string_view value) const {
    detail::check_field(name, value);
    if (s().head_queued_) throw std::system_error(make_error_code(error::headers_sent));
    auto& h = s().options_.headers;
    std::erase_if(h, [&](const auto& f) { return detail::iequals(f.first, name); });
    h.emplace_back(std::string(name), std::string(value));
    return *this;
  }
  /// Sends body bytes as they come: chunked unless a Content-Length header was set (then the
  /// bytes go raw and must add up to it). Returns false once more than the high-water mark
  /// (16 KiB) waits to be written; "drain" follows. After end(): false, and "error"
  /// (write_after_end) on the next tick. Node: request.write()
  bool write(std::string_view data) const { return s().write(data); }
  bool write(const buffer& data) const { return write(data.view()); }
  /// Sends the rest and finishes the request; with nothing written before, the body goes with
  /// a Content-Length, in the same send as the head. Node: request.end([data])
  const client_request& end(std::string_view data = {}) const {
    s().end(data);
    return *this;
  }
  const client_request& end(const buffer& data) const { return end(data.view()); }
  /// Sends the head before any body, e.g. to wait for "continue" after an
  /// `Expect: 100-continue`. Node: request.flushHeaders()
  const client_request& flush_headers() const {
    s().flush_headers();
    return *this;
  }
  /// Stops the request: no more events but "close". Node: request.destroy() / abort()
  const client_request& destroy() const {
    s().abort();
    return *this;
  }
  const client_request& abort() const { return destroy(); }
  /// "timeout" after ms without the response finishing; it closes nothing. Node:
  /// request.setTimeout(ms)
  const client_request& set_timeout(std::chrono::milliseconds ms) const {
    s().options_.timeout = ms;
    if (s().started_ && ms.count() > 0) s().arm_timeout(ms);
    return *this;
  }
  /// Node: request.writableLength
  std::size_t writable_length() const { return s().buffered(); }

 private:
  friend netco::detail::emitter_handle<client_request>;
  decltype(auto) emitter() const { return (s()); }
  detail::client_state& s() const {
    if (!s_) throw std::logic_error("netco: use of an empty http::client_request");
    return *s_;
  }
  std::shared_ptr<detail::client_state> s_;
};

/// Node: http.request(options[, cb]) — call end() to send it.
inline client_request request(request_options options) {
  auto st = std::make_shared<detail::client_state>();
  st->options_ = std::move(options);
  return client_request(st);
}
inline client_request request(std::string_view url) { return request(parse_url(url)); }
template <class Fn>
requires std::is_invocable_v<Fn&, incoming_message> client_request request(request_options options,
                                                                           Fn&& on_response) {
  client_request r = request(std::move(options));
  r.once("response", std::forward<Fn>(on_response));
  return r;
}
template <class Fn>
requires std::is_invocable_v<Fn&, incoming_message> client_request request(std::string_view url,
                                                                           Fn&& on_response) {
  return request(parse_url(url), std::forward<Fn>(on_response));
}
/// A GET, sent at once. Node: http.get(url[, cb])
template <class Fn>
requires std::is_invocable_v<Fn&, incoming_message> client_request get(std::string_view url,
                                                                       Fn&& on_response) {
  client_request r = request(url, std::forward<Fn>(on_response));
  r.end();
  return r;
}
template <class Fn>
requires std::is_invocable_v<Fn&, incoming_message> client_request get(request_options options,
                                                                       Fn&& on_response) {
  client_request r = request(std::move(options), std::forward<Fn>(on_response));
  r.end();
  return r;
}

}  // namespace netco::http
