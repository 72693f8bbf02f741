// tests/url/url_cases.hpp: runs the URL corpus (tests/url/corpus.jsonl) through netco::url and
// prints each result as tests/url/dump.js prints Node's: "KEY<TAB>RESULT" lines, RESULT being
// "invalid", "throws" or JSON.stringify's output. Shared by url_dump.cpp and test_url.cpp.
#pragma once
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "netco/url.hpp"

namespace netco_test::url_cases {

// ---- just enough JSON: the corpus holds strings, numbers, arrays and objects ---------------

struct json_member;

struct json {
  enum kind_t { null, number, string, array, object } kind = null;
  double num = 0;
  std::string str;
  std::vector<json> items;
  // NOTE: not std::pair<std::string, json>: a pair needs json complete, and libstdc++ 12 under
  // clang 14 checks it where vector<pair<...>> is declared.
  std::vector<json_member> members;

  const json* find(std::string_view key) const;
};

struct json_member {
  std::string key;
  json value;
};

inline const json* json::find(std::string_view key) const {
  for (const json_member& m : members)
    if (m.key == key) return &m.value;
  return nullptr;
}

inline void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class json_reader {
 public:
  explicit json_reader(std::string_view text) : s_(text) {}
  json read() {
    json v = value();
    space();
    if (p_ != s_.size()) fail("trailing text");
    return v;
  }

 private:
  [[noreturn]] void fail(const char* what) const {
    throw std::runtime_error(std::string("corpus JSON: ") + what + " at " + std::to_string(p_) +
                             " in " + std::string(s_));
  }
  void space() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\t' || s_[p_] == '\r' || s_[p_] == '\n'))
      ++p_;
  }
  char peek() {
    space();
    if (p_ >= s_.size()) fail("unexpected end");
    return s_[p_];
  }
  void expect(char c) {
    if (peek() != c) fail("unexpected character");
    ++p_;
  }
  json value() {
    json v;
    const char c = peek();
    if (c == '"') {
      v.kind = json::string;
      v.str = string();
    } else if (c == '[') {
      v.kind = json::array;
      ++p_;
      if (peek() == ']') {
        ++p_;
        return v;
      }
      for (;;) {
        v.items.push_back(value());
        if (peek() == ',') {
          ++p_;
          continue;
        }
        expect(']');
        return v;
      }
    } else if (c == '{') {
      v.kind = json::object;
      ++p_;
      if (peek() == '}') {
        ++p_;
        return v;
      }
      for (;;) {
        if (peek() != '"') fail("expected a key");
        std::string key = string();
        expect(':');
        v.members.push_back(json_member{std::move(key), value()});
        if (peek() == ',') {
          ++p_;
          continue;
        }
        expect('}');
        return v;
      }
    } else if (s_.substr(p_, 4) == "null") {
      p_ += 4;
    } else {
      v.kind = json::number;
      std::size_t used = 0;
      v.num = std::stod(std::string(s_.substr(p_, 32)), &used);
      p_ += used;
    }
    return v;
  }
  unsigned hex4() {
    if (p_ + 4 > s_.size()) fail("short \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[p_++];
      v = v * 16 + static_cast<unsigned>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
  }
  std::string string() {
    expect('"');
    std::string out;
    for (;;) {
      if (p_ >= s_.size()) fail("unterminated string");
      const char c = s_[p_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (p_ >= s_.size()) fail("unterminated escape");
      switch (const char e = s_[p_++]) {
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          char32_t cp = hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF && s_.substr(p_, 2) == "\\u") {
            const std::size_t save = p_;
            p_ += 2;
            const unsigned low = hex4();
            if (low >= 0xDC00 && low <= 0xDFFF)
              cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            else
              p_ = save;
          }
          // A lone surrogate: Node's USVString conversion makes it U+FFFD.
          if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
          append_utf8(out, cp);
          break;
        }
        default:
          out += e;
      }
    }
  }
  std::string_view s_;
  std::size_t p_ = 0;
};

