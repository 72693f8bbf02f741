// Node's http client against examples/http_hello or examples/http_echo_body.
// usage: node http_node_client.js hello|echo|upgrade PORT
'use strict';
const http = require('http');
const net = require('net');
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

// examples/http_echo_body's "Upgrade: echo": Node's 'upgrade' event with the raw socket, then a
// raw client whose bytes after the head must come back first (the server's `head`).
async function upgrade() {
  await new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/chat',
      headers: { Connection: 'Upgrade', Upgrade: 'echo' } });
    req.on('upgrade', (res, socket, head) => {
      assert.strictEqual(res.statusCode, 101);
      assert.strictEqual(res.headers.upgrade, 'echo');
      let got = head.toString();
      socket.on('data', (d) => {
        got += d;
        if (got === 'ping') { socket.end(); resolve(); }
      });
      socket.write('ping');
    });
    req.on('response', () => reject(new Error('expected an upgrade, got a response')));
    req.on('error', reject);
    req.end();
  });
  await new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => {
      sock.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nHELLO');
    });
    let got = '';
    sock.on('data', (d) => {
      got += d;
      const at = got.indexOf('\r\n\r\n');
      if (at >= 0 && got.slice(at + 4) === 'HELLO') {
        assert.ok(got.startsWith('HTTP/1.1 101 Switching Protocols\r\n'));
        sock.end();
        resolve();
      }
    });
    sock.on('error', reject);
  });
}

const modes = { hello, echo, upgrade };
modes[mode]().then(() => { agent.destroy(); console.log('ok'); },
  (e) => { console.error(e); process.exit(1); });
