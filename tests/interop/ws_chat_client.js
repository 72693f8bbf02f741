// tests/interop/ws_chat_client.js: two npm `ws` clients in examples/ws_chat's room: GET / is the
// HTML page, each newcomer is greeted, nicknames are announced and a line reaches both.
// usage: node ws_chat_client.js PORT   (ws through NODE_PATH; exit 77 when it is missing)
'use strict';
const http = require('http');
let WebSocket;
try {
  WebSocket = require('ws');
} catch (e) {
  console.log('ws_chat_client: the npm ws package is not installed (NODE_PATH); skipped');
  process.exit(77);
}
const port = Number(process.argv[2]);
const fail = (why) => {
  console.error('ws_chat_client: ' + why);
  process.exit(1);
};
setTimeout(() => fail('timed out'), 20000).unref();

function join(nick) {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`);
    const heard = [];
    ws.on('message', (m) => {
      heard.push(m.toString());
      if (heard.length === 1) {
        if (!/^You are visitor number \d+ online/.test(heard[0])) fail('greeting: ' + heard[0]);
        ws.send(nick);
      }
      if (heard[heard.length - 1] === nick + ' joined') resolve({ ws, heard });
    });
    ws.on('error', (e) => fail(e.message));
  });
}

http.get(`http://127.0.0.1:${port}/`, (res) => {
  let page = '';
  res.on('data', (d) => { page += d; });
  res.on('end', async () => {
    if (res.statusCode !== 200 || !page.includes('new WebSocket')) fail('the page is not served');
    const a = await join('ann');
    const b = await join('bob');
    const line = 'bob: hello room';
    const got = [a, b].map(({ ws, heard }) => new Promise((resolve) => {
      if (heard.includes(line)) return resolve();
      ws.on('message', (m) => { if (m.toString() === line) resolve(); });
    }));
    b.ws.send('hello room');
    await Promise.all(got);
    a.ws.close();
    b.ws.close();
    console.log('ws_chat_client: ok');
    process.exit(0);
  });
}).on('error', (e) => fail(e.message));
