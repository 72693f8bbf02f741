// netco/ws/socket.hpp: ws::socket, a WebSocket connection over a net::socket (the ws package's
// WebSocket class), and ws::stream, the same connection in coroutine style
#pragma once
#include <chrono>         // milliseconds: close timeout, heartbeat
#include <coroutine>      // coroutine_handle: a coroutine waiting in read(), send(), close()
#include <cstddef>        // byte, size_t
#include <cstdint>        // uint8_t, uint16_t
#include <memory>         // shared_ptr, enable_shared_from_this
#include <optional>       // optional: read()'s end, a client's offer
#include <span>           // span
#include <string>         // string: protocol, extensions, url, close reason
#include <string_view>    // string_view
#include <system_error>   // error_code, system_error
#include <unordered_map>  // unordered_map: topics
#include <utility>        // move
#include <vector>         // vector: subscribers, a socket's topics, messages for read()

#include "netco/buffer.hpp"
#include "netco/detail/decl.hpp"
#include "netco/detail/handle.hpp"
#include "netco/events.hpp"
#include "netco/http/message.hpp"
#include "netco/http/parser.hpp"
// NOTE: net/socket.hpp declares server_connection_gone, which net/server.hpp defines.
#include "netco/net/server.hpp"
#include "netco/net/socket.hpp"
#include "netco/task.hpp"
#include "netco/timers.hpp"
#include "netco/ws/codec.hpp"
#include "netco/ws/deflate.hpp"
#include "netco/ws/error.hpp"

namespace netco::ws {

/// Node: websocket.readyState (CONNECTING 0, OPEN 1, CLOSING 2, CLOSED 3)
enum class ready_state : std::uint8_t { connecting = 0, open = 1, closing = 2, closed = 3 };

/// Node: websocket.send(data, { binary, compress, fin })
struct send_options {
  bool binary = false;   ///< a binary message (text otherwise: the bytes must be UTF-8)
  bool compress = true;  ///< compress it, when permessage-deflate was agreed
  bool fin = true;       ///< false: more frames of this message follow (a fragmented send)
};

/// What a WebSocket connection enforces, on either end (ws's options of the same names).
struct socket_options {
  /// The largest message accepted (the sum of its frames, and inflated): a bigger one closes
  /// the connection with 1009. 0: no limit. Node: maxPayload (ws: 100 MiB; netco: 16 MiB)
  std::size_t max_payload = 16 * 1024 * 1024;
  std::size_t max_fragments = 16 * 1024;    ///< frames per message (1008 past it)
  std::size_t high_water_mark = 64 * 1024;  ///< send() returns false past this; "drain" follows
  /// After close(), how long to wait for the close handshake and the TCP close before the
  /// connection is destroyed. Node: closeTimeout
  std::chrono::milliseconds close_timeout{30'000};
  /// 0: off. Else a ping every interval; a peer that sent nothing since the last one
  /// (no pong, no message) is terminated (ws's README heartbeat, built in).
  std::chrono::milliseconds ping_interval{0};
  bool auto_pong = true;              ///< answer pings at once. Node: autoPong
  bool skip_utf8_validation = false;  ///< trusted peers only. Node: skipUTF8Validation
};

/// One whole message, as ws::stream::read() gives it.
struct message {
  buffer data;
  bool binary = false;
  std::string_view text() const noexcept { return data.view(); }
};

class socket;
class stream;

}  // namespace netco::ws

namespace netco::detail {

using ws_socket_emitter =
    basic_event_emitter<event<"open">, event<"message", buffer, bool>, event<"ping", buffer>,
                        event<"pong", buffer>, event<"close", std::uint16_t, std::string_view>,
                        event<"error", std::error_code>, event<"drain">,
                        event<"upgrade", http::incoming_message>,
                        event<"unexpected-response", http::incoming_message>>;

class ws_socket_state;

/// Whether a comma-separated header value holds token (ASCII case-insensitive).
NETCO_DECL bool ws_has_token(std::string_view value, std::string_view token) noexcept;

/// What a server's subscriber whose buffered amount passed the limit gets on publish().
enum class ws_backpressure_action : std::uint8_t { skip, close };

/// A server's tracked clients and pub/sub topics. Sockets hold it (shared), it holds them by
/// pointer; a socket leaves it when it closes. Loop thread only.
class ws_registry {
 public:
  bool track_clients = true;
  std::size_t max_backpressure = 1024 * 1024;
  ws_backpressure_action backpressure = ws_backpressure_action::skip;
  std::uint16_t backpressure_close_code = 1008;

