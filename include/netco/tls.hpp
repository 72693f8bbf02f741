// netco/tls.hpp: Node's tls module: secure contexts, the TLS stream (coroutine style), TLS
// sockets and servers (Node style); link netco_tls_dep (OpenSSL 3)
#pragma once

#include "netco/tls/certificate.hpp"
#include "netco/tls/context.hpp"
#include "netco/tls/engine.hpp"
#include "netco/tls/error.hpp"
#include "netco/tls/self_signed.hpp"
#include "netco/tls/server.hpp"
#include "netco/tls/socket.hpp"
#include "netco/tls/stream.hpp"
