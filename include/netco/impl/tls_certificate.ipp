// netco/impl/tls_certificate.ipp: the out-of-line parts of netco/tls/certificate.hpp: inline in
// every translation unit when header-only, compiled once (by <netco/impl/src.hpp>) under
// NETCO_SEPARATE_COMPILATION
#pragma once
#include <openssl/ec.h>  // EC_curve_nid2nist

#include <cinttypes>  // PRIx64
#include <cstdio>     // snprintf

#include "netco/impl/tls_detail.ipp"
#include "netco/tls/certificate.hpp"

namespace netco::detail {

/// "AA:BB:..." of bytes, as Node prints fingerprints.
inline std::string tls_hex_colons(const unsigned char* bytes, std::size_t n) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(n * 3);
  for (std::size_t i = 0; i < n; ++i) {
    if (i) out += ':';
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 0xF];
  }
  return out;
}

NETCO_DECL tls::name_fields tls_name_fields(const X509_NAME* name) {
  tls::name_fields fields;
  if (name == nullptr) return fields;
  int count = X509_NAME_entry_count(name);
  for (int i = 0; i < count; ++i) {
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, i);
    const ASN1_OBJECT* object = X509_NAME_ENTRY_get_object(entry);
    std::string field;
    int nid = OBJ_obj2nid(object);
    if (const char* sn = nid != NID_undef ? OBJ_nid2sn(nid) : nullptr) {
      field = sn;
    } else {
      char oid[96];
      OBJ_obj2txt(oid, sizeof oid, object, 1);
      field = oid;
    }
    unsigned char* utf8 = nullptr;
    int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
    std::string value = n >= 0 ? std::string(reinterpret_cast<char*>(utf8), n) : std::string();
    OPENSSL_free(utf8);
    fields.entries.emplace_back(std::move(field), std::move(value));
  }
  return fields;
}

/// Appends a SAN value as Node does: as it is when it cannot be mistaken for a delimiter,
/// otherwise as a JSON string (a comma, a quote, a backslash or an unprintable byte inside).
inline void tls_append_alt_name(std::string& out, std::string_view value) {
  bool safe = true;
  for (char c : value) {
    if (c == '"' || c == '\\' || c == ',' || c == '\'' || c < ' ' || c > '~') {
      safe = false;
      break;
    }
  }
  if (safe) {
    out += value;
    return;
  }
  out += '"';
  for (char c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c >= ' ' && c <= '~') {
      out += c;
    } else {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned char>(c));
      out += esc;
    }
  }
  out += '"';
}

NETCO_DECL std::string tls_subject_alt_names(X509* x509) {
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x509, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return {};
  std::string out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (!out.empty()) out += ", ";
    auto text = [](const ASN1_STRING* s) {
      return std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                              static_cast<std::size_t>(ASN1_STRING_length(s)));
    };
    switch (name->type) {
      case GEN_DNS:
        out += "DNS:";
        tls_append_alt_name(out, text(name->d.dNSName));
        break;
      case GEN_EMAIL:
        out += "email:";
        tls_append_alt_name(out, text(name->d.rfc822Name));
        break;
      case GEN_URI:
        out += "URI:";
        tls_append_alt_name(out, text(name->d.uniformResourceIdentifier));
        break;
      case GEN_IPADD: {
        const unsigned char* ip = ASN1_STRING_get0_data(name->d.iPAddress);
        int len = ASN1_STRING_length(name->d.iPAddress);
        char buf[48];
        if (len == 4) {
          std::snprintf(buf, sizeof buf, "%d.%d.%d.%d", ip[0], ip[1], ip[2], ip[3]);
        } else if (len == 16) {
          // Node (like OpenSSL) prints every 16-bit group in hex, none elided.
          int at = 0;
          for (int g = 0; g < 8; ++g)
            at += std::snprintf(buf + at, sizeof buf - static_cast<std::size_t>(at),
                                g ? ":%X" : "%X", (ip[2 * g] << 8) | ip[2 * g + 1]);
        } else {
          std::snprintf(buf, sizeof buf, "<invalid>");
        }
        out += "IP Address:";
        out += buf;
        break;
      }
      case GEN_DIRNAME: {
        tls_bio_ptr bio(BIO_new(BIO_s_mem()));
        X509_NAME_print_ex(bio.get(), name->d.directoryName, 0, XN_FLAG_RFC2253);
        out += "DirName:";
        tls_append_alt_name(out, tls_bio_string(bio.get()));
        break;
      }
      case GEN_RID: {
        char oid[96];
        OBJ_obj2txt(oid, sizeof oid, name->d.registeredID, 1);
        out += "Registered ID:";
        out += oid;
        break;
      }
      default:
        out += "othername:<unsupported>";
        break;
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

inline std::string tls_time_string(const ASN1_TIME* t) {
  tls_bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio || !ASN1_TIME_print(bio.get(), t)) return {};
  return tls_bio_string(bio.get());
}

inline std::string tls_bn_hex(const BIGNUM* bn) {
  char* hex = BN_bn2hex(bn);
  std::string out = hex ? hex : "";
  OPENSSL_free(hex);
  return out;
}

