// netco/https.hpp: Node's https module: an HTTP server over TLS sockets, https::request/get
// over an https::agent that pools TLS connections and resumes their sessions
#pragma once
#include <chrono>       // milliseconds: the handshake timeout
#include <cstdint>      // uint16_t
#include <memory>       // shared_ptr
#include <string>       // string
#include <string_view>  // string_view
#include <type_traits>  // is_invocable_v, invoke_result_t
#include <utility>      // move, pair
#include <vector>       // vector: the session cache

#include "netco/buffer.hpp"
#include "netco/detail/decl.hpp"
#include "netco/http.hpp"
#include "netco/tls.hpp"

namespace netco::https {

/// Node: https.createServer(options): the TLS options and the HTTP ones.
struct server_options {
  tls::context_options tls = {};     ///< key, cert, ca, request_cert, ALPN, SNI, sessions...
  tls::secure_context context = {};  ///< used instead of a context made of tls when given
  std::chrono::milliseconds handshake_timeout{120000};  ///< Node: handshakeTimeout
  http::server_options http = {};
};

/// Node: new https.Agent(options): http::agent's, and what its TLS connections share.
struct agent_options {
  http::agent_options http = {};
  /// Trust, client certificate, versions; empty: the system roots (made once per process).
  tls::secure_context context = {};
  bool reject_unauthorized = true;        ///< false: accept any certificate (say so loudly)
  std::size_t max_cached_sessions = 100;  ///< sessions kept to resume, per agent (Node's)
};

}  // namespace netco::https

namespace netco::detail {

/// An http server whose accepted sockets are TLS sockets: each is handshaken (with the
/// timeout) and only then becomes an HTTP connection; a failure is "tlsClientError"(error_code,
/// net::socket). Loop thread only.
class https_server_state final : public http_server_state {
 public:
  NETCO_DECL https_server_state(loop& owner, const https::server_options& o);

  tls_server_side tls_;

 protected:
  NETCO_DECL std::shared_ptr<socket_state> make_connection(net_stream peer,
                                                           const socket_state::config& c) override;
  NETCO_DECL void on_connection(const std::shared_ptr<socket_state>& s) override;
};

/// Resumable sessions by host:port, shared with the sockets that bring new ones.
struct https_session_cache {
  std::vector<std::pair<std::string, buffer>> entries;  // oldest first
  std::size_t max = 100;
  NETCO_DECL buffer find(const std::string& key) const;
  NETCO_DECL void store(const std::string& key, buffer session);
};

}  // namespace netco::detail

namespace netco::https {

/// An HTTPS server: an http::server (the same events, options and methods) over TLS, with
/// "secureConnection"(tls::socket) and "tlsClientError"(error_code, net::socket) added.
/// Node: https.Server
class server : public http::server {
 public:
  server() = default;
  explicit server(std::shared_ptr<netco::detail::https_server_state> s) noexcept
      : http::server(std::move(s)) {}

  /// Node: server.addContext(hostname, context)
  const server& add_context(std::string hostname, const tls::secure_context& context) const {
    t().tls_.add_context(std::move(hostname), context);
    return *this;
  }
  /// Node: server.getTicketKeys()
  std::array<std::byte, 48> get_ticket_keys() const { return t().tls_.context.get_ticket_keys(); }
  /// Node: server.setTicketKeys(keys)
  const server& set_ticket_keys(std::span<const std::byte> keys) const {
    t().tls_.context.set_ticket_keys(keys);
    return *this;
  }

 private:
  netco::detail::https_server_state& t() const {
    return static_cast<netco::detail::https_server_state&>(s());
  }
};

/// Throws std::system_error for a key or certificate OpenSSL refuses.
/// Node: https.createServer(options)
NETCO_DECL server create_server(const server_options& options);
/// With a "request" listener: a function of (req, res) or a coroutine returning task<>, as
/// http::create_server's.
/// Node: https.createServer(options, requestListener)
template <class Fn>
requires std::is_invocable_v<Fn&, const http::incoming_message&, const http::server_response&>
    server create_server(const server_options& options, Fn&& request_listener) {
  server s = create_server(options);
  using result =
      std::invoke_result_t<Fn&, const http::incoming_message&, const http::server_response&>;
  s.on("request", [fn = std::forward<Fn>(request_listener)](
                      const http::incoming_message& req, const http::server_response& res) mutable {
    if constexpr (std::is_same_v<result, task<>>) {
      netco::spawn([](task<> t, http::server_response r) -> task<> {
        try {
          co_await std::move(t);
        } catch (...) {
          http::detail_create::answer_failed(r);
          throw;
        }
      }(fn(req, res), res));
    } else {
      fn(req, res);
    }
  });
  return s;
}

/// Pools TLS connections per host:port (as http::agent) and resumes sessions: a new
/// connection offers the last session the server gave for that host:port.
/// Node: https.Agent
class agent : public http::agent {
 public:
  NETCO_DECL explicit agent(agent_options o = {});
  std::string_view protocol() const noexcept override { return "https:"; }
  /// The sessions kept (Node: the agent's _sessionCache).
  std::size_t cached_sessions() const noexcept { return sessions_->entries.size(); }

 protected:
  NETCO_DECL net::socket create_connection(std::string host, std::uint16_t port) override;

 private:
  agent_options tls_options_;
  std::shared_ptr<netco::detail::https_session_cache> sessions_;
};

/// This thread's default https agent: what requests to https: URLs use.
/// Node: https.globalAgent
NETCO_DECL agent& global_agent();

/// Node: https.request(options[, cb]): http::request with protocol "https:" (a port left at
/// 80 becomes 443) over https::global_agent() unless options name an agent.
NETCO_DECL http::client_request request(http::request_options options);
inline http::client_request request(std::string_view url) {
  return https::request(http::parse_url(url));
}
template <class Fn>
requires std::is_invocable_v<Fn&, const http::incoming_message&> http::client_request request(
    http::request_options options, Fn&& on_response) {
  http::client_request r = https::request(std::move(options));
  r.once("response", [fn = std::forward<Fn>(on_response)](
                         const http::incoming_message& res) mutable { fn(res); });
  return r;
}
/// Node: https.get(url[, cb])
template <class Fn>
requires std::is_invocable_v<Fn&, const http::incoming_message&> http::client_request get(
    std::string_view url, Fn&& on_response) {
  http::client_request r = https::request(http::parse_url(url), std::forward<Fn>(on_response));
  r.end();
  return r;
}

}  // namespace netco::https

#if !defined(NETCO_SEPARATE_COMPILATION)
#include "netco/impl/https.ipp"
#endif
