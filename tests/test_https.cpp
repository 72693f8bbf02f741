// tests/test_https.cpp: https::create_server, https::request/get, https::agent (pooling,
// session resumption) and http::fetch over TLS, in-process over loopback
#include "netco/https.hpp"

#include <memory>
#include <string>
#include <system_error>

#include "support.hpp"
#include "test_tls_support.hpp"

using namespace std::chrono_literals;
using netco::task;
using netco_test::eventually;
using netco_test::tls_pki;
namespace http = netco::http;
namespace https = netco::https;

namespace {

https::server_options localhost_options() {
  https::server_options o;
  o.tls.key = tls_pki::get().localhost.key;
  o.tls.cert = tls_pki::get().localhost.cert;
  return o;
}

https::server hello_server(https::server_options o = localhost_options()) {
  return https::create_server(
      o, [](const http::incoming_message& req, const http::server_response& res) {
        res.write_head(200, {{"Content-Type", "text/plain"}});
        res.end("Hello, World! " + std::string(req.url()));
      });
}

https::agent_options trusting_ca(bool keep_alive = true) {
  https::agent_options o;
  o.http.keep_alive = keep_alive;
  netco::tls::context_options c;
  c.ca = {tls_pki::get().ca.cert};
  o.context = netco::tls::secure_context(c);
  return o;
}

/// fetch through agent. NOTE: callers pass named strings: GCC 12 copies a class temporary
/// in a co_await expression bit by bit, then frees it twice.
task<http::fetch_response> fetch_via(std::string url, http::agent* agent) {
  http::fetch_options fo;
  fo.agent = agent;
  task<http::fetch_response> t = http::fetch(std::move(url), std::move(fo));
  co_return co_await std::move(t);
}

// How a kept-alive pooled connection ends: the server closes it, the agent destroys it, or
// nobody does (the server's close() ends idle connections; the agent's is unref()'d).
enum class keep_alive_end { server_closes_all, agent_destroys, server_closes };

void kept_alive_requests(keep_alive_end how) {
  netco_test::run([how]() -> task<> {
    https::server server = hello_server();
    int secure = 0;
    server.on("secureConnection", [&](netco::tls::socket) { ++secure; });
    server.listen(0, "127.0.0.1");
    co_await eventually([&] { return server.listening(); });
    const std::string base = "https://localhost:" + std::to_string(server.address().port);
    https::agent agent(trusting_ca());
    auto body = std::make_shared<std::string>();
    auto done = std::make_shared<bool>(false);
    http::request_options o = http::parse_url(base + "/first");
    o.agent = &agent;
    http::client_request req = https::request(o, [body, done](const http::incoming_message& res) {
      CHECK(res.status_code() == 200);
      res.on("data", [body](const netco::buffer& b) { *body += b.view(); });
      res.on("end", [done] { *done = true; });
    });
    req.end();
    CHECK(co_await eventually([&] { return *done; }));
    CHECK(*body == "Hello, World! /first");
    CHECK(co_await eventually([&] { return agent.free_sockets("localhost", o.port) == 1; }));
    const std::string second = base + "/second";
    http::fetch_response r = co_await fetch_via(second, &agent);
    CHECK(r.status == 200);
    CHECK(r.body_ == "Hello, World! /second");
    CHECK(secure == 1);  // the second request reused the TLS connection
    // At once (the connection may not be back in the pool yet), or once it is idle.
    if (how != keep_alive_end::server_closes_all)
      CHECK(co_await eventually([&] { return agent.free_sockets("localhost", o.port) == 1; }));
    switch (how) {
      case keep_alive_end::server_closes_all:
        server.close();
        server.close_all_connections();
        CHECK(co_await eventually([&] { return agent.free_sockets("localhost", o.port) == 0; }));
        break;
      case keep_alive_end::agent_destroys:
        agent.destroy();  // "close" follows on a later turn, which takes it out of the pool
        CHECK(co_await eventually([&] { return agent.free_sockets("localhost", o.port) == 0; }));
        server.close();
        break;
      case keep_alive_end::server_closes:
        server.close();
        break;
    }
  }());  // returns only once nothing holds the loop: no connection is left behind
}

}  // namespace

TEST_CASE("https::get and fetch over one kept-alive TLS connection; the server ends it") {
  kept_alive_requests(keep_alive_end::server_closes_all);
}

TEST_CASE("a kept-alive TLS connection the agent destroys leaves nothing behind") {
  kept_alive_requests(keep_alive_end::agent_destroys);
}

TEST_CASE("a kept-alive TLS connection closed by server.close() leaves nothing behind") {
  kept_alive_requests(keep_alive_end::server_closes);
}

