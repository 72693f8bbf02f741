// examples/http_echo_body.cpp: answers a POST with its own body, streamed chunk by chunk as it
// arrives (Node style, with backpressure); "Upgrade: echo" turns the connection into a raw echo.
// Try: curl --data-binary @file http://127.0.0.1:8081/
#include <netco/http.hpp>
#include <netco/shutdown.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace http = netco::http;

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 8081);
  http::server server =
      http::create_server([](const http::incoming_message& req, const http::server_response& res) {
        if (req.method() != "POST" && req.method() != "PUT") {
          res.write_head(405, {{"Allow", "POST, PUT"}}).end();
          return;
        }
        res.write_head(200, {{"Content-Type", "application/octet-stream"}});
        if (auto length = req.headers().get("content-length"))
          res.set_header("Content-Length", *length);
        req.on("data", [req, res](const netco::buffer& chunk) {
          if (!res.write(chunk)) {  // the client reads slower than it sends: stop reading a while
            req.pause();
            res.once("drain", [req] { req.resume(); });
          }
        });
        req.on("end", [res] { res.end(); });
      });
  // "Upgrade: echo": the connection leaves HTTP and echoes raw bytes, starting with those the
  // client sent right after its request head.
  server.on("upgrade", [](const http::incoming_message&, const netco::net::socket& sock,
                          const netco::buffer& head) {
    std::string hello =
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n";
    hello += head.view();
    sock.write(hello);
    sock.on("data", [sock](const netco::buffer& chunk) {
      if (!sock.write(chunk)) {
        sock.pause();
        sock.once("drain", [sock] { sock.resume(); });
      }
    });
    sock.on("end", [sock] { sock.end(); });
  });
  server.on("error", [](std::error_code ec) {
    std::fprintf(stderr, "listen: %s\n", ec.message().c_str());
    std::exit(1);
  });
  server.listen(port, "127.0.0.1", [server] {
    std::printf("http_echo_body listening on 127.0.0.1:%u\n", server.address().port);
    std::fflush(stdout);
  });
  // SIGINT/SIGTERM: stop accepting, close idle keep-alive connections, finish the requests in
  // flight (5 s at most), then exit; a second signal forces it.
  netco::shutdown_on_signal(server, {.deadline = std::chrono::seconds(5)});
  netco::run();
}
