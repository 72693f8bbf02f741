// netco/url.hpp: WHATWG URL and URLSearchParams, as Node's URL and URLSearchParams
#pragma once
#include <cstddef>           // size_t
#include <cstdint>           // uint8_t, uint16_t, uint32_t, int32_t
#include <initializer_list>  // initializer_list (url_search_params from pairs)
#include <optional>          // optional (url::parse, url_search_params::get)
#include <string>            // string
#include <string_view>       // string_view
#include <system_error>      // error_category, error_code, is_error_code_enum, system_error
#include <utility>           // pair
#include <vector>            // vector (the search params' list)

#include "netco/detail/decl.hpp"

// The WHATWG URL Standard's basic URL parser, serializer, setters and URLSearchParams, checked
// against Node 20's own URL (ada 2.9) on a shared corpus (tests/url/, a differential test). A
// C++ string stands for the JavaScript string Node is given: it is read as UTF-8, and an
// ill-formed sequence counts as U+FFFD, as a lone surrogate does in Node. Where the Standard has
// moved on since ada 2.9, netco follows Node 20: '^' is not percent-encoded in paths, a space
// in an opaque path stays a space (trailing ones are stripped when search and hash go), the
// search params of `set_search` are parsed from the query it produced (tabs removed), and a
// Punycode label may decode to one starting "xn--".
//
// Deliberate deviations, each listed with its cases in tests/url/expected-differences.txt:
//  - IDNA (UTS #46) is partial. Domain mapping and validity come from tables that
//    tests/url/gen_idna.js derives from Node for the blocks netco covers: Latin (Latin-1, the
//    extended and additional blocks, IPA, phonetic extensions, ligatures), Greek, Cyrillic,
//    Armenian, Georgian, Ethiopic, Cherokee, Glagolitic, CJK ideographs, kana, Bopomofo, Hangul
//    syllables, fullwidth and halfwidth forms, punctuation and symbols (U+2000-U+2BFF), the
//    mathematical alphanumerics, emoji. A Unicode domain with a code point outside them, or a
//    combining mark (which NFC, not implemented, may compose), is refused as invalid (Node maps,
//    normalizes, and checks bidi and ContextJ). ASCII domains are lowercased, and their Punycode
//    ("xn--") labels decoded and checked against the same tables; a decoded code point outside
//    them passes unchecked, as does the bidi rule, so netco takes some labels Node refuses
//    ("xn--8hb20a"). Either way, a host both accept is serialized identically.
//  - Where Node 20 departs from the Standard, netco keeps to it: a ".." that empties a
//    non-special path leaves one empty segment ("foo:/.." is "foo:/"; Node: "foo:"); a base's
//    empty query stays ("" against "http://h/p?" is "http://h/p?"; Node drops the '?'); against
//    an opaque-path base only a "#..." reference is valid (Node takes "y#z" against "mailto:a");
//    url_search_params percent-decodes bytes even beside a bad '%' ("%41%zé" is "A%zé"; Node's
//    URLSearchParams makes the é U+FFFD, its url.searchParams does not); and the setters run
//    the Standard's state overrides where Node's take shortcuts (set_host("") on "foo:/a" sets
//    an empty host; set_port("ü08") changes nothing, where Node removes the port).
//  - Offsets are 32-bit: a URL whose serialization would reach 4 GiB is invalid.

namespace netco {

/// What a URL operation refused; each message ends with Node's code for it.
enum class url_errc {
  invalid_url = 1,  ///< the input (or its base) is not a valid URL [ERR_INVALID_URL]
};

namespace detail {
class url_error_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "netco.url"; }
  std::string message(int value) const override {
    if (static_cast<url_errc>(value) == url_errc::invalid_url)
      return "Invalid URL [ERR_INVALID_URL]";
    return "unknown netco.url error";
  }
};

/// The special schemes, in the order of their default ports (detail::url_default_port).
enum class url_scheme : std::uint8_t { other, http, https, ws, wss, ftp, file };
struct url_record;  // the parser's URL record (impl/url.ipp)
struct url_parts;   // a URL's components, as views into its serialization (impl/url.ipp)
enum class url_state : std::uint8_t;
}  // namespace detail

inline const std::error_category& url_category() noexcept {
  static const detail::url_error_category category;
  return category;
}

inline std::error_code make_error_code(url_errc e) noexcept {
  return {static_cast<int>(e), url_category()};
}

/// The URL Standard's percent-decode: each "%XX" (two hex digits) becomes its byte; any other
/// '%' is kept as it is. The result is bytes, not necessarily UTF-8.
NETCO_DECL std::string percent_decode(std::string_view input);

