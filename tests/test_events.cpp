// tests/test_events.cpp: event_emitter keeps Node's rules (ports of Node's test-event-emitter-*)
#include "netco/events.hpp"

#include <doctest/doctest.h>

#include <array>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "netco/buffer.hpp"
#include "netco/dgram.hpp"
#include "netco/http.hpp"
#include "netco/net.hpp"
#include "netco/spawn.hpp"
#include "netco/tcp.hpp"
#include "raw_exchange.hpp"
#include "support.hpp"

namespace {

// An emitter with built-in events, as net::socket declares them.
class typed_emitter
    : public netco::basic_event_emitter<netco::event<"data", netco::buffer>, netco::event<"end">,
                                        netco::event<"close", bool>,
                                        netco::event<"error", std::error_code>> {
 public:
  bool data(const netco::buffer& b) { return emit_event<"data">(b); }
  bool close(bool had_error) { return emit_event<"close">(had_error); }
  bool error(std::error_code ec) { return emit_event<"error">(ec); }
  bool text_listener() const noexcept { return has_text_listener<"data">(); }
};

// The max-listeners warning goes here while a test watches it.
std::vector<std::string>* warnings = nullptr;

}  // namespace

TEST_CASE("listeners run synchronously, in registration order, with the emitted arguments") {
  netco::event_emitter e;
  std::vector<std::string> log;
  e.on("greet", [&](std::string_view who) { log.push_back("a:" + std::string(who)); });
  e.on("greet", [&](std::string_view who) { log.push_back("b:" + std::string(who)); });
  CHECK(e.emit("greet", "x"));
  CHECK(log == std::vector<std::string>{"a:x", "b:x"});
  CHECK_FALSE(e.emit("nobody"));
  CHECK(e.listener_count("greet") == 2);
  CHECK(e.event_names() == std::vector<std::string>{"greet"});
}

TEST_CASE("custom events with several typed arguments; a nullary listener takes none") {
  netco::event_emitter e;
  int sum = 0, calls = 0;
  e.on("add", [&](int a, int b) { sum += a + b; });
  e.on("add", [&] { ++calls; });
  e.emit("add", 2, 3);
  CHECK(sum == 5);
  CHECK(calls == 1);
  CHECK_THROWS_AS(e.emit("add", 2.0, 3), std::invalid_argument);  // double is not int
}

TEST_CASE("once runs once, and is removed before it runs (nested emit does not call it twice)") {
  netco::event_emitter e;
  int once_calls = 0, other = 0;
  e.on("x", [&] {
    if (++other == 1) e.emit("x");  // nested emit while the outer one is running
  });
  e.once("x", [&] { ++once_calls; });
  e.emit("x");
  e.emit("x");
  CHECK(once_calls == 1);
  CHECK(e.listener_count("x") == 1);
}

TEST_CASE("prepend_listener and prepend_once_listener go first") {
  netco::event_emitter e;
  std::string order;
  e.on("x", [&] { order += "b"; });
  e.prepend_listener("x", [&] { order += "a"; });
  e.prepend_once_listener("x", [&] { order += "0"; });
  e.emit("x");
  e.emit("x");
  CHECK(order == "0abab");
}

TEST_CASE("removing a listener during an emit does not change that emit, only the next") {
  netco::event_emitter e;
  std::string order;
  netco::listener_id b = 0;
  e.on("x", [&] {
    order += "a";
    e.off("x", b);
  });
  b = e.add_listener("x", [&] { order += "b"; });
  e.emit("x");  // b was removed by a, but this emit still calls it (Node's snapshot rule)
  e.emit("x");
  CHECK(order == "aba");
}

TEST_CASE("adding a listener during an emit does not change that emit") {
  netco::event_emitter e;
  int added_calls = 0;
  e.on("x", [&] { e.on("x", [&] { ++added_calls; }); });
  e.emit("x");
  CHECK(added_calls == 0);
  e.emit("x");
  CHECK(added_calls == 1);
}

TEST_CASE("remove_all_listeners during an emit keeps the running emit whole") {
  netco::event_emitter e;
  int calls = 0;
  e.on("x", [&] {
    ++calls;
    e.remove_all_listeners("x");
  });
  e.on("x", [&] { ++calls; });
  e.emit("x");
  CHECK(calls == 2);
  CHECK(e.listener_count("x") == 0);
  CHECK_FALSE(e.emit("x"));
}

TEST_CASE("newListener fires before the listener is added; removeListener after removal") {
  netco::event_emitter e;
  std::vector<std::string> log;
  e.on("newListener", [&](std::string_view name) {
    log.push_back("new:" + std::string(name) + ":" + std::to_string(e.listener_count(name)));
  });
  e.on("removeListener", [&](std::string_view name) {
    log.push_back("removed:" + std::string(name) + ":" + std::to_string(e.listener_count(name)));
  });
  const netco::listener_id id = e.add_listener("x", [] {});
  e.off("x", id);
  CHECK(log == std::vector<std::string>{"new:removeListener:0", "new:x:0", "removed:x:0"});
  CHECK_FALSE(e.off("x", id));  // not there any more
}

