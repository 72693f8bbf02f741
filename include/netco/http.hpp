// netco/http.hpp: Node's http module (create_server, incoming_message, server_response,
// request, get, agent, fetch): every part of netco/http/
#pragma once

#include "netco/http/agent.hpp"    // http::agent, global_agent: kept-alive connections
#include "netco/http/client.hpp"   // http::request, get, client_request
#include "netco/http/error.hpp"    // http::error
#include "netco/http/fetch.hpp"    // co_await http::fetch(url)
#include "netco/http/headers.hpp"  // http::headers
#include "netco/http/message.hpp"  // http::incoming_message
#include "netco/http/parser.hpp"   // http::parser, the HTTP/1.1 parser
#include "netco/http/server.hpp"   // http::create_server, server, server_response
#include "netco/http/status.hpp"   // http::status_text
