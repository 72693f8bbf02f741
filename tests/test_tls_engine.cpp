// tests/test_tls_engine.cpp: tls::engine, a client and a server pumped against each other in
// memory: versions, data, half-close, truncation, resumption, ALPN, SNI, mutual TLS,
// verification failures, hostile input, keylog, renegotiation
#include "netco/tls/engine.hpp"

#include <doctest/doctest.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "netco/error.hpp"
#include "test_tls_support.hpp"

using netco::buffer;
using netco::tls::client_options;
using netco::tls::context_options;
using netco::tls::engine;
using netco::tls::handshake_status;
using netco::tls::read_status;
using netco::tls::secure_context;
using netco_test::chunking;
using netco_test::client_context;
using netco_test::make_pair;
using netco_test::server_context;
using netco_test::tls_pair;
using netco_test::tls_pki;

namespace {

std::string read_all(engine& e) {
  std::string s;
  tls_pair::drain(e, s);
  return s;
}

// Sends text from one side and returns what the other read.
std::string send(tls_pair& p, engine& from, engine& to, std::string_view text) {
  auto w = from.write(text);
  REQUIRE_FALSE(w.error);
  REQUIRE(w.size == text.size());
  std::string got;
  for (int i = 0; i < 1000 && got.size() < text.size(); ++i) {
    p.pump();
    tls_pair::drain(to, got);
  }
  return got;
}

// A session the client can resume: after the handshake and a round trip (TLS 1.3 tickets come
// after the handshake), both sides closed cleanly (an unclean end drops a TLS 1.2 session).
buffer session_after_round_trip(tls_pair& p) {
  CHECK(send(p, p.client, p.server, "ping") == "ping");
  CHECK(send(p, p.server, p.client, "pong") == "pong");
  p.client.close_notify();
  p.server.close_notify();
  p.pump();
  read_all(p.client);
  read_all(p.server);
  return p.client.get_session();
}

}  // namespace

TEST_CASE("TLS 1.3 handshake, data both ways, Node's peer information") {
  auto sctx = server_context();
  auto cctx = client_context();
  for (chunking cut : {chunking::whole, chunking::random, chunking::byte}) {
    CAPTURE(static_cast<int>(cut));
    tls_pair p = make_pair(sctx, cctx);
    p.cut = cut;
    auto r = p.handshake();
    REQUIRE(r.ok());
    CHECK(p.client.handshake_done());
    CHECK(p.client.get_protocol() == "TLSv1.3");
    CHECK(p.server.get_protocol() == "TLSv1.3");
    CHECK(p.client.get_cipher().name == "TLS_AES_256_GCM_SHA384");
    CHECK(p.client.get_cipher().standard_name == "TLS_AES_256_GCM_SHA384");
    CHECK(p.client.get_cipher().version == "TLSv1.3");
    CHECK(p.client.authorized());
    CHECK(p.client.authorization_error().empty());
    CHECK_FALSE(p.server.authorized());  // no client certificate was asked for (Node's rule)
    CHECK(p.server.servername() == "localhost");
    CHECK(p.client.servername() == "localhost");
    CHECK(p.client.alpn_protocol().empty());
    CHECK_FALSE(p.client.is_session_reused());
    CHECK(p.server.is_server());
    CHECK_FALSE(p.client.is_server());
    auto cert = p.client.get_peer_certificate();
    CHECK(cert.subject["CN"] == "localhost");
    CHECK(cert.issuer["CN"] == "netco test CA");
    CHECK(cert.subjectaltname == "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1");
    CHECK(p.server.get_certificate().fingerprint256 == cert.fingerprint256);
    CHECK(p.server.get_peer_certificate().empty());

    CHECK(send(p, p.client, p.server, "hello server") == "hello server");
    CHECK(send(p, p.server, p.client, "hello client") == "hello client");
  }
}

