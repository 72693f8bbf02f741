// tests/test_tls_error.cpp: the netco.tls category: netco's own codes, verification results and
// OpenSSL's queued errors, each message with Node's code
#include "netco/tls/error.hpp"

#include <doctest/doctest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <cerrno>
#include <ostream>  // doctest prints error_codes
#include <string>
#include <system_error>

using netco::tls::errc;
using netco::tls::node_code;

namespace {
bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}
}  // namespace

TEST_CASE("netco's own codes: messages end with Node's code") {
  std::error_code ec = errc::cert_altname_invalid;
  CHECK(ec.category().name() == std::string("netco.tls"));
  CHECK(ec.message() ==
        "Hostname/IP does not match certificate's altnames [ERR_TLS_CERT_ALTNAME_INVALID]");
  CHECK(node_code(ec) == "ERR_TLS_CERT_ALTNAME_INVALID");
  CHECK(node_code(errc::invalid_protocol_version) == "ERR_TLS_INVALID_PROTOCOL_VERSION");
  CHECK(node_code(errc::protocol_version_conflict) == "ERR_TLS_PROTOCOL_VERSION_CONFLICT");
  CHECK(node_code(errc::handshake_timeout) == "ERR_TLS_HANDSHAKE_TIMEOUT");
  CHECK(node_code(errc::not_connected) == "ERR_TLS_INVALID_STATE");
  CHECK(node_code(errc::invalid_ticket_keys) == "ERR_INVALID_ARG_VALUE");
  CHECK(node_code(errc::invalid_session).empty());  // Node has none
  for (errc e : {errc::invalid_protocol_version, errc::protocol_version_conflict,
                 errc::invalid_ticket_keys, errc::handshake_timeout, errc::not_connected}) {
    std::error_code c = e;
    CHECK(ends_with(c.message(), "[" + node_code(c) + "]"));
  }
  CHECK_FALSE(std::error_code(errc::tls_failure).message().empty());
  CHECK(std::error_code(static_cast<int>(999), netco::tls::tls_category()).message() ==
        "unknown netco.tls error");
}

TEST_CASE("verification results: OpenSSL's text, Node's authorizationError code") {
  CHECK_FALSE(netco::tls::make_verify_error(X509_V_OK));
  std::error_code expired = netco::tls::make_verify_error(X509_V_ERR_CERT_HAS_EXPIRED);
  CHECK(expired == errc::cert_has_expired);
  CHECK(expired.message() == "certificate has expired [CERT_HAS_EXPIRED]");
  CHECK(node_code(expired) == "CERT_HAS_EXPIRED");
  CHECK(netco::tls::is_verify_error(expired));

  CHECK(node_code(netco::tls::make_verify_error(X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT)) ==
        "DEPTH_ZERO_SELF_SIGNED_CERT");
  CHECK(netco::tls::make_verify_error(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY).message() ==
        "unable to get local issuer certificate [UNABLE_TO_GET_ISSUER_CERT_LOCALLY]");
  CHECK(node_code(netco::tls::make_verify_error(X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE)) ==
        "UNABLE_TO_VERIFY_LEAF_SIGNATURE");
  CHECK(node_code(netco::tls::make_verify_error(X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN)) ==
        "SELF_SIGNED_CERT_IN_CHAIN");
  CHECK(node_code(netco::tls::make_verify_error(X509_V_ERR_CERT_NOT_YET_VALID)) ==
        "CERT_NOT_YET_VALID");

  // A host or IP mismatch is Node's ERR_TLS_CERT_ALTNAME_INVALID, still a verify error.
  for (long code : {long{X509_V_ERR_HOSTNAME_MISMATCH}, long{X509_V_ERR_IP_ADDRESS_MISMATCH}}) {
    std::error_code ec = netco::tls::make_verify_error(code);
    CHECK(ec == errc::cert_altname_invalid);
    CHECK(netco::tls::is_verify_error(ec));
  }
  // Codes Node does not list are UNSPECIFIED, as Node; out of range too.
  CHECK(node_code(netco::tls::make_verify_error(X509_V_ERR_PROXY_CERTIFICATES_NOT_ALLOWED)) ==
        "UNSPECIFIED");
  CHECK(node_code(netco::tls::make_verify_error(5000)) == "UNSPECIFIED");
  CHECK(node_code(netco::tls::make_verify_error(-3)) == "UNSPECIFIED");
  CHECK_FALSE(netco::tls::is_verify_error(errc::not_connected));
  CHECK_FALSE(netco::tls::is_verify_error(std::make_error_code(std::errc::timed_out)));
}

TEST_CASE("OpenSSL's queued errors: the reason, then Node's ERR_SSL_ / ERR_OSSL_ code") {
  std::error_code http =
      netco::tls::make_openssl_error(ERR_PACK(ERR_LIB_SSL, 0, SSL_R_HTTP_REQUEST));
  CHECK(http.category() == netco::tls::tls_category());
  CHECK(http.message() == "http request [ERR_SSL_HTTP_REQUEST]");
  CHECK(node_code(http) == "ERR_SSL_HTTP_REQUEST");
  CHECK_FALSE(netco::tls::is_verify_error(http));
  CHECK(node_code(netco::tls::make_openssl_error(ERR_PACK(
            ERR_LIB_SSL, 0, SSL_R_WRONG_VERSION_NUMBER))) == "ERR_SSL_WRONG_VERSION_NUMBER");
  CHECK(node_code(netco::tls::make_openssl_error(ERR_PACK(ERR_LIB_PEM, 0, PEM_R_NO_START_LINE))) ==
        "ERR_OSSL_PEM_NO_START_LINE");
  // Libraries OpenSSL 3 added have no name of their own in Node's codes.
  CHECK(node_code(netco::tls::make_openssl_error(
            ERR_PACK(ERR_LIB_OSSL_DECODER, 0, ERR_R_UNSUPPORTED))) == "ERR_OSSL_UNSUPPORTED");
  CHECK_FALSE(netco::tls::make_openssl_error(0));
  CHECK(netco::tls::make_openssl_error(ERR_PACK(0, 0, 1)) == errc::tls_failure);

  // What OpenSSL raises itself, taken from the queue.
  ERR_clear_error();
  ERR_raise(ERR_LIB_SYS, ECONNRESET);
  std::error_code sys = netco::tls::make_openssl_error(ERR_get_error());
  CHECK(sys == std::error_code(ECONNRESET, std::system_category()));  // errno stays errno
  CHECK(node_code(sys).empty());

  ERR_raise(ERR_LIB_SSL, SSL_R_UNEXPECTED_EOF_WHILE_READING);
  std::error_code eof = netco::tls::make_openssl_error(ERR_get_error());
  CHECK(eof.message() == "unexpected eof while reading [ERR_SSL_UNEXPECTED_EOF_WHILE_READING]");
  ERR_clear_error();
}

TEST_CASE("errc is an error_code enum: comparisons and system_error") {
  std::error_code ec = errc::handshake_timeout;
  CHECK(ec == errc::handshake_timeout);
  CHECK(ec != errc::not_connected);
  std::system_error e(errc::cert_has_expired, "connect");
  CHECK(std::string(e.what()).find("[CERT_HAS_EXPIRED]") != std::string::npos);
}
