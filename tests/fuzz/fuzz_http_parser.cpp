// tests/fuzz/fuzz_http_parser.cpp: libFuzzer target: netco's HTTP parser on random bytes in
// random splits, checked against itself unsplit and against llhttp (strict mode)
//
// Input: one mode byte, then the stream. Mode bit 0: responses (else requests); bits 1-2: the
// requests the responses answer (GET..., HEAD, CONNECT, GET HEAD GET); bits 3-7: split seed.
// Any disagreement that is not one of netco's deliberate differences (listed in
// tests/test_http_differential.cpp) aborts, printing both transcripts.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "../http_transcript.hpp"

namespace {

using netco::http::message_kind;
using netco::http::method;
using netco::http::parse_error;
namespace th = netco_test::http;

[[noreturn]] void fail(std::string_view input, const char* what, const th::transcript& n,
                       const th::transcript* l) {
  std::fprintf(stderr, "MISMATCH: %s\ninput: %s\n", what, th::escape(input).c_str());
  auto dump = [](const char* who, const th::transcript& t) {
    std::fprintf(stderr, "%s: %zu messages, end=%s", who, t.messages.size(),
                 std::string(th::outcome_name(t.end)).c_str());
    if (t.end == th::outcome::error)
      std::fprintf(stderr, " (%s%s) at %llu", t.netco_error ? t.netco_error.message().c_str() : "",
                   t.llhttp_reason.c_str(), static_cast<unsigned long long>(t.error_offset));
    std::fprintf(stderr, "\n");
    for (const auto& m : t.messages)
      std::fprintf(stderr, "  m=%d url=%s v=%d.%d s=%d ka=%d up=%d h=%zu t=%zu body=%s\n", m.method,
                   th::escape(m.url).c_str(), m.major, m.minor, m.status, m.keep_alive, m.upgrade,
                   m.headers.size(), m.trailers.size(), th::escape(m.body).c_str());
  };
  dump("netco", n);
  if (l != nullptr) dump("llhttp", *l);
  std::abort();
}

bool same(const th::transcript& a, const th::transcript& b) {
  if (a.end != b.end || a.netco_error != b.netco_error || a.messages.size() != b.messages.size())
    return false;
  for (std::size_t i = 0; i < a.messages.size(); ++i)
    if (!th::diff_message(a.messages[i], b.messages[i]).empty()) return false;
  return true;
}

#if defined(NETCO_HAVE_LLHTTP)
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c | 0x20) : c; }

bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

// Whether input[from, to) has a field line `name:` whose value is only SP/HTAB.
bool has_empty_field(std::string_view input, std::size_t from, std::size_t to,
                     std::string_view name) {
  to = std::min(to + 2, input.size());
  for (std::size_t i = from; i + name.size() + 1 <= to; ++i) {
    if ((i != 0 && input[i - 1] != '\n') || !ieq(input.substr(i, name.size()), name) ||
        input[i + name.size()] != ':')
      continue;
    std::size_t j = i + name.size() + 1;
    while (j < to && (input[j] == ' ' || input[j] == '\t')) ++j;
    if (j < to && input[j] == '\r') return true;
  }
  return false;
}

// Whether a Connection or Proxy-Connection line of the raw input holds an HTAB (values in
// transcripts are trimmed, so the raw bytes are searched).
bool connection_line_with_tab(std::string_view in) {
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (i != 0 && in[i - 1] != '\n') continue;
    std::size_t n = 0;
    if (ieq(in.substr(i, 11), "connection:"))
      n = 11;
    else if (ieq(in.substr(i, 17), "proxy-connection:"))
      n = 17;
    else
      continue;
    for (std::size_t j = i + n; j < in.size() && in[j] != '\r' && in[j] != '\n'; ++j)
      if (in[j] == '\t') return true;
  }
  return false;
}

