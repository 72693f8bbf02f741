#!/usr/bin/env bash
# benchmarks/profile.sh: where an echo server's CPU goes per round trip, netco beside the kit's
# references, at one cell (default 50 connections x 64 B, client and server pinned to CPU 0):
#   1. syscalls (by name), context switches, CPU per round trip: perf stat on the kernel's
#      syscall tracepoints (exact counts, the server at full speed) during one measured load
#   2. user-space share and top symbols: perf record -e cpu-clock on the server; reads that
#      returned EAGAIN per round trip (perf stat on the syscall exit tracepoints)
#   3. user-space instructions per round trip, and by function: valgrind --tool=callgrind,
#      counted only while the load runs (exact, independent of machine noise)
# Run benchmarks/run.sh first (it builds build-bench-release and the kit in $BUILD_DIR/kit).
# Needs linux-perf, tracefs and root (or perf_event_paranoid <= 1); valgrind for 3.
#
#   benchmarks/profile.sh [-c CONNS] [-s BYTES] [-d SECS] [--no-perf] [--no-callgrind] [-o OUT.md]
#                         [NAME | NAME='COMMAND {PORT}' ...]
#
# NAMEs pick servers (default: netco_coro netco_events epoll asio_cb asio_coro; also uv), or
# NAME='COMMAND {PORT}' profiles any other server the same way.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
conns=50 size=64 dur=3 do_perf=1 do_cg=1 out=""
while (($#)); do
  case $1 in
    -c) conns=$2; shift ;;
    -s) size=$2; shift ;;
    -d) dur=$2; shift ;;
    -o) out=$2; shift ;;
    --no-perf) do_perf=0 ;;
    --no-callgrind) do_cg=0 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "profile.sh: unknown option '$1'" >&2; exit 2 ;;
    *) break ;;
  esac
  shift
