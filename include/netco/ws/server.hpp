// netco/ws/server.hpp: ws::server (the ws package's WebSocketServer) on its own port, on an
// http::server's "upgrade", or with no server at all (handle_upgrade), and ws::accept
#pragma once
#include <chrono>       // milliseconds: socket options
#include <cstddef>      // size_t
#include <cstdint>      // uint16_t
#include <functional>   // function: handle_protocols, verify_client
#include <memory>       // shared_ptr
#include <optional>     // optional: port, a chosen protocol, deflate
#include <span>         // span: the offered protocols
#include <string>       // string
#include <string_view>  // string_view
#include <type_traits>  // is_invocable_v
#include <utility>      // move
#include <vector>       // vector: "headers", clients()

#include "netco/buffer.hpp"
#include "netco/detail/decl.hpp"
#include "netco/detail/handle.hpp"
#include "netco/events.hpp"
#include "netco/http/message.hpp"
#include "netco/http/server.hpp"
#include "netco/net/socket.hpp"
#include "netco/task.hpp"
#include "netco/ws/deflate.hpp"
#include "netco/ws/socket.hpp"

namespace netco::ws {

/// What verify_client sees. Node: verifyClient's info { origin, req, secure }
struct verify_info {
  std::string_view origin;  ///< the Origin header ("" when absent)
  const http::incoming_message& req;
  bool secure = false;  ///< the connection is TLS (known once netco/ws/wss.hpp is included)
};

/// What a subscriber whose buffered amount passed max_backpressure gets from publish().
enum class backpressure_policy : std::uint8_t {
  skip,   ///< the message is not queued for it (it misses messages, memory stays bounded)
  close,  ///< the connection is closed with backpressure_close_code (1008 by default)
};

/// Node: new WebSocketServer(options). Exactly one of port, server and no_server.
struct server_options {
  std::optional<std::uint16_t> port = {};  ///< its own http::server on this port (0: any)
  std::string host = "127.0.0.1";          ///< with port
  int backlog = 511;                       ///< with port
  http::server server = {};                ///< attach to this server's "upgrade"
  bool no_server = false;                  ///< handle_upgrade() is called by the application
  std::string path = {};  ///< only this pathname is accepted ("": any); others get 400
  std::size_t max_payload = 16 * 1024 * 1024;  ///< 1009 past it (ws: 100 MiB). Node: maxPayload
  std::size_t max_fragments = 16 * 1024;       ///< Node: maxFragments
  std::size_t high_water_mark = 64 * 1024;     ///< send() returns false past it
  std::chrono::milliseconds close_timeout{30'000};  ///< Node: closeTimeout
  std::chrono::milliseconds ping_interval{0};       ///< heartbeat; 0: off
  bool auto_pong = true;                            ///< Node: autoPong
  bool skip_utf8_validation = false;                ///< Node: skipUTF8Validation
  bool client_tracking = true;  ///< keep clients() up to date. Node: clientTracking
  /// Opt-in compression (zlib: about 300 KiB per connection with context takeover, see
  /// docs/websocket.md). Node: perMessageDeflate
  std::optional<deflate_options> per_message_deflate = {};
  /// Picks the subprotocol from the client's list (nullopt: none); default: the first.
  /// Node: handleProtocols(protocols, request)
  std::function<std::optional<std::string>(std::span<const std::string_view>,
                                           const http::incoming_message&)>
      handle_protocols = {};
  /// Refuses a client (401) when it returns false, e.g. an Origin allow-list.
  /// Node: verifyClient(info)
  std::function<bool(const verify_info&)> verify_client = {};
  /// publish(): a subscriber with more than this many bytes buffered gets the policy.
  std::size_t max_backpressure = 1024 * 1024;
  backpressure_policy backpressure = backpressure_policy::skip;
  std::uint16_t backpressure_close_code = 1008;  ///< 1008 policy or 1013 try again later
};

}  // namespace netco::ws

namespace netco::detail {

/// Whether an upgraded socket is a TLS one: set by netco/ws/wss.hpp (ws needs no TLS layer).
inline bool (*ws_secure_probe)(const socket_state& s) noexcept = nullptr;

using ws_server_emitter =
    basic_event_emitter<event<"connection", ws::socket, http::incoming_message>,
                        event<"headers", std::vector<std::string>*, http::incoming_message>,
                        event<"listening">, event<"error", std::error_code>, event<"close">>;

/// The shared state behind ws::server handles. Loop thread only.
class ws_server_state final : public ws_server_emitter,
                              public std::enable_shared_from_this<ws_server_state> {
 public:
  using ws_server_emitter::count_of;
  using ws_server_emitter::emit_event;

  NETCO_DECL explicit ws_server_state(const ws::server_options& o);
  NETCO_DECL ~ws_server_state() override;

  NETCO_DECL void start();
  NETCO_DECL void close();
  /// The opening handshake over sock: the 101 (the ws socket) or a 4xx (nullptr).
  NETCO_DECL std::shared_ptr<ws_socket_state> accept(const http::incoming_message& req,
                                                     const net::socket& sock);
  NETCO_DECL bool should_handle(const http::incoming_message& req) const;

  ws::server_options options_;
  http::server http_;
  bool own_http_ = false;
  bool closed_ = false;
  std::shared_ptr<ws_registry> registry_ = std::make_shared<ws_registry>();
  listener_id upgrade_id_ = 0, listening_id_ = 0, error_id_ = 0, request_id_ = 0, close_id_ = 0;
};

/// The opening handshake (RFC 6455 4.2): checks req, answers 101 with the subprotocol and
/// extensions agreed, or 400/401/426 and ends sock. Returns the ws socket (open, not reading
/// until start()) or nullptr. events: the server's, for "headers" (may be null).
NETCO_DECL std::shared_ptr<ws_socket_state> ws_handshake(const http::incoming_message& req,
                                                         const net::socket& sock,
                                                         const ws::server_options& o,
                                                         ws_server_state* events);

}  // namespace netco::detail

namespace netco::ws {

/// A WebSocket server (the ws package's WebSocketServer). Events "connection"(ws::socket,
/// const incoming_message& req), "headers"(std::vector<std::string>* lines, req): the 101's
/// lines, to add to; "listening", "error"(error_code), "close". A cheap handle; loop thread.
class server : public netco::detail::handle<server, netco::detail::ws_server_state> {
 public:
  static constexpr const char* kind = "ws::server";
  server() = default;
  explicit server(std::shared_ptr<netco::detail::ws_server_state> s) noexcept
      : handle(std::move(s)) {}

