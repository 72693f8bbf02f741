// benchmarks/kit/asio_cb_echo.cpp: TCP echo on standalone Asio with completion handlers
// (async_read_some, async_write, a shared_ptr per connection as in Asio's own examples),
// one thread.
//
//   asio_cb_echo PORT [BUFSIZE=16384]
#include "kit_asio.hpp"

#include <cstddef>  // std::size_t
#include <cstdlib>  // std::strtoul
#include <memory>   // std::shared_ptr, std::unique_ptr

namespace {

using tcp = asio::ip::tcp;

// One connection; each pending operation's handler holds a reference, so the last one to
// fail (EOF, reset) frees it.
class echo_session : public std::enable_shared_from_this<echo_session> {
 public:
  echo_session(tcp::socket peer, std::size_t buf_size)
      : peer_(std::move(peer)), buf_(new char[buf_size]), buf_size_(buf_size) {}

  void read() {
    peer_.async_read_some(asio::buffer(buf_.get(), buf_size_),
                          [self = shared_from_this()](std::error_code ec, std::size_t n) {
                            if (!ec) self->write(n);
                          });
  }

 private:
  void write(std::size_t n) {
    asio::async_write(peer_, asio::buffer(buf_.get(), n),
                      [self = shared_from_this()](std::error_code ec, std::size_t) {
                        if (!ec) self->read();
                      });
  }

  tcp::socket peer_;
  std::unique_ptr<char[]> buf_;  // not zeroed, as in the C servers
  std::size_t buf_size_;
};

void accept_next(tcp::acceptor& acceptor, std::size_t buf_size) {
  acceptor.async_accept([&acceptor, buf_size](std::error_code ec, tcp::socket peer) {
    if (!ec) {
      peer.set_option(tcp::no_delay(true), ec);
      std::make_shared<echo_session>(std::move(peer), buf_size)->read();
    }
    accept_next(acceptor, buf_size);
  });
}

}  // namespace

int main(int argc, char** argv) {
  const unsigned short port = kit::port_arg(argc, argv, "asio_cb_echo PORT [BUFSIZE=16384]");
  const std::size_t buf_size = argc > 2 ? std::strtoul(argv[2], nullptr, 0) : 16384;
  asio::io_context ctx(1);  // concurrency hint: one thread runs it
  asio::signal_set signals(ctx);
  kit::stop_on_signals(ctx, signals);
  tcp::acceptor acceptor = kit::listen(ctx, port);
  accept_next(acceptor, buf_size ? buf_size : 16384);
  ctx.run();
}
