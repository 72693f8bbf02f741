// benchmarks/kit/node_ws_echo.js: WebSocket echo on Node's `ws` package, the other reference
// for netco's WebSocket server. `ws` is not part of Node: `make -C benchmarks/kit O=DIR
// node-deps` installs it into DIR/node_modules, and kit/run.sh puts that on NODE_PATH.
// Text stays text, binary stays binary; permessage-deflate off; otherwise ws's defaults
// (without the optional bufferutil add-on, so masking runs in JavaScript).
//   node node_ws_echo.js PORT
'use strict';
let ws;
try {
  ws = require('ws');
} catch (e) {
  console.error('node_ws_echo.js: no `ws` package: make -C benchmarks/kit O=DIR node-deps, ' +
                'then NODE_PATH=DIR/node_modules');
  process.exit(2);
}
const port = Number(process.argv[2]);
if (!(port > 0 && port < 65536)) {
  console.error('usage: node node_ws_echo.js PORT');
  process.exit(2);
}
const server = new ws.WebSocketServer({ host: '127.0.0.1', port, backlog: 4096,
                                        perMessageDeflate: false });
server.on('connection', (socket) => { // ws sets TCP_NODELAY itself
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  socket.on('error', () => socket.terminate());
});
process.on('SIGTERM', () => process.exit(0));