TEST_CASE("a throwing newListener listener: the new listener is not added and not leaked") {
  netco::event_emitter e;
  e.on("newListener", [](std::string_view name) {
    if (name == "x") throw std::runtime_error("refused");
  });
  // The listener's captures tell when it is destroyed: at once, since nothing holds it.
  auto alive = std::make_shared<int>(0);
  const std::weak_ptr<int> watch = alive;
  CHECK_THROWS_AS(e.on("x", [alive] {}), std::runtime_error);
  alive.reset();
  CHECK(watch.expired());
  CHECK(e.listener_count("x") == 0);
  CHECK_FALSE(e.emit("x"));
}

TEST_CASE("off removes only the given listener; once listeners can be removed before firing") {
  netco::event_emitter e;
  int a = 0, b = 0;
  const auto ia = e.add_listener("x", [&] { ++a; }, {.once = true});
  e.on("x", [&] { ++b; });
  CHECK(e.off("x", ia));
  e.emit("x");
  CHECK(a == 0);
  CHECK(b == 1);
}

TEST_CASE("emit('error') with no listener throws the error; with one it does not") {
  netco::event_emitter e;
  const auto refused = std::make_error_code(std::errc::connection_refused);
  try {
    e.emit("error", refused);
    FAIL("no throw");
  } catch (const std::system_error& ex) {
    CHECK(ex.code() == refused);
  }
  CHECK_THROWS_AS(e.emit("error", std::runtime_error("boom")), std::runtime_error);
  CHECK_THROWS_AS(e.emit("error"), std::runtime_error);
  std::error_code seen;
  e.on("error", [&](std::error_code ec) { seen = ec; });
  CHECK(e.emit("error", refused));
  CHECK(seen == refused);

  typed_emitter t;
  CHECK_THROWS_AS(t.error(refused), std::system_error);
}

TEST_CASE("max listeners: a warning past the limit, once per event; 0 is unlimited") {
  std::vector<std::string> seen;
  warnings = &seen;
  auto previous = netco::max_listeners_warning_handler();
  netco::max_listeners_warning_handler() = [](std::string_view name, std::size_t n) {
    warnings->push_back(std::string(name) + ":" + std::to_string(n));
  };
  netco::event_emitter e;
  e.set_max_listeners(2);
  CHECK(e.get_max_listeners() == 2);
  for (int i = 0; i < 4; ++i) e.on("x", [] {});
  e.set_max_listeners(0);
  for (int i = 0; i < 20; ++i) e.on("y", [] {});
  netco::max_listeners_warning_handler() = previous;
  warnings = nullptr;
  CHECK(seen == std::vector<std::string>{"x:3"});
}

TEST_CASE("built-in events check listener signatures at on() time") {
  typed_emitter t;
  netco::buffer got;
  t.on("data", [&](netco::buffer b) { got = b; });
  t.on("data", [&](std::string_view text) { CHECK(text == "hi"); });  // buffer → string_view
  bool had_error = true;
  t.on("close", [&](bool e) { had_error = e; });
  t.on("close", [] {});  // a prefix of the arguments, as in Node
  t.data(netco::buffer::from("hi"));
  t.close(false);
  CHECK(got == "hi");
  CHECK_FALSE(had_error);

  // Names known only at run time (literals are checked at compile time: tests/compile_fail/).
  // Fits "close" (bool) but not "data": a clear invalid_argument, not a silent mismatch.
  const std::string_view data = "data", error = "error", dta = "dta";
  const std::string close_upper = "Close";
  CHECK_THROWS_AS(t.on(data, [](bool) {}), std::invalid_argument);
  CHECK_THROWS_AS(t.on(error, [](netco::buffer) {}), std::invalid_argument);
  // A misspelt built-in name fails instead of registering a custom event nobody emits.
  CHECK_THROWS_AS(t.on(dta, [](netco::buffer) {}), std::invalid_argument);
  CHECK_THROWS_AS(t.on(close_upper, [] {}), std::invalid_argument);
  // Custom events on a typed emitter work as on a plain one.
  int custom = 0;
  t.on("my-event", [&](int v) { custom = v; });
  t.emit("my-event", 7);
  CHECK(custom == 7);
}

TEST_CASE("listeners are move-only callables; captured state is destroyed with the emitter") {
  auto token = std::make_shared<int>(1);
  {
    netco::event_emitter e;
    auto owned = std::make_unique<int>(5);
    int seen = 0;
    e.on("x", [p = std::move(owned), &seen] { seen = *p; });
    e.on("x", [token] {});
    e.emit("x");
    CHECK(seen == 5);
    CHECK(token.use_count() == 2);
  }
  CHECK(token.use_count() == 1);
}

