// netco/net/server.hpp: Node's net.Server, and the one listening core that every server type
// (net::server, http::server, and the TLS servers above them) is built on
#pragma once
#include <concepts>      // invocable: callback overloads
#include <cstddef>       // size_t
#include <cstdint>       // uint16_t
#include <limits>        // numeric_limits: no max_connections
#include <memory>        // shared_ptr, enable_shared_from_this
#include <optional>      // optional: the acceptor, once listening
#include <string>        // string
#include <string_view>   // string_view
#include <system_error>  // error_code
#include <type_traits>   // is_invocable_v
#include <utility>       // move

#include "netco/address.hpp"
#include "netco/detail/decl.hpp"
#include "netco/detail/handle.hpp"
#include "netco/error.hpp"
#include "netco/events.hpp"
#include "netco/loop.hpp"
#include "netco/net/socket.hpp"
#include "netco/stream.hpp"
#include "netco/task.hpp"

namespace netco::net {

/// The argument of a server's "drop" event. Node: { localAddress, localPort, remoteAddress... }
struct drop_info {
  address_info local;
  address_info remote;
};

/// Node: net.createServer(options)
struct server_options {
  bool allow_half_open = false;              ///< keep our side open after the peer ended
  bool pause_on_connect = false;             ///< accepted sockets read nothing until resume()
  bool no_delay = false;                     ///< TCP_NODELAY on accepted sockets
  bool keep_alive = false;                   ///< SO_KEEPALIVE on accepted sockets
  int keep_alive_initial_delay = 0;          ///< ms before the first probe
  std::size_t high_water_mark = 64 * 1024;   ///< write() returns false past this many bytes
  std::size_t read_buffer_size = 64 * 1024;  ///< the most bytes one "data" chunk carries
};

/// Node: server.listen(options)
struct listen_options {
  std::uint16_t port = 0;
  std::string host;  ///< empty: all interfaces ("::" dual-stack, else "0.0.0.0"); names resolve
  std::string path;  ///< non-empty: a Unix-domain socket file (IPC)
  int backlog = 511;
  bool reuse_port = false;  ///< SO_REUSEPORT (TCP): one listener per loop (netco::cluster)
};

}  // namespace netco::net

namespace netco::detail {

/// The stream net's servers accept: a socket of either family (TCP v4/v6, or Unix-domain).
using net_stream = netco::basic_stream<asio::generic::stream_protocol>;

/// The listening core shared by every server type, as Node's http.Server extends net.Server:
/// listen (port/host/backlog, IPC path, dual stack, names resolved off the loop thread),
/// close, address, ref/unref, max_connections with "drop", the connection count, and the
/// accept loop with its back-off. What a server type adds (its events, what it does with each
/// connection) comes through the hooks below. Loop thread only.
class server_core : public loop_hook, public std::enable_shared_from_this<server_core> {
 public:
  NETCO_DECL server_core(loop& owner, const net::server_options& o);
  NETCO_DECL virtual ~server_core();

  NETCO_DECL void listen(net::listen_options o);
  /// For netco::cluster's handoff mode: "listening" with no socket of its own; connections
  /// arrive through adopt() from the one acceptor. close() works as usual.
  NETCO_DECL void listen_without_acceptor();
  NETCO_DECL void close();
  /// Takes a connection accepted elsewhere (on this loop's thread), as if accepted here.
  NETCO_DECL void adopt(net_stream peer);
  /// Destroys the connections still open (a graceful shutdown's deadline).
  NETCO_DECL void destroy_connections();
  NETCO_DECL address_info address() const;
  NETCO_DECL void ref();
  NETCO_DECL void unref();
  /// A connection of this server closed.
  NETCO_DECL void connection_gone();

  loop* owner_;
  net::server_options options_;
  std::size_t connections_ = 0;
  std::size_t max_connections_ = std::numeric_limits<std::size_t>::max();
  bool listening_ = false;

 protected:
  // --- what a server type supplies: its events, and what it does with a connection --------
  virtual void emit_listening() = 0;
  virtual void emit_close() = 0;
  virtual void emit_error(std::error_code ec, const error_info& info) = 0;
  virtual bool has_error_listener() const noexcept = 0;
  virtual void emit_drop(const net::drop_info& info) = 0;
  virtual bool has_drop_listener() const noexcept = 0;
  virtual void emit_connection(const net::socket& s) = 0;
  /// A new connection (counted already, not yet reading): emit "connection", then start it.
  /// The default starts reading (Node's net.Server); an exception closes that connection.
  NETCO_DECL virtual void on_connection(const std::shared_ptr<socket_state>& s);
  /// The socket of a connection just accepted (not yet reading): net's own over peer by
  /// default; a TLS server makes a TLS socket here, to handshake in on_connection.
  NETCO_DECL virtual std::shared_ptr<socket_state> make_connection(net_stream peer,
                                                                   const socket_state::config& c);
  /// close() was called: http closes its idle connections here.
  virtual void on_closing() {}
  /// The loop is going: drop listeners without calling them.
  virtual void drop_listeners() noexcept = 0;