TEST_CASE("an idle pooled TLS connection does not keep the loop alive (Node unrefs free sockets)") {
  // The server never closes its connection (its socket is unref()'d, so it holds no loop
  // either): run() returns with the connection still pooled and open.
  auto pooled = std::make_shared<std::size_t>(0);
  netco_test::run(
      [](std::shared_ptr<std::size_t> pooled) -> task<> {
        netco::tls::server_options so;
        so.tls.key = tls_pki::get().localhost.key;
        so.tls.cert = tls_pki::get().localhost.cert;
        netco::tls::server raw = netco::tls::create_server(so, [](netco::tls::socket s) {
          s.unref();
          s.on("data", [s](const netco::buffer&) {
            s.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\nKeep-Alive: timeout=60\r\n\r\nidle");
          });
        });
        raw.listen(0, "127.0.0.1");
        co_await eventually([&] { return raw.listening(); });
        https::agent agent(trusting_ca());
        const std::uint16_t port = raw.address().port;
        const std::string url = "https://localhost:" + std::to_string(port) + "/";
        http::fetch_response r = co_await fetch_via(url, &agent);
        CHECK(r.body_ == "idle");
        CHECK(co_await eventually([&] { return agent.free_sockets("localhost", port) == 1; }));
        *pooled = agent.free_sockets("localhost", port);
        raw.close();
        // The agent goes with this frame; its free socket stays open (unref()'d) until the
        // loop goes.
      }(pooled),
      10s);  // the watchdog fails the test if run() does not return
  CHECK(*pooled == 1);
}

TEST_CASE("a new connection of an https::agent resumes the session of the last") {
  netco_test::run([]() -> task<> {
    https::server server = hello_server();
    std::vector<bool> reused;
    server.on("secureConnection", [&](netco::tls::socket s) {
      s.on("data", [](const netco::buffer&) {});
      reused.push_back(s.is_session_reused());
    });
    server.listen(0, "127.0.0.1");
    co_await eventually([&] { return server.listening(); });
    const std::string url = "https://localhost:" + std::to_string(server.address().port) + "/";
    https::agent agent(trusting_ca(false));  // no pooling: each request connects
    for (int i = 0; i < 2; ++i) {
      http::fetch_response r = co_await fetch_via(url, &agent);
      CHECK(r.status == 200);
      co_await eventually([&] { return agent.cached_sessions() == 1; });
    }
    REQUIRE(reused.size() == 2);
    CHECK(!reused[0]);
    CHECK(reused[1]);
    server.close();
  }());
}

TEST_CASE("fetch of an https: URL verifies against the system trust store by default") {
  netco_test::run([]() -> task<> {
    https::server server = hello_server();
    server.listen(0, "127.0.0.1");
    co_await eventually([&] { return server.listening(); });
    std::error_code ec;
    try {
      const std::string url = "https://localhost:" + std::to_string(server.address().port) + "/";
      (void)co_await fetch_via(url, nullptr);
    } catch (const std::system_error& e) {
      ec = e.code();
    }
    CHECK(netco::tls::is_verify_error(ec));  // the test CA is in no system store
    CHECK(netco::tls::node_code(ec) == "UNABLE_TO_VERIFY_LEAF_SIGNATURE");
    https::global_agent().destroy();
    server.close();
  }());
}

TEST_CASE("a body cut without close_notify is an error; a complete one is not") {
  for (bool framed : {false, true}) {
    CAPTURE(framed);
    netco_test::run([framed]() -> task<> {
      netco::tls::server_options o;
      o.tls.key = tls_pki::get().localhost.key;
      o.tls.cert = tls_pki::get().localhost.cert;
      // A raw server: a response whose end is the connection's (or framed by Content-Length),
      // then a close without close_notify.
      netco::tls::server raw = netco::tls::create_server(o, [framed](netco::tls::socket s) {
        s.once("data", [s, framed](const netco::buffer&) {
          s.write(framed ? "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody"
                         : "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody");
          netco::detail::defer(netco::loop::current(), [s] { s.destroy(); });
        });
      });
      raw.listen(0, "127.0.0.1");
      co_await eventually([&] { return raw.listening(); });
      https::agent agent(trusting_ca(false));
      std::error_code ec;
      std::string body;
      try {
        const std::string url = "https://localhost:" + std::to_string(raw.address().port) + "/";
        http::fetch_response r = co_await fetch_via(url, &agent);
        body = r.body_;
      } catch (const std::system_error& e) {
        ec = e.code();
      }
      if (framed) {
        CHECK(!ec);
        CHECK(body == "body");
      } else {
        CHECK(ec);
      }
      raw.close();
    }());
  }
}

TEST_CASE("plaintext HTTP to the https port is a tlsClientError; the server goes on") {
  netco_test::run([]() -> task<> {
    https::server server = hello_server();
    std::vector<std::string> codes;
    server.on("tlsClientError", [&](std::error_code ec, netco::net::socket) {
      codes.push_back(netco::tls::node_code(ec));
    });
    server.listen(0, "127.0.0.1");
    co_await eventually([&] { return server.listening(); });
    const std::uint16_t port = server.address().port;
    {
      netco::tcp::stream plain = co_await netco::tcp::connect("127.0.0.1", port);
      co_await plain.write_all(std::string_view("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
      CHECK(co_await eventually([&] { return codes.size() == 1; }));
      CHECK(codes.at(0) == "ERR_SSL_HTTP_REQUEST");
    }
    https::agent agent(trusting_ca(false));
    const std::string url = "https://localhost:" + std::to_string(port) + "/after";
    http::fetch_response r = co_await fetch_via(url, &agent);
    CHECK(r.body_ == "Hello, World! /after");
    server.close();
  }());
}
