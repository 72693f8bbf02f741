// tests/interop/ws_netco_client.cpp: netco's WebSocket client (coroutine style) against any
// echo server: text, binary, 1 MiB, a compressed round trip, a clean close.
// usage: ws_netco_client PORT   exit 0 when every echo came back as sent
#include <netco/ws.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace ws = netco::ws;

netco::task<int> check(std::uint16_t port, bool deflate) {
  ws::client_options o;
  if (deflate) o.per_message_deflate = ws::deflate_options{.threshold = 0};
  ws::stream s = co_await ws::connect("ws://127.0.0.1:" + std::to_string(port) + "/", o);
  if (deflate && s.socket().extensions().find("permessage-deflate") == std::string::npos) {
    std::fprintf(stderr, "permessage-deflate was not agreed\n");
    co_return 1;
  }
  const std::string text = "hello from netco";
  const std::string big(1 << 20, 'x');
  co_await s.send_text(text);
  co_await s.send_binary(netco::buffer::from(big));
  auto a = co_await s.read();
  auto b = co_await s.read();
  if (!a || a->binary || a->text() != text || !b || !b->binary || b->text() != big) {
    std::fprintf(stderr, "an echo differs\n");
    co_return 1;
  }
  co_await s.close(1000, "done");
  if (s.close_code() != 1000) {
    std::fprintf(stderr, "close code %u\n", s.close_code());
    co_return 1;
  }
  co_return 0;
}

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 0);
  int rc = 1;
  netco::spawn([](std::uint16_t p, int& out) -> netco::task<> {
    out = co_await check(p, false);
    if (out == 0) out = co_await check(p, true);
  }(port, rc));
  netco::run();
  std::puts(rc == 0 ? "ws_netco_client: ok" : "ws_netco_client: FAILED");
  return rc;
}
