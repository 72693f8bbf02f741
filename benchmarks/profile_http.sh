#!/usr/bin/env bash
# benchmarks/profile_http.sh: where an HTTP server's CPU goes per request, netco's http_hello
# beside the kit's references, under wrk (-t1, client and server pinned to CPU 0):
#   1. syscalls per request, by name: perf stat on the syscall entry tracepoints
#   2. user-space instructions per request, and the top functions: valgrind --tool=callgrind,
#      counted only while the measured load runs (exact, independent of machine noise)
#
#   benchmarks/profile_http.sh [-c CONNS] [-d SECS] [--no-perf] [--no-callgrind] [-o OUT.md]
#                              [NAME | NAME='COMMAND {PORT}' ...]
#
# NAMEs pick servers (default: netco asio_coro epoll); BUILD_DIR (default build-bench-release)
# and KIT_BUILD (default $BUILD_DIR/kit, built by benchmarks/run.sh) say where the binaries are.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
conns=100 dur=3 do_perf=1 do_cg=1 out=""
while (($#)); do
  case $1 in
    -c) conns=$2; shift ;;
    -d) dur=$2; shift ;;
    -o) out=$2; shift ;;
    --no-perf) do_perf=0 ;;
    --no-callgrind) do_cg=0 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "profile_http.sh: unknown option '$1'" >&2; exit 2 ;;
    *) break ;;
  esac
  shift
done
build=${BUILD_DIR:-build-bench-release}
kit=${KIT_BUILD:-$build/kit}
command -v wrk >/dev/null || { echo "wrk not installed" >&2; exit 1; }
declare -A cmd=(
  [netco]="$root/$build/examples/http_hello {PORT}"
  [asio_coro]="$(cd "$kit" 2>/dev/null && pwd)/asio_coro_http {PORT}"
  [epoll]="$(cd "$kit" 2>/dev/null && pwd)/epoll_http {PORT}"
)
names=("$@")
((${#names[@]})) || names=(netco asio_coro epoll)

port=19800
while ss -Hltn "sport = :$port" | grep -q .; do port=$((port + 1)); done
tmp=$(mktemp -d -t netco-profile-http.XXXXXX)
srv=""
trap '[[ -n $srv ]] && kill $srv 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
listening() { ss -Hltn "sport = :$port" | grep -q .; }
start() {  # command line...
  taskset -c 0 "$@" >"$tmp/server.log" 2>&1 &
  srv=$!
  for _ in $(seq 600); do listening && return; kill -0 "$srv" 2>/dev/null || break; sleep 0.05; done
  echo "server did not start: $*" >&2; cat "$tmp/server.log" >&2; exit 1
}
stop() { kill -INT "$srv" 2>/dev/null || true; sleep 0.2; kill "$srv" 2>/dev/null || true
  wait "$srv" 2>/dev/null || true; srv=""
  for _ in $(seq 100); do listening || return 0; sleep 0.05; done; }
load() {  # secs -> the number of requests wrk completed
  taskset -c 0 wrk -t1 -c"$conns" -d"$1"s "http://127.0.0.1:$port/" |
    awk '/requests in/ { print $1 }'
}
report=$tmp/report.md
say() { echo "$*" | tee -a "$report"; }

say "## HTTP profile, wrk -t1 -c$conns, pin=same, $(date -u +%FT%TZ)"
for n in "${names[@]}"; do
  if [[ $n =~ ^([A-Za-z0-9_.+-]+)=(.*)$ ]]; then n=${BASH_REMATCH[1]} cmd[$n]=${BASH_REMATCH[2]}; fi
  c=${cmd[$n]:-}
  [[ -n $c ]] || { echo "unknown server $n" >&2; exit 2; }
  bin=${c%% *}
  [[ -x $bin ]] || { echo "($bin missing: $n skipped)" >&2; continue; }
  say ""
  say "### $n"
  say ""
  say '```'
  # 1. syscalls per request, by name, and the CPU the server used
  if ((do_perf)); then
    start ${c//\{PORT\}/$port}
    load 1 >/dev/null
    perf stat -x, -o "$tmp/sys.csv" -e 'syscalls:sys_enter_*' -e task-clock -p "$srv" -- \
      sleep "$((dur + 1))" &
    pstat=$!
    sleep 0.5
    reqs=$(load "$dur")
    wait "$pstat" || true
    stop
    # perf counts for dur+1 s, the load runs dur s inside it: an idle server makes no syscalls
    say "requests: $reqs"
    awk -F, -v r="$reqs" '!/^#/ && NF > 2 && $1 ~ /^[0-9.]+$/ && $1 > 0 {
        name = $3; sub(/^syscalls:sys_enter_/, "", name)
        if (name == "task-clock") { printf "server CPU per request: %.2f us\n", $1 * 1000 / r; next }
        total += $1; printf "syscall %-16s %.3f / request\n", name, $1 / r }
      END { printf "syscalls per request: %.3f\n", total / r }' "$tmp/sys.csv" | tee -a "$report"
  fi
  # 2. callgrind: user-space instructions per request, only while the measured load runs
  if ((do_cg)) && command -v valgrind >/dev/null; then
    start valgrind -q --tool=callgrind --instr-atstart=no --callgrind-out-file="$tmp/cg.out" ${c//\{PORT\}/$port}
    load 1 >/dev/null
    callgrind_control -i on "$srv" >/dev/null 2>&1
    reqs=$(load "$dur")
    callgrind_control -i off "$srv" >/dev/null 2>&1
    stop
    f=$(ls -S "$tmp"/cg.out* 2>/dev/null | head -n 1)
    if [[ -n $f && ${reqs:-0} -gt 0 ]]; then
      callgrind_annotate --inclusive=no "$f" 2>/dev/null >"$tmp/cg.txt" || true
      total=$(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }' "$tmp/cg.txt")
      say "callgrind: user-space instructions per request = $(awk -v t="$total" -v r="$reqs" 'BEGIN { printf "%.0f", t / r }') ($total Ir / $reqs requests)"
      awk -v r="$reqs" -v top="${CG_TOP:-16}" '/file:function/ { on = 1; next } on && /^ *[0-9,]+ +\( *[0-9.]+%\)/ {
          v = $1; gsub(",", "", v); sub(/^ *[0-9,]+ +\( *[0-9.]+%\) +/, ""); sub(/ \[[^]]*\]$/, "")
          sub(/^[^:]*:/, ""); if (length($0) > 110) $0 = substr($0, 1, 107) "..."
          if (++k <= top) printf "callgrind self: %7.1f Ir/req  %s\n", v / r, $0 }' \
        "$tmp/cg.txt" | tee -a "$report" || true
      [[ -n ${CG_KEEP:-} ]] && cp "$f" "$CG_KEEP.$n"
    else
      say "callgrind: no data ($reqs)"
    fi
    rm -f "$tmp"/cg.out*
  fi
  say '```'
done
if [[ -n $out ]]; then cp "$report" "$out"; echo "written to $out" >&2; fi
