// tests/interop/wss_netco.cpp: netco's side of the wss:// interop test (tests/interop/wss_npm.py).
// usage: wss_netco certs DIR          writes DIR/ca.pem, DIR/key.pem, DIR/cert.pem (localhost)
//        wss_netco server KEY CERT    a wss echo on an https::server; prints "listening on ..."
//        wss_netco client URL CA      text, binary (300 KB), a clean close; exit 0 when all
//                                     came back as sent, over a verified TLS connection
#include <netco/shutdown.hpp>
#include <netco/ws.hpp>
#include <netco/ws/wss.hpp>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

namespace ws = netco::ws;

namespace {

std::string read_file(const char* path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

netco::task<int> client(std::string url, std::string ca) {
  ws::client_options o;
  o.tls.ca = {std::move(ca)};
  ws::stream s = co_await ws::connect(url, o);
  const std::string text = "hello over wss";
  const std::string big(300 * 1000, 'y');
  co_await s.send_text(text);
  co_await s.send_binary(netco::buffer::from(big));
  auto a = co_await s.read();
  auto b = co_await s.read();
  if (!a || a->binary || a->text() != text || !b || !b->binary || b->text() != big) {
    std::fprintf(stderr, "wss_netco: an echo differs\n");
    co_return 1;
  }
  co_await s.close(1000, "done");
  if (s.close_code() != 1000) {
    std::fprintf(stderr, "wss_netco: close code %u\n", s.close_code());
    co_return 1;
  }
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "certs") == 0) {
    const std::string dir = argv[2];
    const auto ca = netco::tls::generate_self_signed(
        {.names = {}, .common_name = "wss interop CA", .is_ca = true});
    const auto leaf =
        netco::tls::generate_self_signed({.issuer_key = ca.key, .issuer_cert = ca.cert});
    write_file(dir + "/ca.pem", ca.cert);
    write_file(dir + "/key.pem", leaf.key);
    write_file(dir + "/cert.pem", leaf.cert);
    return 0;
  }
  if (argc == 4 && std::strcmp(argv[1], "server") == 0) {
    netco::https::server_options t;
    t.tls.key = read_file(argv[2]);
    t.tls.cert = read_file(argv[3]);
    ws::server srv = ws::create_server(
        {.port = 0}, t, [](const ws::socket& s, const netco::http::incoming_message&) {
          s.on("message",
               [s](const netco::buffer& d, bool binary) { s.send(d, {.binary = binary}); });
        });
    srv.on("listening", [srv] {
      std::printf("wss_netco listening on 127.0.0.1:%u\n", srv.address().port);
      std::fflush(stdout);
    });
    netco::shutdown_on_signal(srv.http_server(), {.deadline = std::chrono::seconds(5)});
    netco::run();
    return 0;
  }
  if (argc == 4 && std::strcmp(argv[1], "client") == 0) {
    int rc = 1;
    netco::spawn([](std::string url, std::string ca, int& out) -> netco::task<> {
      out = co_await client(std::move(url), std::move(ca));
    }(argv[2], read_file(argv[3]), rc));
    netco::run();
    std::puts(rc == 0 ? "wss_netco client: ok" : "wss_netco client: FAILED");
    return rc;
  }
  std::fprintf(stderr, "usage: wss_netco certs DIR | server KEY CERT | client URL CA\n");
  return 2;
}
