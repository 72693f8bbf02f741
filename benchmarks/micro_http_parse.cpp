// benchmarks/micro_http_parse.cpp: netco's HTTP/1.1 parser against llhttp (Node's parser) on a
// browser-like GET and on a small pipelined batch, in bytes/s.
// Run: build/benchmarks/micro_http_parse (a release build: -Dbuildtype=release). Both parsers
// hand the caller the method, target, and every field name and value; llhttp does it through
// callbacks that record the spans, netco through its message_head. llhttp_nocb is llhttp with
// no callbacks at all: the floor of its cost, not a like-for-like comparison.
#include "netco/http/parser.hpp"

#include <benchmark/benchmark.h>

#include <cstddef>      // size_t
#include <string>       // the pipelined batch
#include <string_view>  // inputs

#if defined(NETCO_HAVE_LLHTTP)
#include <llhttp.h>
#endif

namespace {

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

// What a keep-alive client pipelines: small GETs, a form POST, a chunked upload.
std::string make_batch() {
  std::string b;
  for (int i = 0; i < 4; ++i) {
    b += "GET /api/items?page=";
    b += static_cast<char>('0' + i);
    b += " HTTP/1.1\r\nHost: api.example.com\r\nAccept: application/json\r\n"
         "User-Agent: curl/7.88.1\r\n\r\n";
  }
  b += "POST /api/items HTTP/1.1\r\nHost: api.example.com\r\nContent-Type: application/json\r\n"
       "Content-Length: 26\r\n\r\n{\"name\":\"widget\",\"qty\":12}";
  b += "PUT /upload HTTP/1.1\r\nHost: api.example.com\r\nTransfer-Encoding: chunked\r\n\r\n"
       "10\r\n0123456789abcdef\r\n8\r\n01234567\r\n0\r\n\r\n";
  b += browser_get;
  return b;
}
const std::string batch = make_batch();
constexpr std::size_t batch_messages = 7;

void netco_parse(benchmark::State& state, std::string_view input, std::size_t messages) {
  netco::http::parser p(netco::http::message_kind::request);
  std::size_t fields = 0;
  for (auto _ : state) {
    std::string_view rest = input;
    std::size_t done = 0;
    for (;;) {
      const netco::http::parse_result r = p.parse(rest);
      if (r.event == netco::http::parse_event::head) {
        fields += p.head().headers.size();
        benchmark::DoNotOptimize(p.head().target.data());
      } else if (r.event == netco::http::parse_event::body) {
        benchmark::DoNotOptimize(r.data.data());
      } else if (r.event == netco::http::parse_event::message_complete) {
        ++done;
      } else if (r.event != netco::http::parse_event::need_more) {
        state.SkipWithError("netco refused the input");
        return;
      }
      rest.remove_prefix(r.consumed);
      if (r.event == netco::http::parse_event::need_more) break;
    }
    if (done != messages) {
      state.SkipWithError("netco parsed a different number of messages");
      return;
    }
  }
  benchmark::DoNotOptimize(fields);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * input.size()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * messages));
}

#if defined(NETCO_HAVE_LLHTTP)
// The spans a caller of llhttp keeps: as much as netco's message_head gives.
struct spans {
  const char* url = nullptr;
  std::size_t url_len = 0;
  struct field {
    const char* name;
    std::size_t name_len;
    const char* value;
    std::size_t value_len;
  } fields[64];
  std::size_t count = 0;
  std::size_t messages = 0;
  std::size_t total_fields = 0;
  bool in_value = false;
};

spans& of(llhttp_t* p) { return *static_cast<spans*>(p->data); }

int on_message_begin(llhttp_t* p) {
  of(p).count = 0;
  of(p).in_value = false;
  of(p).url_len = 0;
  return 0;
}
int on_url(llhttp_t* p, const char* at, std::size_t n) {
  spans& s = of(p);
  if (s.url_len == 0) s.url = at;
  s.url_len += n;
  return 0;
}
int on_header_field(llhttp_t* p, const char* at, std::size_t n) {
  spans& s = of(p);
  if (s.in_value || s.count == 0) {
    if (s.count == 64) return -1;
    s.fields[s.count++] = {at, 0, nullptr, 0};
  }
  s.in_value = false;
  s.fields[s.count - 1].name_len += n;
  return 0;
}
int on_header_value(llhttp_t* p, const char* at, std::size_t n) {
  spans& s = of(p);
  auto& f = s.fields[s.count - 1];
  if (!s.in_value) f.value = at;
  s.in_value = true;
  f.value_len += n;
  return 0;
}
int on_headers_complete(llhttp_t* p) {
  of(p).total_fields += of(p).count;
  benchmark::DoNotOptimize(of(p).url);
  return 0;
}
int on_body(llhttp_t*, const char* at, std::size_t) {
  benchmark::DoNotOptimize(at);
  return 0;
}
int on_message_complete(llhttp_t* p) {
  ++of(p).messages;
  return 0;
}

void llhttp_parse(benchmark::State& state, std::string_view input, std::size_t messages,
                  bool callbacks) {
  llhttp_settings_t settings;
  llhttp_settings_init(&settings);
  if (callbacks) {
    settings.on_message_begin = on_message_begin;
    settings.on_url = on_url;
    settings.on_header_field = on_header_field;
    settings.on_header_value = on_header_value;
    settings.on_headers_complete = on_headers_complete;
    settings.on_body = on_body;
  }
  settings.on_message_complete = on_message_complete;
  spans s;
  llhttp_t p;
  llhttp_init(&p, HTTP_REQUEST, &settings);
  p.data = &s;
  for (auto _ : state) {
    s.messages = 0;
    if (llhttp_execute(&p, input.data(), input.size()) != HPE_OK) {
      state.SkipWithError("llhttp refused the input");
      return;
    }
    if (s.messages != messages) {
      state.SkipWithError("llhttp parsed a different number of messages");
      return;
    }
  }
  benchmark::DoNotOptimize(s.total_fields);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * input.size()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * messages));
}
#endif

void register_all() {
  benchmark::RegisterBenchmark("netco/browser_get", netco_parse, browser_get, std::size_t{1});
  benchmark::RegisterBenchmark("netco/pipelined", netco_parse, std::string_view(batch),
                               batch_messages);
#if defined(NETCO_HAVE_LLHTTP)
  benchmark::RegisterBenchmark("llhttp/browser_get", llhttp_parse, browser_get, std::size_t{1},
                               true);
  benchmark::RegisterBenchmark("llhttp/pipelined", llhttp_parse, std::string_view(batch),
                               batch_messages, true);
  benchmark::RegisterBenchmark("llhttp_nocb/browser_get", llhttp_parse, browser_get, std::size_t{1},
                               false);
  benchmark::RegisterBenchmark("llhttp_nocb/pipelined", llhttp_parse, std::string_view(batch),
                               batch_messages, false);
#endif
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
