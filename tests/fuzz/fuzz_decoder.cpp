// tests/fuzz/fuzz_decoder.cpp: libFuzzer target: the text decoder behind socket.set_encoding()
// (utf8, hex, base64, latin1) on random bytes cut into random chunks
//
// Input: one mode byte (bits 0-1: the encoding; bits 2-7: split seed), then the stream.
// Checked for every encoding: the chunked stream decodes to the same text as the whole stream
// in one chunk. For utf8 also: no byte is lost or added (the text is the input, plus U+FFFD for
// an incomplete character at the end), and when the input is valid UTF-8, every "data" chunk
// is valid UTF-8 on its own: no character is ever split across chunks.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "netco/net.hpp"

namespace {

using decoder = netco::detail::text_decoder;

/// RFC 3629 UTF-8: no overlongs, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    for (std::size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      const auto b = static_cast<unsigned char>(s[i + k]);
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return false;
    }
    i += n + 1;
  }
  return true;
}

[[noreturn]] void fail(const char* what, std::string_view input) {
  std::fprintf(stderr, "DECODER: %s (input %zu bytes)\n", what, input.size());
  std::abort();
}

std::string feed(decoder::kind mode, std::string_view input, std::uint32_t seed,
                 std::vector<std::string>* chunks) {
  decoder d;
  d.mode = mode;
  std::string text;
  std::mt19937 gen(seed);
  std::size_t at = 0;
  while (at < input.size()) {
    std::size_t n = input.size() - at;
    if (seed != 0) n = std::min<std::size_t>(n, 1 + gen() % 7);
    const netco::buffer piece = netco::buffer::from(input.substr(at, n));
    const netco::buffer out = d.decode(piece);
    if (!out.empty()) {
      text += out.view();
      if (chunks) chunks->emplace_back(out.view());
    }
    at += n;
  }
  const netco::buffer rest = d.flush();
  if (!rest.empty()) {
    text += rest.view();
    if (chunks) chunks->emplace_back(rest.view());
  }
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static constexpr decoder::kind modes[] = {decoder::kind::utf8, decoder::kind::hex,
                                            decoder::kind::base64, decoder::kind::latin1};
  const decoder::kind mode = modes[data[0] & 3];
  const std::uint32_t seed = static_cast<std::uint32_t>(data[0] >> 2) + 1;
  const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);

  std::vector<std::string> chunks;
  const std::string whole = feed(mode, in, 0, nullptr);
  const std::string split = feed(mode, in, seed, &chunks);
  if (whole != split) fail("chunked input decoded differently", in);

  if (mode == decoder::kind::utf8) {
    // Everything comes out, in order; only an incomplete last character (1-3 bytes) may be
    // held back, and it comes out at the end as U+FFFD.
    const std::string_view out(whole);
    if (out != in) {
      constexpr std::string_view replacement = "\xEF\xBF\xBD";
      const std::size_t kept = out.size() >= 3 ? out.size() - 3 : 0;
      if (!out.ends_with(replacement) || kept > in.size() || in.size() - kept > 3 ||
          in.substr(0, kept) != out.substr(0, kept))
        fail("bytes lost or changed", in);
    }
    if (valid_utf8(in)) {
      if (out != in) fail("valid UTF-8 changed", in);
      for (const std::string& c : chunks)
        if (!valid_utf8(c)) fail("a character split across data chunks", in);
    }
  }
  return 0;
}
