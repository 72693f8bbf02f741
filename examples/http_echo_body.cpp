// examples/http_echo_body.cpp: answers a POST with its own body, streamed chunk by chunk as it
// arrives (Node style, with backpressure). Try: curl --data-binary @file http://127.0.0.1:8081/
#include <netco/http.hpp>
#include <netco/signal.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>

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
  server.on("error", [](std::error_code ec) {
    std::fprintf(stderr, "listen: %s\n", ec.message().c_str());
    std::exit(1);
  });
  server.listen(port, "127.0.0.1", [server] {
    std::printf("http_echo_body listening on 127.0.0.1:%u\n", server.address().port);
    std::fflush(stdout);
  });
  netco::spawn([](http::server s) -> netco::task<> {  // SIGINT/SIGTERM: stop cleanly
    co_await netco::wait_for_signal(SIGINT, SIGTERM);
    s.close();
    netco::loop::current().stop();
  }(server));
  netco::run();
}
