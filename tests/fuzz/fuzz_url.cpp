// tests/fuzz/fuzz_url.cpp: libFuzzer target: netco::url and url_search_params on random input,
// with and without a base, then a setter
//
// Input: one mode byte (bits 0-2: the base, one of kBases or, for 7, the input's text before its
// first '\n'; bits 3-6: which setter runs on the result), then the text. Checked: nothing
// crashes; a parsed href parses again to itself (the Standard guarantees it), also after a
// setter; parsing against a base string equals parsing against that base parsed; the getters
// make up the href; search params survive a round trip through their serialization; and
// percent_decode undoes percent_encode_component.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "netco/url.hpp"

namespace {

constexpr std::string_view kBases[] = {
    "",  // none
    "http://user:pw@example.com:8080/a/b/c?q=1#f",
    "file:///C:/dir/file",
    "foo://host/a/b",
    "foo:/a/b",
    "mailto:someone@example.com",
    "https://[::1]/x/y/",
};

[[noreturn]] void fail(const char* what, std::string_view a, std::string_view b = {}) {
  std::fprintf(stderr, "URL: %s\n  %.*s\n  %.*s\n", what, static_cast<int>(a.size()), a.data(),
               static_cast<int>(b.size()), b.data());
  std::abort();
}

void check_idempotent(const netco::url& u, const char* what) {
  const std::optional<netco::url> again = netco::url::parse(u.href());
  if (!again) fail(what, "the href does not parse:", u.href());
  if (again->href() != u.href()) fail(what, u.href(), again->href());
}

/// The href is the serialization of the getters' parts: protocol, "//" userinfo host (where
/// there is a host), "/." (a null host before a "//" path), pathname, search and hash.
void check_tiling(const netco::url& u) {
  const std::string_view href = u.href();
  std::string joined(u.protocol());
  if (href.substr(joined.size(), 2) == "//") {
    joined += "//";
    joined += u.username();
    if (!u.password().empty()) {
      joined += ':';
      joined += u.password();
    }
    if (!u.username().empty() || !u.password().empty()) joined += '@';
    joined += u.host();
  } else if (u.pathname().substr(0, 2) == "//") {
    joined += "/.";
  }
  joined += u.pathname();
  // An empty query or fragment ("?", "#") reads as "" but is kept.
  joined += u.search();
  if (u.search().empty() && href.size() > joined.size() && href[joined.size()] == '?')
    joined += '?';
  joined += u.hash();
  if (u.hash().empty() && href.size() > joined.size() && href[joined.size()] == '#') joined += '#';
  if (joined != href) fail("the getters do not make up the href", href, joined);
  if (u.host() != u.hostname() &&
      std::string(u.hostname()) + ":" + std::string(u.port()) != u.host())
    fail("host is not hostname:port", u.host(), u.port());
}

void run_setter(netco::url& u, unsigned which, std::string_view value) {
  switch (which) {
    case 0: {
      std::error_code ec;
      u.set_href(value, ec);
      break;
    }
    case 1:
      u.set_protocol(value);
      break;
    case 2:
      u.set_username(value);
      break;
    case 3:
      u.set_password(value);
      break;
    case 4:
      u.set_host(value);
      break;
    case 5:
      u.set_hostname(value);
      break;
    case 6:
      u.set_port(value);
      break;
    case 7:
      u.set_pathname(value);
      break;
    case 8:
      u.set_search(value);
      break;
    case 9:
      u.set_hash(value);
      break;
    case 10:
      u.search_params().append(value, value);
      break;
    case 11:
      u.search_params().sort();
      break;
    case 12:
      u.search_params().remove(value);
      break;
    default:
      break;  // no setter
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const unsigned mode = data[0];
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string_view base = kBases[0];
  if ((mode & 7) == 7) {
    const std::size_t newline = input.find('\n');
    base = input.substr(0, newline);
    input = newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
  } else {
    base = kBases[mode & 7];
  }

  std::optional<netco::url> u = netco::url::parse(input);
  if (u) {
    check_idempotent(*u, "idempotence");
    check_tiling(*u);
  }
  if (!base.empty()) {
    const std::optional<netco::url> b = netco::url::parse(base);
    const std::optional<netco::url> r = netco::url::parse(input, base);
    if (b) {
      const std::optional<netco::url> r2 = netco::url::parse(input, *b);
      if (r.has_value() != r2.has_value() || (r && r->href() != r2->href()))
        fail("a base string and its url differ", input, base);
    } else if (r) {
      fail("parsed against an invalid base", input, base);
    }
    if (r) {
      check_idempotent(*r, "idempotence with a base");
      check_tiling(*r);
      u = r;
    }
  }

  if (u) {
    run_setter(*u, (mode >> 3) & 15, input.substr(input.size() / 2));
    check_idempotent(*u, "idempotence after a setter");
    check_tiling(*u);
    // The live params and the url's search agree.
    const netco::url_search_params& live = u->search_params();
    const netco::url_search_params fresh(u->search());
    if (live.to_string() != fresh.to_string() &&
        !(u->search().empty() && live.empty()))  // "?" alone and none read alike
      fail("search params and search differ", u->search(), live.to_string());
  }

  // Form encoding round trip: the pairs come back from their serialization.
  const netco::url_search_params params(input);
  const netco::url_search_params again(params.to_string());
  if (params.size() != again.size() || !std::equal(params.begin(), params.end(), again.begin()))
    fail("search params do not survive their serialization", input, params.to_string());

  if (netco::percent_decode(netco::percent_encode_component(input)) != input)
    fail("percent_decode does not undo percent_encode_component", input);
  return 0;
}
