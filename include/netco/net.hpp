// netco/net.hpp: Node's net module (net::server, net::socket, create_server, connect, is_ip)
#pragma once

#include "netco/net/server.hpp"  // net::server, create_server, the listening core
#include "netco/net/socket.hpp"  // net::socket, connect, create_connection, is_ip
