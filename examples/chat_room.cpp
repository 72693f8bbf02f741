// examples/chat_room.cpp: a TCP chat room: each newcomer hears how many are online
// and is asked for a nickname; then each line goes to everyone else. Usage: chat_room [port]
// [loops] (default 1): with several loops, members sit on different threads and every line
// is relayed to each loop, which writes it to its own members.
// Try: telnet 127.0.0.1 8000   (or nc), from two terminals
#include <netco/cluster.hpp>
#include <netco/net.hpp>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace net = netco::net;

struct member {
  net::socket socket;
  std::string nick;     // empty until the first line
  std::string partial;  // an unfinished line
};
using room = std::map<std::uint64_t, member>;  // this loop's members, by a cluster-wide id

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 8000);
  const auto loops = static_cast<std::size_t>(argc > 2 ? std::atoi(argv[2]) : 1);
  // Declared before the cluster, so they outlive its threads.
  std::vector<std::weak_ptr<room>> rooms(loops > 0 ? loops : netco::cluster::hardware_loops());
  std::atomic<std::uint64_t> next_id{1};
  std::atomic<std::size_t> online{0};
  try {
    netco::cluster cluster(rooms.size());
    // Every loop hears every line (its own on a later turn too); none writes to the sender.
    auto broadcast = [&cluster, &rooms](std::uint64_t from, std::string text) {
      cluster.broadcast([&rooms, from, text](std::size_t loop_index) {
        const auto here = rooms[loop_index].lock();  // gone once its server and members are
        if (!here) return;
        for (auto& [id, m] : *here) {
          if (id != from && !m.nick.empty()) m.socket.write(text);
        }
      });
    };
    cluster.stop_on_signal(std::chrono::seconds(2));
    const std::uint16_t bound = cluster.listen({.port = port}, [&] {
      // The room belongs to the listeners that share it (as in the one-loop version), so it
      // goes with them, on its loop's thread; rooms[i] (loop i's thread only) only watches it.
      auto here = std::make_shared<room>();
      rooms[cluster.index()] = here;
      return net::create_server([here, &next_id, &online, broadcast](net::socket socket) {
        socket.set_encoding("utf8");  // whole characters in every "data" chunk
        const std::uint64_t id = next_id.fetch_add(1);
        here->emplace(id, member{socket, {}, {}});
        socket.write("You are visitor number " + std::to_string(online.fetch_add(1) + 1) +
                     " online; please enter your nickname\r\n");
        socket.on("data", [here, broadcast, id](std::string_view data) {
          member& m = here->at(id);
          m.partial += data;
          for (std::size_t nl; (nl = m.partial.find('\n')) != std::string::npos;) {
            std::string line = m.partial.substr(0, nl);
            m.partial.erase(0, nl + 1);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (m.nick.empty()) {
              m.nick = line.empty() ? "anonymous" : line;
              broadcast(id, "* " + m.nick + " joined\r\n");
            } else {
              broadcast(id, m.nick + ": " + line + "\r\n");
            }
          }
        });
        socket.on("close", [here, &online, broadcast, id](bool) {
          const std::string nick = here->at(id).nick;
          here->erase(id);
          online.fetch_sub(1);
          if (!nick.empty()) broadcast(0, "* " + nick + " left\r\n");
        });
        socket.on("error", [](std::error_code) {});  // "close" follows
      });
    });
    std::printf("chat_room listening on 127.0.0.1:%u\n", bound);
    std::fflush(stdout);
    cluster.join();  // until SIGINT/SIGTERM (members still online are cut off after 2 s)
  } catch (const std::exception& e) {
    std::printf("server error: %s\n", e.what());
    return 1;
  }
}
