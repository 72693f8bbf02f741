// netco/http/client.hpp: Node's http.request / http.get (http::client_request), over the
// connections of an http::agent
#pragma once
#include <chrono>        // milliseconds: timeouts
#include <concepts>      // invocable
#include <cstddef>       // size_t
#include <cstdint>       // uint16_t
#include <memory>        // shared_ptr, enable_shared_from_this
#include <optional>      // optional: a body's length, when known
#include <string>        // string
#include <string_view>   // string_view
#include <system_error>  // error_code
#include <type_traits>   // is_invocable_v
#include <utility>       // move, pair
#include <vector>        // vector

#include "netco/buffer.hpp"
#include "netco/cancel.hpp"
#include "netco/detail/decl.hpp"
#include "netco/detail/handle.hpp"
#include "netco/events.hpp"
#include "netco/http/agent.hpp"
#include "netco/http/error.hpp"
#include "netco/http/headers.hpp"
#include "netco/http/message.hpp"
#include "netco/http/parser.hpp"
#include "netco/net/socket.hpp"
#include "netco/task.hpp"

namespace netco::http {

/// Node: http.request(options)
struct request_options {
  std::string protocol = "http:";  ///< or "https:" (netco/https.hpp): picks the agent
  std::string method = "GET";
  std::string host = "localhost";
  std::uint16_t port = 80;
  std::string path = "/";
  std::vector<std::pair<std::string, std::string>> headers{};
  http::agent* agent = nullptr;          ///< nullptr: global_agent()
  std::chrono::milliseconds timeout{0};  ///< as set_timeout()
};

/// Splits "http[s]://host[:port][/path]" into options (other schemes are refused).
NETCO_DECL request_options parse_url(std::string_view url);

/// An interim 1xx response the client got. Node: the "information" event's argument
struct information {
  int status_code = 0;
  std::string status_message;
  int http_version_major = 1, http_version_minor = 1;
  http::headers headers;
};

}  // namespace netco::http

namespace netco::detail {

using client_emitter =
    basic_event_emitter<event<"response", http::incoming_message>, event<"error", std::error_code>,
                        event<"timeout">, event<"close">, event<"finish">, event<"drain">,
                        event<"continue">, event<"information", http::information>,
                        event<"upgrade", http::incoming_message, net::socket, buffer>>;

/// Appends a request's head. length: the whole body's size when known (end() before any
/// write()); nullopt when it is streamed, which is chunked unless the caller set a
/// Content-Length. Returns whether the body must be sent in chunked coding.
NETCO_DECL bool append_request_head(std::string& out, const http::request_options& o,
                                    bool keep_alive, std::optional<std::size_t> length);

/// The shared state behind client_request: Node's ClientRequest. Its bytes go to the
/// connection an agent gives it (queued until then), and it takes the connection's reads
/// over (a socket_protocol) until the response is in; the response's body waits for a
/// consumer as a request's does. Loop thread only.
class client_state final : public client_emitter,
                           public socket_protocol,
                           public message_owner,
                           public std::enable_shared_from_this<client_state> {
 public:
  using client_emitter::clear_all;
  using client_emitter::count_of;
  using client_emitter::emit_event;

  client_state() : in_(64 * 1024) {}

  NETCO_DECL bool write(std::string_view data);
  /// Sends the head now, the body to follow (chunked unless a Content-Length was set).
  NETCO_DECL void flush_headers();
  NETCO_DECL void end(std::string_view data);
  NETCO_DECL void abort();
  NETCO_DECL void arm_timeout(std::chrono::milliseconds ms);
  std::size_t buffered() const noexcept {
    return out_.size() + (socket_ ? socket_->buffered() : 0);
  }

  // --- the connection's events -------------------------------------------------------------
  NETCO_DECL void on_data(const buffer& chunk) override;
  NETCO_DECL void on_end() override;
  NETCO_DECL void on_drain() override;
  NETCO_DECL void on_close(std::error_code ec) override;
  NETCO_DECL void on_loop_gone() noexcept override;
  void consumer_changed() override { continue_later(); }

  http::request_options options_;
  std::size_t high_water_mark_ = 16 * 1024;  ///< write() returns false past this (Node's)
  bool ended_ = false, started_ = false, aborted_ = false, closed_ = false;
  bool head_queued_ = false;

 private:
  http::agent& the_agent() const;
  void queue_head(std::optional<std::size_t> length);
  void start();
  task<> run(std::shared_ptr<client_state> self);
  void attach(const net::socket& s);
  /// The connection goes back to the agent (pooled if reusable) and the slot with it.
  void give_back(bool reusable);
  void send_queued();
  void process();
  void on_head();
  void on_information();
  bool hand_over_upgrade();
  void complete();
  void fail(std::error_code ec);
  void done(bool reusable);
  void continue_later();
  void close();

  std::shared_ptr<socket_state> socket_;  // the connection, while the exchange runs
  std::shared_ptr<message_state> res_;
  cancel_scope timer_scope_;
  parser parser_{message_kind::response};
  http_input in_;
  std::string out_;  // queued before the connection is there, or within a turn
  bool chunked_ = false;
  bool need_drain_ = false;
  bool body_sent_ = false;   // end()'s bytes are written ("finish")
  bool final_head_ = false;  // the response's head (not a 1xx) arrived
  bool processing_ = false;
  bool continue_posted_ = false;
  bool paused_reading_ = false;
  bool holding_slot_ = false;      // the agent counts this request among its sockets
  bool reusable_pending_ = false;  // the response allows reuse, once the request is sent
};

}  // namespace netco::detail

