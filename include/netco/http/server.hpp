// netco/http/server.hpp: Node's http.Server (an http::server is a net server whose
// connections speak HTTP/1.1), http::server_response and create_server
#pragma once
#include <chrono>            // milliseconds, steady_clock: timeouts
#include <concepts>          // invocable
#include <cstddef>           // size_t
#include <cstdint>           // uint8_t, uint64_t
#include <initializer_list>  // write_head's header lists
#include <memory>            // shared_ptr, enable_shared_from_this
#include <optional>          // optional
#include <string>            // string: output, reason phrases
#include <string_view>       // string_view
#include <system_error>      // error_code, system_error
#include <type_traits>       // invoke_result_t
#include <utility>           // move, pair
#include <vector>            // vector

#include "netco/buffer.hpp"
#include "netco/detail/decl.hpp"
#include "netco/detail/handle.hpp"
#include "netco/events.hpp"
#include "netco/http/error.hpp"
#include "netco/http/headers.hpp"
#include "netco/http/message.hpp"
#include "netco/http/parser.hpp"
#include "netco/http/status.hpp"
#include "netco/loop.hpp"
#include "netco/net/server.hpp"
#include "netco/net/socket.hpp"
#include "netco/spawn.hpp"
#include "netco/task.hpp"

namespace netco::http {

/// Node: http.createServer(options)
struct server_options {
  std::size_t max_header_size = 16 * 1024;  ///< start line + headers; one byte more gets 431
  std::chrono::milliseconds headers_timeout{60'000};    ///< until the head is in: else 408
  std::chrono::milliseconds request_timeout{300'000};   ///< until the whole request is in (0: none)
  std::chrono::milliseconds keep_alive_timeout{5'000};  ///< idle keep-alive connections close
  std::size_t max_requests_per_socket = 0;  ///< 0: unlimited; the last one gets Connection: close
  std::size_t high_water_mark = 16 * 1024;  ///< res.write() returns false past this many bytes
  bool no_delay = true;                     ///< TCP_NODELAY on accepted connections (as Node)
  bool keep_alive = false;                  ///< SO_KEEPALIVE on accepted connections
  int keep_alive_initial_delay = 0;         ///< ms before the first probe
  bool send_date = true;                    ///< a Date header on every response
};

class server_response;

}  // namespace netco::http

namespace netco::detail {

class http_server_state;
class http_connection;

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
  NETCO_DECL void reset_exchange();
  NETCO_DECL void close_response();
  NETCO_DECL void clear_everything() noexcept;
  NETCO_DECL void note_header(std::string_view name, std::string_view value);
  NETCO_DECL void rescan_headers();

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
  std::uint64_t flush_id_ = 0;   ///< retired: the flush whose completion finishes it
  http_connection* conn_ = nullptr;

  NETCO_DECL void listener_added(std::string_view name) override;  // both emitters' hook
};

/// The events http::server adds to net.Server's.
using http_server_base =
    basic_server_state<event<"request", http::incoming_message, http::server_response>,
                       event<"checkContinue", http::incoming_message, http::server_response>,
                       event<"clientError", std::error_code, net::socket>,
                       event<"upgrade", http::incoming_message, net::socket, buffer>>;

/// The shared state behind http::server handles: net's listening core, whose connections
/// get an HTTP parser each (http_connection) instead of "data" listeners, and the timer that
/// enforces the timeouts. Loop thread only.
/// An https server derives from it: its sockets are TLS ones, handed to on_connection() after
/// their handshake.
class http_server_state : public http_server_base {
 public:
  NETCO_DECL http_server_state(loop& owner, http::server_options o);
  NETCO_DECL ~http_server_state() override;

  NETCO_DECL void close_idle_connections();
  NETCO_DECL void add_connection(http_connection* c);
  NETCO_DECL void remove_connection(http_connection* c);
  /// "Connection: keep-alive\r\n" and Node's "Keep-Alive: timeout=N[, max=M]\r\n": made
  /// again only when the options change, not per response.
  NETCO_DECL std::string_view keep_alive_fields();

  http::server_options http_options_;
  http_connection* first_ = nullptr;  // intrusive list of the live HTTP connections

 protected:
  NETCO_DECL void on_connection(const std::shared_ptr<socket_state>& s) override;
  NETCO_DECL void on_closing() override;
  NETCO_DECL void drop_listeners() noexcept override;

 private:
  void arm_sweep();
  void sweep();
  std::chrono::milliseconds sweep_interval() const;

  steady_timer_ptr sweep_;  // a bare timer: it does not keep the loop alive
  bool sweep_armed_ = false;
  std::string keep_alive_fields_;  // for keep_alive_for_ and keep_alive_max_
  std::chrono::milliseconds keep_alive_for_{-1};
  std::size_t keep_alive_max_ = 0;
};

/// One accepted connection speaking HTTP/1.1 over its net::socket: the socket's reads are
/// parsed as they arrive (zero-copy: heads and bodies straight from the read blocks),
/// requests are handled one at a time, in order, and the responses of a batch of pipelined
/// requests go out together, with one send. Loop thread only.
class http_connection final : public socket_protocol,
                              public message_owner,
                              public std::enable_shared_from_this<http_connection> {
 public:
  enum class phase : std::uint8_t { head, body, responding, idle, lingering };

  NETCO_DECL http_connection(std::shared_ptr<http_server_state> server,
                             std::shared_ptr<socket_state> socket);
  NETCO_DECL ~http_connection();

  // --- the socket's events -------------------------------------------------------------
  NETCO_DECL void on_data(const buffer& chunk) override;
  NETCO_DECL void on_end() override;
  NETCO_DECL void on_drain() override;
  NETCO_DECL void on_close(std::error_code ec) override;
  NETCO_DECL void on_loop_gone() noexcept override;

  // --- from handles and the server -----------------------------------------------------
  void consumer_changed() override { continue_later(); }
  /// The current response ended (res.end()): retire it and go on with the input.
  NETCO_DECL void response_ended();
  /// Output was queued by a response: send it (now, unless the parser is running).
  NETCO_DECL void kick();
  std::size_t buffered() const noexcept { return out_.size() + socket_->buffered(); }
  bool over_high_water() const noexcept {
    return buffered() >= server_->http_options_.high_water_mark;
  }
  /// A timeout hit: idle connections close; a request still arriving gets 408.
  NETCO_DECL void time_out();
  /// server.close(): idle connections close now, busy ones after their current response.
  NETCO_DECL void server_closing();
  NETCO_DECL void destroy_now();

  std::string out_;  // output not yet handed to the socket
  std::shared_ptr<exchange> cur_;
  http_connection* prev_ = nullptr;
  http_connection* next_ = nullptr;
  phase phase_ = phase::head;
  std::chrono::steady_clock::time_point since_;
  std::size_t requests_ = 0;
  bool close_after_ = false;  // no keep-alive: close once the output is flushed
  bool need_drain_ = false;
  bool dead_ = false;
  std::shared_ptr<http_server_state> server_;
  std::shared_ptr<socket_state> socket_;
  address_info remote_;

 private:
  // --- input: the steps of one request -----------------------------------------------------
  /// Parses and handles what is buffered, as far as it can go now.
  void process();
  bool blocked() const noexcept;
  void on_head(std::size_t consumed);
  bool upgrade(http::incoming_message& req);
  void on_body(const parse_result& r);
  void on_message_complete(std::size_t consumed);
  void on_parse_error();
  void client_error(std::error_code ec);
  void continue_later();
  /// After each step: pause reading while too much input waits, resume once it is used.
  void regulate_reading();

  // --- output -------------------------------------------------------------------------------
  void flush();
  void flushed(std::uint64_t id, std::error_code ec);
  void retire();
  void close_when_done();
  void set_phase(phase p);
  std::shared_ptr<exchange> new_exchange();
  void recycle(std::shared_ptr<exchange>& ex);
  void fail_all();

  parser parser_;
  http_input in_;                                     // read, not parsed yet
  std::vector<std::shared_ptr<exchange>> finishing_;  // retired, waiting for their flush
  std::vector<std::shared_ptr<exchange>> spare_;
  std::uint64_t flush_seq_ = 0;
  bool processing_ = false;  // process() is on the stack: it flushes when it returns
  bool continue_posted_ = false;
  bool paused_reading_ = false;  // we paused the socket (input waiting)
  bool peer_ended_ = false;      // the peer's FIN came
  bool closing_ = false;         // our FIN is on its way
  bool idle_close_ = false;

  friend struct http_head_writer;
  friend void write_response_head(http_connection& c, exchange& ex, bool known_length,
                                  std::size_t length);
  friend void append_body(http_connection& c, exchange& ex, std::string_view data);
};

/// Serialises the response head into the connection's output. known_length: the whole body
/// is known (end(data) before any write), its size is `length`.
NETCO_DECL void write_response_head(http_connection& c, exchange& ex, bool known_length,
                                    std::size_t length);
NETCO_DECL void append_body(http_connection& c, exchange& ex, std::string_view data);

}  // namespace netco::detail

namespace netco::http {

/// The response to one request. A cheap handle; events "finish", "close", "drain", "error".
/// Writes are buffered per connection and sent with one system call per batch; the head goes
/// out with the first write() or end(). Loop thread only.
class server_response : public netco::detail::handle<server_response, netco::detail::exchange> {
 public:
  static constexpr const char* kind = "http::server_response";
  server_response() = default;
  explicit server_response(std::shared_ptr<netco::detail::exchange> s) noexcept
      : handle(std::move(s)) {}

