#!/bin/sh
# tests/fuzz/run.sh [TARGET|all] [SECONDS]: builds the libFuzzer targets with clang-14
# (-Dfuzz=true, ASan + UBSan) and runs TARGET (default http_parser) for SECONDS (default 60),
# or every target for SECONDS each, PARALLEL (default 2) at a time. `run.sh 300` still means
# the HTTP parser for 300 s. Targets, each with its seed corpus in tests/fuzz/corpus/:
#   http_parser    the HTTP parser against itself split and llhttp     corpus/http
#   chunked        chunked decoding: raw bytes, and valid encodings    corpus/chunked
#   decoder        the set_encoding() decoder (utf8, hex, base64...)   corpus/decoder
#   server_stream  an http::server over socketpairs, random bytes,     corpus/server_stream
#                  splits, half-closes and resets
#   url            netco::url: idempotence, with a base, setters       corpus/url
#   ws_receiver    the WebSocket receiver, both roles, deflate or not, corpus/ws_receiver
#                  random splits and sender round trips
#   ws_extensions  Sec-WebSocket-Extensions/-Protocol parsing and      corpus/ws_extensions
#                  permessage-deflate negotiation
#   tls_server     tls::engine on hostile ciphertext (raw, mutated     corpus/tls_server
#                  ClientHellos, client side, plaintext round trips);
#                  built when OpenSSL is found
# New inputs go to $BUILD_DIR/fuzz-corpus/<corpus>, crashes to $BUILD_DIR/fuzz-artifacts, logs
# to $BUILD_DIR/fuzz-logs (with "all"); JOBS=n runs one target as n processes (-fork). With "all", one line
# per target ends the output: "fuzz TARGET: PASS (N runs in S s)" or "fuzz TARGET: FAIL ...".
set -eu
target=${1:-http_parser}
case $target in
  *[!0-9]*) seconds=${2:-60} ;;
  *) seconds=$target target=http_parser ;;  # the old form: run.sh SECONDS
esac
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$root/build-fuzz}
all="http_parser chunked decoder server_stream url ws_receiver ws_extensions"

if [ ! -f "$build/build.ninja" ]; then
  CC=clang-14 CXX=clang++-14 meson setup "$build" "$root" -Dfuzz=true -Dexamples=false \
    -Dbenchmarks=disabled -Dbuildtype=debugoptimized
fi
# The TLS engine's target exists where the build found OpenSSL.
grep -q "fuzz_tls_server:" "$build/build.ninja" && all="$all tls_server"
if [ "$target" = all ]; then targets=$all; else targets=$target; fi
programs=""
for t in $targets; do
  case " $all " in *" $t "*) ;; *) echo "run.sh: unknown target '$t' (targets: $all)" >&2; exit 2 ;; esac
  programs="$programs tests/fuzz/fuzz_$t"
done
# shellcheck disable=SC2086  # one target per word
ninja -C "$build" -j "${NINJA_JOBS:-2}" $programs
mkdir -p "$build/fuzz-artifacts" "$build/fuzz-logs"

# fuzz TARGET: runs it in the foreground (its output on stdout and in its log)
fuzz() {
  t=$1
  corpus=$t dict="" max_len=4096
  case $t in
    http_parser) corpus=http dict=http.dict ;;
    chunked) dict=http.dict max_len=8192 ;;
    decoder) max_len=1024 ;;
    server_stream) dict=http.dict max_len=2048 ;;
    url) dict=url.dict max_len=512 ;;
    ws_receiver) max_len=8192 ;;
    ws_extensions) dict=ws.dict max_len=512 ;;
    tls_server) max_len=4096 ;;
  esac
  mkdir -p "$build/fuzz-corpus/$corpus"
  set -- "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -max_len="$max_len" -timeout=20 \
    -artifact_prefix="$build/fuzz-artifacts/$t-" -print_final_stats=1
  [ -n "$dict" ] && set -- "$@" -dict="$root/tests/fuzz/$dict"
  jobs=${JOBS:-1}
  [ "$jobs" -gt 1 ] && set -- "$@" -fork="$jobs" -ignore_crashes=0
  "$@" "$build/fuzz-corpus/$corpus" "$root/tests/fuzz/corpus/$corpus"
}

if [ "$target" != all ]; then
  fuzz "$target"
  exit
fi

# All of them, PARALLEL at a time; each one's verdict from its exit status and its log.
parallel=${PARALLEL:-2}
running=""
status_dir=$(mktemp -d)
trap 'rm -rf "$status_dir"' EXIT
for t in $targets; do
  while [ "$(echo $running | wc -w)" -ge "$parallel" ]; do
    still=""
    for r in $running; do [ -f "$status_dir/$r" ] || still="$still $r"; done
    running=$still
    [ "$(echo $running | wc -w)" -ge "$parallel" ] && sleep 1
  done
  echo "fuzz $t: started ($seconds s)"
  (
    rc=0
    fuzz "$t" >"$build/fuzz-logs/$t.log" 2>&1 || rc=$?
    echo "$rc" >"$status_dir/$t"
  ) &
  running="$running $t"
done
wait
failed=0
for t in $targets; do
  log=$build/fuzz-logs/$t.log
  rc=$(cat "$status_dir/$t")
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  if [ "$rc" = 0 ]; then
    echo "fuzz $t: PASS (${runs:-?} runs in $seconds s)"
  else
    failed=1
    echo "fuzz $t: FAIL (exit $rc; the end of $log:)"
    tail -n 40 "$log" | sed 's/^/  /'
    ls "$build/fuzz-artifacts/$t-"* 2>/dev/null | sed 's/^/  artifact: /'
  fi
done
exit "$failed"
