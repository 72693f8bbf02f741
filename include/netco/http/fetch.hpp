// netco/http/fetch.hpp: co_await http::fetch(url), the coroutine-style client (Node's fetch)
#pragma once
#include <string>   // string
#include <utility>  // pair
#include <vector>   // vector

#include "netco/detail/decl.hpp"
#include "netco/http/agent.hpp"
#include "netco/http/client.hpp"
#include "netco/http/headers.hpp"
#include "netco/task.hpp"

namespace netco::http {

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
/// response (check res.status), as in Node's fetch. It is an http::request underneath: the
/// same agent, connections and parser.
NETCO_DECL task<fetch_response> fetch(std::string url, fetch_options options = {});

}  // namespace netco::http

#if !defined(NETCO_SEPARATE_COMPILATION)
#include "netco/impl/http_fetch.ipp"
#endif
