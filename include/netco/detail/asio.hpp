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

#include "netco/detail/uring_cancel_fix.hpp"  // must precede Asio's io_uring code

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

#include "netco/detail/uring_cancel_fix_end.hpp"  // the wrappers stay out of user code
