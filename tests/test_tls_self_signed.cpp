// tests/test_tls_self_signed.cpp: tls::generate_self_signed, its output read back by netco and
// checked by the openssl program (x509 -text, verify, pkey) where the meson test found it
#include "netco/tls/self_signed.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "netco/tls/certificate.hpp"
#include "netco/tls/context.hpp"
#include "test_tls_support.hpp"

using netco::tls::certificate;
using netco::tls::generate_self_signed;
using netco_test::shell_quote;
using netco_test::tls_pki;

namespace {
bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}
}  // namespace

TEST_CASE("the default: a self-signed P-256 leaf for localhost, 127.0.0.1 and ::1") {
  auto kc = generate_self_signed();
  CHECK(contains(kc.key, "-----BEGIN PRIVATE KEY-----"));
  CHECK(contains(kc.cert, "-----BEGIN CERTIFICATE-----"));
  certificate c = certificate::from_pem(kc.cert);
  CHECK(c.subject["CN"] == "localhost");
  CHECK(c.issuer["CN"] == "localhost");
  CHECK(c.subjectaltname == "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1");
  CHECK_FALSE(c.ca);
  CHECK(c.nist_curve == "P-256");
  CHECK(c.serial_number.size() == 32);  // 128 random bits

  // Two runs: two keys, two serials.
  auto again = generate_self_signed();
  CHECK(again.key != kc.key);
  CHECK(certificate::from_pem(again.cert).serial_number != c.serial_number);

  // It is a usable server identity.
  CHECK(netco::tls::secure_context({.key = kc.key, .cert = kc.cert}));
}

TEST_CASE("names, organization, validity, CA and issuer options") {
  using clock = std::chrono::system_clock;
  auto kc = generate_self_signed({.names = {"a.example", "10.0.0.7", "fe80::1"},
                                  .common_name = "service",
                                  .organization = "netco tests"});
  certificate c = certificate::from_pem(kc.cert);
  CHECK(c.subject["CN"] == "service");
  CHECK(c.subject["O"] == "netco tests");
  CHECK(c.subjectaltname == "DNS:a.example, IP Address:10.0.0.7, IP Address:FE80:0:0:0:0:0:0:1");

  // A fixed window: 2030-01-01 for 10 days.
  auto start = clock::from_time_t(1893456000);  // 2030-01-01T00:00:00Z
  certificate w = certificate::from_pem(
      generate_self_signed({.not_before = start, .valid_for = std::chrono::days(10)}).cert);
  CHECK(w.valid_from == "Jan  1 00:00:00 2030 GMT");
  CHECK(w.valid_to == "Jan 11 00:00:00 2030 GMT");

  const tls_pki& pki = tls_pki::get();
  certificate ca = certificate::from_pem(pki.ca.cert);
  CHECK(ca.ca);
  CHECK(ca.subject["CN"] == "netco test CA");
  certificate leaf = certificate::from_pem(pki.localhost.cert);
  CHECK(leaf.issuer["CN"] == "netco test CA");
  CHECK(leaf.issuer["O"] == "netco");
  certificate expired = certificate::from_pem(pki.expired.cert);
  CHECK(expired.valid_to != leaf.valid_to);

  CHECK_THROWS_AS(generate_self_signed({.issuer_key = "junk", .issuer_cert = pki.ca.cert}),
                  std::system_error);
  CHECK_THROWS_AS(generate_self_signed({.issuer_key = pki.ca.key, .issuer_cert = "junk"}),
                  std::system_error);
}

TEST_CASE("an encrypted key: loads with its passphrase only") {
  auto kc = generate_self_signed({.passphrase = "s3cret"});
  CHECK(contains(kc.key, "-----BEGIN ENCRYPTED PRIVATE KEY-----"));
  CHECK(netco::tls::secure_context({.key = kc.key, .passphrase = "s3cret", .cert = kc.cert}));
  std::error_code ec;
  netco::tls::secure_context wrong({.key = kc.key, .passphrase = "nope", .cert = kc.cert}, ec);
  CHECK(ec);
  CHECK_FALSE(wrong);
  netco::tls::secure_context none({.key = kc.key, .cert = kc.cert}, ec);
  CHECK(ec);
}

