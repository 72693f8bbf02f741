#!/usr/bin/env bash
# scripts/testssl.sh [BUILD_DIR]: runs testssl.sh (Debian's testssl.sh package, installed here
# when missing and run as root) against examples/https_hello from BUILD_DIR (default build),
# with its self-signed localhost certificate. Prints testssl's findings and then the lines it
# marks NOT ok or VULNERABLE; exits 1 if a vulnerability is reported. Takes about a minute.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build}
server=$build/examples/https_hello
[[ -x $server ]] || { echo "testssl.sh: build $server first (meson compile -C $build)" >&2; exit 2; }
if ! command -v testssl >/dev/null; then
  if [[ $(id -u) = 0 ]]; then
    apt-get install -y testssl.sh >/dev/null
  else
    echo "testssl.sh: install Debian's testssl.sh package first" >&2
    exit 2
  fi
fi

out=$(mktemp "${TMPDIR:-/tmp}/netco-testssl.XXXXXX")
log=$(mktemp "${TMPDIR:-/tmp}/netco-https.XXXXXX")
pid=
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null || true
  rm -f "$out" "$log"
}
trap cleanup EXIT

"$server" 0 >"$log" 2>&1 &
pid=$!
port=
for _ in $(seq 100); do
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log")
  [[ -n $port ]] && break
  sleep 0.1
done
[[ -n $port ]] || { cat "$log"; echo "testssl.sh: https_hello did not start" >&2; exit 1; }

testssl --quiet --color 0 --warnings off --ip 127.0.0.1 "https://localhost:$port/" | tee "$out"
echo "== findings marked NOT ok or VULNERABLE:"
grep -E "NOT ok|VULNERABLE" "$out" || echo "(none)"
! grep -q "VULNERABLE" "$out"