bool has_connection_quirk(std::string_view in, const th::message& m) {
  // netco reads Connection tokens after trimming SP/HTAB around each and lets close win; llhttp
  // stops recognising a token at an HTAB, and an HTTP/1.0 keep-alive beats its close.
  bool close = false, keep = false;
  for (const auto& [name, value] : m.headers) {
    if (!ieq(name, "connection") && !ieq(name, "proxy-connection")) continue;
    std::string v;
    for (char c : value) v += lower(c);
    if (v.find("close") != std::string::npos) close = true;
    if (v.find("keep-alive") != std::string::npos) keep = true;
  }
  bool te = false;
  for (const auto& [name, value] : m.headers)
    if (ieq(name, "transfer-encoding")) te = true;
  const bool trailer_connection = [&] {
    for (const auto& [name, value] : m.trailers)
      if (ieq(name, "connection") || ieq(name, "proxy-connection")) return true;
    return false;
  }();
  const bool v11 = m.major == 1 && m.minor == 1;
  return connection_line_with_tab(in) || (close && keep) || (!v11 && te) || trailer_connection;
}

// netco refused where llhttp 8.1 did not: is it one of the deliberate rules?
bool explained_netco_rejection(std::string_view in, const th::transcript& n,
                               const th::transcript& l) {
  const auto k = static_cast<std::size_t>(n.error_offset);
  const auto at = [&](std::size_t i) { return i < in.size() ? in[i] : '\0'; };
  const std::size_t start = static_cast<std::size_t>(n.last_message_end);
  // A field refused at its line's end whose next line is a fold: llhttp 8.1 folds it in first
  // (so "Content-Length:\r\n 1" is 1 to it: CVE-2024-27982); netco never folds.
  if (at(k) == '\r' && at(k + 1) == '\n' && (at(k + 2) == ' ' || at(k + 2) == '\t')) return true;
  switch (static_cast<parse_error>(n.netco_error.value())) {
    case parse_error::header_overflow:
    case parse_error::chunk_extensions_overflow:
    case parse_error::duplicate_host:
    case parse_error::forbidden_trailer:
    case parse_error::obs_fold:
    case parse_error::invalid_status:
      return true;
    case parse_error::cr_expected:  // a bare LF, which llhttp 8.1 takes in places
      if (at(k) == '\n' && (k == 0 || at(k - 1) != '\r')) return true;
      [[fallthrough]];
    case parse_error::lf_expected: {  // bare CR or LF before a start line: llhttp skips them
      for (std::size_t i = start; i < k; ++i)
        if (at(i) != '\r' && at(i) != '\n') return false;
      return true;
    }
    case parse_error::invalid_version:  // HTTP/0.9 and HTTP/2.0, which llhttp takes
      return k >= 5 && in.substr(k - 5, 5) == "HTTP/" &&
             (in.substr(k, 3) == "2.0" || in.substr(k, 3) == "0.9");
    case parse_error::invalid_protocol:  // RTSP/ and ICE/ (llhttp parses those protocols)
      return in.substr(k, 5) == "RTSP/" || in.substr(k, 4) == "ICE/";
    case parse_error::invalid_method: {  // RTSP-only methods, and PRI (HTTP/2 preface only)
      std::size_t s = start;
      while (s < in.size() && (in[s] == '\r' || in[s] == '\n')) ++s;
      for (std::string_view m :
           {"DESCRIBE ", "ANNOUNCE ", "SETUP ", "PLAY ", "PAUSE ", "TEARDOWN ", "GET_PARAMETER ",
            "SET_PARAMETER ", "REDIRECT ", "RECORD ", "FLUSH ", "PRI "})
        if (in.substr(s, m.size()) == m) return true;
      return false;
    }
    case parse_error::invalid_url:
      return at(k) == '@';                   // a second '@' in the authority
    case parse_error::invalid_header_token:  // an empty field name
      return at(k) == ':' && k >= 1 && at(k - 1) == '\n';
    case parse_error::invalid_transfer_encoding:
      // An empty Transfer-Encoding; or a request upgrade whose Transfer-Encoding is not
      // chunked, which llhttp lets through because it hands the connection over first.
      return has_empty_field(in, start, k, "transfer-encoding") ||
             (l.end == th::outcome::upgrade && l.messages.size() == n.messages.size() + 1);
    case parse_error::invalid_chunk_extension:
      // An empty name or value, DEL in quotes, or a quote after a token value (`a=b"c"`,
      // which llhttp reads as one value)
      return (k >= 1 && (at(k - 1) == ';' || at(k - 1) == '=')) || at(k) == '\x7f' || at(k) == '"';
    default:
      return false;
  }
}

