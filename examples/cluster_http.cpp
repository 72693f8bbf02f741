// examples/cluster_http.cpp: http_hello on N loops (N threads, one port), Node's cluster done
// with threads. Usage: cluster_http [port] [loops] [reuse_port|handoff]
// Try: curl -i http://127.0.0.1:8080/   (then Ctrl-C: it drains and prints what each loop did)
#include <netco/cluster.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

namespace http = netco::http;

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 8080);
  const auto loops = static_cast<std::size_t>(argc > 2 ? std::atoi(argv[2]) : 0);  // 0: all
  netco::cluster_listen_options where{.port = port};
  if (argc > 3) {
    where.balance = std::strcmp(argv[3], "handoff") == 0 ? netco::balancing::handoff
                                                         : netco::balancing::reuse_port;
  }
  try {
    netco::cluster cluster(loops);
    cluster.stop_on_signal(std::chrono::seconds(5));        // before the announcement: a SIGINT
    const std::uint16_t bound = cluster.listen(where, [] {  // right after it must be caught
      return http::create_server(
          [](const http::incoming_message& req, const http::server_response& res) {
            if (req.url() == "/" && (req.method() == "GET" || req.method() == "HEAD")) {
              res.write_head(200, {{"Content-Type", "text/plain"}});
              res.end("Hello, World!\n");
            } else {
              res.write_head(404, {{"Content-Type", "text/plain"}});
              res.end("Not Found\n");
            }
          });
    });
    std::printf("cluster_http listening on 127.0.0.1:%u with %zu loops\n", bound, cluster.size());
    std::fflush(stdout);
    cluster.join();  // until SIGINT/SIGTERM, and the connections then open, are done
    for (std::size_t i = 0; i < cluster.size(); ++i) {
      const netco::cluster_stats s = cluster.stats(i);
      std::fprintf(stderr, "loop %zu: %llu connections, %llu requests\n", i,
                   static_cast<unsigned long long>(s.connections),
                   static_cast<unsigned long long>(s.requests));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cluster_http: %s\n", e.what());
    return 1;
  }
}
