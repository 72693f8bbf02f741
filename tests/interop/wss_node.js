// tests/interop/wss_node.js: the npm `ws` package's side of the wss:// interop test
// (tests/interop/wss_npm.py), over Node's https and tls.
// usage: node wss_node.js client PORT CA   text, binary, a clean close against a wss echo
//        node wss_node.js server KEY CERT  a ws echo on https.createServer; prints "listening on"
// ws through NODE_PATH; exit 77 when it is missing.
'use strict';
const fs = require('fs');
let ws;
try {
  ws = require('ws');
} catch (e) {
  console.log('wss_node: the npm ws package is not installed (NODE_PATH); skipped');
  process.exit(77);
}
const [mode, a, b] = process.argv.slice(2);
const fail = (why) => {
  console.error('wss_node: ' + why);
  process.exit(1);
};

if (mode === 'client') {
  setTimeout(() => fail('timed out'), 30000).unref();
  const c = new ws.WebSocket(`wss://localhost:${a}/`, { ca: fs.readFileSync(b) });
  const sent = [['hello netco over TLS', false], [Buffer.alloc(200000, 9), true]];
  const got = [];
  c.on('open', () => { for (const [d, binary] of sent) c.send(d, { binary }); });
  c.on('message', (d, isBinary) => {
    got.push([d, isBinary]);
    if (got.length === sent.length) c.close(1000, 'done');
  });
  c.on('close', (code) => {
    if (code !== 1000) fail('close code ' + code);
    sent.forEach(([d, binary], i) => {
      if (got[i][1] !== binary || !Buffer.from(d).equals(got[i][0])) fail(`message ${i} differs`);
    });
    console.log('wss_node client: ok');
    process.exit(0);
  });
  c.on('error', (e) => fail(e.message));
} else if (mode === 'server') {
  const https = require('https');
  const server = https.createServer({ key: fs.readFileSync(a), cert: fs.readFileSync(b) });
  const wss = new ws.WebSocketServer({ server });
  wss.on('connection', (s) => {
    s.on('message', (d, isBinary) => s.send(d, { binary: isBinary }));
    s.on('error', () => {});
  });
  server.listen(0, '127.0.0.1', () => {
    console.log(`wss_node listening on 127.0.0.1:${server.address().port}`);
  });
  const stop = () => { server.close(); process.exit(0); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} else {
  fail('usage: wss_node.js client PORT CA | server KEY CERT');
}