  NETCO_DECL void on_loop_gone() noexcept override;

 private:
  void bind_and_listen(const std::vector<asio::ip::tcp::endpoint>& targets, net::listen_options o,
                       std::error_code ec);
  void fail_listen(std::error_code ec, const net::listen_options& o);
  void started_listening();
  task<> resolve_then_listen(std::shared_ptr<server_core> self, net::listen_options o,
                             std::size_t generation);
  task<> accept_loop(std::shared_ptr<server_core> self, std::size_t generation);
  void maybe_emit_close();
  void compensate();
  void uncompensate();
  void close_acceptor() noexcept;
  void remove_path() noexcept;

  using acceptor_type = asio::basic_socket_acceptor<asio::generic::stream_protocol, executor>;
  std::optional<acceptor_type> acceptor_;
  std::string path_;
  std::size_t generation_ = 0;
  bool resolving_ = false;  // listen() waits for a name's addresses
  bool closing_ = false;
  bool close_scheduled_ = false;
  bool unrefed_ = false;
  bool compensated_ = false;
};

/// Node's net.Server events, in front of any server type's own: "listening",
/// "connection"(socket), "close", "error"(error_code, error_info), "drop"(drop_info).
template <class... Extra>
using server_emitter =
    basic_event_emitter<event<"listening">, event<"connection", net::socket>, event<"close">,
                        event<"error", std::error_code, error_info>, event<"drop", net::drop_info>,
                        Extra...>;

/// A server state: the listening core with the events of a server type (Extra: those beyond
/// net.Server's). Node's net.Server is basic_server_state<>.
template <class... Extra>
class basic_server_state : public server_core, public server_emitter<Extra...> {
 public:
  using emitter_type = server_emitter<Extra...>;
  using emitter_type::count_of;  // for the server type's own layers (its connections)
  using emitter_type::emit_event;
  using server_core::server_core;

 protected:
  void emit_listening() override { this->template emit_event<"listening">(); }
  void emit_close() override { this->template emit_event<"close">(); }
  void emit_error(std::error_code ec, const error_info& info) override {
    this->template emit_event<"error">(ec, info);
  }
  bool has_error_listener() const noexcept override {
    return this->template count_of<"error">() > 0;
  }
  void emit_drop(const net::drop_info& info) override { this->template emit_event<"drop">(info); }
  bool has_drop_listener() const noexcept override { return this->template count_of<"drop">() > 0; }
  void emit_connection(const net::socket& s) override {
    this->template emit_event<"connection">(s);
  }
  void drop_listeners() noexcept override { this->clear_all(); }
};

using net_server_state = basic_server_state<>;

/// The methods every server handle shares (Node: net.Server's, which http.Server and
/// https.Server inherit). Derived is the handle type, State its basic_server_state.
template <class Derived, class State>
class basic_server : public handle<Derived, State> {
  using base = handle<Derived, State>;

 public:
  // (events: on, once, off, emit... from the handle base)

  /// Starts accepting on host:port (empty host: every interface, dual-stack; port 0: a free
  /// one; a name is resolved off the loop thread). A busy port is reported as "error"
  /// (EADDRINUSE) on a later tick. Node: server.listen(port, host, backlog, cb)
  const Derived& listen(std::uint16_t port = 0, std::string_view host = {},
                        int backlog = 511) const {
    this->s().listen({.port = port, .host = std::string(host), .path = {}, .backlog = backlog});
    return self();
  }
  template <std::invocable<> Fn>
  const Derived& listen(std::uint16_t port, std::string_view host, int backlog,
                        Fn&& on_listening) const {
    this->s().once("listening", std::forward<Fn>(on_listening));
    return listen(port, host, backlog);
  }
  template <std::invocable<> Fn>
  const Derived& listen(std::uint16_t port, std::string_view host, Fn&& on_listening) const {
    return listen(port, host, 511, std::forward<Fn>(on_listening));
  }
  template <std::invocable<> Fn>
  const Derived& listen(std::uint16_t port, Fn&& on_listening) const {
    return listen(port, {}, 511, std::forward<Fn>(on_listening));
  }
  /// IPC: listens on a Unix-domain socket file. Node: server.listen(path)
  const Derived& listen(std::string_view path) const {
    this->s().listen({.port = 0, .host = {}, .path = std::string(path), .backlog = 511});
    return self();
  }
  template <std::invocable<> Fn>
  const Derived& listen(std::string_view path, Fn&& on_listening) const {
    this->s().once("listening", std::forward<Fn>(on_listening));
    return listen(path);
  }
  /// Node: server.listen(options)
  const Derived& listen(net::listen_options options) const {
    this->s().listen(std::move(options));
    return self();
  }
  template <std::invocable<> Fn>
  const Derived& listen(net::listen_options options, Fn&& on_listening) const {
    this->s().once("listening", std::forward<Fn>(on_listening));
    return listen(std::move(options));
  }

