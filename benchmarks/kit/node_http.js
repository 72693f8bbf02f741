// benchmarks/kit/node_http.js: HTTP/1.1 keep-alive "Hello, World!" on Node's `http`.
//   node node_http.js PORT
'use strict';
const http = require('http');

const port = Number(process.argv[2]);
if (!(port > 0 && port < 65536)) {
  console.error('usage: node node_http.js PORT');
  process.exit(2);
}
const body = 'Hello, World!';
const server = http.createServer({ noDelay: true }, (req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 60 * 1000; // wrk's connections stay for the whole run
server.listen({ host: '127.0.0.1', port, backlog: 4096 });
process.on('SIGTERM', () => process.exit(0));
