// netco/detail/pooled_read.hpp: a socket read that takes its buffer from a per-thread pool only
// once data is there, so that a waiting connection holds no read buffer
#pragma once
#include <cstddef>       // size_t
#include <memory>        // shared_ptr: the owner stays alive while a read is pending
#include <new>           // bad_alloc
#include <span>          // span
#include <system_error>  // error_code
#include <utility>       // exchange, move

#include "netco/buffer.hpp"
#include "netco/detail/asio.hpp"
#include "netco/detail/io_op.hpp"
#include "netco/detail/spare_blocks.hpp"
#include "netco/detail/stream.hpp"  // recv_now

#include <asio/version.hpp>  // ASIO_VERSION: the reactor path is checked against it

// Two ways to read into a pooled block:
//  - the reactor path (the default on Asio's epoll reactor): a reactor operation of netco's
//    own, doing what Asio's async_read_some does (a speculative recv, then the next edge: the
//    same system calls) except where the bytes go. It reaches into Asio's internals
//    (epoll_reactor::start_op, reactor_op, basic_socket's protected implementation), which are
//    checked against the Asio versions below;
//  - the portable path (NETCO_PORTABLE_READS, Asio's io_uring backend, other reactors): a
//    speculative non-blocking recv, and when nothing is there async_wait, then recv. On Asio's
//    epoll reactor each wait re-arms the descriptor (one epoll_ctl more per read that waits).
#if !defined(NETCO_PORTABLE_READS) && defined(ASIO_HAS_EPOLL) && \
    !defined(ASIO_HAS_IO_URING_AS_DEFAULT)
#if ASIO_VERSION < 102200 || ASIO_VERSION >= 102300
#error \
    "netco: detail/pooled_read.hpp's reactor path is written against Asio 1.22's epoll reactor \
internals and this Asio is another version; define NETCO_PORTABLE_READS=1 (for every translation \
unit) to use the portable path, which needs only Asio's public API"
#endif
#define NETCO_DETAIL_POOLED_REACTOR_READ 1
#include <asio/detail/reactor.hpp>     // epoll_reactor::start_op
#include <asio/detail/reactor_op.hpp>  // reactor_op: the operation a pooled read is
#include <asio/detail/socket_ops.hpp>  // non_blocking_recv1: the read Asio's own operation does
#endif

namespace netco::detail {

/// Reads up to size bytes from a stream socket into a block taken from spare_blocks when the
/// data is there, then calls owner->read_done(ec, block, n): the owner gets the block's
/// reference (null when nothing was read); n == 0 is the end of the stream (ec: eof, or
/// cleared) or a failure. Pending, it holds no buffer and allocates nothing: it is embedded in
/// its owner, one read at a time, loop thread only. The completion never runs inside start().
template <class Owner>
class pooled_read {
 public:
  pooled_read() = default;
  pooled_read(const pooled_read&) = delete;
  pooled_read& operator=(const pooled_read&) = delete;

  template <class Socket>
  void start(Socket& socket, std::shared_ptr<Owner> owner, std::size_t size) {
#if defined(NETCO_DETAIL_POOLED_REACTOR_READ)
    if (!reactor_) {
      reactor_ = &asio::use_service<asio::detail::reactor>(socket.get_executor().context());
    }
    auto& impl = access<Socket>::implementation(socket);
    op_.keep = std::move(owner);
    op_.fd = impl.socket_;
    op_.size = size;
    reactor_->start_op(asio::detail::reactor::read_op, impl.socket_, impl.reactor_data_, &op_,
                       false, true);
#else
    // Speculative first: on a busy connection the next message is often there already.
    buffer_block* b = spare_blocks::take(size);
    std::error_code ec;
    const std::size_t n = recv_now(socket, std::span(b->data(), size), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      spare_blocks::put_back(b);  // nothing there: wait without a buffer
      socket.async_wait(Socket::wait_read, handler<Socket>{std::move(owner), &socket, size});
      return;
    }
    // Found data (or the end, or a failure): complete on a later turn, as a reactor would.
    asio::post(socket.get_executor(),
               completion{std::move(owner), ec, n == 0 ? nullptr : spare_blocks::shrink(b, n), n,
                          n == 0 ? b : nullptr});
#endif
  }

