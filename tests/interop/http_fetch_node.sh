#!/bin/sh
# netco's http_get (Node-style client) against tests/interop/node_http_server.js.
# usage: http_fetch_node.sh HTTP_GET PORT
set -eu
out=$("$1" "http://127.0.0.1:$2/")
echo "$out" | grep -q '^HTTP/1.1 200 OK$'
echo "$out" | grep -qi '^x-server: node$'
echo "$out" | grep -qx 'hello from node'
out=$("$1" "http://127.0.0.1:$2/chunked")
echo "$out" | grep -qx 'chunk1chunk2'
echo ok
