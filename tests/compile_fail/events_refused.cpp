// tests/compile_fail/events_refused.cpp: listeners that events.hpp refuses at compile time.
// Each NETCO_REFUSED case must fail to compile with its message (checked by the meson test
// events_refused, which compiles each with -fsyntax-only); without a case it compiles.
#include "netco/events.hpp"

#include <string_view>  // string_view: a custom event's argument

#include "netco/buffer.hpp"
#include "netco/http.hpp"
#include "netco/net.hpp"

void refused(const netco::net::socket& s, const netco::net::server& server,
             const netco::http::server& http_server, netco::event_emitter& plain) {
#if NETCO_REFUSED == 1  // "data" named at compile time: int fits none of its signatures
  s.on<"data">([](int) {});
#elif NETCO_REFUSED == 2  // a literal name: the same check, at compile time
  s.on("data", [](int) {});
#elif NETCO_REFUSED == 3  // a generic listener with a name only known as a string
  s.on("data", [](auto chunk) { return chunk.view(); });
#elif NETCO_REFUSED == 4  // "request" takes (req, res): two ints fit neither
  http_server.on<"request">([](int, int) {});
#elif NETCO_REFUSED == 5  // a misspelt built-in event, as a literal
  s.on("dta", [](netco::buffer) {});
#elif NETCO_REFUSED == 6  // a misspelt built-in event, named at compile time
  s.on<"dta">([](netco::buffer) {});
#elif NETCO_REFUSED == 7  // a custom event needs typed parameters: emit() passes exact types
  plain.on<"greet">([](auto who) { return who; });
#elif NETCO_REFUSED == 8  // the server's "connection" gives a net::socket, not bytes
  server.once("connection", [](netco::buffer) {});
#else                     // what compiles: the same handles with listeners that fit
  s.on<"data">([](auto chunk) { return chunk.view(); });
  s.on("data", [](std::string_view text) { return text; });
  http_server.on<"request">([](auto& req, auto& res) { res.end(req.url()); });
  plain.on<"greet">([](std::string_view who) { return who; });
  server.once("connection", [](const netco::net::socket&) {});
#endif
}
