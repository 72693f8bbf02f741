// netco/impl/tls_stream.ipp: the out-of-line parts of netco/tls/stream.hpp
#pragma once
#include "netco/tls/stream.hpp"

namespace netco::detail {

NETCO_DECL tls_stream_core::read_step tls_stream_core::read_now(std::span<std::byte> dst,
                                                                std::size_t& n,
                                                                std::error_code& ec) {
  n = 0;
  ec.clear();
  const tls::read_result r = engine.read(dst);
  switch (r.status) {
    case tls::read_status::data:
      more = true;  // a record may hold more than dst took, or another may be queued
      n = r.size;
      return read_step::data;
    case tls::read_status::want_read:
      more = false;
      return read_step::want_read;
    case tls::read_status::closed:
      more = false;
      return read_step::end;
    case tls::read_status::truncated:
    case tls::read_status::failed:
      break;
  }
  more = false;
  ec = r.error ? r.error : make_error_code(tls::errc::tls_failure);
  return read_step::failed;
}

NETCO_DECL bool tls_stream_core::take_flight() {
  out.clear();
  iov.clear();
  if (!engine.has_output()) return false;
  engine.take_output(out);
  for (const buffer& b : out) iov.push_back(b.bytes());
  return !iov.empty();
}

NETCO_DECL void tls_stream_core::feed(buffer_block* block, std::size_t n) {
  if (n == 0) {
    spare_blocks::put_back(block);
    eof = true;
    engine.feed_eof();
    return;
  }
  engine.feed(buffer::adopt(spare_blocks::shrink(block, n), 0, n));
}

NETCO_DECL void tls_throw_if(const std::error_code& ec, const char* what) {
  if (ec) throw std::system_error(ec, what);
}

}  // namespace netco::detail

namespace netco::tls {

NETCO_DECL task<stream<tcp::stream>> connect(std::string host, std::uint16_t port,
                                             secure_context context, client_options options,
                                             std::error_code& ec) {
  tcp::stream next = co_await tcp::connect(host, port, ec);
  if (ec) co_return stream<tcp::stream>(std::move(next), engine());
  options.host = std::move(host);
  stream<tcp::stream> s = stream<tcp::stream>::client(std::move(next), context, std::move(options));
  co_await s.handshake(ec);
  if (ec) s.close();
  co_return s;
}

NETCO_DECL task<stream<tcp::stream>> connect(std::string host, std::uint16_t port,
                                             secure_context context, client_options options) {
  std::error_code ec;
  const std::string target = host + ":" + std::to_string(port);
  // NOTE: the task is made outside the co_await: GCC 12 copies the class temporaries of a
  // co_await expression (these arguments) bit by bit.
  task<stream<tcp::stream>> t =
      connect(std::move(host), port, std::move(context), std::move(options), ec);
  stream<tcp::stream> s = co_await std::move(t);
  if (ec) throw std::system_error(ec, "tls connect " + target);
  co_return s;
}

}  // namespace netco::tls
