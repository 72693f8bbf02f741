#!/usr/bin/env bash
# benchmarks/kit/run.sh: measures servers under the same load, interleaved: each round runs
# every server once, the order rotated by one each round (A B C, B C A, C A B, ...), so a
# slow spell of the machine falls on all of them. Results are appended, one key=value line
# per measurement, to a file that summarize.py turns into tables.
#
#   run.sh [options] [NAME=]'COMMAND' ...
#
# COMMAND starts one server listening on 127.0.0.1:{PORT}; it runs as `bash -c "exec COMMAND"`,
# so its pid is the server's, which is measured and stopped with SIGTERM. {PORT} becomes the
# port, {CERT} and {KEY} the kit's test certificate and key (made when first needed). NAME is
# the server's label (default: the command's first word without its folder).
#
# options:
#   -t TYPE          echo           TCP ping-pong, loadgen (default)
#                    ws             WebSocket ping-pong, loadgen -t ws (upgrade on /)
#                    http | https   wrk -t1 keep-alive on http(s)://127.0.0.1:PORT/
#                    http-close     wrk over http, "Connection: close" on every request
#                    tls-handshake  -c parallel `openssl s_time -new` clients: a full TLS
#                                   handshake, GET / HTTP/1.0 and a close per connection
#                    tls-resume     the same with -reuse: each offers its first session again
#   -m "CxS ..."     loadgen cells: connections x message bytes
#                    (default "1x64 50x64 500x64 1x16384 50x16384 500x16384"; "" for none)
#   -d SECS          measured seconds per cell (default 5; whole seconds but for echo and ws)
#   -w SECS          warm-up seconds per cell, not measured (default 1; wrk rounds it to
#                    whole seconds, at least 1; whole seconds for the TLS types)
#   -r ROUNDS        rounds (default 3)
#   -P same|split|none  pinning with taskset: same = server and client on CPU 0 (the steadiest
#                    on a 2-vCPU machine), split = server on CPU 1 and client on CPU 0 (default),
#                    none = wherever the scheduler likes
#   -M N             idle-memory test with N connections before each server's cells, 0 = none
#                    (default 10000; echo and ws only)
#   -c N             wrk connections (default 100), or s_time clients (default 4)
#   -f binary|text   WebSocket frame type (default binary)
#   -p PORT          port (default 9000)
#   -o FILE          results file, appended to (default results-TYPE-PIN.txt here)
#   -B DIR           the kit's build folder: loadgen, test certificate, node_modules
#                    (default $KIT_BIN, else benchmarks/kit/build)
#
# example:
#   run.sh -P same -r 5 -M 0 'epoll=DIR/epoll_echo {PORT}' 'mine=/path/to/echo {PORT}'
#   python3 summarize.py -b epoll results-echo-same.txt
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
type=echo cells="1x64 50x64 500x64 1x16384 50x16384 500x16384" dur=5 warm=1 rounds=3
pin=split idle=10000 conns="" frame=binary port=9000 out="" bin=${KIT_BIN:-$here/build}
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }
while getopts t:m:d:w:r:P:M:c:f:p:o:B:h opt; do
  case $opt in
    t) type=$OPTARG ;; m) cells=$OPTARG ;; d) dur=$OPTARG ;; w) warm=$OPTARG ;;
    r) rounds=$OPTARG ;; P) pin=$OPTARG ;; M) idle=$OPTARG ;; c) conns=$OPTARG ;;
    f) frame=$OPTARG ;; p) port=$OPTARG ;; o) out=$OPTARG ;; B) bin=$OPTARG ;; *) usage ;;
  esac
done
shift $((OPTIND - 1))
(($# > 0)) || usage
out=${out:-results-$type-$pin.txt}
bin=$(realpath -m "$bin")
loadgen=$bin/loadgen cert=$bin/test-cert.pem key=$bin/test-key.pem

case $pin in
  same) srv_pin=(taskset -c 0) cli_pin=(taskset -c 0) ;;
  split) srv_pin=(taskset -c 1) cli_pin=(taskset -c 0) ;;
  none) srv_pin=() cli_pin=() ;;
  *) usage ;;
esac
[[ $frame == binary || $frame == text ]] || usage
need() { command -v "$1" >/dev/null || { echo "run.sh: -t $type needs $1 ($2)" >&2; exit 2; }; }
lg_args=()
case $type in
  echo) ;;
  ws) lg_args=(-t ws -f "$frame") ;;
  http | https | http-close) need wrk "apt-get install wrk"; idle=0 ;;
  tls-handshake | tls-resume) need openssl "apt-get install openssl"; idle=0
    [[ $warm =~ ^[0-9]+$ ]] || { echo "run.sh: -t $type needs whole seconds for -w" >&2; exit 2; } ;;
  *) usage ;;
