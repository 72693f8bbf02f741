// tests/interop/ws_chat_browser.js: headless Chromium loads examples/ws_chat's page, which opens
// its WebSocket; the script types a nickname and a line into the page, and an npm `ws` client in
// the same room must hear the line. Chromium is driven over the DevTools protocol with ws.
// usage: node ws_chat_browser.js PORT   (CHROMIUM=path, default chromium; ws through NODE_PATH;
// exit 77 when chromium or ws is missing)
'use strict';
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
let WebSocket;
try {
  WebSocket = require('ws');
} catch (e) {
  console.log('ws_chat_browser: the npm ws package is not installed (NODE_PATH); skipped');
  process.exit(77);
}
const chromium = process.env.CHROMIUM || 'chromium';
if (spawnSync(chromium, ['--version']).status !== 0) {
  console.log(`ws_chat_browser: ${chromium} is not installed; skipped`);
  process.exit(77);
}
const port = Number(process.argv[2]);
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'netco-chromium-'));
const browser = spawn(chromium, ['--headless', '--no-sandbox', '--disable-gpu',
  '--remote-debugging-port=0', `--user-data-dir=${profile}`, 'about:blank'],
  { stdio: ['ignore', 'ignore', 'pipe'] });
const finish = (code, why) => {
  if (why) console.error('ws_chat_browser: ' + why);
  // Chromium's helper processes may still write to the profile for a moment after the
  // browser is killed: retry its removal, and never let the cleanup decide the result.
  const cleanUp = () => {
    try {
      fs.rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    } catch (e) {
      console.error(`ws_chat_browser: could not remove ${profile}: ${e.message}`);
    }
    process.exit(code);
  };
  if (browser.exitCode !== null || browser.signalCode !== null) return cleanUp();
  browser.removeAllListeners('exit');  // its own end is no longer news
  browser.once('exit', cleanUp);
  browser.kill('SIGKILL');
};
setTimeout(() => finish(1, 'timed out'), 40000).unref();

// One DevTools session over a page target: send(method, params) -> result.
function devtools(url) {
  return new Promise((resolve) => {
    const cdp = new WebSocket(url, { perMessageDeflate: false });
    let id = 0;
    const pending = new Map();
    cdp.on('message', (m) => {
      const msg = JSON.parse(m);
      if (msg.id && pending.has(msg.id)) {
        pending.get(msg.id)(msg);
        pending.delete(msg.id);
      }
    });
    cdp.on('open', () => resolve((method, params = {}, sessionId) => new Promise((done) => {
      pending.set(++id, done);
      cdp.send(JSON.stringify({ id, method, params, sessionId }));
    })));
    cdp.on('error', (e) => finish(1, 'devtools: ' + e.message));
  });
}

let banner = '';
browser.stderr.on('data', async (d) => {
  banner += d;
  const m = /DevTools listening on (ws:\/\/\S+)/.exec(banner);
  if (!m || banner === null) return;
  banner = null;
  const send = await devtools(m[1]);
  const { result: { targetId } } = await send('Target.createTarget', { url: 'about:blank' });
  const { result: { sessionId } } = await send('Target.attachToTarget', { targetId, flatten: true });
  const evaluate = async (expression) =>
    (await send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true },
      sessionId)).result;
  await send('Page.navigate', { url: `http://127.0.0.1:${port}/` }, sessionId);
  // The page's socket is open once the greeting is in its log.
  const waitFor = (text) => evaluate(`new Promise((ok) => { const t = setInterval(() => {
      if (document.getElementById('log') && document.getElementById('log').textContent.includes(${JSON.stringify(text)})) { clearInterval(t); ok(true); } }, 20); })`);
  await waitFor('please enter your nickname');
  // A node client in the room hears what the browser says.
  const peer = new WebSocket(`ws://127.0.0.1:${port}/chat`);
  let step = 0;
  peer.on('message', async (msg) => {
    const text = msg.toString();
    if (step === 0) { step = 1; peer.send('node'); return; }
    if (text === 'node joined' && step === 1) {
      step = 2;
      const type = (value) => evaluate(`document.getElementById('t').value = ${JSON.stringify(value)};
        document.getElementById('f').requestSubmit(); true`);
      await type('browser');
      await waitFor('browser joined');
      await type('hello from chromium');
      return;
    }
    if (text === 'browser: hello from chromium') {
      await waitFor('browser: hello from chromium');  // the page got its own line back too
      console.log('ws_chat_browser: ok');
      finish(0);
    }
  });
  peer.on('error', (e) => finish(1, e.message));
});
browser.on('exit', (code) => { if (banner !== null) finish(77, `chromium exited (${code}) before DevTools`); });
