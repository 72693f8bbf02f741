// tests/interop/tls_node_server.js: Node's https.createServer for netco's https client, with
// one URL whose body is cut without close_notify (the TLS socket destroyed mid-body).
//   node tls_node_server.js CERT KEY    prints "listening on 127.0.0.1:PORT"
'use strict';
const fs = require('fs');
const https = require('https');

const [certFile, keyFile] = process.argv.slice(2);
const server = https.createServer(
    {cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile)}, (req, res) => {
      if (req.url === '/truncated') {
        // Promises 100 bytes, sends 5, then drops the connection: no close_notify.
        res.writeHead(200, {'Content-Length': '100'});
        res.write('short', () => req.socket.destroy());
        return;
      }
      res.writeHead(200, {'Content-Type': 'text/plain'});
      res.end('hello from node\n');
    });
server.listen(0, '127.0.0.1', () => {
  console.log(`tls_node_server listening on 127.0.0.1:${server.address().port}`);
});
process.on('SIGTERM', () => process.exit(0));
