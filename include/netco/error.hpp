// netco/error.hpp: netco's own error codes; each message ends with Node's code for the same failure
#pragma once
#include <cstdint>       // uint16_t
#include <string>        // string
#include <system_error>  // error_category, error_code, is_error_code_enum

namespace netco {

/// netco's own failures. OS failures keep the OS's codes (std::system_category), so refused,
/// in use and reset stay distinguishable; timeouts and cancellation use std::errc.
enum class errc {
  write_after_end = 1,  ///< a write after end() [ERR_STREAM_WRITE_AFTER_END]
  socket_closed,        ///< an operation on a destroyed socket [ERR_SOCKET_CLOSED]
  queue_full,           ///< a bounded queue refused more work [ERR_WORKER_QUEUE_FULL]
  invalid_argument,     ///< an argument out of its domain [ERR_INVALID_ARG_VALUE]
  already_bound,        ///< a second bind() [ERR_SOCKET_ALREADY_BOUND]
  server_not_running,   ///< close() of a server that is not listening [ERR_SERVER_NOT_RUNNING]
  dgram_not_running,    ///< use of a closed UDP socket [ERR_SOCKET_DGRAM_NOT_RUNNING]
  dgram_is_connected,   ///< a second connect() [ERR_SOCKET_DGRAM_IS_CONNECTED]
  dgram_not_connected,  ///< not connected [ERR_SOCKET_DGRAM_NOT_CONNECTED]
  bad_port,             ///< a send with no port [ERR_SOCKET_BAD_PORT]
  data_needs_encoding,  ///< a std::string "data" listener, no set_encoding() [ERR_INVALID_ARG_TYPE]
};

/// What an "error" event tells besides the code: Node's err.syscall, err.address, err.port.
struct error_info {
  std::string syscall = {};  // "connect", "listen", "accept", "read", "write", "bind", "send"...
  std::string address = {};  // empty when no address applies
  std::uint16_t port = 0;
  /// Node's wording, e.g. "connect 127.0.0.1:8000", "connect /tmp/app.sock", "getaddrinfo
  /// db.internal" (std::system_error adds the OS message).
  std::string context() const {
    if (address.empty()) return syscall;
    if (port == 0) return syscall + " " + address;
    return syscall + " " + address + ":" + std::to_string(port);
  }
};

namespace detail {
class netco_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "netco"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::write_after_end:
        return "write after end [ERR_STREAM_WRITE_AFTER_END]";
      case errc::socket_closed:
        return "socket is closed [ERR_SOCKET_CLOSED]";
      case errc::queue_full:
        return "queue is full [ERR_WORKER_QUEUE_FULL]";
      case errc::invalid_argument:
        return "invalid argument [ERR_INVALID_ARG_VALUE]";
      case errc::already_bound:
        return "socket is already bound [ERR_SOCKET_ALREADY_BOUND]";
      case errc::server_not_running:
        return "server is not running [ERR_SERVER_NOT_RUNNING]";
      case errc::dgram_not_running:
        return "not running [ERR_SOCKET_DGRAM_NOT_RUNNING]";
      case errc::dgram_is_connected:
        return "already connected [ERR_SOCKET_DGRAM_IS_CONNECTED]";
      case errc::dgram_not_connected:
        return "not connected [ERR_SOCKET_DGRAM_NOT_CONNECTED]";
      case errc::bad_port:
        return "bad port [ERR_SOCKET_BAD_PORT]";
      case errc::data_needs_encoding:
        return "a std::string \"data\" listener needs text: call set_encoding(\"utf8\") first, or "
               "take netco::buffer or std::string_view [ERR_INVALID_ARG_TYPE]";
    }
    return "unknown netco error";
  }
};
}  // namespace detail

inline const std::error_category& netco_category() noexcept {
  static const detail::netco_category category;
  return category;
}

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), netco_category()};
}

}  // namespace netco

template <>
struct std::is_error_code_enum<netco::errc> : std::true_type {};