/// Percent-encodes every byte outside A-Z a-z 0-9 - _ . ! ~ * ' ( ) (the URL Standard's
/// component percent-encode set). Node: encodeURIComponent() (which throws on a lone surrogate;
/// here, bytes that are not UTF-8 are encoded as they are)
NETCO_DECL std::string percent_encode_component(std::string_view input);

class url;

/// An ordered list of (name, value) pairs in application/x-www-form-urlencoded form. Names and
/// values are UTF-8; ill-formed input counts as U+FFFD. The object that url::search_params()
/// returns is live: each change rewrites that url's search; a copy of it is a detached list.
/// Node: URLSearchParams
class url_search_params {
 public:
  using value_type = std::pair<std::string, std::string>;
  using const_iterator = std::vector<value_type>::const_iterator;

  url_search_params() noexcept = default;
  /// Parses a query string, with or without its leading '?'. Node: new URLSearchParams(string)
  explicit url_search_params(std::string_view query);
  /// Node: new URLSearchParams([[name, value], ...])
  url_search_params(std::initializer_list<std::pair<std::string_view, std::string_view>> pairs);
  /// Node: new URLSearchParams([[name, value], ...])
  explicit url_search_params(std::vector<value_type> pairs);

  /// A copy is detached (it belongs to no url), even when other is a url's live list.
  url_search_params(const url_search_params& other) : list_(other.list_) {}
  /// Moving out of a url's live list copies it: the url keeps its search.
  url_search_params(url_search_params&& other);
  /// Replaces the list; a url's live list stays live, and the url's search follows.
  url_search_params& operator=(const url_search_params& other);
  url_search_params& operator=(url_search_params&& other);
  ~url_search_params() = default;

  /// The number of pairs. Node: urlSearchParams.size
  std::size_t size() const noexcept { return list_.size(); }
  bool empty() const noexcept { return list_.empty(); }
  /// The pairs in order. Node: urlSearchParams.entries()
  const_iterator begin() const noexcept { return list_.begin(); }
  const_iterator end() const noexcept { return list_.end(); }

  /// Node: urlSearchParams.append()
  NETCO_DECL void append(std::string_view name, std::string_view value);
  /// Removes every pair named name. Named remove because delete is a C++ keyword.
  /// Node: urlSearchParams.delete()
  NETCO_DECL void remove(std::string_view name);
  /// Removes every pair equal to (name, value). Node: urlSearchParams.delete(name, value)
  NETCO_DECL void remove(std::string_view name, std::string_view value);
  /// The value of the first pair named name. Node: urlSearchParams.get()
  NETCO_DECL std::optional<std::string> get(std::string_view name) const;
  /// The values of all pairs named name, in order. Node: urlSearchParams.getAll()
  NETCO_DECL std::vector<std::string> get_all(std::string_view name) const;
  /// Node: urlSearchParams.has()
  NETCO_DECL bool has(std::string_view name) const;
  /// Node: urlSearchParams.has(name, value)
  NETCO_DECL bool has(std::string_view name, std::string_view value) const;
  /// Sets the first pair named name to value and removes the others, or appends one.
  /// Node: urlSearchParams.set()
  NETCO_DECL void set(std::string_view name, std::string_view value);
  /// Stable sort by name, comparing UTF-16 code units as the Standard says (so U+10000 sorts
  /// before U+FFFD). Node: urlSearchParams.sort()
  NETCO_DECL void sort();
  /// application/x-www-form-urlencoded: space as '+', all but A-Z a-z 0-9 * - . _ encoded, no
  /// leading '?'. Node: urlSearchParams.toString()
  NETCO_DECL std::string to_string() const;

 private:
  friend class url;
  NETCO_DECL void update_();  // writes the list back into owner_'s query

  std::vector<value_type> list_;
  url* owner_ = nullptr;  // the url whose search this is, or null: set by url, never copied
};

/// A parsed URL: one string holding its serialization (href) plus component offsets, so the
/// getters are views into it (valid until the url changes) and parsing allocates once.
/// Node: URL
class url {
 public:
  /// Parses input; throws std::system_error(url_errc::invalid_url) where it is not a valid
  /// absolute URL. Node: new URL(input)
  NETCO_DECL explicit url(std::string_view input);
  /// Parses input relative to base; throws where base or the result is invalid.
  /// Node: new URL(input, base)
  NETCO_DECL url(std::string_view input, std::string_view base);
  /// Node: new URL(input, base)
  NETCO_DECL url(std::string_view input, const url& base);