done
build=${BUILD_DIR:-build-bench-release}
kit=${KIT_BUILD:-$build/kit}
[[ -x $kit/loadgen ]] || { echo "no kit in $kit: run benchmarks/run.sh first" >&2; exit 1; }
kit=$(cd "$kit" && pwd)
declare -A cmd=(
  [netco_coro]="$root/$build/examples/echo_server {PORT}"
  [netco_events]="$root/$build/examples/echo_events {PORT}"
  [epoll]="$kit/epoll_echo {PORT}"
  [asio_cb]="$kit/asio_cb_echo {PORT}"
  [asio_coro]="$kit/asio_coro_echo {PORT}"
  [uv]="$kit/uv_echo {PORT}"
)
names=("$@")
((${#names[@]})) || names=(netco_coro netco_events epoll asio_cb asio_coro)

port=19700
while ss -Hltn "sport = :$port" | grep -q .; do port=$((port + 1)); done
tmp=$(mktemp -d -t netco-profile.XXXXXX)
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
load() {  # secs -> prints loadgen's line
  taskset -c 0 "$kit/loadgen" -p "$port" -c "$conns" -s "$size" -d "$1" -w 0 ${2:+-S "$2"} -l x
}
report=$tmp/report.md
say() { echo "$*" | tee -a "$report"; }

# 1. the syscalls worth naming, counted one by one (those this kernel has), and all of them
sys_events=raw_syscalls:sys_enter,task-clock,context-switches,cpu-migrations,page-faults
for s in read write readv writev recvfrom sendto recvmsg sendmsg epoll_wait epoll_pwait \
  epoll_pwait2 epoll_ctl io_uring_enter futex ioctl accept4 brk mmap munmap madvise mprotect \
  getsockopt setsockopt; do
  [[ ! -d /sys/kernel/tracing/events/syscalls || -d /sys/kernel/tracing/events/syscalls/sys_enter_$s ]] &&
    sys_events+=,syscalls:sys_enter_$s
done
syscall_profile() {  # $1 = name, $2 = command: per round trip, lines "server=N metric=M per_rt=..."
  start ${2//\{PORT\}/$port}
  load 1 >/dev/null  # warmed up, then one counted run
  perf stat -x, -o "$tmp/sys.csv" -e "$sys_events" -p "$srv" -- \
    taskset -c 0 "$kit/loadgen" -p "$port" -c "$conns" -s "$size" -d "$dur" -w 0 -S "$srv" -l "$1" \
    >"$tmp/lg1.out"
  stop
  local rt
  rt=$(sed -n 's/.* rt_total=\([0-9]*\).*/\1/p' "$tmp/lg1.out")
  echo "# profile server=$1 conns=$conns size=$size pin=same secs=$dur round_trips=${rt:-0}"
  ((${rt:-0} > 0)) || { echo "# no round trips: $(cat "$tmp/lg1.out")"; return; }
  awk -F, -v rt="$rt" -v name="$1" '/^#/ || NF < 3 || $1 !~ /^[0-9.]+$/ { next }
    { ev = $3; sub(/^syscalls:sys_enter_/, "", ev); sub(/^raw_syscalls:sys_enter$/, "ALL_SYSCALLS", ev) }
    ev == "task-clock" { printf "server=%s metric=cpu_us_per_rt(task-clock) value=%.3f\n", name, $1 * 1000 / rt; next }
    $1 > 0 { printf "server=%s metric=%s per_rt=%.3f total=%d\n", name, ev, $1 / rt, $1 }' "$tmp/sys.csv"
}

say "## profile at $conns x $size B, pin=same, $(date -u +%FT%TZ)"
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
  # 1. syscalls per round trip
  syscall_profile "$n" "$c" 2>&1 | tee -a "$report"
  # 2. perf record: kernel vs user share, top user symbols
  if ((do_perf)); then
    start ${c//\{PORT\}/$port}
    load 1 >/dev/null
    perf record -q -e cpu-clock -F 4999 -p "$srv" -o "$tmp/perf.data" -- sleep "$dur" 2>/dev/null &
    prec=$!
    load "$dur" >/dev/null
    wait "$prec" || true
    # reads that found nothing (EAGAIN): the price of reading before the reactor says so
    perf stat -x, -o "$tmp/eagain.csv" -e syscalls:sys_exit_recvfrom --filter 'ret == -11' \
      -e syscalls:sys_exit_read --filter 'ret == -11' -p "$srv" -- \
      taskset -c 0 "$kit/loadgen" -p "$port" -c "$conns" -s "$size" -d "$dur" -w 0 -l x >"$tmp/lg3.out"
    rt3=$(sed -n 's/.* rt_total=\([0-9]*\).*/\1/p' "$tmp/lg3.out")
    say "reads returning EAGAIN per round trip: $(awk -F, -v r="$rt3" '!/^#/ && NF > 2 { s += $1 } END { printf "%.3f", s / r }' "$tmp/eagain.csv")"
    stop
    perf report -i "$tmp/perf.data" --stdio --sort dso 2>/dev/null |
      awk '/^ +[0-9.]+%/ { printf "perf dso: %-8s %s\n", $1, $2 }' | head -n 6 | tee -a "$report" || true
    perf report -i "$tmp/perf.data" --stdio --sort dso,sym 2>/dev/null |
      awk '/^ +[0-9.]+%/ && !/\[k\]/ { $2 = ""; printf "perf user sym: %s\n", $0 }' | head -n 12 | tee -a "$report" || true
    perf report -i "$tmp/perf.data" --stdio --sort sym 2>/dev/null |
      awk '/^ +[0-9.]+%/ && /\[k\]/ { printf "perf kernel sym: %s\n", $0 }' | head -n 8 | tee -a "$report" || true
  fi
  # 3. callgrind: user-space instructions per round trip, only while the measured load runs
  if ((do_cg)) && command -v valgrind >/dev/null; then
    start valgrind -q --tool=callgrind --instr-atstart=no --callgrind-out-file="$tmp/cg.out" ${c//\{PORT\}/$port}
    load 1 >/dev/null
    callgrind_control -i on "$srv" >/dev/null 2>&1
    line=$(load "$dur")
    callgrind_control -i off "$srv" >/dev/null 2>&1
    stop
    rt=$(sed -n 's/.* rt_total=\([0-9]*\).*/\1/p' <<<"$line")
    f=$(ls -S "$tmp"/cg.out* 2>/dev/null | head -n 1)
    if [[ -n $f && ${rt:-0} -gt 0 ]]; then
      callgrind_annotate --inclusive=no "$f" 2>/dev/null >"$tmp/cg.txt" || true
      total=$(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }' "$tmp/cg.txt")
      say "callgrind: user-space instructions per round trip = $(awk -v t="$total" -v r="$rt" 'BEGIN { printf "%.0f", t / r }') ($total Ir / $rt round trips)"
      # function lines: "1,234 (5.6%)  file:function [object]"; keep the function, shortened
      awk -v r="$rt" '/file:function/ { on = 1; next } on && /^ *[0-9,]+ +\( *[0-9.]+%\)/ {
          v = $1; gsub(",", "", v); sub(/^ *[0-9,]+ +\( *[0-9.]+%\) +/, ""); sub(/ \[[^]]*\]$/, "")
          sub(/^[^:]*:/, ""); if (length($0) > 110) $0 = substr($0, 1, 107) "..."
          if (++k <= 14) printf "callgrind self: %7.1f Ir/rt  %s\n", v / r, $0 }' \
        "$tmp/cg.txt" | tee -a "$report" || true
    else
      say "callgrind: no data ($line)"
    fi
    rm -f "$tmp"/cg.out*
  fi
  say '```'
done
if [[ -n $out ]]; then cp "$report" "$out"; echo "written to $out" >&2; fi
