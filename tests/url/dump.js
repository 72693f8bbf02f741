// tests/url/dump.js CORPUS: runs each case of the corpus through Node's URL and URLSearchParams
// and prints one line per result, "KEY<TAB>RESULT", the format tests/url/url_cases.hpp prints
// for netco (see tests/url/corpus.jsonl for the case kinds). KEY is the case's line as it
// stands in the corpus ("U+XXXX host sweep" for each code point of a sweep).
'use strict';
const fs = require('fs');

function urlObject(u) {
  return {
    href: u.href, origin: u.origin, protocol: u.protocol, username: u.username,
    password: u.password, host: u.host, hostname: u.hostname, port: u.port,
    pathname: u.pathname, search: u.search, hash: u.hash,
    searchParams: [...u.searchParams], searchParamsString: u.searchParams.toString(),
  };
}

function parse(input, base) {
  try { return base === undefined ? new URL(input) : new URL(input, base); } catch { return null; }
}

function run(c) {
  if (Array.isArray(c)) {
    const u = parse(c[0], c[1]);
    return u === null ? 'invalid' : JSON.stringify(urlObject(u));
  }
  if ('params' in c) {
    const p = new URLSearchParams(c.params);
    const out = { pairs: [...p], string: p.toString() };
    if (p.size > 0) {
      const name = [...p.keys()][0];
      out.get = p.get(name);
      out.getAll = p.getAll(name);
    }
    p.sort();
    out.sorted = [...p];
    out.sortedString = p.toString();
    return JSON.stringify(out);
  }
  if ('set' in c) {
    const u = parse(c.href);
    if (u === null) return 'invalid';
    try { u[c.set] = c.value; } catch { return 'throws'; }
    return JSON.stringify(urlObject(u));
  }
  if ('call' in c) {
    const u = parse(c.href);
    if (u === null) return 'invalid';
    u.searchParams[c.call](...(c.args || []));
    return JSON.stringify(urlObject(u));
  }
  throw new Error('unknown case kind: ' + JSON.stringify(c));
}

const hex = (cp) => 'U+' + cp.toString(16).toUpperCase().padStart(4, '0');
const out = [];
for (const raw of fs.readFileSync(process.argv[2], 'utf8').split('\n')) {
  const line = raw.trim();
  if (line === '' || line.startsWith('#')) continue;
  const c = JSON.parse(line);
  if (!Array.isArray(c) && 'hosts' in c) {
    for (let cp = c.hosts[0]; cp <= c.hosts[1]; ++cp) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const u = parse('http://a' + String.fromCodePoint(cp) + 'b/');
      out.push(hex(cp) + ' host sweep\t' + (u === null ? 'invalid' : JSON.stringify(u.hostname)));
    }
    continue;
  }
  out.push(line + '\t' + run(c));
}
process.stdout.write(out.join('\n') + '\n');