  /// The non-throwing forms: nullopt where the constructor throws. Node: URL.parse()
  NETCO_DECL static std::optional<url> parse(std::string_view input);
  /// Node: URL.parse(input, base)
  NETCO_DECL static std::optional<url> parse(std::string_view input, std::string_view base);
  /// Node: URL.parse(input, base)
  NETCO_DECL static std::optional<url> parse(std::string_view input, const url& base);
  /// Node: URL.canParse()
  NETCO_DECL static bool can_parse(std::string_view input);
  /// Node: URL.canParse(input, base)
  NETCO_DECL static bool can_parse(std::string_view input, std::string_view base);
  /// Node: URL.canParse(input, base)
  NETCO_DECL static bool can_parse(std::string_view input, const url& base);

  /// Copies fix the search params' back-pointer: each url's search_params() is its own.
  NETCO_DECL url(const url& other);
  /// A moved-from url reads as empty (every getter returns "").
  NETCO_DECL url(url&& other) noexcept;
  NETCO_DECL url& operator=(const url& other);
  NETCO_DECL url& operator=(url&& other) noexcept;
  ~url() = default;

  /// The whole serialization. Node: url.href
  std::string_view href() const noexcept { return href_; }
  /// Node: url.toString()
  std::string to_string() const { return href_; }
  /// Node: url.toJSON()
  std::string to_json() const { return href_; }
  /// "https://example.com:8080" for http(s), ws(s) and ftp; a blob: URL's inner http(s)
  /// origin; else "null". Node: url.origin
  NETCO_DECL std::string origin() const;
  /// The scheme and ':', e.g. "https:". Node: url.protocol
  std::string_view protocol() const noexcept { return view_(0, scheme_end_ + 1); }
  /// Percent-encoded, "" when none. Node: url.username
  std::string_view username() const noexcept {
    return has_host_ ? view_(scheme_end_ + 3, username_end_) : std::string_view();
  }
  /// Percent-encoded, "" when none. Node: url.password
  std::string_view password() const noexcept {
    if (!has_host_ || username_end_ + 1 >= host_begin_ || href_[username_end_] != ':') return {};
    return view_(username_end_ + 1, host_begin_ - 1);
  }
  /// Hostname and, where it is not the scheme's default, ':' and the port. Node: url.host
  std::string_view host() const noexcept {
    return has_host_ ? view_(host_begin_, path_begin_) : std::string_view();
  }
  /// A domain (ASCII, lowercase), an IPv4 address, "[" IPv6 "]", an opaque host or "".
  /// Node: url.hostname
  std::string_view hostname() const noexcept { return view_(host_begin_, host_end_); }
  /// The port's digits; "" when none or the scheme's default (443 for https). Node: url.port
  std::string_view port() const noexcept {
    return port_ >= 0 ? view_(host_end_ + 1, path_begin_) : std::string_view();
  }
  /// The path, e.g. "/a/b" (or an opaque path: "x" in "mailto:x"). Node: url.pathname
  std::string_view pathname() const noexcept { return view_(path_begin_, path_end_()); }
  /// "?" and the query, or "" when the query is null or empty. Node: url.search
  std::string_view search() const noexcept {
    const std::uint32_t end = query_end_();
    return query_begin_ != npos_ && end - query_begin_ > 1 ? view_(query_begin_, end)
                                                           : std::string_view();
  }
  /// "#" and the fragment, or "" when it is null or empty. Node: url.hash
  std::string_view hash() const noexcept {
    return fragment_begin_ != npos_ && href_.size() - fragment_begin_ > 1
               ? view_(fragment_begin_, static_cast<std::uint32_t>(href_.size()))
               : std::string_view();
  }
  /// The live search params: changing them rewrites search; set_search and set_href reparse
  /// them. The reference is valid for this url's lifetime (a copy of the url has its own).
  /// Node: url.searchParams
  NETCO_DECL url_search_params& search_params();