 private:
#if defined(NETCO_DETAIL_POOLED_REACTOR_READ)
  // The descriptor and its reactor data sit in a protected member of basic_socket: a pointer
  // to that member, formed in a derived class, reaches them.
  template <class Socket>
  struct access : Socket {
    static auto& implementation(Socket& s) { return (s.*&access::impl_).get_implementation(); }
  };

  struct op final : asio::detail::reactor_op {
    std::shared_ptr<Owner> keep;  // released before the owner hears, so it may read again
    asio::detail::socket_type fd = asio::detail::invalid_socket;
    std::size_t size = 0;
    buffer_block* block = nullptr;  // between a read and its completion

    op() : reactor_op(asio::error_code(), &perform, &complete) {}

    static status perform(reactor_op* base) {
      auto* self = static_cast<op*>(base);
      buffer_block* b = nullptr;
      try {
        b = spare_blocks::take(self->size);
      } catch (const std::bad_alloc&) {
        self->ec_ = asio::error::no_memory;
        return done;
      }
      if (!asio::detail::socket_ops::non_blocking_recv1(self->fd, b->data(), self->size, 0, true,
                                                        self->ec_, self->bytes_transferred_)) {
        spare_blocks::put_back(b);  // nothing there yet: wait without it
        return not_done;
      }
      if (self->bytes_transferred_ == 0) {
        spare_blocks::put_back(b);  // the end, or a failure: no bytes to hand over
        return done_and_exhausted;
      }
      try {
        self->block = spare_blocks::shrink(b, self->bytes_transferred_);
      } catch (const std::bad_alloc&) {
        self->block = b;  // keep the full-size one
      }
      return done;
    }
    static void complete(void* io, asio::detail::operation* base, const asio::error_code&,
                         std::size_t) {
      auto* self = static_cast<op*>(base);
      std::shared_ptr<Owner> owner = std::move(self->keep);
      buffer_block* b = std::exchange(self->block, nullptr);
      const std::error_code ec = std::exchange(self->ec_, asio::error_code());
      const std::size_t n = std::exchange(self->bytes_transferred_, 0);
      if (io) {
        owner->read_done(normalize(ec), b, n);
      } else {
        buffer_block::release(b);  // the io_context is going away: only let go
      }
    }
  };

  asio::detail::reactor* reactor_ = nullptr;
  op op_;
#else
  struct completion {
    std::shared_ptr<Owner> owner;
    std::error_code ec;
    buffer_block* block;
    std::size_t n;
    buffer_block* unused;  // the block a read that found nothing took
    void operator()() {
      spare_blocks::put_back(std::exchange(unused, nullptr));
      owner->read_done(normalize(ec), std::exchange(block, nullptr), n);
    }
  };
  template <class Socket>
  struct handler {
    std::shared_ptr<Owner> owner;
    Socket* socket;
    std::size_t size;
    void operator()(std::error_code ec) {
      buffer_block* b = nullptr;
      std::size_t n = 0;
      if (!ec) {
        b = spare_blocks::take(size);
        n = recv_now(*socket, std::span(b->data(), size), ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) {
          spare_blocks::put_back(b);  // woken for nothing: wait again
          Socket& s = *socket;
          s.async_wait(Socket::wait_read, std::move(*this));
          return;
        }
        if (n == 0) {
          spare_blocks::put_back(std::exchange(b, nullptr));
        } else {
          b = spare_blocks::shrink(b, n);
        }
      }
      owner->read_done(normalize(ec), b, n);
    }
  };
#endif
};

}  // namespace netco::detail