TEST_CASE("TLS 1.2 when the client's max_version says so") {
  auto sctx = server_context();
  auto cctx = client_context({.max_version = "TLSv1.2"});
  tls_pair p = make_pair(sctx, cctx);
  REQUIRE(p.handshake().ok());
  CHECK(p.client.get_protocol() == "TLSv1.2");
  CHECK(p.server.get_protocol() == "TLSv1.2");
  CHECK(p.client.get_cipher().name == "ECDHE-ECDSA-AES128-GCM-SHA256");
  CHECK(p.client.get_cipher().standard_name == "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
  CHECK(p.client.get_cipher().version == "TLSv1.2");
  CHECK(p.client.authorized());
  CHECK(send(p, p.client, p.server, "over 1.2") == "over 1.2");
  CHECK(send(p, p.server, p.client, "back") == "back");
}

TEST_CASE("1 MiB each way in random write sizes over random and byte-sized ciphertext cuts") {
  auto sctx = server_context();
  auto cctx = client_context();
  std::mt19937 rng(7);
  for (auto [cut_binding, total] : {std::pair{chunking::random, std::size_t{1} << 20},
                                    std::pair{chunking::whole, std::size_t{1} << 20},
                                    std::pair{chunking::byte, std::size_t{64} << 10}}) {
    // NOTE: a copy: clang 14 cannot capture a structured binding (CAPTURE is a lambda).
    chunking cut = cut_binding;
    CAPTURE(static_cast<int>(cut));
    tls_pair p = make_pair(sctx, cctx);
    p.cut = cut;
    REQUIRE(p.handshake().ok());
    std::string data(total, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    for (engine* from : {&p.client, &p.server}) {
      engine& to = from == &p.client ? p.server : p.client;
      std::string got;
      std::size_t at = 0;
      while (at < data.size()) {
        std::size_t n =
            std::min(data.size() - at, std::uniform_int_distribution<std::size_t>(1, 40000)(rng));
        auto w = from->write(std::string_view(data).substr(at, n));
        REQUIRE_FALSE(w.error);
        at += n;
        if (rng() % 3 == 0) {
          p.pump();
          tls_pair::drain(to, got);
        }
      }
      for (int i = 0; i < 100 && got.size() < data.size(); ++i) {
        p.pump();
        tls_pair::drain(to, got);
      }
      CHECK(got.size() == data.size());
      CHECK(got == data);
    }
  }
}

TEST_CASE("read_chunk: one buffer per record, of exactly its size, allocated only then") {
  auto sctx = server_context();
  auto cctx = client_context();
  tls_pair p = make_pair(sctx, cctx);
  REQUIRE(p.handshake().ok());
  buffer chunk;
  CHECK(p.server.read_chunk(chunk).status == read_status::want_read);
  CHECK(chunk.empty());
  p.client.write("first");
  p.client.write(std::string(20000, 'x'));  // two records: 16384 + 3616
  p.pump();
  auto r = p.server.read_chunk(chunk);
  REQUIRE(r.status == read_status::data);
  CHECK(chunk == "first");
  CHECK(chunk.size() == 5);
  REQUIRE(p.server.read_chunk(chunk).status == read_status::data);
  CHECK(chunk.size() == 16384);
  REQUIRE(p.server.read_chunk(chunk, 1000).status == read_status::data);
  CHECK(chunk.size() == 1000);
  REQUIRE(p.server.read_chunk(chunk).status == read_status::data);
  CHECK(chunk.size() == 2616);
  CHECK(p.server.read_chunk(chunk).status == read_status::want_read);
}

TEST_CASE("pending_output() and consume_output() in pieces: one gathered write at a time") {
  auto sctx = server_context();
  auto cctx = client_context();
  tls_pair p = make_pair(sctx, cctx);
  REQUIRE(p.handshake().ok());
  std::string data(100000, 'q');
  REQUIRE_FALSE(p.client.write(data).error);
  std::size_t total = p.client.output_size();
  CHECK(total > data.size());
  std::string wire;
  while (p.client.has_output()) {
    auto spans = p.client.pending_output();
    REQUIRE_FALSE(spans.empty());
    CHECK(spans.size() < 16);  // large blocks, not one per record
    // A short write: the first 1000 bytes (or less) of the gathered spans.
    std::size_t n = std::min<std::size_t>(1000, spans[0].size());
    wire.append(reinterpret_cast<const char*>(spans[0].data()), n);
    p.client.consume_output(n);
  }
  CHECK(wire.size() == total);
  p.server.feed(buffer::from(wire));
  CHECK(read_all(p.server) == data);
}

TEST_CASE("half-close: the client's close_notify, the server writes on, then closes") {
  auto sctx = server_context();
  auto cctx = client_context();
  for (const char* version : {"TLSv1.3", "TLSv1.2"}) {
    CAPTURE(version);
    tls_pair p = make_pair(sctx, client_context({.max_version = version}));
    REQUIRE(p.handshake().ok());
    p.client.close_notify();
    CHECK(p.client.close_notify_sent());
    CHECK(p.client.write("late").error == netco::errc::write_after_end);
    p.pump();
    std::string got;
    auto r = tls_pair::drain(p.server, got);
    CHECK(r.status == read_status::closed);
    CHECK(p.server.close_notify_received());
    buffer chunk;
    CHECK(p.server.read_chunk(chunk).status == read_status::closed);
    // The server's side is still open: it answers, and the client (half-closed) reads it.
    CHECK(send(p, p.server, p.client, "still here") == "still here");
    p.server.close_notify();
    p.pump();
    CHECK(tls_pair::drain(p.client, got).status == read_status::closed);
    CHECK(p.client.close_notify_received());
  }
}

TEST_CASE("truncation: EOF without close_notify is `truncated`, not `closed`") {
  auto sctx = server_context();
  auto cctx = client_context();
  tls_pair p = make_pair(sctx, cctx);
  REQUIRE(p.handshake().ok());
  p.client.write("partial");
  p.pump();
  std::string got;
  CHECK(tls_pair::drain(p.server, got).status == read_status::want_read);
  CHECK(got == "partial");
  p.server.feed_eof();
  std::byte buf[64];
  auto r = p.server.read(buf);
  CHECK(r.status == read_status::truncated);
  CHECK(netco::tls::node_code(r.error) == "ERR_SSL_UNEXPECTED_EOF_WHILE_READING");
  CHECK(r.error.message() == "unexpected eof while reading [ERR_SSL_UNEXPECTED_EOF_WHILE_READING]");
  CHECK(p.server.read(buf).status == read_status::truncated);
  CHECK(p.server.write("x").error);

  // EOF inside a record: truncated too.
  tls_pair q = make_pair(sctx, cctx);
  REQUIRE(q.handshake().ok());
  q.client.write("a record cut short");
  std::vector<buffer> out;
  q.client.take_output(out);
  q.server.feed(out[0].slice(0, out[0].size() - 3));
  q.server.feed_eof();
  CHECK(q.server.read(buf).status == read_status::truncated);

  // EOF during the handshake: a clean failure.
  tls_pair h = make_pair(sctx, cctx);
  h.client.handshake_step();
  h.transfer(h.client, h.server);
  h.server.handshake_step();
  h.server.take_output(out);
  h.client.feed_eof();
  auto hr = h.client.handshake_step();
  CHECK(hr.status == handshake_status::failed);
  CHECK(netco::tls::node_code(hr.error) == "ERR_SSL_UNEXPECTED_EOF_WHILE_READING");
}

TEST_CASE("session resumption: a TLS 1.3 ticket, a TLS 1.2 ticket, a TLS 1.2 session ID") {
  struct variant {
    const char* name;
    const char* max_version;
    std::uint64_t server_options;
  };
  for (variant v : {variant{"1.3 ticket", "TLSv1.3", 0}, variant{"1.2 ticket", "TLSv1.2", 0},
                    variant{"1.2 session id", "TLSv1.2", SSL_OP_NO_TICKET}}) {
    CAPTURE(v.name);
    auto sctx = server_context({.secure_options = v.server_options});
    auto cctx = client_context({.max_version = v.max_version});
    tls_pair first = make_pair(sctx, cctx);
    std::vector<buffer> sessions;
    first.client.on_session([&](buffer s) { sessions.push_back(std::move(s)); });
    REQUIRE(first.handshake().ok());
    buffer session = session_after_round_trip(first);
    REQUIRE_FALSE(session.empty());
    CHECK_FALSE(sessions.empty());  // TLS 1.3: one per ticket (2 by default)
    CHECK_FALSE(first.client.is_session_reused());

    tls_pair second = make_pair(sctx, cctx, {.session = session});
    REQUIRE(second.handshake().ok());
    CHECK(second.client.is_session_reused());
    CHECK(second.server.is_session_reused());
    CHECK(second.client.authorized());  // the first connection's verdict, kept in the session
    CHECK(send(second, second.client, second.server, "resumed") == "resumed");

    // Another server context (other ticket keys, other cache) cannot resume it.
    tls_pair third =
        make_pair(server_context({.secure_options = v.server_options}), cctx, {.session = session});
    REQUIRE(third.handshake().ok());
    CHECK_FALSE(third.client.is_session_reused());
  }
  CHECK_THROWS_AS(engine::client(client_context(), {.session = buffer::from("not a session")}),
                  std::system_error);
}

TEST_CASE("server session hooks: an external cache. Node: 'newSession', 'resumeSession'") {
  std::vector<std::pair<std::string, buffer>> store;
  auto sctx = server_context({
      .secure_options = SSL_OP_NO_TICKET,
      .on_new_session =
          [&](std::span<const std::byte> id, buffer s) {
            store.emplace_back(std::string(reinterpret_cast<const char*>(id.data()), id.size()),
                               std::move(s));
          },
      .on_resume_session =
          [&](std::span<const std::byte> id) {
            std::string key(reinterpret_cast<const char*>(id.data()), id.size());
            for (auto& [k, s] : store)
              if (k == key) return s;
            return buffer();
          },
  });
  auto cctx = client_context({.max_version = "TLSv1.2"});
  tls_pair first = make_pair(sctx, cctx);
  REQUIRE(first.handshake().ok());
  buffer session = session_after_round_trip(first);
  CHECK(store.size() == 1);
  tls_pair second = make_pair(sctx, cctx, {.session = session});
  REQUIRE(second.handshake().ok());
  CHECK(second.server.is_session_reused());
}

TEST_CASE("ALPN: the server's preference among the client's; no overlap is a fatal alert") {
  auto sctx = server_context({.alpn_protocols = {"h2", "http/1.1"}});
  auto cctx = client_context();
  tls_pair p = make_pair(sctx, cctx, {.alpn_protocols = {"http/1.1", "h2"}});
  REQUIRE(p.handshake().ok());
  CHECK(p.client.alpn_protocol() == "h2");
  CHECK(p.server.alpn_protocol() == "h2");

  tls_pair q = make_pair(sctx, cctx, {.alpn_protocols = {"http/1.1"}});
  REQUIRE(q.handshake().ok());
  CHECK(q.client.alpn_protocol() == "http/1.1");

  // A client that offers none gets none (and no alert).
  tls_pair none = make_pair(sctx, cctx);
  REQUIRE(none.handshake().ok());
  CHECK(none.client.alpn_protocol().empty());

  // Node >= 19: no overlap ends the handshake with no_application_protocol.
  tls_pair bad = make_pair(sctx, cctx, {.alpn_protocols = {"spdy/3"}});
  auto r = bad.handshake();
  CHECK(r.server.status == handshake_status::failed);
  CHECK(netco::tls::node_code(r.server.error) == "ERR_SSL_NO_APPLICATION_PROTOCOL");
  CHECK(r.client.status == handshake_status::failed);
  CHECK(netco::tls::node_code(r.client.error) == "ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL");

  // The context's list is the client's default offer.
  tls_pair ctx_offer = make_pair(sctx, client_context({.alpn_protocols = {"http/1.1"}}));
  REQUIRE(ctx_offer.handshake().ok());
  CHECK(ctx_offer.server.alpn_protocol() == "http/1.1");
}

TEST_CASE("SNI: the server switches to the context for the name; servername server side") {
  const tls_pki& pki = tls_pki::get();
  netco::tls::sni_table table;
  auto other = secure_context({.key = pki.other.key, .cert = pki.other.cert});
  table.add_context("other.example", other);
  table.add_context("*.wild.example", other);
  auto sctx = server_context({.alpn_protocols = {"h2"}, .sni_callback = table});
  auto cctx = client_context();

  tls_pair a = make_pair(sctx, cctx, {.host = "other.example", .alpn_protocols = {"h2"}});
  REQUIRE(a.handshake().ok());
  CHECK(a.server.servername() == "other.example");
  CHECK(a.client.get_peer_certificate().subject["CN"] == "other.example");
  CHECK(a.client.authorized());
  CHECK(a.client.alpn_protocol() == "h2");  // ALPN stays the server's (the first context's)

  tls_pair w = make_pair(sctx, cctx, {.host = "api.wild.example"});
  REQUIRE(w.handshake().ok());
  CHECK(w.client.get_peer_certificate().subject["CN"] == "other.example");
  CHECK(w.client.authorized());

  tls_pair d = make_pair(sctx, cctx, {.host = "localhost"});
  REQUIRE(d.handshake().ok());
  CHECK(d.client.get_peer_certificate().subject["CN"] == "localhost");

  // servername overrides host for SNI and for the check.
  tls_pair s = make_pair(sctx, cctx, {.host = "127.0.0.1", .servername = "other.example"});
  REQUIRE(s.handshake().ok());
  CHECK(s.server.servername() == "other.example");
  CHECK(s.client.authorized());

  // An SNI callback that throws fails that handshake, and the exception reaches the caller.
  auto throwing = server_context({.sni_callback = [](std::string_view) -> secure_context {
    throw std::runtime_error("sni");
  }});
  tls_pair t = make_pair(throwing, cctx);
  t.client.handshake_step();
  t.transfer(t.client, t.server);
  CHECK_THROWS_WITH_AS(t.server.handshake_step(), "sni", std::runtime_error);
}

TEST_CASE("mutual TLS: request_cert + reject_unauthorized") {
  const tls_pki& pki = tls_pki::get();
  auto sctx = server_context({.ca = {pki.ca.cert}, .request_cert = true});
  for (const char* version : {"TLSv1.3", "TLSv1.2"}) {
    CAPTURE(version);
    SUBCASE("a good client certificate: authorized both ways") {
      auto cctx =
          client_context({.key = pki.client.key, .cert = pki.client.cert, .max_version = version});
      tls_pair p = make_pair(sctx, cctx);
      REQUIRE(p.handshake().ok());
      CHECK(p.server.authorized());
      CHECK(p.server.get_peer_certificate().subject["CN"] == "alice");
      CHECK(p.client.authorized());
      CHECK(send(p, p.client, p.server, "mtls") == "mtls");
    }
    SUBCASE("no client certificate: the server refuses") {
      tls_pair p = make_pair(sctx, client_context({.max_version = version}));
      auto r = p.handshake();
      CHECK(r.server.status == handshake_status::failed);
      CHECK(netco::tls::node_code(r.server.error) == "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE");
      // TLS 1.3: the client's handshake ends before the server's verdict, which comes as an
      // alert on the first read.
      std::string got;
      auto rr = r.client.status == handshake_status::done ? tls_pair::drain(p.client, got)
                                                          : netco::tls::read_result{};
      CHECK((r.client.status == handshake_status::failed || rr.status == read_status::failed));
    }
    SUBCASE("a certificate from an unknown CA: refused, with the reason") {
      auto cctx = client_context(
          {.key = pki.rogue_client.key, .cert = pki.rogue_client.cert, .max_version = version});
      tls_pair p = make_pair(sctx, cctx);
      auto r = p.handshake();
      CHECK(r.server.status == handshake_status::failed);
      CHECK(r.server.error == netco::tls::errc::unable_to_verify_leaf_signature);
      CHECK(p.server.authorization_error() == "UNABLE_TO_VERIFY_LEAF_SIGNATURE");
      CHECK_FALSE(p.server.authorized());
      std::string got;
      auto rr = r.client.status == handshake_status::done ? tls_pair::drain(p.client, got)
                                                          : netco::tls::read_result{};
      auto client_error = r.client.status == handshake_status::failed ? r.client.error : rr.error;
      CHECK(netco::tls::node_code(client_error) == "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA");
    }
  }
  SUBCASE("request_cert without reject_unauthorized: connected, not authorized, and why") {
    auto lenient =
        server_context({.ca = {pki.ca.cert}, .request_cert = true, .reject_unauthorized = false});
    tls_pair none = make_pair(lenient, client_context());
    REQUIRE(none.handshake().ok());
    CHECK_FALSE(none.server.authorized());
    CHECK(none.server.authorization_error() == "UNABLE_TO_GET_ISSUER_CERT");
    tls_pair rogue = make_pair(
        lenient, client_context({.key = pki.rogue_client.key, .cert = pki.rogue_client.cert}));
    REQUIRE(rogue.handshake().ok());
    CHECK_FALSE(rogue.server.authorized());
    CHECK(rogue.server.authorization_error() == "UNABLE_TO_VERIFY_LEAF_SIGNATURE");
    CHECK(rogue.server.get_peer_certificate().subject["CN"] == "mallory");
  }
}

TEST_CASE("verification failures carry Node's codes; reject_unauthorized=false goes on") {
  const tls_pki& pki = tls_pki::get();
  struct failure {
    const netco::tls::key_and_cert* server;
    const char* host;
    const char* code;
    netco::tls::errc errc;
  };
  for (failure f : {
           failure{&pki.expired, "localhost", "CERT_HAS_EXPIRED",
                   netco::tls::errc::cert_has_expired},
           failure{&pki.localhost, "example.org", "ERR_TLS_CERT_ALTNAME_INVALID",
                   netco::tls::errc::cert_altname_invalid},
           failure{&pki.rogue_leaf, "localhost", "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
                   netco::tls::errc::unable_to_verify_leaf_signature},
           failure{&pki.self_signed, "localhost", "DEPTH_ZERO_SELF_SIGNED_CERT",
                   netco::tls::errc::depth_zero_self_signed_cert},
       }) {
    CAPTURE(f.code);
    auto sctx = server_context({.key = f.server->key, .cert = f.server->cert});
    auto cctx = client_context();
    tls_pair p = make_pair(sctx, cctx, {.host = f.host});
    auto r = p.handshake();
    CHECK(r.client.status == handshake_status::failed);
    CHECK(r.client.error == f.errc);
    CHECK(netco::tls::node_code(r.client.error) == f.code);
    CHECK(netco::tls::is_verify_error(r.client.error));
    CHECK(p.client.authorization_error() == f.code);
    CHECK(r.server.status == handshake_status::failed);  // it got the client's alert
    CHECK_FALSE(p.client.authorized());

    tls_pair lenient = make_pair(sctx, cctx, {.host = f.host, .reject_unauthorized = false});
    REQUIRE(lenient.handshake().ok());
    CHECK_FALSE(lenient.client.authorized());
    CHECK(lenient.client.authorization_error() == f.code);
    CHECK(send(lenient, lenient.client, lenient.server, "anyway") == "anyway");
  }
  // The system roots (no ca) do not know the test CA either.
  tls_pair sys = make_pair(server_context(), secure_context(context_options{}));
  auto r = sys.handshake();
  CHECK(r.client.error == netco::tls::errc::unable_to_verify_leaf_signature);
  // The message as Node words it, then Node's code.
  CHECK(r.client.error.message() ==
        "unable to verify the first certificate [UNABLE_TO_VERIFY_LEAF_SIGNATURE]");
}

TEST_CASE("an IP literal target is checked against IP SANs and sends no SNI") {
  auto sctx = server_context();
  auto cctx = client_context();
  for (const char* ip : {"127.0.0.1", "::1"}) {
    CAPTURE(ip);
    tls_pair p = make_pair(sctx, cctx, {.host = ip});
    REQUIRE(p.handshake().ok());
    CHECK(p.client.authorized());
    CHECK(p.server.servername().empty());
    CHECK(p.client.servername().empty());
  }
  tls_pair wrong = make_pair(sctx, cctx, {.host = "10.0.0.1"});
  auto r = wrong.handshake();
  CHECK(r.client.error == netco::tls::errc::cert_altname_invalid);
  CHECK(wrong.client.authorization_error() == "ERR_TLS_CERT_ALTNAME_INVALID");
}

TEST_CASE("check_server_identity replaces the host check (pinning), runs after the chain") {
  auto sctx = server_context();
  auto cctx = client_context();
  std::string pinned =
      netco::tls::certificate::from_pem(tls_pki::get().localhost.cert).fingerprint256;
  int calls = 0;
  auto pin = [&](std::string_view host, const netco::tls::certificate& cert) -> std::error_code {
    ++calls;
    CHECK(host == "pinned.example");
    if (cert.fingerprint256 == pinned) return {};
    return netco::tls::errc::cert_altname_invalid;
  };
  tls_pair ok = make_pair(sctx, cctx, {.host = "pinned.example", .check_server_identity = pin});
  REQUIRE(ok.handshake().ok());
  CHECK(ok.client.authorized());
  CHECK(calls == 1);

  pinned = "nope";
  tls_pair bad = make_pair(sctx, cctx, {.host = "pinned.example", .check_server_identity = pin});
  auto r = bad.handshake();
  CHECK(r.client.status == handshake_status::failed);
  CHECK(r.client.error == netco::tls::errc::cert_altname_invalid);

  // The default, callable: Node's tls.checkServerIdentity.
  auto cert = netco::tls::certificate::from_pem(tls_pki::get().other.cert);
  CHECK_FALSE(netco::tls::check_server_identity("other.example", cert));
  CHECK_FALSE(netco::tls::check_server_identity("a.wild.example", cert));
  CHECK(netco::tls::check_server_identity("a.b.wild.example", cert));
  CHECK(netco::tls::check_server_identity("localhost", cert) ==
        netco::tls::errc::cert_altname_invalid);
}

TEST_CASE("a TLS 1.1-only client is refused") {
  auto sctx = server_context();
  // NOTE: OpenSSL 3.0 at security level 2 will not even offer TLS 1.1; level 0 lets it try.
  auto old = client_context(
      {.min_version = "TLSv1.1", .max_version = "TLSv1.1", .ciphers = "DEFAULT:@SECLEVEL=0"});
  tls_pair p = make_pair(sctx, old);
  auto r = p.handshake();
  CHECK(r.server.status == handshake_status::failed);
  CHECK(netco::tls::node_code(r.server.error) == "ERR_SSL_UNSUPPORTED_PROTOCOL");
  CHECK(r.client.status == handshake_status::failed);
  CHECK(netco::tls::node_code(r.client.error) == "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION");
}

TEST_CASE("hostile input: garbage, or plain HTTP, instead of a ClientHello") {
  auto sctx = server_context();
  std::mt19937 rng(99);
  for (int i = 0; i < 50; ++i) {
    engine s = engine::server(sctx);
    std::string junk(1 + rng() % 600, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    s.feed(buffer::from(junk));
    auto r = s.handshake_step();
    if (r.status == handshake_status::failed) {
      CHECK(r.error.category() == netco::tls::tls_category());
      CHECK_FALSE(r.error.message().empty());
    } else {
      CHECK(r.status != handshake_status::done);
    }
    std::byte buf[16];
    CHECK(s.read(buf).status == read_status::failed);
  }
  engine s = engine::server(sctx);
  s.feed(buffer::from("GET / HTTP/1.1\r\n\r\n"));
  auto r = s.handshake_step();
  CHECK(r.status == handshake_status::failed);
  CHECK(netco::tls::node_code(r.error) == "ERR_SSL_HTTP_REQUEST");
  CHECK(r.error.message() == "http request [ERR_SSL_HTTP_REQUEST]");
  CHECK(s.handshake_step().error == r.error);  // it stays failed

  // A client that gets plaintext back (an HTTP server): wrong version number, as Node.
  engine c = engine::client(client_context());
  c.handshake_step();
  c.feed(buffer::from("HTTP/1.1 400 Bad Request\r\n\r\n"));
  auto cr = c.handshake_step();
  CHECK(netco::tls::node_code(cr.error) == "ERR_SSL_WRONG_VERSION_NUMBER");
}

TEST_CASE("keylog: NSS key log lines for both sides") {
  auto sctx = server_context();
  for (const char* version : {"TLSv1.3", "TLSv1.2"}) {
    CAPTURE(version);
    tls_pair p = make_pair(sctx, client_context({.max_version = version}));
    std::vector<std::string> client_lines, server_lines;
    p.client.on_keylog([&](std::string_view line) { client_lines.emplace_back(line); });
    p.server.on_keylog([&](std::string_view line) { server_lines.emplace_back(line); });
    REQUIRE(p.handshake().ok());
    REQUIRE_FALSE(client_lines.empty());
    CHECK(client_lines.size() == server_lines.size());
    std::string first =
        std::string(version) == "TLSv1.3" ? "SERVER_HANDSHAKE_TRAFFIC_SECRET " : "CLIENT_RANDOM ";
    bool found = false;
    for (auto& l : client_lines) found = found || l.rfind(first, 0) == 0;
    CHECK(found);
    // Both ends log the same secrets.
    std::sort(client_lines.begin(), client_lines.end());
    std::sort(server_lines.begin(), server_lines.end());
    CHECK(client_lines == server_lines);
  }
}

TEST_CASE("renegotiation is refused both ways") {
  auto sctx = server_context();
  auto cctx = client_context({.max_version = "TLSv1.2"});
  SUBCASE("a client asks (OpenSSL's own check lifted on its side): the server refuses") {
    tls_pair p = make_pair(sctx, cctx);
    REQUIRE(p.handshake().ok());
    REQUIRE_FALSE(p.client.write("before").error);
    SSL_clear_options(p.client.native_handle(), SSL_OP_NO_RENEGOTIATION);
    REQUIRE(SSL_renegotiate(p.client.native_handle()) == 1);
    SSL_do_handshake(p.client.native_handle());  // sends the ClientHello
    std::string server_got;
    netco::tls::read_result rs{read_status::want_read}, rc{read_status::want_read};
    for (int i = 0; i < 20; ++i) {
      p.pump();
      rs = tls_pair::drain(p.server, server_got);
      std::byte b[64];
      rc = p.client.read(b);
      if (rc.status == read_status::failed || rs.status == read_status::failed) break;
    }
    CHECK(server_got == "before");
    CHECK(rs.status == read_status::want_read);  // the server only said no (a warning)
    // The server said no_renegotiation: the client's renegotiation fails the connection.
    CHECK(rc.status == read_status::failed);
    CHECK(netco::tls::node_code(rc.error) == "ERR_SSL_NO_RENEGOTIATION");
    CHECK(SSL_renegotiate_pending(p.server.native_handle()) == 0);
  }
  SUBCASE("the server asks (HelloRequest): the client refuses") {
    tls_pair p = make_pair(sctx, cctx);
    REQUIRE(p.handshake().ok());
    SSL_clear_options(p.server.native_handle(), SSL_OP_NO_RENEGOTIATION);
    REQUIRE(SSL_renegotiate(p.server.native_handle()) == 1);
    SSL_do_handshake(p.server.native_handle());  // sends the HelloRequest
    p.pump();
    std::string got;
    auto rc = tls_pair::drain(p.client, got);
    CHECK(rc.status == read_status::want_read);  // a warning alert back, the link stays up
    p.pump();
    auto rs = tls_pair::drain(p.server, got);
    CHECK(rs.status == read_status::failed);
    CHECK(netco::tls::node_code(rs.error) == "ERR_SSL_NO_RENEGOTIATION");
  }
}

TEST_CASE("one context, many engines: the SSL_CTX is made once") {
  auto& counters = netco::detail::tls_counters();
  long contexts = counters.contexts.load();
  long engines = counters.engines.load();
  auto sctx = server_context();
  auto cctx = client_context();
  CHECK(counters.contexts.load() == contexts + 2);
  for (int i = 0; i < 20; ++i) {
    tls_pair p = make_pair(sctx, cctx);
    REQUIRE(p.handshake().ok());
    CHECK(send(p, p.client, p.server, "x") == "x");
  }
  CHECK(counters.contexts.load() == contexts + 2);
  CHECK(counters.engines.load() == engines + 40);
}

TEST_CASE("ticket keys: get/set share tickets between contexts; rotation keeps old tickets") {
  auto cctx = client_context();
  auto a = server_context();
  auto keys = a.get_ticket_keys();
  auto b = server_context({.ticket_keys = std::vector<std::byte>(keys.begin(), keys.end())});
  CHECK(b.get_ticket_keys() == keys);

  tls_pair first = make_pair(a, cctx);
  REQUIRE(first.handshake().ok());
  buffer session = session_after_round_trip(first);
  tls_pair on_b = make_pair(b, cctx, {.session = session});
  REQUIRE(on_b.handshake().ok());
  CHECK(on_b.client.is_session_reused());  // b decrypted a's ticket: same keys

  // New keys on b: a's tickets no longer resume there.
  std::array<std::byte, 48> fresh{};
  for (std::size_t i = 0; i < fresh.size(); ++i) fresh[i] = std::byte(i);
  b.set_ticket_keys(fresh);
  CHECK(b.get_ticket_keys() == fresh);
  tls_pair refused = make_pair(b, cctx, {.session = session});
  REQUIRE(refused.handshake().ok());
  CHECK_FALSE(refused.client.is_session_reused());
  CHECK_THROWS_AS(b.set_ticket_keys(std::span(fresh).first(47)), std::system_error);
  std::error_code ec;
  b.set_ticket_keys(std::span(fresh).first(10), ec);
  CHECK(ec == netco::tls::errc::invalid_ticket_keys);
  CHECK_THROWS_AS(server_context({.ticket_keys = std::vector<std::byte>(47)}), std::system_error);

  // Automatic rotation (random keys, every session_timeout): the next ticket after it uses new
  // keys, and a ticket of the previous ones still resumes (and is renewed), until they are
  // two periods old. The keys' clock jumps ahead instead of the test waiting.
  auto rot = server_context({.session_timeout = std::chrono::seconds(100)});
  auto before = rot.get_ticket_keys();
  netco::detail::tls_advance_ticket_clock(rot, std::chrono::seconds(99));
  tls_pair r1 = make_pair(rot, cctx);
  REQUIRE(r1.handshake().ok());
  buffer old_session = session_after_round_trip(r1);
  CHECK(rot.get_ticket_keys() == before);
  netco::detail::tls_advance_ticket_clock(rot, std::chrono::seconds(2));
  tls_pair r2 = make_pair(rot, cctx);
  REQUIRE(r2.handshake().ok());
  buffer new_session = session_after_round_trip(r2);
  auto after = rot.get_ticket_keys();
  CHECK(after != before);
  tls_pair r3 = make_pair(rot, cctx, {.session = old_session});
  REQUIRE(r3.handshake().ok());
  CHECK(r3.client.is_session_reused());
  CHECK(rot.get_ticket_keys() == after);  // no second rotation

  // Past the previous keys' last tickets: they no longer resume; the current ones still do.
  netco::detail::tls_advance_ticket_clock(rot, std::chrono::seconds(101));
  tls_pair r4 = make_pair(rot, cctx, {.session = old_session});
  REQUIRE(r4.handshake().ok());
  CHECK_FALSE(r4.client.is_session_reused());
  tls_pair r5 = make_pair(rot, cctx, {.session = new_session});
  REQUIRE(r5.handshake().ok());
  CHECK(r5.client.is_session_reused());
}

TEST_CASE("misuse: data before the handshake, after close_notify, from callbacks") {
  auto sctx = server_context();
  auto cctx = client_context();
  tls_pair p = make_pair(sctx, cctx);
  CHECK(p.client.write("early").error == netco::tls::errc::not_connected);
  std::byte buf[8];
  CHECK(p.client.read(buf).error == netco::tls::errc::not_connected);
  REQUIRE(p.handshake().ok());
  CHECK(p.server.write("").size == 0);
  p.server.close_notify();
  p.server.close_notify();  // once
  CHECK(p.server.write("after").error == netco::errc::write_after_end);
  CHECK_THROWS_AS(engine::client(secure_context()), std::system_error);
  CHECK_THROWS_AS(engine::server(secure_context()), std::system_error);

  tls_pair q = make_pair(sctx, cctx);
  q.client.on_keylog([](std::string_view) { throw std::runtime_error("keylog listener"); });
  CHECK_THROWS_WITH_AS(q.handshake(), "keylog listener", std::runtime_error);

  engine moved = std::move(q.server);
  CHECK(moved);
  CHECK_FALSE(q.server);
}