// llhttp 8.1 refused where netco did not: is it one of llhttp's known departures?
bool explained_llhttp_rejection(std::string_view in, const th::transcript& l) {
  const auto k = static_cast<std::size_t>(l.error_offset);
  // quoted-pair in a chunk extension (RFC 9112 7.1.1; llhttp 9 accepts it)
  if (l.llhttp_reason == "Invalid character in chunk extensions quoted value" && k >= 1 &&
      k <= in.size() && in[k - 1] == '\\')
    return true;
  // llhttp 8.1 consumes the ';' after a token chunk-ext-val, then refuses the next name
  if (l.llhttp_reason == "Invalid character in chunk size" && k >= 1 && in[k - 1] == ';')
    return true;
  return false;
}

void compare(std::string_view in, const th::transcript& n, const th::transcript& l) {
  const std::size_t common = std::min(n.messages.size(), l.messages.size());
  for (std::size_t i = 0; i < common; ++i) {
    const std::string d = th::diff_message(l.messages[i], n.messages[i]);
    if (d.empty()) continue;
    if ((d == "keep_alive" || d == "upgrade") && has_connection_quirk(in, n.messages[i])) return;
    // Any 101 switches protocols for netco (as llhttp 9); 8.1 needs the Upgrade headers.
    if (d == "upgrade" && n.messages[i].status == 101) return;
    // RFC 9110 7.8: netco ignores Upgrade in an HTTP/1.0 request; llhttp does not.
    if (d == "upgrade" && n.messages[i].status == 0 && n.messages[i].minor != 1) return;
    fail(in, ("message field differs: " + d).c_str(), n, &l);
  }
  if (n.messages.size() == l.messages.size() && n.end == l.end) return;
  // One side stopped where the other went on.
  const bool netco_stopped =
      n.messages.size() < l.messages.size() ||
      (n.messages.size() == l.messages.size() && n.end == th::outcome::error);
  if (netco_stopped) {
    if (n.end == th::outcome::error && explained_netco_rejection(in, n, l)) return;
    // A deliberate field difference earlier can make the streams part ways later.
    fail(in, "netco stopped where llhttp went on", n, &l);
  }
  if (l.end == th::outcome::error && explained_llhttp_rejection(in, l)) return;
  fail(in, "llhttp stopped where netco went on", n, &l);
}
#endif

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t mode = data[0];
  const message_kind kind = (mode & 1) != 0 ? message_kind::response : message_kind::request;
  th::request_queue q;
  switch ((mode >> 1) & 3) {
    case 1:
      q.methods = {method::head};
      break;
    case 2:
      q.methods = {method::connect};
      break;
    case 3:
      q.methods = {method::get, method::head, method::get};
      break;
    default:
      break;
  }
  const std::uint32_t seed = static_cast<std::uint32_t>(mode >> 3) + 1;
  const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);

  const th::transcript whole = th::run_netco(in, kind, q, 0);
  const th::transcript split = th::run_netco(in, kind, q, seed);
  if (!same(whole, split)) fail(in, "split input parsed differently", split, &whole);

#if defined(NETCO_HAVE_LLHTTP)
  const th::transcript l = th::run_llhttp(in, kind, q);
  compare(in, whole, l);
#endif
  return 0;
}
