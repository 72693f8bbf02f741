// examples/https_get.cpp: client: GET an https: URL, verifying the server (chain and host name)
// against the system roots or --ca FILE, and print the body of a 2xx (coroutine style). Any
// failure is one line on stderr and exit status 1. Try: https_get https://127.0.0.1:8443/ --ca
// CERT (https_hello prints where its self-signed certificate is, or pass it --cert/--key)
#include <netco/http.hpp>
#include <netco/https.hpp>

#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

namespace http = netco::http;
namespace https = netco::https;

namespace {

struct outcome {
  int status = 0;
  std::string body;
  std::string failure;  // what() of what the request threw: verification, host name, truncation
};

netco::task<> get(std::string url, http::agent* agent, outcome* out) {
  http::fetch_options o;
  o.agent = agent;
  try {
    // NOTE: the task is made first: GCC 12 copies a class temporary in a co_await bit by bit.
    netco::task<http::fetch_response> t = http::fetch(std::move(url), std::move(o));
    http::fetch_response r = co_await std::move(t);
    out->status = r.status;
    out->body = std::move(r.body_);
  } catch (const std::exception& e) {
    out->failure = e.what();
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string url, ca;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--ca" && i + 1 < argc)
      ca = argv[++i];
    else if (url.empty() && !arg.starts_with("--"))
      url = arg;
    else
      url.clear(), i = argc;  // unknown argument: usage
  }
  if (url.empty()) {
    std::fprintf(stderr, "usage: https_get URL [--ca FILE]\n");
    return 2;
  }
  outcome got;
  try {
    https::agent_options ao;
    ao.http.keep_alive = false;  // one request: nothing to pool
    if (!ca.empty()) {
      netco::tls::context_options c;
      c.ca = {netco::tls::pem::file(ca)};  // replaces the system roots
      ao.context = netco::tls::secure_context(c);
    }
    https::agent agent(ao);
    netco::spawn(get(url, &agent, &got));
    netco::run();
  } catch (const std::exception& e) {  // an unreadable --ca file
    got.failure = e.what();
  }
  if (!got.failure.empty()) {
    std::fprintf(stderr, "https_get: %s\n", got.failure.c_str());
    return 1;
  }
  if (got.status < 200 || got.status >= 300) {
    std::fprintf(stderr, "https_get: %s: HTTP status %d\n", url.c_str(), got.status);
    return 1;
  }
  std::fwrite(got.body.data(), 1, got.body.size(), stdout);
  return 0;
}
