// benchmarks/kit/node_echo.js: TCP echo on Node's `net`, one event loop.
//   node node_echo.js PORT
'use strict';
const net = require('net');

const port = Number(process.argv[2]);
if (!(port > 0 && port < 65536)) {
  console.error('usage: node node_echo.js PORT');
  process.exit(2);
}
const server = net.createServer({ noDelay: true }, (socket) => {
  socket.on('data', (chunk) => socket.write(chunk));
  socket.on('error', () => socket.destroy()); // a reset peer: nothing to report
});
server.listen({ host: '127.0.0.1', port, backlog: 4096 });
process.on('SIGTERM', () => process.exit(0));
