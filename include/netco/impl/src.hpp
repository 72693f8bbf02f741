// netco/impl/src.hpp: the out-of-line parts of netco and Asio, for NETCO_SEPARATE_COMPILATION.
//
// Usage (in Asio's manner): define NETCO_SEPARATE_COMPILATION for every translation unit of
// the program, and include this header in exactly one of them. With meson, depend on
// netco_separate_dep instead, which does both.
#pragma once

#if !defined(NETCO_SEPARATE_COMPILATION)
#error "netco/impl/src.hpp: define NETCO_SEPARATE_COMPILATION for the whole program"
#endif

#include "netco/detail/asio.hpp"  // sets ASIO_SEPARATE_COMPILATION to match

// Asio's non-template code (io_context, the reactor or io_uring service, socket operations,
// error categories): declared, never defined, in every other translation unit.
// The fix wraps exactly Asio's sources: the order matters.
// clang-format off
#include "netco/detail/uring_cancel_fix.hpp"
#include <asio/impl/src.hpp>
#include "netco/detail/uring_cancel_fix_end.hpp"
// clang-format on

// netco's own out-of-line code, declared with NETCO_DECL in the headers.
#include "netco/impl/address.ipp"
#include "netco/impl/dgram.ipp"
#include "netco/impl/fs.ipp"
#include "netco/impl/handle.ipp"
#include "netco/impl/http_agent.ipp"
#include "netco/impl/http_client.ipp"
#include "netco/impl/http_fetch.ipp"
#include "netco/impl/http_message.ipp"
#include "netco/impl/http_server.ipp"
#include "netco/impl/net_server.ipp"
#include "netco/impl/net_socket.ipp"
#include "netco/impl/timers.ipp"
#include "netco/impl/url.ipp"
#include "netco/impl/worker_pool.ipp"

// The WebSocket protocol core (netco/ws/*.hpp): no Asio, no I/O.
#include "netco/impl/ws_codec.ipp"
#include "netco/impl/ws_deflate.ipp"
#include "netco/impl/ws_frame.ipp"
#include "netco/impl/ws_handshake.ipp"
// The WebSocket I/O layer (netco/ws/socket.hpp, server.hpp, client.hpp).
#include "netco/impl/ws_client.ipp"
#include "netco/impl/ws_server.ipp"
#include "netco/impl/ws_socket.ipp"
// The TLS layer (OpenSSL 3), only where the program links it: define NETCO_HAS_TLS for this
// translation unit (meson's netco_separate_dep does when it found OpenSSL) and link -lssl
// -lcrypto. Its headers declare, and never define, these under NETCO_SEPARATE_COMPILATION.
#if defined(NETCO_HAS_TLS)
#include "netco/impl/https.ipp"
#include "netco/impl/tls_certificate.ipp"
#include "netco/impl/tls_context.ipp"
#include "netco/impl/tls_engine.ipp"
#include "netco/impl/tls_error.ipp"
#include "netco/impl/tls_self_signed.ipp"
#include "netco/impl/tls_server.ipp"
#include "netco/impl/tls_socket.ipp"
#include "netco/impl/tls_stream.ipp"
#include "netco/impl/ws_wss.ipp"
#endif
