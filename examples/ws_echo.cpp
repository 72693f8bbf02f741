// examples/ws_echo.cpp: a WebSocket echo server (text and binary, permessage-deflate offered),
// the conformance runner's target. Try: node -e "const W=require('ws');const w=new
// W('ws://127.0.0.1:7010');w.on('open',()=>w.send('hi'));w.on('message',m=>{console.log(''+m);w.close()})"
#include <netco/shutdown.hpp>
#include <netco/ws.hpp>

#include <cstdio>
#include <cstdlib>

namespace ws = netco::ws;

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 7010);
  ws::server server =
      ws::create_server({.port = port, .per_message_deflate = ws::deflate_options{}},
                        [](const ws::socket& s, const netco::http::incoming_message&) {
                          s.on("message", [s](const netco::buffer& data, bool binary) {
                            if (!s.send(data, {.binary = binary}))
                              s.pause();  // backpressure: read no more
                          });
                          s.on("drain", [s] { s.resume(); });
                        });
  server.on("listening", [server] {
    std::printf("ws_echo listening on 127.0.0.1:%u\n", server.address().port);
    std::fflush(stdout);
  });
  // SIGINT/SIGTERM: stop accepting, let open connections end (5 s at most); a second forces it.
  netco::shutdown_on_signal(server.http_server(), {.deadline = std::chrono::seconds(5)});
  netco::run();
}
