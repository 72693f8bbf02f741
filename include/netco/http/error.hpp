// netco/http/error.hpp: http::error, the HTTP server's and client's own failures
#pragma once
#include <string>        // string: error_category::message
#include <system_error>  // error_category, error_code, is_error_code_enum

namespace netco::http {

/// HTTP-level failures of the server and client; each message ends with Node's code.
enum class error {
  invalid_char = 1,     ///< CR, LF or NUL in a header name or value [ERR_INVALID_CHAR]
  headers_sent,         ///< a header change after the head went out [ERR_HTTP_HEADERS_SENT]
  write_after_end,      ///< write() after end() [ERR_STREAM_WRITE_AFTER_END]
  invalid_status_code,  ///< a status outside 100-999 [ERR_HTTP_INVALID_STATUS_CODE]
  body_too_large,       ///< body(limit): the body is larger than the limit [ERR_BODY_TOO_LARGE]
  missing_host,         ///< an HTTP/1.1 request without Host [HPE_STRICT]
  socket_hang_up,       ///< the connection ended before the response [ECONNRESET]
  aborted,              ///< the peer went away mid-message [ECONNRESET]
  request_timeout,      ///< the head or body took too long [ERR_HTTP_REQUEST_TIMEOUT]
  invalid_url,          ///< not an http:// URL [ERR_INVALID_URL]
  unsupported_protocol  ///< https: or another scheme [ERR_INVALID_PROTOCOL]
};

}  // namespace netco::http

namespace netco::detail {
class http_error_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "netco.http.server"; }
  std::string message(int value) const override {
    switch (static_cast<http::error>(value)) {
      using http::error;
      case error::invalid_char:
        return "invalid character in header content [ERR_INVALID_CHAR]";
      case error::headers_sent:
        return "cannot set headers after they are sent to the client [ERR_HTTP_HEADERS_SENT]";
      case error::write_after_end:
        return "write after end [ERR_STREAM_WRITE_AFTER_END]";
      case error::invalid_status_code:
        return "invalid status code [ERR_HTTP_INVALID_STATUS_CODE]";
      case error::body_too_large:
        return "request body larger than the limit [ERR_BODY_TOO_LARGE]";
      case error::missing_host:
        return "HTTP/1.1 request without a Host header [HPE_STRICT]";
      case error::socket_hang_up:
        return "socket hang up [ECONNRESET]";
      case error::aborted:
        return "aborted [ECONNRESET]";
      case error::request_timeout:
        return "request timeout [ERR_HTTP_REQUEST_TIMEOUT]";
      case error::invalid_url:
        return "invalid URL [ERR_INVALID_URL]";
      case error::unsupported_protocol:
        return "protocol not supported, expected \"http:\" [ERR_INVALID_PROTOCOL]";
    }
    return "unknown HTTP error";
  }
};
}  // namespace netco::detail

namespace netco::http {

/// The category of http::error.
inline const std::error_category& error_category() noexcept {
  static const netco::detail::http_error_category category;
  return category;
}
inline std::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace netco::http

template <>
struct std::is_error_code_enum<netco::http::error> : std::true_type {};
