// netco/ws/error.hpp: netco::ws::errc, the WebSocket failures, each with its close code
#pragma once
#include <cstdint>       // uint16_t
#include <string>        // string (error_category::message)
#include <system_error>  // error_category, error_code, is_error_code_enum

namespace netco::ws {

/// Why a WebSocket connection failed or a handshake value was refused. Frame-level messages end
/// with the npm `ws` package's err.code for the same failure; close_code() gives the status
/// code the failing endpoint sends (RFC 6455 §7.4.1).
enum class errc {
  invalid_utf8 = 1,                 ///< text or close reason not UTF-8 (1007)
  expected_mask,                    ///< a server got an unmasked frame (1002)
  unexpected_mask,                  ///< a client got a masked frame (1002)
  expected_fin,                     ///< a fragmented control frame (1002)
  unexpected_rsv_1,                 ///< RSV1 without permessage-deflate, on a control or
                                    ///< continuation frame (1002)
  unexpected_rsv_2_3,               ///< RSV2 or RSV3 set (1002)
  invalid_opcode,                   ///< a reserved opcode (1002)
  unexpected_continuation,          ///< a continuation frame with no message started (1002)
  expected_continuation,            ///< a text/binary frame inside a fragmented message (1002)
  invalid_control_payload_length,   ///< a control frame over 125 bytes (1002)
  invalid_close_payload_length,     ///< a close frame with a 1-byte payload (1002)
  invalid_close_code,               ///< a close code that may not be sent (1002)
  unsupported_data_payload_length,  ///< a 64-bit length with its top bit set (1009)
  message_too_big,                  ///< a message past max_payload, on the wire or inflated (1009)
  too_many_fragments,               ///< a message in more frames than max_fragments (1008)
  invalid_compressed_data,          ///< permessage-deflate data zlib cannot inflate (1007)
  close_reason_too_long,            ///< sending: a close reason over 123 bytes (1002)
  invalid_key,                      ///< handshake: Sec-WebSocket-Key is not 16 bytes in base64
  invalid_accept,                   ///< handshake: Sec-WebSocket-Accept does not match the key
  invalid_protocol_header,          ///< handshake: malformed Sec-WebSocket-Protocol
  invalid_extensions_header,        ///< handshake: malformed Sec-WebSocket-Extensions
  unexpected_extension_response,    ///< handshake: the server's extension answer breaks the
                                    ///< offer (a parameter not allowed, a value out of range)
  // The I/O layer (netco/ws/socket.hpp, server.hpp).
  unexpected_response,  ///< client: the server answered the upgrade with another status
  invalid_upgrade,      ///< client: a 101 without Upgrade: websocket / Connection: upgrade
  invalid_subprotocol,  ///< client: the server chose a subprotocol that was not offered
  invalid_url,          ///< client: the URL does not parse, or has a fragment
  unsupported_scheme,   ///< client: not ws:// or wss:// (wss:// needs netco/ws/wss.hpp)
  not_open,             ///< sending while the socket is not OPEN
  closed_before_open,   ///< close() or terminate() while CONNECTING
  handshake_timeout,    ///< client: no answer to the upgrade within handshake_timeout
};

}  // namespace netco::ws

