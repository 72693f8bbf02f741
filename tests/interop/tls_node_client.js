// tests/interop/tls_node_client.js: Node's TLS clients against netco's TLS examples:
//   https.get twice over one kept-alive connection against https_hello (the CA given);
//   tls.connect against tls_echo: data echoed, then Node ends, netco's echo ends after echoing
//   (half-close: Node's socket gets the echo, then 'end').
//   node tls_node_client.js HTTPS_HELLO_PORT TLS_ECHO_PORT CA_FILE    exit 0 on success
'use strict';
const fs = require('fs');
const https = require('https');
const tls = require('tls');

const [helloPort, echoPort, caFile] = process.argv.slice(2);
const ca = fs.readFileSync(caFile);
const fail = (what) => {
  console.error(`FAIL: ${what}`);
  process.exit(1);
};
setTimeout(() => fail('timed out'), 10000).unref();

function get(agent) {
  return new Promise((resolve, reject) => {
    https.get({host: 'localhost', port: helloPort, path: '/', ca, agent}, (res) => {
      const socket = res.socket;  // back in the agent (null here) by 'end'
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => body += d);
      res.on('end', () => resolve({status: res.statusCode, body, socket}));
    }).on('error', reject);
  });
}

async function httpsHello() {
  const agent = new https.Agent({keepAlive: true, maxSockets: 1});
  const a = await get(agent);
  const b = await get(agent);
  if (a.status !== 200 || a.body !== 'Hello, World!\n') fail(`https.get: ${a.status} ${a.body}`);
  if (b.body !== 'Hello, World!\n') fail(`second https.get: ${b.body}`);
  if (a.socket !== b.socket) fail('the second request did not reuse the connection');
  console.log(`https.get x2 over one ${a.socket.getProtocol()} connection: OK`);
  agent.destroy();
}

function tlsEcho() {
  return new Promise((resolve) => {
    const s = tls.connect({host: 'localhost', port: echoPort, ca, servername: 'localhost'});
    let got = '';
    let ended = false;
    s.setEncoding('utf8');
    s.on('secureConnect', () => {
      if (!s.authorized) fail(`tls.connect: not authorized: ${s.authorizationError}`);
      s.write('ping ');
      s.end('and end');  // half-close: the echo of both still comes back
    });
    s.on('data', (d) => got += d);
    s.on('end', () => ended = true);
    s.on('error', (e) => fail(`tls.connect: ${e.message}`));
    s.on('close', (hadError) => {
      if (hadError || !ended) fail(`tls.connect: closed (error ${hadError}, end ${ended})`);
      if (got !== 'ping and end') fail(`tls.connect: echoed [${got}]`);
      console.log(`tls.connect to tls_echo: echo then 'end' after Node's end(): OK`);
      resolve();
    });
  });
}

httpsHello().then(tlsEcho).then(() => process.exit(0), (e) => fail(e.message));