  /// Takes an upgrade over (no_server, or a second ws server on one http server): cb(ws,
  /// req) after the 101, or a 4xx answer and no call. Node: wss.handleUpgrade()
  template <class Fn>
  requires std::is_invocable_v<Fn&, const ws::socket&, const http::incoming_message&>
  void handle_upgrade(const http::incoming_message& req, const net::socket& sock,
                      const buffer& head, Fn&& cb) const {
    if (auto ws = s().accept(req, sock)) {
      cb(ws::socket(ws), req);
      ws->start(head);
    }
  }
  /// Whether req is for this server (its path). Node: wss.shouldHandle()
  bool should_handle(const http::incoming_message& req) const { return s().should_handle(req); }
  /// Stops taking connections (its own http server stops listening); open connections stay.
  /// "close" follows. Node: wss.close()
  const server& close() const {
    s().close();
    return *this;
  }
  /// Node: wss.address()
  address_info address() const { return s().http_.address(); }
  /// The http::server it runs on (its own, or the one given).
  const http::server& http_server() const { return s().http_; }
  /// The open connections (client_tracking). Node: wss.clients
  std::vector<ws::socket> clients() const { return s().registry_->clients(); }

  /// Sends one message to every socket subscribed to topic, framed once into one buffer that
  /// every subscriber's queue shares; subscribers past max_backpressure get the policy.
  /// Returns how many got it. (uWS's app.publish)
  std::size_t publish(std::string_view topic, const buffer& data, bool binary = false) const {
    return s().registry_->publish(topic, data, binary);
  }
  std::size_t publish(std::string_view topic, std::string_view text) const {
    return publish(topic, buffer::from(text), false);
  }
  /// (uWS's app.numSubscribers)
  std::size_t subscriber_count(std::string_view topic) const {
    return s().registry_->subscriber_count(topic);
  }
};

/// A server on the calling thread's loop; throws std::invalid_argument unless exactly one of
/// port, server, no_server is given. Node: new WebSocketServer(options[, callback])
NETCO_DECL server create_server(const server_options& options);
template <class Fn>
requires std::is_invocable_v<Fn&, const ws::socket&, const http::incoming_message&> server
create_server(const server_options& options, Fn&& on_connection) {
  server s = create_server(options);
  s.on("connection",
       [fn = std::forward<Fn>(on_connection)](
           const ws::socket& ws, const http::incoming_message& req) mutable { fn(ws, req); });
  return s;
}

/// Coroutine style, in an http::server's "upgrade" listener: answers the handshake and gives
/// the connection as a stream, or throws std::system_error (invalid_key...) after a 4xx.
NETCO_DECL task<stream> accept(const http::incoming_message& req, const net::socket& sock,
                               const buffer& head, const server_options& options);
// NOTE: an overload, not a defaulted argument (see ws::connect).
inline task<stream> accept(const http::incoming_message& req, const net::socket& sock,
                           const buffer& head) {
  return accept(req, sock, head, server_options());
}

}  // namespace netco::ws

#if !defined(NETCO_SEPARATE_COMPILATION)
#include "netco/impl/ws_server.ipp"
#endif
