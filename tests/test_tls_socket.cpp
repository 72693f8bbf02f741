// tests/test_tls_socket.cpp: Node-style TLS (tls::socket, tls::connect, tls::create_server)
// over loopback: events in order, data both ways, verification, mTLS, SNI, ALPN, sessions,
// tlsClientError (plaintext, timeout), half-close
#include "netco/tls/socket.hpp"

#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "netco/net.hpp"
#include "netco/tls.hpp"
#include "support.hpp"
#include "test_tls_support.hpp"

using namespace std::chrono_literals;
using netco::task;
using netco::tls::context_options;
using netco_test::eventually;
using netco_test::tls_pki;

namespace {

/// Server options for leaf (the localhost one by default), with extra context options.
netco::tls::server_options server_for(const netco::tls::key_and_cert& leaf,
                                      context_options extra = {}) {
  netco::tls::server_options o;
  o.tls = std::move(extra);
  o.tls.key = leaf.key;
  o.tls.cert = leaf.cert;
  return o;
}

/// Client options trusting the test CA.
netco::tls::connect_options client_to(std::uint16_t port, context_options extra = {}) {
  netco::tls::connect_options o;
  o.port = port;
  if (extra.ca.empty()) extra.ca = {tls_pki::get().ca.cert};
  o.context = netco::tls::secure_context(extra);
  return o;
}

/// An echo server: every secure connection writes back what it reads.
netco::tls::server echo_server(netco::tls::server_options o) {
  return netco::tls::create_server(o, [](netco::tls::socket s) {
    s.on("data", [s](const netco::buffer& b) { s.write(b); });
    s.on("end", [s] { s.end(); });
  });
}

struct client_result {
  std::string received;
  bool secure = false, closed = false;
  std::error_code error;
  std::string protocol, alpn, authorization_error;
  bool authorized = false, reused = false;
  std::string peer_cn;
  netco::buffer session;
};

/// Connects, writes payload, ends, and collects what comes back.
std::shared_ptr<client_result> talk(netco::tls::connect_options o, std::string payload) {
  auto r = std::make_shared<client_result>();
  netco::tls::socket s = netco::tls::connect(std::move(o));
  s.on("secureConnect", [r, s] {
    r->secure = true;
    r->protocol = s.get_protocol();
    r->alpn = s.alpn_protocol();
    r->authorized = s.authorized();
    r->authorization_error = s.authorization_error();
    r->reused = s.is_session_reused();
    r->peer_cn = s.get_peer_certificate().subject["CN"];
  });
  s.on("session", [r](netco::buffer b) { r->session = b; });
  s.on("data", [r](const netco::buffer& b) { r->received += b.view(); });
  s.on("error", [r](std::error_code ec) { r->error = ec; });
  s.on("close", [r] { r->closed = true; });
  s.write(payload);
  s.end();
  return r;
}

}  // namespace

TEST_CASE("secureConnection and secureConnect; data both ways with TLS 1.3 and 1.2, 1 MiB") {
  for (const char* version : {"TLSv1.3", "TLSv1.2"}) {
    CAPTURE(version);
    netco_test::run([version]() -> task<> {
      context_options sc;
      sc.max_version = version;
      netco::tls::server server = echo_server(server_for(tls_pki::get().localhost, sc));
      int secured = 0;
      server.on("secureConnection", [&](netco::tls::socket s) {
        ++secured;
        CHECK(s.secure());
        CHECK(s.get_protocol() == version);
      });
      server.listen(0, "127.0.0.1");
      co_await eventually([&] { return server.listening(); });
      std::string big(1 << 20, 'x');
      for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
      auto r = talk(client_to(server.address().port), big);
      CHECK(co_await eventually([&] { return r->closed; }));
      CHECK(!r->error);
      CHECK(r->secure);
      CHECK(r->authorized);
      CHECK(r->protocol == version);
      CHECK(r->peer_cn == "localhost");
      CHECK(r->received.size() == big.size());
      CHECK(r->received == big);
      CHECK(secured == 1);
      server.close();
    }());
  }
}

