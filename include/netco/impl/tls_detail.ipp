// netco/impl/tls_detail.ipp: what the TLS .ipp files share: OpenSSL's headers, owning pointers
// for OpenSSL's objects, and the throw helper. Internal: included by the other tls_*.ipp only.
#pragma once
#include <openssl/bio.h>         // BIO, BIO_METHOD
#include <openssl/bn.h>          // BIGNUM (serial numbers, RSA modulus)
#include <openssl/core_names.h>  // OSSL_PKEY_PARAM_*, OSSL_MAC_PARAM_*
#include <openssl/err.h>         // ERR_get_error, ERR_clear_error
#include <openssl/evp.h>         // EVP_PKEY, EVP_CIPHER, EVP_MAC
#include <openssl/pem.h>         // PEM_read_bio_*, PEM_write_bio_*
#include <openssl/rand.h>        // RAND_bytes
#include <openssl/ssl.h>         // SSL, SSL_CTX
#include <openssl/x509.h>        // X509, X509_STORE
#include <openssl/x509v3.h>      // X509V3 extensions, X509_check_host

#include <memory>        // unique_ptr
#include <string>        // string
#include <string_view>   // string_view
#include <system_error>  // system_error

#include "netco/tls/error.hpp"

namespace netco::detail {

/// unique_ptr's deleter for an OpenSSL type, from its free function.
template <auto Free>
struct tls_free {
  template <class T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};
using tls_bio_ptr = std::unique_ptr<BIO, tls_free<BIO_free_all>>;
using tls_x509_ptr = std::unique_ptr<X509, tls_free<X509_free>>;
using tls_pkey_ptr = std::unique_ptr<EVP_PKEY, tls_free<EVP_PKEY_free>>;
using tls_store_ptr = std::unique_ptr<X509_STORE, tls_free<X509_STORE_free>>;
using tls_bn_ptr = std::unique_ptr<BIGNUM, tls_free<BN_free>>;

/// The first error OpenSSL queued on this thread (the queue emptied), or fallback.
inline std::error_code tls_take_error(tls::errc fallback = tls::errc::tls_failure) noexcept {
  unsigned long err = ERR_get_error();
  ERR_clear_error();
  if (err == 0) return fallback;
  return tls::make_openssl_error(err);
}

/// Throws std::system_error for the queued OpenSSL error, what() saying what failed.
[[noreturn]] inline void tls_throw(const std::string& what,
                                   tls::errc fallback = tls::errc::tls_failure) {
  throw std::system_error(tls_take_error(fallback), what);
}

/// A read-only memory BIO over text (OpenSSL does not copy it).
inline tls_bio_ptr tls_memory_bio(std::string_view text) {
  tls_bio_ptr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) tls_throw("tls: BIO_new_mem_buf");
  return bio;
}

/// Everything a memory BIO holds, as a string.
inline std::string tls_bio_string(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

/// True when host is an IPv4 or IPv6 literal (OpenSSL's parser, so no OS header is needed).
inline bool tls_is_ip_literal(const std::string& host) {
  ASN1_OCTET_STRING* ip = a2i_IPADDRESS(host.c_str());
  ERR_clear_error();
  if (ip == nullptr) return false;
  ASN1_OCTET_STRING_free(ip);
  return true;
}

}  // namespace netco::detail
