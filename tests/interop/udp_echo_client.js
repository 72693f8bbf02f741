// tests/interop/udp_echo_client.js: Node.js dgram as the client of a UDP echo server.
// Sends datagrams of 0, 1, 1472, 65,507 bytes and 200 random ones, one at a time; each must
// come back intact from the server's address and port. Exit 0 on success, 1 otherwise.
'use strict';
const dgram = require('dgram');
const crypto = require('crypto');

const port = Number(process.argv[2]);
const sizes = [0, 1, 1472, 65507];
for (let i = 0; i < 200; i++) sizes.push(crypto.randomInt(0, 9000));

const socket = dgram.createSocket('udp4');
const fail = (why) => {
  console.error(`udp_echo_client: ${why}`);
  process.exit(1);
};
const timer = setTimeout(() => fail('timed out'), 30000);
let at = 0;
let payload;
const next = () => {
  if (at === sizes.length) {
    clearTimeout(timer);
    socket.close();
    return;
  }
  payload = crypto.randomBytes(sizes[at++]);
  socket.send(payload, port, '127.0.0.1', (err) => { if (err) fail(`send: ${err.message}`); });
};
socket.on('message', (msg, rinfo) => {
  if (rinfo.address !== '127.0.0.1' || rinfo.port !== port) fail(`reply from ${rinfo.address}:${rinfo.port}`);
  if (rinfo.size !== payload.length || !msg.equals(payload)) {
    fail(`datagram ${at - 1}: sent ${payload.length} bytes, got ${msg.length} back`);
  }
  next();
});
socket.on('error', (err) => fail(err.message));
socket.bind(0, '127.0.0.1', next);