  NETCO_DECL void add(ws_socket_state* s);
  NETCO_DECL void remove(ws_socket_state* s) noexcept;
  NETCO_DECL bool subscribe(ws_socket_state* s, std::string_view topic);
  NETCO_DECL bool unsubscribe(ws_socket_state* s, std::string_view topic) noexcept;
  /// Frames data once and writes that one buffer to every subscriber; returns how many got it.
  NETCO_DECL std::size_t publish(std::string_view topic, const buffer& data, bool binary);
  NETCO_DECL std::vector<ws::socket> clients() const;
  NETCO_DECL std::size_t subscriber_count(std::string_view topic) const;

 private:
  std::vector<ws_socket_state*> clients_;
  std::unordered_map<std::string, std::vector<ws_socket_state*>> topics_;
};

/// A client's opening handshake in progress.
struct ws_client_handshake {
  std::string key;
  std::vector<std::string> protocols;
  std::optional<ws::deflate_options> deflate;  // offered
  http::parser parser{http::message_kind::response};
  std::string in;
  timeout timer;
  bool done = false;  // answered (opened) or failed
};

/// What few connections have: a subprotocol, extensions, a client's URL, a close reason,
/// topics. Made on first need, so that an idle connection without them pays one pointer.
struct ws_socket_details {
  std::string protocol, extensions, url, close_reason;
  std::vector<std::string> topics;
};

/// What the coroutine style needs: messages for read() (from head on; a vector allocates
/// nothing until the first, a deque 576 bytes at once) and the coroutines waiting. Made on
/// first use, so that Node-style connections do not pay for it.
struct ws_pull_state {
  std::vector<ws::message> inbox;
  std::size_t head = 0;
  std::size_t bytes = 0;  // in inbox
  std::coroutine_handle<> read_waiter, drain_waiter, close_waiter;
  bool empty() const noexcept { return head == inbox.size(); }
};

/// The shared state behind ws::socket and ws::stream: a socket_protocol that has taken a
/// net::socket over, with the core's receiver and sender, the close handshake and its timer,
/// and the heartbeat. Loop thread only.
class ws_socket_state final : public ws_socket_emitter,
                              public socket_protocol,
                              public ws::receiver_handler,
                              public std::enable_shared_from_this<ws_socket_state> {
 public:
  NETCO_DECL ws_socket_state(ws::role role, const ws::socket_options& o);
  NETCO_DECL ~ws_socket_state();

  // --- set-up ----------------------------------------------------------------------------
  /// Server: takes the upgraded socket over (open; nothing read until start()).
  NETCO_DECL void attach(std::shared_ptr<socket_state> sock);
  /// Feeds what was read past the handshake, then reads on.
  NETCO_DECL void start(const buffer& head);
  /// Client: takes sock over and sends the upgrade request; "open" or "error" follows.
  NETCO_DECL void start_client(std::shared_ptr<socket_state> sock, std::string_view request,
                               std::unique_ptr<ws_client_handshake> hs,
                               std::chrono::milliseconds handshake_timeout);
  /// Client: no connection could be made: "error"(ec) then "close"(1006) on a later tick.
  NETCO_DECL void fail_early(std::error_code ec);
  NETCO_DECL void enable_deflate(const ws::deflate_params& p, const ws::deflate_options& o);

  // --- the ws package's methods ------------------------------------------------------------
  NETCO_DECL bool send(buffer data, const ws::send_options& o, write_callback cb);
  NETCO_DECL void ping(buffer data, write_callback cb);
  NETCO_DECL void pong(buffer data, write_callback cb);
  NETCO_DECL void close(std::uint16_t code, std::string_view reason);
  NETCO_DECL void terminate();
  NETCO_DECL void pause();
  NETCO_DECL void resume();
  std::size_t buffered_amount() const noexcept { return sock_ ? sock_->buffered() : 0; }
  NETCO_DECL bool subscribe(std::string_view topic);
  NETCO_DECL bool unsubscribe(std::string_view topic);
  NETCO_DECL bool is_subscribed(std::string_view topic) const noexcept;
  /// Writes a frame already encoded (publish): one shared buffer for every subscriber.
  NETCO_DECL void write_encoded(const buffer& frame);
  /// A message sent with fin=false is not finished: no other message may go out now.
  bool sending_fragments() const noexcept { return tx_.in_message(); }
  loop& owner() const noexcept { return sock_ ? *sock_->owner_ : loop::current(); }

  // --- coroutine style -----------------------------------------------------------------------
  NETCO_DECL static task<std::optional<ws::message>> read(std::shared_ptr<ws_socket_state> self);
  NETCO_DECL static task<> send_all(std::shared_ptr<ws_socket_state> self, buffer data,
                                    bool binary);
  NETCO_DECL static task<> close_all(std::shared_ptr<ws_socket_state> self, std::uint16_t code,
                                     std::string reason);
  /// The stream once self is open, or throws std::system_error with why it is not (null
  /// self: the handshake was refused).
  NETCO_DECL static task<ws::stream> open_stream(std::shared_ptr<ws_socket_state> self);
  bool pull_ = false;  // read() takes the messages (coroutine style)
  ws_pull_state& pulled() {
    if (!pull_state_) pull_state_ = std::make_unique<ws_pull_state>();
    return *pull_state_;
  }

  // --- the socket's events (socket_protocol) -------------------------------------------------
  NETCO_DECL void on_data(const buffer& chunk) override;
  NETCO_DECL void on_end() override;
  NETCO_DECL void on_drain() override;
  NETCO_DECL void on_close(std::error_code ec) override;
  NETCO_DECL void on_loop_gone() noexcept override;

  // --- the receiver's reports (receiver_handler) ---------------------------------------------
  NETCO_DECL void on_message(buffer data, bool binary) override;
  NETCO_DECL void on_ping(buffer payload) override;
  NETCO_DECL void on_pong(buffer payload) override;
  NETCO_DECL void on_close(std::uint16_t code, buffer reason) override;
  NETCO_DECL void on_error(std::error_code ec, std::uint16_t close_code) override;

  ws::role role_;
  ws::socket_options options_;
  ws::ready_state ready_ = ws::ready_state::connecting;
  std::shared_ptr<socket_state> sock_;
  std::shared_ptr<ws_registry> registry_;  // a server's, for clients() and topics
  std::uint16_t close_code_ = ws::close_status::abnormal;
  std::error_code error_;  // the failure that closed it, if one did

  ws_socket_details& details() {
    if (!details_) details_ = std::make_unique<ws_socket_details>();
    return *details_;
  }
  const std::string& protocol() const noexcept { return details_ ? details_->protocol : none_; }
  const std::string& extensions() const noexcept { return details_ ? details_->extensions : none_; }
  const std::string& url() const noexcept { return details_ ? details_->url : none_; }
  std::string_view close_reason() const noexcept {
    return details_ ? std::string_view(details_->close_reason) : std::string_view();
  }
  const std::vector<std::string>* topics() const noexcept {
    return details_ ? &details_->topics : nullptr;
  }

 private:
  bool write_frame(const ws::outgoing_frame& f, write_callback cb);
  void closing();
  void start_heartbeat();
  void handshake_data(const buffer& chunk);
  void handshake_failed(std::error_code ec);
  void opened(buffer rest);
  void leave_registry() noexcept;
  void wake_all();
  void emit_error(std::error_code ec);

  static inline const std::string none_;

  ws::receiver rx_;
  ws::sender tx_;
  std::unique_ptr<ws_client_handshake> hs_;
  std::unique_ptr<ws_socket_details> details_;
  bool close_sent_ = false;
  bool close_received_ = false;
  bool alive_ = true;     // heard from the peer since the last heartbeat ping
  bool feeding_ = false;  // inside rx_.feed(): read() waiters are woken after it
  bool user_paused_ = false;
  bool inbox_paused_ = false;  // read() has not taken enough: reading stops
  timeout close_timer_;
  timeout heartbeat_;
  std::unique_ptr<ws_pull_state> pull_state_;  // coroutine style only
};

}  // namespace netco::detail

namespace netco::ws {

/// One WebSocket connection, server or client side (the ws package's WebSocket). A cheap
/// handle: copies share one connection, methods are const, listeners are dropped after
/// "close". Events: "open" (client), "message"(buffer data, bool is_binary), "ping"(buffer),
/// "pong"(buffer), "close"(uint16_t code, string_view reason), "error"(error_code), "drain",
/// and on a client "upgrade"(incoming_message) / "unexpected-response"(incoming_message).
/// A protocol violation by the peer is "error" (only when someone listens: the server goes
/// on) and a close with its RFC code. Loop thread only.
class socket : public netco::detail::handle<socket, netco::detail::ws_socket_state> {
 public:
  static constexpr const char* kind = "ws::socket";
  using write_callback = netco::detail::write_callback;

