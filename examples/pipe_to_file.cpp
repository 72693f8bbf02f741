// examples/pipe_to_file.cpp: pipe every client into one file with
// {end: false}, so the file stays open for the next client. Usage: pipe_to_file [port] [file]
// Try: echo hello | nc -N 127.0.0.1 8080; cat msg.txt
#include <netco/fs.hpp>
#include <netco/net.hpp>
#include <netco/shutdown.hpp>

#include <cstdio>
#include <cstdlib>

namespace net = netco::net;

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 8080);
  netco::fs::write_stream ws = netco::fs::create_write_stream(argc > 2 ? argv[2] : "msg.txt");
  ws.on("error", [](std::error_code ec) {
    std::fprintf(stderr, "file: %s\n", ec.message().c_str());
    std::exit(1);
  });
  net::server server = net::create_server([ws](net::socket socket) {
    socket.on("data", [](netco::buffer data) {
      std::printf("<Buffer %zu bytes>\n", data.size());
      std::fflush(stdout);
    });
    socket.pipe(ws, {.end = false});  // the file outlives each client
    socket.on("end", [socket] { socket.unpipe(); });
    socket.on("error", [](std::error_code) {});
  });
  server.listen(port, "127.0.0.1", [server] {
    std::printf("pipe_to_file listening on 127.0.0.1:%u\n", server.address().port);
    std::fflush(stdout);
  });
  // SIGINT/SIGTERM: stop accepting, let open connections end (5 s at most); a second forces it.
  // The file ends after the last client (the server's "close"), or when forced; it is flushed
  // by the file thread before the stream goes.
  server.on("close", [ws] { ws.end(); });
  netco::shutdown_on_signal(server, {.deadline = std::chrono::seconds(5)}).add({}, [ws] {
    ws.end();
  });
  netco::run();
}