esac
if [[ $type != echo && $type != ws && ! $dur =~ ^[1-9][0-9]*$ ]]; then
  echo "run.sh: -t $type needs whole seconds for -d (wrk -d, s_time -time)" >&2
  exit 2
fi
if [[ $type == echo || $type == ws ]]; then
  [[ -x $loadgen ]] || { echo "run.sh: no $loadgen: make -C $here O=$bin" >&2; exit 2; }
  conns=""
elif [[ $type == tls-* ]]; then
  conns=${conns:-4}
else
  conns=${conns:-100}
fi

# the idle-memory test holds N descriptors in the server and N in loadgen
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true
if ((idle > 0 && $(ulimit -n) < idle + 100)); then
  echo "run.sh: ulimit -n is $(ulimit -n): too low for -M $idle" >&2
  exit 2
fi

names=() cmds=()
for arg; do
  if [[ $arg =~ ^([A-Za-z0-9_.+-]+)=(.*)$ ]]; then
    names+=("${BASH_REMATCH[1]}") cmds+=("${BASH_REMATCH[2]}")
  else
    first=${arg%% *}
    names+=("${first##*/}") cmds+=("$arg")
  fi
done
if [[ ${cmds[*]} == *"{CERT}"* || ${cmds[*]} == *"{KEY}"* ]] && [[ ! -s $cert ]]; then
  make -s -C "$here" O="$bin" cert >&2 || { echo "run.sh: could not make $cert" >&2; exit 2; }
fi
# node_ws_echo.js finds `ws` where `make node-deps` put it
[[ -d $bin/node_modules ]] && export NODE_PATH=$bin/node_modules${NODE_PATH:+:$NODE_PATH}

tmp=$(mktemp -d -t netco-kit.XXXXXX)
pid=""
trap '[[ -n $pid ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
emit() { printf '%s\n' "$*" | tee -a "$out"; }
listening() { ss -Hltn "sport = :$port" | grep -q .; }