/// JSON.stringify of a string.
inline void write_string(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

inline void write_pairs(std::string& out, const netco::url_search_params& p) {
  out += '[';
  bool first = true;
  for (const auto& [name, value] : p) {
    if (!first) out += ',';
    first = false;
    out += '[';
    write_string(out, name);
    out += ',';
    write_string(out, value);
    out += ']';
  }
  out += ']';
}

inline std::string url_object(netco::url& u) {
  std::string out = "{";
  const auto field = [&out](const char* name, std::string_view v) {
    if (out.size() > 1) out += ',';
    write_string(out, name);
    out += ':';
    write_string(out, v);
  };
  field("href", u.href());
  field("origin", u.origin());
  field("protocol", u.protocol());
  field("username", u.username());
  field("password", u.password());
  field("host", u.host());
  field("hostname", u.hostname());
  field("port", u.port());
  field("pathname", u.pathname());
  field("search", u.search());
  field("hash", u.hash());
  out += ",\"searchParams\":";
  write_pairs(out, u.search_params());
  field("searchParamsString", u.search_params().to_string());
  out += '}';
  return out;
}

inline std::optional<netco::url> parse(const json& input, const json* base) {
  if (base) return netco::url::parse(input.str, base->str);
  return netco::url::parse(input.str);
}

/// Sets property name of u to value as Node's setter would; false where Node would throw.
inline bool set_property(netco::url& u, std::string_view name, std::string_view value) {
  if (name == "href") {
    std::error_code ec;
    u.set_href(value, ec);
    return !ec;
  }
  if (name == "protocol")
    u.set_protocol(value);
  else if (name == "username")
    u.set_username(value);
  else if (name == "password")
    u.set_password(value);
  else if (name == "host")
    u.set_host(value);
  else if (name == "hostname")
    u.set_hostname(value);
  else if (name == "port")
    u.set_port(value);
  else if (name == "pathname")
    u.set_pathname(value);
  else if (name == "search")
    u.set_search(value);
  else if (name == "hash")
    u.set_hash(value);
  else
    throw std::runtime_error("unknown property " + std::string(name));
  return true;
}

inline void call(netco::url_search_params& p, std::string_view method, const json* args) {
  const auto arg = [args](std::size_t i) -> std::string_view {
    return args && i < args->items.size() ? std::string_view(args->items[i].str)
                                          : std::string_view();
  };
  const std::size_t n = args ? args->items.size() : 0;
  if (method == "append")
    p.append(arg(0), arg(1));
  else if (method == "delete" && n >= 2)
    p.remove(arg(0), arg(1));
  else if (method == "delete")
    p.remove(arg(0));
  else if (method == "set")
    p.set(arg(0), arg(1));
  else if (method == "sort")
    p.sort();
  else
    throw std::runtime_error("unknown method " + std::string(method));
}

/// One case's result, as dump.js prints it.
inline std::string run(const json& c) {
  if (c.kind == json::array) {
    auto u = parse(c.items.at(0), c.items.size() > 1 ? &c.items[1] : nullptr);
    return u ? url_object(*u) : "invalid";
  }
  if (const json* init = c.find("params")) {
    netco::url_search_params p(init->str);
    std::string out = "{\"pairs\":";
    write_pairs(out, p);
    out += ",\"string\":";
    write_string(out, p.to_string());
    if (!p.empty()) {
      const std::string name = p.begin()->first;
      out += ",\"get\":";
      write_string(out, p.get(name).value_or("?"));
      out += ",\"getAll\":[";
      bool first = true;
      for (const auto& v : p.get_all(name)) {
        if (!first) out += ',';
        first = false;
        write_string(out, v);
      }
      out += ']';
    }
    p.sort();
    out += ",\"sorted\":";
    write_pairs(out, p);
    out += ",\"sortedString\":";
    write_string(out, p.to_string());
    out += '}';
    return out;
  }
  if (const json* property = c.find("set")) {
    auto u = netco::url::parse(c.find("href")->str);
    if (!u) return "invalid";
    if (!set_property(*u, property->str, c.find("value")->str)) return "throws";
    return url_object(*u);
  }
  if (const json* method = c.find("call")) {
    auto u = netco::url::parse(c.find("href")->str);
    if (!u) return "invalid";
    call(u->search_params(), method->str, c.find("args"));
    return url_object(*u);
  }
  throw std::runtime_error("unknown case kind");
}

inline std::string hex_key(char32_t cp) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(cp));
  return buf;
}

inline std::string utf8_of(char32_t cp) {
  std::string out;
  append_utf8(out, cp);
  return out;
}

/// Runs every case of a corpus, calling emit(key, result) in order.
inline void run_corpus(std::string_view text,
                       const std::function<void(const std::string&, const std::string&)>& emit) {
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r'))
      line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    const json c = json_reader(line).read();
    if (const json* hosts = c.kind == json::object ? c.find("hosts") : nullptr) {
      const auto first = static_cast<char32_t>(hosts->items.at(0).num);
      const auto last = static_cast<char32_t>(hosts->items.at(1).num);
      for (char32_t cp = first; cp <= last; ++cp) {
        if (cp >= 0xD800 && cp <= 0xDFFF) continue;
        auto u = netco::url::parse("http://a" + utf8_of(cp) + "b/");
        std::string result = "invalid";
        if (u) {
          result.clear();
          write_string(result, u->hostname());
        }
        emit(hex_key(cp) + " host sweep", result);
      }
      continue;
    }
    emit(std::string(line), run(c));
  }
}

inline std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

/// tests/url/expected-differences.txt: "HOW KEY" lines, KEY a corpus line or a range of sweep
/// keys "U+XXXX..U+YYYY host sweep"; '#' lines are the reasons. Returns KEY -> HOW.
inline std::map<std::string, std::string> read_differences(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const std::size_t space = line.find(' ');
    if (space == std::string::npos) throw std::runtime_error("bad difference line: " + line);
    const std::string how = line.substr(0, space), key = line.substr(space + 1);
    const std::size_t dots = key.find("..U+");
    if (key.rfind("U+", 0) == 0 && dots != std::string::npos) {
      const std::size_t rest = key.find(' ', dots);
      const auto first = static_cast<char32_t>(std::stoul(key.substr(2, dots - 2), nullptr, 16));
      const auto last =
          static_cast<char32_t>(std::stoul(key.substr(dots + 4, rest - dots - 4), nullptr, 16));
      for (char32_t cp = first; cp <= last; ++cp) out[hex_key(cp) + key.substr(rest)] = how;
    } else {
      out[key] = how;
    }
  }
  return out;
}

/// Whether netco's result differs from Node's only as a listed difference says.
inline bool allowed_difference(const std::string& how, const std::string& netco,
                               const std::string& node) {
  if (how == "refuses") return netco == "invalid" && node != "invalid";
  if (how == "accepts") return netco != "invalid" && node == "invalid";
  if (how == "differs") return netco != node && netco != "invalid" && node != "invalid";
  return false;
}

}  // namespace netco_test::url_cases
