// netco/tls/self_signed.hpp: tls::generate_self_signed, a throwaway ECDSA P-256 key and
// certificate (self-signed, or signed by a given CA) for examples and tests
#pragma once
#include <chrono>  // system_clock, seconds, days
#include <string>  // string
#include <vector>  // vector

#include "netco/detail/decl.hpp"
#include "netco/tls/error.hpp"

namespace netco::tls {

/// What to certify. The defaults make a leaf for this machine, valid for a year from an hour ago.
struct self_signed_options {
  /// Subject alternative names: an IP literal becomes an IP SAN, anything else a DNS SAN.
  std::vector<std::string> names = {"localhost", "127.0.0.1", "::1"};
  std::string common_name = {};   ///< the subject's CN; empty: the first name (or "netco")
  std::string organization = {};  ///< the subject's O, when not empty
  bool is_ca = false;             ///< a CA (keyCertSign, no SANs needed) instead of a leaf
  /// Validity; a default (epoch) not_before is an hour ago, a default not_after is not_before
  /// + valid_for. A not_after in the past makes an expired certificate.
  std::chrono::system_clock::time_point not_before = {};
  std::chrono::system_clock::time_point not_after = {};
  std::chrono::seconds valid_for = std::chrono::days(365);
  /// The CA that signs it (PEM); both empty: self-signed.
  std::string issuer_key = {};
  std::string issuer_cert = {};
  /// When not empty, the key PEM is encrypted with it (AES-256-CBC, PKCS#8).
  std::string passphrase = {};
};

/// A PEM private key and its PEM certificate.
struct key_and_cert {
  std::string key;
  std::string cert;
};

/// Generates a fresh P-256 key and a v3 certificate for it, signed with SHA-256 by itself or by
/// options.issuer_key. Throws std::system_error when OpenSSL refuses (e.g. a bad issuer PEM).
NETCO_DECL key_and_cert generate_self_signed(const self_signed_options& options = {});

}  // namespace netco::tls

#if !defined(NETCO_SEPARATE_COMPILATION)
#include "netco/impl/tls_self_signed.ipp"
#endif