  socket() = default;
  explicit socket(std::shared_ptr<netco::detail::ws_socket_state> s) noexcept
      : handle(std::move(s)) {}

  /// Queues one message (binary by default for a buffer, as Node's for a Buffer), or with
  /// fin=false one frame of it: header and payload go in one gathered write, the payload
  /// shared, not copied. Returns false once buffered_amount()
  /// passes the high-water mark ("drain" follows); false too when not OPEN (cb gets not_open).
  /// Node: websocket.send(data[, options][, cb])
  bool send(const buffer& data, send_options o = {.binary = true}, write_callback cb = {}) const {
    return s().send(data, o, std::move(cb));
  }
  /// Text by default; the string is copied once into a buffer. Node: websocket.send(string)
  bool send(std::string_view data, send_options o = {}, write_callback cb = {}) const {
    return s().send(buffer::from(data), o, std::move(cb));
  }
  bool send(const char* data, send_options o = {}, write_callback cb = {}) const {
    return send(std::string_view(data), o, std::move(cb));
  }
  /// Throws std::system_error (not_open) while CONNECTING, invalid_control_payload_length
  /// over 125 bytes. Node: websocket.ping([data][, mask][, cb])
  const socket& ping(const buffer& data = {}, write_callback cb = {}) const {
    s().ping(data, std::move(cb));
    return *this;
  }
  /// Node: websocket.pong([data][, mask][, cb])
  const socket& pong(const buffer& data = {}, write_callback cb = {}) const {
    s().pong(data, std::move(cb));
    return *this;
  }
  /// Starts the close handshake; "close" follows once the TCP connection is closed (at the
  /// latest close_timeout later). Throws std::system_error for a code that may not be sent
  /// or a reason over 123 bytes. 1005: a close frame without a code. Node: websocket.close()
  const socket& close(std::uint16_t code = close_status::no_status,
                      std::string_view reason = {}) const {
    s().close(code, reason);
    return *this;
  }
  /// Destroys the connection now, without a close handshake ("close" gets 1006).
  /// Node: websocket.terminate()
  const socket& terminate() const {
    s().terminate();
    return *this;
  }
  /// Stops reading (TCP pushes back on the peer). Node: websocket.pause()
  const socket& pause() const {
    s().pause();
    return *this;
  }
  /// Node: websocket.resume()
  const socket& resume() const {
    s().resume();
    return *this;
  }
  /// Node: websocket.isPaused
  bool is_paused() const { return s().sock_ && s().sock_->is_paused(); }