namespace netco::detail {
class ws_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "netco.ws"; }
  std::string message(int value) const override {
    switch (static_cast<ws::errc>(value)) {
      case ws::errc::invalid_utf8:
        return "invalid UTF-8 sequence [WS_ERR_INVALID_UTF8]";
      case ws::errc::expected_mask:
        return "MASK must be set [WS_ERR_EXPECTED_MASK]";
      case ws::errc::unexpected_mask:
        return "MASK must be clear [WS_ERR_UNEXPECTED_MASK]";
      case ws::errc::expected_fin:
        return "FIN must be set [WS_ERR_EXPECTED_FIN]";
      case ws::errc::unexpected_rsv_1:
        return "RSV1 must be clear [WS_ERR_UNEXPECTED_RSV_1]";
      case ws::errc::unexpected_rsv_2_3:
        return "RSV2 and RSV3 must be clear [WS_ERR_UNEXPECTED_RSV_2_3]";
      case ws::errc::invalid_opcode:
        return "invalid opcode [WS_ERR_INVALID_OPCODE]";
      case ws::errc::unexpected_continuation:
        return "continuation frame without a message [WS_ERR_INVALID_OPCODE]";
      case ws::errc::expected_continuation:
        return "data frame inside a fragmented message [WS_ERR_INVALID_OPCODE]";
      case ws::errc::invalid_control_payload_length:
        return "control frame payload over 125 bytes [WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH]";
      case ws::errc::invalid_close_payload_length:
        return "close frame payload of 1 byte [WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH]";
      case ws::errc::invalid_close_code:
        return "invalid status code [WS_ERR_INVALID_CLOSE_CODE]";
      case ws::errc::unsupported_data_payload_length:
        return "payload length with the most significant bit set "
               "[WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH]";
      case ws::errc::message_too_big:
        return "Max payload size exceeded [WS_ERR_UNSUPPORTED_MESSAGE_LENGTH]";
      case ws::errc::too_many_fragments:
        return "Too many message fragments [WS_ERR_TOO_MANY_BUFFERED_PARTS]";
      case ws::errc::invalid_compressed_data:
        return "invalid compressed data [Z_DATA_ERROR]";
      case ws::errc::close_reason_too_long:
        return "close reason over 123 bytes";
      case ws::errc::invalid_key:
        return "Invalid Sec-WebSocket-Key header";
      case ws::errc::invalid_accept:
        return "Invalid Sec-WebSocket-Accept header";
      case ws::errc::invalid_protocol_header:
        return "Invalid Sec-WebSocket-Protocol header";
      case ws::errc::invalid_extensions_header:
        return "Invalid Sec-WebSocket-Extensions header";
      case ws::errc::unexpected_extension_response:
        return "Server sent an unacceptable Sec-WebSocket-Extensions header";
      case ws::errc::unexpected_response:
        return "Unexpected server response";
      case ws::errc::invalid_upgrade:
        return "Invalid Upgrade header";
      case ws::errc::invalid_subprotocol:
        return "Server sent an invalid subprotocol";
      case ws::errc::invalid_url:
        return "Invalid URL [ERR_INVALID_URL]";
      case ws::errc::unsupported_scheme:
        return "The URL's protocol must be \"ws:\" or \"wss:\" (wss: needs netco/ws/wss.hpp) "
               "[ERR_INVALID_URL_SCHEME]";
      case ws::errc::not_open:
        return "WebSocket is not open";
      case ws::errc::closed_before_open:
        return "WebSocket was closed before the connection was established";
      case ws::errc::handshake_timeout:
        return "Opening handshake has timed out";
    }
    return "unknown WebSocket error";
  }
};
}  // namespace netco::detail

namespace netco::ws {

/// The category of errc ("netco.ws").
inline const std::error_category& ws_category() noexcept {
  static const netco::detail::ws_category_impl category;
  return category;
}

/// Makes errc usable as a std::error_code.
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), ws_category()};
}

/// Close status codes of RFC 6455 §7.4.1 that netco sends.
namespace close_status {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t unsupported_data = 1003;
inline constexpr std::uint16_t no_status = 1005;  ///< never on the wire: a close without a code
inline constexpr std::uint16_t abnormal = 1006;   ///< never on the wire: no close frame at all
inline constexpr std::uint16_t invalid_payload = 1007;
inline constexpr std::uint16_t policy_violation = 1008;
inline constexpr std::uint16_t message_too_big = 1009;
inline constexpr std::uint16_t internal_error = 1011;
}  // namespace close_status

/// The status code an endpoint sends when e fails its connection: 1007 for bad data, 1009 for
/// sizes, 1008 for the fragment cap, 1002 for the rest (handshake errors are answered by HTTP).
constexpr std::uint16_t close_code(errc e) noexcept {
  switch (e) {
    case errc::invalid_utf8:
    case errc::invalid_compressed_data:
      return close_status::invalid_payload;
    case errc::unsupported_data_payload_length:
    case errc::message_too_big:
      return close_status::message_too_big;
    case errc::too_many_fragments:
      return close_status::policy_violation;
    default:
      return close_status::protocol_error;
  }
}

/// Whether a close frame may carry code (RFC 6455 §7.4, as ws checks it): 1000-1003,
/// 1007-1014 and 3000-4999. 1004-1006, 1015 and everything else fail the connection.
constexpr bool is_valid_close_code(std::uint32_t code) noexcept {
  return (code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006) ||
         (code >= 3000 && code <= 4999);
}

}  // namespace netco::ws

template <>
struct std::is_error_code_enum<netco::ws::errc> : std::true_type {};
