// tests/interop/net_examples.js: Node.js v20 as the client of netco's Node-style examples.
// usage: node net_examples.js EXAMPLE PORT [FILE]   exit 0: the example behaved as in Node
'use strict';
const net = require('net');
const fs = require('fs');

const [example, portText, file] = process.argv.slice(2);
const port = Number(portText);
const fail = (why) => { console.error(`${example}: ${why}`); process.exit(1); };
setTimeout(() => fail('timed out'), 20000).unref();

function collect(socket) {
  return new Promise((resolve, reject) => {
    let got = '';
    socket.setEncoding('utf8');
    socket.on('data', (d) => { got += d; });
    socket.on('end', () => resolve(got));
    socket.on('error', reject);
  });
}
const connect = () => net.connect({ port, host: '127.0.0.1' });
const readLine = (socket) => new Promise((resolve) => {
  let buf = '';
  const onData = (d) => {
    buf += d;
    if (buf.includes('\n')) { socket.off('data', onData); resolve(buf); }
  };
  socket.setEncoding('utf8');
  socket.on('data', onData);
});

const checks = {
  async hello_server() {
    const s = connect();
    s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const got = await collect(s);
    if (got !== 'hello world') fail(`got ${JSON.stringify(got)}`);
  },
  async collect_until_end() {
    const s = connect();
    s.write('one\n');
    s.end('two\n');
    await collect(s);  // the server ends its side after ours (allowHalfOpen = false)
  },
  async server_info() {
    const a = connect();
    const line = await readLine(a);
    if (!line.startsWith('connections: 1')) fail(`first client got ${JSON.stringify(line)}`);
    const b = connect();
    b.on('error', () => {});  // refused: closed at once (a reset is fine too)
    const got = await new Promise((resolve) => {
      let data = '';
      b.on('data', (d) => { data += d; });
      b.on('close', () => resolve(data));
    });
    if (got !== '') fail(`second client got data: ${JSON.stringify(got)}`);
    a.end();
    await new Promise((resolve) => a.on('close', resolve));
  },
  async pipe_to_file() {
    const payload = `line from node ${process.pid}\n`;
    const s = connect();
    s.end(payload);
    await collect(s);
    for (let i = 0; i < 100; i++) {  // the file thread writes asynchronously
      if (fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes(payload)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    fail(`${file} does not contain the payload`);
  },
  async chat_room() {
    const alice = connect();
    const welcome = await readLine(alice);
    if (!/visitor number 1/.test(welcome)) fail(`welcome was ${JSON.stringify(welcome)}`);
    alice.write('alice\n');
    const bob = connect();
    await readLine(bob);
    const heard = new Promise((resolve) => {
      let buf = '';
      alice.on('data', (d) => { buf += d; if (buf.includes('bob: hi €\r\n')) resolve(); });
    });
    bob.write('bob\n');
    bob.write(Buffer.from('hi €\n').subarray(0, 5));  // split inside the euro sign
    setTimeout(() => bob.write(Buffer.from('hi €\n').subarray(5)), 20);
    await heard;
    alice.end();
    bob.end();
  },
};

if (!checks[example]) fail('no check for this example');
checks[example]().then(() => process.exit(0), (e) => fail(e.message));
