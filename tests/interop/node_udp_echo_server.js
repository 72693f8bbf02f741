// tests/interop/node_udp_echo_server.js: a Node.js dgram echo server, for netco clients.
// usage: node node_udp_echo_server.js [port]   prints "listening on 127.0.0.1:PORT"; SIGINT exits 0
'use strict';
const dgram = require('dgram');
const server = dgram.createSocket('udp4', (msg, rinfo) => {
  server.send(msg, rinfo.port, rinfo.address);
});
server.bind(Number(process.argv[2] || 0), '127.0.0.1', () => {
  console.log(`node_udp_echo_server listening on 127.0.0.1:${server.address().port}`);
});
const stop = () => { server.close(); process.exit(0); };
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
