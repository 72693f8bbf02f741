// netco/ws/handshake.hpp: the opening handshake's values (RFC 6455 §4): accept keys, SHA-1,
// base64, and the Sec-WebSocket-Protocol / Sec-WebSocket-Extensions header grammars
#pragma once
#include <array>         // array (a SHA-1 digest)
#include <cstddef>       // byte, size_t
#include <cstdint>       // uint8_t
#include <span>          // span
#include <string>        // string
#include <string_view>   // string_view
#include <system_error>  // error_code
#include <vector>        // vector (parsed lists)

#include "netco/detail/decl.hpp"
#include "netco/ws/error.hpp"

// These are pure functions over header values; the HTTP exchange itself is the http layer's.
// A malformed value is refused with an errc (the server answers 400), never repaired:
//  - lists may hold empty elements ("a, , b"), which are skipped (RFC 9110 §5.6.1);
//  - whitespace (SP, HTAB) may surround ",", ";" and "=" (the implied LWS of RFC 6455 §9.1);
//  - a quoted parameter value must unescape to a token (RFC 6455 §9.1);
//  - Sec-WebSocket-Protocol may not repeat a protocol (as ws refuses it).

namespace netco::ws {

/// The GUID that RFC 6455 §1.3 appends to Sec-WebSocket-Key.
inline constexpr std::string_view accept_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The SHA-1 digest of bytes (FIPS 180-4); for Sec-WebSocket-Accept only, not for security.
NETCO_DECL std::array<std::uint8_t, 20> sha1(std::span<const std::byte> bytes) noexcept;
NETCO_DECL std::array<std::uint8_t, 20> sha1(std::string_view text) noexcept;

/// Base64 (RFC 4648 §4) with padding.
NETCO_DECL std::string base64_encode(std::span<const std::byte> bytes);
/// Decodes padded, canonical base64 into out; false (out unspecified) when text is not that.
NETCO_DECL bool base64_decode(std::string_view text, std::string& out);

/// Sec-WebSocket-Accept for a key: base64(SHA-1(key + GUID)), 28 characters.
NETCO_DECL std::string accept_key(std::string_view key);

/// Whether key is a valid Sec-WebSocket-Key: 22 base64 characters and "==", i.e. 16 bytes
/// (ws's rule; the 4 unused bits of the last character are not checked).
NETCO_DECL bool is_valid_key(std::string_view key) noexcept;

/// A fresh Sec-WebSocket-Key: 16 bytes from std::random_device, in base64.
NETCO_DECL std::string generate_key();

/// Parses a Sec-WebSocket-Protocol value (1#token) into views of value; errc
/// invalid_protocol_header if it is malformed or repeats a protocol.
NETCO_DECL std::error_code parse_protocols(std::string_view value,
                                           std::vector<std::string_view>& out);
/// Joins protocols into a Sec-WebSocket-Protocol value ("a, b").
NETCO_DECL std::string format_protocols(std::span<const std::string_view> protocols);

/// One extension parameter; value is unquoted (empty with has_value false when absent).
struct extension_param {
  std::string name;
  std::string value = {};
  bool has_value = false;
};
/// One extension (offer or answer) of a Sec-WebSocket-Extensions list.
struct extension {
  std::string name;
  std::vector<extension_param> params = {};
  /// The first parameter called name (ASCII case-insensitive), or nullptr.
  NETCO_DECL const extension_param* find(std::string_view param) const noexcept;
};

/// Parses a Sec-WebSocket-Extensions value (RFC 6455 §9.1), appending its extensions to out in
/// order (offers for one extension may repeat); errc invalid_extensions_header if malformed.
NETCO_DECL std::error_code parse_extensions(std::string_view value, std::vector<extension>& out);
/// Formats extensions as a Sec-WebSocket-Extensions value, quoting no value (values are tokens).
NETCO_DECL std::string format_extensions(std::span<const extension> extensions);

/// ASCII case-insensitive equality, as HTTP compares tokens.
NETCO_DECL bool token_iequals(std::string_view a, std::string_view b) noexcept;

}  // namespace netco::ws

#if !defined(NETCO_SEPARATE_COMPILATION)
#include "netco/impl/ws_handshake.ipp"
#endif
