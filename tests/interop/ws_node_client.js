// tests/interop/ws_node_client.js: the npm `ws` package as a client of a netco WebSocket echo
// server (examples/ws_echo): text, binary, a large and a fragmented-by-ws message, a ping,
// with and without permessage-deflate, then a clean close (1000 both ways).
// usage: node ws_node_client.js PORT   (ws through NODE_PATH; exit 77 when it is missing)
'use strict';
let WebSocket;
try {
  WebSocket = require('ws');
} catch (e) {
  console.log('ws_node_client: the npm ws package is not installed (NODE_PATH); skipped');
  process.exit(77);
}
const port = Number(process.argv[2]);
const fail = (why) => {
  console.error('ws_node_client: ' + why);
  process.exit(1);
};
setTimeout(() => fail('timed out'), 30000).unref();

function session(perMessageDeflate) {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate });
    const big = Buffer.alloc(300000, 7);
    const sent = [['hello netco', false], [Buffer.from([0, 1, 2, 255]), true], [big, true],
                  ['é'.repeat(5000), false]];
    const got = [];
    let pong = false;
    ws.on('open', () => {
      if (perMessageDeflate && !ws.extensions.includes('permessage-deflate'))
        fail('permessage-deflate was not agreed');
      ws.ping('p');
      for (const [data, binary] of sent) ws.send(data, { binary });
    });
    ws.on('pong', (d) => { pong = d.toString() === 'p'; });
    ws.on('message', (data, isBinary) => {
      got.push([data, isBinary]);
      if (got.length === sent.length) ws.close(1000, 'done');
    });
    ws.on('close', (code) => {
      if (code !== 1000) fail('close code ' + code);
      if (!pong) fail('no pong');
      sent.forEach(([data, binary], i) => {
        const [back, isBinary] = got[i];
        if (isBinary !== binary || !Buffer.from(data).equals(back)) fail('message ' + i + ' differs');
      });
      resolve();
    });
    ws.on('error', (e) => fail(e.message));
  });
}

session(false).then(() => session(true)).then(() => {
  console.log('ws_node_client: ok');
  process.exit(0);
});
