// tests/test_http_parser.cpp: netco's HTTP/1.1 parser: each RFC 9112 rule, every split point,
// pipelining, zero-copy views, limits, and no allocation per message
#include "netco/http/parser.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "http_transcript.hpp"

using namespace std::string_view_literals;
using netco::http::body_kind;
using netco::http::message_kind;
using netco::http::method;
using netco::http::parse_error;
using netco::http::parse_event;
using netco::http::parser;
using netco::http::parser_options;
namespace th = netco_test::http;

// NOTE: GCC flags free() in a replaced operator delete as mismatched, but the replaced operator
// new mallocs: they match.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

// Counting operator new: its own program, so that the steady-state test can see allocations.
namespace {
std::atomic<long> allocations{0};
}
void* operator new(std::size_t n) {
  ++allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace {

constexpr auto req = message_kind::request;
constexpr auto res = message_kind::response;

std::error_code code(parse_error e) { return netco::http::make_error_code(e); }

// The error netco reports for bytes (an empty code if it accepts them).
std::error_code error_of(std::string_view bytes, message_kind kind = req,
                         parser_options options = {}) {
  return th::run_netco(bytes, kind, {}, 0, options).netco_error;
}

th::transcript parse(std::string_view bytes, message_kind kind = req,
                     std::vector<method> requests = {}) {
  return th::run_netco(bytes, kind, th::request_queue{std::move(requests)});
}

// Feeds bytes in two pieces split at k, keeping unconsumed bytes as the contract says.
th::transcript parse_split(std::string_view bytes, std::size_t k, message_kind kind = req) {
  th::transcript t;
  parser p(kind);
  std::string buf;
  th::message m;
  auto drive = [&](bool last) {
    for (;;) {
      auto r = p.parse(buf);
      switch (r.event) {
        case parse_event::head:
          m = th::message{};
          m.url = std::string(p.head().target);
          m.status = p.head().status;
          for (const auto& h : p.head().headers) m.headers.emplace_back(h.name, h.value);
          m.keep_alive = p.head().keep_alive;
          break;
        case parse_event::body:
          m.body.append(r.data);
          break;
        case parse_event::message_complete:
          for (const auto& h : p.trailers()) m.trailers.emplace_back(h.name, h.value);
          t.messages.push_back(m);
          break;
        case parse_event::error:
          t.end = th::outcome::error;
          t.netco_error = p.error();
          return;
        case parse_event::upgrade:
          t.end = th::outcome::upgrade;
          return;
        case parse_event::need_more:
          break;
      }
      buf.erase(0, r.consumed);
      if (r.event == parse_event::need_more) break;
    }
    if (last) {
      auto r = p.finish();
      if (r.event == parse_event::message_complete) t.messages.push_back(m);
      if (r.event == parse_event::error) {
        t.end = th::outcome::error;
        t.netco_error = p.error();
      }
    }
  };
  buf.append(bytes.substr(0, k));
  drive(false);
  if (t.end != th::outcome::ok) return t;
  buf.append(bytes.substr(k));
  drive(true);
  return t;
}

}  // namespace

TEST_CASE("error codes: a category whose messages end with Node's code") {
  CHECK(std::string(netco::http::parse_category().name()) == "netco.http");
  for (int e = static_cast<int>(parse_error::invalid_method);
       e <= static_cast<int>(parse_error::invalid_eof_state); ++e) {
    const std::string m = code(static_cast<parse_error>(e)).message();
    CAPTURE(m);
    CHECK(m.find(" [HPE_") != std::string::npos);
    CHECK(m.back() == ']');
  }
  CHECK(code(parse_error::invalid_method).message() == "invalid method [HPE_INVALID_METHOD]");
  CHECK(code(parse_error::header_overflow).message() == "header overflow [HPE_HEADER_OVERFLOW]");
  std::error_code ec = parse_error::lf_expected;  // is_error_code_enum
  CHECK(ec == code(parse_error::lf_expected));
}

TEST_CASE("request line: method, target, version") {
  parser p(req);
  std::string_view in = "PATCH /a/b?c=d#e HTTP/1.0\r\n\r\n";
  auto r = p.parse(in);
  REQUIRE(r.event == parse_event::head);
  CHECK(r.consumed == in.size());
  CHECK(p.head().method == method::patch);
  CHECK(netco::http::to_string(p.head().method) == "PATCH");
  CHECK(p.head().target == "/a/b?c=d#e");
  CHECK(p.head().version_major == 1);
  CHECK(p.head().version_minor == 0);
  CHECK(p.head().headers.empty());
  CHECK(p.head().body == body_kind::none);

  for (auto m : {method::delete_, method::get, method::head, method::post, method::put,
                 method::connect, method::options, method::trace, method::m_search,
                 method::unsubscribe, method::mkcalendar, method::source}) {
    std::string s = std::string(netco::http::to_string(m)) + " * HTTP/1.1\r\n\r\n";
    parser q(req);
    REQUIRE(q.parse(s).event == parse_event::head);
    CHECK(q.head().method == m);
  }
  CHECK(parse("GET /\r\n\r\n").messages.at(0).minor == 9);  // HTTP/0.9 request line
  CHECK(parse("GET http://a.example:8080/x?y HTTP/1.1\r\n\r\n").messages.at(0).url ==
        "http://a.example:8080/x?y");
  CHECK(parse("CONNECT a.example:443 HTTP/1.1\r\n\r\n").messages.at(0).url == "a.example:443");
}

TEST_CASE("request line: refusals") {
  CHECK(error_of("FOO / HTTP/1.1\r\n\r\n") == code(parse_error::invalid_method));
  CHECK(error_of("MKCOLA / HTTP/1.1\r\n\r\n") == code(parse_error::invalid_method));
  CHECK(error_of("GET\t/ HTTP/1.1\r\n\r\n") == code(parse_error::invalid_method));
  CHECK(error_of("get / HTTP/1.1\r\n\r\n") == code(parse_error::invalid_method));
  CHECK(error_of("GET / HTTP/1.2\r\n\r\n") == code(parse_error::invalid_version));
  CHECK(error_of("GET / HTTP/2.0\r\n\r\n") == code(parse_error::invalid_version));
  CHECK(error_of("GET / HTTP/1.1x\r\n\r\n") == code(parse_error::invalid_version));
  CHECK(error_of("GET / HTTPS/1.1\r\n\r\n") == code(parse_error::invalid_protocol));
  CHECK(error_of("GET / RTSP/1.0\r\n\r\n") == code(parse_error::invalid_protocol));
  CHECK(error_of("GET /a b HTTP/1.1\r\n\r\n") == code(parse_error::invalid_protocol));
  CHECK(error_of("GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n") == code(parse_error::invalid_url));
  CHECK(error_of("GET /\x7f HTTP/1.1\r\n\r\n") == code(parse_error::invalid_url));
  CHECK(error_of("GET /a\0 HTTP/1.1\r\n\r\n"sv) == code(parse_error::invalid_url));
  CHECK(error_of("GET a HTTP/1.1\r\n\r\n") == code(parse_error::invalid_url));
  CHECK(error_of("GET http:/x HTTP/1.1\r\n\r\n") == code(parse_error::invalid_url));
  CHECK(error_of("GET http://a b HTTP/1.1\r\n\r\n") == code(parse_error::invalid_protocol));
  CHECK(error_of("GET http://a#b HTTP/1.1\r\n\r\n") == code(parse_error::invalid_url));
  // Early refusal: no need to wait for the line's end (Node answers "FOO /" at once).
  parser p(req);
  CHECK(p.parse("FOO").event == parse_event::error);
  CHECK(p.error() == code(parse_error::invalid_method));
  CHECK(p.error_offset() <= 3);
  parser q(req);
  CHECK(q.parse("GET / HTTP/1.1 ").event == parse_event::error);
  CHECK(q.error() == code(parse_error::invalid_version));
  CHECK(q.error_offset() == 14);
}

TEST_CASE("status line") {
  auto t = parse("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", res);
  REQUIRE(t.messages.size() == 1);
  CHECK(t.messages[0].status == 404);
  CHECK(t.messages[0].reason == "Not Found");
  CHECK(parse("HTTP/1.0 200\r\nContent-Length: 0\r\n\r\n", res).messages.at(0).reason.empty());
  CHECK(error_of("HTTP/1.1 20 OK\r\n\r\n", res) == code(parse_error::invalid_status));
  CHECK(error_of("HTTP/1.1 2000 OK\r\n\r\n", res) == code(parse_error::invalid_status));
  CHECK(error_of("HTTP/1.1 099 OK\r\n\r\n", res) == code(parse_error::invalid_status));
  CHECK(error_of("HTTP/1.1 200 O\x01K\r\n\r\n", res) == code(parse_error::invalid_status));
  CHECK(error_of("HTTP/1.1 200 OK\n\r\n", res) == code(parse_error::cr_expected));
  CHECK(error_of("HTTP/1.1  200 OK\r\n\r\n", res) == code(parse_error::invalid_status));
  CHECK(error_of("HTTP/1.1\r\n\r\n", res) == code(parse_error::invalid_version));
  CHECK(error_of("http/1.1 200 OK\r\n\r\n", res) == code(parse_error::invalid_protocol));
}

TEST_CASE("headers: names, values, OWS") {
  auto t = parse(
      "GET / HTTP/1.1\r\nHost:example.com\r\nX-A:  a b \t\r\nX-Empty:\r\n"
      "X-Obs: caf\xc3\xa9\r\nX-Tab: a\tb\r\n\r\n");
  REQUIRE(t.messages.size() == 1);
  const th::field_list want = {{"Host", "example.com"},
                               {"X-A", "a b"},
                               {"X-Empty", ""},
                               {"X-Obs", "caf\xc3\xa9"},
                               {"X-Tab", "a\tb"}};
  CHECK(t.messages[0].headers == want);

  parser p(req);
  REQUIRE(p.parse("GET / HTTP/1.1\r\nContent-TYPE: text/plain\r\nx-y: 1\r\n\r\n").event ==
          parse_event::head);
  REQUIRE(p.head().find("content-type") != nullptr);
  CHECK(p.head().find("content-type")->value == "text/plain");
  CHECK(p.head().find("X-Y")->value == "1");
  CHECK(p.head().find("x-z") == nullptr);
}

TEST_CASE("headers: refusals") {
  CHECK(error_of("GET / HTTP/1.1\r\nHost : a\r\n\r\n") ==
        code(parse_error::whitespace_before_colon));
  CHECK(error_of("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n") ==
        code(parse_error::whitespace_before_colon));
  CHECK(error_of("GET / HTTP/1.1\r\nHost\r\n\r\n") == code(parse_error::missing_colon));
  CHECK(error_of("GET / HTTP/1.1\r\nFo@: a\r\n\r\n") == code(parse_error::invalid_header_token));
  CHECK(error_of("GET / HTTP/1.1\r\n: a\r\n\r\n") == code(parse_error::invalid_header_token));
  CHECK(error_of("GET / HTTP/1.1\r\nX\xc3\xa9: a\r\n\r\n") ==
        code(parse_error::invalid_header_token));
  CHECK(error_of("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n") == code(parse_error::obs_fold));
  CHECK(error_of("GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n") == code(parse_error::obs_fold));
  CHECK(error_of("GET / HTTP/1.1\r\n X: a\r\n\r\n") == code(parse_error::unexpected_space));
  CHECK(error_of("GET / HTTP/1.1\r\nX: a\rY: b\r\n\r\n") == code(parse_error::lf_expected));
  CHECK(error_of("GET / HTTP/1.1\r\nX: a\nY: b\r\n\r\n") == code(parse_error::cr_expected));
  CHECK(error_of("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n"sv) == code(parse_error::invalid_header_value));
  CHECK(error_of("GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n") == code(parse_error::invalid_header_value));
  CHECK(error_of("GET / HTTP/1.1\r\nX: a\x01\r\n\r\n") == code(parse_error::invalid_header_value));
  CHECK(error_of("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n") ==
        code(parse_error::duplicate_host));
  // Duplicate Host is a server's rule: a response may repeat anything.
  CHECK(error_of("HTTP/1.1 200 OK\r\nHost: a\r\nHost: b\r\nContent-Length: 0\r\n\r\n", res) ==
        std::error_code{});
}

TEST_CASE("line endings: CRLF only") {
  CHECK(error_of("GET / HTTP/1.1\n\r\n") == code(parse_error::cr_expected));
  CHECK(error_of("GET / HTTP/1.1\r\n\n") == code(parse_error::cr_expected));
  CHECK(error_of("GET / HTTP/1.1\r\r\n\r\n") == code(parse_error::lf_expected));
  CHECK(error_of("GET / HTTP/1.1\r\n\r\r\n") == code(parse_error::lf_expected));
  CHECK(error_of("\nGET / HTTP/1.1\r\n\r\n") == code(parse_error::cr_expected));
  CHECK(error_of("\r\r\nGET / HTTP/1.1\r\n\r\n") == code(parse_error::lf_expected));
  // Empty lines (CRLF) before a request line are skipped (RFC 9112 2.2).
  auto t = parse("\r\n\r\nGET / HTTP/1.1\r\n\r\n\r\nGET /2 HTTP/1.1\r\n\r\n");
  REQUIRE(t.messages.size() == 2);
  CHECK(t.messages[1].url == "/2");
}

TEST_CASE("Content-Length") {
  auto t = parse("POST / HTTP/1.1\r\nContent-Length: 005\r\n\r\nhello");
  REQUIRE(t.messages.size() == 1);
  CHECK(t.messages[0].body == "hello");
  CHECK(parse("POST / HTTP/1.1\r\nContent-Length:  2  \r\n\r\nhi").messages.at(0).body == "hi");
  CHECK(parse("POST / HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n").end ==
        th::outcome::error);  // truncated, but the length itself is fine
  CHECK(error_of("POST / HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n") ==
        code(parse_error::invalid_content_length));
  for (std::string_view v :
       {"+5", "-5", "0x5", "5a", "4 2", "", "5,5", "5;", "\"5\"", "5\t", "٥"}) {
    std::string m = "POST / HTTP/1.1\r\nContent-Length: " + std::string(v) + "\r\n\r\nhello";
    CAPTURE(m);
    CHECK(error_of(m) == code(parse_error::invalid_content_length));
  }
  CHECK(error_of("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab") ==
        code(parse_error::duplicate_content_length));
  CHECK(error_of("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na") ==
        code(parse_error::duplicate_content_length));
  CHECK(error_of("POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n") ==
        code(parse_error::content_length_with_transfer_encoding));
  CHECK(error_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n") ==
        code(parse_error::content_length_with_transfer_encoding));
  CHECK(error_of("POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding:\r\n\r\nx") ==
        code(parse_error::invalid_transfer_encoding));

  parser p(req);
  REQUIRE(p.parse("PUT / HTTP/1.1\r\nContent-Length: 3\r\n\r\n").event == parse_event::head);
  CHECK(p.head().body == body_kind::content_length);
  CHECK(p.head().content_length == 3);
}

TEST_CASE("Transfer-Encoding and chunked coding") {
  auto t = parse(
      "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
      "5;name=value;quoted=\"a \\\" b\";flag\r\nhello\r\n"
      "A\r\n0123456789\r\n"
      "0\r\nX-Trailer: yes\r\nX-Other: 2\r\n\r\n");
  REQUIRE(t.end == th::outcome::ok);
  REQUIRE(t.messages.size() == 1);
  CHECK(t.messages[0].body == "hello0123456789");
  const th::field_list trailers = {{"X-Trailer", "yes"}, {"X-Other", "2"}};
  CHECK(t.messages[0].trailers == trailers);

  const std::string head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  CHECK(error_of(head + "5 \r\nhello\r\n0\r\n\r\n") == code(parse_error::invalid_chunk_size));
  CHECK(error_of(head + "x\r\n") == code(parse_error::invalid_chunk_size));
  CHECK(error_of(head + "\r\n") == code(parse_error::invalid_chunk_size));
  CHECK(error_of(head + "-1\r\n") == code(parse_error::invalid_chunk_size));
  CHECK(error_of(head + "10000000000000000\r\n") == code(parse_error::invalid_chunk_size));
  CHECK(error_of(head + "5\nhello\r\n0\r\n\r\n") == code(parse_error::invalid_chunk_size));
  CHECK(error_of(head + "5\r\rhello\r\n0\r\n\r\n") == code(parse_error::lf_expected));
  CHECK(error_of(head + "5\r\nhelloX\r\n0\r\n\r\n") == code(parse_error::missing_chunk_crlf));
  CHECK(error_of(head + "5\r\nhello\rX0\r\n\r\n") == code(parse_error::missing_chunk_crlf));
  CHECK(error_of(head + "5; a=b\r\nhello\r\n0\r\n\r\n") ==
        code(parse_error::invalid_chunk_extension));
  CHECK(error_of(head + "5;a =b\r\nhello\r\n0\r\n\r\n") ==
        code(parse_error::invalid_chunk_extension));
  CHECK(error_of(head + "5;\r\nhello\r\n0\r\n\r\n") == code(parse_error::invalid_chunk_extension));
  CHECK(error_of(head + "5;a=\"b\r\nhello\r\n0\r\n\r\n") ==
        code(parse_error::invalid_chunk_extension));
  CHECK(error_of(head + "5;a=\"b\"c\r\nhello\r\n0\r\n\r\n") ==
        code(parse_error::invalid_chunk_extension));
  CHECK(error_of(head + "5;a\nhello\r\n0\r\n\r\n") == code(parse_error::invalid_chunk_extension));
  CHECK(error_of(head + "0\r\nContent-Length: 1\r\n\r\n") == code(parse_error::forbidden_trailer));
  CHECK(error_of(head + "0\r\nTransfer-Encoding: gzip\r\n\r\n") ==
        code(parse_error::forbidden_trailer));
  CHECK(error_of(head + "0\r\n X: a\r\n\r\n") == code(parse_error::obs_fold));

  // A request's Transfer-Encoding must end in chunked, applied once.
  for (std::string_view te :
       {"gzip", "chunked, gzip", "identity", "chunkedchunked", "chunked;q=1", "chunked\t", ""}) {
    std::string m =
        "POST / HTTP/1.1\r\nTransfer-Encoding: " + std::string(te) + "\r\n\r\n0\r\n\r\n";
    CAPTURE(m);
    CHECK(error_of(m) == code(parse_error::invalid_transfer_encoding));
  }
  CHECK(
      error_of(
          "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n") ==
      code(parse_error::invalid_transfer_encoding));
  CHECK(parse("POST / HTTP/1.1\r\nTransfer-Encoding: ChUnKeD  \r\n\r\n0\r\n\r\n").end ==
        th::outcome::ok);
  CHECK(parse("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: "
              "chunked\r\n\r\n0\r\n\r\n")
            .end == th::outcome::ok);

  // The chunk-size line has a limit (Node: HPE_CHUNK_EXTENSIONS_OVERFLOW).
  std::string longext = head + "1;a=" + std::string(20000, 'x') + "\r\nx\r\n0\r\n\r\n";
  CHECK(error_of(longext) == code(parse_error::chunk_extensions_overflow));
}

TEST_CASE("Connection: keep-alive and close, HTTP/1.0 rules") {
  auto ka = [](std::string_view m) { return parse(m).messages.at(0).keep_alive; };
  CHECK(ka("GET / HTTP/1.1\r\n\r\n"));
  CHECK_FALSE(ka("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
  CHECK_FALSE(ka("GET / HTTP/1.1\r\nConnection: Keep-Alive, CLOSE\r\n\r\n"));
  CHECK_FALSE(ka("GET / HTTP/1.1\r\nConnection: foo\r\nConnection: close\t\r\n\r\n"));
  CHECK_FALSE(ka("GET / HTTP/1.1\r\nProxy-Connection: close\r\n\r\n"));
  CHECK(ka("GET / HTTP/1.1\r\nConnection: closed\r\n\r\n"));
  CHECK_FALSE(ka("GET / HTTP/1.0\r\n\r\n"));
  CHECK(ka("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  CHECK_FALSE(ka("GET /\r\n\r\n"));
  // RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 means close after the message.
  CHECK_FALSE(ka(
      "POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"));
  // After a message that closes the connection, more data is an error (llhttp strict mode).
  CHECK(error_of("GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\n\r\n") ==
        code(parse_error::closed_connection));
  CHECK(parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n\r\n\r\n").end == th::outcome::ok);
}

TEST_CASE("Upgrade, CONNECT and Expect") {
  parser p(req);
  std::string_view in =
      "GET /chat HTTP/1.1\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\r\nFRAME";
  auto r = p.parse(in);
  REQUIRE(r.event == parse_event::head);
  CHECK(p.head().upgrade);
  in.remove_prefix(r.consumed);
  CHECK(p.parse(in).event == parse_event::message_complete);
  r = p.parse(in);
  CHECK(r.event == parse_event::upgrade);  // and FRAME is left for the new protocol
  CHECK(r.consumed == 0);
  CHECK(p.parse(in).event == parse_event::upgrade);

  CHECK_FALSE(parse("GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n").messages.at(0).upgrade);
  CHECK_FALSE(parse("GET / HTTP/1.1\r\nConnection: upgrade\r\n\r\n").messages.at(0).upgrade);
  // RFC 9110 7.8: Upgrade in an HTTP/1.0 request is ignored.
  CHECK_FALSE(parse("GET / HTTP/1.0\r\nUpgrade: a\r\nConnection: upgrade, keep-alive\r\n\r\n")
                  .messages.at(0)
                  .upgrade);
  auto c = parse("CONNECT a:443 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
  CHECK(c.end == th::outcome::upgrade);
  CHECK(c.messages.at(0).body.empty());

  parser e(req);
  REQUIRE(e.parse("PUT / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n").event ==
          parse_event::head);
  CHECK(e.head().expect_continue);
  parser f(req);
  REQUIRE(f.parse("PUT / HTTP/1.1\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\n").event ==
          parse_event::head);
  CHECK_FALSE(f.head().expect_continue);
  // RFC 9110 10.1.1: ignored in HTTP/1.0.
  parser g(req);
  REQUIRE(g.parse("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n").event ==
          parse_event::head);
  CHECK_FALSE(g.head().expect_continue);
}

TEST_CASE("responses: body length rules (RFC 9112 6.3)") {
  // HEAD, 1xx, 204 and 304 have no body whatever their fields say.
  auto t = parse(
      "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
      res, {method::head, method::get});
  REQUIRE(t.messages.size() == 2);
  CHECK(t.messages[0].body.empty());
  CHECK(t.messages[1].body == "ok");
  t = parse(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"
      "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
      res);
  REQUIRE(t.messages.size() == 3);
  CHECK(t.end == th::outcome::ok);
  for (const auto& m : t.messages) CHECK(m.body.empty());

  // No length: the body runs until the connection closes, then finish() ends it.
  parser p(res);
  std::string_view in = "HTTP/1.1 200 OK\r\n\r\nsome body";
  auto r = p.parse(in);
  REQUIRE(r.event == parse_event::head);
  CHECK(p.head().body == body_kind::until_close);
  CHECK_FALSE(p.head().keep_alive);
  in.remove_prefix(r.consumed);
  r = p.parse(in);
  CHECK(r.event == parse_event::body);
  CHECK(r.data == "some body");
  CHECK(p.parse({}).event == parse_event::need_more);
  CHECK(p.finish().event == parse_event::message_complete);

  // Transfer-Encoding without a final chunked, in a response: until close too.
  CHECK(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc", res).messages.at(0).body ==
        "abc");
  // A 2xx to CONNECT opens a tunnel; a 101 with Upgrade switches protocols.
  CHECK(parse("HTTP/1.1 200 OK\r\n\r\nxx", res, {method::connect}).end == th::outcome::upgrade);
  CHECK(parse("HTTP/1.1 101 Switching\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\nxx", res).end ==
        th::outcome::upgrade);
  CHECK(parse("HTTP/1.1 101 Switching\r\n\r\nxx", res).end == th::outcome::upgrade);
  // The request method applies to one final response: the next one reads its body.
  t = parse(
      "HTTP/1.1 103 Hints\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
      res, {method::head});
  REQUIRE(t.messages.size() == 3);
  CHECK(t.messages[1].body.empty());
  CHECK(t.messages[2].body == "abc");
}

TEST_CASE("finish(): EOF between, inside and after messages") {
  parser a(req);
  CHECK(a.finish().event == parse_event::need_more);
  parser b(req);
  CHECK(b.parse("GET / HT").event == parse_event::need_more);
  CHECK(b.finish().event == parse_event::error);
  CHECK(b.error() == code(parse_error::invalid_eof_state));
  parser c(req);
  std::string_view in = "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab";
  auto r = c.parse(in);
  in.remove_prefix(r.consumed);
  CHECK(c.parse(in).event == parse_event::body);
  CHECK(c.finish().event == parse_event::error);
  CHECK(c.error() == code(parse_error::invalid_eof_state));
}

TEST_CASE("errors stick, with their offset in the stream") {
  parser p(req);
  std::string_view in = "GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nX: a\x01\r\n\r\n";
  auto r = p.parse(in);
  in.remove_prefix(r.consumed);
  r = p.parse(in);
  REQUIRE(r.event == parse_event::message_complete);
  r = p.parse(in);
  REQUIRE(r.event == parse_event::error);
  CHECK(r.consumed == 0);
  CHECK(p.error_offset() == 18 + 16 + 4);
  CHECK(p.parse("GET / HTTP/1.1\r\n\r\n").event == parse_event::error);
  p.reset();
  CHECK(p.parse("GET / HTTP/1.1\r\n\r\n").event == parse_event::head);
  CHECK(!p.error());
}

TEST_CASE("header section limit (default 16 KiB, configurable)") {
  const std::string start = "GET / HTTP/1.1\r\nX: ";
  std::string exact = start + std::string(16 * 1024 - start.size() - 4, 'a') + "\r\n\r\n";
  REQUIRE(exact.size() == 16 * 1024);
  CHECK(error_of(exact) == std::error_code{});
  std::string over = start + std::string(16 * 1024 - start.size() - 3, 'a') + "\r\n\r\n";
  CHECK(error_of(over) == code(parse_error::header_overflow));
  // Refused as soon as the limit is passed, without waiting for the end of the head.
  parser p(req);
  std::string endless = start + std::string(20000, 'a');
  CHECK(p.parse(endless).event == parse_event::error);
  CHECK(p.error() == code(parse_error::header_overflow));
  // Configurable, and applied to trailers too.
  parser_options small{.max_head_size = 64};
  const std::string at_limit = start + std::string(64 - start.size() - 4, 'b') + "\r\n\r\n";
  REQUIRE(at_limit.size() == 64);
  CHECK(error_of(at_limit, req, small) == std::error_code{});
  CHECK(error_of(start + "b" + at_limit.substr(start.size()), req, small) ==
        code(parse_error::header_overflow));
  CHECK(error_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: " +
                     std::string(70, 'a') + "\r\n\r\n",
                 req, small) == code(parse_error::header_overflow));
  // Tiny limits terminate too.
  parser_options tiny{.max_head_size = 2};
  CHECK(error_of("GET / HTTP/1.1\r\n\r\n", req, tiny) == code(parse_error::header_overflow));
}

TEST_CASE("zero-copy: views point into the caller's buffer") {
  const std::string in = "POST /path HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody";
  parser p(req);
  auto r = p.parse(in);
  REQUIRE(r.event == parse_event::head);
  auto inside = [&](std::string_view v) {
    return v.data() >= in.data() && v.data() + v.size() <= in.data() + in.size();
  };
  CHECK(inside(p.head().target));
  for (const auto& h : p.head().headers) {
    CHECK(inside(h.name));
    CHECK(inside(h.value));
  }
  auto b = p.parse(std::string_view(in).substr(r.consumed));
  REQUIRE(b.event == parse_event::body);
  CHECK(b.data.data() == in.data() + r.consumed);

  // A head split over two reads whose bytes moved in between: the views follow the bytes.
  parser q(req);
  std::string first(in.substr(0, 25));
  REQUIRE(q.parse(first).event == parse_event::need_more);
  std::string moved = first + in.substr(25);  // a new buffer
  first.assign(first.size(), '#');            // the old bytes are gone
  REQUIRE(q.parse(moved).event == parse_event::head);
  CHECK(q.head().target == "/path");
  CHECK(q.head().headers[0].value == "h");
  CHECK(q.head().target.data() == moved.data() + 5);
}

TEST_CASE("incremental: every split point of every message gives the same result") {
  const std::vector<std::pair<std::string_view, message_kind>> messages = {
      {"GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n",
       req},
      {"\r\nPOST /form?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world", req},
      {"PUT /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b;c=\"d\\\"e\"\r\nhello\r\n"
       "6\r\n world\r\n0\r\nT: 1\r\n\r\n",
       req},
      {"GET http://user:pw@host:81/p?q HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", req},
      {"CONNECT host:443 HTTP/1.1\r\nHost: host:443\r\n\r\n", req},
      {"GET /\r\nHost: old\r\n\r\n", req},
      {"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
       req},
      {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 204 No Content\r\n\r\n", res},
      {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\nServer: s\r\n\r\nuntil close", res},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", res},
      // and some that fail, at various depths
      {"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", req},
      {"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", req},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX", req},
      {"GET /\xff HTTP/1.1\r\n\r\n", req},
  };
  for (const auto& entry : messages) {
    const std::string_view m = entry.first;  // not a structured binding: CAPTURE needs a lambda
    const message_kind kind = entry.second;
    const th::transcript whole = parse_split(m, m.size(), kind);
    CAPTURE(th::escape(m));
    for (std::size_t k = 0; k <= m.size(); ++k) {
      CAPTURE(k);
      const th::transcript t = parse_split(m, k, kind);
      CHECK(t.end == whole.end);
      CHECK(t.netco_error == whole.netco_error);
      REQUIRE(t.messages.size() == whole.messages.size());
      for (std::size_t i = 0; i < t.messages.size(); ++i)
        CHECK(th::diff_message(t.messages[i], whole.messages[i]) == "");
    }
    // One byte at a time, the bytes moving each time.
    for (std::uint32_t seed = 1; seed <= 8; ++seed) {
      const th::transcript t = th::run_netco(m, kind, {}, seed);
      const th::transcript w = th::run_netco(m, kind);
      CHECK(t.end == w.end);
      CHECK(t.messages.size() == w.messages.size());
    }
  }
}

TEST_CASE("pipelined requests in one buffer") {
  const std::string_view in =
      "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
      "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
      "PUT /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
      "\r\n"
      "DELETE /4 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
  parser p(req);
  std::string_view rest = in;
  std::vector<std::string> seen;
  std::string body;
  for (;;) {
    auto r = p.parse(rest);
    if (r.event == parse_event::head)
      seen.push_back(std::string(netco::http::to_string(p.head().method)) + " " +
                     std::string(p.head().target));
    if (r.event == parse_event::body) body += r.data;
    if (r.event == parse_event::message_complete) seen.push_back("done");
    rest.remove_prefix(r.consumed);
    if (r.event == parse_event::need_more || r.event == parse_event::error) break;
  }
  CHECK(!p.error());
  CHECK(rest.empty());
  const std::vector<std::string> want = {"GET /1", "done", "POST /2",   "done",
                                         "PUT /3", "done", "DELETE /4", "done"};
  CHECK(seen == want);
  CHECK(body == "helloabc");
}

TEST_CASE("no allocation per message in steady state") {
  std::string batch;
  for (int i = 0; i < 16; ++i)
    batch +=
        "GET /a HTTP/1.1\r\nHost: a\r\nUser-Agent: x\r\nAccept: */*\r\nCookie: c=1\r\n"
        "Content-Length: 3\r\n\r\nabc"
        "POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nT: 1\r\n\r\n";
  parser p(req);
  auto run = [&] {
    std::string_view rest = batch;
    std::size_t done = 0;
    while (!rest.empty()) {
      auto r = p.parse(rest);
      if (r.event == parse_event::message_complete) ++done;
      if (r.event == parse_event::error) return std::size_t{0};
      rest.remove_prefix(r.consumed);
    }
    return done;
  };
  REQUIRE(run() == 32);  // warm-up: the header vectors reach their size
  const long before = allocations.load();
  std::size_t total = 0;
  for (int i = 0; i < 100; ++i) total += run();
  const long after = allocations.load();
  CHECK(total == 3200);
  CHECK(after == before);
}

TEST_CASE("no input makes it loop: every call consumes bytes or changes state") {
  // A bounded driver over byte soup: the number of calls is linear in the input.
  std::mt19937 rng(7);
  const std::string alphabet = "GET /HTP1.0\r\n:;=\"\\ \tabcCLTE-chunkedxX0123456789\x01\x80";
  for (int round = 0; round < 3000; ++round) {
    std::string in;
    const std::size_t n = rng() % 200;
    for (std::size_t i = 0; i < n; ++i) in += alphabet[rng() % alphabet.size()];
    if (round % 2 == 0) in = "GET / HTTP/1.1\r\n" + in;
    parser p(round % 3 == 0 ? res : req);
    std::string_view rest = in;
    std::size_t calls = 0;
    for (;; ++calls) {
      REQUIRE(calls < 4 * in.size() + 16);
      auto r = p.parse(rest);
      rest.remove_prefix(r.consumed);
      if (r.event == parse_event::need_more || r.event == parse_event::error ||
          r.event == parse_event::upgrade)
        break;
    }
    (void)p.finish();
  }
}
