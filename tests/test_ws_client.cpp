// tests/test_ws_client.cpp: ws::create_socket / ws::connect: URLs and schemes refused (wss
// without netco/ws/wss.hpp), connection failures, handshake timeout, bad answers from a server
#include "netco/ws/client.hpp"

#include <string>
#include <vector>

#include "netco/spawn.hpp"
#include "netco/tcp.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
namespace ws = netco::ws;

namespace {

/// What a Node-style client reported: its error and close code.
struct outcome {
  std::error_code error;
  std::uint16_t code = 0;
  bool opened = false;
};

netco::task<outcome> run_client(std::string url, ws::client_options o) {
  outcome out;
  ws::socket c = ws::create_socket(url, o);
  c.on("error", [&](std::error_code ec) { out.error = ec; });
  c.on("open", [&] { out.opened = true; });
  c.on("close", [&](std::uint16_t code, std::string_view) { out.code = code; });
  CHECK(co_await netco_test::eventually([&] { return out.code != 0; }));
  co_return out;
}
netco::task<outcome> run_client(std::string url) { return run_client(std::move(url), {}); }

/// A TCP server that answers one upgrade request with `answer` (or nothing), then holds on.
struct fake_server {
  netco::tcp::acceptor acceptor;
  explicit fake_server(std::string answer) : acceptor(netco::tcp::listen("127.0.0.1", 0)) {
    netco::spawn([](netco::tcp::acceptor& a, std::string answer) -> netco::task<> {
      netco::tcp::stream s = co_await a.accept();
      std::vector<char> buf(4096);
      std::string head;
      while (head.find("\r\n\r\n") == std::string::npos) {
        const std::size_t n = co_await s.read_some(std::span(buf));
        if (n == 0) co_return;
        head.append(buf.data(), n);
      }
      if (!answer.empty()) co_await s.write_all(answer);
      std::error_code ec;
      while (co_await s.read_some(std::span(buf), ec) > 0) {
      }
    }(acceptor, std::move(answer)));
  }
  std::string url() const { return "ws://127.0.0.1:" + std::to_string(acceptor.port()) + "/"; }
};

}  // namespace

TEST_CASE("wss: without wss.hpp, other schemes, bad URLs: error then close(1006), no connection") {
  netco_test::run([]() -> netco::task<> {
    outcome o = co_await run_client("wss://127.0.0.1:1/");
    CHECK(o.error == ws::errc::unsupported_scheme);
    CHECK(o.code == 1006);
    CHECK(!o.opened);
    o = co_await run_client("http://127.0.0.1:1/");
    CHECK(o.error == ws::errc::unsupported_scheme);
    o = co_await run_client("not a url");
    CHECK(o.error == ws::errc::invalid_url);
    o = co_await run_client("ws://127.0.0.1:1/#frag");
    CHECK(o.error == ws::errc::invalid_url);
    bool threw = false;
    try {
      (void)co_await ws::connect("wss://example.com/");
    } catch (const std::system_error& e) {
      threw = e.code() == ws::errc::unsupported_scheme;
    }
    CHECK(threw);
  }());
}

TEST_CASE("a refused connection is the socket's error") {
  netco_test::run([]() -> netco::task<> {
    std::uint16_t port = 0;
    {
      auto a = netco::tcp::listen("127.0.0.1", 0);
      port = a.port();
    }  // closed: nothing listens there now
    outcome o = co_await run_client("ws://127.0.0.1:" + std::to_string(port) + "/");
    CHECK(o.error == std::errc::connection_refused);
    CHECK(o.code == 1006);
  }());
}

TEST_CASE("handshake timeout, a wrong accept key, a missing Upgrade, a 404") {
  netco_test::run([]() -> netco::task<> {
    {
      fake_server silent("");
      ws::client_options o;
      o.handshake_timeout = 50ms;
      const outcome r = co_await run_client(silent.url(), o);
      CHECK(r.error == ws::errc::handshake_timeout);
      silent.acceptor.close();
    }
    {
      fake_server wrong(
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
      const outcome r = co_await run_client(wrong.url());
      CHECK(r.error == ws::errc::invalid_accept);
      wrong.acceptor.close();
    }
    {
      fake_server plain("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n");
      const outcome r = co_await run_client(plain.url());
      CHECK(r.error == ws::errc::invalid_upgrade);
      plain.acceptor.close();
    }
    {
      fake_server missing("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
      bool threw = false;
      try {
        (void)co_await ws::connect(missing.url());
      } catch (const std::system_error& e) {
        threw = e.code() == ws::errc::unexpected_response;
      }
      CHECK(threw);
      missing.acceptor.close();
    }
  }());
}
