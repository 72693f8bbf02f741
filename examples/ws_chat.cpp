// examples/ws_chat.cpp: a chat room in a browser: GET / serves a small HTML+JS client,
// and its WebSocket (same port) joins the room: the first message is the nickname, each later
// one goes to everyone through publish/subscribe. Try: open http://127.0.0.1:8010/ twice
#include <netco/http.hpp>
#include <netco/shutdown.hpp>
#include <netco/ws.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

namespace http = netco::http;
namespace ws = netco::ws;

constexpr std::string_view page = R"(<!doctype html>
<meta charset="utf-8"><title>netco chat</title>
<pre id="log"></pre>
<form id="f"><input id="t" autofocus autocomplete="off"><button>send</button></form>
<script>
const log = document.getElementById('log'), t = document.getElementById('t');
const sock = new WebSocket('ws://' + location.host + '/chat');
sock.onmessage = (e) => { log.textContent += e.data + '\n'; };
sock.onclose = (e) => { log.textContent += '(closed ' + e.code + ')\n'; };
document.getElementById('f').onsubmit = (e) => {
  e.preventDefault();
  if (t.value) sock.send(t.value);
  t.value = '';
};
</script>
)";

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 8010);
  http::server site =
      http::create_server([](const http::incoming_message& req, const http::server_response& res) {
        if (req.url() != "/") {
          res.write_head(404, {{"Content-Type", "text/plain"}});
          res.end("not found\n");
          return;
        }
        res.write_head(200, {{"Content-Type", "text/html; charset=utf-8"}});
        res.end(page);
      });
  // The room is one topic; a member that stops reading misses messages instead of growing
  // the server's memory (the default backpressure policy).
  ws::server room = ws::create_server({.server = site, .path = "/chat", .max_payload = 4096});
  auto online = std::make_shared<std::size_t>(0);
  room.on("connection", [room, online](ws::socket s, const http::incoming_message&) {
    auto nick = std::make_shared<std::string>();
    s.send("You are visitor number " + std::to_string(++*online) +
           " online; please enter your nickname");
    s.on("message", [room, s, nick](const netco::buffer& data, bool binary) {
      if (binary) return;
      if (nick->empty()) {
        *nick = data.to_string();
        s.subscribe("room");
        room.publish("room", *nick + " joined");
        return;
      }
      room.publish("room", *nick + ": " + data.to_string());
    });
    s.on("close", [room, nick, online](std::uint16_t, std::string_view) {
      --*online;
      if (!nick->empty()) room.publish("room", *nick + " left");
    });
  });
  site.listen(port, "127.0.0.1", [site] {
    std::printf("ws_chat listening on 127.0.0.1:%u\n", site.address().port);
    std::fflush(stdout);
  });
  netco::shutdown_on_signal(site, {.deadline = std::chrono::seconds(5)});
  netco::run();
}