  /// Bytes queued and not yet written, framing included. Node: websocket.bufferedAmount
  std::size_t buffered_amount() const { return s().buffered_amount(); }
  /// Node: websocket.readyState
  ws::ready_state ready_state() const { return s().ready_; }
  /// The subprotocol agreed ("" for none). Node: websocket.protocol
  const std::string& protocol() const { return s().protocol(); }
  /// The agreed Sec-WebSocket-Extensions value ("" for none). Node: websocket.extensions
  const std::string& extensions() const { return s().extensions(); }
  /// The URL a client connected to ("" on a server). Node: websocket.url
  const std::string& url() const { return s().url(); }
  /// The connection underneath (its addresses, set_no_delay...); do not read or write it.
  /// Node: websocket._socket
  net::socket raw_socket() const { return net::socket(s().sock_); }

  /// Server sockets: receive server.publish(topic, ...) from now on; false if already there.
  /// Throws std::logic_error on a client socket. (uWS's ws.subscribe)
  bool subscribe(std::string_view topic) const { return s().subscribe(topic); }
  /// False if it was not subscribed. (uWS's ws.unsubscribe)
  bool unsubscribe(std::string_view topic) const { return s().unsubscribe(topic); }
  /// (uWS's ws.isSubscribed)
  bool is_subscribed(std::string_view topic) const { return s().is_subscribed(topic); }
};

/// A WebSocket connection in coroutine style: whole messages in, messages out, a close that
/// waits for the handshake. It shares its state with socket(): the two styles mix, but once
/// read() was called messages go to read(), not to "message" listeners. Loop thread only.
class stream {
 public:
  stream() = default;
  explicit stream(std::shared_ptr<netco::detail::ws_socket_state> s) noexcept : s_(std::move(s)) {}

