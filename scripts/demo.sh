#!/usr/bin/env bash
# scripts/demo.sh: builds the echo server (release), starts it on a free port, drives it with
# scripts/echo_client.py (50 connections of random payloads in random chunks, then ~3 s of
# throughput), stops it with SIGINT and checks that it exits 0. Exits non-zero on any failure.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
dir=build-demo
server_pid=
out=$(mktemp "${TMPDIR:-/tmp}/netco-demo.XXXXXX")
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -f "$out"
}
trap cleanup EXIT
start=$SECONDS

echo "== setup"
bash scripts/setup.sh

echo "== build ($dir, release)"
opts=(-Dbuildtype=release -Dtests=false -Dexamples=true -Dbenchmarks=disabled)
if [[ -f "$dir/build.ninja" ]]; then
  meson configure "$dir" "${opts[@]}" >/dev/null
else
  rm -rf "$dir"
  meson setup "$dir" "${opts[@]}" >/dev/null
fi
ninja -C "$dir" examples/echo_server | tail -n 1

echo "== start"
# Port 0: the kernel picks a free port; the server prints which.
"$dir/examples/echo_server" 0 >"$out" 2>&1 &
server_pid=$!
port=
for _ in $(seq 100); do
  if line=$(grep -m1 -o 'listening on 127\.0\.0\.1:[0-9]*' "$out"); then
    port=${line##*:}
    break
  fi
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if [[ -z "$port" ]]; then
  echo "the server did not say 'listening on 127.0.0.1:PORT' within 10 s:"
  cat "$out"
  exit 1
fi
echo "$(head -n 1 "$out") (pid $server_pid)"

echo "== drive"
client_rc=0
timeout 45 python3 scripts/echo_client.py "$port" --connections 50 --seconds 3 || client_rc=$?

echo "== stop (SIGINT)"
server_rc=
if kill -0 "$server_pid" 2>/dev/null; then
  kill -INT "$server_pid"
  for _ in $(seq 50); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$server_pid" 2>/dev/null; then
    echo "the server is still running 5 s after SIGINT; killing it"
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
fi
wait "$server_pid" || server_rc=$?
server_rc=${server_rc:-0}
server_pid=
if [[ $(wc -l <"$out") -gt 1 ]]; then
  echo "server output:"
  sed 's/^/  /' "$out"
fi

echo "== summary"
ok=1
if ((client_rc == 0)); then
  echo "client: PASS"
else
  echo "client: FAIL (exit $client_rc$( ((client_rc == 124)) && echo ', timed out'))"
  ok=0
fi
if ((server_rc == 0)); then
  echo "server: exited 0 after SIGINT"
else
  echo "server: FAIL (exit status $server_rc after SIGINT; 128+n means signal n)"
  ok=0
fi
echo "demo: $( ((ok)) && echo PASS || echo FAIL) in $((SECONDS - start)) s"
((ok))
