// tests/ws_conformance/codec_echo_server.cpp: a WebSocket echo server made of netco's protocol
// core (netco/ws/) and plain blocking POSIX sockets, one connection at a time, so that the
// conformance runner can check the core end to end before netco's ws module exists.
// usage: codec_echo_server [PORT]   prints "listening on 127.0.0.1:PORT"; SIGINT exits 0.
//
// Not an example to copy: the handshake reads only the headers the runner sends, writes
// block, and nothing here is concurrent. The socket-level ws module replaces it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "netco/ws/codec.hpp"
#include "netco/ws/deflate.hpp"
#include "netco/ws/handshake.hpp"

namespace {

using namespace netco::ws;
using netco::buffer;

bool write_all(int fd, std::span<const std::span<const std::byte>> parts) {
  std::vector<iovec> iov;
  for (auto p : parts)
    if (!p.empty()) iov.push_back({const_cast<std::byte*>(p.data()), p.size()});
  std::size_t i = 0;
  while (i < iov.size()) {
    const ssize_t n = ::writev(fd, iov.data() + i, static_cast<int>(iov.size() - i));
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    auto left = static_cast<std::size_t>(n);
    while (i < iov.size() && left >= iov[i].iov_len) left -= iov[i++].iov_len;
    if (i < iov.size()) {
      iov[i].iov_base = static_cast<char*>(iov[i].iov_base) + left;
      iov[i].iov_len -= left;
    }
  }
  return true;
}

bool write_all(int fd, std::string_view s) {
  const std::span<const std::byte> part = std::as_bytes(std::span(s.data(), s.size()));
  return write_all(fd, std::span(&part, 1));
}

// The value of header name in a request head (ASCII case-insensitive; repeated ones joined).
std::optional<std::string> header(std::string_view head, std::string_view name) {
  std::optional<std::string> out;
  for (std::size_t at = head.find("\r\n"); at != std::string_view::npos;) {
    const std::size_t start = at + 2, end = head.find("\r\n", start);
    const std::string_view line = head.substr(start, end - start);
    at = end;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || !token_iequals(line.substr(0, colon), name)) continue;
    std::string_view v = line.substr(colon + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    out = out ? *out + ", " + std::string(v) : std::string(v);
  }
  return out;
}

bool has_token(std::string_view list, std::string_view token) {
  std::vector<std::string_view> items;
  if (parse_protocols(list, items)) return false;  // the same 1#token grammar
  for (std::string_view t : items)
    if (token_iequals(t, token)) return true;
  return false;
}

struct connection final : receiver_handler {
  int fd;
  sender tx{role::server};
  bool done = false;

  explicit connection(int f) : fd(f) {}

  void send(const outgoing_frame& f) {
    const auto parts = f.buffers();
    if (!write_all(fd, parts)) done = true;
  }
  void on_message(buffer data, bool binary) override {
    outgoing_frame f;
    tx.message(std::move(data), binary, true, f);
    send(f);
  }
  void on_ping(buffer payload) override {
    outgoing_frame f;
    if (!tx.pong(std::move(payload), f)) send(f);
  }
  void on_pong(buffer) override {}
  void on_close(std::uint16_t code, buffer) override {
    outgoing_frame f;
    if (code == close_status::no_status || tx.close(code, {}, f)) tx.close(f);
    send(f);
    done = true;
  }
  void on_error(std::error_code, std::uint16_t code) override {
    outgoing_frame f;
    if (tx.close(code, {}, f)) tx.close(f);
    send(f);
    done = true;
  }
};

// Answers the opening handshake; returns the bytes read past the head, or nullopt when the
// request was refused (400) or the peer went away.
std::optional<std::string> handshake(int fd, std::optional<deflate_params>& deflate,
                                     const deflate_options& opts) {
  std::string in;
  char buf[4096];
  std::size_t end;
  while ((end = in.find("\r\n\r\n")) == std::string::npos) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0 || in.size() > 65536) return std::nullopt;
    in.append(buf, static_cast<std::size_t>(n));
  }
  const std::string_view head = std::string_view(in).substr(0, end + 2);
  const auto key = header(head, "Sec-WebSocket-Key");
  const auto upgrade = header(head, "Upgrade");
  const auto conn = header(head, "Connection");
  const auto version = header(head, "Sec-WebSocket-Version");
  std::vector<extension> offers;
  const auto ext = header(head, "Sec-WebSocket-Extensions");
  if (!head.starts_with("GET ") || !key || !is_valid_key(*key) || !upgrade ||
      !has_token(*upgrade, "websocket") || !conn || !has_token(*conn, "upgrade") ||
      version != "13" || (ext && parse_extensions(*ext, offers))) {
    write_all(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    return std::nullopt;
  }
  std::string response =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: " +
      accept_key(*key) + "\r\n";
  if (auto agreed = negotiate_deflate(offers, opts)) {
    deflate = agreed->params;
    response += "Sec-WebSocket-Extensions: " + agreed->response + "\r\n";
  }
  if (!write_all(fd, response + "\r\n")) return std::nullopt;
  return in.substr(end + 4);
}

void serve(int fd) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const deflate_options opts;
  std::optional<deflate_params> deflate;
  const auto rest = handshake(fd, deflate, opts);
  if (rest) {
    connection c(fd);
    receiver rx(c, {.role = role::server});
    if (deflate) {
      rx.enable_deflate(*deflate);
      c.tx.enable_deflate(*deflate, opts);
    }
    if (!rest->empty()) rx.feed(buffer::from(*rest));
    while (!c.done) {
      buffer block = buffer::uninitialized(64 * 1024);
      const ssize_t n = ::read(fd, block.mutable_bytes().data(), block.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      buffer chunk = block.slice(0, static_cast<std::size_t>(n));
      block = {};  // the chunk alone holds the block: it may be unmasked in place
      rx.feed(std::move(chunk));
    }
  }
  // The server closes TCP first (RFC 6455 §7.1.1): FIN, then read what the peer still sends
  // (its close frame) until it closes too, for at most 2 s, so no RST cuts our last frame off.
  ::shutdown(fd, SHUT_WR);
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char sink[4096];
  while (::read(fd, sink, sizeof sink) > 0) {
  }
  ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGINT, [](int) { std::_Exit(0); });
  std::signal(SIGPIPE, SIG_IGN);
  const int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 0));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(lfd, 64) != 0 ||
      ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("codec_echo_server");
    return 1;
  }
  std::printf("codec_echo_server listening on 127.0.0.1:%u\n", ntohs(addr.sin_port));
  std::fflush(stdout);
  for (;;) {
    const int fd = ::accept(lfd, nullptr, nullptr);
    if (fd >= 0) serve(fd);
  }
}