namespace netco::http {

/// An outgoing request (Node: http.ClientRequest). Events "response"(incoming_message),
/// "error"(error_code), "timeout", "close", "finish" (the whole request was written), "drain",
/// "continue" (a 100 Continue came), "information"(information) (any 1xx but 101), and
/// "upgrade"(res, socket, head) for a 101 (the socket leaves the agent). The head goes out
/// with the first write() or end(). A cheap handle; loop thread only.
class client_request : public netco::detail::handle<client_request, netco::detail::client_state> {
 public:
  static constexpr const char* kind = "http::client_request";
  client_request() = default;
  explicit client_request(std::shared_ptr<netco::detail::client_state> s) noexcept
      : handle(std::move(s)) {}

  // (events: on, once, off, emit... from the handle base)

  /// Node: request.setHeader() (throws invalid_char for CR/LF/NUL, headers_sent once the head
  /// was queued by write() or end())
  NETCO_DECL const client_request& set_header(std::string_view name, std::string_view value) const;
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
};

/// Node: http.request(options[, cb]) — call end() to send it.
NETCO_DECL client_request request(request_options options);
inline client_request request(std::string_view url) { return request(parse_url(url)); }
template <class Fn>
requires std::is_invocable_v<Fn&, const incoming_message&> client_request
request(request_options options, Fn&& on_response) {
  client_request r = request(std::move(options));
  // The argument type is known here, so a generic lambda works too.
  r.once("response",
         [fn = std::forward<Fn>(on_response)](const incoming_message& res) mutable { fn(res); });
  return r;
}
template <class Fn>
requires std::is_invocable_v<Fn&, const incoming_message&> client_request
request(std::string_view url, Fn&& on_response) {
  return request(parse_url(url), std::forward<Fn>(on_response));
}
/// A GET, sent at once. Node: http.get(url[, cb])
template <class Fn>
requires std::is_invocable_v<Fn&, const incoming_message&> client_request get(std::string_view url,
                                                                              Fn&& on_response) {
  client_request r = request(url, std::forward<Fn>(on_response));
  r.end();
  return r;
}
template <class Fn>
requires std::is_invocable_v<Fn&, const incoming_message&> client_request
get(request_options options, Fn&& on_response) {
  client_request r = request(std::move(options), std::forward<Fn>(on_response));
  r.end();
  return r;
}

}  // namespace netco::http

#if !defined(NETCO_SEPARATE_COMPILATION)
#include "netco/impl/http_client.ipp"
#endif
