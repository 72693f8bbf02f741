// examples/http_hello.cpp: the HTTP hello-world server (the plaintext benchmark's), Node style.
// Try: curl -i http://127.0.0.1:8080/
#include <netco/http.hpp>
#include <netco/shutdown.hpp>

#include <cstdio>
#include <cstdlib>

namespace http = netco::http;

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 8080);
  http::server server =
      http::create_server([](const http::incoming_message& req, const http::server_response& res) {
        if (req.url() == "/" && (req.method() == "GET" || req.method() == "HEAD")) {
          res.write_head(200, {{"Content-Type", "text/plain"}});
          res.end("Hello, World!\n");
        } else {
          res.write_head(404, {{"Content-Type", "text/plain"}});
          res.end("Not Found\n");
        }
      });
  server.on("error", [](std::error_code ec) {
    std::fprintf(stderr, "listen: %s\n", ec.message().c_str());
    std::exit(1);
  });
  server.listen(port, "127.0.0.1", [server] {
    std::printf("http_hello listening on 127.0.0.1:%u\n", server.address().port);
    std::fflush(stdout);
  });
  // SIGINT/SIGTERM: stop accepting, close idle keep-alive connections, finish the requests in
  // flight (5 s at most), then exit; a second signal forces it.
  netco::shutdown_on_signal(server, {.deadline = std::chrono::seconds(5)});
  netco::run();
}
