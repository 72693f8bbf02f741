// tests/http_transcript.hpp: runs a byte stream through netco's HTTP parser (in random splits)
// and, where built, through llhttp, into comparable transcripts; shared by the differential
// test and the fuzzer
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "netco/http/parser.hpp"

#if defined(NETCO_HAVE_LLHTTP)
#include <llhttp.h>
#endif

namespace netco_test::http {

using field_list = std::vector<std::pair<std::string, std::string>>;

struct message {
  int method = -1;  // llhttp's numbering, which netco::http::method shares
  std::string url;
  int major = 0, minor = 0;
  int status = 0;
  std::string reason;
  field_list headers;
  field_list trailers;
  std::string body;
  bool keep_alive = false;
  bool upgrade = false;
};

enum class outcome { ok, error, upgrade };

struct transcript {
  std::vector<message> messages;  // complete messages only
  outcome end = outcome::ok;
  std::uint64_t error_offset = 0;  // stream offset of the error
  std::error_code netco_error;     // netco: why
  int llhttp_errno = 0;            // llhttp: why
  std::string llhttp_reason;
  std::uint64_t last_message_end = 0;  // netco: stream offset after the last complete message
};

/// The method each successive response answers (a client's request queue).
struct request_queue {
  std::vector<netco::http::method> methods;
  netco::http::method at(std::size_t i) const {
    return i < methods.size() ? methods[i] : netco::http::method::get;
  }
};

inline std::string trim_ows(std::string_view v) {
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  return std::string(v);
}

inline std::string_view outcome_name(outcome o) {
  switch (o) {
    case outcome::ok:
      return "ok";
    case outcome::error:
      return "error";
    case outcome::upgrade:
      return "upgrade";
  }
  return "?";
}

/// Feeds input to netco in pieces whose sizes come from split_seed (0: all at once), keeping
/// the unconsumed bytes as a server's read buffer would, and handing them over in a new
/// exact-size allocation each call (so they move, and a sanitizer sees any over-read).
inline transcript run_netco(std::string_view input, netco::http::message_kind kind,
                            const request_queue& requests = {}, std::uint32_t split_seed = 0,
                            netco::http::parser_options options = {}) {
  using namespace netco::http;
  transcript t;
  parser p(kind, options);
  std::size_t final_responses = 0;
  if (kind == message_kind::response) p.set_request_method(requests.at(0));
  std::mt19937 rng(split_seed);
  std::string buf;
  std::size_t fed = 0;
  std::uint64_t pos = 0;  // stream offset of buf[0]
  message current;
  bool have_head = false;

  auto handle = [&](const parse_result& r) -> bool {  // false: stop
    switch (r.event) {
      case parse_event::need_more:
        return false;
      case parse_event::head: {
        const message_head& h = p.head();
        current = message{};
        have_head = true;
        current.method = kind == message_kind::request ? static_cast<int>(h.method) : -1;
        current.url = std::string(h.target);
        current.major = h.version_major;
        current.minor = h.version_minor;
        current.status = h.status;
        current.reason = std::string(h.reason);
        for (const header& f : h.headers)
          current.headers.emplace_back(std::string(f.name), std::string(f.value));
        current.keep_alive = h.keep_alive;
        current.upgrade = h.upgrade;
        return true;
      }
      case parse_event::body:
        current.body.append(r.data);
        return true;
      case parse_event::message_complete:
        for (const header& f : p.trailers())
          current.trailers.emplace_back(std::string(f.name), std::string(f.value));
        if (have_head) t.messages.push_back(std::move(current));
        have_head = false;
        t.last_message_end = pos + r.consumed;
        if (kind == message_kind::response && !t.messages.empty() &&
            t.messages.back().status >= 200)
          p.set_request_method(requests.at(++final_responses));
        return true;
      case parse_event::upgrade:
        t.end = outcome::upgrade;
        return false;
      case parse_event::error:
        t.end = outcome::error;
        t.netco_error = p.error();
        t.error_offset = p.error_offset();
        return false;
    }
    return false;
  };

  for (;;) {
    std::size_t n = input.size() - fed;
    if (split_seed != 0 && n > 0) n = std::min<std::size_t>(n, 1 + rng() % 24);
    buf.append(input.substr(fed, n));
    fed += n;
    for (;;) {
      // An exact-size heap copy each call: the bytes move, and a sanitizer sees any over-read.
      std::unique_ptr<char[]> exact(new char[buf.size()]);
      std::copy(buf.begin(), buf.end(), exact.get());
      parse_result r = p.parse(std::string_view(exact.get(), buf.size()));
      const bool go_on = handle(r);
      buf.erase(0, r.consumed);
      pos += r.consumed;
      if (!go_on) break;
    }
    if (t.end != outcome::ok) return t;
    if (fed == input.size()) break;
  }
  parse_result r = p.finish();
  handle(r);
  return t;
}

#if defined(NETCO_HAVE_LLHTTP)
namespace detail {
struct ll_state {
  transcript t;
  message current;
  bool in_value = false;  // the last header span was a value
  bool headers_done = false;
  std::size_t final_responses = 0;
  const request_queue* requests = nullptr;

