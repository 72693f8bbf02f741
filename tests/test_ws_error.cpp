// tests/test_ws_error.cpp: netco::ws::errc: messages with ws's codes, close codes, close-code
// validity
#include "netco/ws/error.hpp"

#include <doctest/doctest.h>

#include <ostream>  // doctest prints error_codes
#include <string>
#include <system_error>

using netco::ws::errc;

TEST_CASE("errc converts to std::error_code in the netco.ws category") {
  std::error_code ec = errc::invalid_utf8;
  CHECK(ec.category().name() == std::string("netco.ws"));
  CHECK(ec.message() == "invalid UTF-8 sequence [WS_ERR_INVALID_UTF8]");
  CHECK(ec == errc::invalid_utf8);
  CHECK(ec != errc::expected_mask);
  CHECK(std::error_code(errc::expected_mask).message() ==
        "MASK must be set [WS_ERR_EXPECTED_MASK]");
  CHECK(std::error_code(errc::message_too_big).message() ==
        "Max payload size exceeded [WS_ERR_UNSUPPORTED_MESSAGE_LENGTH]");
}

TEST_CASE("every frame-level errc names a ws code, and every errc has a message") {
  for (int v = static_cast<int>(errc::invalid_utf8);
       v <= static_cast<int>(errc::unexpected_extension_response); ++v) {
    const std::string m = std::error_code(v, netco::ws::ws_category()).message();
    CAPTURE(v);
    CHECK(m != "unknown WebSocket error");
    if (v <= static_cast<int>(errc::too_many_fragments))
      CHECK(m.find("[WS_ERR_") != std::string::npos);
  }
  CHECK(std::error_code(999, netco::ws::ws_category()).message() == "unknown WebSocket error");
}

TEST_CASE("close codes: 1007 for bad data, 1009 for sizes, 1008 for the fragment cap, else 1002") {
  using netco::ws::close_code;
  CHECK(close_code(errc::invalid_utf8) == 1007);
  CHECK(close_code(errc::invalid_compressed_data) == 1007);
  CHECK(close_code(errc::message_too_big) == 1009);
  CHECK(close_code(errc::unsupported_data_payload_length) == 1009);
  CHECK(close_code(errc::too_many_fragments) == 1008);
  for (errc e :
       {errc::expected_mask, errc::unexpected_mask, errc::expected_fin, errc::unexpected_rsv_1,
        errc::unexpected_rsv_2_3, errc::invalid_opcode, errc::unexpected_continuation,
        errc::expected_continuation, errc::invalid_control_payload_length,
        errc::invalid_close_payload_length, errc::invalid_close_code})
    CHECK(close_code(e) == 1002);
}

TEST_CASE("valid close codes: 1000-1003, 1007-1014, 3000-4999") {
  using netco::ws::is_valid_close_code;
  for (unsigned c : {1000u, 1001u, 1002u, 1003u, 1007u, 1008u, 1009u, 1010u, 1011u, 1012u, 1013u,
                     1014u, 3000u, 3999u, 4000u, 4999u})
    CHECK_MESSAGE(is_valid_close_code(c), c);
  for (unsigned c : {0u, 1u, 999u, 1004u, 1005u, 1006u, 1015u, 1016u, 1100u, 2000u, 2999u, 5000u,
                     65535u, 65536u})
    CHECK_MESSAGE(!is_valid_close_code(c), c);
}
