// netco/impl/ws_server.ipp: the out-of-line parts of netco/ws/server.hpp: inline in every
// translation unit when header-only, compiled once (by <netco/impl/src.hpp>) under
// NETCO_SEPARATE_COMPILATION
#pragma once
#include <stdexcept>  // invalid_argument

#include "netco/http/status.hpp"
#include "netco/ws/handshake.hpp"
#include "netco/ws/server.hpp"

namespace netco::detail {

/// Answers a refused handshake and ends the connection (never an upgrade).
inline void ws_refuse(const net::socket& sock, int status, std::string_view extra = {}) {
  const std::string_view text = http::status_text(status);
  std::string out = "HTTP/1.1 " + std::to_string(status) + " ";
  out.append(text).append("\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ");
  out.append(std::to_string(text.size())).append("\r\n").append(extra).append("\r\n");
  out.append(text);
  sock.write(out);
  sock.destroy_soon();
}

/// Every value of a header, joined as one list ("a, b").
inline std::string ws_joined(const http::headers& h, std::string_view name) {
  std::string out;
  for (std::string_view v : h.get_all(name)) {
    if (!out.empty()) out += ", ";
    out.append(v);
  }
  return out;
}

inline ws::socket_options ws_socket_options_of(const ws::server_options& o) {
  return {.max_payload = o.max_payload,
          .max_fragments = o.max_fragments,
          .high_water_mark = o.high_water_mark,
          .close_timeout = o.close_timeout,
          .ping_interval = o.ping_interval,
          .auto_pong = o.auto_pong,
          .skip_utf8_validation = o.skip_utf8_validation};
}

inline std::string_view ws_pathname(std::string_view target) {
  return target.substr(0, target.find('?'));
}

NETCO_DECL std::shared_ptr<ws_socket_state> ws_handshake(const http::incoming_message& req,
                                                         const net::socket& sock,
                                                         const ws::server_options& o,
                                                         ws_server_state* events) {
  const http::headers& h = req.headers();
  if (!o.path.empty() && ws_pathname(req.url()) != o.path) return ws_refuse(sock, 400), nullptr;
  if (req.method_code() != http::method::get) return ws_refuse(sock, 400), nullptr;
  const auto upgrade = h.get("upgrade");
  const auto connection = h.get("connection");
  if (!upgrade || !ws::token_iequals(*upgrade, "websocket") || !connection ||
      !ws_has_token(*connection, "upgrade")) {
    return ws_refuse(sock, 400), nullptr;
  }
  const auto version = h.get("sec-websocket-version");
  if (!version) return ws_refuse(sock, 400), nullptr;
  if (*version != "13") {
    return ws_refuse(sock, 426, "Sec-WebSocket-Version: 13\r\n"), nullptr;
  }
  const auto key = h.get("sec-websocket-key");
  if (!key || !ws::is_valid_key(*key)) return ws_refuse(sock, 400), nullptr;

  const std::string offered = ws_joined(h, "sec-websocket-protocol");
  std::vector<std::string_view> protocols;
  if (!offered.empty() && ws::parse_protocols(offered, protocols))
    return ws_refuse(sock, 400), nullptr;
  const std::string ext_value = ws_joined(h, "sec-websocket-extensions");
  std::vector<ws::extension> offers;
  if (!ext_value.empty() && ws::parse_extensions(ext_value, offers))
    return ws_refuse(sock, 400), nullptr;

  if (o.verify_client) {
    const ws::verify_info info{
        .origin = h.get("origin").value_or(std::string_view()),
        .req = req,
        .secure = ws_secure_probe && sock.state() && ws_secure_probe(*sock.state())};
    if (!o.verify_client(info)) return ws_refuse(sock, 401), nullptr;
  }

  std::optional<std::string> protocol;
  if (!protocols.empty()) {
    protocol = o.handle_protocols ? o.handle_protocols(protocols, req)
                                  : std::optional<std::string>(std::string(protocols.front()));
  }
  std::optional<ws::deflate_agreement> deflate;
  if (o.per_message_deflate && !offers.empty())
    deflate = ws::negotiate_deflate(offers, *o.per_message_deflate);

  std::vector<std::string> lines = {"HTTP/1.1 101 Switching Protocols", "Upgrade: websocket",
                                    "Connection: Upgrade",
                                    "Sec-WebSocket-Accept: " + ws::accept_key(*key)};
  if (protocol) lines.push_back("Sec-WebSocket-Protocol: " + *protocol);
  if (deflate) lines.push_back("Sec-WebSocket-Extensions: " + deflate->response);
  if (events && events->count_of<"headers">() > 0) events->emit_event<"headers">(&lines, req);
  std::string out;
  for (const std::string& l : lines) out.append(l).append("\r\n");
  out.append("\r\n");
  sock.write(out);

  auto ws = std::make_shared<ws_socket_state>(ws::role::server, ws_socket_options_of(o));
  if (protocol) ws->details().protocol = std::move(*protocol);
  if (deflate) {
    ws->enable_deflate(deflate->params, *o.per_message_deflate);
    ws->details().extensions = std::move(deflate->response);
  }
  ws->attach(sock.state());
  return ws;
}

NETCO_DECL ws_server_state::ws_server_state(const ws::server_options& o) : options_(o) {
  registry_->track_clients = options_.client_tracking;
  registry_->max_backpressure = options_.max_backpressure;
  registry_->backpressure = options_.backpressure == ws::backpressure_policy::close
                                ? ws_backpressure_action::close
                                : ws_backpressure_action::skip;
  registry_->backpressure_close_code = options_.backpressure_close_code;
}

NETCO_DECL ws_server_state::~ws_server_state() = default;

NETCO_DECL bool ws_server_state::should_handle(const http::incoming_message& req) const {
  return options_.path.empty() || ws_pathname(req.url()) == options_.path;
}

NETCO_DECL std::shared_ptr<ws_socket_state> ws_server_state::accept(
    const http::incoming_message& req, const net::socket& sock) {
  if (closed_) {
    ws_refuse(sock, 503);
    return nullptr;
  }
  auto ws = ws_handshake(req, sock, options_, this);
  if (!ws) return nullptr;
  ws->registry_ = registry_;
  registry_->add(ws.get());
  return ws;
}

NETCO_DECL void ws_server_state::start() {
  const int given =
      (options_.port ? 1 : 0) + (options_.server ? 1 : 0) + (options_.no_server ? 1 : 0);
  if (given != 1) {
    throw std::invalid_argument(
        "ws::create_server: one and only one of port, server and no_server must be given "
        "[ERR_INVALID_ARG_VALUE]");
  }
  if (options_.no_server) return;
  std::weak_ptr<ws_server_state> weak = weak_from_this();
  if (options_.port) {
    own_http_ = true;
    if (!http_) http_ = http::create_server();  // ws::create_server(o, tls) gave an https one
    // A plain HTTP request to a WebSocket-only server: 426, as ws's internal server.
    request_id_ = http_.add_listener(
        "request", [](const http::incoming_message&, const http::server_response& res) {
          res.write_head(426, {{"Content-Type", "text/plain"}});
          res.end("Upgrade Required");
        });
  } else {
    http_ = options_.server;
  }
  upgrade_id_ = http_.add_listener("upgrade", [weak](const http::incoming_message& req,
                                                     const net::socket& sock, const buffer& head) {
    auto self = weak.lock();
    if (!self) return ws_refuse(sock, 503);
    if (auto ws = self->accept(req, sock)) {
      self->emit_event<"connection">(ws::socket(ws), req);
      ws->start(head);
    }
  });
  listening_id_ = http_.add_listener("listening", [weak] {
    if (auto self = weak.lock()) self->emit_event<"listening">();
  });
  error_id_ = http_.add_listener("error", [weak](std::error_code ec) {
    if (auto self = weak.lock(); self && self->count_of<"error">() > 0)
      self->emit_event<"error">(ec);
  });
  // The http server closed (its shutdown, or ours): so is this one; its listeners go, which
  // breaks the cycles of handles they capture.
  close_id_ = http_.add_listener("close", [weak] {
    auto self = weak.lock();
    if (!self || self->closed_) return;
    self->closed_ = true;
    self->emit_event<"close">();
    self->clear_all();
  });
  if (options_.port) http_.listen(*options_.port, options_.host, options_.backlog);
}

NETCO_DECL void ws_server_state::close() {
  if (closed_) return;
  closed_ = true;
  auto self = shared_from_this();
  if (http_) {
    http_.off("upgrade", upgrade_id_);
    http_.off("listening", listening_id_);
    http_.off("error", error_id_);
    http_.off("close", close_id_);
  }
  if (own_http_ && http_.listening()) {
    // NOTE: open WebSocket connections keep the http server's count up, so its "close" would
    // wait for them; ws's close() does not wait, so neither does this one.
    http_.close();
  }
  defer(loop::current(), [self] {
    self->emit_event<"close">();
    self->clear_all();
  });
}

}  // namespace netco::detail

namespace netco::ws {

NETCO_DECL server create_server(const server_options& options) {
  auto s = std::make_shared<netco::detail::ws_server_state>(options);
  s->start();
  return server(std::move(s));
}

NETCO_DECL task<stream> accept(const http::incoming_message& req, const net::socket& sock,
                               const buffer& head, const server_options& options) {
  // NOTE: not a coroutine itself (see ws::connect): the handshake is answered now.
  auto ws = netco::detail::ws_handshake(req, sock, options, nullptr);
  if (ws) {
    ws->pull_ = true;
    ws->start(head);
  }
  return netco::detail::ws_socket_state::open_stream(std::move(ws));
}

}  // namespace netco::ws
