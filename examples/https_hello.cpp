// examples/https_hello.cpp: the HTTP hello-world over TLS, Node style. Without --cert/--key it
// makes a self-signed localhost certificate at start. Try: curl -k https://127.0.0.1:8443/
#include <netco/https.hpp>
#include <netco/shutdown.hpp>

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace http = netco::http;
namespace https = netco::https;

int main(int argc, char** argv) {
  std::uint16_t port = 8443;
  https::server_options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--cert" && i + 1 < argc) {
      options.tls.cert = netco::tls::pem::file(argv[++i]);
    } else if (arg == "--key" && i + 1 < argc) {
      options.tls.key = netco::tls::pem::file(argv[++i]);
    } else {
      port = static_cast<std::uint16_t>(std::atoi(argv[i]));
    }
  }
  if (options.tls.cert.empty() || options.tls.key.empty()) {
    const netco::tls::key_and_cert made = netco::tls::generate_self_signed();
    options.tls.key = made.key;
    options.tls.cert = made.cert;
    std::printf("https_hello: no --cert/--key given: using a self-signed localhost certificate\n");
  }
  https::server server = https::create_server(
      options, [](const http::incoming_message& req, const http::server_response& res) {
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
    std::printf("https_hello listening on 127.0.0.1:%u\n", server.address().port);
    std::fflush(stdout);
  });
  netco::shutdown_on_signal(server, {.deadline = std::chrono::seconds(5)});
  netco::run();
}
