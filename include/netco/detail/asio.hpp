// netco/detail/asio.hpp: the one place netco includes Asio, with the configuration it relies on
#pragma once

#ifndef ASIO_STANDALONE
#define ASIO_STANDALONE
#endif
#ifndef ASIO_NO_DEPRECATED
#define ASIO_NO_DEPRECATED
#endif
// NETCO_SEPARATE_COMPILATION: Asio's non-template code is compiled once, in the translation
// unit that includes <netco/impl/src.hpp> (meson: netco_separate_dep), not in every other.
#if defined(NETCO_SEPARATE_COMPILATION) && !defined(ASIO_SEPARATE_COMPILATION)
#define ASIO_SEPARATE_COMPILATION
#endif

// NOTE: Asio 1.22's io_uring backend prepares its cancellation and timeout-removal requests
// without setting their user_data, and liburing 2.3 neither clears a reused submission slot,
// so such a request completes carrying whatever operation last used the slot: Asio then ends
// that unrelated operation with the request's result (ENOENT, or 0 bytes). The replacements
// below clear it (Asio ignores completions whose user_data is null). They must be seen before
// Asio's io_uring code is, hence here, the one place netco includes Asio.
#if defined(ASIO_HAS_IO_URING) && !defined(NETCO_NO_URING_CANCEL_FIX)
#include <liburing.h>

inline void netco_io_uring_prep_cancel(::io_uring_sqe* sqe, void* user_data, int flags) {
  ::io_uring_prep_cancel(sqe, user_data, flags);
  ::io_uring_sqe_set_data(sqe, nullptr);
}
inline void netco_io_uring_prep_timeout_remove(::io_uring_sqe* sqe, __u64 user_data,
                                               unsigned flags) {
  ::io_uring_prep_timeout_remove(sqe, user_data, flags);
  ::io_uring_sqe_set_data(sqe, nullptr);
}
#define io_uring_prep_cancel(sqe, user_data, flags) \
  netco_io_uring_prep_cancel(sqe, user_data, flags)
#define io_uring_prep_timeout_remove(sqe, user_data, flags) \
  netco_io_uring_prep_timeout_remove(sqe, user_data, flags)
#endif

#include <asio/bind_cancellation_slot.hpp>   // per-operation cancellation
#include <asio/cancellation_signal.hpp>      // cancellation_signal
#include <asio/executor_work_guard.hpp>      // keeps run() going while netco counts references
#include <asio/generic/stream_protocol.hpp>  // net: a socket of either family, adopted
#include <asio/io_context.hpp>               // the reactor of one loop
#include <asio/ip/multicast.hpp>             // dgram: join_group, leave_group, hops, loopback
#include <asio/ip/tcp.hpp>                   // tcp sockets, acceptors, resolver
#include <asio/ip/udp.hpp>                   // udp sockets
#include <asio/ip/unicast.hpp>               // dgram: IP_TTL / IPV6_UNICAST_HOPS
#include <asio/ip/v6_only.hpp>               // dual-stack listening on "::"
#include <asio/local/stream_protocol.hpp>    // Unix-domain stream sockets
#include <asio/post.hpp>                     // post
#include <asio/signal_set.hpp>               // signal waits
#include <asio/steady_timer.hpp>             // sleep_for, timeouts
#include <asio/write.hpp>                    // async_write: what a socket buffer did not take
