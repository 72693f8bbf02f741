// tests/fuzz/fuzz_chunked.cpp: libFuzzer target: chunked transfer decoding in netco's HTTP
// parser, on random bytes and on valid encodings built from random recipes
//
// Input: one mode byte (bit 0: 0 raw, 1 round trip; bits 1-7: split seed), then the rest.
//  - raw: a request head with Transfer-Encoding: chunked, then the input as its body. Parsed
//    whole and in random splits, the transcripts must agree (body, trailers, error).
//  - round trip: the input is a recipe (chunk sizes, data, extensions, case, leading zeros,
//    trailers); its valid chunked encoding, followed by a pipelined GET, must parse in random
//    splits to exactly the recipe's data and trailers, and then the GET.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "../http_transcript.hpp"

namespace {

using netco::http::message_kind;
namespace th = netco_test::http;

constexpr std::string_view chunked_head =
    "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";

[[noreturn]] void fail(const char* what, std::string_view stream) {
  std::fprintf(stderr, "CHUNKED: %s\nstream: %s\n", what, th::escape(stream).c_str());
  std::abort();
}

bool same(const th::transcript& a, const th::transcript& b) {
  if (a.end != b.end || a.netco_error != b.netco_error || a.messages.size() != b.messages.size())
    return false;
  // NOTE: not error_offset: for some errors (an invalid method) it depends on where the bytes
  // were split, as fuzz_http_parser.cpp also allows.
  for (std::size_t i = 0; i < a.messages.size(); ++i)
    if (!th::diff_message(a.messages[i], b.messages[i]).empty()) return false;
  return true;
}

/// Reads the recipe; past its end it yields zeros.
struct recipe {
  const std::uint8_t* p;
  std::size_t n;
  std::uint8_t next() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  bool empty() const { return n == 0; }
};

void append_hex(std::string& out, std::size_t v, bool upper, int zeros) {
  static constexpr char lower_digits[] = "0123456789abcdef";
  static constexpr char upper_digits[] = "0123456789ABCDEF";
  const char* digits = upper ? upper_digits : lower_digits;
  std::string h;
  do {
    h.insert(h.begin(), digits[v % 16]);
    v /= 16;
  } while (v != 0);
  out.append(static_cast<std::size_t>(zeros), '0');
  out += h;
}

/// Zero to two chunk extensions, each `;name`, `;name=token` or `;name="quoted"`.
void append_extensions(std::string& out, recipe& r) {
  static constexpr std::string_view names[] = {"a", "ext", "x-y", "Z9"};
  static constexpr std::string_view values[] = {"1", "tok", "\"q s\"", "\"a\\\"b\"", "\"\""};
  for (int i = r.next() % 3; i > 0; --i) {
    out += ';';
    out += names[r.next() % 4];
    const std::uint8_t v = r.next() % 6;
    if (v < 5) {
      out += '=';
      out += values[v];
    }
  }
}

void round_trip(recipe r, std::uint32_t seed) {
  std::string stream(chunked_head), data;
  while (!r.empty() && data.size() < 64 * 1024) {
    const std::uint8_t flags = r.next();
    std::size_t len = 1 + r.next();
    if ((flags & 0x80) != 0) len *= 1 + (flags & 0x0F);  // now and then a longer chunk
    append_hex(stream, len, (flags & 1) != 0, (flags >> 1) & 3);
    append_extensions(stream, r);
    stream += "\r\n";
    for (std::size_t i = 0; i < len; ++i) {
      const char c = static_cast<char>(r.empty() ? 'z' : r.next());
      stream += c;
      data += c;
    }
    stream += "\r\n";
  }
  stream += std::string(r.next() % 3, '0') + "0";
  append_extensions(stream, r);
  stream += "\r\n";
  th::field_list trailers;
  for (int i = r.next() % 3; i > 0; --i) {
    trailers.emplace_back("X-Trailer-" + std::to_string(i), "v" + std::to_string(r.next()));
    stream += trailers.back().first + ": " + trailers.back().second + "\r\n";
  }
  stream += "\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n";

  const th::transcript t = th::run_netco(stream, message_kind::request, {}, seed);
  if (t.end != th::outcome::ok) fail("a valid chunked body was refused", stream);
  if (t.messages.size() != 2) fail("not exactly two messages", stream);
  if (t.messages[0].body != data) fail("the body differs from the chunks' data", stream);
  if (t.messages[0].trailers != trailers) fail("the trailers differ", stream);
  if (t.messages[1].url != "/next") fail("the pipelined request was lost", stream);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t mode = data[0];
  const std::uint32_t seed = static_cast<std::uint32_t>(mode >> 1) + 1;
  if ((mode & 1) != 0) {
    round_trip({data + 1, size - 1}, seed);
    return 0;
  }
  std::string stream(chunked_head);
  stream.append(reinterpret_cast<const char*>(data + 1), size - 1);
  const th::transcript whole = th::run_netco(stream, message_kind::request, {}, 0);
  const th::transcript split = th::run_netco(stream, message_kind::request, {}, seed);
  if (!same(whole, split)) fail("split input parsed differently", stream);
  // Decoding never makes bytes up: a body is at most what followed the head.
  for (const auto& m : whole.messages)
    if (m.body.size() > size) fail("a body longer than the input", stream);
  return 0;
}