NETCO_DECL void tls_public_key_fields(tls::certificate& cert, EVP_PKEY* key) {
  if (key == nullptr) return;
  cert.bits = EVP_PKEY_get_bits(key);
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_EC: {
      char group[80];
      std::size_t len = 0;
      if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                         &len)) {
        cert.asn1_curve.assign(group, len);
        if (const char* nist = EC_curve_nid2nist(OBJ_txt2nid(group))) cert.nist_curve = nist;
      }
      if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0, &len) &&
          len > 0) {
        buffer point = buffer::uninitialized(len);
        auto* out = reinterpret_cast<unsigned char*>(point.mutable_bytes().data());
        if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, out, len, &len))
          cert.pubkey = point.slice(0, len);
      }
      break;
    }
    case EVP_PKEY_RSA: {
      BIGNUM* n = nullptr;
      BIGNUM* e = nullptr;
      if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n)) cert.modulus = tls_bn_hex(n);
      if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e)) {
        char buf[24];
        std::snprintf(buf, sizeof buf, "0x%" PRIx64, static_cast<std::uint64_t>(BN_get_word(e)));
        cert.exponent = buf;
      }
      BN_free(n);
      BN_free(e);
      int len = i2d_PUBKEY(key, nullptr);
      if (len > 0) {
        buffer der = buffer::uninitialized(static_cast<std::size_t>(len));
        auto* out = reinterpret_cast<unsigned char*>(der.mutable_bytes().data());
        i2d_PUBKEY(key, &out);
        cert.pubkey = std::move(der);
      }
      break;
    }
    default:
      break;
  }
}

NETCO_DECL tls::certificate tls_certificate_of(X509* x509) {
  tls::certificate cert;
  if (x509 == nullptr) return cert;
  cert.subject = tls_name_fields(X509_get_subject_name(x509));
  cert.issuer = tls_name_fields(X509_get_issuer_name(x509));
  cert.subjectaltname = tls_subject_alt_names(x509);
  cert.ca = X509_check_ca(x509) == 1;
  tls_public_key_fields(cert, X509_get0_pubkey(x509));
  cert.valid_from = tls_time_string(X509_get0_notBefore(x509));
  cert.valid_to = tls_time_string(X509_get0_notAfter(x509));
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (X509_digest(x509, EVP_sha1(), md, &md_len)) cert.fingerprint = tls_hex_colons(md, md_len);
  if (X509_digest(x509, EVP_sha256(), md, &md_len))
    cert.fingerprint256 = tls_hex_colons(md, md_len);
  if (X509_digest(x509, EVP_sha512(), md, &md_len))
    cert.fingerprint512 = tls_hex_colons(md, md_len);
  if (tls_bn_ptr serial{ASN1_INTEGER_to_BN(X509_get0_serialNumber(x509), nullptr)})
    cert.serial_number = tls_bn_hex(serial.get());
  if (auto* eku = static_cast<EXTENDED_KEY_USAGE*>(
          X509_get_ext_d2i(x509, NID_ext_key_usage, nullptr, nullptr))) {
    for (int i = 0; i < sk_ASN1_OBJECT_num(eku); ++i) {
      char oid[96];
      OBJ_obj2txt(oid, sizeof oid, sk_ASN1_OBJECT_value(eku, i), 1);
      cert.ext_key_usage.emplace_back(oid);
    }
    EXTENDED_KEY_USAGE_free(eku);
  }
  int len = i2d_X509(x509, nullptr);
  if (len > 0) {
    buffer der = buffer::uninitialized(static_cast<std::size_t>(len));
    auto* out = reinterpret_cast<unsigned char*>(der.mutable_bytes().data());
    i2d_X509(x509, &out);
    cert.raw = std::move(der);
  }
  ERR_clear_error();  // a missing optional field may have queued an error
  return cert;
}

inline tls_x509_ptr tls_x509_from_der(std::span<const std::byte> der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  return tls_x509_ptr(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
}

}  // namespace netco::detail

namespace netco::tls {

NETCO_DECL certificate certificate::from_der(std::span<const std::byte> der) {
  detail::tls_x509_ptr x509 = detail::tls_x509_from_der(der);
  if (!x509) detail::tls_throw("tls::certificate::from_der");
  return detail::tls_certificate_of(x509.get());
}

NETCO_DECL certificate certificate::from_pem(std::string_view pem) {
  detail::tls_bio_ptr bio = detail::tls_memory_bio(pem);
  detail::tls_x509_ptr x509(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!x509) detail::tls_throw("tls::certificate::from_pem");
  return detail::tls_certificate_of(x509.get());
}

NETCO_DECL std::error_code check_server_identity(std::string_view host, const certificate& cert) {
  detail::tls_x509_ptr x509 = detail::tls_x509_from_der(cert.raw.bytes());
  std::string name(host);
  bool match = false;
  if (x509 && !name.empty()) {
    if (detail::tls_is_ip_literal(name))
      match = X509_check_ip_asc(x509.get(), name.c_str(), 0) == 1;
    else
      match = X509_check_host(x509.get(), name.data(), name.size(), 0, nullptr) == 1;
  }
  ERR_clear_error();
  return match ? std::error_code() : make_error_code(errc::cert_altname_invalid);
}

}  // namespace netco::tls