TEST_CASE("verification failures are 'error' events with Node's codes; opting out is explicit") {
  netco_test::run([]() -> task<> {
    const tls_pki& pki = tls_pki::get();
    struct row {
      const netco::tls::key_and_cert* leaf;
      const char* code;
    };
    for (row c : {row{&pki.other, "ERR_TLS_CERT_ALTNAME_INVALID"},
                  row{&pki.rogue_leaf, "UNABLE_TO_VERIFY_LEAF_SIGNATURE"},
                  row{&pki.expired, "CERT_HAS_EXPIRED"},
                  row{&pki.self_signed, "DEPTH_ZERO_SELF_SIGNED_CERT"}}) {
      CAPTURE(c.code);
      netco::tls::server server = echo_server(server_for(*c.leaf));
      std::vector<std::error_code> client_errors;
      server.on("tlsClientError",
                [&](std::error_code ec, netco::net::socket) { client_errors.push_back(ec); });
      server.listen(0, "127.0.0.1");
      co_await eventually([&] { return server.listening(); });
      auto r = talk(client_to(server.address().port), "hi");
      CHECK(co_await eventually([&] { return r->closed; }));
      CHECK(!r->secure);
      CHECK(netco::tls::node_code(r->error) == c.code);
      // The same, told to go on: secure, not authorized, and the reason kept.
      netco::tls::connect_options o = client_to(server.address().port);
      o.reject_unauthorized = false;
      auto r2 = talk(std::move(o), "hi");
      CHECK(co_await eventually([&] { return r2->closed; }));
      CHECK(!r2->error);
      CHECK(r2->secure);
      CHECK(!r2->authorized);
      CHECK(r2->authorization_error == c.code);
      CHECK(r2->received == "hi");
      CHECK(co_await eventually([&] { return !client_errors.empty(); }));  // the alert
      server.close();
    }
  }());
}

