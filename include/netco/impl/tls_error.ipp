// netco/impl/tls_error.ipp: the out-of-line parts of netco/tls/error.hpp: inline in every
// translation unit when header-only, compiled once (by <netco/impl/src.hpp>) under
// NETCO_SEPARATE_COMPILATION
#pragma once
#include <openssl/err.h>       // ERR_GET_LIB, ERR_GET_REASON, ERR_reason_error_string
#include <openssl/ssl.h>       // OPENSSL_init_ssl (the reason strings)
#include <openssl/x509_vfy.h>  // X509_V_ERR_*, X509_verify_cert_error_string

#include <cctype>  // toupper, isalnum
#include <cstdio>  // snprintf

#include "netco/tls/error.hpp"

namespace netco::detail {

// The ranges of netco.tls's values (see tls::errc).
inline constexpr int tls_verify_base = 1000;
inline constexpr int tls_verify_end = 2000;
inline constexpr int tls_openssl_base = 1 << 23;  // ERR_PACK with a library of 1 or more

static_assert(static_cast<int>(tls::errc::cert_has_expired) ==
              tls_verify_base + X509_V_ERR_CERT_HAS_EXPIRED);
static_assert(static_cast<int>(tls::errc::depth_zero_self_signed_cert) ==
              tls_verify_base + X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
static_assert(static_cast<int>(tls::errc::unable_to_verify_leaf_signature) ==
              tls_verify_base + X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE);
static_assert(static_cast<int>(tls::errc::cert_rejected) ==
              tls_verify_base + X509_V_ERR_CERT_REJECTED);
static_assert(ERR_LIB_OFFSET == 23 && ERR_LIB_MASK == 0xFF, "packed codes must fit an int");

/// Node's name of a verification result: OpenSSL's X509_V_ERR_ name without its prefix, for
/// the codes Node lists; "UNSPECIFIED" for the rest, as Node.
NETCO_DECL const char* tls_verify_code_name(long code) noexcept {
  switch (code) {
#define NETCO_TLS_X509_NAME(name) \
  case X509_V_ERR_##name:         \
    return #name;
    NETCO_TLS_X509_NAME(UNABLE_TO_GET_ISSUER_CERT)
    NETCO_TLS_X509_NAME(UNABLE_TO_GET_CRL)
    NETCO_TLS_X509_NAME(UNABLE_TO_DECRYPT_CERT_SIGNATURE)
    NETCO_TLS_X509_NAME(UNABLE_TO_DECRYPT_CRL_SIGNATURE)
    NETCO_TLS_X509_NAME(UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY)
    NETCO_TLS_X509_NAME(CERT_SIGNATURE_FAILURE)
    NETCO_TLS_X509_NAME(CRL_SIGNATURE_FAILURE)
    NETCO_TLS_X509_NAME(CERT_NOT_YET_VALID)
    NETCO_TLS_X509_NAME(CERT_HAS_EXPIRED)
    NETCO_TLS_X509_NAME(CRL_NOT_YET_VALID)
    NETCO_TLS_X509_NAME(CRL_HAS_EXPIRED)
    NETCO_TLS_X509_NAME(ERROR_IN_CERT_NOT_BEFORE_FIELD)
    NETCO_TLS_X509_NAME(ERROR_IN_CERT_NOT_AFTER_FIELD)
    NETCO_TLS_X509_NAME(ERROR_IN_CRL_LAST_UPDATE_FIELD)
    NETCO_TLS_X509_NAME(ERROR_IN_CRL_NEXT_UPDATE_FIELD)
    NETCO_TLS_X509_NAME(OUT_OF_MEM)
    NETCO_TLS_X509_NAME(DEPTH_ZERO_SELF_SIGNED_CERT)
    NETCO_TLS_X509_NAME(SELF_SIGNED_CERT_IN_CHAIN)
    NETCO_TLS_X509_NAME(UNABLE_TO_GET_ISSUER_CERT_LOCALLY)
    NETCO_TLS_X509_NAME(UNABLE_TO_VERIFY_LEAF_SIGNATURE)
    NETCO_TLS_X509_NAME(CERT_CHAIN_TOO_LONG)
    NETCO_TLS_X509_NAME(CERT_REVOKED)
    NETCO_TLS_X509_NAME(INVALID_CA)
    NETCO_TLS_X509_NAME(PATH_LENGTH_EXCEEDED)
    NETCO_TLS_X509_NAME(INVALID_PURPOSE)
    NETCO_TLS_X509_NAME(CERT_UNTRUSTED)
    NETCO_TLS_X509_NAME(CERT_REJECTED)
#undef NETCO_TLS_X509_NAME
    default:
      return "UNSPECIFIED";
  }
}

/// Node's prefix for an OpenSSL library: ERR_SSL_ for libssl, ERR_OSSL_<LIB>_ for the libraries
/// OpenSSL 1.1 had, ERR_OSSL_ for the rest (as Node: a DECODER failure is ERR_OSSL_UNSUPPORTED).
NETCO_DECL std::string tls_openssl_code_prefix(int lib) {
  switch (lib) {
    case ERR_LIB_SSL:
      return "ERR_SSL_";
#define NETCO_TLS_LIB_NAME(name) \
  case ERR_LIB_##name:           \
    return "ERR_OSSL_" #name "_";
      NETCO_TLS_LIB_NAME(SYS)
      NETCO_TLS_LIB_NAME(BN)
      NETCO_TLS_LIB_NAME(RSA)
      NETCO_TLS_LIB_NAME(DH)
      NETCO_TLS_LIB_NAME(EVP)
      NETCO_TLS_LIB_NAME(BUF)
      NETCO_TLS_LIB_NAME(OBJ)
      NETCO_TLS_LIB_NAME(PEM)
      NETCO_TLS_LIB_NAME(DSA)
      NETCO_TLS_LIB_NAME(X509)
      NETCO_TLS_LIB_NAME(ASN1)
      NETCO_TLS_LIB_NAME(CONF)
      NETCO_TLS_LIB_NAME(CRYPTO)
      NETCO_TLS_LIB_NAME(EC)
      NETCO_TLS_LIB_NAME(BIO)
      NETCO_TLS_LIB_NAME(PKCS7)
      NETCO_TLS_LIB_NAME(X509V3)
      NETCO_TLS_LIB_NAME(PKCS12)
      NETCO_TLS_LIB_NAME(RAND)
      NETCO_TLS_LIB_NAME(DSO)
      NETCO_TLS_LIB_NAME(ENGINE)
      NETCO_TLS_LIB_NAME(OCSP)
      NETCO_TLS_LIB_NAME(UI)
      NETCO_TLS_LIB_NAME(COMP)
      NETCO_TLS_LIB_NAME(ECDSA)
      NETCO_TLS_LIB_NAME(ECDH)
      NETCO_TLS_LIB_NAME(OSSL_STORE)
      NETCO_TLS_LIB_NAME(FIPS)
      NETCO_TLS_LIB_NAME(CMS)
      NETCO_TLS_LIB_NAME(TS)
      NETCO_TLS_LIB_NAME(HMAC)
      NETCO_TLS_LIB_NAME(CT)
      NETCO_TLS_LIB_NAME(ASYNC)
      NETCO_TLS_LIB_NAME(KDF)
      NETCO_TLS_LIB_NAME(SM2)
      NETCO_TLS_LIB_NAME(USER)
#undef NETCO_TLS_LIB_NAME
    default:
      return "ERR_OSSL_";
  }
}

/// Node's code of a packed OpenSSL error: the prefix, then the reason in capitals with every
/// other character an underscore ("http request" -> ERR_SSL_HTTP_REQUEST).
NETCO_DECL std::string tls_openssl_code(unsigned long err) {
  std::string code = tls_openssl_code_prefix(ERR_GET_LIB(err));
  const char* reason = ERR_reason_error_string(err);
  if (reason == nullptr) return code + "UNKNOWN";
  for (const char* p = reason; *p; ++p) {
    auto c = static_cast<unsigned char>(*p);
    code += std::isalnum(c) ? static_cast<char>(std::toupper(c)) : '_';
  }
  return code;
}

class tls_category_impl final : public std::error_category {
 public:
  // The reason strings are loaded with libssl's first context; a message may come before one.
  tls_category_impl() noexcept {
    OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS, nullptr);
  }
  const char* name() const noexcept override { return "netco.tls"; }
  std::string message(int value) const override {
    if (value >= tls_openssl_base) {
      auto err = static_cast<unsigned long>(value);
      const char* reason = ERR_reason_error_string(err);
      std::string text;
      if (reason) {
        text = reason;
      } else {
        char buf[64];
        std::snprintf(buf, sizeof buf, "OpenSSL error %08lX", err);
        text = buf;
      }
      return text + " [" + tls_openssl_code(err) + "]";
    }
    if (value >= tls_verify_base && value < tls_verify_end) {
      long code = value - tls_verify_base;
      return std::string(X509_verify_cert_error_string(code)) + " [" + tls_verify_code_name(code) +
             "]";
    }
    switch (static_cast<tls::errc>(value)) {
      case tls::errc::cert_altname_invalid:
        return "Hostname/IP does not match certificate's altnames [ERR_TLS_CERT_ALTNAME_INVALID]";
      case tls::errc::invalid_protocol_version:
        return "not a TLS protocol version (\"TLSv1.2\", \"TLSv1.3\"...) "
               "[ERR_TLS_INVALID_PROTOCOL_VERSION]";
      case tls::errc::protocol_version_conflict:
        return "min_version is above max_version [ERR_TLS_PROTOCOL_VERSION_CONFLICT]";
      case tls::errc::invalid_ticket_keys:
        return "session ticket keys must be exactly 48 bytes [ERR_INVALID_ARG_VALUE]";
      case tls::errc::invalid_session:
        return "the session to resume does not parse";
      case tls::errc::handshake_timeout:
        return "TLS handshake timeout [ERR_TLS_HANDSHAKE_TIMEOUT]";
      case tls::errc::not_connected:
        return "TLS connection must be securely established first [ERR_TLS_INVALID_STATE]";
      case tls::errc::tls_failure:
        return "TLS failure (OpenSSL gave no reason)";
      default:
        return "unknown netco.tls error";
    }
  }
};

}  // namespace netco::detail

