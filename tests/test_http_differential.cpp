// tests/test_http_differential.cpp: netco's HTTP parser against llhttp (Node's parser, strict
// mode) on a corpus of valid and malformed messages, llhttp's fixtures among them
#include "netco/http/parser.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "http_transcript.hpp"

using namespace std::string_view_literals;
using netco::http::message_kind;
using netco::http::method;
using netco::http::parse_error;
namespace th = netco_test::http;

namespace {

constexpr auto req = message_kind::request;
constexpr auto res = message_kind::response;

// How llhttp is expected to see a sample, when netco's verdict is not simply shared.
enum class ll {
  agrees,      // same verdict; when accepted, the same messages field by field
  accepts,     // deliberate: netco rejects what llhttp (Debian's 8.1.0) accepts
  rejects,     // deliberate: netco accepts what llhttp 8.1.0 rejects
  keep_alive,  // deliberate: both accept, but decide keep-alive differently
  upgrade,     // deliberate: netco hands the connection over where llhttp 8.1 parses on
  no_upgrade,  // deliberate: llhttp hands the connection over where netco parses on
};

struct sample {
  const char* name;
  message_kind kind;
  std::string_view bytes;
  int netco_error;  // 0: netco accepts; else the parse_error netco must report
  ll llhttp = ll::agrees;
  const char* why = "";               // the reason for a deliberate difference
  std::vector<method> requests = {};  // responses: the methods they answer
};

constexpr int ok = 0;
constexpr int E(parse_error e) { return static_cast<int>(e); }

std::string big_header_request() {
  std::string s = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: ";
  s.append(16 * 1024 - s.size() - 4 + 1, 'a');  // one byte over the 16 KiB head
  s += "\r\n\r\n";
  return s;
}
const std::string big_request = big_header_request();

constexpr std::string_view browser_get =
    "GET /wp-content/uploads/2010/03/hello-kitty-darth-vader-pink.jpg HTTP/1.1\r\n"
    "Host: www.kittyhell.com\r\n"
    "User-Agent: Mozilla/5.0 (Macintosh; U; Intel Mac OS X 10.6; ja-JP-mac; rv:1.9.2.3) "
    "Gecko/20100401 Firefox/3.6.3 Pathtraq/0.9\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    "Accept-Language: ja,en-us;q=0.7,en;q=0.3\r\n"
    "Accept-Encoding: gzip,deflate\r\n"
    "Accept-Charset: Shift_JIS,utf-8;q=0.7,*;q=0.7\r\n"
    "Keep-Alive: 115\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: wp_ozh_wsa_visits=2; wp_ozh_wsa_visit_lasttime=xxxxxxxxxx; "
    "__utma=xxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.x; "
    "__utmz=xxxxxxxxx.xxxxxxxxxx.x.x.utmccn=(referral)|utmcsr=reader.livedoor.com|utmcct=/reader/|"
    "utmcmd=referral\r\n"
    "\r\n";

// clang-format off
const std::vector<sample> corpus = {
  // ---- valid requests ------------------------------------------------------------------------
  {"simple GET", req, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", ok},
  {"browser GET", req, browser_get, ok},
  {"POST with Content-Length", req, "POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world", ok},
  {"Content-Length with zeroes (llhttp fixture)", req, "PUT /url HTTP/1.1\r\nContent-Length: 003\r\n\r\nabc", ok},
  {"Content-Length with follow-up headers (fixture)", req, "PUT /url HTTP/1.1\r\nContent-Length: 003\r\nOhai: world\r\n\r\nabc", ok},
  {"funky Content-Length with body, HTTP/1.0 (fixture)", req, "GET /get_funky_content_length_body_hello HTTP/1.0\r\nconTENT-Length: 5\r\n\r\nHELLO", ok},
  {"spaces around Content-Length (fixture)", req, "POST / HTTP/1.1\r\nContent-Length:  4 \r\n\r\nabcd", ok},
  {"tab before Content-Length", req, "POST / HTTP/1.1\r\nContent-Length:\t4\r\n\r\nabcd", ok},
  {"Content-Length: 0", req, "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", ok},
  {"chunks with lowercase size (fixture)", req, "PUT /url HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n0\r\n\r\n", ok},
  {"chunks with uppercase size (fixture)", req, "PUT /url HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n", ok},
  {"two chunks and triple zero end chunk (fixture)", req, "POST /two_chunks_mult_zero_end HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n000\r\n\r\n", ok},
  {"trailing headers (fixture)", req, "POST /chunked_w_trailing_headers HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nVary: *\r\nContent-Type: text/plain\r\n\r\n", ok},
  {"chunk extensions (fixture)", req, "POST /chunked_w_unicorns_after_length HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ilovew3;somuchlove=aretheseparametersfor;another=withvalue\r\nhello\r\n6;blahblah;blah\r\n world\r\n0\r\n\r\n", ok,
   ll::rejects, "llhttp 8.1 bug: a token chunk-ext-val followed by ';' is refused (llhttp 9 accepts)"},
  {"quoted chunk extension", req, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\"b c;d\"\r\nhello\r\n0\r\n\r\n", ok},
  {"chunk extension quoting with quoted-pair (llhttp 9 fixture)", req, "POST /chunked_w_unicorns_after_length HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ilovew3=\"I \\\"love\\\"; \\\\extensions\\\\\";somuchlove=\"aretheseparametersfor\";blah;foo=bar\r\nhello\r\n6;blahblah;blah\r\n world\r\n0\r\n\r\n", ok,
   ll::rejects, "RFC 9112 7.1.1 chunk-ext-val is a quoted-string, which has quoted-pair; llhttp 9 accepts it too, 8.1 does not"},
  {"chunked as last coding (fixture)", req, "POST /post_identity_body_world?q=search#hey HTTP/1.1\r\nAccept: */*\r\nTransfer-Encoding: deflate, chunked\r\n\r\n5\r\nWorld\r\n0\r\n\r\n", ok},
  {"chunked as last coding, two headers (fixture)", req, "POST /post_identity_body_world?q=search#hey HTTP/1.1\r\nAccept: */*\r\nTransfer-Encoding: deflate\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nWorld\r\n0\r\n\r\n", ok},
  {"trailing spaces after chunked and close (fixture)", req, "POST / HTTP/1.1\r\nHost: a\r\nConnection: close \r\nTransfer-Encoding: chunked \r\n\r\n5\r\nABCDE\r\n0\r\n\r\n", ok},
  {"prefix CRLF (fixture)", req, "\r\nGET /test HTTP/1.1\r\n\r\n", ok},
  {"several prefix CRLFs", req, "\r\n\r\nGET / HTTP/1.1\r\n\r\n", ok},
  {"no HTTP version is HTTP/0.9 (fixture)", req, "GET /\r\n\r\n", ok},
  {"quotes in URI (fixture)", req, "GET /with_\"lovely\"_quotes?foo=\\\"bar\\\" HTTP/1.1\r\n\r\n", ok},
  {"query with question mark (fixture)", req, "GET /test.cgi?foo=bar?baz HTTP/1.1\r\n\r\n", ok},
  {"host terminated by a query string (fixture)", req, "GET http://hypnotoad.org?hail=all HTTP/1.1\r\n\r\n", ok},
  {"host:port terminated by a query string (fixture)", req, "GET http://hypnotoad.org:1234?hail=all HTTP/1.1\r\n\r\n", ok},
  {"vertical bar in query (fixture)", req, "GET /test.cgi?query=| HTTP/1.1\r\n\r\n", ok},
  {"host:port terminated by a space (fixture)", req, "GET http://hypnotoad.org:1234 HTTP/1.1\r\n\r\n", ok},
  {"fragment in URI (fixture)", req, "GET /forums/1/topics/2375?page=1#posts-17408 HTTP/1.1\r\n\r\n", ok},
  {"CONNECT with underscore in hostname (fixture)", req, "CONNECT home_0.netscape.com:443 HTTP/1.0\r\nUser-agent: Mozilla/1.1N\r\nProxy-authorization: basic aGVsbG86d29ybGQ=\r\n\r\n", ok},
  {"CONNECT ignores a body: the tunnel starts", req, "CONNECT a.com:443 HTTP/1.1\r\nHost: a.com:443\r\nContent-Length: 5\r\n\r\nhello", ok},
  {"host:port and basic auth (fixture)", req, "GET http://a%12:b!&*$@hypnotoad.org:1234/toto HTTP/1.1\r\n\r\n", ok},
  {"OPTIONS *", req, "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", ok},
  {"M-SEARCH *", req, "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nST: \"ssdp:all\"\r\n\r\n", ok},
  {"several methods pipelined", req, "DELETE /a HTTP/1.1\r\n\r\nPATCH /b HTTP/1.1\r\nContent-Length: 1\r\n\r\nxPURGE /c HTTP/1.1\r\n\r\nMKCALENDAR /d HTTP/1.1\r\n\r\nSOURCE /e HTTP/1.1\r\n\r\nUNSUBSCRIBE /f HTTP/1.1\r\n\r\n", ok},
  {"three pipelined GETs", req, "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\n\r\n", ok},
  {"pipelined POST then GET", req, "POST /a HTTP/1.1\r\nContent-Length: 4\r\n\r\nbodyGET /b HTTP/1.1\r\n\r\n", ok},
  {"pipelined chunked then GET", req, "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /b HTTP/1.1\r\n\r\n", ok},
  {"HTTP/1.0 keep-alive", req, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n", ok},
  {"HTTP/1.0 closes by default", req, "GET / HTTP/1.0\r\nHost: a\r\n\r\n", ok},
  {"Connection: close", req, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", ok},
  {"Connection token list", req, "GET / HTTP/1.1\r\nConnection: foo, Close\r\n\r\n", ok},
  {"Proxy-Connection: close (as Node)", req, "GET / HTTP/1.1\r\nProxy-Connection: close\r\n\r\n", ok},
  {"websocket upgrade", req, "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n\x81\x85 frame", ok},
  {"upgrade with a body reads the body first", req, "POST /x HTTP/1.1\r\nUpgrade: foo\r\nConnection: upgrade\r\nContent-Length: 3\r\n\r\nabcFOO", ok},
  {"Upgrade without Connection: upgrade is no upgrade", req, "GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", ok},
  {"Expect: 100-continue", req, "PUT /f HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi", ok},
  {"obs-text in a value", req, "GET / HTTP/1.1\r\nX-Name: caf\xc3\xa9\r\n\r\n", ok},
  {"empty values", req, "GET / HTTP/1.1\r\nX-Empty:\r\nY:   \r\n\r\n", ok},
  {"tab inside a value", req, "GET / HTTP/1.1\r\nX: a\tb\r\n\r\n", ok},
  {"spaces between request-line words (as llhttp)", req, "GET  /  HTTP/1.1\r\n\r\n", ok},
  {"repeated fields kept in order", req, "GET / HTTP/1.1\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n", ok},
  {"long URL and many headers", req, "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa?x=1 HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\nH: 8\r\nI: 9\r\nJ: 10\r\n\r\n", ok},

  // ---- malformed requests: both refuse ------------------------------------------------------
  {"Content-Length overflow (fixture)", req, "PUT /url HTTP/1.1\r\nContent-Length: 1000000000000000000000\r\n\r\n", E(parse_error::invalid_content_length)},
  {"duplicate Content-Length (fixture)", req, "PUT /url HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", E(parse_error::duplicate_content_length)},
  {"identical duplicate Content-Length", req, "PUT /url HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", E(parse_error::duplicate_content_length)},
  {"Content-Length and Transfer-Encoding: identity (fixture)", req, "PUT /url HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: identity\r\n\r\n\r\n", E(parse_error::content_length_with_transfer_encoding)},
  {"Transfer-Encoding: identity and Content-Length (fixture)", req, "POST /post_identity_body_world?q=search#hey HTTP/1.1\r\nAccept: */*\r\nTransfer-Encoding: identity\r\nContent-Length: 5\r\n\r\nWorld", E(parse_error::content_length_with_transfer_encoding)},
  {"chunked with Content-Length (node smuggling test)", req, "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", E(parse_error::content_length_with_transfer_encoding)},
  {"space before colon (fixture, CVE-2021-22959)", req, "GET / HTTP/1.1\r\nContent-Length : 4\r\n\r\nabcd", E(parse_error::whitespace_before_colon)},
  {"tab before colon", req, "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", E(parse_error::whitespace_before_colon)},
  {"Content-Length: 4 2 (fixture)", req, "POST / HTTP/1.1\r\nContent-Length: 4 2\r\n\r\n", E(parse_error::invalid_content_length)},
  {"Content-Length: 13 37 (fixture)", req, "POST / HTTP/1.1\r\nContent-Length: 13 37\r\n\r\n", E(parse_error::invalid_content_length)},
  {"empty Content-Length (fixture)", req, "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", E(parse_error::invalid_content_length)},
  {"Content-Length: +5", req, "POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\nhello", E(parse_error::invalid_content_length)},
  {"Content-Length: 0x5", req, "POST / HTTP/1.1\r\nContent-Length: 0x5\r\n\r\nhello", E(parse_error::invalid_content_length)},
  {"Content-Length: -1", req, "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", E(parse_error::invalid_content_length)},
  {"Content-Length as a list", req, "POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\nhello", E(parse_error::invalid_content_length)},
  {"Content-Length with a tab after it (as llhttp)", req, "POST / HTTP/1.1\r\nContent-Length: 5\t\r\n\r\nhello", E(parse_error::invalid_content_length)},
  {"Content\\rLength (fixture)", req, "PUT /url HTTP/1.1\r\nContent\rLength: 003\r\n\r\nabc", E(parse_error::missing_colon)},
  {"missing CRLF before body", req, "PUT /url HTTP/1.1\r\nContent-Length: 3\r\n\rabc", E(parse_error::lf_expected)},
  {"Transfer-Encoding: pigeons (fixture)", req, "PUT /url HTTP/1.1\r\nTransfer-Encoding: pigeons\r\n\r\n\r\n", E(parse_error::invalid_transfer_encoding)},
  {"Transfer-Encoding: chunked, deflate (fixture)", req, "POST /post_identity_body_world?q=search#hey HTTP/1.1\r\nAccept: */*\r\nTransfer-Encoding: chunked, deflate\r\n\r\nWorld", E(parse_error::invalid_transfer_encoding)},
  {"Transfer-Encoding: chunked then deflate (fixture)", req, "POST /post_identity_body_world?q=search#hey HTTP/1.1\r\nAccept: */*\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: deflate\r\n\r\nWorld", E(parse_error::invalid_transfer_encoding)},
  {"Transfer-Encoding: chunkedchunked (fixture)", req, "POST /post_identity_body_world?q=search#hey HTTP/1.1\r\nAccept: */*\r\nTransfer-Encoding: chunkedchunked\r\n\r\n5\r\nWorld\r\n0\r\n\r\n", E(parse_error::invalid_transfer_encoding)},
  {"chunked twice (node test-http-transfer-encoding-smuggling)", req, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked-false\r\n\r\n1\r\nA\r\n0\r\n\r\n", E(parse_error::invalid_transfer_encoding)},
  {"Transfer-Encoding: chunked twice", req, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", E(parse_error::invalid_transfer_encoding)},
  {"Transfer-Encoding: gzip (not chunked) in a request", req, "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nxxxx", E(parse_error::invalid_transfer_encoding)},
  {"obs-fold after chunked (fixture, CVE-2022-32213)", req, "PUT /url HTTP/1.1\r\nTransfer-Encoding: chunked\r\n  abc\r\n\r\n5\r\nWorld\r\n0\r\n\r\n", E(parse_error::obs_fold)},
  {"space after chunk size (fixture)", req, "PUT /url HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\na \r\n0123456789\r\n0\r\n\r\n", E(parse_error::invalid_chunk_size)},
  {"chunk size then space and bare LF (fixture)", req, "PUT /url HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3 \n  \r\nfoo\r\n\r\n", E(parse_error::invalid_chunk_size)},
  {"no semicolon before chunk extension (fixture)", req, "POST /chunked_w_unicorns_after_length HTTP/1.1\r\nHost: localhost\r\nTransfer-encoding: chunked\r\n\r\n2 erfrferferf\r\naa\r\n0 rrrr\r\n\r\n", E(parse_error::invalid_chunk_size)},
  {"unbalanced quote in chunk extension (fixture)", req, "POST /chunked_w_unicorns_after_length HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ilovew3=\"abc\";somuchlove=\"def; ghi\r\nhello\r\n6;blahblah;blah\r\n world\r\n0\r\n\r\n", E(parse_error::invalid_chunk_extension)},
  {"space in chunk extension", req, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5; a=b\r\nhello\r\n0\r\n\r\n", E(parse_error::invalid_chunk_extension)},
  {"chunk header not ended by CRLF (fixture)", req, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close \r\nTransfer-Encoding: chunked \r\n\r\n5\r\r;ABCD\r\n34\r\nE\r\n0\r\n\r\nGET / HTTP/1.1 \r\nHost: a\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", E(parse_error::lf_expected)},
  {"chunk data not ended by CRLF (fixture)", req, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close \r\nTransfer-Encoding: chunked \r\n\r\n5\r\nABCDE0\r\n\r\n", E(parse_error::missing_chunk_crlf)},
  {"bare LF in chunk extension (node test-http-chunked-smuggling)", req, "POST / HTTP/1.1\r\nHost: localhost:8080\r\nTransfer-Encoding: chunked\r\n\r\n2;\nxx\r\n4c\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: localhost:8080\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", E(parse_error::invalid_chunk_extension)},
  {"missing last-chunk (fixture)", req, "PUT /url HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nfoo\r\n\r\n", E(parse_error::invalid_chunk_size)},
  {"chunk size overflow", req, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\nx\r\n0\r\n\r\n", E(parse_error::invalid_chunk_size)},
  {"chunk size 0x5", req, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", E(parse_error::invalid_chunk_size)},
  {"chunk size +5", req, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n", E(parse_error::invalid_chunk_size)},
  {"headers separated by CR (fixture, CVE-2023-30589)", req, "GET / HTTP/1.1\r\nFoo: 1\rBar: 2\r\n\r\n", E(parse_error::lf_expected)},
  {"headers separated by LF (fixture)", req, "POST / HTTP/1.1\r\nHost: localhost:5000\r\nx:x\nTransfer-Encoding: chunked\r\n\r\n1\r\nA\r\n0\r\n\r\n", E(parse_error::cr_expected)},
  {"headers separated by dummy characters (fixture)", req, "GET / HTTP/1.1\r\nConnection: close\r\nHost: a\r\n\rZGET /evil: HTTP/1.1\r\nHost: a\r\n\r\n", E(parse_error::lf_expected)},
  {"empty header separated by CR (fixture)", req, "POST / HTTP/1.1\r\nConnection: Close\r\nHost: localhost:5000\r\nx:\rTransfer-Encoding: chunked\r\n\r\n1\r\nA\r\n0\r\n\r\n", E(parse_error::lf_expected)},
  {"empty header separated by LF (fixture)", req, "POST / HTTP/1.1\r\nHost: localhost:5000\r\nx:\nTransfer-Encoding: chunked\r\n\r\n1\r\nA\r\n0\r\n\r\n", E(parse_error::cr_expected)},
  {"missing CR between headers (fixture, CVE-2022-35256)", req, "GET / HTTP/1.1\r\nHost: localhost\r\nDummy: x\nContent-Length: 23\r\n\r\nGET / HTTP/1.1\r\nDummy: GET /admin HTTP/1.1\r\nHost: localhost\r\n\r\n", E(parse_error::cr_expected)},
  {"invalid header token Fo@ (fixture)", req, "GET / HTTP/1.1\r\nFo@: Failure\r\n\r\n", E(parse_error::invalid_header_token)},
  {"invalid header token \\x01 (fixture)", req, "GET / HTTP/1.1\r\nFoo\x01test: Bar\r\n\r\n", E(parse_error::invalid_header_token)},
  {"empty header name (fixture)", req, "GET / HTTP/1.1\r\n: Bar\r\n\r\n", E(parse_error::invalid_header_token),
   ll::accepts, "field-name is a token (1*tchar); llhttp 9 refuses it too"},
  {"folded header name (fixture)", req, "GET / HTTP/1.1\r\nname\r\n : value\r\n\r\n", E(parse_error::missing_colon)},
  {"header line without colon", req, "GET / HTTP/1.1\r\nFoo\r\n\r\n", E(parse_error::missing_colon)},
  {"corrupted Connection header (fixture)", req, "GET / HTTP/1.1\r\nHost: www.example.com\r\nConnection\r\x1b\x35\xd5" "eep-Alive\r\nAccept-Encoding: gzip\r\n\r\n", E(parse_error::missing_colon)},
  {"corrupted header name (fixture)", req, "GET / HTTP/1.1\r\nHost: www.example.com\r\nX-Some-Header\r\x1b\x35\xd5" "eep-Alive\r\nAccept-Encoding: gzip\r\n\r\n", E(parse_error::missing_colon)},
  {"HTTP/5.6 (fixture)", req, "GET / HTTP/5.6\r\n\r\n", E(parse_error::invalid_version)},
  {"HTTP/1.2", req, "GET / HTTP/1.2\r\n\r\n", E(parse_error::invalid_version)},
  {"space after version", req, "GET / HTTP/1.1 \r\n\r\n", E(parse_error::invalid_version)},
  {"whitespace line after start line (fixture)", req, "GET / HTTP/1.1\r\n Host: foo\r\n\r\n", E(parse_error::unexpected_space)},
  {"only LFs (fixture)", req, "POST / HTTP/1.1\nTransfer-Encoding: chunked\nTrailer: Baz\nFoo: abc\nBar: def\n\n1\nA\n1;abc\nB\n0\n\nBaz: ghi\n\n", E(parse_error::cr_expected)},
  {"MKCOLA (fixture)", req, "MKCOLA / HTTP/1.1\r\n\r\n", E(parse_error::invalid_method)},
  {"FOO / (node clientError test)", req, "FOO / HTTP/1.1\r\n\r\n", E(parse_error::invalid_method)},
  {"lowercase method", req, "get / HTTP/1.1\r\n\r\n", E(parse_error::invalid_method)},
  {"PRI preface is not HTTP/1", req, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", E(parse_error::invalid_method)},
  {"ICE protocol and GET (fixture)", req, "GET /music/sweet/music ICE/1.0\r\nHost: example.com\r\n\r\n", E(parse_error::invalid_protocol)},
  {"ICE protocol, but not really (fixture)", req, "GET /music/sweet/music IHTTP/1.0\r\nHost: example.com\r\n\r\n", E(parse_error::invalid_protocol)},
  {"RTSP protocol and PUT (fixture)", req, "PUT /music/sweet/music RTSP/1.0\r\nHost: example.com\r\n\r\n", E(parse_error::invalid_protocol)},
  {"HTTP protocol and ANNOUNCE (fixture)", req, "ANNOUNCE /music/sweet/music HTTP/1.0\r\nHost: example.com\r\n\r\n", E(parse_error::invalid_method)},
  {"raw UTF-8 in the path (fixture)", req, "GET /\xce\xb4\xc2\xb6/\xce\xb4t/pope?q=1#narf HTTP/1.1\r\nHost: github.com\r\n\r\n", E(parse_error::invalid_url)},
  {"space in the URI (fixture)", req, "GET /foo bar/ HTTP/1.1\r\n\r\n", E(parse_error::invalid_protocol)},
  {"tab in the URI", req, "GET /a\tb HTTP/1.1\r\n\r\n", E(parse_error::invalid_url)},
  {"NUL in the URI", req, "GET /a\0b HTTP/1.1\r\n\r\n"sv, E(parse_error::invalid_url)},
  {"relative target", req, "GET foo HTTP/1.1\r\n\r\n", E(parse_error::invalid_url)},
  {"double @ in authority", req, "GET http://a@b@c/ HTTP/1.1\r\n\r\n", E(parse_error::invalid_url),
   ll::accepts, "userinfo holds no '@' (RFC 3986 3.2.1); llhttp only refuses '@@'"},
  {"NUL in a value", req, "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n"sv, E(parse_error::invalid_header_value)},
  {"DEL in a value", req, "GET / HTTP/1.1\r\nX: a\x7f" "b\r\n\r\n", E(parse_error::invalid_header_value)},
  {"escape byte in a value", req, "GET / HTTP/1.1\r\nX: a\x1b[0m\r\n\r\n", E(parse_error::invalid_header_value)},
  {"bare CR inside a value (node test-http-missing-header-separator)", req, "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", E(parse_error::lf_expected)},
  {"data after Connection: close", req, "GET / HTTP/1.1\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\n\r\n", E(parse_error::closed_connection)},
  {"data after an HTTP/1.0 request", req, "GET / HTTP/1.0\r\n\r\nGET /2 HTTP/1.0\r\n\r\n", E(parse_error::closed_connection)},
  {"invalid trailer token", req, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nFo@: x\r\n\r\n", E(parse_error::invalid_header_token)},
  {"truncated head", req, "GET / HTTP/1.1\r\nHost: a\r\n", E(parse_error::invalid_eof_state)},
  {"truncated body", req, "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", E(parse_error::invalid_eof_state)},
  {"truncated chunked body", req, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", E(parse_error::invalid_eof_state)},
  {"method then CRLF", req, "GET\r\n\r\n", E(parse_error::invalid_method)},

  // ---- malformed requests: netco is deliberately stricter than llhttp 8.1 ---------------------
  // obs-fold: RFC 9112 5.2 lets a server reject it; llhttp 9 rejects it in strict mode (lenient
  // only since its PR #351), Debian's 8.1 still folds it into the value.
  {"spaces before a header: obs-fold (fixture)", req, "POST /hello HTTP/1.1\r\nHost: localhost\r\nFoo: bar\r\n Content-Length: 38\r\n\r\nGET /bye HTTP/1.1\r\nHost: localhost\r\n\r\n", E(parse_error::obs_fold),
   ll::accepts, "obs-fold is refused (llhttp 9 strict refuses it too)"},
  {"obs-fold with a tab", req, "GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n", E(parse_error::obs_fold),
   ll::accepts, "obs-fold is refused (llhttp 9 strict refuses it too)"},
  // Bare LF: RFC 9112 2.2 says a recipient MAY accept it; netco does not (llhttp 9 strict
  // neither), so that no peer can end a line where netco sees none.
  {"LF-only request line and blank line", req, "GET / HTTP/1.1\n\n", E(parse_error::cr_expected),
   ll::accepts, "bare LF is refused everywhere (llhttp 9 strict too)"},
  {"LF-only blank line", req, "GET / HTTP/1.1\r\nHost: a\r\n\n", E(parse_error::cr_expected),
   ll::accepts, "bare LF is refused everywhere (llhttp 9 strict too)"},
  {"HTTP/0.9 line ended by LF", req, "GET /\n\r\n", E(parse_error::cr_expected),
   ll::accepts, "bare LF is refused everywhere (llhttp 9 takes it here, not after a version)"},
  {"bare LF before the request line", req, "\nGET / HTTP/1.1\r\n\r\n", E(parse_error::cr_expected),
   ll::accepts, "only CRLF empty lines are skipped before a request-line (RFC 9112 2.2)"},
  {"bare CR before the request line", req, "\rGET / HTTP/1.1\r\n\r\n", E(parse_error::lf_expected),
   ll::accepts, "only CRLF empty lines are skipped before a request-line (RFC 9112 2.2)"},
  // Versions: llhttp accepts HTTP/0.9 and HTTP/2.0 on a request line; netco speaks 1.0 and 1.1.
  {"HTTP/2.0 request line", req, "GET / HTTP/2.0\r\n\r\n", E(parse_error::invalid_version),
   ll::accepts, "only HTTP/1.0 and HTTP/1.1 request lines (HTTP/2 has no request line)"},
  {"explicit HTTP/0.9", req, "GET / HTTP/0.9\r\n\r\n", E(parse_error::invalid_version),
   ll::accepts, "only HTTP/1.0 and HTTP/1.1 request lines (0.9 had none)"},
  // Limits: Node enforces maxHeaderSize in its C++ wrapper, not in llhttp.
  {"head one byte over 16 KiB (node test-http-header-overflow)", req, big_request, E(parse_error::header_overflow),
   ll::accepts, "the head size limit is Node's (HPE_HEADER_OVERFLOW), not llhttp's"},
  // RFC 9112 3.2: a server MUST answer 400 to more than one Host; llhttp leaves it to Node.
  {"duplicate Host", req, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", E(parse_error::duplicate_host),
   ll::accepts, "RFC 9112 3.2: more than one Host is a 400 (missing Host is the server's check)"},
  // RFC 9112 6.3 / llhttp 9: an empty Transfer-Encoding is an error; 8.1 ignores it.
  {"empty Transfer-Encoding with Content-Length (fixture)", req, "POST /first HTTP/1.1\r\nTransfer-Encoding:\r\nContent-Length: 5\r\n\r\nhello", E(parse_error::invalid_transfer_encoding),
   ll::accepts, "an empty Transfer-Encoding is refused (as in llhttp's own fixture)"},
  // Trailers cannot change framing (RFC 9110 6.5.1); refused so that no trailer-merging proxy
  // can be made to disagree with netco.
  {"Content-Length in trailers", req, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 5\r\n\r\n", E(parse_error::forbidden_trailer),
   ll::accepts, "framing fields in trailers are refused (llhttp 9 refuses this one too)"},
  // RFC 9112 7.1.1: chunk-ext-name and a token chunk-ext-val are 1*tchar.
  {"empty chunk extension name", req, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;=x\r\nhello\r\n0\r\n\r\n", E(parse_error::invalid_chunk_extension),
   ll::accepts, "chunk-ext-name is a token (1*tchar)"},
  {"empty chunk extension value", req, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\r\nhello\r\n0\r\n\r\n", E(parse_error::invalid_chunk_extension),
   ll::accepts, "chunk-ext-val is a token or a quoted-string"},
  // Found by the fuzzer: llhttp 8.1 folds the next line into an empty Content-Length.
  {"folded empty Content-Length (CVE-2024-27982)", req, "POST / HTTP/1.1\r\nContent-Length:\r\n 5\r\n\r\nhello", E(parse_error::invalid_content_length),
   ll::accepts, "an empty Content-Length is refused, and obs-fold would be too"},
  // Found by the fuzzer: llhttp hands an upgrade over before it checks a request's coding.
  {"upgrade request whose Transfer-Encoding is not chunked", req, "GET / HTTP/1.1\r\nUpgrade: x\r\nConnection: upgrade\r\nTransfer-Encoding: gzip\r\n\r\n", E(parse_error::invalid_transfer_encoding),
   ll::accepts, "a request's Transfer-Encoding must end in chunked, upgrade or not (RFC 9112 6.3)"},
  // netco speaks HTTP/1.x only: no RTSP/ICE methods, and PRI only opens HTTP/2's preface.
  {"RTSP request", req, "DESCRIBE rtsp://a/b RTSP/1.0\r\nCSeq: 1\r\n\r\n", E(parse_error::invalid_method),
   ll::accepts, "RTSP is not HTTP"},
  {"PRI on an HTTP/0.9 line", req, "PRI *\r\n\r\n", E(parse_error::invalid_method),
   ll::accepts, "PRI only starts the HTTP/2 connection preface"},
  {"bare LF between pipelined requests", req, "GET / HTTP/1.1\r\n\r\n\nGET /2 HTTP/1.1\r\n\r\n", E(parse_error::cr_expected),
   ll::accepts, "only CRLF empty lines are skipped before a request-line (RFC 9112 2.2)"},
  {"token then quoted string in one chunk extension value", req, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;a=b\"c\"\r\nx\r\n0\r\n\r\n", E(parse_error::invalid_chunk_extension),
   ll::accepts, "chunk-ext-val is a token or a quoted-string, not both (RFC 9112 7.1.1)"},
  {"DEL in a quoted chunk extension", req, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;a=\"\x7f\"\r\nx\r\n0\r\n\r\n", E(parse_error::invalid_chunk_extension),
   ll::accepts, "qdtext excludes DEL (RFC 9110 5.6.4)"},
  // RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 means faulty framing: close after the message.
  {"chunked HTTP/1.0 request with keep-alive", req, "POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nA\r\n0\r\n\r\n", ok,
   ll::keep_alive, "RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 closes the connection"},
  // OWS (SP / HTAB) around each token is not part of it (RFC 9110 5.6.1); llhttp 8.1 and 9
  // stop recognising a token at an HTAB. Found by the fuzzer.
  {"keep-alive token followed by a tab", req, "GET / HTTP/1.0\r\nConnection: keep-alive\t\r\n\r\n", ok,
   ll::keep_alive, "Connection tokens lose the OWS around them"},
  // RFC 9110 7.8: a server MUST ignore Upgrade in an HTTP/1.0 request; llhttp does not.
  {"Upgrade in an HTTP/1.0 request", req, "GET / HTTP/1.0\r\nUpgrade: foo\r\nConnection: upgrade, keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n", ok,
   ll::no_upgrade, "RFC 9110 7.8: Upgrade in an HTTP/1.0 request is ignored"},
  {"HTTP/1.0 with keep-alive and close", req, "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", ok,
   ll::keep_alive, "close wins over keep-alive"},

  // ---- responses -----------------------------------------------------------------------------
  {"200 with Content-Length", res, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", ok},
  {"chunked response with trailers", res, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5\r\npedia\r\n0\r\nExpires: never\r\n\r\n", ok},
  {"body until close", res, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of this is body\r\n\r\nGET / HTTP/1.1", ok},
  {"HTTP/1.0 body until close", res, "HTTP/1.0 200 OK\r\n\r\nbody", ok},
  {"204 then 200", res, "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", ok},
  {"304 with Content-Length has no body", res, "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", ok},
  {"HEAD response has no body", res, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", ok,
   ll::agrees, "", {method::head, method::get}},
  {"HEAD response with chunked has no body", res, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", ok,
   ll::agrees, "", {method::head, method::get}},
  {"100 Continue then 200", res, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", ok},
  {"103 Early Hints then 200", res, "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", ok},
  {"100 Continue keeps the HEAD expectation", res, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", ok,
   ll::agrees, "", {method::head, method::get}},
  {"101 Switching Protocols", res, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello", ok},
  // A 101 means the server switched: llhttp 9 (Node 20) stops there too; 8.1 parses on.
  {"101 without Upgrade headers still switches", res, "HTTP/1.1 101 Switching Protocols\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", ok,
   ll::upgrade, "after any 101 the bytes are the new protocol's (as llhttp 9)"},
  {"200 to CONNECT opens a tunnel", res, "HTTP/1.1 200 Connection Established\r\n\r\n\x16\x03\x01", ok,
   ll::agrees, "", {method::connect}},
  {"407 to CONNECT has a body", res, "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 4\r\n\r\ndeny", ok,
   ll::agrees, "", {method::connect}},
  {"Transfer-Encoding gzip: body until close", res, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxxxx", ok},
  {"chunked, gzip: body until close", res, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", ok},
  {"status line without reason", res, "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", ok},
  {"empty reason after SP", res, "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", ok},
  {"reason with obs-text", res, "HTTP/1.1 200 \xc3\x89tat\r\nContent-Length: 0\r\n\r\n", ok},
  {"Connection: close on a response", res, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", ok},
  {"pipelined responses", res, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\nbHTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nc\r\n0\r\n\r\n", ok},
  {"response with CL and TE", res, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", E(parse_error::content_length_with_transfer_encoding)},
  {"304 with CL and TE", res, "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", E(parse_error::content_length_with_transfer_encoding)},
  {"HTTPS/1.1", res, "HTTPS/1.1 200 OK\r\n\r\n", E(parse_error::invalid_protocol)},
  {"response with invalid Content-Length", res, "HTTP/1.1 200 OK\r\nContent-Length: 5a\r\n\r\nhello", E(parse_error::invalid_content_length)},
  {"response with bare CR", res, "HTTP/1.1 200 OK\r\nX: a\rContent-Length: 0\r\n\r\n", E(parse_error::lf_expected)},
  {"truncated chunked response", res, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", E(parse_error::invalid_eof_state)},
  {"status with letters", res, "HTTP/1.1 2x0 OK\r\n\r\n", E(parse_error::invalid_status)},
  {"response HTTP/1.2", res, "HTTP/1.2 200 OK\r\n\r\n", E(parse_error::invalid_version)},
  // Deliberate: RFC 9110 15 status-code is 3DIGIT; llhttp 8.1 takes any count of digits.
  {"two-digit status", res, "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n", E(parse_error::invalid_status),
   ll::accepts, "status-code is three digits (RFC 9112 4; llhttp 9 too)"},
  {"status under 100", res, "HTTP/1.1 099 Odd\r\nContent-Length: 0\r\n\r\n", E(parse_error::invalid_status),
   ll::accepts, "status codes start at 100 (RFC 9110 15)"},
  {"control byte in reason", res, "HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n", E(parse_error::invalid_status),
   ll::accepts, "reason-phrase is HTAB / SP / VCHAR / obs-text (RFC 9112 4)"},
  {"HTTP/2.0 status line", res, "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", E(parse_error::invalid_version),
   ll::accepts, "only HTTP/1.0 and HTTP/1.1 status lines"},
  {"status line ended by LF", res, "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", E(parse_error::cr_expected),
   ll::accepts, "bare LF is refused everywhere (llhttp 9 strict too)"},
  {"obs-fold in a response", res, "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n", E(parse_error::obs_fold),
   ll::accepts, "obs-fold is refused (llhttp 9 strict refuses it too)"},
};
// clang-format on

#if defined(NETCO_HAVE_LLHTTP)
constexpr bool have_llhttp = true;
#else
constexpr bool have_llhttp = false;
#endif

}  // namespace

TEST_CASE("the corpus holds enough samples") {
  CHECK(corpus.size() >= 80);
  MESSAGE("corpus: " << corpus.size() << " samples; llhttp "
                     << std::string(have_llhttp ? "built" : "absent"));
}

TEST_CASE("netco: each sample gives its verdict, whole or in random splits") {
  for (const sample& s : corpus) {
    const std::string name = s.name;
    CAPTURE(name);
    th::request_queue q{s.requests};
    const th::transcript whole = th::run_netco(s.bytes, s.kind, q);
    if (s.netco_error == ok) {
      CHECK_MESSAGE(whole.end != th::outcome::error, whole.netco_error.message());
      CHECK(!whole.messages.empty());
    } else {
      REQUIRE(whole.end == th::outcome::error);
      CHECK(whole.netco_error.message() ==
            netco::http::make_error_code(static_cast<parse_error>(s.netco_error)).message());
    }
    for (std::uint32_t seed = 1; seed <= 40; ++seed) {
      const th::transcript split = th::run_netco(s.bytes, s.kind, q, seed);
      CAPTURE(seed);
      CHECK(split.end == whole.end);
      CHECK(split.netco_error.message() == whole.netco_error.message());
      REQUIRE(split.messages.size() == whole.messages.size());
      for (std::size_t i = 0; i < split.messages.size(); ++i)
        CHECK(th::diff_message(split.messages[i], whole.messages[i]) == "");
    }
  }
}

#if defined(NETCO_HAVE_LLHTTP)
TEST_CASE("llhttp agrees with netco, except where netco is deliberately different") {
  int agreed = 0, deliberate = 0;
  for (const sample& s : corpus) {
    const std::string name = s.name;
    CAPTURE(name);
    const std::string why = s.why;
    CAPTURE(why);
    th::request_queue q{s.requests};
    const th::transcript n = th::run_netco(s.bytes, s.kind, q);
    const th::transcript l = th::run_llhttp(s.bytes, s.kind, q);
    CAPTURE(l.llhttp_reason);
    switch (s.llhttp) {
      case ll::agrees: {
        ++agreed;
        CHECK(th::outcome_name(l.end) == th::outcome_name(n.end));
        if (n.end == th::outcome::error) break;
        REQUIRE(l.messages.size() == n.messages.size());
        for (std::size_t i = 0; i < n.messages.size(); ++i) {
          CAPTURE(i);
          CHECK(th::diff_message(l.messages[i], n.messages[i]) == "");
        }
        break;
      }
      case ll::accepts:
        ++deliberate;
        CHECK(n.end == th::outcome::error);
        CHECK(l.end != th::outcome::error);
        break;
      case ll::rejects:
        ++deliberate;
        CHECK(n.end != th::outcome::error);
        CHECK(l.end == th::outcome::error);
        break;
      case ll::upgrade:
        ++deliberate;
        CHECK(n.end == th::outcome::upgrade);
        CHECK(l.end == th::outcome::ok);
        break;
      case ll::no_upgrade:
        ++deliberate;
        CHECK(n.end == th::outcome::ok);
        CHECK(l.end == th::outcome::upgrade);
        break;
      case ll::keep_alive: {
        ++deliberate;
        REQUIRE(l.end == n.end);
        REQUIRE(l.messages.size() == n.messages.size());
        REQUIRE(!n.messages.empty());
        CHECK(th::diff_message(l.messages[0], n.messages[0]) == "keep_alive");
        break;
      }
    }
  }
  MESSAGE("llhttp agreed on " << agreed << " samples; " << deliberate
                              << " deliberate differences checked");
}
#endif
