// examples/tls_echo.cpp: a TLS echo server, Node style; tls_echo [port] [--cert FILE --key FILE]
// (without them, a self-signed localhost certificate made at start). Half-close honoured: the
// peer's end() still gets the rest echoed, then the end. Try: openssl s_client -connect
// 127.0.0.1:8000 -quiet
#include <netco/shutdown.hpp>
#include <netco/tls.hpp>

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace tls = netco::tls;

int main(int argc, char** argv) {
  std::uint16_t port = 8000;
  tls::server_options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--cert" && i + 1 < argc) {
      options.tls.cert = tls::pem::file(argv[++i]);
    } else if (arg == "--key" && i + 1 < argc) {
      options.tls.key = tls::pem::file(argv[++i]);
    } else {
      port = static_cast<std::uint16_t>(std::atoi(argv[i]));
    }
  }
  if (options.tls.cert.empty() || options.tls.key.empty()) {
    const tls::key_and_cert made = tls::generate_self_signed();
    options.tls.key = made.key;
    options.tls.cert = made.cert;
  }
  options.net.allow_half_open = true;  // the peer's end() still gets the rest echoed
  tls::server server = tls::create_server(options, [](tls::socket s) {
    s.on("data", [s](const netco::buffer& chunk) { s.write(chunk); });
    s.on("end", [s] { s.end(); });
    s.on("error", [](std::error_code) {});  // a peer that vanished: nothing to tell
  });
  server.on("tlsClientError", [](std::error_code ec, netco::net::socket) {
    std::fprintf(stderr, "tls_echo: handshake failed: %s\n", ec.message().c_str());
  });
  server.on("error", [](std::error_code ec) {
    std::fprintf(stderr, "listen: %s\n", ec.message().c_str());
    std::exit(1);
  });
  server.listen(port, "127.0.0.1", [server] {
    std::printf("tls_echo listening on 127.0.0.1:%u\n", server.address().port);
    std::fflush(stdout);
  });
  netco::shutdown_on_signal(server, {.deadline = std::chrono::seconds(5)});
  netco::run();
}
