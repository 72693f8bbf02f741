#!/usr/bin/env python3
"""tests/url/differential.py NODE URL_DUMP DIR: the URL corpus through Node's URL (DIR/dump.js)
and netco's (URL_DUMP), compared case by case. A difference fails the test unless
DIR/expected-differences.txt lists it (and it is the kind listed); a listed difference that no
longer occurs fails too, so the list stays true. Also checks that DIR/expected.txt (what the
unit suite compares with) and netco's IDNA table are what this Node produces. Exit 77 (skipped)
when NODE is missing."""
import os
import re
import shutil
import subprocess
import sys


def results(text):
    out = {}
    order = []
    for line in text.splitlines():
        key, _, result = line.partition('\t')
        out[key] = result
        order.append(key)
    return out, order


def expand(key):
    """A key, or each key of a range "U+XXXX..U+YYYY rest" (see expected-differences.txt)."""
    m = re.fullmatch(r'U\+([0-9A-F]{4,6})\.\.U\+([0-9A-F]{4,6}) (.*)', key)
    if not m:
        return [key]
    return [f'U+{cp:04X} {m.group(3)}' for cp in range(int(m.group(1), 16), int(m.group(2), 16) + 1)]


def main():
    node, dump, root = sys.argv[1], sys.argv[2], sys.argv[3]
    if not node or not (os.path.isfile(node) or shutil.which(node)):
        print('node not found: skipped')
        return 77
    corpus = os.path.join(root, 'corpus.jsonl')
    node_text = subprocess.run([node, os.path.join(root, 'dump.js'), corpus], check=True,
                               capture_output=True, text=True).stdout
    netco_text = subprocess.run([dump, corpus], check=True, capture_output=True,
                                text=True).stdout
    node_results, order = results(node_text)
    netco_results, _ = results(netco_text)
    allowed = {}
    with open(os.path.join(root, 'expected-differences.txt'), encoding='utf-8') as f:
        for line in f:
            line = line.rstrip('\n')
            if line and not line.startswith('#'):
                how, _, key = line.partition(' ')
                for k in expand(key):
                    allowed[k] = how
    failures = []
    seen_allowed = set()
    for key in order:
        a, b = netco_results.get(key), node_results[key]
        if a == b:
            continue
        how = allowed.get(key)
        if how == 'refuses' and a == 'invalid' and b != 'invalid' or \
           how == 'accepts' and a != 'invalid' and b == 'invalid' or \
           how == 'differs' and a != 'invalid' and b != 'invalid':
            seen_allowed.add(key)
            continue
        failures.append(f'case:  {key}\n  netco: {a}\n  node:  {b}')
    for key in allowed:
        if key not in seen_allowed:
            failures.append(f'listed in expected-differences.txt but not a difference: {key}')
    total = len(order)
    print(f'{total} results, {len(seen_allowed)} listed differences, {len(failures)} failures')
    for f in failures[:20]:
        print(f)
    if len(failures) > 20:
        print(f'... and {len(failures) - 20} more')
    stale = []
    with open(os.path.join(root, 'expected.txt'), encoding='utf-8') as f:
        if f.read() != node_text:
            stale.append('expected.txt is not what this Node prints: regenerate it with\n'
                         f'  node tests/url/dump.js tests/url/corpus.jsonl > tests/url/expected.txt')
    ipp = os.path.join(root, '..', '..', 'include', 'netco', 'impl', 'url.ipp')
    check = subprocess.run([node, os.path.join(root, 'gen_idna.js'), '--check', ipp],
                           capture_output=True, text=True)
    if check.returncode != 0:
        stale.append(check.stderr.strip())
    for s in stale:
        print(s)
    return 1 if failures or stale else 0


if __name__ == '__main__':
    sys.exit(main())
