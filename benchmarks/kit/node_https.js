// benchmarks/kit/node_https.js: HTTPS keep-alive "Hello, World!" on Node's `https`, with
// Node's TLS defaults (TLS 1.2 and 1.3, session tickets on).
//   node node_https.js PORT CERT KEY        (PEM files)
'use strict';
const fs = require('fs');
const https = require('https');

const [portArg, certFile, keyFile] = process.argv.slice(2);
const port = Number(portArg);
if (!(port > 0 && port < 65536) || !certFile || !keyFile) {
  console.error('usage: node node_https.js PORT CERT KEY');
  process.exit(2);
}
const body = 'Hello, World!';
const options = { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile), noDelay: true };
const server = https.createServer(options, (req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 60 * 1000;
server.listen({ host: '127.0.0.1', port, backlog: 4096 });
process.on('SIGTERM', () => process.exit(0));
