// tests/test_tls_certificate.cpp: tls::certificate (Node's getPeerCertificate() fields and
// formats, checked against Node's own X509Certificate where node is installed) and
// tls::check_server_identity
#include "netco/tls/certificate.hpp"

#include <doctest/doctest.h>

#include <cctype>
#include <regex>
#include <sstream>
#include <string>

#include "netco/tls/self_signed.hpp"
#include "test_tls_support.hpp"

using netco::tls::certificate;
using netco::tls::check_server_identity;
using netco_test::tls_pki;

namespace {

// Every field of a certificate as "name\tvalue" lines, in the order the Node script prints them.
std::string describe(const certificate& c) {
  std::ostringstream out;
  auto name = [](const netco::tls::name_fields& n) {
    std::string s;
    for (const auto& [field, value] : n.entries) s += field + "=" + value + ";";
    return s;
  };
  auto hex = [](const netco::buffer& b) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s;
    for (std::byte x : b.bytes()) {
      s += digits[std::to_integer<int>(x) >> 4];
      s += digits[std::to_integer<int>(x) & 0xF];
    }
    return s;
  };
  out << "subject\t" << name(c.subject) << "\n"
      << "issuer\t" << name(c.issuer) << "\n"
      << "subjectaltname\t" << c.subjectaltname << "\n"
      << "ca\t" << (c.ca ? "true" : "false") << "\n"
      << "bits\t" << c.bits << "\n"
      << "pubkey\t" << hex(c.pubkey) << "\n"
      << "asn1Curve\t" << c.asn1_curve << "\n"
      << "nistCurve\t" << c.nist_curve << "\n"
      << "modulus\t" << c.modulus << "\n"
      << "exponent\t" << c.exponent << "\n"
      << "valid_from\t" << c.valid_from << "\n"
      << "valid_to\t" << c.valid_to << "\n"
      << "fingerprint\t" << c.fingerprint << "\n"
      << "fingerprint256\t" << c.fingerprint256 << "\n"
      << "fingerprint512\t" << c.fingerprint512 << "\n"
      << "serialNumber\t" << c.serial_number << "\n"
      << "raw\t" << hex(c.raw) << "\n";
  return out.str();
}

constexpr const char* node_describe_js = R"js(
const { X509Certificate } = require('crypto');
const fs = require('fs');
const o = new X509Certificate(fs.readFileSync(process.argv[2])).toLegacyObject();
const name = (n) => Object.entries(n || {}).map(([k, v]) =>
  (Array.isArray(v) ? v : [v]).map((x) => k + '=' + x + ';').join('')).join('');
const lines = [
  ['subject', name(o.subject)], ['issuer', name(o.issuer)],
  ['subjectaltname', o.subjectaltname || ''], ['ca', String(o.ca)], ['bits', String(o.bits)],
  ['pubkey', o.pubkey ? o.pubkey.toString('hex') : ''],
  ['asn1Curve', o.asn1Curve || ''], ['nistCurve', o.nistCurve || ''],
  ['modulus', o.modulus || ''], ['exponent', o.exponent || ''],
  ['valid_from', o.valid_from], ['valid_to', o.valid_to], ['fingerprint', o.fingerprint],
  ['fingerprint256', o.fingerprint256], ['fingerprint512', o.fingerprint512],
  ['serialNumber', o.serialNumber], ['raw', o.raw.toString('hex')],
];
process.stdout.write(lines.map(([k, v]) => k + '\t' + v + '\n').join(''));
)js";

}  // namespace

