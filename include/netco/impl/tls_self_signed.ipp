// netco/impl/tls_self_signed.ipp: the out-of-line parts of netco/tls/self_signed.hpp: inline in
// every translation unit when header-only, compiled once (by <netco/impl/src.hpp>) under
// NETCO_SEPARATE_COMPILATION
#pragma once
#include <ctime>  // time_t

#include "netco/impl/tls_detail.ipp"
#include "netco/tls/self_signed.hpp"

namespace netco::detail {

inline void tls_add_extension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str());
  if (ext == nullptr) tls_throw("tls::generate_self_signed: extension " + value);
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (!ok) tls_throw("tls::generate_self_signed: X509_add_ext");
}

inline void tls_add_name_entry(X509_NAME* name, const char* field, const std::string& value) {
  if (!X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                  reinterpret_cast<const unsigned char*>(value.data()),
                                  static_cast<int>(value.size()), -1, 0))
    tls_throw("tls::generate_self_signed: subject " + std::string(field));
}

}  // namespace netco::detail

namespace netco::tls {

NETCO_DECL key_and_cert generate_self_signed(const self_signed_options& options) {
  using namespace detail;
  using clock = std::chrono::system_clock;
  ERR_clear_error();

  tls_pkey_ptr key(EVP_EC_gen("P-256"));
  if (!key) tls_throw("tls::generate_self_signed: EVP_EC_gen");

  // The signer: the issuer's key and name, or the new key itself.
  tls_pkey_ptr issuer_key;
  tls_x509_ptr issuer_cert;
  if (!options.issuer_key.empty() || !options.issuer_cert.empty()) {
    auto kb = tls_memory_bio(options.issuer_key);
    issuer_key.reset(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
    if (!issuer_key) tls_throw("tls::generate_self_signed: issuer_key");
    auto cb = tls_memory_bio(options.issuer_cert);
    issuer_cert.reset(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
    if (!issuer_cert) tls_throw("tls::generate_self_signed: issuer_cert");
  }

  tls_x509_ptr cert(X509_new());
  if (!cert || !X509_set_version(cert.get(), X509_VERSION_3))
    tls_throw("tls::generate_self_signed: X509_new");

  // A random positive 128-bit serial, so two runs never collide in a trust store.
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1)
    tls_throw("tls::generate_self_signed: RAND_bytes");
  serial_bytes[0] &= 0x7F;
  serial_bytes[0] |= 0x01;
  tls_bn_ptr serial(BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr));
  if (!serial || !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())))
    tls_throw("tls::generate_self_signed: serial");

  clock::time_point not_before = options.not_before;
  if (not_before == clock::time_point{}) not_before = clock::now() - std::chrono::hours(1);
  clock::time_point not_after = options.not_after;
  if (not_after == clock::time_point{}) not_after = not_before + options.valid_for;
  if (!ASN1_TIME_set(X509_getm_notBefore(cert.get()), clock::to_time_t(not_before)) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert.get()), clock::to_time_t(not_after)))
    tls_throw("tls::generate_self_signed: validity");

  X509_NAME* subject = X509_get_subject_name(cert.get());
  std::string cn = options.common_name;
  if (cn.empty()) cn = options.names.empty() ? std::string("netco") : options.names.front();
  if (!options.organization.empty()) tls_add_name_entry(subject, "O", options.organization);
  tls_add_name_entry(subject, "CN", cn);
  if (!X509_set_issuer_name(cert.get(),
                            issuer_cert ? X509_get_subject_name(issuer_cert.get()) : subject) ||
      !X509_set_pubkey(cert.get(), key.get()))
    tls_throw("tls::generate_self_signed: issuer");

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer_cert ? issuer_cert.get() : cert.get(), cert.get(), nullptr, nullptr,
                 0);
  if (options.is_ca) {
    tls_add_extension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE");
    tls_add_extension(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    tls_add_extension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
    tls_add_extension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature");
    tls_add_extension(cert.get(), &ctx, NID_ext_key_usage, "serverAuth,clientAuth");
  }
  tls_add_extension(cert.get(), &ctx, NID_subject_key_identifier, "hash");
  if (issuer_cert) tls_add_extension(cert.get(), &ctx, NID_authority_key_identifier, "keyid");
  if (!options.names.empty()) {
    std::string sans;
    for (const std::string& name : options.names) {
      if (!sans.empty()) sans += ',';
      sans += tls_is_ip_literal(name) ? "IP:" : "DNS:";
      sans += name;
    }
    tls_add_extension(cert.get(), &ctx, NID_subject_alt_name, sans);
  }

  if (!X509_sign(cert.get(), issuer_key ? issuer_key.get() : key.get(), EVP_sha256()))
    tls_throw("tls::generate_self_signed: X509_sign");

  key_and_cert out;
  tls_bio_ptr kb(BIO_new(BIO_s_mem()));
  int written =
      options.passphrase.empty()
          ? PEM_write_bio_PrivateKey(kb.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr)
          : PEM_write_bio_PKCS8PrivateKey(
                kb.get(), key.get(), EVP_aes_256_cbc(), options.passphrase.data(),
                static_cast<int>(options.passphrase.size()), nullptr, nullptr);
  if (!written) tls_throw("tls::generate_self_signed: writing the key");
  out.key = tls_bio_string(kb.get());
  tls_bio_ptr cb(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509(cb.get(), cert.get()))
    tls_throw("tls::generate_self_signed: writing the certificate");
  out.cert = tls_bio_string(cb.get());
  return out;
}

}  // namespace netco::tls
