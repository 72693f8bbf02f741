// tests/interop/echo_client.js: Node.js as the client of an echo server.
// 50 parallel connections, random payloads up to 1 MiB written in random chunkings, then a
// half-close; every byte must come back in order and the server must end each connection.
'use strict';
const net = require('net');
const crypto = require('crypto');

const port = Number(process.argv[2]);
const connections = Number(process.argv[3] || 50);
const maxBytes = 1 << 20;

function oneConnection(id) {
  return new Promise((resolve, reject) => {
    const size = id === 0 ? maxBytes : crypto.randomInt(1, maxBytes + 1);
    const payload = crypto.randomBytes(size);
    const received = [];
    let receivedBytes = 0;
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => {
      let at = 0;
      const writeMore = () => {
        while (at < payload.length) {
          const n = Math.min(crypto.randomInt(1, 65537), payload.length - at);
          const more = socket.write(payload.subarray(at, at + n));
          at += n;
          if (!more) return socket.once('drain', writeMore);
        }
        socket.end();  // half-close: the server must finish echoing, then end its side
      };
      writeMore();
    });
    socket.on('data', (chunk) => { received.push(chunk); receivedBytes += chunk.length; });
    socket.on('end', () => {
      const got = Buffer.concat(received, receivedBytes);
      if (!got.equals(payload)) {
        reject(new Error(`connection ${id}: sent ${size} bytes, got ${got.length} back (mismatch)`));
      } else {
        resolve(size);
      }
    });
    socket.on('error', reject);
    socket.setTimeout(60000, () => reject(new Error(`connection ${id} timed out`)));
  });
}

Promise.all(Array.from({ length: connections }, (_, i) => oneConnection(i)))
  .then((sizes) => {
    const total = sizes.reduce((a, b) => a + b, 0);
    console.log(`ok: ${connections} connections, ${total} bytes echoed byte-exact`);
    process.exit(0);
  })
  .catch((err) => { console.error(err.message); process.exit(1); });
