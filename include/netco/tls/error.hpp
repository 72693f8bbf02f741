// netco/tls/error.hpp: the netco.tls error category (netco's TLS failures, certificate
// verification results and OpenSSL's queued errors), each message ending with Node's code
#pragma once
#include <string>        // string (messages, Node codes)
#include <system_error>  // error_category, error_code, is_error_code_enum

#include "netco/detail/decl.hpp"

namespace netco::tls {

/// netco's TLS failures and the certificate verification results Node names. One category,
/// three ranges: netco's own (below 1000), verification (1000 + OpenSSL's X509_V_ERR_* code) and
/// OpenSSL's packed error codes (ERR_get_error(), 2^23 and up), so none is lost in translation.
enum class errc {
  cert_altname_invalid = 1,   ///< the host is not in the certificate [ERR_TLS_CERT_ALTNAME_INVALID]
  invalid_protocol_version,   ///< not "TLSv1".."TLSv1.3" [ERR_TLS_INVALID_PROTOCOL_VERSION]
  protocol_version_conflict,  ///< min_version above max_version [ERR_TLS_PROTOCOL_VERSION_CONFLICT]
  invalid_ticket_keys,        ///< ticket keys that are not 48 bytes [ERR_INVALID_ARG_VALUE]
  invalid_session,            ///< a session to resume that does not parse (no Node code)
  handshake_timeout,  ///< no handshake in time (the stream layer's) [ERR_TLS_HANDSHAKE_TIMEOUT]
  not_connected,      ///< application data before the handshake [ERR_TLS_INVALID_STATE]
  tls_failure,        ///< OpenSSL failed and queued no reason (no Node code)

  // Certificate verification (1000 + X509_V_ERR_*); Node's authorizationError strings.
  unable_to_get_issuer_cert = 1002,          ///< UNABLE_TO_GET_ISSUER_CERT
  cert_signature_failure = 1007,             ///< CERT_SIGNATURE_FAILURE
  cert_not_yet_valid = 1009,                 ///< CERT_NOT_YET_VALID
  cert_has_expired = 1010,                   ///< CERT_HAS_EXPIRED
  depth_zero_self_signed_cert = 1018,        ///< DEPTH_ZERO_SELF_SIGNED_CERT
  self_signed_cert_in_chain = 1019,          ///< SELF_SIGNED_CERT_IN_CHAIN
  unable_to_get_issuer_cert_locally = 1020,  ///< UNABLE_TO_GET_ISSUER_CERT_LOCALLY
  unable_to_verify_leaf_signature = 1021,    ///< UNABLE_TO_VERIFY_LEAF_SIGNATURE
  cert_chain_too_long = 1022,                ///< CERT_CHAIN_TOO_LONG
  cert_revoked = 1023,                       ///< CERT_REVOKED
  invalid_purpose = 1026,                    ///< INVALID_PURPOSE
  cert_untrusted = 1027,                     ///< CERT_UNTRUSTED
  cert_rejected = 1028,                      ///< CERT_REJECTED
};

/// The netco.tls category. Node: err.code is node_code(ec), err.message is ec.message().
NETCO_DECL const std::error_category& tls_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), tls_category()};
}

/// A certificate verification result (OpenSSL's X509_V_ERR_* code) as an error_code;
/// X509_V_OK is no error, a host or IP mismatch is errc::cert_altname_invalid.
NETCO_DECL std::error_code make_verify_error(long x509_v_err) noexcept;

/// An OpenSSL error-queue entry (ERR_get_error()) as an error_code: its message is OpenSSL's
/// reason ("wrong version number [ERR_SSL_WRONG_VERSION_NUMBER]"); a system error stays errno.
NETCO_DECL std::error_code make_openssl_error(unsigned long err) noexcept;

/// Node's code for ec ("DEPTH_ZERO_SELF_SIGNED_CERT", "ERR_SSL_HTTP_REQUEST" ...), empty for an
/// error of another category. Node: err.code, tlsSocket.authorizationError
NETCO_DECL std::string node_code(const std::error_code& ec);

/// True for a certificate verification failure (a chain, validity or host check).
NETCO_DECL bool is_verify_error(const std::error_code& ec) noexcept;

}  // namespace netco::tls

template <>
struct std::is_error_code_enum<netco::tls::errc> : std::true_type {};

#if !defined(NETCO_SEPARATE_COMPILATION)
#include "netco/impl/tls_error.ipp"
#endif