TEST_CASE("a CA-signed P-256 leaf, field by field") {
  const tls_pki& pki = tls_pki::get();
  certificate c = certificate::from_pem(pki.localhost.cert);
  REQUIRE_FALSE(c.empty());
  CHECK(c.subject["CN"] == "localhost");
  CHECK(c.subject["O"].empty());
  CHECK(c.issuer["CN"] == "netco test CA");
  CHECK(c.issuer["O"] == "netco");
  CHECK(c.issuer.all("CN").size() == 1);
  CHECK(c.subjectaltname == "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1");
  CHECK_FALSE(c.ca);
  CHECK(c.bits == 256);
  CHECK(c.asn1_curve == "prime256v1");
  CHECK(c.nist_curve == "P-256");
  CHECK(c.pubkey.size() == 65);  // an uncompressed point
  CHECK(c.pubkey.data()[0] == std::byte{0x04});
  CHECK(c.modulus.empty());
  // "Jan  1 00:00:00 2027 GMT": Node's (and OpenSSL's) date format, day padded with a space.
  std::regex date(R"([A-Z][a-z]{2} [ 123][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4} GMT)");
  CHECK(std::regex_match(c.valid_from, date));
  CHECK(std::regex_match(c.valid_to, date));
  std::regex hex_colons("([0-9A-F]{2}:)*[0-9A-F]{2}");
  CHECK(std::regex_match(c.fingerprint, hex_colons));
  CHECK(c.fingerprint.size() == 20 * 3 - 1);
  CHECK(c.fingerprint256.size() == 32 * 3 - 1);
  CHECK(c.fingerprint512.size() == 64 * 3 - 1);
  CHECK(std::regex_match(c.fingerprint256, hex_colons));
  CHECK(std::regex_match(c.serial_number, std::regex("[0-9A-F]+")));
  CHECK(c.ext_key_usage == std::vector<std::string>{"1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"});

  // The DER round trip gives the same certificate.
  certificate again = certificate::from_der(c.raw.bytes());
  CHECK(again.fingerprint256 == c.fingerprint256);
  CHECK(describe(again) == describe(c));

  certificate ca = certificate::from_pem(pki.ca.cert);
  CHECK(ca.ca);
  CHECK(ca.subjectaltname.empty());
  CHECK(ca.subject["CN"] == ca.issuer["CN"]);
}

TEST_CASE("what does not parse throws std::system_error with OpenSSL's reason") {
  CHECK_THROWS_AS(certificate::from_pem("not a certificate"), std::system_error);
  try {
    certificate::from_pem("");
    FAIL("no exception");
  } catch (const std::system_error& e) {
    CHECK(std::string(e.what()).find("from_pem") != std::string::npos);
    CHECK(netco::tls::node_code(e.code()) == "ERR_OSSL_PEM_NO_START_LINE");
  }
  const std::byte junk[] = {std::byte{0x30}, std::byte{0x03}, std::byte{1}};
  CHECK_THROWS_AS(certificate::from_der(junk), std::system_error);
  CHECK(certificate().empty());
  CHECK(netco::detail::tls_certificate_of(nullptr).empty());
}

TEST_CASE("check_server_identity: Node's tls.checkServerIdentity rules") {
  const tls_pki& pki = tls_pki::get();
  certificate local = certificate::from_pem(pki.localhost.cert);
  CHECK_FALSE(check_server_identity("localhost", local));
  CHECK_FALSE(check_server_identity("LOCALHOST", local));  // names are case-insensitive
  CHECK_FALSE(check_server_identity("127.0.0.1", local));  // an IP literal against IP SANs
  CHECK_FALSE(check_server_identity("::1", local));
  CHECK_FALSE(check_server_identity("0:0:0:0:0:0:0:1", local));
  CHECK(check_server_identity("127.0.0.2", local) == netco::tls::errc::cert_altname_invalid);
  CHECK(check_server_identity("example.com", local) == netco::tls::errc::cert_altname_invalid);
  CHECK(check_server_identity("", local) == netco::tls::errc::cert_altname_invalid);

  certificate other = certificate::from_pem(pki.other.cert);
  CHECK_FALSE(check_server_identity("api.wild.example", other));
  CHECK(check_server_identity("wild.example", other));      // '*' needs a label
  CHECK(check_server_identity("a.b.wild.example", other));  // and only one

  // No SAN at all: the subject's CN counts, as in Node.
  auto legacy = netco::tls::generate_self_signed({.names = {}, .common_name = "legacy.example"});
  certificate cn_only = certificate::from_pem(legacy.cert);
  CHECK(cn_only.subjectaltname.empty());
  CHECK_FALSE(check_server_identity("legacy.example", cn_only));
  CHECK(check_server_identity("other.example", cn_only));
  CHECK(check_server_identity("localhost", certificate()));
}