  field_list& fields() { return headers_done ? current.trailers : current.headers; }
  static ll_state& of(llhttp_t* p) { return *static_cast<ll_state*>(p->data); }
};

inline int ll_on_message_begin(llhttp_t* p) {
  auto& s = ll_state::of(p);
  s.current = message{};
  s.in_value = false;
  s.headers_done = false;
  return 0;
}
inline int ll_on_url(llhttp_t* p, const char* at, std::size_t n) {
  ll_state::of(p).current.url.append(at, n);
  return 0;
}
inline int ll_on_status(llhttp_t* p, const char* at, std::size_t n) {
  ll_state::of(p).current.reason.append(at, n);
  return 0;
}
inline int ll_on_header_field(llhttp_t* p, const char* at, std::size_t n) {
  auto& s = ll_state::of(p);
  if (s.in_value || s.fields().empty()) s.fields().emplace_back();
  s.in_value = false;
  s.fields().back().first.append(at, n);
  return 0;
}
inline int ll_on_header_value(llhttp_t* p, const char* at, std::size_t n) {
  auto& s = ll_state::of(p);
  if (s.fields().empty()) s.fields().emplace_back();
  s.in_value = true;
  s.fields().back().second.append(at, n);
  return 0;
}
inline int ll_on_headers_complete(llhttp_t* p) {
  auto& s = ll_state::of(p);
  s.headers_done = true;
  s.in_value = false;
  for (auto& f : s.current.headers) f.second = trim_ows(f.second);
  s.current.major = p->http_major;
  s.current.minor = p->http_minor;
  if (p->type == HTTP_REQUEST) {
    s.current.method = p->method;
    return 0;
  }
  s.current.status = p->status_code;
  // What a client does (netco's rules, RFC 9112 6.3): HEAD, 1xx, 204 and 304 have no body; a
  // 2xx answer to CONNECT opens a tunnel.
  const auto m = s.requests->at(s.final_responses);
  const int st = p->status_code;
  if (m == netco::http::method::connect && st / 100 == 2) return 2;
  if (m == netco::http::method::head || st / 100 == 1 || st == 204 || st == 304) return 1;
  return 0;
}
inline int ll_on_body(llhttp_t* p, const char* at, std::size_t n) {
  ll_state::of(p).current.body.append(at, n);
  return 0;
}
inline int ll_on_message_complete(llhttp_t* p) {
  auto& s = ll_state::of(p);
  for (auto& f : s.current.trailers) f.second = trim_ows(f.second);
  s.current.keep_alive = llhttp_should_keep_alive(p) != 0;
  s.current.upgrade = p->upgrade != 0;
  if (p->type == HTTP_RESPONSE && s.current.status >= 200) ++s.final_responses;
  s.t.messages.push_back(std::move(s.current));
  s.current = message{};
  return 0;
}
}  // namespace detail

/// Runs input through llhttp in strict mode (no lenient flags), in one piece, then finishes.
inline transcript run_llhttp(std::string_view input, netco::http::message_kind kind,
                             const request_queue& requests = {}) {
  static const llhttp_settings_t settings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = detail::ll_on_message_begin;
    s.on_url = detail::ll_on_url;
    s.on_status = detail::ll_on_status;
    s.on_header_field = detail::ll_on_header_field;
    s.on_header_value = detail::ll_on_header_value;
    s.on_headers_complete = detail::ll_on_headers_complete;
    s.on_body = detail::ll_on_body;
    s.on_message_complete = detail::ll_on_message_complete;
    return s;
  }();
  detail::ll_state state;
  state.requests = &requests;
  llhttp_t p;
  llhttp_init(&p, kind == netco::http::message_kind::request ? HTTP_REQUEST : HTTP_RESPONSE,
              &settings);
  p.data = &state;
  llhttp_errno_t err = llhttp_execute(&p, input.data(), input.size());
  if (err == HPE_OK) err = llhttp_finish(&p);
  if (err == HPE_PAUSED_UPGRADE) {
    state.t.end = outcome::upgrade;
  } else if (err != HPE_OK) {
    state.t.end = outcome::error;
    state.t.llhttp_errno = err;
    state.t.llhttp_reason = llhttp_get_error_reason(&p) ? llhttp_get_error_reason(&p) : "";
    const char* at = llhttp_get_error_pos(&p);
    state.t.error_offset = at != nullptr && at >= input.data() && at <= input.data() + input.size()
                               ? static_cast<std::uint64_t>(at - input.data())
                               : input.size();
  }
  return std::move(state.t);
}
#endif

/// The first difference between two messages, or an empty string.
inline std::string diff_message(const message& a, const message& b) {
  if (a.method != b.method) return "method";
  if (a.url != b.url) return "url";
  if (a.major != b.major || a.minor != b.minor) return "version";
  if (a.status != b.status) return "status";
  if (a.reason != b.reason) return "reason";
  if (a.headers != b.headers) return "headers";
  if (a.trailers != b.trailers) return "trailers";
  if (a.body != b.body) return "body";
  if (a.keep_alive != b.keep_alive) return "keep_alive";
  if (a.upgrade != b.upgrade) return "upgrade";
  return {};
}

/// A readable rendering of bytes for failure messages.
inline std::string escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\r')
      out += "\\r";
    else if (c == '\n')
      out += "\\n";
    else if (c == '\\')
      out += "\\\\";
    else if (c >= 0x20 && c < 0x7f)
      out += static_cast<char>(c);
    else {
      static const char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace netco_test::http