  // (events: on, once, off, emit... from the handle base)

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
    netco::detail::check_field("status message", message);
    s().reason_.assign(message);
    return *this;
  }

  /// Sets a header, replacing any of the same name. Throws std::system_error:
  /// invalid_char for CR/LF/NUL (no response splitting), headers_sent after the head went out.
  /// Node: response.setHeader()
  const server_response& set_header(std::string_view name, std::string_view value) const {
    netco::detail::check_field(name, value);
    check_not_sent();
    s().out_headers_.set(name, value);
    s().rescan_headers();
    return *this;
  }
  /// Adds a header, keeping others of the same name. Node: response.appendHeader()
  const server_response& append_header(std::string_view name, std::string_view value) const {
    netco::detail::check_field(name, value);
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
  NETCO_DECL const server_response& write_head(int status, std::string_view message,
                                               header_list fields) const;
  /// Node: response.headersSent
  bool headers_sent() const { return s().head_written_ || s().head_sent_; }
  /// Node: response.writableEnded / response.finished
  bool finished() const { return s().finished_; }
  /// Node: response.writableFinished ("finish" was emitted)
  bool writable_finished() const { return s().finish_emitted_; }
  /// The connection. Node: response.socket
  net::socket socket() const { return net::socket(s().socket_); }

  /// Sends body bytes (chunked when no Content-Length was set). Returns false once the
  /// connection's buffered output passes the high-water mark; "drain" follows. After end():
  /// "error" (write_after_end) on the next tick. Node: response.write()
  NETCO_DECL bool write(std::string_view data) const;
  bool write(const buffer& data) const { return write(data.view()); }
  /// Finishes the response (sending data first); Content-Length is set when the whole body is
  /// given here. A second end() does nothing. Node: response.end([data])
  NETCO_DECL const server_response& end(std::string_view data = {}) const;
  const server_response& end(const buffer& data) const { return end(data.view()); }
  /// Sends "100 Continue" (from a "checkContinue" listener). Node: response.writeContinue()
  NETCO_DECL const server_response& write_continue() const;

 private:
  friend netco::detail::handle<server_response, netco::detail::exchange>;
  netco::detail::response_emitter& emitter() const { return s().res_events(); }
  NETCO_DECL static void check_status(int code);
  NETCO_DECL void check_not_sent() const;
};

/// An HTTP/1.1 server: a net server (listen, close, address, ref/unref, max_connections,
/// get_connections: Node's http.Server extends net.Server) whose events add "request"(req,
/// res), "checkContinue"(req, res), "clientError"(error_code, socket) and "upgrade"(req,
/// socket, head) to "listening", "connection"(socket), "close", "error"(error_code,
/// error_info) and "drop"(drop_info). A cheap handle. Loop thread only.
class server : public netco::detail::basic_server<server, netco::detail::http_server_state> {
 public:
  static constexpr const char* kind = "http::server";
  server() = default;
  explicit server(std::shared_ptr<netco::detail::http_server_state> s) noexcept
      : basic_server(std::move(s)) {}

