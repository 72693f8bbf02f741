#!/bin/sh
# benchmarks/udp_bench.sh: UDP round trips per second of netco (udp coroutine layer, dgram
# facade) against raw C echo loops (blocking recvfrom/sendto; epoll), in the same run: ROUNDS
# rounds, the four servers interleaved in each, server and client both pinned to CPU 0 (the
# load kit's -P same, benchmarks/kit/run.sh). Prints each run, then the medians and the ratios to raw and to epoll.
# usage: benchmarks/udp_bench.sh [ROUNDS=5] [SECONDS=3] [SIZE=64]
# Env: BUILD (default build-dgram-bench: a release build of udp_pingpong.cpp), CXX (g++-12).
set -eu
ROUNDS=${1:-5}
SECONDS_PER_RUN=${2:-3}
SIZE=${3:-64}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-dgram-bench}
CXX=${CXX:-g++-12}
BIN=$BUILD/udp_pingpong
mkdir -p "$BUILD"
if [ ! -x "$BIN" ] || [ "$ROOT/benchmarks/udp_pingpong.cpp" -nt "$BIN" ] ||
   [ "$ROOT/include/netco/dgram.hpp" -nt "$BIN" ] || [ "$ROOT/include/netco/udp.hpp" -nt "$BIN" ]; then
  "$CXX" -std=c++20 -O2 -DNDEBUG -I"$ROOT/include" "$ROOT/benchmarks/udp_pingpong.cpp" -o "$BIN" -pthread
fi
PIN="taskset -c 0"
command -v taskset >/dev/null 2>&1 || PIN=""
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT

one() {  # one() IMPL: start the server on a free port, run the client, stop the server
  $PIN "$BIN" "$1" 0 >"$OUT.srv" &
  srv=$!
  port=""
  for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$OUT.srv")
    [ -n "$port" ] && break
    sleep 0.05
  done
  rate=$($PIN "$BIN" client "$port" "$SECONDS_PER_RUN" "$SIZE" | awk '{print $2}')
  kill -TERM "$srv"
  wait "$srv" 2>/dev/null || true
  rm -f "$OUT.srv"
  echo "$1 $rate" | tee -a "$OUT"
}

echo "# udp_bench: $ROUNDS rounds x ${SECONDS_PER_RUN}s, ${SIZE}-byte datagrams, pinned: ${PIN:-none}"
for r in $(seq "$ROUNDS"); do
  for impl in raw epoll coro dgram; do one "$impl"; done
done
python3 - "$OUT" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    impl, rate = line.split()
    runs.setdefault(impl, []).append(float(rate))
raw = statistics.median(runs["raw"])
epoll = statistics.median(runs["epoll"])
print("# median round trips/s (ratio to raw, ratio to epoll)")
for impl in ("raw", "epoll", "coro", "dgram"):
    m = statistics.median(runs[impl])
    print(f"{impl:6s} {m:10.0f}  {m / raw:5.3f}x  {m / epoll:5.3f}x")
PY
