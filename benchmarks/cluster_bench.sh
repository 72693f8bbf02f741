#!/usr/bin/env bash
# benchmarks/cluster_bench.sh: netco::cluster, 1 loop against 2 loops under the same load.
#
# HTTP: http_hello (one loop, no cluster), cluster_http 1 and cluster_http 2 under wrk -t1 -c100;
# echo: echo_server (one loop), cluster_echo 1 and cluster_echo 2 under the kit's loadgen
# (50x64 and 500x64: connections x message bytes). Each with benchmarks/kit/run.sh
# (interleaved rounds, order rotated each round), twice: unpinned (-P none: client and server
# share both cores) and split (-P split: load generator on CPU 0, server on CPU 1). Medians and
# ratios to the one-loop server come from the kit's summarize.py. About 5 minutes as set.
#
#   benchmarks/cluster_bench.sh [-r ROUNDS] [-d SECS] [-w SECS] [-p PORT] [-o DIR]
#     -r ROUNDS   interleaved rounds (default 3)      -d SECS  measured seconds per cell (3)
#     -w SECS     warm-up seconds per cell (1)        -p PORT  port (default 19600)
#     -o DIR      where results go (default benchmarks/results)
#
# Environment: BUILD_DIR (default build-cluster-bench, a release build made here; the kit's
# loadgen goes to $BUILD_DIR/kit), MODE (reuse_port or handoff, default reuse_port).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
rounds=3 dur=3 warm=1 port=19600 outdir=benchmarks/results
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit "${1:-2}"; }
while getopts r:d:w:p:o:h opt; do
  case $opt in
    r) rounds=$OPTARG ;; d) dur=$OPTARG ;; w) warm=$OPTARG ;; p) port=$OPTARG ;;
    o) outdir=$OPTARG ;; h) usage 0 ;; *) usage ;;
  esac
done
build=${BUILD_DIR:-build-cluster-bench}
kit_src=$root/benchmarks/kit
mode=${MODE:-reuse_port}
stamp=$(date +%Y-%m-%d-%H%M)
mkdir -p "$outdir"
t_start=$SECONDS
step() { printf '\n== [%3ds] %s\n' $((SECONDS - t_start)) "$*"; }

step "build (release) in $build"
if [[ ! -f $build/build.ninja ]]; then
  meson setup "$build" -Dbuildtype=release -Dtests=false -Dexamples=true -Dbenchmarks=disabled >/dev/null
fi
ninja -C "$build" -j2 examples/http_hello examples/cluster_http examples/echo_server | tail -n 1
# cluster_echo is a benchmark program only: built here with the release build's flags.
if [[ ! -x $build/cluster_echo || benchmarks/cluster_echo.cpp -nt $build/cluster_echo ||
      include/netco/cluster.hpp -nt $build/cluster_echo ]]; then
  ${CXX:-g++} -std=c++20 -O3 -DNDEBUG -Iinclude benchmarks/cluster_echo.cpp -o "$build/cluster_echo" -pthread
fi

step "the kit's loadgen in $build/kit"
kit=$(realpath -m "$build/kit")
make -s -C "$kit_src" O="$kit" "$kit/loadgen" >/dev/null
ex=$root/$build/examples

http_servers=("http_1loop=$ex/http_hello {PORT}"
              "cluster_http_1=$ex/cluster_http {PORT} 1 $mode"
              "cluster_http_2=$ex/cluster_http {PORT} 2 $mode")
echo_servers=("echo_1loop=$ex/echo_server {PORT}"
              "cluster_echo_1=$root/$build/cluster_echo {PORT} 1 $mode"
              "cluster_echo_2=$root/$build/cluster_echo {PORT} 2 $mode")
files=()
for pin in none split; do
  http_out=$outdir/cluster-$stamp-http-$pin.txt echo_out=$outdir/cluster-$stamp-echo-$pin.txt
  step "http, -P $pin ($mode)"
  bash "$kit_src/run.sh" -B "$kit" -t http -P "$pin" -r "$rounds" -d "$dur" -w "$warm" -c 100 -p "$port" \
    -o "$http_out" "${http_servers[@]}" | grep '^kind=' | cut -c1-150
  step "echo 50x64 500x64, -P $pin ($mode)"
  bash "$kit_src/run.sh" -B "$kit" -t echo -P "$pin" -r "$rounds" -d "$dur" -w "$warm" -M 0 \
    -m "50x64 500x64" -p "$((port + 1))" -o "$echo_out" "${echo_servers[@]}" | grep '^kind=' | cut -c1-150
  files+=("$http_out" "$echo_out")
done

step "summary (medians [min-max]; ratio to the one-loop server)"
md=$outdir/cluster-$stamp.md
{
  for pin in none split; do
    echo "## pin=$pin ($mode)"
    python3 "$kit_src/summarize.py" -b http_1loop "$outdir/cluster-$stamp-http-$pin.txt"
    python3 "$kit_src/summarize.py" -b echo_1loop "$outdir/cluster-$stamp-echo-$pin.txt"
  done
} | tee "$md"
echo "raw: ${files[*]}"
echo "tables: $md   ($((SECONDS - t_start)) s)"
