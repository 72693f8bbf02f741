// tests/interop/ws_node_builtin.js: Node's built-in WebSocket client (undici's, the WHATWG API;
// `node --experimental-websocket` on Node 20) against a netco echo server (examples/ws_echo):
// a text and a binary round trip, then a close whose code and reason the server echoes back.
// usage: node --experimental-websocket ws_node_builtin.js PORT   (exit 77 without WebSocket)
'use strict';
if (typeof WebSocket !== 'function') {
  console.log('ws_node_builtin: this node has no global WebSocket; skipped');
  process.exit(77);
}
const port = Number(process.argv[2]);
const fail = (why) => {
  console.error('ws_node_builtin: ' + why);
  process.exit(1);
};
setTimeout(() => fail('timed out'), 20000).unref();

const ws = new WebSocket(`ws://127.0.0.1:${port}/builtin`);
ws.binaryType = 'arraybuffer';
const text = 'héllo from Node\'s WebSocket';
const bytes = new Uint8Array(70000).map((_, i) => i * 7);  // a 64-bit length header
const got = [];
ws.addEventListener('open', () => {
  ws.send(text);
  ws.send(bytes);
});
ws.addEventListener('message', (e) => {
  got.push(e.data);
  if (got.length === 2) ws.close(4001, 'bye from node');
});
ws.addEventListener('error', (e) => fail('error: ' + (e.message || e.type)));
ws.addEventListener('close', (e) => {
  if (got.length !== 2) fail(`${got.length} messages came back, not 2`);
  if (got[0] !== text) fail('the text came back as ' + JSON.stringify(got[0]));
  if (!(got[1] instanceof ArrayBuffer) || !Buffer.from(got[1]).equals(Buffer.from(bytes)))
    fail('the binary message differs');
  if (e.code !== 4001 || e.reason !== 'bye from node' || !e.wasClean)
    fail(`close ${e.code} '${e.reason}' clean=${e.wasClean}`);
  console.log('ws_node_builtin: ok');
  process.exit(0);
});
