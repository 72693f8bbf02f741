// tests/interop/node_echo_server.js: a Node.js echo server, for netco clients to talk to.
// usage: node node_echo_server.js [port]   prints "listening on 127.0.0.1:PORT"; SIGINT exits 0
'use strict';
const net = require('net');
const server = net.createServer({ allowHalfOpen: true }, (socket) => {
  socket.pipe(socket);  // ends our side when the client ends
});
server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => {
  console.log(`node_echo_server listening on 127.0.0.1:${server.address().port}`);
});
const stop = () => { server.close(); process.exit(0); };
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
