// netco/http/agent.hpp: http::agent, the pool of kept-alive client connections (Node's
// http.Agent), over net::socket
#pragma once
#include <coroutine>    // coroutine_handle: requests waiting for a free slot
#include <cstddef>      // size_t
#include <cstdint>      // uint16_t
#include <memory>       // shared_ptr, weak_ptr
#include <string>       // string
#include <string_view>  // string_view
#include <utility>      // pair
#include <vector>       // vector

#include "netco/buffer.hpp"
#include "netco/detail/decl.hpp"
#include "netco/loop.hpp"
#include "netco/net/socket.hpp"
#include "netco/task.hpp"

namespace netco::http {

/// Node: new http.Agent(options). keep_alive: finished connections wait in the pool for the
/// next request to the same host:port (Node 20's global agent keeps them too).
struct agent_options {
  bool keep_alive = true;
  std::size_t max_sockets = static_cast<std::size_t>(-1);  ///< per host:port, in use at once
  std::size_t max_free_sockets = 256;                      ///< per host:port, idle in the pool
};

}  // namespace netco::http

namespace netco::detail {

/// The connections to one host:port: those idle in the pool, how many are in use, and the
/// requests waiting for one (max_sockets).
struct agent_pool {
  std::vector<std::shared_ptr<socket_state>> free;
  std::size_t active = 0;
  std::vector<std::coroutine_handle<>> waiting;
};

/// What an idle pooled connection runs: it reads on (without keeping the loop alive, as Node
/// unrefs free sockets) only to see the server close it, or break the protocol by sending
/// something nobody asked for; either way it leaves the pool.
class idle_connection final : public socket_protocol {
 public:
  idle_connection(std::weak_ptr<agent_pool> pool, socket_state* socket) noexcept
      : pool_(std::move(pool)), socket_(socket) {}
  void on_data(const buffer&) override { socket_->destroy({}); }
  void on_end() override { socket_->destroy({}); }
  NETCO_DECL void on_close(std::error_code ec) override;
  void on_loop_gone() noexcept override { on_close({}); }

 private:
  std::weak_ptr<agent_pool> pool_;
  socket_state* socket_;
};

}  // namespace netco::detail

namespace netco::http {

/// Keeps connections for reuse (Node: http.Agent). Use one per thread; requests name it in
/// request_options::agent, or use global_agent().
class agent {
 public:
  explicit agent(agent_options o = {}) : options_(o) {}
  agent(const agent&) = delete;
  agent& operator=(const agent&) = delete;
  virtual ~agent() = default;

  /// The scheme of the connections it makes: "http:" (https::agent: "https:"). Node: protocol
  virtual std::string_view protocol() const noexcept { return "http:"; }

  /// Node: agent.freeSockets[name].length
  NETCO_DECL std::size_t free_sockets(std::string_view host, std::uint16_t port);
  /// Node: agent.sockets[name].length
  NETCO_DECL std::size_t sockets(std::string_view host, std::uint16_t port);
  agent_options& options() noexcept { return options_; }
  /// Closes the idle connections. Node: agent.destroy()
  NETCO_DECL void destroy();

  /// A connection to host:port: an idle one of this loop, or a new one (waiting while
  /// max_sockets are in use). Throws std::system_error if connecting fails.
  NETCO_DECL task<net::socket> acquire(std::string host, std::uint16_t port);
  /// Gives a connection back: pooled when reusable and keep_alive, else closed. A dead one
  /// only frees its slot.
  NETCO_DECL void release(std::string_view host, std::uint16_t port, const net::socket& s,
                          bool reusable);

 protected:
  /// A new connection to host:port, connecting: acquire() waits for its "connect" or "error".
  /// A plain TCP socket here; https::agent makes TLS ones ("connect" once secure).
  NETCO_DECL virtual net::socket create_connection(std::string host, std::uint16_t port);

 private:
  static std::string key(std::string_view host, std::uint16_t port);
  std::shared_ptr<detail::agent_pool> pool_for(const std::string& k);
  static void release_slot(detail::agent_pool& p);

  agent_options options_;
  std::vector<std::pair<std::string, std::shared_ptr<detail::agent_pool>>> pools_;
};

/// This thread's default agent (keep-alive on). Node: http.globalAgent
NETCO_DECL agent& global_agent();

}  // namespace netco::http

namespace netco::detail {
/// https::global_agent, once netco/https.hpp is included: what a request to an https: URL
/// without an agent uses (none: the request fails with unsupported_protocol).
inline netco::http::agent& (*https_global_agent)() = nullptr;
}  // namespace netco::detail

namespace netco::http {}  // namespace netco::http

#if !defined(NETCO_SEPARATE_COMPILATION)
#include "netco/impl/http_agent.ipp"
#endif