TEST_CASE("the openssl program agrees: x509 -text, verify, pkey") {
  std::string openssl = netco_test::test_tool("NETCO_TEST_OPENSSL");
  if (openssl.empty()) {
    MESSAGE("skipped: no openssl program (NETCO_TEST_OPENSSL)");
    return;
  }
  const tls_pki& pki = tls_pki::get();
  netco_test::temp_dir dir;
  std::string ca = shell_quote(dir.write("ca.crt", pki.ca.cert));
  std::string leaf = shell_quote(dir.write("leaf.crt", pki.localhost.cert));
  std::string expired = shell_quote(dir.write("expired.crt", pki.expired.cert));
  std::string rogue = shell_quote(dir.write("rogue.crt", pki.rogue_leaf.cert));
  std::string self = shell_quote(dir.write("self.crt", pki.self_signed.cert));
  std::string key = shell_quote(dir.write("leaf.key", pki.localhost.key));
  std::string tool = shell_quote(openssl);

  auto text = netco_test::run_tool(tool + " x509 -noout -text -in " + leaf);
  REQUIRE_MESSAGE(text.status == 0, text.output);
  CHECK(contains(text.output, "Version: 3 (0x2)"));
  CHECK(contains(text.output, "Signature Algorithm: ecdsa-with-SHA256"));
  CHECK(contains(text.output, "NIST CURVE: P-256"));
  CHECK(contains(text.output, "Issuer: O = netco, CN = netco test CA"));
  CHECK(contains(text.output, "Subject: CN = localhost"));
  CHECK(contains(text.output, "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1"));
  CHECK(contains(text.output, "CA:FALSE"));
  CHECK(contains(text.output, "TLS Web Server Authentication, TLS Web Client Authentication"));
  CHECK(contains(text.output, "X509v3 Authority Key Identifier"));

  auto ca_text = netco_test::run_tool(tool + " x509 -noout -text -in " + ca);
  CHECK(contains(ca_text.output, "CA:TRUE"));
  CHECK(contains(ca_text.output, "Certificate Sign, CRL Sign"));

  auto ok = netco_test::run_tool(tool + " verify -CAfile " + ca + " " + leaf);
  CHECK_MESSAGE(ok.status == 0, ok.output);
  CHECK(contains(ok.output, ": OK"));
  auto host = netco_test::run_tool(tool + " verify -CAfile " + ca + " -verify_hostname localhost " +
                                   "-verify_ip 127.0.0.1 " + leaf);
  CHECK_MESSAGE(host.status == 0, host.output);

  auto old = netco_test::run_tool(tool + " verify -CAfile " + ca + " " + expired);
  CHECK(old.status != 0);
  CHECK(contains(old.output, "certificate has expired"));
  auto unknown = netco_test::run_tool(tool + " verify -CAfile " + ca + " " + rogue);
  CHECK(unknown.status != 0);
  CHECK(contains(unknown.output, "unable to get local issuer certificate"));
  auto alone = netco_test::run_tool(tool + " verify -CAfile " + ca + " " + self);
  CHECK(alone.status != 0);
  CHECK(contains(alone.output, "self-signed certificate"));

  auto pkey = netco_test::run_tool(tool + " pkey -noout -check -in " + key);
  CHECK_MESSAGE(pkey.status == 0, pkey.output);
  // The key is the certificate's: the same public key.
  auto from_key = netco_test::run_tool(tool + " pkey -pubout -in " + key);
  auto from_cert = netco_test::run_tool(tool + " x509 -noout -pubkey -in " + leaf);
  CHECK(from_key.output == from_cert.output);
}