namespace netco::tls {

NETCO_DECL const std::error_category& tls_category() noexcept {
  static const detail::tls_category_impl category;
  return category;
}

NETCO_DECL std::error_code make_verify_error(long x509_v_err) noexcept {
  if (x509_v_err == X509_V_OK) return {};
  if (x509_v_err == X509_V_ERR_HOSTNAME_MISMATCH || x509_v_err == X509_V_ERR_IP_ADDRESS_MISMATCH)
    return errc::cert_altname_invalid;
  if (x509_v_err < 0 || x509_v_err >= detail::tls_verify_end - detail::tls_verify_base)
    x509_v_err = X509_V_ERR_UNSPECIFIED;
  return {detail::tls_verify_base + static_cast<int>(x509_v_err), tls_category()};
}

NETCO_DECL std::error_code make_openssl_error(unsigned long err) noexcept {
  if (err == 0) return {};
  if (ERR_SYSTEM_ERROR(err)) return {static_cast<int>(ERR_GET_REASON(err)), std::system_category()};
  if (ERR_GET_LIB(err) == 0) return errc::tls_failure;
  return {static_cast<int>(err & 0x7FFFFFFFul), tls_category()};
}

NETCO_DECL std::string node_code(const std::error_code& ec) {
  if (!ec || ec.category() != tls_category()) return {};
  int value = ec.value();
  if (value >= detail::tls_openssl_base)
    return detail::tls_openssl_code(static_cast<unsigned long>(value));
  if (value >= detail::tls_verify_base && value < detail::tls_verify_end)
    return detail::tls_verify_code_name(value - detail::tls_verify_base);
  switch (static_cast<errc>(value)) {
    case errc::cert_altname_invalid:
      return "ERR_TLS_CERT_ALTNAME_INVALID";
    case errc::invalid_protocol_version:
      return "ERR_TLS_INVALID_PROTOCOL_VERSION";
    case errc::protocol_version_conflict:
      return "ERR_TLS_PROTOCOL_VERSION_CONFLICT";
    case errc::invalid_ticket_keys:
      return "ERR_INVALID_ARG_VALUE";
    case errc::handshake_timeout:
      return "ERR_TLS_HANDSHAKE_TIMEOUT";
    case errc::not_connected:
      return "ERR_TLS_INVALID_STATE";
    default:
      return {};
  }
}

NETCO_DECL bool is_verify_error(const std::error_code& ec) noexcept {
  if (ec.category() != tls_category()) return false;
  return ec.value() == static_cast<int>(errc::cert_altname_invalid) ||
         (ec.value() >= detail::tls_verify_base && ec.value() < detail::tls_verify_end);
}

}  // namespace netco::tls
