#!/usr/bin/env bash
# benchmarks/run.sh: netco's load benchmarks, reproducible by any user on Debian 12.
#
# Installs what is missing, builds netco's examples in release mode, builds netco's own load
# kit (benchmarks/kit: loadgen and the baseline servers, with make, out of tree), then measures
# netco's echo server(s) against the kit's raw-epoll C, Asio callback, Asio coroutine, libuv
# and Node.js echo servers with benchmarks/kit/run.sh
# (interleaved rounds, order rotated each round, client and server pinned to CPU 0), plus the
# memory held by 10,000 idle connections, plus HTTP (wrk) when netco has an http_hello example.
# Writes benchmarks/results/echo-DATE.{txt,md,csv}: raw key=value lines, Markdown tables of
# medians [min-max] and ratios to raw epoll, and a CSV of the medians and ratios.
#
#   benchmarks/run.sh [options]
#     --quick          smoke test: 2 rounds of 2 s per cell, 1 memory round (about 4 minutes)
#     -r ROUNDS        interleaved rounds (default 5)
#     -d SECS          measured seconds per cell (default 2)
#     -w SECS          warm-up seconds per cell, discarded (default 0.5)
#     -m "CxS ..."     echo cells (default "1x64 50x64 500x64 1x16384 50x16384")
#     -M N             idle connections for the memory test; 0 skips it (default 10000)
#     --mem-rounds N   rounds of the memory test (default 2; it varies little)
#     -P same|split|none  pinning, as kit/run.sh's (default same: the steadiest on 2 vCPUs)
#     -p PORT          first port to try (default 19400; the next free one is used)
#     --no-http        skip the HTTP section      --no-setup   do not install packages
#     --plot           also draw docs/img/*.png from the results (benchmarks/plot.py)
#     -o DIR           where results go (default benchmarks/results)
#
# Environment: BUILD_DIR (default build-bench-release), KIT_BUILD (the kit's build folder,
# default $BUILD_DIR/kit), NETCO_ECHO (netco echo examples, "binary:label ...";
# one whose binary was not built is left out; a binary with a '/' is a path, e.g.
# build-uring/examples/echo_server:netco_uring), NETCO_BENCH_ARGS (extra options, for the meson
# run_target: `NETCO_BENCH_ARGS=--quick ninja -C build bench`), BASELINES (the kit's servers,
# default "epoll asio_cb asio_coro uv node"; epoll, the yardstick, should stay).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

# ---- options ----------------------------------------------------------------------------
rounds=5 dur=2 warm=0.5 idle=10000 mem_rounds=2 pin=same port=19400 quick=0
cells="1x64 50x64 500x64 1x16384 50x16384"
do_http=1 do_setup=1 do_plot=0 outdir=benchmarks/results
# shellcheck disable=SC2086  # NETCO_BENCH_ARGS is a list of words on purpose
set -- ${NETCO_BENCH_ARGS:-} "$@"
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit "${1:-2}"; }
while (($#)); do
  case $1 in
    --quick) quick=1 rounds=2 dur=2 mem_rounds=1 ;;
    -r) rounds=$2; shift ;;
    -d) dur=$2; shift ;;
    -w) warm=$2; shift ;;
    -m) cells=$2; shift ;;
    -M) idle=$2; shift ;;
    --mem-rounds) mem_rounds=$2; shift ;;
    -P) pin=$2; shift ;;
    -p) port=$2; shift ;;
    -o) outdir=$2; shift ;;
    --no-http) do_http=0 ;;
    --no-setup) do_setup=0 ;;
    --plot) do_plot=1 ;;
    -h|--help) usage 0 ;;
    *) echo "run.sh: unknown option '$1'" >&2; usage ;;
  esac
  shift
done

build=${BUILD_DIR:-build-bench-release}
kit_src=$root/benchmarks/kit
kit=${KIT_BUILD:-$build/kit}
if [[ -n ${MESON_BUILD_ROOT:-} && $(realpath -m "$MESON_BUILD_ROOT") == $(realpath -m "$build") ]]; then
  # ninja would run inside ninja on one build folder
  echo "run.sh: 'ninja bench' from $build itself: use another build folder or set BUILD_DIR" >&2
  exit 2
fi
netco_echo=${NETCO_ECHO:-"echo_server:netco_coro echo_events:netco_events"}
stamp=$(date +%Y-%m-%d-%H%M)
mkdir -p "$outdir"
raw=$outdir/echo-$stamp.txt md=$outdir/echo-$stamp.md csv=$outdir/echo-$stamp.csv
t_start=$SECONDS
step() { printf '\n== [%3ds] %s\n' $((SECONDS - t_start)) "$*"; }
warn() { printf 'run.sh: WARNING: %s\n' "$*" >&2; }

