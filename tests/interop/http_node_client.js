// Node's http client against examples/http_hello or examples/http_echo_body.
// usage: node http_node_client.js hello|echo PORT
'use strict';
const http = require('http');
const assert = require('assert');
const crypto = require('crypto');
const [mode, portText] = process.argv.slice(2);
const port = Number(portText);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function request(options, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, agent, ...options }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ res, body: Buffer.concat(chunks), socket: req.socket }));
    });
    req.on('error', reject);
    if (body) req.end(body); else req.end();
  });
}

async function hello() {
  const sockets = new Set();
  for (let i = 0; i < 10; i++) {
    const { res, body, socket } = await request({ path: '/' });
    assert.strictEqual(res.statusCode, 200);
    assert.strictEqual(body.toString(), 'Hello, World!\n');
    sockets.add(socket);
  }
  assert.strictEqual(sockets.size, 1, 'keep-alive socket reused');
  const r404 = await request({ path: '/nope' });
  assert.strictEqual(r404.res.statusCode, 404);
  const head = await request({ path: '/', method: 'HEAD' });
  assert.strictEqual(head.body.length, 0);
}

async function echo() {
  const payload = crypto.randomBytes(3 << 20);
  const { res, body } = await request({ path: '/', method: 'POST' }, payload);
  assert.strictEqual(res.statusCode, 200);
  assert.ok(body.equals(payload));
  // A chunked upload with Expect: 100-continue; 'continue' comes before 'response'.
  await new Promise((resolve, reject) => {
    const events = [];
    const req = http.request({ host: '127.0.0.1', port, agent, method: 'POST', path: '/',
      headers: { Expect: '100-continue' } }, (res2) => {
      events.push('response');
      const chunks = [];
      res2.on('data', (c) => chunks.push(c));
      res2.on('end', () => {
        assert.deepStrictEqual(events, ['continue', 'response']);
        assert.strictEqual(Buffer.concat(chunks).toString(), 'onetwothree');
        resolve();
      });
    });
    req.on('continue', () => { events.push('continue'); req.write('one'); req.write('two'); req.end('three'); });
    req.on('error', reject);
  });
}

(mode === 'hello' ? hello() : echo()).then(() => { agent.destroy(); console.log('ok'); },
  (e) => { console.error(e); process.exit(1); });