TEST_CASE("a listener throwing propagates out of emit; the emitter stays usable") {
  netco::event_emitter e;
  e.on("x", [] { throw std::runtime_error("listener failed"); });
  CHECK_THROWS_AS(e.emit("x"), std::runtime_error);
  CHECK(e.listener_count("x") == 1);
  e.remove_all_listeners();
  CHECK_FALSE(e.emit("x"));
}

TEST_CASE("remove_all_listeners() announces each removal") {
  netco::event_emitter e;
  std::vector<std::string> removed;
  e.on("a", [] {});
  e.on("b", [] {});
  e.on("removeListener", [&](std::string_view n) { removed.emplace_back(n); });
  e.remove_all_listeners();
  CHECK(removed == std::vector<std::string>{"a", "b"});
  CHECK(e.event_names().empty());
}

// --- generic listeners and the compile-time name form (issue: a Node user's first hour) ---

TEST_CASE("on<\"name\">: generic listeners are instantiated for that event alone") {
  typed_emitter t;
  std::string log;
  // Bodies that compile for "data"'s netco::buffer only: no other event is tried.
  t.on<"data">([&](auto chunk) { log += "a:" + std::string(chunk.view()) + " "; });
  t.on<"data">([&](const auto& chunk) { log += "b:" + std::string(chunk.view()) + " "; });
  t.on<"data">([&](auto&& chunk) { log += "c:" + std::to_string(chunk.size()) + " "; });
  t.on<"data">([&](auto&&... args) { log += "d:" + std::to_string(sizeof...(args)) + " "; });
  t.on<"close">([&](auto had_error) {
    static_assert(std::is_same_v<decltype(had_error), bool>);
    log += had_error ? "close(true)" : "close(false)";
  });
  t.data(netco::buffer::from("hi"));
  t.close(false);
  CHECK(log == "a:hi b:hi c:2 d:1 close(false)");
}

TEST_CASE("on<\"name\">: typed listeners, prefixes, once, prepend, add_listener's id") {
  typed_emitter t;
  std::string order;
  t.on<"data">([&](netco::buffer) { order += "b"; });
  t.prepend_listener<"data">([&] { order += "a"; });  // a prefix: no arguments
  t.once<"data">([&](std::string_view) { order += "o"; });
  t.prepend_once_listener<"data">([&](const auto&) { order += "0"; });
  const netco::listener_id id = t.add_listener<"data">([&](auto) { order += "x"; });
  t.data(netco::buffer::from("1"));
  CHECK(t.off("data", id));
  t.data(netco::buffer::from("2"));
  CHECK(order ==
        "0abox"
        "ab");
  // A custom name works in the template form too (typed listeners only, as on(name, fn)).
  int custom = 0;
  t.on<"my-event">([&](int v) { custom = v; });
  t.emit("my-event", 4);
  CHECK(custom == 4);
}

TEST_CASE("a literal name fits at compile time; a runtime name is still checked at on()") {
  typed_emitter t;
  int closes = 0;
  t.on("close", [&](bool) { ++closes; });  // checked at compile time
  const std::string name = "close";
  t.on(name, [&](bool) { ++closes; });  // a std::string: checked here
  const char* c_name = "close";
  t.on(c_name, [&] { ++closes; });
  t.close(true);
  CHECK(closes == 3);
}

TEST_CASE("a text argument may be taken as std::string (a copy per call)") {
  typed_emitter t;
  std::string got;
  CHECK_FALSE(t.text_listener());
  t.on("data", [&](std::string text) { got += text; });
  t.on<"data">([&](const std::string& text) { got += "|" + text; });
  CHECK(t.text_listener());
  t.data(netco::buffer::from("ab"));
  CHECK(got == "ab|ab");
  std::vector<std::string> names;
  t.on("newListener", [&](std::string name) { names.push_back(std::move(name)); });
  t.on("end", [] {});
  CHECK(names == std::vector<std::string>{"end"});
}

// --- the same on netco's handles ---

