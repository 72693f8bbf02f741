// examples/http_get.cpp: client: GET a URL, print the status, headers and body
// (Node style). Try: http_get http://127.0.0.1:8080/
#include <netco/http.hpp>

#include <cstdio>
#include <string>

namespace http = netco::http;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: http_get URL\n");
    return 2;
  }
  int status = 1;
  try {
    http::client_request req = http::get(argv[1], [&](const http::incoming_message& res) {
      std::printf("HTTP/%s %d %s\n", std::string(res.http_version()).c_str(), res.status_code(),
                  std::string(res.status_message()).c_str());
      for (auto [name, value] : res.headers())
        std::printf("%.*s: %.*s\n", static_cast<int>(name.size()), name.data(),
                    static_cast<int>(value.size()), value.data());
      std::printf("\n");
      res.on("data", [](const netco::buffer& chunk) {
        std::fwrite(chunk.data(), 1, chunk.size(), stdout);
      });
      res.on("end", [&] { status = 0; });
    });
    req.on("error", [](std::error_code ec) {
      std::fprintf(stderr, "http_get: %s\n", ec.message().c_str());
    });
    netco::run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "http_get: %s\n", e.what());
    return 1;
  }
  return status;
}
