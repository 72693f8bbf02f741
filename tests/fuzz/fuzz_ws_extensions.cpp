// tests/fuzz/fuzz_ws_extensions.cpp: libFuzzer target: the Sec-WebSocket-Extensions and
// Sec-WebSocket-Protocol parsers and permessage-deflate negotiation on random header values
//
// Checked: a value that parses formats to one that parses to the same list (and formats the
// same again); a refused value leaves the output as it was; whatever negotiate_deflate agrees
// to has windows a zlib compressor can use, and its response header parses.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "netco/ws/deflate.hpp"

namespace {

using namespace netco::ws;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "WS EXTENSIONS: %s\n", what);
  std::abort();
}

bool same(const std::vector<extension>& a, const std::vector<extension>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].params.size() != b[i].params.size()) return false;
    for (std::size_t j = 0; j < a[i].params.size(); ++j) {
      const auto &x = a[i].params[j], &y = b[i].params[j];
      if (x.name != y.name || x.value != y.value || x.has_value != y.has_value) return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  std::vector<extension> list;
  if (!parse_extensions(value, list)) {
    std::vector<extension> again;
    const std::string formatted = format_extensions(list);
    if (parse_extensions(formatted, again) || !same(list, again))
      fail("format does not parse back");
    if (format_extensions(again) != formatted) fail("format is not stable");
    deflate_options o;
    o.server_max_window_bits = static_cast<std::uint8_t>(9 + size % 7);
    o.client_no_context_takeover = size % 2;
    if (auto a = negotiate_deflate(list, o)) {
      if (a->params.server_max_window_bits < 9 || a->params.server_max_window_bits > 15)
        fail("a compressor window zlib cannot use");
      if (a->params.client_max_window_bits < 8 || a->params.client_max_window_bits > 15)
        fail("a client window out of range");
      std::vector<extension> response;
      if (parse_extensions(a->response, response) || response.size() != 1)
        fail("the response does not parse");
    }
  } else if (!list.empty()) {
    fail("a refused value left output behind");
  }
  std::vector<std::string_view> protocols;
  if (!parse_protocols(value, protocols)) {
    std::vector<std::string_view> again;
    const std::string formatted = format_protocols(protocols);
    if (parse_protocols(formatted, again) || again != protocols)
      fail("protocols do not round trip");
  }
  return 0;
}