# ---- the server --------------------------------------------------------------------------------
server_start() {  # $1 = index
  local cmd=${cmds[$1]//\{PORT\}/$port}
  cmd=${cmd//\{CERT\}/$cert}
  cmd=${cmd//\{KEY\}/$key}
  if listening; then echo "run.sh: port $port is taken" >&2; exit 1; fi
  "${srv_pin[@]}" bash -c "exec $cmd" >>"$tmp/${names[$1]}.log" 2>&1 &
  pid=$!
  local i
  for ((i = 0; i < 400; i++)); do  # up to 20 s: Node and a cold nginx take a moment
    listening && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "run.sh: ${names[$1]} is not listening on $port: $cmd" >&2
  cat "$tmp/${names[$1]}.log" >&2
  exit 1
}

server_stop() {
  local i state
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do  # 5 s, then SIGKILL for one that ignores SIGTERM
    state=$(ps -o stat= -p "$pid" 2>/dev/null || true)
    [[ -n $state && $state != Z* ]] || break
    sleep 0.05
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=""
  for ((i = 0; i < 200; i++)); do listening || return 0; sleep 0.05; done
}

# ---- CPU accounting -------------------------------------------------------------------------------
# all threads' exact on-CPU time (ns), from /proc/PID/task/*/schedstat
server_ns() { cat /proc/"$pid"/task/*/schedstat 2>/dev/null | awk '{ t += $1 } END { printf "%.0f", t }'; }
# the machine's busy ticks: user nice system irq softirq (/proc/stat), as loadgen counts them
busy_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat; }
now_ns() { date +%s%N; }
hz=$(getconf CLK_TCK)

# ---- measurements ------------------------------------------------------------------------------
loadgen_cells() {  # $1 = name, $2 = round
  local cell line
  for cell in $cells; do
    line=$("${cli_pin[@]}" "$loadgen" "${lg_args[@]}" -p "$port" -c "${cell%x*}" -s "${cell#*x}" \
      -d "$dur" -w "$warm" -S "$pid" -l "$1" 2>"$tmp/loadgen.err" | tail -n 1) || true
    [[ $line == label=* ]] || line="conns=${cell%x*} size=${cell#*x} error=$(head -c 200 "$tmp/loadgen.err" | tr -s ' \n' '__')"
    emit "kind=$type pin=$pin round=$2 server=$1 $line"
    kill -0 "$pid" 2>/dev/null || { echo "run.sh: $1 died" >&2; return 1; }
  done
}

idle_memory() {  # $1 = name, $2 = round
  local base rss lg i
  sleep 0.3  # let the server finish starting up before its baseline RSS
  base=$(awk '/^VmRSS/ { print $2 }' /proc/"$pid"/status)
  # emptied here, not by the child's redirection: the polling below could otherwise see the
  # previous run's READY before the child has truncated the file
  : >"$tmp/idle.out"
  "${cli_pin[@]}" "$loadgen" "${lg_args[@]}" -p "$port" -i "$idle" -H 600 >"$tmp/idle.out" 2>&1 &
  lg=$!
  for ((i = 0; i < 1200; i++)); do
    grep -q '^READY' "$tmp/idle.out" && break
    kill -0 "$lg" 2>/dev/null || break
    sleep 0.05
  done
  if grep -q '^READY' "$tmp/idle.out"; then
    sleep 1  # lazy frees and Node's heap settle
    rss=$(awk '/^VmRSS/ { print $2 }' /proc/"$pid"/status)
    emit "kind=mem mode=$type pin=$pin server=$1 round=$2 conns=$idle rss_base_kb=$base" \
      "rss_kb=$rss per_conn_b=$(((rss - base) * 1024 / idle))"
  else
    emit "kind=mem mode=$type pin=$pin server=$1 round=$2 conns=$idle" \
      "error=$(head -c 200 "$tmp/idle.out" | tr -s ' \n' '__')"
  fi
  kill "$lg" 2>/dev/null || true
  wait "$lg" 2>/dev/null || true
}

wrk_us() {  # wrk's 812.00us / 1.23ms / 2.01s -> microseconds
  awk -v v="$1" 'BEGIN { f = (v ~ /us$/) ? 1 : (v ~ /ms$/) ? 1e3 : (v ~ /s$/) ? 1e6 : 1; printf "%.1f", (v + 0) * f }'
}

wrk_cell() {  # $1 = name, $2 = round
  local url=http://127.0.0.1:$port/ lua=() s0 s1 b0 b1 t0 t1 f=$tmp/wrk.out
  [[ $type == https ]] && url=https://127.0.0.1:$port/
  [[ $type == http-close ]] && lua=(-s "$here/wrk_close.lua")
  if [[ $warm != 0 ]]; then
    "${cli_pin[@]}" wrk -t1 -c"$conns" -d"$(awk -v w="$warm" 'BEGIN { printf "%d", w < 1 ? 1 : w + 0.5 }')s" \
      "${lua[@]}" "$url" >/dev/null 2>&1 || true
  fi
  s0=$(server_ns) b0=$(busy_ticks) t0=$(now_ns)
  /usr/bin/time -f '%U %S' -o "$tmp/wrk.cpu" "${cli_pin[@]}" wrk -t1 -c"$conns" -d"${dur}s" --latency \
    "${lua[@]}" "$url" >"$f" 2>&1 || true
  s1=$(server_ns) b1=$(busy_ticks) t1=$(now_ns)
  local reqs rps p50 p99 errs non2xx
  reqs=$(awk '/requests in/ { print $1 }' "$f")
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$f")
  p50=$(wrk_us "$(awk '$1 == "50%" { print $2 }' "$f")")
  p99=$(wrk_us "$(awk '$1 == "99%" { print $2 }' "$f")")
  errs=$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$f")
  non2xx=$(awk '/Non-2xx/ { print $NF }' "$f")
  # server CPU per request: everything the server did while wrk ran, over what wrk completed
  awk -v s0="$s0" -v s1="$s1" -v b0="$b0" -v b1="$b1" -v t0="$t0" -v t1="$t1" -v hz="$hz" \
    -v reqs="${reqs:-0}" -v cpu="$(cat "$tmp/wrk.cpu" 2>/dev/null)" -v secs="$dur" \
    'BEGIN { wall = (t1 - t0) / 1e9; split(cpu, c, " ")
      printf "srv_cpu=%.2f srv_us_per_req=%s cli_cpu=%.2f sys_busy=%.2f\n", (s1 - s0) / 1e9 / wall,
        (reqs > 0 ? sprintf("%.3f", (s1 - s0) / 1e3 / reqs) : "-1"), (c[1] + c[2]) / wall,
        (b1 - b0) / hz / wall }' \
    >"$tmp/wrk.acct"
  emit "kind=$type pin=$pin round=$2 server=$1 conns=$conns secs=$dur rps=${rps:-0} requests=${reqs:-0}" \
    "p50_us=$p50 p99_us=$p99 $(cat "$tmp/wrk.acct") socket_errors=${errs:-0} non2xx=${non2xx:-0}"
}

s_time_cell() {  # $1 = name, $2 = round
  local how=-new s0 s1 b0 b1 t0 t1 f=$tmp/s_time i
  [[ $type == tls-resume ]] && how=-reuse
  if ((warm > 0)); then
    "${cli_pin[@]}" openssl s_time -connect "127.0.0.1:$port" "$how" -time "$warm" -www / >/dev/null 2>&1 || true
  fi
  rm -f "$f".*
  s0=$(server_ns) b0=$(busy_ticks) t0=$(now_ns)
  # the clients' CPU: /usr/bin/time on a shell that waits for all of them
  /usr/bin/time -f '%U %S' -o "$tmp/s_time.cpu" bash -c '
    n=$1 port=$2 how=$3 secs=$4 f=$5; shift 5
    for ((i = 0; i < n; i++)); do
      "$@" openssl s_time -connect "127.0.0.1:$port" "$how" -time "$secs" -www / >"$f.$i" 2>&1 &
    done
    wait' _ "$conns" "$port" "$how" "$dur" "$f" "${cli_pin[@]}" || true
  s1=$(server_ns) b1=$(busy_ticks) t1=$(now_ns)
  # each client: one character per connection ('r': the server resumed it), then
  # "N connections in T s; ..." (its user CPU; the run's own wall time is measured here)
  local n_conns resumed failed
  n_conns=$(cat "$f".* | awk '/ connections in [0-9.]+s;/ { n += $1 } END { print n + 0 }')
  resumed=$(cat "$f".* | grep -E '^[*rt3]+$' | tr -cd r | wc -c || true)
  failed=0
  for ((i = 0; i < conns; i++)); do grep -q ' connections in [0-9.]*s;' "$f.$i" || failed=$((failed + 1)); done
  awk -v s0="$s0" -v s1="$s1" -v b0="$b0" -v b1="$b1" -v t0="$t0" -v t1="$t1" -v hz="$hz" \
    -v n="$n_conns" -v cpu="$(cat "$tmp/s_time.cpu" 2>/dev/null)" \
    'BEGIN { wall = (t1 - t0) / 1e9; split(cpu, c, " ")
      printf "secs=%.3f rps=%.2f srv_cpu=%.2f srv_us_per_req=%s cli_cpu=%.2f sys_busy=%.2f\n", wall,
        n / wall, (s1 - s0) / 1e9 / wall, (n > 0 ? sprintf("%.3f", (s1 - s0) / 1e3 / n) : "-1"),
        (c[1] + c[2]) / wall, (b1 - b0) / hz / wall }' >"$tmp/s_time.acct"
  emit "kind=$type pin=$pin round=$2 server=$1 conns=$conns $(cat "$tmp/s_time.acct")" \
    "connections=$n_conns resumed=${resumed:-0} socket_errors=$failed non2xx=0 client=openssl_s_time"
}

# ---- the rounds --------------------------------------------------------------------------------
n=${#names[@]}
{
  printf '# kit/run.sh type=%s pin=%s rounds=%s dur=%s warm=%s cells=%q idle=%s conns=%s' \
    "$type" "$pin" "$rounds" "$dur" "$warm" "$cells" "$idle" "${conns:--}"
  [[ $type == ws ]] && printf ' frame=%s' "$frame"
  printf ' %s\n' "$(date -u +%FT%TZ)"
} >>"$out"
for ((r = 1; r <= rounds; r++)); do
  for ((k = 0; k < n; k++)); do
    i=$(((k + r - 1) % n))
    if ((idle > 0)); then
      server_start "$i"
      idle_memory "${names[$i]}" "$r"
      server_stop
    fi
    [[ -z $cells && ($type == echo || $type == ws) ]] && continue
    server_start "$i"
    case $type in
      echo | ws) loadgen_cells "${names[$i]}" "$r" || true ;;
      tls-*) s_time_cell "${names[$i]}" "$r" ;;
      *) wrk_cell "${names[$i]}" "$r" ;;
    esac
    server_stop
  done
done
echo "run.sh: results appended to $out" >&2
