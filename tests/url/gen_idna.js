// tests/url/gen_idna.js [--check] FILE: derives netco's UTS #46 table (the blocks netco
// covers) from Node's own URL and writes it between the "BEGIN gen_idna.js" and
// "END gen_idna.js" lines of FILE (include/netco/impl/url.ipp); --check only compares and
// exits 1 when FILE is out of date.
//
// For each code point of a covered block, the host "a<cp>b" is parsed by Node and mapped back
// with url.domainToUnicode(): the same code point back is "valid", nothing back is "ignored",
// anything else is "mapped" to what came back; a failure, or a mapping netco cannot compose
// with its neighbours without NFC (one that starts with a mark, or holds conjoining jamo), is
// left out of the table: refused. Valid combining marks are listed as "mark" (refused in a
// Unicode domain, where NFC may compose them; allowed inside a decoded xn-- label, not first).
'use strict';
const fs = require('fs');
const url = require('url');

const blocks = [
  [0x00a0, 0x036f], [0x0370, 0x058f], [0x10a0, 0x10ff], [0x1200, 0x139f], [0x13a0, 0x13ff],
  [0x1c80, 0x1cbf], [0x1d00, 0x1dbf], [0x1e00, 0x1fff], [0x2000, 0x2bff], [0x2c00, 0x2c7f],
  [0x2d00, 0x2d2f], [0x3000, 0x30ff], [0x3100, 0x312f], [0x31f0, 0x31ff], [0x3400, 0x4dbf],
  [0x4e00, 0x9fff], [0xa640, 0xa69f], [0xa720, 0xa7ff], [0xab30, 0xabbf], [0xac00, 0xd7a3],
  [0xfb00, 0xfb17], [0xfe00, 0xfe0f], [0xfeff, 0xfeff], [0xff00, 0xffef],
  [0x1d400, 0x1d7ff], [0x1f100, 0x1f1ff], [0x1f300, 0x1f7ff], [0x1f900, 0x1f9ff],
  [0x1fa70, 0x1faff],
];
const isMark = (s) => /\p{M}/u.test(s);
const jamo = (cp) => (cp >= 0x1100 && cp <= 0x11ff) || (cp >= 0x3130 && cp <= 0x318f) ||
  (cp >= 0xa960 && cp <= 0xa97f) || (cp >= 0xd7b0 && cp <= 0xd7ff);

function classify(cp) {
  const ch = String.fromCodePoint(cp);
  // After a digit, which nothing composes with, a mark comes back as it is unless mapped.
  const before = isMark(ch) ? 'a1' : 'a';
  let host;
  try { host = new URL('http://' + before + ch + 'b/').hostname; } catch { return null; }
  const back = url.domainToUnicode(host);
  if (!back.startsWith(before) || !back.endsWith('b')) return null;
  const mapped = back.slice(before.length, -1);
  if (mapped === ch) return { kind: isMark(ch) ? 'mark' : 'valid' };
  if (mapped === '') return { kind: 'ignored' };
  const cps = [...mapped].map((c) => c.codePointAt(0));
  if (isMark([...mapped][0]) || cps.some(jamo) || mapped.normalize('NFC') !== mapped) return null;
  return { kind: 'mapped', cps };
}

// Runs of the same shape become one entry: valid, mark, ignored, delta (every code point +d),
// pairs (first, first+2, ... map to +1; the others are valid), seq (one code point to a sequence).
const entries = [];
const seq = [];
for (const [first, last] of blocks) {
  for (let cp = first; cp <= last; ++cp) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const c = classify(cp);
    if (c === null) continue;
    const prev = entries[entries.length - 1];
    const adjacent = prev && prev.last === cp - 1;
    if (c.kind !== 'mapped') {
      if (adjacent && prev.kind === c.kind) { prev.last = cp; continue; }
      if (c.kind === 'valid' && adjacent && prev.kind === 'pairs' && (cp - prev.first) % 2 === 1) {
        prev.last = cp; continue;
      }
      entries.push({ first: cp, last: cp, kind: c.kind, data: 0 });
      continue;
    }
    if (c.cps.length === 1) {
      const d = c.cps[0] - cp;
      if (adjacent && prev.kind === 'delta' && prev.data === d) { prev.last = cp; continue; }
      if (d === 1 && adjacent && prev.kind === 'pairs' && (cp - prev.first) % 2 === 0) {
        prev.last = cp; continue;
      }
      // A one-code-point delta +1 entry followed by a valid one is the start of pairs.
      if (d === 1) { entries.push({ first: cp, last: cp, kind: 'pairs', data: 1 }); continue; }
      entries.push({ first: cp, last: cp, kind: 'delta', data: d });
      continue;
    }
    entries.push({ first: cp, last: cp, kind: 'seq', data: seq.length * 256 + c.cps.length });
    seq.push(...c.cps);
  }
}