  /// Stops accepting; "close" fires once the last connection is gone. cb runs then (taking
  /// an error_code, if it takes one: server_not_running if it was not listening).
  /// Node: server.close([cb])
  const Derived& close() const {
    this->s().close();
    return self();
  }
  template <class Fn>
  const Derived& close(Fn&& cb) const {
    if constexpr (std::is_invocable_v<Fn&, std::error_code>) {
      if (!this->s().listening_) {
        defer(*this->s().owner_, [cb = std::forward<Fn>(cb)]() mutable {
          cb(make_error_code(errc::server_not_running));
        });
        return self();
      }
      this->s().once("close", [cb = std::forward<Fn>(cb)]() mutable { cb(std::error_code()); });
    } else {
      this->s().once("close", std::forward<Fn>(cb));
    }
    return close();
  }

  /// The bound address (after "listening"). Node: server.address()
  address_info address() const { return this->s().address(); }
  /// Node: server.listening
  bool listening() const { return this->s().listening_; }
  /// Node: server.getConnections(cb) — cb(error_code, count) on the next tick
  template <class Fn>
  const Derived& get_connections(Fn&& cb) const {
    defer(*this->s().owner_, [st = this->s_, cb = std::forward<Fn>(cb)]() mutable {
      cb(std::error_code(), st->connections_);
    });
    return self();
  }
  /// The current count, at once (Node's deprecated server.connections).
  std::size_t connections() const { return this->s().connections_; }
  /// Destroys every connection still open, each with "close"(false): a graceful shutdown's
  /// deadline. Node: server.closeAllConnections() (http)
  const Derived& close_all_connections() const {
    this->s().destroy_connections();
    return self();
  }
  /// Node: server.maxConnections = n (connections over it are closed at once, with "drop")
  const Derived& max_connections(std::size_t n) const {
    this->s().max_connections_ = n;
    return self();
  }
  /// Node: server.maxConnections
  std::size_t max_connections() const { return this->s().max_connections_; }
  /// Node: server.ref()
  const Derived& ref() const {
    this->s().ref();
    return self();
  }
  /// A listening server alone no longer keeps the loop alive. Node: server.unref()
  const Derived& unref() const {
    this->s().unref();
    return self();
  }

 protected:
  using base::base;

 private:
  const Derived& self() const noexcept { return static_cast<const Derived&>(*this); }
};

}  // namespace netco::detail

namespace netco::net {

/// A TCP or IPC server with Node's events: "listening", "connection"(socket), "close",
/// "error"(error_code, error_info), "drop"(drop_info). A cheap handle; the server stays alive
/// while it listens. Every listener runs on the loop thread that created it.
class server : public netco::detail::basic_server<server, netco::detail::net_server_state> {
 public:
  static constexpr const char* kind = "net::server";
  server() = default;
  explicit server(std::shared_ptr<netco::detail::net_server_state> s) noexcept
      : basic_server(std::move(s)) {}
};

/// A server on the calling thread's loop. Node: net.createServer([options][, listener])
NETCO_DECL server create_server(server_options options = {});
template <class Fn>
requires std::is_invocable_v<Fn&, socket> server create_server(server_options options,
                                                               Fn&& connection_listener) {
  server s = create_server(options);
  s.on("connection", std::forward<Fn>(connection_listener));
  return s;
}
template <class Fn>
requires std::is_invocable_v<Fn&, socket> server create_server(Fn&& connection_listener) {
  return create_server(server_options{}, std::forward<Fn>(connection_listener));
}

}  // namespace netco::net

#if !defined(NETCO_SEPARATE_COMPILATION)
#include "netco/impl/net_server.ipp"
#endif
