// tests/interop/node_http_server.js: a Node.js http server, for netco's http client.
// usage: node node_http_server.js [port]   prints "listening on 127.0.0.1:PORT"; SIGINT exits 0
// GET /        -> "hello from node" (Content-Length)
// GET /chunked -> "chunk1chunk2" (chunked, with a trailer)
// POST /echo   -> the request body
'use strict';
const http = require('http');
const server = http.createServer((req, res) => {
  if (req.url === '/chunked') {
    res.writeHead(200, { 'Content-Type': 'text/plain', Trailer: 'X-Done' });
    res.write('chunk1');
    setTimeout(() => { res.addTrailers({ 'X-Done': 'yes' }); res.end('chunk2\n'); }, 20);
  } else if (req.method === 'POST') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => res.end(Buffer.concat(chunks)));
  } else {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'X-Server': 'node' });
    res.end('hello from node\n');
  }
});
server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => {
  console.log(`node_http_server listening on 127.0.0.1:${server.address().port}`);
});
const stop = () => { server.close(); process.exit(0); };
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