// What netco writes must parse again: every code point a mapping produces is valid (or a
// mark, which a decoded label may hold) where netco knows it, or lies outside the blocks.
const inBlocks = (cp) => blocks.some(([a, b]) => cp >= a && cp <= b);
const known = (cp) => entries.find((e) => cp >= e.first && cp <= e.last);
for (const e of entries) {
  const outs = e.kind === 'seq' ? seq.slice(e.data >> 8, (e.data >> 8) + (e.data & 255))
    : e.kind === 'delta' ? Array.from({ length: e.last - e.first + 1 }, (_, i) => e.first + i + e.data)
    : [];
  for (const cp of outs) {
    const k = known(cp);
    const ok = cp < 0x80 || !inBlocks(cp) ||
      (k && (k.kind === 'valid' || k.kind === 'mark' || (k.kind === 'pairs' && (cp - k.first) % 2 === 1)));
    if (!ok) throw new Error(`mapping of ${e.first.toString(16)} yields ${cp.toString(16)}, not valid`);
  }
}

const hex = (n) => '0x' + n.toString(16).toUpperCase().padStart(4, '0');
const kinds = { valid: 0, delta: 1, pairs: 2, seq: 3, ignored: 4, mark: 5 };
const lines = [];
lines.push('// BEGIN gen_idna.js: generated by tests/url/gen_idna.js from Node ' +
  process.version.split('.')[0] + "'s URL; do not edit by hand.");
lines.push('inline constexpr char32_t url_idna_blocks[][2] = {');
let row = '   ';
for (const [a, b] of blocks) {
  const item = ` {${hex(a)}, ${hex(b)}},`;
  if (row.length + item.length > 100) { lines.push(row); row = '   '; }
  row += item;
}
lines.push(row, '};');
lines.push('inline constexpr url_idna_entry url_idna_table[] = {');
for (const e of entries) {
  lines.push(`    {${hex(e.first)}, ${hex(e.last)}, ${e.data}, ${kinds[e.kind]}},`);
}
lines.push('};');
lines.push('inline constexpr char32_t url_idna_sequences[] = {');
row = '   ';
for (const cp of seq) {
  const item = ` ${hex(cp)},`;
  if (row.length + item.length > 100) { lines.push(row); row = '   '; }
  row += item;
}
lines.push(row, '};');
lines.push('// END gen_idna.js');
const table = lines.join('\n') + '\n';

const args = process.argv.slice(2);
const check = args[0] === '--check';
const file = check ? args[1] : args[0];
if (!file) {
  process.stdout.write(table);
  process.exit(0);
}
const text = fs.readFileSync(file, 'utf8');
const begin = text.indexOf('// BEGIN gen_idna.js');
const end = text.indexOf('// END gen_idna.js');
if (begin < 0 || end < 0) {
  console.error(`${file}: no BEGIN/END gen_idna.js lines`);
  process.exit(2);
}
const updated = text.slice(0, begin) + table + text.slice(end + '// END gen_idna.js\n'.length);
if (check) {
  if (updated !== text) {
    console.error(`${file}: the IDNA table differs from Node ${process.version}'s; ` +
      `regenerate with: node tests/url/gen_idna.js ${file}`);
    process.exit(1);
  }
  console.log(`${file}: IDNA table matches Node ${process.version} (${entries.length} entries)`);
} else {
  fs.writeFileSync(file, updated);
  console.log(`${file}: ${entries.length} entries, ${seq.length} sequence code points`);
}