# ---- (a) what it needs ------------------------------------------------------------------
if ((do_setup)); then
  step "setup (apt-get only for what is missing)"
  # the build tools plus what the kit and its drivers use (libuv, Boost, wrk, nginx, openssl,
  # perf, taskset, ss, /usr/bin/time): one list, in setup.sh
  bash scripts/setup.sh --bench
fi

# ---- (b) netco, release build -----------------------------------------------------------
step "build netco examples (release) in $build"
opts=(-Dbuildtype=release -Dtests=false -Dexamples=true)
if [[ -f $build/build.ninja ]]; then
  meson configure "$build" "${opts[@]}" >/dev/null
else
  meson setup "$build" "${opts[@]}" >/dev/null
fi
# Only the servers: the other examples and the microbenchmarks are not needed here.
targets=()
for entry in $netco_echo http_hello:http; do
  ninja -C "$build" -t query "examples/${entry%%:*}" >/dev/null 2>&1 && targets+=("examples/${entry%%:*}")
done
ninja -C "$build" "${targets[@]}" | tail -n 1

# ---- (c) the load kit, built out of tree --------------------------------------------------
step "build the load kit (benchmarks/kit) in $kit"
kit=$(realpath -m "$kit")
make -s -j2 -C "$kit_src" O="$kit" >/dev/null

