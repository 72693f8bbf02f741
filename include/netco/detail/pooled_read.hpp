// netco/detail/pooled_read.hpp: a socket read that takes its buffer from a per-thread pool only
// once data is there, so that a waiting connection holds no read buffer
#pragma once
#include <cstddef>       // size_t
#include <cstring>       // memcpy: a short read moves to a small block
#include <memory>        // shared_ptr: the owner stays alive while a read is pending
#include <new>           // bad_alloc
#include <span>          // span
#include <system_error>  // error_code
#include <utility>       // exchange, move
#include <vector>        // vector: the spare blocks

#include "netco/buffer.hpp"
#include "netco/detail/asio.hpp"
#include "netco/detail/stream.hpp"  // recv_now

#if defined(ASIO_HAS_EPOLL) && !defined(ASIO_HAS_IO_URING_AS_DEFAULT)
#define NETCO_DETAIL_POOLED_REACTOR_READ 1
#include <asio/detail/reactor.hpp>     // epoll_reactor::start_op
#include <asio/detail/reactor_op.hpp>  // reactor_op: the operation a pooled read is
#include <asio/detail/socket_ops.hpp>  // non_blocking_recv1: the read Asio's own operation does
#endif

namespace netco::detail {

/// Read blocks that nobody kept, for the next read on this thread: full-size ones to read
/// into, and small ones that short reads move to, so that a chunk kept by a listener, or
/// waiting for its completion to run, holds 512 bytes, not a full-size block. Loop thread only.
class spare_blocks {
 public:
  static constexpr std::size_t small_size = 512;

  /// A spare block of exactly this capacity, or a new one; the caller holds its reference.
  static buffer_block* take(std::size_t capacity) {
    auto& spare = capacity == small_size ? local().small : local().large;
    for (std::size_t i = spare.size(); i-- > 0;) {
      if (spare[i]->capacity != capacity) continue;
      buffer_block* b = spare[i];
      spare.erase(spare.begin() + static_cast<std::ptrdiff_t>(i));
      return b;
    }
    return buffer_block::create(capacity);
  }
  /// Gives the caller's reference back: the block becomes a spare unless someone else holds
  /// it (a listener kept its chunk) or there are spares enough.
  static void put_back(buffer_block* b) noexcept {
    if (!b) return;
    const bool small = b->capacity == small_size;
    auto& spare = small ? local().small : local().large;
    if (b->refs.load(std::memory_order_acquire) == 1 &&
        spare.size() < (small ? most_small : most_large)) {
      spare.push_back(b);  // never allocates: reserved
    } else {
      buffer_block::release(b);
    }
  }
  /// Moves a short read (n bytes of b) to a small block, giving b back; else returns b.
  static buffer_block* shrink(buffer_block* b, std::size_t n) {
    if (n > small_size || b->capacity <= small_size) return b;
    buffer_block* s = take(small_size);
    std::memcpy(s->data(), b->data(), n);
    put_back(b);
    return s;
  }

 private:
  // Reads whose completions wait their turn hold a block each (a speculative read that found
  // data completes on a later turn): enough small ones for a busy turn of many connections.
  static constexpr std::size_t most_small = 256;
  static constexpr std::size_t most_large = 8;
  struct lists {
    std::vector<buffer_block*> small, large;
    lists() {
      small.reserve(most_small);
      large.reserve(most_large);
    }
    ~lists() {
      for (buffer_block* b : small) buffer_block::release(b);
      for (buffer_block* b : large) buffer_block::release(b);
    }
  };
  static lists& local() {
    thread_local lists spares;
    return spares;
  }
};

/// Reads up to size bytes from a stream socket into a block taken from spare_blocks when the
/// data is there, then calls owner->read_done(ec, block, n): the owner gets the block's
/// reference (null when nothing was read); n == 0 is the end of the stream (ec: eof) or a
/// failure. Pending, it holds no buffer and allocates nothing: it is embedded in its owner,
/// one read at a time, loop thread only.
///
/// On Asio's epoll reactor it is a reactor operation of its own that does what Asio's
/// async_read_some does (a speculative recv, then the next edge; the same system calls) except
/// where the bytes go. Elsewhere (io_uring: a poll request) it is async_wait, then a recv.
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
    socket.async_wait(Socket::wait_read, handler<Socket>{std::move(owner), &socket, size});
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
      try {
        self->block = spare_blocks::shrink(b, self->bytes_transferred_);
      } catch (const std::bad_alloc&) {
        self->block = b;  // keep the full-size one
      }
      return self->bytes_transferred_ == 0 ? done_and_exhausted : done;
    }
    static void complete(void* io, asio::detail::operation* base, const asio::error_code&,
                         std::size_t) {
      auto* self = static_cast<op*>(base);
      std::shared_ptr<Owner> owner = std::move(self->keep);
      buffer_block* b = std::exchange(self->block, nullptr);
      const std::error_code ec = std::exchange(self->ec_, asio::error_code());
      const std::size_t n = std::exchange(self->bytes_transferred_, 0);
      if (io) {
        owner->read_done(ec, b, n);
      } else {
        buffer_block::release(b);  // the io_context is going away: only let go
      }
    }
  };

  asio::detail::reactor* reactor_ = nullptr;
  op op_;
#else
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
        b = spare_blocks::shrink(b, n);
      }
      owner->read_done(ec, b, n);
    }
  };
#endif
};

}  // namespace netco::detail
