#!/bin/sh
# tests/fuzz/run.sh [seconds]: builds the HTTP parser fuzzer with clang-14 (-Dfuzz=true) and runs
# it for the given time (default 60) on the seed corpus in tests/fuzz/corpus/http. New inputs go
# to $BUILD_DIR/fuzz-corpus, crashes to $BUILD_DIR/fuzz-artifacts; JOBS=n runs n processes.
set -eu
seconds=${1:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$root/build-fuzz}
if [ ! -f "$build/build.ninja" ]; then
  CC=clang-14 CXX=clang++-14 meson setup "$build" "$root" -Dfuzz=true -Dexamples=false \
    -Dbenchmarks=disabled -Dbuildtype=debugoptimized
fi
ninja -C "$build" tests/fuzz/fuzz_http_parser
mkdir -p "$build/fuzz-corpus/http" "$build/fuzz-artifacts"
jobs=${JOBS:-1}
set -- "$build/tests/fuzz/fuzz_http_parser" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
  -dict="$root/tests/fuzz/http.dict" -artifact_prefix="$build/fuzz-artifacts/" -print_final_stats=1
if [ "$jobs" -gt 1 ]; then
  set -- "$@" -fork="$jobs" -ignore_crashes=0
fi
exec "$@" "$build/fuzz-corpus/http" "$root/tests/fuzz/corpus/http"
