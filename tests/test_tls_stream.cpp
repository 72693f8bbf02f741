// tests/test_tls_stream.cpp: tls::stream over loopback TCP: handshakes (1.2, 1.3), data both
// ways, half-close, truncation, verification failures, mutual TLS, timeouts, net::socket over it
#include "netco/tls/stream.hpp"

#include <array>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "netco/net.hpp"
#include "netco/when_all.hpp"
#include "support.hpp"
#include "test_tls_support.hpp"

using namespace std::chrono_literals;
using netco::task;
using netco::tls::client_options;
using netco::tls::context_options;
using netco::tls::secure_context;
using netco_test::client_context;
using netco_test::server_context;
using netco_test::tls_pki;
using tls_stream = netco::tls::stream<netco::tcp::stream>;

static_assert(netco::byte_stream<tls_stream>, "a tls::stream is a byte_stream");
static_assert(netco::byte_stream<netco::tls::stream<tls_stream>>, "...over any byte_stream");

namespace {

struct tls_pair {
  tls_stream client;
  tls_stream server;
  std::error_code client_ec, server_ec;
};

/// A TCP connection with a TLS client and server over it, handshaken concurrently.
// NOTE: GCC 12 copies a class temporary inside a co_await expression bit by bit (a string in
// it then frees a pointer into the frame): the tests pass named objects instead.
const client_options no_options;

// NOTE: no default argument: GCC 12 mishandles a class-type default of a coroutine parameter.
task<tls_pair> handshaken(secure_context server_ctx, secure_context client_ctx,
                          const client_options& options) {
  netco::tcp::acceptor a = netco::tcp::listen("127.0.0.1", 0);
  auto accept_one = [](netco::tcp::acceptor& acc) -> task<netco::tcp::stream> {
    co_return co_await acc.accept();
  };
  // NOTE: no structured binding of a co_await's result: GCC 12 miscompiles it in a coroutine.
  auto both = co_await netco::when_all(netco::tcp::connect("127.0.0.1", a.port()), accept_one(a));
  netco::tcp::stream c = std::move(std::get<0>(both)), s = std::move(std::get<1>(both));
  // NOTE: named first: GCC 12 destroys a temporary in a coroutine's braced init twice.
  tls_stream client = tls_stream::client(std::move(c), client_ctx, client_options(options));
  tls_stream server = tls_stream::server(std::move(s), server_ctx);
  tls_pair p{std::move(client), std::move(server), {}, {}};
  auto hs = [](tls_stream& st, std::error_code& ec) -> task<> { co_await st.handshake(ec); };
  co_await netco::when_all(hs(p.client, p.client_ec), hs(p.server, p.server_ec));
  co_return p;
}

/// A server context with leaf's key and certificate.
secure_context leaf_context(const netco::tls::key_and_cert& leaf) {
  context_options o;
  o.key = leaf.key;
  o.cert = leaf.cert;
  return server_context(o);
}

task<std::string> read_to_end(tls_stream& s, std::error_code& ec) {
  std::string all;
  std::array<char, 4096> buf;
  while (std::size_t n = co_await s.read_some(std::span<char>(buf), ec)) all.append(buf.data(), n);
  co_return all;
}

}  // namespace

TEST_CASE("TLS 1.3 and 1.2 handshakes, data both ways") {
  for (const char* version : {"TLSv1.3", "TLSv1.2"}) {
    CAPTURE(version);
    netco_test::run([&]() -> task<> {
      // NOTE: contexts made before the co_await: GCC 12 frees a designated-initializer
      // temporary inside a co_await expression twice.
      context_options so;
      so.max_version = version;
      secure_context sc = server_context(so), cc = client_context();
      tls_pair p = co_await handshaken(sc, cc, no_options);
      REQUIRE(!p.client_ec);
      REQUIRE(!p.server_ec);
      CHECK(p.client.get_engine().get_protocol() == version);
      CHECK(p.client.get_engine().authorized());
      co_await p.client.write_all("ping");
      std::array<char, 16> buf;
      const std::size_t n = co_await p.server.read_some(std::span<char>(buf));
      CHECK(std::string(buf.data(), n) == "ping");
      co_await p.server.write_all("pong");
      const std::size_t m = co_await p.client.read_some(std::span<char>(buf));
      CHECK(std::string(buf.data(), m) == "pong");
    }());
  }
}

