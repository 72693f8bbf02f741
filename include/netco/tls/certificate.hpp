// netco/tls/certificate.hpp: tls::certificate, an X.509 certificate as Node's
// getPeerCertificate() shows it, and Node's default server identity check
#pragma once
#include <cstddef>       // byte
#include <span>          // span
#include <string>        // string
#include <string_view>   // string_view
#include <system_error>  // error_code
#include <utility>       // pair
#include <vector>        // vector

#include "netco/buffer.hpp"
#include "netco/detail/decl.hpp"
#include "netco/tls/error.hpp"

struct x509_st;  // OpenSSL's X509: only the .ipp files include OpenSSL's headers

namespace netco::tls {

/// A distinguished name as Node's object shows it: OpenSSL's short field names (CN, O, OU, C,
/// ST, L, emailAddress ...) with their UTF-8 values, in certificate order. A field given twice
/// appears twice (Node makes an array of it).
struct name_fields {
  std::vector<std::pair<std::string, std::string>> entries;

  /// The first value of field ("" when absent).
  std::string_view operator[](std::string_view field) const noexcept {
    for (const auto& [name, value] : entries)
      if (name == field) return value;
    return {};
  }
  /// Every value of field, in order.
  std::vector<std::string_view> all(std::string_view field) const {
    std::vector<std::string_view> values;
    for (const auto& [name, value] : entries)
      if (name == field) values.emplace_back(value);
    return values;
  }
  bool empty() const noexcept { return entries.empty(); }
};

/// An X.509 certificate, decoded once, with Node's field names and formats (valid_from
/// "Jan  1 00:00:00 2027 GMT", fingerprints "AA:BB:..."). Empty (raw.empty()) when there is none.
/// Node: the object tlsSocket.getPeerCertificate() returns (x509.toLegacyObject())
struct certificate {
  name_fields subject;
  name_fields issuer;
  std::string subjectaltname;  ///< "DNS:a.example, IP Address:127.0.0.1", Node's escaping
  bool ca = false;             ///< a CA certificate (basicConstraints CA:TRUE)
  int bits = 0;                ///< the public key's size
  buffer pubkey;               ///< EC: the encoded point; RSA: the DER SubjectPublicKeyInfo
  std::string asn1_curve;      ///< EC: "prime256v1"  Node: asn1Curve
  std::string nist_curve;      ///< EC: "P-256"  Node: nistCurve
  std::string modulus;         ///< RSA: upper-case hex
  std::string exponent;        ///< RSA: "0x10001"
  std::string valid_from;      ///< "Jan  1 00:00:00 2027 GMT"
  std::string valid_to;
  std::string fingerprint;                 ///< SHA-1 of the DER, "AA:BB:..."
  std::string fingerprint256;              ///< SHA-256
  std::string fingerprint512;              ///< SHA-512
  std::string serial_number;               ///< upper-case hex  Node: serialNumber
  std::vector<std::string> ext_key_usage;  ///< OIDs, e.g. "1.3.6.1.5.5.7.3.1"
  buffer raw;                              ///< the DER encoding

  bool empty() const noexcept { return raw.empty(); }

  /// Decodes one DER certificate; throws std::system_error when it does not parse.
  NETCO_DECL static certificate from_der(std::span<const std::byte> der);
  /// Decodes the first certificate of PEM text; throws std::system_error when there is none.
  /// Node: new crypto.X509Certificate(pem).toLegacyObject()
  NETCO_DECL static certificate from_pem(std::string_view pem);
};

/// Node's default identity check: host (a DNS name, or an IP literal against IP SANs) matches
/// the certificate's SANs (the CN only without DNS SANs; a wildcard in the left label only);
/// errc::cert_altname_invalid when it does not.
/// Node: tls.checkServerIdentity(hostname, cert)
NETCO_DECL std::error_code check_server_identity(std::string_view host, const certificate& cert);

}  // namespace netco::tls

namespace netco::detail {
/// The certificate of an OpenSSL X509 (not consumed); empty for nullptr.
NETCO_DECL tls::certificate tls_certificate_of(x509_st* x509);
}  // namespace netco::detail

#if !defined(NETCO_SEPARATE_COMPILATION)
#include "netco/impl/tls_certificate.ipp"
#endif
