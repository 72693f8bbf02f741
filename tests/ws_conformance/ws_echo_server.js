// tests/ws_conformance/ws_echo_server.js: a WebSocket echo server on the npm `ws` package, the
// reference the conformance runner is checked against: text echoed as text, binary as binary,
// permessage-deflate enabled (ws's defaults otherwise: maxPayload 100 MiB, maxFragments 16384).
// usage: node ws_echo_server.js [PORT [VARIANT]]   (ws found through NODE_PATH)
// VARIANT breaks the server on purpose, so that the runner's self-test sees it fail:
// no-utf8, no-autopong, text-as-binary, small-payload, no-deflate.
// Prints "listening on 127.0.0.1:PORT"; SIGINT or SIGTERM exits 0.
'use strict';
const { WebSocketServer } = require('ws');

const variant = process.argv[3] || '';
const variants = ['', 'no-utf8', 'no-autopong', 'text-as-binary', 'small-payload', 'no-deflate'];
if (!variants.includes(variant)) {
  console.error(`ws_echo_server: unknown variant '${variant}'`);
  process.exit(2);
}
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: Number(process.argv[2] || 0),
  perMessageDeflate: variant !== 'no-deflate',
  skipUTF8Validation: variant === 'no-utf8',
  autoPong: variant !== 'no-autopong',
  maxPayload: variant === 'small-payload' ? 64 * 1024 : 100 * 1024 * 1024,
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    ws.send(data, { binary: isBinary || variant === 'text-as-binary' });
  });
  // A protocol error closes the connection (ws sends the close code); nothing else to do.
  ws.on('error', () => {});
});
wss.on('listening', () => {
  const version = require('ws/package.json').version + (variant ? `, ${variant}` : '');
  console.log(`ws_echo_server (ws ${version}) listening on 127.0.0.1:${wss.address().port}`);
});
const stop = () => { wss.close(); process.exit(0); };
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