  /// Replaces the whole URL; throws std::system_error(url_errc::invalid_url) and leaves it
  /// unchanged where value is not a valid URL. Node: url.href = value
  NETCO_DECL void set_href(std::string_view value);
  /// As set_href, reporting failure in ec instead of throwing.
  NETCO_DECL void set_href(std::string_view value, std::error_code& ec);
  // The other setters follow the Standard's state overrides (Node's setters). Each returns
  // false where the value was refused: the url is then unchanged, except where the Standard
  // keeps what it parsed first (set_host("h:99999") sets the hostname, refuses the port).
  /// Changes the scheme, not between special and non-special. Node: url.protocol = value
  NETCO_DECL bool set_protocol(std::string_view value);
  /// Refused for a URL without a host, with an empty host, or file:. Node: url.username = value
  NETCO_DECL bool set_username(std::string_view value);
  /// Refused as set_username. Node: url.password = value
  NETCO_DECL bool set_password(std::string_view value);
  /// Hostname and optional port; refused for an opaque path. Node: url.host = value
  NETCO_DECL bool set_host(std::string_view value);
  /// Refused for an opaque path, or when value holds a ':'. Node: url.hostname = value
  NETCO_DECL bool set_hostname(std::string_view value);
  /// "" removes the port; leading digits are taken ("8080abc" sets 8080). Node: url.port = value
  NETCO_DECL bool set_port(std::string_view value);
  /// Refused for an opaque path. Node: url.pathname = value
  NETCO_DECL bool set_pathname(std::string_view value);
  /// With or without the leading '?'; "" removes the query. Node: url.search = value
  NETCO_DECL bool set_search(std::string_view value);
  /// With or without the leading '#'; "" removes the fragment. Node: url.hash = value
  NETCO_DECL bool set_hash(std::string_view value);

  /// The port as a number, the scheme's default when none is given (http/ws 80, https/wss 443,
  /// ftp 21), 0 where there is neither.
  NETCO_DECL std::uint16_t port_number() const noexcept;
  /// pathname + search: what an HTTP request line carries ("/a/b?x=1").
  NETCO_DECL std::string_view path_and_query() const noexcept;
  /// http, https, ws, wss, ftp or file: the schemes with hosts and hierarchical paths.
  bool is_special() const noexcept { return scheme_ != detail::url_scheme::other; }

  /// Equal hrefs.
  friend bool operator==(const url& a, const url& b) noexcept { return a.href_ == b.href_; }

 private:
  friend class url_search_params;
  static constexpr std::uint32_t npos_ = 0xFFFFFFFF;

  url() noexcept { params_.owner_ = this; }
  std::string_view view_(std::uint32_t begin, std::uint32_t end) const noexcept {
    return std::string_view(href_).substr(begin, end - begin);
  }
  std::uint32_t query_end_() const noexcept {
    return fragment_begin_ != npos_ ? fragment_begin_ : static_cast<std::uint32_t>(href_.size());
  }
  std::uint32_t path_end_() const noexcept {
    return query_begin_ != npos_ ? query_begin_ : query_end_();
  }
  NETCO_DECL bool parse_(std::string_view input, const url* base);
  NETCO_DECL detail::url_parts parts_() const;
  NETCO_DECL bool assign_(const detail::url_record& record);
  NETCO_DECL void fill_(detail::url_record& record) const;
  NETCO_DECL bool run_setter_(detail::url_record& record, std::string_view input,
                              detail::url_state state);
  NETCO_DECL void copy_fields_(const url& other) noexcept;
  NETCO_DECL void replace_query_(std::string_view query, bool present);
  NETCO_DECL void strip_opaque_path_spaces_() noexcept;
  NETCO_DECL void query_from_params_();
  NETCO_DECL void params_from_query_();

  std::string href_;
  std::uint32_t scheme_end_ = 0;          // the ':' after the scheme
  std::uint32_t username_end_ = 0;        // a ':' before the password, the '@', or host_begin_
  std::uint32_t host_begin_ = 0;          // no host: all three just after the ':'
  std::uint32_t host_end_ = 0;            // the ':' before the port, or path_begin_
  std::uint32_t path_begin_ = 0;          // after the "/." a null host with "//" path needs
  std::uint32_t query_begin_ = npos_;     // the '?', or npos_ for a null query
  std::uint32_t fragment_begin_ = npos_;  // the '#', or npos_ for a null fragment
  std::int32_t port_ = -1;                // -1: null (absent or the scheme's default)
  detail::url_scheme scheme_ = detail::url_scheme::other;
  bool has_host_ = false;     // the host is not null ("" for file:///x, null for mailto:x)
  bool opaque_path_ = false;  // mailto:x, data:..., javascript:...
  bool params_live_ = false;  // search_params() was called: params_ mirrors the query
  url_search_params params_;  // its owner_ is always this
};

}  // namespace netco

template <>
struct std::is_error_code_enum<netco::url_errc> : std::true_type {};

// The out-of-line definitions: here when header-only, else in <netco/impl/src.hpp>'s unit.
#if !defined(NETCO_SEPARATE_COMPILATION)
#include "netco/impl/url.ipp"
#endif