# ---- servers ------------------------------------------------------------------------------
servers=()
for entry in $netco_echo; do
  bin=${entry%%:*} label=${entry#*:}
  exe=$root/$build/examples/$bin
  [[ $bin == */* ]] && exe=$(realpath -m "$bin")  # a path: a server built elsewhere (io_uring)
  if [[ -x $exe ]]; then
    servers+=("$label=$exe {PORT}")
  else
    echo "(no $exe: $label left out)"
  fi
done
((${#servers[@]})) || { echo "no netco echo example was built" >&2; exit 1; }
declare -A kit_servers=([epoll]="$kit/epoll_echo {PORT}" [asio_cb]="$kit/asio_cb_echo {PORT}"
  [asio_coro]="$kit/asio_coro_echo {PORT}" [uv]="$kit/uv_echo {PORT}"
  [node]="node $kit_src/node_echo.js {PORT}")
for name in ${BASELINES:-epoll asio_cb asio_coro uv node}; do
  [[ -n ${kit_servers[$name]:-} ]] || { echo "run.sh: unknown baseline '$name'" >&2; exit 2; }
  exe=${kit_servers[$name]%% *}
  [[ $exe == node ]] && exe=$(command -v node || echo node)
  if [[ -x $exe ]]; then
    servers+=("$name=${kit_servers[$name]}")
  else
    echo "(no $exe: $name left out; the kit's make says which headers were missing)"
  fi
done

free_port() {  # first port >= $1 nobody listens on
  local p=$1
  while ss -Hltn "sport = :$p" | grep -q .; do p=$((p + 1)); done
  echo "$p"
}

# The memory test holds $idle descriptors in the server and as many in the client.
if ((idle > 0)); then
  want_fds=$((idle + 1024))
  ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true        # the soft limit up to the hard one
  if (($(ulimit -n) < want_fds)); then
    ulimit -n "$want_fds" 2>/dev/null || true            # root may raise the hard limit too
  fi
  if (($(ulimit -n) <= idle + 100)); then
    warn "ulimit -n is $(ulimit -n) (hard limit $(ulimit -Hn)): too low for $idle idle" \
         "connections; memory test skipped (raise the hard limit: ulimit -Hn $want_fds as root)"
    idle=0
  fi
fi

ncells=$(wc -w <<<"$cells")
has_http=0; ((do_http)) && [[ -x $build/examples/http_hello ]] && has_http=1
est=$(awk -v n=${#servers[@]} -v r="$rounds" -v c="$ncells" -v d="$dur" -v w="$warm" \
         -v m=$((idle > 0 ? mem_rounds : 0)) -v h=$has_http \
         'BEGIN { printf "%d", n * r * (c * (d + w + 0.1) + 1) + n * m * 6 + h * 4 * r * (d + w + 1) }')
step "${#servers[@]} echo servers x $rounds rounds x $ncells cells (${dur}s + ${warm}s warm-up)," \
     "pin=$pin; about $((est / 60)) min $((est % 60)) s of measuring"
printf '   %s\n' "${servers[@]}"
{
  echo "# netco benchmarks/run.sh $stamp: rounds=$rounds dur=$dur warm=$warm pin=$pin cells='$cells'" \
       "idle=$idle mem_rounds=$mem_rounds quick=$quick"
  echo "# machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs, $(uname -r)," \
       "netco $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- include examples 2>/dev/null || echo '+dirty')"
} >>"$raw"

# ---- (d) echo ------------------------------------------------------------------------------
echo_port=$(free_port "$port")
step "echo: ping-pong (kit/run.sh -P $pin -r $rounds, port $echo_port)"
bash "$kit_src/run.sh" -B "$kit" -t echo -P "$pin" -r "$rounds" -d "$dur" -w "$warm" -m "$cells" -M 0 \
  -p "$echo_port" -o "$raw" "${servers[@]}" 2>&1 |
  awk '/^kind=echo/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
                      printf "   round %s %-14s %4s x %-5s  %7s rt/s  %6s us CPU/rt\n",
                             v["round"], v["server"], v["conns"], v["size"], v["rtps"], v["srv_us_per_rt"]; fflush(); next }
       { print "   " $0; fflush() }'

if ((idle > 0)); then
  step "memory: $idle idle connections, $mem_rounds round(s)"
  bash "$kit_src/run.sh" -B "$kit" -t echo -P "$pin" -r "$mem_rounds" -m "" -M "$idle" \
    -p "$(free_port "$port")" -o "$raw" "${servers[@]}" 2>&1 |
    awk '/^kind=mem/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
                       printf "   round %s %-14s %s bytes/conn %s\n", v["round"], v["server"], v["per_conn_b"], v["error"]; fflush(); next }
         { print "   " $0; fflush() }'
fi

# ---- (e) HTTP, once netco has an HTTP example ---------------------------------------------
http_raw=$outdir/http-$stamp.txt
if ((has_http)); then
  http_port=$(free_port $((port + 80)))
  step "http: wrk -t1 -c100 (kit/run.sh -t http, port $http_port)"
  bash "$kit_src/run.sh" -B "$kit" -t http -P "$pin" -r "$rounds" -d "$dur" -w "$(awk -v w="$warm" 'BEGIN { printf "%d", w < 1 ? 1 : w + 0.5 }')" \
    -c 100 -p "$http_port" -o "$http_raw" \
    "netco_http=$root/$build/examples/http_hello {PORT}" "epoll_http=$kit/epoll_http {PORT}" \
    "asio_coro_http=$kit/asio_coro_http {PORT}" "node_http=node $kit_src/node_http.js {PORT}" 2>&1 |
    awk '/^kind=http/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
                        printf "   round %s %-14s %8s req/s  %6s us CPU/req\n", v["round"], v["server"], v["rps"], v["srv_us_per_req"]; fflush(); next }
         { print "   " $0; fflush() }'
elif ((do_http)); then
  echo "(no $build/examples/http_hello yet: HTTP section skipped)"
fi

# ---- (f) summaries --------------------------------------------------------------------------
step "summaries"
case $pin in
  same) pin_words="taskset: server and client on CPU 0" ;;
  split) pin_words="taskset: server on CPU 1, client on CPU 0" ;;
  *) pin_words="no pinning" ;;
esac
{
  echo "# netco echo benchmark, $stamp"
  echo
  if ((quick)); then
    echo "> **Smoke run (\`--quick\`: $rounds rounds of ${dur} s).** Too short for claims: rerun"
    echo "> \`benchmarks/run.sh\` on a quiet machine and compare ratios, not absolute numbers."
    echo
  fi
  echo "- machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) vCPUs, Linux $(uname -r)," \
       "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "- netco $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- include examples 2>/dev/null || echo ' (with uncommitted changes)')," \
       "$(g++ --version | head -n 1), meson buildtype=release; the kit built with benchmarks/kit/Makefile (-O2)"
  echo "- kit/run.sh -P $pin ($pin_words) -r $rounds -d $dur -w $warm;" \
       "Node $(node --version 2>/dev/null || echo '?')"
  echo "- ratios: server / epoll (rt/s: higher is better; server CPU per round trip: lower is better)"
  echo "- raw data: \`$(basename "$raw")\`; CSV: \`$(basename "$csv")\`"
  echo
  echo "### at a glance: server CPU per round trip / epoll's (rt/s / epoll's); memory per idle connection"
  echo
  python3 benchmarks/results_csv.py --compact "$raw"
  python3 "$kit_src/summarize.py" -b epoll "$raw"
  if [[ -s $http_raw ]]; then python3 "$kit_src/summarize.py" -b epoll_http "$http_raw"; fi
} >"$md"
csv_inputs=("$raw"); [[ -s $http_raw ]] && csv_inputs+=("$http_raw")
python3 benchmarks/results_csv.py -o "$csv" "${csv_inputs[@]}"
if ((do_plot)); then
  step "plots"
  python3 benchmarks/plot.py "$csv"
fi
step "done in $((SECONDS - t_start)) s"
echo "   $md"
echo "   $csv"
echo "   $raw"
[[ -s $http_raw ]] && echo "   $http_raw"
exit 0
