// netco/ws.hpp: the ws package's API (WebSocket server and client over net::socket): every
// part of netco/ws/
#pragma once
#include "netco/ws/client.hpp"     // ws::create_socket, ws::connect
#include "netco/ws/codec.hpp"      // ws::receiver, ws::sender: the protocol without I/O
#include "netco/ws/deflate.hpp"    // permessage-deflate
#include "netco/ws/error.hpp"      // ws::errc, close codes
#include "netco/ws/frame.hpp"      // frame headers, masking
#include "netco/ws/handshake.hpp"  // accept keys, header grammars
#include "netco/ws/server.hpp"     // ws::create_server, ws::server, ws::accept
#include "netco/ws/socket.hpp"     // ws::socket, ws::stream
#include "netco/ws/utf8.hpp"       // UTF-8 validation