TEST_CASE("1 MiB each way, then a half-close each way") {
  netco_test::run([]() -> task<> {
    secure_context sc = server_context(), cc = client_context();
    tls_pair p = co_await handshaken(sc, cc, no_options);
    REQUIRE(!p.client_ec);
    std::string big(1 << 20, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
    auto send_then_end = [](tls_stream& s, const std::string& data) -> task<> {
      co_await s.write_all(data);
      std::error_code ec;
      co_await s.shutdown(ec);
      REQUIRE(!ec);
    };
    std::error_code e1, e2;
    auto [got_by_server, got_by_client, a, b] =
        co_await netco::when_all(read_to_end(p.server, e1), read_to_end(p.client, e2),
                                 send_then_end(p.client, big), send_then_end(p.server, big));
    (void)a, (void)b;
    CHECK(!e1);
    CHECK(!e2);
    CHECK(got_by_server == big);
    CHECK(got_by_client == big);
    CHECK(p.server.get_engine().close_notify_received());
  }());
}

TEST_CASE("half-close: after our close_notify the peer still writes, and we still read") {
  netco_test::run([]() -> task<> {
    secure_context sc = server_context(), cc = client_context();
    tls_pair p = co_await handshaken(sc, cc, no_options);
    p.client.shutdown_send();  // close_notify + FIN, no waiting
    std::error_code ec;
    std::string got = co_await read_to_end(p.server, ec);
    CHECK(!ec);
    CHECK(got.empty());
    co_await p.server.write_all("late reply");
    co_await p.server.shutdown(ec);
    std::string reply = co_await read_to_end(p.client, ec);
    CHECK(!ec);
    CHECK(reply == "late reply");
    std::size_t n = co_await p.client.write_all("more", ec);
    CHECK(n == 0);
    CHECK(ec == netco::errc::write_after_end);
  }());
}

TEST_CASE("an end without close_notify is a truncation error, not EOF") {
  netco_test::run([]() -> task<> {
    secure_context sc = server_context(), cc = client_context();
    tls_pair p = co_await handshaken(sc, cc, no_options);
    co_await p.server.write_all("partial");
    p.server.next_layer().shutdown_send();  // a FIN with no close_notify before it
    std::error_code ec;
    std::string got = co_await read_to_end(p.client, ec);
    CHECK(got == "partial");
    REQUIRE(ec);
    CHECK(netco::tls::node_code(ec) == "ERR_SSL_UNEXPECTED_EOF_WHILE_READING");
  }());
}

TEST_CASE("verification failures carry Node's codes") {
  struct bad {
    const netco::tls::key_and_cert* leaf;
    const char* host;
    const char* code;
  };
  const tls_pki& pki = tls_pki::get();
  for (bad b : {bad{&pki.localhost, "wrong.example", "ERR_TLS_CERT_ALTNAME_INVALID"},
                bad{&pki.rogue_leaf, "localhost", "UNABLE_TO_VERIFY_LEAF_SIGNATURE"},
                bad{&pki.expired, "localhost", "CERT_HAS_EXPIRED"},
                bad{&pki.self_signed, "localhost", "DEPTH_ZERO_SELF_SIGNED_CERT"}}) {
    CAPTURE(b.code);
    netco_test::run([&]() -> task<> {
      secure_context sc = leaf_context(*b.leaf), cc = client_context();
      client_options co;
      co.host = b.host;
      tls_pair p = co_await handshaken(sc, cc, co);
      REQUIRE(p.client_ec);
      CHECK(netco::tls::node_code(p.client_ec) == b.code);
      CHECK(p.server_ec);  // the client's alert
    }());
    // ...and accepted when verification is turned off explicitly.
    netco_test::run([&]() -> task<> {
      secure_context sc = leaf_context(*b.leaf), cc = client_context();
      client_options co;
      co.host = b.host;
      co.reject_unauthorized = false;
      tls_pair p = co_await handshaken(sc, cc, co);
      REQUIRE(!p.client_ec);
      CHECK(!p.client.get_engine().authorized());
      CHECK(p.client.get_engine().authorization_error() == b.code);
    }());
  }
}

TEST_CASE("mutual TLS: a client certificate is asked for, verified, refused when missing") {
  const tls_pki& pki = tls_pki::get();
  auto mtls = [&] { return server_context({.ca = {pki.ca.cert}, .request_cert = true}); };
  netco_test::run([&]() -> task<> {
    context_options co;
    co.key = pki.client.key;
    co.cert = pki.client.cert;
    secure_context sc = mtls(), cc = client_context(co);
    tls_pair p = co_await handshaken(sc, cc, no_options);
    REQUIRE(!p.client_ec);
    REQUIRE(!p.server_ec);
    CHECK(p.server.get_engine().authorized());
    CHECK(p.server.get_engine().get_peer_certificate().subject["CN"] == "alice");
  }());
  netco_test::run([&]() -> task<> {
    secure_context sc = mtls(), cc = client_context();
    tls_pair p = co_await handshaken(sc, cc, no_options);
    CHECK(p.server_ec);
    // TLS 1.3: the client learns of it at its first read.
    std::error_code ec;
    if (!p.client_ec) (void)co_await read_to_end(p.client, ec);
    CHECK((p.client_ec || ec));
  }());
}

TEST_CASE("a handshake times out against a peer that sends nothing") {
  netco_test::run([]() -> task<> {
    netco::tcp::acceptor a = netco::tcp::listen("127.0.0.1", 0);
    auto accept_one = [](netco::tcp::acceptor& acc) -> task<netco::tcp::stream> {
      co_return co_await acc.accept();
    };
    auto [silent, s] =
        co_await netco::when_all(netco::tcp::connect("127.0.0.1", a.port()), accept_one(a));
    tls_stream server = tls_stream::server(std::move(s), server_context());
    std::error_code ec;
    co_await server.handshake(ec, 100ms);
    CHECK(ec == netco::tls::errc::handshake_timeout);
    CHECK(netco::tls::node_code(ec) == "ERR_TLS_HANDSHAKE_TIMEOUT");
    silent.close();
  }());
}

TEST_CASE("plaintext HTTP to a TLS server fails the handshake with OpenSSL's reason") {
  netco_test::run([]() -> task<> {
    netco::tcp::acceptor a = netco::tcp::listen("127.0.0.1", 0);
    auto accept_one = [](netco::tcp::acceptor& acc) -> task<netco::tcp::stream> {
      co_return co_await acc.accept();
    };
    auto [plain, s] =
        co_await netco::when_all(netco::tcp::connect("127.0.0.1", a.port()), accept_one(a));
    co_await plain.write_all("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    tls_stream server = tls_stream::server(std::move(s), server_context());
    std::error_code ec;
    co_await server.handshake(ec);
    REQUIRE(ec);
    CHECK(netco::tls::node_code(ec) == "ERR_SSL_HTTP_REQUEST");
  }());
}

TEST_CASE("tls::connect, and a net::socket over a tls::stream") {
  netco_test::run([]() -> task<> {
    netco::tcp::acceptor a = netco::tcp::listen("127.0.0.1", 0);
    auto serve_one = [](netco::tcp::acceptor& acc) -> task<> {
      secure_context sc = server_context();
      netco::tcp::stream peer = co_await acc.accept();
      tls_stream s = tls_stream::server(std::move(peer), sc);
      co_await s.handshake();
      std::array<std::byte, 1024> buf;
      std::error_code ec;
      while (std::size_t n = co_await s.read_some(buf, ec))
        co_await s.write_all(std::span(buf).first(n));
      co_await s.shutdown(ec);
    };
    auto client = [](std::uint16_t port) -> task<std::string> {
      secure_context cc = client_context();
      tls_stream s = co_await netco::tls::connect("localhost", port, cc);
      CHECK(s.get_engine().authorized());
      CHECK(s.get_engine().servername() == "localhost");
      netco::net::socket sock = netco::net::socket::over(std::move(s));
      sock.write("echo me");
      sock.end();
      std::string all;
      while (true) {
        netco::buffer b = co_await sock.read();
        if (b.empty()) break;
        all += b.view();
      }
      co_return all;
    };
    auto [got, done] = co_await netco::when_all(client(a.port()), serve_one(a));
    (void)done;
    CHECK(got == "echo me");
  }());
}

TEST_CASE("tls::connect fails with the verification error, and the stream is closed") {
  netco_test::run([]() -> task<> {
    netco::tcp::acceptor a = netco::tcp::listen("127.0.0.1", 0);
    auto serve_one = [](netco::tcp::acceptor& acc) -> task<> {
      secure_context sc = server_context();
      netco::tcp::stream peer = co_await acc.accept();
      tls_stream s = tls_stream::server(std::move(peer), sc);
      std::error_code ec;
      co_await s.handshake(ec);
      CHECK(ec);
    };
    auto client = [](std::uint16_t port) -> task<std::error_code> {
      std::error_code ec;
      secure_context cc = client_context();
      client_options co;
      co.servername = "nobody.example";
      tls_stream s = co_await netco::tls::connect("127.0.0.1", port, cc, co, ec);
      CHECK(!s.is_open());
      co_return ec;
    };
    auto [ec, done] = co_await netco::when_all(client(a.port()), serve_one(a));
    (void)done;
    CHECK(netco::tls::node_code(ec) == "ERR_TLS_CERT_ALTNAME_INVALID");
  }());
}
