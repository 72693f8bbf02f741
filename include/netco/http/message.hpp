// netco/http/message.hpp: http::incoming_message, a request a server got or a response a
// client got (Node's http.IncomingMessage)
#pragma once
#include <coroutine>     // coroutine_handle: a coroutine waiting in body()
#include <cstddef>       // size_t
#include <cstdint>       // uint8_t, uint16_t, uint64_t
#include <memory>        // shared_ptr
#include <string>        // string
#include <string_view>   // string_view
#include <system_error>  // error_code, system_error
#include <utility>       // exchange, move
#include <vector>        // vector: raw_headers()

#include "netco/address.hpp"
#include "netco/buffer.hpp"
#include "netco/detail/handle.hpp"
#include "netco/detail/small_function.hpp"
#include "netco/events.hpp"
#include "netco/http/error.hpp"
#include "netco/http/headers.hpp"
#include "netco/http/parser.hpp"
#include "netco/net/socket.hpp"
#include "netco/task.hpp"

namespace netco::detail {

/// Who feeds an incoming message: told when a consumer appears or the reader resumes.
struct message_owner {
  virtual void consumer_changed() = 0;

 protected:
  ~message_owner() = default;
};

using message_emitter = basic_event_emitter<event<"data", buffer>, event<"end">, event<"aborted">,
                                            event<"error", std::error_code>, event<"close">>;

/// The bytes a connection read but did not parse yet, as one contiguous run (what the parser
/// needs of an incomplete head): usually a slice of the last read block itself, no copy; input
/// that spans reads is put together in a block of its own, appended in place while there is
/// room. Body chunks are slices of it, shared, never copied.
class http_input {
 public:
  /// capacity: the size of the block input is put together in (more only for a large read).
  explicit http_input(std::size_t capacity) noexcept : capacity_(capacity) {}
  http_input(const http_input&) = delete;
  http_input& operator=(const http_input&) = delete;
  ~http_input() { buffer_block::release(acc_); }

  /// Appends a read.
  NETCO_DECL void push(const buffer& chunk);
  /// Drops the first n bytes (all that were parsed).
  NETCO_DECL void consume(std::size_t n) noexcept;
  /// The bytes [part.data(), part.data() + part.size()) of view(), shared.
  buffer slice(std::string_view part) const {
    const auto at = static_cast<std::size_t>(part.data() - in_.view().data());
    return in_.slice(at, at + part.size());
  }
  std::string_view view() const noexcept { return in_.view(); }
  const buffer& bytes() const noexcept { return in_; }
  std::size_t size() const noexcept { return in_.size(); }
  bool empty() const noexcept { return in_.empty(); }
  /// As much is waiting as the block holds: time to stop reading.
  bool full() const noexcept { return in_.size() >= capacity_; }

 private:
  buffer in_;
  buffer_block* acc_ = nullptr;  // where input that spans reads is put together
  std::size_t acc_end_ = 0;      // acc_'s bytes in use end here
  std::size_t capacity_;
};

/// body(limit, cb)'s callback: the error (none on success) and the whole body.
using body_callback = small_function<void(std::error_code, std::string)>;

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
  address_info remote_;
  std::shared_ptr<socket_state> socket_;  // the connection it came on

  // The body's flow.
  bool complete_ = false;  ///< the whole message arrived
  bool ended_ = false;     ///< "end" was emitted
  bool aborted_ = false;
  bool closed_ = false;
  bool paused_ = false;
  bool flowing_ = false;  ///< resume() was called: data flows even without listeners
  std::uint64_t body_bytes_ = 0;

  // body(): collects into collect_ up to collect_limit_, then resumes collect_waiter_ (a
  // coroutine) or calls collect_done_ (a callback, collecting into collected_).
  std::string* collect_ = nullptr;
  std::size_t collect_limit_ = 0;
  std::coroutine_handle<> collect_waiter_;
  body_callback collect_done_;
  std::string collected_;
  std::error_code collect_error_;

  message_owner* owner_ = nullptr;

  /// Someone takes the body: "data" listeners, body(), or resume().
  bool has_consumer() const noexcept { return collect_ || flowing_ || count_of<"data">() > 0; }

  /// Body bytes from the connection.
  NETCO_DECL void deliver(const buffer& chunk);
  NETCO_DECL void finish_body();
  /// The connection went away before the message was complete.
  NETCO_DECL void abort(std::error_code ec);
  NETCO_DECL void close();
  NETCO_DECL void wake_collector();
  NETCO_DECL void listener_added(std::string_view name) override;
  /// Back to a fresh message; the listeners were dropped already (clear_all()).
  NETCO_DECL void reset_message();
  using message_emitter::clear_all;
  using message_emitter::count_of;
  using message_emitter::emit_event;
};

}  // namespace netco::detail

namespace netco::http {

/// An HTTP message being received: the request a server's "request" listener gets, or the
/// response a client's "response" listener gets. A cheap handle; events "data"(buffer), "end",
/// "aborted", "error"(error_code), "close". The body waits (is not read from the socket) until
/// someone takes it: a "data" listener, resume(), or body(). Loop thread only.
class incoming_message
    : public netco::detail::handle<incoming_message, netco::detail::message_state> {
 public:
  static constexpr const char* kind = "http::incoming_message";
  incoming_message() = default;
  explicit incoming_message(std::shared_ptr<netco::detail::message_state> s) noexcept
      : handle(std::move(s)) {}

  // (events: on, once, off, emit... from the handle base)

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
  /// The peer's address and port. Node: message.socket.remoteAddress / remotePort
  const address_info& remote() const { return s().remote_; }
  /// The connection it came on (an empty handle once that is gone). Node: message.socket
  net::socket socket() const { return net::socket(s().socket_); }

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
  NETCO_DECL task<std::string> body(std::size_t limit = 1024 * 1024) const;
  /// The same, Node style: cb(error_code, body) once the body is in (or failed: body_too_large
  /// past limit bytes, aborted); cb(ec, body) runs on the loop, never inside this call.
  /// Node: collecting 'data' chunks until 'end'
  template <class Fn>
  requires std::invocable<Fn&, std::error_code, std::string>
  const incoming_message& body(std::size_t limit, Fn&& cb) const {
    collect(limit, netco::detail::body_callback(std::forward<Fn>(cb)));
    return *this;
  }

 private:
  NETCO_DECL void collect(std::size_t limit, netco::detail::body_callback cb) const;
};

}  // namespace netco::http

#if !defined(NETCO_SEPARATE_COMPILATION)
#include "netco/impl/http_message.ipp"
#endif
