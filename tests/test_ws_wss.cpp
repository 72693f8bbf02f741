// tests/test_ws_wss.cpp: wss:// (netco/ws/wss.hpp): netco's client, both styles, against a
// ws::server on an https::server and on its own TLS port, with a throwaway CA; an untrusted
// CA, a wrong name and reject_unauthorized=false
#include "netco/ws/wss.hpp"

#include <memory>
#include <string>
#include <system_error>

#include "support.hpp"
#include "test_tls_support.hpp"

using namespace std::chrono_literals;
using netco::buffer;
using netco_test::tls_pki;
namespace ws = netco::ws;
namespace http = netco::http;
namespace https = netco::https;

namespace {

https::server_options localhost_tls() {
  https::server_options o;
  o.tls.key = tls_pki::get().localhost.key;
  o.tls.cert = tls_pki::get().localhost.cert;
  return o;
}

ws::client_options trusting(const netco::tls::key_and_cert& ca) {
  ws::client_options o;
  o.tls.ca = {ca.cert};
  return o;
}

/// Echoes every message, text as text, binary as binary; remembers whether verify_client saw
/// the connection as secure.
ws::server echo_on(const http::server& site, std::shared_ptr<bool> secure) {
  ws::server_options o;
  o.server = site;
  o.verify_client = [secure](const ws::verify_info& info) {
    *secure = info.secure;
    return true;
  };
  return ws::create_server(o, [](const ws::socket& s, const http::incoming_message&) {
    s.on("message", [s](const buffer& d, bool binary) { s.send(d, {.binary = binary}); });
  });
}

/// What a Node-style client reported.
struct outcome {
  std::error_code error;
  std::uint16_t code = 0;
  bool opened = false;
  std::string echoed;
};

netco::task<outcome> node_style(std::string url, ws::client_options o) {
  auto out = std::make_shared<outcome>();
  ws::socket c = ws::create_socket(url, o);
  c.on("error", [out](std::error_code ec) { out->error = ec; });
  c.on("open", [out, c] {
    out->opened = true;
    c.send("over TLS");
  });
  c.on("message", [out, c](const buffer& d, bool) {
    out->echoed = d.to_string();
    c.close(1000, "done");
  });
  c.on("close", [out](std::uint16_t code, std::string_view) { out->code = code; });
  CHECK(co_await netco_test::eventually([&] { return out->code != 0; }));
  co_return *out;
}

}  // namespace

TEST_CASE("wss echo on an https::server: Node style and coroutine style") {
  netco_test::run([]() -> netco::task<> {
    https::server site = https::create_server(localhost_tls());
    auto secure = std::make_shared<bool>(false);
    ws::server srv = echo_on(site, secure);
    site.listen(0, "127.0.0.1");
    const std::string url = "wss://127.0.0.1:" + std::to_string(site.address().port) + "/";

    const outcome r = co_await node_style(url, trusting(tls_pki::get().ca));
    CHECK(!r.error);
    CHECK(r.opened);
    CHECK(r.echoed == "over TLS");
    CHECK(r.code == 1000);
    CHECK(*secure);

    const ws::client_options o = trusting(tls_pki::get().ca);
    ws::stream c = co_await ws::connect(url, o);
    CHECK(c.socket().url() == url);
    co_await c.send_text("text");
    auto m = co_await c.read();
    REQUIRE(m);
    CHECK(m->text() == "text");
    CHECK(!m->binary);
    const std::string big(100 * 1024, 'x');  // several TLS records each way
    co_await c.send_binary(buffer::from(big));
    m = co_await c.read();
    REQUIRE(m);
    CHECK(m->binary);
    CHECK(m->data.size() == big.size());
    co_await c.close(1000, "bye");
    CHECK(co_await netco_test::eventually([&] { return srv.clients().empty(); }));
    srv.close();
    site.close();
  }());
}

TEST_CASE("wss: one shared secure_context for many clients") {
  netco_test::run([]() -> netco::task<> {
    https::server site = https::create_server(localhost_tls());
    ws::server srv = echo_on(site, std::make_shared<bool>());
    site.listen(0, "127.0.0.1");
    const std::string url = "wss://localhost:" + std::to_string(site.address().port) + "/x";
    netco::tls::context_options t;
    t.ca = {tls_pki::get().ca.cert};
    ws::client_options o;
    o.tls.context = std::make_shared<const netco::tls::secure_context>(t);
    for (int i = 0; i < 3; ++i) {
      const outcome r = co_await node_style(url, o);
      CHECK(r.echoed == "over TLS");
      CHECK(r.code == 1000);
    }
    srv.close();
    site.close();
  }());
}

TEST_CASE("wss: an untrusted CA or a wrong name is refused; reject_unauthorized=false goes on") {
  netco_test::run([]() -> netco::task<> {
    https::server site = https::create_server(localhost_tls());
    ws::server srv = echo_on(site, std::make_shared<bool>());
    site.listen(0, "127.0.0.1");
    const std::string url = "wss://127.0.0.1:" + std::to_string(site.address().port) + "/";

    outcome r = co_await node_style(url, trusting(tls_pki::get().rogue_ca));
    CHECK(netco::tls::is_verify_error(r.error));
    CHECK(!r.opened);
    CHECK(r.code == 1006);

    bool threw = false;
    try {
      const ws::client_options bad = trusting(tls_pki::get().rogue_ca);
      (void)co_await ws::connect(url, bad);
    } catch (const std::system_error& e) {
      threw = netco::tls::is_verify_error(e.code());
    }
    CHECK(threw);

    ws::client_options wrong_name = trusting(tls_pki::get().ca);
    wrong_name.tls.servername = "other.example";
    r = co_await node_style(url, wrong_name);
    CHECK(r.error == netco::tls::errc::cert_altname_invalid);
    CHECK(!r.opened);

    ws::client_options lax = trusting(tls_pki::get().rogue_ca);
    lax.tls.reject_unauthorized = false;
    r = co_await node_style(url, lax);
    CHECK(r.opened);
    CHECK(r.echoed == "over TLS");

    ws::client_options garbage;
    garbage.tls.ca = {"not a certificate"};
    r = co_await node_style(url, garbage);
    CHECK(r.error);
    CHECK(r.code == 1006);
    srv.close();
    site.close();
  }());
}

TEST_CASE("ws::create_server(options, tls): its own TLS port; plain HTTPS gets 426") {
  netco_test::run([]() -> netco::task<> {
    CHECK_THROWS_AS(ws::create_server({.no_server = true}, localhost_tls()), std::invalid_argument);
    ws::server srv = ws::create_server(
        {.port = 0}, localhost_tls(), [](const ws::socket& s, const http::incoming_message&) {
          s.on("message", [s](const buffer& d, bool binary) { s.send(d, {.binary = binary}); });
        });
    CHECK(co_await netco_test::eventually([&] { return srv.http_server().listening(); }));
    const std::string url = "wss://127.0.0.1:" + std::to_string(srv.address().port) + "/";
    const outcome r = co_await node_style(url, trusting(tls_pki::get().ca));
    CHECK(r.echoed == "over TLS");
    CHECK(r.code == 1000);
    srv.close();
  }());
}