TEST_CASE("tlsClientError for plaintext HTTP and for a silent peer; the server goes on") {
  netco_test::run([]() -> task<> {
    netco::tls::server_options o = server_for(tls_pki::get().localhost);
    o.handshake_timeout = 200ms;
    netco::tls::server server = echo_server(o);
    std::vector<std::string> codes;
    server.on("tlsClientError", [&](std::error_code ec, netco::net::socket) {
      codes.push_back(netco::tls::node_code(ec));
    });
    server.listen(0, "127.0.0.1");
    co_await eventually([&] { return server.listening(); });
    const std::uint16_t port = server.address().port;
    netco::tcp::stream plain = co_await netco::tcp::connect("127.0.0.1", port);
    co_await plain.write_all(std::string_view("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(co_await eventually([&] { return codes.size() == 1; }));
    CHECK(codes.at(0) == "ERR_SSL_HTTP_REQUEST");
    netco::tcp::stream silent = co_await netco::tcp::connect("127.0.0.1", port);
    CHECK(co_await eventually([&] { return codes.size() == 2; }));
    CHECK(codes.at(1) == "ERR_TLS_HANDSHAKE_TIMEOUT");
    std::array<std::byte, 16> buf;
    std::error_code ec;
    CHECK(co_await silent.read_some(buf, ec) == 0);  // closed by the server
    auto r = talk(client_to(port), "still here");
    CHECK(co_await eventually([&] { return r->closed; }));
    CHECK(r->received == "still here");
    server.close();
  }());
}

TEST_CASE("mutual TLS: the server asks, verifies, and refuses a client without a certificate") {
  netco_test::run([]() -> task<> {
    const tls_pki& pki = tls_pki::get();
    context_options sc;
    sc.request_cert = true;
    sc.ca = {pki.ca.cert};
    netco::tls::server server = echo_server(server_for(pki.localhost, sc));
    std::string client_cn;
    bool client_authorized = false;
    server.on("secureConnection", [&](netco::tls::socket s) {
      client_authorized = s.authorized();
      client_cn = s.get_peer_certificate().subject["CN"];
    });
    int refused = 0;
    server.on("tlsClientError", [&](std::error_code, netco::net::socket) { ++refused; });
    server.listen(0, "127.0.0.1");
    co_await eventually([&] { return server.listening(); });
    context_options cc;
    cc.key = pki.client.key;
    cc.cert = pki.client.cert;
    auto r = talk(client_to(server.address().port, cc), "mtls");
    CHECK(co_await eventually([&] { return r->closed; }));
    CHECK(r->received == "mtls");
    CHECK(client_authorized);
    CHECK(client_cn == "alice");
    auto r2 = talk(client_to(server.address().port), "none");
    CHECK(co_await eventually([&] { return r2->closed; }));
    CHECK(r2->received.empty());
    CHECK(r2->error);
    CHECK(co_await eventually([&] { return refused == 1; }));
    server.close();
  }());
}

TEST_CASE("SNI picks the context added for the name; ALPN picks the protocol") {
  netco_test::run([]() -> task<> {
    const tls_pki& pki = tls_pki::get();
    context_options sc;
    sc.alpn_protocols = {"http/1.1", "echo/1"};
    netco::tls::server server = echo_server(server_for(pki.localhost, sc));
    context_options other;
    other.key = pki.other.key;
    other.cert = pki.other.cert;
    server.add_context("*.wild.example", netco::tls::secure_context(other));
    std::vector<std::string> names;
    server.on("secureConnection",
              [&](netco::tls::socket s) { names.emplace_back(s.servername()); });
    server.listen(0, "127.0.0.1");
    co_await eventually([&] { return server.listening(); });
    netco::tls::connect_options o = client_to(server.address().port);
    o.host = "127.0.0.1";
    o.servername = "a.wild.example";
    o.alpn_protocols = {"echo/1"};
    auto r = talk(std::move(o), "sni");
    CHECK(co_await eventually([&] { return r->closed; }));
    CHECK(!r->error);
    CHECK(r->authorized);
    CHECK(r->alpn == "echo/1");
    CHECK(r->received == "sni");
    auto r2 = talk(client_to(server.address().port), "default");
    CHECK(co_await eventually([&] { return r2->closed; }));
    CHECK(r2->authorized);
    CHECK(r2->alpn.empty());
    CHECK(r2->peer_cn == "localhost");
    REQUIRE(names.size() == 2);
    CHECK(names[0] == "a.wild.example");
    CHECK(names[1] == "localhost");
    server.close();
  }());
}

TEST_CASE("session resumption: a 'session' of one connection resumes the next (1.3 and 1.2)") {
  for (const char* version : {"TLSv1.3", "TLSv1.2"}) {
    CAPTURE(version);
    netco_test::run([version]() -> task<> {
      context_options sc;
      sc.max_version = version;
      netco::tls::server server = echo_server(server_for(tls_pki::get().localhost, sc));
      server.listen(0, "127.0.0.1");
      co_await eventually([&] { return server.listening(); });
      auto r = talk(client_to(server.address().port), "one");
      CHECK(co_await eventually([&] { return r->closed; }));
      CHECK(!r->reused);
      REQUIRE(!r->session.empty());
      netco::tls::connect_options o = client_to(server.address().port);
      o.session = r->session;
      auto r2 = talk(std::move(o), "two");
      CHECK(co_await eventually([&] { return r2->closed; }));
      CHECK(r2->received == "two");
      CHECK(r2->reused);
      server.close();
    }());
  }
}

TEST_CASE("half-close: the client's end() is the server's 'end'; the server still answers") {
  netco_test::run([]() -> task<> {
    netco::tls::server_options o = server_for(tls_pki::get().localhost);
    o.net.allow_half_open = true;
    netco::tls::server server = netco::tls::create_server(o, [](netco::tls::socket s) {
      auto got = std::make_shared<std::string>();
      s.on("data", [got](const netco::buffer& b) { *got += b.view(); });
      s.on("end", [s, got] { s.end("after your end: " + *got); });
    });
    server.listen(0, "127.0.0.1");
    co_await eventually([&] { return server.listening(); });
    netco::tls::connect_options c = client_to(server.address().port);
    c.allow_half_open = true;
    auto r = talk(std::move(c), "question");
    CHECK(co_await eventually([&] { return r->closed; }));
    CHECK(!r->error);
    CHECK(r->received == "after your end: question");
    server.close();
  }());
}

TEST_CASE("a net::socket over a TLS connection is the tls::socket; others are not") {
  netco_test::run([]() -> task<> {
    netco::tls::server server = echo_server(server_for(tls_pki::get().localhost));
    server.listen(0, "127.0.0.1");
    co_await eventually([&] { return server.listening(); });
    netco::tls::socket s = netco::tls::connect(client_to(server.address().port));
    netco::net::socket plain = s;
    CHECK(static_cast<bool>(netco::tls::socket(plain)));
    CHECK(s.encrypted());
    bool done = false;
    s.on("secureConnect", [&] { s.end(); });
    s.on("close", [&] { done = true; });
    CHECK(co_await eventually([&] { return done; }));
    server.close();
  }());
}

TEST_CASE("unref(): reading TLS sockets alone (both sides) do not keep the loop alive") {
  // Regression: a TLS socket's pending read waited on TCP with a loop reference of its own, so
  // unref() did not let run() return (and an https::agent's idle sockets held the loop).
  auto both = std::make_shared<int>(0);
  auto data = std::make_shared<std::string>();
  netco_test::run(
      [](std::shared_ptr<int> both, std::shared_ptr<std::string> data) -> task<> {
        netco::tls::server server = netco::tls::create_server(
            server_for(tls_pki::get().localhost), [both, data](netco::tls::socket s) {
              s.unref();
              s.on("data", [data](const netco::buffer& b) { *data += b.view(); });
              ++*both;
            });
        server.listen(0, "127.0.0.1");
        co_await eventually([&] { return server.listening(); });
        netco::tls::socket c = netco::tls::connect(client_to(server.address().port));
        c.on("secureConnect", [c, both] {
          c.unref();
          c.write("still open");
          ++*both;
        });
        co_await eventually([&] { return *both == 2 && *data == "still open"; });
        server.close();  // stops listening; the two open connections stay, unref()'d
      }(both, data),
      10s);  // the watchdog fails the test if run() does not return
  CHECK(*both == 2);
  CHECK(*data == "still open");
}
