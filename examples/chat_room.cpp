// examples/chat_room.cpp: seed 002's TCP chat room: each newcomer hears how many are online
// and is asked for a nickname; then each line goes to everyone else.
// Try: telnet 127.0.0.1 8000   (or nc), from two terminals
#include <netco/net.hpp>
#include <netco/signal.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>

namespace net = netco::net;

struct member {
  std::string nick;     // empty until the first line
  std::string partial;  // an unfinished line
};

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 8000);
  auto room = std::make_shared<std::map<net::socket*, std::pair<net::socket, member>>>();
  auto broadcast = [room](const net::socket* from, const std::string& text) {
    for (auto& [key, entry] : *room) {
      if (key != from && !entry.second.nick.empty()) entry.first.write(text);
    }
  };
  net::server server = net::create_server();
  server.on("connection", [room, broadcast, server](net::socket socket) mutable {
    socket.set_encoding("utf8");  // whole characters in every "data" chunk
    auto key = std::make_shared<net::socket>(socket);
    room->emplace(key.get(), std::make_pair(socket, member{}));
    server.get_connections([socket](std::error_code, std::size_t count) mutable {
      socket.write("You are visitor number " + std::to_string(count) +
                   " online; please enter your nickname\r\n");
    });
    socket.on("data", [room, broadcast, key](std::string_view data) {
      member& m = room->at(key.get()).second;
      m.partial += data;
      for (std::size_t nl; (nl = m.partial.find('\n')) != std::string::npos;) {
        std::string line = m.partial.substr(0, nl);
        m.partial.erase(0, nl + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (m.nick.empty()) {
          m.nick = line.empty() ? "anonymous" : line;
          broadcast(key.get(), "* " + m.nick + " joined\r\n");
        } else {
          broadcast(key.get(), m.nick + ": " + line + "\r\n");
        }
      }
    });
    socket.on("close", [room, broadcast, key](bool) {
      const std::string nick = room->at(key.get()).second.nick;
      room->erase(key.get());
      if (!nick.empty()) broadcast(nullptr, "* " + nick + " left\r\n");
    });
    socket.on("error", [](std::error_code) {});  // "close" follows
  });
  server.on("error",
            [](std::error_code ec) { std::printf("server error: %s\n", ec.message().c_str()); });
  server.listen(port, "127.0.0.1", [server] {
    std::printf("chat_room listening on 127.0.0.1:%u\n", server.address().port);
    std::fflush(stdout);
  });
  netco::spawn([](net::server s) -> netco::task<> {
    co_await netco::wait_for_signal(SIGINT, SIGTERM);
    s.close();
    netco::loop::current().stop();
  }(server));
  netco::run();
}