namespace {

using netco_test::raw_exchange;

/// One GET with Connection: close against srv; the response's body.
netco::task<std::string> get(const netco::http::server& srv, std::string path) {
  const std::string out = co_await raw_exchange(
      srv.address().port, "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::size_t at = out.find("\r\n\r\n");
  co_return at == std::string::npos ? std::string() : out.substr(at + 4);
}

/// Answers with the request's url: a body that only compiles for "request"'s arguments.
constexpr auto answer = [](auto& req, auto& res) { res.end("url " + std::string(req.url())); };

}  // namespace

TEST_CASE("http::server \"request\" with generic listeners, plain and coroutine") {
  netco_test::run([]() -> netco::task<> {
    namespace http = netco::http;
    http::server a = http::create_server();
    a.on<"request">(answer);
    http::server b = http::create_server();
    b.on<"request">(
        [](const auto& req, const auto& res) { res.end("b " + std::string(req.url())); });
    http::server c = http::create_server();
    c.on<"request">([](auto req, auto res) { res.end("c " + std::string(req.url())); });
    http::server d = http::create_server();  // a coroutine listener: spawned, as create_server does
    d.on<"request">([](auto req, auto res) -> netco::task<> {
      co_await netco::sleep_for(std::chrono::milliseconds(1));
      res.end("d " + std::string(req.url()));
    });
    // References die at the first suspension (a coroutine's rule): copy what outlives it.
    http::server e = http::create_server([](auto& req, auto& res) -> netco::task<> {
      const std::string url(req.url());
      const auto keep = res;
      co_await netco::sleep_for(std::chrono::milliseconds(1));
      keep.end("e " + url);
    });
    http::server f = http::create_server([](auto req, auto res) { answer(req, res); });
    const std::array<http::server, 6> all{a, b, c, d, e, f};
    for (const http::server& s : all) s.listen(0, "127.0.0.1");
    CHECK(co_await get(a, "/a") == "url /a");
    CHECK(co_await get(b, "/b") == "b /b");
    CHECK(co_await get(c, "/c") == "c /c");
    CHECK(co_await get(d, "/d") == "d /d");
    CHECK(co_await get(e, "/e") == "e /e");
    CHECK(co_await get(f, "/f") == "url /f");
    for (const http::server& s : all) s.close();
  }());
}

TEST_CASE("net: \"connection\"(auto sock) and \"data\"(auto chunk) / (const auto&)") {
  std::string got, copy;
  netco_test::run([&]() -> netco::task<> {
    namespace net = netco::net;
    net::server server = net::create_server();
    server.on<"connection">([](auto sock) {
      sock.template on<"data">([sock](auto chunk) { sock.write(chunk); });
      sock.template on<"end">([sock] { sock.end(); });
    });
    server.listen(0, "127.0.0.1");
    net::socket c = net::connect(server.address().port, "127.0.0.1");
    c.on<"data">([&](const auto& chunk) { got += chunk.view(); });
    c.on<"data">([&](auto chunk) { copy += std::string_view(chunk); });
    c.on<"close">([server](auto) { server.close(); });
    c.end("ping");
    CHECK(co_await netco_test::eventually([&] { return got == "ping"; }));
  }());
  CHECK(got == "ping");
  CHECK(copy == "ping");
}

TEST_CASE("net: a std::string \"data\" listener works after set_encoding, else \"error\"") {
  std::string text;
  std::error_code refused;
  bool closed_with_error = false;
  netco_test::run([&]() -> netco::task<> {
    namespace net = netco::net;
    net::server server = net::create_server([](net::socket s) { s.end("hello"); });
    server.listen(0, "127.0.0.1");
    const std::uint16_t port = server.address().port;

    net::socket with = net::connect(port, "127.0.0.1");
    with.on("data", [&](std::string chunk) { text += chunk; });
    with.set_encoding("utf8");  // after on(): fine, as in Node
    CHECK(co_await netco_test::eventually([&] { return text == "hello"; }));

    net::socket without = net::connect(port, "127.0.0.1");
    without.on("data", [&](std::string chunk) { text += "?" + chunk; });
    without.on("error", [&](std::error_code ec) { refused = ec; });
    without.on("close", [&](bool had_error) { closed_with_error = had_error; });
    CHECK(co_await netco_test::eventually([&] { return closed_with_error; }));
    server.close();
  }());
  CHECK(text == "hello");
  CHECK(refused == netco::errc::data_needs_encoding);
  CHECK(refused.message().find("set_encoding") != std::string::npos);
}

TEST_CASE("dgram: \"message\"(auto msg, auto rinfo)") {
  std::string got;
  netco_test::run([&]() -> netco::task<> {
    namespace dgram = netco::dgram;
    dgram::socket server = dgram::create_socket("udp4");
    server.on<"message">([server](auto msg, auto rinfo) {
      server.send(msg, rinfo.port, rinfo.address);  // echo: needs remote_info's members
    });
    server.on<"listening">([] {});
    server.bind(0, "127.0.0.1");
    dgram::socket client = dgram::create_socket("udp4");
    client.on<"message">([&](const auto& msg, const auto&) { got = msg.view(); });
    client.send(netco::buffer::from("dgram"), server.address().port, "127.0.0.1");
    CHECK(co_await netco_test::eventually([&] { return got == "dgram"; }));
    client.close();
    server.close();
  }());
  CHECK(got == "dgram");
}