  /// Node: server.closeIdleConnections()
  const server& close_idle_connections() const {
    s().close_idle_connections();
    return *this;
  }
  /// Node: server.headersTimeout / requestTimeout / keepAliveTimeout / maxRequestsPerSocket
  server_options& options() const { return s().http_options_; }
};

namespace detail_create {
/// A request listener that may be a coroutine returning task<>: it is spawned; an exception
/// it lets out is answered with 500 if nothing was sent yet, then reported to the loop.
NETCO_DECL void answer_failed(const server_response& res) noexcept;
}  // namespace detail_create

/// A server on the calling thread's loop. The listener may be a plain function of (req, res)
/// or a coroutine returning task<> (it is spawned; an exception it lets out is answered with
/// 500 if nothing was sent yet, then reported to the loop). Node: http.createServer()
NETCO_DECL server create_server(server_options options = {});
template <class Fn>
requires std::is_invocable_v<Fn&, const incoming_message&, const server_response&> server
create_server(server_options options, Fn&& request_listener) {
  server s = create_server(options);
  using result = std::invoke_result_t<Fn&, const incoming_message&, const server_response&>;
  // The listener's argument types are known here, so a generic lambda works too.
  s.on("request", [fn = std::forward<Fn>(request_listener)](const incoming_message& req,
                                                            const server_response& res) mutable {
    if constexpr (std::is_same_v<result, task<>>) {
      netco::spawn([](task<> t, server_response r) -> task<> {
        try {
          co_await std::move(t);
        } catch (...) {
          detail_create::answer_failed(r);
          throw;
        }
      }(fn(req, res), res));
    } else {
      fn(req, res);
    }
  });
  return s;
}
template <class Fn>
requires std::is_invocable_v<Fn&, const incoming_message&, const server_response&> server
create_server(Fn&& request_listener) {
  return create_server(server_options{}, std::forward<Fn>(request_listener));
}

}  // namespace netco::http

#if !defined(NETCO_SEPARATE_COMPILATION)
#include "netco/impl/http_server.ipp"
#endif