TEST_CASE("an RSA certificate (made by the openssl program): modulus, exponent, DER key") {
  std::string openssl = netco_test::test_tool("NETCO_TEST_OPENSSL");
  if (openssl.empty()) {
    MESSAGE("skipped: no openssl program (NETCO_TEST_OPENSSL)");
    return;
  }
  netco_test::temp_dir dir;
  std::string key = (dir.path / "rsa.key").string(), crt = (dir.path / "rsa.crt").string();
  auto made = netco_test::run_tool(
      netco_test::shell_quote(openssl) + " req -x509 -newkey rsa:2048 -nodes -days 2 -subj " +
      "'/C=FR/O=netco/OU=one/OU=two/CN=rsa.example' -keyout " + netco_test::shell_quote(key) +
      " -out " + netco_test::shell_quote(crt));
  REQUIRE_MESSAGE(made.status == 0, made.output);
  std::ifstream in(crt);
  std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  certificate c = certificate::from_pem(pem);
  CHECK(c.bits == 2048);
  CHECK(c.exponent == "0x10001");
  CHECK(c.modulus.size() == 512);
  CHECK(c.asn1_curve.empty());
  CHECK(c.pubkey.size() > 256);  // SubjectPublicKeyInfo DER
  CHECK(c.subject["C"] == "FR");
  CHECK(c.subject.all("OU") == std::vector<std::string_view>{"one", "two"});

  // openssl's own fingerprint of the same file.
  auto fp =
      netco_test::run_tool(netco_test::shell_quote(openssl) +
                           " x509 -noout -fingerprint -sha256 -in " + netco_test::shell_quote(crt));
  REQUIRE(fp.status == 0);
  CHECK(fp.output.find(c.fingerprint256) != std::string::npos);
}

TEST_CASE("every field matches Node's X509Certificate.toLegacyObject()") {
  std::string node = netco_test::test_tool("NETCO_TEST_NODE");
  if (node.empty()) {
    MESSAGE("skipped: no node program (NETCO_TEST_NODE)");
    return;
  }
  netco_test::temp_dir dir;
  std::string script = dir.write("describe.js", node_describe_js);
  const tls_pki& pki = tls_pki::get();
  struct sample {
    const char* name;
    std::string pem;
  };
  std::vector<sample> samples = {{"leaf", pki.localhost.cert},
                                 {"ca", pki.ca.cert},
                                 {"wildcard", pki.other.cert},
                                 {"expired", pki.expired.cert},
                                 {"client", pki.client.cert}};
  std::string openssl = netco_test::test_tool("NETCO_TEST_OPENSSL");
  if (!openssl.empty()) {
    std::string key = (dir.path / "rsa.key").string(), crt = (dir.path / "rsa.crt").string();
    auto made = netco_test::run_tool(
        netco_test::shell_quote(openssl) + " req -x509 -newkey rsa:2048 -nodes -days 2 -subj " +
        "'/C=FR/O=netco/OU=one/OU=two/CN=rsa.example' -addext " +
        "'subjectAltName=DNS:rsa.example,email:a@rsa.example,URI:https://rsa.example/"
        ",IP:10.1.2.3'" +
        " -keyout " + netco_test::shell_quote(key) + " -out " + netco_test::shell_quote(crt));
    REQUIRE_MESSAGE(made.status == 0, made.output);
    std::ifstream in(crt);
    samples.push_back({"rsa", std::string((std::istreambuf_iterator<char>(in)),
                                          std::istreambuf_iterator<char>())});
  }
  for (const sample& s : samples) {
    CAPTURE(s.name);
    std::string file = dir.write(std::string(s.name) + ".pem", s.pem);
    auto r =
        netco_test::run_tool(netco_test::shell_quote(node) + " " + netco_test::shell_quote(script) +
                             " " + netco_test::shell_quote(file));
    REQUIRE_MESSAGE(r.status == 0, r.output);
    CHECK(describe(certificate::from_pem(s.pem)) == r.output);
  }
}
