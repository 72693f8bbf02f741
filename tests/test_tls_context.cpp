// tests/test_tls_context.cpp: tls::secure_context: secure defaults, options (versions, ciphers,
// groups, identity from text or files, chains, trust), load errors, the system roots loaded
// once, the server's session cache, and the SNI table
#include "netco/tls/context.hpp"

#include <doctest/doctest.h>
#include <openssl/ssl.h>

#include <string>
#include <vector>

#include "netco/error.hpp"
#include "test_tls_support.hpp"

using netco::tls::context_options;
using netco::tls::engine;
using netco::tls::pem;
using netco::tls::secure_context;
using netco_test::client_context;
using netco_test::make_pair;
using netco_test::server_context;
using netco_test::tls_pair;
using netco_test::tls_pki;

namespace {

// The message of the system_error that making a context with o throws ("" if none).
std::string load_error(const context_options& o, std::error_code* code = nullptr) {
  try {
    secure_context ctx(o);
  } catch (const std::system_error& e) {
    if (code) *code = e.code();
    return e.what();
  }
  return {};
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("secure defaults on every context") {
  secure_context ctx{context_options{}};
  REQUIRE(ctx);
  SSL_CTX* native = ctx.native_handle();
  CHECK(SSL_CTX_get_min_proto_version(native) == TLS1_2_VERSION);
  CHECK(SSL_CTX_get_max_proto_version(native) == TLS1_3_VERSION);
  auto options = SSL_CTX_get_options(native);
  CHECK((options & SSL_OP_NO_COMPRESSION) != 0);
  CHECK((options & SSL_OP_NO_RENEGOTIATION) != 0);
  CHECK((options & SSL_OP_NO_SSLv3) != 0);
  CHECK((options & SSL_OP_CIPHER_SERVER_PREFERENCE) == 0);
  CHECK((SSL_CTX_get_mode(native) & SSL_MODE_RELEASE_BUFFERS) != 0);
  CHECK(SSL_CTX_get_timeout(native) == 300);
  CHECK(SSL_CTX_get_verify_mode(native) == SSL_VERIFY_NONE);  // clients verify per engine

  // TLS 1.2 offers ECDHE with AEAD only.
  STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(native);
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    const SSL_CIPHER* c = sk_SSL_CIPHER_value(ciphers, i);
    CAPTURE(SSL_CIPHER_get_name(c));
    CHECK(SSL_CIPHER_is_aead(c) == 1);
    int kx = SSL_CIPHER_get_kx_nid(c);
    CHECK((kx == NID_kx_ecdhe || kx == NID_kx_any));
  }

  // X25519 first ("auto", as Node).
  tls_pair p = make_pair(server_context(), client_context());
  REQUIRE(p.handshake().ok());
  CHECK(SSL_get_negotiated_group(p.client.native_handle()) == NID_X25519);
  CHECK(SSL_get_current_compression(p.client.native_handle()) == nullptr);

  secure_context held({.release_buffers = false});
  CHECK((SSL_CTX_get_mode(held.native_handle()) & SSL_MODE_RELEASE_BUFFERS) == 0);
}

TEST_CASE("versions: Node's names; lower than TLS 1.2 only when asked; errors with Node's codes") {
  secure_context old({.min_version = "TLSv1"});
  CHECK(SSL_CTX_get_min_proto_version(old.native_handle()) == TLS1_VERSION);
  secure_context only13({.min_version = "TLSv1.3"});
  CHECK(SSL_CTX_get_min_proto_version(only13.native_handle()) == TLS1_3_VERSION);

  std::error_code code;
  std::string what = load_error({.min_version = "TLSv1.4"}, &code);
  CHECK(code == netco::tls::errc::invalid_protocol_version);
  CHECK(contains(what, "min_version \"TLSv1.4\""));
  CHECK(contains(what, "[ERR_TLS_INVALID_PROTOCOL_VERSION]"));
  load_error({.max_version = "SSLv3"}, &code);
  CHECK(code == netco::tls::errc::invalid_protocol_version);
  what = load_error({.min_version = "TLSv1.3", .max_version = "TLSv1.2"}, &code);
  CHECK(code == netco::tls::errc::protocol_version_conflict);
  CHECK(contains(what, "[ERR_TLS_PROTOCOL_VERSION_CONFLICT]"));

  // The error_code form: no throw, an empty context.
  std::error_code ec;
  secure_context bad({.min_version = "TLS1.2"}, ec);
  CHECK(ec == netco::tls::errc::invalid_protocol_version);
  CHECK_FALSE(bad);
  secure_context good(context_options{}, ec);
  CHECK_FALSE(ec);
  CHECK(good);

  // A TLS 1.3-only server and a TLS 1.2-only client have nothing in common.
  tls_pair p = make_pair(server_context({.min_version = "TLSv1.3"}),
                         client_context({.max_version = "TLSv1.2"}));
  auto r = p.handshake();
  CHECK(r.server.status == netco::tls::handshake_status::failed);
  CHECK(netco::tls::node_code(r.server.error) == "ERR_SSL_UNSUPPORTED_PROTOCOL");
}

TEST_CASE("ciphers (TLS 1.2), ciphersuites (TLS 1.3), honor_cipher_order, ecdh_curve") {
  auto cipher_of = [](const secure_context& s, const secure_context& c) {
    tls_pair p = make_pair(s, c);
    REQUIRE(p.handshake().ok());
    return std::string(p.client.get_cipher().name);
  };
  auto client12 = client_context({.max_version = "TLSv1.2"});
  CHECK(cipher_of(server_context({.ciphers = "ECDHE-ECDSA-CHACHA20-POLY1305"}), client12) ==
        "ECDHE-ECDSA-CHACHA20-POLY1305");
  // TLS_ names given in ciphers go to TLS 1.3, as Node.
  CHECK(cipher_of(server_context({.ciphers = "TLS_CHACHA20_POLY1305_SHA256"}), client_context()) ==
        "TLS_CHACHA20_POLY1305_SHA256");
  CHECK(cipher_of(server_context({.ciphersuites = "TLS_AES_128_GCM_SHA256"}), client_context()) ==
        "TLS_AES_128_GCM_SHA256");

  // The client prefers AES-128 (netco's default order); a server that honors its own order
  // picks its first.
  const char* server_order = "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256";
  CHECK(cipher_of(server_context({.ciphers = server_order}), client12) ==
        "ECDHE-ECDSA-AES128-GCM-SHA256");
  CHECK(cipher_of(server_context({.ciphers = server_order, .honor_cipher_order = true}),
                  client12) == "ECDHE-ECDSA-AES256-GCM-SHA384");

  tls_pair p384 = make_pair(server_context({.ecdh_curve = "P-384"}), client_context());
  REQUIRE(p384.handshake().ok());
  CHECK(SSL_get_negotiated_group(p384.client.native_handle()) == NID_secp384r1);
  tls_pair disjoint =
      make_pair(server_context({.ecdh_curve = "P-384"}), client_context({.ecdh_curve = "X25519"}));
  CHECK_FALSE(disjoint.handshake().ok());

  std::error_code code;
  std::string what = load_error({.ciphers = "NOPE"}, &code);
  CHECK(contains(what, "ciphers \"NOPE\""));
  CHECK(netco::tls::node_code(code) == "ERR_SSL_NO_CIPHER_MATCH");
  CHECK(contains(load_error({.ciphersuites = "TLS_NOPE"}), "ciphersuites"));
  CHECK(contains(load_error({.ecdh_curve = "nope"}), "ecdh_curve \"nope\""));
  CHECK(contains(load_error({.sigalgs = "nope"}), "sigalgs"));
  CHECK(contains(load_error({.alpn_protocols = {""}}), "alpn_protocols"));
  CHECK(contains(load_error({.alpn_protocols = {std::string(256, 'a')}}), "alpn_protocols"));
  CHECK(contains(load_error({.session_id_context = std::string(33, 'x')}), "session_id_context"));
}

TEST_CASE("identity: key and cert as text or files, errors naming what failed") {
  const tls_pki& pki = tls_pki::get();
  netco_test::temp_dir dir;
  std::string key_file = dir.write("server.key", pki.localhost.key);
  std::string cert_file = dir.write("server.crt", pki.localhost.cert);
  std::string ca_file = dir.write("ca.crt", pki.ca.cert);
  secure_context from_files(
      {.key = pem::file(key_file), .cert = pem::file(cert_file), .ca = {pem::file(ca_file)}});
  tls_pair p = make_pair(from_files, client_context({.ca = {pem::file(ca_file)}}));
  REQUIRE(p.handshake().ok());
  CHECK(p.client.authorized());
  CHECK(pem::file("x").is_file());
  CHECK_FALSE(pem("x").is_file());

  std::error_code code;
  std::string missing = (dir.path / "missing.key").string();
  std::string what = load_error({.key = pem::file(missing), .cert = pki.localhost.cert}, &code);
  CHECK(code == std::errc::no_such_file_or_directory);
  CHECK(contains(what, "key file \"" + missing + "\""));

  // OpenSSL's reasons, with Node's codes for them.
  what = load_error({.key = "junk", .cert = pki.localhost.cert}, &code);
  CHECK(contains(what, "tls::secure_context: key"));
  CHECK(netco::tls::node_code(code) == "ERR_OSSL_UNSUPPORTED");
  what = load_error({.key = pki.localhost.key, .cert = "junk"}, &code);
  CHECK(contains(what, "cert"));
  CHECK(netco::tls::node_code(code) == "ERR_OSSL_PEM_NO_START_LINE");
  what = load_error({.key = pki.other.key, .cert = pki.localhost.cert}, &code);
  CHECK(contains(what, "does not match"));
  CHECK(netco::tls::node_code(code) == "ERR_OSSL_X509_KEY_VALUES_MISMATCH");
  what = load_error({.key = pki.localhost.key}, &code);
  CHECK(code == netco::errc::invalid_argument);
  CHECK(contains(what, "needs its cert"));
  what = load_error({.ca = {"junk"}}, &code);
  CHECK(contains(what, "ca[0] holds no certificate"));
  what = load_error({.ca = {pem::file(missing)}}, &code);
  CHECK(contains(what, "ca[0] file"));
}

TEST_CASE("cert is a chain: the server sends its intermediates after the leaf") {
  const tls_pki& pki = tls_pki::get();
  using netco::tls::generate_self_signed;
  auto intermediate = generate_self_signed({.names = {},
                                            .common_name = "netco intermediate",
                                            .is_ca = true,
                                            .issuer_key = pki.ca.key,
                                            .issuer_cert = pki.ca.cert});
  auto leaf =
      generate_self_signed({.issuer_key = intermediate.key, .issuer_cert = intermediate.cert});
  auto cctx = client_context();

  tls_pair chained =
      make_pair(server_context({.key = leaf.key, .cert = leaf.cert + intermediate.cert}), cctx);
  REQUIRE(chained.handshake().ok());
  CHECK(chained.client.authorized());
  CHECK(chained.client.get_peer_certificate().issuer["CN"] == "netco intermediate");

  // Without it, Node's well-known complaint.
  tls_pair alone = make_pair(server_context({.key = leaf.key, .cert = leaf.cert}), cctx);
  auto r = alone.handshake();
  CHECK(r.client.status == netco::tls::handshake_status::failed);
  CHECK(alone.client.authorization_error() == "UNABLE_TO_VERIFY_LEAF_SIGNATURE");

  // ca may hold several certificates (one PEM or several entries).
  auto other_ca = generate_self_signed({.names = {}, .common_name = "other CA", .is_ca = true});
  tls_pair many =
      make_pair(server_context({.key = leaf.key, .cert = leaf.cert + intermediate.cert}),
                client_context({.ca = {other_ca.cert + pki.ca.cert}}));
  REQUIRE(many.handshake().ok());
  CHECK(many.client.authorized());
}

TEST_CASE("the system roots: loaded once per process, shared by every context without ca") {
  auto& counters = netco::detail::tls_counters();
  std::vector<secure_context> contexts;
  for (int i = 0; i < 5; ++i) contexts.emplace_back(context_options{});
  for (auto& c : contexts) {
    for (int i = 0; i < 3; ++i) engine::client(c, {.host = "example.com"});
  }
  CHECK(counters.root_store_loads.load() == 1);
  // The store is OpenSSL's default file: it holds roots (Debian's ca-certificates).
  X509_STORE* roots = netco::detail::tls_system_roots();
  REQUIRE(roots != nullptr);
  STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(roots);
  MESSAGE("system roots: " << sk_X509_OBJECT_num(objects));
  CHECK(sk_X509_OBJECT_num(objects) > 0);
}

TEST_CASE("the server's TLS 1.2 session-ID cache is bounded (oldest out first)") {
  auto sctx = server_context({.secure_options = SSL_OP_NO_TICKET, .session_cache_size = 2});
  auto cctx = client_context({.max_version = "TLSv1.2"});
  std::vector<netco::buffer> sessions;
  for (int i = 0; i < 3; ++i) {
    tls_pair p = make_pair(sctx, cctx);
    REQUIRE(p.handshake().ok());
    p.client.close_notify();
    p.server.close_notify();
    p.pump();
    sessions.push_back(p.client.get_session());
  }
  tls_pair first = make_pair(sctx, cctx, {.session = sessions[0]});
  REQUIRE(first.handshake().ok());
  CHECK_FALSE(first.client.is_session_reused());
  tls_pair last = make_pair(sctx, cctx, {.session = sessions[2]});
  REQUIRE(last.handshake().ok());
  CHECK(last.client.is_session_reused());

  auto no_cache = server_context({.secure_options = SSL_OP_NO_TICKET, .session_cache_size = 0});
  tls_pair a = make_pair(no_cache, cctx);
  REQUIRE(a.handshake().ok());
  netco::buffer s = a.client.get_session();
  tls_pair b = make_pair(no_cache, cctx, {.session = s});
  REQUIRE(b.handshake().ok());
  CHECK_FALSE(b.client.is_session_reused());
}

TEST_CASE("sni_table: exact names, one-label wildcards, case, the last added wins") {
  netco::tls::sni_table table;
  auto a = server_context();
  auto b = server_context();
  auto c = server_context();
  table.add_context("*.example", b);
  table.add_context("api.example", a);
  CHECK(table("api.example") == a);
  CHECK(table("API.Example") == a);
  CHECK(table("www.example") == b);
  CHECK_FALSE(table("example"));
  CHECK_FALSE(table("a.b.example"));  // '*' stays within one label
  CHECK_FALSE(table("other.test"));
  table.add_context("*.EXAMPLE", c);
  CHECK(table("api.example") == c);  // as Node's addContext: the latest first
  CHECK(table("www.example") == c);
  netco::tls::sni_table copy = table;
  copy.add_context("new.test", a);
  CHECK(table("new.test") == a);  // copies share the table
}

TEST_CASE("handles: cheap copies of one SSL_CTX") {
  secure_context empty;
  CHECK_FALSE(empty);
  CHECK(empty.native_handle() == nullptr);
  CHECK(empty.get_ticket_keys() == std::array<std::byte, 48>{});
  secure_context a = netco::tls::create_secure_context({});
  secure_context b = a;
  CHECK(a == b);
  CHECK(a.native_handle() == b.native_handle());
  CHECK_FALSE(a == secure_context(context_options{}));
}