  /// The next whole message (text or binary, at most max_payload bytes), or nullopt once the
  /// connection closed (close_code() and error() then say why).
  [[nodiscard]] task<std::optional<message>> read() const {
    return netco::detail::ws_socket_state::read(s_);
  }
  /// Sends a text message, waiting for "drain" when past the high-water mark. Throws
  /// std::system_error (not_open) when the connection is not OPEN.
  [[nodiscard]] task<> send_text(std::string_view text) const {
    return netco::detail::ws_socket_state::send_all(s_, buffer::from(text), false);
  }
  [[nodiscard]] task<> send_text(buffer text) const {
    return netco::detail::ws_socket_state::send_all(s_, std::move(text), false);
  }
  /// Sends a binary message; as send_text().
  [[nodiscard]] task<> send_binary(buffer data) const {
    return netco::detail::ws_socket_state::send_all(s_, std::move(data), true);
  }
  [[nodiscard]] task<> send_binary(std::span<const std::byte> data) const {
    return netco::detail::ws_socket_state::send_all(s_, buffer::copy_of(data), true);
  }
  /// Closes (the handshake, then TCP) and resumes once the connection is closed. Throws
  /// std::system_error for a code that may not be sent.
  [[nodiscard]] task<> close(std::uint16_t code = close_status::normal,
                             std::string_view reason = {}) const {
    return netco::detail::ws_socket_state::close_all(s_, code, std::string(reason));
  }
  /// The peer's close code (1005: none given), or 1006 while no close frame came.
  std::uint16_t close_code() const noexcept { return s_ ? s_->close_code_ : 0; }
  /// The peer's close reason.
  std::string_view close_reason() const noexcept {
    return s_ ? s_->close_reason() : std::string_view();
  }
  /// What failed the connection (a protocol violation, max_payload...), if something did.
  std::error_code error() const noexcept { return s_ ? s_->error_ : std::error_code(); }
  /// The same connection as a Node-style handle.
  ws::socket socket() const noexcept { return ws::socket(s_); }
  explicit operator bool() const noexcept { return static_cast<bool>(s_); }

 private:
  std::shared_ptr<netco::detail::ws_socket_state> s_;
};

}  // namespace netco::ws

#if !defined(NETCO_SEPARATE_COMPILATION)
#include "netco/impl/ws_socket.ipp"
#endif
